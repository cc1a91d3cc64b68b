"""The Word and HTML reports of Linyi with a plan: structure, numbering, totals, fonts, properties, size."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from township_coverage.cli import main

docx = pytest.importorskip("docx")
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("documents")
    planned = CliRunner().invoke(main, ["plan", "--new-rooms", "40", "--output", str(out), "-q"])
    assert planned.exit_code == 0, planned.output
    assert "状态：最优" in planned.output
    reported = CliRunner().invoke(main, ["report", "--format", "html,docx,png", "--output", str(out), "-q"])
    assert reported.exit_code == 0, reported.output
    return out


@pytest.fixture(scope="module")
def document(folder):
    return docx.Document(str(folder / "report.docx"))


def _csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, encoding="utf-8-sig", dtype={"乡镇代码": str, "县区代码": str})


def _number(text: str) -> float:
    return float(text.replace(",", "").rstrip("%"))


def _table_by_caption(document, start: str):
    """The table that follows the caption paragraph starting with ``start``."""
    body = list(document.element.body)
    for i, element in enumerate(body):
        if element.tag == f"{W}p" and "".join(element.itertext()).startswith(start):
            following = next(e for e in body[i + 1:] if e.tag == f"{W}tbl")
            return next(t for t in document.tables if t._tbl is following)
    raise AssertionError(f"no caption {start}")


def _captions(document) -> list[str]:
    return [p.text for p in document.paragraphs if p.style.name == "Caption"]


def test_docx_has_a_toc_field_and_page_numbers(document):
    instructions = [t.text for t in document.element.body.iter(f"{W}instrText")]
    assert any(i.strip().startswith("TOC") for i in instructions)
    footer = document.sections[0].footer._element
    assert any(t.text.strip() == "PAGE" for t in footer.iter(f"{W}instrText"))
    settings = document.settings.element
    assert settings.find(f"{W}updateFields") is not None


def test_captions_are_numbered_in_order_and_say_more_than_the_map_title(document):
    captions = _captions(document)
    figures = [c for c in captions if c.startswith("图")]
    tables = [c for c in captions if c.startswith("表")]
    assert [int(re.match(r"图(\d+)", c).group(1)) for c in figures] == list(range(1, len(figures) + 1))
    assert [int(re.match(r"表(\d+)", c).group(1)) for c in tables] == list(range(1, len(tables) + 1))
    assert len(figures) >= 6 and len(tables) >= 7  # 4 maps, 2 charts; summary, context, counties, townships, plan x3
    assert len(set(captions)) == len(captions)
    sequences = [t.text for t in document.element.body.iter(f"{W}instrText") if t.text.strip().startswith("SEQ")]
    assert len(sequences) == len(captions)
    assert "图3\u3000各乡镇（街道）服务半径内人口比例分布" in figures
    assert any(re.fullmatch(r"图\d+\u3000规划新建社工室（\d+ 个）", c) for c in figures)
    assert not any("临沂市社会工作服务站点覆盖" in c for c in captions)  # the maps' own titles start so


def _section_of_each_drawing(document) -> list[int]:
    """For each picture in the body, the index of the section it is in."""
    found, section = [], 0
    for element in document.element.body:
        found += [section] * len(list(element.iter(f"{W}drawing")))
        if element.find(f"{W}pPr/{W}sectPr") is not None:
            section += 1
    return found


def test_maps_are_on_landscape_pages_at_full_width(document):
    from docx.enum.section import WD_ORIENT

    assert document.sections[0].orientation == WD_ORIENT.PORTRAIT
    sections = _section_of_each_drawing(document)
    shapes = list(document.inline_shapes)
    assert len(shapes) == len(sections) == 7  # 4 maps, the county chart; the plan's chart and map
    for shape, index in zip(shapes[:4], sections[:4]):  # the four static maps come first
        section = document.sections[index]
        assert section.orientation == WD_ORIENT.LANDSCAPE and section.page_width.cm == pytest.approx(29.7, abs=0.01)
        text_width = section.page_width.cm - section.left_margin.cm - section.right_margin.cm
        assert shape.width.cm <= text_width + 0.01 and shape.width.cm >= 0.9 * text_width
        text_height = section.page_height.cm - section.top_margin.cm - section.bottom_margin.cm
        assert shape.height.cm < text_height


def test_every_table_repeats_its_header_and_numbers_are_right_aligned(document):
    for table in document.tables:
        assert table.rows[0]._tr.find(f"{W}trPr/{W}tblHeader") is not None
        assert table._tbl.find(f"{W}tblPr/{W}tblLayout").get(f"{W}type") == "fixed"
    counties = _table_by_caption(document, "表3")
    header = [c.text for c in counties.rows[0].cells]
    column = header.index("服务半径内人口比例")
    for row in counties.rows[1:]:
        paragraph = row.cells[column].paragraphs[0]._p
        assert paragraph.find(f"{W}pPr/{W}jc").get(f"{W}val") == "right"
        assert re.fullmatch(r"\d+\.\d%", row.cells[column].text)


def test_codes_and_numbers_fit_their_columns(document):
    from township_coverage.report.docx import text_width_pt

    townships = _table_by_caption(document, "表4")
    widths = [int(w.get(f"{W}w")) / 20 for w in townships._tbl.iter(f"{W}gridCol")]
    size = int(townships._tbl.find(f".//{W}sz").get(f"{W}val")) / 2
    assert size >= 7.5
    for row in townships.rows[1:]:
        for cell, width in zip(row.cells, widths):
            assert text_width_pt(cell.text, size) + 5.7 <= width, (cell.text, width)


def test_total_rows_sum_the_csv_and_compute_shares_from_the_sums(document, folder):
    csv = _csv(folder / "county_coverage.csv")
    table = _table_by_caption(document, "表3")
    header = [c.text for c in table.rows[0].cells]
    total = dict(zip(header, [c.text for c in table.rows[-1].cells]))
    assert total["县区代码"] == "合计"
    for column in ("社工站", "社工站工作人员", "社工室", "村（社区）数"):
        assert _number(total[column]) == csv[column].sum()
    assert total["服务半径内人口比例"] == f"{100 * csv['服务半径内人口'].sum() / csv['人口'].sum():.1f}%"
    assert total["设有社工室的村（社区）比例"] == (
        f"{100 * csv['设有社工室的村（社区）数'].sum() / csv['村（社区）数'].sum():.1f}%"
    )
    assert _number(total["每名工作人员服务人口"]) == round(csv["人口"].sum() / csv["社工站工作人员"].sum())
    towns = _csv(folder / "township_coverage.csv")
    table = _table_by_caption(document, "表4")
    total = dict(zip([c.text for c in table.rows[0].cells], [c.text for c in table.rows[-1].cells]))
    assert total["乡镇代码"] == "合计" and len(table.rows) == 1 + 156 + 1
    assert _number(total["社工室"]) == towns["社工室"].sum() and _number(total["村（社区）数"]) == towns["村（社区）数"].sum()
    assert total["服务半径内人口比例"] == f"{100 * towns['服务半径内人口'].sum() / towns['人口'].sum():.1f}%"


def test_fonts_are_set_for_east_asian_text(document):
    def fonts(name):
        return document.styles[name].element.find(f"{W}rPr/{W}rFonts")

    assert fonts("Normal").get(f"{W}eastAsia") == "仿宋"
    assert fonts("Heading 1").get(f"{W}eastAsia") == "黑体"
    assert fonts("Heading 1").get(f"{W}asciiTheme") is None and fonts("Heading 1").get(f"{W}eastAsiaTheme") is None
    assert fonts("Table Text").get(f"{W}eastAsia") == "宋体"
    language = document.styles.element.find(f"{W}docDefaults/{W}rPrDefault/{W}rPr/{W}lang")
    assert language.get(f"{W}eastAsia") == "zh-CN"


def test_document_properties(document):
    properties = document.core_properties
    assert properties.title == "临沂市社会工作服务站点覆盖"
    assert properties.language == "zh-CN"
    assert properties.author != "python-docx"
    assert properties.created.date() == dt.date.today() == properties.modified.date()
    today = dt.date.today()
    assert f"{today.year}年{today.month}月{today.day}日" in [p.text for p in document.paragraphs[:4]]


def test_author_comes_from_the_project_file(tmp_path):
    from _support import write_tiny_project
    from township_coverage import load_project, run

    project = write_tiny_project(tmp_path)
    text = project.read_text(encoding="utf-8").replace('name = "tiny"', 'name = "tiny"\nauthor = "某某市民政局"')
    project.write_text(text, encoding="utf-8")
    run(load_project(project, output_dir=tmp_path / "out"), report_formats=("docx", "html"))
    document = docx.Document(str(tmp_path / "out" / "report.docx"))
    assert document.core_properties.author == "某某市民政局"
    assert "编制单位：某某市民政局" in [p.text for p in document.paragraphs]
    assert "编制单位：某某市民政局" in (tmp_path / "out" / "report.html").read_text(encoding="utf-8")


def _plan_county_sums(folder: Path) -> tuple[pd.DataFrame, dict[str, float]]:
    counties = _csv(folder / "plan_counties.csv")
    return counties, {c: counties[c].sum() for c in counties.columns if c not in ("县区代码", "县区")}


def test_plan_section_has_parameters_and_before_after_figures_of_the_plan_files(document, folder):
    paragraphs = [p.text for p in document.paragraphs]
    parameters = next(p for p in paragraphs if p.startswith("规划要求："))
    assert "新建社工室40个" in parameters and "服务半径3公里" in parameters and "求解状态：最优" in parameters
    assert "与上界差距0.00%" in parameters
    csv, sums = _plan_county_sums(folder)
    table = _table_by_caption(document, "表6")
    header = [c.text for c in table.rows[0].cells]
    rows = {row.cells[0].text: [c.text for c in row.cells] for row in table.rows[1:]}
    for _, county in csv.iterrows():
        shown = dict(zip(header, rows[county["县区"]]))
        assert _number(shown["服务半径内人口（规划前）"]) == county["服务半径内人口（规划前）"]
        assert _number(shown["服务半径内人口（规划后）"]) == county["服务半径内人口（规划后）"]
        assert _number(shown["社工室（规划后）"]) == county["社工室（规划后）"]
    total = dict(zip(header, rows["合计"]))
    assert _number(total["服务半径内人口（规划后）"]) == sums["服务半径内人口（规划后）"]
    people = pd.read_csv(folder / "township_coverage.csv", encoding="utf-8-sig")["人口"].sum()
    assert total["服务半径内人口比例（规划后）"] == f"{100 * sums['服务半径内人口（规划后）'] / people:.1f}%"
    assert _number(total["新增覆盖人口"]) == sums["服务半径内人口（规划后）"] - sums["服务半径内人口（规划前）"]
    rooms = _csv(folder / "plan_rooms.csv")
    listed = _table_by_caption(document, "表7")
    assert len(listed.rows) == 1 + len(rooms) + 1
    first = [c.text for c in listed.rows[1].cells]
    assert first[0] == "1" and re.fullmatch(r"\d{1,3}(,\d{3})+", first[5]) and first[6].endswith("%")
    assert _number([c.text for c in listed.rows[-1].cells][5]) == pytest.approx(rooms["新增覆盖"].sum(), abs=0.5)


def test_plan_summary_file_holds_the_parameters_and_the_whole_area(folder):
    summary = json.loads((folder / "plan_summary.json").read_text(encoding="utf-8"))
    assert summary["parameters"]["new_rooms"] == 40 and summary["parameters"]["status"] == "optimal"
    assert len(summary["rooms"]) == 40
    towns = pd.read_csv(folder / "plan_townships.csv", encoding="utf-8-sig")
    assert summary["city"]["after"]["population_within_radius"] == towns["服务半径内人口（规划后）"].sum()


def test_findings_sum_up_the_figures(document, folder):
    findings = [p.text for p in document.paragraphs]
    counties = _csv(folder / "county_coverage.csv")
    shares = counties.set_index("县区")["服务半径内人口"] / counties.set_index("县区")["人口"]
    assert (f"各县区中，服务半径内人口比例最高的是{shares.idxmax()}（{100 * shares.max():.1f}%），"
            f"最低的是{shares.idxmin()}（{100 * shares.min():.1f}%）。") in findings
    towns = _csv(folder / "township_coverage.csv")
    top = towns.assign(out=towns["人口"] - towns["服务半径内人口"]).nlargest(1, "out").iloc[0]
    assert any(p.startswith(f"服务半径外人口最多的乡镇（街道）是{top['乡镇（街道）']}（{top['县区']}，{top['out']:,.0f}人）")
               for p in findings)
    assert any(p.startswith("按规划新建社工室40个后，服务半径内人口比例将由") for p in findings)


def test_html_report_has_the_same_captions_and_totals_and_is_small(document, folder):
    from html.parser import HTMLParser

    path = folder / "report.html"
    assert path.stat().st_size < 2.5 * 2**20

    class Captions(HTMLParser):
        def __init__(self):
            super().__init__()
            self.open, self.texts, self.feet = None, [], 0

        def handle_starttag(self, tag, attrs):
            if tag in ("caption", "figcaption"):
                self.open = ""
            self.feet += tag == "tfoot"

        def handle_endtag(self, tag):
            if tag in ("caption", "figcaption"):
                self.texts.append(self.open)
                self.open = None

        def handle_data(self, data):
            if self.open is not None:
                self.open += data

    parser = Captions()
    page = path.read_text(encoding="utf-8")
    parser.feed(page)
    assert sorted(parser.texts) == sorted(_captions(document))
    assert parser.feet == 4  # counties, townships, the plan's counties and rooms
    today = dt.date.today()
    assert f"{today.year}年{today.month}月{today.day}日" in page
    assert "thead{display:table-header-group}" in page


def test_workbook_has_the_plan_sheets(folder):
    sheets = pd.read_excel(folder / "coverage.xlsx", sheet_name=["拟建社工室", "规划前后各县区"], dtype={"村代码": str})
    rooms = _csv(folder / "plan_rooms.csv").astype({"村代码": str})
    assert sheets["拟建社工室"]["村代码"].tolist() == rooms["村代码"].tolist()
    assert sheets["拟建社工室"]["新增覆盖人口"].sum() == pytest.approx(rooms["新增覆盖"].sum(), abs=40)
    counties = _csv(folder / "plan_counties.csv")
    by_county = sheets["规划前后各县区"].set_index("县区")["服务半径内人口（规划后）"]
    assert (by_county[counties["县区"]].to_numpy() == counties["服务半径内人口（规划后）"].to_numpy()).all()
