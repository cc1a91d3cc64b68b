"""Distance objectives: p-median and p-center against brute force, the sparse pairs, and the plan command."""

from __future__ import annotations

import io
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


# --- Linyi: the exact methods against brute force ---------------------------------


@pytest.fixture(scope="module")
def linyi_layers():
    from township_coverage import load_project, validate_project

    validation = validate_project(load_project())
    villages = validation.village_join.usable()
    sites = validation.site_join.usable()
    existing = sites[sites["site_type"].isin(["township_station", "community_room"])]
    hosts = set(sites.loc[sites["site_type"] == "community_room", "village_code"].dropna())
    candidates = villages[~villages["village_code"].isin(hosts)]
    return villages, existing, candidates


def _utm(frame) -> np.ndarray:
    projected = frame.to_crs("EPSG:32650")  # UTM 50N covers Linyi
    return np.column_stack([projected.geometry.x, projected.geometry.y])


def test_linyi_one_room_matches_trying_every_candidate(linyi_layers):
    villages, existing, candidates = linyi_layers
    weights = villages["population"].to_numpy(dtype=float)
    village_xy, candidate_xy = _utm(villages), _utm(candidates)
    current = cdist(village_xy, _utm(existing)).min(axis=1)
    best_mean, best_worst = np.inf, np.inf
    for chunk in np.array_split(np.arange(len(candidate_xy)), 40):
        after = np.minimum(current[:, None], cdist(village_xy, candidate_xy[chunk]))
        best_mean = min(best_mean, ((weights @ after) / weights.sum()).min() / 1000)
        best_worst = min(best_worst, after.max(axis=0).min() / 1000)
    problem = distance_problem(villages, existing, candidates, weight=weights)
    assert len(problem.pair_metres) < 0.01 * len(villages) * len(candidates)  # sparse, not a full matrix
    median = minimize_distance(problem, 1)
    center = minimize_worst_distance(problem, 1)
    assert median.method == center.method == "exact"
    assert median.objective == pytest.approx(best_mean, rel=1e-9)
    assert center.objective == pytest.approx(best_worst, rel=1e-9)


def test_linyi_subset_two_and_three_rooms_match_brute_force(linyi_layers):
    """200 villages of Linyi (one county's), its sites, and 14 candidates among them."""
    villages, existing, candidates = linyi_layers
    county = villages["township_code"].str[:6] == "371323"  # 沂水县
    villages = villages[county].iloc[:200]
    existing = existing[existing["township_code"].isin(villages["township_code"])]
    candidates = candidates[candidates["village_code"].isin(villages["village_code"])].iloc[::13][:14]
    weights = villages["population"].to_numpy(dtype=float)
    instance = (_utm(villages), _utm(existing), _utm(candidates), weights, candidates["township_code"].to_numpy())
    problem = distance_problem(villages, existing, candidates, weight=weights)
    for k in (2, 3):
        best_mean, best_worst = _brute_force(*instance, k)
        assert minimize_distance(problem, k, method="exact").objective == pytest.approx(best_mean, rel=1e-9)
        assert minimize_worst_distance(problem, k, method="exact").objective == pytest.approx(best_worst, rel=1e-9)


# --- the plan command with each objective --------------------------------------------


TINY_VILLAGES = textwrap.dedent(
    """\
    village_code,village_name,lon,lat,population
    100000001201,甲一村,118.001,35.001,500
    100000001202,甲二村,118.009,35.009,300
    100000001203,甲三村,118.002,35.008,200
    100000002201,乙一村,118.012,35.009,1000
    100000002202,乙二村,118.019,35.009,800
    """
)


def _tiny_project_with_villages(folder: Path) -> Path:
    project = write_tiny_project(folder)
    (folder / "villages.csv").write_text(TINY_VILLAGES, encoding="utf-8")
    with project.open("a", encoding="utf-8") as handle:
        handle.write('[layers.villages]\npath = "villages.csv"\ncrs = "EPSG:4326"\n')
    return project


def _geodesic_m(lon1, lat1, lon2, lat2) -> np.ndarray:
    from pyproj import Geod

    return Geod(ellps="WGS84").inv(*np.broadcast_arrays(lon1, lat1, lon2, lat2))[2]


def _nearest_m(villages: pd.DataFrame, sites: pd.DataFrame) -> np.ndarray:
    return np.array([
        _geodesic_m(v.lon, v.lat, sites["lon"].to_numpy(), sites["lat"].to_numpy()).min() for v in villages.itertuples()
    ])


@pytest.mark.parametrize("objective", ["distance", "worst-distance"])
def test_the_plan_command_on_the_tiny_project(tmp_path, objective):
    project = _tiny_project_with_villages(tmp_path)
    output = tmp_path / "out"
    result = CliRunner().invoke(main, ["plan", "--project", str(project), "--new-rooms", "1", "--objective", objective,
                                       "--output", str(output), "--quiet"])
    assert result.exit_code == 0, result.output
    villages = pd.read_csv(io.StringIO(TINY_VILLAGES))
    sites = pd.DataFrame({"lon": [118.005, 118.015, 118.018], "lat": [35.005, 35.005, 35.002]})
    before = _nearest_m(villages, sites)
    # Trying each village without a room as the new room: the two rooms of 乙街道 serve its two villages
    # (each room is linked to the nearest village of its township), so the candidates are 甲镇's three.
    options = [np.minimum(before, _geodesic_m(v.lon, v.lat, villages["lon"].to_numpy(), villages["lat"].to_numpy()))
               for v in villages.iloc[:3].itertuples()]
    weights = villages["population"].to_numpy()
    score = (lambda d: weights @ d / weights.sum()) if objective == "distance" else (lambda d: d.max())
    best = min(options, key=score)
    facts = json.loads((output / "plan_summary.json").read_text(encoding="utf-8"))
    assert facts["parameters"]["objective_name"] == objective
    for side, metres in (("before", before), ("after", best)):
        assert facts["city"][side]["mean_distance_km"] == pytest.approx(weights @ metres / weights.sum() / 1000, rel=5e-3)
        assert facts["city"][side]["worst_distance_km"] == pytest.approx(metres.max() / 1000, rel=5e-3)
    counties = pd.read_csv(output / "plan_counties.csv", encoding="utf-8-sig")
    assert counties["最远距离（公里）（规划前）"].iloc[0] == pytest.approx(before.max() / 1000, rel=5e-3)
    assert "平均距离（按人口加权）" in result.output and "最远" in result.output


def test_coverage_stays_the_default_and_gains_no_distance_columns(tmp_path):
    project = _tiny_project_with_villages(tmp_path)
    result = CliRunner().invoke(main, ["plan", "--project", str(project), "--new-rooms", "1", "--output", str(tmp_path / "o"), "--quiet"])
    assert result.exit_code == 0, result.output
    counties = pd.read_csv(tmp_path / "o" / "plan_counties.csv", encoding="utf-8-sig")
    assert not [c for c in counties.columns if "距离" in c]
    facts = json.loads((tmp_path / "o" / "plan_summary.json").read_text(encoding="utf-8"))
    assert facts["parameters"]["objective_name"] == "coverage"
    assert "mean_distance_km" not in facts["city"]["before"]


def test_a_distance_objective_needs_a_number_of_rooms(tmp_path):
    project = _tiny_project_with_villages(tmp_path)
    result = CliRunner().invoke(main, ["plan", "--project", str(project), "--target-share", "0.9", "--objective", "distance",
                                       "--output", str(tmp_path / "o")])
    assert result.exit_code != 0
    assert "--objective distance needs --new-rooms K" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("objective", ["distance", "worst-distance"])
def test_the_plan_command_on_the_multipart_project_in_english(tmp_path, objective):
    project = write_multipart_project(tmp_path)
    output = tmp_path / "out"
    result = CliRunner().invoke(main, ["plan", "--project", str(project), "--new-rooms", "2", "--objective", objective,
                                       "--lang", "en", "--output", str(output), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "population-weighted mean distance" in result.output
    rooms = pd.read_csv(output / "plan_rooms.csv", encoding="utf-8-sig")
    villages = pd.read_csv(tmp_path / "villages.csv")
    sites = pd.read_csv(tmp_path / "sites.csv")
    existing = sites[sites["site_type"].isin(["社工站", "社工室"])]
    before = _nearest_m(villages, existing)
    after = _nearest_m(villages, pd.concat([existing, rooms])) if len(rooms) else before
    weights = villages["population"].to_numpy()
    facts = json.loads((output / "plan_summary.json").read_text(encoding="utf-8"))
    for side, metres in (("before", before), ("after", after)):
        assert facts["city"][side]["mean_distance_km"] == pytest.approx(weights @ metres / weights.sum() / 1000, rel=5e-3)
        assert facts["city"][side]["worst_distance_km"] == pytest.approx(metres.max() / 1000, rel=5e-3)
    # Each county's figures are its own villages'.
    for county in facts["counties"]:
        mine = villages["village_code"].astype(str).str[:6] == county["county_code"]
        if mine.any():
            assert county["before"]["worst_distance_km"] == pytest.approx(before[mine.to_numpy()].max() / 1000, rel=5e-3)
    counties = pd.read_csv(output / "plan_counties.csv", encoding="utf-8-sig")
    assert "Worst distance (km) (after)" in counties.columns
    assert rooms["worst_distance_after_km"].iloc[-1] == pytest.approx(after.max() / 1000, rel=5e-3)


def test_the_report_states_the_distance_objective_and_its_figures(tmp_path):
    project = _tiny_project_with_villages(tmp_path)
    output = tmp_path / "out"
    runner = CliRunner()
    planned = runner.invoke(main, ["plan", "--project", str(project), "--new-rooms", "1", "--objective", "worst-distance",
                                   "--output", str(output), "--quiet"])
    assert planned.exit_code == 0, planned.output
    facts = json.loads((output / "plan_summary.json").read_text(encoding="utf-8"))
    reported = runner.invoke(main, ["report", "--project", str(project), "--format", "html", "--output", str(output),
                                    "--quiet"])
    assert reported.exit_code == 0, reported.output
    page = (output / "report.html").read_text(encoding="utf-8")
    before, after = facts["city"]["before"]["worst_distance_km"], facts["city"]["after"]["worst_distance_km"]
    assert f"目标：到最近社工站（室）的最远距离最小，由{before:.2f}公里降至{after:.2f}公里" in page
    assert "上界" not in page
