"""The county atlas: pages, contents, layout, tables and the placing of township names."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from shapely.geometry import Point, box

from _support import LINYI, write_multipart_project
from layout_check import layout_problems
from township_coverage.cli import main
from township_coverage.report.atlas import write_atlas
from township_coverage.report.labels import LabelPlacer

needs_poppler = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext, pdffonts) not installed")
TOWNSHIPS = gpd.read_file(LINYI / "townships.geojson")
NBS_TOWNSHIPS = pd.read_csv(LINYI / "sources" / "nbs2023_linyi" / "townships.csv", dtype=str)


def _report(folder: Path, *options: str) -> Path:
    result = CliRunner().invoke(main, ["report", "--output", str(folder), "--format", "pdf", *options])
    assert result.exit_code == 0, result.output
    return folder / "atlas.pdf"


@pytest.fixture(scope="module")
def linyi_atlas(tmp_path_factory) -> Path:
    return _report(tmp_path_factory.mktemp("atlas"))


@pytest.fixture(scope="module")
def multipart_atlas(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("multipart")
    project = write_multipart_project(folder)
    return _report(folder / "maps", "--project", str(project), "--lang", "en")


def _page_texts(pdf: Path, *, layout: bool = False) -> list[str]:
    """Each page's text: as laid out on the page, or in the order it was drawn."""
    text = subprocess.run(["pdftotext", "-layout" if layout else "-raw", str(pdf), "-"],
                          check=True, capture_output=True, text=True).stdout
    return text.split("\f")[:-1]


def _table_rows(page: str, names: set[str] | list[str]) -> list[list[str]]:
    """The words of each table row (lines below the table's caption that start with a township name)."""
    below = page[page.index("各乡镇（街道）指标"):]
    return [line.split() for line in below.splitlines() if line.split()[:1] and line.split()[0] in names]


def _contents(pages: list[str]) -> dict[str, int]:
    """County -> page, read from the contents page (rows ``number name page``)."""
    rows = re.findall(r"^\s*\d+\s+(\S+)\s+(\d+)\s*$", pages[1], flags=re.MULTILINE)
    return {name: int(page) for name, page in rows}


@needs_poppler
def test_no_text_overlaps_or_leaves_any_page(linyi_atlas, multipart_atlas):
    assert layout_problems(linyi_atlas) == []
    assert layout_problems(multipart_atlas) == []


@needs_poppler
def test_fonts_are_embedded_as_truetype_or_cid(linyi_atlas):
    listed = subprocess.run(["pdffonts", str(linyi_atlas)], check=True, capture_output=True, text=True)
    rows = listed.stdout.splitlines()[2:]
    assert rows
    # A CFF font (Noto Sans CJK) embedded under a TrueType font's name: readers may not show it.
    assert "Mismatch" not in listed.stderr, "install a TrueType CJK font, e.g. fonts-wqy-microhei"
    for row in rows:
        assert "Type 3" not in row and ("CID" in row or "TrueType" in row), row
        assert re.search(r"\byes\s+yes\s+yes\b", row), row  # embedded, subset, with a Unicode map


@needs_poppler
def test_cover_contents_and_page_numbers(linyi_atlas):
    pages = _page_texts(linyi_atlas, layout=True)
    total = len(pages)
    for number, text in enumerate(pages, start=1):
        assert f"第 {number} 页 / 共 {total} 页" in text, number
    assert "临沂市社会工作服务站点覆盖" in pages[0] and "县区图集" in pages[0] and "编制日期" in pages[0]
    assert "示意数据" in pages[0] and "资料来源" in pages[0]
    everything = "".join(pages)
    assert all(name in everything for name in NBS_TOWNSHIPS["township_name"])  # every township of the official list
    contents = _contents(pages)
    counties = TOWNSHIPS.groupby("county_code")["county_name"].first()
    assert sorted(contents) == sorted(counties)  # the 12 counties and the High-tech Zone
    # Each county's section starts on the page the contents give, with its name atop and all its townships.
    for code, name in counties.items():
        page = pages[contents[name] - 1]
        assert [line.strip() for line in page.splitlines() if line.strip()][1] == name, name
        for township in TOWNSHIPS.loc[TOWNSHIPS["county_code"] == code, "township_name"]:
            assert township in page, (name, township)
    # The overview map numbers the counties and its index gives their pages.
    overview = pages[2]
    for number, (name, page) in enumerate(sorted(contents.items(), key=lambda item: item[1]), start=1):
        assert re.search(rf"\b{number}\s+{name}\b", overview) and re.search(rf"{name}\s+{page}\b", overview), name


@needs_poppler
def test_table_cells_are_numbers_and_units_are_in_the_header(linyi_atlas):
    pages = _page_texts(linyi_atlas, layout=True)
    number = _contents(pages)["兰山区"]
    page = pages[number - 1]
    names = set(TOWNSHIPS.loc[TOWNSHIPS["county_name"] == "兰山区", "township_name"])
    rows = _table_rows(page, names)
    assert len(rows) == len(names) == 11
    for cells in rows:
        assert all(re.fullmatch(r"[\d,]+", cell) for cell in cells[1:]), cells
        assert len(cells) == 6  # name, staff, rooms, villages, share, gap score: the station column is left out
    flat = re.sub(r"\s+", "", _page_texts(linyi_atlas)[number - 1])
    assert "社工站工作人员（人）" in flat and "服务半径内人口比例（%）" in flat
    # Every township has one station (156 of 156, as published): said once, not as a column of ones.
    assert "社工站：各乡镇（街道）均为1个（不另列）" in flat


@needs_poppler
def test_holes_and_the_high_tech_zone_are_shown_with_their_neighbours(linyi_atlas):
    pages = _page_texts(linyi_atlas)
    contents = _contents(_page_texts(linyi_atlas, layout=True))
    lanshan = pages[contents["兰山区"] - 1]
    assert "临沂高新技术产业开发区" in lanshan  # the hole in 兰山区 is named
    zone = pages[contents["临沂高新技术产业开发区"] - 1]
    assert "兰山区" in zone and "罗庄区" in zone  # its host counties
    assert "其他县区（灰色）" in zone and "乡镇（街道）社工站" in zone  # legends of the grey and of the sites


@needs_poppler
def test_english_atlas(multipart_atlas):
    pages = _page_texts(multipart_atlas, layout=True)
    assert "Contents" in pages[1] and all(f"Page {n} of {len(pages)}" in text for n, text in enumerate(pages, start=1))
    assert "甲县" in pages[3] and "Township station" in pages[3]
    assert "乙县" in pages[3]  # the enclave in 甲县 is named


@pytest.fixture(scope="module")
def long_table_atlas(tmp_path_factory) -> tuple[Path, list[str]]:
    """One county of 70 small square townships (7 rows of 10): its table needs three pages."""
    names = [f"第{i:02d}镇" for i in range(70)]
    cells = [box(118 + 0.02 * (i % 10), 35 + 0.02 * (i // 10), 118 + 0.02 * (i % 10 + 1), 35 + 0.02 * (i // 10 + 1))
             for i in range(70)]
    table = gpd.GeoDataFrame(
        {
            "township_name": names, "county_code": "370001", "county_name": "长表县",
            "stations": 1, "station_staff": np.arange(70) % 4, "community_rooms": np.arange(70) % 3,
            "villages": 10 + np.arange(70), "population_share_within_radius": np.linspace(0, 1, 70),
            "gap_score": np.arange(70) % 100,
        },
        geometry=cells, crs="EPSG:4326", index=pd.Index([f"370001{i:03d}" for i in range(70)], name="township_code"),
    )
    sites = gpd.GeoDataFrame(
        {"site_type": "township_station", "township_code": table.index},
        geometry=[Point(c.centroid.x, c.centroid.y) for c in cells], crs="EPSG:4326",
    )
    path = tmp_path_factory.mktemp("long") / "atlas.pdf"
    pages = write_atlas(table, sites, path, title="长表", notice="示意数据")
    assert pages == len(_page_texts(path))
    return path, names


@needs_poppler
def test_a_long_table_continues_with_its_header(long_table_atlas):
    path, names = long_table_atlas
    pages = _page_texts(path, layout=True)[3:]  # after cover, contents and overview
    assert len(pages) >= 2
    assert "长表县（续表）" in pages[1] and "续表" not in pages[0]
    for page in _page_texts(path)[3:]:
        assert "村（社区）数（个）" in re.sub(r"\s+", "", page)  # the header on every page
    rows = [cells[0] for page in pages for cells in _table_rows(page, names)]
    assert rows == names  # every township once, in order
    assert layout_problems(path) == []


def test_a_label_goes_where_no_marker_is():
    placer = LabelPlacer((0, 0, 100, 100), cell=5)
    placer.block(np.array([[45, 45, 55, 55]]))  # a marker on the point to be named
    placed = placer.place(50, 50, 20, 6)
    assert placed is not None and not placed.leader
    x0, y0, x1, y1 = placed.x - 10, placed.y - 3, placed.x + 10, placed.y + 3
    assert x1 <= 45 or x0 >= 55 or y1 <= 45 or y0 >= 55  # clear of the marker
    # A second label for the same point goes elsewhere again, clear of the first.
    second = placer.place(50, 50, 20, 6)
    assert second is not None and (abs(second.x - placed.x) >= 20 or abs(second.y - placed.y) >= 6)


def test_a_label_inside_its_unit_or_led_out_or_left_out():
    placer = LabelPlacer((0, 0, 100, 100), cell=5)
    placer.block(np.array([[40, 40, 60, 60]]))
    inside_square = lambda x, y: 40 <= x <= 60 and 40 <= y <= 60  # noqa: E731 - the unit is the blocked square
    placed = placer.place(50, 50, 10, 4, inside_square)
    assert placed is not None and placed.leader and not inside_square(placed.x, placed.y)
    full = LabelPlacer((0, 0, 10, 10), cell=5)
    full.block(np.array([[0, 0, 10, 10]]))
    assert full.place(5, 5, 2, 2) is None
