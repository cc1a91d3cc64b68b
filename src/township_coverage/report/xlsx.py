"""XLSX workbooks of plain tables, written column by column with pyarrow.

openpyxl writes some 30,000 cells a second, so the workbook of a national
project (a township sheet of 40,000 rows, a million village rows) would
take many minutes. A table sheet needs little of the format: a bold header
row that stays in view (frozen), column widths that fit the contents, then
text (inline strings), numbers (with a number format per column, such as
``0.0%`` or ``#,##0``) and true/false. Here each column becomes the XML of
its cells in one vectorised pass, the columns are joined into rows, and
the rows go into the zip file as they are. The same tables give the same
bytes (fixed zip dates). The sheets of long tables can be written once
into a file of their own (:func:`write_sheets`) and a workbook started
from a copy of it.
"""

from __future__ import annotations

import re
import shutil
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

#: Most rows a sheet can hold below its header row.
MAX_DATA_ROWS = 1_048_575
#: Longest sheet name Excel accepts.
MAX_SHEET_NAME = 31
# Rows turned into XML at a time: bounds the memory for long tables.
_CHUNK_ROWS = 100_000
# Characters XML 1.0 cannot hold (openpyxl refuses them; here they are dropped).
_ILLEGAL = r"[\x00-\x08\x0b\x0c\x0e-\x1f]"
_EMPTY = "<c/>"
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELATIONSHIPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PACKAGE_RELATIONSHIPS = "http://schemas.openxmlformats.org/package/2006/relationships"
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
# Column widths, in Excel's units (about one digit; a Chinese character takes two).
_MIN_WIDTH, _MAX_WIDTH = 6, 60
# A header wider than this wraps onto more lines rather than widen its column.
_MAX_HEADER_WIDTH = 12
# Rows of a text column whose widths are measured (a long table's first rows stand for the rest).
_WIDTH_SAMPLE = 1_000
# Characters that take two columns' width: CJK, Hangul, full-width forms.
_WIDE = "[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]"
# Number formats Excel has built in, by their id; others are declared in the styles.
_BUILTIN_FORMATS = {"0": 1, "0.00": 2, "#,##0": 3, "#,##0.00": 4, "0%": 9, "0.00%": 10}
# Cell formats before those of the number formats: 0 plain, 1 the header row.
_HEADER_STYLE, _FIRST_NUMBER_STYLE = 1, 2


@dataclass(frozen=True)
class WrittenSheets:
    """Sheets whose parts :func:`write_sheets` wrote into a zip file, for :func:`write_workbook` to start from.

    Attributes
    ----------
    names
        The sheet names, in order.
    path
        The zip file.
    """

    names: tuple[str, ...]
    path: Path


def write_workbook(
    sheets: Mapping[str, pd.DataFrame], path: Path, *, formats: Mapping[str, str] | None = None,
    written: WrittenSheets | None = None,
) -> None:
    """Write each table as a sheet: a bold header row, frozen, then its rows (the index is not written).

    Text stays text (codes keep their leading zeros), numbers are numbers,
    booleans are TRUE/FALSE, missing values (None, NaN) are empty cells and
    infinities the text ``inf`` / ``-inf`` (as pandas writes them). Each
    column is as wide as its header and its values need (measured on the
    first rows of long text columns); long headers wrap.

    Parameters
    ----------
    sheets
        Sheet name -> table, in order. Names are at most
        :data:`MAX_SHEET_NAME` characters and tables at most
        :data:`MAX_DATA_ROWS` rows (see :func:`split_long_tables`).
    path
        The ``.xlsx`` file to write.
    formats
        Number format (Excel's codes, e.g. ``"0.0%"``, ``"#,##0"``) of the
        numbers in each column, by column header, in every sheet.
    written
        Further sheets, already written (:func:`write_sheets`), that come
        after ``sheets``; the workbook starts as a copy of their file.

    Raises
    ------
    ValueError
        If a sheet name is too long or repeated, or a table too long.
    """
    _check_sheets(sheets)
    names = list(sheets) + list(written.names if written else ())
    _check_names(names)
    parts = [f"sheet{number}" for number in range(1, len(sheets) + 1)]
    parts += [f"written{number}" for number in range(1, len(names) - len(sheets) + 1)]
    codes = list(dict.fromkeys((formats or {}).values()))
    styles = {header: _FIRST_NUMBER_STYLE + codes.index(code) for header, code in (formats or {}).items()}
    if written:
        shutil.copyfile(written.path, path)
    with zipfile.ZipFile(path, "a" if written else "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        _add(archive, "[Content_Types].xml", _content_types(parts))
        _add(archive, "_rels/.rels", _package_relationships())
        _add(archive, "xl/workbook.xml", _workbook(names))
        _add(archive, "xl/_rels/workbook.xml.rels", _workbook_relationships(parts))
        _add(archive, "xl/styles.xml", _styles(codes))
        _add_sheets(archive, sheets.values(), parts, styles, formats or {})


def write_sheets(sheets: Mapping[str, pd.DataFrame], path: Path) -> WrittenSheets:
    """Write the sheets' parts alone into the zip file ``path``, for :func:`write_workbook`'s ``written``.

    Long tables take most of a workbook's time; a caller may keep the file
    and start the next workbook of the same tables from it. The checks and
    errors are those of :func:`write_workbook`.
    """
    _check_sheets(sheets)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        _add_sheets(archive, sheets.values(), [f"written{number}" for number in range(1, len(sheets) + 1)], {}, {})
    return WrittenSheets(tuple(sheets), path)


def _add_sheets(
    archive: zipfile.ZipFile, frames: Iterable[pd.DataFrame], parts: Iterable[str], styles: Mapping[str, int],
    formats: Mapping[str, str],
) -> None:
    for frame, part in zip(frames, parts):
        info = zipfile.ZipInfo(f"xl/worksheets/{part}.xml", _ZIP_DATE)
        info.compress_type = zipfile.ZIP_DEFLATED
        with archive.open(info, "w", force_zip64=True) as stream:
            _write_sheet(frame, stream, styles, formats)


def split_long_tables(sheets: Mapping[str, pd.DataFrame], *, max_rows: int = MAX_DATA_ROWS) -> dict[str, pd.DataFrame]:
    """The same sheets, each table longer than ``max_rows`` cut into numbered sheets.

    ``村（社区）逐行`` with 1,200,000 rows becomes ``村（社区）逐行 1`` (the
    first 1,048,575 rows) and ``村（社区）逐行 2`` (the rest); each part has
    the header row.
    """
    result: dict[str, pd.DataFrame] = {}
    for name, frame in sheets.items():
        if len(frame) <= max_rows:
            result[name] = frame
            continue
        parts = range(0, len(frame), max_rows)
        for number, start in enumerate(parts, start=1):
            suffix = f" {number}"
            result[name[: MAX_SHEET_NAME - len(suffix)] + suffix] = frame.iloc[start : start + max_rows]
    return result


def _check_sheets(sheets: Mapping[str, pd.DataFrame]) -> None:
    _check_names(list(sheets))
    for name, frame in sheets.items():
        if len(frame) > MAX_DATA_ROWS:
            raise ValueError(f"sheet {name!r} has {len(frame):,} rows; a sheet holds {MAX_DATA_ROWS:,}")


def _check_names(names: list[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if not name or len(name) > MAX_SHEET_NAME or any(c in name for c in "[]:*?/\\"):
            raise ValueError(f"sheet name {name!r}: 1 to {MAX_SHEET_NAME} characters, none of []:*?/\\")
        if name.lower() in seen:
            raise ValueError(f"sheet name {name!r} occurs twice")
        seen.add(name.lower())


def _write_sheet(frame: pd.DataFrame, stream, styles: Mapping[str, int], formats: Mapping[str, str]) -> None:
    """The sheet's XML: the frozen header row, the column widths, then the rows, in chunks."""
    columns = "".join(
        f'<col min="{i}" max="{i}" width="{width:g}" customWidth="1"/>'
        for i, width in enumerate(_widths(frame, formats), start=1)
    )
    stream.write(
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{_MAIN}" '
        f'xmlns:r="{_RELATIONSHIPS}"><sheetViews><sheetView workbookViewId="0"><pane ySplit="1" '
        'topLeftCell="A2" activePane="bottomLeft" state="frozen"/><selection pane="bottomLeft"/></sheetView>'
        f'</sheetViews>{f"<cols>{columns}</cols>" if columns else ""}<sheetData>'.encode()
    )
    header = "".join(
        f'<c t="inlineStr" s="{_HEADER_STYLE}"><is><t xml:space="preserve">{_text(str(c))}</t></is></c>'
        for c in frame.columns
    )
    stream.write(f"<row>{header}</row>".encode())
    column_styles = [styles.get(str(column), 0) for column in frame.columns]
    for start in range(0, len(frame), _CHUNK_ROWS):
        chunk = frame.iloc[start : start + _CHUNK_ROWS]
        cells = [_cells(chunk.iloc[:, i], column_styles[i]) for i in range(chunk.shape[1])]
        rows = pc.binary_join_element_wise("<row>", *cells, "</row>", "")
        stream.write(_concatenated(rows))
    stream.write(b"</sheetData></worksheet>")


def _cells(values: pd.Series, style: int = 0) -> pa.Array:
    """The XML of one column's cells, as strings; numbers in cell format ``style``."""
    kind = _kind(values)
    if kind == "bool":
        flags = pa.array(values.astype("boolean"), from_pandas=True)
        text = pc.if_else(flags, '<c t="b"><v>1</v></c>', '<c t="b"><v>0</v></c>')
    elif kind == "number":
        numbers = pd.to_numeric(values, errors="coerce").astype("float64")
        finite = np.isfinite(numbers.to_numpy())
        integral = pd.api.types.is_integer_dtype(values.dtype)
        array = pa.array(values.astype("Int64") if integral else numbers, from_pandas=True)
        shown = pc.cast(array, pa.string())
        opening = f'<c s="{style}"><v>' if style else "<c><v>"
        text = pc.if_else(pa.array(finite), pc.binary_join_element_wise(opening, shown, "</v></c>", ""), _EMPTY)
        infinite = np.isinf(numbers.to_numpy())
        if infinite.any():  # as pandas writes them: the text inf / -inf
            signs = np.where(numbers.to_numpy() > 0, _inline("inf"), _inline("-inf"))
            text = pc.if_else(pa.array(infinite), pa.array(signs, type=pa.string()), text)
    elif kind == "text":
        strings = pa.array(values.astype(object).where(values.notna(), None), type=pa.string(), from_pandas=True)
        strings = pc.replace_substring(strings, "&", "&amp;")
        strings = pc.replace_substring(strings, "<", "&lt;")
        strings = pc.replace_substring(strings, ">", "&gt;")
        strings = pc.replace_substring_regex(strings, _ILLEGAL, "")
        text = pc.binary_join_element_wise('<c t="inlineStr"><is><t xml:space="preserve">', strings, "</t></is></c>", "")
    else:  # mixed: each value as what it is
        text = pa.array([_cell(value) for value in values], type=pa.string())
    return pc.fill_null(text, _EMPTY)


def _kind(values: pd.Series) -> str:
    """``"bool"``, ``"number"``, ``"text"`` or ``"mixed"``: how a column's cells are written."""
    dtype = values.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_numeric_dtype(dtype):
        return "number"
    inferred = pd.api.types.infer_dtype(values, skipna=True)
    if inferred in {"string", "empty"}:
        return "text"
    if inferred == "boolean":
        return "bool"
    if inferred in {"integer", "floating", "mixed-integer-float", "decimal"}:
        return "number"
    return "mixed"


def _cell(value: object) -> str:
    """The XML of one cell of a mixed column."""
    if value is None or value is pd.NA or (isinstance(value, (float, np.floating)) and np.isnan(value)):
        return _EMPTY
    if isinstance(value, (float, np.floating)) and np.isinf(value):
        return _inline("inf" if value > 0 else "-inf")
    if isinstance(value, (bool, np.bool_)):
        return f'<c t="b"><v>{int(value)}</v></c>'
    if isinstance(value, (int, float, np.integer, np.floating)):
        return f"<c><v>{value!r}</v></c>" if isinstance(value, (int, float)) else f"<c><v>{value.item()!r}</v></c>"
    return _inline(str(value))


def _widths(frame: pd.DataFrame, formats: Mapping[str, str]) -> list[float]:
    """The width of each column: of its widest value as shown, or of its header (up to a point; longer ones wrap)."""
    widths = []
    for i, header in enumerate(frame.columns):
        values = frame.iloc[:, i]
        needed = _shown_width(values, formats.get(str(header), ""))
        header_width = min(len(str(header)) + len(re.findall(_WIDE, str(header))), _MAX_HEADER_WIDTH)
        widths.append(float(np.clip(max(needed, header_width) + 2, _MIN_WIDTH, _MAX_WIDTH)))
    return widths


def _shown_width(values: pd.Series, code: str) -> float:
    """How wide a column's values are as shown: numbers by their largest, formatted; text by its first rows."""
    sample = values.iloc[:_WIDTH_SAMPLE]
    if _kind(sample) == "number":
        numbers = pd.to_numeric(values, errors="coerce").astype("float64").to_numpy()
        finite = numbers[np.isfinite(numbers)]
        if not len(finite):
            return 0.0
        largest = float(np.abs(finite).max())
        sign = 1 if (finite < 0).any() else 0
        if code.endswith("%"):
            return len(f"{100 * largest:,.1f}%") + sign
        if code in ("#,##0", "0"):
            return len(f"{largest:,.0f}") + sign
        if code.startswith("0."):
            return len(f"{largest:.{len(code) - 2}f}") + sign
        return min(len(repr(largest)), 11) + sign  # Excel's General shows at most 11 characters
    strings = pa.array(sample.astype(object).where(sample.notna(), None).map(str, na_action="ignore"),
                       type=pa.string(), from_pandas=True)
    return float(pc.max(_display_widths(strings)).as_py() or 0)


def _display_widths(strings: pa.Array) -> pa.Array:
    """Each string's width: a Chinese (or other wide) character counts twice."""
    return pc.add(pc.utf8_length(strings), pc.count_substring_regex(strings, _WIDE))


def _inline(value: str) -> str:
    """An inline text cell."""
    return f'<c t="inlineStr"><is><t xml:space="preserve">{_text(value)}</t></is></c>'


def _text(value: str) -> str:
    """Text escaped for XML, without the characters XML cannot hold."""
    return escape(re.sub(_ILLEGAL, "", value))


def _concatenated(strings: pa.Array) -> bytes | memoryview:
    """All strings of an array one after the other, straight from its data buffer."""
    if len(strings) == 0:
        return b""
    offsets = np.frombuffer(strings.buffers()[1], dtype=np.int32)[strings.offset : strings.offset + len(strings) + 1]
    return memoryview(strings.buffers()[2])[offsets[0] : offsets[-1]]


def _add(archive: zipfile.ZipFile, name: str, text: str) -> None:
    info = zipfile.ZipInfo(name, _ZIP_DATE)
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, text.encode("utf-8"))


def _content_types(parts: list[str]) -> str:
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/{part}.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        for part in parts
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/styles.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        f"{overrides}</Types>"
    )


def _package_relationships() -> str:
    return (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="{_PACKAGE_RELATIONSHIPS}">'
        '<Relationship Id="rId1" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
        'Target="xl/workbook.xml"/></Relationships>'
    )


def _workbook(names: list[str]) -> str:
    sheets = "".join(
        f'<sheet name={quoteattr(name)} sheetId="{i}" r:id="rId{i}"/>' for i, name in enumerate(names, start=1)
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook xmlns="{_MAIN}" '
        f'xmlns:r="{_RELATIONSHIPS}"><sheets>{sheets}</sheets></workbook>'
    )


def _workbook_relationships(parts: list[str]) -> str:
    worksheet = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"
    styles = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles"
    links = "".join(
        f'<Relationship Id="rId{i}" Type="{worksheet}" Target="worksheets/{part}.xml"/>'
        for i, part in enumerate(parts, start=1)
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="{_PACKAGE_RELATIONSHIPS}">'
        f'{links}<Relationship Id="rId{len(parts) + 1}" Type="{styles}" Target="styles.xml"/></Relationships>'
    )


def _styles(codes: list[str]) -> str:
    """The workbook's cell formats: plain, the header row (bold, wrapped, shaded), then one per number format."""
    custom = [code for code in codes if code not in _BUILTIN_FORMATS]
    ids = {**_BUILTIN_FORMATS, **{code: 164 + i for i, code in enumerate(custom)}}  # 164: the first free id
    declared = "".join(f'<numFmt numFmtId="{ids[code]}" formatCode={quoteattr(code)}/>' for code in custom)
    declared = f'<numFmts count="{len(custom)}">{declared}</numFmts>' if custom else ""
    numbers = "".join(
        f'<xf numFmtId="{ids[c]}" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>' for c in codes
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<styleSheet xmlns="{_MAIN}">{declared}'
        '<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
        '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
        '<fills count="3"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/>'
        '</fill><fill><patternFill patternType="solid"><fgColor rgb="FFF2F2F2"/><bgColor indexed="64"/></patternFill>'
        '</fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        f'<cellXfs count="{_FIRST_NUMBER_STYLE + len(codes)}"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
        '<xf numFmtId="0" fontId="1" fillId="2" borderId="0" xfId="0" applyFont="1" applyFill="1" applyAlignment="1">'
        f'<alignment vertical="center" wrapText="1"/></xf>{numbers}</cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>'
    )
