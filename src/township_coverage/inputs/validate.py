"""Normalising input layers and collecting every problem in them.

Each layer is checked once, up front. A check never stops at the first
problem: it returns the normalised layer together with every problem found,
so that the user sees them all at once. Point tables keep every input row;
rows that cannot be used get a ``status`` (``invalid`` or ``duplicate_id``)
and a ``detail`` saying why, so that every row is accounted for.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from township_coverage.inputs.columns import ALIASES
from township_coverage.inputs.config import LayerConfig
from township_coverage.inputs.crs import to_wgs84
from township_coverage.inputs.dates import DATE_FORMS, parse_dates
from township_coverage.inputs.io import TableSource
from township_coverage.errors import Problem

#: Row statuses set here; :mod:`township_coverage.join` sets the others.
INVALID = "invalid"
DUPLICATE_ID = "duplicate_id"

#: Site type codes and the spellings accepted for each (after trimming).
SITE_TYPES: Mapping[str, tuple[str, ...]] = {
    "township_station": ("社工站", "乡镇社工站", "街道社工站", "乡镇（街道）社工站", "乡镇(街道)社工站", "社会工作服务站"),
    "community_room": ("社工室", "村社工室", "社区社工室", "村（社区）社工室", "村(社区)社工室", "社会工作服务室"),
    "school_station": ("学校社工站",),
    "enterprise_station": ("企业社工站",),
    "hospital_station": ("医院社工站",),
}
_SITE_TYPE_BY_SPELLING = {
    spelling: code for code, spellings in SITE_TYPES.items() for spelling in (code, *spellings)
}

TOWNSHIP_COLUMNS = ("township_code", "township_name", "county_code", "county_name")
#: Required columns of point tables (ids are optional: rows without get ``file:row``).
SITE_COLUMNS = ("site_type", "name")
VILLAGE_COLUMNS = ("village_name",)


@dataclass(frozen=True)
class CheckedLayer:
    """A normalised layer and the problems found in it.

    Attributes
    ----------
    frame
        For point tables: every input row, with ``_row`` (spreadsheet row
        number), ``status`` ("" while usable), ``detail``, and WGS84
        ``lon``/``lat`` (NaN where absent).
    problems
        Errors and warnings, in file order.
    """

    frame: pd.DataFrame
    problems: list[Problem] = field(default_factory=list)


def check_townships(frame: gpd.GeoDataFrame, layer: LayerConfig) -> CheckedLayer:
    """Check a township boundary layer and bring it to WGS84.

    Requires the standard columns, unique non-empty codes, and polygonal,
    non-empty geometries. Invalid polygons are refused unless
    ``layer.repair_invalid``, in which case they are repaired and the repair
    is reported. Townships that overlap another are reported.
    """
    path = layer.path
    source = TableSource(path, None, "townships", MappingProxyType(dict(layer.columns)))
    # Missing columns are reported together with the geometry problems, not instead of them.
    problems = missing_columns(frame.columns, TOWNSHIP_COLUMNS, source)
    frame = frame.reset_index(drop=True).copy()
    for column in TOWNSHIP_COLUMNS:
        if column in frame:
            frame[column] = frame[column].astype("string").str.strip()
    codes = frame["township_code"] if "township_code" in frame else pd.Series("?", index=frame.index)
    geometries = frame.geometry.to_numpy()
    missing_code = (codes.isna() | (codes == "")).to_numpy(dtype=bool)
    suspect = _suspect_polygons(geometries)
    for index in np.flatnonzero(missing_code | suspect):
        if missing_code[index]:
            problems.append(source.problem(index + 1, "township_code", "", "a township code is required"))
        if suspect[index]:
            geometries[index] = _checked_polygon(geometries[index], index + 1, layer, "townships", problems)
    if "township_code" in frame:
        problems += duplicate_problems(frame["township_code"], source.header("township_code"), path, rows=frame.index + 1)
    if any(p.severity == "error" for p in problems):
        return CheckedLayer(frame, problems)
    frame = frame.set_geometry(geometries)
    problems += _overlap_problems(frame, path)
    return CheckedLayer(frame.to_crs("EPSG:4326"), problems)


def check_counties(frame: gpd.GeoDataFrame, layer: LayerConfig) -> CheckedLayer:
    """Check a county outline layer (drawn on top of the townships) and bring it to WGS84.

    Geometries must be non-empty (Multi)Polygons; invalid ones are refused
    unless ``layer.repair_invalid``.
    """
    problems: list[Problem] = []
    frame = frame.reset_index(drop=True).copy()
    geometries = frame.geometry.to_numpy()
    for index in np.flatnonzero(_suspect_polygons(geometries)):
        geometries[index] = _checked_polygon(geometries[index], index + 1, layer, "county outlines", problems)
    if any(p.severity == "error" for p in problems):
        return CheckedLayer(frame, problems)
    return CheckedLayer(frame.set_geometry(geometries).to_crs("EPSG:4326"), problems)


def _suspect_polygons(geometries: np.ndarray) -> np.ndarray:
    """Which geometries :func:`_checked_polygon` has something to say about: missing, empty, not polygonal, invalid."""
    polygonal = np.isin(shapely.get_type_id(geometries), [3, 6])  # Polygon, MultiPolygon
    fine = polygonal & ~shapely.is_empty(geometries)
    fine[fine] = shapely.is_valid(geometries[fine])
    return ~fine


def _checked_polygon(
    geometry: shapely.Geometry | None, feature: int, layer: LayerConfig, what: str, problems: list[Problem]
) -> shapely.Geometry | None:
    """The geometry of one feature, repaired if allowed; its problems are appended to ``problems``."""
    path = layer.path
    if geometry is None or geometry.is_empty:
        problems.append(Problem(path, feature, "geometry", None, "the geometry is empty"))
    elif geometry.geom_type not in {"Polygon", "MultiPolygon"}:
        problems.append(Problem(path, feature, "geometry", geometry.geom_type, f"{what} must be Polygon or MultiPolygon"))
    elif not geometry.is_valid:
        reason = shapely.is_valid_reason(geometry)
        if layer.repair_invalid:
            problems.append(Problem(path, feature, "geometry", None, f"invalid polygon ({reason}) was repaired", "warning"))
            return _repaired(geometry)
        problems.append(Problem(
            path, feature, "geometry", None,
            f"invalid polygon: {reason}; fix it, or set repair_invalid = true for this layer",
        ))
    return geometry


def _repaired(geometry: shapely.Geometry) -> shapely.Geometry:
    """The polygonal part of ``make_valid`` (a bow-tie becomes two triangles)."""
    fixed = shapely.make_valid(geometry, method="structure")
    polygons = [g for g in shapely.get_parts(fixed) if g.geom_type in {"Polygon", "MultiPolygon"}]
    return shapely.union_all(polygons)


def _overlap_problems(frame: gpd.GeoDataFrame, path) -> list[Problem]:
    """Pairs of townships that overlap by more than a sliver, or are identical."""
    geometries = frame.geometry.to_numpy()
    if shapely.coverage_is_valid(geometries):
        return []  # no two overlap at all (and neighbours share their borders)
    left, right = shapely.STRtree(geometries).query(geometries, predicate="intersects")
    pairs = left < right
    left, right = left[pairs], right[pairs]
    # Only pairs whose interiors meet can share any area; neighbours merely touch.
    meet = shapely.relate_pattern(geometries[left], geometries[right], "T********")
    left, right = left[meet], right[meet]
    shared_areas = shapely.area(shapely.intersection(geometries[left], geometries[right]))
    order = np.lexsort((right, left))  # pairs in the order the features come
    problems = []
    for i, j, shared in zip(left[order], right[order], shared_areas[order]):
        smaller = min(geometries[i].area, geometries[j].area)
        if smaller > 0 and shared > 1e-6 * smaller:
            codes = frame["township_code"]
            what = "duplicates" if geometries[i].equals(geometries[j]) else "overlaps"
            problems.append(
                Problem(
                    path, int(j) + 1, "geometry", str(codes.iloc[j]),
                    f"township {codes.iloc[j]} {what} township {codes.iloc[i]} (feature {i + 1}; "
                    f"{100 * shared / smaller:.1f}% of the smaller one)",
                )
            )
    return problems


def check_sites(
    table: pd.DataFrame, source: TableSource, *, crs: str | None, region: tuple[float, float, float, float]
) -> CheckedLayer:
    """Check a site table; normalise ``site_type`` to codes and ``staff`` to numbers.

    Parameters
    ----------
    table
        From :func:`township_coverage.inputs.io.read_table`.
    source
        Where the table comes from (file, sheet, the user's headers).
    crs
        CRS of the coordinates (``None``: WGS84).
    region
        WGS84 bounds of the townships, to recognise swapped coordinates.
    """
    checked = _check_points(table, source, SITE_COLUMNS, "site_id", crs=crs, region=region)
    frame, problems = checked.frame, checked.problems
    spelled = frame["site_type"].astype(str).str.strip() if "site_type" in frame else pd.Series("", index=frame.index)
    frame["site_type"] = spelled.map(_SITE_TYPE_BY_SPELLING)
    if "site_type" in table:
        allowed = "; allowed: " + ", ".join(_SITE_TYPE_BY_SPELLING)
        unknown = frame["site_type"].isna() & (spelled != "")
        missing = frame["site_type"].isna() & (spelled == "")
        _invalid(frame, problems, source, unknown, "site_type", spelled, "unknown site type" + allowed)
        _invalid(frame, problems, source, missing, "site_type", spelled, "a site type is required" + allowed)
    if "staff" not in frame:
        frame["staff"] = ""
    frame["staff"] = _parse_numbers(frame, problems, source, "staff", whole=True)
    if "village_code" not in frame:
        frame["village_code"] = pd.NA
    frame["village_code"] = frame["village_code"].astype("string").str.strip().replace("", pd.NA)
    _parse_opening_dates(frame, problems, source)
    return CheckedLayer(frame, _in_row_order(problems))


def _parse_opening_dates(frame: pd.DataFrame, problems: list[Problem], source: TableSource) -> None:
    """Set ``opened`` and ``closed`` (``NaT`` where not given); bad cells and reversed dates make the row invalid."""
    for column in ("opened", "closed"):
        if column not in frame:
            frame[column] = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]")
            continue
        written = frame[column].astype("string").fillna("").str.strip()
        parsed = parse_dates(written)
        _invalid(frame, problems, source, parsed.bad, column, written, f"not a date; write {DATE_FORMS}")
        frame[f"{column}_as_written"] = written
        frame[column] = parsed.dates
    reversed_dates = (frame["closed"] < frame["opened"]).to_numpy()
    if reversed_dates.any():
        _invalid(frame, problems, source, reversed_dates, "closed", frame["closed_as_written"],
                 f"before the opening date ({source.header('opened')}) of the same row; a site closes after it opens")


def check_villages(
    table: pd.DataFrame, source: TableSource, *, crs: str | None, region: tuple[float, float, float, float]
) -> CheckedLayer:
    """Check a village table; ``population`` becomes numbers (NaN if unknown)."""
    checked = _check_points(table, source, VILLAGE_COLUMNS, "village_code", crs=crs, region=region)
    frame, problems = checked.frame, checked.problems
    if "population" not in frame:
        frame["population"] = ""
    frame["population"] = _parse_numbers(frame, problems, source, "population", whole=False)
    return CheckedLayer(frame, _in_row_order(problems))


def _check_points(
    table: pd.DataFrame,
    source: TableSource,
    required: tuple[str, ...],
    id_column: str,
    *,
    crs: str | None,
    region: tuple[float, float, float, float],
) -> CheckedLayer:
    """Checks shared by site and village tables: columns, ids, coordinates.

    Every row is kept. When a required column is missing, every row is
    ``invalid`` and one problem names the column.
    """
    problems = missing_columns(table.columns, required, source)
    has_position = {"lon", "lat"} <= set(table.columns)
    has_township = bool({"township_code", "township_name"} & set(table.columns))
    if ("lon" in table.columns) != ("lat" in table.columns):
        problems += missing_columns(table.columns, ("lon", "lat"), source)
    elif not has_position and not has_township:
        problems += missing_columns(table.columns, ("lon", "lat"), source, alternative=" (or a township code or name)")

    if table.empty:
        problems.append(source.problem(None, None, None, "the file has headers but no rows", "warning"))
    frame = table.copy()
    frame["status"] = ""
    frame["detail"] = ""
    for column in ("township_code", "township_name", "county_name"):
        if column in frame:
            frame[column] = frame[column].astype(str).str.strip().replace("", pd.NA)
        else:
            frame[column] = pd.NA
    if problems:
        frame["status"] = INVALID
        frame["detail"] = "; ".join(p.message for p in problems)
        if id_column not in frame:
            frame[id_column] = source.row_ids(frame["_row"])
        frame["lon"], frame["lat"] = np.nan, np.nan
        frame["lon_as_written"], frame["lat_as_written"] = "", ""
        return CheckedLayer(frame, problems)
    _give_ids(frame, problems, source, id_column)
    _parse_coordinates(frame, problems, source, crs, region, has_position)
    return CheckedLayer(frame, problems)


def _give_ids(frame: pd.DataFrame, problems: list[Problem], source: TableSource, id_column: str) -> None:
    """Ids from the user's column, else from file and row; repeated ids are ``duplicate_id``."""
    generated = source.row_ids(frame["_row"])
    if id_column not in frame:
        frame[id_column] = generated
        return
    ids = frame[id_column].astype(str).str.strip()
    blank = ids == ""
    empty = np.flatnonzero(blank)
    problems.extend(
        source.problem(int(row), id_column, "", f"empty; the row is given the id {given}", "warning")
        for row, given in zip(frame["_row"].to_numpy()[empty], generated.to_numpy()[empty])
    )
    ids = ids.where(~blank, generated)
    frame[id_column] = ids
    first_row = frame["_row"].groupby(ids).transform("first")
    repeated = np.flatnonzero(ids.duplicated(keep="first"))
    if len(repeated):
        firsts = first_row.to_numpy()[repeated].astype(int)
        header = source.header(id_column)
        frame.iloc[repeated, frame.columns.get_loc("status")] = DUPLICATE_ID
        frame.iloc[repeated, frame.columns.get_loc("detail")] = [f"same {header} as row {first}" for first in firsts]
        problems.extend(
            source.problem(int(row), id_column, value, f"duplicate (first in row {first}); each must occur once")
            for row, value, first in zip(frame["_row"].to_numpy()[repeated], ids.to_numpy()[repeated], firsts)
        )


def _parse_coordinates(frame, problems, source: TableSource, crs, region, has_position) -> None:
    """Set WGS84 ``lon``/``lat`` (NaN where absent) and keep the cells as written.

    A row whose longitude and latitude are unambiguously swapped (as written
    it lies far from the study area, swapped it lies inside the area's
    bounds) is swapped back with a warning; a swap that is only plausible
    stays an error.
    """
    if not has_position:
        frame["lon"], frame["lat"] = np.nan, np.nan
        frame["lon_as_written"], frame["lat_as_written"] = "", ""
        return
    text = {c: frame[c].astype(str).str.strip() for c in ("lon", "lat")}
    frame["lon_as_written"], frame["lat_as_written"] = text["lon"], text["lat"]
    lon = pd.to_numeric(text["lon"], errors="coerce")
    lat = pd.to_numeric(text["lat"], errors="coerce")
    both_empty = (text["lon"] == "") & (text["lat"] == "")
    as_written = text["lon"] + ", " + text["lat"]
    near, inside = _near(region, margin=1.0), _near(region, margin=0.0)
    plausible_swap = ~near(lon, lat) & near(lat, lon)
    clear_swap = plausible_swap & inside(lat, lon)
    swapped = np.flatnonzero(clear_swap)
    problems.extend(
        source.problem(
            int(row), "lon/lat", written,
            "longitude and latitude were swapped (swapped back, the point lies in the area); "
            "the swapped position is used", "warning",
        )
        for row, written in zip(frame["_row"].to_numpy()[swapped], as_written.to_numpy()[swapped])
    )
    lon, lat = lon.where(~clear_swap, lat), lat.where(~clear_swap, lon)
    unclear_swap = plausible_swap & ~clear_swap
    valid = ~unclear_swap
    _invalid(frame, problems, source, unclear_swap, "lon/lat", as_written,
             "longitude and latitude look swapped, but swapped back the point lies outside the area "
             "too; check the row")
    numbers = {"lon": lon, "lat": lat}
    for column, limit in (("lon", 180), ("lat", 90)):
        value, raw = numbers[column], text[column]
        checked = ~both_empty & valid
        missing = checked & (raw == "")
        not_number = checked & ~missing & ~np.isfinite(value.fillna(np.inf))
        out_of_range = checked & ~missing & ~not_number & (value.abs() > limit)
        for bad, message in (
            (missing, "missing; give both longitude and latitude, or neither"),
            (not_number, "a number is required"),
            (out_of_range, f"must be within [-{limit}, {limit}]"),
        ):
            _invalid(frame, problems, source, bad, column, raw, message)
        valid &= ~(missing | not_number | out_of_range)
    usable = valid & ~both_empty
    frame["lon"], frame["lat"] = np.nan, np.nan
    if usable.any():
        x, y = to_wgs84(lon[usable].to_numpy(), lat[usable].to_numpy(), crs or "EPSG:4326")
        frame.loc[usable, "lon"] = x
        frame.loc[usable, "lat"] = y
    no_position = both_empty & frame["township_code"].isna() & frame["township_name"].isna()
    _invalid(frame, problems, source, no_position & (frame["status"] == ""), "lon/lat",
             pd.Series("", index=frame.index), "the row has neither coordinates nor a township code or name")


def _near(region: tuple[float, float, float, float], *, margin: float):
    """A test whether (lon, lat) lies within ``margin`` degrees of the region's bounds."""
    lon_min, lat_min, lon_max, lat_max = region

    def test(x: pd.Series, y: pd.Series) -> pd.Series:
        return (x >= lon_min - margin) & (x <= lon_max + margin) & (y >= lat_min - margin) & (y <= lat_max + margin)

    return test


def _parse_numbers(frame, problems, source: TableSource, column: str, *, whole: bool) -> pd.Series:
    """Numbers >= 0 (whole if asked) or empty; bad values make the row invalid."""
    text = frame[column].astype(str).str.strip()
    numbers = pd.to_numeric(text.replace("", np.nan), errors="coerce")
    bad = (text != "") & (numbers.isna() | ~np.isfinite(numbers.fillna(0)) | (numbers < 0))
    if whole:
        bad |= numbers.notna() & (numbers % 1 != 0)
    allowed = "a whole number >= 0, or empty" if whole else "a number >= 0, or empty"
    _invalid(frame, problems, source, bad, column, text, f"must be {allowed}")
    numbers = numbers.where(~bad)
    return numbers.astype("Int64") if whole else numbers


def _invalid(
    frame, problems, source: TableSource, rows: pd.Series, column: str, values: pd.Series, message: str
) -> None:
    """Mark the ``rows`` (a mask) invalid, unless duplicates, and record a problem for each, in row order.

    ``values`` are the cells as written, aligned with ``frame``; the row's
    ``detail`` gets the message added.
    """
    at = np.flatnonzero(np.asarray(rows, dtype=bool))
    if len(at) == 0:
        return
    status_at, detail_at = frame.columns.get_loc("status"), frame.columns.get_loc("detail")
    header = source.header(column)
    said = f"{header}: {message}"
    marked = at[frame.iloc[at, status_at].to_numpy() != DUPLICATE_ID]
    if len(marked):
        previous = frame.iloc[marked, detail_at].to_numpy()
        frame.iloc[marked, status_at] = INVALID
        frame.iloc[marked, detail_at] = [f"{p}; {said}" if p else said for p in previous]
    problems.extend(
        source.problem(int(row), column, str(value), message)
        for row, value in zip(frame["_row"].to_numpy()[at], np.asarray(values, dtype=object)[at])
    )


def missing_columns(columns, required, source: TableSource, *, alternative: str = "") -> list[Problem]:
    """A file-level problem for each required column that is absent.

    The message lists the headers the file has and the headers that would
    be recognised, and says where to name the column in the project file.
    """
    present = ", ".join(source.header(str(c)) for c in columns if c not in {"geometry", "_row"})
    return [
        source.problem(
            None, None, None,
            f"no column for {column!r}{alternative} (the file's headers: {present}); use a header such as "
            f"{_example_headers(column)}, or name the column in the project file: "
            f"[layers.{source.layer}.columns] {column} = \"<your header>\"",
        )
        for column in required
        if column not in columns
    ]


def _example_headers(column: str) -> str:
    """Headers recognised for a standard column, for messages."""
    examples = [alias for alias in ALIASES.get(column, ()) if not alias.isascii()][:3] or [column]
    return " / ".join(examples)


def duplicate_problems(values: pd.Series, column: str, path, *, rows) -> list[Problem]:
    """A problem for each repeated value after its first occurrence."""
    repeated = values.duplicated(keep="first") & values.notna() & (values != "")
    return [
        Problem(path, int(rows[i]), column, str(values.iloc[i]), "duplicate; each value must occur once")
        for i in np.flatnonzero(repeated)
    ]


def _in_row_order(problems: list[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: (p.row is None, p.row or 0))
