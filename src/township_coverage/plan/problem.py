"""Planning problems as sparse matrices: which candidate sites reach which villages, and a plan's result."""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import connected_components

from township_coverage.plan.network import RoadNetwork

#: Above this many village-candidate pairs, ``method="auto"`` uses the heuristic.
EXACT_PAIR_LIMIT = 3_000_000
DEFAULT_TIME_LIMIT_S = 120.0


class PlanningError(ValueError):
    """A planning request that cannot be met (e.g. an unreachable target)."""


@dataclass(frozen=True)
class CoverageProblem:
    """A maximal covering instance as a sparse matrix.

    Attributes
    ----------
    covers
        CSR matrix, candidates x demand villages: 1 where the candidate lies
        within the radius of the village.
    weights
        Weight of each demand village (population, or 1).
    demand_index
        Row labels of the demand villages in the input village table.
    candidate_index
        Row labels of the candidates in the input candidate table.
    candidate_group
        Township code of each candidate (for per-township limits).
    total_weight
        Weight of all villages.
    covered_weight
        Weight already covered by existing sites.
    """

    covers: sp.csr_matrix
    weights: np.ndarray
    demand_index: np.ndarray
    candidate_index: np.ndarray
    candidate_group: np.ndarray
    total_weight: float
    covered_weight: float

    @property
    def coverable_weight(self) -> float:
        """Weight that some candidate can still cover."""
        reached = np.asarray(self.covers.sum(axis=0)).ravel() > 0
        return float(self.weights[reached].sum())

    def covered_by(self, chosen: np.ndarray) -> float:
        """Newly covered weight when ``chosen`` (candidate positions) open."""
        if len(chosen) == 0:
            return 0.0
        hit = np.asarray(self.covers[chosen].sum(axis=0)).ravel() > 0
        return float(self.weights[hit].sum())

    def components(self) -> tuple[int, np.ndarray]:
        """Connected components of the candidate-village relation (candidate labels)."""
        n_candidates = self.covers.shape[0]
        graph = sp.bmat([[None, self.covers], [self.covers.T, None]], format="csr")
        count, labels = connected_components(graph, directed=False)
        return count, labels[:n_candidates]


@dataclass(frozen=True)
class PlanResult:
    """Chosen candidates and how good the choice is.

    Attributes
    ----------
    chosen
        Candidate positions, in opening order (each adds the most of what is
        left, given those before it).
    gains
        Weight newly covered by each chosen candidate, in that order.
    objective
        Newly covered weight of the whole choice (maximise) or the number of
        rooms (minimise).
    bound
        Proven bound on the best objective (LP or MIP dual bound).
    method
        ``"exact"`` or ``"heuristic"``.
    status
        ``"optimal"``, ``"time limit"`` or ``"heuristic"``.
    seconds
        Solve time.
    """

    chosen: np.ndarray
    gains: np.ndarray
    objective: float
    bound: float
    method: str
    status: str
    seconds: float
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def gap(self) -> float:
        """Relative distance to the bound (0 when proven optimal)."""
        if self.bound == 0:
            return 0.0
        return abs(self.bound - self.objective) / abs(self.bound)


def distances_within(
    origins: gpd.GeoSeries, targets: gpd.GeoSeries, *, limit_m: float, roads: RoadNetwork | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (origin position, target position, distance in metres) at most ``limit_m`` apart.

    Straight lines in the UTM zone of the origins (a spatial index finds the
    pairs), or along ``roads`` in the network's CRS. Positions count from 0
    in ``origins`` and ``targets`` (points, no missing ones); pairs are
    sorted by origin, then target.
    """
    if len(origins) == 0 or len(targets) == 0:
        return np.zeros(0, dtype=int), np.zeros(0, dtype=int), np.zeros(0)
    crs = roads.crs if roads is not None else origins.estimate_utm_crs()
    origin_xy = shapely.get_coordinates(origins.to_crs(crs).to_numpy())
    target_xy = shapely.get_coordinates(targets.to_crs(crs).to_numpy())
    if roads is not None:
        return roads.pairs_within(origin_xy, target_xy, limit_m=limit_m)
    origin, target = shapely.STRtree(shapely.points(target_xy)).query(
        shapely.points(origin_xy), predicate="dwithin", distance=limit_m
    )
    order = np.lexsort((target, origin))
    origin, target = origin[order], target[order]
    return origin, target, np.hypot(*(origin_xy[origin] - target_xy[target]).T)


def coverage_problem(
    villages: gpd.GeoDataFrame,
    existing_sites: gpd.GeoDataFrame,
    candidates: gpd.GeoDataFrame,
    *,
    radius_m: float,
    weight: np.ndarray | None = None,
    roads: RoadNetwork | None = None,
) -> CoverageProblem:
    """Build the sparse covering instance from layers.

    Parameters
    ----------
    villages
        Demand points with a ``township_code``.
    existing_sites
        Rooms and stations that stay open (their coverage is counted as done).
    candidates
        Possible new room sites with a ``township_code``.
    radius_m
        Coverage radius in metres: straight, or along ``roads`` when given.
    weight
        Weight per village (population); ``None`` counts villages.
    roads
        A road network: distances along it (see :func:`distances_within`).
    """
    weights = np.ones(len(villages)) if weight is None else np.nan_to_num(np.asarray(weight, dtype=float))
    already = np.zeros(len(villages), dtype=bool)
    if len(existing_sites):
        reached, _, _ = distances_within(villages.geometry, existing_sites.geometry, limit_m=radius_m, roads=roads)
        already[reached] = True

    open_villages = np.flatnonzero(~already)
    village_pos, candidate_pos, _ = distances_within(
        villages.geometry.iloc[open_villages], candidates.geometry, limit_m=radius_m, roads=roads
    )
    useful_demand = np.unique(village_pos)
    useful_candidates = np.unique(candidate_pos)
    rows = np.searchsorted(useful_candidates, candidate_pos)
    cols = np.searchsorted(useful_demand, village_pos)
    covers = sp.csr_matrix(
        (np.ones(len(rows), dtype=np.float64), (rows, cols)),
        shape=(len(useful_candidates), len(useful_demand)),
    )
    demand = open_villages[useful_demand]
    return CoverageProblem(
        covers=covers,
        weights=weights[demand],
        demand_index=villages.index.to_numpy()[demand],
        candidate_index=candidates.index.to_numpy()[useful_candidates],
        candidate_group=candidates["township_code"].to_numpy()[useful_candidates],
        total_weight=float(weights.sum()),
        covered_weight=float(weights[already].sum()),
    )


def opening_order(problem: CoverageProblem, chosen: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Order ``chosen`` so that each adds the most new weight given those before it (ties: lowest position).

    Lazy: gains only shrink, so an entry is recomputed only when it comes
    to the top of the heap; time grows with the rooms' villages, not with
    the square of the number of rooms.
    """
    covers = problem.covers
    covered = np.zeros(covers.shape[1], dtype=bool)

    def gain(j: int) -> float:
        cols = covers.indices[covers.indptr[j] : covers.indptr[j + 1]]
        return float(problem.weights[cols[~covered[cols]]].sum())

    heap = [(-gain(int(j)), int(j)) for j in chosen]
    heapq.heapify(heap)
    order, gains = [], []
    while heap:
        _, j = heapq.heappop(heap)
        entry = (-gain(j), j)
        if heap and entry > heap[0]:  # another may add more (or as much, at a lower position)
            heapq.heappush(heap, entry)
            continue
        covered[covers.indices[covers.indptr[j] : covers.indptr[j + 1]]] = True
        order.append(j)
        gains.append(-entry[0])
    return np.array(order, dtype=int), np.array(gains, dtype=float)


def distance_pairs(
    villages_xy: np.ndarray, sites_xy: np.ndarray, limit: np.ndarray | float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Village-site pairs at most ``limit`` metres apart, straight line in a metric CRS.

    The one place the distance objectives measure distances: a road-network
    measure with the same signature can take its place.

    Parameters
    ----------
    villages_xy, sites_xy
        Coordinates in metres, shape (n, 2) and (m, 2).
    limit
        Largest distance kept, one for all villages or one per village
        (``inf`` keeps every site).

    Returns
    -------
    village_pos, site_pos, metres
        One entry per pair: positions in the two arrays and the distance.
    """
    villages_xy, sites_xy = np.asarray(villages_xy, dtype=float), np.asarray(sites_xy, dtype=float)
    if len(villages_xy) == 0 or len(sites_xy) == 0:
        empty = np.array([], dtype=np.intp)
        return empty, empty, np.array([], dtype=float)
    extent = np.vstack([villages_xy, sites_xy])
    everything = float(np.hypot(*(extent.max(axis=0) - extent.min(axis=0)))) + 1.0
    limit = np.minimum(np.broadcast_to(np.asarray(limit, dtype=float), len(villages_xy)), everything)
    tree = shapely.STRtree(shapely.points(sites_xy))
    village_pos, site_pos = tree.query(shapely.points(villages_xy), predicate="dwithin", distance=limit)
    metres = np.hypot(*(villages_xy[village_pos] - sites_xy[site_pos]).T)
    return village_pos, site_pos, metres
