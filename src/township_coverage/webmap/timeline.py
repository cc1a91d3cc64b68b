"""The coverage map with a time slider: the townships and sites at each step of the build-out.

One page, the page of :func:`township_coverage.webmap.build_coverage_map`,
with one more part in its data: per step its label, date and day number,
per indicator the class letters and display values of every step, and per
site layer each site's opening and closing day. ``timeline.js`` puts the
chosen step's letters and values in place and shows only the sites open on
its day. The classes are computed from the values of all steps together,
so that a colour means the same at every step.

Days are numbered from 1970-01-01 (day 0). A site is open on day ``d``
when it has no opening date or opened on or before ``d``, and it has no
closing date or closes after ``d``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import folium
import geopandas as gpd
import numpy as np
import pandas as pd

from township_coverage.cache import Remember
from township_coverage.classes import INDICATORS, Classes, classify_table
from township_coverage.geometry import varint_base64, zigzag
from township_coverage.inputs.config import ClassScheme
from township_coverage.inputs.dates import day_text
from township_coverage.webmap import page_data
from township_coverage.webmap.build import MapOptions, build_page, check_options, fit_size_budget
from township_coverage.webmap.text import TEXT

#: Columns of the sites with the opening and closing dates.
DATE_COLUMNS = ("opened", "closed")
_EPOCH = np.datetime64("1970-01-01", "D")


@dataclass(frozen=True)
class TimelineStep:
    """One step of the slider: a day and the township indicators on that day.

    Attributes
    ----------
    date
        The day shown (a time of day is ignored); the sites open on it are drawn.
    table
        The indicators on that day, as :func:`township_coverage.metrics.coverage_table`
        returns them (indexed by township code), computed from the sites open then.
    labels
        The slider's label per language (``"zh"``, ``"en"``); a missing
        language gets the day itself (:func:`township_coverage.inputs.dates.day_text`).
    """

    date: pd.Timestamp
    table: pd.DataFrame
    labels: Mapping[str, str] = field(default_factory=dict)

    def label(self, lang: str) -> str:
        """The label in ``lang`` (the day itself if there is none)."""
        return self.labels.get(lang) or day_text(self.date, lang)


def build_timeline_map(
    townships: gpd.GeoDataFrame,
    steps: Sequence[TimelineStep],
    sites: gpd.GeoDataFrame,
    *,
    title: str,
    start: int = -1,
    county_borders: bool = True,
    villages: gpd.GeoDataFrame | None = None,
    schematic: bool = False,
    sources: str = "",
    notes: Sequence[str] = (),
    options: MapOptions = MapOptions(),
    remember: Remember | None = None,
) -> folium.Map:
    """The coverage map with a slider over ``steps``; render it with :func:`township_coverage.webmap.render_map`.

    Parameters
    ----------
    townships
        Township polygons (any CRS) indexed by township code, with
        ``township_name``, ``county_name`` and optionally ``county_code``
        (further columns are ignored): the shapes ``build_coverage_map`` gets.
    steps
        The steps in time order (strictly increasing dates), each with its
        indicator table; every table has a row for every township.
    sites
        Sites with ``site_type`` and ``name`` (points, any CRS), optionally
        ``township_code`` (popups list a township's open sites) and the
        dates in :data:`DATE_COLUMNS` (datetime64; NaT: not known, i.e. open
        since always or not closed). Sites without a position are left out.
    title
        Page title.
    start
        The step shown when the page opens (by position; default the last).
    county_borders, villages, schematic, sources, notes
        As for :func:`township_coverage.webmap.build_coverage_map`.
    options
        Language, basemap, offline assets, class schemes, size budget;
        ``options.classes`` classes the values of all steps together.
    remember
        Keeps the simplified township topology for later runs (as in
        ``build_coverage_map``).

    Returns
    -------
    folium.Map

    Raises
    ------
    ValueError
        For an unknown language or basemap, no steps, dates out of order,
        tables without a township or an indicator column, or date columns
        that are not dates (every problem of the steps and sites in one message).
    """
    check_options(options)
    sites = sites[sites.geometry.notna()]
    _check_steps(townships, steps, sites, start)
    lang = options.lang
    start = range(len(steps))[start]
    tables = [step.table.loc[townships.index] for step in steps]
    classified = classify_steps(tables, options.classes, lang=lang)
    palettes = {column: step_palette(classes) for column, classes in classified.items()}
    page_table = _page_table(townships, steps[start].table)
    timeline = {
        "start": start,
        "steps": step_settings(steps, lang),
        "indicators": step_indicators(tables, classified, palettes),
        "sites": site_days(sites),
    }
    start_classes = {column: classes[start] for column, classes in classified.items()}
    scale = page_data.page_scale(len(townships), len(sites) + (len(villages) if villages is not None else 0))
    return fit_size_budget(
        lambda tolerance: build_page(
            page_table, sites, title, county_borders, villages, schematic, sources, notes, (), options,
            start_classes, scale, tolerance, remember, palettes=palettes, timeline=timeline,
        ),
        scale.tolerance,
        options.size_budget_kb,
    )


def classify_steps(
    tables: Sequence[pd.DataFrame], schemes: Mapping[str, ClassScheme] | None = None, *, lang: str
) -> dict[str, list[Classes]]:
    """Class every indicator over the values of all steps together.

    Parameters
    ----------
    tables
        The indicator table of each step, indexed by township code.
    schemes
        Classification per column (``MapOptions.classes``).
    lang
        Language of the legend labels.

    Returns
    -------
    dict
        Indicator column -> per step, its :class:`Classes` (the same
        legend and bounds at every step; the colours of that step).
    """
    columns = [indicator.column for indicator in INDICATORS]
    together = pd.concat([table[columns] for table in tables], keys=range(len(tables)), names=["step", "township_code"])
    classified = classify_table(together, schemes, lang=lang)
    return {
        column: [
            Classes(classes.colours.xs(step, level="step"), classes.legend, classes.bounds) for step in range(len(tables))
        ]
        for column, classes in classified.items()
    }


def step_palette(classes: Sequence[Classes]) -> list[str]:
    """The colours of one indicator's classes at any step, in the order the class letters refer to."""
    return np.unique(np.concatenate([np.asarray(c.colours.to_numpy(), dtype=str) for c in classes])).tolist()


def step_settings(steps: Sequence[TimelineStep], lang: str) -> list[dict]:
    """Per step: ``label`` for the slider, ``as_of`` (the date as the page states it) and ``day`` number."""
    return [
        {
            "label": step.label(lang),
            "as_of": TEXT[lang]["as_of"].format(date=day_text(step.date, lang)),
            "day": int(day_numbers(pd.Series([step.date]))[0]),
        }
        for step in steps
    ]


def step_indicators(
    tables: Sequence[pd.DataFrame], classified: Mapping[str, Sequence[Classes]], palettes: Mapping[str, Sequence[str]]
) -> list[dict]:
    """Per indicator (in the order of :data:`INDICATORS`): per step, class letters and display values.

    Letters and values are encoded as in :func:`page_data.indicators`;
    letters refer to ``palettes[column]``, the same at every step.
    """
    result = []
    for indicator in INDICATORS:
        column = indicator.column
        result.append(
            {
                "column": column,
                "classes": [
                    page_data.class_letters(classes.colours_for(table.index), palettes[column], column)
                    for classes, table in zip(classified[column], tables)
                ],
                "values": [page_data.display_values(table[column], indicator.kind) for table in tables],
            }
        )
    return result


def site_days(sites: pd.DataFrame) -> list[dict]:
    """Per site layer (:func:`page_data.site_groups`): each site's opening and closing day.

    ``opened`` and ``closed`` are varint streams of 0 for an unknown date,
    else the zigzag of the day number plus one.
    """
    layers = []
    for _, frame in page_data.site_groups(sites):
        layer = {}
        for column in DATE_COLUMNS:
            if column in frame:
                days = day_numbers(frame[column])
                codes = np.where(np.isnan(days), 0, zigzag(np.nan_to_num(days).astype(np.int64)) + 1)
            else:
                codes = np.zeros(len(frame), dtype=np.int64)
            layer[column] = varint_base64(codes)
        layers.append(layer)
    return layers


def day_numbers(dates: pd.Series) -> np.ndarray:
    """Days since 1970-01-01 of each date (the day it falls on), NaN for a missing one."""
    values = pd.to_datetime(dates)
    if getattr(values.dt, "tz", None) is not None:
        values = values.dt.tz_localize(None)
    days = values.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")
    numbers = (days - _EPOCH).astype(np.int64).astype(float)
    numbers[np.isnat(days)] = np.nan
    return numbers


def _page_table(townships: gpd.GeoDataFrame, table: pd.DataFrame) -> gpd.GeoDataFrame:
    """The townships' shapes and names with the indicators of ``table`` (the step the page opens on)."""
    columns = [indicator.column for indicator in INDICATORS]
    names = [column for column in ("township_name", "county_code", "county_name") if column in townships]
    frame = townships[[*names, townships.geometry.name]].join(table[columns].loc[townships.index])
    return gpd.GeoDataFrame(frame, geometry=townships.geometry.name, crs=townships.crs)


def _check_steps(townships: gpd.GeoDataFrame, steps: Sequence[TimelineStep], sites: pd.DataFrame, start: int) -> None:
    """Raise one ValueError that lists every problem of the steps and the sites' dates."""
    problems = []
    if not steps:
        problems.append("steps: no step given; a timeline needs at least one")
    elif not -len(steps) <= start < len(steps):
        problems.append(f"start={start}: no such step; allowed: {-len(steps)} to {len(steps) - 1}")
    dates = [pd.Timestamp(step.date).normalize() for step in steps]
    for number, (earlier, later) in enumerate(zip(dates, dates[1:]), start=1):
        if later <= earlier:
            problems.append(f"steps[{number}].date={later.date()} is not after steps[{number - 1}].date={earlier.date()}")
    columns = [indicator.column for indicator in INDICATORS]
    for number, step in enumerate(steps):
        missing_columns = [column for column in columns if column not in step.table]
        if missing_columns:
            problems.append(f"steps[{number}].table has no column {', '.join(missing_columns)}")
        missing = townships.index.difference(step.table.index)
        if len(missing):
            problems.append(
                f"steps[{number}].table has no row for {len(missing)} township(s), e.g. {missing[0]!r}; "
                "every step needs every township"
            )
    for column in DATE_COLUMNS:
        if column in sites and not pd.api.types.is_datetime64_any_dtype(sites[column]):
            problems.append(f"sites[{column!r}] holds {sites[column].dtype}, not dates (datetime64; NaT if unknown)")
    for column in ("township_name", "county_name"):
        if column not in townships:
            problems.append(f"townships has no column {column!r}")
    if problems:
        raise ValueError("cannot build the timeline map:\n  " + "\n  ".join(problems))
