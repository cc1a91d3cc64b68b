"""Assigning points (sites, villages) to townships.

Every input row ends in exactly one status, so that nothing is lost:

``joined``
    inside a township (a point on a shared border goes to the declared
    township if it is one of them, else to the one with the smallest code);
``outside``
    in no township; ``distance_m`` says how far the nearest one is.

A row whose declared ``township_code`` disagrees with the township it lies
in keeps the spatial result and is listed as a disagreement.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

JOINED = "joined"
OUTSIDE = "outside"


@dataclass(frozen=True)
class JoinResult:
    """Points with the township each was assigned to.

    Attributes
    ----------
    points
        The input rows in input order, with ``township_code`` (the spatial
        result, missing when outside), ``declared_township_code``,
        ``join_status`` and ``distance_m`` (to the nearest township, 0 inside).
    """

    points: gpd.GeoDataFrame

    def status_counts(self) -> pd.Series:
        """Number of rows per status; adds up to the number of input rows."""
        return self.points["join_status"].value_counts().reindex([JOINED, OUTSIDE], fill_value=0)

    def disagreements(self) -> pd.DataFrame:
        """Rows whose declared township differs from the one they lie in."""
        points = self.points
        declared = points["declared_township_code"]
        differs = (points["join_status"] == JOINED) & declared.notna() & (declared != points["township_code"])
        return points.loc[differs].drop(columns="geometry")


def points_from_table(table: pd.DataFrame, *, crs: str) -> gpd.GeoDataFrame:
    """Point layer from a checked table with numeric ``lon`` and ``lat``."""
    return gpd.GeoDataFrame(
        table, geometry=gpd.points_from_xy(table["lon"], table["lat"]), crs=crs
    )


def assign_points_to_townships(
    points: gpd.GeoDataFrame, townships: gpd.GeoDataFrame
) -> JoinResult:
    """Assign each point to the township that contains it.

    Parameters
    ----------
    points
        Points with an optional declared ``township_code`` column.
    townships
        Polygons with ``township_code``, in any CRS; points are transformed
        to it (both CRSs are declared, so nothing is guessed).

    Returns
    -------
    JoinResult
    """
    if points.crs is None or townships.crs is None:
        raise ValueError("points and townships must both have a CRS")
    located = points.to_crs(townships.crs).reset_index(drop=True)
    located = located.rename(columns={"township_code": "declared_township_code"})
    if "declared_township_code" not in located:
        located["declared_township_code"] = pd.NA

    matches = gpd.sjoin(
        located[["geometry"]], townships[["township_code", "geometry"]], predicate="intersects"
    )
    # On a shared border, prefer the declared township, then the smallest code.
    declared = located["declared_township_code"].reindex(matches.index)
    matches["rank"] = (matches["township_code"] != declared).astype(int)
    chosen = matches.sort_values(["rank", "township_code"]).groupby(level=0)["township_code"].first()
    located["township_code"] = chosen.reindex(located.index)
    inside = located["township_code"].notna()
    located["join_status"] = np.where(inside, JOINED, OUTSIDE)
    located["distance_m"] = 0.0
    if not inside.all():
        metric = located.estimate_utm_crs()
        outside = located.loc[~inside, ["geometry"]].to_crs(metric)
        nearest = gpd.sjoin_nearest(
            outside, townships[["geometry"]].to_crs(metric), distance_col="distance_m"
        )
        located.loc[~inside, "distance_m"] = nearest.groupby(level=0)["distance_m"].min()
    return JoinResult(points=located)
