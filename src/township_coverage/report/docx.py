"""The Word report (python-docx): headings, styled tables, maps at print size."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from township_coverage.levels import relabel_values
from township_coverage.report.tables import ReportContent
from township_coverage.report.html import TEXT

MAP_WIDTH_CM = 16.0  # A4 portrait text width with 2.5 cm margins


def write_report_docx(content: ReportContent, path: Path, *, township_table: bool = True) -> Path:
    """Write the report as a .docx file.

    Without ``township_table`` (a project too large for a table in Word,
    :data:`township_coverage.scale.MAX_DOCX_TABLE_ROWS`), a line says where
    the township table is instead.
    """
    from docx import Document
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt

    text = relabel_values(TEXT[content.lang], content.levels, content.lang)
    document = Document()
    section = document.sections[0]
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    for side in ("left_margin", "right_margin"):
        setattr(section, side, Cm(2.5))
    normal = document.styles["Normal"]
    normal.font.name = "Microsoft YaHei"
    normal.font.size = Pt(10.5)
    # East Asian text takes its font from w:eastAsia.
    normal.element.rPr.rFonts.set(qn("w:eastAsia"), "Microsoft YaHei")

    document.add_heading(content.title, level=0)
    if content.notice:
        document.add_paragraph(content.notice).runs[0].italic = True

    document.add_heading(text["summary"], level=1)
    _add_table(document, pd.DataFrame(content.summary_rows, columns=[text["figure"], text["computed"], text["published"]]))
    if content.context_rows:
        document.add_paragraph(text["context"])
        _add_table(document, pd.DataFrame(content.context_rows, columns=[text["figure"], text["published"]]))

    if content.progress is not None:
        document.add_heading(text["progress"], level=1)
        for sentence in content.progress.sentences:
            document.add_paragraph(sentence)
        if content.progress.table is not None:
            document.add_paragraph(text["progress_table"])
            _add_table(document, content.progress.table, font_size=8)
        if content.progress.chart is not None:
            document.add_picture(str(content.progress.chart), width=Cm(MAP_WIDTH_CM))
            document.add_paragraph(content.progress.caption, style="Caption")
        if content.progress.change_table is not None:
            document.add_heading(text["changes"], level=2)
            for sentence in content.progress.change_sentences:
                document.add_paragraph(sentence)
            _add_table(document, content.progress.change_table, font_size=8)

    document.add_heading(text["map"], level=1)
    for image, caption in content.static_maps:
        document.add_picture(str(image), width=Cm(MAP_WIDTH_CM))
        document.add_paragraph(caption, style="Caption")

    document.add_heading(text["counties"], level=1)
    _add_table(document, content.counties, font_size=8)
    document.add_heading(text["townships"], level=1)
    if township_table:
        _add_table(document, content.townships, font_size=7)
    else:
        document.add_paragraph(text["townships_left_out"].format(rows=len(content.townships)))
    if content.plan_rooms is not None:
        document.add_heading(text["plan"], level=1)
        _add_table(document, content.plan_rooms, font_size=8)
    document.add_heading(text["validation"], level=1)
    _add_table(document, content.validation_counts.reset_index(), font_size=8)
    if len(content.problems):
        _add_table(document, content.problems, font_size=7)
    else:
        document.add_paragraph(text["no_problems"])
    if content.sources:
        document.add_paragraph(content.sources).runs[0].font.size = Pt(8)
    document.core_properties.title = content.title
    document.save(path)
    return path


def _add_table(document, frame: pd.DataFrame, *, font_size: float = 9) -> None:
    from docx.shared import Pt

    table = document.add_table(rows=1, cols=len(frame.columns))
    table.style = "Light Grid Accent 1"
    for cell, name in zip(table.rows[0].cells, frame.columns):
        cell.text = str(name)
    for values in frame.itertuples(index=False):
        cells = table.add_row().cells
        for cell, value in zip(cells, values):
            cell.text = "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)
    for row in table.rows:
        for cell in row.cells:
            for paragraph in cell.paragraphs:
                for run in paragraph.runs:
                    run.font.size = Pt(font_size)
