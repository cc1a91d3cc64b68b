"""Planning new rooms: optima checked by brute force on small instances."""

from __future__ import annotations

import itertools

import geopandas as gpd
import numpy as np
import pytest
import scipy.sparse as sp
from shapely.geometry import Point

from township_coverage.plan import (
    CoverageProblem,
    PlanningError,
    coverage_problem,
    maximize_coverage,
    minimum_rooms_for_share,
)
from township_coverage.plan.coverage import split_pays


def _random_problem(seed: int, n_candidates: int = 9, n_villages: int = 18) -> CoverageProblem:
    rng = np.random.default_rng(seed)
    covers = (rng.random((n_candidates, n_villages)) < 0.25).astype(float)
    weights = rng.integers(1, 100, n_villages).astype(float)
    return CoverageProblem(
        covers=sp.csr_matrix(covers),
        weights=weights,
        demand_index=np.arange(n_villages),
        candidate_index=np.arange(n_candidates),
        candidate_group=np.array(["A", "B", "C"] * (n_candidates // 3)),
        total_weight=float(weights.sum()) + 100.0,  # 100 already covered
        covered_weight=100.0,
    )


def _brute_force_best(problem: CoverageProblem, k: int, max_per_group: int | None = None) -> float:
    best = 0.0
    for chosen in itertools.combinations(range(problem.covers.shape[0]), k):
        groups = problem.candidate_group[list(chosen)]
        if max_per_group is not None and max(np.unique(groups, return_counts=True)[1]) > max_per_group:
            continue
        best = max(best, problem.covered_by(np.array(chosen)))
    return best


@pytest.mark.parametrize("split", [None, True, False])
@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_exact_finds_the_brute_force_optimum(seed, k, split):
    problem = _random_problem(seed)
    result = maximize_coverage(problem, k, method="exact", split=split)
    assert result.status == "optimal"
    assert result.objective == pytest.approx(_brute_force_best(problem, k))
    assert result.bound == pytest.approx(result.objective)
    assert len(result.chosen) <= k


@pytest.mark.parametrize("seed", range(8))
def test_heuristic_is_feasible_and_bounded(seed):
    problem = _random_problem(seed)
    best = _brute_force_best(problem, 3)
    result = maximize_coverage(problem, 3, method="heuristic")
    assert len(result.chosen) <= 3
    assert result.objective <= best + 1e-9
    # Greedy alone guarantees 1 - 1/e of the optimum; swaps only improve.
    assert result.objective >= (1 - 1 / np.e) * best
    assert result.bound >= best - 1e-9  # the LP bound is a bound


@pytest.mark.parametrize("seed", range(4))
def test_per_township_limit(seed):
    problem = _random_problem(seed)
    result = maximize_coverage(problem, 4, method="exact", max_per_group=1)
    groups = problem.candidate_group[result.chosen]
    assert len(set(groups)) == len(groups)
    assert result.objective == pytest.approx(_brute_force_best(problem, min(3, 4), max_per_group=1))


def test_opening_order_and_gains_add_up():
    problem = _random_problem(3)
    result = maximize_coverage(problem, 4, method="exact")
    assert result.gains.sum() == pytest.approx(result.objective)
    assert list(result.gains) == sorted(result.gains, reverse=True) or result.gains[0] == max(result.gains)
    first = result.chosen[0]
    assert result.gains[0] == pytest.approx(max(problem.covered_by(np.array([j])) for j in result.chosen))
    assert problem.covered_by(np.array([first])) == pytest.approx(result.gains[0])


@pytest.mark.parametrize("seed", range(6))
def test_target_share_returns_the_fewest_rooms(seed):
    problem = _random_problem(seed)
    reachable = problem.covered_weight + problem.covered_by(np.arange(problem.covers.shape[0]))
    target = (problem.covered_weight + 0.8 * (reachable - problem.covered_weight)) / problem.total_weight
    result = minimum_rooms_for_share(problem, target)
    need = target * problem.total_weight - problem.covered_weight
    fewest = next(
        k for k in range(problem.covers.shape[0] + 1)
        if any(problem.covered_by(np.array(c)) >= need - 1e-9 for c in itertools.combinations(range(problem.covers.shape[0]), k))
    )
    assert len(result.chosen) == fewest
    assert problem.covered_by(result.chosen) >= need - 1e-9


def test_unreachable_target_says_how_far_one_can_get():
    problem = _random_problem(0)
    covers = problem.covers.toarray()
    covers[:, -1] = 0  # no candidate reaches the last village
    problem = CoverageProblem(sp.csr_matrix(covers), problem.weights, problem.demand_index, problem.candidate_index,
                              problem.candidate_group, problem.total_weight, problem.covered_weight)
    best = (problem.covered_weight + problem.covered_by(np.arange(9))) / problem.total_weight
    with pytest.raises(PlanningError, match=rf"at most {100 * best:.1f}% with every candidate opened"):
        minimum_rooms_for_share(problem, (best + 1) / 2)
    assert best < 1


def test_results_are_deterministic():
    problem = _random_problem(5, n_candidates=30, n_villages=60)
    for method in ("exact", "heuristic"):
        first = maximize_coverage(problem, 5, method=method)
        second = maximize_coverage(problem, 5, method=method)
        assert first.chosen.tolist() == second.chosen.tolist()


def _points(xy_km, **columns) -> gpd.GeoDataFrame:
    # Points in UTM 50N (metres) around 118°E 35°N, given in km offsets.
    base_x, base_y = 590_000.0, 3_873_000.0
    geometry = [Point(base_x + x * 1000, base_y + y * 1000) for x, y in xy_km]
    return gpd.GeoDataFrame(columns, geometry=geometry, crs="EPSG:32650").to_crs("EPSG:4326")


def test_existing_sites_stay_and_their_villages_drop_out():
    # Villages on a line every 2 km; an existing room at 0 covers villages at 0 and 2 (R = 3 km).
    villages = _points([(2 * i, 0) for i in range(6)], village_code=list("abcdef"), township_code=["T"] * 6)
    existing = _points([(0, 0)])
    candidates = villages.iloc[1:]  # every village but the one hosting the room
    problem = coverage_problem(villages, existing, candidates, radius_m=3000, weight=np.ones(6) * 10)
    assert problem.covered_weight == 20 and problem.total_weight == 60
    assert sorted(problem.demand_index.tolist()) == [2, 3, 4, 5]  # villages at 4..10 km
    # Pairs within 3 km: candidate at 2 covers 4; at 4 covers 4,6; ... at 10 covers 8,10.
    assert problem.covers.nnz == 1 + 2 + 3 + 3 + 2
    result = maximize_coverage(problem, 2, method="exact")
    assert result.objective == 40  # e.g. rooms at 4 and 8 (or 6 and 10 ...) cover 4, 6, 8, 10
    chosen = set(problem.candidate_index[result.chosen])
    assert 0 not in chosen


def _blocks(seed: int) -> CoverageProblem:
    """Several independent components of different sizes (some above the enumeration limit)."""
    rng = np.random.default_rng(seed)
    blocks, weights = [], []
    for n_candidates, n_villages in ((2, 3), (5, 7), (13, 20), (1, 2), (14, 9)):
        block = (rng.random((n_candidates, n_villages)) < 0.3).astype(float)
        block[np.arange(n_candidates), rng.integers(0, n_villages, n_candidates)] = 1  # every candidate covers something
        blocks.append(block)
        weights.append(rng.integers(1, 100, n_villages).astype(float))
    covers = sp.block_diag(blocks, format="csr")
    weights = np.concatenate(weights)
    n = covers.shape[0]
    return CoverageProblem(covers, weights, np.arange(len(weights)), np.arange(n),
                           np.array(["A"] * n), float(weights.sum()), 0.0)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("k", [1, 3, 6, 12, 40])
def test_split_by_components_equals_one_model(seed, k):
    problem = _blocks(seed)
    assert problem.components()[0] >= 4
    split = maximize_coverage(problem, k, method="exact")
    whole = maximize_coverage(problem, k, method="exact", split=False)
    assert split.status == whole.status == "optimal"
    assert split.objective == pytest.approx(whole.objective)
    assert len(split.chosen) <= k
    if k <= 3:
        assert split.objective == pytest.approx(_brute_force_best(problem, k))


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("k", [2, 3])
def test_every_strategy_finds_the_brute_force_optimum_across_components(seed, k):
    problem = _blocks(seed)
    best = _brute_force_best(problem, k)
    chosen_by_rule = split_pays(problem)
    for split in (None, True, False):
        result = maximize_coverage(problem, k, method="exact", split=split)
        assert result.objective == pytest.approx(best), (split, chosen_by_rule)
        assert problem.covered_by(result.chosen) == pytest.approx(best)


def test_the_rule_splits_many_small_components_and_keeps_large_ones_whole():
    small = _blocks(0)
    many_small = CoverageProblem(
        sp.block_diag([sp.csr_matrix(np.ones((2, 3)))] * 50, format="csr"), np.ones(150), np.arange(150),
        np.arange(100), np.array(["A"] * 100), 150.0, 0.0,
    )
    assert split_pays(many_small)
    assert not split_pays(small)  # two components above the enumeration limit


def _clustered_problem(seed: int, n_villages: int = 1500) -> CoverageProblem:
    """Villages in clusters, 10 % hosting a room (fixed), candidates at the others, R = 3 km."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0, 120, size=(40, 2))
    xy = centres[rng.integers(0, 40, n_villages)] + rng.normal(0, 4, size=(n_villages, 2))
    villages = _points(xy, township_code=[f"T{i % 7}" for i in range(n_villages)])
    hosts = rng.permutation(n_villages)[: n_villages // 10]
    candidates = villages.drop(index=hosts)
    weights = rng.lognormal(7, 0.6, n_villages).round()
    return coverage_problem(villages, villages.loc[hosts], candidates, radius_m=3000, weight=weights)


@pytest.mark.parametrize("seed, k", [(1, 30), (2, 80), (3, 150)])
def test_heuristic_reaches_995_per_mille_of_the_optimum(seed, k):
    problem = _clustered_problem(seed)
    optimum = maximize_coverage(problem, k, method="exact", split=False)
    assert optimum.status == "optimal"
    result = maximize_coverage(problem, k, method="heuristic")
    assert len(result.chosen) <= k
    assert problem.covered_by(result.chosen) == pytest.approx(result.objective)
    assert result.objective >= 0.995 * optimum.objective
    assert result.bound >= optimum.objective - 1e-6  # the LP bound is a bound
    assert result.gap == pytest.approx((result.bound - result.objective) / result.bound)


def _fewest_rooms_covering_all(problem: CoverageProblem) -> int:
    everything = problem.covered_by(np.arange(problem.covers.shape[0]))
    return next(
        k for k in range(problem.covers.shape[0] + 1)
        if any(problem.covered_by(np.array(c)) >= everything - 1e-9
               for c in itertools.combinations(range(problem.covers.shape[0]), k))
    )


@pytest.mark.parametrize("method", ["exact", "heuristic"])
@pytest.mark.parametrize("seed", range(4))
def test_more_rooms_than_help_gives_the_rooms_that_help(seed, method):
    problem = _random_problem(seed)
    everything = problem.covered_by(np.arange(9))
    result = maximize_coverage(problem, 1_000_000, method=method)
    assert result.objective == pytest.approx(everything)
    assert (result.gains > 0).all()
    assert result.gains.sum() == pytest.approx(everything)
    fewest = _fewest_rooms_covering_all(problem)
    if method == "exact":
        assert len(result.chosen) == fewest
    else:
        assert fewest <= len(result.chosen) < 9


def test_no_room_without_new_coverage_on_a_line():
    # Villages every 2 km on a line, R = 3 km: a room at 2 + 6i covers 3 villages; 4 rooms cover all 12.
    villages = _points([(2 * i, 0) for i in range(12)], village_code=[f"v{i}" for i in range(12)],
                       township_code=["T"] * 12)
    problem = coverage_problem(villages, villages.iloc[:0], villages, radius_m=3000)
    for method in ("exact", "heuristic"):
        result = maximize_coverage(problem, 100, method=method)
        assert result.objective == 12
        assert (result.gains > 0).all()
        if method == "exact":
            assert len(result.chosen) == 4


def test_plan_with_more_rooms_than_help_on_linyi(tmp_path):
    import time

    import pandas as pd
    from click.testing import CliRunner

    from township_coverage.cli import main

    start = time.perf_counter()
    outcome = CliRunner().invoke(main, ["plan", "--new-rooms", "100000", "--output", str(tmp_path)])
    seconds = time.perf_counter() - start
    assert outcome.exit_code == 0, outcome.output
    rooms = pd.read_csv(tmp_path / "plan_rooms.csv")
    n = len(rooms)
    assert 0 < n < 2806  # fewer than the candidates that reach an uncovered village
    assert f"只有 {n} 个新社工室能新增覆盖；已按 {n} 个规划" in outcome.output
    assert (rooms.filter(like="新增覆盖").iloc[:, 0] > 0).all()
    assert seconds < 60


@pytest.mark.parametrize("seed", range(4))
def test_heuristic_keeps_the_per_township_limit(seed):
    problem = _random_problem(seed, n_candidates=12, n_villages=24)
    best = _brute_force_best(problem, 3, max_per_group=1)
    result = maximize_coverage(problem, 3, method="heuristic", max_per_group=1)
    groups = problem.candidate_group[result.chosen]
    assert len(set(groups)) == len(groups) <= 3
    assert result.objective <= best + 1e-9
    assert result.objective >= 0.5 * best  # greedy's guarantee under per-township limits
    assert result.bound >= best - 1e-9
