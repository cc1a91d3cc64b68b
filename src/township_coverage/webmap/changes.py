"""The map of changes between two site lists (``compare``), built with the coverage map's machinery.

Townships are coloured by the net change in sites (a diverging scheme:
losses brown, gains teal), and can be switched to the numbers opened,
closed and moved; opened sites are green, closed ones red, and moved ones
drawn as a line from the old to the new position; unchanged sites are
left out (the tables list them). Tooltips are plain text,
escaped where they become HTML (:mod:`township_coverage.webmap.build`).
"""

from __future__ import annotations

from collections.abc import Sequence

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from township_coverage.classes import CHANGE_INDICATORS, change_classes, classify
from township_coverage.compare import CLOSED, MOVED, OPENED
from township_coverage.webmap import page_data
from township_coverage.webmap.build import LineLayer, MapOptions, PointLayer, build_coverage_map

#: Colours of the change layers.
CHANGE_COLOURS = {OPENED: "#1a9850", CLOSED: "#d73027", MOVED: "#6a3d9a"}
_LAYER_LABELS = {
    "zh": {OPENED: "新增站点", CLOSED: "撤销站点（原位置）", MOVED: "迁移站点（原位置→新位置）", "moved_to": "迁移站点新位置"},
    "en": {OPENED: "Sites opened", CLOSED: "Sites closed (old position)", MOVED: "Sites moved (old → new position)",
           "moved_to": "New positions of moved sites"},
}


def build_change_map(
    townships: gpd.GeoDataFrame,
    changes: pd.DataFrame,
    *,
    title: str,
    change_labels: dict[str, str],
    schematic: bool = False,
    sources: str = "",
    notes: Sequence[str] = (),
    options: MapOptions = MapOptions(),
    remember: page_data.Remember | None = None,
) -> folium.Map:
    """An interactive map of the changes between two site lists.

    Parameters
    ----------
    townships
        Township polygons indexed by township code, with ``township_name``,
        ``county_name`` (``county_code`` for county borders) and the columns
        of :func:`township_coverage.compare.compare_townships`.
    changes
        The change table of :func:`township_coverage.compare.compare_sites`.
    title
        Page title.
    change_labels
        Changes as the tooltips say them (plain text).
    schematic, sources, notes, options, remember
        As for :func:`township_coverage.webmap.build.build_coverage_map`.
    """
    lang = options.lang
    type_labels = {kind: style[0] if lang == "zh" else style[1] for kind, style in page_data.SITE_STYLES.items()}
    classified = {
        indicator.column: (
            change_classes(townships[indicator.column], lang=lang) if indicator.column == "net_change"
            else classify(townships[indicator.column], indicator, lang=lang)
        )
        for indicator in CHANGE_INDICATORS
    }
    # Only the changes are drawn: the sites by type would hide them (a township station is red, as closed sites are).
    no_sites = gpd.GeoDataFrame({"site_type": [], "name": [], "township_code": []}, geometry=[], crs="EPSG:4326")
    return build_coverage_map(
        townships, no_sites, title=title,
        county_borders="county_code" in townships, schematic=schematic, sources=sources, notes=notes,
        extra_layers=change_layers(changes, lang=lang, type_labels=type_labels, change_labels=change_labels),
        options=options, classified=classified, remember=remember, indicators=CHANGE_INDICATORS,
    )


def change_layers(
    changes: pd.DataFrame, *, lang: str, type_labels: dict[str, str], change_labels: dict[str, str]
) -> list[PointLayer | LineLayer]:
    """Layers of the closed, moved and opened sites that have positions (empty ones left out)."""
    labels = _LAYER_LABELS[lang]
    closed = _points(changes[changes["change"] == CLOSED], "old", type_labels, change_labels)
    opened = _points(changes[changes["change"] == OPENED], "new", type_labels, change_labels)
    moved_rows = changes[(changes["change"] == MOVED) & changes[["old_lon", "old_lat", "new_lon", "new_lat"]].notna().all(axis=1)]
    moved_to = _points(moved_rows, "new", type_labels, change_labels)
    layers: list[PointLayer | LineLayer] = [
        PointLayer(labels[CLOSED], closed, CHANGE_COLOURS[CLOSED], 6),
        LineLayer(labels[MOVED], _move_lines(moved_rows, moved_to["name"], lang), CHANGE_COLOURS[MOVED], 3),
        PointLayer(labels["moved_to"], moved_to, CHANGE_COLOURS[MOVED], 5),
        PointLayer(labels[OPENED], opened, CHANGE_COLOURS[OPENED], 6),
    ]
    return [layer for layer in layers if len(layer.points if isinstance(layer, PointLayer) else layer.lines)]


def _points(rows: pd.DataFrame, side: str, type_labels: dict[str, str], change_labels: dict[str, str]) -> gpd.GeoDataFrame:
    """Points of one side of change rows that have a position there, named "name (type): change"."""
    rows = rows[rows[[f"{side}_lon", f"{side}_lat"]].notna().all(axis=1)]
    names = [
        f"{name}（{type_labels.get(kind, kind)}）：{change_labels.get(change, change)}"
        for name, kind, change in zip(rows[f"{side}_name"], rows[f"{side}_type"], rows["change"])
    ]
    geometry = shapely.points(rows[f"{side}_lon"].to_numpy(dtype=float), rows[f"{side}_lat"].to_numpy(dtype=float))
    return gpd.GeoDataFrame({"name": names}, geometry=geometry, crs="EPSG:4326")


def _move_lines(rows: pd.DataFrame, names: pd.Series, lang: str) -> gpd.GeoDataFrame:
    """A line from the old to the new position of each moved site, named with the distance."""
    start = np.column_stack([rows["old_lon"].to_numpy(dtype=float), rows["old_lat"].to_numpy(dtype=float)])
    end = np.column_stack([rows["new_lon"].to_numpy(dtype=float), rows["new_lat"].to_numpy(dtype=float)])
    lines = shapely.linestrings(np.stack([start, end], axis=1)) if len(rows) else np.array([], dtype=object)
    unit = "米" if lang == "zh" else "m"
    said = [f"{name} {distance:,.0f} {unit}" for name, distance in zip(names, rows["distance_m"])]
    return gpd.GeoDataFrame({"name": said}, geometry=lines, crs="EPSG:4326")
