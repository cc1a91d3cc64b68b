"""Project files: the schema, its messages with line numbers, encodings."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from township_coverage import ConfigError, ProjectConfig, load_project
from township_coverage.inputs.config import ClassScheme, LevelNames
from township_coverage.inputs.toml_lines import key_lines
from township_coverage.metrics import CITY_SUMMARY_COLUMNS, city_summary

# Lines 1-5; the settings under test start at line 6.
_LAYERS = """\
[layers.townships]
path = "townships.geojson"
[layers.sites]
path = "sites.csv"
crs = "EPSG:4326"
"""


def _write(tmp_path: Path, text: str, *, name: str = "project.toml") -> Path:
    project = tmp_path / name
    project.write_text(textwrap.dedent(text), encoding="utf-8")
    return project


def _with_layers(tmp_path: Path, settings: str) -> Path:
    return _write(tmp_path, _LAYERS + textwrap.dedent(settings))


def _error_lines(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_project(path)
    return str(caught.value).splitlines()


# --- what keeps working ---------------------------------------------------------


def test_the_linyi_project_loads():
    config = load_project(None)
    assert config.radius_km == 3.0
    assert config.published["community_rooms"] == 390.0
    assert config.published_context["专业社工机构（家）"] == "20"
    assert config.sites.crs == "EPSG:4326" and config.counties is not None


def test_a_minimal_file_gives_the_documented_defaults(tmp_path):
    config = load_project(_write(tmp_path, _LAYERS), output_dir=tmp_path)
    defaults = ProjectConfig(source=config.source, name="", townships=config.townships, sites=config.sites)
    assert config.name == tmp_path.name
    for name in ("radius_km", "snap_tolerance_m", "map_size_budget_kb", "levels", "skip_invalid", "room_link_m",
                 "attribution", "published_source"):
        assert getattr(config, name) == getattr(defaults, name), name
    assert config.levels == LevelNames(township=None, county=None)
    assert config.skip_invalid is False and config.room_link_m == 1000.0


def test_every_setting_is_read(tmp_path):
    project = _write(
        tmp_path,
        """\
        [project]
        name = "某市"
        attribution = "来源"
        [layers.townships]
        path = "t.gpkg"
        crs = "EPSG:4490"
        repair_invalid = true
        columns = { township_code = "XZQDM", "township_name" = "XZQMC" }
        [layers.sites]
        path = "sites.xlsx"
        sheet = "站点"
        crs = "GCJ-02"
        [layers.villages]
        path = "v.csv"
        [levels]
        township = "区县"
        county = "地市"
        [join]
        snap_tolerance_m = 50
        skip_invalid = true
        room_link_m = 500
        [indicators]
        radius_km = 2
        [map]
        size_budget_kb = 900
        [map.classes.community_rooms]
        scheme = "fixed"
        bins = [1, 3, 5]
        [map.classes.station_staff]
        scheme = "quantiles"
        k = 4
        [published]
        source = "报道"
        [published.figures]
        population_share_within_radius = 0.5
        community_rooms = 390
        [published.context]
        "机构（家）" = "10"
        "资金" = 607.5
        """,
    )
    config = load_project(project)
    assert (config.name, config.attribution) == ("某市", "来源")
    assert config.townships.path == (tmp_path / "t.gpkg").resolve()
    assert config.townships.repair_invalid is True and config.townships.crs == "EPSG:4490"
    assert dict(config.townships.columns) == {"township_code": "XZQDM", "township_name": "XZQMC"}
    assert (config.sites.sheet, config.sites.crs) == ("站点", "GCJ-02")
    assert config.villages is not None and config.counties is None
    assert config.levels == LevelNames(township="区县", county="地市")
    assert (config.snap_tolerance_m, config.skip_invalid, config.room_link_m) == (50.0, True, 500.0)
    assert config.radius_km == 2.0 and config.map_size_budget_kb == 900
    assert config.classes["community_rooms"] == ClassScheme("fixed", k=5, bins=(1.0, 3.0, 5.0))
    assert config.classes["station_staff"] == ClassScheme("quantiles", k=4, bins=())
    assert dict(config.published) == {"population_share_within_radius": 0.5, "community_rooms": 390.0}
    assert dict(config.published_context) == {"机构（家）": "10", "资金": "607.5"}
    assert config.published_source == "报道"


def test_the_figure_names_are_the_city_summary_columns():
    expected = (
        "townships", "townships_with_station", "stations", "station_staff", "community_rooms", "school_stations",
        "enterprise_stations", "hospital_stations", "villages", "villages_with_room", "villages_within_radius",
        "population", "population_within_radius", "room_share", "village_share_within_radius",
        "population_share_within_radius", "population_per_staff", "uncovered_population",
    )
    assert sorted(CITY_SUMMARY_COLUMNS) == sorted(expected)
    additive = [c for c in expected[2:13]]
    townships = pd.DataFrame({c: [1, 2] for c in additive} | {"has_station": [True, False]})
    assert list(city_summary(townships).index) == list(CITY_SUMMARY_COLUMNS)


# --- unknown keys ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ("[indicators]\nradus_km = 5\n",
         "project.toml, line 7: unknown key [indicators] radus_km; did you mean radius_km?"),
        ("[indicator]\nradius_km = 5\n", "project.toml, line 6: unknown section [indicator]; did you mean indicators?"),
        ("[join]\nsnap_tolerance = 50\n",
         "project.toml, line 7: unknown key [join] snap_tolerance; did you mean snap_tolerance_m?"),
        ("[published.figures]\ntownships = 3\ncomunity_rooms = 390\n",
         "project.toml, line 8: unknown key [published.figures] comunity_rooms; did you mean community_rooms?"),
        ("[map]\nsize_budget = 900\n", "project.toml, line 7: unknown key [map] size_budget; did you mean size_budget_kb?"),
        ("[levels]\ntownshp = \"区县\"\n", "project.toml, line 7: unknown key [levels] townshp; did you mean township?"),
    ],
)
def test_an_unknown_key_names_its_line_and_the_closest_key(tmp_path, settings, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_project(_with_layers(tmp_path, settings))


def test_an_unknown_column_in_an_inline_table_is_found_on_its_line(tmp_path):
    project = _write(
        tmp_path,
        """\
        [layers.townships]
        path = "townships.geojson"

        [layers.sites]
        path = "sites.csv"
        columns = { site_id = "编号", nmae = "名称" }
        """,
    )
    message = "project.toml, line 6: unknown key [layers.sites.columns] nmae; did you mean name?"
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_project(project)


def test_quoted_and_dotted_keys_are_found_on_their_lines(tmp_path):
    project = _with_layers(tmp_path, '[published]\n"sorce" = "x"\nfigures."comunity_rooms" = 3\n')
    assert _error_lines(project)[1:] == [
        "  - project.toml, line 7: unknown key [published] sorce; did you mean source?",
        "  - project.toml, line 8: unknown key [published.figures] comunity_rooms; did you mean community_rooms?",
    ]


def test_an_unknown_key_without_a_close_one_lists_the_allowed_keys(tmp_path):
    message = "project.toml, line 7: unknown key [join] colour; allowed: snap_tolerance_m, skip_invalid, room_link_m"
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_project(_with_layers(tmp_path, "[join]\ncolour = 1\n"))


def test_keys_that_only_fit_other_layers_are_refused(tmp_path):
    lines = _error_lines(_with_layers(tmp_path, "repair_invalid = true\ncolumns = { village_name = \"村\" }\n"))
    assert lines[1:] == [
        "  - project.toml, line 6: unknown key [layers.sites] repair_invalid; allowed: path, crs, columns, sheet",
        "  - project.toml, line 7: unknown key [layers.sites.columns] village_name; did you mean village_code?",
    ]


def test_every_problem_is_reported_at_once(tmp_path):
    project = _with_layers(
        tmp_path,
        """\
        [indicators]
        radus_km = 5
        [join]
        snap_tolerance = 50
        [map]
        size_budget = 900
        """,
    )
    assert _error_lines(project) == [
        f"3 problem(s) in the project file {project}:",
        "  - project.toml, line 7: unknown key [indicators] radus_km; did you mean radius_km?",
        "  - project.toml, line 9: unknown key [join] snap_tolerance; did you mean snap_tolerance_m?",
        "  - project.toml, line 11: unknown key [map] size_budget; did you mean size_budget_kb?",
    ]


def test_missing_layers_are_named(tmp_path):
    project = _write(tmp_path, '[layers.sites]\npath = "sites.csv"\n')
    message = "project.toml, line 1: section [layers.townships] is missing (the township boundaries); it must give path"
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_project(project)


def test_a_layer_without_path_is_refused(tmp_path):
    project = _write(tmp_path, '[layers.townships]\ncrs = "EPSG:4326"\n[layers.sites]\npath = "sites.csv"\n')
    message = "project.toml, line 1: [layers.townships] path is missing: expected non-empty text in quotes"
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_project(project)


# --- wrong types --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ("[indicators]\nradius_km = true\n", "line 7: [indicators] radius_km = true: expected a number in (0, 100]"),
        ("[indicators]\nradius_km = 0\n", "line 7: [indicators] radius_km = 0: expected a number in (0, 100]"),
        ('[indicators]\nradius_km = "3"\n', 'line 7: [indicators] radius_km = "3": expected a number in (0, 100]'),
        ("[join]\nsnap_tolerance_m = false\n",
         "line 7: [join] snap_tolerance_m = false: expected a number in [0, 10000]"),
        ("[join]\nroom_link_m = 20000\n", "line 7: [join] room_link_m = 20000: expected a number in [0, 10000]"),
        ('[join]\nskip_invalid = "yes"\n', 'line 7: [join] skip_invalid = "yes": expected true or false'),
        ("[levels]\ntownship = 3\n", "line 7: [levels] township = 3: expected non-empty text in quotes"),
        ('[levels]\ncounty = " "\n', 'line 7: [levels] county = " ": expected non-empty text in quotes'),
        ("[project]\nname = 3\n", "line 7: [project] name = 3: expected non-empty text in quotes"),
        ('[map]\nsize_budget_kb = 1.5\n', "line 7: [map] size_budget_kb = 1.5: expected a whole number >= 0"),
        ('[map.classes.x]\nk = "5"\n', 'line 7: [map.classes.x] k = "5": expected a whole number from 2 to 9'),
        ('[map.classes.x]\nscheme = "quantile"\n', 'line 7: [map.classes.x] scheme = "quantile": expected one of '
                                                   "natural_breaks, quantiles, equal_interval, fixed; "
                                                   "did you mean quantiles?"),
        ('[map.classes.x]\nscheme = "fixed"\n', "line 6: [map.classes.x] bins is missing: "
                                                'scheme "fixed" needs bins'),
        ('[map.classes.x]\nscheme = "fixed"\nbins = [3, 1]\n',
         "line 8: [map.classes.x] bins = [3, 1]: expected a list of up to 9 increasing numbers"),
        ("[published.figures]\ntownships = true\n",
         "line 7: [published.figures] townships = true: expected a number"),
    ],
)
def test_a_wrong_value_names_the_key_and_what_is_allowed(tmp_path, settings, message):
    with pytest.raises(ConfigError, match=re.escape(f"project.toml, {message}")):
        load_project(_with_layers(tmp_path, settings))


@pytest.mark.parametrize(
    ("layer_setting", "message"),
    [
        ("path = 5", "line 2: [layers.sites] path = 5: expected non-empty text in quotes"),
        ("crs = 4326", 'line 2: [layers.sites] crs = 4326: expected text naming a CRS (WGS84, CGCS2000, GCJ-02, '
                       'BD-09 or "EPSG:<code>"); write "EPSG:4326"'),
        ('crs = "EPSG:99999999"', 'line 2: [layers.sites] crs = "EPSG:99999999": expected text naming a CRS'),
        ("sheet = 2", "line 2: [layers.sites] sheet = 2: expected non-empty text in quotes (a sheet of the XLSX file)"),
        ('columns = "x"', 'line 2: [layers.sites] columns = "x": expected a table'),
        ("columns = { name = 1 }", "line 2: [layers.sites.columns] name = 1: expected non-empty text in quotes"),
    ],
)
def test_a_wrong_layer_setting_names_the_key_and_what_is_allowed(tmp_path, layer_setting, message):
    project = _write(tmp_path, f'[layers.sites]\n{layer_setting}\n[layers.townships]\npath = "t.geojson"\n')
    with pytest.raises(ConfigError, match=re.escape(f"project.toml, {message}")):
        load_project(project)


def test_a_text_where_a_table_is_expected_is_refused(tmp_path):
    project = _write(tmp_path, 'project = "x"\n' + _LAYERS)
    message = 'project.toml, line 1: project = "x": expected a table (the title, the data sources and the reports\' author) with keys name, attribution, author'
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_project(project)


def test_a_boundary_layer_refuses_a_text_flag(tmp_path):
    project = _write(tmp_path, _LAYERS.replace('path = "townships.geojson"', 'path = "t"\nrepair_invalid = "yes"'))
    message = 'project.toml, line 3: [layers.townships] repair_invalid = "yes": expected true or false'
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_project(project)


# --- encodings and syntax -----------------------------------------------------------


def test_a_file_with_a_utf8_byte_order_mark_is_read(tmp_path):
    project = tmp_path / "project.toml"
    project.write_bytes(("[project]\nname = \"某市\"\n" + _LAYERS).encode("utf-8-sig"))
    assert load_project(project).name == "某市"


def test_a_gbk_file_is_refused_with_how_to_save_it(tmp_path):
    project = tmp_path / "project.toml"
    project.write_bytes(("[project]\nname = \"临沂市\"\n" + _LAYERS).encode("gb18030"))
    message = (
        f"{project}, line 2: the file is not UTF-8 (perhaps GBK/GB18030); "
        "save it as UTF-8 (in Notepad: 另存为 → 编码 UTF-8)"
    )
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_project(project)


def test_a_syntax_error_names_line_column_and_reason(tmp_path):
    project = _write(tmp_path, '[project]\nname = "x"\n[layers\n')
    message = f"{project}, line 3, column 8: not valid TOML: Expected ']' at the end of a table declaration"
    with pytest.raises(ConfigError, match=f"^{re.escape(message)}$"):
        load_project(project)


def test_a_syntax_error_at_the_end_names_the_last_line(tmp_path):
    project = _write(tmp_path, '[project]\nname = ')
    message = f"{project}, line 2, column 8 (end of the file): not valid TOML: Invalid value"
    with pytest.raises(ConfigError, match=f"^{re.escape(message)}$"):
        load_project(project)


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match=re.escape(f"project file not found: {tmp_path / 'nope.toml'}")):
        load_project(tmp_path / "nope.toml")


# --- line numbers of keys -------------------------------------------------------------


def test_key_lines_follow_headers_dotted_quoted_and_inline_keys():
    text = textwrap.dedent(
        """\
        # comment
        [layers . "my sites"]
        a.b = 1
        columns = { "x.y" = { z = [1, { w = 2 }], v = '}' }, last = "," }
        s = \"\"\"
        fake = 1
        \"\"\"
        list = [
          "k", 2,
        ]
        after = 1
        [[runs]]
        """
    )
    lines = key_lines(text)
    assert lines[("layers",)] == 2 and lines[("layers", "my sites")] == 2
    assert lines[("layers", "my sites", "a", "b")] == 3
    assert lines[("layers", "my sites", "columns", "x.y", "z")] == 4
    assert lines[("layers", "my sites", "columns", "x.y", "v")] == 4
    assert lines[("layers", "my sites", "columns", "last")] == 4
    assert lines[("layers", "my sites", "s")] == 5
    assert ("layers", "my sites", "fake") not in lines
    assert lines[("layers", "my sites", "after")] == 11
    assert lines[("runs",)] == 12


def test_the_readme_example_is_a_valid_project_file(tmp_path):
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    example = readme.split("## Using your own data", 1)[1].split("```toml\n", 1)[1].split("```", 1)[0]
    config = load_project(_write(tmp_path, example))
    assert config.levels == LevelNames(township="乡镇（街道）", county="县区")
    assert (config.skip_invalid, config.room_link_m) == (False, 1000.0)
    assert config.classes["community_rooms"] == ClassScheme("quantiles", k=5)
