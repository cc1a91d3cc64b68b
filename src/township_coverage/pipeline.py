"""The default job: read, check, join, compute, and write maps and tables.

``run(config)`` calls the stages in order; it is the only module that imports
every stage.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd

from township_coverage.config import ProjectConfig
from township_coverage.errors import InputDataError, Problem
from township_coverage.io import read_boundaries, read_table, staged_outputs
from township_coverage.join import JoinResult, assign_points_to_townships, points_from_table
from township_coverage.metrics import city_summary, coverage_table, roll_up
from township_coverage.report import summary_text, write_tables
from township_coverage.validate import check_sites, check_townships, check_villages

SCHEMATIC = "schematic"


@dataclass(frozen=True)
class Inputs:
    """Checked input layers of a project."""

    townships: gpd.GeoDataFrame
    sites: gpd.GeoDataFrame
    counties: gpd.GeoDataFrame | None
    villages: gpd.GeoDataFrame | None

    @property
    def schematic(self) -> bool:
        """Whether any outline or position is marked schematic."""
        marks = [(self.townships, "geometry_source"), (self.sites, "location_source"), (self.villages, "location_source")]
        return any(
            frame is not None and column in frame and (frame[column] == SCHEMATIC).any()
            for frame, column in marks
        )


@dataclass(frozen=True)
class RunResult:
    """What a run computed and wrote.

    Attributes
    ----------
    townships, counties
        Indicator tables indexed by township / county code.
    city
        City-wide figures.
    site_join, village_join
        Where every site and village row went.
    summary
        The text summary printed on the terminal.
    outputs
        Files written.
    """

    townships: pd.DataFrame
    counties: pd.DataFrame
    city: pd.Series
    site_join: JoinResult
    village_join: JoinResult | None
    summary: str
    outputs: tuple[Path, ...]


def load_inputs(config: ProjectConfig) -> Inputs:
    """Read and check every layer of a project, reporting all problems together.

    Raises
    ------
    InputDataError
        Listing every problem found in every layer.
    """
    problems: list[Problem] = []

    def attempt(step):
        try:
            return step()
        except InputDataError as error:
            problems.extend(error.problems)
            return None

    townships = attempt(lambda: check_townships(read_boundaries(config.townships), config.townships.path))
    counties = attempt(lambda: read_boundaries(config.counties)) if config.counties else None
    sites = attempt(lambda: check_sites(read_table(config.sites), config.sites.path))
    villages = (
        attempt(lambda: check_villages(read_table(config.villages), config.villages.path))
        if config.villages
        else None
    )
    if problems:
        raise InputDataError(problems)
    return Inputs(
        townships=townships,
        counties=counties,
        sites=points_from_table(sites, crs=config.sites.crs or "EPSG:4326"),
        villages=points_from_table(villages, crs=config.villages.crs or "EPSG:4326") if villages is not None else None,
    )


def join_inputs(inputs: Inputs, config: ProjectConfig) -> tuple[JoinResult, JoinResult | None]:
    """Join sites and villages to townships; refuse rows outside or in conflict.

    Raises
    ------
    InputDataError
        For every point outside all townships and every point whose declared
        township differs from the one it lies in.
    """
    site_join = assign_points_to_townships(inputs.sites, inputs.townships)
    village_join = (
        assign_points_to_townships(inputs.villages, inputs.townships) if inputs.villages is not None else None
    )
    problems = []
    for result, layer, id_column in ((site_join, config.sites, "site_id"), (village_join, config.villages, "village_code")):
        if result is None:
            continue
        points = result.points
        for row in points.index[points["join_status"] == "outside"]:
            problems.append(
                Problem(
                    layer.path, int(row) + 1, "lon/lat",
                    f"{points.at[row, 'lon']}, {points.at[row, 'lat']}",
                    f"{id_column} {points.at[row, id_column]} lies in no township "
                    f"({points.at[row, 'distance_m'] / 1000:.1f} km from the nearest)",
                )
            )
        for row, point in result.disagreements().iterrows():
            problems.append(
                Problem(
                    layer.path, int(row) + 1, "township_code", str(point["declared_township_code"]),
                    f"{id_column} {point[id_column]} lies in township {point['township_code']}, "
                    "not in the declared one",
                )
            )
    if problems:
        raise InputDataError(problems)
    return site_join, village_join


def run(config: ProjectConfig, *, lang: str = "zh", offline: bool = True) -> RunResult:
    """Run the default job on a project and write its outputs.

    Outputs go to ``config.output_dir`` only when all of them are complete.

    Parameters
    ----------
    config
        The project.
    lang
        Language of the map and table headers (``"zh"`` or ``"en"``).
    offline
        Inline the map's JS/CSS (default) instead of linking to CDNs.

    Returns
    -------
    RunResult
    """
    from township_coverage.webmap import build_coverage_map, save_map

    inputs = load_inputs(config)
    site_join, village_join = join_inputs(inputs, config)
    sites = site_join.points
    villages = village_join.points if village_join is not None else None
    table = coverage_table(inputs.townships, sites, villages, radius_km=config.radius_km)
    counties = roll_up(table, by="county_code")
    city = city_summary(table)
    summary = summary_text(
        config.name, city,
        published=config.published, context=config.published_context,
        published_source=config.published_source, radius_km=config.radius_km, lang=lang,
    )
    shapes = inputs.townships.set_index("township_code")[["geometry"]].join(table)
    fmap = build_coverage_map(
        gpd.GeoDataFrame(shapes, geometry="geometry", crs=inputs.townships.crs),
        sites,
        title=config.name,
        counties=inputs.counties,
        schematic=inputs.schematic,
        sources=config.attribution,
        lang=lang,
        offline=offline,
    )
    with staged_outputs(config.output_dir) as staging:
        written = write_tables(table, counties, city, staging, lang=lang)
        save_map(fmap, staging / "coverage.html")
        written.append(staging / "coverage.html")
    outputs = tuple(config.output_dir / path.name for path in written)
    return RunResult(table, counties, city, site_join, village_join, summary, outputs)
