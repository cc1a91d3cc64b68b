"""Helpers shared by the tests: paths and a tiny project built in code."""

from __future__ import annotations

import textwrap
from pathlib import Path

import geopandas as gpd
from shapely.geometry import box

REPO = Path(__file__).resolve().parents[1]
LINYI = REPO / "geo_data" / "linyi"

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
