"""Reading tables in the encodings Chinese offices use."""

from __future__ import annotations

from pathlib import Path

import pytest

from township_coverage.inputs.config import LayerConfig
from township_coverage.errors import InputDataError
from township_coverage.inputs.io import decode_table_bytes, read_table

HEADER = "site_id,name\nS1,兰山街道社会工作服务站\n"


@pytest.mark.parametrize(
    ("raw", "encoding"),
    [
        (HEADER.encode("utf-8"), "utf-8"),
        (b"\xef\xbb\xbf" + HEADER.encode("utf-8"), "utf-8-sig"),
        (HEADER.encode("gbk"), "gb18030"),
        (HEADER.encode("gb18030"), "gb18030"),
    ],
)
def test_encodings_are_detected(raw: bytes, encoding: str):
    text, detected = decode_table_bytes(raw)
    assert text == HEADER and detected == encoding


def test_read_table_renames_mapped_columns(tmp_path: Path):
    path = tmp_path / "sites.csv"
    path.write_bytes("编号,名称\nS1,站\n".encode("gbk"))
    table, source = read_table(LayerConfig(path=path, columns={"site_id": "编号", "name": "名称"}))
    assert list(table.columns) == ["_row", "site_id", "name"]
    assert table.iloc[0].tolist() == [2, "S1", "站"]
    assert (source.header("site_id"), source.header("name"), source.sheet) == ("编号", "名称", None)


def test_empty_and_missing_files_name_the_file(tmp_path: Path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(InputDataError, match=r"empty\.csv: the file is empty"):
        read_table(LayerConfig(path=empty))
    with pytest.raises(InputDataError, match=r"missing\.csv: file not found"):
        read_table(LayerConfig(path=tmp_path / "missing.csv"))
