"""Helpers shared by the tests: paths and a tiny project built in code."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import geopandas as gpd
from shapely.geometry import MultiPolygon, box

REPO = Path(__file__).resolve().parents[1]
LINYI = REPO / "geo_data" / "linyi"


#: A progress line (township_coverage.progress): "读取并检查乡镇边界 … 12.3 s（4,186 行）".
PROGRESS_LINE = re.compile(r"^[^\n]* … \d+\.\d s(?:（[^\n]*）| \([^\n]*\))?$", re.MULTILINE)


def without_progress(text: str) -> str:
    """``text`` without its progress lines: what a command says besides them."""
    return re.sub(PROGRESS_LINE.pattern + r"\n?", "", text, flags=re.MULTILINE)


def written_outputs(folder: Path) -> list[str]:
    """Names in an output folder, without the cache folder (which is no output); [] if there is no folder."""
    from township_coverage.cache import CACHE_FOLDER

    if not folder.exists():
        return []
    return sorted(p.name for p in folder.iterdir() if p.name != CACHE_FOLDER)

def write_tiny_project(folder: Path, *, sites_csv: str | None = None) -> Path:
    """Two square townships side by side (1 km each, near 35°N 118°E) with three sites.

    A: lon 118.00-118.01, B: lon 118.01-118.02, both lat 35.00-35.01.
    """
    townships = gpd.GeoDataFrame(
        {
            "township_code": ["100000001", "100000002"],
            "township_name": ["甲镇", "乙街道"],
            "county_code": ["100000", "100000"],
            "county_name": ["测试县", "测试县"],
            "population": [1000, 3000],
        },
        geometry=[box(118.00, 35.00, 118.01, 35.01), box(118.01, 35.00, 118.02, 35.01)],
        crs="EPSG:4326",
    )
    townships.to_file(folder / "townships.geojson", driver="GeoJSON")
    if sites_csv is None:
        sites_csv = textwrap.dedent(
            """\
            site_id,site_type,name,township_code,lon,lat,staff
            S1,社工站,甲镇社工站,100000001,118.005,35.005,3
            R1,社工室,乙村社工室,100000002,118.015,35.005,
            R2,community_room,丙村社工室,100000002,118.018,35.002,
            """
        )
    (folder / "sites.csv").write_text(sites_csv, encoding="utf-8")
    (folder / "project.toml").write_text(
        textwrap.dedent(
            """\
            [project]
            name = "tiny"
            [layers.townships]
            path = "townships.geojson"
            [layers.sites]
            path = "sites.csv"
            crs = "EPSG:4326"
            """
        ),
        encoding="utf-8",
    )
    return folder / "project.toml"


# A small county map near 35°N 118°E with the shapes real boundaries have
# (0.01° is about 0.91 km east-west and 1.11 km north-south there):
#
#   lat 35.09 +------------------------+
#             | L  (lake: hole, no one)|        +-----+
#   lat 35.06 +-----------+------------+--------+  P  |   P: two squares touching
#             | A  +----+ | I          |   P    |-----+      at (118.12, 35.03)
#             |    | B  | | (mainland) |        |
#   lat 35.00 +----+----+-+------------+--------+
#                          [] I's island, across 2 km of water
#
# B (another county) fills A's hole exactly: an enclave.
MULTIPART_LAKE = box(118.03, 35.07, 118.06, 35.08)
MULTIPART_ISLAND = box(118.07, 34.97, 118.08, 34.98)
MULTIPART_ENCLAVE = box(118.02, 35.02, 118.04, 35.04)
MULTIPART_TOWNSHIPS = {
    # code: (name, county code, county name, population, geometry)
    "370001001": ("环城街道", "370001", "甲县", 5000, box(118.00, 35.00, 118.06, 35.06).difference(MULTIPART_ENCLAVE)),
    "370002001": ("飞地镇", "370002", "乙县", 2000, MULTIPART_ENCLAVE),
    "370001002": ("海岛镇", "370001", "甲县", 3000, MultiPolygon([box(118.06, 35.00, 118.09, 35.06), MULTIPART_ISLAND])),
    "370001003": ("湖滨镇", "370001", "甲县", 1000, box(118.00, 35.06, 118.09, 35.09).difference(MULTIPART_LAKE)),
    "370001004": ("双角乡", "370001", "甲县", 1500, MultiPolygon([box(118.09, 35.00, 118.12, 35.03), box(118.12, 35.03, 118.15, 35.06)])),
}
#: Sites: (site_id, type, name, lon, lat, staff, expected township code or None, expected status).
MULTIPART_SITES = [
    ("S1", "社工站", "环城街道社工站", 118.010, 35.010, 3, "370001001", "joined"),
    ("S2", "社工站", "飞地镇社工站", 118.030, 35.030, 2, "370002001", "joined"),
    ("S3", "社工站", "海岛镇社工站", 118.075, 34.975, 4, "370001002", "joined"),  # on the island
    ("S4", "社工站", "湖滨镇社工站", 118.010, 35.080, 1, "370001003", "joined"),
    ("S5", "社工站", "双角乡社工站", 118.105, 35.015, 2, "370001004", "joined"),
    ("R1", "社工室", "海岛村社工室", 118.072, 34.972, None, "370001002", "joined"),  # on the island
    ("R2", "社工室", "湖边村社工室", 118.045, 35.0705, None, "370001003", "snapped"),  # in the lake, ~55 m off shore
    ("R3", "社工室", "东角村社工室", 118.135, 35.045, None, "370001004", "joined"),  # second part of P
    ("R4", "社工室", "飞地村社工室", 118.035, 35.035, None, "370002001", "joined"),  # in the enclave
]
MULTIPART_OUTSIDE_SITES = [
    ("R9", "社工室", "湖心社工室", 118.045, 35.075, None, None, "outside"),  # mid-lake, ~555 m from shore
]
#: Villages: (code, name, lon, lat, population, expected township code or None, expected status).
MULTIPART_VILLAGES = [
    ("370001001201", "城中村", 118.050, 35.050, 1500, "370001001", "joined"),
    ("370002001201", "飞地村", 118.025, 35.025, 1200, "370002001", "joined"),  # in the enclave
    ("370001002201", "海岛村", 118.078, 34.978, 800, "370001002", "joined"),  # on the island
    ("370001002202", "岸上村", 118.080, 35.030, 900, "370001002", "joined"),
    ("370001003201", "湖北村", 118.035, 35.0795, 300, "370001003", "snapped"),  # in the lake, ~55 m off shore
    ("370001003202", "湖东村", 118.080, 35.080, 400, "370001003", "joined"),
    ("370001004201", "东角村", 118.140, 35.050, 600, "370001004", "joined"),  # second part of P
]
MULTIPART_OUTSIDE_VILLAGES = [
    ("370001003299", "湖心村", 118.040, 35.075, 100, None, "outside"),  # mid-lake
]


def multipart_townships() -> gpd.GeoDataFrame:
    """The townships of the multipart project (WGS84)."""
    codes = list(MULTIPART_TOWNSHIPS)
    name, county_code, county_name, population, geometry = zip(*MULTIPART_TOWNSHIPS.values())
    return gpd.GeoDataFrame(
        {"township_code": codes, "township_name": name, "county_code": county_code,
         "county_name": county_name, "population": population},
        geometry=list(geometry), crs="EPSG:4326",
    )


def write_multipart_project(folder: Path, *, with_outside_points: bool = False) -> Path:
    """A project whose townships and counties have islands, holes, enclaves and a pinch point.

    Layout and expected joins: see ``MULTIPART_*`` above. County 甲县 is a
    MultiPolygon (the island) with two holes (the enclave and the lake).
    Points that lie outside every township are left out unless
    ``with_outside_points`` (they make a run refuse the input).
    """
    townships = multipart_townships()
    townships.to_file(folder / "townships.geojson", driver="GeoJSON")
    counties = townships.dissolve(by=["county_code", "county_name"], as_index=False)[["county_code", "county_name", "geometry"]]
    counties.to_file(folder / "counties.geojson", driver="GeoJSON")
    sites = MULTIPART_SITES + (MULTIPART_OUTSIDE_SITES if with_outside_points else [])
    site_lines = ["site_id,site_type,name,lon,lat,staff"] + [
        f"{i},{t},{n},{x},{y},{'' if s is None else s}" for i, t, n, x, y, s, _, _ in sites
    ]
    (folder / "sites.csv").write_text("\n".join(site_lines) + "\n", encoding="utf-8")
    villages = MULTIPART_VILLAGES + (MULTIPART_OUTSIDE_VILLAGES if with_outside_points else [])
    village_lines = ["village_code,village_name,lon,lat,population"] + [
        f"{c},{n},{x},{y},{p}" for c, n, x, y, p, _, _ in villages
    ]
    (folder / "villages.csv").write_text("\n".join(village_lines) + "\n", encoding="utf-8")
    (folder / "project.toml").write_text(
        textwrap.dedent(
            """\
            [project]
            name = "multipart"
            [layers.townships]
            path = "townships.geojson"
            [layers.counties]
            path = "counties.geojson"
            [layers.sites]
            path = "sites.csv"
            crs = "EPSG:4326"
            [layers.villages]
            path = "villages.csv"
            crs = "EPSG:4326"
            """
        ),
        encoding="utf-8",
    )
    return folder / "project.toml"


# Reading the map page's data back, independently of the code that wrote it.

def map_settings(page: str) -> dict:
    """The data the page hands to ``TownshipCoverage.init`` (its JSON element), villages included."""
    import json
    import re

    match = re.search(r'TownshipCoverage\.init\(\s*map_\w+,\s*layer_control_\w+,\s*"([\w-]+)"', page)
    assert match, "the page does not start TownshipCoverage"

    def element(element_id: str):
        found = re.search(rf'<script type="application/json" id="{element_id}">(.*?)</script>', page, re.DOTALL)
        assert found, f"no data element {element_id}"
        return json.loads(found.group(1))

    settings = element(match.group(1))
    settings["villages"] = element(match.group(1) + "-villages")
    townships = settings["townships"]
    if isinstance(townships["codes"], dict):  # whole numbers, as steps
        codes, code = [], 0
        for step in read_varints(townships["codes"]["steps"]):
            code += _signed(step)
            codes.append(str(code))
        townships["codes"] = codes
    townships["county"] = read_varints(townships["county"])
    return settings


def read_varints(text: str) -> list[int]:
    """LEB128 varints from base64 text."""
    import base64

    numbers, value, shift = [], 0, 0
    for byte in base64.b64decode(text):
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            numbers.append(value)
            value, shift = 0, 0
    return numbers


def _signed(n: int) -> int:
    return (n >> 1) ^ -(n & 1)


def read_points(encoded: dict) -> list[tuple[float, float]]:
    """(x, y) of a varint point stream (steps from point to point on the grid)."""
    numbers = read_varints(encoded["points"] if "points" in encoded else encoded["arcs"])
    x0, y0 = encoded["origin"]
    x = y = 0
    points = []
    for dx, dy in zip(numbers[::2], numbers[1::2]):
        x, y = x + _signed(dx), y + _signed(dy)
        points.append((x0 + x * encoded["grid"], y0 + y * encoded["grid"]))
    return points


def read_arcs(encoded: dict) -> list[list[tuple[float, float]]]:
    """The arcs of an encoded coverage topology, as lists of (x, y)."""
    points = read_points(encoded)
    arcs, start = [], 0
    for length in read_varints(encoded["arc_lengths"]):
        arcs.append(points[start:start + length])
        start += length
    return arcs


def read_border_cells(folder: Path, detail: dict) -> dict[int, list[tuple[float, float]]]:
    """The finer arcs a large map keeps in one script per cell beside the page, by arc number."""
    import json

    arcs = {}
    for name in detail["files"]:
        text = (folder / name).read_text(encoding="utf-8")
        prefix, suffix = "TownshipCoverage.borders(", ");\n"
        assert text.startswith(prefix) and text.endswith(suffix)
        cell = json.loads(text[len(prefix):-len(suffix)])
        numbers, number = [], 0
        for step in read_varints(cell["arc_ids"]):
            number += step
            numbers.append(number)
        cell_arcs = read_arcs({**cell, "origin": detail["origin"], "grid": detail["grid"]})
        assert len(cell_arcs) == len(numbers)
        arcs.update(zip(numbers, cell_arcs))
    return arcs


def read_topology(encoded: dict, finer_arcs: dict | None = None) -> list:
    """Shapely geometries of an encoded coverage topology (one per shape), with ``finer_arcs`` by number replacing its own."""
    from shapely.geometry import MultiPolygon, Polygon

    arcs = read_arcs(encoded)
    for number, arc in (finer_arcs or {}).items():
        arcs[number] = arc
    stream = iter(read_varints(encoded["shapes"]))
    shapes, previous = [], 0
    for polygon_count in stream:
        polygons = []
        for _ in range(polygon_count):
            rings = []
            for _ in range(next(stream)):
                ring = []
                for _ in range(next(stream)):
                    code = next(stream)
                    previous += _signed(code >> 1)
                    arc = arcs[previous][::-1] if code & 1 else arcs[previous]
                    ring.extend(arc[:-1])
                rings.append(ring + ring[:1])
            polygons.append(Polygon(rings[0], rings[1:]))
        shapes.append(MultiPolygon(polygons) if len(polygons) > 1 else polygons[0] if polygons else Polygon())
    return shapes


def map_townships(page: str) -> dict:
    """Township shapes by code, as the map page carries them."""
    settings = map_settings(page)
    townships = settings["townships"]
    return dict(zip(townships["codes"], read_topology(townships["topology"])))


def map_county_borders(page: str):
    """The county borders the map page draws, as one MultiLineString (empty if it draws none)."""
    from shapely.geometry import MultiLineString

    townships = map_settings(page)["townships"]
    if not townships.get("county_arcs"):
        return MultiLineString()
    arcs = read_arcs(townships["topology"])
    return MultiLineString([arcs[i] for i in read_varints(townships["county_arcs"])])


# A timeline: the multipart townships with sites that open (and one that closes) over 2021-2023.

#: Sites: (site_id, site_type, name, lon, lat, staff, township code, opened, closed); "" is an unknown date.
TIMELINE_SITES = [
    ("S1", "township_station", "环城街道社工站", 118.010, 35.010, 3, "370001001", "2021-03-01", ""),
    ("S2", "township_station", "飞地镇社工站", 118.030, 35.030, 2, "370002001", "2021-06-15", ""),
    ("S3", "township_station", "海岛镇社工站", 118.075, 34.975, 4, "370001002", "2022-05-01", ""),  # on the island
    ("S4", "township_station", "湖滨镇社工站", 118.010, 35.080, 1, "370001003", "", ""),  # open since always
    ("S5", "township_station", "双角乡社工站", 118.105, 35.015, 2, "370001004", "2023-02-01", ""),
    ("R1", "community_room", "海岛村社工室", 118.072, 34.972, None, "370001002", "2021-09-01", "2022-12-31"),
    ("R3", "community_room", "东角村社工室", 118.135, 35.045, None, "370001004", "2022-12-31", ""),
    ("R4", "community_room", "飞地村社工室", 118.035, 35.035, None, "370002001", "2023-01-10", ""),
    ("R5", "community_room", "城中村社工室", 118.050, 35.050, None, "370001001", "2021-01-05", ""),
]
TIMELINE_DATES = ("2021-12-31", "2022-12-31", "2023-12-31")


def timeline_sites() -> gpd.GeoDataFrame:
    """The sites of :data:`TIMELINE_SITES` (WGS84), with ``opened`` and ``closed`` as datetime64 (NaT unknown)."""
    import pandas as pd

    ids, types, names, lons, lats, staff, codes, opened, closed = zip(*TIMELINE_SITES)
    return gpd.GeoDataFrame(
        {"site_id": ids, "site_type": types, "name": names, "staff": [s if s is not None else float("nan") for s in staff],
         "township_code": codes, "opened": pd.to_datetime(list(opened)), "closed": pd.to_datetime(list(closed))},
        geometry=gpd.points_from_xy(lons, lats), crs="EPSG:4326",
    )


def timeline_villages() -> gpd.GeoDataFrame:
    """The villages of the multipart project, joined to their townships (WGS84)."""
    codes, names, lons, lats, population, townships, _ = zip(*MULTIPART_VILLAGES)
    return gpd.GeoDataFrame(
        {"village_code": codes, "village_name": names, "population": population, "township_code": townships},
        geometry=gpd.points_from_xy(lons, lats), crs="EPSG:4326",
    )


def timeline_steps(labels: dict[int, dict[str, str]] | None = None) -> list:
    """One :class:`TimelineStep` per date of :data:`TIMELINE_DATES`, its table from ``coverage_table``
    of the sites open that day (radius 1 km); ``labels`` by step number (default: the year ends by name)."""
    import pandas as pd

    from township_coverage.metrics import coverage_table
    from township_coverage.webmap import TimelineStep

    townships, sites, villages = multipart_townships(), timeline_sites(), timeline_villages()
    steps = []
    for number, text in enumerate(TIMELINE_DATES):
        day = pd.Timestamp(text)
        open_sites = sites[(sites["opened"].isna() | (sites["opened"] <= day)) & (sites["closed"].isna() | (day < sites["closed"]))]
        table = coverage_table(townships, open_sites, villages, radius_km=1.0)
        default = {"zh": f"{day.year}年末", "en": f"end of {day.year}"}
        steps.append(TimelineStep(day, table, (labels or {}).get(number, default)))
    return steps
