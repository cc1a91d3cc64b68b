"""Townships and counties with islands, holes, enclaves and pinch points, end to end.

The project is built in code by :func:`_support.write_multipart_project`;
expected values come from its definition (``MULTIPART_*``), never from the
code under test.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import textwrap

import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import LineString, Point, Polygon

from _support import (
    MULTIPART_ENCLAVE,
    MULTIPART_ISLAND,
    MULTIPART_LAKE,
    MULTIPART_OUTSIDE_SITES,
    MULTIPART_OUTSIDE_VILLAGES,
    MULTIPART_SITES,
    MULTIPART_TOWNSHIPS,
    MULTIPART_VILLAGES,
    map_county_borders,
    map_settings,
    map_townships,
    read_points,
    write_multipart_project,
    write_tiny_project,
)
from township_coverage import load_project, run, validate_project
from township_coverage.pipeline import plan_rooms

RING_WITH_ENCLAVE, ENCLAVE, ISLAND_TOWNSHIP, LAKESIDE, PINCHED = MULTIPART_TOWNSHIPS
COUNTIES = 2  # 甲县 and 乙县
needs_poppler = pytest.mark.skipif(shutil.which("pdfinfo") is None, reason="poppler-utils (pdfinfo) not installed")


# --- validation and join ---------------------------------------------------


@pytest.fixture(scope="module")
def validation(tmp_path_factory):
    folder = tmp_path_factory.mktemp("multipart_validation")
    project = write_multipart_project(folder, with_outside_points=True)
    return validate_project(load_project(project, output_dir=folder / "out"))


def test_holes_enclaves_islands_and_pinch_points_are_no_township_problem(validation):
    township_problems = [p for p in validation.problems if p.file.name == "townships.geojson"]
    assert township_problems == []
    assert validation.townships["township_code"].tolist() == list(MULTIPART_TOWNSHIPS)


def _code_or_none(value) -> str | None:
    return None if pd.isna(value) else str(value)


@pytest.mark.parametrize(
    ("site_id", "township_code", "status"),
    [(row[0], row[6], row[7]) for row in MULTIPART_SITES + MULTIPART_OUTSIDE_SITES],
)
def test_a_site_joins_the_unit_it_lies_in(validation, site_id, township_code, status):
    points = validation.site_join.points.set_index("site_id")
    assert points.at[site_id, "join_status"] == status
    assert _code_or_none(points.at[site_id, "township_code"]) == township_code


@pytest.mark.parametrize(
    ("village_code", "township_code", "status"),
    [(row[0], row[5], row[6]) for row in MULTIPART_VILLAGES + MULTIPART_OUTSIDE_VILLAGES],
)
def test_a_village_joins_the_unit_it_lies_in(validation, village_code, township_code, status):
    points = validation.village_join.points.set_index("village_code")
    assert points.at[village_code, "join_status"] == status
    assert _code_or_none(points.at[village_code, "township_code"]) == township_code


def test_only_the_points_in_the_middle_of_the_lake_are_errors(validation):
    errors = {(p.file.name, p.row) for p in validation.errors}
    # Spreadsheet row numbers (the header is row 1); the outside rows come last.
    assert errors == {("sites.csv", len(MULTIPART_SITES) + 2), ("villages.csv", len(MULTIPART_VILLAGES) + 2)}


# --- the whole pipeline ----------------------------------------------------


@pytest.fixture(scope="module")
def multipart_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("multipart_run")
    project = write_multipart_project(folder)
    output = folder / "out"
    result = run(load_project(project, output_dir=output), report_formats=("html", "docx", "png", "svg", "pdf"))
    return result, output, project


def _map_shapes(page: str) -> tuple[dict[str, object], object]:
    """Township shapes by code, and the county borders, from a map page."""
    return map_townships(page), map_county_borders(page)


@pytest.fixture(scope="module")
def map_shapes(multipart_run):
    _, output, _ = multipart_run
    return _map_shapes((output / "coverage.html").read_text(encoding="utf-8"))


def test_the_map_has_every_township_as_a_valid_coverage(map_shapes):
    townships, _ = map_shapes
    assert set(townships) == set(MULTIPART_TOWNSHIPS)
    shapes = np.array(list(townships.values()), dtype=object)
    assert all(s.is_valid for s in shapes)
    assert shapely.coverage_is_valid(shapes)
    for code, (*_, original) in MULTIPART_TOWNSHIPS.items():
        assert townships[code].area == pytest.approx(original.area, rel=0.02), code


def test_the_island_keeps_its_detached_part(map_shapes):
    island_township = map_shapes[0][ISLAND_TOWNSHIP]
    assert island_township.geom_type == "MultiPolygon" and len(island_township.geoms) == 2
    island = next(part for part in island_township.geoms if part.intersects(MULTIPART_ISLAND))
    assert island.area == pytest.approx(MULTIPART_ISLAND.area, rel=0.03)
    assert not island.intersects(shapely.union_all([g for c, g in map_shapes[0].items() if c != ISLAND_TOWNSHIP]))


def test_the_enclave_sits_in_a_hole_of_its_surrounding_township(map_shapes):
    townships, _ = map_shapes
    ring, enclave = townships[RING_WITH_ENCLAVE], townships[ENCLAVE]
    assert ring.geom_type == "Polygon" and len(ring.interiors) == 1
    assert Polygon(ring.interiors[0]).area == pytest.approx(MULTIPART_ENCLAVE.area, rel=0.03)
    assert not ring.contains(MULTIPART_ENCLAVE.centroid) and enclave.contains(MULTIPART_ENCLAVE.centroid)
    # The shared border is the same coordinates on both sides.
    assert set(ring.interiors[0].coords) == set(enclave.exterior.coords)


def test_neighbours_share_their_borders_exactly(map_shapes):
    townships, _ = map_shapes
    shared = townships[RING_WITH_ENCLAVE].boundary.intersection(townships[ISLAND_TOWNSHIP].boundary)
    # A and I meet along lon 118.06 from lat 35.00 to 35.06: a line, not points.
    assert shared.length == pytest.approx(0.06, rel=0.02)


def test_the_lake_stays_a_hole_that_no_township_fills(map_shapes):
    townships, _ = map_shapes
    lakeside = townships[LAKESIDE]
    assert lakeside.geom_type == "Polygon" and len(lakeside.interiors) == 1
    assert not any(g.contains(MULTIPART_LAKE.centroid) for g in townships.values())


def test_parts_touching_at_a_point_stay_two_parts(map_shapes):
    pinched = map_shapes[0][PINCHED]
    assert pinched.geom_type == "MultiPolygon" and len(pinched.geoms) == 2


def test_county_borders_follow_the_island_the_lake_and_the_enclave(map_shapes):
    _, borders = map_shapes
    near = borders.buffer(1e-4)
    for outline in (MULTIPART_ISLAND, MULTIPART_LAKE, MULTIPART_ENCLAVE):
        assert near.contains(outline.boundary)
    # No county border between two townships of 甲县: 环城街道 and 海岛镇 meet along lon 118.06.
    inner = LineString([(118.06, 35.01), (118.06, 35.05)]).buffer(1e-5)
    assert borders.intersection(inner).length == 0


def test_labels_lie_inside_the_main_part_of_their_township(multipart_run):
    _, output, _ = multipart_run
    page = (output / "coverage.html").read_text(encoding="utf-8")
    settings = map_settings(page)
    labels = {name: Point(xy) for name, xy in zip(settings["townships"]["names"], read_points(settings["labels"]))}
    for code, (name, *_, original) in MULTIPART_TOWNSHIPS.items():
        largest = max(shapely.get_parts(original), key=lambda part: part.area)
        assert largest.buffer(1e-4).contains(labels[name]), name


def test_indicator_counts_match_a_hand_count(multipart_run):
    result, _, _ = multipart_run
    table = result.townships
    expected = {
        # code: (stations, station staff, community rooms, villages)
        RING_WITH_ENCLAVE: (1, 3, 0, 1),
        ENCLAVE: (1, 2, 1, 1),
        ISLAND_TOWNSHIP: (1, 4, 1, 2),
        LAKESIDE: (1, 1, 1, 2),
        PINCHED: (1, 2, 1, 1),
    }
    for code, counts in expected.items():
        row = table.loc[code]
        assert (row["stations"], row["station_staff"], row["community_rooms"], row["villages"]) == counts, code


@needs_poppler
def test_the_atlas_has_a_page_per_county(multipart_run):
    _, output, _ = multipart_run
    info = subprocess.run(["pdfinfo", str(output / "atlas.pdf")], check=True, capture_output=True, text=True).stdout
    assert re.search(rf"Pages:\s+{3 + COUNTIES}\b", info)  # cover, contents, overview, a page per county


def test_every_report_output_is_written(multipart_run):
    _, output, _ = multipart_run
    for name in ("coverage.html", "report.html", "report.docx", "atlas.pdf", "map_gap_score.png", "map_gap_score.svg"):
        assert (output / name).stat().st_size > 0, name


def test_planning_runs_and_its_map_keeps_the_island(multipart_run, tmp_path):
    _, _, project = multipart_run
    outcome = plan_rooms(load_project(project, output_dir=tmp_path), new_rooms=2)
    assert 1 <= len(outcome.rooms) <= 2
    assert set(outcome.rooms["township_code"]) <= set(MULTIPART_TOWNSHIPS)
    townships, _ = _map_shapes((tmp_path / "plan.html").read_text(encoding="utf-8"))
    assert any(part.intersects(MULTIPART_ISLAND) for part in townships[ISLAND_TOWNSHIP].geoms)


# --- a repaired bow-tie ------------------------------------------------------


def test_a_repaired_bow_tie_township_runs_through(tmp_path):
    project = write_tiny_project(
        tmp_path,
        sites_csv=textwrap.dedent(
            """\
            site_id,site_type,name,lon,lat,staff
            S1,社工站,甲镇社工站,118.005,35.005,3
            R1,社工室,左村社工室,118.012,35.005,
            R2,社工室,右村社工室,118.018,35.005,
            """
        ),
    )
    # Township 乙 becomes a bow-tie over its square: its edges cross at (118.015, 35.005).
    bow_tie = Polygon([(118.01, 35.00), (118.02, 35.01), (118.02, 35.00), (118.01, 35.01)])
    assert not bow_tie.is_valid
    townships = json.loads((tmp_path / "townships.geojson").read_text(encoding="utf-8"))
    townships["features"][1]["geometry"] = shapely.geometry.mapping(bow_tie)
    (tmp_path / "townships.geojson").write_text(json.dumps(townships, ensure_ascii=False), encoding="utf-8")
    toml = project.read_text(encoding="utf-8").replace(
        'path = "townships.geojson"\n', 'path = "townships.geojson"\nrepair_invalid = true\n'
    )
    project.write_text(toml, encoding="utf-8")

    result = run(load_project(project, output_dir=tmp_path / "out"))
    assert result.townships.loc["100000002", "community_rooms"] == 2  # one room in each triangle
    townships_on_map, _ = _map_shapes((tmp_path / "out" / "coverage.html").read_text(encoding="utf-8"))
    repaired = townships_on_map["100000002"]
    assert repaired.geom_type == "MultiPolygon" and len(repaired.geoms) == 2
    # Two triangles, each 0.01° high with its apex 0.005° in: half the square.
    assert repaired.area == pytest.approx(2 * 0.5 * 0.01 * 0.005, rel=0.02)
