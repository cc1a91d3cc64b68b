"""Coverage as of a day and over time, on the multipart project with opening and closing dates.

The sites of ``write_multipart_project`` get these dates (expected figures
below are counted by hand from this list):

    S1 station 环城街道 (甲县) 2021年6月        R1 room 海岛镇 (甲县)   2022-07-01
    S2 station 飞地镇 (乙县)   2021-12-01      R2 room 湖滨镇 (甲县)   no date
    S3 station 海岛镇 (甲县)   2022/3/15       R3 room 双角乡 (甲县)   2024-01-10
    S4 station 湖滨镇 (甲县)   2022            R4 room 飞地镇 (乙县)   2023-02-01, closed 2024-06-30
    S5 station 双角乡 (甲县)   2023年5月
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from _support import write_multipart_project
from township_coverage import load_project, run
from township_coverage.cli import main

OPENED = {"S1": "2021年6月", "S2": "2021-12-01", "S3": "2022/3/15", "S4": "2022", "S5": "2023年5月",
          "R1": "2022-07-01", "R2": "", "R3": "2024-01-10", "R4": "2023-02-01"}
CLOSED = {"R4": "2024-06-30"}
STAFF = {"S1": 3, "S2": 2, "S3": 4, "S4": 1, "S5": 2}


def write_dated_project(folder: Path) -> Path:
    """The multipart project with the dates above (Chinese headers for them)."""
    project = write_multipart_project(folder)
    sites = pd.read_csv(folder / "sites.csv", dtype=str, keep_default_na=False)
    sites["建成时间"] = sites["site_id"].map(OPENED)
    sites["撤销时间"] = sites["site_id"].map(CLOSED).fillna("")
    sites.to_csv(folder / "sites.csv", index=False)
    return project


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, encoding="utf-8-sig", dtype={"县区代码": str})


@pytest.fixture(scope="module")
def dated_project(tmp_path_factory) -> Path:
    return write_dated_project(tmp_path_factory.mktemp("dated"))


def _run(project: Path, out: Path, **options):
    return run(load_project(project, output_dir=out), report_formats=("html",), **options)


@pytest.mark.parametrize(
    ("day", "stations", "staff", "rooms"),
    [
        ("2021-06-30", 1, 3, 1),  # S1; R2 has no date
        ("2022-06-30", 4, 10, 1),  # S1-S4; R1 opens the next day
        ("2022-07-01", 4, 10, 2),
        ("2024-06-29", 5, 12, 4),  # R4 still open
        ("2024-06-30", 5, 12, 3),  # R4 closed that day
    ],
)
def test_figures_as_of_a_day_count_the_sites_open_that_day(dated_project, tmp_path, day, stations, staff, rooms):
    result = _run(dated_project, tmp_path / "out", as_of=pd.Timestamp(day), timeline="none")
    assert result.city["stations"] == stations
    assert result.city["station_staff"] == staff
    assert result.city["community_rooms"] == rooms
    assert "1 个没有建成日期" in " ".join(result.notes)


def test_outputs_name_the_as_of_day(dated_project, tmp_path):
    out = tmp_path / "out"
    result = _run(dated_project, out, as_of=pd.Timestamp("2022-06-30"), timeline="none")
    assert result.title == "multipart（截至2022年6月30日）"
    for name in ("township_coverage.csv", "county_coverage.csv", "city_summary.csv"):
        table = _read(out / name)
        assert table.columns[0] == "截至日期"
        assert set(table["截至日期"]) == {"2022-06-30"}
    assert "multipart（截至2022年6月30日）" in (out / "coverage.html").read_text(encoding="utf-8")
    assert "<h1>multipart（截至2022年6月30日）</h1>" in (out / "report.html").read_text(encoding="utf-8")
    assert not (out / "timeline.csv").exists()
    rows = pd.read_csv(out / "sites_joined.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert rows.set_index("编号")["建成日期"].to_dict() == {  # every row, with its day as read
        "S1": "2021-06-01", "S2": "2021-12-01", "S3": "2022-03-15", "S4": "2022-01-01", "S5": "2023-05-01",
        "R1": "2022-07-01", "R2": "", "R3": "2024-01-10", "R4": "2023-02-01",
    }


#: Stations and rooms of the whole area at each year end, counted by hand from the list above.
YEAR_ENDS = {"2021-12-31": (2, 1), "2022-12-31": (4, 2), "2023-12-31": (5, 3), "2024-12-31": (5, 3)}


def test_the_timeline_has_a_step_per_year_end_and_its_counties_add_up(dated_project, tmp_path):
    out = tmp_path / "out"
    _run(dated_project, out, as_of=pd.Timestamp("2025-03-31"), timeline="yearly")
    table = _read(out / "timeline.csv")
    city = table[table["县区"] == "全市"].set_index("截至日期")
    assert list(city.index) == [*YEAR_ENDS, "2025-03-31"]
    assert list(city["时间点"]) == ["2021年末", "2022年末", "2023年末", "2024年末", "2025年3月31日"]
    for day, (stations, rooms) in YEAR_ENDS.items():
        assert (city.loc[day, "社工站"], city.loc[day, "社工室"]) == (stations, rooms), day
    counties = table[table["县区"] != "全市"]
    for column in ("乡镇（街道）数", "设有社工站的乡镇数", "社工站", "社工室", "社工站工作人员", "服务半径内人口"):
        sums = counties.groupby("截至日期")[column].sum()
        assert sums.to_dict() == city[column].to_dict(), column
    assert city.loc["2021-12-31", "设有社工站的乡镇比例"] == pytest.approx(2 / 5)
    # The last step is the as-of day: the same figures as the run's own tables.
    assert city.loc["2025-03-31", "社工站"] == _read(out / "city_summary.csv")["社工站"].iloc[0]


def test_quarterly_steps_end_each_quarter(dated_project, tmp_path):
    out = tmp_path / "out"
    _run(dated_project, out, as_of=pd.Timestamp("2022-05-15"), timeline="quarterly")
    city = _read(out / "timeline.csv").query("县区 == '全市'")
    assert list(city["截至日期"]) == ["2021-06-30", "2021-09-30", "2021-12-31", "2022-03-31", "2022-05-15"]
    assert list(city["时间点"])[:2] == ["2021年第2季度末", "2021年第3季度末"]
    assert list(city["社工站"]) == [1, 1, 2, 4, 4]


def test_reports_and_workbook_show_the_progress(dated_project, tmp_path):
    pytest.importorskip("docx")
    out = tmp_path / "out"
    run(load_project(dated_project, output_dir=out), report_formats=("html", "docx"), as_of=pd.Timestamp("2024-12-31"))
    page = (out / "report.html").read_text(encoding="utf-8")
    sentence = "甲县：设有社工站的乡镇（街道）由2021年末的1个（共4个，25.0%）增至2024年末的4个（共4个，100.0%）；社工室由1个增至3个。"
    assert sentence in page
    assert "乙县：设有社工站的乡镇（街道）自2021年末至2024年末保持1个（共1个，100.0%）；社工室保持0个。" in page
    import docx

    paragraphs = [p.text for p in docx.Document(out / "report.docx").paragraphs]
    assert sentence in paragraphs
    import openpyxl

    workbook = openpyxl.load_workbook(out / "coverage.xlsx", read_only=True)
    assert "建设进展" in workbook.sheetnames
    rows = list(workbook["建设进展"].values)
    assert rows[0][:4] == ("截至日期", "时间点", "县区代码", "县区")
    assert len(rows) == 1 + 4 * 3  # four year ends, the whole area and two counties each


def test_the_chart_is_drawn_with_chinese_text(dated_project, tmp_path):
    from township_coverage.report.staticmap import FontNotFoundError, find_cjk_font

    try:
        find_cjk_font()
    except FontNotFoundError as error:
        pytest.fail(str(error))
    out = tmp_path / "out"
    _run(dated_project, out, as_of=pd.Timestamp("2024-12-31"))
    svg = (out / "timeline_chart.svg").read_text(encoding="utf-8")
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    assert {"甲县", "乙县", "全市", "2021年末", "2024年末"} <= {t.strip() for t in texts}
    assert (out / "timeline_chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_list_without_dates_has_no_timeline_and_says_so_when_one_is_asked_for(tmp_path):
    project = write_multipart_project(tmp_path)
    result = _run(project, tmp_path / "out", timeline="yearly")
    assert result.title == "multipart"
    assert any("没有建成或关闭日期" in note for note in result.notes)
    assert not (tmp_path / "out" / "timeline.csv").exists()
    assert _read(tmp_path / "out" / "city_summary.csv").columns[0] == "范围"


def test_the_command_line_reads_the_day_in_any_form_and_refuses_a_bad_one(dated_project, tmp_path):
    runner = CliRunner()
    out = tmp_path / "out"
    good = runner.invoke(main, ["run", "--project", str(dated_project), "--output", str(out), "--as-of", "2022年6月",
                                "--timeline", "none", "-q"])
    assert good.exit_code == 0, good.output
    assert "multipart（截至2022年6月1日）" in good.output
    bad = runner.invoke(main, ["run", "--project", str(dated_project), "--output", str(tmp_path / "bad"),
                               "--as-of", "去年"])
    assert bad.exit_code == 2
    assert "'去年' is not a date" in bad.output
    assert not (tmp_path / "bad").exists()


def test_the_time_slider_map_has_the_steps_of_the_table(dated_project, tmp_path):
    from _support import map_settings

    out = tmp_path / "out"
    _run(dated_project, out, as_of=pd.Timestamp("2023-12-31"))
    steps = map_settings((out / "timeline.html").read_text(encoding="utf-8"))["timeline"]["steps"]
    city = _read(out / "timeline.csv").query("县区 == '全市'")
    assert [step["label"] for step in steps] == list(city["时间点"]) == ["2021年末", "2022年末", "2023年末"]
    assert "timeline.html" in [path.name for path in sorted(out.iterdir())]


def test_the_reports_show_the_changes_of_the_last_comparison(tmp_path):
    """Last year's list lacked R3 (双角乡, 甲县) and had R1 about 700 m away on the island."""
    pytest.importorskip("docx")
    project = write_multipart_project(tmp_path)
    sites = pd.read_csv(tmp_path / "sites.csv", dtype=str, keep_default_na=False)
    old = sites[sites["site_id"] != "R3"].copy()
    old.loc[old["site_id"] == "R1", ["lon", "lat"]] = ["118.077", "34.977"]
    old.to_csv(tmp_path / "sites_last_year.csv", index=False)
    out = tmp_path / "out"
    runner = CliRunner()
    compared = runner.invoke(main, ["compare", str(tmp_path / "sites_last_year.csv"), str(project), "--output", str(out),
                                    "-q"])
    assert compared.exit_code == 0, compared.output
    reported = runner.invoke(main, ["report", "--project", str(project), "--output", str(out), "--format", "html,docx",
                                    "-q"])
    assert reported.exit_code == 0, reported.output
    page = (out / "report.html").read_text(encoding="utf-8")
    expected = [
        "全市：站点由8个变为9个，其中新增1个、撤销0个、迁移1个。",
        "甲县：站点由6个变为7个，其中新增1个、撤销0个、迁移1个。",
        "乙县：站点由2个变为2个，其中新增0个、撤销0个、迁移0个。",
    ]
    for sentence in expected:
        assert f"<p>{sentence}</p>" in page
    assert "各时间点全市指标" not in page  # the list has no dates: only the changes
    import docx

    paragraphs = [p.text for p in docx.Document(out / "report.docx").paragraphs]
    assert all(sentence in paragraphs for sentence in expected)


def test_a_plan_keeps_the_sites_open_today(dated_project, tmp_path):
    from township_coverage.pipeline import plan_rooms

    outcome = plan_rooms(load_project(dated_project, output_dir=tmp_path / "out"), new_rooms=1)
    # R4 (飞地镇, closed 2024-06-30) is no room any more: the other three rooms and the five stations stay.
    assert outcome.before["community_rooms"].sum() == 3
    assert outcome.before["stations"].sum() == 5
