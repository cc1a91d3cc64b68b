"""Schematic tessellation: areas, fixed seeds, exact tiling."""

from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry import Polygon, box

from township_coverage.geometry import node_coverage, tessellate_by_area

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
