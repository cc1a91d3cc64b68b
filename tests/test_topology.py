"""The coverage topology that carries borders into the map page.

Expected values come from the shapes' definitions and from the published
LEB128 encoding, not from the code under test; the page's streams are read
back by the independent reader in ``_support``.
"""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from shapely.geometry import MultiPolygon, Polygon, box

from _support import read_topology, read_varints
from township_coverage.geometry import (
    borders_match,
    coverage_topology,
    decode_topology,
    encode_topology,
    simplify_arcs,
    varint_base64,
)

# On a grid of 1: A is a square with a hole that B fills (an enclave); C,
# A's neighbour, has an island; D touches A at one corner only.
A = box(0, 0, 10, 10).difference(box(4, 4, 6, 6))
B = box(4, 4, 6, 6)
C = MultiPolygon([box(10, 0, 20, 10), box(30, 0, 31, 1)])
D = box(-5, 10, 0, 15)
SHAPES = np.array([A, B, C, D], dtype=object)


def _same(a, b) -> bool:
    return a.normalize().equals_exact(b.normalize(), 1e-9)


def test_decoding_gives_back_every_island_hole_and_enclave():
    topology = coverage_topology(SHAPES, grid=1.0)
    decoded = decode_topology(topology)
    assert all(_same(d, s) for d, s in zip(decoded, SHAPES))
    assert decoded[2].geom_type == "MultiPolygon" and len(decoded[2].geoms) == 2
    assert len(decoded[0].interiors) == 1


def test_each_border_is_stored_once_and_used_from_both_sides():
    topology = coverage_topology(SHAPES, grid=1.0)
    uses: dict[int, list[int]] = {}
    for polygons in topology.shapes:
        for rings in polygons:
            for ring in rings:
                for reference in ring:
                    uses.setdefault(reference if reference >= 0 else ~reference, []).append(reference)
    # A/B share the hole ring; A/C share x = 10; the rest is outer boundary:
    # A's outside (split where C and D meet it), C's outside, the island, D's outside.
    shared = [refs for refs in uses.values() if len(refs) == 2]
    assert len(shared) == 2
    for first, second in shared:  # once forwards, once backwards
        assert (first >= 0) != (second >= 0)
    stored_points = len(topology.arc_points)
    drawn_points = sum(len(shapely.get_coordinates(s)) for s in SHAPES)
    assert stored_points < drawn_points


def test_rounding_to_the_grid_drops_repeats_and_spikes():
    # A spike out to (5, 15) and back to a point that rounds onto where it left.
    spiky = Polygon([(0, 0), (10, 0), (10, 10), (5, 10), (5, 15), (5.2, 10.1), (0, 10)])
    (decoded,) = decode_topology(coverage_topology(np.array([spiky], dtype=object), grid=1.0))
    assert _same(decoded, Polygon([(0, 0), (10, 0), (10, 10), (5, 10), (0, 10)]))


def test_a_speck_smaller_than_the_grid_is_left_out():
    speck = box(50, 50, 50.2, 50.2)
    shapes = np.array([box(0, 0, 10, 10), MultiPolygon([box(20, 0, 30, 10), speck])], dtype=object)
    decoded = decode_topology(coverage_topology(shapes, grid=1.0))
    assert _same(decoded[1], box(20, 0, 30, 10))


def test_overlapping_polygons_are_refused():
    with pytest.raises(ValueError, match="overlaps"):
        coverage_topology(np.array([box(0, 0, 10, 10), box(0, 0, 10, 10)], dtype=object), grid=1.0)


def test_varints_match_the_published_encoding():
    # LEB128: 300 is the bytes AC 02; 0 and 127 one byte each; 128 is 80 01.
    import base64

    assert base64.b64decode(varint_base64(np.array([300, 0, 127, 128]))) == bytes([0xAC, 0x02, 0x00, 0x7F, 0x80, 0x01])
    big = np.array([2**35 + 5, 1, 2**20])
    assert read_varints(varint_base64(big)) == big.tolist()


def test_the_page_streams_read_back_to_the_same_shapes():
    grid = 1e-5
    origin = np.array([118.0, 35.0])
    shapes = np.array([shapely.affinity.affine_transform(s, [grid, 0, 0, grid, *origin]) for s in SHAPES], dtype=object)
    topology = coverage_topology(shapes, grid=grid)
    read = read_topology(encode_topology(topology))
    assert all(r.normalize().equals_exact(s.normalize(), grid / 100) for r, s in zip(read, shapes))


def _zigzag_border(x: float, steps: int = 20, amplitude: float = 0.4) -> list[tuple[float, float]]:
    """From (x, 0) up to (x, 10), wiggling sideways by ``amplitude``."""
    return [(x + (amplitude if k % 2 else 0.0), 10 * k / steps) for k in range(steps + 1)]


# Two townships on either side of a wiggling border, the east one with an island far out.
WEST = Polygon([(0, 0), *_zigzag_border(10), (0, 10)])
EAST = MultiPolygon([Polygon([(20, 0), (20, 10), *_zigzag_border(10)[::-1]]), box(40, 0, 42, 2)])


def test_simplified_arcs_stay_within_the_tolerance_and_neighbours_keep_sharing_them():
    topology = coverage_topology(np.array([WEST, EAST], dtype=object), grid=0.1)
    west, east = decode_topology(simplify_arcs(topology, 1.0))
    # The wiggle (0.4) is within the tolerance: the shared border becomes straight, the same on both sides.
    assert _same(west, box(0, 0, 10, 10)) and _same(east, MultiPolygon([box(10, 0, 20, 10), box(40, 0, 42, 2)]))
    # Finer than the wiggle, nothing moves.
    west, east = decode_topology(simplify_arcs(topology, 0.1))
    assert _same(west, WEST) and _same(east, EAST)
    # Between the two, every point stays within the tolerance of the original border.
    west, east = decode_topology(simplify_arcs(topology, 0.3))
    assert shapely.hausdorff_distance(west, WEST) <= 0.3 and shapely.hausdorff_distance(east, EAST) <= 0.3
    # Still no gap and no overlap between them.
    assert west.intersection(east).area == 0
    assert shapely.union_all([west, east]).equals(shapely.union_all([box(0, 0, 20, 10), box(40, 0, 42, 2)]))


def test_small_rings_keep_an_area_however_coarse_the_simplification():
    # An island alone in its ring, and a lens between two junctions shared with its neighbours.
    lens = Polygon([(10, 4), (10.5, 5), (10, 6), (9.5, 5)])
    west = Polygon([(0, 0), (10, 0), (10, 4), (9.5, 5), (10, 6), (10, 10), (0, 10)])
    east = Polygon([(10, 0), (20, 0), (20, 10), (10, 10), (10, 6), (10.5, 5), (10, 4)])
    island = Polygon([(30, 0), (31, 0.2), (31.2, 1), (30.5, 1.6), (29.8, 1)])
    shapes = np.array([west, east, lens, island], dtype=object)
    decoded = decode_topology(simplify_arcs(coverage_topology(shapes, grid=0.1), 100.0))
    assert _same(decoded[2], lens) and decoded[3].area > 0 and decoded[3].is_valid
    assert len(decoded[3].exterior.coords) >= 4


def test_a_coarser_grid_must_be_a_multiple_of_the_topology_grid():
    topology = coverage_topology(np.array([WEST], dtype=object), grid=0.1)
    (rounded,) = decode_topology(simplify_arcs(topology, 0.0, grid=1.0))
    assert rounded.equals(box(0, 0, 10, 10))  # the 0.4 wiggle rounds away
    with pytest.raises(ValueError, match="multiple"):
        simplify_arcs(topology, 0.0, grid=0.25)


def test_borders_that_do_not_share_their_points_are_told_apart():
    matched = np.array([box(0, 0, 10, 10), box(10, 0, 20, 10)], dtype=object)
    assert borders_match(coverage_topology(matched, grid=1.0))
    # The west one has a point half way up the shared border that the east one lacks.
    apart = np.array([Polygon([(0, 0), (10, 0), (10, 5), (10, 10), (0, 10)]), box(10, 0, 20, 10)], dtype=object)
    assert not borders_match(coverage_topology(apart, grid=1.0))
    # Island and enclave outlines (single-ring arcs) are not mistaken for mismatches.
    assert borders_match(coverage_topology(SHAPES, grid=1.0))


def test_the_map_rebuilds_borders_that_do_not_match():
    from township_coverage.webmap.page_data import border_topology

    apart = np.array([Polygon([(0, 0), (1e-3, 0), (1e-3, 5e-4), (1e-3, 1e-3), (0, 1e-3)]),
                      box(1e-3, 0, 2e-3, 1e-3)], dtype=object)
    topology = border_topology(apart)
    assert borders_match(topology)
    west, east = decode_topology(topology)
    assert west.intersection(east).length == pytest.approx(1e-3)
