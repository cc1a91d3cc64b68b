"""Every layer read, checked and joined, with every problem found.

:func:`validate_project` is what ``validate`` reports and what ``run`` and
``plan`` start from: boundary layers checked and in WGS84, every row of the
point tables with one status, community rooms linked to their villages,
and the problems of all layers together. :func:`refuse_blocking_errors`
refuses input with errors (or, in lenient mode, leaves the bad rows out).
:func:`townships_depend_on` and :func:`points_depend_on` list what a
result is computed from, for a cache to key it by.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TypeVar

import geopandas as gpd
import pandas as pd

from township_coverage.cache import Remember, compute_now
from township_coverage.errors import InputDataError, Problem
from township_coverage.inputs.config import LayerConfig, ProjectConfig
from township_coverage.inputs.io import TableSource, read_boundaries, read_table
from township_coverage.inputs.names import NameMatcher
from township_coverage.inputs.validate import (
    CheckedLayer,
    check_counties,
    check_sites,
    check_townships,
    check_villages,
)
from township_coverage.join import (
    STATUSES,
    USABLE,
    JoinResult,
    assign_points_to_townships,
    link_rooms_to_villages,
    unassigned,
)
from township_coverage.progress import SILENT, Progress

SCHEMATIC = "schematic"
# Where to look for swapped coordinates when the townships could not be read.
_CHINA_BOUNDS = (73.0, 18.0, 135.0, 54.0)

T = TypeVar("T")
#: Point layers: name, id column, name column.
POINT_LAYERS = (("sites", "site_id", "name"), ("villages", "village_code", "village_name"))


@dataclass(frozen=True)
class Validation:
    """Every layer of a project, checked and joined, with all problems found.

    Attributes
    ----------
    townships, counties
        Boundary layers in WGS84 (``None`` if unreadable or not given).
    site_join, village_join
        Every site / village row with its status (``None`` if unreadable
        or not given). Usable community rooms carry the ``village_code``
        of the village they serve (by code or by position).
    problems
        Errors and warnings of all layers.
    sources
        Where each point layer's rows come from (layer name -> source).
    """

    townships: gpd.GeoDataFrame | None
    counties: gpd.GeoDataFrame | None
    site_join: JoinResult | None
    village_join: JoinResult | None
    problems: tuple[Problem, ...]
    sources: Mapping[str, TableSource] = field(default_factory=dict)

    @property
    def errors(self) -> list[Problem]:
        """Problems that make a run refuse the input."""
        return [p for p in self.problems if p.severity == "error"]

    @property
    def row_errors(self) -> list[Problem]:
        """Errors about single rows of a point layer: ``skip_invalid`` leaves those rows out."""
        point_files = {source.path for source in self.sources.values()}
        return [p for p in self.errors if p.row is not None and p.file in point_files]

    def blocking_errors(self, *, skip_invalid: bool) -> list[Problem]:
        """Errors that stop a run: all of them, or with ``skip_invalid`` those not about single rows."""
        if not skip_invalid:
            return self.errors
        skippable = set(map(id, self.row_errors))
        return [p for p in self.errors if id(p) not in skippable]

    def left_out(self) -> dict[str, int]:
        """Rows per point layer that take no part in the indicators (any status but joined or snapped)."""
        return {
            name: int((~join.points["join_status"].isin(USABLE)).sum())
            for name, join in (("sites", self.site_join), ("villages", self.village_join))
            if join is not None
        }

    @property
    def warnings(self) -> list[Problem]:
        """Problems that are reported while the run goes on."""
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def schematic(self) -> bool:
        """Whether any outline or position is marked schematic."""
        marks = [
            (self.townships, "geometry_source"),
            (self.site_join.points if self.site_join else None, "location_source"),
            (self.village_join.points if self.village_join else None, "location_source"),
        ]
        return any(
            frame is not None and column in frame and (frame[column] == SCHEMATIC).any()
            for frame, column in marks
        )

    def row_accounting(self) -> pd.DataFrame:
        """Rows per status for each point layer; each row sums to the layer's rows."""
        counts = {
            name: join.status_counts()
            for name, join in (("sites", self.site_join), ("villages", self.village_join))
            if join is not None
        }
        table = pd.DataFrame(counts).T.reindex(columns=list(STATUSES), fill_value=0)
        table["rows"] = table.sum(axis=1)
        return table


@dataclass(frozen=True)
class CheckedBoundaries:
    """A boundary layer read and checked.

    Attributes
    ----------
    frame
        The layer in WGS84, or ``None`` if it could not be read or has errors.
    problems
        Errors and warnings found in it.
    """

    frame: gpd.GeoDataFrame | None
    problems: tuple[Problem, ...]


def read_checked_townships(layer: LayerConfig) -> CheckedBoundaries:
    """Read and check the township layer; problems are returned, not raised."""
    try:
        frame = read_boundaries(layer)
    except InputDataError as error:
        return CheckedBoundaries(None, tuple(error.problems))
    problems: list[Problem] = []
    checked = _checked(frame, layer, problems)
    return CheckedBoundaries(checked, tuple(problems))


def townships_depend_on(layer: LayerConfig) -> tuple[object, ...]:
    """What :func:`read_checked_townships` reads: the layer's settings and its file (a path counts by content)."""
    return (layer, layer.path)


def points_depend_on(config: ProjectConfig, layer: LayerConfig) -> tuple[object, ...]:
    """What reading, checking and joining one point table depends on: its settings and file, the townships', the snapping."""
    return (layer, layer.path, *townships_depend_on(config.townships), config.snap_tolerance_m)


@dataclass(frozen=True)
class JoinedLayer:
    """A point table read, checked and joined to the townships (see :func:`validate_project`).

    Attributes
    ----------
    join
        The join, or ``None`` if the table could not be read.
    source
        Where the table came from (file, sheet, the user's headers), if read.
    problems
        Problems found in reading, checking and joining it.
    rows
        Rows read.
    """

    join: JoinResult | None
    source: TableSource | None
    problems: tuple[Problem, ...]
    rows: int




def validate_project(
    config: ProjectConfig,
    *,
    read_townships: Callable[[LayerConfig], CheckedBoundaries] = read_checked_townships,
    remember: Remember = compute_now,
    progress: Progress = SILENT,
) -> Validation:
    """Read, check and join every layer, collecting every problem.

    Never raises for bad data: problems are returned in the result. Every
    row of a point table that could be read ends in one status.

    Parameters
    ----------
    config
        The project.
    read_townships
        Reads and checks the township layer.
    remember
        Keeps the checked townships (kind ``"townships"``, keyed by
        :func:`townships_depend_on`) and each point table's
        :class:`JoinedLayer` (kind ``"points"``, keyed by
        :func:`points_depend_on`); the pipeline passes its cache's
        ``get_or_compute``, so that an unchanged layer is not read again
        when another one changed.
    progress
        Where to report each step (reading and checking each layer, joining
        each point table).
    """
    problems: list[Problem] = []

    def attempt(step: Callable[[], T]) -> T | None:
        try:
            return step()
        except InputDataError as error:
            problems.extend(error.problems)
            return None

    def remembered(kind: str, key_parts: Sequence[object], compute: Callable[[], T], name: str = "") -> T:
        """``remember``'s result; one progress line when it was not computed now."""
        computed, start = False, time.perf_counter()

        def counted() -> T:
            nonlocal computed
            computed = True
            return compute()

        result = remember(kind, key_parts, counted)
        if not computed:
            progress.done(f"cached_{kind}", time.perf_counter() - start, name=name)
        return result

    def read_checked() -> CheckedBoundaries:
        with progress.step("townships"):
            return read_townships(config.townships)

    checked_townships = remembered("townships", townships_depend_on(config.townships), read_checked)
    townships = checked_townships.frame
    problems.extend(checked_townships.problems)
    counties = None
    if config.counties:
        with progress.step("counties"):
            counties = attempt(lambda: read_boundaries(config.counties))
            if counties is not None:
                counties = _checked(counties, config.counties, problems, check_counties)
    region = tuple(townships.total_bounds) if townships is not None else _CHINA_BOUNDS
    matcher = NameMatcher(townships) if townships is not None else None
    labels = {code: matcher.full_name(code) for code in townships["township_code"]} if matcher else {}
    sources: dict[str, TableSource] = {}

    def joined_layer(name: str, layer: LayerConfig, check) -> JoinedLayer:
        found: list[Problem] = []
        with progress.step("read_points", layer.path.name) as step:
            try:
                table, source = read_table(layer, layer_name=name)
            except InputDataError as error:
                return JoinedLayer(None, None, tuple(error.problems), 0)
            checked: CheckedLayer = check(table, source, crs=layer.crs, region=region)
            found.extend(checked.problems)
            step.detail = _rows(len(table), progress.lang)
        if townships is None:
            return JoinedLayer(unassigned(checked.frame), source, tuple(found), len(table))
        with progress.step("join_points", layer.path.name):
            join = assign_points_to_townships(
                checked.frame, townships, snap_tolerance_m=config.snap_tolerance_m, matcher=matcher
            )
            found.extend(join.problems(source, labels))
        return JoinedLayer(join, source, tuple(found), len(table))

    def checked_points(name: str, layer: LayerConfig, check) -> JoinResult | None:
        joined = remembered(
            "points", [name, *points_depend_on(config, layer)], lambda: joined_layer(name, layer, check), layer.path.name
        )
        problems.extend(joined.problems)
        if joined.source is not None:
            sources[name] = joined.source
        return joined.join

    site_join = checked_points("sites", config.sites, check_sites)
    village_join = checked_points("villages", config.villages, check_villages) if config.villages else None
    if site_join is not None and village_join is not None and townships is not None:
        with progress.step("room_links"):
            links = link_rooms_to_villages(site_join.points, village_join.usable(), within_m=config.room_link_m)
            problems.extend(links.problems(sources["sites"]))
            site_join = site_join.with_room_links(links)
    return Validation(townships, counties, site_join, village_join, _by_file_and_row(problems), MappingProxyType(sources))


def _rows(count: int, lang: str) -> str:
    """A number of rows as the progress line says it."""
    return f"{count:,} 行" if lang == "zh" else f"{count:,} rows"


def _by_file_and_row(problems: list[Problem]) -> tuple[Problem, ...]:
    """Problems grouped by file (in the order files were read), then by row."""
    files = list(dict.fromkeys(p.file for p in problems))
    return tuple(sorted(problems, key=lambda p: (files.index(p.file), p.row is not None, p.row or 0)))


def _checked(
    frame: gpd.GeoDataFrame | None, layer: LayerConfig, problems: list[Problem], check=check_townships
) -> gpd.GeoDataFrame | None:
    """The checked boundary layer, or ``None`` if it has errors (which go to ``problems``)."""
    if frame is None:
        return None
    checked = check(frame, layer)
    problems.extend(checked.problems)
    if any(p.severity == "error" for p in checked.problems):
        return None
    return checked.frame


def left_out_notes(validation: Validation, lang: str) -> list[str]:
    """One line per point layer with rows left out of the indicators."""
    notes = []
    for name, count in validation.left_out().items():
        if not count:
            continue
        source = validation.sources.get(name)
        file = source.path.name if source else name
        total = len((validation.site_join if name == "sites" else validation.village_join).points)
        notes.append(
            f"{file}：{total} 行中有 {count} 行因有误未计入（见 validation.csv 与 {name}_joined.csv）"
            if lang == "zh"
            else f"{file}: {count} of {total} rows were left out because of errors "
            f"(see validation.csv and {name}_joined.csv)"
        )
    return notes


def refuse_blocking_errors(validation: Validation, *, skip_invalid: bool) -> Validation:
    """The checked inputs, or :class:`InputDataError` listing every error that stops the run.

    With ``skip_invalid`` rows with errors are left out instead; errors
    about whole files still stop the run.
    """
    blocking = validation.blocking_errors(skip_invalid=skip_invalid)
    if blocking:
        rows = {(p.file, p.row) for p in validation.row_errors}
        hint = (
            f"{len(rows)} row(s) have errors; to map the rest now and leave those rows out, run with "
            "--skip-invalid (or set [join] skip_invalid = true in the project file)"
            if rows and not skip_invalid else ""
        )
        raise InputDataError(blocking, hint=hint)
    return validation
