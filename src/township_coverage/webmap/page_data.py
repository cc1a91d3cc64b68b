"""The map's data in the compact form that ``coverage.js`` reads.

Borders are one coverage topology per layer (shared arcs once, on a grid
of about 1 m; :func:`township_coverage.geometry.encode_topology`); points
are varint streams on the same grid; each indicator is a list of display
values and one class letter per township. Tooltips and popups are built
in the page from these, with ``textContent``; only legends are HTML,
escaped here.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from township_coverage.classes import INDICATORS, Classes
from township_coverage.geometry import coverage_topology, encode_topology, node_coverage, varint_base64

# Grid of all coordinates in the page: 1e-5 degrees, about 1 m.
GRID_DEGREES = 1e-5
# Site symbols: (zh label, en label, colour, radius px, symbol, letter, clustered)
SITE_STYLES = {
    "township_station": ("乡镇（街道）社工站", "Township station", "#d7301f", 7, "circle", "", False),
    "community_room": ("村（社区）社工室", "Community room", "#2b8cbe", 5, "dot", "", True),
    "school_station": ("学校社工站", "School station", "#6a51a3", 8, "square", "校", False),
    "enterprise_station": ("企业社工站", "Enterprise station", "#238b45", 8, "square", "企", False),
    "hospital_station": ("医院社工站", "Hospital station", "#ec7014", 8, "square", "医", False),
}
# Above this many markers a site layer is clustered whatever its type, so
# that a national map opens on clusters instead of tens of thousands of symbols.
CLUSTER_ABOVE = 2_000
_CLASS_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def simplified_borders(
    geometries: np.ndarray, tolerance: float | None, names: Sequence[str] | None = None
) -> np.ndarray:
    """Borders simplified as one coverage and noded, so that neighbours still share them exactly."""
    geometries = np.asarray(geometries, dtype=object)
    if tolerance:
        geometries = shapely.coverage_simplify(geometries, tolerance)
    whole = np.array([shapely.union_all(geometries)], dtype=object)
    return node_coverage(geometries, whole, np.zeros(len(geometries), dtype=int), grid_size=GRID_DEGREES, names=names)


def townships(table: gpd.GeoDataFrame, tolerance: float | None) -> dict:
    """Township borders, codes, names and counties (WGS84 ``table`` indexed by code)."""
    shapes = simplified_borders(table.geometry.to_numpy(), tolerance, [f"township {c}" for c in table.index])
    county_names = table["county_name"].astype(str)
    county_list, county_of = np.unique(county_names.to_numpy(), return_inverse=True)
    return {
        "topology": encode_topology(coverage_topology(shapes, grid=GRID_DEGREES)),
        "codes": [str(code) for code in table.index],
        "names": table["township_name"].astype(str).tolist(),
        "county": county_of.tolist(),
        "county_names": county_list.tolist(),
    }


def county_borders(counties: gpd.GeoDataFrame, tolerance: float | None) -> dict:
    """County outlines as a topology (drawn as lines, each border once)."""
    names = _county_names(counties)
    shapes = simplified_borders(counties.geometry.to_numpy(), tolerance, names)
    return encode_topology(coverage_topology(shapes, grid=GRID_DEGREES))


def indicators(table: pd.DataFrame, lang: str, classified: Mapping[str, Classes]) -> list[dict]:
    """Per indicator: label, legend (escaped HTML), kind and unit, display values, class letters and colours."""
    result = []
    for indicator in INDICATORS:
        classes = classified[indicator.column]
        unit = indicator.unit[lang]
        title = indicator.label[lang] + (f"（{unit}）" if lang == "zh" and unit else f" ({unit})" if unit else "")
        rows = "".join(
            f'<div><span class="tc-swatch" style="background:{colour}"></span>{html.escape(label)}</div>'
            for colour, label in classes.legend
        )
        palette, letters = np.unique(np.asarray(classes.colours_for(table.index), dtype=str), return_inverse=True)
        if len(palette) > len(_CLASS_LETTERS):
            raise ValueError(f"{indicator.column}: more than {len(_CLASS_LETTERS)} colours")
        result.append(
            {
                "column": indicator.column,
                "label": indicator.label[lang],
                "legend_html": f"<div><b>{html.escape(title)}</b></div>{rows}",
                "kind": indicator.kind,
                "unit": unit,
                "palette": palette.tolist(),
                "classes": "".join(_CLASS_LETTERS[i] for i in letters),
                "values": _display_values(table[indicator.column], indicator.kind),
            }
        )
    return result


def encode_points(points: np.ndarray) -> dict:
    """Points (shapely, WGS84) as a varint stream of grid steps from one to the next."""
    xy = shapely.get_coordinates(np.asarray(points, dtype=object)) if len(points) else np.zeros((0, 2))
    origin = np.floor(xy.min(axis=0) / GRID_DEGREES) * GRID_DEGREES if len(xy) else np.zeros(2)
    steps = np.diff(np.rint((xy - origin) / GRID_DEGREES).astype(np.int64), axis=0, prepend=np.zeros((1, 2), np.int64))
    return {
        "points": varint_base64((steps.ravel() << 1) ^ (steps.ravel() >> 63)),
        "origin": origin.tolist(),
        "grid": GRID_DEGREES,
    }


def site_layers(sites: gpd.GeoDataFrame, townships: pd.Index, lang: str) -> list[dict]:
    """Per site type present: style, label (escaped HTML), points, names and township positions."""
    layers = []
    for site_type, (zh, en, colour, radius, symbol, letter, clustered) in SITE_STYLES.items():
        frame = sites[sites["site_type"] == site_type]
        if frame.empty:
            continue
        shape = "50%" if symbol in {"circle", "dot"} else "3px"
        swatch = f'<span class="tc-symbol" style="background:{colour};border-radius:{shape}"></span>'
        label = html.escape(zh if lang == "zh" else en)
        layers.append(
            {
                "type": site_type,
                "label_html": f"{swatch}{label}（{len(frame)}）" if lang == "zh" else f"{swatch}{label} ({len(frame)})",
                "symbol": symbol,
                "letter": letter,
                "colour": colour,
                "radius": radius,
                "cluster": clustered or len(frame) > CLUSTER_ABOVE,
                **_named_points(frame, frame["name"], townships),
            }
        )
    return layers


def radius_layer(sites: gpd.GeoDataFrame, radius_km: float | None, label: str) -> dict | None:
    """Coverage circles around rooms and stations, if a radius is given."""
    if radius_km is None:
        return None
    covering = sites[sites["site_type"].isin(["township_station", "community_room"])]
    return {"metres": radius_km * 1000, "label_html": html.escape(label), **encode_points(covering.geometry.to_numpy())}


def villages(villages: gpd.GeoDataFrame | None, townships: pd.Index) -> dict | None:
    """Villages for the search box: points, names and township positions."""
    if villages is None or "village_name" not in villages:
        return None
    located = villages[villages.geometry.notna()]
    return _named_points(located, located["village_name"], townships)


def _named_points(frame: gpd.GeoDataFrame, names: pd.Series, townships: pd.Index) -> dict:
    """Points, their names and the position of their township (-1: none), as parallel lists."""
    position = townships.get_indexer(frame["township_code"].astype(str)) if "township_code" in frame else np.full(
        len(frame), -1
    )
    return {
        **encode_points(frame.geometry.to_numpy()),
        "names": names.astype(str).tolist(),
        "township": varint_base64(position + 1),
    }


def _display_values(values: pd.Series, kind: str) -> list:
    """Values as shown in tooltips: shares in whole percent, others whole numbers, yes/no as 1/0, None if missing."""
    numbers = pd.to_numeric(values, errors="coerce").astype(float).to_numpy()
    if kind == "share":
        numbers = 100 * numbers
    rounded = np.round(numbers)  # half to even, as Python's format() rounds
    return [None if np.isnan(v) else int(v) for v in rounded]


def _county_names(counties: gpd.GeoDataFrame) -> list[str]:
    """How counties are called in error messages: code, else name, else row."""
    for column in ("county_code", "county_name"):
        if column in counties:
            return [f"county {value}" for value in counties[column]]
    return [f"county feature {i + 1}" for i in range(len(counties))]
