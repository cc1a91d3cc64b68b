"""Distance objectives: the population-weighted mean distance to the nearest site (p-median) and the worst one (p-center).

Existing rooms and stations stay open, so each village only cares about
candidates nearer than its nearest existing site: the instance is the sparse
list of those village-candidate pairs (:func:`distance_problem`), measured by
one swappable function (:func:`township_coverage.plan.problem.distance_pairs`,
straight line by default).

- :func:`minimize_distance` (p-median): exactly by a mixed-integer programme
  on the pairs (HiGHS), or by greedy additions and best-improvement swaps
  (Teitz and Bart's interchange, evaluated as Resende and Werneck do)
  reported next to a Lagrangian bound (the LP bound, approached by
  subgradient steps).
- :func:`minimize_worst_distance` (p-center): the smallest distance ``T`` such
  that at most K rooms bring every village within ``T``, found by bisection
  over the distinct distances with a set-cover test at each (a MIP when
  exact; greedy cover for the heuristic, with the LP test giving the bound).
  The rooms the cover leaves over go where they lower the mean distance most.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import scipy.sparse as sp

from township_coverage.plan.problem import DEFAULT_TIME_LIMIT_S, PlanningError, PlanResult, distance_pairs

#: Above this many village-candidate pairs, ``method="auto"`` uses the heuristic
#: (p-median: Linyi's 29,000 pairs take 2 s exactly, 330,000 pairs of 50,000 villages 2 minutes;
#: p-center: the latter take 5 s).
DISTANCE_PAIR_LIMIT = 100_000
WORST_DISTANCE_PAIR_LIMIT = 1_000_000
#: The ``objective`` values :func:`solve_distance_objective` accepts.
DISTANCE_OBJECTIVES = ("distance", "worst-distance")

PairsFunction = Callable[[np.ndarray, np.ndarray, "np.ndarray | float"], tuple[np.ndarray, np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class DistanceProblem:
    """Villages, their distance to the nearest existing site, and the candidates nearer than it.

    Attributes
    ----------
    weights
        Weight of every village (population, or 1).
    current
        Metres from each village to its nearest existing site.
    pair_village, pair_candidate, pair_metres
        One entry per village-candidate pair with the candidate nearer than
        the village's nearest existing site.
    village_index
        Row labels of the villages in the input village table.
    candidate_index
        Row labels of the candidates (those in some pair) in the candidate table.
    candidate_group
        Township code of each candidate (for per-township limits).
    """

    weights: np.ndarray
    current: np.ndarray
    pair_village: np.ndarray
    pair_candidate: np.ndarray
    pair_metres: np.ndarray
    village_index: np.ndarray
    candidate_index: np.ndarray
    candidate_group: np.ndarray

    @property
    def n_candidates(self) -> int:
        """Number of candidates that bring some village nearer."""
        return len(self.candidate_index)

    def distances(self, chosen: np.ndarray) -> np.ndarray:
        """Metres from each village to its nearest site once ``chosen`` (candidate positions) open."""
        result = self.current.copy()
        open_pair = np.isin(self.pair_candidate, chosen)
        np.minimum.at(result, self.pair_village[open_pair], self.pair_metres[open_pair])
        return result

    def mean_km(self, distances: np.ndarray) -> float:
        """Weighted mean of ``distances`` (metres), in km."""
        total = self.weights.sum()
        return float((self.weights * distances).sum() / total / 1000) if total > 0 else float(distances.mean() / 1000)

    def savings(self) -> np.ndarray:
        """Weighted metres each pair saves against the village's existing site."""
        return self.weights[self.pair_village] * (self.current[self.pair_village] - self.pair_metres)


def distance_problem(
    villages: gpd.GeoDataFrame,
    existing_sites: gpd.GeoDataFrame,
    candidates: gpd.GeoDataFrame,
    *,
    weight: np.ndarray | None = None,
    pairs: PairsFunction = distance_pairs,
) -> DistanceProblem:
    """Build the sparse distance instance from layers (measured in the villages' UTM zone).

    Parameters
    ----------
    villages
        Demand points.
    existing_sites
        Rooms and stations that stay open.
    candidates
        Possible new room sites with a ``township_code``.
    weight
        Weight per village (population); ``None`` counts villages.
    pairs
        The distance measure (:func:`~township_coverage.plan.problem.distance_pairs`
        or one with its signature); it gets coordinates in metres in the
        villages' UTM zone (``villages.estimate_utm_crs()``).

    Raises
    ------
    PlanningError
        If there is no existing site to measure from, or a village reaches none.
    """
    if len(existing_sites) == 0:
        raise PlanningError("the distance objectives measure from the existing rooms and stations, and there are none")
    metric = villages.estimate_utm_crs()
    village_xy = _xy(villages.to_crs(metric))
    current = nearest_distances(village_xy, _xy(existing_sites.to_crs(metric)), pairs)
    if not np.isfinite(current).all():
        raise PlanningError(f"{int((~np.isfinite(current)).sum())} villages reach no existing room or station")
    village_pos, candidate_pos, metres = pairs(village_xy, _xy(candidates.to_crs(metric)), current)
    nearer = metres < current[village_pos]
    village_pos, candidate_pos, metres = village_pos[nearer], candidate_pos[nearer], metres[nearer]
    useful, candidate_pos = np.unique(candidate_pos, return_inverse=True)
    order = np.lexsort((metres, village_pos))
    weights = np.ones(len(villages)) if weight is None else np.nan_to_num(np.asarray(weight, dtype=float))
    return DistanceProblem(
        weights=weights, current=current,
        pair_village=village_pos[order], pair_candidate=candidate_pos[order].astype(np.intp), pair_metres=metres[order],
        village_index=villages.index.to_numpy(),
        candidate_index=candidates.index.to_numpy()[useful],
        candidate_group=candidates["township_code"].to_numpy()[useful],
    )


def nearest_distances(villages_xy: np.ndarray, sites_xy: np.ndarray, pairs: PairsFunction = distance_pairs) -> np.ndarray:
    """Metres from each village to its nearest site (``inf`` if it reaches none), with ``pairs`` in widening rings."""
    nearest = np.full(len(villages_xy), np.inf)
    if len(sites_xy) == 0:
        return nearest
    extent = np.vstack([villages_xy, sites_xy])
    # Beyond ten times the extent's diagonal no measure along the ground finds a site.
    farthest = 10 * float(np.hypot(*(extent.max(axis=0) - extent.min(axis=0)))) + 1.0
    limit, left = 2000.0, np.arange(len(villages_xy))
    while len(left):
        village_pos, _, metres = pairs(villages_xy[left], sites_xy, limit)
        np.minimum.at(nearest, left[village_pos], metres)
        left = left[~np.isfinite(nearest[left])]
        if limit >= farthest:
            break
        limit *= 4
    return nearest


def _xy(frame: gpd.GeoDataFrame) -> np.ndarray:
    return np.column_stack([frame.geometry.x.to_numpy(), frame.geometry.y.to_numpy()])


def solve_distance_objective(
    problem: DistanceProblem,
    k: int,
    objective: str,
    *,
    method: str = "auto",
    max_per_group: int | None = None,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
) -> PlanResult:
    """:func:`minimize_distance` for ``"distance"``, :func:`minimize_worst_distance` for ``"worst-distance"``."""
    if objective not in DISTANCE_OBJECTIVES:
        raise PlanningError(f"objective={objective!r}; allowed: {', '.join(DISTANCE_OBJECTIVES)}")
    solve = minimize_distance if objective == "distance" else minimize_worst_distance
    return solve(problem, k, method=method, max_per_group=max_per_group, time_limit_s=time_limit_s)


def _checked_method(problem: DistanceProblem, k: int, method: str, pair_limit: int) -> str:
    if k < 0:
        raise PlanningError(f"the number of new rooms must be >= 0, not {k}")
    if method not in {"auto", "exact", "heuristic"}:
        raise PlanningError(f"method={method!r}; allowed: auto, exact, heuristic")
    if method == "auto":
        return "exact" if len(problem.pair_metres) <= pair_limit else "heuristic"
    return method


# --- p-median ------------------------------------------------------------------


def minimize_distance(
    problem: DistanceProblem,
    k: int,
    *,
    method: str = "auto",
    max_per_group: int | None = None,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
) -> PlanResult:
    """Choose up to ``k`` candidates that minimise the weighted mean distance to the nearest site.

    ``objective`` and ``bound`` of the result are that mean in km (after the
    plan, and the proven lower bound); ``gains`` the weighted metres each
    room saves, in opening order. Rooms that save nothing are not opened.
    """
    method = _checked_method(problem, k, method, DISTANCE_PAIR_LIMIT)
    start = time.perf_counter()
    savings = problem.savings()
    total = float((problem.weights * problem.current).sum())
    if method == "exact":
        chosen, bound_saving, status = _solve_p_median(problem, savings, k, max_per_group, time_limit_s)
    else:
        chosen = _swap(problem, _greedy(problem, k, max_per_group, problem.current), max_per_group)
        bound_saving, status = _lagrangian_bound(problem, savings, k, max_per_group, chosen), "heuristic"
    chosen = _without_useless(problem, chosen)
    ordered, gains = _opening_order(problem, chosen)
    after = problem.distances(ordered)
    weight = problem.weights.sum() if problem.weights.sum() > 0 else len(after)
    bound = max(total - bound_saving, 0.0) / weight / 1000
    return PlanResult(ordered, gains, problem.mean_km(after), min(bound, problem.mean_km(after)), method, status,
                      time.perf_counter() - start)


def _greedy(problem, k, max_per_group, nearest, chosen=()) -> np.ndarray:
    """Add, one at a time, the candidate that lowers the weighted distance most (given ``nearest``)."""
    nearest, chosen = nearest.copy(), list(chosen)
    per_group = _group_counts(problem, chosen)
    pv, pc, pm, w = problem.pair_village, problem.pair_candidate, problem.pair_metres, problem.weights[problem.pair_village]
    while len(chosen) < k:
        gain = np.bincount(pc, weights=w * np.maximum(nearest[pv] - pm, 0.0), minlength=problem.n_candidates)
        gain[chosen] = 0.0
        if max_per_group is not None:
            gain[_full_groups(problem, per_group, max_per_group)] = 0.0
        best = int(np.argmax(gain)) if len(gain) else 0
        if len(gain) == 0 or gain[best] <= 0:
            break
        chosen.append(best)
        per_group[problem.candidate_group[best]] = per_group.get(problem.candidate_group[best], 0) + 1
        mine = pc == best
        np.minimum.at(nearest, pv[mine], pm[mine])
    return np.array(sorted(chosen), dtype=int)


def _nearest_two(problem: DistanceProblem, chosen: np.ndarray):
    """Per village: the nearest and second-nearest distance among the existing sites and ``chosen``, and who is nearest (-1: existing)."""
    n = len(problem.current)
    first, second, who = problem.current.copy(), problem.current.copy(), np.full(n, -1)
    mine = np.isin(problem.pair_candidate, chosen)
    pv, pc, pm = problem.pair_village[mine], problem.pair_candidate[mine], problem.pair_metres[mine]
    # Pairs are sorted by village, then distance: each village's first pair is its nearest room.
    head = np.r_[True, pv[1:] != pv[:-1]]
    first[pv[head]], who[pv[head]] = pm[head], pc[head]
    runner = np.r_[False, head[:-1]] & ~head
    second[pv[runner]] = pm[runner]
    return first, second, who


def _swap(problem, chosen, max_per_group, rounds: int = 10_000) -> np.ndarray:
    """Best-improvement interchange: close one room and open another while the weighted distance falls."""
    chosen = np.array(sorted(map(int, chosen)), dtype=int)
    if len(chosen) == 0:
        return chosen
    pv, pc, pm = problem.pair_village, problem.pair_candidate, problem.pair_metres
    w = problem.weights
    m = problem.n_candidates
    groups = problem.candidate_group
    for _ in range(rounds):
        first, second, who = _nearest_two(problem, chosen)
        gain = np.bincount(pc, weights=w[pv] * np.maximum(first[pv] - pm, 0.0), minlength=m)
        served = who >= 0
        loss = np.bincount(who[served], weights=(w * (second - first))[served], minlength=m)[chosen]
        is_open = np.zeros(m, dtype=bool)
        is_open[chosen] = True
        gain[is_open] = -np.inf
        # Extra: villages whose nearest room closes and whose new candidate beats their second-nearest.
        hit = (who[pv] >= 0) & (pm < second[pv]) & ~is_open[pc]
        slot = np.searchsorted(chosen, who[pv[hit]])
        extra = sp.coo_matrix(
            (w[pv[hit]] * (second[pv[hit]] - np.maximum(pm[hit], first[pv[hit]])), (pc[hit], slot)),
            shape=(m, len(chosen)),
        ).tocsr()
        extra.sum_duplicates()
        best_profit, best_pair = _best_plain_swap(problem, gain, loss, chosen, max_per_group)
        rows = np.repeat(np.arange(m), np.diff(extra.indptr))
        profit = gain[rows] - loss[extra.indices] + extra.data
        if max_per_group is not None and len(profit):
            counts = _group_counts(problem, chosen)
            full = np.array([counts.get(g, 0) >= max_per_group for g in groups[rows]], dtype=bool)
            profit[full & (groups[rows] != groups[chosen[extra.indices]])] = -np.inf
        if len(profit) and profit.max() > best_profit:
            top = int(np.argmax(profit))
            best_profit, best_pair = float(profit[top]), (int(rows[top]), int(extra.indices[top]))
        if best_pair is None or best_profit <= 1e-9 * max(1.0, float((w * first).sum())):
            break
        new, out = best_pair
        chosen = np.array(sorted([*np.delete(chosen, out), new]), dtype=int)
    return chosen


def _best_plain_swap(problem, gain, loss, chosen, max_per_group):
    """The best swap counting only gain(in) - loss(out) (the extra term is >= 0): value and (candidate, slot)."""
    if max_per_group is None:
        new, out = int(np.argmax(gain)), int(np.argmin(loss))
        return (float(gain[new] - loss[out]), (new, out)) if np.isfinite(gain[new]) else (-np.inf, None)
    counts = _group_counts(problem, chosen)
    groups = problem.candidate_group
    full = np.array([counts.get(g, 0) >= max_per_group for g in groups], dtype=bool)
    best, pair = -np.inf, None
    free_gain = np.where(full, -np.inf, gain)
    if np.isfinite(free_gain.max()):
        new, out = int(np.argmax(free_gain)), int(np.argmin(loss))
        best, pair = float(free_gain[new] - loss[out]), (new, out)
    for group in {groups[j] for j in chosen if counts[groups[j]] >= max_per_group}:
        inside = np.flatnonzero((groups == group) & np.isfinite(gain))
        slots = np.flatnonzero(groups[chosen] == group)
        if len(inside):
            new, out = int(inside[np.argmax(gain[inside])]), int(slots[np.argmin(loss[slots])])
            if gain[new] - loss[out] > best:
                best, pair = float(gain[new] - loss[out]), (new, out)
    return best, pair


def _lagrangian_bound(problem, savings, k, max_per_group, chosen, iterations: int = 1000) -> float:
    """Upper bound on the weighted metres any ``k`` rooms can save (relaxing "one site per village").

    L(lambda) = sum(lambda) + best k of sum_i max(0, s_ij - lambda_i) is an
    upper bound for every lambda >= 0; projected subgradient steps (Polyak's
    step towards the heuristic's value, halved after 30 steps without
    progress) lower it towards the LP bound.
    """
    pv, pc = problem.pair_village, problem.pair_candidate
    n, m = len(problem.current), problem.n_candidates
    if m == 0 or k == 0:
        return 0.0
    # Start from what each village saves in the heuristic's plan.
    lam = problem.weights * (problem.current - problem.distances(chosen))
    achieved = float(lam.sum())
    best, step, since = np.inf, 2.0, 0
    for _ in range(iterations):
        reduced = np.maximum(savings - lam[pv], 0.0)
        rho = np.bincount(pc, weights=reduced, minlength=m)
        picked = _top_within_groups(problem, rho, k, max_per_group)
        value = float(lam.sum() + rho[picked].sum())
        if value < best - 1e-9 * max(value, 1.0):
            best, since = value, 0
        else:
            since += 1
            if since >= 30:
                step, since = step / 2, 0
        if best - achieved <= 1e-7 * max(best, 1.0) or step < 0.005:
            break
        is_picked = np.zeros(m, dtype=bool)
        is_picked[picked] = True
        served = np.bincount(pv, weights=(is_picked[pc] & (savings > lam[pv])).astype(float), minlength=n)
        subgradient = 1.0 - served
        subgradient[(lam <= 0) & (subgradient > 0)] = 0.0  # lambda stays >= 0
        norm = float((subgradient**2).sum())
        if norm == 0:
            break
        lam = np.maximum(lam - step * (value - achieved) / norm * subgradient, 0.0)
    return max(best, achieved)


def _top_within_groups(problem, values, k, max_per_group) -> np.ndarray:
    """The ``k`` largest positive ``values``, at most ``max_per_group`` per group (greedy is optimal on this matroid)."""
    if max_per_group is None:
        top = np.argpartition(-values, k)[:k] if k < len(values) else np.arange(len(values))
        return top[values[top] > 0]
    order = np.argsort(-values, kind="stable")
    order = order[values[order] > 0]
    picked, counts = [], {}
    for j in order:
        group = problem.candidate_group[j]
        if counts.get(group, 0) < max_per_group:
            picked.append(j)
            counts[group] = counts.get(group, 0) + 1
            if len(picked) == k:
                break
    return np.array(picked, dtype=int)


def _solve_p_median(problem, savings, k, max_per_group, time_limit_s):
    """The p-median MIP on the pairs: max sum s_p y_p, sum_p∈i y_p <= 1, y_p <= x_j(p), sum x <= k."""
    import highspy

    from township_coverage.plan.coverage import _add_group_rows, _new_highs

    pv, pc = problem.pair_village, problem.pair_candidate
    m, n_pairs = problem.n_candidates, len(pv)
    if m == 0 or k == 0:
        return np.array([], dtype=int), 0.0, "optimal"
    villages, village_row = np.unique(pv, return_inverse=True)
    n_rows = len(villages) + n_pairs + 1
    pair_rows = len(villages) + np.arange(n_pairs)
    budget = n_rows - 1
    # Columns: x_j (m), then y_p (n_pairs).
    rows = np.concatenate([pair_rows, np.full(m, budget), village_row, pair_rows])
    cols = np.concatenate([pc, np.arange(m), m + np.arange(n_pairs), m + np.arange(n_pairs)])
    values = np.concatenate([-np.ones(n_pairs), np.ones(m), np.ones(n_pairs), np.ones(n_pairs)])
    matrix = sp.csc_matrix((values, (rows, cols)), shape=(n_rows, m + n_pairs))
    highs = _new_highs()
    for option, value in (("output_flag", False), ("random_seed", 0), ("threads", 1), ("mip_rel_gap", 1e-9),
                          ("time_limit", float(time_limit_s))):
        highs.setOptionValue(option, value)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = m + n_pairs, n_rows
    lp.col_cost_ = np.concatenate([np.zeros(m), savings])
    lp.col_lower_, lp.col_upper_ = np.zeros(m + n_pairs), np.ones(m + n_pairs)
    lp.row_lower_ = np.full(n_rows, -highspy.kHighsInf)
    lp.row_upper_ = np.concatenate([np.ones(len(villages)), np.zeros(n_pairs), [float(k)]])
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = matrix.indptr, matrix.indices, matrix.data
    lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = m + n_pairs, n_rows
    lp.integrality_ = [highspy.HighsVarType.kInteger] * m + [highspy.HighsVarType.kContinuous] * n_pairs
    highs.passModel(lp)
    _add_group_rows(highs, problem, max_per_group)
    highs.run()
    chosen = np.flatnonzero(np.asarray(highs.getSolution().col_value[:m]) > 0.5)
    optimal = highs.getModelStatus() == highspy.HighsModelStatus.kOptimal
    achieved = float((problem.weights * (problem.current - problem.distances(chosen))).sum())
    bound = achieved if optimal else max(float(highs.getInfo().mip_dual_bound), achieved)
    return chosen, bound, "optimal" if optimal else "time limit"


def _without_useless(problem: DistanceProblem, chosen: np.ndarray, level: float = np.inf) -> np.ndarray:
    """Drop, one at a time, rooms whose closing raises neither the weighted distance nor any village beyond ``level``."""
    chosen = np.array(sorted(map(int, chosen)), dtype=int)
    while len(chosen):
        first, second, who = _nearest_two(problem, chosen)
        served = who >= 0
        slot = np.searchsorted(chosen, who[served])
        loss = np.bincount(slot, weights=(problem.weights * (second - first))[served], minlength=len(chosen))
        needed = np.bincount(slot, weights=(second > level)[served], minlength=len(chosen)) > 0
        useless = np.flatnonzero((loss <= 0) & ~needed)
        if len(useless) == 0:
            break
        chosen = np.delete(chosen, useless[0])
    return chosen


def _opening_order(problem: DistanceProblem, chosen: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Order ``chosen`` so each lowers the weighted distance most given those before it; the weighted metres saved."""
    remaining = list(map(int, chosen))
    mine = np.isin(problem.pair_candidate, chosen)
    pv, pc, pm = problem.pair_village[mine], problem.pair_candidate[mine], problem.pair_metres[mine]
    w = problem.weights[pv]
    nearest = problem.current.copy()
    order, gains = [], []
    while remaining:
        gain = np.bincount(pc, weights=w * np.maximum(nearest[pv] - pm, 0.0), minlength=problem.n_candidates)
        best = max(remaining, key=lambda j: (gain[j], -j))
        remaining.remove(best)
        hit = pc == best
        np.minimum.at(nearest, pv[hit], pm[hit])
        order.append(best)
        gains.append(float(gain[best]))
    return np.array(order, dtype=int), np.array(gains, dtype=float)


def _group_counts(problem, chosen) -> dict[object, int]:
    counts: dict[object, int] = {}
    for j in chosen:
        counts[problem.candidate_group[j]] = counts.get(problem.candidate_group[j], 0) + 1
    return counts


def _full_groups(problem, counts, max_per_group) -> np.ndarray:
    return np.array([counts.get(g, 0) >= max_per_group for g in problem.candidate_group], dtype=bool)


# --- p-center ------------------------------------------------------------------


def minimize_worst_distance(
    problem: DistanceProblem,
    k: int,
    *,
    method: str = "auto",
    max_per_group: int | None = None,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
) -> PlanResult:
    """Choose up to ``k`` candidates that minimise the largest distance from a village to its nearest site.

    The fewest rooms that reach the smallest worst distance open first; the
    rooms left over go where they lower the weighted mean distance most
    (they cannot raise the worst distance). ``objective`` and ``bound`` of
    the result are the worst distance in km after the plan and its proven
    lower bound; ``gains`` the weighted metres each room saves.
    """
    method = _checked_method(problem, k, method, WORST_DISTANCE_PAIR_LIMIT)
    start = time.perf_counter()
    deadline = start + time_limit_s
    reachable = problem.current.copy()
    np.minimum.at(reachable, problem.pair_village, problem.pair_metres)
    levels = np.unique(np.concatenate([problem.current, problem.pair_metres]))
    levels = levels[levels >= reachable.max()]
    status = "optimal" if method == "exact" else "heuristic"
    greedy_test = lambda t: _greedy_cover(problem, t, k, max_per_group)  # noqa: E731
    # Greedy covers find a feasible level fast; exact tests then only look below it.
    high, cover = _lowest_level(levels, greedy_test)
    if method == "exact":
        def exact_test(t):
            nonlocal status
            picked, certain = _cover_mip(problem, t, k, max_per_group, deadline)
            status = status if certain else "time limit"
            return picked
        low_levels = levels[levels <= levels[high]]
        found, exact_cover = _lowest_level(low_levels, exact_test)
        if found is not None:
            high, cover = found, exact_cover
        bound_level = levels[high] if status == "optimal" else levels[0]
    else:
        lp_test = lambda t: _cover_lp_feasible(problem, t, k, max_per_group, deadline)  # noqa: E731
        found, _ = _lowest_level(levels[levels <= levels[high]], lp_test)
        bound_level = levels[found] if found is not None else levels[high]
    chosen = _greedy(problem, k, max_per_group, problem.distances(cover), chosen=cover)
    chosen = _without_useless(problem, chosen, levels[high])
    ordered, gains = _opening_order(problem, chosen)
    worst = float(problem.distances(ordered).max()) / 1000
    return PlanResult(ordered, gains, worst, min(float(bound_level) / 1000, worst), method, status,
                      time.perf_counter() - start)


def _lowest_level(levels: np.ndarray, test: Callable[[float], np.ndarray | None]) -> tuple[int | None, np.ndarray]:
    """Bisection: the lowest position whose ``test`` gives rooms (not None), and those rooms.

    ``test`` is taken to be monotone (a level that passes, every higher one
    passes); (None, no rooms) if even the highest level fails.
    """
    low, high = 0, len(levels) - 1
    rooms = test(levels[high])
    if rooms is None:
        return None, np.array([], dtype=int)
    found = (high, rooms)
    while low < high:
        middle = (low + high) // 2
        rooms = test(levels[middle])
        if rooms is None:
            low = middle + 1
        else:
            high, found = middle, (middle, rooms)
    return found


def _cover_rows(problem: DistanceProblem, level: float):
    """Villages beyond ``level`` of every existing site, and their candidates within it, as a CSR matrix (villages x candidates)."""
    far = problem.current > level
    keep = far[problem.pair_village] & (problem.pair_metres <= level)
    villages, rows = np.unique(problem.pair_village[keep], return_inverse=True)
    cols = problem.pair_candidate[keep]
    matrix = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(villages), problem.n_candidates))
    return matrix, int(far.sum()) - len(villages)


def _greedy_cover(problem, level, k, max_per_group) -> np.ndarray | None:
    """At most ``k`` candidates that bring every village within ``level``, by lazy greedy set cover; None if it fails.

    A candidate's count of villages it would newly bring within ``level``
    only falls as others open, so a stale count is recounted only when it
    comes out on top.
    """
    matrix, unreachable = _cover_rows(problem, level)
    if unreachable:
        return None
    by_candidate = matrix.T.tocsr()
    uncovered = np.ones(matrix.shape[0], dtype=bool)
    heap = [(-int(n), j) for j, n in enumerate(np.diff(by_candidate.indptr)) if n]
    heapq.heapify(heap)
    chosen, counts, left = [], {}, matrix.shape[0]
    while left:
        if len(chosen) >= k or not heap:
            return None
        _, j = heapq.heappop(heap)
        group = problem.candidate_group[j]
        if max_per_group is not None and counts.get(group, 0) >= max_per_group:
            continue
        rows = by_candidate.indices[by_candidate.indptr[j] : by_candidate.indptr[j + 1]]
        gain = int(uncovered[rows].sum())
        if heap and gain < -heap[0][0]:
            heapq.heappush(heap, (-gain, j))
            continue
        if gain == 0:
            return None
        chosen.append(j)
        counts[group] = counts.get(group, 0) + 1
        uncovered[rows] = False
        left -= gain
    return np.array(sorted(chosen), dtype=int)


def _cover_model(problem, level, k, max_per_group, *, integral: bool):
    import highspy

    from township_coverage.plan.coverage import _add_group_rows, _new_highs

    matrix, unreachable = _cover_rows(problem, level)
    if unreachable:
        return None
    m = problem.n_candidates
    highs = _new_highs()
    for option, value in (("output_flag", False), ("random_seed", 0), ("threads", 1)):
        highs.setOptionValue(option, value)
    lp = highspy.HighsLp()
    csc = sp.vstack([matrix, sp.csr_matrix(np.ones((1, m)))]).tocsc()
    lp.num_col_, lp.num_row_ = m, csc.shape[0]
    lp.col_cost_ = np.ones(m)
    lp.col_lower_, lp.col_upper_ = np.zeros(m), np.ones(m)
    lp.row_lower_ = np.concatenate([np.ones(matrix.shape[0]), [-highspy.kHighsInf]])
    lp.row_upper_ = np.concatenate([np.full(matrix.shape[0], highspy.kHighsInf), [float(k)]])
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = csc.indptr, csc.indices, csc.data
    lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = m, csc.shape[0]
    if integral:
        lp.integrality_ = [highspy.HighsVarType.kInteger] * m
    highs.passModel(lp)
    _add_group_rows(highs, problem, max_per_group)
    return highs


def _cover_mip(problem, level, k, max_per_group, deadline) -> tuple[np.ndarray | None, bool]:
    """The fewest candidates (at most ``k``) bringing every village within ``level`` (None if none found), and whether that answer is certain."""
    import highspy

    highs = _cover_model(problem, level, k, max_per_group, integral=True)
    if highs is None:
        return None, True
    highs.setOptionValue("time_limit", float(max(deadline - time.perf_counter(), 1.0)))
    highs.run()
    status = highs.getModelStatus()
    if status == highspy.HighsModelStatus.kInfeasible:
        return None, True
    values = np.asarray(highs.getSolution().col_value)
    if status != highspy.HighsModelStatus.kOptimal and (len(values) == 0 or highs.getInfo().primal_solution_status < 2):
        return None, False
    return np.flatnonzero(values > 0.5), True


def _cover_lp_feasible(problem, level, k, max_per_group, deadline) -> np.ndarray | None:
    """None if the cover's LP relaxation proves that ``k`` rooms cannot bring every village within ``level``, else an empty array.

    Past the deadline, or if the LP is not solved, the level is not ruled
    out (the bound stays valid, only weaker).
    """
    import highspy

    highs = _cover_model(problem, level, k, max_per_group, integral=False)
    if highs is None:
        return None
    remaining = deadline - time.perf_counter()
    if remaining <= 0:
        return np.array([], dtype=int)
    highs.setOptionValue("time_limit", float(remaining))
    highs.run()
    if highs.getModelStatus() == highspy.HighsModelStatus.kInfeasible:
        return None
    return np.array([], dtype=int)
