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

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from township_coverage.inputs.config import LayerConfig
from township_coverage.inputs.crs import to_wgs84
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
SITE_COLUMNS = ("site_id", "site_type", "name")
VILLAGE_COLUMNS = ("village_code", "village_name")


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
    problems = missing_columns(frame.columns, TOWNSHIP_COLUMNS, layer)
    if problems:
        return CheckedLayer(frame, problems)
    frame = frame.reset_index(drop=True).copy()
    for column in TOWNSHIP_COLUMNS:
        frame[column] = frame[column].astype("string").str.strip()
    geometries = frame.geometry.to_numpy()
    for index, (code, geometry) in enumerate(zip(frame["township_code"], geometries)):
        feature = index + 1
        if pd.isna(code) or code == "":
            problems.append(Problem(path, feature, "township_code", "", "a township code is required"))
        if geometry is None or geometry.is_empty:
            problems.append(Problem(path, feature, "geometry", None, "the geometry is empty"))
        elif geometry.geom_type not in {"Polygon", "MultiPolygon"}:
            problems.append(
                Problem(path, feature, "geometry", geometry.geom_type, "townships must be Polygon or MultiPolygon")
            )
        elif not geometry.is_valid:
            reason = shapely.is_valid_reason(geometry)
            if layer.repair_invalid:
                geometries[index] = _repaired(geometry)
                problems.append(
                    Problem(path, feature, "geometry", None, f"invalid polygon ({reason}) was repaired", "warning")
                )
            else:
                problems.append(
                    Problem(
                        path, feature, "geometry", None,
                        f"invalid polygon: {reason}; fix it, or set repair_invalid = true for this layer",
                    )
                )
    problems += duplicate_problems(frame["township_code"], "township_code", path, rows=frame.index + 1)
    if any(p.severity == "error" for p in problems):
        return CheckedLayer(frame, problems)
    frame = frame.set_geometry(geometries)
    problems += _overlap_problems(frame, path)
    return CheckedLayer(frame.to_crs("EPSG:4326"), problems)


def _repaired(geometry: shapely.Geometry) -> shapely.Geometry:
    """The polygonal part of ``make_valid`` (a bow-tie becomes two triangles)."""
    fixed = shapely.make_valid(geometry, method="structure")
    polygons = [g for g in shapely.get_parts(fixed) if g.geom_type in {"Polygon", "MultiPolygon"}]
    return shapely.union_all(polygons)


def _overlap_problems(frame: gpd.GeoDataFrame, path) -> list[Problem]:
    """Pairs of townships that overlap by more than a sliver, or are identical."""
    geometries = frame.geometry.to_numpy()
    left, right = shapely.STRtree(geometries).query(geometries, predicate="intersects")
    problems = []
    for i, j in zip(left, right):
        if i >= j:
            continue
        shared = shapely.intersection(geometries[i], geometries[j]).area
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


def check_sites(table: pd.DataFrame, layer: LayerConfig, *, region: tuple[float, float, float, float]) -> CheckedLayer:
    """Check a site table; normalise ``site_type`` to codes and ``staff`` to numbers.

    Parameters
    ----------
    table
        From :func:`township_coverage.inputs.io.read_table`.
    layer
        Its configuration (path, CRS).
    region
        WGS84 bounds of the townships, to recognise swapped coordinates.
    """
    checked = _check_points(table, layer, SITE_COLUMNS, "site_id", region)
    frame, problems = checked.frame, checked.problems
    if "site_type" not in frame:
        return checked
    spelled = frame["site_type"].astype(str).str.strip()
    frame["site_type"] = spelled.map(_SITE_TYPE_BY_SPELLING)
    for index in np.flatnonzero(frame["site_type"].isna()):
        _invalid(frame, problems, layer, index, "site_type", spelled.iloc[index],
                 "unknown site type; allowed: " + ", ".join(_SITE_TYPE_BY_SPELLING))
    if "staff" not in frame:
        frame["staff"] = ""
    frame["staff"] = _parse_numbers(frame, problems, layer, "staff", whole=True)
    if "village_code" not in frame:
        frame["village_code"] = pd.NA
    frame["village_code"] = frame["village_code"].replace("", pd.NA)
    return CheckedLayer(frame, _in_row_order(problems))


def check_villages(
    table: pd.DataFrame, layer: LayerConfig, *, region: tuple[float, float, float, float]
) -> CheckedLayer:
    """Check a village table; ``population`` becomes numbers (NaN if unknown)."""
    checked = _check_points(table, layer, VILLAGE_COLUMNS, "village_code", region)
    frame, problems = checked.frame, checked.problems
    if "population" not in frame:
        frame["population"] = ""
    frame["population"] = _parse_numbers(frame, problems, layer, "population", whole=False)
    return CheckedLayer(frame, _in_row_order(problems))


def _check_points(
    table: pd.DataFrame,
    layer: LayerConfig,
    required: tuple[str, ...],
    id_column: str,
    region: tuple[float, float, float, float],
) -> CheckedLayer:
    """Checks shared by site and village tables: columns, ids, coordinates."""
    problems = missing_columns(table.columns, required, layer)
    has_position = {"lon", "lat"} <= set(table.columns)
    has_township = bool({"township_code", "township_name"} & set(table.columns))
    if ("lon" in table.columns) != ("lat" in table.columns):
        problems += missing_columns(table.columns, ("lon", "lat"), layer)
    elif not has_position and not has_township:
        problems += missing_columns(table.columns, ("lon", "lat"), layer, alternative=" (or township_code / township_name)")
    if problems:
        return CheckedLayer(table.iloc[0:0], problems)

    frame = table.copy()
    frame["status"] = ""
    frame["detail"] = ""
    for column in ("township_code", "township_name", "county_name"):
        if column in frame:
            frame[column] = frame[column].astype(str).str.strip().replace("", pd.NA)
        else:
            frame[column] = pd.NA
    ids = frame[id_column].astype(str).str.strip()
    frame[id_column] = ids
    for index in np.flatnonzero(ids == ""):
        _invalid(frame, problems, layer, index, id_column, "", f"a {id_column} is required")
    repeated = ids.duplicated(keep="first") & (ids != "")
    for index in np.flatnonzero(repeated):
        first = frame["_row"].iloc[int(np.flatnonzero(ids == ids.iloc[index])[0])]
        frame.iloc[index, frame.columns.get_loc("status")] = DUPLICATE_ID
        frame.iloc[index, frame.columns.get_loc("detail")] = f"same {id_column} as row {first}"
        problems.append(
            Problem(layer.path, int(frame["_row"].iloc[index]), id_column, ids.iloc[index],
                    f"duplicate {id_column} (first in row {first}); each must occur once")
        )
    _parse_coordinates(frame, problems, layer, region, has_position)
    return CheckedLayer(frame, problems)


def _parse_coordinates(frame, problems, layer, region, has_position) -> None:
    """Set WGS84 ``lon``/``lat`` (NaN where absent); report bad values."""
    if not has_position:
        frame["lon"] = np.nan
        frame["lat"] = np.nan
        return
    text = {c: frame[c].astype(str).str.strip() for c in ("lon", "lat")}
    numbers = {c: pd.to_numeric(text[c], errors="coerce") for c in ("lon", "lat")}
    lon, lat = numbers["lon"], numbers["lat"]
    both_empty = (text["lon"] == "") & (text["lat"] == "")
    valid = pd.Series(True, index=frame.index)
    # Swapped first: a swapped latitude is often out of range too.
    lon_min, lat_min, lon_max, lat_max = region
    near = lambda x, y: (x > lon_min - 1) & (x < lon_max + 1) & (y > lat_min - 1) & (y < lat_max + 1)  # noqa: E731
    swapped = ~near(lon, lat) & near(lat, lon)
    for index in np.flatnonzero(swapped):
        valid.iloc[index] = False
        _invalid(frame, problems, layer, index, "lon/lat", f"{text['lon'].iloc[index]}, {text['lat'].iloc[index]}",
                 "longitude and latitude look swapped (the swapped point lies in the area); swap the columns")
    for column, limit in (("lon", 180), ("lat", 90)):
        for index in np.flatnonzero(~both_empty & ~swapped):
            value, raw = numbers[column].iloc[index], text[column].iloc[index]
            if raw == "":
                message = "missing; give both longitude and latitude, or neither"
            elif pd.isna(value) or not np.isfinite(value):
                message = "a number is required"
            elif abs(value) > limit:
                message = f"must be within [-{limit}, {limit}]"
            else:
                continue
            valid.iloc[index] = False
            _invalid(frame, problems, layer, index, column, raw, message)
    usable = valid & ~both_empty
    frame["lon"], frame["lat"] = np.nan, np.nan
    if usable.any():
        x, y = to_wgs84(lon[usable].to_numpy(), lat[usable].to_numpy(), layer.crs or "EPSG:4326")
        frame.loc[usable, "lon"] = x
        frame.loc[usable, "lat"] = y
    no_position = both_empty & frame["township_code"].isna() & frame["township_name"].isna()
    for index in np.flatnonzero(no_position & (frame["status"] == "")):
        _invalid(frame, problems, layer, index, "lon/lat", "",
                 "the row has neither coordinates nor a township code or name")


def _parse_numbers(frame, problems, layer, column: str, *, whole: bool) -> pd.Series:
    """Numbers >= 0 (whole if asked) or empty; bad values make the row invalid."""
    text = frame[column].astype(str).str.strip()
    numbers = pd.to_numeric(text.replace("", np.nan), errors="coerce")
    bad = (text != "") & (numbers.isna() | ~np.isfinite(numbers.fillna(0)) | (numbers < 0))
    if whole:
        bad |= numbers.notna() & (numbers % 1 != 0)
    allowed = "a whole number >= 0, or empty" if whole else "a number >= 0, or empty"
    for index in np.flatnonzero(bad):
        _invalid(frame, problems, layer, index, column, text.iloc[index], f"must be {allowed}")
    numbers = numbers.where(~bad)
    return numbers.astype("Int64") if whole else numbers


def _invalid(frame, problems, layer, index: int, column: str, value: str, message: str) -> None:
    """Mark a row invalid (unless it is a duplicate) and record the problem."""
    status = frame.columns.get_loc("status")
    detail = frame.columns.get_loc("detail")
    if frame.iloc[index, status] != DUPLICATE_ID:
        frame.iloc[index, status] = INVALID
        previous = frame.iloc[index, detail]
        frame.iloc[index, detail] = f"{previous}; {column}: {message}" if previous else f"{column}: {message}"
    problems.append(Problem(layer.path, int(frame["_row"].iloc[index]), column, str(value), message))


def missing_columns(columns, required, layer: LayerConfig, *, alternative: str = "") -> list[Problem]:
    """A problem for each required column that is absent."""
    present = ", ".join(str(c) for c in columns if c not in {"geometry", "_row"})
    return [
        Problem(
            layer.path, None, column, None,
            f"required column is missing{alternative} (columns present: {present}); "
            "name it in the project file under [layers.<layer>.columns]",
        )
        for column in required
        if column not in columns
    ]


def duplicate_problems(values: pd.Series, column: str, path, *, rows) -> list[Problem]:
    """A problem for each repeated value after its first occurrence."""
    repeated = values.duplicated(keep="first") & values.notna() & (values != "")
    return [
        Problem(path, int(rows[i]), column, str(values.iloc[i]), "duplicate; each value must occur once")
        for i in np.flatnonzero(repeated)
    ]


def _in_row_order(problems: list[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: (p.row is None, p.row or 0))
