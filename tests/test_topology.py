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
from township_coverage.geometry import coverage_topology, decode_topology, encode_topology, varint_base64

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
