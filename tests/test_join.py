"""Assigning points to townships: every row ends in exactly one status."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import box

from township_coverage.inputs.io import TableSource
from township_coverage.join import STATUSES, assign_points_to_townships


@pytest.fixture
def two_squares() -> gpd.GeoDataFrame:
    # Listed in reverse code order on purpose.
    return gpd.GeoDataFrame(
        {
            "township_code": ["002", "001"],
            "township_name": ["乙街道", "甲镇"],
            "county_name": ["县", "县"],
        },
        geometry=[box(118.01, 35.00, 118.02, 35.01), box(118.00, 35.00, 118.01, 35.01)],
        crs="EPSG:4326",
    )


def _rows(rows: list[tuple]) -> pd.DataFrame:
    table = pd.DataFrame(rows, columns=["site_id", "township_code", "township_name", "lon", "lat"])
    return table.astype({"lon": float, "lat": float})


# 0.01° of longitude at 35°N: 111.32 km * cos(35°) / 100 ≈ 912 m.
EAST_OF_002_BY_912_M = 118.03


def test_every_row_gets_one_status(two_squares):
    rows = _rows(
        [
            ("a", "001", None, 118.005, 35.005),  # inside 001
            ("b", "002", None, 118.010, 35.005),  # on the shared border, declared 002
            ("e", None, None, 118.010, 35.002),  # on the shared border, nothing declared
            ("c", None, None, EAST_OF_002_BY_912_M, 35.005),  # 912 m outside
            ("s", None, None, 118.0205, 35.005),  # about 46 m outside 002
            ("d", "001", None, 118.015, 35.005),  # inside 002, declared 001
            ("k", "002", None, None, None),  # no position: by code
            ("n", None, "乙街道办事处", None, None),  # no position: by name variant
            ("u", None, "丙镇", None, None),  # unknown name
            ("x", "999", None, None, None),  # unknown code
        ]
    )
    result = assign_points_to_townships(rows, two_squares, snap_tolerance_m=100)
    joined = result.points.set_index("site_id")
    assert joined.loc["a", "township_code"] == "001"
    # On a shared border: the declared township, else the smaller code,
    # whatever the order of the layer.
    assert joined.loc["b", "township_code"] == "002"
    assert joined.loc["e", "township_code"] == "001"
    assert joined.loc["c", "join_status"] == "outside" and pd.isna(joined.loc["c", "township_code"])
    assert joined.loc["c", "distance_m"] == pytest.approx(912, rel=0.01)
    assert joined.loc["s", "join_status"] == "snapped" and joined.loc["s", "township_code"] == "002"
    assert joined.loc["k", "township_code"] == "002" and joined.loc["k", "join_status"] == "joined"
    assert joined.loc["n", "township_code"] == "002"
    assert joined.loc["u", "join_status"] == "unmatched_name"
    assert "甲镇" in joined.loc["u", "join_detail"] or "乙街道" in joined.loc["u", "join_detail"]
    assert joined.loc["x", "join_status"] == "unmatched_name"
    counts = result.status_counts()
    assert counts.to_dict() == {
        "joined": 6, "snapped": 1, "outside": 1, "unmatched_name": 2, "invalid": 0, "duplicate_id": 0,
        "not_joined": 0,
    }
    assert counts.sum() == len(rows) and list(counts.index) == list(STATUSES)
    assert list(result.disagreements()["site_id"]) == ["d"]


def test_rows_marked_by_validation_pass_through(two_squares):
    rows = _rows([("a", None, None, 118.005, 35.005), ("a", None, None, 118.005, 35.005)])
    rows["status"] = ["", "duplicate_id"]
    rows["detail"] = ["", "same site_id as row 2"]
    result = assign_points_to_townships(rows, two_squares)
    assert result.points["join_status"].tolist() == ["joined", "duplicate_id"]
    assert result.points["township_code"].isna().tolist() == [False, True]


def test_points_problems_name_row_and_severity(two_squares, tmp_path):
    rows = _rows([("c", None, None, EAST_OF_002_BY_912_M, 35.005), ("s", None, None, 118.0205, 35.005)])
    result = assign_points_to_townships(rows, two_squares, snap_tolerance_m=100)
    problems = result.problems(TableSource(tmp_path / "sites.csv"), {"002": "县 乙街道"})
    assert [(p.row, p.severity) for p in problems] == [(1, "error"), (2, "warning")]
    assert "lies in no township: 0.9 km from the nearest, 002" in str(problems[0])


def test_declared_townships_and_positions_are_as_row_by_row(tmp_path):
    from pathlib import Path

    from township_coverage import load_project, validate_project
    from township_coverage.inputs.names import NameMatcher

    data = Path(__file__).resolve().parent / "data"
    for sites in sorted(data.glob("sites_*.csv")):
        project = tmp_path / "project.toml"
        project.write_text(
            f'[project]\nname = "c"\n[layers.townships]\npath = "{(data / "townships.geojson").as_posix()}"\n'
            f'[layers.sites]\npath = "{sites.as_posix()}"\n', encoding="utf-8",
        )
        validation = validate_project(load_project(project, output_dir=tmp_path / "out"))
        if validation.site_join is None:  # an empty file
            continue
        matcher, known = NameMatcher(validation.townships), set(validation.townships["township_code"])
        for _, row in validation.site_join.points.iterrows():
            code, name, county = (
                None if pd.isna(row[c]) else row[c] for c in ("township_code_as_written", "township_name", "county_name")
            )
            if code is not None and (code in known or name is None):
                expected = code
            elif name is not None:
                expected = matcher.match(name, county).township_code
            else:
                expected = None
            declared = row.declared_township_code
            assert (None if pd.isna(declared) else declared) == expected, (sites.name, row["_row"])
            has_xy = pd.notna(row.lon) and pd.notna(row.lat)
            assert (row.geometry is not None) == has_xy, sites.name
            if has_xy:
                assert (row.geometry.x, row.geometry.y) == (row.lon, row.lat)
