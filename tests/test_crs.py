"""GCJ-02 / BD-09 conversions against published reference pairs, and round trips."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod

from township_coverage.inputs.crs import (
    bd09_to_gcj02,
    bd09_to_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    offset_system,
    to_wgs84,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

GEOD = Geod(ellps="WGS84")

# Reference pairs published with the widely used open coordtransform
# implementations (input 116.404, 39.915 — Tiananmen, Beijing).
WGS84_TO_GCJ02 = ((116.404, 39.915), (116.41024449916938, 39.91640428150164))
GCJ02_TO_BD09 = ((116.404, 39.915), (116.41036949371029, 39.92133699351021))
# Published with the one-step approximate inverse; ours iterates, so agree to ~2 cm.
BD09_TO_GCJ02 = ((116.404, 39.915), (116.39762729119315, 39.90865673957631))


def _metres(lon1, lat1, lon2, lat2) -> np.ndarray:
    return GEOD.inv(lon1, lat1, lon2, lat2)[2]


def test_forward_formulas_match_published_values():
    (lon, lat), expected = WGS84_TO_GCJ02
    assert tuple(map(float, wgs84_to_gcj02(lon, lat))) == pytest.approx(expected, abs=1e-12)
    (lon, lat), expected = GCJ02_TO_BD09
    assert tuple(map(float, gcj02_to_bd09(lon, lat))) == pytest.approx(expected, abs=1e-12)


def test_bd09_inverse_matches_published_value_within_5_cm():
    (lon, lat), (expected_lon, expected_lat) = BD09_TO_GCJ02
    got_lon, got_lat = bd09_to_gcj02(lon, lat)
    assert _metres(got_lon, got_lat, expected_lon, expected_lat) < 0.05


def test_offset_is_hundreds_of_metres_in_china():
    # The GCJ-02 shift is typically 100-700 m; Linyi's is about 500 m.
    lon, lat = wgs84_to_gcj02(118.35, 35.1)
    assert 100 < _metres(118.35, 35.1, lon, lat) < 700


def test_outside_china_nothing_changes():
    lon, lat = wgs84_to_gcj02([2.35, -74.0], [48.85, 40.7])
    assert lon.tolist() == [2.35, -74.0] and lat.tolist() == [48.85, 40.7]


china = st.tuples(st.floats(73.7, 134.7), st.floats(18.2, 53.5))


@pytest.mark.parametrize(("forward", "inverse"), [(wgs84_to_gcj02, gcj02_to_wgs84), (wgs84_to_bd09, bd09_to_wgs84)])
@settings(max_examples=300, deadline=None)
@given(point=china)
def test_round_trip_under_1_m(forward, inverse, point):
    lon, lat = point
    back_lon, back_lat = inverse(*forward(lon, lat))
    assert _metres(lon, lat, back_lon, back_lat) < 1.0


@settings(max_examples=50, deadline=None)
@given(st.lists(china, min_size=1, max_size=50))
def test_vectorised_equals_one_at_a_time(points):
    lons, lats = np.array(points).T
    all_lon, all_lat = gcj02_to_wgs84(lons, lats)
    for i, (lon, lat) in enumerate(points):
        one_lon, one_lat = gcj02_to_wgs84(lon, lat)
        assert (all_lon[i], all_lat[i]) == (one_lon, one_lat)


@pytest.mark.parametrize(
    ("name", "system"),
    [("GCJ-02", "gcj02"), ("gcj02", "gcj02"), ("高德", "gcj02"), ("BD-09", "bd09"), ("Baidu", "bd09"), ("EPSG:4326", None)],
)
def test_offset_system_names(name, system):
    assert offset_system(name) == system


def test_cgcs2000_and_epsg_codes_go_through_pyproj():
    lon, lat = to_wgs84([118.35], [35.1], "CGCS2000")
    assert _metres(118.35, 35.1, lon[0], lat[0]) < 0.1
    # UTM 50N easting/northing of a point near Linyi.
    lon, lat = to_wgs84([622_000.0], [3_885_000.0], "EPSG:32650")
    assert 118.3 < lon[0] < 118.4 and 35.0 < lat[0] < 35.2
