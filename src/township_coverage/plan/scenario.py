"""What-if scenarios: the figures of a chosen set of rooms, and scenario files read back.

A scenario is a list of villages that get a new room, in the order to open
them (the plan page's editor exports one as CSV; ``plan --fixed FILE``
reads it back). :func:`scenario_figures` says what such a list covers,
straight from distances between villages and sites (a k-d tree in the
villages' UTM zone), without the sparse relation the solver and the
page's editor use: the two computations check each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from township_coverage.errors import InputDataError
from township_coverage.inputs.columns import header_key
from township_coverage.inputs.config import LayerConfig
from township_coverage.inputs.io import read_table
from township_coverage.inputs.validate import missing_columns
from township_coverage.plan.problem import RoadNetwork, distances_within

#: Headers of a scenario file, in the language of ``--lang``; ``order`` is optional when read.
SCENARIO_HEADERS = {
    "zh": {"village_code": "村代码", "village_name": "村（社区）", "township_name": "乡镇（街道）",
           "county_name": "县区", "order": "开设顺序"},
    "en": {"village_code": "village_code", "village_name": "village_name", "township_name": "township_name",
           "county_name": "county_name", "order": "order"},
}
_ORDER_KEYS = {header_key(h) for h in ("开设顺序", "顺序", "order", "opening order")}


@dataclass(frozen=True)
class ScenarioFigures:
    """What a set of new rooms covers, beside the existing sites.

    Attributes
    ----------
    rooms
        Village codes of the new rooms, in opening order.
    gains
        Weight each room newly covers, given the existing sites and the
        rooms before it.
    total_weight
        Weight of all villages (people, or villages).
    covered_before, covered_after
        Weight within the radius of an existing site; of a site or a new room.
    villages_newly
        Villages within the radius of a new room and of no existing site.
    townships
        Per township code: ``weight``, ``covered_before``, ``covered_after``,
        ``rooms`` (new rooms in it), ``county_name``.
    counties
        The same summed per county name.
    """

    rooms: tuple[str, ...]
    gains: np.ndarray
    total_weight: float
    covered_before: float
    covered_after: float
    villages_newly: int
    townships: pd.DataFrame
    counties: pd.DataFrame

    @property
    def newly_covered(self) -> float:
        """Weight the new rooms newly cover."""
        return self.covered_after - self.covered_before

    @property
    def share_before(self) -> float:
        """Covered share without the new rooms."""
        return self.covered_before / self.total_weight if self.total_weight else float("nan")

    @property
    def share_after(self) -> float:
        """Covered share with the new rooms."""
        return self.covered_after / self.total_weight if self.total_weight else float("nan")


def scenario_figures(
    villages: gpd.GeoDataFrame,
    existing_sites: gpd.GeoDataFrame,
    rooms: Sequence[str],
    *,
    radius_km: float,
    townships: pd.DataFrame,
    weight: np.ndarray | None = None,
    roads: RoadNetwork | None = None,
) -> ScenarioFigures:
    """The figures of new rooms in the villages ``rooms`` (village codes, in opening order).

    Parameters
    ----------
    villages
        Villages with a position, ``village_code`` and ``township_code``.
    existing_sites
        Rooms and stations that cover already.
    rooms
        Village codes of the new rooms, in opening order.
    radius_km
        Coverage radius.
    townships
        ``township_code`` and ``county_name`` of every township.
    weight
        Weight per village (population); ``None`` counts villages.
    roads
        A road network: distances along it (found with
        :func:`~township_coverage.plan.problem.distances_within`); straight
        lines otherwise, found here with a k-d tree.

    Raises
    ------
    ValueError
        If a room's village code is not among ``villages``, or repeats.
    """
    rooms = [str(code) for code in rooms]
    repeated = sorted({code for code in rooms if rooms.count(code) > 1})
    if repeated:
        raise ValueError(f"rooms: village code(s) {', '.join(repeated)} occur more than once")
    position = pd.Index(villages["village_code"].astype(str))
    at = position.get_indexer(rooms)
    if (at < 0).any():
        raise ValueError(f"rooms: no village has the code(s) {', '.join(np.asarray(rooms)[at < 0])}")
    weights = np.ones(len(villages)) if weight is None else np.nan_to_num(np.asarray(weight, dtype=float))
    before = np.zeros(len(villages), dtype=bool)
    for near in _villages_near(villages, existing_sites.geometry, radius_km * 1000, roads):
        before[near] = True
    after, gains = before.copy(), []
    for near in _villages_near(villages, villages.geometry.iloc[at], radius_km * 1000, roads):
        near = np.asarray(near, dtype=int)
        fresh = near[~after[near]]
        gains.append(float(weights[fresh].sum()))
        after[fresh] = True
    frame = pd.DataFrame({
        "township_code": villages["township_code"].astype(str).to_numpy(),
        "weight": weights,
        "covered_before": np.where(before, weights, 0.0),
        "covered_after": np.where(after, weights, 0.0),
    })
    per_township = frame.groupby("township_code")[["weight", "covered_before", "covered_after"]].sum()
    codes = pd.Index(townships["township_code"].astype(str), name="township_code")
    per_township = per_township.reindex(codes, fill_value=0.0)
    per_township["rooms"] = pd.Series(villages["township_code"].astype(str).to_numpy()[at]).value_counts().reindex(
        codes, fill_value=0).to_numpy()
    per_township["county_name"] = townships["county_name"].astype(str).to_numpy()
    per_county = per_township.groupby("county_name")[["weight", "covered_before", "covered_after", "rooms"]].sum()
    return ScenarioFigures(
        rooms=tuple(rooms), gains=np.array(gains, dtype=float), total_weight=float(weights.sum()),
        covered_before=float(weights[before].sum()), covered_after=float(weights[after].sum()),
        villages_newly=int((after & ~before).sum()), townships=per_township, counties=per_county,
    )


def _villages_near(villages: gpd.GeoDataFrame, points: gpd.GeoSeries, radius_m: float, roads) -> list[np.ndarray]:
    """For each of ``points``, the positions of the villages within ``radius_m`` (along ``roads`` when given)."""
    if not len(points):
        return []
    if roads is not None:
        village, point, _ = distances_within(villages.geometry, points, limit_m=radius_m, roads=roads)
        order = np.argsort(point, kind="stable")
        return np.split(village[order], np.searchsorted(point[order], np.arange(1, len(points))))
    metric = villages.estimate_utm_crs()
    xy = shapely.get_coordinates(villages.geometry.to_crs(metric).to_numpy())
    at = shapely.get_coordinates(points.to_crs(metric).to_numpy())
    return [np.asarray(near, dtype=int) for near in cKDTree(xy).query_ball_point(at, radius_m)]


def read_scenario(path: Path, villages: pd.DataFrame) -> list[str]:
    """The village codes of a scenario file (CSV/XLSX), in opening order.

    The file has a ``村代码`` / ``village_code`` column; with a ``开设顺序`` /
    ``order`` column, rows are taken in that order, else in file order.
    Other columns (names, township, county) are for people and are not read.

    Raises
    ------
    InputDataError
        For a missing column, an unknown or repeated village code, or an
        order that is not a whole number; every problem at once.
    """
    table, source = read_table(LayerConfig(path=Path(path).resolve()), layer_name="fixed", min_known_headers=1)
    if "village_code" not in table:
        raise InputDataError(missing_columns(table.columns, ("village_code",), source))
    codes = table["village_code"].fillna("").str.strip()
    known, seen, problems = set(villages["village_code"].astype(str)), set(), []
    for row, code in zip(table["_row"], codes):
        if code not in known:
            problems.append(source.problem(int(row), "village_code", code, "no village has this code"))
        elif code in seen:
            problems.append(source.problem(int(row), "village_code", code, "this village is listed twice"))
        seen.add(code)
    order_column = next((c for c in table.columns if header_key(c) in _ORDER_KEYS), None)
    order = pd.Series(np.arange(len(table)), dtype=float)
    if order_column is not None:
        order = pd.to_numeric(table[order_column].str.strip(), errors="coerce")
        for row, text, number in zip(table["_row"], table[order_column], order):
            if not (pd.notna(number) and float(number).is_integer()):
                problems.append(source.problem(int(row), order_column, text, "a whole number is required"))
    if problems:
        raise InputDataError(problems)
    return codes.iloc[np.argsort(order.to_numpy(), kind="stable")].tolist()
