"""Indicators on a hand-computed case.

Two 1 km squares: A (118.00-118.01°E) and B (118.01-118.02°E), 35.00-35.01°N.
A has a station with 3 staff; B has two rooms, one of them in village v3.
Radius 0.3 km. Distances are geodesic (pyproj.Geod), independent of the UTM
computation under test.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from pyproj import Geod
from shapely.geometry import box

from township_coverage.join import assign_points_to_townships
from township_coverage.metrics import city_summary, coverage_table, roll_up

GEOD = Geod(ellps="WGS84")


def _distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    return GEOD.inv(a[0], a[1], b[0], b[1])[2]


@pytest.fixture
def table() -> pd.DataFrame:
    townships = gpd.GeoDataFrame(
        {
            "township_code": ["A", "B"],
            "township_name": ["甲", "乙"],
            "county_code": ["C1", "C1"],
            "county_name": ["县", "县"],
            "population": [1000, 3000],
        },
        geometry=[box(118.00, 35.00, 118.01, 35.01), box(118.01, 35.00, 118.02, 35.01)],
        crs="EPSG:4326",
    )
    sites = pd.DataFrame(
        {
            "site_id": ["S1", "R1", "R2"],
            "site_type": ["township_station", "community_room", "community_room"],
            "name": ["站", "室1", "室2"],
            "village_code": [None, "v3", None],
            "staff": pd.array([3, pd.NA, pd.NA], dtype="Int64"),
            "lon": [118.005, 118.015, 118.018],
            "lat": [35.005, 35.005, 35.002],
        }
    )
    villages = pd.DataFrame(
        {
            "village_code": ["v1", "v2", "v3", "v4"],
            "population": [400.0, 600.0, 1000.0, 2000.0],
            "lon": [118.005, 118.005, 118.015, 118.0185],
            "lat": [35.005, 35.009, 35.006, 35.0025],
        }
    )
    site_points = assign_points_to_townships(sites, townships).usable()
    village_points = assign_points_to_townships(villages, townships).usable()
    return coverage_table(townships, site_points, village_points, radius_km=0.3)


def test_counts_staff_and_station_presence(table):
    assert table.loc["A", ["stations", "station_staff", "community_rooms"]].tolist() == [1, 3, 0]
    assert table.loc["B", ["stations", "station_staff", "community_rooms"]].tolist() == [0, 0, 2]
    assert table["has_station"].tolist() == [True, False]


def test_village_shares_and_distances(table):
    v2_to_station = _distance_m((118.005, 35.009), (118.005, 35.005))  # about 444 m > 300 m
    v4_to_room = _distance_m((118.0185, 35.0025), (118.018, 35.002))
    assert v2_to_station > 300
    a, b = table.loc["A"], table.loc["B"]
    assert (a["villages"], a["villages_within_radius"], a["villages_with_room"]) == (2, 1, 0)
    assert (b["villages"], b["villages_within_radius"], b["villages_with_room"]) == (2, 2, 1)
    assert b["room_share"] == 0.5
    assert a["population_within_radius"] == 400 and a["population_share_within_radius"] == 0.4
    assert a["uncovered_population"] == 600
    assert b["population_share_within_radius"] == 1.0
    assert a["max_distance_km"] == pytest.approx(v2_to_station / 1000, rel=2e-3)
    assert a["median_distance_km"] == pytest.approx(v2_to_station / 2000, rel=2e-3)
    assert b["median_distance_km"] == pytest.approx(
        (v4_to_room + _distance_m((118.015, 35.006), (118.015, 35.005))) / 2000, rel=2e-3
    )


def test_population_per_staff(table):
    assert table.loc["A", "population_per_staff"] == pytest.approx(1000 / 3)
    assert np.isnan(table.loc["B", "population_per_staff"])


def test_roll_ups_recompute_shares_from_sums(table):
    county = roll_up(table).loc["C1"]
    assert county["townships"] == 2 and county["townships_with_station"] == 1
    assert county["village_share_within_radius"] == 3 / 4
    assert county["population_share_within_radius"] == 3400 / 4000
    city = city_summary(table)
    assert city["station_staff"] == 3 and city["community_rooms"] == 2
    assert city["room_share"] == 1 / 4


def test_gap_score_follows_its_documented_formula(table):
    # A: 600 of 1000 people outside the radius (the most), no village has a room:
    #    100 * (0.7 * 600/600 + 0.3 * (1 - 0)) = 100.
    # B: everyone within the radius, 1 of 2 villages has a room:
    #    100 * (0.7 * 0/600 + 0.3 * (1 - 0.5)) = 15.
    assert table["gap_score"].tolist() == pytest.approx([100.0, 15.0])
    assert table["gap_rank"].tolist() == [1, 2]


def test_sites_are_counted_per_township_and_type_as_counted_one_by_one():
    from collections import Counter

    from township_coverage.metrics import SITE_COUNT_COLUMNS, count_sites

    rng = np.random.default_rng(11)
    types = list(SITE_COUNT_COLUMNS)
    sites = pd.DataFrame({"township_code": rng.choice(["A", "B", "C", "Z"], 200), "site_type": rng.choice(types, 200)})
    codes = pd.Index(["A", "B", "C", "D"], name="township_code")  # D has no site; Z is not a township
    counted = Counter(zip(sites["township_code"], sites["site_type"]))
    table = count_sites(sites, codes)
    assert list(table.columns) == list(SITE_COUNT_COLUMNS.values()) and list(table.index) == list(codes)
    for code in codes:
        assert [int(table.at[code, SITE_COUNT_COLUMNS[t]]) for t in types] == [counted[(code, t)] for t in types]
    assert (table.dtypes == "int64").all()
    assert (count_sites(sites.iloc[:0], codes) == 0).all().all()


# --- population within the radius never exceeds the population ------------------


def _one_township(population: float | None, village_populations: list[float]) -> pd.DataFrame:
    """One 1 km square with a station in its south-west corner; villages at the corner (within 0.3 km) and beyond."""
    townships = gpd.GeoDataFrame(
        {"township_code": ["A"], "township_name": ["甲"], "county_code": ["C1"], "county_name": ["县"]},
        geometry=[box(118.00, 35.00, 118.01, 35.01)], crs="EPSG:4326",
    )
    if population is not None:
        townships["population"] = [population]
    sites = pd.DataFrame({"site_id": ["S1"], "site_type": ["township_station"], "name": ["站"],
                          "staff": pd.array([2], dtype="Int64"), "lon": [118.001], "lat": [35.001]})
    # The first village is by the station, the others in the far corner (about 1.2 km away).
    lons = [118.0012] + [118.009] * (len(village_populations) - 1)
    lats = [35.0012] + [35.009] * (len(village_populations) - 1)
    villages = pd.DataFrame({"village_code": [f"v{i}" for i in range(len(village_populations))],
                             "population": village_populations, "lon": lons, "lat": lats})
    site_points = assign_points_to_townships(sites, townships).usable()
    village_points = assign_points_to_townships(villages, townships).usable()
    return coverage_table(townships, site_points, village_points, radius_km=0.3)


def test_villages_adding_up_to_more_than_the_township_put_no_more_people_within_than_live_there():
    # The one village, within the radius, has 2,002 people (a rounded estimate) of the township's 2,001.
    table = _one_township(2001, [2002.0])
    assert table.loc["A", "population_within_radius"] == 2001
    assert table.loc["A", "uncovered_population"] == 0
    assert table.loc["A", "population_share_within_radius"] == 1.0


def test_population_within_is_the_township_population_times_the_villages_share_within():
    # Villages of 300 (within) and 700 (outside): 30 % of the villages' people; 30 % of 5,000 = 1,500.
    table = _one_township(5000, [300.0, 700.0])
    assert table.loc["A", "population_within_radius"] == 1500
    assert table.loc["A", "uncovered_population"] == 3500
    assert table.loc["A", "population_share_within_radius"] == 0.3


def test_without_a_township_population_the_villages_add_up_to_it():
    table = _one_township(None, [300.0, 700.0])
    assert table.loc["A", "population"] == 1000 and table.loc["A", "population_within_radius"] == 300


def _assert_within_between_zero_and_population(table: pd.DataFrame) -> None:
    within, population = table["population_within_radius"], table["population"]
    assert within.notna().all() and population.notna().all()
    assert (within >= 0).all() and (within <= population).all(), table.loc[within > population, ["population"]]
    assert (table["uncovered_population"] >= 0).all()


def test_linyi_townships_have_no_more_people_within_the_radius_than_live_there(linyi_run):
    table = linyi_run.townships
    assert len(table) == 156
    _assert_within_between_zero_and_population(table)
    # The villages are equal shares of each township's population, so the people
    # within are the township's population times the share of villages within (in whole people).
    expected = table["population"] * table["villages_within_radius"] / table["villages"]
    assert ((table["population_within_radius"] - expected).abs() <= 0.5).all()


def test_multipart_townships_have_no_more_people_within_the_radius_than_live_there(tmp_path):
    from _support import MULTIPART_TOWNSHIPS, write_multipart_project
    from township_coverage import load_project, run

    project = write_multipart_project(tmp_path)
    result = run(load_project(project, output_dir=tmp_path / "out"), report_formats=())
    table = result.townships
    assert list(table.index) == list(MULTIPART_TOWNSHIPS)
    assert table["population"].tolist() == [t[3] for t in MULTIPART_TOWNSHIPS.values()]
    _assert_within_between_zero_and_population(table)
