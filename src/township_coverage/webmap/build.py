"""Building the interactive coverage map with Folium.

One township layer carries every indicator's colours; a control switches
the visible indicator (restyling the layer, swapping the legend and the
tooltips), so the township shapes are in the page once. All text from the
data is HTML-escaped in Python before it reaches the page.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, MacroElement
from folium.template import Template
from folium.utilities import JsCode

from township_coverage.webmap.assets import inline_assets
from township_coverage.webmap.indicators import INDICATORS, Indicator, classify, format_value

SITE_STYLES = {
    # site type: (zh label, en label, fill colour, radius in px)
    "township_station": ("乡镇（街道）社工站", "Township station", "#d7301f", 7),
    "community_room": ("村（社区）社工室", "Community room", "#2b8cbe", 4),
    "school_station": ("学校社工站", "School station", "#6a51a3", 6),
    "enterprise_station": ("企业社工站", "Enterprise station", "#238b45", 6),
    "hospital_station": ("医院社工站", "Hospital station", "#ec7014", 6),
}
TEXT = {
    "zh": {
        "indicator": "指标",
        "township": "乡镇（街道）",
        "county": "县区",
        "sites": "站点",
        "counties": "县区界",
        "schematic": "示意数据：乡镇边界和站点、村庄位置为生成的示意位置，并非真实位置；"
        "名称、代码和数量为真实数据。",
        "sources": "数据来源",
    },
    "en": {
        "indicator": "Indicator",
        "township": "Township",
        "county": "County",
        "sites": "Sites",
        "counties": "County borders",
        "schematic": "Schematic data: township outlines and the positions of sites and villages "
        "are generated, not real; names, codes and counts are real.",
        "sources": "Sources",
    },
}
# Borders simplified to about 20 m and coordinates kept to about 1 m: finer
# than the zoom levels the map offers need.
SIMPLIFY_DEGREES = 0.0002
COORDINATE_DECIMALS = 5


def build_coverage_map(
    table: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame,
    *,
    title: str,
    counties: gpd.GeoDataFrame | None = None,
    schematic: bool = False,
    sources: str = "",
    lang: str = "zh",
    offline: bool = True,
    extra_layers: Sequence[PointLayer] = (),
) -> folium.Map:
    """An interactive choropleth of the coverage indicators.

    Parameters
    ----------
    table
        Townships (WGS84 polygons) with the columns of
        :func:`township_coverage.metrics.coverage_table`.
    sites
        Sites joined to townships (WGS84 points).
    title
        Shown in the page title.
    counties
        County outlines drawn on top, if given.
    schematic
        Whether to show the notice that positions/outlines are schematic.
    sources
        Data sources for the attribution line (plain text).
    lang
        Interface language, ``"zh"`` or ``"en"``.
    offline
        Inline the vendored JS/CSS (no network request); ``False`` keeps
        Folium's CDN links.
    extra_layers
        Further point layers (e.g. proposed rooms), drawn above the sites.

    Returns
    -------
    folium.Map
    """
    if lang not in TEXT:
        raise ValueError(f"lang={lang!r}; allowed: {', '.join(TEXT)}")
    text = TEXT[lang]
    table = table.to_crs("EPSG:4326")
    fmap = folium.Map(tiles=None, prefer_canvas=True, control_scale=True, zoom_snap=0.25)
    fmap.get_root().title = title
    fmap.get_root().header.add_child(
        Element("<style>.folium-map.leaflet-container{background:#f3f3ee}</style>"), name="background"
    )
    lon_min, lat_min, lon_max, lat_max = table.total_bounds
    fmap.fit_bounds([[lat_min, lon_min], [lat_max, lon_max]])

    townships = folium.GeoJson(
        _township_features(table, sites, lang),
        name=text["township"],
        style_function=lambda feature: {
            "fillColor": feature["properties"]["fills"][INDICATORS[0].column],
            "fillOpacity": 0.8,
            "color": "#ffffff",
            "weight": 0.8,
        },
        highlight_function=lambda feature: {"weight": 2.5, "color": "#333333"},
        on_each_feature=JsCode(
            "function (feature, layer) {"
            " layer.bindPopup(feature.properties.popup, {maxWidth: 360});"
            " }"
        ),
        control=False,
    )
    townships.add_to(fmap)
    if counties is not None:
        folium.GeoJson(
            _rounded_geojson(counties.to_crs("EPSG:4326")[["county_name", "geometry"]], simplify=False),
            name=text["counties"],
            style_function=lambda feature: {"fill": False, "color": "#404040", "weight": 1.8},
            interactive=False,
        ).add_to(fmap)
    for site_type, frame in sites.groupby("site_type", sort=False):
        _site_layer(frame, site_type, lang).add_to(fmap)
    for layer in extra_layers:
        _point_layer(layer).add_to(fmap)
    folium.LayerControl(collapsed=False, position="topright").add_to(fmap)

    fmap.add_child(IndicatorSwitch(townships, _legends(table, lang), text["indicator"]))
    attribution = [f"{text['sources']}: {sources}" if sources else ""]
    fmap.add_child(Attribution(" · ".join(a for a in attribution if a)))
    if schematic:
        fmap.get_root().html.add_child(_notice(text["schematic"]), name="schematic_notice")
    if offline:
        inline_assets(fmap.get_root())
    return fmap


def save_map(fmap: folium.Map, path: Path) -> None:
    """Write the map as one HTML file."""
    path.write_text(fmap.get_root().render(), encoding="utf-8")


class IndicatorSwitch(MacroElement):
    """Radio buttons that choose the indicator the township layer shows."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }};
            var layer = {{ this.layer.get_name() }};
            var indicators = {{ this.indicators_json }};
            var control = L.control({position: "bottomright"});
            control.onAdd = function () {
                var box = L.DomUtil.create("div", "tc-legend leaflet-bar");
                L.DomEvent.disableClickPropagation(box);
                L.DomEvent.disableScrollPropagation(box);
                var heading = L.DomUtil.create("div", "tc-legend-title", box);
                heading.textContent = {{ this.heading_json }};
                var form = L.DomUtil.create("form", "tc-indicators", box);
                var legend = L.DomUtil.create("div", "tc-legend-body", box);
                indicators.forEach(function (indicator, index) {
                    var label = L.DomUtil.create("label", "", form);
                    var input = L.DomUtil.create("input", "", label);
                    input.type = "radio";
                    input.name = "tc-indicator";
                    input.value = indicator.column;
                    input.checked = index === 0;
                    label.appendChild(document.createTextNode(" " + indicator.label));
                    L.DomEvent.on(input, "change", function () { show(indicator); });
                });
                function show(indicator) {
                    layer.setStyle(function (feature) {
                        return {fillColor: feature.properties.fills[indicator.column]};
                    });
                    layer.eachLayer(function (shape) {
                        shape.unbindTooltip();
                        shape.bindTooltip(shape.feature.properties.tips[indicator.column], {sticky: true});
                    });
                    legend.innerHTML = indicator.legend_html;  // escaped in Python
                    box.setAttribute("data-indicator", indicator.column);
                }
                show(indicators[0]);
                return box;
            };
            control.addTo(map);
        })();
        {% endmacro %}
        """
    )

    def __init__(self, layer: folium.GeoJson, indicators: list[dict], heading: str) -> None:
        super().__init__()
        self._name = "IndicatorSwitch"
        self.layer = layer
        self.indicators_json = _script_json(indicators)
        self.heading_json = _script_json(heading)

    def render(self, **kwargs):  # noqa: D102 - adds the control's stylesheet
        self.get_root().header.add_child(Element(_LEGEND_CSS), name="tc_legend_css")
        super().render(**kwargs)


class Attribution(MacroElement):
    """Adds a plain-text attribution line to the map."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.attributionControl.addAttribution({{ this.text_json }});
        {% endmacro %}
        """
    )

    def __init__(self, text: str) -> None:
        super().__init__()
        self._name = "Attribution"
        self.text_json = _script_json(html.escape(text))


_LEGEND_CSS = """<style>
.tc-legend{background:rgba(255,255,255,.93);padding:8px 10px;font:13px/1.45 sans-serif;
  max-width:280px;color:#222}
.tc-legend-title{font-weight:bold;margin-bottom:2px}
.tc-indicators label{display:block;cursor:pointer}
.tc-legend-body{margin-top:6px;border-top:1px solid #ccc;padding-top:4px}
.tc-swatch{display:inline-block;width:14px;height:12px;margin-right:6px;vertical-align:middle;
  border:1px solid #999}
.tc-notice{position:absolute;z-index:1000;left:56px;top:10px;max-width:50%;
  background:#fff8d6;border:1px solid #d4b106;padding:5px 8px;font:12px/1.4 sans-serif;color:#5c4400}
.tc-popup table{border-collapse:collapse}
.tc-popup td{padding:1px 6px 1px 0;vertical-align:top}
.tc-popup td:last-child{text-align:right}
</style>"""


def _legends(table: pd.DataFrame, lang: str) -> list[dict]:
    result = []
    for indicator in INDICATORS:
        classes = classify(table[indicator.column], indicator, lang=lang)
        unit = indicator.unit[lang]
        title = indicator.label[lang] + (f"（{unit}）" if lang == "zh" and unit else f" ({unit})" if unit else "")
        rows = "".join(
            f'<div><span class="tc-swatch" style="background:{colour}"></span>{html.escape(label)}</div>'
            for colour, label in classes.legend
        )
        result.append(
            {
                "column": indicator.column,
                "label": indicator.label[lang],
                "legend_html": f"<div><b>{html.escape(title)}</b></div>{rows}",
            }
        )
    return result


def _township_features(table: gpd.GeoDataFrame, sites: pd.DataFrame, lang: str) -> dict:
    """GeoJSON with, per township, fill colours, tooltips and the popup."""
    text = TEXT[lang]
    fills = {
        indicator.column: classify(table[indicator.column], indicator, lang=lang).colours
        for indicator in INDICATORS
    }
    names_by_township = sites.groupby("township_code")["name"].apply(list)
    properties = []
    for position, (code, row) in enumerate(table.iterrows()):
        name = html.escape(str(row["township_name"]))
        county = html.escape(str(row["county_name"]))
        head = f"<b>{name}</b>（{county}）" if lang == "zh" else f"<b>{name}</b> ({county})"
        tips = {
            indicator.column: f"{head}<br>{html.escape(indicator.label[lang])}: "
            f"{html.escape(format_value(row[indicator.column], indicator, lang=lang))}"
            for indicator in INDICATORS
        }
        cells = "".join(
            f"<tr><td>{html.escape(i.label[lang])}</td>"
            f"<td>{html.escape(format_value(row[i.column], i, lang=lang))}</td></tr>"
            for i in INDICATORS
        )
        site_names = names_by_township.get(code, [])
        site_list = "、".join(html.escape(str(s)) for s in site_names) if site_names else "—"
        popup = (
            f'<div class="tc-popup">{head}<table>{cells}</table>'
            f"<div><b>{html.escape(text['sites'])}</b>: {site_list}</div></div>"
        )
        properties.append(
            {
                "township_code": str(code),
                "fills": {column: colours.iloc[position] for column, colours in fills.items()},
                "tips": tips,
                "popup": popup,
            }
        )
    shapes = gpd.GeoDataFrame(properties, geometry=table.geometry.to_numpy(), crs=table.crs)
    return _rounded_geojson(shapes, simplify=True)


@dataclass(frozen=True)
class PointLayer:
    """An extra layer of points drawn on the map (e.g. proposed rooms).

    Attributes
    ----------
    label
        Name in the layer control (plain text).
    points
        Points with a ``name`` column, shown as tooltip.
    colour
        Fill colour.
    radius
        Marker radius in pixels.
    """

    label: str
    points: gpd.GeoDataFrame
    colour: str
    radius: int = 6


def _site_layer(frame: gpd.GeoDataFrame, site_type: str, lang: str) -> folium.GeoJson:
    zh, en, colour, radius = SITE_STYLES[site_type]
    return _point_layer(PointLayer(zh if lang == "zh" else en, frame, colour, radius))


def _point_layer(layer: PointLayer) -> folium.GeoJson:
    frame, label, colour, radius = layer.points, layer.label, layer.colour, layer.radius
    points = gpd.GeoDataFrame(
        {"tip": [html.escape(str(n)) for n in frame["name"]]},
        geometry=frame.geometry.to_crs("EPSG:4326").to_numpy(),
        crs="EPSG:4326",
    )
    return folium.GeoJson(
        _rounded_geojson(points, simplify=False),
        name=f'<span class="tc-swatch" style="background:{colour};border-radius:50%"></span>'
        f"{html.escape(label)}（{len(frame)}）",
        marker=folium.CircleMarker(
            radius=radius, fill=True, fill_color=colour, fill_opacity=0.95, color="#ffffff", weight=1
        ),
        on_each_feature=JsCode(
            "function (feature, layer) { layer.bindTooltip(feature.properties.tip); }"
        ),
    )


def _rounded_geojson(frame: gpd.GeoDataFrame, *, simplify: bool) -> dict:
    """GeoJSON dict with borders simplified as a coverage and rounded coordinates.

    Coverage simplification keeps neighbouring borders identical; rounding
    each vertex keeps shared vertices shared.
    """
    geometry = frame.geometry.to_numpy()
    if simplify:
        geometry = shapely.coverage_simplify(geometry, SIMPLIFY_DEGREES)
    geometry = shapely.transform(geometry, lambda xy: np.round(xy, COORDINATE_DECIMALS))
    return json.loads(frame.set_geometry(geometry).to_json(drop_id=True, ensure_ascii=False))


def _notice(message: str) -> Element:
    return Element(f'<div class="tc-notice" role="note">{html.escape(message)}</div>')


def _script_json(value: object) -> str:
    """JSON safe to place inside a <script> element."""
    return (
        json.dumps(value, ensure_ascii=False)
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
    )
