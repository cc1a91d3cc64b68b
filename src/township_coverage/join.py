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
``not_joined``
    usable, but not joined because the township layer has errors.

A row whose declared township differs from the one it lies in keeps the
spatial result and is reported as a disagreement, never silently.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from township_coverage.errors import Problem
from township_coverage.inputs.io import TableSource
from township_coverage.inputs.names import NameMatcher
from township_coverage.inputs.validate import DUPLICATE_ID, INVALID

JOINED = "joined"
SNAPPED = "snapped"
OUTSIDE = "outside"
UNMATCHED_NAME = "unmatched_name"
NOT_JOINED = "not_joined"
STATUSES = (JOINED, SNAPPED, OUTSIDE, UNMATCHED_NAME, INVALID, DUPLICATE_ID, NOT_JOINED)
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

    def with_room_links(self, rooms: "RoomLinks") -> "JoinResult":
        """The same rows, rooms carrying the village they serve (``village_code``, ``village_link``)."""
        points = self.points.copy()
        points["village_link"] = ""
        points.loc[rooms.links.index, "village_code"] = rooms.links["village_code"]
        points.loc[rooms.links.index, "village_link"] = rooms.links["link"]
        return JoinResult(points)

    def disagreements(self) -> pd.DataFrame:
        """Rows whose declared township differs from the one they lie in."""
        points = self.points
        declared = points["declared_township_code"]
        differs = points["join_status"].isin(USABLE) & declared.notna() & (declared != points["township_code"])
        return points.loc[differs & points.geometry.notna()].drop(columns="geometry")

    def problems(self, source: TableSource, township_labels: Mapping[str, str]) -> list[Problem]:
        """Errors for outside and unmatched rows; warnings for snapped and disagreeing ones.

        (``invalid`` and ``duplicate_id`` rows were reported by validation.)

        Parameters
        ----------
        source
            Where the rows come from, to name file, sheet and headers.
        township_labels
            Township code -> name as people know it (e.g. "兰山区 兰山街道").
        """
        points = self.points
        label = lambda code: f"{township_labels.get(code, code)} ({code})"  # noqa: E731
        problems = []
        flagged = points[points["join_status"].isin([OUTSIDE, UNMATCHED_NAME, SNAPPED])]
        for row, status, detail, column, value, lon, lat in zip(
            flagged["_row"], flagged["join_status"], flagged["join_detail"], flagged["join_column"],
            flagged["join_value"], flagged["lon_as_written"], flagged["lat_as_written"],
        ):
            if status == UNMATCHED_NAME:
                problems.append(source.problem(int(row), column, value, detail))
            else:
                severity = "warning" if status == SNAPPED else "error"
                problems.append(source.problem(int(row), "lon/lat", f"{lon}, {lat}", detail, severity))
        differing = self.disagreements()
        by_code = "township_code" in source.headers
        declared_as_written = differing["township_code_as_written" if by_code else "township_name"]
        for row, declared, actual, written in zip(
            differing["_row"], differing["declared_township_code"], differing["township_code"], declared_as_written
        ):
            problems.append(source.problem(
                int(row), "township_code" if by_code else "township_name", "" if pd.isna(written) else str(written),
                f"the position lies in {label(actual)}, not in the declared {label(declared)}; the position is used",
                "warning",
            ))
        return sorted(problems, key=lambda p: p.row or 0)


def unassigned(points: pd.DataFrame) -> JoinResult:
    """Rows checked but not joined (the township layer has errors): ``not_joined`` unless already refused."""
    located = points_from_table(points.reset_index(drop=True))
    located["join_status"] = located["status"].replace("", NOT_JOINED)
    located["join_detail"] = located["detail"].where(located["status"] != "", "the township layer has errors")
    located["township_code"] = pd.Series(pd.NA, index=located.index, dtype="object")
    return JoinResult(points=located.drop(columns=["status", "detail"]))


def points_from_table(table: pd.DataFrame, *, crs: str = "EPSG:4326") -> gpd.GeoDataFrame:
    """Point layer from a table with numeric ``lon``/``lat`` (NaN: no geometry)."""
    has_xy = (table["lon"].notna() & table["lat"].notna()).to_numpy()
    lon, lat = (pd.to_numeric(table[c]).to_numpy(dtype=float) for c in ("lon", "lat"))
    geometry = np.full(len(table), None, dtype=object)
    geometry[has_xy] = shapely.points(lon[has_xy], lat[has_xy])
    return gpd.GeoDataFrame(table, geometry=geometry, crs=crs)


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
    for column in ("_row", "township_code", "township_name", "county_name", "lon_as_written", "lat_as_written"):
        if column not in located:
            located[column] = pd.NA if column != "_row" else located.index + 1
    located["township_code_as_written"] = located["township_code"]
    if "status" not in located:
        located["status"] = ""
    matcher = matcher or NameMatcher(townships)
    known_codes = set(townships["township_code"])

    declared = located[["township_code", "township_name", "county_name"]].astype(object)
    declared = declared.where(declared.notna(), None)
    # Looked up once per distinct (code, name, county): lists repeat them row after row.
    key = declared.groupby(list(declared.columns), dropna=False, sort=False).ngroup().to_numpy()
    _, first_rows = np.unique(key, return_index=True)
    found = np.array(
        [_declared_code(*row, matcher, known_codes) for row in declared.iloc[first_rows].itertuples(index=False, name=None)]
        + [None],  # keeps a one-dimensional array of objects
        dtype=object,
    )[:-1]
    located["declared_township_code"] = list(found[key])
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
    distances = nearest["distance_m"].astype(float)
    located.loc[nearest.index, "distance_m"] = distances
    close = distances <= snap_tolerance_m
    snapped, far = nearest[close], nearest[~close]
    located.loc[snapped.index, "join_status"] = SNAPPED
    located.loc[snapped.index, "township_code"] = snapped["township_code"]
    located.loc[snapped.index, "join_detail"] = [
        f"{distance:.0f} m outside every township; snapped to the nearest, {code}"
        for distance, code in zip(distances[close], snapped["township_code"])
    ]
    located.loc[far.index, "join_status"] = OUTSIDE
    located.loc[far.index, "join_detail"] = [
        f"lies in no township: {distance / 1000:.1f} km from the nearest, {code} "
        f"(points up to {snap_tolerance_m:g} m outside are snapped: [join] snap_tolerance_m)"
        for distance, code in zip(distances[~close], far["township_code"])
    ]


def _assign_by_code_or_name(located, rows, matcher: NameMatcher, known: set[str]) -> None:
    pending = located.loc[rows, ["declared_township_code", "township_name", "county_name"]]
    codes = pending["declared_township_code"]
    found = np.array([code is not None and code in known for code in codes], dtype=bool)
    joined = pending.index[found]
    located.loc[joined, "township_code"] = codes[found]
    located.loc[joined, "join_status"] = JOINED
    located.loc[joined, "join_detail"] = "no coordinates; joined by township code or name"

    unmatched = pending[~found]
    if unmatched.empty:
        return
    columns, values, details = [], [], []
    why: dict[tuple[str, str | None], str] = {}  # lists repeat the same misspelt names
    for code, name, county in unmatched.itertuples(index=False, name=None):
        if pd.notna(name):
            key = (str(name), None if pd.isna(county) else str(county))
            if key not in why:
                why[key] = _unmatched_name_detail(matcher.match(*key))
            columns.append("township_name")
            values.append(str(name))
            details.append(why[key])
        else:
            columns.append("township_code")
            values.append(str(code))
            details.append("no township has this code")
    located.loc[unmatched.index, "join_status"] = UNMATCHED_NAME
    located.loc[unmatched.index, "join_column"] = columns
    located.loc[unmatched.index, "join_value"] = values
    located.loc[unmatched.index, "join_detail"] = details


def _unmatched_name_detail(match) -> str:
    """Why a township name matched no township, with the closest names."""
    closest = "、".join(match.candidates) or "none"
    if match.reason == "ambiguous":
        return f"this township name occurs in several counties ({closest}); add a county column or the county before the name"
    return f"no township has this name; closest: {closest}"


@dataclass(frozen=True)
class RoomLinks:
    """The village each community room serves.

    Attributes
    ----------
    links
        One row per usable community room (indexed like the site rows):
        ``village_code`` (the linked village, missing if none),
        ``link`` (``"code"``, ``"position"`` or ``"none"``), ``distance_m``
        (to the linked village, for links by position), ``code_as_written``
        (the room's own village code, if any), ``position_as_written`` and
        ``_row``.
    within_m
        Largest distance of a link by position.
    """

    links: pd.DataFrame
    within_m: float

    def problems(self, source: TableSource) -> list[Problem]:
        """A warning for each room given an unknown code, and each room left unlinked."""
        problems = []
        tolerance = f"{self.within_m:g} m"
        for row, link, code, distance, linked, position in zip(
            self.links["_row"], self.links["link"], self.links["code_as_written"],
            self.links["distance_m"], self.links["village_code"], self.links["position_as_written"],
        ):
            unknown_code = pd.notna(code) and link != "code"
            if unknown_code and link == "position":
                message = (f"no village has this code; the room is linked to the nearest village of its township, "
                           f"{linked} ({distance:.0f} m away)")
            elif unknown_code:
                message = (f"no village has this code, and no village of the room's township lies within "
                           f"{tolerance}; the room counts for no village")
            elif link == "none":
                message = (f"the room has no village code and no village of its township lies within {tolerance}; "
                           "it counts for no village ([join] room_link_m sets the distance)")
            else:
                continue
            column, value = ("village_code", str(code)) if pd.notna(code) else ("lon/lat", position)
            problems.append(source.problem(int(row), column, value, message, "warning"))
        return problems


def link_rooms_to_villages(
    sites: gpd.GeoDataFrame, villages: gpd.GeoDataFrame, *, within_m: float
) -> RoomLinks:
    """Link each community room to the village it serves.

    By the room's ``village_code`` where it names a known village; else
    by position, to the nearest village of the same township at most
    ``within_m`` metres away (distances in the local UTM zone).

    Parameters
    ----------
    sites
        Joined site rows (``site_type``, ``township_code``, ``village_code``,
        ``join_status``, WGS84 geometry).
    villages
        Joined, usable village rows with ``village_code`` and ``township_code``.
    within_m
        Largest distance of a link by position.
    """
    rooms = sites[(sites["site_type"] == "community_room") & sites["join_status"].isin(USABLE)]
    known = pd.Index(villages["village_code"].astype(object))
    written = rooms["village_code"] if "village_code" in rooms else pd.Series(pd.NA, index=rooms.index)
    written = written.astype(object).where(written.notna(), None)
    by_code = written.notna() & written.isin(known)
    links = pd.DataFrame(
        {
            "_row": rooms["_row"],
            "position_as_written": rooms["lon_as_written"].astype(str) + ", " + rooms["lat_as_written"].astype(str),
            "code_as_written": written,
            "village_code": written.where(by_code),
            "link": np.where(by_code, "code", "none"),
            "distance_m": np.nan,
        },
        index=rooms.index,
    )
    pending = rooms[~by_code & rooms.geometry.notna()]
    located = villages[villages.geometry.notna()]
    if len(pending) and len(located) and within_m > 0:
        metric = located.estimate_utm_crs()
        room_xy = pending.geometry.to_crs(metric).to_numpy()
        village_xy = located.geometry.to_crs(metric).to_numpy()
        room_at, village_at = shapely.STRtree(village_xy).query(room_xy, predicate="dwithin", distance=within_m)
        pairs = pd.DataFrame({"room": room_at, "village": village_at})
        same_township = (
            pending["township_code"].to_numpy()[room_at] == located["township_code"].to_numpy()[village_at]
        )
        pairs = pairs[same_township]
        pairs["distance_m"] = shapely.distance(room_xy[pairs["room"]], village_xy[pairs["village"]])
        nearest = pairs.sort_values(["distance_m", "village"]).groupby("room").first()
        index = pending.index[nearest.index]
        links.loc[index, "village_code"] = located["village_code"].to_numpy()[nearest["village"]]
        links.loc[index, "link"] = "position"
        links.loc[index, "distance_m"] = nearest["distance_m"].to_numpy()
    return RoomLinks(links, within_m)
