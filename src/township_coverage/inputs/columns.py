"""Recognising the column headers that offices use.

A header is matched after Unicode NFKC normalisation (full-width to
half-width), without white space, case, and a trailing unit in brackets
("人员(人)" -> "人员"). Explicit mappings in the project file win.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping

#: Standard column -> accepted headers.
ALIASES: Mapping[str, tuple[str, ...]] = {
    "site_id": ("编号", "站点编号", "站点id", "id", "序号"),
    "site_type": ("类型", "站点类型", "类别", "type"),
    "name": ("名称", "站点名称", "社工站名称", "社工室名称", "name"),
    "township_code": ("乡镇代码", "街道代码", "乡镇(街道)代码", "所属乡镇代码", "乡镇编码", "code"),
    "township_name": ("所属乡镇", "所属街道", "所属乡镇(街道)", "乡镇", "街道", "乡镇(街道)", "乡镇名称", "township"),
    "county_name": ("县区", "所属县区", "区县", "县(区)", "县(市、区)", "county"),
    "county_code": ("县区代码", "区县代码", "县代码"),
    "lon": ("经度", "lng", "lon", "long", "longitude", "x"),
    "lat": ("纬度", "lat", "latitude", "y"),
    "staff": ("人员", "工作人员", "工作人员数", "人员数", "社工人数", "staff"),
    "village_code": ("村代码", "村(社区)代码", "村居代码", "村编码", "统计用区划代码"),
    "village_name": ("村名", "村(社区)", "村居名称", "村庄名称", "村名称", "村(社区)名称", "village"),
    "population": ("人口", "户籍人口", "常住人口", "人口数", "population"),
    "opened": (
        "建成时间", "建成日期", "建成年份", "建成年月", "建站时间", "建站日期", "成立时间", "成立日期", "启用时间",
        "启用日期", "开放时间", "开放日期", "挂牌时间", "挂牌日期", "运营时间", "开始运营时间", "投入使用时间",
        "建设时间", "设立时间", "设立日期", "opened", "opening date", "open date", "date opened", "opened on",
        "opened_on", "start date", "start_date", "established",
    ),
    "closed": (
        "关闭时间", "关闭日期", "撤销时间", "撤销日期", "停用时间", "停用日期", "注销时间", "注销日期", "撤并时间",
        "停止运营时间", "closing date", "close date", "date closed", "closed on", "closed_on", "end date",
        "end_date",
    ),
}

_UNIT = re.compile(r"\([^()]*\)$")


def header_key(header: object) -> str:
    """The comparison key of a header."""
    text = unicodedata.normalize("NFKC", str(header)).strip().lower()
    text = re.sub(r"\s+", "", text)
    return text


_STANDARD_BY_KEY = {
    header_key(alias): standard
    for standard, aliases in ALIASES.items()
    for alias in (standard, *aliases)
}


def recognise(header: object) -> str | None:
    """The standard column a header stands for, or ``None``."""
    key = header_key(header)
    if key in _STANDARD_BY_KEY:
        return _STANDARD_BY_KEY[key]
    return _STANDARD_BY_KEY.get(_UNIT.sub("", key))


def standard_names(headers: Iterable[object], explicit: Mapping[str, str]) -> dict[str, str]:
    """Rename mapping from file headers to standard names.

    ``explicit`` (standard -> header, from the project file) wins; other
    headers are recognised from :data:`ALIASES` when that standard name is
    not already taken.
    """
    headers = [str(h) for h in headers]
    renames = {header: standard for standard, header in explicit.items() if header in headers}
    taken = set(renames.values()) | {h for h in headers if h in ALIASES and h not in renames}
    for header in headers:
        if header in renames or header in ALIASES:
            continue
        standard = recognise(header)
        if standard is not None and standard not in taken:
            renames[header] = standard
            taken.add(standard)
    return renames


def header_score(cells: Iterable[object], explicit: Mapping[str, str]) -> int:
    """How many cells of a row look like known headers (to find the header row)."""
    explicit_headers = set(explicit.values())
    return sum(1 for c in cells if str(c) in explicit_headers or recognise(c) is not None)
