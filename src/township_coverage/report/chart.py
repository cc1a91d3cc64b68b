"""The progress chart: the share of townships with a station, and of villages with a room, over time per county."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from township_coverage.report.staticmap import find_cjk_font, save_as, text_style
from township_coverage.inputs.dates import step_label
from township_coverage.report.tables import WHOLE_AREA

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
