"""Distances along roads: the graph, hand-computed shortest paths, coverage across a river, bad road files."""

from __future__ import annotations

import json
import textwrap
import time
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner
from shapely.geometry import LineString, Point

from township_coverage.cli import main
from township_coverage.errors import ConfigError, InputDataError
from township_coverage.inputs.config import RoadsConfig, load_project
from township_coverage.inputs.io import read_roads
from township_coverage.pipeline import run
from township_coverage.plan import coverage_problem, distances_within, maximize_coverage, road_network

UTM = "EPSG:32650"
#: Local origin in UTM 50N (near 118°E 35°N); test coordinates are metres from it.
X0, Y0 = 590_000.0, 3_873_000.0


def _lines(*coordinates) -> np.ndarray:
    """LineStrings in UTM 50N from local metre coordinates."""
    return np.array([LineString([(X0 + x, Y0 + y) for x, y in line]) for line in coordinates], dtype=object)


def _xy(*points) -> np.ndarray:
    return np.array([(X0 + x, Y0 + y) for x, y in points], dtype=float)


# --- shortest paths by hand -----------------------------------------------------------------

def _grid_without_one_edge():
    """A 3 x 3 grid of 1 km blocks (nodes (0..2 km, 0..2 km)) without the edge (0,0)-(1,0)."""
    rows = [[(0, 1000), (1000, 1000), (2000, 1000)], [(0, 2000), (1000, 2000), (2000, 2000)],
            [(1000, 0), (2000, 0)]]
    columns = [[(k * 1000, 0), (k * 1000, 1000), (k * 1000, 2000)] for k in range(3)]
    return road_network(_lines(*rows, *columns), UTM)


def test_grid_distances_equal_a_hand_computation():
    network = _grid_without_one_edge()
    assert len(network.node_xy) == 9 and len(network.edges) == 11
    # A: 200 m south of corner (0,0); B: 300 m south of (1 km, 0); C: 100 m north of the top edge's middle.
    origins = _xy((0, -200))
    targets = _xy((1000, -300), (500, 2100))
    # A -> B: 200 off-road, up (0,0)->(0,1 km), across to (1 km,1 km), down to (1 km,0): 3000, then 300 off-road.
    # A -> C: 200, up 2000 to (0,2 km), 500 along the top, 100 off-road. (Straight lines: 1005 m and 2358 m.)
    origin, target, distance = network.pairs_within(origins, targets, limit_m=4000)
    assert origin.tolist() == [0, 0] and target.tolist() == [0, 1]
    assert distance == pytest.approx([200 + 3000 + 300, 200 + 2000 + 500 + 100])
    origin, target, distance = network.pairs_within(origins, targets, limit_m=3000)
    assert target.tolist() == [1] and distance == pytest.approx([2800])
    assert network.nearest_m(origins, targets) == pytest.approx([2800])
    # Without a limit every pair is measured (the distance objectives ask for that).
    assert network.pairs_within(origins, targets, limit_m=np.inf)[2] == pytest.approx([3500, 2800])


def test_points_on_one_edge_meet_along_it_and_a_point_is_at_zero_from_itself():
    network = road_network(_lines([(0, 0), (3000, 0)]), UTM)
    points = _xy((1000, 50), (2000, -50))
    origin, target, distance = network.pairs_within(points, points, limit_m=5000)
    assert origin.tolist() == [0, 0, 1, 1] and target.tolist() == [0, 1, 0, 1]
    assert distance == pytest.approx([0, 50 + 1000 + 50, 1100, 0])


def test_touching_lines_connect_and_a_gap_does_not():
    # A T-junction (the end of the second line on the middle of the first), an end 0.5 m from
    # another end (snapped together), and a line 5 m short of the road (a gap: not connected).
    network = road_network(
        _lines([(0, 0), (2000, 0)], [(1000, 0), (1000, 1000)], [(1000, 1000.5), (1000, 2000)],
               [(2005, 0), (3000, 0)]),
        UTM,
    )
    start = _xy((0, 0))
    assert network.nearest_m(start, _xy((1000, 2000))) == pytest.approx([1000 + 1000 + 1000], abs=1)
    assert np.isinf(network.nearest_m(start, _xy((3000, 0))))[0]


def test_multilinestrings_and_repeated_lines_make_one_graph():
    double = shapely.MultiLineString([[(X0, Y0), (X0 + 1000, Y0)], [(X0 + 1000, Y0), (X0 + 1000, Y0 + 1000)]])
    network = road_network(np.array([double, double], dtype=object), UTM)
    assert len(network.edges) == 2 and network.lengths.sum() == pytest.approx(2000)


# --- coverage across a river with one bridge ------------------------------------------------

#: South bank road y = -500 m, north bank road y = +500 m, both from x = -5 km to 5 km; one bridge at x = 3.5 km.
RIVER_ROADS = ([(-5000, -500), (5000, -500)], [(-5000, 500), (5000, 500)], [(3500, -500), (3500, 500)])
#: Villages on the roads: name -> (x, y, population).
RIVER_VILLAGES = {
    "S0": (0, -500, 100), "S1": (-1200, -500, 30),
    "N0": (0, 500, 100), "N1": (1200, 500, 60), "N2": (2400, 500, 20),
}


def _river_villages() -> gpd.GeoDataFrame:
    names = list(RIVER_VILLAGES)
    x, y, population = (np.array(v, dtype=float) for v in zip(*RIVER_VILLAGES.values()))
    return gpd.GeoDataFrame(
        {"village_code": names, "township_code": "T", "population": population},
        geometry=shapely.points(X0 + x, Y0 + y), crs=UTM,
    ).to_crs("EPSG:4326")


def test_villages_across_the_river_are_1_km_apart_but_8_km_by_road():
    villages = _river_villages()
    network = road_network(_lines(*RIVER_ROADS), UTM)
    south, north = villages.geometry.iloc[[0]], villages.geometry.iloc[[2]]
    straight = distances_within(south, north, limit_m=10_000)[2]
    by_road = distances_within(south, north, limit_m=10_000, roads=network)[2]
    assert straight == pytest.approx([1000], abs=0.01)
    assert by_road == pytest.approx([3500 + 1000 + 3500], abs=0.01)
    assert len(distances_within(south, north, limit_m=7_999, roads=network)[0]) == 0


def test_road_coverage_chooses_another_village_than_straight_lines():
    # Radius 1.5 km, one room, every village a candidate. Worked out by hand:
    # straight lines: N0 reaches S0 (1 km across the river), N1 (1.2 km) and itself: 100+100+60 = 260;
    #   the next best, S0, reaches N0 and S1: 230. So N0.
    # along roads (across only by the bridge, 8 km from S0 to N0): N1 reaches N0, N2 and itself: 180;
    #   N0 reaches N1: 160; S0 and S1 reach each other: 130. So N1.
    villages = _river_villages()
    population = villages["population"].to_numpy()
    no_sites = villages.iloc[:0]
    network = road_network(_lines(*RIVER_ROADS), UTM)
    # (Candidate, village) pairs within 1.5 km, itself included: straight, S0 3 (S0 S1 N0), S1 2, N0 3 (N0 S0 N1),
    # N1 3 (N1 N0 N2), N2 2; along roads, S0 2 (S0 S1), S1 2, N0 2 (N0 N1), N1 3, N2 2.
    for roads, best, covered, pairs in [(None, "N0", 260, 13), (network, "N1", 180, 11)]:
        problem = coverage_problem(villages, no_sites, villages, radius_m=1500, weight=population, roads=roads)
        result = maximize_coverage(problem, 1, method="exact")
        assert villages.loc[problem.candidate_index[result.chosen], "village_code"].tolist() == [best]
        assert result.objective == covered
        assert problem.covers.nnz == pairs


def test_existing_sites_cover_along_roads_only():
    villages = _river_villages()
    station = villages.iloc[[0]]  # a station in S0
    network = road_network(_lines(*RIVER_ROADS), UTM)
    population = villages["population"].to_numpy()
    straight = coverage_problem(villages, station, villages, radius_m=1500, weight=population)
    by_road = coverage_problem(villages, station, villages, radius_m=1500, weight=population, roads=network)
    assert straight.covered_weight == 100 + 30 + 100  # S0, S1 and N0 across the river
    assert by_road.covered_weight == 100 + 30



def test_a_scenario_is_measured_along_roads_too():
    # A station in S0 and a room in N1, radius 1.5 km. Straight lines: the station covers S0, S1 and N0
    # (230 people), the room then adds N1 and N2 (80). Along roads: the station S0 and S1 (130), the room N0,
    # N1 and N2 (180).
    from township_coverage.plan.scenario import scenario_figures

    villages = _river_villages()
    station = villages.iloc[[0]]
    townships = pd.DataFrame({"township_code": ["T"], "county_name": ["C"]})
    network = road_network(_lines(*RIVER_ROADS), UTM)
    for roads, before, gain in [(None, 230, 80), (network, 130, 180)]:
        figures = scenario_figures(villages, station, ["N1"], radius_km=1.5, townships=townships,
                                   weight=villages["population"].to_numpy(), roads=roads)
        assert (figures.covered_before, figures.gains.tolist()) == (before, [gain])


def test_the_distance_objectives_measure_along_roads_too():
    # From a station in S0: N0 is 1 km away across the river, 8 km by road over the bridge.
    from township_coverage.plan.distance import nearest_distances
    from township_coverage.plan.network import road_pairs
    from township_coverage.plan.problem import distance_pairs

    villages = _river_villages()
    network = road_network(_lines(*RIVER_ROADS), UTM)
    xy = shapely.get_coordinates(villages.to_crs(network.crs).geometry.to_numpy())
    station = xy[[0]]
    straight = nearest_distances(xy, station, distance_pairs)
    by_road = nearest_distances(xy, station, road_pairs(network))
    assert straight[2] == pytest.approx(1000, abs=0.01)
    assert by_road[2] == pytest.approx(8000, abs=0.01)
    assert by_road[1] == pytest.approx(straight[1], abs=0.01)  # S1 lies along the southern road

# --- the project file, bad road files --------------------------------------------------------

def _write_river_project(
    folder: Path, roads_settings: str = 'roads = "roads.gpkg"', *, station: tuple[float, float] = (-4500, -500),
) -> Path:
    """The river villages as a project: one township, a station (by default far west on the south road), roads in UTM.

    The radius is 1.5 km.
    """
    area = shapely.box(X0 - 6000, Y0 - 3000, X0 + 6000, Y0 + 3000)
    gpd.GeoDataFrame(
        {"township_code": ["370000001"], "township_name": ["河口镇"], "county_code": ["370000"],
         "county_name": ["河县"]},
        geometry=[area], crs=UTM,
    ).to_crs("EPSG:4326").to_file(folder / "townships.geojson", driver="GeoJSON")
    villages = _river_villages()
    table = pd.DataFrame({
        "village_code": [f"3700000012{i:02d}" for i in range(len(villages))],
        "village_name": villages["village_code"] + "村",
        "lon": villages.geometry.x.round(7), "lat": villages.geometry.y.round(7),
        "population": villages["population"].astype(int),
    })
    table.to_csv(folder / "villages.csv", index=False)
    station = gpd.GeoSeries([Point(X0 + station[0], Y0 + station[1])], crs=UTM).to_crs("EPSG:4326").iloc[0]
    (folder / "sites.csv").write_text(
        "site_id,site_type,name,lon,lat,staff\n"
        f"S1,社工站,河口镇社工站,{station.x:.7f},{station.y:.7f},2\n", encoding="utf-8",
    )
    gpd.GeoDataFrame(geometry=list(_lines(*RIVER_ROADS)), crs=UTM).to_file(folder / "roads.gpkg", layer="roads")
    (folder / "project.toml").write_text(
        textwrap.dedent(
            """\
            [project]
            name = "river"
            [layers.townships]
            path = "townships.geojson"
            [layers.sites]
            path = "sites.csv"
            crs = "EPSG:4326"
            [layers.villages]
            path = "villages.csv"
            crs = "EPSG:4326"
            [indicators]
            radius_km = 1.5
            [plan]
            """
        ) + roads_settings + "\n",
        encoding="utf-8",
    )
    return folder / "project.toml"


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_plan_along_roads_says_so_and_picks_the_road_answer(tmp_path, lang):
    project = _write_river_project(tmp_path)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, [
        "plan", "--project", str(project), "--new-rooms", "1", "--radius-km", "1.5", "--output", str(out),
        "--lang", lang, "--quiet",
    ])
    assert result.exit_code == 0, result.output
    if lang == "zh":
        assert "服务半径 1.5 公里，沿道路" in result.output
        assert "距离沿道路网（roads.gpkg）计算" in result.output
    else:
        assert "radius 1.5 km, along roads" in result.output
        assert "distances are along the road network (roads.gpkg)" in result.output
    facts = json.loads((out / "plan_summary.json").read_text(encoding="utf-8"))
    assert facts["parameters"]["distance"] == "roads"
    assert [room["village_name"] for room in facts["rooms"]] == ["N1村"]
    assert facts["rooms"][0]["newly_covered"] == 180
    # The township table after the plan counts the same people within the radius along roads.
    assert facts["city"]["after"]["population_within_radius"] == 180


def test_plan_without_roads_is_straight(tmp_path):
    project = _write_river_project(tmp_path, roads_settings="")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, [
        "plan", "--project", str(project), "--new-rooms", "1", "--radius-km", "1.5", "--output", str(out), "--quiet",
    ])
    assert result.exit_code == 0, result.output
    assert "沿道路" not in result.output
    facts = json.loads((out / "plan_summary.json").read_text(encoding="utf-8"))
    assert facts["parameters"]["distance"] == "straight"
    assert [room["village_name"] for room in facts["rooms"]] == ["N0村"]


@pytest.mark.parametrize("roads", [True, False])
def test_run_counts_villages_within_the_radius_along_roads(tmp_path, roads):
    # A station in S0. Within 1.5 km along roads: S0 and S1 (130 people); in a straight line N0 too (230).
    # Farthest village along roads: N0, 3.5 km east, over the bridge and 3.5 km back: 8 km;
    # in a straight line: N2, hypot(2.4, 1) = 2.6 km.
    project = _write_river_project(tmp_path, 'roads = "roads.gpkg"' if roads else "", station=(0, -500))
    result = run(load_project(project, output_dir=tmp_path / "out"), report_formats=())
    row = result.townships.loc["370000001"]
    assert any("距离沿道路网（roads.gpkg）计算" in note for note in result.notes) == roads
    assert row["villages_within_radius"] == (2 if roads else 3)
    assert row["population_within_radius"] == (130 if roads else 230)
    assert row["max_distance_km"] == pytest.approx(8.0 if roads else 2.6, abs=0.001)
    # Along roads: 0, 1.2 (S1), 5.6 (N2), 6.8 (N1), 8 (N0) km; straight: 0, 1, 1.2, 1.56, 2.6 km.
    assert row["median_distance_km"] == pytest.approx(5.6 if roads else 1.2, abs=0.001)


def test_road_settings_need_the_road_file(tmp_path):
    project = _write_river_project(tmp_path, roads_settings='roads_layer = "roads"')
    with pytest.raises(ConfigError, match=r'\[plan\] roads_layer = "roads": it describes the road file'):
        load_project(project)
    project = _write_river_project(tmp_path, roads_settings='road = "roads.gpkg"')
    with pytest.raises(ConfigError, match=r"unknown key \[plan\] road; did you mean roads\?"):
        load_project(project)


def test_road_settings_are_read(tmp_path):
    project = _write_river_project(
        tmp_path, roads_settings='roads = "roads.gpkg"\nroads_layer = "roads"\nroads_crs = "EPSG:32650"'
    )
    assert load_project(project).roads == RoadsConfig(tmp_path.resolve() / "roads.gpkg", "roads", "EPSG:32650")
    assert load_project(_write_river_project(tmp_path, roads_settings="")).roads is None


def _bad_file(folder: Path, kind: str) -> RoadsConfig:
    """A road file with one thing wrong."""
    path = folder / f"{kind}.gpkg"
    lines = list(_lines(*RIVER_ROADS))
    if kind == "missing":
        pass
    elif kind == "points":
        gpd.GeoDataFrame(geometry=[Point(X0, Y0)], crs=UTM).to_file(path)
    elif kind == "empty":
        gpd.GeoDataFrame(geometry=gpd.GeoSeries([], crs=UTM)).to_file(path, layer="roads")
    elif kind == "no_crs":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # pyogrio warns of the missing CRS we want
            gpd.GeoDataFrame(geometry=lines).to_file(path)
    else:
        gpd.GeoDataFrame(geometry=lines, crs=UTM).to_file(path, layer="roads")
    return RoadsConfig(path, crs="EPSG:4326" if kind == "other_crs" else None,
                       layer="streets" if kind == "no_layer" else None)


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("missing", r"missing\.gpkg: road network file not found \(\[plan\] roads\)"),
        ("points", r"points\.gpkg: the road layer has no lines \(found: Point\)"),
        ("empty", r"empty\.gpkg: the road layer has no features"),
        ("no_crs", r"no_crs\.gpkg: the layer has no CRS; set \[plan\] roads_crs for it in the project file"),
        ("other_crs", r"other_crs\.gpkg, value 'EPSG:32650': the file's CRS differs from the project file's "
                      r"\[plan\] roads_crs = 'EPSG:4326'"),
        ("no_layer", r"no_layer\.gpkg, value 'streets': no such layer \(\[plan\] roads_layer\); the file has: roads"),
    ],
)
def test_bad_road_files_are_refused_clearly(tmp_path, kind, message):
    roads = _bad_file(tmp_path, kind)
    with pytest.raises(InputDataError, match=message):
        read_roads(roads)


@pytest.mark.parametrize(
    ("file", "message"),
    [("streets.shp", "streets.shp: road network file not found ([plan] roads)"),
     ("dots.gpkg", "dots.gpkg: the road lines have no length")],
)
def test_a_bad_road_file_stops_the_plan_without_a_traceback(tmp_path, file, message):
    project = _write_river_project(tmp_path, roads_settings=f'roads = "{file}"')
    degenerate = LineString([(X0, Y0), (X0, Y0)])  # a line of two equal points
    gpd.GeoDataFrame(geometry=[degenerate], crs=UTM).to_file(tmp_path / "dots.gpkg")
    result = CliRunner().invoke(main, ["plan", "--project", str(project), "--new-rooms", "1",
                                       "--output", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output


# --- a Linyi-size network ------------------------------------------------------------------------

def test_a_linyi_size_network_builds_and_solves_in_seconds():
    # 4,186 villages in a 130 km square crossed by a grid of roads every 800 m (52,812 edges).
    rng = np.random.default_rng(0)
    side, step = 129_600.0, 800.0
    ticks = np.arange(0.0, side + 1, step)
    lines = [LineString([(X0 + t, Y0 + u) for u in ticks]) for t in ticks]
    lines += [LineString([(X0 + u, Y0 + t) for u in ticks]) for t in ticks]
    xy = rng.uniform(0, side, (4186, 2)) + [X0, Y0]
    villages = gpd.GeoDataFrame(
        {"township_code": rng.integers(0, 156, 4186).astype(str)}, geometry=shapely.points(xy), crs=UTM
    ).to_crs("EPSG:4326")
    start = time.perf_counter()
    network = road_network(np.array(lines, dtype=object), UTM)
    problem = coverage_problem(villages, villages.iloc[:550], villages.iloc[550:], radius_m=3000, roads=network)
    result = maximize_coverage(problem, 50, method="exact")
    seconds = time.perf_counter() - start
    assert len(network.edges) == 2 * len(ticks) * (len(ticks) - 1)
    assert result.status == "optimal" and len(result.chosen) == 50
    assert seconds < 30, f"{seconds:.1f} s"
    # Road distances are never shorter than straight ones: fewer pairs within the radius.
    straight = coverage_problem(villages, villages.iloc[:550], villages.iloc[550:], radius_m=3000)
    assert problem.covers.nnz < straight.covers.nnz
