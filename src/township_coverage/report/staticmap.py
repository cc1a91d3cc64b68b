"""Static maps for reports: matplotlib, a CJK font, the interactive map's classes.

Each map fills an A4 landscape page: a title, the choropleth in the same
classes and colours as the interactive map with county outlines and the
names of counties and townships (as many as fit without overlapping, the
most telling first), and beside it a panel with the north arrow, the legend
with units and a scale bar in kilometres; a footer band under the map holds
the data sources and, for schematic data, the notice. No text overlaps
another or leaves the page. Maps are drawn in the data's UTM zone so that
the scale bar is true. PDFs embed their fonts as TrueType/CID fonts and SVGs
keep text as text.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
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
from township_coverage.report.labels import BoxGrid, TextMeasure, is_inside, scale_bar_length

#: CJK font families tried in order: TrueType outlines first (Windows, Debian fonts-wqy-microhei), then
#: the OpenType/CFF fonts (Debian fonts-noto-cjk, macOS). matplotlib embeds a CFF font in a PDF under
#: a TrueType font's name, which poppler warns about and stricter readers may not show.
CJK_FAMILIES = (
    "Microsoft YaHei",
    "WenQuanYi Micro Hei",
    "SimHei",
    "WenQuanYi Zen Hei",
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "PingFang SC",
    "Noto Sans CJK JP",
)
#: Indicators drawn as static maps unless the caller chooses others.
DEFAULT_STATIC_INDICATORS = ("station_staff", "community_rooms", "population_share_within_radius", "gap_score")
A4_LANDSCAPE_IN = (11.69, 8.27)
#: Most counties whose names a whole-area map shows; with more, names would cover the map.
MAX_COUNTY_NAMES = 200
#: Most township names on one map; where they crowd, the most telling ones that fit.
MAX_TOWNSHIP_LABELS = 250
#: Stem of the static map of a plan (``map_plan.png`` ...).
PLAN_MAP_STEM = "map_plan"

# Text sizes in points at figure size. The Word report shows the A4 figure about
# 25 cm wide (0.85 of its size), so nothing is under 8 pt.
TITLE_PT, SUBTITLE_PT, LEGEND_TITLE_PT, LEGEND_PT, COUNTY_PT, LABEL_PT, FOOTER_PT = 16, 11, 10, 9, 10, 8, 8
#: Page margin and the width of the panel right of the map (legend, north arrow, scale bar), in inches.
MARGIN_IN, PANEL_IN, GAP_IN = 0.3, 2.4, 0.15
#: Line height as a multiple of the font size.
LINE_SPACING = 1.35


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
        "e.g. 'apt-get install fonts-wqy-microhei' on Debian/Ubuntu, then delete matplotlib's font cache "
        "(~/.cache/matplotlib) if it was installed after matplotlib"
    )


#: Settings that keep text as text in saved files: embedded TrueType/CID fonts in PDFs, ``<text>`` in SVGs.
#: (``ps.fonttype`` 42 also makes the PDF backend put all characters of a font in one subset:
#: subsetting a CJK font takes seconds, once per subset.)
TEXT_AS_TEXT = {"pdf.fonttype": 42, "ps.fonttype": 42, "svg.fonttype": "none"}


def text_style(font: str):
    """A matplotlib ``rc_context`` for drawing and saving figures with ``font`` (keep it open until saved)."""
    import matplotlib

    return matplotlib.rc_context({"font.family": [font, "DejaVu Sans"], **TEXT_AS_TEXT, "axes.unicode_minus": False})


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
        Township polygons with the indicator ``column`` and ``township_name``.
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
        The map's axes are ``figure.axes[0]``: the townships are its first
        collection, the legend is its legend.
    """
    from matplotlib.patches import Patch

    font = font or find_cjk_font()
    indicator = indicator_by_column(column)
    shapes = shapes if shapes is not None else map_shapes(table, counties)
    classes = classified if classified is not None else classify(table[column], indicator, lang=lang, scheme=scheme)
    handles = [Patch(facecolor=colour, edgecolor="#999999", label=label) for colour, label in classes.legend]
    with text_style(font):
        page = map_page(shapes, classes.colours_for(shapes.index), title=title, footer=footer, lang=lang,
                        figsize=figsize, font=font)
        place_labels(page, [*county_labels(shapes), township_labels(table, shapes, column, indicator)])
        page_legend(page, handles, legend_title(indicator, lang))
    figure = page.figure
    return figure


def legend_title(indicator: Indicator, lang: str, *, note: str = "") -> str:
    """The indicator's label with its unit (and a ``note`` such as "after the plan"), as a legend heads it."""
    unit = ", ".join(part for part in (note, indicator.unit[lang]) if part)
    if not unit:
        return indicator.label[lang]
    return f"{indicator.label[lang]}（{unit.replace(', ', '，')}）" if lang == "zh" else f"{indicator.label[lang]} ({unit})"


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
    label_xy
        ``(n, 2)`` point of each township's name, inside its largest part.
    areas
        Area of each township in square metres.
    crs
        The metric CRS everything is in.
    """

    index: pd.Index
    townships: list
    county_rings: list[np.ndarray]
    county_labels: list[tuple[float, float, str]]
    label_xy: np.ndarray | None = None
    areas: np.ndarray | None = None
    crs: object = None


def map_shapes(table: gpd.GeoDataFrame, counties: gpd.GeoDataFrame | None = None) -> MapShapes:
    """Project the townships (and county outlines) to their UTM zone and make their paths once.

    The paths are what geopandas would draw: every ring closed, holes as
    further sub-paths of their polygon.
    """
    metric = table.estimate_utm_crs()
    geometries = table.geometry.to_crs(metric).to_numpy()
    townships = polygon_paths(geometries)
    rings: list[np.ndarray] = []
    labels: list[tuple[float, float, str]] = []
    if counties is not None:
        outlines = counties.geometry.to_crs(metric).to_numpy()
        rings = _boundary_lines(outlines)
        if "county_name" in counties and len(counties) <= MAX_COUNTY_NAMES:
            labels = [(p.x, p.y, str(name)) for p, name in zip(label_points(outlines), counties["county_name"])]
    label_xy = shapely.get_coordinates(label_points(geometries)) if len(geometries) else np.empty((0, 2))
    return MapShapes(table.index, townships, rings, labels, label_xy, shapely.area(geometries), metric)


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


def _draw_counties(axes, shapes: MapShapes, *, names: bool = True) -> None:
    """County outlines, and (with ``names``) their names unless there are too many."""
    from matplotlib.collections import LineCollection

    if not shapes.county_rings:
        return
    axes.add_collection(LineCollection(shapes.county_rings, color="#333333", linewidth=1.0), autolim=True)
    axes.autoscale_view()
    if not names:
        return
    for x, y, name in shapes.county_labels:
        axes.annotate(
            name, (x, y), ha="center", va="center", fontsize=9, color="#222222",
            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.6},
        )


# --- the page: title, map, side panel, footer -----------------------------------------


@dataclass(frozen=True)
class MapPage:
    """A map page being drawn.

    Attributes
    ----------
    figure
        The matplotlib figure.
    axes
        The map's axes, its limits final (equal aspect applied).
    panel
        ``(left, bottom, width, height)`` in inches of the panel right of
        the map; the legend goes under the north arrow at its top.
    legend_top
        Height in inches where the legend starts.
    lang
        Language of the map's words.
    measure
        Widths of text in the map's font.
    """

    figure: object
    axes: object
    panel: tuple[float, float, float, float]
    legend_top: float
    lang: str
    measure: TextMeasure


def map_page(
    shapes: MapShapes, colours: np.ndarray, *, title: str, footer: str, lang: str, font: str,
    figsize: tuple[float, float] = A4_LANDSCAPE_IN, subtitle: str = "",
) -> MapPage:
    """A page with the title on top, the footer (wrapped) at the bottom, and between them the map filling the frame.

    The townships are drawn in ``colours`` with the county outlines; the
    panel right of the map gets the north arrow and the scale bar. Call
    within :func:`text_style`.
    """
    import matplotlib.pyplot as plt
    from matplotlib.collections import PathCollection

    width, height = figsize
    figure = plt.figure(figsize=figsize)
    measure = TextMeasure(font)
    line_width = (width - 2 * MARGIN_IN) * 72
    top = height - MARGIN_IN
    for text, size in ((title, TITLE_PT), (subtitle, SUBTITLE_PT)):
        lines = measure.wrap(text, line_width, size)
        if lines:
            figure.text(width / 2, top, "\n".join(lines), ha="center", va="top", fontsize=size,
                        linespacing=LINE_SPACING, transform=figure.dpi_scale_trans)
            top -= _lines_height(len(lines), size)
    bottom = MARGIN_IN
    lines = measure.wrap(footer, line_width, FOOTER_PT)
    if lines:
        figure.text(MARGIN_IN, bottom, "\n".join(lines), ha="left", va="bottom", fontsize=FOOTER_PT, color="#444444",
                    linespacing=LINE_SPACING, transform=figure.dpi_scale_trans)
        bottom += _lines_height(len(lines), FOOTER_PT)
    top, bottom = top - GAP_IN, bottom + GAP_IN
    right = width - MARGIN_IN - PANEL_IN - GAP_IN
    axes = figure.add_axes((MARGIN_IN / width, bottom / height, (right - MARGIN_IN) / width, (top - bottom) / height))
    axes.set_axis_off()
    axes.set_aspect("equal", adjustable="datalim")
    axes.add_collection(
        PathCollection(shapes.townships, facecolors=colours, edgecolors="white", linewidths=0.4), autolim=True
    )
    axes.autoscale_view()
    _draw_counties(axes, shapes, names=False)
    axes.margins(0.01)
    axes.apply_aspect()
    axes.set_autoscale_on(False)  # symbols drawn later must not move the map under the labels placed on it
    panel = (width - MARGIN_IN - PANEL_IN, bottom, PANEL_IN, top - bottom)
    legend_top = _panel_north_arrow(figure, panel, lang)
    _panel_scale_bar(figure, axes, panel, lang)
    return MapPage(figure, axes, panel, legend_top, lang, measure)


def _lines_height(lines: int, size: float) -> float:
    """Inches taken by ``lines`` lines of text of ``size`` points."""
    return lines * size * LINE_SPACING / 72


def _panel_north_arrow(figure, panel: tuple[float, float, float, float], lang: str) -> float:
    """An arrow pointing north with 北 / N under it, at the panel's top left; returns the height below it."""
    from matplotlib.patches import FancyArrowPatch

    left, bottom, _, height = panel
    top = bottom + height
    x = left + 0.2
    figure.add_artist(FancyArrowPatch(
        (x, top - 0.45), (x, top), transform=figure.dpi_scale_trans, arrowstyle="-|>", mutation_scale=18,
        color="black", linewidth=1.2,
    ))
    figure.text(x, top - 0.5, "北" if lang == "zh" else "N", ha="center", va="top", fontsize=12,
                transform=figure.dpi_scale_trans)
    return top - 0.5 - _lines_height(1, 12) - 0.15


def _panel_scale_bar(figure, axes, panel: tuple[float, float, float, float], lang: str) -> None:
    """A bar of a round number of kilometres at the panel's bottom left, true to the map's scale."""
    from matplotlib.patches import Rectangle

    left, bottom = panel[0] + 0.05, panel[1] + 0.1
    xmin, xmax = axes.get_xlim()
    metres_per_inch = (xmax - xmin) / (axes.bbox.width / figure.dpi)
    length_m = scale_bar_length(0.75 * panel[2] * metres_per_inch)
    length_in, bar_height = length_m / metres_per_inch, 0.07
    y = bottom + _lines_height(1, LEGEND_PT)
    for k, colour in enumerate(("black", "white")):
        figure.add_artist(Rectangle(
            (left + k * length_in / 2, y), length_in / 2, bar_height, transform=figure.dpi_scale_trans,
            facecolor=colour, edgecolor="black", linewidth=0.8,
        ))
    unit = "公里" if lang == "zh" else "km"
    for x, text, align in ((left, "0", "left"), (left + length_in, f"{length_m / 1000:g} {unit}", "right")):
        figure.text(x, y - 0.04, text, ha=align, va="top", fontsize=LEGEND_PT, transform=figure.dpi_scale_trans)


def page_legend(page: MapPage, handles: Sequence, title: str) -> None:
    """The legend in the panel under the north arrow, its title and labels wrapped to the panel's width."""
    width_pt = page.panel[2] * 72
    handle_pt = 3.5 * LEGEND_PT  # the colour box and the space after it
    for handle in handles:
        handle.set_label("\n".join(page.measure.wrap(handle.get_label(), width_pt - handle_pt, LEGEND_PT)))
    page.axes.legend(
        handles=list(handles), title="\n".join(page.measure.wrap(title, width_pt, LEGEND_TITLE_PT)),
        loc="upper left", bbox_to_anchor=(page.panel[0], page.legend_top), bbox_transform=page.figure.dpi_scale_trans,
        frameon=False, fontsize=LEGEND_PT, title_fontsize=LEGEND_TITLE_PT, alignment="left", borderpad=0,
        borderaxespad=0,
    )


# --- labels that do not overlap ------------------------------------------------------


@dataclass(frozen=True)
class LabelSet:
    """Labels of one kind, in the order they are placed (the most important first).

    Attributes
    ----------
    texts
        The labels.
    xy
        ``(n, 2)`` anchor of each label, in the map's metric CRS.
    size
        Font size in points.
    limit
        Most labels of this set placed.
    beside
        Radius in points of a symbol at the anchor: the label goes right,
        left, above, below or diagonally beside it (the first that fits);
        0 centres the label on the anchor.
    """

    texts: Sequence[str]
    xy: np.ndarray
    size: float
    limit: int | None = None
    beside: float = 0.0


def county_labels(shapes: MapShapes) -> list[LabelSet]:
    """The county names (none when :func:`map_shapes` left them out), placed before any township name."""
    if not shapes.county_labels:
        return []
    xy = np.array([(x, y) for x, y, _ in shapes.county_labels], dtype=float)
    return [LabelSet([name for _, _, name in shapes.county_labels], xy, COUNTY_PT)]


def township_labels(table: pd.DataFrame, shapes: MapShapes, column: str, indicator: Indicator) -> LabelSet:
    """Township names, the most telling values first (at most :data:`MAX_TOWNSHIP_LABELS`).

    Shares and yes/no values are most telling when low (the gaps in
    coverage), other indicators when high; among equal values the
    larger township comes first (its name fits more easily).
    """
    values = table[column].reindex(shapes.index).to_numpy(dtype=float)
    key = values if indicator.kind in ("share", "yes_no") else -values
    key = np.where(np.isnan(key), np.inf, key)
    order = np.lexsort((-shapes.areas, key))
    names = table["township_name"].reindex(shapes.index) if "township_name" in table else shapes.index.to_series()
    names = names.fillna("").astype(str).to_numpy()
    order = order[names[order] != ""]
    return LabelSet(names[order], shapes.label_xy[order], LABEL_PT, limit=MAX_TOWNSHIP_LABELS)


def place_labels(page: MapPage, sets: Sequence[LabelSet], *, obstacles: np.ndarray | None = None) -> int:
    """Draw the labels of ``sets`` in order where each fits: inside the map's frame and clear of those placed.

    Greedy: a label whose box would overlap an already placed one (or one
    of the ``obstacles``, ``(n, 4)`` boxes in display pixels) is left out.
    Boxes are found in a grid of cells, so each try costs the same
    whatever the number of labels.

    Returns
    -------
    int
        The number of labels drawn.
    """
    axes, figure = page.axes, page.figure
    scale = figure.dpi / 72  # pixels per point
    frame = axes.bbox.extents
    grid = BoxGrid(cell=40 * scale)
    for box in obstacles if obstacles is not None else ():
        grid.add(box)
    to_data = axes.transData.inverted()
    drawn = 0
    for labels in sets:
        anchors = axes.transData.transform(labels.xy) if len(labels.xy) else np.empty((0, 2))
        pad = 0.15 * labels.size * scale
        half_height = 0.65 * labels.size * scale + pad
        placed = 0
        for text, (x, y) in zip(labels.texts, anchors):
            if labels.limit is not None and placed >= labels.limit:
                break
            half_width = page.measure.width(text, labels.size) * scale / 2 + pad
            for cx, cy in _centres(x, y, half_width, half_height, labels.beside * scale):
                box = (cx - half_width, cy - half_height, cx + half_width, cy + half_height)
                if is_inside(box, frame) and grid.fits(box):
                    grid.add(box)
                    data_x, data_y = to_data.transform((cx, cy))
                    axes.text(data_x, data_y, text, ha="center", va="center", fontsize=labels.size,
                              color="#222222", clip_on=False, zorder=5,
                              bbox={"boxstyle": "square,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.65})
                    placed += 1
                    break
        drawn += placed
    return drawn


def _centres(x: float, y: float, half_width: float, half_height: float, beside: float) -> list[tuple[float, float]]:
    """Where a label's centre may go: on its anchor, or beside a symbol of radius ``beside`` (right first)."""
    if beside <= 0:
        return [(x, y)]
    dx, dy = beside + half_width, beside + half_height
    return [(x + dx, y), (x - dx, y), (x, y + dy), (x, y - dy),
            (x + dx, y + dy), (x - dx, y + dy), (x + dx, y - dy), (x - dx, y - dy)]


def save_as(figure, path: Path, *, dpi: int = 300) -> Path:
    """Save a figure in the format its file name ends with (png at ``dpi``), text kept as text."""
    import matplotlib

    fmt = path.suffix[1:]
    with matplotlib.rc_context(TEXT_AS_TEXT):
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
    a map whose outlines, colours, legend, labels and words are those of a
    kept one is copied instead of drawn.

    Returns
    -------
    dict
        Indicator column -> files written.
    """
    if not formats:
        return {}
    font = find_cjk_font()
    classes = classes or {}
    written = {}
    shapes: list[MapShapes] = []  # made once, by the first map drawn
    outlines = _outlines_digest(table, counties) if keep is not None else ""
    for column in columns:
        indicator = indicator_by_column(column)
        label = indicator.label[lang]
        map_classes = classified.get(column) if classified is not None else None
        if map_classes is None:
            map_classes = classify(table[column], indicator, lang=lang, scheme=classes.get(column))
        map_title = f"{title}：{label}" if lang == "zh" else f"{title}: {label}"

        def draw(map_title=map_title, column=column, map_classes=map_classes):
            if not shapes:
                shapes.append(map_shapes(table, counties))
            return draw_indicator_map(
                table, column, title=map_title, counties=counties, footer=footer, lang=lang, font=font,
                classified=map_classes, shapes=shapes[0],
            )

        with progress.step("static_map", label) as step:
            paths = [folder / f"{_map_stem(column)}.{fmt}" for fmt in formats]
            drawn = [outlines, column, map_title, footer, lang, font, list(map_classes.colours_for(table.index)),
                     map_classes.legend, *_labels_depend_on(table, column)]
            if _save_maps(draw, paths, font=font, keep=keep, kind=f"static_map_{column}", key=drawn):
                progress.reused(step)
            written[column] = paths
    return written


def _save_maps(draw: Callable[[], object], paths: Sequence[Path], *, font: str, keep: KeepFile | None, kind: str,
               key: Sequence[object]) -> bool:
    """Save the figure ``draw()`` makes (drawn once, when a file is not kept) as each of ``paths``.

    Returns
    -------
    bool
        Whether every file was a copy of a kept one.
    """
    import matplotlib.pyplot as plt

    figures = []

    def save(path: Path) -> None:
        with text_style(font):
            if not figures:
                figures.append(draw())
            save_as(figures[0], path)

    try:
        if keep is None:
            for path in paths:
                save(path)
            return False
        return all([keep(f"{kind}_{path.suffix[1:]}", key, path, save) for path in paths])
    finally:
        for figure in figures:
            plt.close(figure)


def _labels_depend_on(table: pd.DataFrame, column: str) -> list[object]:
    """What the township names a map shows depend on besides the outlines: the names and the mapped values."""
    names = table["township_name"].tolist() if "township_name" in table else []
    return [names, table[column].tolist(), MAX_TOWNSHIP_LABELS]


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


# --- the plan ---------------------------------------------------------------------------

#: The indicator a plan map colours the townships by.
PLAN_COLUMN = "population_share_within_radius"
PROPOSED_COLOUR, EXISTING_COLOUR = "#e6550d", "#4d4d4d"
#: Area in points² of the star of a proposed room and the dot of an existing site.
PROPOSED_SIZE, EXISTING_SIZE = 110, 5
#: Most township names on a plan map (the lowest shares after the plan).
PLAN_TOWNSHIP_LABELS = 50
_PLAN_WORDS = {
    "zh": {
        "title": "{title}：规划新建社工室",
        "subtitle": "拟建社工室 {rooms} 个，服务半径 {radius} 公里；乡镇颜色为规划后服务半径内人口比例",
        "after": "规划后",
        "existing": "现有社工站、社工室",
        "proposed": "拟建社工室（数字为开设顺序）",
        "caption": "规划新建社工室（{rooms} 个）",
    },
    "en": {
        "title": "{title}: planned new rooms",
        "subtitle": "{rooms} proposed rooms, radius {radius} km; townships coloured by the population within the "
                    "radius after the plan",
        "after": "after the plan",
        "existing": "Existing stations and rooms",
        "proposed": "Proposed rooms (numbered in opening order)",
        "caption": "Planned new rooms ({rooms})",
    },
}


def plan_map_names(formats: Sequence[str]) -> list[str]:
    """Names of the files :func:`plan_map` writes for these formats."""
    return [f"{PLAN_MAP_STEM}.{fmt}" for fmt in formats]


def plan_map_caption(rooms: int, lang: str) -> str:
    """The caption of the plan map in a report."""
    return _PLAN_WORDS[lang]["caption"].format(rooms=rooms)


def draw_plan_map(
    table: gpd.GeoDataFrame,
    rooms: gpd.GeoDataFrame,
    existing: gpd.GeoDataFrame,
    *,
    title: str,
    radius_km: float,
    counties: gpd.GeoDataFrame | None = None,
    footer: str = "",
    lang: str = "zh",
    scheme: ClassScheme | None = None,
    font: str | None = None,
    shapes: MapShapes | None = None,
):
    """The plan as a matplotlib figure: townships by their covered population after it, the sites, the new rooms.

    Parameters
    ----------
    table
        Township polygons with ``population_share_within_radius`` after the
        plan (and ``township_name``).
    rooms
        The proposed rooms (points) with their opening ``order``.
    existing
        The stations and rooms there are (points).
    title
        The project's title; the map's title and subtitle name the plan.
    radius_km
        The service radius.
    counties, footer, lang, scheme, font, shapes
        As for :func:`draw_indicator_map` (``scheme`` classes the shares).

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    font = font or find_cjk_font()
    words = _PLAN_WORDS[lang]
    indicator = indicator_by_column(PLAN_COLUMN)
    shapes = shapes if shapes is not None else map_shapes(table, counties)
    classes = classify(table[PLAN_COLUMN], indicator, lang=lang, scheme=scheme)
    room_xy = _points_xy(rooms, shapes.crs)
    with text_style(font):
        page = map_page(
            shapes, classes.colours_for(shapes.index), title=words["title"].format(title=title), footer=footer,
            lang=lang, font=font, subtitle=words["subtitle"].format(rooms=len(rooms), radius=f"{radius_km:g}"),
        )
        axes = page.axes
        site_xy = _points_xy(existing, shapes.crs)
        axes.scatter(site_xy[:, 0], site_xy[:, 1], s=EXISTING_SIZE, c=EXISTING_COLOUR, linewidths=0, zorder=3)
        axes.scatter(room_xy[:, 0], room_xy[:, 1], s=PROPOSED_SIZE, c=PROPOSED_COLOUR, marker="*",
                     edgecolors="black", linewidths=0.5, zorder=4)
        radius_pt = 0.55 * np.sqrt(PROPOSED_SIZE)  # half the star, and its edge
        order = np.argsort(rooms["order"].to_numpy(dtype=float), kind="stable")
        numbers = LabelSet([f"{n:.0f}" for n in rooms["order"].to_numpy(dtype=float)[order]], room_xy[order],
                           LABEL_PT, beside=radius_pt + 1)  # clear of its own star
        names = township_labels(table, shapes, PLAN_COLUMN, indicator)
        names = replace(names, limit=PLAN_TOWNSHIP_LABELS)  # fewer names: the new rooms' numbers stay readable
        place_labels(page, [numbers, *county_labels(shapes), names], obstacles=_symbol_boxes(page, room_xy, radius_pt))
        handles = [Patch(facecolor=colour, edgecolor="#999999", label=label) for colour, label in classes.legend]
        handles += [
            Line2D([], [], linestyle="", marker="o", markersize=3, color=EXISTING_COLOUR, label=words["existing"]),
            Line2D([], [], linestyle="", marker="*", markersize=11, markerfacecolor=PROPOSED_COLOUR,
                   markeredgecolor="black", markeredgewidth=0.5, label=words["proposed"]),
        ]
        page_legend(page, handles, legend_title(indicator, lang, note=words["after"]))
    return page.figure


def _points_xy(points: gpd.GeoDataFrame, crs) -> np.ndarray:
    """``(n, 2)`` coordinates of the located points in ``crs``."""
    located = points[points.geometry.notna() & ~points.geometry.is_empty]
    if located.empty:
        return np.empty((0, 2))
    return shapely.get_coordinates(located.geometry.to_crs(crs).to_numpy())


def _symbol_boxes(page: MapPage, xy: np.ndarray, radius_pt: float) -> np.ndarray:
    """Boxes in display pixels of symbols of ``radius_pt`` points at ``xy`` (that labels keep clear of)."""
    if not len(xy):
        return np.empty((0, 4))
    centres = page.axes.transData.transform(xy)
    radius = radius_pt * page.figure.dpi / 72
    return np.column_stack([centres - radius, centres + radius])


def plan_map(
    table: gpd.GeoDataFrame,
    rooms: gpd.GeoDataFrame,
    existing: gpd.GeoDataFrame,
    folder: Path,
    *,
    formats: Sequence[str] = ("png",),
    title: str,
    radius_km: float,
    counties: gpd.GeoDataFrame | None = None,
    footer: str = "",
    lang: str = "zh",
    scheme: ClassScheme | None = None,
    progress: Progress = SILENT,
    keep: KeepFile | None = None,
) -> list[Path]:
    """Draw and save the plan map (:func:`draw_plan_map`) as ``map_plan.<format>``.

    ``keep`` as for :func:`static_maps`: the map is drawn again only when
    the outlines, the shares after the plan, the sites, the proposed rooms
    or the words change.

    Returns
    -------
    list of Path
        The files written.
    """
    if not formats:
        return []
    font = find_cjk_font()
    paths = [folder / name for name in plan_map_names(formats)]

    def draw():
        return draw_plan_map(table, rooms, existing, title=title, radius_km=radius_km, counties=counties,
                             footer=footer, lang=lang, scheme=scheme, font=font)

    key = [
        _outlines_digest(table, counties) if keep is not None else "", title, radius_km, footer, lang, font, scheme,
        *_labels_depend_on(table, PLAN_COLUMN), _points_digest(rooms, "order"), _points_digest(existing),
    ]
    with progress.step("static_map", _PLAN_WORDS[lang]["title"].format(title="").strip("：: ")) as step:
        if _save_maps(draw, paths, font=font, keep=keep, kind="static_map_plan", key=key):
            progress.reused(step)
    return paths


def _points_digest(points: gpd.GeoDataFrame, *columns: str) -> str:
    """A digest of the points' positions (and ``columns``)."""
    digest = hashlib.sha256(b"".join(shapely.to_wkb(points.geometry.to_numpy(), output_dimension=2)))
    digest.update(str(points.crs).encode("utf-8"))
    for column in columns:
        digest.update(repr(points[column].tolist()).encode("utf-8"))
    return digest.hexdigest()


#: Columns of the per-county table on atlas pages.
ATLAS_COLUMNS = ("stations", "station_staff", "community_rooms", "villages", "population_share_within_radius", "gap_score")
