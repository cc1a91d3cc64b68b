"""Building the interactive coverage map with Folium.

Folium assembles the page: the map, the basemap (none by default), the
township and county layers and the layer control. ``coverage.js`` adds the
interactive parts (indicator switch and legend, labels, site layers,
search, buttons) from one JSON object. The township shapes are in the page
once; switching the indicator restyles them.

All text from the data reaches the page either HTML-escaped in Python
(tooltips, popups, legends, layer names) or as JSON that the script puts in
with ``textContent`` (labels, search, site names).
"""

from __future__ import annotations

import html
import json
import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, MacroElement
from folium.template import Template
from folium.utilities import JsCode

from township_coverage.classes import INDICATORS, Classes, Indicator, classify
from township_coverage.inputs.config import ClassScheme, LevelNames
from township_coverage.levels import relabel_values
from township_coverage.inputs.crs import wgs84_to_gcj02
from township_coverage.geometry import label_points
from township_coverage.webmap import page_data
from township_coverage.webmap.plan_page import PlanFigures, editor_settings, plan_indicators, summary_box
from township_coverage.webmap.assets import inline_assets
from township_coverage.webmap.text import TEXT

BASEMAPS = ("none", "osm", "cartodb", "tianditu", "amap")
TIANDITU_KEY_VARIABLE = "TIANDITU_KEY"
# How finely borders are drawn depends on the map's size (page_data.page_scale);
# a size budget doubles the simplification until the page fits.
COORDINATE_DECIMALS = 5
LABEL_MIN_ZOOM = 10
_COVERAGE_JS = files("township_coverage.webmap") / "coverage.js"
_TOPOLOGY_JS = files("township_coverage.webmap") / "topology.js"
_CANVAS_JS = files("township_coverage.webmap") / "canvas.js"
_TIMELINE_JS = files("township_coverage.webmap") / "timeline.js"
_PLANNER_JS = files("township_coverage.webmap") / "planner.js"


@dataclass(frozen=True)
class MapOptions:
    """How the map looks and what it loads.

    Attributes
    ----------
    lang
        Interface language, ``"zh"`` or ``"en"``.
    offline
        Inline the vendored JS/CSS (no network request); ``False`` keeps
        Folium's CDN links.
    basemap
        One of :data:`BASEMAPS`; anything but ``"none"`` loads tiles from
        the internet. ``"amap"`` tiles are in GCJ-02, so the overlays are
        shifted to match them. ``"tianditu"`` needs a key in the
        ``TIANDITU_KEY`` environment variable.
    radius_km
        If given, a layer (off at start) of coverage circles around rooms
        and stations.
    classes
        Classification per indicator column.
    size_budget_kb
        Largest acceptable HTML size (0: none).
    levels
        The project's names of the administrative levels.
    data_folder
        Folder beside the page for the scripts a large map loads (finer
        borders, names); two pages in one output folder need two folders,
        or writing one would remove the other's.
    """

    lang: str = "zh"
    offline: bool = True
    basemap: str = "none"
    radius_km: float | None = None
    classes: Mapping[str, ClassScheme] = field(default_factory=dict)
    size_budget_kb: int = 0
    levels: LevelNames = LevelNames()
    data_folder: str = page_data.DETAILS_FOLDER


@dataclass(frozen=True)
class PointLayer:
    """An extra layer of points drawn on the map (e.g. proposed rooms).

    Attributes
    ----------
    label
        Name in the layer control (plain text).
    points
        WGS84 points with a ``name`` column, shown as tooltip.
    colour
        Fill colour.
    radius
        Marker radius in pixels.
    """

    label: str
    points: gpd.GeoDataFrame
    colour: str
    radius: int = 6


@dataclass(frozen=True)
class LineLayer:
    """An extra layer of lines drawn on the map (e.g. sites moved from their old to their new position).

    Attributes
    ----------
    label
        Name in the layer control (plain text).
    lines
        WGS84 lines with a ``name`` column, shown as tooltip (plain text).
    colour
        Line colour.
    weight
        Line width in pixels.
    """

    label: str
    lines: gpd.GeoDataFrame
    colour: str
    weight: int = 3


def build_coverage_map(
    table: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame,
    *,
    title: str,
    county_borders: bool = True,
    villages: gpd.GeoDataFrame | None = None,
    schematic: bool = False,
    sources: str = "",
    notes: Sequence[str] = (),
    extra_layers: Sequence[PointLayer | LineLayer] = (),
    options: MapOptions = MapOptions(),
    classified: Mapping[str, Classes] | None = None,
    remember: page_data.Remember | None = None,
    indicators: Sequence[Indicator] = INDICATORS,
    plan: PlanFigures | None = None,
) -> folium.Map:
    """An interactive choropleth of the coverage indicators.

    Parameters
    ----------
    table
        Townships (polygons, any CRS) indexed by township code, with the
        columns of :func:`township_coverage.metrics.coverage_table`.
    sites
        Sites with ``site_type`` and ``name`` (points, any CRS).
    title
        Page title.
    county_borders
        Draw the county borders on top: the township borders between
        townships of different counties (``county_code``) and along the
        edge of the coverage, so that they match the townships exactly.
    villages
        Villages with ``village_name`` (points), for the search box.
    schematic
        Whether to show the notice that positions/outlines are schematic.
    sources
        Data sources for the attribution line (plain text).
    notes
        Further notices shown with the schematic one (plain text), e.g.
        how many input rows were left out.
    extra_layers
        Further point or line layers (e.g. proposed rooms), drawn above the sites.
    options
        Language, basemap, offline assets, classes, size budget.
    classified
        The classes of every indicator, as :func:`township_coverage.classes.classify_table`
        computed them for this table (so that a run's maps share them); by
        default computed here from ``options.classes``.
    remember
        ``remember(kind, key_parts, compute)`` keeps expensive results for
        later runs (the pipeline passes its cache's ``get_or_compute``):
        here the simplified township topology, keyed by the borders.
    indicators
        The indicators to switch between, the first shown at start; by
        default those of :data:`township_coverage.classes.INDICATORS`.
        ``table`` has their columns and ``classified`` (required for
        others) their classes.
    plan
        The figures of a plan (``plan.html``): the page then opens on the
        covered share (of people, or of villages, as the plan counts), shows
        the plan's summary box, and draws the sites of type
        ``proposed_room`` as numbered diamonds (numbers in their order in
        ``sites``). ``indicators`` is then ignored. With the plan's
        ``editor``, the summary box is a what-if editor (``planner.js``).

    Returns
    -------
    folium.Map

    Raises
    ------
    ValueError
        For an unknown language or basemap, or Tianditu without a key.
    """
    check_options(options)
    start, summary, planner = None, None, None
    if plan is not None:
        indicators, start = plan_indicators(plan)
        summary = summary_box(plan, options.lang)
    classified = dict(classified or {})
    for indicator in indicators:  # those not classed yet
        if indicator.column not in classified:
            classified[indicator.column] = classify(
                table[indicator.column], indicator, lang=options.lang, scheme=options.classes.get(indicator.column)
            )
    if plan is not None and plan.editor is not None:
        planner = (plan, classified[start])
    scale = page_data.page_scale(len(table), len(sites) + (len(villages) if villages is not None else 0))
    return fit_size_budget(
        lambda tolerance: build_page(
            table, sites, title, county_borders, villages, schematic, sources, notes, extra_layers, options, classified,
            scale, tolerance, remember, indicators=indicators, start=start, summary=summary, planner=planner,
        ),
        scale.tolerance,
        options.size_budget_kb,
    )


def check_options(options: MapOptions) -> None:
    """Raise ValueError for an unknown language or basemap in ``options``."""
    if options.lang not in TEXT:
        raise ValueError(f"lang={options.lang!r}; allowed: {', '.join(TEXT)}")
    if options.basemap not in BASEMAPS:
        raise ValueError(f"basemap={options.basemap!r}; allowed: {', '.join(BASEMAPS)}")


def fit_size_budget(build: Callable[[float], folium.Map], tolerance: float, budget_kb: int) -> folium.Map:
    """``build(tolerance)``, the tolerance doubled until the page fits ``budget_kb`` (0: no budget).

    Warns (and returns the last map) when eight doublings do not suffice.
    """
    for _ in range(8):
        fmap = build(tolerance)
        if not budget_kb:
            return fmap
        size_kb = len(fmap.get_root().render().encode("utf-8")) / 1024
        if size_kb <= budget_kb:
            return fmap
        tolerance *= 2
    warnings.warn(
        f"the map is {size_kb:.0f} kB, over the size budget of {budget_kb} kB even with "
        f"borders simplified to {tolerance / 2:g}°; raise [map] size_budget_kb",
        stacklevel=3,
    )
    return fmap


def render_map(fmap: folium.Map) -> str:
    """The map as the text of one HTML file (see :func:`map_side_files` for what goes beside it)."""
    return fmap.get_root().render()


def map_side_files(fmap: folium.Map) -> dict[str, str]:
    """Files the page loads from beside it, by path relative to the page.

    Empty for all but large maps: those keep their finer township borders
    (one script per cell, loaded for the area in view when zoomed in) and
    the names of villages and sites (loaded once the map is drawn) in
    scripts under ``map_data/``.
    """
    controls = [child for child in fmap._children.values() if isinstance(child, CoverageControls)]
    return dict(controls[0].side_files) if controls else {}


def save_map(fmap: folium.Map, path: Path) -> list[Path]:
    """Write the map as one HTML file, and the files it loads beside it, if any.

    The same page serves for embedding: in a frame narrower than 800 px
    the layer list starts folded.

    Returns
    -------
    list of Path
        The page, then the side files.
    """
    path.write_text(render_map(fmap), encoding="utf-8")
    written = [path]
    for name, text in map_side_files(fmap).items():
        target = path.parent / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        written.append(target)
    return written


def build_page(
    table, sites, title, county_borders, villages, schematic, sources, notes, extra_layers, options, classified, scale,
    tolerance, remember, *, indicators: Sequence[Indicator] = INDICATORS,
    palettes: Mapping[str, Sequence[str]] | None = None, timeline: dict | None = None, start: str | None = None,
    summary: dict | None = None, planner: tuple[PlanFigures, Classes] | None = None,
) -> folium.Map:
    """The page of :func:`build_coverage_map` at one border tolerance (arguments as there).

    ``palettes`` fixes the colours of each indicator's class letters
    (:func:`page_data.indicators`); ``timeline`` (the data ``timeline.js``
    reads, see :mod:`township_coverage.webmap.timeline`) adds the time slider;
    ``start`` is the column of the indicator shown at start (default the
    first); ``summary`` a box of figures (:func:`plan_page.summary_box`);
    ``planner`` a plan with its editor and the classes of ``start``, which
    make the box a what-if editor (``planner.js``).
    """
    lang, text = options.lang, relabel_values(TEXT[options.lang], options.levels, options.lang)
    shift = options.basemap == "amap"
    table = _display(table, shift)
    fmap = folium.Map(tiles=None, prefer_canvas=True, zoom_snap=0.25)  # coverage.js adds a metric scale
    fmap.get_root().title = title
    fmap.get_root().header.add_child(Element(_CSS), name="tc_css")
    _add_basemap(fmap, options.basemap, text)
    for layer in extra_layers:
        (_line_layer(layer, shift, lang) if isinstance(layer, LineLayer) else _point_layer(layer, shift, lang)).add_to(fmap)
    layer_control = folium.LayerControl(collapsed=False, position="topright").add_to(fmap)

    positions = pd.Index(table.index.astype(str))
    sites = _display(sites, shift)
    lon_min, lat_min, lon_max, lat_max = table.total_bounds
    townships, side_files = page_data.townships(
        table, scale, tolerance=tolerance, county_borders=county_borders, remember=remember,
        folder=options.data_folder,
    )
    settings = {
        "bounds": [[lat_min, lon_min], [lat_max, lon_max]],
        "text": text,
        "townships": townships,
        "indicators": page_data.indicators(table, lang, classified, indicators, palettes=palettes),
        "start": [i.column for i in indicators].index(start) if start is not None else 0,
        "summary": summary,
        "info": {
            "notices": ([text["schematic"]] if schematic else []) + list(notes),
            "sources": sources,
            "label": text["schematic_short"] if schematic else text["info"],
        },
        "labels": page_data.encode_points(label_points(table.geometry.to_numpy()), scale.grid),
        "label_min_zoom": LABEL_MIN_ZOOM,
        "sites": page_data.site_layers(sites, positions, lang, scale.grid,
                                       always=(page_data.PROPOSED_ROOM,) if planner else ()),
        "radius": page_data.radius_layer(options.radius_km, text["radius"].format(radius=f"{options.radius_km or 0:g}")),
        "villages": page_data.villages(_display(villages, shift) if villages is not None else None, positions, scale.grid),
        "details_file": None,
    }
    if planner is not None and settings["villages"] is not None:  # the editor's villages are the search's
        page_villages = villages.index[villages.geometry.notna()]
        settings["planner"] = editor_settings(planner[0].editor, planner[0], positions, page_villages, planner[1], lang)
    if not scale.details_in_page:
        name, script = page_data.details_script(page_data.split_details(settings), options.data_folder)
        settings["details_file"] = name
        side_files[name] = script
    if timeline is not None:
        settings["timeline"] = timeline

    fmap.add_child(CoverageControls(layer_control, settings, side_files))
    if timeline is not None:
        fmap.add_child(TimelineControls())
    if "planner" in settings:
        fmap.add_child(PlannerControls())
    if sources:
        fmap.add_child(Attribution(f"{text['sources']}: {sources}"))
    if options.offline:
        inline_assets(fmap.get_root())
    return fmap


def _display(frame: gpd.GeoDataFrame | None, shift: bool) -> gpd.GeoDataFrame | None:
    """WGS84, or GCJ-02 when the basemap is Amap's."""
    if frame is None:
        return None
    frame = frame.to_crs("EPSG:4326")
    if not shift:
        return frame
    moved = shapely.transform(frame.geometry.to_numpy(), lambda xy: np.column_stack(wgs84_to_gcj02(xy[:, 0], xy[:, 1])))
    return frame.set_geometry(gpd.GeoSeries(moved, index=frame.index, crs="EPSG:4326"))


def _add_basemap(fmap: folium.Map, basemap: str, text: Mapping[str, str]) -> None:
    if basemap == "osm":
        folium.TileLayer("OpenStreetMap", control=False).add_to(fmap)
    elif basemap == "cartodb":
        folium.TileLayer("CartoDB positron", control=False).add_to(fmap)
    elif basemap == "tianditu":
        key = os.environ.get(TIANDITU_KEY_VARIABLE, "").strip()
        if not key:
            raise ValueError(f"the Tianditu basemap needs a key: set the {TIANDITU_KEY_VARIABLE} environment variable")
        for layer in ("vec", "cva"):  # vector map, then its Chinese labels
            folium.TileLayer(
                tiles=f"https://t{{s}}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
                f"&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={{z}}&TILEROW={{y}}"
                f"&TILECOL={{x}}&tk={key}",
                attr=text["tianditu"], subdomains="01234567", max_zoom=18, control=False,
            ).add_to(fmap)
    elif basemap == "amap":
        folium.TileLayer(
            tiles="https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}",
            attr=text["amap"], subdomains="1234", max_zoom=18, control=False,
        ).add_to(fmap)


class CoverageControls(MacroElement):
    """Runs ``coverage.js`` on the map with the settings built in Python."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        TownshipCoverage.init({{ this._parent.get_name() }}, {{ this.layer_control.get_name() }},
            "{{ this.data_id }}");
        {% endmacro %}
        """
    )

    def __init__(self, layer_control: folium.LayerControl, settings: dict, side_files: dict[str, str]) -> None:
        super().__init__()
        self._name = "CoverageControls"
        self.layer_control = layer_control
        self.settings = settings
        self.side_files = side_files
        self.data_id = f"tc-data-{self._id}"

    def render(self, **kwargs):  # noqa: D102 - adds the page's own scripts
        figure = self.get_root()
        for name, source in (("tc_topology_js", _TOPOLOGY_JS), ("tc_canvas_js", _CANVAS_JS), ("tc_coverage_js", _COVERAGE_JS)):
            script = source.read_text(encoding="utf-8").replace("</script", "<\\/script")
            figure.header.add_child(Element(f"<script>{script}</script>"), name=name)
        # The data as JSON elements, parsed when needed (JSON.parse is faster than a script literal);
        # villages only at the first search.
        settings = dict(self.settings, villages=None)
        for suffix, value in (("", settings), ("-villages", self.settings.get("villages"))):
            figure.html.add_child(JsonData(f"{self.data_id}{suffix}", value), name=f"{self.data_id}{suffix}")
        super().render(**kwargs)


class TimelineControls(MacroElement):
    """Runs ``timeline.js`` (the time slider) on a page that :class:`CoverageControls` set up."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        TownshipTimeline.init(TownshipCoverage.page);
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "TimelineControls"

    def render(self, **kwargs):  # noqa: D102 - adds the slider's script and style
        figure = self.get_root()
        script = _TIMELINE_JS.read_text(encoding="utf-8").replace("</script", "<\\/script")
        figure.header.add_child(Element(f"<script>{script}</script>"), name="tc_timeline_js")
        figure.header.add_child(Element(_TIMELINE_CSS), name="tc_timeline_css")
        super().render(**kwargs)


class PlannerControls(MacroElement):
    """Runs ``planner.js`` (the plan page's what-if editor) on a page that :class:`CoverageControls` set up."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        TownshipPlanner.init(TownshipCoverage.page);
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "PlannerControls"

    def render(self, **kwargs):  # noqa: D102 - adds the editor's script
        figure = self.get_root()
        script = _PLANNER_JS.read_text(encoding="utf-8").replace("</script", "<\\/script")
        figure.header.add_child(Element(f"<script>{script}</script>"), name="tc_planner_js")
        super().render(**kwargs)


class JsonData(Element):
    """A ``<script type="application/json">`` element holding ``value``.

    The JSON is a template value, never template source, so that text from
    the data cannot act as template syntax.
    """

    _template = Template('<script type="application/json" id="{{ this.element_id }}">{{ this.json }}</script>')

    def __init__(self, element_id: str, value: object) -> None:
        super().__init__()
        self.element_id = element_id
        self.json = page_data.script_json(value)


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
        self.text_json = page_data.script_json(html.escape(text))


_CSS = """<style>
.folium-map.leaflet-container{background:#f3f3ee}
.tc-legend{background:rgba(255,255,255,.93);padding:8px 10px;font:13px/1.45 sans-serif;max-width:280px;color:#222}
.tc-legend-title{font-weight:bold;margin-bottom:2px}
.tc-indicators label{display:block;cursor:pointer}
.tc-legend-body{margin-top:6px;border-top:1px solid #ccc;padding-top:4px}
.tc-swatch{display:inline-block;width:14px;height:12px;margin-right:6px;vertical-align:middle;border:1px solid #999}
.tc-notice{max-width:340px;background:#fff8d6;border:1px solid #d4b106;padding:5px 8px;font:12px/1.4 sans-serif;
  color:#5c4400}
.tc-sources{display:none;margin-top:6px;font:12px/1.4 sans-serif;color:#333}
.tc-summary{background:rgba(255,255,255,.93);padding:8px 10px;font:13px/1.45 sans-serif;color:#222}
.tc-summary td{padding:1px 10px 1px 0;vertical-align:top}
.tc-summary td:last-child{font-weight:bold;padding-right:0}
.tc-planner{max-width:330px}
.tc-planner-slider{margin:4px 0}
.tc-planner-slider input{width:100%}
.tc-planner .tc-planner-actions a{display:inline;width:auto;height:auto;line-height:1.4;margin-right:12px;border:0;
  background:none;color:#0b61a4;text-decoration:underline;cursor:pointer}
.tc-planner-hint{font-size:12px;color:#555;margin:3px 0}
.tc-planner-counties{max-height:160px;overflow:auto;margin-top:4px;border-top:1px solid #ccc}
.tc-planner-counties table{border-collapse:collapse;font-size:12px}
.tc-planner-counties td,.tc-planner-counties th{padding:0 6px 0 0;font-weight:normal;text-align:right}
.tc-planner-counties td:first-child,.tc-planner-counties th:first-child{text-align:left}
.tc-panel>a.tc-panel-button{display:none}
.tc-compact .tc-panel{background:#fff;border:2px solid rgba(0,0,0,.2);border-radius:4px;background-clip:padding-box;
  box-shadow:none;padding:0;overflow:auto;max-width:calc(100vw - 80px)}
.tc-compact .tc-panel:not(.tc-open)>:not(.tc-panel-button){display:none}
.tc-compact .tc-panel>a.tc-panel-button{display:block;width:auto;height:auto;padding:5px 9px;border:0;border-radius:0;
  background:none;font:bold 13px/1.3 sans-serif;color:#222;text-align:left;text-decoration:none;cursor:pointer;
  white-space:nowrap}
.tc-compact .tc-open>a.tc-panel-button::after{content:"×";float:right;margin-left:12px}
.tc-compact .tc-panel.tc-open{padding:0 9px 8px}
.tc-compact .tc-open>a.tc-panel-button{padding:5px 0}
.tc-compact .tc-panel>.tc-legend-title{display:none}
.tc-compact .tc-notice{max-width:none}
.tc-compact .tc-sources{display:block}
.tc-compact .tc-search{width:170px}
.tc-compact .leaflet-control-attribution{max-width:calc(100vw - 130px);white-space:nowrap;overflow:hidden;
  text-overflow:ellipsis}
.tc-popup table{border-collapse:collapse}
.tc-popup td{padding:1px 6px 1px 0;vertical-align:top}
.tc-popup td:last-child{text-align:right}
.tc-label{background:none;border:none}
.tc-label-text{display:inline-block;transform:translate(-50%,-50%);white-space:nowrap;font:12px sans-serif;
  color:#222;text-shadow:0 0 2px #fff,0 0 2px #fff,0 0 3px #fff;pointer-events:none}
.tc-badge-icon{background:none;border:none}
.tc-badge{display:flex;align-items:center;justify-content:center;width:100%;height:100%;color:#fff;
  font:bold 11px sans-serif;border:1px solid #fff;box-sizing:border-box}
.tc-badge-square{border-radius:3px}
.tc-badge-diamond{transform:rotate(45deg);border-radius:2px;font-size:10px}
.tc-badge-diamond>span{transform:rotate(-45deg)}
.tc-buttons a{font-size:16px;cursor:pointer}
.tc-search{background:#fff;padding:4px;width:220px}
.tc-search input{width:100%;box-sizing:border-box;font:13px sans-serif;padding:3px}
.tc-search-results{list-style:none;margin:0;padding:0;max-height:240px;overflow:auto;font:13px sans-serif}
.tc-search-results li{padding:2px 4px;cursor:pointer}
.tc-search-results li:hover{background:#eef}
.tc-search-results span{color:#666}
.tc-symbol{display:inline-block;width:12px;height:12px;margin-right:5px;vertical-align:middle;border:1px solid #fff;
  box-shadow:0 0 0 1px #999}
</style>"""


_TIMELINE_CSS = """<style>
.tc-timeline{background:rgba(255,255,255,.93);padding:8px 10px;font:13px/1.45 sans-serif;color:#222;width:340px}
.tc-timeline-date{font-weight:bold;margin-bottom:4px}
.tc-timeline-row{display:flex;align-items:center;gap:4px}
.tc-timeline-row input[type=range]{flex:1;margin:0 4px}
.tc-timeline button{font:14px sans-serif;min-width:28px;padding:1px 4px;cursor:pointer}
.tc-timeline-steps{position:relative;height:16px;font-size:11px;color:#555;margin:2px 44px 0 76px}
.tc-timeline-steps span{position:absolute;transform:translateX(-50%);white-space:nowrap;cursor:pointer}
.tc-timeline-steps span.tc-current{color:#000;font-weight:bold}
.tc-compact .tc-timeline{width:calc(100vw - 160px);max-width:340px;box-sizing:border-box}
</style>"""


def _point_layer(layer: PointLayer, shift: bool, lang: str) -> folium.GeoJson:
    points = _display(layer.points, shift)
    frame = gpd.GeoDataFrame(
        {"tip": [html.escape(str(n)) for n in points["name"]]}, geometry=points.geometry.to_numpy(), crs="EPSG:4326"
    )
    swatch = f'<span class="tc-symbol" style="background:{layer.colour};border-radius:50%"></span>'
    return folium.GeoJson(
        _points_geojson(frame),
        name=f"{swatch}{_with_count(layer.label, len(frame), lang)}",
        marker=folium.CircleMarker(
            radius=layer.radius, fill=True, fill_color=layer.colour, fill_opacity=0.95, color="#ffffff", weight=1
        ),
        on_each_feature=JsCode("function (feature, layer) { layer.bindTooltip(feature.properties.tip); }"),
    )


def _line_layer(layer: LineLayer, shift: bool, lang: str) -> folium.GeoJson:
    lines = _display(layer.lines, shift)
    frame = gpd.GeoDataFrame(
        {"tip": [html.escape(str(n)) for n in lines["name"]]}, geometry=lines.geometry.to_numpy(), crs="EPSG:4326"
    )
    swatch = f'<span class="tc-symbol" style="background:{layer.colour};height:3px;border:0;box-shadow:none"></span>'
    colour, weight = layer.colour, layer.weight
    return folium.GeoJson(
        _points_geojson(frame),
        name=f"{swatch}{_with_count(layer.label, len(frame), lang)}",
        style_function=lambda _: {"color": colour, "weight": weight, "opacity": 0.9},
        on_each_feature=JsCode("function (feature, layer) { layer.bindTooltip(feature.properties.tip); }"),
    )


def _with_count(label: str, count: int, lang: str) -> str:
    """``label（count）`` in Chinese, ``label (count)`` in English; escaped."""
    return f"{html.escape(label)}（{count}）" if lang == "zh" else f"{html.escape(label)} ({count})"


def _points_geojson(frame: gpd.GeoDataFrame) -> dict:
    """GeoJSON dict of points (or lines), coordinates rounded to about 1 m."""
    geometry = shapely.transform(frame.geometry.to_numpy(), lambda xy: np.round(xy, COORDINATE_DECIMALS))
    return json.loads(frame.set_geometry(geometry).to_json(drop_id=True, ensure_ascii=False))
