"""Interactive Folium maps that work offline."""

from township_coverage.webmap.build import build_coverage_map, save_map

__all__ = ["build_coverage_map", "save_map"]
