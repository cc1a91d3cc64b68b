"""Command-line interface: parses arguments, calls the pipeline, reports errors.

The console script enters through :mod:`township_coverage.console`, which
sets up Ctrl-C handling before this module's imports.
"""

from __future__ import annotations

import html
from pathlib import Path

import click

from township_coverage.inputs.config import load_project
from township_coverage.errors import CoverageError

_PROJECT = click.option(
    "--project",
    type=click.Path(path_type=Path),
    default=None,
    help="Project file (project.toml) or its folder. Default: the embedded Linyi dataset.",
)
_OUTPUT = click.option(
    "--output",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("maps"),
    show_default=True,
    help="Folder for the outputs.",
)
_SKIP_INVALID = click.option(
    "--skip-invalid",
    is_flag=True,
    default=None,
    help="Leave rows with errors out instead of refusing the input (also [join] skip_invalid in the project file); "
    "the outputs say how many rows were left out and validation.csv lists them.",
)
_NO_CACHE = click.option(
    "--no-cache",
    is_flag=True,
    help="Neither reuse nor keep checked inputs in the cache folder (.township-coverage-cache in the output folder).",
)
_QUIET = click.option(
    "--quiet", "-q",
    is_flag=True,
    help="Print no progress lines (one line per long step on stderr, with its time).",
)
_LANG = click.option(
    "--lang",
    type=click.Choice(["zh", "en"]),
    default="zh",
    show_default=True,
    help="Language of maps and table headers.",
)



class _DateType(click.ParamType):
    """A day written in any form a site list may use (2022-12-31, 2022/12/31, 2022年12月31日, 2022年12月, 2022)."""

    name = "DATE"

    def convert(self, value, param, ctx):
        from township_coverage.inputs.dates import DATE_FORMS, parse_date

        if not isinstance(value, str):
            return value
        day = parse_date(value)
        if day is None:
            self.fail(f"{value!r} is not a date; write {DATE_FORMS}", param, ctx)
        return day


_AS_OF = click.option(
    "--as-of", "as_of", type=_DateType(),
    help="Count only the sites open on this day (opening and closing dates in the site list; sites without a date "
    "always count). Default: today, when the site list has dates.",
)
_TIMELINE = click.option(
    "--timeline", type=click.Choice(["auto", "yearly", "quarterly", "none"]), default="auto", show_default=True,
    help="Figures at the end of each year or quarter from the first opening date to the as-of day: timeline.csv, "
    "a chart, a map with a time slider and a progress section in the reports. auto: yearly when the site list has "
    "dates.",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="township-coverage")
def main() -> None:
    """Coverage of social-work stations and rooms per township: maps, tables, plans.

    Without --project, commands use the embedded Linyi City dataset, whose
    township outlines and site positions are schematic.
    """


@main.command()
@_PROJECT
@_OUTPUT
@_LANG
@_SKIP_INVALID
@_NO_CACHE
@_QUIET
@click.option("--cdn", is_flag=True, help="Link the map's JS/CSS from CDNs instead of embedding them (smaller, needs internet).")
@click.option(
    "--basemap",
    type=click.Choice(["none", "osm", "cartodb", "tianditu", "amap"]),
    default="none",
    show_default=True,
    help="Background map. 'none' works offline; the others load tiles from the internet. "
    "Tianditu needs a key in TIANDITU_KEY; with Amap (GCJ-02 tiles) the overlays are shifted to match.",
)
@_AS_OF
@_TIMELINE
def run(
    project: Path | None, output: Path, lang: str, skip_invalid: bool | None, no_cache: bool, quiet: bool, cdn: bool,
    basemap: str, as_of, timeline: str,
) -> None:
    """Join sites to townships, compute indicators, write the map and tables.

    Writes coverage.html, township_coverage.csv, county_coverage.csv and
    city_summary.csv to the output folder, and prints a city-wide summary.
    """
    from township_coverage.pipeline import run as run_pipeline

    try:
        config = load_project(project, output_dir=output)
        result = run_pipeline(
            config, lang=lang, offline=not cdn, basemap=basemap, skip_invalid=skip_invalid, use_cache=not no_cache,
            progress=_progress(lang, quiet), as_of=as_of, timeline=timeline,
        )
    except CoverageError as error:
        raise click.ClickException(str(error)) from None
    _report_result(result)


def _progress(lang: str, quiet: bool):
    """Progress lines on stderr, or none with ``--quiet``."""
    from township_coverage.progress import Progress

    return Progress(lang, enabled=not quiet)


def _say_outcome(*, warnings, notes, summary: str, outputs) -> None:
    """Warnings and notes on stderr, then the summary and the files written."""
    for warning in warnings:
        click.echo(str(warning), err=True)
    for note in notes:
        click.echo(f"note: {note}", err=True)
    click.echo(summary)
    click.echo("")
    for path in outputs:
        click.echo(f"wrote {path}")


def _report_result(result) -> None:
    _say_outcome(warnings=result.validation.warnings, notes=result.notes, summary=result.summary,
                 outputs=result.outputs)
    embed = next((p for p in result.outputs if p.name == "embed.html"), None)
    if embed is not None:
        click.echo("")
        click.echo("To embed the map in a web page, copy embed.html next to it and use:")
        click.echo(f'  <iframe src="embed.html" width="100%" height="600" style="border:0" '
                   f'title="{html.escape(result.title)}" loading="lazy"></iframe>')


def _formats(value: str) -> tuple[str, ...]:
    from township_coverage.pipeline import REPORT_FORMATS

    formats = tuple(f.strip().lower() for f in value.split(",") if f.strip())
    unknown = [f for f in formats if f not in REPORT_FORMATS]
    if unknown:
        raise click.BadParameter(f"unknown format(s) {', '.join(unknown)}; allowed: {', '.join(REPORT_FORMATS)}")
    return formats


@main.command()
@_PROJECT
@_OUTPUT
@_LANG
@_SKIP_INVALID
@_NO_CACHE
@_QUIET
@click.option(
    "--format", "formats", default="html,docx,png,svg,pdf", show_default=True,
    help="Comma-separated: html (one-file report), docx (Word), png/svg/pdf (static maps; pdf adds the county atlas).",
)
@click.option(
    "--atlas-counties", metavar="CODES",
    help="Counties of the atlas (one page each): county codes or their beginnings, comma-separated "
    "(3713 = every county whose code starts with 3713), or 'all'. Also [report] atlas_counties in the project "
    "file. Default: every county, but none when there are more than 200 (a note says so).",
)
@_AS_OF
@_TIMELINE
def report(
    project: Path | None, output: Path, lang: str, skip_invalid: bool | None, no_cache: bool, quiet: bool, formats: str,
    atlas_counties: str | None, as_of, timeline: str,
) -> None:
    """Write reports: static maps, county atlas, HTML and Word reports, tables.

    Runs the same analysis as `run` and writes, besides the map and the
    tables (CSV and XLSX), the chosen report formats. The proposed rooms of
    the last `plan` run in the output folder are included.
    """
    from township_coverage.pipeline import run as run_pipeline
    from township_coverage.scale import parse_county_choice

    chosen = _formats(formats)
    try:
        config = load_project(project, output_dir=output)
        result = run_pipeline(
            config, lang=lang, report_formats=chosen, skip_invalid=skip_invalid, use_cache=not no_cache,
            progress=_progress(lang, quiet), atlas_counties=parse_county_choice(atlas_counties), as_of=as_of,
            timeline=timeline,
        )
    except CoverageError as error:
        raise click.ClickException(str(error)) from None
    _report_result(result)


@main.command()
@_PROJECT
@_OUTPUT
@click.option(
    "--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True, help="Language of the progress lines and of validation.csv.",
)
@_SKIP_INVALID
@_NO_CACHE
@_QUIET
def validate(
    project: Path | None, output: Path, lang: str, skip_invalid: bool | None, no_cache: bool, quiet: bool
) -> None:
    """Check every input and report every problem together.

    Prints each problem (file, row, column, value, what is allowed) and how
    many rows of each point layer end in each status, and writes
    validation.csv to the output folder. Exits with 1 if there are problems
    that `run` would refuse (with --skip-invalid: problems of whole files),
    else 0.
    """
    from township_coverage.pipeline import prepare_outputs, validated_project, write_validation
    from township_coverage.report.tables import row_accounting_table

    try:
        config = load_project(project, output_dir=output)
        prepare_outputs(config, "validate")
        progress = _progress(lang, quiet)
        validation = validated_project(config, use_cache=not no_cache, progress=progress)
        written = write_validation(validation, config.output_dir, lang=lang, levels=config.levels, progress=progress)
    except CoverageError as error:
        raise click.ClickException(str(error)) from None
    for problem in validation.problems:
        click.echo(str(problem))
    if validation.site_join is not None or validation.village_join is not None:
        click.echo("")
        click.echo("rows per status:")
        click.echo(row_accounting_table(validation, lang=lang, levels=config.levels).to_string())
    click.echo("")
    click.echo(f"{len(validation.errors)} error(s), {len(validation.warnings)} warning(s); wrote {written}")
    skip = config.skip_invalid if skip_invalid is None else skip_invalid
    if validation.blocking_errors(skip_invalid=skip):
        raise SystemExit(1)
    if validation.errors:
        click.echo(f"{len(validation.row_errors)} row error(s): run leaves those rows out (--skip-invalid)")


@main.command()
@_PROJECT
@_OUTPUT
@_LANG
@click.option("--new-rooms", "new_rooms", type=click.IntRange(min=0), help="Number of new rooms to place (maximal covering).")
@click.option("--target-share", type=click.FloatRange(0, 1, min_open=True), help="Covered share to reach with the fewest new rooms, e.g. 0.9.")
@click.option("--radius-km", type=click.FloatRange(0, 100, min_open=True), help="Coverage radius; default: the project's (3 km).")
@click.option("--max-per-township", type=click.IntRange(min=1), help="At most this many new rooms per township.")
@click.option("--candidates", type=click.Path(path_type=Path, exists=True, dir_okay=False), help="CSV/XLSX of candidate villages (column village_code / 村代码). Default: villages without a room.")
@click.option("--exclude", type=click.Path(path_type=Path, exists=True, dir_okay=False), help="CSV/XLSX of villages that must not get a room.")
@click.option("--fixed", type=click.Path(path_type=Path, exists=True, dir_okay=False), help="CSV/XLSX of villages that get a room whatever is chosen (column village_code / 村代码, optional order / 开设顺序), e.g. a scenario exported from plan.html. They open first and --new-rooms counts the rooms beyond them; --new-rooms 0 makes the file the plan.")
@_SKIP_INVALID
@_NO_CACHE
@_QUIET
@click.option("--method", type=click.Choice(["auto", "exact", "heuristic"]), default="auto", show_default=True,
              help="exact: mixed-integer programming (HiGHS); heuristic: greedy + swaps, reported with the LP bound; auto: exact unless the instance is large.")
@click.option("--objective", type=click.Choice(["coverage", "distance", "worst-distance"]), default="coverage",
              show_default=True,
              help="coverage: the most people within the radius; distance: the smallest population-weighted mean "
              "distance from each village to its nearest station or room (p-median); worst-distance: the smallest "
              "largest such distance (p-center). Distances are straight lines in metres (local UTM zone).")
def plan(
    project, output, lang, new_rooms, target_share, radius_km, max_per_township, candidates, exclude, fixed,
    skip_invalid, no_cache, quiet, method, objective,
) -> None:
    """Propose where to open new community rooms.

    Keeps every existing room and station, and chooses new rooms among
    villages to cover the most people (or villages, if population is
    unknown) within the radius (along roads when the project file names a
    road network, [plan] roads), or (--objective) to bring villages nearest
    to a station or room on average or at worst. Writes plan_rooms.csv / .geojson (in the
    order to open them), plan_townships.csv and plan_counties.csv (before
    and after) and plan.html.
    """
    from township_coverage.pipeline import plan_rooms
    from township_coverage.plan import PlanningError

    if (new_rooms is None) == (target_share is None):
        raise click.UsageError("give exactly one of --new-rooms K and --target-share X")
    if objective != "coverage" and new_rooms is None:
        raise click.UsageError(f"--objective {objective} needs --new-rooms K (--target-share is for coverage)")
    try:
        config = load_project(project, output_dir=output)
        outcome = plan_rooms(
            config, new_rooms=new_rooms, target_share=target_share, radius_km=radius_km,
            max_per_township=max_per_township, candidates=candidates, exclude=exclude, fixed=fixed,
            method=method, objective=objective, lang=lang, skip_invalid=skip_invalid, use_cache=not no_cache,
            progress=_progress(lang, quiet),
        )
    except (CoverageError, PlanningError) as error:
        raise click.ClickException(str(error)) from None
    _say_outcome(warnings=(), notes=outcome.notes, summary=outcome.summary, outputs=outcome.outputs)


@main.command()
@click.argument("old", type=click.Path(path_type=Path, exists=True))
@click.argument("new", type=click.Path(path_type=Path, exists=True))
@click.option(
    "--project",
    type=click.Path(path_type=Path),
    default=None,
    help="Project (project.toml or its folder) whose townships the lists are joined to, and whose site-layer "
    "settings (columns, CRS, sheet) read a bare site table. Default: NEW if it is a project, else OLD if it is "
    "one, else the embedded Linyi dataset.",
)
@_OUTPUT
@_LANG
@click.option(
    "--moved-m", type=click.FloatRange(min=0), default=100.0, show_default=True,
    help="A matched site whose position differs by more than this many metres has moved.",
)
@click.option(
    "--match-within-m", type=click.FloatRange(min=0), default=2000.0, show_default=True,
    help="Sites without a common id match by name and type only within this many metres (nearest pairs first).",
)
@_SKIP_INVALID
@_NO_CACHE
@_QUIET
def compare(
    old: Path, new: Path, project: Path | None, output: Path, lang: str, moved_m: float, match_within_m: float,
    skip_invalid: bool | None, no_cache: bool, quiet: bool,
) -> None:
    """Compare an old and a new site list: which sites opened, closed or moved.

    OLD and NEW are each a project (project.toml or its folder) or a site
    table (.csv/.xlsx). Sites match by their own id where both lists have
    ids, else by name and type, nearest first. Writes compare_sites.csv
    (every row of both lists once), compare_townships.csv, compare.xlsx
    and compare.html (a map of the changes).
    """
    from township_coverage.pipeline import compare_configs, compare_site_lists

    try:
        old_config, new_config = compare_configs(old, new, project=project, output_dir=output)
        result = compare_site_lists(
            old_config, new_config, lang=lang, moved_m=moved_m, max_distance_m=match_within_m,
            skip_invalid=skip_invalid, use_cache=not no_cache, progress=_progress(lang, quiet),
        )
    except CoverageError as error:
        raise click.ClickException(str(error)) from None
    _say_outcome(warnings=result.warnings, notes=result.notes, summary=result.summary, outputs=result.outputs)
