"""Planning problems as sparse matrices: which candidate sites reach which villages, and a plan's result."""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import connected_components

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


def coverage_problem(
    villages: gpd.GeoDataFrame,
    existing_sites: gpd.GeoDataFrame,
    candidates: gpd.GeoDataFrame,
    *,
    radius_m: float,
    weight: np.ndarray | None = None,
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
        Coverage radius in metres.
    weight
        Weight per village (population); ``None`` counts villages.
    """
    metric = villages.estimate_utm_crs()
    village_xy = villages.geometry.to_crs(metric).to_numpy()
    weights = np.ones(len(villages)) if weight is None else np.nan_to_num(np.asarray(weight, dtype=float))
    already = np.zeros(len(villages), dtype=bool)
    if len(existing_sites):
        sites_xy = existing_sites.geometry.to_crs(metric).to_numpy()
        hit = shapely.STRtree(sites_xy).query(village_xy, predicate="dwithin", distance=radius_m)[0]
        already[np.unique(hit)] = True

    candidate_xy = candidates.geometry.to_crs(metric).to_numpy()
    open_villages = np.flatnonzero(~already)
    village_pos, candidate_pos = shapely.STRtree(candidate_xy).query(
        village_xy[open_villages], predicate="dwithin", distance=radius_m
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
