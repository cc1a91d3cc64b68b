"""Distance objectives: p-median and p-center against brute force, the sparse pairs, and the plan command."""

from __future__ import annotations

import itertools
import json
import textwrap
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy.spatial.distance import cdist

from township_coverage.cli import main
from township_coverage.plan import PlanningError
from township_coverage.plan.distance import (
    distance_problem,
    minimize_distance,
    minimize_worst_distance,
    nearest_distances,
)
from township_coverage.plan.problem import distance_pairs

from _support import write_multipart_project, write_tiny_project

UTM = "EPSG:32650"
ORIGIN = np.array([500_000.0, 3_900_000.0])


def _layer(xy: np.ndarray, **columns) -> gpd.GeoDataFrame:
    xy = ORIGIN + np.asarray(xy, dtype=float).reshape(-1, 2)
    return gpd.GeoDataFrame(pd.DataFrame(columns), geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=UTM)


def _random_instance(seed: int, n_villages: int = 30, n_existing: int = 2, n_candidates: int = 9):
    """Villages over 10 x 10 km (metres), two existing sites, candidates in three townships."""
    rng = np.random.default_rng(seed)
    villages = rng.uniform(0, 10_000, size=(n_villages, 2))
    existing = rng.uniform(0, 10_000, size=(n_existing, 2))
    candidates = rng.uniform(0, 10_000, size=(n_candidates, 2))
    weights = rng.integers(0, 2_000, size=n_villages).astype(float)
    groups = np.array(["a", "b", "c"])[np.arange(n_candidates) % 3]
    return villages, existing, candidates, weights, groups


def _problem(villages, existing, candidates, weights, groups):
    return distance_problem(
        _layer(villages), _layer(existing), _layer(candidates, township_code=groups), weight=weights,
    )


def _brute_force(villages, existing, candidates, weights, groups, k, max_per_group=None):
    """Best weighted mean distance and best worst distance (km) over every set of at most k candidates."""
    to_existing = cdist(villages, existing).min(axis=1)
    to_candidate = cdist(villages, candidates)
    best_mean, best_worst = np.inf, np.inf
    for size in range(k + 1):
        for subset in itertools.combinations(range(len(candidates)), size):
            if max_per_group is not None and max(np.unique(groups[list(subset)], return_counts=True)[1], default=0) > max_per_group:
                continue
            d = np.minimum(to_existing, to_candidate[:, list(subset)].min(axis=1)) if subset else to_existing
            best_mean = min(best_mean, (weights * d).sum() / weights.sum() / 1000)
            best_worst = min(best_worst, d.max() / 1000)
    return best_mean, best_worst


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("k", [1, 3])
def test_both_objectives_find_the_brute_force_optimum(seed, k):
    instance = _random_instance(seed)
    best_mean, best_worst = _brute_force(*instance, k)
    problem = _problem(*instance)
    median = minimize_distance(problem, k, method="exact")
    center = minimize_worst_distance(problem, k, method="exact")
    assert median.status == center.status == "optimal"
    assert median.objective == pytest.approx(best_mean, rel=1e-9)
    assert center.objective == pytest.approx(best_worst, rel=1e-9)
    assert len(median.chosen) <= k and len(center.chosen) <= k
    # The result's objective is what its rooms give, measured independently.
    villages, existing, candidates, weights, _ = instance
    chosen = candidates[problem.candidate_index[median.chosen]]
    d = np.minimum(cdist(villages, existing).min(axis=1), cdist(villages, chosen).min(axis=1, initial=np.inf))
    assert (weights * d).sum() / weights.sum() / 1000 == pytest.approx(median.objective, rel=1e-9)


@pytest.mark.parametrize("seed", range(4))
def test_per_township_limit_is_kept_and_optimal(seed):
    instance = _random_instance(seed, n_candidates=9)
    best_mean, best_worst = _brute_force(*instance, 4, max_per_group=1)
    problem = _problem(*instance)
    for solve, best in ((minimize_distance, best_mean), (minimize_worst_distance, best_worst)):
        result = solve(problem, 4, method="exact", max_per_group=1)
        assert result.objective == pytest.approx(best, rel=1e-9)
        groups = problem.candidate_group[result.chosen]
        assert len(set(groups)) == len(groups)


@pytest.mark.parametrize("seed", range(6))
def test_heuristics_are_feasible_and_bounded(seed):
    instance = _random_instance(seed, n_villages=60, n_candidates=12)
    best_mean, best_worst = _brute_force(*instance, 3)
    problem = _problem(*instance)
    for solve, best in ((minimize_distance, best_mean), (minimize_worst_distance, best_worst)):
        result = solve(problem, 3, method="heuristic")
        assert result.status == "heuristic"
        assert result.bound <= best + 1e-9 <= result.objective + 2e-9
        assert len(result.chosen) <= 3
    # Greedy plus swaps reaches the optimum on these small instances.
    assert minimize_distance(problem, 3, method="heuristic").objective == pytest.approx(best_mean, rel=1e-6)


def test_gains_are_the_weighted_metres_each_room_saves_in_order():
    instance = _random_instance(1)
    villages, existing, candidates, weights, _ = instance
    problem = _problem(*instance)
    result = minimize_distance(problem, 3, method="exact")
    d = cdist(villages, existing).min(axis=1)
    for position, gain in zip(problem.candidate_index[result.chosen], result.gains):
        after = np.minimum(d, cdist(villages, candidates[[position]]).ravel())
        assert gain == pytest.approx((weights * (d - after)).sum())
        d = after
    assert list(result.gains) == sorted(result.gains, reverse=True)


def test_no_room_is_opened_that_brings_nobody_nearer():
    # One village next to a station; the candidates are all farther away.
    problem = distance_problem(_layer([[0, 0]]), _layer([[10, 0]]), _layer([[500, 0], [900, 0]], township_code=["a", "a"]))
    assert problem.n_candidates == 0
    for solve in (minimize_distance, minimize_worst_distance):
        for method in ("exact", "heuristic"):
            result = solve(problem, 2, method=method)
            assert len(result.chosen) == 0
            assert result.objective == pytest.approx(0.01)


def test_pairs_are_only_candidates_nearer_than_the_nearest_existing_site():
    villages = np.array([[0.0, 0.0], [5_000.0, 0.0]])
    problem = distance_problem(
        _layer(villages), _layer([[1_000, 0]]), _layer([[300, 0], [2_000, 0], [4_000, 0]], township_code=["a"] * 3),
    )
    assert problem.current == pytest.approx([1_000, 4_000])
    # Village 0: only the candidate at 300 m; village 1: the one at 2 km (3 km away) and at 4 km (1 km away).
    pairs = sorted(zip(problem.pair_village, problem.candidate_index[problem.pair_candidate], problem.pair_metres))
    assert pairs == [(0, 0, pytest.approx(300)), (1, 1, pytest.approx(3_000)), (1, 2, pytest.approx(1_000))]


def test_distance_pairs_and_nearest_distances_agree_with_a_full_matrix():
    rng = np.random.default_rng(3)
    villages, sites = rng.uniform(0, 50_000, (200, 2)), rng.uniform(0, 50_000, (40, 2))
    full = cdist(villages, sites)
    limit = rng.uniform(0, 8_000, 200)
    village_pos, site_pos, metres = distance_pairs(villages, sites, limit)
    expected = set(zip(*np.nonzero(full <= limit[:, None])))
    assert set(zip(village_pos, site_pos)) == expected
    assert metres == pytest.approx(full[village_pos, site_pos])
    assert nearest_distances(villages, sites) == pytest.approx(full.min(axis=1))


def test_bad_requests_are_refused_with_a_reason():
    problem = _problem(*_random_instance(0))
    with pytest.raises(PlanningError, match="must be >= 0"):
        minimize_distance(problem, -1)
    with pytest.raises(PlanningError, match="method='fast'; allowed"):
        minimize_worst_distance(problem, 1, method="fast")
    with pytest.raises(PlanningError, match="existing rooms and stations, and there are none"):
        distance_problem(_layer([[0, 0]]), _layer(np.empty((0, 2))), _layer([[1, 1]], township_code=["a"]))
