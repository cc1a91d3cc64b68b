"""Assigning points to townships: every row ends in exactly one status."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import box

from township_coverage.join import assign_points_to_townships, points_from_table


@pytest.fixture
def two_squares() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"township_code": ["002", "001"]},
        geometry=[box(118.01, 35.00, 118.02, 35.01), box(118.00, 35.00, 118.01, 35.01)],
        crs="EPSG:4326",
    )


def _points(rows: list[tuple]) -> gpd.GeoDataFrame:
    table = pd.DataFrame(rows, columns=["site_id", "township_code", "lon", "lat"])
    return points_from_table(table, crs="EPSG:4326")


def test_inside_border_and_outside_points(two_squares):
    points = _points(
        [
            ("a", "001", 118.005, 35.005),  # inside 001
            ("b", "002", 118.010, 35.005),  # on the shared border, declared 002
            ("e", None, 118.010, 35.002),  # on the shared border, nothing declared
            ("c", None, 118.030, 35.005),  # outside, 0.01° east of 002
            ("d", "001", 118.015, 35.005),  # inside 002, declared 001
        ]
    )
    result = assign_points_to_townships(points, two_squares)
    joined = result.points.set_index("site_id")
    assert joined.loc["a", "township_code"] == "001"
    # On a shared border: the declared township, else the smaller code,
    # whatever the order of the layer.
    assert joined.loc["b", "township_code"] == "002"
    assert joined.loc["e", "township_code"] == "001"
    assert joined.loc["c", "join_status"] == "outside" and pd.isna(joined.loc["c", "township_code"])
    # 0.01° of longitude at 35°N: 111.32 km * cos(35°) / 100 ≈ 912 m.
    assert joined.loc["c", "distance_m"] == pytest.approx(912, rel=0.01)
    assert result.status_counts().to_dict() == {"joined": 4, "outside": 1}
    assert result.status_counts().sum() == len(points)
    assert list(result.disagreements()["site_id"]) == ["d"]


def test_points_in_another_crs_are_transformed(two_squares):
    points = _points([("a", None, 118.005, 35.005)]).to_crs("EPSG:32650")
    result = assign_points_to_townships(points, two_squares)
    assert result.points.loc[0, "township_code"] == "001"
