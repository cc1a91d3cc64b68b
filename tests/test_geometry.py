"""Coverage topology: schematic tessellation, noding of multipart cells, label points."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
import shapely.affinity
from shapely.geometry import MultiPolygon, Polygon, box

from township_coverage.errors import CellTopologyError
from township_coverage.geometry import label_points, node_coverage, tessellate_by_area

# An L-shaped region of 30 km x 30 km minus a 15 km x 15 km corner: 675 km².
L_SHAPE = Polygon([(0, 0), (30_000, 0), (30_000, 15_000), (15_000, 15_000), (15_000, 30_000), (0, 30_000)])


def test_cells_reach_their_target_areas_and_tile_the_region():
    targets = np.array([300.0, 150.0, 100.0, 75.0, 50.0]) * 1e6  # sums to 675 km²
    result = tessellate_by_area(L_SHAPE, targets, rng=np.random.default_rng(0))
    areas = shapely.area(result.cells)
    assert np.all(np.abs(areas - targets) / targets < 0.02)
    union = shapely.union_all(result.cells)
    assert union.symmetric_difference(L_SHAPE).area < 1e-6 * L_SHAPE.area
    # No overlaps: the areas add up to the region's.
    assert abs(areas.sum() - L_SHAPE.area) < 1e-6 * L_SHAPE.area


def test_fixed_seeds_stay_and_lie_in_their_cells():
    targets = np.full(6, L_SHAPE.area / 6)
    fixed = {0: (2_000.0, 2_000.0), 4: (25_000.0, 5_000.0)}
    result = tessellate_by_area(L_SHAPE, targets, fixed_seeds=fixed, rng=np.random.default_rng(1))
    for index, (x, y) in fixed.items():
        assert tuple(result.seeds[index]) == (x, y)
        assert result.cells[index].contains(shapely.Point(x, y))


def test_tessellation_is_deterministic_for_a_fixed_seed():
    targets = np.full(4, L_SHAPE.area / 4)
    first = tessellate_by_area(L_SHAPE, targets, rng=np.random.default_rng(7))
    second = tessellate_by_area(L_SHAPE, targets, rng=np.random.default_rng(7))
    assert all(a.equals_exact(b, 0) for a, b in zip(first.cells, second.cells))


def test_node_coverage_makes_nearly_matching_cells_share_borders():
    # Two halves of two regions whose shared edges disagree by 1e-9.
    regions = np.array([box(0, 0, 2, 1), box(2, 0, 4, 1)], dtype=object)
    cells = np.array(
        [box(0, 0, 1 + 1e-9, 1), box(1, 0, 2, 1), box(2, 0, 3, 1), box(3 - 1e-9, 0, 4, 1)],
        dtype=object,
    )
    assert not shapely.coverage_is_valid(cells)
    noded = node_coverage(cells, regions, np.array([0, 0, 1, 1]), grid_size=1e-6)
    assert shapely.coverage_is_valid(noded)
    assert [round(g.area, 9) for g in noded] == [1.0, 1.0, 1.0, 1.0]
    assert all(g.geom_type == "Polygon" for g in noded)


def _noded_in_one_region(cells: list, *, grid_size: float = 1e-6, **options) -> np.ndarray:
    cells = np.array(cells, dtype=object)
    region = np.array([shapely.union_all(cells)], dtype=object)
    return node_coverage(cells, region, np.zeros(len(cells), dtype=int), grid_size=grid_size, **options)


def test_node_coverage_keeps_an_island_that_touches_nothing():
    island = box(5, 5, 6, 6)
    cells = [MultiPolygon([box(0, 0, 1 + 1e-9, 1), island]), box(1, 0, 2, 1)]
    noded = _noded_in_one_region(cells)
    assert noded[0].geom_type == "MultiPolygon" and len(noded[0].geoms) == 2
    assert noded[0].contains(island.centroid) and round(noded[0].area, 9) == 2.0
    assert round(noded[1].area, 9) == 1.0
    assert shapely.coverage_is_valid(noded)


def test_node_coverage_keeps_a_hole_with_an_enclave_of_another_region_in_it():
    # A has a hole; B, of another region, fills it up to a 1e-9 mismatch.
    outer, hole = box(0, 0, 3, 3), box(1, 1, 2, 2)
    cells = np.array([outer.difference(hole), box(1, 1, 2 + 1e-9, 2)], dtype=object)
    regions = np.array([outer.difference(hole), hole], dtype=object)
    noded = node_coverage(cells, regions, np.array([0, 1]), grid_size=1e-6)
    assert noded[0].geom_type == "Polygon" and len(noded[0].interiors) == 1
    assert round(noded[0].area, 9) == 8.0 and round(noded[1].area, 9) == 1.0
    # The hole's ring and the enclave's outline are the same vertices.
    assert set(noded[0].interiors[0].coords) == set(noded[1].exterior.coords)


def test_node_coverage_keeps_a_lake_that_no_cell_fills():
    lake = box(1, 1, 2, 2)
    cells = [box(0, 0, 3, 3).difference(lake), box(3, 0, 4, 3)]
    noded = _noded_in_one_region(cells)
    assert len(noded[0].interiors) == 1 and round(noded[0].area, 9) == 8.0
    assert not noded[0].contains(lake.centroid) and not noded[1].contains(lake.centroid)


def test_node_coverage_keeps_two_parts_that_touch_at_a_point():
    pinched = MultiPolygon([box(0, 0, 1, 1), box(1, 1, 2, 2)])
    cells = [pinched, box(1, 0, 2, 1), box(0, 1, 1, 2)]
    noded = _noded_in_one_region(cells)
    assert noded[0].geom_type == "MultiPolygon" and len(noded[0].geoms) == 2
    assert [round(g.area, 9) for g in noded] == [2.0, 1.0, 1.0]


def test_node_coverage_still_hands_a_piece_cut_off_by_snapping_to_its_neighbour():
    # A square with a bulb on a neck 1e-8 wide: snapping to 1e-6 closes the
    # neck, and the bulb, a part the input did not have, goes to the neighbour.
    neck = box(1, 0.5, 1.2, 0.5 + 1e-8)
    bulb = box(1.2, 0.2, 1.4, 0.8)
    first = shapely.union_all([box(0, 0, 1, 1), neck, bulb])
    second = box(1, 0, 2, 1).difference(first)
    noded = _noded_in_one_region([first, second])
    assert noded[0].geom_type == "Polygon" and round(noded[0].area, 6) == 1.0
    assert noded[1].geom_type == "Polygon" and round(noded[1].area, 6) == 1.0


def test_node_coverage_names_the_cell_it_cannot_keep():
    cells = [box(0, 0, 1, 1), box(1, 0, 1 + 1e-8, 1e-8)]  # smaller than the grid
    with pytest.raises(CellTopologyError, match="370000002"):
        _noded_in_one_region(cells, names=["370000001", "370000002"])


def test_label_points_lie_in_the_largest_part():
    mainland, island = box(0, 0, 10, 10), box(20, 0, 21, 1)
    ring_with_enclave = box(0, 0, 10, 10).difference(box(1, 1, 9, 9))
    points = label_points(np.array([MultiPolygon([island, mainland]), ring_with_enclave], dtype=object))
    assert mainland.contains(points[0])
    assert ring_with_enclave.contains(points[1])


def _owners_face_by_face(cells, regions, region_of_cell, faces, face_points, face_region) -> np.ndarray:
    """The owner of each face as node_coverage chose it before it was vectorised: the most overlap."""
    tree = shapely.STRtree(cells)
    owners = np.empty(len(faces), dtype=int)
    for k, face in enumerate(faces):
        candidates = tree.query(face, predicate="intersects")
        candidates = candidates[region_of_cell[candidates] == face_region[k]]
        if len(candidates) == 0:
            candidates = np.flatnonzero(region_of_cell == face_region[k])
        owners[k] = candidates[np.argmax(shapely.area(shapely.intersection(cells[candidates], face)))]
    return owners


def test_faces_go_to_the_cell_that_overlaps_them_most_as_face_by_face():
    from township_coverage import geometry

    # A 12 x 8 grid of unit squares in two regions, each square shifted by up to 0.01:
    # neighbours overlap in slivers and leave gaps, as separately drawn outlines do.
    rng = np.random.default_rng(3)
    squares = [box(x, y, x + 1, y + 1) for y in range(8) for x in range(12)]
    cells = np.array([shapely.affinity.translate(s, *rng.uniform(-0.01, 0.01, 2)) for s in squares], dtype=object)
    region_of_cell = np.array([0 if s.bounds[0] < 6 else 1 for s in squares])
    regions = np.array([box(0, 0, 6, 8), box(6, 0, 12, 8)], dtype=object)
    cells = shapely.set_precision(cells, 1e-6)
    faces, face_points, owners = geometry._faces_with_owners(cells, regions, region_of_cell)
    _, face_region = shapely.STRtree(regions).query(face_points, predicate="within")
    assert len(faces) > 2 * len(cells)  # the slivers are faces of their own
    expected = _owners_face_by_face(cells, regions, region_of_cell, faces, face_points, face_region)
    np.testing.assert_array_equal(owners, expected)
    noded = node_coverage(cells, regions, region_of_cell, grid_size=1e-6)
    assert shapely.coverage_is_valid(noded)
    assert abs(sum(shapely.area(noded)) - 96.0) < 1e-9
