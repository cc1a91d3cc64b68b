"""Project files (TOML) turned into frozen settings.

A project file describes one dataset: where its layers are, which columns
hold what, and the options of a run. Paths are relative to the file.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from township_coverage.inputs.crs import check_crs_name
from township_coverage.errors import ConfigError

_PACKAGE = Path(__file__).resolve().parents[1]
# A wheel carries the Linyi data inside the package; a source checkout has it
# at the top of the repository.
_LINYI_LOCATIONS = (
    _PACKAGE / "_data" / "linyi" / "project.toml",
    _PACKAGE.parents[1] / "geo_data" / "linyi" / "project.toml",
)


@dataclass(frozen=True)
class LayerConfig:
    """One input layer.

    Attributes
    ----------
    path
        Absolute path of the file.
    crs
        CRS of the coordinates (any string pyproj understands), or ``None``
        to use the one stored in the file.
    columns
        Standard column name -> column name in the file, for those that differ.
    sheet
        Sheet of an XLSX file; ``None`` for the first.
    repair_invalid
        Boundary layers only: repair invalid polygons (and report it) instead
        of refusing them.
    """

    path: Path
    crs: str | None = None
    columns: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    sheet: str | None = None
    repair_invalid: bool = False


#: Classification schemes for choropleth indicators (mapclassify classifiers).
CLASS_SCHEMES = ("natural_breaks", "quantiles", "equal_interval", "fixed")


@dataclass(frozen=True)
class ClassScheme:
    """How one indicator is split into colour classes.

    Attributes
    ----------
    scheme
        One of :data:`CLASS_SCHEMES`.
    k
        Number of classes (not for ``fixed``).
    bins
        Upper bounds of the classes, for ``fixed``.
    """

    scheme: str = "natural_breaks"
    k: int = 5
    bins: tuple[float, ...] = ()


@dataclass(frozen=True)
class ProjectConfig:
    """Everything a run needs to know about a dataset.

    Attributes
    ----------
    source
        The project file.
    name
        Title shown on maps and reports.
    attribution
        Data sources, shown on maps (plain text).
    townships, counties, sites, villages
        The input layers; ``counties`` and ``villages`` are optional.
    radius_km
        Coverage radius around rooms and stations.
    snap_tolerance_m
        A point at most this far outside every township is snapped to the
        nearest one (and reported); farther ones are refused.
    output_dir
        Where outputs are written.
    published
        Published values of computed city-wide indicators (column -> value),
        compared with the run's figures.
    published_context
        Other published facts (label -> text), shown as they are.
    published_source
        Where the published figures come from.
    classes
        Classification per indicator column (missing ones use defaults).
    map_size_budget_kb
        Largest acceptable size of the HTML map; borders are simplified
        further until the map fits (0: no budget).
    """

    source: Path
    name: str
    townships: LayerConfig
    sites: LayerConfig
    counties: LayerConfig | None = None
    villages: LayerConfig | None = None
    attribution: str = ""
    radius_km: float = 3.0
    snap_tolerance_m: float = 100.0
    output_dir: Path = Path("maps")
    published: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    published_context: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    published_source: str = ""
    classes: Mapping[str, ClassScheme] = field(default_factory=lambda: MappingProxyType({}))
    map_size_budget_kb: int = 0
    skip_invalid: bool = False
    room_link_m: float = 1000.0


def default_project() -> Path:
    """Path of the embedded Linyi project file."""
    for location in _LINYI_LOCATIONS:
        if location.exists():
            return location
    raise ConfigError(
        "the embedded Linyi dataset was not found (looked in "
        + ", ".join(str(p) for p in _LINYI_LOCATIONS)
        + "); pass --project PATH"
    )


def load_project(path: Path | str | None = None, *, output_dir: Path | None = None) -> ProjectConfig:
    """Read a project file.

    Parameters
    ----------
    path
        The TOML file, or a folder containing ``project.toml``; ``None`` for
        the embedded Linyi project.
    output_dir
        Overrides the output folder; default ``maps/`` in the working folder.

    Returns
    -------
    ProjectConfig

    Raises
    ------
    ConfigError
        If the file is missing, is not valid TOML, or a setting is wrong.
    """
    source = Path(path) if path is not None else default_project()
    if source.is_dir():
        source = source / "project.toml"
    try:
        data = tomllib.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"project file not found: {source}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"{source}: not a valid TOML file: {error}") from None

    root = source.resolve().parent
    layers = data.get("layers", {})
    for required in ("townships", "sites"):
        if required not in layers:
            raise ConfigError(f"{source}: section [layers.{required}] is missing; it must give a 'path'")
    known = {"townships", "counties", "sites", "villages"}
    for extra in set(layers) - known:
        raise ConfigError(f"{source}: unknown section [layers.{extra}]; allowed: {', '.join(sorted(known))}")

    indicators = data.get("indicators", {})
    radius_km = indicators.get("radius_km", 3.0)
    if not isinstance(radius_km, (int, float)) or not 0 < radius_km <= 100:
        raise ConfigError(f"{source}: [indicators] radius_km = {radius_km!r}; it must be a number in (0, 100]")

    snap = data.get("join", {}).get("snap_tolerance_m", 100.0)
    if not isinstance(snap, (int, float)) or not 0 <= snap <= 10_000:
        raise ConfigError(f"{source}: [join] snap_tolerance_m = {snap!r}; it must be a number in [0, 10000]")

    map_section = data.get("map", {})
    budget = map_section.get("size_budget_kb", 0)
    if not isinstance(budget, int) or budget < 0:
        raise ConfigError(f"{source}: [map] size_budget_kb = {budget!r}; it must be a whole number >= 0")
    classes = {
        str(column): _class_scheme(source, str(column), table)
        for column, table in map_section.get("classes", {}).items()
    }

    published = data.get("published", {})
    figures = published.get("figures", {})
    for key, value in figures.items():
        if not isinstance(value, (int, float)):
            raise ConfigError(f"{source}: [published.figures] {key} = {value!r}; it must be a number")
    return ProjectConfig(
        source=source,
        name=str(data.get("project", {}).get("name", root.name)),
        townships=_layer(source, root, "townships", layers["townships"]),
        sites=_layer(source, root, "sites", layers["sites"]),
        counties=_layer(source, root, "counties", layers["counties"]) if "counties" in layers else None,
        villages=_layer(source, root, "villages", layers["villages"]) if "villages" in layers else None,
        attribution=str(data.get("project", {}).get("attribution", "")),
        radius_km=float(radius_km),
        snap_tolerance_m=float(snap),
        output_dir=Path(output_dir) if output_dir is not None else Path("maps"),
        published=MappingProxyType({str(k): float(v) for k, v in figures.items()}),
        published_context=MappingProxyType(
            {str(k): str(v) for k, v in published.get("context", {}).items()}
        ),
        published_source=str(published.get("source", "")),
        classes=MappingProxyType(classes),
        map_size_budget_kb=budget,
    )


def _class_scheme(source: Path, column: str, table: Any) -> ClassScheme:
    where = f"{source}: [map.classes.{column}]"
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table with 'scheme' (and 'k' or 'bins')")
    scheme = table.get("scheme", "natural_breaks")
    if scheme not in CLASS_SCHEMES:
        raise ConfigError(f"{where} scheme = {scheme!r}; allowed: {', '.join(CLASS_SCHEMES)}")
    k = table.get("k", 5)
    if not isinstance(k, int) or not 2 <= k <= 9:
        raise ConfigError(f"{where} k = {k!r}; it must be a whole number from 2 to 9")
    bins = table.get("bins", [])
    if scheme == "fixed":
        if not bins or not all(isinstance(b, (int, float)) for b in bins) or list(bins) != sorted(bins) or len(bins) > 9:
            raise ConfigError(f"{where} bins = {bins!r}; give up to 9 increasing numbers (class upper bounds)")
    return ClassScheme(scheme=scheme, k=k, bins=tuple(float(b) for b in bins))


def _layer(source: Path, root: Path, name: str, table: Any) -> LayerConfig:
    if not isinstance(table, dict) or "path" not in table:
        raise ConfigError(f"{source}: [layers.{name}] must give a 'path'")
    allowed = {"path", "crs", "columns", "sheet", "repair_invalid"}
    for key in set(table) - allowed:
        raise ConfigError(f"{source}: [layers.{name}] has unknown key {key!r}; allowed: {', '.join(sorted(allowed))}")
    columns = table.get("columns", {})
    if not isinstance(columns, dict) or not all(isinstance(v, str) for v in columns.values()):
        raise ConfigError(f"{source}: [layers.{name}.columns] must map standard names to column names (text)")
    crs = table.get("crs")
    if crs is not None:
        problem = check_crs_name(str(crs))
        if problem:
            raise ConfigError(f"{source}: [layers.{name}] crs: {problem}")
    repair = table.get("repair_invalid", False)
    if not isinstance(repair, bool):
        raise ConfigError(f"{source}: [layers.{name}] repair_invalid = {repair!r}; it must be true or false")
    sheet = table.get("sheet")
    return LayerConfig(
        path=(root / table["path"]).resolve(),
        crs=str(crs) if crs is not None else None,
        columns=MappingProxyType(dict(columns)),
        sheet=str(sheet) if sheet is not None else None,
        repair_invalid=repair,
    )
