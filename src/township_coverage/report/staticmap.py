"""Static maps for reports: matplotlib, a CJK font, the interactive map's classes.

Each map has a title, the choropleth in the same classes and colours as the
interactive map, a legend with units, a scale bar, a north arrow, county
outlines and names, and a footer with the data sources and, for schematic
data, the notice. Maps are drawn in the data's UTM zone so that the scale
bar is true.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from township_coverage.classes import Classes, Indicator, classify, indicator_by_column
from township_coverage.inputs.config import ClassScheme
from township_coverage.errors import CoverageError
from township_coverage.geometry import label_points
from township_coverage.progress import SILENT, Progress

#: CJK font families tried in order (Debian fonts-noto-cjk, fonts-wqy-*, Windows, macOS).
CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Microsoft YaHei",
    "SimHei",
    "PingFang SC",
    "Noto Sans CJK JP",
)
#: Indicators drawn as static maps unless the caller chooses others.
DEFAULT_STATIC_INDICATORS = ("station_staff", "community_rooms", "population_share_within_radius", "gap_score")
A4_LANDSCAPE_IN = (11.69, 8.27)
#: Most counties whose names a whole-area map shows; with more, names would cover the map.
MAX_COUNTY_NAMES = 200


class FontNotFoundError(CoverageError):
    """No font that can show Chinese text is installed."""


def find_cjk_font() -> str:
    """The first installed font family of :data:`CJK_FAMILIES`.

    Raises
    ------
    FontNotFoundError
        If none is installed (the message says how to install one).
    """
    from matplotlib import font_manager

    installed = {font.name for font in font_manager.fontManager.ttflist}
    for family in CJK_FAMILIES:
        if family in installed:
            return family
    raise FontNotFoundError(
        "no font for Chinese text was found (looked for " + ", ".join(CJK_FAMILIES) + "); install one, "
        "e.g. 'apt-get install fonts-noto-cjk' on Debian/Ubuntu, then delete matplotlib's font cache "
        "(~/.cache/matplotlib) if it was installed after matplotlib"
    )


def text_style(font: str):
    import matplotlib

    return matplotlib.rc_context(
        {
            "font.family": [font, "DejaVu Sans"],
            "pdf.fonttype": 42,  # embed TrueType/OpenType so text stays text
            "svg.fonttype": "none",
            "axes.unicode_minus": False,
        }
    )


def draw_indicator_map(
    table: gpd.GeoDataFrame,
    column: str,
    *,
    title: str,
    counties: gpd.GeoDataFrame | None = None,
    footer: str = "",
    lang: str = "zh",
    scheme: ClassScheme | None = None,
    font: str | None = None,
    figsize: tuple[float, float] = A4_LANDSCAPE_IN,
    classified: Classes | None = None,
    shapes: MapShapes | None = None,
):
    """One choropleth as a matplotlib figure.

    Parameters
    ----------
    table
        Township polygons with the indicator ``column``.
    column
        Indicator column (see :data:`township_coverage.classes.INDICATORS`).
    title
        Map title.
    counties
        County outlines with ``county_name``, drawn and labelled on top.
    footer
        Sources and notices, printed under the map.
    lang
        Language of labels.
    scheme
        Classification (as in the project file).
    font
        Font family; found with :func:`find_cjk_font` if not given.
    figsize
        Inches.
    classified
        The column's classes as the run computed them for all its maps
        (:func:`township_coverage.classes.classify_table`); by default
        computed here with ``scheme``.
    shapes
        ``table`` and ``counties`` as :func:`map_shapes` prepares them, to
        draw several maps of the same area without preparing them again.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt
    from matplotlib.collections import PathCollection

    font = font or find_cjk_font()
    indicator = indicator_by_column(column)
    shapes = shapes if shapes is not None else map_shapes(table, counties)
    classes = classified if classified is not None else classify(table[column], indicator, lang=lang, scheme=scheme)
    with text_style(font):
        figure, axes = plt.subplots(figsize=figsize, layout="constrained")
        axes.set_aspect("equal")
        # One collection of all townships: drawn as geopandas draws them, without a patch per polygon.
        townships = PathCollection(
            shapes.townships, facecolors=classes.colours_for(shapes.index), edgecolors="white", linewidths=0.4
        )
        axes.add_collection(townships, autolim=True)
        axes.autoscale_view()
        _draw_counties(axes, shapes)
        _finish_map(axes, figure, indicator, classes.legend, title, footer, lang)
    return figure


@dataclass(frozen=True)
class MapShapes:
    """Townships and county outlines in a metric CRS, ready to draw on any number of maps.

    Attributes
    ----------
    index
        The townships' index (township codes), in drawing order.
    townships
        One matplotlib path per township, all its parts and holes in it.
    county_rings
        The rings of the county outlines, as ``(n, 2)`` coordinate arrays.
    county_labels
        ``(x, y, name)`` of each county name shown; none when there are
        more than :data:`MAX_COUNTY_NAMES` counties.
    """

    index: pd.Index
    townships: list
    county_rings: list[np.ndarray]
    county_labels: list[tuple[float, float, str]]


def map_shapes(table: gpd.GeoDataFrame, counties: gpd.GeoDataFrame | None = None) -> MapShapes:
    """Project the townships (and county outlines) to their UTM zone and make their paths once.

    The paths are what geopandas would draw: every ring closed, holes as
    further sub-paths of their polygon.
    """
    metric = table.estimate_utm_crs()
    townships = polygon_paths(table.geometry.to_crs(metric).to_numpy())
    rings: list[np.ndarray] = []
    labels: list[tuple[float, float, str]] = []
    if counties is not None:
        outlines = counties.geometry.to_crs(metric).to_numpy()
        rings = _boundary_lines(outlines)
        if "county_name" in counties and len(counties) <= MAX_COUNTY_NAMES:
            labels = [(p.x, p.y, str(name)) for p, name in zip(label_points(outlines), counties["county_name"])]
    return MapShapes(table.index, townships, rings, labels)


def polygon_paths(geometries: np.ndarray) -> list:
    """One matplotlib path per (multi)polygon, its rings closed, as geopandas makes them.

    Geometries are normalised first, as geopandas does (holes then wind
    against their shell).
    """
    from matplotlib.path import Path as MplPath

    geometries = shapely.normalize(np.asarray(geometries, dtype=object))
    if len(geometries) == 0:
        return []
    coords, (ring_offsets, part_offsets, geometry_offsets) = _polygon_arrays(geometries)
    codes = np.full(len(coords), MplPath.LINETO, dtype=MplPath.code_type)
    codes[ring_offsets[:-1]] = MplPath.MOVETO
    codes[ring_offsets[1:] - 1] = MplPath.CLOSEPOLY
    bounds = ring_offsets[part_offsets[geometry_offsets]]
    return [MplPath(coords[start:end], codes[start:end]) for start, end in zip(bounds[:-1], bounds[1:])]


def _polygon_arrays(geometries: np.ndarray) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Coordinates and ring, part and geometry offsets of (multi)polygons, all as multipolygons."""
    multi = np.array(
        [g if g.geom_type == "MultiPolygon" else shapely.MultiPolygon([g]) for g in geometries], dtype=object
    )
    _, coords, offsets = shapely.to_ragged_array(multi, include_z=False)
    return coords, offsets


def _boundary_lines(geometries: np.ndarray) -> list[np.ndarray]:
    """Every ring of every (multi)polygon as an ``(n, 2)`` array, as geopandas draws ``.boundary``."""
    lines = shapely.get_parts(shapely.normalize(shapely.boundary(np.asarray(geometries, dtype=object))))
    if len(lines) == 0:
        return []
    coords, line_of = shapely.get_coordinates(lines, return_index=True)
    return np.split(coords, np.flatnonzero(np.diff(line_of)) + 1)


def _draw_counties(axes, shapes: MapShapes) -> None:
    """County outlines, and their names unless there are too many."""
    from matplotlib.collections import LineCollection

    if not shapes.county_rings:
        return
    axes.add_collection(LineCollection(shapes.county_rings, color="#333333", linewidth=1.0), autolim=True)
    axes.autoscale_view()
    for x, y, name in shapes.county_labels:
        axes.annotate(
            name, (x, y), ha="center", va="center", fontsize=9, color="#222222",
            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.6},
        )


def _finish_map(axes, figure, indicator: Indicator, legend, title: str, footer: str, lang: str) -> None:
    from matplotlib.patches import Patch

    unit = indicator.unit[lang]
    legend_title = indicator.label[lang] + (f"（{unit}）" if lang == "zh" and unit else f" ({unit})" if unit else "")
    axes.legend(
        handles=[Patch(facecolor=colour, edgecolor="#999999", label=label) for colour, label in legend],
        title=legend_title, loc="lower left", frameon=True, fontsize=8, title_fontsize=9,
    )
    axes.set_title(title, fontsize=14)
    axes.set_axis_off()
    axes.set_aspect("equal")
    _scale_bar(axes, lang)
    _north_arrow(axes, lang)
    if footer:
        figure.text(0.01, 0.005, footer, fontsize=7, color="#444444", ha="left", va="bottom", wrap=True)


def _scale_bar(axes, lang: str) -> None:
    from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar

    xmin, xmax = axes.get_xlim()
    width_m = xmax - xmin
    # A round length near a fifth of the map width: 1, 2 or 5 x 10^n metres.
    target = width_m / 5
    exponent = 10 ** np.floor(np.log10(target))
    length = max(step * exponent for step in (1, 2, 5) if step * exponent <= target)
    label = f"{length / 1000:g} 公里" if lang == "zh" else f"{length / 1000:g} km"
    axes.add_artist(
        AnchoredSizeBar(axes.transData, length, label, loc="lower right", pad=0.6, borderpad=1.0,
                        sep=4, frameon=False, size_vertical=width_m / 300, fontproperties={"size": 8})
    )


def _north_arrow(axes, lang: str) -> None:
    axes.annotate(
        "北" if lang == "zh" else "N", xy=(0.96, 0.96), xytext=(0.96, 0.87), xycoords="axes fraction",
        ha="center", va="center", fontsize=11, fontweight="bold",
        arrowprops={"arrowstyle": "-|>", "facecolor": "black", "lw": 1.2},
    )


def save_as(figure, path: Path, *, dpi: int = 300) -> Path:
    """Save a figure in the format its file name ends with (png at ``dpi``)."""
    fmt = path.suffix[1:]
    figure.savefig(path, dpi=dpi if fmt == "png" else None, format=fmt, metadata=_metadata(fmt))
    return path


def _metadata(fmt: str) -> dict | None:
    # Fixed metadata keeps repeated outputs identical.
    if fmt == "png":
        return {"Software": None}
    if fmt == "pdf":
        return {"Creator": "township-coverage", "Producer": None, "CreationDate": None}
    if fmt == "svg":
        return {"Date": None}
    return None


def static_map_names(formats: Sequence[str], columns: Sequence[str] = DEFAULT_STATIC_INDICATORS) -> list[str]:
    """Names of the files :func:`static_maps` writes for these formats and columns."""
    return [f"{_map_stem(column)}.{fmt}" for column in columns for fmt in formats]


def _map_stem(column: str) -> str:
    return f"map_{column}"


def static_maps(
    table: gpd.GeoDataFrame,
    folder: Path,
    *,
    columns: Sequence[str] = DEFAULT_STATIC_INDICATORS,
    formats: Sequence[str] = ("png",),
    title: str,
    counties: gpd.GeoDataFrame | None = None,
    footer: str = "",
    lang: str = "zh",
    classes: Mapping[str, ClassScheme] | None = None,
    classified: Mapping[str, Classes] | None = None,
    progress: Progress = SILENT,
    keep: KeepFile | None = None,
) -> dict[str, list[Path]]:
    """Draw and save one map per indicator as ``map_<column>.<format>``.

    ``classes`` are the project's schemes per column; ``classified``, the
    classes a run computed once for all its maps
    (:func:`township_coverage.classes.classify_table`), used instead when given.
    ``progress`` gets one line per map. ``keep`` (a cache's
    :meth:`~township_coverage.cache.Cache.get_or_write`) makes each file:
    a map whose outlines, colours, legend and words are those of a kept one
    is copied instead of drawn.

    Returns
    -------
    dict
        Indicator column -> files written.
    """
    import matplotlib.pyplot as plt

    if not formats:
        return {}
    font = find_cjk_font()
    classes = classes or {}
    written = {}
    shapes: MapShapes | None = None
    outlines = _outlines_digest(table, counties) if keep is not None else ""
    for column in columns:
        indicator = indicator_by_column(column)
        label = indicator.label[lang]
        map_classes = classified.get(column) if classified is not None else None
        if map_classes is None:
            map_classes = classify(table[column], indicator, lang=lang, scheme=classes.get(column))
        map_title = f"{title}：{label}" if lang == "zh" else f"{title}: {label}"
        figure = None

        def save(path: Path) -> None:
            nonlocal shapes, figure
            shapes = shapes if shapes is not None else map_shapes(table, counties)
            figure = figure if figure is not None else draw_indicator_map(
                table, column, title=map_title, counties=counties, footer=footer, lang=lang, font=font,
                classified=map_classes, shapes=shapes,
            )
            save_as(figure, path)

        with progress.step("static_map", label) as step:
            paths = [folder / f"{_map_stem(column)}.{fmt}" for fmt in formats]
            if keep is None:
                for path in paths:
                    save(path)
            else:
                drawn = [outlines, column, map_title, footer, lang, font, list(map_classes.colours_for(table.index)),
                         map_classes.legend]
                kept = [keep(f"static_map_{column}_{path.suffix[1:]}", drawn, path, save) for path in paths]
                if all(kept):
                    progress.reused(step)
            if figure is not None:
                plt.close(figure)
            written[column] = paths
    return written


#: ``keep(kind, key_parts, path, write)``: makes the file ``path``, by a copy of
#: the one kept for ``key_parts`` or by ``write(path)``; whether it was a copy.
KeepFile = Callable[[str, Sequence[object], Path, Callable[[Path], None]], bool]


def _outlines_digest(table: gpd.GeoDataFrame, counties: gpd.GeoDataFrame | None) -> str:
    """A digest of what a map draws besides the colours: the township and county outlines and the county names."""
    digest = hashlib.sha256()
    digest.update(repr(list(table.index)).encode("utf-8"))
    for geometries in (table.geometry, counties.geometry if counties is not None else None):
        if geometries is not None:
            digest.update(b"".join(shapely.to_wkb(geometries.to_numpy(), output_dimension=2)))
            digest.update(str(geometries.crs).encode("utf-8"))
    if counties is not None and "county_name" in counties:
        digest.update(repr(list(counties["county_name"])).encode("utf-8"))
    return digest.hexdigest()
