"""Site and village lists as offices keep them: no ids, own headers, swaps, bad rows, rooms without codes.

Townships are the two 1 km squares of ``write_tiny_project``: 甲镇 (100000001,
lon 118.00-118.01) and 乙街道 (100000002, lon 118.01-118.02), lat 35.00-35.01.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from click.testing import CliRunner
from shapely.geometry import Polygon, box

from _support import write_tiny_project, written_outputs
from township_coverage import load_project, run, validate_project
from township_coverage.cli import main
from township_coverage.errors import InputDataError


def _validate(project: Path, tmp_path: Path):
    return validate_project(load_project(project, output_dir=tmp_path / "out"))


def _messages(validation) -> str:
    return "\n".join(str(p) for p in validation.problems)


def _add_villages(project: Path, villages_csv: str, *, join: str = "") -> Path:
    """Add a villages layer (and [join] settings) to a tiny project."""
    folder = project.parent
    (folder / "villages.csv").write_text(textwrap.dedent(villages_csv), encoding="utf-8")
    with project.open("a", encoding="utf-8") as file:
        file.write('[layers.villages]\npath = "villages.csv"\n')
        if join:
            file.write(f"[join]\n{join}\n")
    return project


# --- ids ---------------------------------------------------------------------


def test_a_list_without_an_id_column_gets_ids_from_file_and_row(tmp_path):
    sites = "类型,名称,经度,纬度\n社工站,甲镇社工站,118.005,35.005\n社工室,乙村社工室,118.015,35.005\n"
    validation = _validate(write_tiny_project(tmp_path, sites_csv=sites), tmp_path)
    assert not validation.problems, _messages(validation)
    points = validation.site_join.points
    assert points["site_id"].tolist() == ["sites.csv:2", "sites.csv:3"]
    assert points["township_code"].tolist() == ["100000001", "100000002"]


def test_blank_ids_in_a_named_column_are_filled_and_repeated_ones_still_refused(tmp_path):
    sites = (
        "编号,类型,名称,经度,纬度\n"
        ",社工站,甲镇社工站,118.005,35.005\n"
        "R1,社工室,乙村社工室,118.015,35.005\n"
        "R1,社工室,丙村社工室,118.016,35.005\n"
    )
    validation = _validate(write_tiny_project(tmp_path, sites_csv=sites), tmp_path)
    assert validation.site_join.points["site_id"].tolist() == ["sites.csv:2", "R1", "R1"]
    assert "warning: sites.csv, row 2, column '编号', value '': empty; the row is given the id sites.csv:2" in _messages(
        validation
    )
    assert [str(p) for p in validation.errors] == [
        "sites.csv, row 4, column '编号', value 'R1': duplicate (first in row 3); each must occur once"
    ]


# --- messages name the user's file, sheet, row, header and value ----------------


def test_messages_name_sheet_row_the_users_header_and_the_cell_as_written(tmp_path):
    project = write_tiny_project(tmp_path)
    cells = [
        ["某市社工站点清单（2024年）", None, None, None, None],
        ["站点类型", "站点名称", "东经", "北纬", "人员(人)"],
        ["社工站", "甲镇社工站", "118.005", "35.005", "3"],
        ["社工室", "乙村社工室", "东经118度", "35.005", "两"],
    ]
    with pd.ExcelWriter(tmp_path / "sites.xlsx") as writer:
        pd.DataFrame([["说明"]]).to_excel(writer, sheet_name="说明", header=False, index=False)
        pd.DataFrame(cells).to_excel(writer, sheet_name="站点", header=False, index=False)
    project.write_text(
        project.read_text(encoding="utf-8").replace(
            'path = "sites.csv"',
            'path = "sites.xlsx"\nsheet = "站点"\ncolumns = { site_type = "站点类型", lon = "东经", lat = "北纬" }',
        ),
        encoding="utf-8",
    )
    validation = _validate(project, tmp_path)
    assert [str(p) for p in validation.errors] == [
        "sites.xlsx, sheet '站点', row 4, column '东经', value '东经118度': a number is required",
        "sites.xlsx, sheet '站点', row 4, column '人员(人)', value '两': must be a whole number >= 0, or empty",
    ]


def test_a_missing_column_names_the_layer_and_every_row_is_still_accounted_for(tmp_path):
    sites = "类型,经度,纬度\n社工站,118.005,35.005\n社工室,118.015,35.005\n社工室,118.016,35.005\n"
    validation = _validate(write_tiny_project(tmp_path, sites_csv=sites), tmp_path)
    message = _messages(validation)
    assert "sites.csv: no column for 'name' (the file's headers: 类型, 经度, 纬度)" in message
    assert '[layers.sites.columns] name = "<your header>"' in message
    assert "<layer>" not in message
    accounting = validation.row_accounting()
    assert accounting.loc["sites", "invalid"] == 3 and accounting.loc["sites", "rows"] == 3


# --- swapped coordinates ------------------------------------------------------------


def test_an_unambiguous_swap_is_fixed_with_a_warning(tmp_path):
    sites = "类型,名称,经度,纬度\n社工站,甲镇社工站,118.005,35.005\n社工室,乙村社工室,35.005,118.015\n"
    validation = _validate(write_tiny_project(tmp_path, sites_csv=sites), tmp_path)
    assert not validation.errors, _messages(validation)
    assert (
        "warning: sites.csv, row 3, column '经度/纬度', value '35.005, 118.015': longitude and latitude were swapped"
        in _messages(validation)
    )
    row = validation.site_join.points.iloc[1]
    assert (row["township_code"], row["lon"], row["lat"]) == ("100000002", 118.015, 35.005)


def test_a_swap_that_still_lands_outside_the_area_stays_an_error(tmp_path):
    # Swapped back, (118.5, 35.5) is near the two townships but outside their bounds.
    sites = "类型,名称,经度,纬度\n社工站,甲镇社工站,118.005,35.005\n社工室,乙村社工室,35.5,118.5\n"
    validation = _validate(write_tiny_project(tmp_path, sites_csv=sites), tmp_path)
    assert [str(p) for p in validation.errors] == [
        "sites.csv, row 3, column '经度/纬度', value '35.5, 118.5': longitude and latitude look swapped, "
        "but swapped back the point lies outside the area too; check the row"
    ]
    assert validation.site_join.points["join_status"].tolist() == ["joined", "invalid"]


# --- validate reports every layer's problems in one pass ----------------------------------


def test_a_missing_boundary_column_does_not_hide_an_invalid_polygon(tmp_path):
    project = write_tiny_project(tmp_path)
    bowtie = Polygon([(118.00, 35.00), (118.01, 35.01), (118.01, 35.00), (118.00, 35.01)])
    gpd.GeoDataFrame(
        {"township_code": ["1", "2"], "county_code": ["9", "9"], "county_name": ["县", "县"]},
        geometry=[bowtie, box(118.01, 35.00, 118.02, 35.01)],
        crs="EPSG:4326",
    ).to_file(tmp_path / "townships.geojson")
    validation = _validate(project, tmp_path)
    message = _messages(validation)
    assert "townships.geojson: no column for 'township_name'" in message
    assert "townships.geojson, row 1, column 'geometry': invalid polygon: Self-intersection" in message
    # The sites could not be joined, but every row still has a status.
    assert validation.site_join.status_counts()["not_joined"] == 3


# --- lenient mode --------------------------------------------------------------------


BAD_ROW_SITES = (
    "类型,名称,经度,纬度,人员\n"
    "社工站,甲镇社工站,118.005,35.005,3\n"
    "社工室,乙村社工室,118.015,35.005,\n"
    "社工室,远处社工室,116.9,36.6,\n"
)


def test_strict_mode_refuses_and_says_how_to_skip(tmp_path):
    project = write_tiny_project(tmp_path, sites_csv=BAD_ROW_SITES)
    with pytest.raises(InputDataError, match=r"1 row\(s\) have errors; .* --skip-invalid"):
        run(load_project(project, output_dir=tmp_path / "out"), report_formats=("html",))
    assert written_outputs(tmp_path / "out") == []


def test_skip_invalid_leaves_bad_rows_out_and_says_so_everywhere(tmp_path):
    project = write_tiny_project(tmp_path, sites_csv=BAD_ROW_SITES)
    output = tmp_path / "out"
    result = CliRunner().invoke(main, ["run", "--project", str(project), "--output", str(output), "--skip-invalid"])
    assert result.exit_code == 0, result.output
    note = "sites.csv：3 行中有 1 行因有误未计入"
    assert note in result.output
    assert note in (output / "coverage.html").read_text(encoding="utf-8")
    assert note in (output / "report.html").read_text(encoding="utf-8")
    problems = pd.read_csv(output / "validation.csv", encoding="utf-8-sig")
    assert problems[["级别", "行", "列"]].values.tolist() == [["错误", 4, "经度/纬度"]]
    townships = pd.read_csv(output / "township_coverage.csv", encoding="utf-8-sig", dtype={"乡镇代码": str})
    assert townships.set_index("乡镇代码")["社工室"].to_dict() == {"100000001": 0, "100000002": 1}
    rows = pd.read_csv(output / "sites_joined.csv", encoding="utf-8-sig", dtype=str)
    assert rows["状态"].tolist() == ["已匹配", "已匹配", "不在任何乡镇内"]
    assert rows["行"].tolist() == ["2", "3", "4"]


def test_skip_invalid_can_be_set_in_the_project_file(tmp_path):
    project = write_tiny_project(tmp_path, sites_csv=BAD_ROW_SITES)
    with project.open("a", encoding="utf-8") as file:
        file.write("[join]\nskip_invalid = true\n")
    result = run(load_project(project, output_dir=tmp_path / "out"), report_formats=("html",))
    assert any("3 行中有 1 行" in note for note in result.notes)


def test_errors_of_a_whole_file_are_not_skipped(tmp_path):
    sites = "类型,经度,纬度\n社工站,118.005,35.005\n"
    project = write_tiny_project(tmp_path, sites_csv=sites)
    with pytest.raises(InputDataError, match="no column for 'name'"):
        run(load_project(project, output_dir=tmp_path / "out"), report_formats=("html",), skip_invalid=True)


# --- rooms and the villages they serve ------------------------------------------------------

VILLAGES = """\
    村名,经度,纬度,人口
    甲一村,118.002,35.002,100
    甲二村,118.008,35.008,200
    乙一村,118.012,35.002,300
    乙二村,118.0185,35.0085,400
    """


def test_rooms_without_a_village_code_are_linked_by_position(tmp_path):
    # 乙一村社工室 is 100 m from 乙一村; 乙村远处社工室 lies in 乙街道, 780 m from its nearest village there
    # and 285 m from 甲二村 across the border; 甲二村社工室 is 18 m from 甲二村.
    sites = (
        "类型,名称,经度,纬度\n"
        "社工站,甲镇社工站,118.005,35.005\n"
        "社工室,乙一村社工室,118.0131,35.002\n"
        "社工室,乙村远处社工室,118.0101,35.0099\n"
        "社工室,甲二村社工室,118.0082,35.008\n"
    )
    project = _add_villages(write_tiny_project(tmp_path, sites_csv=sites), VILLAGES, join="room_link_m = 500")
    validation = _validate(project, tmp_path)
    assert not validation.errors, _messages(validation)
    rooms = validation.site_join.points.set_index("name")
    assert rooms.loc["乙一村社工室", ["village_code", "village_link"]].tolist() == ["villages.csv:4", "position"]
    assert rooms.loc["甲二村社工室", ["village_code", "village_link"]].tolist() == ["villages.csv:3", "position"]
    assert rooms.loc["乙村远处社工室", "village_link"] == "none"
    assert (
        "warning: sites.csv, row 4, column '经度/纬度', value '118.0101, 35.0099': the room has no village code and no village of "
        "its township lies within 500 m" in _messages(validation)
    )
    result = run(load_project(project, output_dir=tmp_path / "out"), report_formats=("html",))
    # Hand count: 甲镇 1 of 2 villages has a room, 乙街道 1 of 2.
    assert result.townships["villages_with_room"].to_dict() == {"100000001": 1, "100000002": 1}
    assert result.townships["room_share"].to_dict() == {"100000001": 0.5, "100000002": 0.5}


def test_a_village_code_wins_over_position_and_unknown_codes_are_reported(tmp_path):
    villages = "村代码,村名,经度,纬度,人口\nV1,甲一村,118.002,35.002,100\nV2,甲二村,118.008,35.008,200\n"
    sites = (
        "类型,名称,村代码,经度,纬度\n"
        "社工室,甲一村社工室,V1,118.0079,35.008\n"
        "社工室,错码社工室,V9,118.0081,35.008\n"
    )
    project = _add_villages(write_tiny_project(tmp_path, sites_csv=sites), villages)
    validation = _validate(project, tmp_path)
    rooms = validation.site_join.points.set_index("name")
    assert rooms.loc["甲一村社工室", ["village_code", "village_link"]].tolist() == ["V1", "code"]
    assert rooms.loc["错码社工室", ["village_code", "village_link"]].tolist() == ["V2", "position"]
    assert (
        "warning: sites.csv, row 3, column '村代码', value 'V9': no village has this code; the room is linked "
        "to the nearest village of its township, V2" in _messages(validation)
    )


# --- inputs that used to end in a traceback ------------------------------------------------------


def _points_layer(folder: Path, geometry) -> None:
    gpd.GeoDataFrame({"county_code": ["1"]}, geometry=[geometry], crs="EPSG:4326").to_file(folder / "counties.geojson")
    project = folder / "project.toml"
    project.write_text(project.read_text(encoding="utf-8") + '[layers.counties]\npath = "counties.geojson"\n', encoding="utf-8")


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        (lambda d: (d / "sites.csv").write_bytes(bytes(range(256)) * 4),
         "sites.csv: not a text table in UTF-8 or GBK (byte 129 cannot be read)"),
        (lambda d: gpd.GeoDataFrame({"township_code": []}, geometry=[], crs="EPSG:4326").to_file(d / "townships.geojson"),
         "townships.geojson: the layer has no features"),
        (lambda d: _points_layer(d, box(0, 0, 1, 1).centroid),
         "counties.geojson, row 1, column 'geometry', value 'Point': county outlines must be Polygon or MultiPolygon"),
        (lambda d: (d / "sites.csv").unlink() or (d / "sites.csv").mkdir(),
         "sites.csv: is a folder; give the path of a .csv or .xlsx file"),
    ],
)
def test_unusable_files_get_one_clear_error(tmp_path, spoil, message):
    project = write_tiny_project(tmp_path)
    spoil(tmp_path)
    validation = _validate(project, tmp_path)
    assert [str(p) for p in validation.errors if message in str(p)], [str(p) for p in validation.errors]


def test_a_lenient_plan_says_how_many_rows_it_left_out(tmp_path):
    villages = "村名,经度,纬度,人口\n甲一村,118.002,35.002,100\n乙一村,118.018,35.008,300\n远村,116.9,36.6,50\n"
    project = _add_villages(write_tiny_project(tmp_path), villages, join="skip_invalid = true")
    output = tmp_path / "out"
    result = CliRunner().invoke(main, ["plan", "--project", str(project), "--output", str(output), "--new-rooms", "1"])
    assert result.exit_code == 0, result.output
    note = "villages.csv：3 行中有 1 行因有误未计入"
    assert note in result.output
    assert note in (output / "plan.html").read_text(encoding="utf-8")
