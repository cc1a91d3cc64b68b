"""Reading input layers.

Tables come as CSV (UTF-8, UTF-8 with BOM, GBK/GB18030, detected) or XLSX;
boundaries and road lines in any format pyogrio reads.
"""

from __future__ import annotations

import csv
import io as _io
import itertools
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import geopandas as gpd
import pandas as pd

from township_coverage.inputs.columns import header_score, standard_names
from township_coverage.inputs.config import LayerConfig, RoadsConfig
from township_coverage.inputs.crs import offset_system
from township_coverage.errors import Problem, InputDataError

_UTF8_BOM = b"\xef\xbb\xbf"


def decode_table_bytes(raw: bytes) -> tuple[str, str]:
    """Decode a CSV file's bytes, detecting its encoding.

    UTF-8 (with or without BOM) is tried first and strictly, so that UTF-8
    text is never read as GB18030; anything else is read as GB18030, which
    contains GBK and GB2312.

    Returns
    -------
    tuple of str
        The text and the name of the encoding used.
    """
    if raw.startswith(_UTF8_BOM):
        return raw[len(_UTF8_BOM):].decode("utf-8"), "utf-8-sig"
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return raw.decode("gb18030"), "gb18030"


@dataclass(frozen=True)
class TableSource:
    """Where the rows of a table come from, to name them in messages.

    Attributes
    ----------
    path
        The file.
    sheet
        The sheet of an XLSX file; ``None`` for CSV.
    layer
        The project file's name of the layer (``"sites"``, ``"villages"``).
    headers
        Standard column name -> the header as written in the file.
    """

    path: Path
    sheet: str | None = None
    layer: str = "table"
    headers: Mapping[str, str] = field(default_factory=dict)

    def header(self, column: str) -> str:
        """The user's header of a standard column ("lon/lat" gives both)."""
        return "/".join(self.headers.get(part, part) for part in column.split("/"))

    def problem(
        self, row: int | None, column: str | None, value: str | None, message: str, severity: str = "error"
    ) -> Problem:
        """A problem located in this table, naming the user's header."""
        header = self.header(column) if column is not None else None
        return Problem(self.path, row, header, value, message, severity, sheet=self.sheet)

    def row_id(self, row: int) -> str:
        """The id of a row that has none of its own: file name and row, e.g. ``sites.xlsx:15``."""
        return f"{self.path.name}:{row}"

    def row_ids(self, rows: pd.Series) -> pd.Series:
        """:meth:`row_id` of every row number in ``rows``, for the whole column at once."""
        return f"{self.path.name}:" + rows.astype(str)


def read_table(
    layer: LayerConfig, *, layer_name: str = "table", min_known_headers: int = 2
) -> tuple[pd.DataFrame, TableSource]:
    """Read a CSV or XLSX table with every cell as text.

    The header row is the first of the top rows that holds at least
    ``min_known_headers`` known headers (so a title row above it is
    skipped); headers are renamed to standard names
    (:mod:`township_coverage.inputs.columns`). Blank rows are dropped. The
    column ``_row`` keeps each row's number as a spreadsheet shows it (the
    first line of the file is row 1).

    Returns
    -------
    tuple
        The rows, and where they come from (with the user's headers).

    Raises
    ------
    InputDataError
        If the file is missing, empty, undecodable, has no header row, or
        lacks a column that the project file names.
    """
    path = layer.path
    raw, sheet = _read_cells(layer)
    if raw.empty:
        raise InputDataError([Problem(path, None, None, None, "the file is empty", sheet=sheet)])
    header_row = _find_header_row(raw, layer, layer_name, sheet, min_known_headers)
    headers = [str(c).strip() for c in raw.iloc[header_row]]
    repeated = sorted({h for h in headers if h and headers.count(h) > 1})
    problems = [
        Problem(path, header_row + 1, h, None, "this header occurs more than once", sheet=sheet) for h in repeated
    ]
    problems += [
        Problem(
            path, header_row + 1, header, None,
            f"[layers.{layer_name}.columns] {standard} = {header!r} names a column that is not in the file "
            f"(headers: {', '.join(h for h in headers if h)})",
            sheet=sheet,
        )
        for standard, header in layer.columns.items()
        if header not in headers
    ]
    if problems:
        raise InputDataError(problems)
    body = raw.iloc[header_row + 1 :].copy()
    body.columns = headers
    body = body.loc[:, [h != "" for h in headers]]
    body = body[~body.apply(lambda col: col.str.strip() == "").all(axis=1)]
    body.insert(0, "_row", body.index + 1)
    renames = standard_names(headers, layer.columns)
    source_headers = {renames.get(h, h): h for h in headers if h}
    source = TableSource(path, sheet, layer_name, MappingProxyType(source_headers))
    return body.rename(columns=renames).reset_index(drop=True), source


def _read_cells(layer: LayerConfig) -> tuple[pd.DataFrame, str | None]:
    """All cells of the table as text, no header interpreted, and the sheet read."""
    path = layer.path
    if not path.exists():
        raise InputDataError([Problem(path, None, None, None, "file not found")])
    if path.is_dir():
        raise InputDataError([Problem(path, None, None, None, "is a folder; give the path of a .csv or .xlsx file")])
    suffix = path.suffix.lower()
    if suffix in {".xlsx", ".xlsm"}:
        try:
            with pd.ExcelFile(path, engine="openpyxl") as workbook:
                sheet = layer.sheet if layer.sheet is not None else workbook.sheet_names[0]
                if sheet not in workbook.sheet_names:
                    raise InputDataError(
                        [Problem(path, None, None, sheet, "no such sheet; sheets: " + ", ".join(workbook.sheet_names))]
                    )
                cells = pd.read_excel(workbook, sheet_name=sheet, header=None, dtype=str)
        except (zipfile.BadZipFile, ValueError, KeyError) as error:
            if isinstance(error, InputDataError):
                raise
            raise InputDataError([Problem(path, None, None, None, f"not a readable XLSX file: {error}")]) from None
        return cells.fillna("").reset_index(drop=True), str(sheet)
    if suffix in {".csv", ".txt"}:
        raw = path.read_bytes()
        try:
            text, encoding = decode_table_bytes(raw)
        except UnicodeDecodeError as error:
            raise InputDataError([Problem(
                path, None, None, None,
                f"not a text table in UTF-8 or GBK (byte {error.start + 1} cannot be read); "
                "save it from Excel as CSV UTF-8 (逗号分隔) or as .xlsx",
            )]) from None
        return _csv_cells(raw, text, encoding), None
    raise InputDataError(
        [Problem(path, None, None, path.suffix, "unsupported table format; use .csv or .xlsx")]
    )


def _csv_cells(raw: bytes, text: str, encoding: str, *, look_at: int = 50) -> pd.DataFrame:
    """Every cell of a CSV file as a string; short rows padded with "" to the widest.

    pandas' C parser reads the file's bytes (``raw``, in ``encoding``), its
    rows as wide as the widest of the first ``look_at`` rows (a title row
    above the header is narrower); should a later row be wider still, the
    csv module reads the decoded ``text`` instead. Both split fields alike
    (RFC 4180 quoting, blank lines kept as rows).
    """
    first_rows = itertools.islice(csv.reader(_io.StringIO(text)), look_at)
    width = max((len(row) for row in first_rows), default=0)
    if width:
        try:
            cells = pd.read_csv(
                _io.BytesIO(raw), encoding=encoding, header=None, names=range(width), index_col=False, dtype=str,
                na_filter=False, keep_default_na=False, skip_blank_lines=False, engine="c",
            )
            return cells.fillna("")
        except pd.errors.ParserError:
            pass
    rows = list(csv.reader(_io.StringIO(text)))
    width = max((len(r) for r in rows), default=0)
    return pd.DataFrame([r + [""] * (width - len(r)) for r in rows], dtype=str)


def _find_header_row(
    cells: pd.DataFrame, layer: LayerConfig, layer_name: str, sheet: str | None, min_known: int, *, look_at: int = 20
) -> int:
    scores = [header_score(cells.iloc[i], layer.columns) for i in range(min(look_at, len(cells)))]
    for row, score in enumerate(scores):
        if score >= min_known:
            return row
    raise InputDataError(
        [
            Problem(
                layer.path, None, None, None,
                f"no header row found in the first {look_at} rows; name the columns in the project "
                f"file under [layers.{layer_name}.columns] or use headers such as 名称, 经度, 纬度",
                sheet=sheet,
            )
        ]
    )


def read_boundaries(layer: LayerConfig) -> gpd.GeoDataFrame:
    """Read a boundary layer with pyogrio (GeoParquet with pyarrow).

    Any format pyogrio reads works: GeoJSON, GeoPackage, Shapefile (plain
    or zipped), KML, FlatGeobuf, and more; the first layer is used.

    The CRS stored in the file is used; ``layer.crs`` supplies one when the
    file has none, and is an error when it contradicts the file's.

    Raises
    ------
    InputDataError
        If the file is missing or unreadable, or has no CRS and none is given.
    """
    path = layer.path
    if not path.exists():
        raise InputDataError([Problem(path, None, None, None, "file not found")])
    if layer.crs is not None and offset_system(layer.crs) is not None:
        raise InputDataError(
            [Problem(path, None, None, layer.crs, "boundaries must be in a standard CRS (WGS84, CGCS2000, an EPSG code), "
                     "not an offset web-map system")]
        )
    try:
        if path.suffix.lower() in {".parquet", ".geoparquet"}:
            frame = gpd.read_parquet(path)
        else:
            frame = gpd.read_file(path, engine="pyogrio")
    except Exception as error:  # pyogrio and pyarrow raise several unrelated types
        raise InputDataError(
            [Problem(path, None, None, None, f"cannot read as a boundary layer: {error}")]
        ) from None
    if frame.empty:
        raise InputDataError([Problem(path, None, None, None, "the layer has no features")])
    frame = _with_crs(frame, path, layer.crs, key="'crs'")
    return frame.rename(columns={v: k for k, v in layer.columns.items()})


def _with_crs(frame: gpd.GeoDataFrame, path: Path, crs: str | None, *, key: str) -> gpd.GeoDataFrame:
    """``frame`` in its CRS: the file's, or ``crs`` (the project file's ``key``) for a file without one.

    Raises
    ------
    InputDataError
        If neither gives a CRS, or they differ.
    """
    if frame.crs is None:
        if crs is None:
            raise InputDataError(
                [Problem(path, None, None, None, f"the layer has no CRS; set {key} for it in the project file")]
            )
        return frame.set_crs(crs)
    if crs is not None and not frame.crs.equals(crs):
        raise InputDataError(
            [
                Problem(
                    path, None, None, frame.crs.to_string(),
                    f"the file's CRS differs from the project file's {key} = {crs!r}; remove one of them",
                )
            ]
        )
    return frame


_LINE_TYPES = ("LineString", "MultiLineString")


def read_roads(roads: RoadsConfig) -> gpd.GeoSeries:
    """The lines of a road network file (any format pyogrio reads), in their CRS.

    Features that are not lines (and empty ones) are left out.

    Raises
    ------
    InputDataError
        If the file is missing or unreadable, has no such layer, no
        features or no lines, or has no CRS and none is given (or the given
        one differs from the file's).
    """
    path = roads.path
    if not path.exists():
        raise InputDataError([Problem(path, None, None, None, "road network file not found ([plan] roads)")])
    if roads.crs is not None and offset_system(roads.crs) is not None:
        raise InputDataError(
            [Problem(path, None, None, roads.crs, "roads must be in a standard CRS (WGS84, CGCS2000, an EPSG code), "
                     "not an offset web-map system")]
        )
    layers = _layer_names(path)
    if roads.layer is not None and roads.layer not in layers:
        raise InputDataError(
            [Problem(path, None, None, roads.layer, "no such layer ([plan] roads_layer); the file has: "
                     + ", ".join(layers))]
        )
    try:
        frame = gpd.read_file(path, layer=roads.layer, engine="pyogrio")
    except Exception as error:  # pyogrio raises several unrelated types
        raise InputDataError([Problem(path, None, None, None, f"cannot read as a road network: {error}")]) from None
    if frame.empty:
        raise InputDataError([Problem(path, None, None, roads.layer, "the road layer has no features")])
    frame = _with_crs(frame, path, roads.crs, key="[plan] roads_crs")
    lines = frame.geometry[frame.geom_type.isin(_LINE_TYPES) & ~frame.geometry.is_empty]
    if lines.empty:
        found = ", ".join(sorted(set(frame.geom_type.dropna()))) or "no geometries"
        raise InputDataError(
            [Problem(path, None, None, roads.layer, f"the road layer has no lines (found: {found}); "
                     "a road network needs LineString or MultiLineString features")]
        )
    return lines


def _layer_names(path: Path) -> list[str]:
    """Names of the layers of a vector file (none when it cannot be listed)."""
    import pyogrio

    try:
        return [str(name) for name in pyogrio.list_layers(path)[:, 0]]
    except Exception:  # unreadable files are reported when read
        return []
