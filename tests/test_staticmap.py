"""Static maps drawn from paths made once: the same pixels as geopandas draws, names up to a limit."""

from __future__ import annotations

import io

import matplotlib
import numpy as np
import pytest

from _support import multipart_townships
from township_coverage.report import staticmap
from township_coverage.report.staticmap import map_shapes

matplotlib.use("Agg")


def _pixels(figure) -> np.ndarray:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=150)
    plt.close(figure)
    buffer.seek(0)
    return plt.imread(buffer)


def test_townships_and_county_outlines_look_as_geopandas_draws_them():
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection, PathCollection

    # Holes, an enclave, an island and two parts touching at a point, in two counties.
    townships = multipart_townships()
    counties = townships.dissolve(by="county_code", as_index=False)
    colours = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e"]
    metric = townships.estimate_utm_crs()

    reference, axes = plt.subplots(figsize=(5, 4))
    townships.to_crs(metric).plot(ax=axes, color=colours, edgecolor="white", linewidth=0.4)
    counties.to_crs(metric).boundary.plot(ax=axes, color="#333333", linewidth=1.0)
    axes.set_axis_off()  # geopandas names the axes; maps show none

    shapes = map_shapes(townships.set_index("township_code"), counties)
    drawn, axes = plt.subplots(figsize=(5, 4))
    axes.set_aspect("equal")
    axes.add_collection(PathCollection(shapes.townships, facecolors=colours, edgecolors="white", linewidths=0.4))
    axes.autoscale_view()
    axes.add_collection(LineCollection(shapes.county_rings, color="#333333", linewidth=1.0))
    axes.autoscale_view()
    axes.set_axis_off()

    expected, actual = _pixels(reference), _pixels(drawn)
    assert expected.shape == actual.shape
    assert np.array_equal(expected, actual)
    # Every part and hole is there: 5 townships, the island and the second corner (2 more parts),
    # the enclave's hole and the lake (2 holes).
    assert sum(int((path.codes == path.MOVETO).sum()) for path in shapes.townships) == 9


def test_county_names_are_shown_up_to_the_limit(monkeypatch: pytest.MonkeyPatch):
    townships = multipart_townships().set_index("township_code")
    counties = multipart_townships().dissolve(by="county_code", as_index=False)
    named = map_shapes(townships, counties)
    assert sorted(name for _, _, name in named.county_labels) == sorted(["甲县", "乙县"])
    monkeypatch.setattr(staticmap, "MAX_COUNTY_NAMES", 1)
    unnamed = map_shapes(townships, counties)
    assert unnamed.county_labels == []
    assert len(unnamed.county_rings) == len(named.county_rings) > 0
