"""Assigning points (sites, villages) to townships, losing no row.

Every input row ends in exactly one status:

``joined``
    inside a township, or, for a row without coordinates, found by township
    code or name. A point on a shared border goes to the declared township
    if it is one of them, else to the one with the smallest code.
``snapped``
    outside every township but within the snapping tolerance of one; it is
    assigned to the nearest.
``outside``
    farther than the tolerance from every township (``distance_m`` says
    how far).
``unmatched_name``
    no coordinates, and its township code or name matches no township
    (the detail lists the closest names).
``invalid`` / ``duplicate_id``
    set by :mod:`township_coverage.inputs.validate` and passed through.

A row whose declared township differs from the one it lies in keeps the
spatial result and is reported as a disagreement, never silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from township_coverage.errors import Problem
from township_coverage.inputs.names import NameMatcher
from township_coverage.inputs.validate import DUPLICATE_ID, INVALID

JOINED = "joined"
SNAPPED = "snapped"
OUTSIDE = "outside"
UNMATCHED_NAME = "unmatched_name"
STATUSES = (JOINED, SNAPPED, OUTSIDE, UNMATCHED_NAME, INVALID, DUPLICATE_ID)
#: Statuses whose rows take part in the indicators.
USABLE = (JOINED, SNAPPED)


@dataclass(frozen=True)
class JoinResult:
    """Every input row with the township it was assigned to.

    Attributes
    ----------
    points
        The input rows in input order (WGS84 points; no geometry where the
        row has no coordinates), with ``township_code`` (the result, missing
        unless joined or snapped), ``declared_township_code``,
        ``join_status``, ``join_detail`` and ``distance_m`` (to the nearest
        township; 0 inside).
    """

    points: gpd.GeoDataFrame

    def status_counts(self) -> pd.Series:
        """Number of rows per status; adds up to the number of input rows."""
        return self.points["join_status"].value_counts().reindex(list(STATUSES), fill_value=0)

    def usable(self) -> gpd.GeoDataFrame:
        """Rows that are joined or snapped."""
        return self.points[self.points["join_status"].isin(USABLE)]

    def disagreements(self) -> pd.DataFrame:
        """Rows whose declared township differs from the one they lie in."""
        points = self.points
        declared = points["declared_township_code"]
        differs = points["join_status"].isin(USABLE) & declared.notna() & (declared != points["township_code"])
        return points.loc[differs & points.geometry.notna()].drop(columns="geometry")

    def problems(self, path: Path, id_column: str) -> list[Problem]:
        """Errors for outside and unmatched rows; warnings for snapped and disagreeing ones.

        (``invalid`` and ``duplicate_id`` rows were reported by validation.)
        """
        problems = []
        points = self.points
        for _, point in points.iterrows():
            status, row, ident = point["join_status"], int(point["_row"]), point[id_column]
            if status == OUTSIDE:
                problems.append(Problem(path, row, "lon/lat", f"{point['lon']:.6f}, {point['lat']:.6f}",
                                        f"{id_column} {ident} lies in no township ({point['join_detail']})"))
            elif status == UNMATCHED_NAME:
                problems.append(Problem(path, row, point["join_column"], point["join_value"],
                                        f"{id_column} {ident}: {point['join_detail']}"))
            elif status == SNAPPED:
                problems.append(Problem(path, row, "lon/lat", f"{point['lon']:.6f}, {point['lat']:.6f}",
                                        f"{id_column} {ident} {point['join_detail']}", "warning"))
        for _, point in self.disagreements().iterrows():
            problems.append(
                Problem(path, int(point["_row"]), "township_code", str(point["declared_township_code"]),
                        f"{id_column} {point[id_column]} lies in township {point['township_code']}, "
                        "not in the declared one; the position is used", "warning")
            )
        return sorted(problems, key=lambda p: p.row or 0)


def points_from_table(table: pd.DataFrame, *, crs: str = "EPSG:4326") -> gpd.GeoDataFrame:
    """Point layer from a table with numeric ``lon``/``lat`` (NaN: no geometry)."""
    has_xy = table["lon"].notna() & table["lat"].notna()
    geometry = gpd.points_from_xy(table["lon"].fillna(0), table["lat"].fillna(0))
    geometry = np.where(has_xy, np.asarray(geometry, dtype=object), None)
    return gpd.GeoDataFrame(table, geometry=list(geometry), crs=crs)


def assign_points_to_townships(
    points: pd.DataFrame,
    townships: gpd.GeoDataFrame,
    *,
    snap_tolerance_m: float = 0.0,
    matcher: NameMatcher | None = None,
) -> JoinResult:
    """Assign each row to a township by position, or by code or name.

    Parameters
    ----------
    points
        Rows with WGS84 ``lon``/``lat`` (NaN where absent), optional declared
        ``township_code`` / ``township_name`` / ``county_name``, and
        optionally ``status`` from validation (non-empty rows pass through).
    townships
        Polygons with ``township_code`` (and names for the name look-up).
    snap_tolerance_m
        Points at most this far outside every township go to the nearest.
    matcher
        Name look-up; built from ``townships`` when not given.

    Returns
    -------
    JoinResult
    """
    townships = townships.to_crs("EPSG:4326")
    located = points_from_table(points.reset_index(drop=True))
    for column in ("_row", "township_code", "township_name", "county_name"):
        if column not in located:
            located[column] = pd.NA if column != "_row" else located.index + 1
    if "status" not in located:
        located["status"] = ""
    matcher = matcher or NameMatcher(townships)
    known_codes = set(townships["township_code"])

    located["declared_township_code"] = [
        _declared_code(code, name, county, matcher, known_codes)
        for code, name, county in zip(located["township_code"], located["township_name"], located["county_name"])
    ]
    located["join_status"] = located["status"].replace("", pd.NA)
    located["join_detail"] = located.get("detail", pd.Series("", index=located.index)).fillna("")
    located["join_column"] = ""
    located["join_value"] = ""
    located["township_code"] = pd.Series(pd.NA, index=located.index, dtype="object")
    located["distance_m"] = np.nan

    pending = located["join_status"].isna()
    spatial = pending & located.geometry.notna()
    _assign_by_position(located, spatial, townships, snap_tolerance_m)
    _assign_by_code_or_name(located, pending & ~spatial, matcher, known_codes)
    return JoinResult(points=located.drop(columns=["status", "detail"], errors="ignore"))


def _declared_code(code, name, county, matcher: NameMatcher, known: set[str]) -> str | None:
    """The township a row names: its code if known (or if it has no name), else its name's."""
    if pd.notna(code) and (str(code) in known or pd.isna(name)):
        return str(code)
    if pd.notna(name):
        return matcher.match(str(name), None if pd.isna(county) else str(county)).township_code
    return None


def _assign_by_position(located, rows, townships, snap_tolerance_m) -> None:
    if not rows.any():
        return
    candidates = located.loc[rows, ["geometry", "declared_township_code"]]
    matches = gpd.sjoin(candidates, townships[["township_code", "geometry"]], predicate="intersects")
    is_declared = (matches["township_code"] == matches["declared_township_code"]).fillna(False)
    matches["rank"] = (~is_declared.astype(bool)).astype(int)
    chosen = matches.sort_values(["rank", "township_code"]).groupby(level=0)["township_code"].first()
    located.loc[chosen.index, "township_code"] = chosen
    located.loc[chosen.index, "join_status"] = JOINED
    located.loc[chosen.index, "distance_m"] = 0.0

    outside = rows & located["join_status"].isna()
    if not outside.any():
        return
    metric = townships.estimate_utm_crs()
    nearest = gpd.sjoin_nearest(
        located.loc[outside, ["geometry"]].to_crs(metric),
        townships[["township_code", "geometry"]].to_crs(metric),
        distance_col="distance_m",
    )
    nearest = nearest.sort_values(["distance_m", "township_code"]).groupby(level=0).first()
    for index, match in nearest.iterrows():
        distance = float(match["distance_m"])
        located.at[index, "distance_m"] = distance
        if distance <= snap_tolerance_m:
            located.at[index, "join_status"] = SNAPPED
            located.at[index, "township_code"] = match["township_code"]
            located.at[index, "join_detail"] = (
                f"was {distance:.0f} m outside every township and was snapped to {match['township_code']}"
            )
        else:
            located.at[index, "join_status"] = OUTSIDE
            located.at[index, "join_detail"] = (
                f"{distance / 1000:.1f} km from the nearest, {match['township_code']}; "
                f"the snapping tolerance is {snap_tolerance_m:g} m"
            )


def _assign_by_code_or_name(located, rows, matcher: NameMatcher, known: set[str]) -> None:
    for index in located.index[rows]:
        code, name = located.at[index, "declared_township_code"], located.at[index, "township_name"]
        if code is not None and code in known:
            located.at[index, "township_code"] = code
            located.at[index, "join_status"] = JOINED
            located.at[index, "join_detail"] = "no coordinates; joined by township code or name"
            continue
        located.at[index, "join_status"] = UNMATCHED_NAME
        if pd.notna(name):
            county = located.at[index, "county_name"]
            match = matcher.match(str(name), None if pd.isna(county) else str(county))
            located.at[index, "join_column"] = "township_name"
            located.at[index, "join_value"] = str(name)
            closest = "、".join(match.candidates) or "none"
            if match.reason == "ambiguous":
                detail = f"township name {name!r} occurs in several counties; add the county (codes {closest})"
            else:
                detail = f"no township is named {name!r}; closest: {closest}"
        else:
            located.at[index, "join_column"] = "township_code"
            located.at[index, "join_value"] = str(code)
            detail = f"no township has the code {code!r}"
        located.at[index, "join_detail"] = detail
