"""Classification shared by the maps: natural breaks, sampling, labels, one set of classes per run."""

from __future__ import annotations

import html
import json
import re
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex

from _support import LINYI, map_settings, write_tiny_project
from township_coverage.classes import INDICATORS, classify, indicator_by_column, natural_breaks
from township_coverage.inputs.config import ClassScheme, load_project
from township_coverage.report.staticmap import draw_indicator_map, find_cjk_font
from township_coverage.webmap import MapOptions, build_coverage_map

SCHEMES = {"community_rooms": ClassScheme("quantiles", k=3), "station_staff": ClassScheme("fixed", bins=(2, 4, 10))}


@pytest.fixture(scope="module")
def linyi(linyi_run):
    townships = gpd.read_file(LINYI / "townships.geojson").set_index("township_code")
    table = gpd.GeoDataFrame(townships[["geometry"]].join(linyi_run.townships), crs=townships.crs)
    return table, linyi_run.validation.site_join.usable()


def test_web_map_and_static_maps_show_the_same_classes(linyi):
    import matplotlib.pyplot as plt

    table, sites = linyi
    fmap = build_coverage_map(table, sites, title="t", options=MapOptions(lang="en", classes=SCHEMES))
    page = fmap.get_root().render()
    settings = map_settings(page)
    codes = settings["townships"]["codes"]
    fills = {
        indicator["column"]: dict(zip(codes, (indicator["palette"][ord(c) - ord("a")] for c in indicator["classes"])))
        for indicator in settings["indicators"]
    }
    legends = dict(re.findall(r'"column": "(\w+)", "label": "[^"]*", "legend_html": "((?:[^"\\]|\\.)*)"', page))
    font = find_cjk_font()
    for indicator in INDICATORS:
        column = indicator.column
        figure = draw_indicator_map(table, column, title="t", lang="en", scheme=SCHEMES.get(column), font=font)
        axes = figure.axes[0]
        drawn = [to_hex(colour) for colour in axes.collections[0].get_facecolors()]
        legend = [(to_hex(p.get_facecolor()), t.get_text()) for p, t in
                  zip(axes.get_legend().get_patches(), axes.get_legend().get_texts())]
        plt.close(figure)
        assert drawn == [fills[column][code] for code in table.index], column
        legend_html = json.loads(f'"{legends[column]}"')
        rows = re.findall(r'background:(#[0-9a-f]{6})"></span>([^<]*)</div>', legend_html)
        assert [(colour, html.unescape(label)) for colour, label in rows] == legend, column
        assert len(legend) >= 2, column


def test_a_run_classes_each_indicator_once(tmp_path, monkeypatch):
    import township_coverage.classes as classes
    import township_coverage.report.staticmap as staticmap
    from township_coverage.pipeline import run

    calls = []
    original = classes.classify

    def counting(values, indicator, **kwargs):
        calls.append(indicator.column)
        return original(values, indicator, **kwargs)

    monkeypatch.setattr(classes, "classify", counting)
    monkeypatch.setattr(staticmap, "classify", counting)
    config = load_project(write_tiny_project(tmp_path), output_dir=tmp_path / "out")
    run(config, report_formats=("png", "pdf"))
    assert sorted(calls) == sorted(i.column for i in INDICATORS)


def test_exact_natural_breaks_fall_at_the_cluster_maxima():
    # Three clusters far apart: the least squared deviation keeps each whole.
    values = np.array([21, 1, 12, 2, 3, 10, 11, 20, 22, 2, 11], dtype=float)
    assert natural_breaks(values, 3).tolist() == [3, 12, 22]
    # Fewer distinct values than classes: each value is a class.
    assert natural_breaks(np.array([5.0, 1.0, 5.0]), 4).tolist() == [1, 5]


def test_exact_natural_breaks_agree_with_mapclassify():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # mapclassify without numba says it is slow
        import mapclassify

        rng = np.random.default_rng(7)
        for size, k in ((40, 3), (120, 5), (300, 7)):
            values = np.round(rng.gamma(2.0, 10.0, size))  # many ties
            expected = np.unique(mapclassify.FisherJenks(values, k=k).bins)
            # Both optimal: the same least squared deviation (ties may split differently).
            assert _squared_deviation(values, natural_breaks(values, k)) == pytest.approx(_squared_deviation(values, expected))


def _squared_deviation(values: np.ndarray, bounds: np.ndarray) -> float:
    classes = np.searchsorted(bounds, values)
    return sum(float(((values[classes == c] - values[classes == c].mean()) ** 2).sum()) for c in np.unique(classes))


def _clusters(sizes, centres, rng) -> tuple[np.ndarray, list[float]]:
    parts = [centre + rng.uniform(0, 10, size) for size, centre in zip(sizes, centres)]
    return rng.permutation(np.concatenate(parts)), [float(part.max()) for part in parts]


def test_sampled_natural_breaks_are_deterministic_and_find_the_clusters():
    rng = np.random.default_rng(3)
    values, maxima = _clusters((700, 500, 500, 300), (0, 100, 1_000, 5_000), rng)
    exact = natural_breaks(values, 4, exact_limit=len(values))
    sampled = natural_breaks(values, 4, exact_limit=200)
    assert exact.tolist() == maxima
    assert sampled.tolist() == maxima
    assert natural_breaks(values[::-1], 4, exact_limit=200).tolist() == sampled.tolist()


def test_sampling_at_national_size_is_repeatable():
    rng = np.random.default_rng(5)
    values, maxima = _clusters((20_000, 12_000, 6_000, 2_000), (0, 300, 2_000, 9_000), rng)
    first = natural_breaks(values, 4)
    assert first.tolist() == maxima
    assert natural_breaks(values.copy(), 4).tolist() == first.tolist()
    indicator = indicator_by_column("uncovered_population")
    series = pd.Series(values)
    once, again = classify(series, indicator, lang="en"), classify(series, indicator, lang="en")
    assert once.bounds == again.bounds and once.colours.equals(again.colours)


def test_whole_number_counts_have_labels_that_do_not_overlap():
    rooms = pd.Series([0, 1, 1, 2, 5, 6, 6, 7, 15, 16, 30, 31, np.nan])
    legend = classify(rooms, indicator_by_column("community_rooms"), lang="en",
                      scheme=ClassScheme("natural_breaks", k=4)).legend
    assert [label for _, label in legend] == ["0 – 2", "3 – 7", "8 – 16", "17 – 31", "no data"]
    staff = classify(pd.Series([1, 3, 4, 9, 12]), indicator_by_column("station_staff"), lang="en",
                     scheme=ClassScheme("fixed", bins=(2, 4, 10)))
    assert [label for _, label in staff.legend] == ["1 – 2", "3 – 4", "5 – 12"]
    # Few distinct values: each is its own class, labelled by itself.
    few = classify(pd.Series([1, 2, 2, 3]), indicator_by_column("community_rooms"), lang="en")
    assert [label for _, label in few.legend] == ["1", "2", "3"]


def test_whole_number_classes_name_disjoint_ranges_that_hold_their_values():
    rng = np.random.default_rng(11)
    indicator = indicator_by_column("community_rooms")
    for scheme in (ClassScheme(), ClassScheme("quantiles", k=4), ClassScheme("equal_interval", k=5)):
        for size in (30, 300):
            values = pd.Series(rng.poisson(rng.uniform(0.5, 6), size))
            classes = classify(values, indicator, lang="en", scheme=scheme)
            ranges = []
            for _, label in classes.legend:
                low, _, high = label.partition(" – ")
                ranges.append((int(low), int(high or low)))
            # Consecutive whole-number ranges, none sharing a number.
            assert all(low <= high for low, high in ranges), classes.legend
            assert all(ranges[k][1] + 1 == ranges[k + 1][0] for k in range(len(ranges) - 1)), classes.legend
            colour_range = dict(zip((colour for colour, _ in classes.legend), ranges))
            for value, colour in zip(values, classes.colours):
                low, high = colour_range[colour]
                assert low <= value <= high, (value, classes.legend)
