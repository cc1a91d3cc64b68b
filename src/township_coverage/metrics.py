"""Coverage indicators per township, rolled up to counties and the city.

Functions here are pure: they take joined layers and return named Series or
DataFrames indexed by township code (or county code), never modify inputs.
Distances are computed in a metric CRS (the local UTM zone), never in degrees:
straight lines, or along a road network when one is given.
"""

from __future__ import annotations

from typing import Any, Protocol

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import Transformer
from scipy.spatial import cKDTree

#: Site types counted per township, with the column each count goes to.
SITE_COUNT_COLUMNS = {
    "township_station": "stations",
    "community_room": "community_rooms",
    "school_station": "school_stations",
    "enterprise_station": "enterprise_stations",
    "hospital_station": "hospital_stations",
}
#: Sites whose radius counts as coverage of the villages around them.
COVERING_SITE_TYPES = ("township_station", "community_room")

#: Columns that are summed when rolling up; shares are recomputed from them.
_ADDITIVE = [
    *SITE_COUNT_COLUMNS.values(),
    "station_staff",
    "villages",
    "villages_with_room",
    "villages_within_radius",
    "population",
    "population_within_radius",
]
#: Ratio columns that :func:`add_shares` derives from the additive ones.
SHARE_COLUMNS = (
    "room_share",
    "village_share_within_radius",
    "population_share_within_radius",
    "population_per_staff",
    "uncovered_population",
)
#: The city-wide indicators :func:`city_summary` returns, in its order.
CITY_SUMMARY_COLUMNS = ("townships", "townships_with_station", *_ADDITIVE, *SHARE_COLUMNS)


def sites_open_on(sites: pd.DataFrame, day: pd.Timestamp) -> pd.Series:
    """Which sites are open on ``day``, aligned to ``sites``.

    A site is open from its opening date (always, without one) until the
    start of its closing date (never closed, without one).

    Parameters
    ----------
    sites
        Sites with ``opened`` and ``closed`` (``NaT`` where not given).
    day
        The day asked about.
    """
    opened, closed = sites["opened"], sites["closed"]
    return ((opened.isna() | (opened <= day)) & (closed.isna() | (closed > day))).rename("open")


def count_sites(sites: pd.DataFrame, township_codes: pd.Index) -> pd.DataFrame:
    """Number of sites of each type per township.

    Parameters
    ----------
    sites
        Joined sites with ``township_code`` and ``site_type``.
    township_codes
        The index of the result; townships without sites get 0.
    """
    counts = sites.groupby(["township_code", "site_type"]).size().unstack("site_type", fill_value=0)
    counts = counts.reindex(index=township_codes, columns=list(SITE_COUNT_COLUMNS), fill_value=0).astype("int64")
    return counts.rename(columns=SITE_COUNT_COLUMNS).rename_axis(index="township_code", columns=None)


def station_staff(sites: pd.DataFrame, township_codes: pd.Index) -> pd.Series:
    """Staff of the township stations in each township (0 without a station)."""
    stations = sites[sites["site_type"] == "township_station"]
    staff = stations.groupby("township_code")["staff"].sum()
    return staff.reindex(township_codes, fill_value=0).astype(int).rename("station_staff")


class RoadDistances(Protocol):
    """A road network that measures (:class:`township_coverage.plan.RoadNetwork`)."""

    crs: Any

    def nearest_m(self, origins_xy: np.ndarray, targets_xy: np.ndarray) -> np.ndarray:
        """Road distance from each origin to its nearest target."""


def distance_to_nearest_site(
    villages: gpd.GeoDataFrame, sites: gpd.GeoDataFrame, *, roads: RoadDistances | None = None
) -> pd.Series:
    """Distance in metres from each village to the nearest covering site.

    Covering sites are township stations and community rooms. Distances are
    straight lines in the UTM zone of the villages (a k-d tree of the sites
    finds the nearest), or along ``roads``. Villages without a position get
    NaN; with no covering site at all (or none reachable by road), infinity.
    """
    located = (villages.geometry.notna() & ~villages.geometry.is_empty).to_numpy()
    covering = sites[sites["site_type"].isin(COVERING_SITE_TYPES) & sites.geometry.notna() & ~sites.geometry.is_empty]
    distances = np.full(len(villages), np.nan)
    if located.any():
        if covering.empty:
            distances[located] = np.inf
        elif roads is not None:
            distances[located] = roads.nearest_m(
                _metric_coordinates(villages.geometry[located], roads.crs),
                _metric_coordinates(covering.geometry, roads.crs),
            )
        else:
            metric = villages[located].estimate_utm_crs()
            tree = cKDTree(_metric_coordinates(covering.geometry, metric))
            distances[located], _ = tree.query(_metric_coordinates(villages.geometry[located], metric), workers=-1)
    return pd.Series(distances, index=villages.index, name="distance_m")


def _metric_coordinates(points: gpd.GeoSeries, crs) -> np.ndarray:
    """``(n, 2)`` coordinates of points in ``crs``."""
    to_metric = Transformer.from_crs(points.crs, crs, always_xy=True)
    return np.column_stack(to_metric.transform(points.x.to_numpy(), points.y.to_numpy()))


def village_indicators(
    villages: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame,
    township_codes: pd.Index,
    *,
    radius_km: float,
    roads: RoadDistances | None = None,
) -> pd.DataFrame:
    """Village-based indicators per township.

    Columns: ``villages``, ``villages_with_room`` (a community room names the
    village in ``village_code``), ``villages_within_radius``,
    ``population_within_radius``, ``median_distance_km`` and
    ``max_distance_km`` (village to nearest room or station, along
    ``roads`` when given).
    """
    distance_km = distance_to_nearest_site(villages, sites, roads=roads) / 1000.0
    rooms = sites.loc[sites["site_type"] == "community_room"]
    hosted = set(rooms["village_code"].dropna()) if "village_code" in rooms else set()
    frame = pd.DataFrame(
        {
            "township_code": villages["township_code"],
            "has_room": villages["village_code"].isin(hosted),
            "within": distance_km <= radius_km,
            "population": villages["population"],
            "distance_km": distance_km,
        }
    )
    frame["population_within"] = frame["population"].where(frame["within"], 0.0)
    grouped = frame.groupby("township_code")
    result = pd.DataFrame(
        {
            "villages": grouped.size(),
            "villages_with_room": grouped["has_room"].sum(),
            "villages_within_radius": grouped["within"].sum(),
            "population_within_radius": grouped["population_within"].sum(min_count=1),
            "median_distance_km": grouped["distance_km"].median(),
            "max_distance_km": grouped["distance_km"].max(),
        }
    )
    result = result.reindex(township_codes)
    counts = ["villages", "villages_with_room", "villages_within_radius"]
    result[counts] = result[counts].fillna(0).astype(int)
    return result


def add_shares(table: pd.DataFrame) -> pd.DataFrame:
    """Add the ratio columns derived from the additive ones.

    ``has_station``, ``room_share`` (villages with a room / villages),
    ``village_share_within_radius``, ``population_share_within_radius``,
    ``population_per_staff`` and ``uncovered_population``.
    """
    table = table.copy()
    villages = table["villages"].where(table["villages"] > 0)
    table["has_station"] = table["stations"] > 0
    table["room_share"] = table["villages_with_room"] / villages
    table["village_share_within_radius"] = table["villages_within_radius"] / villages
    population = table["population"].where(table["population"] > 0)
    table["population_share_within_radius"] = table["population_within_radius"] / population
    table["population_per_staff"] = population / table["station_staff"].where(table["station_staff"] > 0)
    table["uncovered_population"] = table["population"] - table["population_within_radius"]
    return table


#: Weights of the gap score: uncovered population, villages without a room.
GAP_WEIGHTS = (0.7, 0.3)


def gap_score(table: pd.DataFrame) -> pd.Series:
    """Where new community rooms are most needed, 0 (none) to 100.

    ``gap_score = 100 * (0.7 * U / U_max + 0.3 * (1 - room_share))``, where
    ``U`` is a township's population outside the radius of every room and
    station, ``U_max`` the largest ``U`` among the townships, and
    ``room_share`` the share of its village units with a room. The first
    term ranks townships by the people a room could still reach; the second
    favours townships where few villages have a room of their own. NaN
    where population or villages are unknown.
    """
    uncovered = table["uncovered_population"].clip(lower=0)
    largest = uncovered.max()
    reach = uncovered / largest if largest and largest > 0 else uncovered * 0.0
    without_room = 1.0 - table["room_share"]
    people, villages = GAP_WEIGHTS
    return (100.0 * (people * reach + villages * without_room)).rename("gap_score")


def coverage_table(
    townships: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame,
    villages: gpd.GeoDataFrame | None,
    *,
    radius_km: float,
    roads: RoadDistances | None = None,
) -> pd.DataFrame:
    """All indicators per township, indexed by ``township_code``.

    Parameters
    ----------
    townships
        Township layer with ``township_code``, ``township_name``,
        ``county_code``, ``county_name`` and optionally ``population``.
    sites
        Sites joined to townships (``township_code`` is the spatial result).
    villages
        Villages joined to townships, with ``population``; may be ``None``.
    radius_km
        Coverage radius.
    roads
        A road network: distances along it instead of straight lines.
    """
    codes = pd.Index(townships["township_code"], name="township_code")
    table = townships.set_index("township_code")[["township_name", "county_code", "county_name"]].copy()
    table = table.join(count_sites(sites, codes)).join(station_staff(sites, codes))
    village_population = pd.Series(np.nan, index=codes)
    if villages is not None:
        table = table.join(village_indicators(villages, sites, codes, radius_km=radius_km, roads=roads))
        village_population = villages.groupby("township_code")["population"].sum(min_count=1).reindex(codes)
    population = village_population
    if "population" in townships:
        given = pd.to_numeric(townships.set_index("township_code")["population"], errors="coerce")
        population = given.reindex(codes).fillna(village_population)
    table["population"] = population
    if "population_within_radius" in table:
        table["population_within_radius"] = population_within_radius(
            table["population_within_radius"], village_population, population
        )
    for column in _ADDITIVE:
        if column not in table:
            table[column] = np.nan
    table = add_shares(table)
    table["gap_score"] = gap_score(table)
    table["gap_rank"] = table["gap_score"].rank(ascending=False, method="min").astype("Int64")
    return table


def population_within_radius(
    village_within: pd.Series, village_population: pd.Series, population: pd.Series
) -> pd.Series:
    """A township's population within the radius: its population times the share of its villages' people within it.

    The township population (published, or the sum of its villages') is the
    total; the villages say how it is spread. Their populations may come
    from another source or year, or be rounded shares of the township's, so
    they need not add up to it: counting the villages' people within the
    radius as such would put more people within the radius than live in the
    township (or leave people the villages miss outside it). Scaled by the
    share, ``0 <= within <= population`` always holds, and the covered share
    is the villages' own, as the plan computes it. Whole people; NaN where
    the villages' population is unknown or zero.

    Parameters
    ----------
    village_within
        Population of the villages within the radius, per township.
    village_population
        Population of all villages, per township.
    population
        The township population.
    """
    share = village_within / village_population.where(village_population > 0)
    return (population * share).round().clip(lower=0, upper=population).rename("population_within_radius")


def roll_up(table: pd.DataFrame, by: str = "county_code") -> pd.DataFrame:
    """Sum the additive indicators per group and recompute the shares.

    ``townships`` and ``townships_with_station`` count the members.
    """
    grouped = table.groupby(by, sort=True)
    result = grouped[_ADDITIVE].sum(min_count=1)
    result.insert(0, "townships", grouped.size())
    result.insert(1, "townships_with_station", grouped["has_station"].sum())
    if by == "county_code":
        result.insert(0, "county_name", grouped["county_name"].first())
    return add_shares(result).drop(columns="has_station")


def city_summary(table: pd.DataFrame) -> pd.Series:
    """City-wide totals and shares, as one row."""
    whole = table.assign(city="city")
    return roll_up(whole, by="city").iloc[0].rename("city")


#: Distance figures of a plan (km), each before and after: :func:`distance_figures`.
DISTANCE_FIGURES = ("mean_distance_km", "worst_distance_km")


def distance_figures(villages: pd.DataFrame, by: str | None = None) -> pd.DataFrame:
    """Weighted mean and largest distance to the nearest site (km), before and after a plan.

    Parameters
    ----------
    villages
        One row per village: ``weight``, ``before_m`` and ``after_m``
        (metres to the nearest site), and the ``by`` column.
    by
        Group column (``township_code``, ``county_code``); ``None`` gives
        one row for the whole area (index ``"all"``).

    Returns
    -------
    DataFrame
        Indexed by group: ``mean_distance_km_before``, ``mean_distance_km_after``,
        ``worst_distance_km_before``, ``worst_distance_km_after``.
    """
    table = villages.assign(_all="all") if by is None else villages
    grouped = table.groupby("_all" if by is None else by, sort=True)
    weight = grouped["weight"].sum()
    result = {}
    for side in ("before", "after"):
        metres = table[f"{side}_m"]
        weighted = (metres * table["weight"]).groupby(table["_all" if by is None else by]).sum()
        # Without weight (no population), every village counts once.
        plain = grouped[f"{side}_m"].mean()
        result[f"mean_distance_km_{side}"] = (weighted / weight).where(weight > 0, plain) / 1000
        result[f"worst_distance_km_{side}"] = grouped[f"{side}_m"].max() / 1000
    frame = pd.DataFrame(result)
    return frame[[f"{name}_{side}" for name in ("mean_distance_km", "worst_distance_km") for side in ("before", "after")]]
