"""What changes on a provincial or national map, shown on the Linyi data with the thresholds lowered.

A large map keeps the names of villages and sites in ``map_data/`` beside
the page and loads them after drawing; it carries coarse borders and
loads finer ones for the area in view once zoomed in; layers of many
sites show counts until zoomed in. Expected values come from the input
files and the independent readers in ``_support``.
"""

from __future__ import annotations

import shutil

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from shapely.geometry import MultiPolygon, Polygon

from _support import LINYI, map_settings, map_townships, read_border_cells, read_topology, read_varints
from township_coverage import load_project, run
from township_coverage.pipeline import plan_rooms
from township_coverage.webmap import page_data

pytestmark = pytest.mark.browser

MAP = "window[Object.keys(window).find(k => k.startsWith('map_'))]"


@pytest.fixture(scope="module")
def large_map(tmp_path_factory):
    """The Linyi run with names and finer borders beside the page, and every site layer of over
    100 sites drawn by zoom (counts while over 50 are in view)."""
    patch = pytest.MonkeyPatch()
    patch.setattr(page_data, "DETAILS_IN_PAGE_MAX", 0)
    patch.setattr(page_data, "LARGE_MAP_TOWNSHIPS", 10)
    patch.setattr(page_data, "DETAIL_CELL_DEGREES", 0.25)
    patch.setattr(page_data, "DETAIL_MIN_ZOOM", 11)  # the whole city opens at about zoom 9
    patch.setattr(page_data, "BY_ZOOM_ABOVE", 100)
    patch.setattr(page_data, "BY_ZOOM_MAX_IN_VIEW", 50)
    try:
        output = tmp_path_factory.mktemp("large_map")
        result = run(load_project(None, output_dir=output), report_formats=("html",))
    finally:
        patch.undo()
    return output, result


def _ready(loaded) -> None:
    loaded.page.wait_for_selector("[data-tc-ready]")


def test_names_are_beside_the_page_and_the_run_lists_them(large_map):
    output, result = large_map
    page = (output / "coverage.html").read_text(encoding="utf-8")
    settings = map_settings(page)
    assert settings["villages"] is None and all("names" not in layer for layer in settings["sites"])
    (script,) = (output / "map_data").glob("details-*.js")
    assert settings["details_file"] == f"map_data/{script.name}"
    villages = pd.read_csv(LINYI / "villages.csv", dtype=str)
    assert villages["village_name"].iloc[0] not in page
    assert villages["village_name"].iloc[0] in script.read_text(encoding="utf-8")
    assert output / "map_data" in result.outputs


def test_village_search_and_site_names_arrive_after_drawing(open_page, large_map):
    output, _ = large_map
    loaded = open_page(output / "coverage.html")
    _ready(loaded)
    loaded.page.wait_for_selector("html[data-tc-details]")
    assert loaded.errors == [] and loaded.network_requests == []
    box_input = loaded.page.get_by_placeholder("搜索乡镇或村（社区）")
    box_input.fill("前十社区居民委员会")
    box_input.press("Enter")
    assert "前十社区居民委员会" in loaded.page.locator(".leaflet-tooltip").last.inner_text()
    # The popup lists the township's sites by name.
    sites = pd.read_csv(LINYI / "sites.csv", dtype={"township_code": str})
    code = "371321105"
    loaded.page.evaluate(f"() => TownshipCoverage.openTownship('{code}')")
    text = loaded.page.locator(f".tc-popup[data-township='{code}']").inner_text()
    for name in sites.loc[sites["township_code"] == code, "name"]:
        assert name in text


def test_without_its_folder_the_page_draws_and_says_what_is_missing(open_page, large_map, tmp_path):
    output, _ = large_map
    shutil.copy(output / "coverage.html", tmp_path / "coverage.html")
    loaded = open_page(tmp_path / "coverage.html")
    _ready(loaded)
    loaded.page.wait_for_timeout(300)
    box_input = loaded.page.get_by_placeholder("搜索乡镇或村（社区）")
    box_input.fill("张庄")
    results = loaded.page.locator(".tc-search-results").inner_text()
    assert "map_data" in results and "张庄镇" in results


def test_many_sites_show_as_counts_that_add_up_then_as_sites(open_page, large_map):
    output, _ = large_map
    sites = pd.read_csv(LINYI / "sites.csv")
    rooms = int((sites["site_type"] == "community_room").sum())
    loaded = open_page(output / "coverage.html")
    _ready(loaded)
    counted = loaded.page.evaluate(
        f"() => {{ let total = 0; {MAP}.eachLayer(l => {{ if (l.tcSiteType === 'community_room') "
        "l.eachLayer(m => { total += m.options.count; }); }); return total; }"
    )
    assert counted == rooms  # the whole city is in view: every room is in one count
    # Zoomed in, the layer draws the rooms in view themselves.
    shown = loaded.page.evaluate(
        f"() => {{ const m = {MAP}; m.setView([35.05, 118.35], 12, {{animate: false}}); let markers = 0; "
        "m.eachLayer(l => { if (l.tcSiteType === 'community_room') l.eachLayer(x => { if (x instanceof L.CircleMarker && x.options.count === undefined) markers += 1; }); }); "
        "return markers; }"
    )
    assert shown > 0


def _input_townships() -> gpd.GeoSeries:
    return gpd.read_file(LINYI / "townships.geojson").set_index("township_code").geometry


def _within(shapes: dict, tolerance: float) -> None:
    """Every shape is the input township of its code, give or take ``tolerance`` degrees.

    Its points lie near the input's border, and the input's points near
    its border, all but the tips of spikes narrower than the grid (the
    input has one), which rounding to the grid removes.
    """
    townships = _input_townships()
    assert set(shapes) == set(townships.index)
    for code, shape in shapes.items():
        drawn = shapely.get_coordinates(shape)
        assert shapely.distance(shapely.points(drawn), townships[code].boundary).max() <= tolerance, code
        rings = [ring.coords for polygon in getattr(townships[code], "geoms", [townships[code]])
                 for ring in (polygon.exterior, *polygon.interiors)]
        tips = [point for ring in rings for before, point, after in zip(ring[-2:-1] + ring[:-2], ring[:-1], ring[1:])
                if shapely.Point(before).distance(shapely.Point(after)) > page_data.GRID_DEGREES]
        assert shapely.distance(shapely.points(tips), shape.boundary).max() <= tolerance, code


def _shared_once_each_way(encoded: dict) -> None:
    """Each arc is used by one ring, or by two running opposite ways (a border two neighbours share)."""
    uses: dict[int, list[bool]] = {}
    stream, previous = iter(read_varints(encoded["shapes"])), 0
    for polygon_count in stream:
        for _ in range(polygon_count):
            for _ in range(next(stream)):
                for _ in range(next(stream)):
                    code = next(stream)
                    previous += (code >> 1 >> 1) ^ -((code >> 1) & 1)
                    uses.setdefault(previous, []).append(bool(code & 1))
    assert all(len(way) == 1 or sorted(way) == [False, True] for way in uses.values())
    assert sum(len(way) == 2 for way in uses.values()) > len(uses) / 2


def test_the_page_carries_coarse_borders_and_finer_ones_wait_beside_it(large_map):
    output, _ = large_map
    page = (output / "coverage.html").read_text(encoding="utf-8")
    townships = map_settings(page)["townships"]
    # Rounding to a grid moves a point by up to half a cell's diagonal.
    coarse = page_data.OVERVIEW_SIMPLIFY_DEGREES + page_data.OVERVIEW_GRID_DEGREES
    fine = page_data.SIMPLIFY_DEGREES + page_data.GRID_DEGREES
    assert townships["topology"]["grid"] == page_data.OVERVIEW_GRID_DEGREES
    _within(map_townships(page), coarse)
    _shared_once_each_way(townships["topology"])
    detail = townships["detail"]
    assert len(detail["files"]) == len(detail["boxes"]) > 1
    finer = read_border_cells(output, detail)
    assert sorted(finer) == list(range(len(finer)))  # every arc, once
    shapes = read_topology(townships["topology"], finer)
    _within(dict(zip(townships["codes"], shapes)), fine)
    # Each cell's box holds its arcs.
    for name, box in zip(detail["files"], detail["boxes"]):
        one = read_border_cells(output, {**detail, "files": [name]})
        assert shapely.box(*box).buffer(1e-9).contains(shapely.MultiLineString(list(one.values())))


def _drawn(loaded, index: int):
    polygons = loaded.page.evaluate(f"() => TownshipCoverage.townships.latlngs({index})")
    shells = [Polygon([(p["lng"], p["lat"]) for p in rings[0]], [[(p["lng"], p["lat"]) for p in r] for r in rings[1:]])
              for rings in polygons]
    return MultiPolygon(shells) if len(shells) > 1 else shells[0]


def test_zoomed_in_the_page_draws_the_finer_borders_of_the_area_in_view(open_page, large_map):
    output, _ = large_map
    page = (output / "coverage.html").read_text(encoding="utf-8")
    townships = map_settings(page)["townships"]
    code = "371321105"  # 张庄镇, 沂南县
    index = townships["codes"].index(code)
    coarse = read_topology(townships["topology"])[index]
    fine = read_topology(townships["topology"], read_border_cells(output, townships["detail"]))[index]
    loaded = open_page(output / "coverage.html")
    _ready(loaded)
    assert _drawn(loaded, index).normalize().equals_exact(coarse.normalize(), 1e-9)
    assert loaded.page.evaluate("() => TownshipCoverage.townships.detail().requested") == 0
    point = _input_townships()[code].representative_point()
    loaded.page.evaluate(f"() => {{ {MAP}.setView([{point.y}, {point.x}], 12, {{animate: false}}); }}")
    loaded.page.wait_for_function(
        "() => { const d = TownshipCoverage.townships.detail(); return d.requested > 0 && d.loaded === d.requested; }"
    )
    status = loaded.page.evaluate("() => TownshipCoverage.townships.detail()")
    assert 0 < status["requested"] < len(townships["detail"]["files"]) and status["failed"] == 0
    assert _drawn(loaded, index).normalize().equals_exact(fine.normalize(), 1e-9)
    assert loaded.page.evaluate(f"() => TownshipCoverage.townships.at({point.y}, {point.x})") == index
    assert loaded.errors == [] and loaded.network_requests == []


def test_a_plan_map_keeps_its_own_folder_beside_the_coverage_map(large_map, tmp_path):
    output, _ = large_map
    folder = tmp_path / "out"
    shutil.copytree(output, folder)
    before = sorted(path.name for path in (folder / "map_data").iterdir())
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(page_data, "DETAILS_IN_PAGE_MAX", 0)
        patch.setattr(page_data, "LARGE_MAP_TOWNSHIPS", 10)
        outcome = plan_rooms(load_project(None, output_dir=folder), new_rooms=3)
    assert folder / "plan_data" in outcome.outputs
    plan = map_settings((folder / "plan.html").read_text(encoding="utf-8"))
    assert plan["details_file"].startswith("plan_data/") and (folder / plan["details_file"]).exists()
    assert all((folder / name).exists() for name in plan["townships"]["detail"]["files"])
    # The coverage map's folder is as the run left it.
    assert sorted(path.name for path in (folder / "map_data").iterdir()) == before
    coverage = map_settings((folder / "coverage.html").read_text(encoding="utf-8"))
    assert (folder / coverage["details_file"]).exists()
