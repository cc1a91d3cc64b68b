"""What large projects leave out of some outputs, and the lines that say so.

A province or the whole country has thousands of counties and tens of
thousands of townships. Some outputs do not scale with them: an atlas page
per county, a second copy of a very large map inside the HTML report, a
township table of 40,000 rows in a Word document. Each such limit is here,
with the note (in the user's language) that says what was left out, why,
and how to get it.
"""

from __future__ import annotations

from collections.abc import Sequence

from township_coverage.errors import ConfigError
from township_coverage.inputs.config import LevelNames
from township_coverage.levels import relabel

#: Most atlas pages (one per county) drawn when no counties are chosen.
MAX_ATLAS_PAGES = 200
#: Largest interactive map (bytes) that the HTML report embeds; a larger one is linked.
MAX_EMBEDDED_MAP_BYTES = 10 * 2**20
#: Most township rows the Word report shows as a table.
MAX_DOCX_TABLE_ROWS = 2_000
#: The value of ``--atlas-counties`` / ``[report] atlas_counties`` that chooses every county.
ALL = "all"


def atlas_counties(
    codes: Sequence[str], chosen: Sequence[str] | None, *, levels: LevelNames = LevelNames(), lang: str = "zh"
) -> tuple[list[str], str | None]:
    """The counties the atlas shows, and a note when it shows none.

    Parameters
    ----------
    codes
        Codes of all counties that have townships, in atlas order.
    chosen
        Beginnings of county codes (``"3713"`` is every county whose code
        starts with 3713), ``["all"]`` for every county, or ``None``: every
        county up to :data:`MAX_ATLAS_PAGES` counties, none above.
    levels, lang
        For the note.

    Returns
    -------
    tuple
        The county codes, and a note saying why there are none (or ``None``).

    Raises
    ------
    ConfigError
        If a chosen beginning matches no county.
    """
    if chosen is None:
        if len(codes) <= MAX_ATLAS_PAGES:
            return list(codes), None
        return [], _atlas_note(len(codes), codes[0], levels, lang)
    if ALL in chosen:
        return list(codes), None
    unmatched = [prefix for prefix in chosen if not any(str(code).startswith(prefix) for code in codes)]
    if unmatched:
        example = f" (codes look like {codes[0]})" if len(codes) else ""
        raise ConfigError(
            f"atlas counties (--atlas-counties / [report] atlas_counties): no county code starts with "
            f"{', '.join(unmatched)}{example}"
        )
    return [code for code in codes if str(code).startswith(tuple(chosen))], None


def _atlas_note(count: int, example: str, levels: LevelNames, lang: str) -> str:
    prefix = str(example)[:4]
    if lang == "zh":
        text = (
            f"未绘制县区图集 atlas.pdf：共 {count:,} 个县区，每个一页，超过 {MAX_ATLAS_PAGES} 页；"
            f"用 --atlas-counties {prefix} 只绘制代码以 {prefix} 开头的县区（或在项目文件中写 "
            f'[report] atlas_counties = ["{prefix}"]），或用 --atlas-counties all 绘制全部'
        )
    else:
        text = (
            f"atlas.pdf was not drawn: {count:,} counties make {count:,} pages, more than {MAX_ATLAS_PAGES}; "
            f"draw the counties whose codes start with {prefix} with --atlas-counties {prefix} (or "
            f'[report] atlas_counties = ["{prefix}"] in the project file), or all of them with --atlas-counties all'
        )
    return relabel(text, levels, lang)


def map_is_embedded(size_bytes: int) -> bool:
    """Whether the HTML report holds a copy of a map of this size (else it links to ``coverage.html``)."""
    return size_bytes <= MAX_EMBEDDED_MAP_BYTES


def linked_map_note(size_bytes: int, lang: str) -> str:
    """The note saying the report links to the map instead of holding a copy."""
    size = f"{size_bytes / 2**20:,.0f} MB"
    if lang == "zh":
        return (
            f"report.html 未内嵌交互地图（{size}，超过 {MAX_EMBEDDED_MAP_BYTES // 2**20} MB），而是显示同一文件夹中的 "
            "coverage.html；移动或发送报告时请连同 coverage.html 一起"
        )
    return (
        f"report.html shows coverage.html from the same folder instead of holding a copy of the map "
        f"({size}, more than {MAX_EMBEDDED_MAP_BYTES // 2**20} MB); keep the two files together"
    )


def docx_table_note(rows: int, lang: str, levels: LevelNames = LevelNames()) -> str:
    """The note saying the Word report leaves out the township table."""
    if lang == "zh":
        text = (
            f"report.docx 未列出乡镇表（{rows:,} 行，超过 {MAX_DOCX_TABLE_ROWS:,} 行）；"
            "全表见 township_coverage.csv 与 coverage.xlsx"
        )
    else:
        text = (
            f"report.docx leaves out the township table ({rows:,} rows, more than {MAX_DOCX_TABLE_ROWS:,}); "
            "the whole table is in township_coverage.csv and coverage.xlsx"
        )
    return relabel(text, levels, lang)


def county_names_note(count: int, limit: int, lang: str, levels: LevelNames = LevelNames()) -> str:
    """The note saying the static maps show county outlines without names."""
    if lang == "zh":
        text = f"静态地图只画县区界线，不标县区名称（共 {count:,} 个县区，超过 {limit} 个时名称会盖住地图）"
    else:
        text = (
            f"the static maps draw county outlines without their names ({count:,} counties; "
            f"more than {limit} names would cover the map)"
        )
    return relabel(text, levels, lang)


def parse_county_choice(value: str | None) -> tuple[str, ...] | None:
    """``--atlas-counties`` as given (``"3713,3714"``, ``"all"``) as a tuple of code beginnings."""
    if value is None:
        return None
    parts = tuple(part.strip() for part in value.split(",") if part.strip())
    if not parts:
        raise ConfigError("--atlas-counties: give county codes or their beginnings, comma-separated, or 'all'")
    return parts
