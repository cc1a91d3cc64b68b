"""Tables and text summaries of a run, for people and for spreadsheets."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from township_coverage.io import write_csv

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


def labelled(table: pd.DataFrame, lang: str) -> pd.DataFrame:
    """The table with its index as a column and headers in ``lang``."""
    return table.reset_index().rename(columns=dict(COLUMN_LABELS.get(lang, {})))


def write_tables(
    townships: pd.DataFrame, counties: pd.DataFrame, city: pd.Series, folder: Path, *, lang: str
) -> list[Path]:
    """Write township, county and city tables as CSV (UTF-8 with BOM).

    Returns
    -------
    list of Path
        The files written.
    """
    outputs = {
        "township_coverage.csv": labelled(townships, lang),
        "county_coverage.csv": labelled(counties, lang),
        "city_summary.csv": labelled(city.to_frame().T.rename_axis("scope"), lang),
    }
    for name, frame in outputs.items():
        write_csv(frame.round(4), folder / name)
    return [folder / name for name in outputs]


def summary_text(
    title: str,
    city: pd.Series,
    *,
    published: Mapping[str, float],
    context: Mapping[str, str],
    published_source: str,
    radius_km: float,
    lang: str = "zh",
) -> str:
    """A short city-wide summary, with published figures beside computed ones."""
    labels = dict(COLUMN_LABELS.get(lang, {}))
    said_published = "公布" if lang == "zh" else "published"
    lines = [title]
    for key in SUMMARY_FIGURES:
        value = city.get(key)
        if value is None or pd.isna(value):
            continue
        shown = f"{100 * value:.1f}%" if key.endswith("share_within_radius") else f"{value:,.0f}"
        if key == "townships_with_station" and city["townships"]:
            shown += f" ({100 * value / city['townships']:.1f}%)"
        label = labels.get(key, key)
        if "radius" in key:
            label += f" ({radius_km:g} km)"
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
