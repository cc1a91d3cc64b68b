"""The project's names of the administrative levels reach the tables, the map and the reports."""

from __future__ import annotations

import pandas as pd

from _support import write_tiny_project
from township_coverage import load_project, run
from township_coverage.inputs.config import LevelNames
from township_coverage.levels import relabel

PROVINCE = LevelNames(township="区县", county="地市")


def test_relabel_replaces_the_default_terms_only():
    assert relabel("乡镇（街道）数", PROVINCE, "zh") == "区县数"
    assert relabel("设有社工站的乡镇数", PROVINCE, "zh") == "设有社工站的区县数"
    assert relabel("县区代码", PROVINCE, "zh") == "地市代码"
    assert relabel("村（社区）数", PROVINCE, "zh") == "村（社区）数"
    assert relabel("County borders", LevelNames(county="prefecture"), "en") == "Prefecture borders"
    assert relabel("乡镇（街道）数", LevelNames(), "zh") == "乡镇（街道）数"


def test_level_names_from_the_project_file_are_used_in_every_output(tmp_path):
    project = write_tiny_project(tmp_path)
    with project.open("a", encoding="utf-8") as file:
        file.write('[levels]\ntownship = "区县"\ncounty = "地市"\n')
    output = tmp_path / "out"
    run(load_project(project, output_dir=output), report_formats=("html", "docx"))
    townships = pd.read_csv(output / "township_coverage.csv", encoding="utf-8-sig")
    assert {"区县", "地市", "区县代码", "地市代码"} <= set(townships.columns)
    assert not any("乡镇" in column or "县区" in column for column in townships.columns)
    counties = pd.read_csv(output / "county_coverage.csv", encoding="utf-8-sig")
    assert "区县数" in counties.columns
    sites = pd.read_csv(output / "sites_joined.csv", encoding="utf-8-sig")
    assert "区县" in sites.columns
    page = (output / "coverage.html").read_text(encoding="utf-8")
    assert "搜索区县或村（社区）" in page and "搜索乡镇" not in page
    report = (output / "report.html").read_text(encoding="utf-8")
    assert "各区县" in report and "各乡镇（街道）" not in report
    workbook = pd.read_excel(output / "coverage.xlsx", sheet_name="区县")
    assert "区县" in workbook.columns
