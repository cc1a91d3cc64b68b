"""Schematic tessellation of a region into cells of given areas.

No open township boundary data exists for China, so the default dataset
draws *schematic* township outlines: a weighted (power) Voronoi diagram of
one seed per township, clipped to the real county outline, whose weights
are tuned until every cell's area approaches its target. The cells tile the
outline exactly and share their borders vertex for vertex.

All work here is in a metric CRS (metres); callers project before and after.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

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
) -> np.ndarray:
    """Rebuild ``cells`` from one noded set of lines so that borders match.

    Separately computed cells disagree in the last bits where they meet. This
    snaps all vertices to a grid, polygonises the borders of all cells and
    regions together, gives each face to the cell of its region that holds
    most of it, and moves stray parts of a cell to the neighbour in the same
    region that shares the longest border with them. The result is a valid
    coverage of the regions, one polygon per cell, whose neighbours share
    their borders vertex for vertex, across regions too.

    Parameters
    ----------
    cells
        Polygons that nearly tile their regions.
    regions
        The outlines to tile, themselves a valid coverage.
    region_of_cell
        Index into ``regions`` for each cell.
    grid_size
        Precision grid in the units of the CRS (e.g. 1e-7 degrees, 1 cm).

    Returns
    -------
    numpy.ndarray
        One polygon per input cell.
    """
    cells = shapely.set_precision(np.asarray(cells, dtype=object), grid_size)
    regions = shapely.set_precision(np.asarray(regions, dtype=object), grid_size)
    lines = shapely.union_all(shapely.boundary(np.concatenate([cells, regions])))
    faces = np.asarray(shapely.get_parts(shapely.polygonize([lines])))
    face_points = shapely.point_on_surface(faces)
    point_index, region_index = shapely.STRtree(regions).query(
        face_points, predicate="within"
    )
    faces, face_points = faces[point_index], face_points[point_index]
    face_region = region_index
    owners = np.empty(len(faces), dtype=int)
    cell_tree = shapely.STRtree(cells)
    for k, face in enumerate(faces):
        candidates = cell_tree.query(face, predicate="intersects")
        candidates = candidates[region_of_cell[candidates] == face_region[k]]
        if len(candidates) == 0:
            candidates = np.flatnonzero(region_of_cell == face_region[k])
        overlap = shapely.area(shapely.intersection(cells[candidates], face))
        owners[k] = candidates[np.argmax(overlap)]
    for _ in range(len(cells)):
        merged = np.array(
            [shapely.union_all(faces[owners == i]) for i in range(len(cells))],
            dtype=object,
        )
        strays = [
            (i, stray)
            for i, cell in enumerate(merged)
            for stray in sorted(shapely.get_parts(cell), key=lambda g: -g.area)[1:]
        ]
        if not strays:
            return merged
        for i, stray in strays:
            border = shapely.length(
                shapely.intersection(stray.boundary, shapely.boundary(merged))
            )
            border[(region_of_cell != region_of_cell[i]) | (np.arange(len(cells)) == i)] = 0.0
            owners[shapely.contains(stray, face_points)] = int(np.argmax(border))
    raise RuntimeError("could not make every cell a single polygon")
