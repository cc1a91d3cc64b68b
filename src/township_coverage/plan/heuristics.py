"""Greedy choice and swaps: good plans fast, reported with their proven bound."""

from __future__ import annotations

import heapq
from collections.abc import Iterable

import numpy as np
import scipy.sparse as sp

from township_coverage.plan.problem import CoverageProblem


def greedy(
    problem: CoverageProblem, k: int, max_per_group: int | None, start: Iterable[int] = ()
) -> np.ndarray:
    """Add up to ``k`` candidates to ``start``, each the one that adds the most; stop when none adds anything.

    Lazy: gains only shrink, so a stale heap entry is re-evaluated only on top.
    """
    covers, weights = problem.covers, problem.weights
    chosen = list(dict.fromkeys(map(int, start)))[:k]
    covered = np.zeros(covers.shape[1], dtype=bool)
    per_group: dict[object, int] = {}
    for j in chosen:
        covered[_row(covers, j)] = True
        per_group[problem.candidate_group[j]] = per_group.get(problem.candidate_group[j], 0) + 1
    taken = set(chosen)
    gains = np.asarray(covers @ (weights * ~covered)).ravel()
    heap = [(-float(gains[j]), j) for j in np.flatnonzero(gains > 0) if j not in taken]
    heapq.heapify(heap)
    while heap and len(chosen) < k:
        _, j = heapq.heappop(heap)
        group = problem.candidate_group[j]
        if max_per_group is not None and per_group.get(group, 0) >= max_per_group:
            continue
        cols = _row(covers, j)
        gain = float(weights[cols[~covered[cols]]].sum())
        if heap and gain < -heap[0][0] - 1e-12:
            heapq.heappush(heap, (-gain, j))
            continue
        if gain <= 0:
            break
        chosen.append(j)
        covered[cols] = True
        per_group[group] = per_group.get(group, 0) + 1
    return np.array(sorted(chosen), dtype=int)


def swap(problem: CoverageProblem, chosen: np.ndarray, max_per_group: int | None, rounds: int = 10_000) -> np.ndarray:
    """Exchange one chosen candidate for another while that covers more, best exchange first.

    Every round weighs all exchanges at once in time proportional to the
    relation's pairs: removing ``out`` uncovers exactly the villages only
    ``out`` covers, and these sets are disjoint, so the gain of each
    candidate ``j`` after removing ``out`` is its gain now plus its share of
    ``out``'s villages, one sparse product for all pairs (out, j).
    """
    covers, weights = problem.covers, problem.weights
    n_candidates = covers.shape[0]
    by_column = covers.tocsc()
    groups, group_of = np.unique(problem.candidate_group, return_inverse=True)
    chosen = np.array(sorted(map(int, chosen)), dtype=int)
    for _ in range(rounds):
        if len(chosen) == 0:
            break
        is_chosen = np.zeros(n_candidates, dtype=bool)
        is_chosen[chosen] = True
        count = np.asarray(covers[chosen].sum(axis=0)).ravel()
        gain_now = np.asarray(covers @ (weights * (count == 0))).ravel()
        # Villages only one chosen candidate covers, and which one (its position in ``chosen``).
        alone = np.flatnonzero(count == 1)
        owner_rows = covers[chosen][:, alone].tocoo()
        owner = np.empty(len(alone), dtype=int)
        owner[owner_rows.col] = owner_rows.row
        loss = np.bincount(owner, weights=weights[alone], minlength=len(chosen))
        # extra[j, o]: weight of villages only chosen[o] covers that j covers too.
        spread = sp.csr_matrix((weights[alone], (np.arange(len(alone)), owner)), shape=(len(alone), len(chosen)))
        extra = (by_column[:, alone] @ spread).tocoo()
        group_count = np.bincount(group_of[chosen], minlength=len(groups))
        best_in, best_value = _best_entries(extra, gain_now, is_chosen, group_of, group_count, chosen, max_per_group)
        free_j, free_value, own_j, own_value = _best_untouched(gain_now, is_chosen, group_of, group_count, max_per_group)
        # Entering candidates no removed village concerns: the best that may enter.
        untouched_value = np.full(len(chosen), free_value)
        untouched_j = np.full(len(chosen), free_j)
        if max_per_group is not None:
            own = (group_count[group_of[chosen]] >= max_per_group) & (own_value[group_of[chosen]] > free_value)
            untouched_value[own] = own_value[group_of[chosen]][own]
            untouched_j[own] = own_j[group_of[chosen]][own]
        use_untouched = untouched_value > best_value
        value = np.where(use_untouched, untouched_value, best_value)
        entering = np.where(use_untouched, untouched_j, best_in)
        delta = value - loss
        o = int(np.argmax(delta))
        if delta[o] <= 1e-9 * max(1.0, float(weights.sum())) or entering[o] < 0:
            break
        chosen = np.array(sorted([*np.delete(chosen, o), int(entering[o])]), dtype=int)
    return chosen


def _best_entries(extra, gain_now, is_chosen, group_of, group_count, chosen, max_per_group):
    """For each leaving position, the best entering candidate among those sharing its villages."""
    rows, cols = extra.row, extra.col
    value = gain_now[rows] + extra.data
    allowed = ~is_chosen[rows]
    if max_per_group is not None:
        room = group_count[group_of[rows]] - (group_of[rows] == group_of[chosen[cols]])
        allowed &= room < max_per_group
    rows, cols, value = rows[allowed], cols[allowed], value[allowed]
    best_in = np.full(len(chosen), -1)
    best_value = np.full(len(chosen), -np.inf)
    if len(rows):
        order = np.lexsort((rows, -value, cols))  # by leaving position, best value, then lowest index
        first = order[np.r_[True, cols[order][1:] != cols[order][:-1]]]
        best_in[cols[first]] = rows[first]
        best_value[cols[first]] = value[first]
    return best_in, best_value


def _best_untouched(gain_now, is_chosen, group_of, group_count, max_per_group):
    """The best candidate that may enter whatever leaves, and per township the best of its own members."""
    open_ = ~is_chosen
    if max_per_group is None:
        candidates = np.flatnonzero(open_)
        if len(candidates) == 0:
            return -1, -np.inf, None, None
        best = candidates[np.argmax(gain_now[candidates])]
        return int(best), float(gain_now[best]), None, None
    free = open_ & (group_count[group_of] < max_per_group)
    candidates = np.flatnonzero(free)
    free_j, free_value = -1, -np.inf
    if len(candidates):
        free_j = int(candidates[np.argmax(gain_now[candidates])])
        free_value = float(gain_now[free_j])
    members = np.flatnonzero(open_)
    own_value = np.full(len(group_count), -np.inf)
    own_j = np.full(len(group_count), -1)
    order = members[np.lexsort((members, -gain_now[members], group_of[members]))]
    first = order[np.r_[True, group_of[order][1:] != group_of[order][:-1]]] if len(order) else order
    own_j[group_of[first]] = first
    own_value[group_of[first]] = gain_now[first]
    return free_j, free_value, own_j, own_value


def _row(covers: sp.csr_matrix, j: int) -> np.ndarray:
    return covers.indices[covers.indptr[j] : covers.indptr[j + 1]]
