"""Generated township-like projects of any size, for the scale benchmark (issue 12).

``write_project(n, folder)`` writes a complete project of ``n`` townships:
township and county outlines (GeoPackage), villages and sites (CSV) and a
``project.toml`` that ``township-coverage run --project`` accepts. Everything
is generated from a fixed seed, so the same ``n`` and seed give the same
files; nothing in it is real, and the project's attribution says so.

How the townships are made
--------------------------
Seeds on a jittered grid (one ring of extra "ghost" seeds around it) give a
Voronoi tessellation; the first ``n`` cells in row order (rows from south to
north) are the townships, so no cell is clipped. Every Voronoi edge is then
densified and bent sideways by a smooth, deterministic wiggle whose random
parameters come from the edge's two end points. Each edge is computed once
and used by both townships on either side of it, so neighbours share
identical vertices and the townships form a valid coverage (no gaps, no
overlaps). Where a wiggle would make a township invalid (very short or
sharply angled edges), the edges of that township stay straight (but
densified). Cells are about 0.26 x 0.22 degrees (about 24 x 24 km in
central China), with about 70 vertices per township on average.

Counties are blocks of 5 x 3 grid cells (about 14 townships each; smaller at
the edges), and their outlines are the union of their townships. Codes look
like the statistical division codes: county ``PPCCXX`` (6 digits), township
county + 3 digits (9 digits), village township + 3 digits (12 digits).

Villages: 18 to 36 per township (27 on average), uniformly inside it, with a
log-normal population; a township's population is the sum of its villages'.
Sites: a township station in 97 % of townships, about 2.45 community rooms
per township (each at one of its villages, with that village's code), and a
few school, enterprise and hospital stations: about 3.5 sites per township.
Outlines and positions are marked ``generated`` (``geometry_source`` /
``location_source``), not ``schematic``: the tool's notice for schematic data
says that names, codes and counts are real, which here they are not. The
project's attribution, shown on every map, says that everything is generated.

Usage: ``python bench/scale_data.py N OUTDIR [--seed SEED]``.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

DEFAULT_SEED = 20261203
#: Grid cell size in degrees (longitude, latitude): about 24 x 24 km at 35 degrees north.
CELL_DEG = (0.26, 0.22)
#: Centre of the generated region (longitude, latitude), in central China.
CENTRE = (104.0, 35.0)
#: Width : height of the region in grid cells (about 1.6 : 1 in degrees).
CELL_ASPECT = 1.354
#: Seed jitter as a share of the cell size (uniform in +-JITTER).
JITTER = 0.35
#: Spacing of densified border vertices, as a share of the cell height (about 70 vertices per township).
VERTEX_SPACING = 0.062
#: Largest sideways wiggle of a border, as a share of the edge length and of the cell height.
WIGGLE_OF_EDGE, WIGGLE_OF_CELL = 0.08, 0.05
#: County blocks in grid cells (columns, rows).
COUNTY_BLOCK = (5, 3)
#: Coordinates are kept on a grid of 1e-7 degrees (about 1 cm), as in the Linyi data.
DECIMALS = 7
SCALE = 10**DECIMALS
VILLAGES_PER_TOWNSHIP = (18, 36)
VILLAGE_POPULATION_MEDIAN, VILLAGE_POPULATION_SIGMA = 1200.0, 0.6
STATION_SHARE = 0.97
ROOMS_PER_TOWNSHIP = 2.45
OTHER_STATION_SHARES = {"school_station": 0.04, "enterprise_station": 0.02, "hospital_station": 0.02}
OTHER_STATION_NAMES = {"school_station": "学校社工站", "enterprise_station": "企业社工站", "hospital_station": "医院社工站"}
ATTRIBUTION = (
    "全部数据为基准测试随机生成（bench/scale_data.py，种子 {seed}），非真实区划、边界、人口或站点 / "
    "all data generated for the scale benchmark (bench/scale_data.py, seed {seed}); nothing is real"
)


@dataclass(frozen=True)
class Grid:
    """The grid of township cells.

    Attributes
    ----------
    columns, rows
        Number of cells across and up (``columns * rows >= n``).
    origin
        Longitude and latitude of the grid's south-west corner.
    """

    columns: int
    rows: int
    origin: tuple[float, float]


def grid_for(n_townships: int) -> Grid:
    """The smallest grid of about :data:`CELL_ASPECT` that holds ``n_townships`` cells, centred on :data:`CENTRE`."""
    columns = max(1, math.ceil(math.sqrt(n_townships * CELL_ASPECT)))
    rows = math.ceil(n_townships / columns)
    origin = (CENTRE[0] - columns * CELL_DEG[0] / 2, CENTRE[1] - rows * CELL_DEG[1] / 2)
    return Grid(columns, rows, origin)


def township_cells(n_townships: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Voronoi cells of the first ``n_townships`` grid seeds in row order.

    Returns
    -------
    tuple of arrays
        The cells (shapely polygons) and the grid ``(column, row)`` of each.
    """
    grid = grid_for(n_townships)
    cols, rows = np.meshgrid(np.arange(-1, grid.columns + 1), np.arange(-1, grid.rows + 1))
    cols, rows = cols.ravel(), rows.ravel()
    jitter = rng.uniform(-JITTER, JITTER, size=(cols.size, 2))
    x = grid.origin[0] + (cols + 0.5 + jitter[:, 0]) * CELL_DEG[0]
    y = grid.origin[1] + (rows + 0.5 + jitter[:, 1]) * CELL_DEG[1]
    envelope = shapely.box(x.min() - 5, y.min() - 5, x.max() + 5, y.max() + 5)
    diagram = shapely.voronoi_polygons(shapely.multipoints(np.column_stack([x, y])), extend_to=envelope, ordered=True)
    cells = shapely.get_parts(diagram)
    real = (cols >= 0) & (cols < grid.columns) & (rows >= 0) & (rows < grid.rows)
    keep = np.flatnonzero(real)[:n_townships]  # row-major from the south-west, so row order
    return cells[keep], np.column_stack([cols[keep], rows[keep]])


def _ring_nodes(cell: shapely.Polygon) -> list[tuple[int, int]]:
    """The cell's exterior vertices on the 1e-7 degree grid, without the closing one or repeats."""
    coords = np.rint(shapely.get_coordinates(cell.exterior)[:-1] * SCALE).astype(np.int64)
    nodes = [tuple(int(v) for v in c) for c in coords]
    return [node for i, node in enumerate(nodes) if node != nodes[i - 1]]


def _edge_points(start: tuple[int, int], end: tuple[int, int], seed: int, *, wiggle: bool) -> np.ndarray:
    """Interior vertices of the border from ``start`` to ``end`` (in that, canonical, order), in degrees.

    The border is densified every :data:`VERTEX_SPACING` cell heights and,
    if ``wiggle``, bent sideways by a smooth wave plus a little noise that
    vanish at both ends; the random parameters come from the two end points
    only, so the same edge always gets the same vertices.
    """
    p0, p1 = np.array(start, dtype=float) / SCALE, np.array(end, dtype=float) / SCALE
    length = float(np.hypot(*(p1 - p0)))
    count = max(0, round(length / (VERTEX_SPACING * CELL_DEG[1])) - 1)
    if count == 0:
        return np.empty((0, 2))
    t = np.arange(1, count + 1) / (count + 1)
    points = p0 + t[:, None] * (p1 - p0)
    if not wiggle:
        return points
    rng = np.random.default_rng([seed, *start, *end])
    frequency, phase = rng.uniform(0.5, 2.0), rng.uniform(0, 2 * np.pi)
    noise = rng.uniform(-1, 1, size=count)
    amplitude = min(WIGGLE_OF_EDGE * length, WIGGLE_OF_CELL * CELL_DEG[1])
    offset = amplitude * np.sin(np.pi * t) * (0.7 * np.sin(2 * np.pi * frequency * t + phase) + 0.3 * noise)
    normal = np.array([-(p1 - p0)[1], (p1 - p0)[0]]) / length
    return points + offset[:, None] * normal


def _ring_edges(nodes: list[tuple[int, int]]) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """The canonical keys of a ring's edges."""
    return [_Borders.key(nodes[i - 1], node) for i, node in enumerate(nodes)]


class _Borders:
    """Densified borders, computed once per edge and shared by the cells on both sides."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.straight: set[tuple[tuple[int, int], tuple[int, int]]] = set()
        self._cache: dict[tuple[tuple[int, int], tuple[int, int]], np.ndarray] = {}

    @staticmethod
    def key(a: tuple[int, int], b: tuple[int, int]) -> tuple[tuple[int, int], tuple[int, int]]:
        """The edge's canonical key: its end points in sorted order."""
        return (a, b) if a <= b else (b, a)

    def points(self, a: tuple[int, int], b: tuple[int, int]) -> np.ndarray:
        """Interior vertices from ``a`` towards ``b``."""
        key = self.key(a, b)
        if key not in self._cache:
            self._cache[key] = _edge_points(*key, self.seed, wiggle=key not in self.straight)
        points = self._cache[key]
        return points if key == (a, b) else points[::-1]

    def straighten(self, nodes: list[tuple[int, int]]) -> None:
        """Make every edge of a ring straight (densified only)."""
        for key in _ring_edges(nodes):
            self.straight.add(key)
            self._cache.pop(key, None)

    def polygon(self, nodes: list[tuple[int, int]]) -> shapely.Polygon:
        """The ring through ``nodes`` with every edge densified (and wiggled)."""
        parts = []
        for i, node in enumerate(nodes):
            following = nodes[(i + 1) % len(nodes)]
            parts.append(np.array(node, dtype=float)[None, :] / SCALE)
            parts.append(self.points(node, following))
        ring = np.round(np.concatenate(parts), DECIMALS)
        return shapely.Polygon(ring)


def township_polygons(cells: np.ndarray, seed: int) -> np.ndarray:
    """Township outlines with wiggled, shared borders; all valid.

    A township that would be invalid gets straight edges, which also
    straightens them for its neighbours; that is repeated until every
    outline is valid.
    """
    borders = _Borders(seed)
    rings = [_ring_nodes(cell) for cell in cells]
    polygons = np.array([borders.polygon(nodes) for nodes in rings], dtype=object)
    for _ in range(10):
        invalid = np.flatnonzero(~shapely.is_valid(polygons))
        if invalid.size == 0:
            return polygons
        touched: set[tuple[tuple[int, int], tuple[int, int]]] = set()
        for index in invalid:
            borders.straighten(rings[index])
            touched.update(_ring_edges(rings[index]))
        for index, nodes in enumerate(rings):
            if not touched.isdisjoint(_ring_edges(nodes)):
                polygons[index] = borders.polygon(nodes)
    raise RuntimeError("could not make every township outline valid")


def division_codes(grid_cells: np.ndarray, n_columns: int) -> tuple[np.ndarray, pd.DataFrame]:
    """County of each township (blocks of :data:`COUNTY_BLOCK` cells) and the codes and names.

    Returns
    -------
    tuple
        The order in which to list the townships (by county, then row, then
        column), and a frame in that order with ``township_code``,
        ``township_name``, ``county_code``, ``county_name``.
    """
    block_col, block_row = grid_cells[:, 0] // COUNTY_BLOCK[0], grid_cells[:, 1] // COUNTY_BLOCK[1]
    blocks_across = -(-n_columns // COUNTY_BLOCK[0])
    block = block_row * blocks_across + block_col
    order = np.lexsort((grid_cells[:, 0], grid_cells[:, 1], block))
    county_index = np.unique(block[order], return_inverse=True)[1]
    within = np.arange(len(order)) - np.searchsorted(county_index, county_index)
    county_codes = [_county_code(int(k)) for k in county_index]
    frame = pd.DataFrame(
        {
            "township_code": [f"{c}{w + 1:03d}" for c, w in zip(county_codes, within)],
            "township_name": [f"第{i + 1:05d}镇" for i in range(len(order))],
            "county_code": county_codes,
            "county_name": [f"测试县{k + 1:04d}" for k in county_index],
        }
    )
    return order, frame


def _county_code(index: int) -> str:
    """A 6-digit code ``PPCCXX``: 10 counties per city, 20 cities per province, provinces from 11."""
    province, city, county = 11 + index // 200, (index // 10) % 20 + 1, index % 10 + 1
    return f"{province:02d}{city:02d}{county:02d}"


def points_inside(polygons: np.ndarray, counts: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``counts[i]`` uniform random points strictly inside ``polygons[i]`` (rounded to 1e-6 degrees).

    Returns
    -------
    tuple of arrays
        The owner index of each point (grouped by owner, ascending) and the
        ``(lon, lat)`` of each.
    """
    bounds = shapely.bounds(polygons)
    owners, coords = [], []
    missing = counts.astype(int).copy()
    while missing.sum() > 0:
        owner = np.repeat(np.arange(len(polygons)), 2 * missing)
        xy = rng.uniform(bounds[owner, :2], bounds[owner, 2:])
        xy = np.round(xy, 6)
        inside = shapely.contains_xy(polygons[owner], xy[:, 0], xy[:, 1])
        owner, xy = owner[inside], xy[inside]
        rank = np.arange(owner.size) - np.searchsorted(owner, owner)
        take = rank < missing[owner]
        owners.append(owner[take])
        coords.append(xy[take])
        missing -= np.bincount(owner[take], minlength=len(polygons))
    owner, xy = np.concatenate(owners), np.concatenate(coords)
    order = np.argsort(owner, kind="stable")
    return owner[order], xy[order]


def make_villages(townships: pd.DataFrame, polygons: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    """Villages inside each township, with codes, names and populations."""
    counts = rng.integers(VILLAGES_PER_TOWNSHIP[0], VILLAGES_PER_TOWNSHIP[1] + 1, size=len(polygons))
    owner, xy = points_inside(polygons, counts, rng)
    number = np.arange(owner.size) - np.searchsorted(owner, owner) + 1
    population = np.rint(rng.lognormal(np.log(VILLAGE_POPULATION_MEDIAN), VILLAGE_POPULATION_SIGMA, owner.size))
    town = townships.iloc[owner].reset_index(drop=True)
    return pd.DataFrame(
        {
            "village_code": [f"{c}{k:03d}" for c, k in zip(town["township_code"], number)],
            "village_name": [f"{t}{k:02d}村" for t, k in zip(town["township_name"], number)],
            "township_code": town["township_code"],
            "township_name": town["township_name"],
            "county_code": town["county_code"],
            "lon": xy[:, 0],
            "lat": xy[:, 1],
            "location_source": "generated",
            "population": population.astype(np.int64),
        }
    )


def make_sites(
    townships: pd.DataFrame, polygons: np.ndarray, villages: pd.DataFrame, rng: np.random.Generator
) -> pd.DataFrame:
    """Township stations, community rooms (at villages) and a few school, enterprise and hospital stations."""
    n = len(townships)
    frames = [_stations(townships, polygons, rng), _rooms(villages, rng)]
    for site_type, share in OTHER_STATION_SHARES.items():
        chosen = np.flatnonzero(rng.random(n) < share)
        frames.append(_point_sites(townships.iloc[chosen], polygons[chosen], site_type, rng))
    sites = pd.concat(frames, ignore_index=True)
    return sites.sort_values(["township_code", "site_id"], kind="stable").reset_index(drop=True)


def _stations(townships: pd.DataFrame, polygons: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    chosen = np.flatnonzero(rng.random(len(townships)) < STATION_SHARE)
    return _point_sites(townships.iloc[chosen], polygons[chosen], "township_station", rng)


def _point_sites(
    townships: pd.DataFrame, polygons: np.ndarray, site_type: str, rng: np.random.Generator
) -> pd.DataFrame:
    """One site of ``site_type`` at a random point inside each given township."""
    _, xy = points_inside(polygons, np.ones(len(polygons), dtype=int), rng)
    prefix = {"township_station": "ST", "school_station": "SC", "enterprise_station": "EN", "hospital_station": "HO"}
    suffix = "社会工作服务站" if site_type == "township_station" else OTHER_STATION_NAMES.get(site_type, "")
    high = 7 if site_type == "township_station" else 4
    return pd.DataFrame(
        {
            "site_id": [prefix[site_type] + c for c in townships["township_code"]],
            "site_type": site_type,
            "name": [t + suffix for t in townships["township_name"]],
            "township_code": townships["township_code"].to_numpy(),
            "village_code": "",
            "lon": xy[:, 0],
            "lat": xy[:, 1],
            "staff": rng.integers(1, high, size=len(townships)),
            "location_source": "generated",
        }
    )


def _rooms(villages: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Community rooms at distinct villages: Poisson(:data:`ROOMS_PER_TOWNSHIP`) per township."""
    codes = villages["township_code"].to_numpy()
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    sizes = np.diff(np.r_[starts, len(codes)])
    wanted = np.minimum(rng.poisson(ROOMS_PER_TOWNSHIP, size=starts.size), sizes)
    keys = pd.Series(rng.random(len(codes)))  # the villages with the smallest keys get the rooms
    within_rank = keys.groupby(np.repeat(np.arange(starts.size), sizes)).rank(method="first").to_numpy() - 1
    chosen = villages[within_rank < np.repeat(wanted, sizes)]
    return pd.DataFrame(
        {
            "site_id": "CR" + chosen["village_code"],
            "site_type": "community_room",
            "name": chosen["village_name"] + "社会工作服务室",
            "township_code": chosen["township_code"],
            "village_code": chosen["village_code"],
            "lon": chosen["lon"],
            "lat": chosen["lat"],
            "staff": rng.integers(1, 3, size=len(chosen)),
            "location_source": "generated",
        }
    )


def project_toml(n_townships: int, seed: int) -> str:
    """The project file of a generated project."""
    attribution = ATTRIBUTION.format(seed=seed)
    return f"""# GENERATED by bench/scale_data.py for the scale benchmark (issue 12): not real data.
[project]
name = "基准测试生成数据（{n_townships} 个乡镇）"
attribution = "{attribution}"

[layers.counties]
path = "counties.gpkg"

[layers.townships]
path = "townships.gpkg"

[layers.sites]
path = "sites.csv"
crs = "EPSG:4326"

[layers.villages]
path = "villages.csv"
crs = "EPSG:4326"

[indicators]
radius_km = 3.0
"""


def write_project(n_townships: int, folder: Path | str, seed: int = DEFAULT_SEED) -> Path:
    """Generate a project of ``n_townships`` townships into ``folder``.

    Writes ``townships.gpkg``, ``counties.gpkg``, ``villages.csv``,
    ``sites.csv``, ``project.toml`` and ``generated.json`` (the sizes, the
    seed and the seconds it took).

    Parameters
    ----------
    n_townships
        Number of townships (at least 1).
    folder
        Output folder (created if needed; files in it are replaced).
    seed
        Random seed; the same seed and size give the same files.

    Returns
    -------
    Path
        The ``project.toml``.
    """
    if n_townships < 1:
        raise ValueError(f"n_townships must be at least 1, not {n_townships}")
    started = time.perf_counter()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    cells, grid_cells = township_cells(n_townships, rng)
    polygons = township_polygons(cells, seed)
    order, townships = division_codes(grid_cells, grid_for(n_townships).columns)
    polygons = polygons[order]
    villages = make_villages(townships, polygons, rng)
    sites = make_sites(townships, polygons, villages, rng)
    layer = gpd.GeoDataFrame(
        townships.assign(
            population=villages.groupby("township_code")["population"].sum().reindex(townships["township_code"]).to_numpy(),
            village_units=villages.groupby("township_code").size().reindex(townships["township_code"]).to_numpy(),
            geometry_source="generated",
        ),
        geometry=polygons,
        crs="EPSG:4326",
    )
    counties = layer[["county_code", "county_name", "geometry"]].dissolve("county_code", method="coverage", as_index=False)
    layer.to_file(folder / "townships.gpkg", driver="GPKG", engine="pyogrio", layer="townships")
    counties.to_file(folder / "counties.gpkg", driver="GPKG", engine="pyogrio", layer="counties")
    villages.to_csv(folder / "villages.csv", index=False, float_format="%.6f")
    sites.to_csv(folder / "sites.csv", index=False, float_format="%.6f")
    project = folder / "project.toml"
    project.write_text(project_toml(n_townships, seed), encoding="utf-8")
    summary = {
        "townships": n_townships,
        "counties": len(counties),
        "township_vertices": int(shapely.get_num_coordinates(polygons).sum()),
        "villages": len(villages),
        "sites": len(sites),
        "sites_by_type": {k: int(v) for k, v in sites["site_type"].value_counts().items()},
        "bounds": [round(float(b), 4) for b in layer.total_bounds],
        "seed": seed,
        "seconds": round(time.perf_counter() - started, 2),
    }
    (folder / "generated.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False), encoding="utf-8")
    return project


def main() -> None:
    """Command line: ``python bench/scale_data.py N OUTDIR [--seed SEED]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n_townships", type=int, help="number of townships")
    parser.add_argument("folder", type=Path, help="output folder")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    args = parser.parse_args()
    project = write_project(args.n_townships, args.folder, seed=args.seed)
    print(f"wrote {project}")
    print((args.folder / "generated.json").read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
