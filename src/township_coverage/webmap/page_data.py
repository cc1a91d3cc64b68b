"""The map's data in the compact form that ``coverage.js`` reads.

Borders are one coverage topology (shared arcs once, on a grid of about
1 m, or coarser in the page of a large map whose finer arcs wait in
scripts beside it; :func:`township_coverage.geometry.encode_topology`); points
are varint streams on the same grid; each indicator is a list of display
values and one class letter per township. Tooltips and popups are built
in the page from these, with ``textContent``; only legends are HTML,
escaped here.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from township_coverage.cache import Remember
from township_coverage.classes import INDICATORS, Classes, Indicator
from township_coverage.geometry import (
    CoverageTopology,
    arcs_between_groups,
    borders_match,
    coverage_topology,
    encode_topology,
    node_coverage,
    simplify_arcs,
    varint_base64,
    varint_bytes,
    zigzag,
)

# Borders are rounded to a grid of about 1 m (1e-5 degrees) and simplified
# to about 20 m: finer than the zoom levels the map offers need. A map of
# more than LARGE_MAP_TOWNSHIPS townships (a province, the nation) carries
# its borders to about 200 m on a grid of about 50 m, less than a pixel up
# to zoom level 8; from DETAIL_MIN_ZOOM on, the page loads the 20 m borders
# of the area in view from scripts in DETAILS_FOLDER, one per cell of
# DETAIL_CELL_DEGREES.
GRID_DEGREES = 1e-5
SIMPLIFY_DEGREES = 0.0002
LARGE_MAP_TOWNSHIPS = 5_000
OVERVIEW_GRID_DEGREES = 0.0005
OVERVIEW_SIMPLIFY_DEGREES = 0.002
DETAIL_MIN_ZOOM = 9
DETAIL_CELL_DEGREES = 4.0
# Above this many named points (villages and sites), their names go into a
# script beside the page (DETAILS_FOLDER), loaded after the map is drawn.
DETAILS_IN_PAGE_MAX = 250_000
DETAILS_FOLDER = "map_data"
# Site symbols: (zh label, en label, colour, radius px, symbol, letter)
SITE_STYLES = {
    "township_station": ("乡镇（街道）社工站", "Township station", "#d7301f", 7, "circle", ""),
    "community_room": ("村（社区）社工室", "Community room", "#2b8cbe", 5, "dot", ""),
    "school_station": ("学校社工站", "School station", "#6a51a3", 8, "square", "校"),
    "enterprise_station": ("企业社工站", "Enterprise station", "#238b45", 8, "square", "企"),
    "hospital_station": ("医院社工站", "Hospital station", "#ec7014", 8, "square", "医"),
    "proposed_room": ("拟建社工室", "Proposed room", "#c51b8a", 9, "diamond", ""),
}
#: Rooms a plan proposes (plan.html): drawn as diamonds numbered in opening order (their order in the sites).
PROPOSED_ROOM = "proposed_room"
# The layer-list swatch of each symbol.
_SWATCH_SHAPES = {"circle": "border-radius:50%", "dot": "border-radius:50%", "square": "border-radius:3px",
                  "diamond": "border-radius:2px;transform:rotate(45deg) scale(.8)"}
# Above this many points a site layer draws only what is in view: counts on
# a grid while zoomed out, the sites when zoomed in (coverage.js, byZoomLayer),
# so that a provincial or national map opens on counts, not on 100,000 symbols.
BY_ZOOM_ABOVE = 1_000
# A layer drawn by zoom shows its sites themselves once at most this many are in view.
BY_ZOOM_MAX_IN_VIEW = 1_500
# Sites whose coverage circles the radius layer draws.
COVERING_SITES = ("township_station", "community_room", PROPOSED_ROOM)
_CLASS_LETTERS = "abcdefghijklmnopqrstuvwxyz"


@dataclass(frozen=True)
class PageScale:
    """How finely a map of this size is drawn, and what stays in the page.

    Attributes
    ----------
    tolerance
        Border simplification in the page, in degrees.
    grid
        Coordinate grid in the page, in degrees.
    detailed
        Whether finer borders (:data:`SIMPLIFY_DEGREES` on
        :data:`GRID_DEGREES`) are loaded from beside the page when zoomed in.
    details_in_page
        Whether names of villages and sites are in the page (else in a
        script in a folder beside it, :data:`DETAILS_FOLDER` by default).
    """

    tolerance: float
    grid: float
    detailed: bool
    details_in_page: bool


def page_scale(townships: int, named_points: int) -> PageScale:
    """The :class:`PageScale` for a map of so many townships and villages plus sites."""
    large = townships > LARGE_MAP_TOWNSHIPS
    return PageScale(
        tolerance=OVERVIEW_SIMPLIFY_DEGREES if large else SIMPLIFY_DEGREES,
        grid=OVERVIEW_GRID_DEGREES if large else GRID_DEGREES,
        detailed=large,
        details_in_page=named_points <= DETAILS_IN_PAGE_MAX,
    )


@dataclass(frozen=True)
class JsonText:
    """JSON encoded already, and safe inside a ``<script>`` element; :func:`script_json` places it as is."""

    text: str


def json_strings(values: pd.Series) -> JsonText:
    """``values`` as a JSON array of strings (missing ones empty), escaped for a ``<script>`` element.

    Built in Arrow, without a Python string per value: a million village
    names take a fraction of the time and memory of ``json.dumps``.
    """
    strings = pa.chunked_array(pa.array(values.astype("string[pyarrow]").array)).combine_chunks()
    strings = pc.fill_null(strings.cast(pa.large_string()), "")
    special = "[" + "".join(re.escape(char) for char, _ in _JSON_ESCAPES) + "\\x00-\\x1f]"
    if len(strings) and pc.any(pc.match_substring_regex(strings, special)).as_py():  # most names have none
        for char, escaped in _JSON_ESCAPES:
            strings = pc.replace_substring(strings, char, escaped)
        for code in range(32):
            strings = pc.replace_substring(strings, chr(code), f"\\u{code:04x}")
    if not len(strings):
        return JsonText("[]")
    lists = pa.LargeListArray.from_arrays(pa.array([0, len(strings)], pa.int64()), strings)
    joined = pc.binary_join(lists, pa.scalar('","', pa.large_string()))
    return JsonText(f'["{joined[0].as_py()}"]')


# Backslash first; then what JSON needs escaped, and what ends or confuses a <script> element.
_JSON_ESCAPES = (("\\", "\\\\"), ('"', '\\"'), ("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                 ("\u2028", "\\u2028"), ("\u2029", "\\u2029"))


def script_json(value: object) -> str:
    """JSON of ``value`` safe inside a ``<script>`` element; :class:`JsonText` parts go in as they are."""
    token, parts = secrets.token_hex(8), []

    def placeholder(item: object) -> str:
        if not isinstance(item, JsonText):
            raise TypeError(f"{type(item).__name__} is not JSON serialisable")
        parts.append(item.text)
        return f"{token}:{len(parts) - 1}"

    text = json.dumps(value, ensure_ascii=False, default=placeholder)
    for char, escaped in _JSON_ESCAPES[2:]:
        text = text.replace(char, escaped)
    for number, part in enumerate(parts):
        text = text.replace(f'"{token}:{number}"', part, 1)
    return text


def side_script(kind: str, call: str, payload: object, *, folder: str) -> tuple[str, str]:
    """The file (under ``folder``, beside the page) and text of a script that hands ``payload`` to the page.

    The script calls ``TownshipCoverage.<call>(payload)``. The name carries
    a hash of the content, so that a page never reads another run's data.
    """
    script = f"TownshipCoverage.{call}({script_json(payload)});\n"
    return f"{folder}/{kind}-{hashlib.sha256(script.encode('utf-8')).hexdigest()[:16]}.js", script


def details_script(details: dict, folder: str = DETAILS_FOLDER) -> tuple[str, str]:
    """The file and text of the script that hands the names of villages and sites to the page."""
    return side_script("details", "details", details, folder=folder)


def border_topology(geometries: np.ndarray, names: Sequence[str] | None = None) -> CoverageTopology:
    """The borders as shared arcs on :data:`GRID_DEGREES`, not yet simplified.

    Borders that nearly but not exactly match (as separately drawn
    outlines do) are first rebuilt to match (:func:`node_coverage`).
    """
    geometries = np.asarray(geometries, dtype=object)
    try:
        topology = coverage_topology(geometries, grid=GRID_DEGREES)
        if borders_match(topology):
            return topology
    except ValueError:  # a border used twice the same way: outlines that overlap a little
        pass
    whole = np.array([shapely.union_all(geometries)], dtype=object)
    noded = node_coverage(geometries, whole, np.zeros(len(geometries), dtype=int), grid_size=GRID_DEGREES, names=names)
    return coverage_topology(noded, grid=GRID_DEGREES)


def townships(
    table: gpd.GeoDataFrame, scale: PageScale, *, tolerance: float, county_borders: bool = True,
    remember: Remember | None = None, folder: str = DETAILS_FOLDER,
) -> tuple[dict, dict[str, str]]:
    """Township borders, codes, names and counties (WGS84 ``table`` indexed by code).

    County borders are the township borders between two counties and
    along the edge of the coverage, so they are sent as arc numbers only.
    ``remember`` (e.g. a cache's ``get_or_compute``) keeps the borders'
    topology for the next run with the same borders; ``folder`` is where
    the scripts of finer borders go, beside the page.

    Returns
    -------
    dict
        The page's township data.
    dict
        Scripts to write beside the page (finer borders of a large map), by path.
    """
    geometries = table.geometry.to_numpy()

    def compute() -> CoverageTopology:
        return border_topology(geometries, [f"township {code}" for code in table.index])

    if remember is None:
        topology = compute()
    else:
        digest = hashlib.sha256(b"".join(shapely.to_wkb(geometries, hex=False))).hexdigest()
        topology = remember("map_borders", [digest, GRID_DEGREES], compute)
    county_names = table["county_name"].astype(str)
    county_list, county_of = np.unique(county_names.to_numpy(), return_inverse=True)
    county_key = table["county_code"].astype(str).to_numpy() if "county_code" in table else county_names.to_numpy()
    detail, side_files = None, {}
    if scale.detailed:
        detail, side_files = border_detail(simplify_arcs(topology, SIMPLIFY_DEGREES), folder)
        detail["pad"] = tolerance + scale.grid  # how far the page's borders may be from the finer ones
    settings = {
        "topology": encode_topology(simplify_arcs(topology, tolerance, grid=scale.grid)),
        "detail": detail,
        "county_arcs": varint_base64(arcs_between_groups(topology, county_key)) if county_borders else None,
        "codes": _codes(table.index),
        "names": table["township_name"].astype(str).tolist(),
        "county": varint_base64(county_of),
        "county_names": county_list.tolist(),
    }
    return settings, side_files


def border_detail(topology: CoverageTopology, folder: str = DETAILS_FOLDER) -> tuple[dict, dict[str, str]]:
    """The finer borders of a large map, in scripts of one :data:`DETAIL_CELL_DEGREES` cell each.

    An arc goes to the cell that holds the centre of its bounding box;
    the page loads the cells whose box (of all their arcs) meets the view.
    Each script hands the page its cell's arc numbers (steps from one to
    the next), their lengths and their points (steps from one to the next,
    the first from ``origin``), as zigzag varints.

    Returns
    -------
    dict
        For the page: ``min_zoom``, ``origin``, ``grid``, and per cell its
        ``files`` entry and its ``boxes`` entry ``[west, south, east, north]``.
    dict
        The scripts, by path.
    """
    starts, lengths = topology.arc_offsets[:-1], np.diff(topology.arc_offsets)
    low = np.minimum.reduceat(topology.arc_points, starts, axis=0)
    high = np.maximum.reduceat(topology.arc_points, starts, axis=0)
    column, row = np.floor((low + high) / 2 / (DETAIL_CELL_DEGREES / topology.grid)).astype(np.int64).T
    _, cell_of_arc = np.unique(column * (int(row.max()) + 1) + row, return_inverse=True)
    arcs = np.argsort(cell_of_arc, kind="stable")  # by cell, in arc order within a cell
    cell_of_arc = cell_of_arc[arcs]
    cell_starts = np.flatnonzero(np.r_[True, cell_of_arc[1:] != cell_of_arc[:-1]])
    arc_steps = np.diff(arcs, prepend=0)
    arc_steps[cell_starts] = arcs[cell_starts]
    point = topology.point_indices(arcs)
    steps = np.diff(topology.arc_points[point], axis=0, prepend=np.zeros((1, 2), np.int64))
    first_points = np.r_[0, np.cumsum(lengths[arcs])][cell_starts]
    steps[first_points] = topology.arc_points[point[first_points]]
    streams = {
        "arc_ids": _split_varints(arc_steps, cell_starts),
        "arc_lengths": _split_varints(lengths[arcs], cell_starts),
        "arcs": _split_varints(zigzag(steps.ravel()), 2 * first_points),
    }
    origin, grid = np.asarray(topology.origin), topology.grid
    west_south = origin + np.minimum.reduceat(low[arcs], cell_starts, axis=0) * grid
    east_north = origin + np.maximum.reduceat(high[arcs], cell_starts, axis=0) * grid
    files, scripts = [], {}
    for cell in range(len(cell_starts)):
        payload = ",".join(f'"{key}":"{texts[cell]}"' for key, texts in streams.items())
        name, script = side_script("borders", "borders", JsonText(f'{{"cell":{cell},{payload}}}'), folder=folder)
        files.append(name)
        scripts[name] = script
    boxes = np.round(np.column_stack([west_south, east_north]), 6).tolist()
    page = {"min_zoom": DETAIL_MIN_ZOOM, "origin": list(topology.origin), "grid": grid, "files": files, "boxes": boxes}
    return page, scripts


def _split_varints(values: np.ndarray, group_starts: np.ndarray) -> list[str]:
    """Varint base64 text of each group of ``values`` (groups start at ``group_starts``)."""
    data, counts = varint_bytes(values)
    byte_starts = np.r_[0, np.cumsum(counts)][np.r_[group_starts, len(values)]]
    raw = data.tobytes()
    return [base64.b64encode(raw[a:b]).decode("ascii") for a, b in zip(byte_starts[:-1], byte_starts[1:])]


def indicators(
    table: pd.DataFrame, lang: str, classified: Mapping[str, Classes], shown: Sequence[Indicator] = INDICATORS, *,
    palettes: Mapping[str, Sequence[str]] | None = None,
) -> list[dict]:
    """Per indicator of ``shown``: label, legend (escaped HTML), kind and unit, display values, class letters and colours.

    ``palettes`` (by column) fixes the colours the class letters stand for,
    e.g. the same for every step of a timeline; by default the colours
    present in ``table``.
    """
    result = []
    for indicator in shown:
        classes = classified[indicator.column]
        unit = indicator.unit[lang]
        title = indicator.label[lang] + (f"（{unit}）" if lang == "zh" and unit else f" ({unit})" if unit else "")
        rows = "".join(
            f'<div><span class="tc-swatch" style="background:{colour}"></span>{html.escape(label)}</div>'
            for colour, label in classes.legend
        )
        colours = np.asarray(classes.colours_for(table.index), dtype=str)
        palette = np.unique(colours) if palettes is None else np.asarray(palettes[indicator.column], dtype=str)
        result.append(
            {
                "column": indicator.column,
                "label": indicator.label[lang],
                "legend_html": f"<div><b>{html.escape(title)}</b></div>{rows}",
                "kind": indicator.kind,
                "unit": unit,
                "palette": palette.tolist(),
                "classes": class_letters(colours, palette, indicator.column),
                "values": display_values(table[indicator.column], indicator.kind),
            }
        )
    return result


def class_letters(colours: np.ndarray, palette: np.ndarray, column: str = "") -> str:
    """One letter per colour: ``a`` for ``palette[0]``, ``b`` for ``palette[1]`` ...

    Raises
    ------
    ValueError
        If the palette has more colours than letters, or lacks one of ``colours``.
    """
    if len(palette) > len(_CLASS_LETTERS):
        raise ValueError(f"{column}: more than {len(_CLASS_LETTERS)} colours")
    positions = pd.Series(np.asarray(colours, dtype=str)).map({colour: i for i, colour in enumerate(palette)})
    if positions.isna().any():
        missing = sorted(set(np.asarray(colours, dtype=str)) - set(palette))
        raise ValueError(f"{column}: colour(s) {missing} not in the palette {list(palette)}")
    letters = np.frombuffer(_CLASS_LETTERS.encode("ascii"), np.uint8)[positions.to_numpy(dtype=np.int64)]
    return letters.tobytes().decode("ascii")


def encode_points(points: np.ndarray, grid: float = GRID_DEGREES) -> dict:
    """Points (shapely, WGS84) as a varint stream of grid steps from one to the next."""
    xy = shapely.get_coordinates(np.asarray(points, dtype=object)) if len(points) else np.zeros((0, 2))
    origin = np.floor(xy.min(axis=0) / grid) * grid if len(xy) else np.zeros(2)
    steps = np.diff(np.rint((xy - origin) / grid).astype(np.int64), axis=0, prepend=np.zeros((1, 2), np.int64))
    return {"points": varint_base64(zigzag(steps.ravel())), "origin": origin.tolist(), "grid": grid}


def site_layers(
    sites: gpd.GeoDataFrame, townships: pd.Index, lang: str, grid: float = GRID_DEGREES, *, always: Sequence[str] = (),
) -> list[dict]:
    """Per site type present (and those of ``always``): style, label (escaped HTML), points, names and township positions."""
    layers = []
    for site_type, frame in site_groups(sites, always):
        zh, en, colour, radius, symbol, letter = SITE_STYLES[site_type]
        swatch = f'<span class="tc-symbol" style="background:{colour};{_SWATCH_SHAPES[symbol]}"></span>'
        label = html.escape(zh if lang == "zh" else en)
        count = f'<span class="tc-count">{len(frame)}</span>'  # the sites shown (a timeline shows fewer)
        layers.append(
            {
                "type": site_type,
                "label_html": f"{swatch}{label}（{count}）" if lang == "zh" else f"{swatch}{label} ({count})",
                "symbol": symbol,
                "letter": letter,
                "colour": colour,
                "radius": radius,
                "by_zoom": len(frame) > BY_ZOOM_ABOVE,
                "max_in_view": BY_ZOOM_MAX_IN_VIEW,
                "covers": site_type in COVERING_SITES,
                "numbered": site_type == PROPOSED_ROOM,
                **_named_points(frame, frame["name"], townships, grid),
            }
        )
    return layers


def site_groups(sites: pd.DataFrame, always: Sequence[str] = ()) -> list[tuple[str, pd.DataFrame]]:
    """The sites of each type present (or in ``always``), in the order of :data:`SITE_STYLES`: the page's site layers."""
    groups = ((site_type, sites[sites["site_type"] == site_type]) for site_type in SITE_STYLES)
    return [(site_type, frame) for site_type, frame in groups if not frame.empty or site_type in always]


def split_details(settings: dict) -> dict:
    """Move the names of sites and the villages out of ``settings`` (in place); returns what was moved."""
    details = {
        "sites": [{"names": layer.pop("names"), "township": layer.pop("township")} for layer in settings["sites"]],
        "villages": settings.pop("villages"),
    }
    settings["villages"] = None
    return details


def radius_layer(radius_km: float | None, label: str) -> dict | None:
    """Coverage circles around rooms and stations (drawn from the site layers), if a radius is given."""
    if radius_km is None:
        return None
    return {"metres": radius_km * 1000, "label_html": html.escape(label)}


def villages(villages: gpd.GeoDataFrame | None, townships: pd.Index, grid: float = GRID_DEGREES) -> dict | None:
    """Villages for the search box: points, names and township positions."""
    if villages is None or "village_name" not in villages:
        return None
    located = villages[villages.geometry.notna()]
    return _named_points(located, located["village_name"], townships, grid)


def _named_points(frame: gpd.GeoDataFrame, names: pd.Series, townships: pd.Index, grid: float) -> dict:
    """Points, their names and the position of their township (-1: none), as parallel lists."""
    if "township_code" in frame:
        codes = frame["township_code"]
        position = townships.get_indexer(codes if codes.dtype == object else codes.astype(str))
    else:
        position = np.full(len(frame), -1)
    return {
        **encode_points(frame.geometry.to_numpy(), grid),
        "names": json_strings(names),
        "township": varint_base64(position + 1),
    }


def _codes(codes: pd.Index) -> list[str] | dict:
    """Township codes: as text, or, when all are whole numbers written plainly
    (statistical division codes), as varint steps from one to the next."""
    text = [str(code) for code in codes]
    if not all(code.isascii() and code.isdigit() and code[0] != "0" and len(code) < 16 for code in text):
        return text
    return {"steps": varint_base64(zigzag(np.diff(np.array([int(code) for code in text], dtype=np.int64), prepend=0)))}


def display_values(values: pd.Series, kind: str) -> str:
    """Values as shown in tooltips (shares in whole percent, others whole
    numbers, yes/no as 1/0) as varints: 0 for a missing value, else the
    zigzag of the value plus one."""
    numbers = pd.to_numeric(values, errors="coerce").astype(float).to_numpy()
    if kind == "share":
        numbers = 100 * numbers
    rounded = np.round(numbers)  # half to even, as Python's format() rounds
    missing = np.isnan(rounded)
    codes = zigzag(np.where(missing, 0, rounded).astype(np.int64)) + 1
    return varint_base64(np.where(missing, 0, codes))

