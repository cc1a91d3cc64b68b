"""Charts of the reports: the progress over time per county, and bar charts of shares by county."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from township_coverage.report.staticmap import find_cjk_font, save_as, text_style
from township_coverage.inputs.dates import step_label
from township_coverage.report.tables import WHOLE_AREA

if TYPE_CHECKING:
    from township_coverage.report.content import PlanFacts

#: Files of :func:`draw_progress_chart`.
CHART_FILES = ("timeline_chart.png", "timeline_chart.svg")
#: Characters per line of the footer (sources and notice).
FOOTER_CHARACTERS = 110
#: Above this many counties the chart shows the range of the counties instead of a line each.
MAX_COUNTY_LINES = 20
_TEXT = {
    "zh": {"station": "设有社工站的乡镇（街道）比例", "room": "设有社工室的村（社区）比例", "range": "各县区范围"},
    "en": {"station": "Townships with a station", "room": "Villages with a room", "range": "range of the counties"},
}


def draw_progress_chart(
    city: pd.DataFrame, counties: pd.DataFrame, folder: Path, *, every: str, title: str, lang: str = "zh",
    footer: str = "",
) -> list[Path]:
    """Draw the shares over time as :data:`CHART_FILES` in ``folder``.

    One panel for the share of townships with a station and, when the
    project has villages, one for the share of villages with a room; a
    line per county (the whole area in black), or the counties' range when
    there are more than :data:`MAX_COUNTY_LINES`.

    Parameters
    ----------
    city, counties
        One row per step (and county), the day in ``step``.
    every
        ``"yearly"`` or ``"quarterly"``, for the names of the steps.

    Raises
    ------
    FontNotFoundError
        If no font for Chinese text is installed.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    font = find_cjk_font()
    counties = counties.reset_index()
    shares = {"station": lambda rows: rows["townships_with_station"] / rows["townships"]}
    if city["villages"].fillna(0).sum() > 0:
        shares["room"] = lambda rows: rows["villages_with_room"] / rows["villages"]
    text = _TEXT[lang]
    with text_style(font):
        figure, panels = plt.subplots(1, len(shares), figsize=(11.69, 5.2), squeeze=False)
        for axes, (key, share) in zip(panels[0], shares.items()):
            highest = _draw_panel(axes, city, counties, share, lang=lang)
            axes.set_title(text[key], fontsize=11)
            axes.set_ylim(0, min(1.02, max(0.1, highest * 1.15)))
        steps = list(city["step"])
        labels = [step_label(day, every, lang) for day in steps]
        for axes in panels[0]:
            axes.set_xticks(steps, labels, rotation=30 if len(steps) > 4 else 0, ha="right" if len(steps) > 4 else "center")
            axes.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0, decimals=0))
            axes.grid(axis="y", color="#dddddd", linewidth=0.6)
            axes.spines[["top", "right"]].set_visible(False)
        handles, names = panels[0][0].get_legend_handles_labels()
        figure.legend(handles, names, loc="center left", bbox_to_anchor=(0.84, 0.5), fontsize=8, frameon=False)
        figure.suptitle(title, fontsize=13)
        lines = [footer[start:start + FOOTER_CHARACTERS] for start in range(0, len(footer), FOOTER_CHARACTERS)]
        if lines:
            figure.text(0.01, 0.01, "\n".join(lines), fontsize=7, color="#555555", ha="left", va="bottom")
        figure.tight_layout(rect=(0, 0.02 + 0.025 * len(lines), 0.83, 0.95))
        paths = [save_as(figure, folder / name, dpi=150) for name in CHART_FILES]
        plt.close(figure)
    return paths


def _draw_panel(axes, city: pd.DataFrame, counties: pd.DataFrame, share, *, lang: str) -> float:
    """A line per county (or their range) and the whole area's line; returns the highest share drawn."""
    codes: Sequence[str] = sorted(counties["county_code"].unique())
    if len(codes) <= MAX_COUNTY_LINES:
        colours = _colours(len(codes))
        for code, colour in zip(codes, colours):
            rows = counties[counties["county_code"] == code].sort_values("step")
            axes.plot(rows["step"], share(rows), color=colour, linewidth=1.2, marker="o", markersize=3,
                      label=rows["county_name"].iloc[-1])
    else:
        by_step = counties.assign(share=share(counties)).groupby("step")["share"]
        axes.fill_between(by_step.min().index, by_step.min(), by_step.max(), color="#9ecae1", alpha=0.5,
                          label=_TEXT[lang]["range"])
    axes.plot(city["step"], share(city), color="black", linewidth=2.4, marker="o", markersize=4, label=WHOLE_AREA[lang])
    return float(pd.concat([share(counties), share(city)]).max(skipna=True) or 0.0)


def _colours(count: int) -> list:
    """``count`` distinct colours (matplotlib's tab20)."""
    from matplotlib import colormaps

    palette = colormaps["tab20"]
    return [palette(i % 20) for i in range(count)]


# --- bar charts by county ----------------------------------------------------------

#: Above this many counties the bar charts are left out (a bar each would be unreadable).
MAX_COUNTY_BARS = 40
#: Width of the bar charts: the text width of an A4 portrait page with government-report margins (15.6 cm).
BAR_CHART_WIDTH_IN = 15.6 / 2.54
_BAR_TEXT = {
    "zh": {"population": "服务半径内人口比例", "room": "设有社工室的村（社区）比例", "before": "规划前", "after": "规划后"},
    "en": {"population": "Population within the radius", "room": "Villages with a room", "before": "Before",
           "after": "After"},
}


def draw_county_chart(counties: pd.DataFrame, path: Path, *, lang: str = "zh") -> Path | None:
    """Bars of the share of people within the radius and of villages with a room, per county.

    Counties are sorted by the share of people within the radius, highest
    first. Returns ``None`` (nothing drawn) when there is no share to show
    or more than :data:`MAX_COUNTY_BARS` counties.
    """
    text = _BAR_TEXT[lang]
    series = {text[key]: counties[column] for key, column in
              (("population", "population_share_within_radius"), ("room", "room_share"))
              if column in counties and counties[column].notna().any()}
    if not series:
        return None
    order = counties[next(iter(series.values())).name].sort_values(ascending=True, na_position="first").index
    names = counties.loc[order, "county_name"].astype(str)
    return _draw_bars(names, {label: values.loc[order] for label, values in series.items()}, path,
                      colours=("#2c7fb8", "#a1dab4"))


def draw_plan_chart(plan: PlanFacts, path: Path, *, lang: str = "zh") -> Path | None:
    """Bars of each county's covered share before and after the plan, sorted by the share after."""
    from township_coverage.report.content import _county_share

    people = plan.parameters["weight"] == "population"
    text = _BAR_TEXT[lang]
    frame = pd.DataFrame({
        "name": [str(c["county_name"]) for c in plan.counties],
        "before": [_county_share(c, "before", people) for c in plan.counties],
        "after": [_county_share(c, "after", people) for c in plan.counties],
    }).sort_values("after", ascending=True, na_position="first")
    if frame[["before", "after"]].isna().all().all():
        return None
    return _draw_bars(frame["name"], {text["before"]: frame["before"], text["after"]: frame["after"]}, path,
                      colours=("#bdbdbd", "#e6550d"))


def _draw_bars(names: pd.Series, series: Mapping[str, pd.Series], path: Path, *, colours: Sequence[str]) -> Path | None:
    """Horizontal grouped bars, a group per name (bottom to top as given), shares in %, drawn at print size."""
    if len(names) == 0 or len(names) > MAX_COUNTY_BARS:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    rows = np.arange(len(names))
    height = 0.8 / len(series)
    with text_style(find_cjk_font()):
        figure, axes = plt.subplots(figsize=(BAR_CHART_WIDTH_IN, 1.1 + 0.3 * len(names) * max(1, len(series) / 1.5)))
        for i, ((label, values), colour) in enumerate(zip(series.items(), colours)):
            offset = (i - (len(series) - 1) / 2) * height
            bars = axes.barh(rows - offset, values.to_numpy(dtype=float), height=height, color=colour, label=label)
            axes.bar_label(bars, labels=["" if pd.isna(v) else f"{100 * v:.1f}%" for v in values], fontsize=7,
                           padding=2)
        axes.set_yticks(rows, list(names), fontsize=9)
        axes.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0, decimals=0))
        axes.set_xlim(0, 1.12)
        axes.tick_params(axis="x", labelsize=8)
        axes.grid(axis="x", color="#dddddd", linewidth=0.6)
        axes.set_axisbelow(True)
        axes.spines[["top", "right"]].set_visible(False)
        axes.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=len(series), fontsize=9, frameon=False)
        figure.tight_layout()
        save_as(figure, path, dpi=200)
        plt.close(figure)
    return path
