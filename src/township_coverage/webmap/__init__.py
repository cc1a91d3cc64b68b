"""Interactive Folium maps that work offline."""

from township_coverage.webmap.build import PointLayer, build_coverage_map, save_map

__all__ = ["PointLayer", "build_coverage_map", "save_map"]
