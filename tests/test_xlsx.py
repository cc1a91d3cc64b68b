"""The XLSX writer: what openpyxl wrote before, read back the same; long tables split into sheets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from _support import write_multipart_project
from township_coverage import load_project, run
from township_coverage.report import tables
from township_coverage.report.tables import write_xlsx
from township_coverage.report.xlsx import MAX_SHEET_NAME, split_long_tables, write_sheets, write_workbook


def _tables() -> dict[str, pd.DataFrame]:
    """Tables with every kind of column the outputs have."""
    townships = pd.DataFrame(
        {
            "乡镇代码": ["371302001", "371302002", "371302003"],
            "乡镇（街道）": ["兰山街道", "银雀山街道 & <东>", " 前后有空格 "],
            "社工站": [1, 0, 2],
            "设有社工站": [True, False, True],
            "人口": [12000.0, np.nan, 3.25],
            "每名工作人员服务人口": [np.inf, 1 / 3, 1e-5],
            "缺口排名": pd.array([1, pd.NA, 3], dtype="Int64"),
        }
    )
    validation = pd.DataFrame(
        {
            "severity": ["warning", "error"],
            "sheet": [None, "站点"],
            "row": pd.array([pd.NA, 15], dtype="Int64"),
            "value": ["东经118度", None],
        }
    )
    return {"townships": townships, "validation": validation, "empty": townships.iloc[:0]}


def test_a_workbook_reads_back_as_openpyxl_wrote_it(tmp_path: Path):
    sheets = _tables()
    old, new = tmp_path / "old.xlsx", tmp_path / "new.xlsx"
    with pd.ExcelWriter(old, engine="openpyxl") as writer:  # how coverage.xlsx was written before
        for name, frame in sheets.items():
            frame.to_excel(writer, sheet_name=name, index=False)
    write_xlsx(sheets, new)
    expected = pd.read_excel(old, sheet_name=None, dtype={"乡镇代码": str})
    actual = pd.read_excel(new, sheet_name=None, dtype={"乡镇代码": str})
    assert list(actual) == list(expected) == ["townships", "validation", "empty"]
    for name in expected:
        pd.testing.assert_frame_equal(actual[name], expected[name], check_dtype=False)


def test_cells_keep_their_kind(tmp_path: Path):
    path = tmp_path / "kinds.xlsx"
    frame = pd.DataFrame(
        {
            "code": ["001", "002"],
            "text": ["a\x01b <&>", None],
            "flag": [True, False],
            "count": pd.array([3, pd.NA], dtype="Int64"),
            "share": [0.25, -np.inf],
            "mixed": ["x", 7],
        }
    )
    write_workbook({"t": frame}, path)
    sheet = openpyxl.load_workbook(path)["t"]
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert rows == [
        ["code", "text", "flag", "count", "share", "mixed"],
        ["001", "ab <&>", True, 3, 0.25, "x"],  # a control character XML cannot hold is dropped
        ["002", None, False, None, "-inf", 7],
    ]
    assert sheet["A1"].font.b and not sheet["A2"].font.b
    assert sheet.freeze_panes == "A2"


def test_the_same_tables_give_the_same_bytes(tmp_path: Path):
    write_xlsx(_tables(), tmp_path / "a.xlsx")
    write_xlsx(_tables(), tmp_path / "b.xlsx")
    assert (tmp_path / "a.xlsx").read_bytes() == (tmp_path / "b.xlsx").read_bytes()


def test_a_table_longer_than_a_sheet_is_split_into_numbered_sheets():
    frame = pd.DataFrame({"n": range(7)})
    sheets = split_long_tables({"村（社区）逐行": frame, "短表": frame.iloc[:2]}, max_rows=3)
    assert list(sheets) == ["村（社区）逐行 1", "村（社区）逐行 2", "村（社区）逐行 3", "短表"]
    assert [list(part["n"]) for part in sheets.values()] == [[0, 1, 2], [3, 4, 5], [6], [0, 1]]
    long_name = split_long_tables({"x" * MAX_SHEET_NAME: frame}, max_rows=5)
    assert list(long_name) == ["x" * (MAX_SHEET_NAME - 2) + " 1", "x" * (MAX_SHEET_NAME - 2) + " 2"]


def test_bad_sheets_are_refused(tmp_path: Path):
    with pytest.raises(ValueError, match="occurs twice"):
        write_workbook({"A": pd.DataFrame(), "a": pd.DataFrame()}, tmp_path / "x.xlsx")
    with pytest.raises(ValueError, match="none of"):
        write_workbook({"a/b": pd.DataFrame()}, tmp_path / "x.xlsx")


def test_a_run_puts_every_village_row_in_the_workbook_over_several_sheets(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(tables, "XLSX_MAX_ROWS", 3)  # the multipart project has 7 villages
    project = write_multipart_project(tmp_path)
    result = run(load_project(project, output_dir=tmp_path / "maps"), report_formats=("html",))
    sheets = pd.read_excel(tmp_path / "maps" / "coverage.xlsx", sheet_name=None, dtype=str)
    parts = [name for name in sheets if name.startswith("村（社区）逐行")]
    assert parts == ["村（社区）逐行 1", "村（社区）逐行 2", "村（社区）逐行 3"]
    rows = pd.concat([sheets[name] for name in parts], ignore_index=True)
    joined = pd.read_csv(tmp_path / "maps" / "villages_joined.csv", encoding="utf-8-sig", dtype=str)
    assert [len(sheets[name]) for name in parts] == [3, 3, 1]
    pd.testing.assert_frame_equal(rows.fillna(""), joined.fillna(""))
    assert list(rows["编号"]) == list(result.validation.village_join.points["village_code"])
    assert [len(sheets[name]) for name in ("站点逐行 1", "站点逐行 2", "站点逐行 3")] == [3, 3, 3]


def test_a_workbook_started_from_written_sheets_reads_as_one_written_at_once(tmp_path: Path):
    tables = _tables()
    later = {"村（社区）逐行 1": tables["townships"], "村（社区）逐行 2": tables["validation"]}
    parts = write_sheets(later, tmp_path / "parts.zip")
    assert parts.names == tuple(later)
    write_workbook({"townships": tables["townships"]}, tmp_path / "started.xlsx", written=parts)
    write_workbook({"townships": tables["townships"], **later}, tmp_path / "at_once.xlsx")
    started = pd.read_excel(tmp_path / "started.xlsx", sheet_name=None, dtype=str)
    at_once = pd.read_excel(tmp_path / "at_once.xlsx", sheet_name=None, dtype=str)
    assert list(started) == list(at_once) == ["townships", "村（社区）逐行 1", "村（社区）逐行 2"]
    for name in at_once:
        pd.testing.assert_frame_equal(started[name], at_once[name])
    assert openpyxl.load_workbook(tmp_path / "started.xlsx")["村（社区）逐行 2"].freeze_panes == "A2"
    with pytest.raises(ValueError, match="occurs twice"):
        write_workbook({"村（社区）逐行 1": tables["townships"]}, tmp_path / "twice.xlsx", written=parts)


def test_numbers_take_the_format_of_their_column_in_every_sheet(tmp_path: Path):
    frame = pd.DataFrame({"名称": ["甲", "乙"], "比例": [0.8751, 0.5], "人口": pd.array([12000, None], dtype="Int64"),
                          "得分": [41.62693906924676, 3.0], "其他": [1.5, 2.0]})
    path = tmp_path / "formats.xlsx"
    formats = {"比例": "0.0%", "人口": "#,##0", "得分": "0.0", "不在表中": "0.00"}
    write_workbook({"一": frame, "二": frame.iloc[:1]}, path, formats=formats)
    workbook = openpyxl.load_workbook(path)
    for sheet in workbook:
        by_header = {cell.value: cell.column_letter for cell in sheet[1]}
        assert sheet[f"{by_header['比例']}2"].number_format == "0.0%"
        assert sheet[f"{by_header['人口']}2"].number_format == "#,##0"
        assert sheet[f"{by_header['得分']}2"].number_format == "0.0"
        assert sheet[f"{by_header['其他']}2"].number_format == "General"
        assert sheet[f"{by_header['名称']}2"].number_format == "General"
        assert sheet[f"{by_header['比例']}2"].value == 0.8751  # the value stays exact; only its display is rounded
    assert workbook["一"]["B1"].font.b and workbook["一"]["B1"].alignment.wrap_text


def test_columns_are_as_wide_as_their_values_as_shown(tmp_path: Path):
    frame = pd.DataFrame({
        "代码": ["371302001", "371302002"],
        "县区": ["临沂高新技术产业开发区", "兰山区"],  # 11 Chinese characters: 22 digits wide
        "人口": [9_836_910, 5],  # shown as 9,836,910
        "比例": [0.5, 1.0],  # shown as 100.0%
        "一个很长很长的表头说明文字": [1, 2],  # wider than its values: wraps instead
    })
    path = tmp_path / "widths.xlsx"
    write_workbook({"t": frame}, path, formats={"人口": "#,##0", "比例": "0.0%"})
    sheet = openpyxl.load_workbook(path)["t"]
    widths = {cell.value: sheet.column_dimensions[cell.column_letter].width for cell in sheet[1]}
    assert all(sheet.column_dimensions[cell.column_letter].customWidth for cell in sheet[1])
    assert widths["代码"] >= 9 and widths["县区"] >= 22 and widths["人口"] >= len("9,836,910")
    assert widths["比例"] >= len("100.0%") and widths["县区"] > widths["人口"] > widths["比例"]
    assert widths["一个很长很长的表头说明文字"] < 2 * len("一个很长很长的表头说明文字")


def test_a_custom_and_a_built_in_format_share_the_styles(tmp_path: Path):
    import zipfile

    path = tmp_path / "styles.xlsx"
    write_workbook({"t": pd.DataFrame({"a": [0.5], "b": [1000], "c": [2.25]})}, path,
                   formats={"a": "0.0%", "b": "#,##0", "c": "0.0"})
    styles = zipfile.ZipFile(path).read("xl/styles.xml").decode()
    assert '<numFmt numFmtId="164" formatCode="0.0%"/>' in styles and '<numFmt numFmtId="165" formatCode="0.0"/>' in styles
    assert 'numFmtId="3"' in styles and 'formatCode="#,##0"' not in styles  # built in: not declared again
