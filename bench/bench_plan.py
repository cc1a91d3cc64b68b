"""Benchmark: planning new rooms, township-coverage against spopt (solved by PuLP's CBC).

One section per objective, each a function that runs its solvers on the
same instances and prints one table (``SECTIONS``; today: ``coverage``,
maximal covering against spopt's ``MCLP``). Instances:

- Linyi (4,186 villages, existing rooms and stations fixed, candidates =
  villages without a room), R = 3 km, K = 50 and K = 200;
- a generated instance of 50,000 villages (clustered over 400 x 400 km),
  R = 3 km, K = 200.

Ours runs four ways: the exact default (which picks one of the two exact
strategies by the instance's components, see ``split_pays``), each exact
strategy forced (split by components; one model), and the heuristic.

Each solver runs in its own subprocess, starting from the same point layers
in a metric CRS, so that time includes building the model (our sparse
relation; spopt's dense cost matrix, as its ``from_cost_matrix`` needs) and
peak memory is the process's maximum resident set (CBC's included).
spopt is skipped, with the reason, where its dense matrix would not fit in
memory.

Usage: ``python bench/bench_plan.py [--quick] [--no-peer] [--objective coverage]``
(needs ``pip install -e ".[bench]"``). ``--quick``: a generated instance
of 2,000 villages with K = 50 only (spopt's CBC takes minutes on Linyi). Prints objectives (covered
population, existing coverage included; the exact method must equal
spopt's), the heuristic's ratio to the optimum and its proven gap, and
spopt's time and memory as multiples of ours.
"""

from __future__ import annotations

import argparse
import json
import pickle
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

RADIUS_M = 3000.0
MEMORY_BUDGET_BYTES = 12 * 2**30  # spopt's dense matrix (and its copies) must fit in this


def linyi_instance(county_code: str | None = None, townships: int | None = None) -> dict:
    """Villages, existing covering sites and candidates of the Linyi default, in UTM 50N.

    With ``county_code``, only that county's (or, with ``townships``, its first townships').
    """
    from township_coverage import load_project, validate_project

    validation = validate_project(load_project())
    villages = validation.village_join.usable()
    if county_code is not None:
        villages = villages[villages["township_code"].str[:6] == county_code]
        if townships is not None:
            villages = villages[villages["township_code"].isin(sorted(set(villages["township_code"]))[:townships])]
    sites = validation.site_join.usable()
    sites = sites[sites["township_code"].isin(villages["township_code"])]
    existing = sites[sites["site_type"].isin(["township_station", "community_room"])]
    hosts = set(sites.loc[sites["site_type"] == "community_room", "village_code"].dropna())
    candidates = villages[~villages["village_code"].isin(hosts)]
    utm = "EPSG:32650"
    return {
        "villages": _xy(villages.to_crs(utm)),
        "weights": villages["population"].to_numpy(dtype=float),
        "existing": _xy(existing.to_crs(utm)),
        "candidates": _xy(candidates.to_crs(utm)),
    }


def generated_instance(n: int = 50_000, seed: int = 7) -> dict:
    """Clustered villages over 400 x 400 km; 10 % host a room, 1 in 30 a station."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0, 400_000, size=(400, 2))
    members = rng.integers(0, len(centres), size=n)
    villages = centres[members] + rng.normal(0, 6_000, size=(n, 2))
    weights = rng.lognormal(7.5, 0.6, size=n).round()
    order = rng.permutation(n)
    rooms, stations = order[: n // 10], order[n // 10 : n // 10 + n // 30]
    existing = np.vstack([villages[rooms], villages[stations] + rng.normal(0, 500, size=(len(stations), 2))])
    candidates = np.delete(villages, rooms, axis=0)
    return {"villages": villages, "weights": weights, "existing": existing, "candidates": candidates}


def _xy(frame) -> np.ndarray:
    return np.column_stack([frame.geometry.x, frame.geometry.y])


# --- workers (run in subprocesses) -----------------------------------------


def _problem(instance: dict):
    """Our sparse relation from the instance's point layers."""
    import geopandas as gpd
    import pandas as pd

    from township_coverage.plan import coverage_problem

    def layer(xy: np.ndarray, **columns) -> gpd.GeoDataFrame:
        return gpd.GeoDataFrame(pd.DataFrame(columns), geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs="EPSG:32650")

    villages = layer(instance["villages"], township_code=["t"] * len(instance["villages"]))
    candidates = layer(instance["candidates"], township_code=["t"] * len(instance["candidates"]))
    return coverage_problem(villages, layer(instance["existing"]), candidates, radius_m=RADIUS_M,
                            weight=instance["weights"])


#: Our ways of solving maximal covering: name -> keyword arguments of ``maximize_coverage``.
COVERAGE_SOLVERS = {
    "exact (default)": {"method": "exact"},
    "exact, split": {"method": "exact", "split": True},
    "exact, one model": {"method": "exact", "split": False},
    "heuristic": {"method": "heuristic"},
}


def solve_coverage_ours(instance: dict, k: int, solver: str) -> dict:
    from township_coverage.plan import maximize_coverage

    start = time.perf_counter()
    problem = _problem(instance)
    result = maximize_coverage(problem, k, time_limit_s=3600, **COVERAGE_SOLVERS[solver])
    return {
        "new": result.objective,
        "covered": problem.covered_weight + result.objective,
        "bound": problem.covered_weight + result.bound,
        "gap": result.gap,
        "status": result.status,
        "strategy": ", ".join(result.notes),
        "seconds": time.perf_counter() - start,
    }


def solve_coverage_spopt(instance: dict, k: int) -> dict:
    import pulp
    from scipy.spatial.distance import cdist
    from spopt.locate import MCLP

    start = time.perf_counter()
    facilities = np.vstack([instance["existing"], instance["candidates"]])
    predefined = np.zeros(len(facilities), dtype=bool)
    predefined[: len(instance["existing"])] = True
    cost = cdist(instance["villages"], facilities)
    model = MCLP.from_cost_matrix(
        cost, instance["weights"], service_radius=RADIUS_M,
        p_facilities=int(predefined.sum()) + k, predefined_facilities_arr=predefined, name="bench",
    )
    model = model.solve(pulp.PULP_CBC_CMD(msg=False))
    covered = float(pulp.value(model.problem.objective))
    return {"covered": covered, "bound": covered, "status": pulp.LpStatus[model.problem.status],
            "seconds": time.perf_counter() - start}


#: Worker functions by (objective, solver); "spopt" is the peer, every other name is ours.
WORKERS: dict[str, Callable[[dict, int, str], dict]] = {
    "coverage": lambda instance, k, solver: (
        solve_coverage_spopt(instance, k) if solver == "spopt" else solve_coverage_ours(instance, k, solver)
    ),
}


def worker(objective: str, instance_path: str, solver: str, k: int) -> None:
    with open(instance_path, "rb") as handle:
        instance = pickle.load(handle)
    result = WORKERS[objective](instance, k, solver)
    result["peak_rss_bytes"] = max(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    ) * 1024
    print(json.dumps(result))


def measure(objective: str, instance_path: Path, solver: str, k: int, *, repeats: int = 1) -> dict:
    """Run one solver in fresh processes: its time (the least of ``repeats`` runs) and peak memory are its own."""
    runs = []
    for _ in range(repeats):
        output = subprocess.run(
            [sys.executable, __file__, "--worker", objective, str(instance_path), solver, str(k)],
            check=True, capture_output=True, text=True,
        ).stdout
        runs.append(json.loads(output.strip().splitlines()[-1]))
    return min(runs, key=lambda run: run["seconds"])


#: Our solvers run this many times each (the least time counts: the machine is shared); the peer once.
OUR_REPEATS = 3


# --- sections: one per objective ----------------------------------------------


def spopt_fits(instance: dict) -> tuple[bool, float]:
    """Whether spopt's dense villages x facilities matrix (with its copies) fits; its size in bytes."""
    dense = 8 * len(instance["villages"]) * (len(instance["existing"]) + len(instance["candidates"]))
    return 3 * dense <= MEMORY_BUDGET_BYTES, dense


def coverage_section(instances: dict[str, tuple[Path, dict, tuple[int, ...]]], *, peer: bool = True) -> None:
    """Maximal covering: our exact (default and both strategies) and heuristic against spopt's MCLP + CBC."""
    print("\n== maximal covering (new rooms, K) ==")
    for name, (path, instance, ks) in instances.items():
        fits, dense = spopt_fits(instance)
        for k in ks:
            n_facilities = len(instance["existing"]) + len(instance["candidates"])
            print(f"\n{name}: {len(instance['villages']):,} villages, {n_facilities:,} facilities, "
                  f"R = {RADIUS_M / 1000:g} km, K = {k}")
            runs = {solver: measure("coverage", path, solver, k, repeats=OUR_REPEATS) for solver in COVERAGE_SOLVERS}
            if fits and peer:
                runs["spopt"] = measure("coverage", path, "spopt", k)
            for solver, run in runs.items():
                print(f"  {solver:<17} covered {run['covered']:>14,.0f}  status {run['status']:<10} "
                      f"{run['seconds']:8.2f} s  peak {run['peak_rss_bytes'] / 2**20:8.0f} MiB")
            _coverage_comparison(runs, fits, dense)


def _coverage_comparison(runs: dict[str, dict], fits: bool, dense: float) -> None:
    default, split, whole = runs["exact (default)"], runs["exact, split"], runs["exact, one model"]
    heuristic = runs["heuristic"]
    fastest = min(split["seconds"], whole["seconds"])
    print(f"  default chose: {default['strategy']}; "
          f"default / faster strategy: {default['seconds'] / fastest:.2f}x")
    same = all(abs(run["covered"] - whole["covered"]) <= 1e-9 * whole["covered"] for run in (default, split))
    print(f"  exact strategies agree: {same}")
    print(f"  heuristic / optimum, newly covered: {heuristic['new'] / whole['new']:.3%}; "
          f"proven gap (LP bound {heuristic['bound']:,.0f}): {heuristic['gap']:.2%}")
    if "spopt" not in runs:
        if not fits:
            print(f"  spopt+CBC: not run; its dense cost matrix alone needs {dense / 2**30:.1f} GiB "
                  f"(with copies about {3 * dense / 2**30:.0f} GiB; this machine has 24 GiB)")
        return
    spopt = runs["spopt"]
    print(f"  objectives equal (exact vs spopt): {abs(spopt['covered'] - default['covered']) <= 1e-6 * default['covered']}")
    print(f"  spopt+CBC time / exact default: {spopt['seconds'] / default['seconds']:.1f}x; "
          f"/ heuristic: {spopt['seconds'] / heuristic['seconds']:.1f}x")
    print(f"  spopt+CBC peak memory / exact default: {spopt['peak_rss_bytes'] / default['peak_rss_bytes']:.1f}x")


#: Sections by objective: each takes the instances (and whether to run the peer) and prints its table.
SECTIONS: dict[str, Callable[..., None]] = {"coverage": coverage_section}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 generated villages with K = 50 only")
    parser.add_argument("--objective", choices=sorted(SECTIONS), action="append",
                        help="sections to run (default: all)")
    parser.add_argument("--no-peer", action="store_true", help="run ours only (spopt's results are known)")
    args = parser.parse_args()
    if args.quick:
        chosen = {"generated 2k": (generated_instance(2_000), (50,))}
    else:
        chosen = {"Linyi": (linyi_instance(), (50, 200)), "generated 50k": (generated_instance(), (200,))}
    with tempfile.TemporaryDirectory() as folder:
        instances = {}
        for name, (instance, ks) in chosen.items():
            path = Path(folder) / f"{name.replace(' ', '_')}.pickle"
            with open(path, "wb") as handle:
                pickle.dump(instance, handle)
            instances[name] = (path, instance, ks)
        for objective in args.objective or SECTIONS:
            SECTIONS[objective](instances, peer=not args.no_peer)


# --- distance objectives: p-median and p-center ------------------------------------
#
# ``python bench/bench_plan.py distance``: ours (exact and heuristic) against
# spopt's PMedian and PCenter with their predefined facilities, solved by CBC.
# spopt's models have one assignment variable per village and facility (a
# dense matrix): on the whole of Linyi that is 18 million PuLP variables, so
# spopt runs on one county of Linyi, and is not run where its matrix (and the
# PuLP objects built on it, about 1 KiB per variable) would not fit.

#: Bytes spopt + PuLP + CBC need per assignment variable: about 2.9 KiB on 沂水县
#: (710 MiB peak for 156,000 variables, 308 MiB for 15,000).
PULP_BYTES_PER_VARIABLE = 3 * 1024
#: CBC's time limit on spopt's distance models.
SPOPT_TIME_LIMIT_S = 1200
#: spopt's PCenter runs up to this many assignment variables: CBC did not solve 沂水县's
#: (386 villages x 404 facilities, K = 5) within 20 minutes; 4 of its townships take 4 s.
SPOPT_PCENTER_VARIABLES = 50_000


def solve_ours_distance(instance: dict, k: int, objective: str, method: str) -> dict:
    import geopandas as gpd
    import pandas as pd

    from township_coverage.plan.distance import distance_problem, solve_distance_objective

    def layer(xy: np.ndarray, **columns) -> gpd.GeoDataFrame:
        return gpd.GeoDataFrame(pd.DataFrame(columns), geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs="EPSG:32650")

    start = time.perf_counter()
    candidates = layer(instance["candidates"], township_code=["t"] * len(instance["candidates"]))
    problem = distance_problem(layer(instance["villages"]), layer(instance["existing"]), candidates,
                               weight=instance["weights"])
    result = solve_distance_objective(problem, k, objective, method=method, time_limit_s=3600)
    # In spopt's units: total weighted metres (p-median) or the worst distance in metres (p-center).
    scale = 1000 * (instance["weights"].sum() if objective == "distance" else 1)
    return {"value": result.objective * scale, "bound": result.bound * scale, "status": result.status,
            "rooms": len(result.chosen), "pairs": len(problem.pair_metres), "seconds": time.perf_counter() - start}


def solve_spopt_distance(instance: dict, k: int, objective: str) -> dict:
    import pulp
    from scipy.spatial.distance import cdist
    from spopt.locate import PCenter, PMedian

    start = time.perf_counter()
    facilities = np.vstack([instance["existing"], instance["candidates"]])
    predefined = np.zeros(len(facilities), dtype=bool)
    predefined[: len(instance["existing"])] = True
    cost = cdist(instance["villages"], facilities)
    p = int(predefined.sum()) + k
    if objective == "distance":
        model = PMedian.from_cost_matrix(cost, instance["weights"], p_facilities=p,
                                         predefined_facilities_arr=predefined, name="bench")
    else:
        model = PCenter.from_cost_matrix(cost, p_facilities=p, predefined_facilities_arr=predefined, name="bench")
    model = model.solve(pulp.PULP_CBC_CMD(msg=False, timeLimit=SPOPT_TIME_LIMIT_S))
    value = float(pulp.value(model.problem.objective))
    seconds = time.perf_counter() - start
    status = pulp.LpStatus[model.problem.status] if seconds < SPOPT_TIME_LIMIT_S else "time limit"
    return {"value": value, "bound": value, "status": status, "seconds": seconds}


def distance_worker(instance_path: str, solver: str, k: int, objective: str) -> None:
    with open(instance_path, "rb") as handle:
        instance = pickle.load(handle)
    if solver == "spopt":
        result = solve_spopt_distance(instance, k, objective)
    else:
        result = solve_ours_distance(instance, k, objective, solver)
    result["peak_rss_bytes"] = max(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    ) * 1024
    print(json.dumps(result))


def measure_distance(instance_path: Path, solver: str, k: int, objective: str) -> dict:
    output = subprocess.run(
        [sys.executable, __file__, "--distance-worker", str(instance_path), solver, str(k), objective],
        check=True, capture_output=True, text=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def main_distance() -> None:
    instances = {
        "Linyi, 4 townships of 沂水县": (linyi_instance("371323", townships=4), (5,)),
        "Linyi, 沂水县": (linyi_instance("371323"), (5,)),
        "Linyi": (linyi_instance(), (50, 200)),
        "generated 50k": (generated_instance(), (200,)),
    }
    units = {"distance": ("total weighted distance", 1e6, "people x 1,000 km"), "worst-distance": ("worst distance", 1e3, "km")}
    with tempfile.TemporaryDirectory() as folder:
        for name, (instance, ks) in instances.items():
            path = Path(folder) / f"{name.replace(' ', '_').replace(',', '')}.pickle"
            with open(path, "wb") as handle:
                pickle.dump(instance, handle)
            n_villages, n_facilities = len(instance["villages"]), len(instance["existing"]) + len(instance["candidates"])
            pulp_bytes = PULP_BYTES_PER_VARIABLE * n_villages * n_facilities
            for k in ks:
                for objective in ("distance", "worst-distance"):
                    what, divisor, unit = units[objective]
                    print(f"\n{name}: {n_villages:,} villages, {n_facilities:,} facilities, K = {k}, {objective}")
                    runs = {solver: measure_distance(path, solver, k, objective) for solver in ("exact", "heuristic")}
                    pcenter_too_slow = objective == "worst-distance" and n_villages * n_facilities > SPOPT_PCENTER_VARIABLES
                    if pulp_bytes <= MEMORY_BUDGET_BYTES and not pcenter_too_slow:
                        runs["spopt"] = measure_distance(path, "spopt", k, objective)
                    for solver, run in runs.items():
                        print(f"  {solver:<10} {what} {run['value'] / divisor:>14,.4f} {unit} (bound {run['bound'] / divisor:,.4f})"
                              f"  status {run['status']:<10} {run['seconds']:8.2f} s  peak {run['peak_rss_bytes'] / 2**20:8.0f} MiB")
                    exact, heuristic = runs["exact"], runs["heuristic"]
                    print(f"  sparse pairs: {exact['pairs']:,} (a full matrix: {n_villages * n_facilities:,})")
                    print(f"  heuristic / optimum: {heuristic['value'] / exact['value']:.4f}; "
                          f"heuristic / its bound: {heuristic['value'] / heuristic['bound']:.4f}")
                    if "spopt" in runs:
                        spopt = runs["spopt"]
                        same = abs(spopt["value"] - exact["value"]) <= 1e-6 * exact["value"]
                        print(f"  objectives equal (exact vs spopt): {same}"
                              + ("" if spopt["status"] == "Optimal" else f" (spopt: {spopt['status']})"))
                        print(f"  spopt+CBC time / exact: {spopt['seconds'] / exact['seconds']:.1f}x; "
                              f"/ heuristic: {spopt['seconds'] / heuristic['seconds']:.1f}x; "
                              f"peak memory / exact: {spopt['peak_rss_bytes'] / exact['peak_rss_bytes']:.1f}x")
                    elif pulp_bytes <= MEMORY_BUDGET_BYTES:
                        print(f"  spopt+CBC: not run; with {n_villages * n_facilities:,} assignment variables CBC "
                              f"solves no p-center in 20 minutes")
                    else:
                        print(f"  spopt+CBC: not run; its model has {n_villages * n_facilities:,} assignment variables "
                              f"(about {pulp_bytes / 2**30:.0f} GiB with PuLP and CBC; this machine has 24 GiB)")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
    elif len(sys.argv) > 1 and sys.argv[1] == "--distance-worker":
        distance_worker(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
    elif len(sys.argv) > 1 and sys.argv[1] == "distance":
        main_distance()
    else:
        main()
