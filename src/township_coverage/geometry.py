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

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
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
    largest = [
        _parts_by_area(geometry)[0] if geometry is not None and not geometry.is_empty else geometry
        for geometry in np.asarray(geometries, dtype=object)
    ]
    return shapely.point_on_surface(np.array(largest, dtype=object))
