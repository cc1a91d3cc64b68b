"""Coverage topology: schematic cells of given areas, and borders that match.

:func:`node_coverage` rebuilds nearly matching polygons (townships,
counties; islands, holes and enclaves included) so that neighbours share
their borders vertex for vertex.

No open township boundary data exists for China, so the default dataset
draws *schematic* township outlines: a weighted (power) Voronoi diagram of
one seed per township, clipped to the real county outline, whose weights
are tuned until every cell's area approaches its target. The cells tile the
outline exactly and share their borders vertex for vertex.

The tessellation works in a metric CRS (metres); callers project before and after.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from township_coverage.errors import CellTopologyError

_HALF_PLANE_SIZE = 1.0e7  # metres; far larger than any county


@dataclass(frozen=True)
class Tessellation:
    """Result of :func:`tessellate_by_area`.

    Attributes
    ----------
    cells
        One polygon per seed, in seed order, tiling the region.
    seeds
        Final seed positions, shape ``(n, 2)``; fixed seeds are unchanged.
    iterations
        Relaxation rounds performed.
    max_relative_area_error
        Largest ``|area - target| / target`` over all cells.
    """

    cells: np.ndarray
    seeds: np.ndarray
    iterations: int
    max_relative_area_error: float


def tessellate_by_area(
    region: BaseGeometry,
    target_areas: np.ndarray,
    *,
    fixed_seeds: dict[int, tuple[float, float]] | None = None,
    rng: np.random.Generator,
    sample_size: int = 20_000,
    max_iterations: int = 400,
    tolerance: float = 0.01,
) -> Tessellation:
    """Split ``region`` into cells whose areas approach ``target_areas``.

    Parameters
    ----------
    region
        A polygon in a metric CRS.
    target_areas
        Wanted area of each cell in square metres; rescaled to sum to the
        region's area.
    fixed_seeds
        Seeds at known positions (cell index -> ``(x, y)``); they do not move,
        and their cell is made to contain them.
    rng
        Source of randomness for the initial seeds; fix its seed for
        reproducible cells.
    sample_size
        Points sampled in the region to place the free seeds by k-means.
    max_iterations
        Upper bound on relaxation rounds.
    tolerance
        Stop when every cell is within this relative error of its target.

    Returns
    -------
    Tessellation
    """
    fixed_seeds = fixed_seeds or {}
    targets = np.asarray(target_areas, dtype=float)
    targets = targets * (region.area / targets.sum())
    n = len(targets)
    origin = np.asarray(region.centroid.coords[0])
    local_region = shapely.transform(region, lambda xy: xy - origin)
    fixed_index = np.array(sorted(fixed_seeds), dtype=int)
    fixed_xy = np.array([fixed_seeds[i] for i in fixed_index]).reshape(-1, 2) - origin

    samples = _sample_points(local_region, sample_size, rng)
    seeds = _initial_seeds(samples, n, fixed_index, fixed_xy, rng)
    weights = np.zeros(n)
    is_free = np.ones(n, dtype=bool)
    is_free[fixed_index] = False

    iterations = 0
    for iterations in range(1, max_iterations + 1):
        cells = _power_cells(seeds, weights, local_region)
        areas = shapely.area(cells)
        error = np.abs(areas - targets) / targets
        seeds_inside = all(
            shapely.contains_xy(cells[i], *seeds[i]) for i in fixed_index
        )
        if error.max() < tolerance and seeds_inside:
            break
        # Lloyd step for free seeds: move towards the centroid of their cell.
        nonempty = areas > 0
        centroids = shapely.get_coordinates(shapely.centroid(cells[nonempty]))
        move = is_free & nonempty
        seeds[move] = 0.5 * seeds[move] + 0.5 * centroids[move[nonempty]]
        # Weight step: a weight change dw shifts a border by dw / (2 * spacing),
        # so a cell gains about perimeter * dw / (2 * spacing) of area.
        perimeters = np.maximum(shapely.length(cells), 1.0)
        spacing = np.sqrt(np.maximum(areas, targets))
        weights += 0.5 * (targets - areas) * 2.0 * spacing / perimeters
        weights -= weights.mean()

    cells = shapely.transform(_power_cells(seeds, weights, local_region), lambda xy: xy + origin)
    areas = shapely.area(cells)
    return Tessellation(
        cells=cells,
        seeds=seeds + origin,
        iterations=iterations,
        max_relative_area_error=float(np.max(np.abs(areas - targets) / targets)),
    )


def _sample_points(
    region: BaseGeometry, size: int, rng: np.random.Generator
) -> np.ndarray:
    """Uniform random points inside ``region`` by rejection from its bounds."""
    xmin, ymin, xmax, ymax = region.bounds
    shapely.prepare(region)
    found: list[np.ndarray] = []
    count = 0
    while count < size:
        xy = rng.uniform((xmin, ymin), (xmax, ymax), size=(size, 2))
        xy = xy[shapely.contains_xy(region, xy[:, 0], xy[:, 1])]
        found.append(xy)
        count += len(xy)
    return np.concatenate(found)[:size]


def _initial_seeds(
    samples: np.ndarray,
    n: int,
    fixed_index: np.ndarray,
    fixed_xy: np.ndarray,
    rng: np.random.Generator,
    rounds: int = 30,
) -> np.ndarray:
    """K-means over the samples with the fixed seeds held in place."""
    seeds = samples[rng.choice(len(samples), size=n, replace=False)].copy()
    seeds[fixed_index] = fixed_xy
    for _ in range(rounds):
        squared = ((samples[:, None, :] - seeds[None, :, :]) ** 2).sum(axis=2)
        nearest = squared.argmin(axis=1)
        for i in range(n):
            if i not in fixed_index and np.any(nearest == i):
                seeds[i] = samples[nearest == i].mean(axis=0)
    return seeds


def _power_cells(
    seeds: np.ndarray, weights: np.ndarray, region: BaseGeometry
) -> np.ndarray:
    """Cells of the power diagram of ``seeds`` clipped to ``region``.

    Cell i is the set of x with |x - s_i|^2 - w_i <= |x - s_j|^2 - w_j for
    all j: an intersection of half-planes, each built as a large rectangle.
    """
    n = len(seeds)
    cells = np.full(n, shapely.box(*region.bounds), dtype=object)
    for j in range(n):
        others = np.arange(n) != j
        normal = seeds[j] - seeds[others]
        offset = 0.5 * (
            (seeds[j] ** 2).sum()
            - (seeds[others] ** 2).sum(axis=1)
            - weights[j]
            + weights[others]
        )
        cells[others] = shapely.intersection(
            cells[others], _half_planes(normal, offset)
        )
    return shapely.intersection(cells, region)


def _half_planes(normal: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """Rectangles standing for the half-planes ``normal . x <= offset``."""
    length = np.linalg.norm(normal, axis=1, keepdims=True)
    unit = normal / length
    on_line = unit * (offset[:, None] / length)
    along = np.column_stack([-unit[:, 1], unit[:, 0]]) * _HALF_PLANE_SIZE
    back = unit * 2 * _HALF_PLANE_SIZE
    rings = np.stack(
        [on_line + along, on_line - along, on_line - along - back, on_line + along - back],
        axis=1,
    )
    return shapely.polygons(rings)


def node_coverage(
    cells: np.ndarray,
    regions: np.ndarray,
    region_of_cell: np.ndarray,
    *,
    grid_size: float,
    names: Sequence[str] | None = None,
    keep_input_parts: bool = True,
) -> np.ndarray:
    """Rebuild ``cells`` from one noded set of lines so that borders match.

    Separately computed cells disagree in the last bits where they meet. This
    snaps all vertices to a grid, polygonises the borders of all cells and
    regions together, and gives each face to the cell of its region that
    holds most of it. Snapping can leave a cell with stray slivers cut off
    from it; each is moved to the neighbour in the same region that shares
    the longest border with it. The result is a valid coverage of the
    regions whose neighbours share their borders vertex for vertex, across
    regions too.

    A cell may legitimately have several parts (an island, two pieces that
    touch at a point): a part of the result is real, not a stray, when it is
    the one that holds most of a part of the input cell. A part that borders
    no other cell of its region (an island) is kept as well.

    Parameters
    ----------
    cells
        Polygons or multipolygons that nearly tile their regions.
    regions
        The outlines to tile, themselves a valid coverage.
    region_of_cell
        Index into ``regions`` for each cell.
    grid_size
        Precision grid in the units of the CRS (e.g. 1e-7 degrees, 1 cm).
    names
        What to call each cell in an error message (e.g. township codes);
        positions if not given.
    keep_input_parts
        Keep every part of an input cell. ``False`` keeps only the largest
        one and hands the others to neighbours (for schematic cells that
        were clipped into pieces).

    Returns
    -------
    numpy.ndarray
        One polygon or multipolygon per input cell.

    Raises
    ------
    CellTopologyError
        If a cell ends up empty or its stray parts cannot be settled.
    """
    cells = np.asarray(cells, dtype=object)
    # Parts as given, before snapping: a neck that snapping closes makes no new part.
    input_parts = [
        _parts_by_area(cell) if keep_input_parts else _parts_by_area(cell)[:1] for cell in cells
    ]
    cells = shapely.set_precision(cells, grid_size)
    regions = shapely.set_precision(np.asarray(regions, dtype=object), grid_size)
    region_of_cell = np.asarray(region_of_cell, dtype=int)
    names = [str(i) for i in range(len(cells))] if names is None else [str(n) for n in names]
    faces, face_points, owners = _faces_with_owners(cells, regions, region_of_cell)
    for _ in range(len(cells) + 1):
        merged = _cells_from_faces(faces, owners, len(cells))
        moves = [
            (stray, neighbour)
            for i in range(len(cells))
            for stray in _stray_parts(merged[i], input_parts[i])
            if (neighbour := _longest_border_neighbour(stray, i, merged, region_of_cell)) is not None
        ]
        if not moves:
            _check_nonempty(merged, names)
            return merged
        for stray, neighbour in moves:
            owners[shapely.contains(stray, face_points)] = neighbour
    merged = _cells_from_faces(faces, owners, len(cells))
    unsettled = [names[i] for i in range(len(cells)) if _stray_parts(merged[i], input_parts[i])]
    raise CellTopologyError(
        "could not settle the stray slivers left by snapping the borders to a "
        f"{grid_size:g} grid in: {', '.join(unsettled)}; check these outlines for "
        "overlaps or gaps with their neighbours"
    )


def _cells_from_faces(faces: np.ndarray, owners: np.ndarray, count: int) -> np.ndarray:
    """The union of the faces each cell owns."""
    # Faces grouped by owner in one sort (stable: each group keeps the faces' order).
    order = np.argsort(owners, kind="stable")
    groups = np.split(faces[order], np.searchsorted(owners[order], np.arange(1, count)))
    return np.array([shapely.union_all(group) for group in groups], dtype=object)


def _parts_by_area(geometry: BaseGeometry) -> list[BaseGeometry]:
    """The polygons of ``geometry``, largest first."""
    return sorted(shapely.get_parts(geometry), key=lambda part: -part.area)


def _faces_with_owners(
    cells: np.ndarray, regions: np.ndarray, region_of_cell: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Faces of all borders inside the regions, a point in each, and the cell each goes to.

    A face goes to the cell of its region that overlaps it most.
    """
    lines = shapely.union_all(shapely.boundary(np.concatenate([cells, regions])))
    faces = np.asarray(shapely.get_parts(shapely.polygonize([lines])))
    face_points = shapely.point_on_surface(faces)
    point_index, face_region = shapely.STRtree(regions).query(face_points, predicate="within")
    faces, face_points = faces[point_index], face_points[point_index]
    owners = np.full(len(faces), -1, dtype=int)
    cell_tree = shapely.STRtree(cells)
    # Faces are cut by every cell border, so a face lies inside a cell or outside it: when the
    # face's inner point lies in exactly one cell of its region, that cell overlaps it most.
    # The other faces (gaps, overlaps, points on a border) are settled by their overlaps below.
    point_at, cell_at = cell_tree.query(face_points, predicate="within")
    same_region = region_of_cell[cell_at] == face_region[point_at]
    point_at, cell_at = point_at[same_region], cell_at[same_region]
    containing = np.bincount(point_at, minlength=len(faces))
    single = (containing[point_at] == 1) & shapely.within(face_points[point_at], faces[point_at])
    owners[point_at[single]] = cell_at[single]
    for k in np.flatnonzero(owners < 0):
        face = faces[k]
        candidates = cell_tree.query(face, predicate="intersects")
        candidates = candidates[region_of_cell[candidates] == face_region[k]]
        if len(candidates) == 0:
            candidates = np.flatnonzero(region_of_cell == face_region[k])
        overlap = shapely.area(shapely.intersection(cells[candidates], face))
        owners[k] = candidates[np.argmax(overlap)]
    return faces, face_points, owners


def _stray_parts(cell: BaseGeometry, input_parts: list[BaseGeometry]) -> list[BaseGeometry]:
    """Parts of a rebuilt cell that hold most of no part of the input cell."""
    parts = _parts_by_area(cell)
    if len(parts) <= 1:
        return []
    real = set()
    for original in input_parts:
        overlap = shapely.area(shapely.intersection(np.array(parts, dtype=object), original))
        if overlap.max() > 0:
            real.add(int(np.argmax(overlap)))
    if not real:
        real.add(0)
    return [part for k, part in enumerate(parts) if k not in real]


def _longest_border_neighbour(
    stray: BaseGeometry, owner: int, merged: np.ndarray, region_of_cell: np.ndarray
) -> int | None:
    """The other cell of the same region sharing the longest border with ``stray``; None if none does."""
    border = shapely.length(shapely.intersection(stray.boundary, shapely.boundary(merged)))
    border[(region_of_cell != region_of_cell[owner]) | (np.arange(len(merged)) == owner)] = 0.0
    if border.max() <= 0:
        return None
    return int(np.argmax(border))


def _check_nonempty(merged: np.ndarray, names: Sequence[str]) -> None:
    empty = [names[i] for i in np.flatnonzero(shapely.is_empty(merged))]
    if empty:
        raise CellTopologyError(
            f"nothing is left of {', '.join(empty)} after snapping the borders to the grid; "
            "the outline is smaller than the grid or lies under its neighbours"
        )


def label_points(geometries: np.ndarray) -> np.ndarray:
    """A point to put each geometry's label at: inside its largest part.

    A centroid may fall in the sea between an island and the mainland, or
    in an enclave; ``point_on_surface`` of the whole multipolygon may land
    on a small island. The largest part's point on surface is inside the
    unit and where a reader looks for its name.
    """
    geometries = np.asarray(geometries, dtype=object)
    parts, owner = shapely.get_parts(geometries, return_index=True)
    by_area = np.lexsort((-shapely.area(parts), owner))  # per owner, the largest part first
    first = by_area[np.r_[True, owner[by_area][1:] != owner[by_area][:-1]]] if len(parts) else by_area
    largest = geometries.copy()  # missing and empty geometries stay as they are
    largest[owner[first]] = parts[first]
    return shapely.point_on_surface(largest)


@dataclass(frozen=True)
class CoverageTopology:
    """Polygons of a coverage as shared arcs on an integer grid (TopoJSON-style).

    Every border between two neighbours is one arc, stored once; each ring
    of each polygon is a sequence of arc references. Coordinates are whole
    multiples of ``grid`` counted from ``origin``.

    Attributes
    ----------
    origin
        ``(x, y)`` of grid point ``(0, 0)``.
    grid
        Size of a grid cell, in the units of the CRS.
    arc_points
        Grid coordinates of all arcs, one after another, shape ``(m, 2)``.
    arc_offsets
        Arc ``i`` is ``arc_points[arc_offsets[i]:arc_offsets[i + 1]]``.
    references
        Arc references of all rings, one ring after another: ``i`` for
        arc ``i`` as stored, ``~i`` for arc ``i`` reversed.
    ring_offsets
        Ring ``k`` is ``references[ring_offsets[k]:ring_offsets[k + 1]]``.
    polygon_offsets
        Polygon ``j`` has rings ``polygon_offsets[j]`` to
        ``polygon_offsets[j + 1] - 1``, its exterior first.
    shape_offsets
        Geometry ``s`` has polygons ``shape_offsets[s]`` to
        ``shape_offsets[s + 1] - 1`` (none if it was empty).
    """

    origin: tuple[float, float]
    grid: float
    arc_points: np.ndarray
    arc_offsets: np.ndarray
    references: np.ndarray
    ring_offsets: np.ndarray
    polygon_offsets: np.ndarray
    shape_offsets: np.ndarray

    @property
    def arc_count(self) -> int:
        """Number of distinct arcs."""
        return len(self.arc_offsets) - 1

    def point_indices(self, arcs: np.ndarray) -> np.ndarray:
        """Indices into ``arc_points`` of the points of ``arcs``, one arc after another."""
        lengths = np.diff(self.arc_offsets)[arcs]
        return np.repeat(self.arc_offsets[arcs] - (np.cumsum(lengths) - lengths), lengths) + np.arange(lengths.sum())

    @property
    def shapes(self) -> list[list[list[list[int]]]]:
        """Per geometry, its polygons; per polygon, its rings; per ring, its arc references."""
        rings = np.split(self.references, self.ring_offsets[1:-1]) if len(self.ring_offsets) > 1 else []
        polygons = [[rings[k].tolist() for k in range(a, b)]
                    for a, b in zip(self.polygon_offsets[:-1], self.polygon_offsets[1:])]
        return [polygons[a:b] for a, b in zip(self.shape_offsets[:-1], self.shape_offsets[1:])]


def coverage_topology(geometries: np.ndarray, *, grid: float) -> CoverageTopology:
    """Shared arcs of a coverage whose vertices lie on a grid.

    The polygons must form a valid coverage whose neighbours share their
    borders vertex for vertex (as :func:`node_coverage` leaves them).
    Vertices are rounded to the grid; points that rounding repeats, spikes
    it makes, and rings it shrinks below three points are dropped.
    Arcs run between junctions, vertices where three or more borders
    meet; a ring without a junction (an island, an enclave) is one closed
    arc, shared with the hole it fills.

    Parameters
    ----------
    geometries
        Polygons and multipolygons; empty or missing geometries get no
        polygons.
    grid
        Grid cell size.

    Returns
    -------
    CoverageTopology

    Raises
    ------
    ValueError
        If a border is used in the same direction by two rings
        (overlapping polygons).
    """
    geometries = np.asarray(geometries, dtype=object)
    coords, ring_of_point, ring_part, part_owner = _oriented_rings(geometries)
    ring_count, part_count = len(ring_part), len(part_owner)
    if not len(coords):
        nothing = np.zeros(1, np.int64)
        return CoverageTopology((0.0, 0.0), grid, np.zeros((0, 2), np.int64), nothing, np.zeros(0, np.int64),
                                nothing, nothing, np.zeros(len(geometries) + 1, np.int64))
    origin = np.floor(coords.min(axis=0) / grid) * grid
    points = np.rint((coords - origin) / grid).astype(np.int64 if np.ptp(coords) / grid >= 2**31 else np.int32)
    del coords
    points, ring_of_point, key = _open_rings(points, ring_of_point)
    # A ring smaller than the grid (a speck of an island) has nothing to draw.
    ring_start, ring_length = _ring_extents(ring_of_point, ring_count)
    kept = ring_length[ring_of_point] >= 3
    if not kept.all():
        points, ring_of_point, key = points[kept], ring_of_point[kept], key[kept]
        ring_start, ring_length = _ring_extents(ring_of_point, ring_count)
    del kept

    vertex = pd.factorize(key)[0]  # one id per distinct grid point, in order of first appearance: hashing, no sort
    del key
    edge, vertex_degree = _edge_ids(vertex, vertex[_next_in_ring(ring_of_point, ring_start, ring_length)])
    junction = vertex_degree[vertex] != 2
    del vertex_degree

    # Rotate every ring to start at its first junction (or, without one,
    # at its smallest vertex id), so that arcs never wrap around.
    first = _ring_first_positions(junction, vertex, ring_of_point, ring_start, ring_count)
    rank = np.arange(len(points)) - np.repeat(ring_start, ring_length)
    order = np.repeat(ring_start, ring_length) + (
        np.repeat(first - ring_start, ring_length) + rank
    ) % np.repeat(ring_length, ring_length)
    arc_first = np.flatnonzero(junction[order] | (rank == 0))
    del rank, junction
    arc_last = np.r_[arc_first[1:], len(order)] - 1
    arc_ring = ring_of_point[order[arc_first]]
    # The end point of an arc is the start of the next arc in its ring, or the ring's first point.
    next_in_ring = np.r_[arc_first[1:], 0]
    ring_ends = np.r_[arc_ring[1:] != arc_ring[:-1], True]
    next_in_ring[ring_ends] = ring_start[arc_ring[ring_ends]]
    arc_end_vertex = vertex[order[next_in_ring]]

    first_edge, last_edge = edge[order[arc_first]], edge[order[arc_last]]
    start_vertex = vertex[order[arc_first]]
    del edge, vertex
    forward = (first_edge < last_edge) | ((first_edge == last_edge) & (start_vertex < arc_end_vertex))
    key = np.minimum(first_edge, last_edge)
    unique_keys, arc_index, uses = np.unique(key, return_inverse=True, return_counts=True)
    if np.any(uses > 2) or _same_direction_twice(arc_index, forward):
        raise ValueError("two polygons use the same border in the same direction: the coverage overlaps itself")

    # Store each arc once, in its forward direction, from its first use.
    stored_use = np.full(len(unique_keys), -1)
    stored_use[arc_index[::-1]] = np.arange(len(arc_index))[::-1]
    arc_points, arc_offsets = _arc_coordinates(
        points, order, arc_first[stored_use], arc_last[stored_use], forward[stored_use], next_in_ring[stored_use]
    )
    references = np.where(forward, arc_index, ~arc_index)
    return CoverageTopology(
        (float(origin[0]), float(origin[1])), grid, arc_points, arc_offsets,
        *_ragged(references, arc_ring, ring_part, part_owner, len(geometries)),
    )


def _oriented_rings(geometries: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """All ring coordinates, exteriors counter-clockwise and holes clockwise, read without copying the geometries.

    Neighbours then run along a shared border in opposite directions.

    Returns
    -------
    coords
        ``(n, 2)``, each ring closed.
    ring_of_point, ring_part, part_owner
        The ring of each point, the polygon of each ring, the geometry of each polygon.
    """
    kind, coords, offsets = shapely.to_ragged_array(
        shapely.force_2d(geometries) if shapely.has_z(geometries).any() else geometries
    )
    if kind == shapely.GeometryType.POLYGON:  # one polygon (or none) per geometry
        offsets = (*offsets, np.arange(len(geometries) + 1))
    ring_offsets, part_offsets, owner_offsets = offsets
    ring_of_point, ring_part, part_owner = _group_of(ring_offsets), _group_of(part_offsets), _group_of(owner_offsets)
    if not len(coords):
        return coords, ring_of_point, ring_part, part_owner
    # Twice each ring's signed area (shoelace; rings are closed): positive when counter-clockwise.
    starts = ring_offsets[:-1]
    x, y = coords[:, 0], coords[:, 1]
    cross = np.empty(len(coords))
    np.subtract(x[:-1] * y[1:], x[1:] * y[:-1], out=cross[:-1])
    cross[ring_offsets[1:] - 1] = 0.0  # no term from one ring's last point to the next ring's first
    area = np.add.reduceat(cross, starts) if len(starts) else np.zeros(0)
    exterior = np.r_[True, ring_part[1:] != ring_part[:-1]] if len(ring_part) else np.zeros(0, bool)
    flip = np.where(exterior, area < 0, area > 0)
    if flip.any():
        position = np.arange(len(coords))
        ring_end = ring_offsets[1:][ring_of_point]
        flipped = flip[ring_of_point]
        position[flipped] = (starts[ring_of_point] + ring_end - 1 - position)[flipped]
        coords = coords[position]
    return coords, ring_of_point, ring_part, part_owner


def decode_topology(topology: CoverageTopology) -> np.ndarray:
    """The polygons of a :class:`CoverageTopology`, as shapely geometries.

    The inverse of :func:`coverage_topology`; the browser's decoder does
    the same in ``webmap/topology.js``.
    """
    origin = np.asarray(topology.origin)

    def ring(references: list[int]) -> np.ndarray:
        pieces = []
        for reference in references:
            index = reference if reference >= 0 else ~reference
            arc = topology.arc_points[topology.arc_offsets[index]:topology.arc_offsets[index + 1]]
            arc = arc if reference >= 0 else arc[::-1]
            pieces.append(arc[:-1])
        points = np.concatenate(pieces)
        return origin + np.vstack([points, points[:1]]) * topology.grid

    decoded = []
    for polygons in topology.shapes:
        shells = [shapely.Polygon(ring(rings[0]), [ring(r) for r in rings[1:]]) for rings in polygons]
        decoded.append(
            shapely.MultiPolygon(shells) if len(shells) > 1 else shells[0] if shells else shapely.Polygon()
        )
    return np.array(decoded, dtype=object)


def _open_rings(points: np.ndarray, ring_of_point: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Drop each ring's closing point, repeated points and spikes (``a, b, a``) made by rounding to the grid.

    Returns the points, their rings, and a key per point (one integer per distinct grid point).
    """
    opening = np.r_[ring_of_point[1:] == ring_of_point[:-1], False]
    points, ring_of_point = points[opening], ring_of_point[opening]
    key = points[:, 0].astype(np.int64) * (int(points[:, 1].max()) + 1) + points[:, 1] if len(points) else np.zeros(0, np.int64)
    while len(key):
        # Each point's successor in its ring: the next point, or for a ring's last point its first.
        last = np.r_[ring_of_point[1:] != ring_of_point[:-1], True]
        first = np.r_[True, last[:-1]]
        following = np.r_[key[1:], key[:1]]
        following[last] = key[first]
        alone = first & last
        repeated = (key == following) & ~alone
        if not repeated.any():
            preceding = np.r_[key[-1:], key[:-1]]
            preceding[first] = key[last]
            spike = (preceding == following) & ~alone
            # Of a spike's two ends (a, b, a, b, …) drop every other one.
            repeated = spike & ~np.r_[spike[-1:], spike[:-1]]
            repeated[first] = spike[first] & ~spike[last]
            if not repeated.any():
                break
        kept = ~repeated
        points, ring_of_point, key = points[kept], ring_of_point[kept], key[kept]
    return points, ring_of_point, key


def _ring_extents(ring_of_point: np.ndarray, ring_count: int) -> tuple[np.ndarray, np.ndarray]:
    length = np.bincount(ring_of_point, minlength=ring_count)
    start = np.r_[0, np.cumsum(length)[:-1]]
    return start, length


def _next_in_ring(ring_of_point: np.ndarray, ring_start: np.ndarray, ring_length: np.ndarray) -> np.ndarray:
    following = np.arange(1, len(ring_of_point) + 1)
    last = ring_start + ring_length - 1
    present = ring_length > 0
    following[last[present]] = ring_start[present]
    return following


def _edge_ids(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Undirected edge id per (a, b), and each vertex's number of distinct edges."""
    count = int(max(a.max(), b.max())) + 1
    low, high = np.minimum(a, b), np.maximum(a, b)
    edge, pairs = pd.factorize(low * count + high)
    degree = np.bincount(np.concatenate([pairs // count, pairs % count]), minlength=count)
    return edge.ravel(), degree


def _ring_first_positions(
    junction: np.ndarray, vertex: np.ndarray, ring_of_point: np.ndarray, ring_start: np.ndarray, ring_count: int
) -> np.ndarray:
    """Per ring, the position of its first junction, or of its smallest vertex id without one."""
    positions = np.arange(len(vertex))
    first_junction = np.full(ring_count, len(vertex))
    np.minimum.at(first_junction, ring_of_point[junction], positions[junction])
    smallest = np.full(ring_count, np.iinfo(np.int64).max)
    np.minimum.at(smallest, ring_of_point, vertex)
    at_smallest = vertex == smallest[ring_of_point]
    first_smallest = np.full(ring_count, len(vertex))
    np.minimum.at(first_smallest, ring_of_point[at_smallest], positions[at_smallest])
    return np.where(first_junction < len(vertex), first_junction, first_smallest)


def _same_direction_twice(arc_index: np.ndarray, forward: np.ndarray) -> bool:
    forward_uses = np.bincount(arc_index[forward], minlength=arc_index.max() + 1 if len(arc_index) else 0)
    backward_uses = np.bincount(arc_index[~forward], minlength=len(forward_uses))
    return bool(np.any(forward_uses > 1) or np.any(backward_uses > 1))


def _arc_coordinates(
    points: np.ndarray, order: np.ndarray, first: np.ndarray, last: np.ndarray, forward: np.ndarray, end: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Points of the stored arcs: ``points[order[first..last]]`` and the end point ``points[order[end]]``, reversed for backward uses."""
    length = last - first + 2
    offsets = np.r_[0, np.cumsum(length)]
    along = np.arange(offsets[-1]) - np.repeat(offsets[:-1], length)
    backward = ~np.repeat(forward, length)
    along[backward] = (np.repeat(length, length)[backward] - 1) - along[backward]
    position = np.repeat(first, length) + along
    ends = np.flatnonzero(along == np.repeat(length - 1, length))
    position[ends] = end[np.searchsorted(offsets, ends, side="right") - 1]
    return points[order[position]], offsets


def _ragged(
    references: np.ndarray, reference_ring: np.ndarray, ring_part: np.ndarray, part_owner: np.ndarray,
    geometry_count: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """References and the offsets of rings, polygons and geometries, without the rings left empty.

    A polygon whose exterior is empty goes with its holes; a geometry may be left with no polygons.
    """
    refs_per_ring = np.bincount(reference_ring, minlength=len(ring_part))
    exterior = np.r_[True, ring_part[1:] != ring_part[:-1]] if len(ring_part) else np.zeros(0, bool)
    part_kept = np.zeros(len(part_owner), bool)
    part_kept[ring_part[exterior]] = refs_per_ring[exterior] > 0
    ring_kept = (refs_per_ring > 0) & part_kept[ring_part]
    rings_per_part = np.bincount(ring_part[ring_kept], minlength=len(part_owner))[part_kept]
    parts_per_owner = np.bincount(part_owner[part_kept], minlength=geometry_count)
    return (
        references[ring_kept[reference_ring]],
        np.r_[0, np.cumsum(refs_per_ring[ring_kept])],
        np.r_[0, np.cumsum(rings_per_part)],
        np.r_[0, np.cumsum(parts_per_owner)],
    )


def encode_topology(topology: CoverageTopology) -> dict:
    """A :class:`CoverageTopology` as compact text for a web page.

    Three streams of zigzag varints, each base64 text: all arc points as
    differences from the point before (across arcs, so that neighbouring
    arcs stay small), the number of points of each arc, and the shapes
    (per geometry its number of polygons, per polygon its number of rings,
    per ring its number of arcs, then per arc reference twice the zigzag
    difference from the previous arc index plus 1 if the arc is reversed).
    ``webmap/topology.js`` decodes it.
    """
    deltas = np.diff(topology.arc_points, axis=0, prepend=np.zeros((1, 2), np.int64))
    references = topology.references
    index = np.where(references >= 0, references, ~references)
    coded = 2 * zigzag(np.diff(index, prepend=0)) + (references < 0)
    # The stream in order: each geometry's count, then per polygon its count, then per ring its count and references.
    rings, polygons, shapes = (np.diff(topology.ring_offsets), np.diff(topology.polygon_offsets),
                               np.diff(topology.shape_offsets))
    reference_ring, ring_polygon, polygon_shape = (
        _group_of(topology.ring_offsets), _group_of(topology.polygon_offsets), _group_of(topology.shape_offsets)
    )
    # Sort keys (shape, polygon, ring, reference); a count sorts before what it counts (-1).
    keys = np.concatenate([
        np.column_stack([np.arange(len(shapes)), *np.full((3, len(shapes)), -1)]),
        np.column_stack([polygon_shape, np.arange(len(polygons)), *np.full((2, len(polygons)), -1)]),
        np.column_stack([polygon_shape[ring_polygon], ring_polygon, np.arange(len(rings)), np.full(len(rings), -1)]),
        np.column_stack([polygon_shape[ring_polygon[reference_ring]], ring_polygon[reference_ring], reference_ring,
                         np.arange(len(references))]),
    ])
    values = np.concatenate([shapes, polygons, rings, coded])[np.lexsort(keys.T[::-1])]
    return {
        "origin": list(topology.origin),
        "grid": topology.grid,
        "arcs": varint_base64(zigzag(deltas.ravel())),
        "arc_lengths": varint_base64(np.diff(topology.arc_offsets)),
        "shapes": varint_base64(values),
    }


def varint_base64(values: np.ndarray) -> str:
    """Non-negative integers as base64 text of LEB128 varints (7 bits a byte, low bits first)."""
    return base64.b64encode(varint_bytes(values)[0].tobytes()).decode("ascii")


def varint_bytes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Non-negative integers as LEB128 varints: the bytes, and how many bytes each value took."""
    values = np.asarray(values, dtype=np.uint64).ravel()
    if np.any(np.asarray(values, dtype=np.int64) < 0):
        raise ValueError("varints are for non-negative integers")
    counts = np.ones(len(values), dtype=np.int64)
    largest = int(values.max()) if len(values) else 0
    for shift in range(7, largest.bit_length(), 7):
        counts += values >= (np.uint64(1) << np.uint64(shift))
    starts = np.cumsum(counts) - counts
    out = np.empty(int(counts.sum()), dtype=np.uint8)
    # Byte k of every value that has one: its 7 bits, and the top bit when more bytes follow.
    for k in range(int(counts.max()) if len(values) else 0):
        taking = np.flatnonzero(counts > k)
        low = (values[taking] >> np.uint64(7 * k)) & np.uint64(0x7F)
        out[starts[taking] + k] = low.astype(np.uint8) | ((counts[taking] > k + 1).astype(np.uint8) << 7)
    return out, counts


def zigzag(values: np.ndarray) -> np.ndarray:
    """Signed to unsigned: 0, -1, 1, -2, … become 0, 1, 2, 3, …"""
    values = np.asarray(values, dtype=np.int64)
    return (values << 1) ^ (values >> 63)


def arcs_between_groups(topology: CoverageTopology, group_of_shape: np.ndarray) -> np.ndarray:
    """Arcs on the outline of a group of shapes (e.g. the county borders of a township coverage).

    An arc is on an outline when the shapes on its two sides belong to
    different groups, or when it has a shape on one side only.

    Returns
    -------
    numpy.ndarray
        Sorted arc indices.
    """
    arcs, _, owners = _flat_references(topology)
    groups = np.asarray(group_of_shape)[owners]
    _, group_ids = np.unique(groups, return_inverse=True)
    uses = np.bincount(arcs, minlength=topology.arc_count)
    lowest = np.full(topology.arc_count, np.iinfo(np.int64).max)
    highest = np.full(topology.arc_count, -1)
    np.minimum.at(lowest, arcs, group_ids)
    np.maximum.at(highest, arcs, group_ids)
    return np.flatnonzero((uses == 1) | (lowest != highest))


def borders_match(topology: CoverageTopology) -> bool:
    """Whether the polygons' borders matched vertex for vertex (a coverage :func:`coverage_topology` can use as is).

    A border two neighbours share is one arc used twice. Where their
    outlines were drawn separately, each side's border is an arc used once,
    and the two cross or run along each other between their ends; the arcs
    of the outer edge and of gaps meet only at their ends.
    """
    arcs, _, _ = _flat_references(topology)
    lines = _arc_lines(topology, np.flatnonzero(np.bincount(arcs, minlength=topology.arc_count) == 1))
    left, right = shapely.STRtree(lines).query(lines, predicate="intersects")
    pairs = left < right
    return not np.any(shapely.relate_pattern(lines[left[pairs]], lines[right[pairs]], "T********"))


def simplify_arcs(topology: CoverageTopology, tolerance: float, *, grid: float | None = None) -> CoverageTopology:
    """The topology with every arc simplified on its own, its ends kept (Douglas-Peucker).

    Both neighbours draw the same simplified arc, so shared borders stay
    identical, and no point moves farther than ``tolerance`` from the
    border it stood for (plus half a cell of ``grid``). Arcs that form a
    ring alone (islands, enclaves) keep at least four points; a ring that
    simplification would leave with fewer than three points keeps its
    arcs as they were.

    Parameters
    ----------
    topology
        From :func:`coverage_topology`.
    tolerance
        Largest distance a border may move, in the units of the CRS.
    grid
        Coarser grid to round the result to, a whole multiple of
        ``topology.grid`` (default: the same grid).

    Returns
    -------
    CoverageTopology
        The same shapes, referencing the same arcs.
    """
    factor = 1 if grid is None else round(grid / topology.grid)
    if factor < 1 or abs(factor * topology.grid - (grid or topology.grid)) > 1e-9 * topology.grid:
        raise ValueError(f"grid {grid} is not a whole multiple of the topology's grid {topology.grid}")
    if not topology.arc_count:
        return topology
    every_arc = np.arange(topology.arc_count)
    original = _arc_lines(topology, every_arc)
    simplified = shapely.simplify(original, tolerance / topology.grid, preserve_topology=False)
    counts = shapely.get_num_coordinates(simplified)
    lengths = np.diff(topology.arc_offsets)
    closed = np.all(topology.arc_points[topology.arc_offsets[:-1]] == topology.arc_points[topology.arc_offsets[1:] - 1], axis=1)
    kept_as_is = closed & (counts < 4)
    # A ring drawn from fewer than three points has no area left.
    arcs, rings, _ = _flat_references(topology)
    ring_points = np.bincount(rings, weights=np.where(kept_as_is, lengths, counts)[arcs] - 1)
    kept_as_is[arcs[ring_points[rings] < 3]] = True
    simplified[kept_as_is] = original[kept_as_is]
    points, arc_of_point = shapely.get_coordinates(simplified, return_index=True)
    points = np.rint(points / factor).astype(np.int64)
    # Rounding to a coarser grid repeats points; an arc keeps both its ends.
    first = np.r_[True, arc_of_point[1:] != arc_of_point[:-1]]
    last = np.r_[first[1:], True]
    keep = first | last | np.r_[True, np.any(points[1:] != points[:-1], axis=1)]
    points, arc_of_point = points[keep], arc_of_point[keep]
    offsets = np.r_[0, np.cumsum(np.bincount(arc_of_point, minlength=topology.arc_count))]
    return replace(topology, grid=topology.grid * factor, arc_points=points, arc_offsets=offsets)


def _arc_lines(topology: CoverageTopology, arcs: np.ndarray) -> np.ndarray:
    """Arcs as LineStrings in grid units."""
    return shapely.linestrings(
        topology.arc_points[topology.point_indices(arcs)].astype(float),
        indices=_group_of(np.r_[0, np.cumsum(np.diff(topology.arc_offsets)[arcs])]),
    )


def _flat_references(topology: CoverageTopology) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every arc used by a ring, in order: the arc's index, the ring's number and the geometry's number."""
    references = topology.references
    ring = _group_of(topology.ring_offsets)
    shape_of_polygon = _group_of(topology.shape_offsets)
    return np.where(references >= 0, references, ~references), ring, shape_of_polygon[_group_of(topology.polygon_offsets)[ring]]


def _group_of(offsets: np.ndarray) -> np.ndarray:
    """For ragged offsets (group ``g`` is items ``offsets[g]`` to ``offsets[g + 1] - 1``), the group of each item."""
    return np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
