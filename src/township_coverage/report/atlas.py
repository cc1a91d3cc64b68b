"""The county atlas: a PDF a civil-affairs bureau can hand in.

Pages, all numbered: a cover (title, date, sources, the schematic notice), a
table of contents, an overview map numbering the counties with the page each
starts on, then a section per county. A section's first page has the county's
map (townships coloured by the gap score, sites by type, neighbouring counties
in grey and named, so that a hole in a county shows whose it is), the legends,
scale bar and north arrow in a column beside the map, and the township table;
a long table continues on further pages ("续表") with its header repeated.

Township names are placed where they cover no site symbol and no other name
(:class:`LabelPlacer`). Counties are drawn from the union of their townships,
so units without an outline of their own (a development zone carved from its
host counties) are drawn like any other.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from township_coverage.classes import Classes, classify, indicator_by_column
from township_coverage.geometry import label_points
from township_coverage.inputs.config import ClassScheme, LevelNames
from township_coverage.inputs.dates import day_text
from township_coverage.levels import relabel
from township_coverage.report.labels import LabelPlacer, TextMeasure, scale_bar_length
from township_coverage.report.staticmap import find_cjk_font, polygon_paths, text_style
from township_coverage.report.tables import column_labels
from township_coverage.webmap.page_data import SITE_STYLES

#: Columns of the township table, in order (a column equal on every row is left out and said in a note).
ATLAS_COLUMNS = ("stations", "station_staff", "community_rooms", "villages", "population_share_within_radius", "gap_score")
#: Units of the table's columns, written in the header (cells hold numbers only).
HEADER_UNITS = {
    "zh": {"stations": "个", "station_staff": "人", "community_rooms": "个", "villages": "个",
           "population_share_within_radius": "%", "gap_score": "分"},
    "en": {"population_share_within_radius": "%", "gap_score": "points"},
}
_ENGLISH_HEADERS = {"township_name": "Township", "stations": "Stations", "villages": "Villages"}
#: Site symbols (matplotlib marker, size in points) per site type; labels and colours are the interactive map's.
SITE_MARKERS = {
    "township_station": ("o", 5.0),
    "community_room": ("o", 3.2),
    "school_station": ("s", 5.0),
    "enterprise_station": ("D", 4.6),
    "hospital_station": ("^", 5.4),
}
CONTEXT_FILL = "#e3e3e3"
CONTEXT_EDGE = "#9a9a9a"
TEXT = {
    "zh": {
        "atlas": "县区图集", "made": "编制日期：{day}", "sources": "资料来源：{text}", "contents": "目录",
        "overview": "总图", "index_in_contents": "县区序号与页码见目录",
        "continued": "{text}（续表）", "caption": "{county}各乡镇（街道）指标",
        "sites": "站点", "others": "其他县区（灰色）", "km": "{km:g} 公里", "north": "北",
        "same": "{label}：各乡镇（街道）均为 {value}（不另列）", "no_data": "无数据", "number": "序号",
        "county": "县区", "page": "页码", "page_of": "第 {n} 页 / 共 {total} 页",
        "overview_title": "总图：{count} 个县区及其起始页",
    },
    "en": {
        "atlas": "County atlas", "made": "Made on {day}", "sources": "Sources: {text}", "contents": "Contents",
        "overview": "Overview map", "index_in_contents": "County numbers and pages: see the contents",
        "continued": "{text} (continued)", "caption": "Townships of {county}",
        "sites": "Sites", "others": "Other counties (grey)", "km": "{km:g} km", "north": "N",
        "same": "{label}: {value} in every township (column left out)", "no_data": "no data", "number": "No.",
        "county": "County", "page": "Page", "page_of": "Page {n} of {total}",
        "overview_title": "Overview: {count} counties and the page each starts on",
    },
}

# Page geometry in inches (A4 portrait), heights from the page's foot; font sizes in points.
PAGE = (8.27, 11.69)
MARGIN = 0.6
RUNNING_TITLE_Y = PAGE[1] - 0.5
PAGE_TITLE_Y = PAGE[1] - 0.85
MAP_TOP = PAGE[1] - 1.15
#: A county's map is as tall as its table leaves room for, within these bounds.
MAP_MIN, MAP_MAX = 4.4, 6.2
LEGEND_WIDTH = 1.75
CAPTION_HEIGHT = 0.3
ROW_HEIGHT = 0.2
NOTE_LINE = 0.17
TOC_ROW_HEIGHT = 0.26
PAGE_NUMBER_Y = 0.35
FOOTER_BOTTOM = 0.6
FOOTER_LINE = 0.13
FOOTER_SIZE = 6.5
TABLE_SIZE = 7.0
LABEL_SIZE = 6.5
#: Share of a map's area below which a part of another county in view is not named.
MIN_NAMED_SHARE = 0.004
#: Below this many counties the overview map writes their names beside their numbers.
OVERVIEW_NAMES_UP_TO = 40


def write_atlas(
    table: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame,
    path: Path,
    *,
    county_codes: Sequence[str] | None = None,
    title: str,
    sources: str = "",
    notice: str = "",
    made_on: dt.date | None = None,
    column: str = "gap_score",
    lang: str = "zh",
    scheme: ClassScheme | None = None,
    levels: LevelNames = LevelNames(),
    classified: Mapping[str, Classes] | None = None,
) -> int:
    """Write the atlas PDF: cover, contents, overview map and a section per county.

    Parameters
    ----------
    table
        Every township (polygons, ``county_code``, ``county_name``,
        ``township_name`` and the :data:`ATLAS_COLUMNS`), indexed by
        township code; townships of counties without a section are drawn
        in grey around the counties that have one.
    sites
        Sites with ``site_type`` and ``township_code``; those without a
        position are left out.
    path
        The PDF file.
    county_codes
        Counties that get a section, in order; by default every county of ``table``.
    title
        The project's title, on the cover and atop every page.
    sources, notice
        The data sources and, for schematic data, the notice saying so;
        on the cover and at the foot of every county's pages.
    made_on
        Date on the cover (default today).
    column
        Indicator the townships are coloured by: in ``classified[column]``
        when given (the classes a run computed for all its maps), else
        classed here with ``scheme``.
    lang, levels
        Language of the text and the project's names of the levels.

    Returns
    -------
    int
        Number of pages written.
    """
    from matplotlib.backends.backend_pdf import PdfPages

    font = find_cjk_font()
    words = {key: relabel(text, levels, lang) for key, text in TEXT[lang].items()}
    indicator = indicator_by_column(column)
    classes = classified.get(column) if classified is not None else None
    if classes is None:
        classes = classify(table[column], indicator, lang=lang, scheme=scheme)
    measure = TextMeasure(font)
    all_codes = table["county_code"].astype(str)
    codes = [str(code) for code in county_codes] if county_codes is not None else sorted(all_codes.unique())
    if not codes:
        raise ValueError("the atlas needs at least one county")
    table = _around(table, all_codes.isin(codes).to_numpy())
    metric = table.to_crs(table.estimate_utm_crs())
    located = sites[sites.geometry.notna()].to_crs(metric.crs)
    atlas = _Atlas(metric, table.geometry, located, classes, words, lang, levels, measure)
    footer = _footer_lines(sources, notice, words, measure)
    sections = _plan_sections(atlas, codes, len(footer))
    total = sections[-1].first_page + sections[-1].pages - 1
    metadata = {"Creator": "township-coverage", "Producer": None, "CreationDate": None, "Title": title}
    with text_style(font), PdfPages(path, metadata=metadata) as pdf:
        pages = _Pages(pdf, total, words)
        _cover(pages.new(), title, words, made_on or dt.date.today(), sources, notice, lang, measure)
        pages.save()
        for rows in _toc_chunks(sections):
            _contents(pages.new(), title, rows, words, measure)
            pages.save()
        _overview(pages.new(), title, atlas, sections)
        pages.save()
        for section in sections:
            _county_pages(pages, title, atlas, section, footer, indicator)
    return pages.count


def _around(table: gpd.GeoDataFrame, chosen: np.ndarray) -> gpd.GeoDataFrame:
    """The ``chosen`` townships and those near enough to show on their pages (a large project's others are left out)."""
    if chosen.all():
        return table
    x0, y0, x1, y1 = table.geometry[chosen].total_bounds
    margin = 0.6 * max(x1 - x0, y1 - y0)  # more than any page's view reaches beyond the chosen counties
    return table.cx[x0 - margin : x1 + margin, y0 - margin : y1 + margin]


def _footer_lines(sources: str, notice: str, words: Mapping[str, str], measure: TextMeasure) -> list[str]:
    """Sources and notice, wrapped to the width of the page."""
    width = (PAGE[0] - 2 * MARGIN) * 72
    parts = ([words["sources"].format(text=sources)] if sources else []) + ([notice] if notice else [])
    return [line for part in parts for line in measure.wrap(part, width, FOOTER_SIZE)]


# What the pages show.


class _Atlas:
    """Townships and sites in a metric CRS, and what every page needs from them."""

    def __init__(self, townships: gpd.GeoDataFrame, source: gpd.GeoSeries, sites: gpd.GeoDataFrame, classes: Classes,
                 words: Mapping[str, str], lang: str, levels: LevelNames, measure: TextMeasure):
        self.townships = townships.assign(county_code=townships["county_code"].astype(str))
        self.tree = shapely.STRtree(self.townships.geometry.to_numpy())
        self._source = source
        self.sites = sites
        self.classes = classes
        self.words = words
        self.lang = lang
        self.levels = levels
        self.measure = measure
        by_county = self.townships.groupby("county_code")
        self.names = by_county["county_name"].first().astype(str)
        self._rows = by_county.indices  # county code -> positions of its townships
        self._shapes: dict[str, shapely.Geometry] = {}

    def members(self, code: str) -> gpd.GeoDataFrame:
        """The county's townships."""
        return self.townships.iloc[self._rows[code]]

    def county_shape(self, code: str) -> shapely.Geometry:
        """The union of the county's townships."""
        if code not in self._shapes:
            self._shapes[code] = self._union(self.members(code).index)
        return self._shapes[code]

    def _union(self, townships: pd.Index) -> shapely.Geometry:
        """The union of townships, made in their own CRS (projected borders may no longer match exactly)."""
        geometries = shapely.make_valid(self._source.loc[townships].to_numpy())
        try:
            union = shapely.union_all(geometries)
        except shapely.errors.GEOSException:  # borders that nearly match: snap them to a fine grid
            x0, y0, x1, y1 = shapely.total_bounds(geometries)
            union = shapely.union_all(geometries, grid_size=max(x1 - x0, y1 - y0) * 1e-7)
        return gpd.GeoSeries([union], crs=self._source.crs).to_crs(self.townships.crs).iloc[0]

    def context(self, view: tuple[float, float, float, float], leave_out: set[str]) -> list[tuple[str, shapely.Geometry]]:
        """``(name, shape)`` of every other county in ``view``: its townships there, joined and cut to the view."""
        box = shapely.box(*view)
        found = self.tree.query(box, predicate="intersects")
        near = self.townships.iloc[np.sort(found)]
        near = near[~near["county_code"].isin(leave_out)]
        shapes = []
        for code, group in near.groupby("county_code", sort=True):
            shape = shapely.clip_by_rect(self._union(group.index), *view)
            if not shape.is_empty:
                shapes.append((self.names[code], shape))
        return shapes


@dataclass(frozen=True)
class _Table:
    """A county's township table as drawn: columns, wrapped headers, cells and notes."""

    keys: list[str]
    headers: list[list[str]]
    widths: list[float]
    rows: list[list[str]]
    notes: list[str]

    @property
    def header_height(self) -> float:
        return max(len(lines) for lines in self.headers) * TABLE_SIZE * 1.3 / 72 + 0.1


@dataclass(frozen=True)
class _Section:
    """A county's pages: its number in the contents, the page it starts on, how its rows are split."""

    number: int
    code: str
    name: str
    members: gpd.GeoDataFrame
    table: _Table
    first_page: int
    map_height: float
    row_chunks: list[list[list[str]]]

    @property
    def pages(self) -> int:
        return len(self.row_chunks)


def _plan_sections(atlas: _Atlas, codes: Sequence[str], footer_lines: int) -> list[_Section]:
    """Every county's section with the pages it takes, numbered after the cover, contents and overview."""
    sections = []
    page = 1 + _toc_pages(len(codes)) + 1 + 1
    for number, code in enumerate(codes, start=1):
        members = atlas.members(code)
        table = _township_table(members, atlas)
        map_height, chunks = _split_rows(table, footer_lines)
        sections.append(_Section(number, code, str(atlas.names[code]), members, table, page, map_height, chunks))
        page += len(chunks)
    return sections


def _footer_top(footer_lines: int) -> float:
    return FOOTER_BOTTOM + footer_lines * FOOTER_LINE + 0.1


def _split_rows(table: _Table, footer_lines: int) -> tuple[float, list[list[list[str]]]]:
    """The map's height on the first page and the rows of each page: all on the first page when they fit."""
    bottom = _footer_top(footer_lines) + len(table.notes) * NOTE_LINE + 0.05
    fixed = 0.15 + CAPTION_HEIGHT + table.header_height
    rows = table.rows
    map_height = min(MAP_MAX, MAP_TOP - bottom - fixed - len(rows) * ROW_HEIGHT)
    if map_height >= MAP_MIN:
        return map_height, [rows]
    first = max(0, int((MAP_TOP - bottom - fixed - MAP_MIN) // ROW_HEIGHT))
    further = max(1, int((PAGE_TITLE_Y - 0.3 - CAPTION_HEIGHT - table.header_height - bottom) // ROW_HEIGHT))
    chunks = [rows[:first]] + [rows[i : i + further] for i in range(first, len(rows), further)]
    return MAP_MIN, chunks


def _township_table(members: gpd.GeoDataFrame, atlas: _Atlas) -> _Table:
    """The township table of a county: names and :data:`ATLAS_COLUMNS`, units in the header.

    A column whose value is the same on every row (of two or more) is left
    out and said once in a note under the table.
    """
    lang, words = atlas.lang, atlas.words
    labels = column_labels(lang, atlas.levels)
    units = HEADER_UNITS.get(lang, {})
    keys, headers, notes = ["township_name"], [_header_label("township_name", labels, lang)], []
    cells: dict[str, list[str]] = {"township_name": [str(name) for name in members["township_name"]]}
    for key in ATLAS_COLUMNS:
        values = [_cell(value, key, words) for value in members[key]]
        label, unit = _header_label(key, labels, lang), units.get(key, "")
        if len(values) > 1 and len(set(values)) == 1:
            notes.append(words["same"].format(label=label, value=values[0] + _unit_after_value(unit)))
            continue
        keys.append(key)
        headers.append(label + _unit_suffix(unit, lang))
        cells[key] = values
    widths = _column_widths(keys, cells, atlas.measure)
    wrapped = [atlas.measure.wrap(header, width * 72 - 6, TABLE_SIZE) for header, width in zip(headers, widths)]
    rows = [list(row) for row in zip(*(cells[key] for key in keys))]
    return _Table(keys, wrapped, widths, rows, notes)


def _header_label(key: str, labels: Mapping[str, str], lang: str) -> str:
    label = labels.get(key, key)
    if label == key:  # no label in this language: the indicator's, or a plain English one
        try:
            return indicator_by_column(key).label[lang]
        except ValueError:
            return _ENGLISH_HEADERS.get(key, key)
    return label


def _unit_suffix(unit: str, lang: str) -> str:
    if not unit:
        return ""
    return f"（{unit}）" if lang == "zh" else f" ({unit})"


def _unit_after_value(unit: str) -> str:
    return unit if unit in ("", "%") else f" {unit}"


def _cell(value: object, key: str, words: Mapping[str, str]) -> str:
    """A value as the table shows it: a number without its unit (shares in per cent)."""
    if pd.isna(value):
        return words["no_data"]
    if key == "population_share_within_radius":
        return f"{100 * float(value):.0f}"
    return f"{float(value):,.0f}"


def _column_widths(keys: list[str], cells: Mapping[str, list[str]], measure: TextMeasure) -> list[float]:
    """Inches: the name column as wide as its longest name, the others sharing the rest."""
    content = PAGE[0] - 2 * MARGIN
    longest = max((measure.width(text, TABLE_SIZE) for text in cells["township_name"]), default=0.0)
    first = min(max(1.2, longest / 72 + 0.2), content / 3)
    rest = (content - first) / max(1, len(keys) - 1)
    return [first] + [rest] * (len(keys) - 1)


def _toc_pages(counties: int) -> int:
    return max(1, math.ceil((counties + 1) / _toc_rows_per_page()))


def _toc_rows_per_page() -> int:
    return int((PAGE_TITLE_Y - 0.6 - (PAGE_NUMBER_Y + 0.4)) // TOC_ROW_HEIGHT)


# Pages.


class _Pages:
    """Makes A4 figures with the page number, and saves them into the PDF in order."""

    def __init__(self, pdf, total: int, words: Mapping[str, str]):
        self.pdf = pdf
        self.total = total
        self.words = words
        self.count = 0
        self.figure = None

    def new(self):
        from matplotlib.figure import Figure

        self.count += 1
        self.figure = Figure(figsize=PAGE)
        _text(self.figure, PAGE[0] / 2, PAGE_NUMBER_Y, self.words["page_of"].format(n=self.count, total=self.total),
              size=8, ha="center", color="#444444")
        return self.figure

    def save(self) -> None:
        self.pdf.savefig(self.figure)
        self.figure = None


def _text(figure, x: float, y: float, text: str, *, size: float, **style):
    """Text at ``(x, y)`` inches from the page's lower left corner."""
    return figure.text(x, y, text, transform=figure.dpi_scale_trans, fontsize=size, **style)


def _line(figure, xs: Sequence[float], ys: Sequence[float], **style) -> None:
    from matplotlib.lines import Line2D

    figure.add_artist(Line2D(xs, ys, transform=figure.dpi_scale_trans, **style))


def _rectangle(figure, x: float, y: float, width: float, height: float, **style) -> None:
    from matplotlib.patches import Rectangle

    figure.add_artist(Rectangle((x, y), width, height, transform=figure.dpi_scale_trans, **style))


def _running_title(figure, title: str, measure: TextMeasure) -> None:
    """The project's title, small, atop the page."""
    lines = measure.wrap(title, (PAGE[0] - 2 * MARGIN) * 72, 8)
    _text(figure, MARGIN, RUNNING_TITLE_Y, lines[0] + ("…" if len(lines) > 1 else ""), size=8, color="#666666")
    _line(figure, [MARGIN, PAGE[0] - MARGIN], [RUNNING_TITLE_Y - 0.08] * 2, color="#999999", linewidth=0.5)


def _cover(figure, title: str, words: Mapping[str, str], day: dt.date, sources: str, notice: str, lang: str,
           measure: TextMeasure) -> None:
    width = (PAGE[0] - 2 * MARGIN) * 72
    y = PAGE[1] * 0.68
    for line in measure.wrap(title, width, 24):
        _text(figure, PAGE[0] / 2, y, line, size=24, ha="center", weight="bold")
        y -= 0.5
    _text(figure, PAGE[0] / 2, y - 0.2, words["atlas"], size=18, ha="center")
    _text(figure, PAGE[0] / 2, y - 0.85, words["made"].format(day=day_text(pd.Timestamp(day), lang)), size=11,
          ha="center", color="#333333")
    if notice:
        lines = measure.wrap(notice, width - 24, 10)
        height = len(lines) * 0.2 + 0.2
        top = PAGE[1] * 0.36
        _rectangle(figure, MARGIN, top - height, PAGE[0] - 2 * MARGIN, height, facecolor="#fff5eb",
                   edgecolor="#d94801", linewidth=1.0)
        for i, line in enumerate(lines):
            _text(figure, MARGIN + 0.15, top - 0.2 - i * 0.2, line, size=10, va="center", color="#7f2704")
    if sources:
        lines = measure.wrap(words["sources"].format(text=sources), width, 8)
        for i, line in enumerate(lines):
            _text(figure, MARGIN, 1.3 + (len(lines) - 1 - i) * 0.16, line, size=8, color="#444444")


def _toc_chunks(sections: list[_Section]) -> list[list[tuple[str, str, int]]]:
    """The contents' rows (number, name, page), split into pages."""
    overview_page = 1 + _toc_pages(len(sections)) + 1
    rows = [("", "", overview_page)] + [(str(s.number), s.name, s.first_page) for s in sections]
    per_page = _toc_rows_per_page()
    return [rows[i : i + per_page] for i in range(0, len(rows), per_page)]


def _contents(figure, title: str, rows: list[tuple[str, str, int]], words: Mapping[str, str],
              measure: TextMeasure) -> None:
    _running_title(figure, title, measure)
    _text(figure, MARGIN, PAGE_TITLE_Y, words["contents"], size=16, weight="bold", va="center")
    right = PAGE[0] - MARGIN
    y = PAGE_TITLE_Y - 0.6
    _text(figure, MARGIN, y, words["number"], size=9, color="#666666", va="center")
    _text(figure, MARGIN + 0.6, y, words["county"], size=9, color="#666666", va="center")
    _text(figure, right, y, words["page"], size=9, color="#666666", va="center", ha="right")
    for number, name, page in rows:
        y -= TOC_ROW_HEIGHT
        name = name or words["overview"]
        _text(figure, MARGIN, y, number, size=10, va="center")
        _text(figure, MARGIN + 0.6, y, name, size=10, va="center")
        page_text = str(page)
        start = MARGIN + 0.6 + measure.width(name, 10) / 72 + 0.1
        end = right - measure.width(page_text, 10) / 72 - 0.1
        if end > start:
            _line(figure, [start, end], [y - 0.04] * 2, color="#999999", linewidth=0.6, linestyle=(0, (1, 2)))
        _text(figure, right, y, page_text, size=10, va="center", ha="right")


def _leader_row(figure, left: float, right: float, y: float, text: str, page: str, size: float,
                measure: TextMeasure) -> None:
    """``text ······ page`` between ``left`` and ``right`` (inches), the page right-aligned."""
    _text(figure, left, y, text, size=size, va="center")
    _text(figure, right, y, page, size=size, va="center", ha="right")
    start = left + measure.width(text, size) / 72 + 0.08
    end = right - measure.width(page, size) / 72 - 0.08
    if end > start:
        _line(figure, [start, end], [y - 0.03] * 2, color="#999999", linewidth=0.6, linestyle=(0, (1, 2.5)))


# Maps.


def _view(bounds: Sequence[float], width: float, height: float, pad: float = 0.05) -> tuple[float, float, float, float]:
    """``bounds`` grown by ``pad`` and then to the shape of a ``width`` x ``height`` panel."""
    x0, y0, x1, y1 = bounds
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    half_w, half_h = max(x1 - x0, 1.0) * (1 + 2 * pad) / 2, max(y1 - y0, 1.0) * (1 + 2 * pad) / 2
    if half_w / half_h < width / height:
        half_w = half_h * width / height
    else:
        half_h = half_w * height / width
    return (cx - half_w, cy - half_h, cx + half_w, cy + half_h)


def _map_axes(figure, left: float, bottom: float, width: float, height: float, view):
    axes = figure.add_axes((left / PAGE[0], bottom / PAGE[1], width / PAGE[0], height / PAGE[1]))
    axes.set_xlim(view[0], view[2])
    axes.set_ylim(view[1], view[3])
    axes.set_xticks([])
    axes.set_yticks([])
    for spine in axes.spines.values():
        spine.set_color("#888888")
        spine.set_linewidth(0.6)
    return axes


def _shapes(axes, geometries: Sequence[shapely.Geometry], **style) -> None:
    from matplotlib.collections import PathCollection

    if len(geometries):
        axes.add_collection(PathCollection(polygon_paths(np.asarray(geometries, dtype=object)), **style), autolim=False)


def _context(axes, shapes: list[tuple[str, shapely.Geometry]]) -> None:
    """Other counties in grey."""
    _shapes(axes, [shape for _, shape in shapes], facecolors=CONTEXT_FILL, edgecolors=CONTEXT_EDGE, linewidths=0.7,
            zorder=1)


def _label(axes, placer: LabelPlacer, measure: TextMeasure, anchor: tuple[float, float], text: str, *,
           size: float, metres_per_point: float, inside: shapely.Geometry | None, boxed: bool,
           colour: str = "#111111", leader: bool = True) -> bool:
    """Place and draw one label (see :meth:`LabelPlacer.place`); whether it found a place."""
    pad = 0.15 * size
    width = (measure.width(text, size) + 2 * pad + 1.0) * metres_per_point
    height = (size * 1.25 + 2 * pad) * metres_per_point
    if inside is not None:
        shapely.prepare(inside)
    test = (lambda x, y: bool(shapely.contains_xy(inside, x, y))) if inside is not None else None
    placed = placer.place(anchor[0], anchor[1], width, height, test, leader=leader)
    if placed is None:
        return False
    if placed.leader:
        axes.plot([anchor[0], placed.x], [anchor[1], placed.y], color="#555555", linewidth=0.5, zorder=4)
    box = {"boxstyle": f"round,pad={0.15}", "fc": "white", "ec": "none", "alpha": 0.75} if boxed else None
    axes.text(placed.x, placed.y, text, ha="center", va="center", fontsize=size, color=colour, bbox=box, zorder=5)
    return True


def _context_labels(axes, placer: LabelPlacer, measure: TextMeasure, shapes: list[tuple[str, shapely.Geometry]],
                    view, metres_per_point: float, around: shapely.Geometry | None = None) -> None:
    """Each other county named on its largest part in view, and on every part that fills a hole of ``around``.

    Parts smaller than :data:`MIN_NAMED_SHARE` of the view stay unnamed, and a
    name stays inside its part (no leader lines across the county shown).
    """
    enclosing = _without_holes(around) if around is not None else None
    smallest = MIN_NAMED_SHARE * (view[2] - view[0]) * (view[3] - view[1])
    for name, shape in shapes:
        parts = sorted(shapely.get_parts(shape), key=lambda part: -part.area)
        parts = [part for part in parts if part.area >= smallest]
        named = parts[:1] + [
            part for part in parts[1:]
            if enclosing is not None and enclosing.contains(shapely.point_on_surface(part))
        ]
        for part in named:
            point = shapely.point_on_surface(part)
            _label(axes, placer, measure, (point.x, point.y), name, size=7, metres_per_point=metres_per_point,
                   inside=part, boxed=False, colour="#4d4d4d", leader=False)


def _without_holes(shape: shapely.Geometry) -> shapely.Geometry:
    """The shape with its holes filled."""
    parts = shapely.get_parts(shape)
    return shapely.union_all(shapely.polygons(shapely.get_exterior_ring(parts)))


def _county_pages(pages: _Pages, title: str, atlas: _Atlas, section: _Section, footer: list[str], indicator) -> None:
    words, measure = atlas.words, atlas.measure
    caption = words["caption"].format(county=section.name)
    for index, rows in enumerate(section.row_chunks):
        figure = pages.new()
        _running_title(figure, title, measure)
        heading = section.name if index == 0 else words["continued"].format(text=section.name)
        _text(figure, MARGIN, PAGE_TITLE_Y, heading, size=16, weight="bold", va="center")
        if index == 0:
            bottom = MAP_TOP - section.map_height
            _county_map(figure, atlas, section, bottom, indicator)
            top = bottom - 0.15
        else:
            top = PAGE_TITLE_Y - 0.3
        shown = caption if index == 0 else words["continued"].format(text=caption)
        _draw_table(figure, section.table, rows, top, shown, last=index == section.pages - 1)
        for i, line in enumerate(footer):
            _text(figure, MARGIN, FOOTER_BOTTOM + (len(footer) - 1 - i) * FOOTER_LINE, line, size=FOOTER_SIZE,
                  color="#444444", va="bottom")
        pages.save()


def _county_map(figure, atlas: _Atlas, section: _Section, bottom: float, indicator) -> None:
    """The county's map with its legend column, ``bottom`` inches from the page's foot."""
    legend_left = PAGE[0] - MARGIN - LEGEND_WIDTH
    width, height = legend_left - 0.2 - MARGIN, section.map_height
    shape = atlas.county_shape(section.code)
    view = _view(shape.bounds, width, height)
    axes = _map_axes(figure, MARGIN, bottom, width, height, view)
    metres_per_point = (view[2] - view[0]) / (width * 72)
    context = atlas.context(view, {section.code})
    _context(axes, context)
    members = section.members
    _shapes(axes, members.geometry.to_numpy(), facecolors=atlas.classes.colours_for(members.index),
            edgecolors="white", linewidths=0.5, zorder=2)
    _shapes(axes, [shape], facecolors="none", edgecolors="#222222", linewidths=1.2, zorder=2)
    placer = LabelPlacer(view, cell=LABEL_SIZE * 2 * metres_per_point)
    drawn = _sites(axes, placer, atlas.sites[atlas.sites["township_code"].isin(members.index)], metres_per_point)
    geometries = members.geometry.to_numpy()
    anchors = label_points(geometries)
    for i in np.argsort(shapely.area(geometries), kind="stable"):
        _label(axes, placer, atlas.measure, (anchors[i].x, anchors[i].y), str(members["township_name"].iloc[i]),
               size=LABEL_SIZE, metres_per_point=metres_per_point, inside=geometries[i], boxed=True)
    _context_labels(axes, placer, atlas.measure, context, view, metres_per_point, around=shape)
    _legend_column(figure, atlas, indicator, drawn, legend_left, bottom + height, bottom,
                   metres_per_inch=metres_per_point * 72, context=bool(context))


def _sites(axes, placer: LabelPlacer, sites: gpd.GeoDataFrame, metres_per_point: float) -> list[str]:
    """Draw the sites by type, mark their symbols taken for labels; the types drawn."""
    drawn = []
    for site_type, (marker, size) in SITE_MARKERS.items():
        colour = SITE_STYLES[site_type][2]
        points = sites[sites["site_type"] == site_type]
        if points.empty:
            continue
        xs, ys = points.geometry.x.to_numpy(), points.geometry.y.to_numpy()
        axes.scatter(xs, ys, s=size**2, c=colour, marker=marker, edgecolors="white", linewidths=0.4, zorder=3)
        half = (size / 2 + 0.8) * metres_per_point
        placer.block(np.column_stack([xs - half, ys - half, xs + half, ys + half]))
        drawn.append(site_type)
    return drawn


def _legend_column(figure, atlas: _Atlas, indicator, drawn: list[str], left: float, top: float, bottom: float, *,
                   metres_per_inch: float, context: bool) -> None:
    """North arrow, the colour classes, the site symbols, the grey of other counties, the scale bar."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import FancyArrowPatch

    words, measure, lang = atlas.words, atlas.measure, atlas.lang
    figure.add_artist(FancyArrowPatch((left + 0.15, top - 0.5), (left + 0.15, top - 0.05), arrowstyle="-|>",
                                      mutation_scale=12, color="black", linewidth=1.2,
                                      transform=figure.dpi_scale_trans))
    _text(figure, left + 0.15, top - 0.64, words["north"], size=9, weight="bold", ha="center", va="center")
    y = top - 0.95
    legend_title = indicator.label[lang] + _unit_suffix(indicator.unit[lang], lang)
    for line in measure.wrap(legend_title, LEGEND_WIDTH * 72, 8):
        _text(figure, left, y, line, size=8, weight="bold", va="center")
        y -= 0.17
    for colour, label in atlas.classes.legend:
        _rectangle(figure, left, y - 0.065, 0.26, 0.13, facecolor=colour, edgecolor="#999999", linewidth=0.5)
        _text(figure, left + 0.34, y, label, size=7.5, va="center")
        y -= 0.18
    y -= 0.1
    if drawn:
        _text(figure, left, y, words["sites"], size=8, weight="bold", va="center")
        y -= 0.18
        for site_type in drawn:
            marker, size = SITE_MARKERS[site_type]
            zh, en, colour = SITE_STYLES[site_type][:3]
            figure.add_artist(Line2D([left + 0.13], [y], marker=marker, markersize=size, color=colour,
                                     markeredgecolor="white", markeredgewidth=0.4, linestyle="none",
                                     transform=figure.dpi_scale_trans))
            _text(figure, left + 0.34, y, relabel(zh if lang == "zh" else en, atlas.levels, lang), size=7.5,
                  va="center")
            y -= 0.18
        y -= 0.1
    if context:
        _rectangle(figure, left, y - 0.065, 0.26, 0.13, facecolor=CONTEXT_FILL, edgecolor=CONTEXT_EDGE, linewidth=0.5)
        _text(figure, left + 0.34, y, words["others"], size=7.5, va="center")
    length = scale_bar_length(0.8 * LEGEND_WIDTH * metres_per_inch)
    bar = length / metres_per_inch
    y = bottom + 0.12
    _line(figure, [left, left + bar], [y, y], color="black", linewidth=2.0, solid_capstyle="butt")
    _text(figure, left, y + 0.15, words["km"].format(km=length / 1000), size=7.5, va="center")


def _draw_table(figure, table: _Table, rows: list[list[str]], top: float, caption: str, *, last: bool) -> None:
    """The table from ``top`` down: caption, header between rules (三线表), rows, and on its last page the notes."""
    right = PAGE[0] - MARGIN
    _text(figure, MARGIN, top - CAPTION_HEIGHT / 2, caption, size=9, weight="bold", va="center")
    y = top - CAPTION_HEIGHT
    _line(figure, [MARGIN, right], [y, y], color="black", linewidth=1.2)
    lefts = MARGIN + np.concatenate([[0.0], np.cumsum(table.widths)[:-1]])
    line_height = TABLE_SIZE * 1.3 / 72
    for left, width, lines in zip(lefts, table.widths, table.headers):
        first = y - (table.header_height - len(lines) * line_height) / 2 - line_height / 2
        for i, line in enumerate(lines):
            _text(figure, left + width / 2, first - i * line_height, line, size=TABLE_SIZE, ha="center", va="center")
    y -= table.header_height
    _line(figure, [MARGIN, right], [y, y], color="black", linewidth=0.6)
    for row in rows:
        centre = y - ROW_HEIGHT / 2
        for column, (left, width, text) in enumerate(zip(lefts, table.widths, row)):
            if column == 0:
                _text(figure, left + 0.06, centre, text, size=TABLE_SIZE, va="center")
            else:
                _text(figure, left + width - 0.12, centre, text, size=TABLE_SIZE, va="center", ha="right")
        y -= ROW_HEIGHT
    _line(figure, [MARGIN, right], [y, y], color="black", linewidth=1.2)
    if last:
        for note in table.notes:
            y -= NOTE_LINE
            _text(figure, MARGIN, y + 0.03, note, size=7, color="#444444", va="center")


def _overview(figure, title: str, atlas: _Atlas, sections: list[_Section]) -> None:
    """All the atlas's counties, numbered (and named, when few), with an index of their first pages.

    The map is as tall as the counties' shape needs, up to the room the index leaves.
    """
    words, measure = atlas.words, atlas.measure
    _running_title(figure, title, measure)
    _text(figure, MARGIN, PAGE_TITLE_Y, words["overview_title"].format(count=len(sections)), size=16, weight="bold",
          va="center")
    content = PAGE[0] - 2 * MARGIN
    columns = 3
    per_column = math.ceil(len(sections) / columns)
    index_height = per_column * 0.2 + 0.3
    fits = index_height <= 3.6
    top = PAGE_TITLE_Y - 0.35
    room = top - (PAGE_NUMBER_Y + 0.35 + (index_height if fits else 0.4))
    shapes = np.asarray([atlas.county_shape(s.code) for s in sections], dtype=object)
    x0, y0, x1, y1 = shapely.total_bounds(shapes)
    height = min(room, max(2.5, content * (y1 - y0) / max(x1 - x0, 1.0) * 1.06))
    bottom = top - height
    view = _view((x0, y0, x1, y1), content, height, pad=0.03)
    axes = _map_axes(figure, MARGIN, bottom, content, height, view)
    metres_per_point = (view[2] - view[0]) / (content * 72)
    _context(axes, atlas.context(view, {s.code for s in sections}))
    _shapes(axes, shapes, facecolors="#dbe9f6", edgecolors="#333333", linewidths=0.8, zorder=2)
    placer = LabelPlacer(view, cell=16 * metres_per_point)
    named = len(sections) <= OVERVIEW_NAMES_UP_TO
    for section, shape, anchor in zip(sections, shapes, label_points(shapes)):
        text = f"{section.number} {section.name}" if named else str(section.number)
        _label(axes, placer, measure, (anchor.x, anchor.y), text, size=8, metres_per_point=metres_per_point,
               inside=shape, boxed=True)
    if not fits:
        _text(figure, MARGIN, bottom - 0.25, words["index_in_contents"], size=9, va="center")
        return
    width = content / columns
    for i, section in enumerate(sections):
        column, row = divmod(i, per_column)
        left = MARGIN + column * width
        _leader_row(figure, left, left + width - 0.25, bottom - 0.3 - row * 0.2, f"{section.number}  {section.name}",
                    str(section.first_page), 8.5, measure)
