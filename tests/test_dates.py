"""Opening and closing dates of sites: the forms offices write, bad cells, and which sites are open when."""

from __future__ import annotations

import datetime
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from _support import write_tiny_project
from township_coverage import load_project, validate_project
from township_coverage.inputs.dates import parse_date, parse_dates
from township_coverage.metrics import sites_open_on

DAY = pd.Timestamp


@pytest.mark.parametrize(
    ("cell", "day"),
    [
        ("2022-12-31", "2022-12-31"),
        ("2022/12/31", "2022-12-31"),
        ("2022.12.31", "2022-12-31"),
        ("2022/3/5", "2022-03-05"),
        ("2022年12月31日", "2022-12-31"),
        ("2022年3月5号", "2022-03-05"),
        ("２０２２年１２月３１日", "2022-12-31"),  # full-width digits
        ("20221231", "2022-12-31"),
        ("2022-12-31 00:00:00", "2022-12-31"),  # how a date cell of an Excel sheet reads
        ("2022-12-31T09:30", "2022-12-31"),
        ("2022-12", "2022-12-01"),
        ("2022/12", "2022-12-01"),
        ("2022年12月", "2022-12-01"),
        ("2022年", "2022-01-01"),
        ("2022", "2022-01-01"),
        (" 2021-05 ", "2021-05-01"),
        ("44926", "2022-12-31"),  # Excel's serial day number (day 1 is 1900-01-01, with its 1900-02-29)
        ("44926.0", "2022-12-31"),
    ],
)
def test_every_common_form_of_a_date_is_read(cell, day):
    parsed = parse_dates(pd.Series([cell]))
    assert not parsed.bad.iloc[0]
    assert parsed.dates.iloc[0] == DAY(day)


@pytest.mark.parametrize("cell", ["abc", "2022-13-01", "2022-02-30", "1800", "2022年13月", "12/31/2022", "去年",
                                  "2022-12-31x"])
def test_cells_that_are_no_date_are_bad(cell):
    parsed = parse_dates(pd.Series([cell]))
    assert parsed.bad.iloc[0]
    assert pd.isna(parsed.dates.iloc[0])


def test_an_empty_cell_is_no_date_and_not_bad():
    parsed = parse_dates(pd.Series(["", None, "  "], dtype=object))
    assert not parsed.bad.any()
    assert parsed.dates.isna().all()


def test_one_date_for_an_option():
    assert parse_date("2022年12月31日") == DAY("2022-12-31")
    assert parse_date("end of 2022") is None


def test_a_site_is_open_from_its_opening_day_until_its_closing_day():
    sites = pd.DataFrame({
        "opened": pd.to_datetime(["2022-06-30", None, "2022-01-01", "2023-01-01"]),
        "closed": pd.to_datetime([None, "2022-06-30", "2022-07-01", None]),
    })
    assert sites_open_on(sites, DAY("2022-06-29")).tolist() == [False, True, True, False]
    assert sites_open_on(sites, DAY("2022-06-30")).tolist() == [True, False, True, False]
    assert sites_open_on(sites, DAY("2022-12-31")).tolist() == [True, False, False, False]
    assert sites_open_on(sites, DAY("2023-01-01")).tolist() == [True, False, False, True]


# --- in a site list -------------------------------------------------------------------


def _validate(project: Path, tmp_path: Path):
    return validate_project(load_project(project, output_dir=tmp_path / "out"))


def test_dated_columns_are_recognised_by_their_chinese_headers_and_read(tmp_path):
    sites = (
        "编号,类型,名称,经度,纬度,建成时间,撤销时间\n"
        "S1,社工站,甲镇社工站,118.005,35.005,2021年6月,\n"
        "R1,社工室,乙村社工室,118.015,35.005,2022/12/31,2023-07-01\n"
        "R2,社工室,丙村社工室,118.018,35.002,,\n"
    )
    validation = _validate(write_tiny_project(tmp_path, sites_csv=sites), tmp_path)
    assert not validation.problems, [str(p) for p in validation.problems]
    points = validation.site_join.points.set_index("site_id")
    assert points["opened"].tolist()[:2] == [DAY("2021-06-01"), DAY("2022-12-31")]
    assert pd.isna(points.loc["R2", "opened"])
    assert points.loc["R1", "closed"] == DAY("2023-07-01")


def test_english_headers_are_recognised_too(tmp_path):
    sites = "site_type,name,lon,lat,Opening date,Closing date\n社工站,甲镇社工站,118.005,35.005,2022,2024\n"
    validation = _validate(write_tiny_project(tmp_path, sites_csv=sites), tmp_path)
    points = validation.site_join.points
    assert (points["opened"].iloc[0], points["closed"].iloc[0]) == (DAY("2022-01-01"), DAY("2024-01-01"))


def test_a_bad_date_is_reported_with_row_header_and_value_and_the_row_is_invalid(tmp_path):
    sites = (
        "类型,名称,经度,纬度,成立日期,停用日期\n"
        "社工站,甲镇社工站,118.005,35.005,去年,\n"
        "社工室,乙村社工室,118.015,35.005,2022-06-01,2021-01-01\n"
        "社工室,丙村社工室,118.018,35.002,2022-06-01,\n"
    )
    validation = _validate(write_tiny_project(tmp_path, sites_csv=sites), tmp_path)
    messages = [str(p) for p in validation.errors]
    assert messages == [
        "sites.csv, row 2, column '成立日期', value '去年': not a date; write a date such as 2022-12-31, 2022/12/31, "
        "2022年12月31日, 2022年12月 or 2022",
        "sites.csv, row 3, column '停用日期', value '2021-01-01': before the opening date (成立日期) of the same row; "
        "a site closes after it opens",
    ]
    assert validation.site_join.points["join_status"].tolist() == ["invalid", "invalid", "joined"]


def test_date_cells_of_an_excel_sheet_are_read(tmp_path):
    project = write_tiny_project(tmp_path)
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["类型", "名称", "经度", "纬度", "启用日期"])
    sheet.append(["社工站", "甲镇社工站", 118.005, 35.005, datetime.datetime(2022, 12, 31)])
    sheet.append(["社工室", "乙村社工室", 118.015, 35.005, datetime.date(2021, 5, 1)])
    sheet.append(["社工室", "丙村社工室", 118.018, 35.002, 2023])
    workbook.save(tmp_path / "sites.xlsx")
    project.write_text(project.read_text(encoding="utf-8").replace("sites.csv", "sites.xlsx"), encoding="utf-8")
    validation = _validate(project, tmp_path)
    assert not validation.problems, [str(p) for p in validation.problems]
    assert validation.site_join.points["opened"].tolist() == [DAY("2022-12-31"), DAY("2021-05-01"), DAY("2023-01-01")]
