"""Map building without a browser: shifts, borders, assets, budget, classes."""

from __future__ import annotations

import re
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import Point

from _support import LINYI, map_settings, map_townships, read_points, read_varints, write_tiny_project
from township_coverage.inputs.config import ClassScheme
from township_coverage.webmap import MapOptions, build_coverage_map


@pytest.fixture(scope="module")
def linyi(linyi_run):
    townships = gpd.read_file(LINYI / "townships.geojson").set_index("township_code")
    table = gpd.GeoDataFrame(townships[["geometry"]].join(linyi_run.townships), crs=townships.crs)
    sites = linyi_run.validation.site_join.usable()
    return table, sites


def _settings(fmap) -> str:
    return fmap.get_root().render()


def test_simplified_townships_still_share_their_borders(linyi):
    table, sites = linyi
    fmap = build_coverage_map(table, sites, title="t")
    by_code = map_townships(fmap.get_root().render())
    # Rounding to the 1 m grid can fold a sub-metre sliver onto itself; made
    # valid, the shapes are what the page draws.
    shapes = shapely.make_valid(np.array([by_code[code] for code in table.index], dtype=object))
    assert len(shapes) == 156
    # Neighbours share each border exactly, so the townships neither overlap
    # nor leave gaps: their areas add up to the area of their union, which is
    # the area of the original union.
    union = shapely.union_all(shapes).area
    assert shapely.area(shapes).sum() == pytest.approx(union, rel=1e-6)
    assert union == pytest.approx(shapely.union_all(table.geometry.to_numpy()).area, rel=1e-3)
    # Simplified, yet every township keeps within 2 % of its area.
    ratio = shapely.area(shapes) / shapely.area(table.geometry.to_numpy())
    assert np.all(np.abs(ratio - 1) < 0.02)


def test_amap_basemap_shifts_overlays_to_gcj02():
    # One township and one station at Tiananmen; the published GCJ-02 of
    # WGS84 (116.404, 39.915) is (116.41024449916938, 39.91640428150164).
    table = gpd.GeoDataFrame(
        {"township_name": ["a"], "county_name": ["b"], "station_staff": [1], "community_rooms": [0],
         "room_share": [np.nan], "population_share_within_radius": [np.nan], "uncovered_population": [np.nan],
         "gap_score": [np.nan], "has_station": [True]},
        index=pd.Index(["1"], name="township_code"),
        geometry=[Point(116.404, 39.915).buffer(0.01)],
        crs="EPSG:4326",
    )
    sites = gpd.GeoDataFrame(
        {"site_type": ["township_station"], "name": ["站"], "township_code": ["1"]},
        geometry=[Point(116.404, 39.915)], crs="EPSG:4326",
    )
    plain = map_settings(_settings(build_coverage_map(table, sites, title="t")))
    shifted_page = _settings(build_coverage_map(table, sites, title="t", options=MapOptions(basemap="amap")))
    shifted = map_settings(shifted_page)
    (station,) = plain["sites"]
    assert read_points(station) == [pytest.approx((116.404, 39.915), abs=1e-5)]
    (station,) = shifted["sites"]
    assert read_points(station) == [pytest.approx((116.41024449916938, 39.91640428150164), abs=1e-5)]
    # The township moves with it: its centre by the same shift.
    centre = map_townships(shifted_page)["1"].centroid
    assert (centre.x, centre.y) == pytest.approx((116.41024449916938, 39.91640428150164), abs=2e-4)
    assert "webrd0{s}.is.autonavi.com" in shifted_page


def test_tianditu_needs_a_key(linyi, monkeypatch):
    table, sites = linyi
    monkeypatch.delenv("TIANDITU_KEY", raising=False)
    with pytest.raises(ValueError, match="set the TIANDITU_KEY environment variable"):
        build_coverage_map(table, sites, title="t", options=MapOptions(basemap="tianditu"))
    monkeypatch.setenv("TIANDITU_KEY", "k123")
    page = _settings(build_coverage_map(table, sites, title="t", options=MapOptions(basemap="tianditu")))
    assert "LAYER=vec" in page and "LAYER=cva" in page and "tk=k123" in page


def test_offline_page_inlines_assets_and_cdn_page_links_them(linyi):
    table, sites = linyi
    offline = _settings(build_coverage_map(table, sites, title="t"))
    online = _settings(build_coverage_map(table, sites, title="t", options=MapOptions(offline=False)))
    assert not re.search(r"<(script|link)[^>]+(src|href)=", offline)
    assert re.search(r'<script src="https://[^"]+leaflet', online)
    assert len(online) < len(offline)


def test_size_budget_simplifies_further_or_warns(linyi):
    table, sites = linyi
    page = _settings(build_coverage_map(table, sites, title="t"))
    # A budget that only coarser borders can meet: a quarter of the border points' bytes less.
    border_bytes = len(map_settings(page)["townships"]["topology"]["arcs"])
    budget = int((len(page.encode()) - border_bytes / 4) / 1024)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fitted = len(_settings(build_coverage_map(table, sites, title="t", options=MapOptions(size_budget_kb=budget))).encode()) / 1024
    assert fitted <= budget
    with pytest.warns(UserWarning, match="over the size budget of 10 kB"):
        build_coverage_map(table, sites, title="t", options=MapOptions(size_budget_kb=10))


def test_classes_come_from_the_project(linyi):
    table, sites = linyi
    options = MapOptions(classes={"community_rooms": ClassScheme("quantiles", k=3), "station_staff": ClassScheme("fixed", bins=(2, 4, 10))})
    page = _settings(build_coverage_map(table, sites, title="t", options=options))
    legends = re.findall(r'"column": "(\w+)", "label": "[^"]*", "legend_html": "((?:[^"\\]|\\.)*)"', page)
    by_column = {column: legend.count("tc-swatch") for column, legend in legends}
    assert by_column["community_rooms"] == 3
    assert by_column["station_staff"] == 3


def test_english_interface(linyi):
    table, sites = linyi
    page = _settings(build_coverage_map(table, sites, title="t", options=MapOptions(lang="en")))
    assert '"indicator": "Indicator"' in page and "Community rooms" in page and "Search township or village" in page


def test_names_that_look_like_template_syntax_stay_as_written(linyi):
    table, sites = linyi
    table = table.copy()
    odd = ["{{ 7*7 }}", "{% raw %}", "{# x #}", "</script><b>"]
    table.iloc[: len(odd), table.columns.get_loc("township_name")] = odd
    page = _settings(build_coverage_map(table, sites, title="t"))
    assert map_settings(page)["townships"]["names"][: len(odd)] == odd
    assert "</script><b>" not in page


def test_codes_travel_as_numbers_only_when_that_keeps_them_as_written():
    from township_coverage.webmap import page_data

    assert page_data._codes(pd.Index(["0123", "371302001"])) == ["0123", "371302001"]  # a leading zero
    assert page_data._codes(pd.Index(["A1", "371302001"])) == ["A1", "371302001"]
    encoded = page_data._codes(pd.Index(["371302001", "371302002", "371301005", "110101001001"]))
    assert isinstance(encoded, dict)
    steps = [(n >> 1) ^ -(n & 1) for n in read_varints(encoded["steps"])]
    assert np.cumsum(steps).tolist() == [371302001, 371302002, 371301005, 110101001001]


def test_names_become_json_that_reads_back_and_cannot_end_the_script():
    import json

    from township_coverage.webmap import page_data

    written = ['a"b', "c\\d", "</script><b>", "tab\there", "line\u2028end", None, "临沂 & 兰山", 7]
    expected = ['a"b', "c\\d", "</script><b>", "tab\there", "line\u2028end", "", "临沂 & 兰山", "7"]
    text = page_data.json_strings(pd.Series(written, dtype=object)).text
    assert json.loads(text) == expected
    assert not any(char in text for char in "<>&\t\u2028")
    wrapped = page_data.script_json({"names": page_data.json_strings(pd.Series(written, dtype=object)), "note": "<&>"})
    assert json.loads(wrapped) == {"names": expected, "note": "<&>"}
    assert page_data.json_strings(pd.Series([], dtype=object)).text == "[]"


def test_pages_leave_out_the_imperial_scale(linyi):
    # Folium's own scale shows miles; the page's script adds a metric one.
    table, sites = linyi
    page = _settings(build_coverage_map(table, sites, title="t"))
    assert "L.control.scale" not in page.split("TownshipCoverage.init")[-1]
    assert "imperial: false" in page


def _plan_by_villages(tmp_path, lang):
    """A plan on the tiny project whose villages have no population: 1 room, radius 300 m."""
    from township_coverage import load_project
    from township_coverage.pipeline import plan_rooms

    project = write_tiny_project(tmp_path)
    # V2 lies at the station; V1 and V3 are over 500 m from every site and from each other.
    (tmp_path / "villages.csv").write_text(
        "village_code,village_name,lon,lat\nV1,甲一村,118.001,35.009\nV2,甲二村,118.005,35.005\nV3,乙一村,118.019,35.009\n",
        encoding="utf-8",
    )
    with project.open("a", encoding="utf-8") as file:
        file.write('[layers.villages]\npath = "villages.csv"\n')
    plan_rooms(load_project(project, output_dir=tmp_path / "out"), new_rooms=1, radius_km=0.3, lang=lang)
    return map_settings((tmp_path / "out" / "plan.html").read_text(encoding="utf-8"))


def test_a_plan_by_villages_opens_on_the_village_share_and_sums_the_plan_up(tmp_path):
    settings = _plan_by_villages(tmp_path, "en")
    columns = [indicator["column"] for indicator in settings["indicators"]]
    assert columns[settings["start"]] == "village_share_within_radius"
    assert "population_share_within_radius" not in columns  # unknown without population
    # 1 of 3 villages within 300 m of a site; the room covers 1 more.
    assert settings["summary"] == {
        "title": "Plan summary",
        "rows": [
            ["share", "Covered share", "33.3% → 66.7%"],
            ["newly_covered", "Villages newly covered", "1"],
            ["rooms", "Proposed rooms", "1"],
            ["radius", "Radius", "0.3 km"],
            ["method", "Method", "exact (mixed-integer programming, HiGHS)"],
        ],
    }
    (proposed,) = [layer for layer in settings["sites"] if layer["type"] == "proposed_room"]
    assert proposed["numbered"] and proposed["covers"]
    (point,) = read_points(proposed)
    assert point in (pytest.approx((118.001, 35.009), abs=1e-5), pytest.approx((118.019, 35.009), abs=1e-5))
    assert proposed["names"][0] in ("甲一村 (proposed room)", "乙一村 (proposed room)")


def test_the_plan_summary_in_chinese(tmp_path):
    rows = {key: (label, value) for key, label, value in _plan_by_villages(tmp_path, "zh")["summary"]["rows"]}
    assert rows["newly_covered"] == ("新增覆盖村（社区）", "1 个")
    assert rows["rooms"] == ("拟建社工室", "1 个")
    assert rows["radius"] == ("服务半径", "0.3 公里")
