"""Benchmark: planning new rooms, township-coverage against spopt's MCLP + CBC.

Same instances, one run, side by side:

- Linyi (4,186 villages, existing rooms and stations fixed, candidates =
  villages without a room), R = 3 km, K = 50 and K = 200;
- a generated instance of 50,000 villages (clustered over 400 x 400 km),
  R = 3 km, K = 200.

Ours runs three ways: exact split by components (the default), exact as
one model of the whole relation, and the heuristic.

Each solver runs in its own subprocess, starting from the same point layers
in a metric CRS, so that time includes building the model (our sparse
relation; spopt's dense cost matrix, as its ``from_cost_matrix`` needs) and
peak memory is the process's maximum resident set (CBC's included).
spopt is skipped, with the reason, where its dense matrix would not fit in
memory.

Usage: ``python bench/bench_plan.py`` (needs ``pip install spopt pulp``).
Prints objectives (covered population, existing coverage included; the
exact method must equal spopt's), the heuristic's ratio to the optimum, and
spopt's time and memory as multiples of ours.
"""

from __future__ import annotations

import json
import pickle
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

RADIUS_M = 3000.0
MEMORY_BUDGET_BYTES = 12 * 2**30  # spopt's dense matrix must fit in this


def linyi_instance() -> dict:
    """Villages, existing covering sites and candidates of the Linyi default, in UTM 50N."""
    from township_coverage import load_project, validate_project

    validation = validate_project(load_project())
    villages = validation.village_join.usable()
    sites = validation.site_join.usable()
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


def solve_ours(instance: dict, k: int, method: str) -> dict:
    import geopandas as gpd
    import pandas as pd

    from township_coverage.plan import coverage_problem, maximize_coverage

    def layer(xy: np.ndarray, **columns) -> gpd.GeoDataFrame:
        return gpd.GeoDataFrame(pd.DataFrame(columns), geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs="EPSG:32650")

    start = time.perf_counter()
    villages = layer(instance["villages"], township_code=["t"] * len(instance["villages"]))
    candidates = layer(instance["candidates"], township_code=["t"] * len(instance["candidates"]))
    problem = coverage_problem(villages, layer(instance["existing"]), candidates,
                               radius_m=RADIUS_M, weight=instance["weights"])
    if method == "exact-one-model":
        result = maximize_coverage(problem, k, method="exact", split=False, time_limit_s=3600)
    else:
        result = maximize_coverage(problem, k, method=method, time_limit_s=3600)
    return {
        "new": result.objective,
        "covered": problem.covered_weight + result.objective,
        "bound": problem.covered_weight + result.bound,
        "status": result.status,
        "seconds": time.perf_counter() - start,
    }


def solve_spopt(instance: dict, k: int) -> dict:
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


def worker(instance_path: str, solver: str, k: int) -> None:
    with open(instance_path, "rb") as handle:
        instance = pickle.load(handle)
    result = solve_spopt(instance, k) if solver == "spopt" else solve_ours(instance, k, solver)
    result["peak_rss_bytes"] = max(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    ) * 1024
    print(json.dumps(result))


def measure(instance_path: Path, solver: str, k: int) -> dict:
    output = subprocess.run(
        [sys.executable, __file__, "--worker", str(instance_path), solver, str(k)],
        check=True, capture_output=True, text=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    instances = {"Linyi": (linyi_instance(), (50, 200)), "generated 50k": (generated_instance(), (200,))}
    with tempfile.TemporaryDirectory() as folder:
        for name, (instance, ks) in instances.items():
            path = Path(folder) / f"{name.replace(' ', '_')}.pickle"
            with open(path, "wb") as handle:
                pickle.dump(instance, handle)
            n_villages, n_facilities = len(instance["villages"]), len(instance["existing"]) + len(instance["candidates"])
            dense_bytes = 8 * n_villages * n_facilities
            for k in ks:
                print(f"\n{name}: {n_villages:,} villages, {n_facilities:,} facilities, R = {RADIUS_M / 1000:g} km, K = {k}")
                runs = {solver: measure(path, solver, k) for solver in ("exact", "exact-one-model", "heuristic")}
                if dense_bytes * 3 <= MEMORY_BUDGET_BYTES:
                    runs["spopt"] = measure(path, "spopt", k)
                for solver, run in runs.items():
                    print(f"  {solver:<16} covered {run['covered']:>14,.0f}  status {run['status']:<10} "
                          f"{run['seconds']:8.2f} s  peak {run['peak_rss_bytes'] / 2**20:8.0f} MiB")
                exact, heuristic = runs["exact"], runs["heuristic"]
                one = runs["exact-one-model"]
                print(f"  exact split by components equals exact as one model: "
                      f"{abs(one['covered'] - exact['covered']) <= 1e-9 * exact['covered']}")
                print(f"  heuristic / optimum, newly covered: {heuristic['new'] / exact['new']:.4f}; "
                      f"all covered: {heuristic['covered'] / exact['covered']:.4f} (LP bound {heuristic['bound']:,.0f})")
                if "spopt" in runs:
                    spopt = runs["spopt"]
                    same = abs(spopt["covered"] - exact["covered"]) <= 1e-6 * exact["covered"]
                    print(f"  objectives equal (exact vs spopt): {same}")
                    print(f"  spopt+CBC time / exact: {spopt['seconds'] / exact['seconds']:.1f}x; "
                          f"/ exact as one model: {spopt['seconds'] / runs['exact-one-model']['seconds']:.1f}x; "
                          f"/ heuristic: {spopt['seconds'] / heuristic['seconds']:.1f}x")
                    print(f"  spopt+CBC peak memory / exact: {spopt['peak_rss_bytes'] / exact['peak_rss_bytes']:.1f}x")
                else:
                    print(f"  spopt+CBC: not run; its dense cost matrix alone needs {dense_bytes / 2**30:.1f} GiB "
                          f"(with copies about {3 * dense_bytes / 2**30:.0f} GiB; this machine has 24 GiB)")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        main()
