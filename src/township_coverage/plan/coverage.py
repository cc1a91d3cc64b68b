"""Maximal covering and the fewest rooms for a share: exact (HiGHS), by components, or heuristic."""

from __future__ import annotations

import os
import sys
import time

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
    split: bool = True,
) -> PlanResult:
    """Choose ``k`` candidates that cover the most new weight.

    Parameters
    ----------
    problem
        From :func:`coverage_problem`.
    k
        Number of new rooms (fewer are chosen if fewer candidates help).
    method
        ``"exact"`` (MILP), ``"heuristic"`` (greedy + swaps, with the LP
        bound) or ``"auto"`` (exact unless the instance is large).
    max_per_group
        At most this many new rooms per township.
    time_limit_s
        Time limit of the exact solver; past it the best solution found and
        the remaining gap are reported.
    split
        Exact method: solve component by component (default), or as one
        model of the whole relation (as with per-township limits).
    """
    if k < 0:
        raise PlanningError(f"the number of new rooms must be >= 0, not {k}")
    if method not in {"auto", "exact", "heuristic"}:
        raise PlanningError(f"method={method!r}; allowed: auto, exact, heuristic")
    if method == "auto":
        method = "exact" if problem.covers.nnz <= EXACT_PAIR_LIMIT else "heuristic"
    start = time.perf_counter()
    if method == "exact" and split and max_per_group is None:
        chosen, objective, bound, status = _solve_by_components(problem, k, time_limit_s)
    elif method == "exact":
        # Per-township limits tie components together: one model for all.
        chosen, objective, bound, status = _solve_mclp(problem, k, max_per_group, time_limit_s)
    else:
        chosen = greedy(problem, k, max_per_group)
        chosen = swap(problem, chosen, max_per_group)
        objective = problem.covered_by(chosen)
        bound = _lp_bound(problem, k, max_per_group)
        status = "heuristic"
    ordered, gains = opening_order(problem, chosen)
    return PlanResult(ordered, gains, objective, bound, method, status, time.perf_counter() - start)


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
    count, labels = problem.components()
    order = np.argsort(labels, kind="stable")
    starts = np.searchsorted(labels[order], np.arange(count + 1))
    curves = [_ComponentCurve(problem, order[starts[c] : starts[c + 1]], k) for c in range(count)]
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

    def __init__(self, problem: CoverageProblem, candidates: np.ndarray, k: int) -> None:
        covers = problem.covers[candidates]
        demand = np.flatnonzero(covers.getnnz(axis=0))
        self.covers = covers[:, demand].tocsr()
        self.weights = problem.weights[demand]
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


def _solve_mclp(problem, k, max_per_group, time_limit_s, *, integral: bool = True):
    import highspy

    highs, _, n_x = _mclp_model(problem, k, max_per_group, integral=integral)
    highs.setOptionValue("time_limit", float(time_limit_s))
    highs.run()
    info = highs.getInfo()
    if not integral:
        return None, info.objective_function_value, info.objective_function_value, "lp"
    values = np.asarray(highs.getSolution().col_value[:n_x])
    chosen = np.flatnonzero(values > 0.5)
    status = "optimal" if highs.getModelStatus() == highspy.HighsModelStatus.kOptimal else "time limit"
    objective = problem.covered_by(chosen)
    return chosen, objective, max(info.mip_dual_bound, objective), status


def _lp_bound(problem, k, max_per_group) -> float:
    return float(_solve_mclp(problem, k, max_per_group, DEFAULT_TIME_LIMIT_S, integral=False)[2])


def _solve_set_cover(problem, need, max_per_group, time_limit_s):
    import highspy

    highs, lp, n_x, n_y = _model(problem, integral=True)
    lp.col_cost_ = np.concatenate([np.ones(n_x), np.zeros(n_y)])
    lp.sense_ = highspy.ObjSense.kMinimize
    highs.passModel(lp)
    highs.addRow(float(need) - 1e-9, highspy.kHighsInf, n_y,
                 np.arange(n_x, n_x + n_y, dtype=np.int32), problem.weights.astype(float))
    _add_group_rows(highs, problem, max_per_group)
    highs.setOptionValue("time_limit", float(time_limit_s))
    highs.run()
    info = highs.getInfo()
    values = np.asarray(highs.getSolution().col_value[:n_x])
    chosen = np.flatnonzero(values > 0.5)
    status = "optimal" if highs.getModelStatus() == highspy.HighsModelStatus.kOptimal else "time limit"
    return chosen, float(len(chosen)), float(np.ceil(info.mip_dual_bound - 1e-6)), status


def _reachable_weight(problem: CoverageProblem, max_per_group: int | None) -> float:
    """Weight covered with every candidate open (within the per-township limits)."""
    if max_per_group is None:
        return problem.coverable_weight
    k = problem.covers.shape[0]
    return float(_solve_mclp(problem, k, max_per_group, DEFAULT_TIME_LIMIT_S)[1])
