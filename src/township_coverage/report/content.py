"""What the reports show, in order: sections of text, numbered tables and figures, the plan.

The HTML and Word reports are laid out from the same :class:`ReportContent`,
so both number their figures (图1 …) and tables (表1 …) alike and print the
same captions, totals and findings. Cells are already text; renderers only
lay them out.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from township_coverage.inputs.config import LevelNames
from township_coverage.levels import relabel, relabel_values
from township_coverage.metrics import add_shares

if TYPE_CHECKING:
    from township_coverage.report.tables import ProgressSection

#: Words of the sections, captions and findings; report words shared with the headings are in
#: :data:`township_coverage.report.html.TEXT`.
WORDS: Mapping[str, Mapping[str, str]] = {
    "zh": {
        "table": "表", "figure": "图", "total": "合计", "contents": "目录", "findings": "主要发现",
        "contents_hint": "（目录将在 Word 中打开时更新；如未更新，请右键单击此处选择“更新域”。）",
        "summary_table": "全市主要指标（本次计算与公开数据对照）", "context_table": "其他公开数据",
        "county_table": "各县区社会工作服务站点覆盖情况", "township_table": "各乡镇（街道）社会工作服务站点覆盖情况",
        "county_chart": "各县区服务半径内人口比例与设有社工室的村（社区）比例",
        "plan_city_table": "规划前后全市指标", "plan_county_table": "规划前后各县区指标",
        "plan_rooms_table": "拟建社工室（按开设顺序）", "plan_chart": "规划前后各县区服务半径内人口比例",
        "validation_table": "输入数据逐行核对结果", "problems_table": "输入数据问题清单",
        "progress_table": "各时间点全市指标（各县区见 timeline.csv）", "changes_table": "与上一份站点名单相比的变化",
        "map_caption": "各乡镇（街道）{label}分布",
        "before": "规划前", "after": "规划后", "change": "变化", "figure_column": "指标",
        "layer_sites": "站点", "layer_villages": "村（社区）", "rows": "行数", "layer": "图层",
        "order": "序号", "village_code": "村代码", "village": "村（社区）", "newly_people": "新增覆盖人口",
        "newly_villages": "新增覆盖村（社区）数", "share_after": "开设后累计覆盖比例",
        "author": "编制单位：{author}", "date": "{date}",
    },
    "en": {
        "table": "Table ", "figure": "Figure ", "total": "Total", "contents": "Contents", "findings": "Key findings",
        "contents_hint": "(Word updates the contents when it opens the file; if not, right-click here and "
        "choose Update Field.)",
        "summary_table": "City-wide figures, computed and published", "context_table": "Other published facts",
        "county_table": "Coverage by county", "township_table": "Coverage by township",
        "county_chart": "Population within the radius and villages with a room, by county",
        "plan_city_table": "The whole area before and after the plan", "plan_county_table": "Counties before and after the plan",
        "plan_rooms_table": "Proposed rooms in opening order", "plan_chart": "Population within the radius before and after the plan, by county",
        "validation_table": "Input rows by status", "problems_table": "Problems found in the inputs",
        "progress_table": "The whole area at each step (each county in timeline.csv)", "changes_table": "Changes against the previous site list",
        "map_caption": "{label} by township",
        "before": "before", "after": "after", "change": "change", "figure_column": "Figure",
        "layer_sites": "Sites", "layer_villages": "Villages", "rows": "Rows", "layer": "Layer",
        "order": "Order", "village_code": "Village code", "village": "Village", "newly_people": "People newly covered",
        "newly_villages": "Villages newly covered", "share_after": "Covered share after",
        "author": "Prepared by {author}", "date": "{date}",
    },
}


# --- blocks ------------------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    """A numbered table: cells as text, the columns of numbers, the 合计 row.

    Attributes
    ----------
    caption
        What the table shows, without its number.
    frame
        Header and cells, all text.
    numbers
        Columns of numbers (right-aligned).
    total
        The 合计 row, one text per column, or ``None``.
    anchor
        HTML id of the table ("" for none).
    number
        Position among the report's tables, from 1 (set by :func:`numbered`).
    """

    caption: str
    frame: pd.DataFrame
    numbers: frozenset[str] = frozenset()
    total: tuple[str, ...] | None = None
    anchor: str = ""
    number: int = 0


@dataclass(frozen=True)
class Figure:
    """A numbered figure: a PNG file and its caption.

    ``wide`` figures (maps) are placed on landscape pages at full width.
    """

    image: Path
    caption: str
    wide: bool = False
    number: int = 0


@dataclass(frozen=True)
class Paragraph:
    """A paragraph of text; ``note`` ones are set smaller."""

    text: str
    note: bool = False


Block = Table | Figure | Paragraph


@dataclass(frozen=True)
class Section:
    """A heading and what follows it.

    ``interactive_map`` marks where the HTML report shows the interactive map.
    """

    heading: str
    blocks: tuple[Block, ...]
    anchor: str = ""
    level: int = 1
    interactive_map: bool = False


@dataclass(frozen=True)
class ReportContent:
    """Everything a report shows, already computed; renderers only lay it out.

    Attributes
    ----------
    title
        Report title.
    date
        The day the report was written.
    author
        Who prepares it ("" when the project does not say).
    notice
        Schematic-data notice and notes on what was left out ("" for none).
    findings
        Sentences summing up the figures.
    sections
        Headings with their paragraphs, numbered tables and figures.
    sources
        Data sources line.
    lang
        ``"zh"`` or ``"en"``.
    levels
        The project's names of the administrative levels.
    """

    title: str
    date: dt.date
    author: str
    notice: str
    findings: tuple[str, ...]
    sections: tuple[Section, ...]
    sources: str
    lang: str
    levels: LevelNames = LevelNames()

    def words(self) -> dict[str, str]:
        """:data:`WORDS` in the report's language, with the project's names of the levels."""
        return relabel_values(WORDS[self.lang], self.levels, self.lang)

    def caption_prefix(self, block: Table | Figure) -> str:
        """``表`` / ``图`` (``Table `` / ``Figure ``), the word before a caption's number."""
        return WORDS[self.lang]["table" if isinstance(block, Table) else "figure"]

    def caption(self, block: Table | Figure) -> str:
        """``表1 各县区…`` / ``Figure 1 …``: the numbered caption."""
        return f"{self.caption_prefix(block)}{block.number}{'　' if self.lang == 'zh' else '. '}{block.caption}"

    def date_text(self) -> str:
        """``2026年12月3日`` / ``3 December 2026``."""
        day = self.date
        return f"{day.year}年{day.month}月{day.day}日" if self.lang == "zh" else f"{day.day} {day:%B %Y}"


def numbered(sections: Sequence[Section]) -> tuple[Section, ...]:
    """The sections with their tables and figures numbered in order of appearance, from 1 each."""
    counts = {Table: 0, Figure: 0}
    result = []
    for section in sections:
        blocks = []
        for block in section.blocks:
            if isinstance(block, (Table, Figure)):
                counts[type(block)] += 1
                block = replace(block, number=counts[type(block)])
            blocks.append(block)
        result.append(replace(section, blocks=tuple(blocks)))
    return tuple(result)


# --- tables ------------------------------------------------------------------------


def number_text(value: object) -> str:
    """A count as the reports print it: ``1,046,138``; missing values empty."""
    return "" if value is None or pd.isna(value) else f"{float(value):,.0f}"


def share_text(value: object, decimals: int = 1) -> str:
    """A share (0–1) as a percentage: ``67.0%``; missing values empty."""
    return "" if value is None or pd.isna(value) else f"{100 * float(value):.{decimals}f}%"


def is_share(column: str) -> bool:
    """Whether an indicator column is a share (0–1)."""
    return column.endswith("share") or "share_" in column


def cell_text(column: str, value: object) -> str:
    """An indicator value as text: shares in %, other numbers whole with thousands separators."""
    return share_text(value) if is_share(column) else number_text(value)


def indicator_table(
    table: pd.DataFrame, keys: Sequence[str], columns: Sequence[str], *, labels: Mapping[str, str],
    total_label: str, caption: str, anchor: str = "",
) -> Table:
    """An indicator table of the reports with its 合计 row.

    Parameters
    ----------
    table
        Township or county indicators, indexed by code (the index becomes
        the first column).
    keys
        Columns of names shown as they are.
    columns
        Indicator columns, shown as numbers.
    labels
        Headers by column.
    total_label
        Text of the 合计 row's first cell.

    The 合计 row sums the counts and computes each share from the summed
    counts (:func:`total_row`); the gap score, a rank-like score, has none.
    """
    shown = [c for c in columns if c in table]
    frame = table[[*keys, *shown]].reset_index()
    texts = pd.DataFrame({c: frame[c].astype("string").fillna("") for c in frame.columns[: 1 + len(keys)]})
    for column in shown:
        texts[column] = frame[column].map(lambda v, c=column: cell_text(c, v))
    totals = total_row(table)
    total = (total_label, *[""] * len(keys), *[cell_text(c, totals.get(c)) for c in shown])
    headers = {c: labels.get(c, c) for c in texts.columns}
    return Table(caption, texts.rename(columns=headers), frozenset(headers[c] for c in shown), total, anchor)


def total_row(table: pd.DataFrame) -> pd.Series:
    """The sum of the counts of ``table``'s rows, and the shares computed from those sums.

    Shares are never averaged: the covered share of the total is the summed
    covered population over the summed population, and so on.
    """
    additive = [c for c in ADDITIVE_COLUMNS if c in table]
    return with_shares(table[additive].sum(min_count=1).to_frame().T).iloc[0]


def with_shares(counts: pd.DataFrame) -> pd.DataFrame:
    """``counts`` with the shares computed from them (:func:`township_coverage.metrics.add_shares`)."""
    needed = ("stations", "station_staff", "villages", "villages_with_room", "villages_within_radius", "population",
              "population_within_radius")
    counts = counts.astype(float).assign(**{c: float("nan") for c in needed if c not in counts})
    return add_shares(counts).drop(columns="has_station")


#: Counts that add up across rows (the others are shares or scores).
ADDITIVE_COLUMNS = (
    "townships", "townships_with_station", "stations", "station_staff", "community_rooms", "school_stations",
    "enterprise_stations", "hospital_stations", "villages", "villages_with_room", "villages_within_radius",
    "population", "population_within_radius",
)


def text_table(frame: pd.DataFrame, *, caption: str, numbers: Sequence[str] = (), anchor: str = "") -> Table:
    """A table whose cells are already text (missing ones empty)."""
    texts = frame.astype("string").fillna("") if len(frame.columns) else frame
    return Table(caption, pd.DataFrame(texts), frozenset(numbers), None, anchor)


# --- findings ------------------------------------------------------------------------


def findings(
    city: pd.Series, counties: pd.DataFrame, townships: pd.DataFrame, *, radius_km: float, lang: str,
    levels: LevelNames = LevelNames(), plan: PlanFacts | None = None, most: int = 3,
) -> tuple[str, ...]:
    """Sentences that sum up the figures: coverage, the counties highest and lowest, the townships
    with most people outside the radius, what the plan would change."""
    zh = lang == "zh"
    said: list[str] = []
    total, with_station = int(city["townships"]), int(city["townships_with_station"])
    share = with_station / total if total else float("nan")
    staff, rooms = number_text(city.get("station_staff")), number_text(city.get("community_rooms"))
    said.append(
        f"全市共有乡镇（街道）{total:,}个，其中{with_station:,}个设有社工站（{share_text(share)}），"
        f"社工站工作人员{staff}名，社工室{rooms}个。" if zh else
        f"{with_station:,} of the {total:,} townships ({share_text(share)}) have a station, "
        f"with {staff} station staff; there are {rooms} community rooms."
    )
    if city.get("villages", 0) and pd.notna(city.get("room_share")):
        said.append(
            f"{number_text(city['villages'])}个村（社区）中，{number_text(city['villages_with_room'])}个设有社工室"
            f"（{share_text(city['room_share'])}）。" if zh else
            f"{number_text(city['villages_with_room'])} of {number_text(city['villages'])} villages "
            f"({share_text(city['room_share'])}) have a community room."
        )
    if pd.notna(city.get("population_share_within_radius")):
        said.append(
            f"距最近站点{radius_km:g}公里服务半径内的人口为{number_text(city['population_within_radius'])}人，"
            f"占{share_text(city['population_share_within_radius'])}；服务半径外尚有"
            f"{number_text(city['uncovered_population'])}人。" if zh else
            f"{number_text(city['population_within_radius'])} people "
            f"({share_text(city['population_share_within_radius'])}) live within {radius_km:g} km of a site; "
            f"{number_text(city['uncovered_population'])} live farther away."
        )
        said += _county_extremes(counties, zh=zh)
        said += _most_uncovered(townships, zh=zh, most=most)
    if plan is not None:
        said.append(plan.finding(lang))
    return tuple(relabel(sentence, levels, lang) for sentence in said)


def _county_extremes(counties: pd.DataFrame, *, zh: bool) -> list[str]:
    """The counties with the highest and lowest share of people within the radius."""
    shares = counties["population_share_within_radius"].dropna() if "population_share_within_radius" in counties else ()
    if len(shares) < 2:
        return []
    high, low = shares.idxmax(), shares.idxmin()
    name = counties["county_name"]
    if zh:
        return [f"各县区中，服务半径内人口比例最高的是{name[high]}（{share_text(shares[high])}），"
                f"最低的是{name[low]}（{share_text(shares[low])}）。"]
    return [f"Among the counties, {name[high]} has the highest share within the radius ({share_text(shares[high])}) "
            f"and {name[low]} the lowest ({share_text(shares[low])})."]


def _most_uncovered(townships: pd.DataFrame, *, zh: bool, most: int) -> list[str]:
    """The townships with the most people outside the radius."""
    if "uncovered_population" not in townships:
        return []
    top = townships[townships["uncovered_population"] > 0].nlargest(most, "uncovered_population")
    if top.empty:
        return []
    if zh:
        named = "、".join(f"{r.township_name}（{r.county_name}，{number_text(r.uncovered_population)}人）"
                         for r in top.itertuples())
        return [f"服务半径外人口最多的乡镇（街道）是{named}。"]
    named = ", ".join(f"{r.township_name} ({r.county_name}, {number_text(r.uncovered_population)})"
                      for r in top.itertuples())
    return [f"The townships with the most people outside the radius are {named}."]


# --- the plan, as the plan command leaves it for the reports --------------------------

#: File the ``plan`` command writes for the reports.
PLAN_SUMMARY_FILE = "plan_summary.json"
#: Counts of the plan's before/after figures (the shares are computed from them).
PLAN_COUNTS = ("community_rooms", "villages", "villages_with_room", "villages_within_radius", "population",
               "population_within_radius")
_STATUS_WORDS = {
    "zh": {"optimal": "最优", "time limit": "达到时间上限（可行解）", "heuristic": "启发式（可行解）"},
    "en": {"optimal": "optimal", "time limit": "time limit reached (feasible)", "heuristic": "heuristic (feasible)"},
}
_METHOD_WORDS = {
    "zh": {"exact": "精确求解（混合整数规划，HiGHS）", "heuristic": "启发式（贪心＋交换）"},
    "en": {"exact": "exact (mixed-integer programme, HiGHS)", "heuristic": "heuristic (greedy and swaps)"},
}


def status_text(status: str, lang: str) -> str:
    """A solver status in ``lang`` (``最优``, ``达到时间上限（可行解）`` …)."""
    return _STATUS_WORDS[lang].get(status, status)


def method_text(method: str, lang: str) -> str:
    """A solving method in ``lang``."""
    return _METHOD_WORDS[lang].get(method, method)


@dataclass(frozen=True)
class PlanFacts:
    """What a plan proposes and changes, as the reports show it (``plan_summary.json``).

    Attributes
    ----------
    parameters
        ``new_rooms`` or ``target_share``, ``radius_km``, ``max_per_township``,
        ``weight`` (``"population"`` or ``"villages"``), ``method``,
        ``status``, ``gap``, ``bound``, ``objective``, ``seconds``, ``day``.
    city
        ``{"before": {count: value}, "after": {...}}`` of :data:`PLAN_COUNTS`.
    counties
        Per county: ``county_code``, ``county_name``, ``before``, ``after``.
    rooms
        Per proposed room in opening order: ``order``, ``village_code``,
        ``village_name``, ``township_name``, ``county_name``, ``newly_covered``,
        ``covered_share_after``.
    """

    parameters: Mapping[str, object]
    city: Mapping[str, Mapping[str, float]]
    counties: Sequence[Mapping[str, object]]
    rooms: Sequence[Mapping[str, object]] = field(default_factory=tuple)

    def write(self, path: Path) -> Path:
        """Write as JSON (UTF-8)."""
        data = {"parameters": self.parameters, "city": self.city, "counties": self.counties, "rooms": self.rooms}
        path.write_text(json.dumps(data, ensure_ascii=False, indent=1, default=_plain), encoding="utf-8")
        return path

    @classmethod
    def read(cls, path: Path) -> PlanFacts | None:
        """The facts of ``path``, or ``None`` if there is none or it cannot be read."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(data["parameters"], data["city"], data["counties"], data["rooms"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def share(self, side: str) -> float:
        """The covered share before or after, of the weight the plan counted."""
        counts = self.city[side]
        if self.parameters["weight"] == "population":
            return _ratio(counts["population_within_radius"], counts["population"])
        return _ratio(counts["villages_within_radius"], counts["villages"])

    def newly_covered(self) -> float:
        """Weight (people or villages) the proposed rooms newly cover."""
        return float(sum(float(room["newly_covered"]) for room in self.rooms))

    def finding(self, lang: str) -> str:
        """One sentence: how many rooms, the share before and after, the county gaining most."""
        people = self.parameters["weight"] == "population"
        gains = [(_county_share(c, "after", people) - _county_share(c, "before", people), c) for c in self.counties]
        gains = [(g, c) for g, c in gains if pd.notna(g)]
        before, after, newly = share_text(self.share("before")), share_text(self.share("after")), number_text(self.newly_covered())
        if lang == "zh":
            unit = "人" if people else "个村（社区）"
            what = "服务半径内人口比例" if people else "服务半径内村（社区）比例"
            sentence = f"按规划新建社工室{len(self.rooms):,}个后，{what}将由{before}提高到{after}，新增覆盖{newly}{unit}"
            if gains:
                gain, county = max(gains, key=lambda pair: pair[0])
                sentence += (f"；提高最多的县区是{county['county_name']}（{share_text(_county_share(county, 'before', people))}"
                             f"→{share_text(_county_share(county, 'after', people))}）")
            return sentence + "。"
        unit = "people" if people else "villages"
        sentence = f"The {len(self.rooms):,} proposed rooms would raise the covered share from {before} to {after}, {newly} {unit} newly covered"
        if gains:
            gain, county = max(gains, key=lambda pair: pair[0])
            sentence += (f"; {county['county_name']} gains most ({share_text(_county_share(county, 'before', people))} → "
                         f"{share_text(_county_share(county, 'after', people))})")
        return sentence + "."


def _ratio(part: object, whole: object) -> float:
    """``part / whole``, NaN when ``whole`` is missing or 0."""
    whole = float(whole) if whole is not None and pd.notna(whole) else 0.0
    return float(part) / whole if whole else float("nan")


def _county_share(county: Mapping[str, object], side: str, people: bool) -> float:
    """A county's covered share before or after."""
    counts = county[side]
    if people:
        return _ratio(counts["population_within_radius"], counts["population"])
    return _ratio(counts["villages_within_radius"], counts["villages"])


def _plain(value: object) -> object:
    """numpy numbers as plain Python ones for JSON; missing values as null."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value


def plan_facts(
    rooms: pd.DataFrame, before: pd.DataFrame, after: pd.DataFrame, *, parameters: Mapping[str, object],
    distances: pd.DataFrame | None = None,
) -> PlanFacts:
    """The plan's :class:`PlanFacts` from the proposed rooms and the township indicators before and after.

    With ``distances`` (per village, see :func:`township_coverage.metrics.distance_figures`),
    the whole area and each county also get ``mean_distance_km`` and
    ``worst_distance_km`` before and after.
    """
    from township_coverage.metrics import DISTANCE_FIGURES, distance_figures, roll_up

    def counts(table: pd.DataFrame) -> dict[str, float]:
        return {c: _plain(table[c].sum()) for c in PLAN_COUNTS if c in table}

    rolled = {side: roll_up(table, by="county_code") for side, table in (("before", before), ("after", after))}
    by_county = {side: {code: {c: _plain(v) for c, v in row.items()}
                        for code, row in frame[[c for c in PLAN_COUNTS if c in frame]].iterrows()}
                 for side, frame in rolled.items()}
    city = {"before": counts(before), "after": counts(after)}
    if distances is not None:
        for group, figures in ((None, city), ("county_code", by_county)):
            for code, row in distance_figures(distances, group).iterrows():
                for side in ("before", "after"):
                    target = figures[side] if group is None else figures[side].setdefault(code, {})
                    target.update({name: round(float(row[f"{name}_{side}"]), 4) for name in DISTANCE_FIGURES})
    counties = [
        {"county_code": str(code), "county_name": str(name),
         "before": by_county["before"][code], "after": by_county["after"][code]}
        for code, name in rolled["before"]["county_name"].items()
    ]
    room_rows = [
        {"order": int(r.order), "village_code": str(r.village_code), "village_name": str(r.village_name),
         "township_name": str(r.township_name), "county_name": str(r.county_name),
         "newly_covered": float(r.newly_covered), "covered_share_after": float(r.covered_share_after)}
        for r in rooms.itertuples()
    ]
    return PlanFacts(dict(parameters), city, counties, room_rows)


# --- the report, section by section ---------------------------------------------------

#: Indicator columns of the county and township tables of the reports.
REPORT_COLUMNS = (
    "stations", "station_staff", "community_rooms", "school_stations", "enterprise_stations",
    "hospital_stations", "villages", "room_share", "population_share_within_radius",
    "population_per_staff", "gap_score",
)
_CHINESE_NUMERALS = "一二三四五六七八九十"


@dataclass(frozen=True)
class ReportInputs:
    """The figures and files a report is made of (see :func:`report_content`).

    Attributes
    ----------
    city, counties, townships
        Indicators: city-wide, per county (by county code), per township (by township code).
    summary_rows, context_rows
        City-wide figures (label, computed, published) and published facts (label, value).
    validation_counts
        Rows per status for each point layer.
    problems
        Problems found in the inputs, headers in the report's language.
    static_maps
        PNG files of the static maps with their captions.
    plan_map
        The static map of the plan with its caption, shown in the plan's section.
    county_chart, plan_chart
        Bar charts by county (PNG), when drawn.
    plan
        The last plan in the output folder, if any.
    progress
        The build-out over time (:class:`township_coverage.report.tables.ProgressSection`).
    township_table
        Whether the township table fits the report (else a line says where it is).
    """

    city: pd.Series
    counties: pd.DataFrame
    townships: pd.DataFrame
    summary_rows: Sequence[tuple[str, str, str]]
    context_rows: Sequence[tuple[str, str]]
    validation_counts: pd.DataFrame
    problems: pd.DataFrame
    static_maps: Sequence[tuple[Path, str]] = ()
    plan_map: tuple[Path, str] | None = None
    county_chart: Path | None = None
    plan_chart: Path | None = None
    plan: PlanFacts | None = None
    progress: ProgressSection | None = None
    township_table: bool = True


def report_content(
    inputs: ReportInputs, *, title: str, author: str = "", notice: str = "", sources: str = "", radius_km: float,
    lang: str, levels: LevelNames = LevelNames(), date: dt.date | None = None,
) -> ReportContent:
    """The report's sections, tables and figures numbered, and its findings."""
    from township_coverage.report.html import TEXT

    text = relabel_values(TEXT[lang], levels, lang)
    words = relabel_values(WORDS[lang], levels, lang)
    said = findings(inputs.city, inputs.counties, inputs.townships, radius_km=radius_km, lang=lang, levels=levels,
                    plan=inputs.plan)
    sections = [
        Section(words["findings"], tuple(Paragraph(sentence) for sentence in said), anchor="findings"),
        Section(text["summary"], _summary_blocks(inputs, text, words), anchor="summary-section"),
        *_progress_sections(inputs.progress, text, words),
        Section(text["map"], tuple(Figure(path, caption, wide=True) for path, caption in inputs.static_maps),
                anchor="maps", interactive_map=True),
        Section(text["counties"], _county_blocks(inputs, words, lang, levels), anchor="counties"),
        Section(text["townships"], _township_blocks(inputs, text, words, lang, levels), anchor="townships-section"),
    ]
    if inputs.plan is not None:
        sections.append(Section(text["plan"], _plan_blocks(inputs, words, lang, levels), anchor="plan"))
    sections.append(Section(text["validation"], _validation_blocks(inputs, text, words, lang), anchor="validation"))
    sections = [replace(s, heading=_numbered_heading(i, s.heading, lang)) for i, s in enumerate(sections, 1)]
    return ReportContent(
        title=title, date=date or dt.date.today(), author=author, notice=notice, findings=said,
        sections=numbered(sections), sources=sources, lang=lang, levels=levels,
    )


def _numbered_heading(position: int, heading: str, lang: str) -> str:
    """``一、全市概况`` / ``1. City summary``."""
    if lang == "zh" and position <= len(_CHINESE_NUMERALS):
        return f"{_CHINESE_NUMERALS[position - 1]}、{heading}"
    return f"{position}. {heading}"


def _summary_blocks(inputs: ReportInputs, text: Mapping[str, str], words: Mapping[str, str]) -> tuple[Block, ...]:
    """The city-wide figures beside the published ones, and the other published facts."""
    header = [text["figure"], text["computed"], text["published"]]
    blocks: list[Block] = [text_table(pd.DataFrame(list(inputs.summary_rows), columns=header),
                                      caption=words["summary_table"], numbers=header[1:], anchor="summary")]
    if inputs.context_rows:
        header = [text["figure"], text["published"]]
        blocks.append(text_table(pd.DataFrame(list(inputs.context_rows), columns=header),
                                 caption=words["context_table"], numbers=header[1:]))
    return tuple(blocks)


def _progress_sections(
    progress: ProgressSection | None, text: Mapping[str, str], words: Mapping[str, str],
) -> list[Section]:
    """The build-out over time and the changes against the last site list, when there are any."""
    if progress is None or progress.empty:
        return []
    blocks: list[Block] = [Paragraph(sentence) for sentence in progress.sentences]
    if progress.table is not None:
        blocks.append(text_table(progress.table, caption=words["progress_table"], numbers=progress.table.columns[1:]))
    if progress.chart is not None:
        blocks.append(Figure(progress.chart, progress.caption, wide=True))
    if progress.change_table is not None:
        blocks.append(Paragraph(text["changes"]))
        blocks += [Paragraph(sentence) for sentence in progress.change_sentences]
        blocks.append(text_table(progress.change_table, caption=words["changes_table"],
                                 numbers=progress.change_table.columns[1:]))
    return [Section(text["progress"], tuple(blocks), anchor="progress")]


def _county_blocks(inputs: ReportInputs, words, lang: str, levels: LevelNames) -> tuple[Block, ...]:
    """The bar chart by county and the county table."""
    from township_coverage.report.tables import column_labels

    blocks: list[Block] = []
    if inputs.county_chart is not None:
        blocks.append(Figure(inputs.county_chart, words["county_chart"]))
    blocks.append(indicator_table(
        inputs.counties, ["county_name", "townships"], REPORT_COLUMNS, labels=column_labels(lang, levels),
        total_label=words["total"], caption=words["county_table"], anchor="county-table",
    ))
    return tuple(blocks)


def _township_blocks(inputs: ReportInputs, text, words, lang: str, levels: LevelNames) -> tuple[Block, ...]:
    """The township table, or where to find it when it is too long for the report."""
    from township_coverage.report.tables import column_labels

    if not inputs.township_table:
        return (Paragraph(text["townships_left_out"].format(rows=len(inputs.townships))),)
    return (indicator_table(
        inputs.townships, ["township_name", "county_name"], REPORT_COLUMNS, labels=column_labels(lang, levels),
        total_label=words["total"], caption=words["township_table"], anchor="townships",
    ),)


def _validation_blocks(inputs: ReportInputs, text, words, lang: str) -> tuple[Block, ...]:
    """Rows per status of each point layer, and the problems found."""
    from township_coverage.report.tables import STATUS_LABELS

    counts = inputs.validation_counts
    layers = {"sites": words["layer_sites"], "villages": words["layer_villages"]}
    statuses = {**STATUS_LABELS.get(lang, {}), "rows": words["rows"]}
    frame = pd.DataFrame({words["layer"]: [layers.get(name, name) for name in counts.index]})
    for column in counts.columns:
        frame[statuses.get(column, column)] = [number_text(v) for v in counts[column]]
    blocks: list[Block] = [text_table(frame, caption=words["validation_table"], numbers=frame.columns[1:])]
    if len(inputs.problems):
        blocks.append(text_table(inputs.problems, caption=words["problems_table"]))
    else:
        blocks.append(Paragraph(text["no_problems"]))
    return tuple(blocks)


def _plan_blocks(inputs: ReportInputs, words, lang: str, levels: LevelNames) -> tuple[Block, ...]:
    """The plan's parameters, the whole area and each county before and after, the chart, the rooms."""
    plan = inputs.plan
    blocks: list[Block] = [Paragraph(relabel(_plan_parameters(plan, lang), levels, lang))]
    blocks.append(_plan_city_table(plan, words, lang, levels))
    blocks.append(_plan_county_table(plan, words, lang, levels))
    if inputs.plan_map is not None:
        blocks.append(Figure(*inputs.plan_map, wide=True))
    if inputs.plan_chart is not None:
        blocks.append(Figure(inputs.plan_chart, words["plan_chart"]))
    blocks.append(_plan_rooms_table(plan, words, lang, levels))
    return tuple(blocks)


def _distance_goal(plan: PlanFacts, lang: str) -> str:
    """What a plan of the distance objectives minimised, its value before and after, and the gap to its lower bound."""
    p = plan.parameters
    worst = p["objective_name"] == "worst-distance"
    key = "worst_distance_km" if worst else "mean_distance_km"
    before, after = plan.city["before"].get(key), plan.city["after"].get(key)
    gap, bound = share_text(p["gap"], 2), f"{float(p['bound']):.2f}"
    if lang == "zh":
        what = "到最近社工站（室）的最远距离" if worst else "到最近社工站（室）的平均距离"
        return f"目标：{what}最小，由{before:.2f}公里降至{after:.2f}公里（下界{bound}公里，与下界差距{gap}）"
    what = "worst distance" if worst else "mean distance"
    return (f"objective: the smallest {what} to the nearest station or room, "
            f"{before:.2f} km -> {after:.2f} km (lower bound {bound} km, gap {gap})")


def _plan_parameters(plan: PlanFacts, lang: str) -> str:
    """The plan's request, radius, method, status and gap, in one paragraph."""
    p = plan.parameters
    people = p["weight"] == "population"
    most = p.get("max_per_township")
    gap, bound = share_text(p["gap"], 2), number_text(p["bound"])
    if lang == "zh":
        asked = (f"新建社工室{int(p['new_rooms']):,}个" if p.get("new_rooms") is not None
                 else f"以最少的新建社工室使覆盖比例达到{share_text(p['target_share'])}")
        parts = [f"规划要求：{asked}", f"服务半径{float(p['radius_km']):g}公里",
                 "按人口计算覆盖" if people else "按村（社区）数计算覆盖"]
        if most:
            parts.append(f"每个乡镇（街道）最多新建{int(most)}个")
        bounded = (f"与上界差距{gap}（上界{bound}{'人' if people else '个村（社区）'}）" if p.get("new_rooms") is not None
                   else f"与下界差距{gap}（至少需{bound}个）")
        if p.get("objective_name", "coverage") != "coverage":
            bounded = _distance_goal(plan, lang)
        parts += [f"求解方式：{method_text(str(p['method']), lang)}", f"求解状态：{status_text(str(p['status']), lang)}",
                  bounded]
        day = f"；规划日期：{p['day']}" if p.get("day") else ""
        return "；".join(parts) + day + "。"
    asked = (f"{int(p['new_rooms']):,} new rooms" if p.get("new_rooms") is not None
             else f"the fewest new rooms reaching a covered share of {share_text(p['target_share'])}")
    parts = [f"Request: {asked}", f"radius {float(p['radius_km']):g} km",
             "coverage counted in people" if people else "coverage counted in villages"]
    if most:
        parts.append(f"at most {int(most)} per township")
    bounded = (f"gap to the bound {gap} (bound {bound})" if p.get("new_rooms") is not None
               else f"gap to the lower bound {gap} (at least {bound} rooms)")
    if p.get("objective_name", "coverage") != "coverage":
        bounded = _distance_goal(plan, lang)
    parts += [f"method: {method_text(str(p['method']), lang)}", f"status: {status_text(str(p['status']), lang)}",
              bounded]
    day = f"; planned on {p['day']}" if p.get("day") else ""
    return "; ".join(parts) + day + "."


def _plan_side(counts: Sequence[Mapping[str, object]]) -> pd.DataFrame:
    """Counts before or after (one row each), with the shares computed from them."""
    return with_shares(pd.DataFrame([{c: row.get(c) for c in PLAN_COUNTS} for row in counts], columns=PLAN_COUNTS))


def _plan_city_table(plan: PlanFacts, words, lang: str, levels: LevelNames) -> Table:
    """The whole area's figures before and after, and the change."""
    from township_coverage.report.tables import column_labels

    labels = column_labels(lang, levels)
    before, after = (_plan_side([plan.city[side]]).iloc[0] for side in ("before", "after"))
    rows = []
    for column in ("community_rooms", "villages_with_room", "room_share", "villages_within_radius",
                   "village_share_within_radius", "population_within_radius", "population_share_within_radius"):
        if pd.isna(before[column]) and pd.isna(after[column]):
            continue
        change = after[column] - before[column]
        points = "个百分点" if lang == "zh" else " points"
        shown = f"{100 * change:+.1f}{points}" if is_share(column) else f"{change:+,.0f}"
        rows.append((labels.get(column, column), cell_text(column, before[column]), cell_text(column, after[column]), shown))
    header = [words["figure_column"], words["before"], words["after"], words["change"]]
    return text_table(pd.DataFrame(rows, columns=header), caption=words["plan_city_table"], numbers=header[1:],
                      anchor="plan-city")


def _plan_county_table(plan: PlanFacts, words, lang: str, levels: LevelNames) -> Table:
    """Each county's rooms and covered weight before and after, with the 合计 row."""
    from township_coverage.report.tables import column_labels

    people = plan.parameters["weight"] == "population"
    within, share = (("population_within_radius", "population_share_within_radius") if people
                     else ("villages_within_radius", "village_share_within_radius"))
    sides = {side: _plan_side([c[side] for c in plan.counties]) for side in ("before", "after")}
    totals = {side: total_row(frame) for side, frame in sides.items()}
    labels = column_labels(lang, levels)
    frame = pd.DataFrame({labels.get("county_name", "county_name"): [c["county_name"] for c in plan.counties]})
    total = [words["total"]]
    for column in ("community_rooms", within, share):
        for side in ("before", "after"):
            name = f"{labels.get(column, column)}（{words[side]}）" if lang == "zh" else f"{labels.get(column, column)} ({words[side]})"
            frame[name] = [cell_text(column, v) for v in sides[side][column]]
            total.append(cell_text(column, totals[side][column]))
    newly = words["newly_people"] if people else words["newly_villages"]
    frame[newly] = [number_text(v) for v in sides["after"][within] - sides["before"][within]]
    total.append(number_text(totals["after"][within] - totals["before"][within]))
    return Table(words["plan_county_table"], frame, frozenset(frame.columns[1:]), tuple(total), "plan-counties")


def _plan_rooms_table(plan: PlanFacts, words, lang: str, levels: LevelNames) -> Table:
    """The proposed rooms in opening order, with what each newly covers; the 合计 row sums it."""
    from township_coverage.report.tables import column_labels

    labels = column_labels(lang, levels)
    newly = words["newly_people"] if plan.parameters["weight"] == "population" else words["newly_villages"]
    frame = pd.DataFrame({
        words["order"]: [str(r["order"]) for r in plan.rooms],
        words["village_code"]: [r["village_code"] for r in plan.rooms],
        words["village"]: [r["village_name"] for r in plan.rooms],
        labels.get("township_name", "township_name"): [r["township_name"] for r in plan.rooms],
        labels.get("county_name", "county_name"): [r["county_name"] for r in plan.rooms],
        newly: [number_text(r["newly_covered"]) for r in plan.rooms],
        words["share_after"]: [share_text(r["covered_share_after"]) for r in plan.rooms],
    })
    total = (words["total"], "", "", "", "", number_text(plan.newly_covered()),
             share_text(plan.rooms[-1]["covered_share_after"]) if plan.rooms else "")
    return Table(words["plan_rooms_table"], frame, frozenset([words["order"], newly, words["share_after"]]), total,
                 "plan-rooms")


def plan_sheets(plan: PlanFacts, *, lang: str, levels: LevelNames = LevelNames()) -> dict[str, pd.DataFrame]:
    """The plan's rooms and counties before and after as workbook sheets (numbers as numbers), by sheet name."""
    words = relabel_values(WORDS[lang], levels, lang)
    rooms = _plan_rooms_table(plan, words, lang, levels).frame.copy()
    newly, share = rooms.columns[5], rooms.columns[6]
    rooms[words["order"]] = [int(r["order"]) for r in plan.rooms]
    rooms[newly] = [round(float(r["newly_covered"])) for r in plan.rooms]
    rooms[share] = [round(float(r["covered_share_after"]), 4) for r in plan.rooms]
    counties = pd.DataFrame({"county_code": [c["county_code"] for c in plan.counties],
                             "county_name": [c["county_name"] for c in plan.counties]})
    for side in ("before", "after"):
        frame = _plan_side([c[side] for c in plan.counties])
        for column in ("community_rooms", "villages_within_radius", "population_within_radius",
                       "population_share_within_radius"):
            counties[f"{column}:{side}"] = frame[column].round(4)
    from township_coverage.report.tables import column_labels

    labels = column_labels(lang, levels)
    def header(column: str) -> str:
        name, _, side = column.partition(":")
        label = labels.get(name, name)
        return label if not side else (f"{label}（{words[side]}）" if lang == "zh" else f"{label} ({words[side]})")
    names = {"zh": ("拟建社工室", "规划前后各县区"), "en": ("proposed rooms", "plan by county")}[lang]
    return {names[0]: rooms, names[1]: counties.rename(columns=header)}
