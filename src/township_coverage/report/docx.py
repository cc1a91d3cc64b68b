"""The Word report (python-docx), set as Chinese government work reports are.

Layout after GB/T 9704-2012 (党政机关公文格式), the usual model of work
reports: A4, body in 仿宋 3号 (16 pt) at a fixed 28 pt line pitch with a
two-character first-line indent, level-1 headings in 黑体 and level-2 in 楷体,
the title in 宋体 bold 2号 (22 pt; 方正小标宋 is the official face but is rarely
installed), page numbers ``— 1 —`` in the footer. Tables are in 宋体 (10.5 pt
or smaller to fit) with Times New Roman for figures. Chinese fonts are set as
``w:eastAsia`` (Word takes East Asian text from there), Latin ones as
``w:ascii``/``w:hAnsi``.

Sections with maps, the progress chart or tables too wide for a portrait
page are set on landscape pages. Captions are numbered with SEQ fields
(图1, 表1 …; table captions above, figure captions below), there is a TOC
field that Word fills in when it opens the file, and the document
properties carry the title, author, language and date.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from xml.sax.saxutils import escape

import pandas as pd

from township_coverage.report.content import Figure, Paragraph, ReportContent, Section, Table

#: Chinese fonts (w:eastAsia) of the body, headings, title and tables.
BODY_FONT, HEADING_FONT, HEADING2_FONT, TITLE_FONT, TABLE_FONT = "仿宋", "黑体", "楷体", "宋体", "宋体"
#: Latin and figures.
LATIN_FONT = "Times New Roman"
#: Page text widths (cm): A4 portrait with GB/T 9704 margins (2.8 / 2.6 cm), A4 landscape with 2.35 cm.
PORTRAIT_WIDTH_CM, LANDSCAPE_WIDTH_CM = 15.6, 25.0
#: Text heights (cm): A4 portrait less 3.7 cm and 3.5 cm, A4 landscape less 1.3 cm and 1.2 cm.
PORTRAIT_HEIGHT_CM, LANDSCAPE_HEIGHT_CM = 22.5, 18.5
#: Height a caption takes below a figure, and a level-1 heading above one (cm).
_CAPTION_CM, _HEADING_CM = 0.8, 1.3
#: Font sizes a table may take (pt), largest first: 五号, 小五 and below.
TABLE_SIZES = (10.5, 9.0, 8.0, 7.5)
_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def write_report_docx(content: ReportContent, path: Path) -> Path:
    """Write the report as a .docx file."""
    from docx import Document

    document = Document()
    _set_styles(document, content.lang)
    _set_page(document.sections[0], landscape=False)
    _set_header_and_footer(document.sections[0], content.title)
    _add_cover(document, content)
    landscape = False
    for section in content.sections:
        wants = is_landscape(section)
        if wants != landscape:
            _new_section(document, landscape=wants)
            landscape = wants
        _add_section(document, content, section, landscape=landscape)
    if content.sources:
        _note(document, content.sources)
    _set_properties(document, content)
    document.save(path)
    return path


# --- styles and pages ---------------------------------------------------------------


def _set_styles(document, lang: str) -> None:
    """Fonts, sizes and spacing of the body, title, headings, captions and table text."""
    from docx.enum.style import WD_STYLE_TYPE
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt, RGBColor

    styles = document.styles
    normal = styles["Normal"]
    _fonts(normal, BODY_FONT, 16)
    normal.paragraph_format.line_spacing = Pt(28)
    normal.paragraph_format.space_after = Pt(0)
    _indent_chars(normal, 2 if lang == "zh" else 0)
    _language(document, lang)
    for name, font, size in (("Heading 1", HEADING_FONT, 16), ("Heading 2", HEADING2_FONT, 16),
                             ("Title", TITLE_FONT, 22)):
        style = styles[name]
        _fonts(style, font, size, bold=name == "Title")
        style.font.color.rgb = RGBColor(0, 0, 0)
        style.font.italic = False
        style.paragraph_format.space_before = Pt(12 if name != "Title" else 0)
        style.paragraph_format.space_after = Pt(6)
        style.paragraph_format.line_spacing = Pt(30 if name != "Title" else 36)
        _no_border(style)
    styles["Title"].paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _indent_chars(styles["Title"], 0)
    caption = styles["Caption"]
    _fonts(caption, HEADING_FONT, 10.5)
    caption.font.color.rgb = RGBColor(0, 0, 0)
    caption.font.italic = False
    caption.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    caption.paragraph_format.line_spacing = 1.0
    caption.paragraph_format.space_before = Pt(3)
    caption.paragraph_format.space_after = Pt(6)
    _indent_chars(caption, 0)
    for name, font, size in (("Table Text", TABLE_FONT, 10.5), ("Note", TABLE_FONT, 9)):
        style = styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        style.base_style = normal
        _fonts(style, font, size)
        style.paragraph_format.line_spacing = 1.0
        style.paragraph_format.space_before = Pt(0)
        style.paragraph_format.space_after = Pt(0 if name == "Table Text" else 4)
        _indent_chars(style, 0)


def _fonts(style, east_asian: str, size: float, *, bold: bool = False) -> None:
    """Set a style's Chinese (w:eastAsia) and Latin fonts, dropping theme fonts that would win over them."""
    from docx.oxml.ns import qn
    from docx.shared import Pt

    style.font.name = LATIN_FONT
    style.font.size = Pt(size)
    style.font.bold = bold
    fonts = style.element.get_or_add_rPr().get_or_add_rFonts()
    for theme in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(theme), None)
    fonts.set(qn("w:eastAsia"), east_asian)


def _indent_chars(style, chars: int) -> None:
    """First-line indent in characters (``w:firstLineChars``, what Word's 首行缩进 2 字符 writes)."""
    _set_indent(style.element.get_or_add_pPr(), chars)


def _set_indent(properties, chars: int) -> None:
    """``w:ind`` of paragraph properties, put where the schema wants it."""
    from docx.oxml.ns import qn

    indent = properties.get_or_add_ind()
    indent.set(qn("w:firstLineChars"), str(chars * 100))
    indent.set(qn("w:firstLine"), "0")


def _no_border(style) -> None:
    """Remove a paragraph border the template gives the style (its Title has a rule under it)."""
    from docx.oxml.ns import qn

    properties = style.element.pPr
    if properties is not None:
        for border in properties.findall(qn("w:pBdr")):
            properties.remove(border)


def _language(document, lang: str) -> None:
    """The document's language for proofing: zh-CN for East Asian text (and Latin text in English reports)."""
    from docx.oxml.ns import qn

    defaults = document.styles.element.find(qn("w:docDefaults"))
    run = defaults.find(qn("w:rPrDefault")).find(qn("w:rPr"))
    language = run.find(qn("w:lang"))
    if language is None:
        language = run.makeelement(qn("w:lang"), {})
        run.append(language)
    language.set(qn("w:val"), "zh-CN" if lang == "zh" else "en-GB")
    language.set(qn("w:eastAsia"), "zh-CN")


def _set_page(section, *, landscape: bool) -> None:
    """A4, portrait with GB/T 9704 margins or landscape with narrow ones."""
    from docx.enum.section import WD_ORIENT
    from docx.shared import Cm

    if landscape:
        section.orientation = WD_ORIENT.LANDSCAPE
        section.page_width, section.page_height = Cm(29.7), Cm(21.0)
        section.top_margin, section.bottom_margin = Cm(1.3), Cm(1.2)
        section.left_margin = section.right_margin = Cm((29.7 - LANDSCAPE_WIDTH_CM) / 2)
        section.header_distance, section.footer_distance = Cm(0.5), Cm(0.4)
    else:
        section.orientation = WD_ORIENT.PORTRAIT
        section.page_width, section.page_height = Cm(21.0), Cm(29.7)
        section.top_margin, section.bottom_margin = Cm(3.7), Cm(3.5)
        section.left_margin, section.right_margin = Cm(2.8), Cm(2.6)
        section.header_distance, section.footer_distance = Cm(1.5), Cm(2.0)


def _new_section(document, *, landscape: bool) -> None:
    """A new page in the other orientation (headers and footers follow the first section's)."""
    from docx.enum.section import WD_SECTION

    _set_page(document.add_section(WD_SECTION.NEW_PAGE), landscape=landscape)


def _set_header_and_footer(section, title: str) -> None:
    """The report's title in the header, ``— page —`` centred in the footer."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    header = section.header.paragraphs[0]
    header.text = title
    header.alignment = WD_ALIGN_PARAGRAPH.CENTER
    header.style = "Note"
    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    footer.style = "Note"
    footer.add_run("— ")
    _add_field(footer, "PAGE", "1")
    footer.add_run(" —")
    for run in footer.runs:
        run.font.size = Pt(14)  # 4号, as GB/T 9704 sets page numbers


def _add_field(paragraph, instruction: str, shown: str) -> None:
    """A Word field (``PAGE``, ``SEQ 表 \\* ARABIC``, ``TOC …``) with the text it shows until updated."""
    from docx.oxml import parse_xml

    runs = (
        f'<w:r xmlns:w="{_W}"><w:fldChar w:fldCharType="begin" w:dirty="true"/></w:r>',
        f'<w:r xmlns:w="{_W}"><w:instrText xml:space="preserve"> {escape(instruction)} </w:instrText></w:r>',
        f'<w:r xmlns:w="{_W}"><w:fldChar w:fldCharType="separate"/></w:r>',
        f'<w:r xmlns:w="{_W}"><w:t xml:space="preserve">{escape(shown)}</w:t></w:r>',
        f'<w:r xmlns:w="{_W}"><w:fldChar w:fldCharType="end"/></w:r>',
    )
    for run in runs:
        paragraph._p.append(parse_xml(run))


# --- the parts -----------------------------------------------------------------------


def _add_cover(document, content: ReportContent) -> None:
    """Title, author, date, notice; then the table of contents on a page of its own."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK

    words = content.words()
    document.add_paragraph(content.title, style="Title")
    for line in ([words["author"].format(author=content.author)] if content.author else []) + [content.date_text()]:
        paragraph = document.add_paragraph(line)
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        paragraph.paragraph_format.first_line_indent = 0
        _indent_chars_of(paragraph, 0)
    if content.notice:
        for line in content.notice.splitlines():
            _note(document, line)
    contents = document.add_paragraph(words["contents"])
    contents.alignment = WD_ALIGN_PARAGRAPH.CENTER
    contents.paragraph_format.page_break_before = True
    contents.runs[0].font.name = LATIN_FONT
    _run_east_asian(contents.runs[0], HEADING_FONT)
    toc = document.add_paragraph()
    _indent_chars_of(toc, 0)
    _add_field(toc, 'TOC \\o "1-2" \\h \\z \\u', words["contents_hint"])
    toc.add_run().add_break(WD_BREAK.PAGE)


def _indent_chars_of(paragraph, chars: int) -> None:
    """A paragraph's own first-line indent in characters."""
    _set_indent(paragraph._p.get_or_add_pPr(), chars)


def _run_east_asian(run, font: str) -> None:
    from docx.oxml.ns import qn

    run._r.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), font)


def _note(document, text: str) -> None:
    document.add_paragraph(text, style="Note")


def is_landscape(section: Section) -> bool:
    """Whether a section goes on landscape pages: it has a map or chart drawn wide, or a table too wide for portrait."""
    portrait = PORTRAIT_WIDTH_CM / 2.54 * 72
    return any(
        (isinstance(block, Figure) and block.wide)
        or (isinstance(block, Table) and _fitted(block, portrait, sizes=TABLE_SIZES[:2]) is None)
        for block in section.blocks
    )


def _add_section(document, content: ReportContent, section: Section, *, landscape: bool) -> None:
    """A heading and its paragraphs, tables and figures."""
    document.add_heading(section.heading, level=section.level)
    first = True
    for block in section.blocks:
        if isinstance(block, Paragraph):
            (_note(document, block.text) if block.note else document.add_paragraph(block.text))
        elif isinstance(block, Table):
            _add_table(document, content, block, landscape=landscape)
        else:
            _add_figure(document, content, block, landscape=landscape, after_heading=first)
        first = False


def _caption(document, content: ReportContent, block: Table | Figure):
    """``表1　…`` / ``图1　…`` with the number as a SEQ field."""
    paragraph = document.add_paragraph(style="Caption")
    prefix = content.caption_prefix(block)
    paragraph.add_run(prefix)
    _add_field(paragraph, f"SEQ {prefix.strip()} \\* ARABIC", str(block.number))
    paragraph.add_run(("　" if content.lang == "zh" else ". ") + block.caption)
    return paragraph


def _add_figure(document, content: ReportContent, figure: Figure, *, landscape: bool, after_heading: bool) -> None:
    """A figure, its caption below: wide ones (maps) at the full width of a landscape page, each on a page of
    its own; others at the width of a portrait page; neither taller than the page leaves room for."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm
    from PIL import Image

    with Image.open(figure.image) as image:
        aspect = image.width / image.height
    width = LANDSCAPE_WIDTH_CM if figure.wide and landscape else PORTRAIT_WIDTH_CM
    height = (LANDSCAPE_HEIGHT_CM if landscape else PORTRAIT_HEIGHT_CM) - _CAPTION_CM - (_HEADING_CM if after_heading else 0)
    width = min(width, height * aspect)
    picture = document.add_paragraph()
    picture.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _indent_chars_of(picture, 0)
    picture.paragraph_format.line_spacing = 1.0
    picture.paragraph_format.keep_with_next = True
    picture.paragraph_format.page_break_before = figure.wide and not after_heading
    picture.add_run().add_picture(str(figure.image), width=Cm(width))
    _caption(document, content, figure)


# --- tables --------------------------------------------------------------------------


def text_width_pt(text: str, size: float) -> float:
    """Printed width of ``text`` at ``size`` pt: full width for Chinese characters, about half for Latin and figures."""
    return size * sum(1.0 if ord(ch) > _NARROW_UP_TO else _NARROW for ch in text)


#: Characters up to U+02FF (Latin, figures, punctuation) take about half an em; the others a full one.
_NARROW_UP_TO, _NARROW = 0x2FF, 0.55


def _ems(texts: pd.Series) -> float:
    """Width of the widest text in ems (:func:`text_width_pt` at 1 pt), for a whole column at once."""
    if texts.empty:
        return 0.0
    texts = texts.astype("string").fillna("")
    wide = texts.str.count(r"[^\x00-\u02ff]")
    return float((wide + _NARROW * (texts.str.len() - wide)).max())


def _fitted(table: Table, available_pt: float, *, sizes=TABLE_SIZES) -> tuple[float, list[float]] | None:
    """The largest font size of ``sizes`` at which no cell has to wrap within ``available_pt``, and the column widths.

    Headers may wrap onto up to three lines (Chinese at any character, other
    text at spaces); cells never. Columns whose headers would wrap get the
    room left over, up to their header's width.
    """
    ems = _column_ems(table)
    for size in sizes:
        widths = [size * em + _PADDING_PT for em in ems]
        if sum(widths) <= available_pt:
            return size, _widened(table, widths, size, available_pt)
    return None


def _needed_widths(table: Table, size: float) -> list[float]:
    """Per column: its widest cell (the 合计 row's too), or a third of its header, plus the cell padding."""
    return [size * em + _PADDING_PT for em in _column_ems(table)]


def _column_ems(table: Table) -> list[float]:
    """Per column, the ems it needs: its widest cell, its longest header word, a third of its header."""
    ems = []
    for i, column in enumerate(table.frame.columns):
        cells = table.frame.iloc[:, i]
        if table.total is not None:
            cells = pd.concat([cells.astype("string"), pd.Series([table.total[i]], dtype="string")])
        header = str(column)
        words = [text_width_pt(word, 1) for word in header.split()] if header.isascii() else [1.0]
        ems.append(max(_ems(cells), *words, text_width_pt(header, 1) / 3))
    return ems


_PADDING_PT = 2 * 2.85 + 1  # 57 twips of cell margin on each side, and a point to spare


def _widened(table: Table, widths: list[float], size: float, available_pt: float) -> list[float]:
    """``widths`` with the room left over given to columns whose headers wrap, up to their full header."""
    spare = available_pt - sum(widths)
    wants = [max(0.0, text_width_pt(str(c), size) + _PADDING_PT - w) for c, w in zip(table.frame.columns, widths)]
    if spare <= 0 or not any(wants):
        return widths
    share = min(1.0, spare / sum(wants))
    return [w + want * share for w, want in zip(widths, wants)]


def _add_table(document, content: ReportContent, table: Table, *, landscape: bool) -> None:
    """Caption above, then the table: fitted column widths, the header repeated on each page, numbers
    right-aligned, the 合计 row in bold."""
    from docx.oxml import parse_xml

    available = (LANDSCAPE_WIDTH_CM if landscape else PORTRAIT_WIDTH_CM) / 2.54 * 72
    fitted = _fitted(table, available)
    if fitted is None:  # too wide even at the smallest size: scale the columns down, cells wrap
        size = TABLE_SIZES[-1]
        needed = _needed_widths(table, size)
        fitted = size, [w * available / sum(needed) for w in needed]
    size, widths = fitted
    caption = _caption(document, content, table)
    caption.paragraph_format.keep_with_next = True
    twips = [round(w * 20) for w in widths]
    numbers = [name in table.numbers for name in table.frame.columns]
    rows = [_row_xml(map(str, table.frame.columns), twips, [False] * len(twips), size, header=True)]
    rows += [_row_xml(values, twips, numbers, size) for values in table.frame.itertuples(index=False)]
    if table.total is not None:
        rows.append(_row_xml(table.total, twips, numbers, size, bold=True))
    grid = "".join(f'<w:gridCol w:w="{w}"/>' for w in twips)
    border = 'w:val="single" w:sz="4" w:space="0" w:color="000000"'
    xml = (
        f'<w:tbl xmlns:w="{_W}"><w:tblPr><w:tblW w:w="{sum(twips)}" w:type="dxa"/><w:jc w:val="center"/>'
        f'<w:tblBorders><w:top {border}/><w:left {border}/><w:bottom {border}/><w:right {border}/>'
        f'<w:insideH {border}/><w:insideV {border}/></w:tblBorders><w:tblLayout w:type="fixed"/>'
        f'<w:tblCellMar><w:left w:w="57" w:type="dxa"/><w:right w:w="57" w:type="dxa"/></w:tblCellMar>'
        f'<w:tblLook w:val="0420" w:firstRow="1" w:lastRow="0" w:firstColumn="0" w:lastColumn="0" w:noHBand="1" '
        f'w:noVBand="1"/></w:tblPr><w:tblGrid>{grid}</w:tblGrid>{"".join(rows)}</w:tbl>'
    )
    document.element.body.sectPr.addprevious(parse_xml(xml))
    spacer = document.add_paragraph(style="Note")  # Word needs a paragraph between two tables
    spacer.paragraph_format.space_after = 0


def _row_xml(values, twips: list[int], numbers: list[bool], size: float, *, header: bool = False,
             bold: bool = False) -> str:
    """One table row as WordprocessingML: header rows repeat on each page and are shaded; no row splits."""
    half_points = round(size * 2)
    properties = "<w:trPr><w:cantSplit/>" + ("<w:tblHeader/>" if header else "") + "</w:trPr>"
    shade = '<w:shd w:val="clear" w:color="auto" w:fill="E8EEF4"/>' if header else ""
    strong = "<w:b/>" if header or bold else ""
    cells = []
    for value, width, number in zip(values, twips, numbers):
        align = "center" if header else ("right" if number else "left")
        text = escape("" if value is None else str(value))
        cells.append(
            f'<w:tc><w:tcPr><w:tcW w:w="{width}" w:type="dxa"/>{shade}<w:vAlign w:val="center"/></w:tcPr>'
            f'<w:p><w:pPr><w:pStyle w:val="TableText"/><w:jc w:val="{align}"/></w:pPr>'
            f'<w:r><w:rPr>{strong}<w:sz w:val="{half_points}"/><w:szCs w:val="{half_points}"/></w:rPr>'
            f'<w:t xml:space="preserve">{text}</w:t></w:r></w:p></w:tc>'
        )
    return f"<w:tr>{properties}{''.join(cells)}</w:tr>"


# --- properties ----------------------------------------------------------------------


def _set_properties(document, content: ReportContent) -> None:
    """Title, author, language, dates; Word updates the fields (contents, numbers) when it opens the file."""
    from docx.oxml import parse_xml
    from docx.oxml.ns import qn

    properties = document.core_properties
    now = dt.datetime.combine(content.date, dt.datetime.now().time()).replace(microsecond=0)
    properties.title = content.title
    properties.author = content.author
    properties.last_modified_by = content.author
    properties.language = "zh-CN" if content.lang == "zh" else "en"
    properties.created = properties.modified = now
    properties.revision = 1
    properties.comments = ""
    properties.keywords = ""
    settings = document.settings.element
    if settings.find(qn("w:updateFields")) is None:  # in its place among the settings, before these
        update = parse_xml(f'<w:updateFields xmlns:w="{_W}" w:val="true"/>')
        after = [child for child in settings if child.tag.split("}")[1] in _AFTER_UPDATE_FIELDS]
        after[0].addprevious(update) if after else settings.append(update)


#: Settings that the schema puts after ``w:updateFields``.
_AFTER_UPDATE_FIELDS = {
    "hdrShapeDefaults", "footnotePr", "endnotePr", "compat", "docVars", "rsids", "mathPr", "attachedSchema",
    "themeFontLang", "clrSchemeMapping", "doNotIncludeSubdocsInStats", "doNotAutoCompressPictures", "forceUpgrade",
    "captions", "readModeInkLockDown", "smartTagType", "schemaLibrary", "shapeDefaults",
    "doNotEmbedSmartTags", "decimalSymbol", "listSeparator",
}
