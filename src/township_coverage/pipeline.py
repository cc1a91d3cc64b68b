"""The commands' jobs: check, join, compute, and write maps, tables and plans.

``run(config)`` starts from the checked inputs
(:mod:`township_coverage.validation`), computes the indicators and writes
every output at once; ``plan_rooms(config)`` proposes new rooms. This is
the only module that imports every stage.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from township_coverage import scale
from township_coverage.report import staticmap
from township_coverage.cache import Cache, output_cache
from township_coverage.classes import INDICATORS, Classes, classify_table
from township_coverage.errors import ConfigError, InputDataError, Problem
from township_coverage.inputs.config import LayerConfig, LevelNames, ProjectConfig, load_project
from township_coverage.inputs.dates import step_label
from township_coverage.inputs.io import read_roads, read_table
from township_coverage.inputs.validate import missing_columns
from township_coverage.outputs import prepare_output_folder, staged_outputs, write_csv
from township_coverage.metrics import COVERING_SITE_TYPES, city_summary, coverage_table, roll_up, sites_open_on
from township_coverage.progress import SILENT, Progress
from township_coverage.report.tables import (
    PLAN_TABLE_FILES,
    TABLE_FILES,
    TIMELINE_FILE,
    ProgressSection,
    dated_title,
    distance_plan_summary,
    joined_rows_name,
    joined_rows_sheets,
    joined_rows_tables,
    no_timeline_note,
    plan_summary,
    progress_report_table,
    progress_sentences,
    road_distance_note,
    row_accounting_table,
    summary_text,
    table_frames,
    timeline_table,
    undated_sites_note,
    validation_table,
    workbook_sheets,
    workbook_tables,
    write_plan_tables,
    write_tables,
)
from township_coverage.report.content import (
    PLAN_SUMMARY_FILE, PlanFacts, ReportInputs, plan_facts, plan_sheets, report_content,
)
from township_coverage.report.docx import write_report_docx
from township_coverage.report.html import render_report_html
from township_coverage.report.atlas import write_atlas
from township_coverage.report.staticmap import (
    PLAN_COLUMN,
    FontNotFoundError,
    find_cjk_font,
    plan_map,
    plan_map_caption,
    plan_map_names,
    static_map_names,
    static_maps,
)
from township_coverage.validation import (
    Validation,
    left_out_notes,
    points_depend_on,
    read_checked_townships,
    refuse_blocking_errors,
    validate_project,
)

if TYPE_CHECKING:
    from township_coverage.plan import PlanResult, RoadNetwork


@dataclass(frozen=True)
class RunResult:
    """What a run computed and wrote.

    Attributes
    ----------
    townships, counties
        Indicator tables indexed by township / county code.
    city
        City-wide figures.
    validation
        The checked inputs, with warnings (a run has no errors).
    summary
        The text summary printed on the terminal.
    outputs
        Files written.
    title
        The project's name.
    notes
        Things the run left out, and why.
    """

    townships: pd.DataFrame
    counties: pd.DataFrame
    city: pd.Series
    validation: Validation
    summary: str
    outputs: tuple[Path, ...]
    title: str = ""
    notes: tuple[str, ...] = ()
    timeline: Timeline | None = None


@dataclass(frozen=True)
class Timeline:
    """The indicators at the end of each year or quarter of the build-out.

    Attributes
    ----------
    every
        ``"yearly"`` or ``"quarterly"``.
    steps
        The days of the steps, in order: each period end from the first
        dated opening or closing up to the as-of day, and that day last.
    townships
        The township indicator table at each step (:func:`coverage_table`).
    counties, city
        The county and city figures at each step, one row per step and
        county (city), with the step's day in the column ``step``.
    """

    every: str
    steps: tuple[pd.Timestamp, ...]
    townships: tuple[pd.DataFrame, ...]
    counties: pd.DataFrame
    city: pd.DataFrame


#: Most steps of a timeline (25 years of quarters).
MAX_TIMELINE_STEPS = 100


def timeline_steps(sites: pd.DataFrame, last_day: pd.Timestamp, every: str) -> tuple[pd.Timestamp, ...]:
    """Each year or quarter end from the first dated opening or closing of ``sites`` up to ``last_day``, then it.

    Returns no steps when no site has a date on or before ``last_day``; the
    first steps are dropped when there would be more than
    :data:`MAX_TIMELINE_STEPS`.
    """
    dates = pd.concat([sites["opened"], sites["closed"]]).dropna()
    dates = dates[dates <= last_day]
    if dates.empty:
        return ()
    ends = pd.date_range(dates.min(), last_day, freq="YE" if every == "yearly" else "QE")
    steps = [*ends[ends < last_day], last_day]
    return tuple(steps[-MAX_TIMELINE_STEPS:])


def build_timeline(
    townships: gpd.GeoDataFrame, sites: gpd.GeoDataFrame, villages: gpd.GeoDataFrame | None, *,
    steps: Sequence[pd.Timestamp], every: str, radius_km: float, progress: Progress = SILENT,
    roads: RoadNetwork | None = None,
) -> Timeline:
    """The indicators with the sites open at each step, computed by the same functions as one run's
    (distances along ``roads`` when given)."""
    tables, counties, cities = [], [], []
    with progress.step("timeline") as step:
        for day in steps:
            table = coverage_table(
                townships, sites[sites_open_on(sites, day).to_numpy()], villages, radius_km=radius_km, roads=roads,
            )
            tables.append(table)
            counties.append(roll_up(table, by="county_code").assign(step=day))
            cities.append(city_summary(table).to_frame().T.assign(step=day))
        step.detail = f"{len(steps)} 步" if progress.lang == "zh" else f"{len(steps)} steps"
    return Timeline(every, tuple(steps), tuple(tables), pd.concat(counties), pd.concat(cities).reset_index(drop=True))


def validated_project(config: ProjectConfig, *, use_cache: bool = True, progress: Progress = SILENT) -> Validation:
    """Every layer read, checked and joined (:func:`validate_project`), reusing earlier results.

    Results are kept in the output folder's cache, keyed by the content of
    the input files and the settings they depend on: the township layer and
    each point table are read, checked and joined again only when they (or,
    for a point table, the townships) changed.

    Parameters
    ----------
    config
        The project.
    use_cache
        Read and write the cache (``--no-cache`` turns it off).
    progress
        Where to report each step; a result found in the cache is one line.
    """
    return validate_project(
        config, read_townships=read_checked_townships,
        remember=output_cache(config.output_dir, enabled=use_cache).get_or_compute,
        progress=progress.with_levels(config.levels),
    )


def checked_inputs(
    config: ProjectConfig, *, skip_invalid: bool | None, use_cache: bool, progress: Progress = SILENT
) -> Validation:
    """The validated project, or :class:`InputDataError` listing every error that stops the run."""
    skip = config.skip_invalid if skip_invalid is None else skip_invalid
    return refuse_blocking_errors(validated_project(config, use_cache=use_cache, progress=progress), skip_invalid=skip)


def write_validation(
    validation: Validation, output_dir: Path, *, lang: str = "zh", levels: LevelNames = LevelNames(),
    progress: Progress = SILENT,
) -> Path:
    """Write ``validation.csv`` (UTF-8 with BOM, headers in ``lang``) into ``output_dir``."""
    with staged_outputs(output_dir, [VALIDATION_FILE]) as staging, progress.step("validation"):
        write_csv(validation_table(validation, lang=lang, levels=levels), staging / VALIDATION_FILE)
    return output_dir / VALIDATION_FILE


#: Report formats: html (one-file report), docx, and static maps as png/svg/pdf
#: (pdf also writes the county atlas).
REPORT_FORMATS = ("html", "docx", "png", "svg", "pdf")
#: Static map formats among :data:`REPORT_FORMATS`.
STATIC_MAP_FORMATS = ("png", "svg", "pdf")

VALIDATION_FILE = "validation.csv"
MAP_FILE, EMBED_FILE, PLAN_MAP_FILE, TIMELINE_MAP_FILE = "coverage.html", "embed.html", "plan.html", "timeline.html"
#: Beside ``plan.html``, the scripts a large plan map loads (``coverage.html`` has ``map_data``).
PLAN_DATA_FOLDER = "plan_data"
#: Beside ``timeline.html``, the scripts a large timeline map loads.
TIMELINE_DATA_FOLDER = "timeline_data"
WORKBOOK_FILE = "coverage.xlsx"
#: Report files by format (static maps are named by :func:`static_map_names`).
REPORT_FILES = {"pdf": "atlas.pdf", "html": "report.html", "docx": "report.docx"}
#: Commands of the command line that write into the output folder.
COMMANDS = ("run", "report", "plan", "validate")


def output_names(
    command: str, *, report_formats: Sequence[str] | None = None, point_layers: Sequence[str] = ("sites",)
) -> tuple[str, ...]:
    """Names of the files a command writes into the output folder.

    Parameters
    ----------
    command
        One of :data:`COMMANDS`; ``run`` and ``report`` both call :func:`run`.
    report_formats
        For ``run`` and ``report``: the report formats given to :func:`run`
        (by default its default formats).
    point_layers
        For ``run`` and ``report``: the project's point layers, each of
        which gets a table of its rows (:func:`joined_rows_name`).

    Returns
    -------
    tuple of str
        File names, in the order :func:`run`, :func:`plan_rooms` or
        :func:`write_validation` reports them.
    """
    if command == "validate":
        return (VALIDATION_FILE,)
    if command == "plan":
        return (*PLAN_TABLE_FILES, PLAN_SUMMARY_FILE, PLAN_MAP_FILE)
    if command not in COMMANDS:
        raise ValueError(f"unknown command {command!r}; allowed: {', '.join(COMMANDS)}")
    formats = default_report_formats()[0] if report_formats is None else tuple(report_formats)
    map_formats = [f for f in STATIC_MAP_FORMATS if f in formats]
    reports = [name for fmt, name in REPORT_FILES.items() if fmt in formats]
    return (
        *TABLE_FILES, VALIDATION_FILE, MAP_FILE, EMBED_FILE, *map(joined_rows_name, point_layers),
        *static_map_names(sorted(map_formats)), *reports, WORKBOOK_FILE,
    )


def _point_layers(config: ProjectConfig) -> tuple[str, ...]:
    """Names of the project's point layers."""
    return ("sites", "villages") if config.villages is not None else ("sites",)


def prepare_outputs(
    config: ProjectConfig, command: str, *, report_formats: Sequence[str] | None = None, extra: Sequence[str] = (),
) -> None:
    """Check, before any work, that the output folder can take a command's files (and the ``extra`` ones it may write).

    Raises
    ------
    OutputError
        If the folder cannot be created or written, or a file the command
        replaces is open in another program.
    """
    names = output_names(command, report_formats=report_formats, point_layers=_point_layers(config))
    prepare_output_folder(config.output_dir, [*names, *extra])


def default_report_formats() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The HTML report, with static PNG maps when a font for Chinese text is installed.

    Returns
    -------
    tuple
        The formats, and notes saying what was left out and why.
    """
    try:
        find_cjk_font()
    except FontNotFoundError as error:
        return ("html",), (f"static maps were not drawn: {error}",)
    return ("html", "png"), ()


def run(
    config: ProjectConfig,
    *,
    lang: str = "zh",
    offline: bool = True,
    basemap: str = "none",
    report_formats: Sequence[str] | None = None,
    skip_invalid: bool | None = None,
    use_cache: bool = True,
    progress: Progress = SILENT,
    atlas_counties: Sequence[str] | None = None,
    as_of: pd.Timestamp | None = None,
    timeline: str = "auto",
) -> RunResult:
    """Run the default job on a project and write its outputs.

    Writes the interactive map (``coverage.html``, and ``embed.html`` for
    an iframe), the tables (CSV with BOM, and ``coverage.xlsx``),
    ``validation.csv``, and the report outputs of ``report_formats``.
    Outputs go to ``config.output_dir`` only when all of them are complete.

    Parameters
    ----------
    config
        The project.
    lang
        Language of the map, tables and reports (``"zh"`` or ``"en"``).
    offline
        Inline the map's JS/CSS (default) instead of linking to CDNs.
    basemap
        ``"none"`` (default, offline) or an online basemap (see
        :data:`township_coverage.webmap.BASEMAPS`).
    report_formats
        Any of :data:`REPORT_FORMATS`; by default the HTML report, with
        static PNG maps when a font for Chinese text is installed (else a
        note says why they were left out).
    skip_invalid
        Leave rows with errors out instead of refusing the input (default:
        the project's ``[join] skip_invalid``); the map, the reports and
        :attr:`RunResult.notes` say how many rows were left out.
    use_cache
        Reuse the checked inputs of an earlier run with the same input
        files and settings (:func:`validated_project`).
    progress
        Where to report each long step (the command line prints one line
        per step on stderr; by default nothing is printed).
    atlas_counties
        Counties of the atlas (with ``"pdf"``): beginnings of county codes,
        or ``["all"]``; by default the project's ``[report] atlas_counties``,
        else every county up to :data:`township_coverage.scale.MAX_ATLAS_PAGES`
        (above that none, and a note says how to choose them).
    as_of
        Count only the sites open on this day (:func:`sites_as_of`); the
        title of every output and the tables name the day. By default,
        when some sites have opening or closing dates, today.
    timeline
        ``"yearly"`` or ``"quarterly"``: the indicators at each year or
        quarter end up to the as-of day (:func:`build_timeline`), written
        as ``timeline.csv``, workbook sheets, a chart, a map with a time
        slider and a progress section of the reports; ``"auto"`` (default):
        yearly when some sites have dates; ``"none"``: no timeline.

    Returns
    -------
    RunResult

    Raises
    ------
    InputDataError
        Listing every error in the input; no output is written then (the
        cache folder may keep the checked inputs for the next attempt).
    OutputError
        If the output folder cannot take the outputs (checked before the
        work starts) or a file cannot be replaced; the previous outputs
        are left as they were.
    """
    from township_coverage.webmap import map_side_files, render_map

    notes: tuple[str, ...] = ()
    if report_formats is None:
        report_formats, notes = default_report_formats()
    unknown = set(report_formats) - set(REPORT_FORMATS)
    if unknown:
        raise ConfigError(f"unknown report format(s) {', '.join(sorted(unknown))}; allowed: {', '.join(REPORT_FORMATS)}")
    prepare_outputs(config, "run", report_formats=report_formats,
                    extra=timeline_names(chart=True) if timeline != "none" else ())
    progress = progress.with_levels(config.levels)
    cache = output_cache(config.output_dir, enabled=use_cache)
    validation = checked_inputs(config, skip_invalid=skip_invalid, use_cache=use_cache, progress=progress)
    left_out = left_out_notes(validation, lang)
    notes += tuple(left_out)
    townships = validation.townships
    every_site = validation.site_join.usable()
    dated = sites_as_of(every_site, as_of, lang=lang)
    sites, day = dated.sites, dated.day
    notes += dated.notes
    project_name = config.name
    config = replace(config, name=dated_title(config.name, day, lang))  # every output's title names the day
    villages = validation.village_join.usable() if validation.village_join is not None else None
    roads = _road_network(config, villages, progress) if villages is not None else None
    if roads is not None:
        covering = sites[sites["site_type"].isin(COVERING_SITE_TYPES)]
        left_out.append(_road_note(config, roads, villages, covering, lang))
        notes += (left_out[-1],)
    with progress.step("indicators"):
        table = coverage_table(townships, sites, villages, radius_km=config.radius_km, roads=roads)
        counties = roll_up(table, by="county_code")
        city = city_summary(table)
    every = "quarterly" if timeline == "quarterly" else "yearly"
    steps = timeline_steps(every_site, day, every) if day is not None and timeline != "none" else ()
    over_time = build_timeline(
        townships, every_site, villages, steps=steps, every=every, radius_km=config.radius_km, progress=progress,
        roads=roads,
    ) if steps else None
    if not steps and timeline in ("yearly", "quarterly"):
        notes += (no_timeline_note(lang),)
    atlas, scale_notes = _what_reports_leave_out(
        config, validation, table, report_formats, lang=lang,
        atlas_counties=config.atlas_counties if atlas_counties is None else tuple(atlas_counties),
    )
    summary = summary_text(
        config.name, city,
        published=config.published, context=config.published_context,
        published_source=config.published_source, radius_km=config.radius_km, lang=lang, levels=config.levels,
    )
    # Each indicator is classed once; the web map, static maps and atlas share the classes.
    with progress.step("classes"):
        classified = classify_table(table, config.classes, lang=lang)
    with progress.step("map"):
        try:
            fmap = _coverage_map(
                validation, table, sites, config, lang=lang, offline=offline, basemap=basemap, notes=left_out,
                classified=classified, use_cache=use_cache,
            )
            timeline_map = _coverage_map(
                validation, table, every_site, config, lang=lang, offline=offline, basemap=basemap, notes=left_out,
                use_cache=use_cache, data_folder=TIMELINE_DATA_FOLDER, timeline=over_time,
            ) if over_time is not None else None
        except ValueError as error:
            raise ConfigError(str(error)) from None
    names = output_names("run", report_formats=report_formats, point_layers=_point_layers(config))
    names += _plan_map_names(config, report_formats)
    if atlas is None:
        names = tuple(name for name in names if name != REPORT_FILES["pdf"])
    chart = over_time is not None and _can_draw_charts()
    if over_time is not None:
        names += timeline_names(chart=chart)
    side_files = map_side_files(fmap)
    if timeline_map is not None:
        side_files = {**side_files, **map_side_files(timeline_map)}
    with staged_outputs(config.output_dir, [*names, *_top_folders(side_files)]) as staging:
        with progress.step("tables"):
            written = write_tables(table, counties, city, staging, lang=lang, levels=config.levels, as_of=day)
            write_csv(validation_table(validation, lang=lang, levels=config.levels), staging / VALIDATION_FILE)
            written.append(staging / VALIDATION_FILE)
        section, over_time_rows = ProgressSection(), None
        if over_time is not None:
            over_time_rows = timeline_table(
                over_time.city, over_time.counties, every=over_time.every, lang=lang, levels=config.levels
            )
            with progress.step("timeline_files"):
                files, section = _write_timeline(
                    over_time, over_time_rows, staging, title=project_name, footer=_footer(config, validation, lang),
                    lang=lang, levels=config.levels, chart=chart,
                )
                (staging / TIMELINE_MAP_FILE).write_text(render_map(timeline_map), encoding="utf-8")
            written += [*files, staging / TIMELINE_MAP_FILE]
        section = _with_last_comparison(section, config, lang=lang)
        with progress.step("map_files"):
            map_html = render_map(fmap)  # rendered once: the embeddable page is the same page
            for name in (MAP_FILE, EMBED_FILE):
                (staging / name).write_text(map_html, encoding="utf-8")
            written += [staging / MAP_FILE, staging / EMBED_FILE]
            written += _write_side_files(side_files, staging)
        joined = joined_rows_tables(validation, lang=lang, levels=config.levels)
        written += _write_joined_rows(joined, staging, config=config, lang=lang, cache=cache, progress=progress)
        map_size = (staging / MAP_FILE).stat().st_size
        embed_map = scale.map_is_embedded(map_size)
        if "html" in report_formats and not embed_map:
            scale_notes.append(scale.linked_map_note(map_size, lang))
        written += _write_reports(
            config, validation, table, counties, city, sites, staging,
            formats=report_formats, lang=lang, notes=left_out, map_file=staging / MAP_FILE, embed_map=embed_map,
            atlas=atlas, classified=classified, progress=progress, joined=joined, cache=cache, as_of=day,
            timeline_rows=over_time_rows, progress_section=None if section.empty else section, roads=roads,
        )
    outputs = tuple(config.output_dir / path.name for path in written)
    return RunResult(
        table, counties, city, validation, summary, outputs, config.name, notes + tuple(scale_notes), over_time,
    )


@dataclass(frozen=True)
class SitesAsOf:
    """The sites open on a day.

    Attributes
    ----------
    sites
        The sites open on ``day`` (every site when ``day`` is ``None``).
    day
        The day, or ``None`` when no day applies (no dates and none asked for).
    notes
        What the run says about sites without dates.
    """

    sites: gpd.GeoDataFrame
    day: pd.Timestamp | None
    notes: tuple[str, ...] = ()


def sites_as_of(sites: gpd.GeoDataFrame, as_of: pd.Timestamp | None, *, lang: str) -> SitesAsOf:
    """The sites open on ``as_of``; by default, when some sites carry dates, today.

    A list without any opening or closing date counts every site, as of no
    particular day, unless a day is asked for. Sites without an opening
    date count as open at every date, and a note says how many there are.
    """
    has_dates = bool(sites["opened"].notna().any() or sites["closed"].notna().any())
    if as_of is None and not has_dates:
        return SitesAsOf(sites, None)
    day = pd.Timestamp.today().normalize() if as_of is None else pd.Timestamp(as_of).normalize()
    undated = int(sites["opened"].isna().sum())
    notes = (undated_sites_note(undated, len(sites), lang),) if undated else ()
    return SitesAsOf(sites[sites_open_on(sites, day).to_numpy()], day, notes)


def _what_reports_leave_out(
    config: ProjectConfig, validation: Validation, table: pd.DataFrame, formats: Sequence[str], *, lang: str,
    atlas_counties: tuple[str, ...] | None,
) -> tuple[list[str] | None, list[str]]:
    """The counties of the atlas (``None``: no atlas), and notes on what large projects leave out.

    Raises
    ------
    ConfigError
        If chosen atlas counties match no county.
    """
    levels, notes = config.levels, []
    atlas = None
    if "pdf" in formats:
        codes = sorted(table["county_code"].dropna().unique())
        atlas, note = scale.atlas_counties(codes, atlas_counties, levels=levels, lang=lang)
        if note:
            notes.append(note)
            atlas = None
    draws_maps = any(f in formats for f in (*STATIC_MAP_FORMATS, "docx"))
    most_names = staticmap.MAX_COUNTY_NAMES
    if draws_maps and validation.counties is not None and len(validation.counties) > most_names:
        notes.append(scale.county_names_note(len(validation.counties), most_names, lang, levels))
    if "docx" in formats and len(table) > scale.MAX_DOCX_TABLE_ROWS:
        notes.append(scale.docx_table_note(len(table), lang, levels))
    return atlas, notes


def _write_reports(
    config, validation, table, counties, city, sites, folder, *, formats, lang, notes, map_file: Path, embed_map: bool,
    atlas: list[str] | None, classified: dict[str, Classes], progress: Progress = SILENT, joined=None,
    cache: Cache = Cache(None), as_of: pd.Timestamp | None = None, timeline_rows: pd.DataFrame | None = None,
    progress_section: ProgressSection | None = None, roads: RoadNetwork | None = None,
) -> list[Path]:
    """Static maps, atlas (of the ``atlas`` counties), HTML and Word reports, and the XLSX workbook.

    ``timeline_rows`` (:func:`timeline_table`) become a sheet of the workbook.

    The HTML report holds a copy of ``map_file`` if ``embed_map``, else shows it from beside the report.
    """
    from township_coverage.report.tables import summary_rows

    written: list[Path] = []
    shapes = gpd.GeoDataFrame(
        validation.townships.set_index("township_code")[["geometry"]].join(table), crs=validation.townships.crs
    )
    notice = "\n".join([_notice(validation, lang), *notes]).strip()
    footer = _footer(config, validation, lang)
    map_formats = [f for f in STATIC_MAP_FORMATS if f in formats]
    needs_png = "docx" in formats  # the HTML report shows the PNG maps when they are drawn
    images = static_maps(
        shapes, folder, formats=sorted(set(map_formats) | ({"png"} if needs_png else set())),
        title=config.name, counties=validation.counties, footer=footer, lang=lang, classes=config.classes,
        classified=classified, progress=progress, keep=cache.get_or_write,
    ) if map_formats or needs_png else {}
    plan_images, planned = _draw_plan_map(
        config, validation, sites, folder, formats=sorted(set(map_formats) | ({"png"} if needs_png else set())),
        footer=footer, lang=lang, progress=progress, cache=cache, roads=roads,
    ) if map_formats or needs_png else ([], 0)
    for paths in [*images.values(), plan_images]:
        written += [p for p in paths if p.suffix[1:] in map_formats or (p.suffix == ".png" and needs_png)]
    if "pdf" in formats and atlas is not None:
        with progress.step("atlas") as step:
            pages = write_atlas(shapes, sites, folder / REPORT_FILES["pdf"], county_codes=atlas, title=config.name,
                                sources=config.attribution, notice=_notice(validation, lang), lang=lang,
                                scheme=config.classes.get("gap_score"), levels=config.levels, classified=classified)
            written.append(folder / REPORT_FILES["pdf"])
            step.detail = f"{len(atlas):,} 个县区，{pages:,} 页" if lang == "zh" else f"{len(atlas):,} counties, {pages:,} pages"
    plan = _latest_plan(config.output_dir)
    inputs = ReportInputs(
        city=city,
        counties=counties,
        townships=table,
        summary_rows=summary_rows(city, config.published, radius_km=config.radius_km, lang=lang, levels=config.levels),
        context_rows=list(config.published_context.items()),
        validation_counts=row_accounting_table(validation, lang=lang, levels=config.levels),
        problems=validation_table(validation, lang=lang, levels=config.levels, file_names=True),
        static_maps=[(paths[0].with_suffix(".png"), map_caption(column, lang, config.levels))
                     for column, paths in images.items()],
        plan_map=(plan_images[0].with_suffix(".png"), plan_map_caption(planned, lang)) if plan_images else None,
        plan=plan,
        progress=progress_section,
        township_table=len(table) <= scale.MAX_DOCX_TABLE_ROWS or "docx" not in formats,
        # Charts are drawn into the staging folder only for the reports: not being outputs, they are dropped.
        **(_county_charts(counties, plan, folder, lang=lang)
           if {"html", "docx"} & set(formats) and _can_draw_charts() else {}),
    )
    content = report_content(
        inputs, title=config.name, author=config.author, notice=notice, sources=config.attribution,
        radius_km=config.radius_km, lang=lang, levels=config.levels,
    )
    if "html" in formats:
        with progress.step("report_html"):
            page = (
                render_report_html(content, map_html=map_file.read_text(encoding="utf-8"))
                if embed_map else render_report_html(content, map_link=map_file.name)
            )
            (folder / REPORT_FILES["html"]).write_text(page, encoding="utf-8")
        written.append(folder / REPORT_FILES["html"])
    if "docx" in formats:
        with progress.step("report_docx"):
            written.append(write_report_docx(content, folder / REPORT_FILES["docx"]))
    with progress.step("workbook") as step:
        sheets = workbook_tables(
            table_frames(table, counties, city, lang=lang, levels=config.levels, as_of=as_of), validation,
            lang=lang, levels=config.levels, notice=notice, sources=config.attribution, timeline=timeline_rows,
            plan=plan_sheets(plan, lang=lang, levels=config.levels) if plan is not None else None,
        )
        if _write_workbook(sheets, joined, folder / WORKBOOK_FILE, config=config, lang=lang, cache=cache):
            progress.reused(step)
    written.append(folder / WORKBOOK_FILE)
    return written


def _village_rows_depend_on(config: ProjectConfig, lang: str) -> list[object]:
    """What the table of every village row depends on: the villages and townships as read and joined, the words."""
    return [*points_depend_on(config, config.villages), lang, config.levels]


def _write_joined_rows(
    tables: dict[str, pd.DataFrame], folder: Path, *, config: ProjectConfig, lang: str, cache: Cache,
    progress: Progress = SILENT,
) -> list[Path]:
    """Write each point layer's rows (``sites_joined.csv`` ...); the village rows come from ``cache`` when unchanged."""
    written = []
    for name, rows in tables.items():
        path = folder / joined_rows_name(name)
        with progress.step("joined_rows", path.name) as step:
            if name != "villages":
                write_csv(rows, path)
            elif cache.get_or_write("village_rows", _village_rows_depend_on(config, lang), path,
                                    lambda target: write_csv(rows, target)):
                progress.reused(step)
        written.append(path)
    return written


def _write_workbook(
    sheets: dict[str, pd.DataFrame], joined: dict[str, pd.DataFrame], path: Path, *, config: ProjectConfig,
    lang: str, cache: Cache,
) -> bool:
    """Write ``sheets`` and the sheets of every row of each point layer, the village rows last.

    The village rows are most of a large workbook and change only with the
    villages: their sheets are written into a file of their own, kept in
    ``cache``, and the workbook starts from a copy of it.

    Returns
    -------
    bool
        Whether the village sheets came from the cache.
    """
    from township_coverage.report.tables import write_xlsx
    from township_coverage.report.xlsx import WrittenSheets, write_sheets

    villages = {name: rows for name, rows in joined.items() if name == "villages"}
    sheets = {**sheets, **joined_rows_sheets({k: v for k, v in joined.items() if k not in villages}, lang=lang)}
    if not villages:
        write_xlsx(sheets, path, lang=lang, levels=config.levels)
        return False
    village_sheets = workbook_sheets(joined_rows_sheets(villages, lang=lang))
    parts = path.with_name(f".{path.name}-villages")
    try:
        reused = cache.get_or_write("village_sheets", _village_rows_depend_on(config, lang), parts,
                                    lambda target: write_sheets(village_sheets, target))
        write_xlsx(sheets, path, lang=lang, levels=config.levels, written=WrittenSheets(tuple(village_sheets), parts))
    finally:
        parts.unlink(missing_ok=True)
    return reused


def _top_folders(side_files: dict[str, str]) -> list[str]:
    """The folders that hold a map's side files (e.g. ``map_data``), swapped in as a whole."""
    return sorted({name.split("/")[0] for name in side_files})


def _write_side_files(side_files: dict[str, str], folder: Path) -> list[Path]:
    """Write the files a large map loads from beside it; returns their top folders."""
    for name, text in side_files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
    return [folder / top for top in _top_folders(side_files)]


def _footer(config: ProjectConfig, validation: Validation, lang: str) -> str:
    """The sources and the schematic-data notice, as static maps and charts print them."""
    return "；".join(part for part in (config.attribution, _notice(validation, lang)) if part)


def timeline_names(*, chart: bool) -> tuple[str, ...]:
    """Files a run with a timeline adds: the table, the chart (when drawn), the map with a time slider."""
    from township_coverage.report.chart import CHART_FILES

    return (TIMELINE_FILE, *(CHART_FILES if chart else ()), TIMELINE_MAP_FILE)


def _can_draw_charts() -> bool:
    """Whether a font for Chinese text is installed (else the chart is left out and a note says why)."""
    try:
        find_cjk_font()
    except FontNotFoundError:
        return False
    return True


def _write_timeline(
    timeline: Timeline, rows: pd.DataFrame, folder: Path, *, title: str, footer: str, lang: str, levels, chart: bool,
) -> tuple[list[Path], ProgressSection]:
    """Write ``rows`` (:func:`timeline_table`) as ``timeline.csv`` and the chart; the timeline's part of the
    reports' progress section."""
    from township_coverage.report.chart import draw_progress_chart

    every = timeline.every
    write_csv(rows.round(4), folder / TIMELINE_FILE)
    written = [folder / TIMELINE_FILE]
    caption = f"{title}：建设进展" if lang == "zh" else f"{title}: progress"
    if chart:
        written += draw_progress_chart(timeline.city, timeline.counties, folder, every=every, title=caption,
                                       lang=lang, footer=footer)
    section = ProgressSection(
        sentences=progress_sentences(timeline.city, timeline.counties, every=every, lang=lang),
        table=progress_report_table(timeline.city, every=every, lang=lang, levels=levels),
        chart=written[1] if chart else None,
        caption=caption,
    )
    return written, section


def _with_last_comparison(section: ProgressSection, config: ProjectConfig, *, lang: str) -> ProgressSection:
    """``section`` with the changes per county of the last ``compare`` run in the output folder, if any."""
    from township_coverage.report.compare import COMPARE_TABLE_FILES, changes_by_county, read_compare_townships
    from township_coverage.report.tables import WHOLE_AREA

    townships = read_compare_townships(config.output_dir / COMPARE_TABLE_FILES[1], config.levels)
    if townships is None:
        return section
    table, sentences = changes_by_county(townships, lang=lang, whole_area=WHOLE_AREA[lang], levels=config.levels)
    return replace(section, change_sentences=sentences, change_table=table)


def _notice(validation: Validation, lang: str) -> str:
    from township_coverage.webmap.text import TEXT as MAP_TEXT

    return MAP_TEXT[lang]["schematic"] if validation.schematic else ""


def _plan_map_names(config: ProjectConfig, formats: Sequence[str]) -> tuple[str, ...]:
    """The static plan map's files, when the output folder holds a plan and static maps are drawn."""
    if config.villages is None or not (config.output_dir / PLAN_TABLE_FILES[1]).exists():
        return ()
    return tuple(plan_map_names([f for f in STATIC_MAP_FORMATS if f in formats]))


def _draw_plan_map(
    config: ProjectConfig, validation: Validation, sites: gpd.GeoDataFrame, folder: Path, *, formats: Sequence[str],
    footer: str, lang: str, progress: Progress, cache: Cache, roads: RoadNetwork | None = None,
) -> tuple[list[Path], int]:
    """The files of the static map of the last plan in the output folder (none without one), and its number of rooms.

    The shares after the plan are computed again from the proposed rooms
    (``plan_rooms.geojson``) and the run's sites, at the plan's radius
    (the project's for a plan that did not record it), along ``roads`` when given.
    """
    path = config.output_dir / PLAN_TABLE_FILES[1]
    if validation.village_join is None or not path.exists():
        return [], 0
    rooms = gpd.read_file(path, engine="pyogrio")
    new_rooms = gpd.GeoDataFrame(
        {"site_type": "community_room", "township_code": rooms["township_code"].astype(str),
         "village_code": rooms["village_code"].astype(str)},
        geometry=rooms.geometry.to_numpy(), crs=rooms.crs,
    ).to_crs(sites.crs)
    radius_km = float(rooms["radius_km"].iloc[0]) if "radius_km" in rooms and len(rooms) else config.radius_km
    villages = validation.village_join.usable()
    after = coverage_table(validation.townships, pd.concat([sites, new_rooms], ignore_index=True), villages,
                           radius_km=radius_km, roads=roads)
    townships = validation.townships.set_index("township_code")
    table = gpd.GeoDataFrame(townships[["geometry"]].join(after), crs=townships.crs)
    images = plan_map(
        table, rooms, sites[sites["site_type"].isin(COVERING_SITE_TYPES)], folder, formats=formats,
        title=config.name, radius_km=radius_km, counties=validation.counties, footer=footer, lang=lang,
        scheme=config.classes.get(PLAN_COLUMN), progress=progress, keep=cache.get_or_write,
    )
    return images, len(rooms)


def _latest_plan(output_dir: Path) -> PlanFacts | None:
    """What the last ``plan`` run in the output folder proposed, if any (its ``plan_summary.json``)."""
    return PlanFacts.read(output_dir / PLAN_SUMMARY_FILE)


def map_caption(column: str, lang: str, levels) -> str:
    """The caption of a static map in the reports (not the map's own title)."""
    from township_coverage.report.content import WORDS
    from township_coverage.levels import relabel

    labels = {i.column: i.label[lang] for i in INDICATORS}
    return relabel(WORDS[lang]["map_caption"].format(label=labels[column]), levels, lang)


def _county_charts(counties: pd.DataFrame, plan: PlanFacts | None, folder: Path, *, lang: str) -> dict:
    """The bar charts by county the reports show (``county_chart``, ``plan_chart``), those that can be drawn."""
    from township_coverage.report.chart import draw_county_chart, draw_plan_chart

    charts = {"county_chart": draw_county_chart(counties, folder / "chart_counties.png", lang=lang)}
    if plan is not None:
        charts["plan_chart"] = draw_plan_chart(plan, folder / "chart_plan.png", lang=lang)
    return {key: path for key, path in charts.items() if path is not None}


def _coverage_map(
    validation, table, sites, config, *, lang, offline, basemap="none", radius_km=None, extra_layers=(), notes=(),
    classified: dict[str, Classes] | None = None, use_cache: bool = True, data_folder: str = "map_data",
    timeline: Timeline | None = None, plan=None,
):
    """The interactive map of ``table`` and ``sites``; with ``timeline``, the map with a slider over its steps
    (``sites`` are then every site, each shown at the steps it is open); with ``plan``
    (:class:`township_coverage.webmap.PlanFigures`), the plan's page."""
    from township_coverage.webmap import MapOptions, TimelineStep, build_coverage_map, build_timeline_map

    townships = validation.townships
    shapes = townships.set_index("township_code")[["geometry"]].join(table)
    villages = validation.village_join.usable() if validation.village_join is not None else None
    options = MapOptions(
        lang=lang, offline=offline, basemap=basemap,
        radius_km=config.radius_km if radius_km is None else radius_km,
        classes=config.classes, size_budget_kb=config.map_size_budget_kb, levels=config.levels,
        data_folder=data_folder,
    )
    common = dict(
        title=config.name,
        county_borders=validation.counties is not None or "county_code" in townships,
        villages=villages,
        schematic=validation.schematic,
        sources=config.attribution,
        notes=notes,
        options=options,
        remember=output_cache(config.output_dir, enabled=use_cache).get_or_compute,
    )
    shapes = gpd.GeoDataFrame(shapes, geometry="geometry", crs=townships.crs)
    if timeline is not None:
        steps = [
            TimelineStep(day, step_table, {language: step_label(day, timeline.every, language) for language in ("zh", "en")})
            for day, step_table in zip(timeline.steps, timeline.townships)
        ]
        return build_timeline_map(shapes, steps, sites[sites.geometry.notna()], **common)
    return build_coverage_map(
        shapes, sites[sites.geometry.notna()], extra_layers=extra_layers, classified=classified, plan=plan, **common,
    )


@dataclass(frozen=True)
class PlanOutcome:
    """A plan for new community rooms and what it changes.

    Attributes
    ----------
    rooms
        Proposed rooms in opening order, with the weight each newly covers
        and the cumulative covered share.
    result
        The solver's result (objective, bound, method, status) for the rooms beyond the fixed ones.
    weight
        ``"population"`` or ``"villages"``: what coverage counts.
    before, after
        Township indicators without and with the proposed rooms.
    summary
        Text for the terminal.
    outputs
        Files written.
    notes
        Input rows left out (lenient mode), one line per layer.
    """

    rooms: pd.DataFrame
    result: PlanResult
    weight: str
    before: pd.DataFrame
    after: pd.DataFrame
    summary: str
    outputs: tuple[Path, ...]
    notes: tuple[str, ...] = ()


def plan_rooms(
    config: ProjectConfig,
    *,
    new_rooms: int | None = None,
    target_share: float | None = None,
    radius_km: float | None = None,
    max_per_township: int | None = None,
    candidates: Path | None = None,
    exclude: Path | None = None,
    fixed: Path | None = None,
    method: str = "auto",
    objective: str = "coverage",
    lang: str = "zh",
    offline: bool = True,
    skip_invalid: bool | None = None,
    use_cache: bool = True,
    progress: Progress = SILENT,
) -> PlanOutcome:
    """Propose new community rooms and write the plan's outputs.

    Exactly one of ``new_rooms`` (maximal covering with K rooms) and
    ``target_share`` (fewest rooms reaching a covered share) is given.
    ``objective="distance"`` instead chooses the K rooms that minimise the
    weighted mean distance from each village to its nearest site
    (p-median), ``"worst-distance"`` the largest such distance (p-center);
    both need ``new_rooms``.
    Existing rooms and stations stay (of a list with dates, those open
    today); candidates are villages without a room (or those listed in
    ``candidates``), minus those in ``exclude``. The villages listed in
    ``fixed`` (a scenario file, :func:`township_coverage.plan.scenario.read_scenario`)
    get a room whatever is chosen: they open first, in their order, and
    count as existing when the rest are chosen; ``new_rooms`` counts the
    rooms beyond them (``fixed`` with ``new_rooms=0`` makes the file the plan).
    With ``use_cache``, checked inputs of an earlier run with the same
    input files and settings are reused (:func:`validated_project`).
    ``progress`` reports reading and checking the inputs.

    Raises
    ------
    InputDataError
        If the inputs or the candidate lists have errors.
    PlanningError
        If the request cannot be met (e.g. an unreachable target).
    OutputError
        If the output folder cannot take the outputs (checked before the
        work starts) or a file cannot be replaced.
    """
    from township_coverage.plan import PlanningError, coverage_problem, maximize_coverage, minimum_rooms_for_share
    from township_coverage.webmap import PROPOSED_ROOM, PlanFigures, map_side_files, save_map

    if (new_rooms is None) == (target_share is None):
        raise PlanningError("give either the number of new rooms or a target share, not both or neither")
    if objective not in PLAN_OBJECTIVES:
        raise PlanningError(f"objective={objective!r}; allowed: {', '.join(PLAN_OBJECTIVES)}")
    if objective != "coverage" and new_rooms is None:
        raise PlanningError(f"the {objective} objective needs the number of new rooms (a target share is for coverage)")
    prepare_outputs(config, "plan")
    validation = checked_inputs(config, skip_invalid=skip_invalid, use_cache=use_cache, progress=progress)
    left_out = left_out_notes(validation, lang)
    if validation.village_join is None:
        raise PlanningError("planning needs a villages layer in the project file ([layers.villages])")
    radius_km = config.radius_km if radius_km is None else radius_km
    villages = validation.village_join.usable()
    villages = villages[villages.geometry.notna()]
    dated = sites_as_of(validation.site_join.usable(), None, lang=lang)  # a dated list: the sites open today
    sites, left_out = dated.sites, [*left_out, *dated.notes]
    existing = sites[sites["site_type"].isin(COVERING_SITE_TYPES) & sites.geometry.notna()]
    pool = _candidate_villages(villages, sites, candidates, exclude)
    by_population = villages["population"].notna().all()
    weight = villages["population"].to_numpy() if by_population else None
    roads = _road_network(config, villages, progress)
    if roads is not None:
        left_out.append(_road_note(config, roads, villages, existing, lang))
    given = _fixed_rooms(fixed, villages, existing, radius_km=radius_km, townships=validation.townships, weight=weight,
                         roads=roads)
    if objective != "coverage" and not given.rooms.empty:
        raise PlanningError("--fixed works with the coverage objective only")
    covering = existing if given.rooms.empty else pd.concat([existing, given.sites.to_crs(existing.crs)])
    problem = coverage_problem(villages, covering, pool[~pool.index.isin(given.rooms.index)], radius_m=radius_km * 1000,
                               weight=weight, roads=roads)
    distances = None
    if objective != "coverage":
        result, chosen, distances, after_each = _plan_for_distance(
            villages, existing, pool, weight, new_rooms, objective=objective, method=method,
            max_per_township=max_per_township, townships=validation.townships, roads=roads,
        )
        newly_covered = _coverage_gains(problem, chosen)
    elif new_rooms is not None:
        result = maximize_coverage(problem, new_rooms, method=method, max_per_group=max_per_township)
        chosen, newly_covered = problem.candidate_index[result.chosen], result.gains
    else:
        result = minimum_rooms_for_share(problem, target_share, max_per_group=max_per_township)
        chosen, newly_covered = problem.candidate_index[result.chosen], result.gains
    # The fixed rooms open first: the figures count from the existing sites alone.
    gains = np.r_[given.gains, newly_covered]
    covered_before = problem.covered_weight - given.gains.sum()

    rooms = pd.concat([given.rooms, pool.loc[chosen]])
    names = validation.townships.set_index("township_code")[["township_name", "county_name"]]
    rooms[["township_name", "county_name"]] = names.loc[rooms["township_code"]].to_numpy()
    rooms["order"] = np.arange(1, len(rooms) + 1)
    rooms["newly_covered"] = gains
    rooms["covered_share_after"] = (covered_before + np.cumsum(gains)) / problem.total_weight
    if distances is not None:
        rooms[["mean_distance_after_km", "worst_distance_after_km"]] = after_each.reshape(-1, 2)
    rooms["radius_km"] = radius_km
    new_sites = gpd.GeoDataFrame(
        {
            "site_id": "NEW" + rooms["village_code"].astype(str),
            "site_type": "community_room",
            "name": rooms["village_name"].astype(str) + ("（拟建社工室）" if lang == "zh" else " (proposed room)"),
            "township_code": rooms["township_code"],
            "village_code": rooms["village_code"],
            "staff": pd.array([pd.NA] * len(rooms), dtype="Int64"),
        },
        geometry=rooms.geometry.to_numpy(),
        crs=rooms.crs,
    )
    before = coverage_table(validation.townships, sites, villages, radius_km=radius_km, roads=roads)
    after = coverage_table(validation.townships, pd.concat([sites, new_sites]), villages, radius_km=radius_km,
                           roads=roads)

    weight_name = "population" if by_population else "villages"
    covered = (covered_before / problem.total_weight, (covered_before + gains.sum()) / problem.total_weight)
    if distances is None:
        summary = plan_summary(rooms, replace(result, gains=gains), replace(problem, covered_weight=covered_before),
                               weight=weight_name, radius_km=radius_km, lang=lang, by_road=roads is not None)
    else:
        summary = distance_plan_summary(rooms, result, distances, objective=objective, weight=weight_name,
                                        covered=covered, lang=lang, by_road=roads is not None)
    figures = PlanFigures(
        weight=weight_name, covered_before=covered[0], covered_after=covered[1],
        newly_covered=float(gains.sum()), rooms=len(rooms), radius_km=radius_km, method=result.method,
        editor=_plan_editor(villages, existing, pool, given.rooms, rooms, problem if given.rooms.empty else None,
                            radius_km=radius_km, weight=weight, roads=roads),
    )
    fmap = _coverage_map(
        validation, after, pd.concat([sites, new_sites.assign(site_type=PROPOSED_ROOM)]), config, lang=lang,
        offline=offline, radius_km=radius_km, notes=left_out, use_cache=use_cache, data_folder=PLAN_DATA_FOLDER,
        plan=figures,
    )
    side_files = map_side_files(fmap)
    with staged_outputs(config.output_dir, [*output_names("plan"), *_top_folders(side_files)]) as staging:
        written = write_plan_tables(rooms, before, after, staging, lang=lang, levels=config.levels,
                                    distances=distances)
        parameters = {
            "objective_name": objective, "new_rooms": new_rooms, "target_share": target_share,
            "radius_km": radius_km, "max_per_township": max_per_township, "fixed_rooms": len(given.rooms),
            "weight": weight_name, "method": result.method,
            "status": result.status, "gap": result.gap, "bound": result.bound, "objective": result.objective,
            "distance": "straight" if roads is None else "roads",
            "seconds": round(result.seconds, 2), "day": f"{pd.Timestamp.today():%Y-%m-%d}",
        }
        facts = plan_facts(rooms, before, after, parameters=parameters, distances=distances)
        written.append(facts.write(staging / PLAN_SUMMARY_FILE))
        save_map(fmap, staging / PLAN_MAP_FILE)
        written.append(staging / PLAN_MAP_FILE)
        written += [staging / folder for folder in _top_folders(side_files)]
    outputs = tuple(config.output_dir / path.name for path in written)
    if new_rooms is not None and len(rooms) < new_rooms:
        n = len(rooms)
        left_out.append(f"只有 {n} 个新社工室能新增覆盖；已按 {n} 个规划" if lang == "zh"
                        else f"only {n} new rooms add coverage; planned {n}")
    return PlanOutcome(rooms, result, weight_name, before, after, summary, outputs, tuple(left_out))


@dataclass(frozen=True)
class _FixedRooms:
    """Rooms a plan must open (``plan --fixed``): the villages, as sites, and what each newly covers in order."""

    rooms: gpd.GeoDataFrame
    sites: gpd.GeoDataFrame
    gains: np.ndarray


def _fixed_rooms(path: Path | None, villages, existing, *, radius_km: float, townships, weight, roads) -> _FixedRooms:
    """The rooms of a scenario file, in its order (none without a file)."""
    from township_coverage.plan.scenario import read_scenario, scenario_figures

    codes = read_scenario(path, villages) if path is not None else []
    rooms = villages.iloc[pd.Index(villages["village_code"]).get_indexer(codes)]
    sites = gpd.GeoDataFrame({"site_type": ["community_room"] * len(rooms)}, geometry=rooms.geometry.to_numpy(),
                             crs=villages.crs)
    gains = scenario_figures(villages, existing, codes, radius_km=radius_km, townships=townships,
                             weight=weight, roads=roads).gains if codes else np.zeros(0)
    return _FixedRooms(rooms, sites, gains)


#: What ``plan`` can optimise: coverage within the radius, the mean distance, the worst distance.
PLAN_OBJECTIVES = ("coverage", "distance", "worst-distance")


def _plan_for_distance(
    villages, existing, pool, weight, new_rooms, *, objective, method, max_per_township, townships, roads,
):
    """Solve a distance objective.

    Returns
    -------
    result, chosen, distances, after_each
        The solver's result; the chosen candidates' labels in opening order;
        per village its township, county, weight and metres to the nearest
        site before and after; and per room the mean and worst distance (km)
        once it and those before it are open.
    """
    from township_coverage.plan.distance import distance_problem, solve_distance_objective
    from township_coverage.plan.network import road_pairs
    from township_coverage.plan.problem import distance_pairs

    problem = distance_problem(villages, existing, pool, weight=weight,
                               pairs=distance_pairs if roads is None else road_pairs(roads))
    result = solve_distance_objective(problem, new_rooms, objective, method=method, max_per_group=max_per_township)
    county = townships.drop_duplicates("township_code").set_index("township_code")[["county_code", "county_name"]]
    distances = pd.DataFrame(
        {"township_code": villages["township_code"].to_numpy(), "weight": problem.weights,
         "before_m": problem.current, "after_m": problem.distances(result.chosen)},
        index=villages.index,
    )
    distances[["county_code", "county_name"]] = county.reindex(distances["township_code"]).to_numpy()
    after_each = [problem.distances(result.chosen[: count + 1]) for count in range(len(result.chosen))]
    mean_km = [problem.mean_km(metres) for metres in after_each]
    worst_km = [float(metres.max()) / 1000 for metres in after_each]
    return result, problem.candidate_index[result.chosen], distances, np.column_stack([mean_km, worst_km])


def _coverage_gains(problem, chosen) -> np.ndarray:
    """Weight newly covered within the radius by each of ``chosen`` (candidate labels), in their order."""
    position = {label: j for j, label in enumerate(problem.candidate_index)}
    gains, covered = [], 0.0
    for count in range(1, len(chosen) + 1):
        now = problem.covered_by(np.array([position[c] for c in chosen[:count] if c in position], dtype=int))
        gains.append(now - covered)
        covered = now
    return np.array(gains, dtype=float)


def _candidate_villages(villages, sites, candidates: Path | None, exclude: Path | None) -> gpd.GeoDataFrame:
    """Villages that may get a room: listed ones, else those without one; minus exclusions."""
    if candidates is not None:
        pool = villages[villages["village_code"].isin(_village_codes(candidates, villages))]
    else:
        hosts = set(sites.loc[sites["site_type"] == "community_room", "village_code"].dropna())
        pool = villages[~villages["village_code"].isin(hosts)]
    if exclude is not None:
        pool = pool[~pool["village_code"].isin(_village_codes(exclude, villages))]
    return pool


def _village_codes(path: Path, villages: pd.DataFrame) -> set[str]:
    """Village codes listed in a CSV/XLSX file; unknown codes are an error."""
    layer = LayerConfig(path=Path(path).resolve())
    table, source = read_table(layer, layer_name="candidates", min_known_headers=1)
    if "village_code" not in table:
        raise InputDataError(missing_columns(table.columns, ("village_code",), source))
    known = set(villages["village_code"])
    problems = [
        source.problem(int(row), "village_code", code, "no village has this code")
        for row, code in zip(table["_row"], table["village_code"].str.strip())
        if code not in known
    ]
    if problems:
        raise InputDataError(problems)
    return set(table["village_code"].str.strip())


def _plan_editor(villages, existing, pool, fixed_rooms, rooms, problem, *, radius_km: float, weight, roads):
    """What the plan page's editor needs: every candidate (the pool and the fixed rooms) and the villages it reaches.

    ``problem`` is the solver's relation when it is the editor's (no fixed
    rooms); with fixed rooms, the relation beside the existing sites alone
    is built here.
    """
    from township_coverage.plan import coverage_problem
    from township_coverage.webmap.plan_page import plan_editor

    candidates = pd.concat([pool, fixed_rooms[~fixed_rooms.index.isin(pool.index)]])
    if problem is None:
        problem = coverage_problem(villages, existing, candidates, radius_m=radius_km * 1000, weight=weight,
                                   roads=roads)
    weights = np.ones(len(villages)) if weight is None else np.nan_to_num(np.asarray(weight, dtype=float))
    return plan_editor(
        villages, _within_radius(villages, existing, radius_km, roads), weights, candidates, problem.covers,
        problem.candidate_index, problem.demand_index, rooms.index.to_numpy(),
    )


def _within_radius(villages, points, radius_km, roads) -> np.ndarray:
    """Whether each village is within the radius (along ``roads`` when given) of one of ``points``."""
    from township_coverage.plan import distances_within

    hit = np.zeros(len(villages), dtype=bool)
    if len(points):
        hit[distances_within(villages.geometry, points.geometry, limit_m=radius_km * 1000, roads=roads)[0]] = True
    return hit


def _road_network(config: ProjectConfig, villages: gpd.GeoDataFrame, progress: Progress) -> RoadNetwork | None:
    """The project's road network (``[plan] roads``) in the villages' UTM zone, or ``None`` without one."""
    from township_coverage.plan import road_network

    if config.roads is None:
        return None
    with progress.step("roads", config.roads.path.name) as step:
        crs = villages.estimate_utm_crs()
        network = road_network(read_roads(config.roads).to_crs(crs).to_numpy(), crs)
        if len(network.edges) == 0:
            raise InputDataError([Problem(config.roads.path, None, None, None, "the road lines have no length")])
        step.detail = f"{len(network.edges):,} 段" if progress.lang == "zh" else f"{len(network.edges):,} edges"
    return network


def _road_note(
    config: ProjectConfig, roads: RoadNetwork, villages: gpd.GeoDataFrame, sites: gpd.GeoDataFrame, lang: str,
) -> str:
    """The note of a plan along roads: the network, and how many villages and sites lie far from every road."""
    from township_coverage.plan.network import FAR_FROM_ROAD_M

    def far(points: gpd.GeoDataFrame) -> int:
        xy = shapely.get_coordinates(points.geometry.to_crs(roads.crs).to_numpy())
        return int((roads.off_road_m(xy) > FAR_FROM_ROAD_M).sum()) if len(xy) else 0

    return road_distance_note(config.roads.path.name, far(villages), far(sites), FAR_FROM_ROAD_M, lang)


# --- compare: last year's site list against this year's ------------------------------

#: File endings of a site table that ``compare`` takes in place of a project.
SITE_TABLE_SUFFIXES = (".csv", ".xlsx")
COMPARE_MAP_FILE = "compare.html"
#: Beside ``compare.html``, the scripts a large map of changes loads.
COMPARE_DATA_FOLDER = "compare_data"


@dataclass(frozen=True)
class CompareResult:
    """Two site lists compared, and the files written.

    Attributes
    ----------
    changes
        One row per matched pair and per unmatched or left-out row
        (:func:`township_coverage.compare.compare_sites`).
    townships
        Per township: sites before and after, opened, closed, moved
        (:func:`township_coverage.compare.compare_townships`).
    counts
        Rows per change.
    summary
        The text summary printed on the terminal.
    outputs
        Files written.
    warnings
        Warnings about either list or the townships.
    notes
        Rows left out (lenient mode), one line per list.
    """

    changes: pd.DataFrame
    townships: pd.DataFrame
    counts: pd.Series
    summary: str
    outputs: tuple[Path, ...]
    warnings: tuple[Problem, ...] = ()
    notes: tuple[str, ...] = ()


def compare_output_names() -> tuple[str, ...]:
    """Names of the files ``compare`` writes into the output folder."""
    from township_coverage.report.compare import COMPARE_TABLE_FILES

    return (*COMPARE_TABLE_FILES, COMPARE_MAP_FILE)


def compare_configs(
    old: Path, new: Path, *, project: Path | None = None, output_dir: Path = Path("maps")
) -> tuple[ProjectConfig, ProjectConfig]:
    """The two projects whose site layers are the old and the new list, with one township layer.

    Parameters
    ----------
    old, new
        Each a project (``project.toml`` or its folder), whose site layer
        is the list, or a site table (CSV/XLSX), read with the site-layer
        settings (columns, CRS, sheet) of the base project.
    project
        The base project: townships, counties and settings. By default
        ``new`` if it is a project, else ``old`` if it is one, else the
        embedded Linyi project.
    output_dir
        Where the outputs go.

    Raises
    ------
    ConfigError
        If a path is neither a project nor a site table, or a project file
        has errors.
    """
    old_is_project, new_is_project = _is_project(old, "OLD"), _is_project(new, "NEW")
    if project is None:
        project = new if new_is_project else old if old_is_project else None
    base = load_project(project, output_dir=output_dir)

    def with_sites(path: Path, is_project: bool) -> ProjectConfig:
        sites = load_project(path).sites if is_project else replace(base.sites, path=Path(path).resolve())
        return replace(base, sites=sites, villages=None)

    return with_sites(old, old_is_project), with_sites(new, new_is_project)


def _is_project(path: Path, label: str) -> bool:
    """Whether ``path`` is a project (a ``.toml`` file or a folder) rather than a site table."""
    path = Path(path)
    if path.is_dir() or path.suffix.lower() == ".toml":
        return True
    if path.suffix.lower() in SITE_TABLE_SUFFIXES:
        return False
    raise ConfigError(
        f"{label} {str(path)!r} is neither a project (project.toml or its folder) nor a site table "
        f"({', '.join(SITE_TABLE_SUFFIXES)})"
    )


def compare_site_lists(
    old: ProjectConfig,
    new: ProjectConfig,
    *,
    lang: str = "zh",
    moved_m: float = 100.0,
    max_distance_m: float = 2000.0,
    offline: bool = True,
    skip_invalid: bool | None = None,
    use_cache: bool = True,
    progress: Progress = SILENT,
) -> CompareResult:
    """Compare an old and a new site list and write the changes.

    Both lists are read, checked and joined to the townships of ``new``
    (:func:`validated_project`), then matched
    (:func:`township_coverage.compare.compare_sites`). Writes
    ``compare_sites.csv``, ``compare_townships.csv``, ``compare.xlsx`` and
    ``compare.html`` into ``new.output_dir``, all or none.

    Parameters
    ----------
    old, new
        Projects that differ in their site layer (:func:`compare_configs`).
    lang
        Language of the tables, the map and the summary (``"zh"`` or ``"en"``).
    moved_m
        A matched site farther than this (metres) from its old position has moved.
    max_distance_m
        Largest distance between two sites matched by name and type.
    offline
        Inline the map's JS/CSS (default) instead of linking to CDNs.
    skip_invalid
        Leave rows with errors out instead of refusing the input (default:
        the project's ``[join] skip_invalid``); they are listed as left out.
    use_cache
        Reuse the checked townships and lists of an earlier run.
    progress
        Where to report each long step.

    Raises
    ------
    InputDataError
        Listing every error in both lists and the townships; nothing is written.
    OutputError
        If the output folder cannot take the outputs.
    """
    from township_coverage.compare import LEFT_OUT, change_counts, compare_sites, compare_townships
    from township_coverage.report.compare import CHANGE_LABELS, compare_summary, write_compare_tables
    from township_coverage.webmap import MapOptions, map_side_files, render_map
    from township_coverage.webmap.changes import build_change_map

    output_dir = new.output_dir
    prepare_output_folder(output_dir, compare_output_names())
    progress = progress.with_levels(new.levels)
    checked = [validated_project(config, use_cache=use_cache, progress=progress) for config in (old, new)]
    skip = new.skip_invalid if skip_invalid is None else skip_invalid
    _refuse_errors_of_either(*checked, skip_invalid=skip)
    townships = checked[1].townships
    with progress.step("compare"):
        changes = compare_sites(
            *(_compared_rows(validation) for validation in checked), townships=townships,
            moved_m=moved_m, max_distance_m=max_distance_m,
        )
        per_township = compare_townships(changes, townships)
        counts = change_counts(changes)
    labels = _list_labels(old.sites.path, new.sites.path)
    notes = tuple(_left_out_note(label, changes, side, lang) for label, side in zip(labels, ("old", "new"))
                  if ((changes["change"] == LEFT_OUT) & changes[f"{side}_row"].notna()).any())
    with progress.step("compare_map"):
        shapes = per_township.join(townships.set_index("township_code")[["geometry"]])
        title = f"{new.name}：站点变化" if lang == "zh" else f"{new.name}: changes in sites"
        try:
            fmap = build_change_map(
                gpd.GeoDataFrame(shapes, geometry="geometry", crs=townships.crs), changes, title=title,
                change_labels=dict(CHANGE_LABELS[lang]),
                schematic=checked[0].schematic or checked[1].schematic, sources=new.attribution, notes=notes,
                options=MapOptions(lang=lang, offline=offline, levels=new.levels, data_folder=COMPARE_DATA_FOLDER),
                remember=output_cache(output_dir, enabled=use_cache).get_or_compute,
            )
        except ValueError as error:
            raise ConfigError(str(error)) from None
    side_files = map_side_files(fmap)
    with staged_outputs(output_dir, [*compare_output_names(), *_top_folders(side_files)]) as staging:
        with progress.step("compare_files"):
            written = write_compare_tables(changes, per_township, staging, lang=lang, levels=new.levels)
            (staging / COMPARE_MAP_FILE).write_text(render_map(fmap), encoding="utf-8")
            written += [staging / COMPARE_MAP_FILE, *_write_side_files(side_files, staging)]
    summary = compare_summary(counts, old=labels[0], new=labels[1], moved_m=moved_m, lang=lang)
    warnings = tuple(dict.fromkeys(p for validation in checked for p in validation.warnings))
    outputs = tuple(output_dir / path.name for path in written)
    return CompareResult(changes, per_township, counts, summary, outputs, warnings, notes)


def _refuse_errors_of_either(old: Validation, new: Validation, *, skip_invalid: bool) -> None:
    """:class:`InputDataError` listing the errors of both lists (and of the townships once) that stop the comparison."""
    sources = {f"{side}_sites": v.sources["sites"] for side, v in (("old", old), ("new", new)) if "sites" in v.sources}
    problems = tuple(dict.fromkeys([*old.problems, *new.problems]))
    both = Validation(new.townships, new.counties, None, None, problems, MappingProxyType(sources))
    refuse_blocking_errors(both, skip_invalid=skip_invalid)


def _compared_rows(validation: Validation) -> gpd.GeoDataFrame:
    """Every row of a validated site list, with ``own_id``: whether its id is the list's own, not made from file and row."""
    points = validation.site_join.points
    source = validation.sources["sites"]
    has_ids = "site_id" in source.headers
    own = points["site_id"].astype(str) != source.row_ids(points["_row"].astype(int))
    return points.assign(own_id=own & has_ids)


def _list_labels(old: Path, new: Path) -> tuple[str, str]:
    """How the two lists are named in messages: their file names, with their folders when the names are equal."""
    if old.name == new.name:
        return f"{old.parent.name}/{old.name}", f"{new.parent.name}/{new.name}"
    return old.name, new.name


def _left_out_note(label: str, changes: pd.DataFrame, side: str, lang: str) -> str:
    """One line saying how many rows of a list were left out because of errors."""
    from township_coverage.compare import LEFT_OUT

    rows = changes[f"{side}_row"].notna()
    count, total = int(((changes["change"] == LEFT_OUT) & rows).sum()), int(rows.sum())
    if lang == "zh":
        return f"{label}：{total} 行中有 {count} 行因有误未计入（见 compare_sites.csv）"
    return f"{label}: {count} of {total} rows were left out because of errors (see compare_sites.csv)"
