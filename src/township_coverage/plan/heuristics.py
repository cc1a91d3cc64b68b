"""Greedy choice and swaps: good plans fast, reported with their proven bound."""

from __future__ import annotations

import heapq

import numpy as np

from township_coverage.plan.problem import CoverageProblem


def greedy(problem: CoverageProblem, k: int, max_per_group: int | None) -> np.ndarray:
    """Lazy greedy: gains only shrink, so a stale heap entry is re-evaluated only on top."""
    covers, weights = problem.covers, problem.weights
    covered = np.zeros(covers.shape[1], dtype=bool)
    per_group: dict[object, int] = {}
    heap = [(-float(weights[covers.indices[covers.indptr[j] : covers.indptr[j + 1]]].sum()), j)
            for j in range(covers.shape[0])]
    heapq.heapify(heap)
    chosen: list[int] = []
    while heap and len(chosen) < k:
        _, j = heapq.heappop(heap)
        group = problem.candidate_group[j]
        if max_per_group is not None and per_group.get(group, 0) >= max_per_group:
            continue
        cols = covers.indices[covers.indptr[j] : covers.indptr[j + 1]]
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


def swap(problem: CoverageProblem, chosen: np.ndarray, max_per_group: int | None, rounds: int = 200) -> np.ndarray:
    """Improve by exchanging one chosen candidate for one other, best exchange first."""
    covers, weights = problem.covers, problem.weights
    chosen_set = set(map(int, chosen))
    count = np.asarray(covers[list(chosen_set)].sum(axis=0)).ravel() if chosen_set else np.zeros(covers.shape[1])
    for _ in range(rounds):
        improved = False
        # Loss of removing each chosen candidate: weight it alone covers.
        order = sorted(chosen_set, key=lambda j: _alone(covers, weights, count, j))
        for out in order[: min(len(order), 20)]:
            out_cols = covers.indices[covers.indptr[out] : covers.indptr[out + 1]]
            loss = float(weights[out_cols[count[out_cols] == 1]].sum())
            count[out_cols] -= 1
            uncovered = count == 0
            gains = covers @ (weights * uncovered)
            gains[list(chosen_set)] = -1.0
            if max_per_group is not None:
                groups = _group_counts(problem, chosen_set - {out})
                full = np.array([groups.get(g, 0) >= max_per_group for g in problem.candidate_group])
                gains[full] = -1.0
            best = int(np.argmax(gains))
            if gains[best] > loss + 1e-9:
                chosen_set.remove(out)
                chosen_set.add(best)
                count[covers.indices[covers.indptr[best] : covers.indptr[best + 1]]] += 1
                improved = True
                break
            count[out_cols] += 1
        if not improved:
            break
    return np.array(sorted(chosen_set), dtype=int)


def _alone(covers, weights, count, j) -> float:
    cols = covers.indices[covers.indptr[j] : covers.indptr[j + 1]]
    return float(weights[cols[count[cols] == 1]].sum())


def _group_counts(problem: CoverageProblem, chosen) -> dict[object, int]:
    counts: dict[object, int] = {}
    for j in chosen:
        group = problem.candidate_group[j]
        counts[group] = counts.get(group, 0) + 1
    return counts
