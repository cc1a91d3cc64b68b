"""The HTML report printed by Chromium (print to PDF): every table row on paper, headers repeated."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from township_coverage.cli import main

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext) not installed")


@pytest.fixture(scope="module")
def printed(tmp_path_factory, browser) -> tuple[Path, str]:
    folder = tmp_path_factory.mktemp("printed")
    for command in (["plan", "--new-rooms", "40"], ["report", "--format", "html,png"]):
        result = CliRunner().invoke(main, [*command, "--output", str(folder), "-q"])
        assert result.exit_code == 0, result.output
    page = browser.new_page()
    page.goto((folder / "report.html").resolve().as_uri())
    page.wait_for_load_state("load")
    page.pdf(path=str(folder / "report.pdf"), format="A4")
    page.close()
    text = subprocess.run(["pdftotext", "-layout", str(folder / "report.pdf"), "-"], check=True, capture_output=True,
                          text=True).stdout
    return folder, text


def test_every_township_row_is_printed(printed):
    folder, text = printed
    townships = pd.read_csv(folder / "township_coverage.csv", encoding="utf-8-sig", dtype={"乡镇代码": str})
    last = townships.iloc[-1]
    assert last["乡镇（街道）"] in text and last["乡镇代码"] in text
    assert all(code in text for code in townships["乡镇代码"])
    rooms = pd.read_csv(folder / "plan_rooms.csv", encoding="utf-8-sig", dtype=str)
    assert rooms.iloc[-1]["村（社区）"] in text


def test_long_tables_repeat_their_header_on_each_printed_page(printed):
    folder, text = printed
    codes = pd.read_csv(folder / "township_coverage.csv", encoding="utf-8-sig", dtype={"乡镇代码": str})["乡镇代码"]
    pages = text.split("\f")
    found = [set(re.findall(r"(?<!\d)\d{9}(?!\d)", page)) & set(codes) for page in pages]
    with_townships = [page for page, on_page in zip(pages, found) if len(on_page) >= 5]
    assert len(with_townships) >= 3  # the township table spans pages
    assert all("乡镇代码" in page for page in with_townships)


def test_the_print_has_the_date_and_the_totals(printed):
    import datetime as dt

    _, text = printed
    today = dt.date.today()
    assert f"{today.year}年{today.month}月{today.day}日" in text
    assert text.count("合计") >= 4
