"""Last year's site list against this year's: which sites opened, closed, moved or stayed.

Pure functions: two joined site lists in, tables out, no I/O. A site of
the old list and one of the new list are the same site when

1. both carry the same id of their own (an id the tool generated from file
   and row, e.g. ``sites.csv:15``, is no id of the site), or else
2. they have the same name (:func:`township_coverage.inputs.names.normalise_name`)
   and site type and lie within ``max_distance_m`` of each other, the
   nearest pairs first; rows without coordinates (joined by township code
   or name) pair with a row of the same name and type in the same township.

Every row of both lists ends in exactly one row of the change table:
``opened`` (only in the new list), ``closed`` (only in the old list),
``moved`` (matched, more than ``moved_m`` apart, or in another township
when a position is missing), ``unchanged``, or ``left_out`` (a row with
errors that a lenient run leaves out). Distances are straight lines in the
UTM zone of the sites, as in :mod:`township_coverage.metrics`.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from township_coverage.inputs.names import normalise_name
from township_coverage.join import USABLE
from township_coverage.metrics import SITE_COUNT_COLUMNS

OPENED, CLOSED, MOVED, UNCHANGED, LEFT_OUT = "opened", "closed", "moved", "unchanged", "left_out"
#: Changes a row of the change table can have, in the order summaries list them.
CHANGES = (OPENED, CLOSED, MOVED, UNCHANGED, LEFT_OUT)
#: How a pair was matched.
BY_ID, BY_NAME = "id", "name_position"
#: A matched site more than this many metres from its old position has moved.
DEFAULT_MOVED_M = 100.0
#: Sites of the same name and type farther apart than this are not matched.
DEFAULT_MAX_DISTANCE_M = 2000.0
#: Columns a site list needs (the rows of a :class:`township_coverage.join.JoinResult`, plus ``own_id``).
INPUT_COLUMNS = ("_row", "site_id", "own_id", "name", "site_type", "township_code", "join_status", "join_detail")
#: Columns of :func:`compare_sites`, in order.
CHANGE_COLUMNS = (
    "change", "matched_by", "old_row", "new_row", "old_id", "new_id", "old_name", "new_name", "old_type", "new_type",
    "old_township_code", "old_township_name", "new_township_code", "new_township_name",
    "old_lon", "old_lat", "new_lon", "new_lat", "distance_m", "detail",
)


def compare_sites(
    old: gpd.GeoDataFrame,
    new: gpd.GeoDataFrame,
    *,
    townships: pd.DataFrame | None = None,
    moved_m: float = DEFAULT_MOVED_M,
    max_distance_m: float = DEFAULT_MAX_DISTANCE_M,
) -> pd.DataFrame:
    """Match the sites of two lists and say what changed for each.

    Parameters
    ----------
    old, new
        Every row of each list as joined (WGS84 points, no geometry where
        a row has no coordinates) with the columns of :data:`INPUT_COLUMNS`:
        ``own_id`` says whether ``site_id`` is the list's own id (``False``
        for ids generated from file and row).
    townships
        Township codes with ``township_name``, to name the townships; by
        default the names are left empty.
    moved_m
        A matched site farther than this from its old position has moved.
    max_distance_m
        Largest distance between two sites matched by name and type.

    Returns
    -------
    pandas.DataFrame
        :data:`CHANGE_COLUMNS`: one row per matched pair and per unmatched
        or left-out row, the old list's rows in their order first (matched
        ones with their new row), then the new list's remaining rows.
        Rows are spreadsheet row numbers; positions are WGS84;
        ``distance_m`` is missing unless both positions are known.

    Raises
    ------
    ValueError
        If a list lacks a column or a distance is negative.
    """
    for label, frame in (("old", old), ("new", new)):
        missing = [c for c in INPUT_COLUMNS if c not in frame]
        if missing:
            raise ValueError(f"the {label} site list lacks the column(s) {', '.join(missing)}")
    for name, value in (("moved_m", moved_m), ("max_distance_m", max_distance_m)):
        if not value >= 0:
            raise ValueError(f"{name}={value!r}; a distance in metres >= 0 is required")
    old, new = old.reset_index(drop=True), new.reset_index(drop=True)
    old_xy, new_xy = _metric_positions(old, new)
    old_usable, new_usable = old["join_status"].isin(USABLE).to_numpy(), new["join_status"].isin(USABLE).to_numpy()
    by_id = _pairs_by_id(old, new, old_usable, new_usable)
    old_free, new_free = old_usable.copy(), new_usable.copy()
    old_free[by_id[0]], new_free[by_id[1]] = False, False
    by_name = _pairs_by_name(old, new, old_free, new_free, old_xy, new_xy, max_distance_m)
    partner = np.full(len(old), -1)
    method = np.full(len(old), "", dtype=object)
    for (i, j), how in ((by_id, BY_ID), (by_name, BY_NAME)):
        partner[i], method[i] = j, how
    table = _change_rows(old, new, partner, method, old_xy, new_xy, moved_m)
    names = townships.set_index("township_code")["township_name"] if townships is not None else pd.Series(dtype=object)
    for side in ("old", "new"):
        table[f"{side}_township_name"] = table[f"{side}_township_code"].map(names)
    return table[list(CHANGE_COLUMNS)]


def change_counts(changes: pd.DataFrame) -> pd.Series:
    """Rows of a change table per change, in the order of :data:`CHANGES` (zeros included)."""
    return changes["change"].value_counts().reindex(list(CHANGES), fill_value=0).astype(int)


def compare_townships(changes: pd.DataFrame, townships: pd.DataFrame) -> pd.DataFrame:
    """Per township: sites of each type before and after, opened, closed, moved, net change.

    Parameters
    ----------
    changes
        From :func:`compare_sites`.
    townships
        Every township (``township_code``, ``township_name``, ``county_name``;
        ``county_code`` if present); townships without sites get zeros.

    Returns
    -------
    pandas.DataFrame
        Indexed by township code: ``township_name``, ``county_name``, for
        each site type ``<type>_before`` / ``<type>_after`` (e.g.
        ``stations_before``), ``sites_before``, ``sites_after``,
        ``opened``, ``closed``, ``moved`` (counted in the township of the
        new position), ``net_change`` (after minus before),
        ``has_station_before`` and ``has_station_after``.
    """
    keys = [c for c in ("township_name", "county_code", "county_name") if c in townships]
    result = townships.set_index("township_code")[keys].copy()
    codes = result.index
    before = changes[changes["change"].isin([CLOSED, MOVED, UNCHANGED])]
    after = changes[changes["change"].isin([OPENED, MOVED, UNCHANGED])]
    counts_before = _counts_by_type(before, "old", codes)
    counts_after = _counts_by_type(after, "new", codes)
    for column in SITE_COUNT_COLUMNS.values():
        result[f"{column}_before"] = counts_before[column]
        result[f"{column}_after"] = counts_after[column]
    result["sites_before"] = counts_before.sum(axis=1)
    result["sites_after"] = counts_after.sum(axis=1)
    for change, side in ((OPENED, "new"), (CLOSED, "old"), (MOVED, "new")):
        rows = changes[changes["change"] == change]
        result[change] = rows.groupby(f"{side}_township_code").size().reindex(codes, fill_value=0).astype(int)
    result["net_change"] = result["sites_after"] - result["sites_before"]
    result["has_station_before"] = result["stations_before"] > 0
    result["has_station_after"] = result["stations_after"] > 0
    return result.rename_axis("township_code")


def _counts_by_type(rows: pd.DataFrame, side: str, codes: pd.Index) -> pd.DataFrame:
    """Sites per township and type, on one side of the change table."""
    counts = rows.groupby([f"{side}_township_code", f"{side}_type"]).size().unstack(fill_value=0)
    counts = counts.reindex(index=codes, columns=list(SITE_COUNT_COLUMNS), fill_value=0).astype(int)
    return counts.rename(columns=SITE_COUNT_COLUMNS)


def _metric_positions(old: gpd.GeoDataFrame, new: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) in metres in the UTM zone of both lists' points; NaN where a row has no position."""
    located = [frame.geometry[frame.geometry.notna() & ~frame.geometry.is_empty] for frame in (old, new)]
    points = pd.concat(located)
    if points.empty:
        return np.full((len(old), 2), np.nan), np.full((len(new), 2), np.nan)
    metric = gpd.GeoSeries(points, crs=old.crs or "EPSG:4326").estimate_utm_crs()
    result = []
    for frame, present in zip((old, new), located):
        xy = np.full((len(frame), 2), np.nan)
        if len(present):
            projected = present.set_crs(frame.crs or "EPSG:4326", allow_override=True).to_crs(metric)
            xy[present.index.to_numpy()] = np.column_stack([projected.x.to_numpy(), projected.y.to_numpy()])
        result.append(xy)
    return result[0], result[1]


def _pairs_by_id(
    old: pd.DataFrame, new: pd.DataFrame, old_usable: np.ndarray, new_usable: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Rows (old, new) with the same id of their own."""
    old_rows = np.flatnonzero(old_usable & old["own_id"].to_numpy(dtype=bool))
    new_rows = np.flatnonzero(new_usable & new["own_id"].to_numpy(dtype=bool))
    new_ids = pd.Index(new["site_id"].astype(str).to_numpy()[new_rows])
    found = new_ids.get_indexer(old["site_id"].astype(str).to_numpy()[old_rows])  # usable ids occur once
    matched = found >= 0
    return old_rows[matched], new_rows[found[matched]]


def _pairs_by_name(
    old: pd.DataFrame, new: pd.DataFrame, old_free: np.ndarray, new_free: np.ndarray,
    old_xy: np.ndarray, new_xy: np.ndarray, max_distance_m: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Rows (old, new) of the same name and type, nearest first; each row in at most one pair."""
    keys = pd.concat([_name_keys(old), _name_keys(new)], ignore_index=True)
    codes, _ = pd.factorize(keys)
    old_key, new_key = codes[: len(old)], codes[len(old):]
    near = _near_pairs(old_key, new_key, old_free, new_free, old_xy, new_xy, max_distance_m)
    same_township = _same_township_pairs(old, new, old_key, new_key, old_free, new_free, old_xy, new_xy)
    i = np.concatenate([near[0], same_township[0]])
    j = np.concatenate([near[1], same_township[1]])
    distance = np.concatenate([near[2], np.full(len(same_township[0]), np.inf)])
    order = np.lexsort((j, i, distance))
    taken_old, taken_new = np.zeros(len(old), bool), np.zeros(len(new), bool)
    pairs = []
    for a, b in zip(i[order], j[order]):
        if not taken_old[a] and not taken_new[b]:
            taken_old[a] = taken_new[b] = True
            pairs.append((a, b))
    if not pairs:
        return np.zeros(0, int), np.zeros(0, int)
    chosen = np.array(pairs, dtype=int)
    return chosen[:, 0], chosen[:, 1]


def _name_keys(frame: pd.DataFrame) -> pd.Series:
    """Normalised name and site type of each row, as one key."""
    names = frame["name"].fillna("").astype(str).map(normalise_name)
    return names + "\x1f" + frame["site_type"].fillna("").astype(str)


def _near_pairs(
    old_key: np.ndarray, new_key: np.ndarray, old_free: np.ndarray, new_free: np.ndarray,
    old_xy: np.ndarray, new_xy: np.ndarray, max_distance_m: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs of free, located rows of the same key within ``max_distance_m``: (old rows, new rows, distances)."""
    old_rows = np.flatnonzero(old_free & ~np.isnan(old_xy[:, 0]))
    new_rows = np.flatnonzero(new_free & ~np.isnan(new_xy[:, 0]))
    if len(old_rows) == 0 or len(new_rows) == 0:
        return np.zeros(0, int), np.zeros(0, int), np.zeros(0)
    # The key as a third coordinate, keys further apart than the largest distance: only pairs of one key are near.
    spacing = 2 * max_distance_m + 1

    def tree(rows: np.ndarray, xy: np.ndarray, key: np.ndarray) -> cKDTree:
        return cKDTree(np.column_stack([xy[rows], key[rows] * spacing]))

    found = tree(old_rows, old_xy, old_key).sparse_distance_matrix(
        tree(new_rows, new_xy, new_key), max_distance_m, output_type="ndarray"
    )
    return old_rows[found["i"]], new_rows[found["j"]], found["v"].astype(float)


def _same_township_pairs(
    old: pd.DataFrame, new: pd.DataFrame, old_key: np.ndarray, new_key: np.ndarray,
    old_free: np.ndarray, new_free: np.ndarray, old_xy: np.ndarray, new_xy: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of free rows of the same key and township, where one of the two has no position."""
    frames = []
    for frame, key, free, xy in ((old, old_key, old_free, old_xy), (new, new_key, new_free, new_xy)):
        rows = np.flatnonzero(free)
        frames.append(pd.DataFrame({
            "row": rows, "key": key[rows], "township": frame["township_code"].to_numpy()[rows],
            "located": ~np.isnan(xy[rows, 0]),
        }))
    pairs = frames[0].merge(frames[1], on=["key", "township"], suffixes=("_old", "_new"))
    pairs = pairs[~(pairs["located_old"] & pairs["located_new"])]
    return pairs["row_old"].to_numpy(dtype=int), pairs["row_new"].to_numpy(dtype=int)


def _change_rows(
    old: gpd.GeoDataFrame, new: gpd.GeoDataFrame, partner: np.ndarray, method: np.ndarray,
    old_xy: np.ndarray, new_xy: np.ndarray, moved_m: float,
) -> pd.DataFrame:
    """The change table's rows: the old list in order (with partners), then the new list's other rows."""
    matched_new = np.zeros(len(new), bool)
    matched_new[partner[partner >= 0]] = True
    new_rest = np.flatnonzero(~matched_new)
    indices = {
        "old": np.concatenate([np.arange(len(old)), np.full(len(new_rest), -1)]),
        "new": np.concatenate([partner, new_rest]),
    }
    table = pd.DataFrame({"matched_by": np.concatenate([method, np.full(len(new_rest), "", dtype=object)])})
    for side, frame, xy in (("old", old, old_xy), ("new", new, new_xy)):
        picked = _side_values(frame, xy).reindex(indices[side]).reset_index(drop=True)  # -1: no row on this side
        picked["row"] = picked["row"].astype("Int64")
        picked.columns = [f"_{side}{c}" if c.startswith("_") else f"{side}_{c}" for c in picked.columns]
        table = pd.concat([table, picked], axis=1)
    distance = np.hypot(table["_old_x"] - table["_new_x"], table["_old_y"] - table["_new_y"])
    table["distance_m"] = distance.round(1)
    table["change"] = _changes(table, distance, moved_m)
    table["detail"] = _details(table)
    return table


def _side_values(frame: gpd.GeoDataFrame, xy: np.ndarray) -> pd.DataFrame:
    """What the change table shows of each row of one list, and what it computes from."""
    lon, lat = _lon_lat(frame)
    return pd.DataFrame({
        "row": frame["_row"].to_numpy(dtype="int64"),
        "id": frame["site_id"].astype(str).to_numpy(),
        "name": frame["name"].to_numpy(dtype=object),
        "type": frame["site_type"].to_numpy(dtype=object),
        "township_code": frame["township_code"].to_numpy(dtype=object),
        "lon": lon,
        "lat": lat,
        "_status": frame["join_status"].to_numpy(dtype=object),
        "_detail": frame["join_detail"].fillna("").astype(str).to_numpy(),
        "_x": xy[:, 0],
        "_y": xy[:, 1],
    })


def _lon_lat(frame: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 longitude and latitude of each row (NaN without a position)."""
    lon, lat = np.full(len(frame), np.nan), np.full(len(frame), np.nan)
    located = (frame.geometry.notna() & ~frame.geometry.is_empty).to_numpy()
    if located.any():
        points = frame.geometry[located]
        if frame.crs is not None:
            points = points.to_crs("EPSG:4326")
        lon[located], lat[located] = points.x.round(7).to_numpy(), points.y.round(7).to_numpy()
    return lon, lat


def _changes(table: pd.DataFrame, distance: pd.Series, moved_m: float) -> np.ndarray:
    """The change of each row of the table."""
    usable_old = table["_old_status"].isin(USABLE).to_numpy()
    usable_new = table["_new_status"].isin(USABLE).to_numpy()
    has_old, has_new = table["_old_status"].notna().to_numpy(), table["_new_status"].notna().to_numpy()
    other_township = (table["old_township_code"] != table["new_township_code"]).to_numpy()
    moved = np.where(distance.notna().to_numpy(), distance.to_numpy() > moved_m, other_township)
    return np.select(
        [
            (has_old & ~usable_old) | (has_new & ~usable_new),
            has_old & has_new & moved,
            has_old & has_new,
            has_old,
        ],
        [LEFT_OUT, MOVED, UNCHANGED, CLOSED],
        default=OPENED,
    )


def _details(table: pd.DataFrame) -> list[str]:
    """Why a row was left out (its status and message), else empty."""
    on_old = table["_old_status"].notna()
    statuses = table["_old_status"].where(on_old, table["_new_status"])
    messages = table["_old_detail"].where(on_old, table["_new_detail"])
    return [
        (f"{status}: {message}" if message else str(status)) if change == LEFT_OUT else ""
        for change, status, message in zip(table["change"], statuses, messages)
    ]
