"""Normalising input tables and collecting every problem in them.

Each function checks one layer once, up front, and returns the clean frame;
problems are gathered and raised together as one :class:`InputDataError`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from township_coverage.config import SITE_COLUMNS, TOWNSHIP_COLUMNS, VILLAGE_COLUMNS
from township_coverage.errors import InputDataError, Problem

#: Site type codes and the spellings accepted for each (after trimming).
SITE_TYPES: Mapping[str, tuple[str, ...]] = {
    "township_station": ("社工站", "乡镇社工站", "街道社工站", "乡镇（街道）社工站", "乡镇(街道)社工站"),
    "community_room": ("社工室", "村社工室", "社区社工室", "村（社区）社工室", "村(社区)社工室"),
    "school_station": ("学校社工站",),
    "enterprise_station": ("企业社工站",),
    "hospital_station": ("医院社工站",),
}
_SITE_TYPE_BY_SPELLING = {
    spelling: code
    for code, spellings in SITE_TYPES.items()
    for spelling in (code, *spellings)
}


def check_townships(frame: gpd.GeoDataFrame, path: Path) -> gpd.GeoDataFrame:
    """Check a township boundary layer.

    Requires the standard columns, unique non-empty codes, and polygonal,
    valid, non-empty geometries.
    """
    problems = _missing_columns(frame, TOWNSHIP_COLUMNS, path)
    if problems:
        raise InputDataError(problems)
    frame = frame.copy()
    for column in TOWNSHIP_COLUMNS:
        frame[column] = frame[column].astype("string").str.strip()
    for row, (code, geometry) in enumerate(zip(frame["township_code"], frame.geometry), start=1):
        if pd.isna(code) or code == "":
            problems.append(Problem(path, row, "township_code", "", "a township code is required"))
        if geometry is None or geometry.is_empty:
            problems.append(Problem(path, row, "geometry", None, "the geometry is empty"))
        elif geometry.geom_type not in {"Polygon", "MultiPolygon"}:
            problems.append(
                Problem(path, row, "geometry", geometry.geom_type, "townships must be Polygon or MultiPolygon")
            )
        elif not geometry.is_valid:
            from shapely import is_valid_reason

            problems.append(Problem(path, row, "geometry", None, f"invalid polygon: {is_valid_reason(geometry)}"))
    problems += _duplicates(frame["township_code"], "township_code", path)
    if problems:
        raise InputDataError(problems)
    return frame


def check_points(
    table: pd.DataFrame,
    path: Path,
    *,
    required: Iterable[str],
    id_column: str,
) -> pd.DataFrame:
    """Check a point table: required columns, unique ids, numeric coordinates.

    Returns the table with ``lon`` and ``lat`` as floats.
    """
    problems = _missing_columns(table, tuple(required), path)
    if problems:
        raise InputDataError(problems)
    table = table.copy()
    for column in ("lon", "lat"):
        text = table[column].astype(str).str.strip()
        numbers = pd.to_numeric(text, errors="coerce")
        for row in np.flatnonzero(numbers.isna()):
            problems.append(Problem(path, int(row) + 1, column, text.iloc[row], "a number is required"))
        table[column] = numbers
    for row, (lon, lat) in enumerate(zip(table["lon"], table["lat"]), start=1):
        if pd.notna(lon) and not -180 <= lon <= 180:
            problems.append(Problem(path, row, "lon", str(lon), "longitude must be within [-180, 180]"))
        if pd.notna(lat) and not -90 <= lat <= 90:
            problems.append(Problem(path, row, "lat", str(lat), "latitude must be within [-90, 90]"))
    problems += _duplicates(table[id_column], id_column, path)
    if problems:
        raise InputDataError(problems)
    return table


def check_sites(table: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Check a site table and normalise ``site_type`` and ``staff``."""
    table = check_points(table, path, required=SITE_COLUMNS, id_column="site_id")
    problems: list[Problem] = []
    codes = table["site_type"].str.strip().map(_SITE_TYPE_BY_SPELLING)
    for row in np.flatnonzero(codes.isna()):
        problems.append(
            Problem(
                path, int(row) + 1, "site_type", table["site_type"].iloc[row],
                "unknown site type; allowed: " + ", ".join(_SITE_TYPE_BY_SPELLING),
            )
        )
    table["site_type"] = codes
    if "staff" not in table:
        table["staff"] = ""
    staff_text = table["staff"].astype(str).str.strip()
    staff = pd.to_numeric(staff_text.replace("", np.nan), errors="coerce")
    bad = (staff_text != "") & (staff.isna() | (staff < 0) | (staff % 1 != 0))
    for row in np.flatnonzero(bad):
        problems.append(
            Problem(path, int(row) + 1, "staff", staff_text.iloc[row], "staff must be a whole number >= 0 or empty")
        )
    table["staff"] = staff.astype("Int64") if not bad.any() else staff
    if problems:
        raise InputDataError(problems)
    return table


def check_villages(table: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Check a village table; ``population`` becomes a float (NaN if unknown)."""
    table = check_points(table, path, required=VILLAGE_COLUMNS, id_column="village_code")
    problems: list[Problem] = []
    if "population" in table:
        text = table["population"].astype(str).str.strip()
        population = pd.to_numeric(text.replace("", np.nan), errors="coerce")
        for row in np.flatnonzero((text != "") & (population.isna() | (population < 0))):
            problems.append(
                Problem(path, int(row) + 1, "population", text.iloc[row], "population must be a number >= 0 or empty")
            )
        table["population"] = population
    else:
        table["population"] = np.nan
    if problems:
        raise InputDataError(problems)
    return table


def _missing_columns(frame: pd.DataFrame, required: tuple[str, ...], path: Path) -> list[Problem]:
    present = ", ".join(str(c) for c in frame.columns if c != "geometry")
    return [
        Problem(
            path, None, column, None,
            f"required column is missing (columns present: {present}); "
            "name it in the project file under [layers.<layer>.columns]",
        )
        for column in required
        if column not in frame.columns
    ]


def _duplicates(values: pd.Series, column: str, path: Path) -> list[Problem]:
    repeated = values.duplicated(keep="first") & values.notna() & (values != "")
    return [
        Problem(path, int(row) + 1, column, str(values.iloc[row]), "duplicate; each value must occur once")
        for row in np.flatnonzero(repeated)
    ]
