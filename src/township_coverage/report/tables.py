"""Tables and text summaries of a run, for people and for spreadsheets."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from township_coverage.inputs.config import LevelNames
from township_coverage.inputs.dates import day_text, step_label
from township_coverage.inputs.io import TableSource
from township_coverage.levels import relabel_values
from township_coverage.outputs import write_csv
from township_coverage.validation import POINT_LAYERS, Validation

if TYPE_CHECKING:
    from township_coverage.report.xlsx import WrittenSheets

#: Output column headers per language; columns not listed keep their name.
COLUMN_LABELS: Mapping[str, Mapping[str, str]] = {
    "zh": {
        "township_code": "乡镇代码",
        "township_name": "乡镇（街道）",
        "county_code": "县区代码",
        "county_name": "县区",
        "townships": "乡镇（街道）数",
        "townships_with_station": "设有社工站的乡镇数",
        "stations": "社工站",
        "has_station": "设有社工站",
        "station_staff": "社工站工作人员",
        "community_rooms": "社工室",
        "school_stations": "学校社工站",
        "enterprise_stations": "企业社工站",
        "hospital_stations": "医院社工站",
        "villages": "村（社区）数",
        "villages_with_room": "设有社工室的村（社区）数",
        "room_share": "设有社工室的村（社区）比例",
        "villages_within_radius": "服务半径内村（社区）数",
        "village_share_within_radius": "服务半径内村（社区）比例",
        "population": "人口",
        "population_within_radius": "服务半径内人口",
        "population_share_within_radius": "服务半径内人口比例",
        "uncovered_population": "服务半径外人口",
        "population_per_staff": "每名工作人员服务人口",
        "median_distance_km": "村到最近站点距离中位数（公里）",
        "max_distance_km": "村到最近站点最大距离（公里）",
        "gap_score": "缺口得分",
        "gap_rank": "缺口排名",
    },
    "en": {},
}

#: City-wide figures printed in the terminal summary, in order.
SUMMARY_FIGURES = (
    "townships",
    "townships_with_station",
    "station_staff",
    "community_rooms",
    "school_stations",
    "enterprise_stations",
    "hospital_stations",
    "villages",
    "village_share_within_radius",
    "population_share_within_radius",
)


def column_labels(lang: str, levels: LevelNames = LevelNames()) -> dict[str, str]:
    """Output column headers in ``lang``, with the project's names of the levels."""
    return relabel_values(COLUMN_LABELS.get(lang, {}), levels, lang)


def labelled(table: pd.DataFrame, lang: str, levels: LevelNames = LevelNames()) -> pd.DataFrame:
    """The table with its index as a column, values as people read them (:func:`for_people`) and headers in ``lang``."""
    return for_people(table.reset_index(), lang).rename(columns=column_labels(lang, levels))


#: Columns of shares (0 to 1): four decimals in CSV files, percentages in workbooks.
SHARE_KEYS = (
    "room_share", "village_share_within_radius", "population_share_within_radius", "station_share",
    "covered_share_after",
)
#: Columns of whole numbers (sites, villages, people, ranks): integers in CSV files and workbooks.
COUNT_KEYS = (
    "townships", "townships_with_station", "stations", "station_staff", "community_rooms", "school_stations",
    "enterprise_stations", "hospital_stations", "villages", "villages_with_room", "villages_within_radius",
    "population", "population_within_radius", "uncovered_population", "population_per_staff", "gap_rank",
    "order", "newly_covered",
)
#: Number formats of workbook columns: shares, counts, and the columns with decimals.
NUMBER_FORMATS = {
    **dict.fromkeys(SHARE_KEYS, "0.0%"),
    **dict.fromkeys(COUNT_KEYS, "#,##0"),
    "median_distance_km": "0.00",
    "max_distance_km": "0.00",
    "gap_score": "0.0",
}
#: How tables write true and false.
YES_NO = {"zh": ("是", "否"), "en": ("yes", "no")}


def for_people(frame: pd.DataFrame, lang: str) -> pd.DataFrame:
    """A table (with the column names of the code) as people read it.

    Counts (:data:`COUNT_KEYS`) become whole numbers (``156``, not
    ``156.0``; people per staff member rounded to whole people), true and
    false become ``是`` / ``否`` (``yes`` / ``no``); other columns stay as
    they are.
    """
    frame = frame.copy()
    yes, no = YES_NO[lang]
    for column in frame.columns:
        values = frame[column]
        if column in COUNT_KEYS:
            frame[column] = _whole(values)
        elif pd.api.types.is_bool_dtype(values.dtype) or pd.api.types.infer_dtype(values, skipna=True) == "boolean":
            frame[column] = values.map({True: yes, False: no}).astype(object)
    return frame


def _whole(values: pd.Series) -> pd.Series:
    """Numbers rounded to whole numbers, as integers (missing stays missing)."""
    return pd.to_numeric(values).round().astype("Int64")


def number_formats(lang: str, levels: LevelNames = LevelNames()) -> dict[str, str]:
    """Workbook number format of each column header in ``lang`` (shares ``0.0%``, counts ``#,##0``).

    Covers the indicator tables, the timeline and the plan's tables (a
    header with 规划前 / 规划后 has the format of the header it extends).
    """
    from township_coverage.report.content import WORDS

    labels = {**column_labels(lang, levels), **_TIMELINE_LABELS[lang], **_PLAN_LABELS[lang]}
    suffixes = ("", _PLAN_LABELS[lang]["before"], _PLAN_LABELS[lang]["after"])
    formats = {labels.get(key, key) + suffix: code for key, code in NUMBER_FORMATS.items() for suffix in suffixes}
    words = relabel_values(WORDS[lang], levels, lang)  # the headers of the plan's sheets
    formats.update({words["newly_people"]: "#,##0", words["newly_villages"]: "#,##0", words["share_after"]: "0.0%"})
    return formats


#: Files of :func:`write_tables`: township, county and city tables.
TABLE_FILES = ("township_coverage.csv", "county_coverage.csv", "city_summary.csv")
#: Files of :func:`write_plan_tables`.
PLAN_TABLE_FILES = ("plan_rooms.csv", "plan_rooms.geojson", "plan_townships.csv", "plan_counties.csv")


def as_of_text(day: pd.Timestamp, lang: str) -> str:
    """``截至2022年12月31日`` / ``as of 2022-12-31``."""
    return f"截至{day_text(day, lang)}" if lang == "zh" else f"as of {day_text(day, lang)}"


def dated_title(title: str, day: pd.Timestamp | None, lang: str) -> str:
    """The project's title with the day the figures are for, if they are for one."""
    if day is None:
        return title
    return f"{title}（{as_of_text(day, lang)}）" if lang == "zh" else f"{title} ({as_of_text(day, lang)})"


def undated_sites_note(undated: int, total: int, lang: str) -> str:
    """What a run as of a day says about sites without an opening date."""
    if lang == "zh":
        return f"{total:,} 个站点中有 {undated:,} 个没有建成日期，在任何日期都按已开放计算"
    return f"{undated:,} of {total:,} sites have no opening date; they count as open at every date"


def no_timeline_note(lang: str) -> str:
    """What a run asked for a timeline says when no site has a date to build one from."""
    if lang == "zh":
        return "站点清单中没有建成或关闭日期，无法生成进展时间线"
    return "no site has an opening or closing date up to the as-of day, so there is no timeline"


def road_distance_note(roads_file: str, far_villages: int, far_sites: int, far_m: float, lang: str) -> str:
    """What a plan along roads says: which network, and how many villages and sites lie far from every road."""
    if lang == "zh":
        note = f"距离沿道路网（{roads_file}）计算"
        if far_villages or far_sites:
            note += (f"；{far_villages:,} 个村（社区）和 {far_sites:,} 个站点距最近道路超过 {far_m:,.0f} 米，"
                     "其距离含到最近道路的直线段")
        return note
    note = f"distances are along the road network ({roads_file})"
    if far_villages or far_sites:
        note += (f"; {far_villages:,} villages and {far_sites:,} sites are more than {far_m:,.0f} m from every road, "
                 "and their distances include a straight walk to the nearest one")
    return note


#: Header of the first column of the whole area's table (``city_summary.csv``).
SCOPE_LABELS = {"zh": "范围", "en": "scope"}
#: Header of the column that says the day a table's figures are for.
AS_OF_LABELS = {"zh": "截至日期", "en": "as_of"}


def with_as_of(frame: pd.DataFrame, day: pd.Timestamp | None, lang: str) -> pd.DataFrame:
    """A labelled table with the day its figures are for as its first column (unchanged without a day)."""
    if day is None:
        return frame
    return frame.assign(**{AS_OF_LABELS[lang]: f"{day:%Y-%m-%d}"})[[AS_OF_LABELS[lang], *frame.columns]]


def table_frames(
    townships: pd.DataFrame, counties: pd.DataFrame, city: pd.Series, *, lang: str,
    levels: LevelNames = LevelNames(), as_of: pd.Timestamp | None = None,
) -> dict[str, pd.DataFrame]:
    """The township, county and city tables with headers in ``lang``, by sheet name."""
    whole = city.to_frame(WHOLE_AREA[lang]).T.rename_axis(SCOPE_LABELS[lang])
    frames = {
        "townships": labelled(townships, lang, levels),
        "counties": labelled(counties, lang, levels),
        "city": labelled(whole, lang, levels),
    }
    return {name: with_as_of(frame, as_of, lang) for name, frame in frames.items()}


def write_tables(
    townships: pd.DataFrame,
    counties: pd.DataFrame,
    city: pd.Series,
    folder: Path,
    *,
    lang: str,
    levels: LevelNames = LevelNames(),
    as_of: pd.Timestamp | None = None,
) -> list[Path]:
    """Write township, county and city tables as CSV (UTF-8 with BOM), named :data:`TABLE_FILES`.

    With ``as_of``, each table starts with the day its figures are for.

    Returns
    -------
    list of Path
        The files written.
    """
    frames = table_frames(townships, counties, city, lang=lang, levels=levels, as_of=as_of).values()
    for name, frame in zip(TABLE_FILES, frames, strict=True):
        write_csv(frame.round(4), folder / name)
    return [folder / name for name in TABLE_FILES]


def summary_text(
    title: str,
    city: pd.Series,
    *,
    published: Mapping[str, float],
    context: Mapping[str, str],
    published_source: str,
    radius_km: float,
    lang: str = "zh",
    levels: LevelNames = LevelNames(),
) -> str:
    """A short city-wide summary, with published figures beside computed ones."""
    said_published = "公布" if lang == "zh" else "published"
    lines = [title]
    for key, value, label, shown in _summary_figures(city, radius_km=radius_km, lang=lang, levels=levels):
        if key == "townships_with_station" and city["townships"]:
            shown += f" ({100 * value / city['townships']:.1f}%)"
        line = f"  {label}: {shown}"
        if key in published:
            match = "✓" if abs(published[key] - value) < 1e-9 else "✗"
            line += f"  [{said_published} {published[key]:,.0f} {match}]"
        lines.append(line)
    if context:
        lines.append(f"  {said_published}" + ("（未由数据计算）:" if lang == "zh" else " (not computed):"))
        lines += [f"    {label}: {value}" for label, value in context.items()]
    if published_source:
        lines.append(f"  {'来源' if lang == 'zh' else 'source'}: {published_source}")
    return "\n".join(lines)


#: Indicators compared before and after a plan.
PLAN_COMPARED = (
    "community_rooms",
    "villages_with_room",
    "villages_within_radius",
    "population_within_radius",
    "population_share_within_radius",
)
_PLAN_LABELS = {
    "zh": {
        "order": "开设顺序",
        "village_code": "村代码",
        "village_name": "村（社区）",
        "newly_covered": "新增覆盖",
        "covered_share_after": "开设后累计覆盖比例",
        "lon": "经度",
        "lat": "纬度",
        "before": "（规划前）",
        "after": "（规划后）",
        "mean_distance_km": "平均距离（公里）",
        "worst_distance_km": "最远距离（公里）",
        "mean_distance_after_km": "开设后平均距离（公里）",
        "worst_distance_after_km": "开设后最远距离（公里）",
    },
    "en": {
        "before": " (before)",
        "after": " (after)",
        "mean_distance_km": "Mean distance (km)",
        "worst_distance_km": "Worst distance (km)",
    },
}
PLAN_ROOM_COLUMNS = (
    "order", "village_code", "village_name", "township_code", "township_name",
    "county_name", "newly_covered", "covered_share_after", "mean_distance_after_km", "worst_distance_after_km",
    "lon", "lat",
)


def plan_comparison(
    before: pd.DataFrame, after: pd.DataFrame, *, by: str | None = None, lang: str, levels: LevelNames = LevelNames(),
    distances: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Indicators before and after a plan, side by side, per township or rolled up.

    With ``distances`` (per village, as :func:`township_coverage.metrics.distance_figures`
    takes them), the mean and worst distance before and after follow.
    """
    from township_coverage.metrics import DISTANCE_FIGURES, distance_figures, roll_up

    if by is not None:
        before, after = roll_up(before, by=by), roll_up(after, by=by)
    names = {"before": _PLAN_LABELS[lang]["before"], "after": _PLAN_LABELS[lang]["after"]}
    labels = column_labels(lang, levels)
    keys = ["township_name", "county_name"] if by is None else ["county_name"]
    frame = before[keys].copy()
    for column in PLAN_COMPARED:
        label = labels.get(column, column)
        frame[label + names["before"]] = _whole(before[column]) if column in COUNT_KEYS else before[column]
        frame[label + names["after"]] = _whole(after[column]) if column in COUNT_KEYS else after[column]
    if distances is not None:
        figures = distance_figures(distances, by or "township_code").reindex(frame.index)
        for column in DISTANCE_FIGURES:
            label = _PLAN_LABELS[lang][column]
            frame[label + names["before"]] = figures[f"{column}_before"]
            frame[label + names["after"]] = figures[f"{column}_after"]
    return frame.reset_index().rename(columns=labels)


def write_plan_tables(
    rooms: pd.DataFrame,
    before: pd.DataFrame,
    after: pd.DataFrame,
    folder: Path,
    *,
    lang: str,
    levels: LevelNames = LevelNames(),
    distances: pd.DataFrame | None = None,
) -> list[Path]:
    """Write the proposed rooms (CSV with BOM, GeoJSON) and before/after tables, named :data:`PLAN_TABLE_FILES`.

    ``distances`` (per village, for the distance objectives) adds the mean
    and worst distance before and after to the township and county tables.
    """
    rooms_csv, rooms_geojson, townships_csv, counties_csv = PLAN_TABLE_FILES
    labels = {**column_labels(lang, levels), **_PLAN_LABELS.get(lang, {})}
    table = rooms.copy()
    table["lon"], table["lat"] = table.geometry.x.round(6), table.geometry.y.round(6)
    table = for_people(pd.DataFrame(table[[c for c in PLAN_ROOM_COLUMNS if c in table]]), lang)
    rounded = {"covered_share_after": 4, "mean_distance_after_km": 3, "worst_distance_after_km": 3}
    write_csv(table.round(rounded).rename(columns=labels), folder / rooms_csv)
    # The GeoJSON also keeps the plan's radius, for the static plan map a later report draws.
    kept = [c for c in (*PLAN_ROOM_COLUMNS, "radius_km") if c in rooms and c not in ("lon", "lat")]
    rooms_geo = rooms[kept + ["geometry"]]
    rooms_geo.to_file(folder / rooms_geojson, driver="GeoJSON", engine="pyogrio")
    compared = {"lang": lang, "levels": levels, "distances": distances}
    write_csv(plan_comparison(before, after, **compared).round(4), folder / townships_csv)
    write_csv(plan_comparison(before, after, by="county_code", **compared).round(4), folder / counties_csv)
    return [folder / name for name in PLAN_TABLE_FILES]


def plan_summary(
    rooms: pd.DataFrame, result, problem, *, weight: str, radius_km: float, lang: str = "zh", by_road: bool = False,
) -> str:
    """What the plan proposes and how good it is, for the terminal (``by_road``: the radius is along roads)."""
    from township_coverage.report.content import method_text, status_text

    unit = {"population": ("人", "people"), "villages": ("个村", "villages")}[weight]
    along = ("，沿道路", ", along roads") if by_road else ("", "")
    before = problem.covered_weight / problem.total_weight
    after = (problem.covered_weight + result.gains.sum()) / problem.total_weight
    method, status = method_text(result.method, lang), status_text(result.status, lang)
    if lang == "zh":
        lines = [
            f"拟建社工室 {len(rooms)} 个（服务半径 {radius_km:g} 公里{along[0]}），求解方式：{method}，状态：{status}",
            f"  覆盖比例：{before:.1%} → {after:.1%}（新增覆盖 {result.gains.sum():,.0f} {unit[0]}）",
            f"  上界 {result.bound:,.0f}，与上界差距 {result.gap:.2%}，用时 {result.seconds:.1f} 秒",
        ]
    else:
        lines = [
            f"{len(rooms)} proposed rooms (radius {radius_km:g} km{along[1]}), method: {method}, status: {status}",
            f"  covered share: {before:.1%} -> {after:.1%} ({result.gains.sum():,.0f} {unit[1]} newly covered)",
            f"  bound {result.bound:,.0f}, gap to bound {result.gap:.2%}, {result.seconds:.1f} s",
        ]
    for row in rooms.head(10).itertuples():
        lines.append(f"  {row.order:>3}. {row.county_name} {row.township_name} {row.village_name}: "
                     f"+{row.newly_covered:,.0f} → {row.covered_share_after:.1%}")
    if len(rooms) > 10:
        lines.append(f"  … {len(rooms) - 10} more in plan_rooms.csv")
    return "\n".join(lines)


#: What each distance objective minimises, for the terminal.
_OBJECTIVE_WORDS = {
    "zh": {"distance": "平均距离最小（p-median）", "worst-distance": "最远距离最小（p-center）"},
    "en": {"distance": "smallest mean distance (p-median)", "worst-distance": "smallest worst distance (p-center)"},
}


def distance_plan_summary(
    rooms: pd.DataFrame, result, distances: pd.DataFrame, *, objective: str, weight: str, covered: tuple[float, float],
    lang: str = "zh", by_road: bool = False,
) -> str:
    """What a plan of the distance objectives proposes and how good it is, for the terminal.

    ``distances`` is per village (:func:`township_coverage.metrics.distance_figures`);
    ``covered`` the covered share within the radius before and after.
    """
    from township_coverage.metrics import distance_figures
    from township_coverage.report.content import method_text, status_text

    whole = distance_figures(distances).iloc[0]
    counties = distance_figures(distances, "county_code")
    names = distances.groupby("county_code")["county_name"].first()
    method, status = method_text(result.method, lang), status_text(result.status, lang)
    goal = _OBJECTIVE_WORDS[lang][objective]
    people = weight == "population"

    def figures(row, unit: str, arrow: str, sep: str) -> str:
        return (f"{row.mean_distance_km_before:.2f} {arrow} {row.mean_distance_km_after:.2f} {unit}{sep}"
                f"{'最远' if lang == 'zh' else 'worst'} {row.worst_distance_km_before:.2f} {arrow} "
                f"{row.worst_distance_km_after:.2f} {unit}")

    if lang == "zh":
        mean = "平均距离（按人口加权）" if people else "平均距离（按村计）"
        lines = [
            f"拟建社工室 {len(rooms)} 个，目标：{goal}，求解方式：{method}，状态：{status}",
            f"  到最近社工站（室）的{mean}：{figures(whole, '公里', '→', '；')}（{'沿道路' if by_road else '直线距离'}）",
            f"  下界 {result.bound:.3f} 公里，与下界差距 {result.gap:.2%}，用时 {result.seconds:.1f} 秒",
            f"  服务半径内覆盖比例：{covered[0]:.1%} → {covered[1]:.1%}",
            "  各县区平均距离：",
        ]
    else:
        mean = "population-weighted mean distance" if people else "mean distance (villages)"
        lines = [
            f"{len(rooms)} proposed rooms, objective: {goal}, method: {method}, status: {status}",
            f"  {mean} to the nearest station or room: {figures(whole, 'km', '->', '; ')} ({'along roads' if by_road else 'straight line'})",
            f"  bound {result.bound:.3f} km, gap to bound {result.gap:.2%}, {result.seconds:.1f} s",
            f"  covered share within the radius: {covered[0]:.1%} -> {covered[1]:.1%}",
            "  mean distance by county:",
        ]
    arrow = "→" if lang == "zh" else "->"
    unit = "公里" if lang == "zh" else "km"
    sep = "；" if lang == "zh" else "; "
    lines += [f"    {names[code]}: {figures(row, unit, arrow, sep)}" for code, row in counties.iterrows()]
    for row in rooms.head(10).itertuples():
        lines.append(f"  {row.order:>3}. {row.county_name} {row.township_name} {row.village_name}: "
                     f"{arrow} {row.mean_distance_after_km:.3f} {unit}{sep}{'最远' if lang == 'zh' else 'worst'} "
                     f"{row.worst_distance_after_km:.2f} {unit}")
    if len(rooms) > 10:
        lines.append(f"  … 另有 {len(rooms) - 10} 个见 plan_rooms.csv" if lang == "zh"
                     else f"  … {len(rooms) - 10} more in plan_rooms.csv")
    return "\n".join(lines)


@dataclass(frozen=True)
class ProgressSection:
    """The build-out over time and the changes since the last list, as the reports show them.

    Attributes
    ----------
    sentences
        From the timeline: one for the whole area, then one per county (:func:`progress_sentences`).
    table
        From the timeline: the whole area's figures at each step (:func:`progress_report_table`).
    chart
        The timeline's chart (PNG), when it was drawn.
    caption
        The chart's caption.
    change_sentences
        From the last ``compare`` run in the output folder: one for the
        whole area, then one per county.
    change_table
        The same as a table.
    """

    sentences: Sequence[str] = ()
    table: pd.DataFrame | None = None
    chart: Path | None = None
    caption: str = ""
    change_sentences: Sequence[str] = ()
    change_table: pd.DataFrame | None = None

    @property
    def empty(self) -> bool:
        """Whether there is neither a timeline nor a comparison to show."""
        return not self.sentences and not self.change_sentences


#: Columns of the progress table of the reports.
PROGRESS_COLUMNS = (
    "townships_with_station", "station_share", "stations", "community_rooms", "villages_with_room", "room_share",
    "population_share_within_radius",
)


def progress_report_table(city: pd.DataFrame, *, every: str, lang: str, levels: LevelNames = LevelNames()) -> pd.DataFrame:
    """The whole area's figures at each step, shares in %, for the reports."""
    rows = with_station_share(city)
    frame = pd.DataFrame({"step_label": rows["step"].map(lambda day: step_label(day, every, lang))})
    for column in PROGRESS_COLUMNS:
        if rows[column].notna().any():
            frame[column] = _shown(rows[column], column, share_decimals=1)
    return frame.rename(columns={**column_labels(lang, levels), **_TIMELINE_LABELS[lang]})


def summary_rows(
    city: pd.Series, published: Mapping[str, float], *, radius_km: float, lang: str, levels: LevelNames = LevelNames()
) -> list[tuple[str, str, str]]:
    """City-wide figures as (label, value, published) text."""
    return [
        (label, shown, f"{published[key]:,.0f}" if key in published else "")
        for key, _, label, shown in _summary_figures(city, radius_km=radius_km, lang=lang, levels=levels)
    ]


def _summary_figures(city: pd.Series, *, radius_km: float, lang: str, levels: LevelNames = LevelNames()):
    """(key, value, label, value as text) of each known city-wide figure, in order."""
    labels = column_labels(lang, levels)
    for key in SUMMARY_FIGURES:
        value = city.get(key)
        if value is None or pd.isna(value):
            continue
        shown = f"{100 * value:.1f}%" if key.endswith("share_within_radius") else f"{value:,.0f}"
        label = labels.get(key, key) + (f" ({radius_km:g} km)" if "radius" in key else "")
        yield key, value, label, shown


def _shown(values: pd.Series, column: str, *, share_decimals: int) -> pd.Series:
    """A column as reports show it: shares in % (``share_decimals`` places), other numbers whole, missing empty."""
    if column.endswith("share") or "share_" in column:
        return values.map(lambda v: "" if pd.isna(v) else f"{100 * v:.{share_decimals}f}%")
    return values.map(lambda v: "" if pd.isna(v) else f"{v:,.0f}")


def write_xlsx(
    sheets: Mapping[str, pd.DataFrame], path: Path, *, lang: str = "zh", levels: LevelNames = LevelNames(),
    written: WrittenSheets | None = None,
) -> None:
    """Write tables as sheets of one XLSX workbook (:mod:`township_coverage.report.xlsx`), named by :func:`workbook_sheets`.

    Columns whose header (in ``lang``) is a share, a count or a distance
    get their number format (:func:`number_formats`). ``written`` are
    further sheets, already written by
    :func:`township_coverage.report.xlsx.write_sheets`, that follow these.
    """
    from township_coverage.report import xlsx

    xlsx.write_workbook(workbook_sheets(sheets), path, formats=number_formats(lang, levels), written=written)


_SHEET_NAMES = {
    "zh": {
        "notice": "说明", "townships": "乡镇（街道）", "counties": "县区", "city": "全市", "validation": "数据问题",
        "timeline": "建设进展",
    },
    "en": {
        "notice": "notice", "townships": "townships", "counties": "counties", "city": "city",
        "validation": "validation", "timeline": "progress",
    },
}


def sheet_names(lang: str, levels: LevelNames = LevelNames()) -> dict[str, str]:
    """The workbook's sheet names in ``lang`` by kind (``townships``, ``validation`` ...), with the project's level names."""
    return relabel_values(_SHEET_NAMES[lang], levels, lang)


def workbook_tables(
    tables: Mapping[str, pd.DataFrame],
    validation: Validation,
    *,
    lang: str,
    levels: LevelNames = LevelNames(),
    notice: str = "",
    sources: str = "",
    timeline: pd.DataFrame | None = None,
    plan: Mapping[str, pd.DataFrame] | None = None,
) -> dict[str, pd.DataFrame]:
    """The sheets of ``coverage.xlsx`` before the rows of the point layers, in order and named in ``lang``.

    Parameters
    ----------
    tables
        The township, county and whole-area tables (:func:`table_frames`).
    validation
        The checked inputs, for the sheet of problems.
    notice
        The schematic-data notice and other notes, one a line; when there
        is any, a first sheet says it, with the ``sources``.
    timeline
        The timeline (:func:`timeline_table`), if there is one.
    plan
        The last plan's sheets, by name
        (:func:`township_coverage.report.content.plan_sheets`), if there is one.
    """
    names = sheet_names(lang, levels)
    sheets: dict[str, pd.DataFrame] = {}
    lines = [line for line in notice.splitlines() if line.strip()]
    if lines:
        said = "来源：" if lang == "zh" else "Sources: "
        sheets[names["notice"]] = pd.DataFrame({names["notice"]: [*lines, *([said + sources] if sources else [])]})
    sheets.update({names[kind]: frame for kind, frame in tables.items()})
    sheets[names["validation"]] = validation_table(validation, lang=lang, levels=levels)
    if timeline is not None:
        sheets[names["timeline"]] = timeline
    sheets.update(plan or {})
    return sheets


def workbook_sheets(sheets: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The sheets as a workbook holds them: names cut to 31 characters, long tables over several sheets.

    A table longer than a sheet holds goes into several sheets, numbered
    (``村（社区）逐行 1``, ``村（社区）逐行 2`` ...), each with the header row.
    """
    from township_coverage.report import xlsx

    named = {name[: xlsx.MAX_SHEET_NAME]: frame for name, frame in sheets.items()}
    return xlsx.split_long_tables(named, max_rows=XLSX_MAX_ROWS)


#: Row statuses as the tables show them.
STATUS_LABELS: Mapping[str, Mapping[str, str]] = {
    "zh": {
        "joined": "已匹配",
        "snapped": "已就近归入",
        "outside": "不在任何乡镇内",
        "unmatched_name": "乡镇名称或代码未匹配",
        "invalid": "无效",
        "duplicate_id": "编号重复",
        "not_joined": "未匹配（乡镇图层有误）",
    },
    "en": {},
}
_SEVERITY_LABELS = {"zh": {"error": "错误", "warning": "警告"}, "en": {}}
_PROBLEM_LABELS = {
    "zh": {"severity": "级别", "file": "文件", "sheet": "工作表", "row": "行", "column": "列", "value": "值",
           "message": "说明"},
    "en": {},
}
_ACCOUNTING_LABELS = {
    "zh": {"layer": "图层", "sites": "站点", "villages": "村（社区）", "rows": "合计"},
    "en": {"layer": "layer"},
}


def validation_table(
    validation: Validation, *, lang: str, levels: LevelNames = LevelNames(), file_names: bool = False
) -> pd.DataFrame:
    """Every problem as a row: severity, file, sheet, row, column, value, message; headers and severities in ``lang``.

    The file is its path (``validation.csv``, the workbook), or with
    ``file_names`` only its name (the reports). The message is as the
    checks wrote it.
    """
    table = pd.DataFrame(
        [
            {
                "severity": p.severity,
                "file": p.file.name if file_names else str(p.file),
                "sheet": p.sheet,
                "row": p.row,
                "column": p.column,
                "value": p.value,
                "message": p.message,
            }
            for p in validation.problems
        ],
        columns=["severity", "file", "sheet", "row", "column", "value", "message"],
    ).astype({"row": "Int64"})
    table["severity"] = _relabelled(table["severity"], _SEVERITY_LABELS[lang])
    return table.rename(columns=_PROBLEM_LABELS[lang])


def row_accounting_table(validation: Validation, *, lang: str, levels: LevelNames = LevelNames()) -> pd.DataFrame:
    """Rows per status of each point layer, and their sum; statuses, layers and headers in ``lang``.

    The index (named ``图层`` / ``layer``) holds the layers, so that
    ``reset_index()`` makes it the first column.
    """
    labels = _ACCOUNTING_LABELS[lang]
    statuses = relabel_values(STATUS_LABELS[lang], levels, lang)
    table = validation.row_accounting().rename(columns={**statuses, "rows": labels.get("rows", "rows")})
    return table.rename(index=labels).rename_axis(index=labels["layer"], columns=None)


_JOINED_LABELS = {
    "zh": {
        "file": "文件", "sheet": "工作表", "row": "行", "id": "编号", "name": "名称", "site_type": "类型",
        "status": "状态", "township_code": "乡镇代码", "township_name": "乡镇（街道）", "county_name": "县区",
        "lon": "经度（WGS84）", "lat": "纬度（WGS84）", "village_code": "服务的村（社区）代码",
        "village_link": "村（社区）关联方式", "opened": "建成日期", "closed": "关闭日期", "message": "说明",
    },
    "en": {"lon": "lon (WGS84)", "lat": "lat (WGS84)"},
}
_LINK_LABELS = {"zh": {"code": "按村代码", "position": "按位置（最近的村）", "none": "未关联"}, "en": {}}


def joined_rows_table(
    points: pd.DataFrame,
    source: TableSource,
    townships: pd.DataFrame,
    *,
    id_column: str,
    name_column: str,
    lang: str = "zh",
    levels: LevelNames = LevelNames(),
) -> pd.DataFrame:
    """Every input row of a point layer with what became of it.

    Parameters
    ----------
    points
        The rows of a :class:`township_coverage.join.JoinResult`.
    source
        Where they come from (:class:`township_coverage.inputs.io.TableSource`).
    townships
        Township layer, for the names of the township codes.
    id_column, name_column
        The layer's id and name columns.
    lang
        Language of headers and statuses.
    levels
        The project's names of the administrative levels.

    Returns
    -------
    pandas.DataFrame
        file, sheet, row, id, name, (site type,) status, township code and
        names, WGS84 position, (linked village, opening and closing dates,)
        message; in input order.
    """
    names = townships.set_index("township_code")[["township_name", "county_name"]]
    codes = points["township_code"]
    table = pd.DataFrame(
        {
            "file": source.path.name,
            "sheet": source.sheet or "",
            "row": points["_row"].astype(int),
            "id": points[id_column],
            "name": points[name_column] if name_column in points else "",
        }
    )
    if "site_type" in points:
        table["site_type"] = points["site_type"]
    statuses = relabel_values(STATUS_LABELS[lang], levels, lang)
    table["status"] = _relabelled(points["join_status"], statuses)
    table["township_code"] = codes
    table["township_name"] = codes.map(names["township_name"])
    table["county_name"] = codes.map(names["county_name"])
    table["lon"] = points["lon"].round(7)
    table["lat"] = points["lat"].round(7)
    if "village_link" in points:
        table["village_code"] = points["village_code"].where(points["village_link"].isin(["code", "position"]))
        table["village_link"] = _relabelled(points["village_link"], _LINK_LABELS[lang])
    for column in ("opened", "closed"):
        if f"{column}_as_written" in points:  # the day read from the cell, or the cell as written if it is none
            table[column] = points[column].dt.strftime("%Y-%m-%d").fillna(points[f"{column}_as_written"])
    table["message"] = points["join_detail"]
    return table.rename(columns=relabel_values(_JOINED_LABELS[lang], levels, lang))


def _relabelled(values: pd.Series, labels: Mapping[str, str]) -> pd.Series:
    """Each value by its label, values without one as they are."""
    return values.map(labels).where(values.isin(list(labels)), values) if labels else values


#: Most rows a sheet of an XLSX workbook can hold (below its header); longer tables take several sheets.
XLSX_MAX_ROWS = 1_048_575


def joined_rows_name(layer: str) -> str:
    """File of the table of every row of a point layer (``sites_joined.csv``)."""
    return f"{layer}_joined.csv"


def joined_rows_tables(validation: Validation, *, lang: str, levels: LevelNames = LevelNames()) -> dict[str, pd.DataFrame]:
    """:func:`joined_rows_table` of each point layer that was read, by layer name."""
    joins = {"sites": validation.site_join, "villages": validation.village_join}
    return {
        name: joined_rows_table(
            joins[name].points, validation.sources[name], validation.townships,
            id_column=id_column, name_column=name_column, lang=lang, levels=levels,
        )
        for name, id_column, name_column in POINT_LAYERS
        if joins[name] is not None and name in validation.sources
    }


def joined_rows_sheets(tables: Mapping[str, pd.DataFrame], *, lang: str) -> dict[str, pd.DataFrame]:
    """:func:`joined_rows_tables` as workbook sheets, named in ``lang`` (:func:`workbook_sheets` splits long ones)."""
    titles = {"sites": "站点逐行", "villages": "村（社区）逐行"} if lang == "zh" else {}
    return {titles.get(name, f"{name} rows"): table for name, table in tables.items()}


# --- progress over time -----------------------------------------------------------

#: Name of the whole area in progress tables and sentences.
WHOLE_AREA = {"zh": "全市", "en": "Whole area"}
#: File of :func:`timeline_table` (the chart's are :data:`township_coverage.report.chart.CHART_FILES`).
TIMELINE_FILE = "timeline.csv"
_TIMELINE_LABELS = {
    "zh": {"step": "截至日期", "step_label": "时间点", "station_share": "设有社工站的乡镇比例"},
    "en": {},
}


def with_station_share(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the share of its townships that have a station, after the count of them."""
    share = frame["townships_with_station"] / frame["townships"].where(frame["townships"] > 0)
    at = list(frame.columns).index("townships_with_station") + 1
    return pd.concat([frame.iloc[:, :at], share.rename("station_share"), frame.iloc[:, at:]], axis=1)


def timeline_table(
    city: pd.DataFrame, counties: pd.DataFrame, *, every: str, lang: str, levels: LevelNames = LevelNames(),
) -> pd.DataFrame:
    """The whole area's and each county's figures at each step, one row each, headers in ``lang``.

    Parameters
    ----------
    city, counties
        One row per step (and county, indexed by county code), the step's
        day in ``step`` (as the pipeline's ``Timeline`` holds them).
    every
        ``"yearly"`` or ``"quarterly"``, for the names of the steps.
    """
    whole = city.assign(county_code="", county_name=WHOLE_AREA[lang])
    rows = pd.concat([whole, counties.reset_index()], ignore_index=True)
    rows = rows.sort_values(["step", "county_code"], kind="stable")
    first = ["step", "county_code", "county_name", "townships", "townships_with_station"]
    rows = with_station_share(rows[[*first, *[c for c in rows.columns if c not in first]]])
    rows.insert(1, "step_label", rows["step"].map(lambda day: step_label(day, every, lang)))
    rows["step"] = rows["step"].dt.strftime("%Y-%m-%d")
    rows = for_people(rows, lang)
    labels = {**column_labels(lang, levels), **_TIMELINE_LABELS[lang]}
    return rows.reset_index(drop=True).rename(columns=labels)


def progress_sentences(city: pd.DataFrame, counties: pd.DataFrame, *, every: str, lang: str) -> list[str]:
    """One sentence for the whole area and one per county, from the first step's figures to the last's."""
    first_day, last_day = city["step"].iloc[0], city["step"].iloc[-1]
    since, until = step_label(first_day, every, lang), step_label(last_day, every, lang)
    groups = [(WHOLE_AREA[lang], city.iloc[0], city.iloc[-1])]
    by_county = counties.reset_index().sort_values(["county_code", "step"], kind="stable").groupby("county_code")
    groups += [(rows["county_name"].iloc[-1], rows.iloc[0], rows.iloc[-1]) for _, rows in by_county]
    return [_progress_sentence(name, start, end, since, until, lang) for name, start, end in groups]


def _progress_sentence(name: str, start: pd.Series, end: pd.Series, since: str, until: str, lang: str) -> str:
    """How one area's stations and rooms changed between two steps."""
    def stations(row: pd.Series) -> tuple[int, int, str]:
        total, with_station = int(row["townships"]), int(row["townships_with_station"])
        return with_station, total, f"{with_station / total:.1%}" if total else "—"

    (a, total_a, share_a), (b, total_b, share_b) = stations(start), stations(end)
    rooms_a, rooms_b = int(start["community_rooms"]), int(end["community_rooms"])
    if lang == "zh":
        if b == a:
            stations_said = f"设有社工站的乡镇（街道）自{since}至{until}保持{b}个（共{total_b}个，{share_b}）"
        else:
            stations_said = (f"设有社工站的乡镇（街道）由{since}的{a}个（共{total_a}个，{share_a}）"
                             f"{'增至' if b > a else '减至'}{until}的{b}个（共{total_b}个，{share_b}）")
        rooms_said = f"社工室保持{rooms_b}个" if rooms_b == rooms_a else (
            f"社工室由{rooms_a}个{'增至' if rooms_b > rooms_a else '减至'}{rooms_b}个")
        return f"{name}：{stations_said}；{rooms_said}。"
    since, until = (f"at the {label}" if label.startswith("end of") else f"on {label}" for label in (since, until))
    verb = "rose" if b > a else "fell" if b < a else "stayed"
    change = f"from {a} of {total_a} ({share_a}) {since} to {b} of {total_b} ({share_b}) {until}"
    if b == a:
        change = f"at {b} of {total_b} ({share_b}) {since} and {until}"
    rooms_said = f"stayed at {rooms_b}" if rooms_b == rooms_a else f"went from {rooms_a} to {rooms_b}"
    return f"{name}: townships with a station {verb} {change}; community rooms {rooms_said}."
