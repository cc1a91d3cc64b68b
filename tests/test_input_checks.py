"""Input checks done on whole columns give what checking row by row gave."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
import shapely.affinity
from shapely.geometry import Polygon, box

from township_coverage.errors import Problem
from township_coverage.inputs.config import LayerConfig
from township_coverage.inputs.io import _csv_cells
from township_coverage.inputs.validate import _SITE_TYPE_BY_SPELLING as SITE_TYPE_SPELLINGS
from township_coverage.inputs.validate import _overlap_problems, check_counties, check_townships


def _overlaps_pair_by_pair(frame: gpd.GeoDataFrame, path: Path) -> list[Problem]:
    """The overlap check as it was: every pair of intersecting townships, one intersection each."""
    geometries = frame.geometry.to_numpy()
    problems = []
    for i in range(len(geometries)):
        for j in range(i + 1, len(geometries)):
            if not geometries[i].intersects(geometries[j]):
                continue
            shared = geometries[i].intersection(geometries[j]).area
            smaller = min(geometries[i].area, geometries[j].area)
            if smaller > 0 and shared > 1e-6 * smaller:
                codes = frame["township_code"]
                what = "duplicates" if geometries[i].equals(geometries[j]) else "overlaps"
                problems.append(Problem(
                    path, j + 1, "geometry", str(codes.iloc[j]),
                    f"township {codes.iloc[j]} {what} township {codes.iloc[i]} (feature {i + 1}; "
                    f"{100 * shared / smaller:.1f}% of the smaller one)",
                ))
    return sorted(problems, key=lambda p: p.row)


def test_overlaps_are_found_as_pair_by_pair():
    rng = np.random.default_rng(5)
    # A grid of squares that tile; some moved so that they overlap a neighbour, one by a sliver
    # below the threshold, one copied exactly.
    squares = [box(x, y, x + 1, y + 1) for y in range(6) for x in range(6)]
    squares[7] = shapely.affinity.translate(squares[7], 0.3, 0.0)
    squares[20] = shapely.affinity.translate(squares[20], 0.0, -0.25)
    squares[30] = shapely.affinity.translate(squares[30], 1e-9, 0.0)  # overlaps by 1e-9 of its area
    squares.append(box(2, 2, 3, 3))  # a duplicate of square 14
    squares.append(Polygon([(0.5, 0.5), (2.5, 0.5), (2.5, 2.5)]))  # lies across four squares
    order = rng.permutation(len(squares))
    frame = gpd.GeoDataFrame(
        {"township_code": [f"T{i:02d}" for i in order]}, geometry=[squares[i] for i in order], crs="EPSG:4326"
    )
    expected = _overlaps_pair_by_pair(frame, Path("t.geojson"))
    actual = sorted(_overlap_problems(frame, Path("t.geojson")), key=lambda p: p.row)
    assert len(expected) >= 8
    assert [str(p) for p in actual] == [str(p) for p in expected]
    assert any("duplicates" in p.message for p in actual)


def test_a_tiling_has_no_overlaps():
    frame = gpd.GeoDataFrame(
        {"township_code": [f"T{i}" for i in range(16)]},
        geometry=[box(x, y, x + 1, y + 1) for y in range(4) for x in range(4)], crs="EPSG:4326",
    )
    assert _overlap_problems(frame, Path("t.geojson")) == []


def test_every_bad_feature_is_named_as_feature_by_feature(tmp_path: Path):
    bowtie = Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])
    geometries = [box(0, 0, 1, 1), None, bowtie, shapely.Point(3, 3), Polygon(), box(4, 4, 5, 5)]
    frame = gpd.GeoDataFrame(
        {"township_code": ["1", "2", "", "4", "5", None], "township_name": list("abcdef"),
         "county_code": ["c"] * 6, "county_name": ["C"] * 6},
        geometry=geometries, crs="EPSG:4326",
    )
    layer = LayerConfig(path=tmp_path / "townships.geojson")
    messages = [(p.row, p.column, p.message) for p in check_townships(frame, layer).problems]
    assert messages == [
        (2, "geometry", "the geometry is empty"),
        (3, "township_code", "a township code is required"),
        (3, "geometry", "invalid polygon: Self-intersection[0.5 0.5]; fix it, or set repair_invalid = true for this layer"),
        (4, "geometry", "townships must be Polygon or MultiPolygon"),
        (5, "geometry", "the geometry is empty"),
        (6, "township_code", "a township code is required"),
    ]
    counties = check_counties(frame[["geometry"]], LayerConfig(path=tmp_path / "c.geojson", repair_invalid=True))
    assert [(p.row, p.severity) for p in counties.problems] == [(2, "error"), (3, "warning"), (4, "error"), (5, "error")]


@pytest.mark.parametrize(
    "text",
    [
        "a,b\n1,2\n",
        "站点名单\n编号,名称,经度\nS1,甲,118.1\n\nS2,乙\n",  # a title row, a blank row, a short row
        'a,b\n"x\ny",2\n"say ""hi""",3\nab"c,4\n',  # quotes and a line break inside a cell
        "a,b\r\n 1 , 2 \r\n,\r\n\r\n",
        "a,b\n1,2,3,4\n",  # a row wider than the first ones
        "a\n\n\n",
    ],
)
def test_csv_cells_are_what_the_csv_module_reads(text: str):
    rows = list(csv.reader(io.StringIO(text)))
    width = max(len(row) for row in rows)
    expected = [row + [""] * (width - len(row)) for row in rows]
    for encoding in ("utf-8", "gb18030"):
        cells = _csv_cells(text.encode(encoding), text, encoding, look_at=2)
        assert cells.to_numpy().tolist() == expected
        assert all(isinstance(value, str) for value in cells.to_numpy().ravel())


def test_a_column_wrong_in_every_row_names_every_row(tmp_path: Path):
    from township_coverage.inputs.io import read_table
    from township_coverage.inputs.validate import check_sites

    count = 20_000
    lines = ["编号,类型,名称,经度,纬度,人员"] + [
        f"S{i},{'社工站' if i % 3 else '未知'},站{i},{118 + i / 1e5:.5f},{'35.1' if i % 5 else '北纬35度'},\"{i:,}人\""
        for i in range(count)
    ]
    (tmp_path / "sites.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    table, source = read_table(LayerConfig(path=tmp_path / "sites.csv"), layer_name="sites")
    checked = check_sites(table, source, crs=None, region=(117.0, 34.0, 119.0, 36.0))
    expected = []
    for i in range(count):
        row = i + 2
        if i % 5 == 0:
            expected.append((row, "纬度", "北纬35度", "a number is required"))
        if i % 3 == 0:
            expected.append((row, "类型", "未知", "unknown site type"))
        expected.append((row, "人员", f"{i:,}人", "must be a whole number >= 0, or empty"))
    assert [(p.row, p.column, p.value, p.message.split(";")[0]) for p in checked.problems] == expected
    frame = checked.frame
    assert (frame["status"] == "invalid").all()
    assert frame["detail"].iloc[0] == (
        "纬度: a number is required; 类型: unknown site type; allowed: " + ", ".join(SITE_TYPE_SPELLINGS)
        + "; 人员: must be a whole number >= 0, or empty"
    )
    assert frame["detail"].iloc[1] == "人员: must be a whole number >= 0, or empty"
