"""Reading input layers and writing outputs.

Tables come as CSV (UTF-8, UTF-8 with BOM, GBK/GB18030, detected) or XLSX;
boundaries in any format pyogrio reads. Outputs are written into a staging
folder and moved into place only when every one of them has been written,
so that a failed run leaves no half-written files behind.
"""

from __future__ import annotations

import io as _io
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
import pandas as pd

from township_coverage.config import LayerConfig
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


def read_table(layer: LayerConfig) -> pd.DataFrame:
    """Read a CSV or XLSX table with every cell as text.

    Columns named in ``layer.columns`` are renamed to their standard names.

    Raises
    ------
    InputDataError
        If the file is missing, empty, or cannot be decoded.
    """
    path = layer.path
    if not path.exists():
        raise InputDataError([Problem(path, None, None, None, "file not found")])
    suffix = path.suffix.lower()
    try:
        if suffix in {".xlsx", ".xlsm"}:
            table = pd.read_excel(path, dtype=str, keep_default_na=False)
        elif suffix in {".csv", ".txt"}:
            text, _ = decode_table_bytes(path.read_bytes())
            table = pd.read_csv(_io.StringIO(text), dtype=str, keep_default_na=False)
        else:
            raise InputDataError(
                [Problem(path, None, None, None, "unsupported table format; use .csv or .xlsx")]
            )
    except UnicodeDecodeError as error:
        raise InputDataError(
            [Problem(path, None, None, None, f"cannot decode as UTF-8 or GB18030: {error}")]
        ) from None
    except pd.errors.EmptyDataError:
        raise InputDataError([Problem(path, None, None, None, "the file is empty")]) from None
    table.columns = [str(c).strip() for c in table.columns]
    return table.rename(columns={v: k for k, v in layer.columns.items()})


def read_boundaries(layer: LayerConfig) -> gpd.GeoDataFrame:
    """Read a boundary layer with pyogrio.

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
    try:
        frame = gpd.read_file(path, engine="pyogrio")
    except Exception as error:  # pyogrio raises several unrelated types
        raise InputDataError(
            [Problem(path, None, None, None, f"cannot read as a boundary layer: {error}")]
        ) from None
    if frame.crs is None:
        if layer.crs is None:
            raise InputDataError(
                [Problem(path, None, None, None, "the layer has no CRS; set 'crs' for it in the project file")]
            )
        frame = frame.set_crs(layer.crs)
    elif layer.crs is not None and not frame.crs.equals(layer.crs):
        raise InputDataError(
            [
                Problem(
                    path, None, None, frame.crs.to_string(),
                    f"the file's CRS differs from the project file's crs = {layer.crs!r}; "
                    "remove one of them",
                )
            ]
        )
    return frame.rename(columns={v: k for k, v in layer.columns.items()})


@contextmanager
def staged_outputs(output_dir: Path) -> Iterator[Path]:
    """Yield a staging folder whose files move into ``output_dir`` on success.

    If the block raises, the staging folder is deleted and ``output_dir`` is
    left as it was.
    """
    output_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=output_dir))
    try:
        yield staging
        for item in sorted(staging.iterdir()):
            os.replace(item, output_dir / item.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write a table as UTF-8 CSV with a BOM, so that Excel reads it."""
    frame.to_csv(path, index=False, encoding="utf-8-sig", lineterminator="\r\n")
