"""Colour classes of the township indicators, shared by the web map and the static maps.

What each indicator is (label, unit, kind, palette), how its values are split
into classes and coloured, and how a value is written. A run classifies each
indicator once (:func:`classify_table`) and hands the same :class:`Classes`
to the interactive map, the static maps and the atlas.

Natural breaks are Fisher-Jenks: exact (dynamic programming over the
distinct values, each weighted by how often it occurs) up to
:data:`EXACT_BREAKS_LIMIT` distinct values; above that, Fisher-Jenks on the
values at evenly spaced ranks of the sorted values (no randomness), after
which each break moves to the best split between its neighbouring sample
values among all values. Quantiles and equal intervals are computed as
mapclassify's classifiers compute them, in NumPy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
#: ColorBrewer diverging BrBG, 7 classes: losses brown, no change grey, gains teal.
DIVERGING_PALETTE = ("#8c510a", "#d8b365", "#f6e8c3", "#f5f5f5", "#c7eae5", "#5ab4ac", "#01665e")
#: Natural breaks are exact up to this many distinct values (about 0.3 s);
#: above it they are found on a sample of this many values.
EXACT_BREAKS_LIMIT = 1000


@dataclass(frozen=True)
class Indicator:
    """An indicator column as the maps show it.

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


#: Indicators of the map of changes between two site lists (``compare``), per township.
CHANGE_INDICATORS = (
    Indicator("net_change", {"zh": "站点净增减", "en": "Net change in sites"}, {"zh": "个", "en": "sites"}, "count"),
    Indicator("opened", {"zh": "新增站点", "en": "Sites opened"}, {"zh": "个", "en": "sites"}, "count"),
    Indicator("closed", {"zh": "撤销站点", "en": "Sites closed"}, {"zh": "个", "en": "sites"}, "count", palette="OrRd"),
    Indicator("moved", {"zh": "迁移站点", "en": "Sites moved"}, {"zh": "个", "en": "sites"}, "count"),
    Indicator("sites_after", {"zh": "现有站点", "en": "Sites now"}, {"zh": "个", "en": "sites"}, "count"),
    Indicator("has_station_after", {"zh": "现设有社工站", "en": "Has a station now"}, {"zh": "", "en": ""}, "yes_no"),
)


def change_classes(values: pd.Series, *, lang: str) -> Classes:
    """Classes of a whole-number change (gains and losses), diverging around no change.

    No change is grey, losses brown and gains teal (:data:`DIVERGING_PALETTE`),
    equal changes up or down in colours of equal strength. Up to a change
    of 3 either way each value is a class; beyond, gains and losses are
    split into up to three classes of equal width (the last one ending at
    the largest change).

    Parameters
    ----------
    values
        Change per township (missing values are "no data").
    lang
        Language of the legend labels.
    """
    known = values.dropna().astype(float)
    largest = int(np.ceil(known.abs().max())) if len(known) else 0
    width = max(1, int(np.ceil(largest / 3)))
    uppers = [1, 2, 3][: max(largest, 0)] if largest <= 3 else sorted({width, 2 * width, largest})
    # Class of each value: 0 for no change, +k / -k for the k-th class up / down.
    numbers = values.fillna(0).to_numpy(dtype=float)
    magnitude = np.searchsorted(np.array(uppers, dtype=float), np.abs(numbers)) + 1
    step = np.where(numbers == 0, 0, np.sign(numbers) * magnitude).astype(int)
    colours = pd.Series(np.array(DIVERGING_PALETTE)[3 + step], index=values.index).where(values.notna(), NO_DATA_COLOUR)
    lowers = [1, *[u + 1 for u in uppers[:-1]]]

    def label(lower: int, upper: int, sign: str) -> str:
        if lower == upper:
            return f"{sign}{upper}"
        return f"−{upper} – −{lower}" if sign == "−" else f"+{lower} – +{upper}"

    classes = list(zip(range(1, len(uppers) + 1), lowers, uppers))
    legend = [(DIVERGING_PALETTE[3 - k], label(lower, upper, "−")) for k, lower, upper in reversed(classes)]
    legend.append((DIVERGING_PALETTE[3], "0"))
    legend += [(DIVERGING_PALETTE[3 + k], label(lower, upper, "+")) for k, lower, upper in classes]
    no_data = "无数据" if lang == "zh" else "no data"
    bounds = tuple(float(-u) for u in uppers[::-1]) + (0.0,) + tuple(float(u) for u in uppers)
    return Classes(colours, legend + _no_data_row(values, no_data), bounds)


def indicator_by_column(column: str) -> Indicator:
    """The indicator of :data:`INDICATORS` shown from ``column``.

    Raises
    ------
    ValueError
        If no indicator uses that column (the message lists those that do).
    """
    for indicator in INDICATORS:
        if indicator.column == column:
            return indicator
    raise ValueError(f"unknown indicator {column!r}; allowed: {', '.join(i.column for i in INDICATORS)}")


@dataclass(frozen=True)
class Classes:
    """Colours of each township and the legend rows for one indicator.

    Attributes
    ----------
    colours
        Colour per township, aligned to the classified values' index.
    legend
        ``(colour, label)`` rows, in class order, with a "no data" row last
        when some value is missing.
    bounds
        Upper bounds of the classes (empty for yes/no indicators).
    """

    colours: pd.Series
    legend: list[tuple[str, str]]
    bounds: tuple[float, ...] = ()

    def colours_for(self, index: pd.Index) -> np.ndarray:
        """The colours of the townships in ``index``, in its order.

        Raises
        ------
        ValueError
            If a township in ``index`` was not classified.
        """
        missing = index.difference(self.colours.index)
        if len(missing):
            raise ValueError(
                f"{len(missing)} township(s) have no class, e.g. {missing[0]!r}: "
                "the classes were computed from another table"
            )
        return self.colours.loc[index].to_numpy()


def classify_table(
    table: pd.DataFrame,
    schemes: Mapping[str, ClassScheme] | None = None,
    *,
    lang: str,
    columns: Sequence[str] | None = None,
) -> dict[str, Classes]:
    """Class every indicator of a coverage table once, for all maps of a run.

    Parameters
    ----------
    table
        One row per township with the indicator columns.
    schemes
        Classification per column (the project's ``[classes]``); columns
        without one get the default of :func:`classify`.
    lang
        Language of the legend labels.
    columns
        Indicator columns to class; by default every one of :data:`INDICATORS`.

    Returns
    -------
    dict
        Indicator column -> its classes.
    """
    schemes = schemes or {}
    columns = [i.column for i in INDICATORS] if columns is None else list(columns)
    return {
        column: classify(table[column], indicator_by_column(column), lang=lang, scheme=schemes.get(column))
        for column in columns
    }


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
        Classification; by default natural breaks (:func:`natural_breaks`,
        deterministic) for quantities and fixed 20 % steps for shares.
        With no more distinct values than classes, each value is a class.
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
    bins = np.sort(known.unique()) if exact else class_bounds(known.to_numpy(), scheme)
    if len(bins) == 0:
        bins = np.array([0.0])
    palette = PALETTES[indicator.palette]
    colours_used = [palette[i] for i in np.linspace(0, len(palette) - 1, len(bins) + (len(bins) < 3)).round().astype(int)]
    colours_used = colours_used[-len(bins):]
    # Whole-number counts: a class (lower, upper] holds lower + 1 ... upper, and says so.
    whole = indicator.kind == "count" and bool(np.all(known == np.round(known)))
    index = np.minimum(np.searchsorted(bins, values.fillna(0).to_numpy(dtype=float), side="left"), len(bins) - 1)
    colours = pd.Series(np.array(colours_used)[index], index=values.index).where(values.notna(), NO_DATA_COLOUR)
    # The first class of whole numbers starts at the least value: "0 – 2", not "≤ 2".
    first = float(known.min()) - 1 if whole and len(known) else None
    legend = [
        (colour, _bin_label(None if exact else lower, upper, indicator.kind, exact=exact, whole=whole))
        for colour, lower, upper in zip(colours_used, [first, *bins[:-1]], bins)
    ]
    return Classes(colours, legend + _no_data_row(values, no_data), tuple(float(b) for b in bins))


def class_bounds(values: np.ndarray, scheme: ClassScheme) -> np.ndarray:
    """Upper bounds of the classes of ``values`` (no missing values) by a scheme.

    Parameters
    ----------
    values
        The values to class.
    scheme
        ``fixed`` takes the scheme's bounds (the last raised to the
        largest value); ``natural_breaks`` is :func:`natural_breaks`;
        ``quantiles`` and ``equal_interval`` are computed as mapclassify's
        ``Quantiles`` and ``EqualInterval`` (in NumPy, without its import cost).

    Returns
    -------
    numpy.ndarray
        Increasing upper bounds; ties can merge classes, so there may be
        fewer than ``scheme.k``.
    """
    if scheme.scheme == "fixed":
        upper = max(values.max(initial=0.0), scheme.bins[-1])
        return np.array([*scheme.bins[:-1], upper])
    if scheme.scheme == "natural_breaks":
        return natural_breaks(values, scheme.k)
    if scheme.scheme == "quantiles":
        return _quantile_bounds(values, scheme.k)
    if scheme.scheme == "equal_interval":
        return _equal_interval_bounds(values, scheme.k)
    raise ValueError(f"unknown class scheme {scheme.scheme!r}; allowed: natural_breaks, quantiles, equal_interval, fixed")


def _quantile_bounds(values: np.ndarray, k: int) -> np.ndarray:
    """The k-quantiles (linear interpolation), ties merged: mapclassify's ``Quantiles`` bins."""
    if len(values) == 0:
        return np.asarray(values, dtype=float)
    step = 100.0 / k
    percents = np.arange(step, 100 + step, step)
    percents[-1] = min(percents[-1], 100.0)
    return np.unique(np.percentile(values, percents))


def _equal_interval_bounds(values: np.ndarray, k: int) -> np.ndarray:
    """Equal steps from the least to the largest value: mapclassify's ``EqualInterval`` bins."""
    if len(values) == 0:
        return np.asarray(values, dtype=float)
    low, high = float(np.min(values)), float(np.max(values))
    width = (high - low) / k
    if width == 0:
        return np.array([high])
    cuts = np.arange(low + width, high + width, width)[:k]
    cuts[-1] = high
    return np.unique(cuts)


def natural_breaks(values: np.ndarray, k: int, *, exact_limit: int = EXACT_BREAKS_LIMIT) -> np.ndarray:
    """Fisher-Jenks natural breaks: ``k`` classes with least squared deviation from their means.

    Exact up to ``exact_limit`` distinct values. Above it, the breaks are
    found on ``exact_limit`` values at evenly spaced ranks of the sorted
    values, and each break then moves to the split, among all values
    between the sample values on either side of it, that leaves the two
    classes it divides with the least squared deviation. Always the same
    result for the same values.

    Parameters
    ----------
    values
        Values to class (no missing values).
    k
        Number of classes.
    exact_limit
        Largest number of distinct values classed exactly.

    Returns
    -------
    numpy.ndarray
        Upper bounds of the classes, increasing, the last the largest value;
        fewer than ``k`` when there are fewer distinct values.
    """
    values = np.sort(np.asarray(values, dtype=float))
    if len(values) == 0:
        return values
    distinct, counts = np.unique(values, return_counts=True)
    if len(distinct) <= k:
        return distinct
    if len(distinct) <= exact_limit:
        return _fisher_jenks(distinct, counts, k)
    ranks = np.linspace(0, len(values) - 1, exact_limit).round().astype(int)
    sample, sample_counts = np.unique(values[ranks], return_counts=True)
    bounds = _fisher_jenks(sample, sample_counts, min(k, len(sample)))
    return _refine_breaks(bounds, sample, distinct, counts)


def _fisher_jenks(values: np.ndarray, weights: np.ndarray, k: int) -> np.ndarray:
    """Exact weighted Fisher-Jenks on sorted distinct ``values``: the upper bounds of ``k`` classes."""
    m = len(values)
    if k >= m:
        return values.copy()
    sums = _prefix_sums(values, weights)
    start = np.arange(m + 1)[:, None]
    end = np.arange(m + 1)[None, :]
    cost = _squared_deviation(sums, start, end)  # cost[a, b]: one class of values[a:b]
    best = cost[0].copy()  # least cost of values[:b] in one class
    choices = []
    for _ in range(1, k):
        total = best[:, None] + cost
        choice = np.argmin(total, axis=0)
        best = total[choice, np.arange(m + 1)]
        choices.append(choice)
    ends = [m]
    for choice in reversed(choices):
        ends.append(int(choice[ends[-1]]))
    return values[np.array(ends[::-1]) - 1]


def _prefix_sums(values: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cumulative weight, weighted sum and weighted sum of squares, from 0, of centred values."""
    centred = values - np.average(values, weights=weights)
    weights = weights.astype(float)
    return tuple(np.concatenate([[0.0], np.cumsum(part)]) for part in (weights, weights * centred, weights * centred**2))


def _squared_deviation(sums, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Squared deviation from the mean of the values ``[start:end]``; infinite for empty classes."""
    weight, total, squares = sums
    with np.errstate(divide="ignore", invalid="ignore"):
        w = weight[end] - weight[start]
        deviation = squares[end] - squares[start] - (total[end] - total[start]) ** 2 / w
    return np.where(end > start, np.maximum(deviation, 0.0), np.inf)


def _refine_breaks(bounds: np.ndarray, sample: np.ndarray, distinct: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Move each inner break of a sample's classes to the best split among all values near it."""
    sums = _prefix_sums(distinct, counts)
    ends = np.searchsorted(distinct, bounds, side="right")  # classes are distinct[ends[i-1]:ends[i]]
    for i in range(len(ends) - 1):
        position = np.searchsorted(sample, bounds[i])
        below = sample[position - 1] if position > 0 else distinct[0]
        above = sample[position + 1]
        low = max(int(np.searchsorted(distinct, below, side="left")) + 1, (ends[i - 1] if i else 0) + 1)
        high = min(int(np.searchsorted(distinct, above, side="left")), ends[i + 1] - 1)
        if high <= low:
            continue
        candidates = np.arange(low, high + 1)
        first = ends[i - 1] if i else 0
        cost = _squared_deviation(sums, first, candidates) + _squared_deviation(sums, candidates, ends[i + 1])
        ends[i] = candidates[np.argmin(cost)]
    return distinct[ends - 1]


def format_value(value: object, indicator: Indicator, *, lang: str) -> str:
    """A value as text with its unit, for tooltips, popups and atlas tables."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return "无数据" if lang == "zh" else "no data"
    if indicator.kind == "yes_no":
        return ("是" if value else "否") if lang == "zh" else ("yes" if value else "no")
    if indicator.kind == "share":
        return f"{100 * float(value):.0f}%"
    unit = indicator.unit[lang]
    return f"{float(value):,.0f} {unit}".strip()


def _bin_label(lower: float | None, upper: float, kind: str, *, exact: bool = False, whole: bool = False) -> str:
    """Legend label of the class ``(lower, upper]``: its value, or its range (``≤ upper`` for the first).

    With ``whole`` (whole-number values) the range is the whole numbers it
    holds (``lower + 1`` to ``upper``), so that neighbouring labels do not
    share a number, and a class of one number is labelled by it.
    """

    def show(x: float) -> str:
        return f"{100 * x:.0f}%" if kind == "share" else f"{x:,.0f}"

    if exact:
        return show(upper)
    if whole:
        upper = float(np.floor(upper))
    if lower is None:
        return f"≤ {show(upper)}"
    if whole:
        lower = float(np.floor(lower)) + 1
        if lower >= upper:
            return show(upper)
    return f"{show(lower)} – {show(upper)}"


def _no_data_row(values: pd.Series, label: str) -> list[tuple[str, str]]:
    """The legend's "no data" row, when a value is missing."""
    return [(NO_DATA_COLOUR, label)] if values.isna().any() else []
