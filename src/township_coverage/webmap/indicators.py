"""Which indicators the map shows, and how each is classed and coloured."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from township_coverage.inputs.config import ClassScheme

NO_DATA_COLOUR = "#d9d9d9"
# ColorBrewer sequential schemes, 9 classes (colorbrewer2.org); fewer
# classes take evenly spaced colours from them.
PALETTES = {
    "YlGnBu": ("#ffffd9", "#edf8b1", "#c7e9b4", "#7fcdbb", "#41b6c4", "#1d91c0", "#225ea8", "#253494", "#081d58"),
    "OrRd": ("#fff7ec", "#fee8c8", "#fdd49e", "#fdbb84", "#fc8d59", "#ef6548", "#d7301f", "#b30000", "#7f0000"),
}
YES_NO_COLOURS = {True: "#2c7fb8", False: "#e34a33"}


@dataclass(frozen=True)
class Indicator:
    """An indicator column as the map shows it.

    Attributes
    ----------
    column
        Column of the coverage table.
    label
        Label per interface language (``"zh"``, ``"en"``).
    unit
        Unit per language, shown in the legend ("" for none).
    kind
        ``"count"``, ``"share"`` (0-1, shown as %), ``"number"`` or ``"yes_no"``.
    palette
        Key of :data:`PALETTES`.
    """

    column: str
    label: dict[str, str]
    unit: dict[str, str]
    kind: str
    palette: str = "YlGnBu"


INDICATORS = (
    Indicator("station_staff", {"zh": "社工站工作人员", "en": "Station staff"}, {"zh": "人", "en": "persons"}, "count"),
    Indicator("community_rooms", {"zh": "社工室数量", "en": "Community rooms"}, {"zh": "个", "en": "rooms"}, "count"),
    Indicator("room_share", {"zh": "设有社工室的村（社区）比例", "en": "Villages with a room"}, {"zh": "%", "en": "%"}, "share"),
    Indicator(
        "population_share_within_radius",
        {"zh": "服务半径内人口比例", "en": "Population within radius"},
        {"zh": "%", "en": "%"},
        "share",
    ),
    Indicator(
        "uncovered_population",
        {"zh": "服务半径外人口", "en": "Population outside radius"},
        {"zh": "人", "en": "persons"},
        "number",
        palette="OrRd",
    ),
    Indicator(
        "gap_score",
        {"zh": "新建社工室缺口得分", "en": "Gap score for new rooms"},
        {"zh": "分", "en": "points"},
        "number",
        palette="OrRd",
    ),
    Indicator("has_station", {"zh": "是否设有社工站", "en": "Has a station"}, {"zh": "", "en": ""}, "yes_no"),
)


@dataclass(frozen=True)
class Classes:
    """Colours of each township and the legend rows for one indicator."""

    colours: pd.Series
    legend: list[tuple[str, str]]  # (colour, label)


def classify(
    values: pd.Series, indicator: Indicator, *, lang: str, scheme: ClassScheme | None = None
) -> Classes:
    """Class ``values`` and colour them.

    Parameters
    ----------
    values
        One value per township.
    indicator
        What the values are.
    lang
        Language of the legend labels.
    scheme
        Classification; by default Fisher-Jenks natural breaks (exact and
        deterministic) for quantities and fixed 20 % steps for shares.
    """
    no_data = "无数据" if lang == "zh" else "no data"
    if indicator.kind == "yes_no":
        yes, no = ("是", "否") if lang == "zh" else ("yes", "no")
        colours = values.map(lambda v: YES_NO_COLOURS[bool(v)] if pd.notna(v) else NO_DATA_COLOUR)
        legend = [(YES_NO_COLOURS[True], yes), (YES_NO_COLOURS[False], no)]
        return Classes(colours, legend + _no_data_row(values, no_data))

    if scheme is None:
        scheme = ClassScheme("fixed", bins=(0.2, 0.4, 0.6, 0.8, 1.0)) if indicator.kind == "share" else ClassScheme()
    known = values.dropna().astype(float)
    exact = scheme.scheme != "fixed" and known.nunique() <= scheme.k
    bins = np.sort(known.unique()) if exact else _bins(known.to_numpy(), scheme)
    if len(bins) == 0:
        bins = np.array([0.0])
    palette = PALETTES[indicator.palette]
    colours_used = [palette[i] for i in np.linspace(0, len(palette) - 1, len(bins) + (len(bins) < 3)).round().astype(int)]
    colours_used = colours_used[-len(bins):]
    index = np.minimum(np.searchsorted(bins, values.fillna(0).to_numpy(dtype=float), side="left"), len(bins) - 1)
    colours = pd.Series(np.array(colours_used)[index], index=values.index).where(values.notna(), NO_DATA_COLOUR)
    legend = [
        (colour, _bin_label(None if exact else lower, upper, indicator.kind, exact=exact))
        for colour, lower, upper in zip(colours_used, [None, *bins[:-1]], bins)
    ]
    return Classes(colours, legend + _no_data_row(values, no_data))


def _bins(values: np.ndarray, scheme: ClassScheme) -> np.ndarray:
    """Class upper bounds by a mapclassify classifier."""
    import mapclassify

    if scheme.scheme == "fixed":
        upper = max(values.max(initial=0.0), scheme.bins[-1])
        return np.array([*scheme.bins[:-1], upper])
    classifier = {
        "natural_breaks": mapclassify.FisherJenks,
        "quantiles": mapclassify.Quantiles,
        "equal_interval": mapclassify.EqualInterval,
    }[scheme.scheme]
    with warnings.catch_warnings():
        # Without numba, mapclassify says it uses pure Python; at township
        # counts that is fast enough. Ties can merge quantile classes.
        warnings.filterwarnings("ignore", message="Numba not installed")
        warnings.filterwarnings("ignore", message=".*not enough unique values", category=UserWarning)
        warnings.filterwarnings("ignore", message="Not enough unique values")
        return np.unique(classifier(values, k=scheme.k).bins)


def format_value(value: object, indicator: Indicator, *, lang: str) -> str:
    """A value as text with its unit, for tooltips and popups."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return "无数据" if lang == "zh" else "no data"
    if indicator.kind == "yes_no":
        return ("是" if value else "否") if lang == "zh" else ("yes" if value else "no")
    if indicator.kind == "share":
        return f"{100 * float(value):.0f}%"
    unit = indicator.unit[lang]
    return f"{float(value):,.0f} {unit}".strip()


def _bin_label(lower: float | None, upper: float, kind: str, *, exact: bool = False) -> str:
    def show(x: float) -> str:
        return f"{100 * x:.0f}%" if kind == "share" else f"{x:,.0f}"

    if exact:
        return show(upper)
    if lower is None:
        return f"≤ {show(upper)}"
    return f"{show(lower)} – {show(upper)}"


def _no_data_row(values: pd.Series, label: str) -> list[tuple[str, str]]:
    return [(NO_DATA_COLOUR, label)] if values.isna().any() else []
