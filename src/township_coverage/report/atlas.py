"""The county atlas: a PDF with a page per county, its townships, sites and indicators."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import numpy as np

from township_coverage.classes import INDICATORS, Classes, classify, format_value, indicator_by_column
from township_coverage.geometry import label_points
from township_coverage.inputs.config import ClassScheme, LevelNames
from township_coverage.report.staticmap import (
    _boundary_lines,
    _finish_map,
    find_cjk_font,
    polygon_paths,
    text_style,
)


#: Columns of the per-county table on atlas pages.
ATLAS_COLUMNS = ("stations", "station_staff", "community_rooms", "villages", "population_share_within_radius", "gap_score")


def atlas_pdf(
    table: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame,
    path: Path,
    *,
    counties: gpd.GeoDataFrame | None,
    column: str = "gap_score",
    footer: str = "",
    lang: str = "zh",
    scheme: ClassScheme | None = None,
    levels: LevelNames = LevelNames(),
    classified: Mapping[str, Classes] | None = None,
) -> Path:
    """A multi-page PDF: one page per county with its townships, sites and indicators.

    Townships are grouped by ``county_code``; the county outline is drawn
    where there is one (the High-tech Zone has none). The townships are
    coloured by ``column``: in ``classified[column]`` when given (the classes
    a run computed once for all its maps), else classed here with ``scheme``.
    """
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages
    from matplotlib.collections import LineCollection, PathCollection

    font = find_cjk_font()
    indicator = indicator_by_column(column)
    metric = table.estimate_utm_crs()
    shapes = table.to_crs(metric)
    paths = np.empty(len(shapes), dtype=object)
    paths[:] = polygon_paths(shapes.geometry.to_numpy())
    if classified is not None and column in classified:
        colours = classified[column]
    else:
        colours = classify(table[column], indicator, lang=lang, scheme=scheme)
    located_sites = sites[sites.geometry.notna()].to_crs(metric)
    outlines = counties.to_crs(metric).set_index("county_code") if counties is not None and "county_code" in counties else None
    from township_coverage.report.tables import column_labels

    headers = column_labels(lang, levels)
    with text_style(font), PdfPages(path, metadata={"Creator": "township-coverage", "Producer": None, "CreationDate": None}) as pdf:
        for county_code, members in shapes.groupby("county_code", sort=True):
            county_name = str(members["county_name"].iloc[0])
            figure = plt.figure(figsize=(8.27, 11.69), layout="constrained")
            grid = figure.add_gridspec(2, 1, height_ratios=[3, 2])
            axes = figure.add_subplot(grid[0])
            axes.set_aspect("equal")
            # Drawn as geopandas draws them, without the full redraw of the page each of its plots makes.
            townships = paths[shapes.index.get_indexer(members.index)]
            axes.add_collection(PathCollection(
                list(townships), facecolors=colours.colours_for(members.index), edgecolors="white", linewidths=0.6,
            ))
            axes.autoscale_view()
            if outlines is not None and county_code in outlines.index:
                # .loc with a list: a county may come as several features (one per part).
                rings = _boundary_lines(outlines.loc[[county_code]].geometry.to_numpy())
                axes.add_collection(LineCollection(rings, color="#333333", linewidth=1.2))
                axes.autoscale_view()
            for point, name in zip(label_points(members.geometry.to_numpy()), members["township_name"]):
                axes.annotate(str(name), (point.x, point.y), ha="center", va="center", fontsize=7,
                              bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.5})
            inside = located_sites[located_sites["township_code"].isin(members.index)]
            for site_type, marker, colour in (("township_station", "o", "#d7301f"), ("community_room", ".", "#2b8cbe")):
                points = inside[inside["site_type"] == site_type]
                axes.scatter(points.geometry.x, points.geometry.y, s=18 if marker == "o" else 10, c=colour,
                             marker=marker, edgecolors="white", linewidths=0.4, zorder=3)
            _finish_map(axes, figure, indicator, colours.legend, county_name, footer, lang)
            table_axes = figure.add_subplot(grid[1])
            table_axes.set_axis_off()
            rows = [
                [str(name)] + [format_value(row[c], indicator_by_column(c), lang=lang) if c in {i.column for i in INDICATORS}
                               else f"{row[c]:,.0f}" for c in ATLAS_COLUMNS]
                for name, (_, row) in zip(members["township_name"], members.iterrows())
            ]
            header = [headers.get("township_name", "township")] + [headers.get(c, c) for c in ATLAS_COLUMNS]
            cell_table = table_axes.table(cellText=rows, colLabels=[_wrap(h) for h in header], loc="upper center", cellLoc="center")
            cell_table.auto_set_font_size(False)
            cell_table.set_fontsize(7)
            cell_table.scale(1, 1.25)
            pdf.savefig(figure)
            plt.close(figure)
    return path


def _wrap(text: str, width: int = 8) -> str:
    return "\n".join(text[i : i + width] for i in range(0, len(text), width))
