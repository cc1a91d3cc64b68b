"""Tables and the terminal summary of a comparison of two site lists (``compare``).

The change table and the per-township table of
:mod:`township_coverage.compare` with headers and values in the language
of the run, written as CSV (UTF-8 with BOM) and as sheets of one workbook.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from township_coverage.compare import CHANGES, CLOSED, LEFT_OUT, MOVED, OPENED, UNCHANGED
from township_coverage.inputs.config import LevelNames
from township_coverage.levels import relabel_values
from township_coverage.metrics import SITE_COUNT_COLUMNS
from township_coverage.outputs import write_csv
from township_coverage.report.tables import column_labels, write_xlsx

#: Files of :func:`write_compare_tables`: the change table, the township table, the workbook of both.
COMPARE_TABLE_FILES = ("compare_sites.csv", "compare_townships.csv", "compare.xlsx")

#: Changes as the tables and the terminal say them.
CHANGE_LABELS: Mapping[str, Mapping[str, str]] = {
    "zh": {OPENED: "新增", CLOSED: "撤销", MOVED: "迁移", UNCHANGED: "未变", LEFT_OUT: "有误未计入"},
    "en": {OPENED: "opened", CLOSED: "closed", MOVED: "moved", UNCHANGED: "unchanged", LEFT_OUT: "left out (errors)"},
}
_MATCH_LABELS = {"zh": {"id": "编号", "name_position": "名称与位置"}, "en": {"id": "id", "name_position": "name and position"}}
SITE_TYPE_LABELS: Mapping[str, Mapping[str, str]] = {
    "zh": {
        "township_station": "乡镇（街道）社工站", "community_room": "村（社区）社工室", "school_station": "学校社工站",
        "enterprise_station": "企业社工站", "hospital_station": "医院社工站",
    },
    "en": {},
}
_SITE_LABELS = {
    "zh": {
        "change": "变化", "matched_by": "匹配方式",
        "old_row": "原名单行号", "new_row": "新名单行号", "old_id": "原编号", "new_id": "新编号",
        "old_name": "原名称", "new_name": "新名称", "old_type": "原类型", "new_type": "新类型",
        "old_township_code": "原乡镇代码", "old_township_name": "原乡镇（街道）",
        "new_township_code": "新乡镇代码", "new_township_name": "新乡镇（街道）",
        "old_lon": "原经度（WGS84）", "old_lat": "原纬度（WGS84）", "new_lon": "新经度（WGS84）", "new_lat": "新纬度（WGS84）",
        "distance_m": "位置相距（米）", "detail": "说明",
    },
    "en": {
        "old_lon": "old_lon (WGS84)", "old_lat": "old_lat (WGS84)", "new_lon": "new_lon (WGS84)", "new_lat": "new_lat (WGS84)",
    },
}
_TOWNSHIP_LABELS = {
    "zh": {
        "sites_before": "站点（原）", "sites_after": "站点（现）", "opened": "新增", "closed": "撤销", "moved": "迁移（按新位置）",
        "net_change": "净增减", "has_station_before": "原设有社工站", "has_station_after": "现设有社工站",
        "before": "（原）", "after": "（现）",
    },
    "en": {"before": "_before", "after": "_after"},
}
_SHEETS = {"zh": ("站点变化", "乡镇变化"), "en": ("sites", "townships")}


def compare_sites_table(changes: pd.DataFrame, *, lang: str, levels: LevelNames = LevelNames()) -> pd.DataFrame:
    """The change table with headers, changes, match methods and site types in ``lang``."""
    table = changes.copy()
    table["change"] = table["change"].map(CHANGE_LABELS[lang])
    table["matched_by"] = table["matched_by"].map(_MATCH_LABELS[lang]).fillna("")
    for column in ("old_type", "new_type"):
        labels = SITE_TYPE_LABELS[lang]
        table[column] = table[column].map(lambda v: labels.get(v, v) if isinstance(v, str) else v)
    return table.rename(columns=relabel_values(_SITE_LABELS.get(lang, {}), levels, lang))


def compare_townships_table(townships: pd.DataFrame, *, lang: str, levels: LevelNames = LevelNames()) -> pd.DataFrame:
    """The per-township table with headers in ``lang`` (yes/no as 是/否 in Chinese)."""
    labels = {**column_labels(lang, levels), **relabel_values(_TOWNSHIP_LABELS[lang], levels, lang)}
    names = dict(labels)
    for column in SITE_COUNT_COLUMNS.values():
        for when in ("before", "after"):
            names[f"{column}_{when}"] = labels.get(column, column) + labels[when] if lang == "zh" else f"{column}_{when}"
    table = townships.copy()
    if lang == "zh":
        for column in ("has_station_before", "has_station_after"):
            table[column] = table[column].map({True: "是", False: "否"})
    return table.reset_index().rename(columns=names)


def write_compare_tables(
    changes: pd.DataFrame, townships: pd.DataFrame, folder: Path, *, lang: str, levels: LevelNames = LevelNames()
) -> list[Path]:
    """Write ``compare_sites.csv``, ``compare_townships.csv`` (UTF-8 with BOM) and ``compare.xlsx`` with both.

    Returns
    -------
    list of Path
        The files written, named :data:`COMPARE_TABLE_FILES`.
    """
    sites = compare_sites_table(changes, lang=lang, levels=levels)
    per_township = compare_townships_table(townships, lang=lang, levels=levels)
    sites_csv, townships_csv, workbook = COMPARE_TABLE_FILES
    write_csv(sites, folder / sites_csv)
    write_csv(per_township, folder / townships_csv)
    write_xlsx(dict(zip(_SHEETS[lang], (sites, per_township))), folder / workbook)
    return [folder / name for name in COMPARE_TABLE_FILES]


def compare_summary(counts: pd.Series, *, old: str, new: str, moved_m: float, lang: str = "zh") -> str:
    """Counts of opened, closed, moved and unchanged sites, for the terminal.

    Parameters
    ----------
    counts
        Rows per change (:func:`township_coverage.compare.change_counts`).
    old, new
        How the two lists are named (their files).
    moved_m
        The distance beyond which a site counts as moved.
    lang
        ``"zh"`` or ``"en"``.
    """
    labels = CHANGE_LABELS[lang]
    title = f"站点变化：{old} → {new}" if lang == "zh" else f"Changes in sites: {old} -> {new}"
    lines = [title]
    for change in CHANGES:
        if change == LEFT_OUT and not counts[change]:
            continue
        note = ""
        if change == MOVED:
            note = f"（相距超过 {moved_m:g} 米）" if lang == "zh" else f" (more than {moved_m:g} m)"
        lines.append(f"  {labels[change]}: {counts[change]:,}{note}")
    return "\n".join(lines)


# --- the last comparison in the reports -----------------------------------------------

#: Figures of ``compare_townships.csv`` the reports sum per county.
COUNTY_FIGURES = ("sites_before", "sites_after", "opened", "closed", "moved")
_READ_BACK = ("county_code", "county_name", *COUNTY_FIGURES, "has_station_before", "has_station_after")


def read_compare_townships(path: Path, levels: LevelNames = LevelNames()) -> pd.DataFrame | None:
    """The per-township table of the last ``compare`` run in a folder, with standard column names.

    It may have been written in either language. ``None`` when the file
    is absent or is not such a table.
    """
    if not path.exists():
        return None
    table = pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    empty = pd.DataFrame(columns=list(_READ_BACK), index=pd.Index([], name="township_code"))
    for lang in CHANGE_LABELS:
        headers = compare_townships_table(empty, lang=lang, levels=levels).columns[1:]  # after the township code
        if set(headers) <= set(table.columns):
            frame = table[list(headers)].set_axis(list(_READ_BACK), axis=1)
            figures = frame[list(COUNTY_FIGURES)].apply(pd.to_numeric, errors="coerce")
            if figures.isna().any().any():
                return None
            return frame.assign(**{column: figures[column].astype(int) for column in COUNTY_FIGURES})
    return None


def changes_by_county(
    townships: pd.DataFrame, *, lang: str, whole_area: str, levels: LevelNames = LevelNames(),
) -> tuple[pd.DataFrame, list[str]]:
    """Sites before and after, opened, closed and moved, for the whole area and each county; and a sentence each.

    Parameters
    ----------
    townships
        As :func:`read_compare_townships` returns it.
    whole_area
        The name of the whole area's row.
    """
    counties = townships.groupby(["county_code", "county_name"], sort=True)[list(COUNTY_FIGURES)].sum()
    rows = pd.concat([counties.sum().to_frame(("", whole_area)).T, counties])
    sentences = [_change_sentence(name, row, lang) for (_, name), row in rows.iterrows()]
    labels = {**column_labels(lang, levels), **relabel_values(_TOWNSHIP_LABELS[lang], levels, lang)}
    table = rows.reset_index(level=0, drop=True).rename_axis("county_name").reset_index()
    return table.rename(columns=labels), sentences


def _change_sentence(name: str, row: pd.Series, lang: str) -> str:
    """How many sites an area had before and has now, and what opened, closed and moved."""
    before, after, opened, closed, moved = (int(row[column]) for column in COUNTY_FIGURES)
    if lang == "zh":
        return f"{name}：站点由{before:,}个变为{after:,}个，其中新增{opened:,}个、撤销{closed:,}个、迁移{moved:,}个。"
    return f"{name}: {before:,} sites before and {after:,} now; {opened:,} opened, {closed:,} closed, {moved:,} moved."
