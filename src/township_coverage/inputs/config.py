"""Project files (TOML) turned into frozen settings.

A project file describes one dataset: where its layers are, which columns
hold what, and the options of a run. Paths are relative to the file.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from township_coverage.errors import ConfigError
from township_coverage.inputs.crs import check_crs_name
from township_coverage.inputs.schema import (
    Finding,
    Table,
    Value,
    any_number,
    any_text,
    check,
    choice,
    flag,
    increasing_numbers,
    is_number,
    number,
    setting,
    text,
    text_or_number,
    texts_or_all,
    whole_number,
)
from township_coverage.inputs.toml_lines import key_lines
from township_coverage.metrics import CITY_SUMMARY_COLUMNS

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


@dataclass(frozen=True)
class RoadsConfig:
    """A road network of lines, for distances along roads when planning.

    Attributes
    ----------
    path
        Absolute path of the file (GeoPackage, Shapefile, GeoJSON ...).
    layer
        Layer of a file with several; ``None`` for the first.
    crs
        CRS of a file that stores none; ``None`` to use the file's.
    """

    path: Path
    layer: str | None = None
    crs: str | None = None


#: Classification schemes for choropleth indicators (see township_coverage.classes).
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
class LevelNames:
    """What the two administrative levels are called on maps, reports and tables.

    Attributes
    ----------
    township
        The lower level (default label of the language: 乡镇（街道） /
        township); a province-level project mapping districts writes 区县.
    county
        The upper level (default: 县区 / county); e.g. 地市.
    """

    township: str | None = None
    county: str | None = None


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
    author
        Who prepares the reports (their cover and document properties); "" if not said.
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
    levels
        Names of the two levels shown in maps, reports and tables.
    skip_invalid
        Lenient mode: run with the invalid rows left out (they are still
        reported) instead of refusing the input.
    room_link_m
        Community rooms without a village code are linked to the nearest
        village of the same township within this distance (metres).
    atlas_counties
        Counties of the atlas: beginnings of their codes (``("3713",)``),
        ``("all",)``, or ``None`` for every county up to a limit
        (:mod:`township_coverage.scale`).
    roads
        Road network for plans (``[plan] roads``): distances along roads
        instead of straight lines; ``None`` for straight lines.
    """

    source: Path
    name: str
    townships: LayerConfig
    sites: LayerConfig
    counties: LayerConfig | None = None
    villages: LayerConfig | None = None
    attribution: str = ""
    author: str = ""
    radius_km: float = 3.0
    snap_tolerance_m: float = 100.0
    output_dir: Path = Path("maps")
    published: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    published_context: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    published_source: str = ""
    classes: Mapping[str, ClassScheme] = field(default_factory=lambda: MappingProxyType({}))
    map_size_budget_kb: int = 0
    levels: LevelNames = LevelNames()
    skip_invalid: bool = False
    room_link_m: float = 1000.0
    atlas_counties: tuple[str, ...] | None = None
    roads: RoadsConfig | None = None


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



# --- the schema of project files -------------------------------------------------

#: Standard column names that ``columns`` may map, per layer.
STANDARD_COLUMNS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "townships": ("township_code", "township_name", "county_code", "county_name", "population", "geometry_source"),
    "counties": ("county_code", "county_name"),
    "sites": (
        "site_id", "site_type", "name", "township_code", "township_name", "county_code", "county_name",
        "lon", "lat", "staff", "village_code", "location_source",
    ),
    "villages": (
        "village_code", "village_name", "township_code", "township_name", "county_code", "county_name",
        "lon", "lat", "population", "location_source",
    ),
})

_BOUNDARY_LAYERS = ("townships", "counties")


def _crs_reason(value: Any) -> str | None:
    """Why a ``crs`` value is refused, with the spelling to use."""
    if is_number(value):
        return f'write "EPSG:{value}"'
    if isinstance(value, str):
        return check_crs_name(value)
    return None


_CRS_NAME = Value(
    expected='text naming a CRS (WGS84, CGCS2000, GCJ-02, BD-09 or "EPSG:<code>")',
    accepts=lambda value: isinstance(value, str) and check_crs_name(value) is None,
    reason=_crs_reason,
)


def _layer_schema(layer: str, contents: str) -> Table:
    """Keys of ``[layers.<layer>]``: boundary layers may be repaired, tables have sheets."""
    keys: dict[str, Value | Table] = {
        "path": text(about="the file, relative to the project file"),
        "crs": _CRS_NAME,
        "columns": Table(
            keys={name: text(about="the column header in the file") for name in STANDARD_COLUMNS[layer]},
            contents="standard column name = header in the file",
        ),
    }
    if layer in _BOUNDARY_LAYERS:
        keys["repair_invalid"] = flag(default=False)
    else:
        keys["sheet"] = text(about="a sheet of the XLSX file")
    return Table(keys=keys, required=("path",), contents=contents)


def _fixed_scheme_needs_bins(table: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Rule of ``[map.classes.<column>]``: ``fixed`` classes need their bounds."""
    if table.get("scheme") == "fixed" and not table.get("bins"):
        return [("bins", 'scheme "fixed" needs bins: up to 9 increasing numbers (class upper bounds)')]
    return []


def _roads_options_need_roads(table: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Rule of ``[plan]``: ``roads_layer`` and ``roads_crs`` describe the ``roads`` file."""
    if "roads" in table:
        return []
    return [(key, 'it describes the road file: give [plan] roads = "roads.gpkg" too')
            for key in ("roads_layer", "roads_crs") if key in table]


#: Keys of ``[map.classes.<column>]``.
_CLASS_SCHEMA = Table(
    keys={
        "scheme": choice(CLASS_SCHEMES, default="natural_breaks"),
        "k": whole_number(2, 9, default=5),
        "bins": increasing_numbers(9),
    },
    rules=(_fixed_scheme_needs_bins,),
    contents="how one indicator column is classified",
)

#: Every section and key a project file may have.
PROJECT_SCHEMA = Table(
    keys={
        "project": Table(
            keys={
                "name": text(about="the title of maps and reports"), "attribution": any_text(),
                "author": text(about="who prepares the reports, e.g. 临沂市民政局"),
            },
            contents="the title, the data sources and the reports' author",
        ),
        "layers": Table(
            keys={
                "townships": _layer_schema("townships", "the township boundaries"),
                "counties": _layer_schema("counties", "the county boundaries, optional"),
                "sites": _layer_schema("sites", "the table of stations and rooms"),
                "villages": _layer_schema("villages", "the table of villages, optional"),
            },
            required=("townships", "sites"),
            contents="the input files",
        ),
        "levels": Table(
            keys={
                "township": text(about="the lower level, e.g. 乡镇（街道） or 区县"),
                "county": text(about="the upper level, e.g. 县区 or 地市"),
            },
            contents="the names of the two levels",
        ),
        "join": Table(
            keys={
                "snap_tolerance_m": number(0, 10_000, default=100.0),
                "skip_invalid": flag(default=False),
                "room_link_m": number(0, 10_000, default=1000.0),
            },
            contents="how sites are joined to townships",
        ),
        "indicators": Table(keys={"radius_km": number(0, 100, low_open=True, default=3.0)}),
        "map": Table(
            keys={
                "size_budget_kb": whole_number(0, default=0),
                "classes": Table(any_key=_CLASS_SCHEMA, contents="indicator column = its classes"),
            },
        ),
        "report": Table(
            keys={
                "atlas_counties": texts_or_all(about='county codes or their beginnings, e.g. ["3713"]'),
            },
            contents="what the reports show",
        ),
        "plan": Table(
            keys={
                "roads": text(about="a GeoPackage or Shapefile of road lines, relative to the project file"),
                "roads_layer": text(about="the layer of the road file, if it has several"),
                "roads_crs": _CRS_NAME,
            },
            rules=(_roads_options_need_roads,),
            contents="how plans measure distances",
        ),
        "published": Table(
            keys={
                "source": any_text(),
                "figures": Table(
                    keys={column: any_number() for column in CITY_SUMMARY_COLUMNS},
                    contents="city-wide indicator = published value",
                ),
                "context": Table(any_key=text_or_number(), contents="label = published fact"),
            },
            contents="published figures to compare with",
        ),
    },
)


# --- reading ------------------------------------------------------------------------


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
        If the file is missing, is not UTF-8 or not valid TOML, or has
        unknown keys or wrong settings (all of them are listed together, each
        with its line).
    """
    source = Path(path) if path is not None else default_project()
    if source.is_dir():
        source = source / "project.toml"
    text = _project_text(source)
    data = _parse_toml(source, text)
    findings = check(PROJECT_SCHEMA, data)
    if findings:
        raise ConfigError(_findings_message(source, text, findings))
    return _project_config(source, data, output_dir)


def _project_text(source: Path) -> str:
    """The text of the file; a UTF-8 byte-order mark (Windows Notepad) is dropped."""
    try:
        content = source.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"project file not found: {source}") from None
    except OSError as error:
        raise ConfigError(f"cannot read the project file {source}: {error.strerror}") from None
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = content[: error.start].count(b"\n") + 1
        raise ConfigError(
            f"{source}, line {line}: the file is not UTF-8 (perhaps GBK/GB18030); "
            "save it as UTF-8 (in Notepad: 另存为 → 编码 UTF-8)"
        ) from None


_TOML_POSITION = re.compile(r"^(?P<reason>.*) \((?:at line (?P<line>\d+), column (?P<column>\d+)|at end of document)\)$")


def _parse_toml(source: Path, text: str) -> dict[str, Any]:
    """The parsed file; a syntax error names its line and column."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        match = _TOML_POSITION.match(str(error))
        if match is None:
            raise ConfigError(f"{source}: not a valid TOML file: {error}") from None
        if match["line"] is not None:
            where = f"line {match['line']}, column {match['column']}"
        else:
            lines = text.splitlines() or [""]
            where = f"line {len(lines)}, column {len(lines[-1]) + 1} (end of the file)"
        raise ConfigError(f"{source}, {where}: not valid TOML: {match['reason']}") from None


def _findings_message(source: Path, text: str, findings: list[Finding]) -> str:
    """One line per problem, each with its line in the file."""
    lines = key_lines(text)
    heading = f"{len(findings)} problem(s) in the project file {source}:"
    return "\n".join([heading] + [f"  - {_where(source, lines, f.path)}: {f.message}" for f in findings])


def _where(source: Path, lines: Mapping[tuple[str, ...], int], path: tuple[str, ...]) -> str:
    """``project.toml, line 7`` (or that the line was not found)."""
    if not path:
        return source.name
    if path in lines:
        return f"{source.name}, line {lines[path]}"
    return f"{source.name}, line not found"


# --- building the settings ---------------------------------------------------------


def _project_config(source: Path, data: Mapping[str, Any], output_dir: Path | None) -> ProjectConfig:
    """The settings of checked ``data``, defaults filled in."""
    root = source.resolve().parent
    layers = data["layers"]
    published = data.get("published", {})
    return ProjectConfig(
        source=source,
        name=setting(PROJECT_SCHEMA, data, "project", "name") or root.name,
        townships=_layer(root, layers["townships"]),
        sites=_layer(root, layers["sites"]),
        counties=_layer(root, layers["counties"]) if "counties" in layers else None,
        villages=_layer(root, layers["villages"]) if "villages" in layers else None,
        attribution=setting(PROJECT_SCHEMA, data, "project", "attribution"),
        author=setting(PROJECT_SCHEMA, data, "project", "author") or "",
        radius_km=float(setting(PROJECT_SCHEMA, data, "indicators", "radius_km")),
        snap_tolerance_m=float(setting(PROJECT_SCHEMA, data, "join", "snap_tolerance_m")),
        output_dir=Path(output_dir) if output_dir is not None else Path("maps"),
        published=MappingProxyType({k: float(v) for k, v in published.get("figures", {}).items()}),
        published_context=MappingProxyType({k: str(v) for k, v in published.get("context", {}).items()}),
        published_source=setting(PROJECT_SCHEMA, data, "published", "source"),
        classes=MappingProxyType(
            {column: _class_scheme(table) for column, table in data.get("map", {}).get("classes", {}).items()}
        ),
        map_size_budget_kb=setting(PROJECT_SCHEMA, data, "map", "size_budget_kb"),
        levels=LevelNames(
            township=setting(PROJECT_SCHEMA, data, "levels", "township"),
            county=setting(PROJECT_SCHEMA, data, "levels", "county"),
        ),
        skip_invalid=setting(PROJECT_SCHEMA, data, "join", "skip_invalid"),
        room_link_m=float(setting(PROJECT_SCHEMA, data, "join", "room_link_m")),
        atlas_counties=_county_choice(setting(PROJECT_SCHEMA, data, "report", "atlas_counties")),
        roads=_roads(root, data.get("plan", {})),
    )


def _roads(root: Path, table: Mapping[str, Any]) -> RoadsConfig | None:
    """The road network of checked ``[plan]``, its path made absolute; ``None`` without one."""
    if "roads" not in table:
        return None
    return RoadsConfig(path=(root / table["roads"]).resolve(), layer=table.get("roads_layer"),
                       crs=table.get("roads_crs"))


def _county_choice(value: str | list[str] | None) -> tuple[str, ...] | None:
    """``[report] atlas_counties`` as a tuple (``"all"`` becomes ``("all",)``)."""
    if value is None:
        return None
    return (value,) if isinstance(value, str) else tuple(v.strip() for v in value)


def _class_scheme(table: Mapping[str, Any]) -> ClassScheme:
    """The classes of one indicator column from its checked table."""
    return ClassScheme(
        scheme=setting(_CLASS_SCHEMA, table, "scheme"),
        k=setting(_CLASS_SCHEMA, table, "k"),
        bins=tuple(float(b) for b in setting(_CLASS_SCHEMA, table, "bins")),
    )


def _layer(root: Path, table: Mapping[str, Any]) -> LayerConfig:
    """One input layer from its checked table; its path made absolute."""
    return LayerConfig(
        path=(root / table["path"]).resolve(),
        crs=table.get("crs"),
        columns=MappingProxyType(dict(table.get("columns", {}))),
        sheet=table.get("sheet"),
        repair_invalid=table.get("repair_invalid", False),
    )
