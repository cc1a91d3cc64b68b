"""Command-line interface: parses arguments, calls the pipeline, reports errors."""

from __future__ import annotations

from pathlib import Path

import click

from township_coverage.config import load_project
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
_LANG = click.option(
    "--lang",
    type=click.Choice(["zh", "en"]),
    default="zh",
    show_default=True,
    help="Language of maps and table headers.",
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
@click.option("--cdn", is_flag=True, help="Link the map's JS/CSS from CDNs instead of embedding them (smaller, needs internet).")
def run(project: Path | None, output: Path, lang: str, cdn: bool) -> None:
    """Join sites to townships, compute indicators, write the map and tables.

    Writes coverage.html, township_coverage.csv, county_coverage.csv and
    city_summary.csv to the output folder, and prints a city-wide summary.
    """
    from township_coverage.pipeline import run as run_pipeline

    try:
        config = load_project(project, output_dir=output)
        result = run_pipeline(config, lang=lang, offline=not cdn)
    except CoverageError as error:
        raise click.ClickException(str(error)) from None
    for warning in result.validation.warnings:
        click.echo(str(warning), err=True)
    click.echo(result.summary)
    click.echo("")
    for path in result.outputs:
        click.echo(f"wrote {path}")


@main.command()
@_PROJECT
@_OUTPUT
def validate(project: Path | None, output: Path) -> None:
    """Check every input and report every problem together.

    Prints each problem (file, row, column, value, what is allowed) and how
    many rows of each point layer end in each status, and writes
    validation.csv to the output folder. Exits with 1 if there are problems
    that `run` would refuse, else 0.
    """
    from township_coverage.pipeline import validate_project, write_validation

    try:
        config = load_project(project, output_dir=output)
        validation = validate_project(config)
        written = write_validation(validation, config.output_dir)
    except CoverageError as error:
        raise click.ClickException(str(error)) from None
    for problem in validation.problems:
        click.echo(str(problem))
    if validation.site_join is not None or validation.village_join is not None:
        click.echo("")
        click.echo("rows per status:")
        click.echo(validation.row_accounting().to_string())
    click.echo("")
    click.echo(f"{len(validation.errors)} error(s), {len(validation.warnings)} warning(s); wrote {written}")
    if validation.errors:
        raise SystemExit(1)
