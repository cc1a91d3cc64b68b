"""Build the Linyi default dataset in ``geo_data/linyi/`` from its sources.

Reads only ``geo_data/linyi/sources/`` (real data with provenance) and writes
the derived layers next to it:

- ``counties.geojson``: the 12 real county outlines, unchanged;
- ``townships.geojson``: 156 real townships with *schematic* outlines that tile
  their county exactly, sized to the published areas;
- ``villages.csv``: 4,186 real village-level units at *schematic* points;
- ``sites.csv``: stations, rooms and special stations at *schematic* points,
  matching the published city-wide counts (March 2023).

Deterministic: the same sources give byte-identical files.

Usage: ``python tools/build_linyi_data.py [--out DIR]``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.ops import polylabel

from township_coverage.geometry import node_coverage, tessellate_by_area

DATASET = Path(__file__).resolve().parents[1] / "geo_data" / "linyi"
SOURCES = DATASET / "sources"
RANDOM_SEED = 20230331
METRIC_CRS = "EPSG:32650"  # UTM zone 50N covers all of Linyi
COORDINATE_DECIMALS = 7
GRID_DEGREES = 10.0**-COORDINATE_DECIMALS  # about 1 cm

# The High-tech Zone (371371) has no outline of its own; its two townships
# lie inside these districts (see sources/README.md).
HOST_COUNTY = {"371371001": "371311", "371371100": "371302"}

# Townships whose location is published on a trustworthy page (README):
# a point, or the centre of a published extent.
TRUSTED_LOCATIONS = ("371324102", "371324108", "371324117", "371321112", "371321105")

# Published city-wide figures (source article, March 2023) the sites must match.
STATION_STAFF_TOTAL = 444
COMMUNITY_ROOMS = 390
SPECIAL_STATIONS = {
    "school_station": ("学校社工站", 2),
    "enterprise_station": ("企业社工站", 1),
    "hospital_station": ("医院社工站", 2),
}
MIN_STAFF_PER_STATION = 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DATASET, help="output folder")
    args = parser.parse_args()
    build(args.out)


def build(out: Path) -> None:
    """Build every derived layer into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(RANDOM_SEED)
    counties = gpd.read_file(SOURCES / "tianditu_linyi" / "counties.geojson")
    counties = counties.sort_values("county_code", ignore_index=True)
    townships = _read_townships()

    townships = _schematic_township_cells(townships, counties, rng)
    villages = _schematic_villages(townships, rng)
    sites = _schematic_sites(townships, villages, rng)

    _write_geojson(counties[["county_code", "county_name", "geometry"]], out / "counties.geojson")
    _write_geojson(townships, out / "townships.geojson")
    _write_csv(villages, out / "villages.csv")
    _write_csv(sites, out / "sites.csv")


def _read_townships() -> pd.DataFrame:
    """NBS township list joined to the published facts, with targets."""
    nbs = pd.read_csv(SOURCES / "nbs2023_linyi" / "townships.csv", dtype=str)
    nbs["village_units"] = nbs["village_units"].astype(int)
    facts = pd.read_csv(
        SOURCES / "linyi_township_facts" / "published_facts.csv", dtype={"code": str}
    ).rename(columns={"code": "township_code"})
    townships = nbs.merge(
        facts.drop(columns=["name", "county_name"]), on="township_code", how="left",
        validate="one_to_one",
    )
    townships["host_county_code"] = (
        townships["township_code"].map(HOST_COUNTY).fillna(townships["county_code"])
    )
    return townships


def _trusted_location(row: pd.Series) -> tuple[float, float] | None:
    if row["township_code"] not in TRUSTED_LOCATIONS:
        return None
    if pd.notna(row["seat_lon"]):
        return float(row["seat_lon"]), float(row["seat_lat"])
    return (
        (float(row["lon_min"]) + float(row["lon_max"])) / 2,
        (float(row["lat_min"]) + float(row["lat_max"])) / 2,
    )


def _schematic_township_cells(
    townships: pd.DataFrame, counties: gpd.GeoDataFrame, rng: np.random.Generator
) -> gpd.GeoDataFrame:
    """Tile each county outline with one schematic cell per township."""
    outlines = counties.set_index("county_code")
    metric = outlines.to_crs(METRIC_CRS)
    to_metric = _transformer("EPSG:4326", METRIC_CRS)
    cells = pd.Series(index=townships.index, dtype=object)
    for host, members in townships.groupby("host_county_code", sort=True):
        region = metric.geometry[host]
        published = members["area_km2"].to_numpy(dtype=float) * 1e6
        unknown = np.isnan(published)
        remainder = max(region.area - np.nansum(published), 0.0)
        targets = np.where(unknown, remainder / max(unknown.sum(), 1), published)
        fixed = {
            position: to_metric(*location)
            for position, (_, row) in enumerate(members.iterrows())
            if (location := _trusted_location(row)) is not None
        }
        tiling = tessellate_by_area(region, targets, fixed_seeds=fixed, rng=rng)
        cells[members.index] = tiling.cells
    lonlat = gpd.GeoSeries(cells.to_numpy(), crs=METRIC_CRS).to_crs("EPSG:4326")
    region_of_cell = townships["host_county_code"].map(
        {code: i for i, code in enumerate(outlines.index)}
    )
    geometry = node_coverage(
        lonlat.to_numpy(),
        outlines.geometry.to_numpy(),
        region_of_cell.to_numpy(),
        grid_size=GRID_DEGREES,
        names=townships["township_code"].tolist(),
        keep_input_parts=False,  # a power cell clipped into pieces keeps only its main one
    )
    population_source = np.where(
        townships["population"].notna(),
        "published: " + townships["source_url"].fillna(""),
        "",
    )
    result = gpd.GeoDataFrame(
        {
            "township_code": townships["township_code"],
            "township_name": townships["township_name"],
            "county_code": townships["county_code"],
            "county_name": townships["county_name"],
            "village_units": townships["village_units"],
            "area_km2": townships["area_km2"],
            "area_source": np.where(
                townships["area_km2"].notna(),
                "published: " + townships["source_url"].fillna(""),
                "",
            ),
            "population": townships["population"],
            "population_year": townships["population_year"].astype("Int64"),
            "population_source": population_source,
            "geometry_source": "schematic",
        },
        geometry=geometry,
        crs="EPSG:4326",
    )
    return _estimate_missing_population(result)


def _estimate_missing_population(townships: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Fill unknown township populations from the county's persons per village unit."""
    known = townships["population"].notna()
    per_unit = townships["population"] / townships["village_units"]
    county_median = per_unit[known].groupby(townships["county_code"]).median()
    rate = townships["county_code"].map(county_median).fillna(per_unit[known].median())
    estimate = (rate * townships["village_units"]).round(-2)
    townships = townships.copy()
    townships.loc[~known, "population"] = estimate[~known]
    townships["population"] = townships["population"].astype(int)
    townships.loc[~known, "population_source"] = (
        "estimate: village units x median persons per village unit of the "
        "county's townships with a published population"
    )
    return townships


def _schematic_villages(
    townships: gpd.GeoDataFrame, rng: np.random.Generator
) -> pd.DataFrame:
    """Real village units at random points inside their township's cell."""
    villages = pd.read_csv(SOURCES / "nbs2023_linyi" / "villages.csv", dtype=str)
    villages = villages.sort_values("village_code", ignore_index=True)
    by_code = townships.set_index("township_code")
    lon = np.empty(len(villages))
    lat = np.empty(len(villages))
    for code, members in villages.groupby("township_code", sort=True):
        cell = by_code.geometry[code]
        points = _random_points_in(cell, len(members), rng)
        lon[members.index] = points[:, 0]
        lat[members.index] = points[:, 1]
    share = by_code["population"] / by_code["village_units"]
    villages["lon"] = lon.round(COORDINATE_DECIMALS)
    villages["lat"] = lat.round(COORDINATE_DECIMALS)
    villages["location_source"] = "schematic"
    villages["population"] = villages["township_code"].map(share).round().astype(int)
    villages["population_source"] = (
        "estimate: township population split equally among its village units"
    )
    return villages


def _random_points_in(polygon: shapely.Geometry, size: int, rng: np.random.Generator) -> np.ndarray:
    """Uniform random points in a lon/lat polygon (small enough to treat as flat)."""
    xmin, ymin, xmax, ymax = polygon.bounds
    shapely.prepare(polygon)
    found = np.empty((0, 2))
    while len(found) < size:
        xy = rng.uniform((xmin, ymin), (xmax, ymax), size=(4 * size, 2))
        found = np.vstack([found, xy[shapely.contains_xy(polygon, xy[:, 0], xy[:, 1])]])
    return found[:size]


def _schematic_sites(
    townships: gpd.GeoDataFrame, villages: pd.DataFrame, rng: np.random.Generator
) -> pd.DataFrame:
    """Stations, rooms and special stations matching the published counts."""
    stations = townships[["township_code", "township_name", "population"]].copy()
    labels = [polylabel(cell, tolerance=1e-4) for cell in townships.geometry]
    stations["lon"] = [p.x for p in labels]
    stations["lat"] = [p.y for p in labels]
    stations["site_id"] = "ST" + stations["township_code"]
    stations["site_type"] = "township_station"
    stations["name"] = stations["township_name"] + "社会工作服务站"
    stations["staff"] = _split_staff(stations["population"].to_numpy())

    rooms = villages.iloc[
        np.sort(rng.choice(len(villages), size=COMMUNITY_ROOMS, replace=False))
    ].copy()
    rooms["site_id"] = "CR" + rooms["village_code"]
    rooms["site_type"] = "community_room"
    rooms["name"] = rooms["village_name"] + "社会工作服务室"

    # Special stations sit in the city centre: the streets of 兰山区.
    urban = townships[townships["township_code"].str.startswith("3713020")]
    special = []
    for site_type, (label, count) in SPECIAL_STATIONS.items():
        for number in range(1, count + 1):
            township = urban.iloc[int(rng.integers(len(urban)))]
            lon, lat = _random_points_in(township.geometry, 1, rng)[0]
            special.append(
                {
                    "site_id": f"{site_type[:2].upper()}{number:03d}",
                    "site_type": site_type,
                    "name": f"{label}（示意{number}）",
                    "township_code": township["township_code"],
                    "lon": lon,
                    "lat": lat,
                }
            )

    sites = pd.concat([stations, rooms, pd.DataFrame(special)], ignore_index=True)
    sites["lon"] = sites["lon"].round(COORDINATE_DECIMALS)
    sites["lat"] = sites["lat"].round(COORDINATE_DECIMALS)
    sites["staff"] = sites["staff"].astype("Int64")
    sites["location_source"] = "schematic"
    sites["staff_source"] = np.where(
        sites["site_type"] == "township_station",
        "schematic: published city total 444 split by population",
        "",
    )
    columns = ["site_id", "site_type", "name", "township_code", "village_code", "lon", "lat", "staff"]
    return sites[columns + ["location_source", "staff_source"]]


def _split_staff(population: np.ndarray) -> np.ndarray:
    """Split the published staff total over stations by population.

    Each station gets the minimum, the rest goes by largest remainder.
    """
    base = np.full(len(population), MIN_STAFF_PER_STATION)
    extra = STATION_STAFF_TOTAL - base.sum()
    quota = extra * population / population.sum()
    whole = np.floor(quota).astype(int)
    order = np.argsort(-(quota - whole), kind="stable")
    whole[order[: extra - whole.sum()]] += 1
    return base + whole


def _transformer(source: str, target: str):
    from pyproj import Transformer

    transformer = Transformer.from_crs(source, target, always_xy=True)
    return lambda x, y: transformer.transform(x, y)


def _write_geojson(frame: gpd.GeoDataFrame, path: Path) -> None:
    frame.to_file(
        path, driver="GeoJSON", engine="pyogrio",
        layer_options={"COORDINATE_PRECISION": COORDINATE_DECIMALS, "WRITE_BBOX": "NO"},
    )


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    frame.to_csv(path, index=False, encoding="utf-8", lineterminator="\n")


if __name__ == "__main__":
    main()
