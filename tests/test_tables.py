"""Spreadsheets and CSV files as a civil-affairs bureau hands them in.

Chinese sheet names and headers by default (English with ``lang="en"``),
counts as whole numbers, shares as percentages, column widths and a frozen
header row, the schematic-data notice first, the plan's sheets after a
plan, and the validation tables in the chosen language. Expected values
come from the published figures, the test projects' definitions and the
files read back with openpyxl and the csv module, never from the code
under test.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from _support import MULTIPART_OUTSIDE_SITES, MULTIPART_OUTSIDE_VILLAGES, MULTIPART_SITES, MULTIPART_VILLAGES
from _support import write_multipart_project
from township_coverage import load_project, run
from township_coverage.pipeline import plan_rooms
from township_coverage.report.tables import row_accounting_table, validation_table

SCHEMATIC_ZH = "示意数据：乡镇边界和站点、村庄位置为生成的示意位置"
#: Counties of Linyi (with the High-tech Zone), as the NBS codes name them.
LONGEST_COUNTY_NAME = "临沂高新技术产业开发区"


def _rows(path: Path) -> list[dict[str, str]]:
    """A CSV file's rows as text, exactly as written."""
    with path.open(encoding="utf-8-sig", newline="") as stream:
        return list(csv.DictReader(stream))


def _sheet_rows(sheet) -> list[list]:
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


def _column(sheet, header: str) -> int:
    """The 1-based column of a header in the first row."""
    return [cell.value for cell in sheet[1]].index(header) + 1


def _formats(sheet, header: str) -> set[str]:
    """Number formats of the cells below a header that hold numbers."""
    column = _column(sheet, header)
    cells = [row[column - 1] for row in sheet.iter_rows(min_row=2)]
    return {cell.number_format for cell in cells if isinstance(cell.value, (int, float))}


def _display_width(text: str) -> int:
    return sum(2 if ord(character) > 0x2E80 else 1 for character in text)


# --- the Linyi default ---------------------------------------------------------


@pytest.fixture(scope="module")
def linyi_folder(linyi_run) -> Path:
    return next(path.parent for path in linyi_run.outputs if path.name == "coverage.xlsx")


@pytest.fixture(scope="module")
def linyi_workbook(linyi_folder):
    return openpyxl.load_workbook(linyi_folder / "coverage.xlsx")


def test_linyi_sheets_are_named_in_chinese_with_the_notice_first(linyi_workbook):
    assert linyi_workbook.sheetnames == ["说明", "乡镇（街道）", "县区", "全市", "数据问题", "站点逐行", "村（社区）逐行"]
    notice = [row[0] for row in _sheet_rows(linyi_workbook["说明"])]
    assert notice[0] == "说明" and notice[1].startswith(SCHEMATIC_ZH)
    assert notice[-1].startswith("来源：") and "示意生成" in notice[-1]


def test_linyi_headers_are_chinese(linyi_workbook):
    townships = [cell.value for cell in linyi_workbook["乡镇（街道）"][1]]
    assert townships[:6] == ["乡镇代码", "乡镇（街道）", "县区代码", "县区", "社工站", "社工室"]
    assert "服务半径内人口比例" in townships and "缺口得分" in townships
    assert [cell.value for cell in linyi_workbook["全市"][1]][:2] == ["范围", "乡镇（街道）数"]
    assert [cell.value for cell in linyi_workbook["数据问题"][1]] == ["级别", "文件", "工作表", "行", "列", "值", "说明"]
    assert all(re.search(r"[a-z]", str(cell.value)) is None for cell in linyi_workbook["县区"][1])


def test_linyi_shares_are_percentages_and_counts_whole_numbers(linyi_workbook):
    townships = linyi_workbook["乡镇（街道）"]
    for header in ("服务半径内人口比例", "设有社工室的村（社区）比例", "服务半径内村（社区）比例"):
        assert _formats(townships, header) == {"0.0%"}, header
    for header in ("社工站", "社工站工作人员", "社工室", "人口", "服务半径内人口", "服务半径外人口", "每名工作人员服务人口"):
        assert _formats(townships, header) == {"#,##0"}, header
    assert _formats(townships, "缺口得分") == {"0.0"}
    assert _formats(townships, "村到最近站点距离中位数（公里）") == {"0.00"}
    population = _column(townships, "人口")
    assert all(isinstance(row[population - 1], int) for row in townships.iter_rows(min_row=2, values_only=True))
    city = dict(zip(*[list(row) for row in linyi_workbook["全市"].iter_rows(values_only=True)]))
    assert city["范围"] == "全市"
    assert (city["乡镇（街道）数"], city["社工站工作人员"], city["社工室"]) == (156, 444, 390)
    assert all(isinstance(city[key], int) for key in ("乡镇（街道）数", "社工站工作人员", "社工室", "人口"))
    assert _formats(linyi_workbook["全市"], "服务半径内人口比例") == {"0.0%"}
    has_station = _column(townships, "设有社工站")
    assert {row[has_station - 1] for row in townships.iter_rows(min_row=2, values_only=True)} == {"是"}


def test_linyi_columns_fit_their_contents_and_the_header_row_stays_in_view(linyi_workbook):
    for sheet in linyi_workbook:
        assert sheet.freeze_panes == "A2", sheet.title
        for column in range(1, sheet.max_column + 1):
            letter = openpyxl.utils.get_column_letter(column)
            assert sheet.column_dimensions[letter].customWidth, (sheet.title, letter)
    counties = linyi_workbook["县区"]
    names = [row[1] for row in counties.iter_rows(min_row=2, values_only=True)]
    assert LONGEST_COUNTY_NAME in names
    assert counties.column_dimensions["B"].width >= _display_width(LONGEST_COUNTY_NAME)  # 22
    townships = linyi_workbook["乡镇（街道）"]
    assert townships.column_dimensions["A"].width >= len("371302001")  # nine-digit codes
    assert townships["A1"].font.b and townships["A1"].alignment.wrap_text


def test_linyi_csv_files_write_counts_as_integers_and_yes_no(linyi_folder):
    city = _rows(linyi_folder / "city_summary.csv")
    assert list(city[0])[0] == "范围" and city[0]["范围"] == "全市"
    assert (city[0]["乡镇（街道）数"], city[0]["社工站工作人员"], city[0]["社工室"]) == ("156", "444", "390")
    townships = _rows(linyi_folder / "township_coverage.csv")
    counties = _rows(linyi_folder / "county_coverage.csv")
    counts = ("社工站", "社工室", "社工站工作人员", "村（社区）数", "人口", "服务半径内人口", "服务半径外人口", "每名工作人员服务人口")
    for rows in (city, townships, counties):
        for header in counts:
            assert all(re.fullmatch(r"\d+", row[header]) for row in rows), header
    assert {row["设有社工站"] for row in townships} == {"是"}
    shares = [row["服务半径内人口比例"] for row in townships]
    assert all(re.fullmatch(r"0(\.\d{1,4})?|1(\.0)?", share) for share in shares)


# --- a multipart project: problems, English, a plan ------------------------------


@pytest.fixture(scope="module")
def lenient_run(tmp_path_factory):
    """The multipart project with points outside every township, run leaving those rows out."""
    folder = tmp_path_factory.mktemp("lenient")
    project = write_multipart_project(folder, with_outside_points=True)
    result = run(load_project(project, output_dir=folder / "zh"), report_formats=(), skip_invalid=True)
    english = run(load_project(project, output_dir=folder / "en"), report_formats=(), skip_invalid=True, lang="en")
    return result, folder / "zh", english, folder / "en"


def test_validation_csv_and_sheet_are_in_chinese(lenient_run):
    _, folder, _, _ = lenient_run
    rows = _rows(folder / "validation.csv")
    assert list(rows[0]) == ["级别", "文件", "工作表", "行", "列", "值", "说明"]
    outside = len(MULTIPART_OUTSIDE_SITES) + len(MULTIPART_OUTSIDE_VILLAGES)
    assert Counter(row["级别"] for row in rows)["错误"] == outside
    assert {row["级别"] for row in rows} <= {"错误", "警告"}
    workbook = openpyxl.load_workbook(folder / "coverage.xlsx")
    sheet = _sheet_rows(workbook["数据问题"])
    assert sheet[0] == ["级别", "文件", "工作表", "行", "列", "值", "说明"] and len(sheet) == len(rows) + 1
    assert workbook.sheetnames[0] == "说明"  # the rows left out are said first
    assert any("未计入" in line for (line,) in _sheet_rows(workbook["说明"])[1:])


def test_validation_csv_and_sheet_are_in_english(lenient_run):
    _, _, _, folder = lenient_run
    rows = _rows(folder / "validation.csv")
    assert list(rows[0]) == ["severity", "file", "sheet", "row", "column", "value", "message"]
    assert {row["severity"] for row in rows} <= {"error", "warning"} and "error" in {row["severity"] for row in rows}
    workbook = openpyxl.load_workbook(folder / "coverage.xlsx")
    assert workbook.sheetnames[:5] == ["notice", "townships", "counties", "city", "validation"]
    assert [cell.value for cell in workbook["city"][1]][:2] == ["scope", "townships"]
    assert _formats(workbook["townships"], "population_share_within_radius") == {"0.0%"}
    assert _formats(workbook["townships"], "population") == {"#,##0"}
    has_station = _rows(folder / "township_coverage.csv")
    assert {row["has_station"] for row in has_station} == {"yes"}


def _expected_statuses() -> dict[str, Counter]:
    """Rows per status of each layer, from the project's definition."""
    return {
        "sites": Counter(row[7] for row in MULTIPART_SITES + MULTIPART_OUTSIDE_SITES),
        "villages": Counter(row[6] for row in MULTIPART_VILLAGES + MULTIPART_OUTSIDE_VILLAGES),
    }


def test_the_reports_row_accounting_is_in_the_chosen_language(lenient_run):
    result, _, english, _ = lenient_run
    expected = _expected_statuses()
    chinese = row_accounting_table(result.validation, lang="zh").reset_index()
    assert list(chinese.columns[:4]) == ["图层", "已匹配", "已就近归入", "不在任何乡镇内"]
    assert chinese["图层"].tolist() == ["站点", "村（社区）"]
    for layer, row in zip(("sites", "villages"), chinese.itertuples(index=False)):
        counts = dict(zip(chinese.columns, row))
        assert (counts["已匹配"], counts["已就近归入"], counts["不在任何乡镇内"]) == (
            expected[layer]["joined"], expected[layer]["snapped"], expected[layer]["outside"])
        assert counts["合计"] == sum(expected[layer].values())
    table = row_accounting_table(english.validation, lang="en").reset_index()
    assert list(table.columns[:3]) == ["layer", "joined", "snapped"] and table.columns[-1] == "rows"
    assert table["layer"].tolist() == ["sites", "villages"]


def test_the_reports_problem_table_is_in_the_chosen_language(lenient_run):
    result, _, english, _ = lenient_run
    problems = validation_table(result.validation, lang="zh", file_names=True)
    assert list(problems.columns) == ["级别", "文件", "工作表", "行", "列", "值", "说明"]
    assert set(problems["文件"]) == {"sites.csv", "villages.csv"}  # the names, not the paths
    assert set(problems["级别"]) == {"错误", "警告"}  # points outside every township; points snapped onto one
    assert set(validation_table(english.validation, lang="en")["severity"]) == {"error", "warning"}


@pytest.fixture(scope="module")
def planned(tmp_path_factory):
    """The multipart project planned (up to two new rooms), then reported."""
    folder = tmp_path_factory.mktemp("planned")
    config = load_project(write_multipart_project(folder), output_dir=folder / "out")
    outcome = plan_rooms(config, new_rooms=2)
    run(config, report_formats=("html",))
    return outcome, folder / "out"


def test_a_plan_puts_its_sheets_into_the_workbook(planned):
    outcome, folder = planned
    workbook = openpyxl.load_workbook(folder / "coverage.xlsx")
    assert workbook.sheetnames == ["乡镇（街道）", "县区", "全市", "数据问题", "拟建社工室", "规划前后各县区", "站点逐行", "村（社区）逐行"]
    # (no 说明: the generated outlines are not marked schematic and no row was left out)
    rooms = _sheet_rows(workbook["拟建社工室"])
    assert rooms[0][:3] == ["序号", "村代码", "村（社区）"]
    assert [row[0] for row in rooms[1:]] == list(range(1, len(outcome.rooms) + 1)) and len(outcome.rooms) >= 1
    codes = [row[1] for row in rooms[1:]]
    assert codes == outcome.rooms["village_code"].tolist() and all(isinstance(code, str) for code in codes)
    assert _formats(workbook["拟建社工室"], "开设后累计覆盖比例") == {"0.0%"}
    assert _formats(workbook["拟建社工室"], "新增覆盖人口") == {"#,##0"}
    comparison = workbook["规划前后各县区"]
    assert _formats(comparison, "社工室（规划后）") == {"#,##0"}
    assert _formats(comparison, "服务半径内人口比例（规划后）") == {"0.0%"}
    assert comparison.freeze_panes == "A2"


def test_plan_csv_files_write_counts_as_integers(planned):
    outcome, folder = planned
    rooms = _rows(folder / "plan_rooms.csv")
    assert [row["开设顺序"] for row in rooms] == [str(n) for n in range(1, len(outcome.rooms) + 1)]
    assert all(re.fullmatch(r"\d+", row["新增覆盖"]) for row in rooms)
    assert all(re.fullmatch(r"1\d{2}\.\d{1,6}", row["经度"]) for row in rooms)
    for name in ("plan_townships.csv", "plan_counties.csv"):
        for row in _rows(folder / name):
            for when in ("（规划前）", "（规划后）"):
                assert re.fullmatch(r"\d+", row["社工室" + when]) and re.fullmatch(r"\d+", row["服务半径内人口" + when])
