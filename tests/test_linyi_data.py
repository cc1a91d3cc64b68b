"""Invariants of the embedded Linyi dataset and its builder.

Expected values come from the raw sources or the published figures, never
from the package.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from shapely.geometry import Point

from _support import LINYI, REPO

SOURCES = LINYI / "sources"
UTM_50N = "EPSG:32650"


@pytest.fixture(scope="module")
def townships() -> gpd.GeoDataFrame:
    return gpd.read_file(LINYI / "townships.geojson")


@pytest.fixture(scope="module")
def counties() -> gpd.GeoDataFrame:
    return gpd.read_file(LINYI / "counties.geojson")


def test_counties_are_the_real_outlines(counties):
    source = gpd.read_file(SOURCES / "tianditu_linyi" / "counties.geojson")
    assert len(counties) == 12
    merged = counties.merge(source, on="county_code", suffixes=("", "_source"))
    assert len(merged) == 12
    assert all(a.equals_exact(b, 1e-9) for a, b in zip(merged.geometry, merged["geometry_source"]))


def test_townships_are_the_156_nbs_units(townships):
    nbs = pd.read_csv(SOURCES / "nbs2023_linyi" / "townships.csv", dtype=str)
    assert len(townships) == 156
    assert sorted(townships["township_code"]) == sorted(nbs["township_code"])
    by_code = townships.set_index("township_code")
    for row in nbs.itertuples():
        assert by_code.at[row.township_code, "township_name"] == row.township_name
        assert by_code.at[row.township_code, "village_units"] == int(row.village_units)
    assert set(townships["geometry_source"]) == {"schematic"}
    required = {"population", "population_year", "population_source", "area_km2"}
    assert required <= set(townships.columns)


def test_township_cells_are_single_valid_polygons_forming_a_coverage(townships):
    assert townships.geom_type.eq("Polygon").all()
    assert townships.is_valid.all()
    assert shapely.coverage_is_valid(townships.geometry.to_numpy())


def _host_county(code: str) -> str:
    # High-tech Zone townships: 罗西街道 in 罗庄区, 马厂湖镇 in 兰山区 (sources/README.md).
    return {"371371001": "371311", "371371100": "371302"}.get(code, code[:6])


def test_cells_tile_each_county_outline_exactly(townships, counties):
    hosts = townships.assign(host=townships["township_code"].map(_host_county))
    for county in counties.itertuples():
        union = shapely.union_all(hosts.loc[hosts["host"] == county.county_code].geometry.to_numpy())
        difference = union.symmetric_difference(county.geometry).area
        assert difference < 1e-6 * county.geometry.area, county.county_name


def test_high_tech_zone_townships_lie_in_their_host_districts(townships, counties):
    outline = counties.set_index("county_name").geometry
    cells = townships.set_index("township_name").geometry
    assert outline["罗庄区"].buffer(1e-7).contains(cells["罗西街道"])
    assert outline["兰山区"].buffer(1e-7).contains(cells["马厂湖镇"])


def test_cell_areas_match_published_areas_within_15_percent(townships):
    facts = pd.read_csv(SOURCES / "linyi_township_facts" / "published_facts.csv", dtype={"code": str})
    published = facts.set_index("code")["area_km2"].dropna()
    assert len(published) == 87
    area_km2 = townships.to_crs(UTM_50N).set_index("township_code").area / 1e6
    relative_error = (area_km2[published.index] - published).abs() / published
    assert relative_error.max() < 0.15


def test_cells_without_published_area_are_sensible(townships):
    area_km2 = townships.to_crs(UTM_50N).area / 1e6
    unpublished = area_km2[townships["area_km2"].isna()]
    # Linyi's townships are tens to a few hundred km² (published: 30-300).
    assert unpublished.min() > 20 and unpublished.max() < 400


def test_trusted_published_locations_lie_in_their_cells(townships):
    facts = pd.read_csv(SOURCES / "linyi_township_facts" / "published_facts.csv", dtype={"code": str})
    facts = facts.set_index("name")
    cells = townships.set_index("township_name").geometry
    points = {
        name: Point(facts.at[name, "seat_lon"], facts.at[name, "seat_lat"])
        for name in ("芦柞镇", "湖头镇", "张庄镇")
    }
    for name in ("兰陵镇", "向城镇"):
        row = facts.loc[name]
        points[name] = Point((row.lon_min + row.lon_max) / 2, (row.lat_min + row.lat_max) / 2)
    for name, point in points.items():
        assert cells[name].contains(point), name


def test_villages_are_the_nbs_units_inside_their_township(townships):
    villages = pd.read_csv(LINYI / "villages.csv", dtype={"village_code": str, "township_code": str})
    nbs = pd.read_csv(SOURCES / "nbs2023_linyi" / "villages.csv", dtype=str)
    assert len(villages) == 4186
    assert sorted(villages["village_code"]) == sorted(nbs["village_code"])
    assert set(villages["location_source"]) == {"schematic"}
    assert villages["population"].gt(0).all() and villages["population_source"].notna().all()
    cells = townships.set_index("township_code").geometry
    inside = [cells[code].contains(Point(x, y)) for code, x, y in zip(villages.township_code, villages.lon, villages.lat)]
    assert all(inside)


def test_sites_match_the_published_counts(townships):
    sites = pd.read_csv(LINYI / "sites.csv", dtype={"township_code": str, "village_code": str})
    counts = sites["site_type"].value_counts().to_dict()
    assert counts == {
        "township_station": 156,
        "community_room": 390,
        "school_station": 2,
        "enterprise_station": 1,
        "hospital_station": 2,
    }
    stations = sites[sites["site_type"] == "township_station"]
    assert stations["staff"].sum() == 444
    assert sorted(stations["township_code"]) == sorted(townships["township_code"])
    assert sites["site_id"].is_unique
    assert set(sites["location_source"]) == {"schematic"}
    for column in ("site_id", "site_type", "name", "township_code", "lon", "lat"):
        assert sites[column].notna().all(), column


def test_builder_is_deterministic(tmp_path: Path):
    script = REPO / "tools" / "build_linyi_data.py"
    for name in ("first", "second"):
        subprocess.run([sys.executable, str(script), "--out", str(tmp_path / name)], check=True)
    for file in ("counties.geojson", "townships.geojson", "villages.csv", "sites.csv"):
        assert (tmp_path / "first" / file).read_bytes() == (tmp_path / "second" / file).read_bytes(), file
