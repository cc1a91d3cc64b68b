"""Maximal covering and the fewest rooms for a share: exact (HiGHS), by components, or heuristic."""

from __future__ import annotations

import os
import sys
import time
from functools import partial

import numpy as np
import scipy.sparse as sp

from township_coverage.plan.heuristics import greedy, swap
from township_coverage.plan.problem import (
    DEFAULT_TIME_LIMIT_S, EXACT_PAIR_LIMIT, CoverageProblem, PlanningError, PlanResult, opening_order,
)


def maximize_coverage(
    problem: CoverageProblem,
    k: int,
    *,
    method: str = "auto",
    max_per_group: int | None = None,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    split: bool | None = None,
) -> PlanResult:
    """Choose up to ``k`` candidates that cover the most new weight.

    Only rooms that cover someone new are proposed: when fewer than ``k``
    rooms cover everything the candidates can reach, the result has the
    fewest rooms that do (fewer than ``k``).

    Parameters
    ----------
    problem
        From :func:`coverage_problem`.
    k
        Number of new rooms (fewer are chosen if fewer candidates help).
    method
        ``"exact"`` (MILP), ``"heuristic"`` (LP rounding, greedy and swaps,
        with the LP bound) or ``"auto"`` (exact unless the instance is large).
    max_per_group
        At most this many new rooms per township.
    time_limit_s
        Time limit of the exact solver; past it the best solution found and
        the remaining gap are reported.
    split
        Exact method: solve component by component (``True``), as one model
        of the whole relation (``False``), or as :func:`split_pays` decides
        (``None``, default). Per-township limits always need one model.
    """
    if k < 0:
        raise PlanningError(f"the number of new rooms must be >= 0, not {k}")
    if method not in {"auto", "exact", "heuristic"}:
        raise PlanningError(f"method={method!r}; allowed: auto, exact, heuristic")
    if method == "auto":
        method = "exact" if problem.covers.nnz <= EXACT_PAIR_LIMIT else "heuristic"
    start = time.perf_counter()
    reduced, kept = _without_dominated(problem, max_per_group)
    k = min(k, _most_rooms(reduced, max_per_group))
    cover_all = greedy(reduced, k, None) if max_per_group is None else None
    notes: tuple[str, ...] = ()
    if k == 0 or reduced.coverable_weight == 0:
        chosen, objective, bound, status = np.array([], dtype=int), 0.0, 0.0, "optimal"
    elif cover_all is not None and reduced.covered_by(cover_all) >= reduced.coverable_weight - 1e-9:
        # k rooms can cover everything reachable: the fewest rooms that do.
        chosen, objective, bound, status = _cover_everything(reduced, cover_all, method, time_limit_s)
        notes = ("the fewest rooms that cover everyone the candidates reach",)
    elif method == "exact":
        split = max_per_group is None and (split_pays(reduced) if split is None else split)
        solve = _solve_by_components if split else partial(_solve_mclp, max_per_group=max_per_group)
        chosen, objective, bound, status = solve(reduced, k, time_limit_s=time_limit_s)
        notes = ("split by components" if split else "one model",)
    else:
        chosen, objective, bound, status = _heuristic(reduced, k, max_per_group)
    ordered, gains = opening_order(reduced, chosen)
    helps = gains > 0
    return PlanResult(kept[ordered[helps]], gains[helps], objective, bound, method, status,
                      time.perf_counter() - start, notes)


def minimum_rooms_for_share(
    problem: CoverageProblem,
    target_share: float,
    *,
    max_per_group: int | None = None,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
) -> PlanResult:
    """The fewest candidates that bring the covered share to ``target_share``.

    Raises
    ------
    PlanningError
        If the target cannot be reached even with every candidate; the
        message gives the largest reachable share.
    """
    if not 0 < target_share <= 1:
        raise PlanningError(f"the target share must be in (0, 1], not {target_share}")
    need = target_share * problem.total_weight - problem.covered_weight
    start = time.perf_counter()
    if need <= 1e-9:
        return PlanResult(np.array([], dtype=int), np.array([]), 0, 0, "exact", "optimal", 0.0,
                          ("the existing sites already reach the target",))
    reachable = _reachable_weight(problem, max_per_group)
    if reachable + 1e-9 < need:
        best = (problem.covered_weight + reachable) / problem.total_weight
        current = problem.covered_weight / problem.total_weight
        raise PlanningError(
            f"a covered share of {target_share:.1%} cannot be reached with these candidates: "
            f"the share is {current:.1%} now and at most {best:.1%} with every candidate opened"
        )
    chosen, objective, bound, status = _solve_set_cover(problem, need, max_per_group, time_limit_s)
    ordered, gains = opening_order(problem, chosen)
    return PlanResult(ordered, gains, objective, bound, "exact", status, time.perf_counter() - start)


# --- what every method shares ------------------------------------------------


def split_pays(problem: CoverageProblem) -> bool:
    """Whether the exact method should split by components rather than solve one model.

    Split when every component, once dominated candidates are gone, has at
    most :data:`ENUMERATION_LIMIT` candidates: then no MILP is solved at all
    and the time grows with the pairs. When a component is larger, its
    curve needs one small MILP per room it gets, and one HiGHS model of the
    whole relation was faster, mostly 1.5-5 times, whatever K (Linyi and
    generated instances of 2,500 to 50,000 villages, R = 3 and 6 km,
    K = 20 to 1,000). The exception measured: 50,000 villages with K = 1,000,
    where the one model spent 14-50 s at its root node and the split 8-11 s.
    """
    count, labels = problem.components()
    return count > 0 and int(np.bincount(labels).max()) <= ENUMERATION_LIMIT


def _without_dominated(problem: CoverageProblem, max_per_group: int | None) -> tuple[CoverageProblem, np.ndarray]:
    """The same problem without dominated candidates, villages with the same candidates merged.

    A candidate whose villages another candidate all covers (of the same
    township, with per-township limits) can be replaced by that one in any
    plan without loss, so it goes (of identical ones, all but the first).
    Villages reached by exactly the same candidates act as one village of
    their summed weight. Returns the reduced problem and the positions of
    its candidates in ``problem``.
    """
    covers = problem.covers.tocsr(copy=True)
    covers.eliminate_zeros()
    n_candidates = covers.shape[0]
    kept = np.arange(n_candidates)
    degree = np.diff(covers.tocsc().indptr)
    if float(np.square(degree, dtype=np.float64).sum()) <= DOMINANCE_PAIR_LIMIT:
        sizes = np.diff(covers.indptr)
        shared = (covers @ covers.T).tocoo()  # villages each pair of candidates shares
        a, b = shared.row, shared.col
        dominated = (a != b) & (shared.data == sizes[a]) & ((sizes[b] > sizes[a]) | (b < a))
        if max_per_group is not None:
            dominated &= problem.candidate_group[a] == problem.candidate_group[b]
        kept = np.setdiff1d(kept, a[dominated])
        covers = covers[kept]
    by_column = covers.tocsc()
    # Villages with the same candidates: equal sums of random 64-bit keys (two of them).
    keys = np.random.default_rng(0).integers(0, 2**63, size=(2, covers.shape[0]), dtype=np.uint64)
    sums = [np.concatenate([np.zeros(1, np.uint64), np.cumsum(row[by_column.indices])]) for row in keys]
    hashes = [total[by_column.indptr[1:]] - total[by_column.indptr[:-1]] for total in sums]  # wraps: fine
    _, village_class = np.unique(np.column_stack(hashes), axis=0, return_inverse=True)
    village_class = village_class.ravel()
    n_classes = int(village_class.max()) + 1 if len(village_class) else 0
    merge = sp.csr_matrix((np.ones(len(village_class)), (np.arange(len(village_class)), village_class)),
                          shape=(len(village_class), n_classes))
    merged = (covers @ merge).tocsr()
    merged.data[:] = 1.0
    weights = np.asarray(merge.T @ problem.weights).ravel()
    reduced = CoverageProblem(
        covers=merged, weights=weights, demand_index=np.arange(len(weights)),
        candidate_index=problem.candidate_index[kept], candidate_group=problem.candidate_group[kept],
        total_weight=problem.total_weight, covered_weight=problem.covered_weight,
    )
    return reduced, kept


#: Above this many candidate pairs sharing a village, dominated candidates are not looked for.
DOMINANCE_PAIR_LIMIT = 10_000_000  # about 160 MB of pairs


def _most_rooms(problem: CoverageProblem, max_per_group: int | None) -> int:
    """Rooms that can be placed at all: every candidate, within the per-township limits."""
    if max_per_group is None:
        return problem.covers.shape[0]
    _, sizes = np.unique(problem.candidate_group, return_counts=True)
    return int(np.minimum(sizes, max_per_group).sum())


def _cover_everything(problem: CoverageProblem, cover_all: np.ndarray, method: str, time_limit_s: float):
    """The fewest rooms that cover every village a candidate reaches (``cover_all`` does)."""
    everything = problem.coverable_weight
    if method == "exact":
        chosen, _, _, status = _solve_set_cover(problem, everything, None, time_limit_s)
        if problem.covered_by(chosen) >= everything - 1e-9:
            return chosen, everything, everything, status
    return _without_redundant(problem, cover_all), everything, everything, "heuristic"


def _without_redundant(problem: CoverageProblem, chosen: np.ndarray) -> np.ndarray:
    """Drop rooms whose villages all stay covered by the others (smallest first)."""
    covers = problem.covers
    count = np.asarray(covers[chosen].sum(axis=0)).ravel()
    keep = []
    for j in sorted(map(int, chosen), key=lambda j: (covers.indptr[j + 1] - covers.indptr[j], j)):
        cols = covers.indices[covers.indptr[j] : covers.indptr[j + 1]]
        if (count[cols] >= 2).all():
            count[cols] -= 1
        else:
            keep.append(j)
    return np.array(sorted(keep), dtype=int)


# --- heuristic ------------------------------------------------------------------


def _heuristic(problem: CoverageProblem, k: int, max_per_group: int | None):
    """Round the LP relaxation, fill greedily, improve by swaps; also from plain greedy; the better one."""
    x, bound = _relaxation(problem, k, max_per_group)
    starts = [_rounded(problem, x, k, max_per_group), np.array([], dtype=int)]
    plans = [swap(problem, greedy(problem, k, max_per_group, start), max_per_group) for start in starts]
    values = [problem.covered_by(plan) for plan in plans]
    best = int(np.argmax(values))
    return plans[best], values[best], max(bound, values[best]), "heuristic"


def _rounded(problem: CoverageProblem, x: np.ndarray, k: int, max_per_group: int | None) -> np.ndarray:
    """Candidates the LP opens more than half, largest first, within ``k`` and the limits."""
    picked, per_group = [], {}
    for j in np.argsort(-x, kind="stable"):
        if x[j] <= 0.5 or len(picked) == k:
            break
        group = problem.candidate_group[j]
        if max_per_group is None or per_group.get(group, 0) < max_per_group:
            picked.append(int(j))
            per_group[group] = per_group.get(group, 0) + 1
    return np.array(picked, dtype=int)


# --- exact, split by components -------------------------------------------

#: Components with at most this many candidates are solved by enumeration.
ENUMERATION_LIMIT = 10


def _solve_by_components(problem: CoverageProblem, k: int, time_limit_s: float):
    """Exact maximal covering, split by components and joined by dynamic programming.

    Each component's curve (best weight with t rooms) is known exactly up
    to some t and bounded beyond it: coverage is subadditive, so t more
    rooms add at most the weight of the t best single rooms. The DP shares
    the K rooms using these curves; if it gives no component more rooms
    than its exact part covers, the result is optimal; else those curves
    are extended (a small MILP per extra room) and the DP runs again.
    """
    deadline = time.perf_counter() + time_limit_s
    curves = [_ComponentCurve(*block, k) for block in _component_blocks(problem)]
    while True:
        allocation = _share_rooms([curve.optimistic() for curve in curves], k)
        short = [(curve, t) for curve, t in zip(curves, allocation) if t > curve.exact_up_to]
        if not short:
            break
        for curve, t in short:
            if not curve.extend_to(t, deadline):
                # Out of time: one model for everything reports its gap.
                return _solve_mclp(problem, k, None, max(deadline - time.perf_counter(), 1.0))
    chosen = np.array(sorted(j for curve, t in zip(curves, allocation) for j in curve.chosen_for(t)), dtype=int)
    objective = problem.covered_by(chosen)
    return chosen, objective, objective, "optimal"


def _component_blocks(problem: CoverageProblem):
    """Per component: its relation, its villages' weights and its candidates (positions in ``problem``).

    Rows and columns are sorted by component once, so that each component
    is a diagonal block read off the arrays without fancy indexing.
    """
    count, labels = problem.components()
    by_column = problem.covers.tocsc()
    reached = np.flatnonzero(np.diff(by_column.indptr))
    village_labels = labels[by_column.indices[by_column.indptr[reached]]]
    rows = np.argsort(labels, kind="stable")
    cols = reached[np.argsort(village_labels, kind="stable")]
    block = problem.covers[rows][:, cols].tocsr()
    row_starts = np.searchsorted(labels[rows], np.arange(count + 1))
    col_starts = np.searchsorted(np.sort(village_labels), np.arange(count + 1))
    weights = problem.weights[cols]
    for c in range(count):
        r0, r1, d0, d1 = row_starts[c], row_starts[c + 1], col_starts[c], col_starts[c + 1]
        lo, hi = block.indptr[r0], block.indptr[r1]
        covers = sp.csr_matrix(
            (block.data[lo:hi], block.indices[lo:hi] - d0, block.indptr[r0 : r1 + 1] - lo), shape=(r1 - r0, d1 - d0)
        )
        yield covers, weights[d0:d1], rows[r0:r1]


def _share_rooms(curves: list[np.ndarray], k: int) -> list[int]:
    """Rooms per component maximising the summed curves with at most ``k`` in all.

    ``best[j]``: the most weight with exactly ``j`` rooms in the components
    so far (a room that covers nothing is allowed, so "at most" is the best
    over ``j``).
    """
    best = np.full(k + 1, -np.inf)
    best[0] = 0.0
    steps = []
    for values in curves:
        options = np.full((len(values), k + 1), -np.inf)
        for t, value in enumerate(values):
            options[t, t:] = best[: k + 1 - t] + value
        step = np.argmax(options, axis=0)
        best = options[step, np.arange(k + 1)]
        steps.append(step)
    budget = int(np.argmax(best))
    allocation = []
    for step in reversed(steps):
        allocation.append(int(step[budget]))
        budget -= allocation[-1]
    return allocation[::-1]


class _ComponentCurve:
    """Best coverage of one component with 0, 1, ... rooms: exact up to a point, bounded beyond."""

    def __init__(self, covers: sp.csr_matrix, weights: np.ndarray, candidates: np.ndarray, k: int) -> None:
        self.covers, self.weights = covers, weights
        self.total = float(self.weights.sum())
        self.candidates = candidates
        self.most = min(k, len(candidates))
        singles = np.asarray(self.covers @ self.weights).ravel()
        self.best_singles = np.cumsum(np.sort(singles)[::-1])
        self._model = None
        if len(candidates) <= ENUMERATION_LIMIT:
            self.values, self.chosen = _curve_by_enumeration(
                self.covers.toarray().astype(bool), self.weights, candidates, self.most
            )
        else:
            top = int(np.argmax(singles))
            self.values = np.array([0.0, singles[top]]) if self.most else np.array([0.0])
            self.chosen = [np.array([], dtype=int), candidates[[top]]][: len(self.values)]

    @property
    def exact_up_to(self) -> int:
        """Rooms up to which the curve is exact (all of them once saturated)."""
        if self.values[-1] >= self.total - 1e-9:
            return self.most
        return len(self.values) - 1

    def optimistic(self) -> np.ndarray:
        """Exact values, then upper bounds up to ``most`` rooms."""
        known = len(self.values) - 1
        if self.exact_up_to == self.most and known < self.most:
            return np.concatenate([self.values, np.full(self.most - known, self.values[-1])])
        extra = np.arange(1, self.most - known + 1)
        bound = np.minimum(self.total, self.values[-1] + self.best_singles[extra - 1])
        return np.concatenate([self.values, bound])

    def chosen_for(self, t: int) -> np.ndarray:
        return self.chosen[min(t, len(self.chosen) - 1)]

    def extend_to(self, t: int, deadline: float) -> bool:
        """Solve the exact values up to ``t`` rooms (or saturation); False on timeout."""
        import highspy

        if self._model is None:
            sub = CoverageProblem(
                covers=self.covers, weights=self.weights, demand_index=np.arange(len(self.weights)),
                candidate_index=self.candidates, candidate_group=np.zeros(len(self.candidates)),
                total_weight=self.total, covered_weight=0.0,
            )
            self._model = (sub, *_mclp_model(sub, 0, None))
        sub, highs, budget_row, n_x = self._model
        while len(self.values) - 1 < t and self.exact_up_to < self.most:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                return False
            highs.changeRowBounds(budget_row, -highspy.kHighsInf, float(len(self.values)))
            highs.setOptionValue("time_limit", float(remaining))
            highs.run()
            if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
                return False
            picked = np.flatnonzero(np.asarray(highs.getSolution().col_value[:n_x]) > 0.5)
            self.values = np.append(self.values, sub.covered_by(picked))
            self.chosen.append(self.candidates[picked])
        return True


def _curve_by_enumeration(covers: np.ndarray, weights: np.ndarray, candidates: np.ndarray, most: int):
    n = len(candidates)
    subsets = (np.arange(2**n)[:, None] >> np.arange(n)[None, :]) & 1  # one row per subset
    covered = (subsets @ covers.astype(np.int64)) > 0
    value = covered @ weights
    sizes = subsets.sum(axis=1)
    values, chosen = [], []
    for t in range(most + 1):
        members = np.flatnonzero(sizes == t)
        best = members[np.argmax(value[members])]  # first maximum: deterministic
        values.append(float(value[best]))
        chosen.append(candidates[np.flatnonzero(subsets[best])])
        if values[-1] >= weights.sum() - 1e-9:
            break
    return np.array(values), chosen


# --- exact, one model (HiGHS) ----------------------------------------------


def _model(problem: CoverageProblem, *, integral: bool):
    """Shared columns and rows: x_j (candidates), y_i (villages), y_i <= sum x_j."""
    import highspy

    n_x, n_y = problem.covers.shape
    # Row i: y_i - sum_{j covers i} x_j <= 0; then the extra rows added by callers.
    coverage = sp.hstack([-problem.covers.T.tocsc(), sp.identity(n_y, format="csc")], format="csc")
    highs = _new_highs()
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("random_seed", 0)
    highs.setOptionValue("threads", 1)
    lp = highspy.HighsLp()
    lp.num_col_ = n_x + n_y
    lp.num_row_ = n_y
    lp.col_lower_ = np.zeros(n_x + n_y)
    lp.col_upper_ = np.ones(n_x + n_y)
    lp.row_lower_ = np.full(n_y, -highspy.kHighsInf)
    lp.row_upper_ = np.zeros(n_y)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = coverage.indptr
    lp.a_matrix_.index_ = coverage.indices
    lp.a_matrix_.value_ = coverage.data
    lp.a_matrix_.num_col_ = n_x + n_y
    lp.a_matrix_.num_row_ = n_y
    if integral:
        lp.integrality_ = [highspy.HighsVarType.kInteger] * n_x + [highspy.HighsVarType.kContinuous] * n_y
    return highs, lp, n_x, n_y


def _new_highs():
    """A HiGHS instance, without the banner HiGHS prints on the first one of a process."""
    import highspy

    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            highs = highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    return highs


def _add_group_rows(highs, problem: CoverageProblem, max_per_group: int | None) -> None:
    if max_per_group is None:
        return
    import highspy

    groups = {}
    for j, group in enumerate(problem.candidate_group):
        groups.setdefault(group, []).append(j)
    for members in groups.values():
        if len(members) > max_per_group:
            highs.addRow(-highspy.kHighsInf, float(max_per_group), len(members),
                         np.array(members, dtype=np.int32), np.ones(len(members)))


def _mclp_model(problem, k, max_per_group, *, integral: bool = True):
    """The maximal covering model; returns the solver, the budget row's index and the number of x columns."""
    import highspy

    highs, lp, n_x, n_y = _model(problem, integral=integral)
    lp.col_cost_ = np.concatenate([np.zeros(n_x), problem.weights])
    lp.sense_ = highspy.ObjSense.kMaximize
    highs.passModel(lp)
    highs.addRow(-highspy.kHighsInf, float(k), n_x, np.arange(n_x, dtype=np.int32), np.ones(n_x))
    _add_group_rows(highs, problem, max_per_group)
    highs.setOptionValue("mip_rel_gap", 1e-9)
    return highs, n_y, n_x


def _solve_mclp(problem, k, max_per_group, time_limit_s):
    highs, _, n_x = _mclp_model(problem, k, max_per_group)
    chosen, status, info = _run_mip(highs, n_x, time_limit_s)
    objective = problem.covered_by(chosen)
    return chosen, objective, max(info.mip_dual_bound, objective), status


def _run_mip(highs, n_x: int, time_limit_s: float):
    """Solve a model whose first ``n_x`` columns are the candidates: (chosen, status, HiGHS info)."""
    import highspy

    highs.setOptionValue("time_limit", float(time_limit_s))
    highs.run()
    chosen = np.flatnonzero(np.asarray(highs.getSolution().col_value[:n_x]) > 0.5)
    status = "optimal" if highs.getModelStatus() == highspy.HighsModelStatus.kOptimal else "time limit"
    return chosen, status, highs.getInfo()


def _relaxation(problem, k, max_per_group) -> tuple[np.ndarray, float]:
    """The LP relaxation's candidate values and its bound on the newly covered weight."""
    highs, _, n_x = _mclp_model(problem, k, max_per_group, integral=False)
    highs.setOptionValue("time_limit", DEFAULT_TIME_LIMIT_S)
    highs.run()
    return np.asarray(highs.getSolution().col_value[:n_x]), float(highs.getInfo().objective_function_value)


def _solve_set_cover(problem, need, max_per_group, time_limit_s):
    import highspy

    highs, lp, n_x, n_y = _model(problem, integral=True)
    lp.col_cost_ = np.concatenate([np.ones(n_x), np.zeros(n_y)])
    lp.sense_ = highspy.ObjSense.kMinimize
    highs.passModel(lp)
    highs.addRow(float(need) - 1e-9, highspy.kHighsInf, n_y,
                 np.arange(n_x, n_x + n_y, dtype=np.int32), problem.weights.astype(float))
    _add_group_rows(highs, problem, max_per_group)
    chosen, status, info = _run_mip(highs, n_x, time_limit_s)
    return chosen, float(len(chosen)), float(np.ceil(info.mip_dual_bound - 1e-6)), status


def _reachable_weight(problem: CoverageProblem, max_per_group: int | None) -> float:
    """Weight covered with every candidate open (within the per-township limits)."""
    if max_per_group is None:
        return problem.coverable_weight
    k = problem.covers.shape[0]
    return float(_solve_mclp(problem, k, max_per_group, DEFAULT_TIME_LIMIT_S)[1])
