"""Interactive Folium maps that work offline."""

from township_coverage.webmap.build import (
    BASEMAPS,
    LineLayer,
    MapOptions,
    PointLayer,
    build_coverage_map,
    map_side_files,
    render_map,
    save_map,
)
from township_coverage.webmap.page_data import PROPOSED_ROOM
from township_coverage.webmap.plan_page import PlanFigures
from township_coverage.webmap.timeline import TimelineStep, build_timeline_map

__all__ = [
    "BASEMAPS",
    "LineLayer",
    "MapOptions",
    "PROPOSED_ROOM",
    "PlanFigures",
    "PointLayer",
    "TimelineStep",
    "build_coverage_map",
    "build_timeline_map",
    "map_side_files",
    "render_map",
    "save_map",
]
