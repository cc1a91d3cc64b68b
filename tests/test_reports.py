"""Report outputs: static maps, HTML/Word reports, workbook (the atlas: test_atlas.py)."""

from __future__ import annotations

import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from _support import LINYI
from township_coverage.cli import main
from township_coverage.report.html import _table


NBS_TOWNSHIPS = pd.read_csv(LINYI / "sources" / "nbs2023_linyi" / "townships.csv", dtype=str)
needs_poppler = pytest.mark.skipif(shutil.which("pdffonts") is None, reason="poppler-utils (pdffonts, pdftotext) not installed")


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> tuple[object, Path]:
    folder = tmp_path_factory.mktemp("reports")
    result = CliRunner().invoke(main, ["report", "--output", str(folder)])
    assert result.exit_code == 0, result.output
    return result, folder


def _pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True, text=True).stdout


@needs_poppler
def test_static_pdf_embeds_a_cjk_font_and_keeps_text(reports):
    _, folder = reports
    fonts = subprocess.run(["pdffonts", str(folder / "map_gap_score.pdf")], check=True, capture_output=True, text=True).stdout
    cjk = [line for line in fonts.splitlines() if "CJK" in line or "Hei" in line]
    assert cjk and all(" yes " in line for line in cjk)  # embedded
    text = _pdf_text(folder / "map_gap_score.pdf")
    for county in ("兰山区", "沂水县", "郯城县"):
        assert county in text
    assert "新建社工室缺口得分" in text and "北" in text and "公里" in text


def test_png_is_a_drawn_a4_page_at_300_dpi(reports):
    from matplotlib.image import imread

    _, folder = reports
    pixels = imread(folder / "map_community_rooms.png")
    assert pixels.shape[:2] == (2481, 3507)  # A4 landscape, 11.69 x 8.27 in at 300 dpi
    assert len({tuple(p) for p in pixels[::50, ::50].reshape(-1, pixels.shape[2])}) > 5  # not blank


def test_svg_keeps_chinese_as_text(reports):
    _, folder = reports
    svg = (folder / "map_station_staff.svg").read_text(encoding="utf-8")
    assert "社工站工作人员" in svg and "兰陵县" in svg


def test_docx_has_the_summary_figures_and_a_row_per_township(reports):
    from docx import Document

    _, folder = reports
    document = Document(folder / "report.docx")
    tables = document.tables
    summary = {row.cells[0].text: row.cells[1].text for row in tables[0].rows[1:]}
    assert summary["乡镇（街道）数"] == "156" and summary["设有社工站的乡镇数"] == "156"
    assert summary["社工站工作人员"] == "444" and summary["社工室"] == "390"
    assert (summary["学校社工站"], summary["企业社工站"], summary["医院社工站"]) == ("2", "1", "2")
    township_table = next(t for t in tables if t.rows[0].cells[0].text == "乡镇代码")
    codes = [row.cells[0].text for row in township_table.rows[1:-1]]
    assert sorted(codes) == sorted(NBS_TOWNSHIPS["township_code"])
    assert township_table.rows[-1].cells[0].text == "合计"
    assert len(document.inline_shapes) == 5  # the static maps and the chart by county


def test_workbook_has_the_tables(reports):
    _, folder = reports
    sheets = pd.read_excel(folder / "coverage.xlsx", sheet_name=None, dtype={"乡镇代码": str})
    assert list(sheets) == ["说明", "乡镇（街道）", "县区", "全市", "数据问题", "站点逐行", "村（社区）逐行"]
    assert len(sheets["站点逐行"]) == 551 and len(sheets["村（社区）逐行"]) == 4186
    assert len(sheets["乡镇（街道）"]) == 156 and sheets["乡镇（街道）"]["社工站工作人员"].sum() == 444


def test_embed_snippet_is_printed(reports):
    result, folder = reports
    assert '<iframe src="embed.html" width="100%" height="600"' in result.output
    assert (folder / "embed.html").exists()


def test_a_missing_cjk_font_is_a_clear_error(monkeypatch):
    from township_coverage.report import staticmap

    monkeypatch.setattr(staticmap, "CJK_FAMILIES", ("No Such Font SC",))
    with pytest.raises(staticmap.FontNotFoundError, match="apt-get install fonts-wqy-microhei"):
        staticmap.find_cjk_font()


def test_unknown_report_format_is_refused():
    result = CliRunner().invoke(main, ["report", "--format", "html,odt"])
    assert result.exit_code == 2 and "unknown format(s) odt" in result.output


def test_run_without_a_cjk_font_still_writes_the_html_report(tmp_path, monkeypatch):
    from _support import write_tiny_project
    from township_coverage import load_project, run
    from township_coverage.report import staticmap

    monkeypatch.setattr(staticmap, "CJK_FAMILIES", ("No Such Font SC",))
    project = write_tiny_project(tmp_path)
    result = run(load_project(project, output_dir=tmp_path / "out"))
    names = {p.name for p in result.outputs}
    assert "report.html" in names and not any(name.endswith(".png") for name in names)
    assert result.notes and "no font for Chinese text was found" in result.notes[0]


class _Cells(HTMLParser):
    """Rows of header and data cells' texts, and every start tag, as a browser's parser reads them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[list[str]] = []
        self.tags: list[str] = []
        self.in_cell = False

    def handle_starttag(self, tag, attrs) -> None:
        self.tags.append(tag)
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self.rows[-1].append("")
            self.in_cell = True

    def handle_endtag(self, tag) -> None:
        if tag in ("td", "th"):
            self.in_cell = False

    def handle_data(self, data) -> None:
        if self.in_cell:
            self.rows[-1][-1] += data


def test_report_tables_escape_every_name_and_keep_every_value():
    hostile = ["<script>alert(1)</script>", "A & B \"引号\" 'x'", "</td></tr><tr><td>", "R&amp;D &lt;", None]
    frame = pd.DataFrame({
        "名称<b>": hostile,
        "人数": [1.0, 2.5, float("nan"), 1234567.0, 0.0],
        "编号": pd.array([7, None, 9, 10, 11], dtype="Int64"),
    })
    parser = _Cells()
    parser.feed(str(_table(frame, table_id="townships")))
    assert parser.tags.count("script") == 0 and parser.tags.count("b") == 0
    assert parser.rows == [
        ["名称<b>", "人数", "编号"],
        ["<script>alert(1)</script>", "1", "7"],
        ["A & B \"引号\" 'x'", "2.5", ""],
        ["</td></tr><tr><td>", "", "9"],
        ["R&amp;D &lt;", "1234567", "10"],
        ["", "0", "11"],
    ]
