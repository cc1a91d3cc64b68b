"""What changes on a provincial or national map, shown on the Linyi data with the thresholds lowered.

A large map keeps the names of villages and sites in ``map_data/`` beside
the page and loads them after drawing; layers of many sites show counts
until zoomed in. Expected values come from the input files.
"""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from _support import LINYI, map_settings
from township_coverage import load_project, run
from township_coverage.webmap import page_data

pytestmark = pytest.mark.browser

MAP = "window[Object.keys(window).find(k => k.startsWith('map_'))]"


@pytest.fixture(scope="module")
def large_map(tmp_path_factory):
    """The Linyi run with names beside the page, and every site layer of over 100 sites drawn by zoom
    (counts while over 50 are in view)."""
    patch = pytest.MonkeyPatch()
    patch.setattr(page_data, "DETAILS_IN_PAGE_MAX", 0)
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
    (script,) = (output / "map_data").iterdir()
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
        "l.eachLayer(m => { total += Number(m.getElement().textContent); }); }); return total; }"
    )
    assert counted == rooms  # the whole city is in view: every room is in one count
    # Zoomed in, the layer draws the rooms in view themselves.
    shown = loaded.page.evaluate(
        f"() => {{ const m = {MAP}; m.setView([35.05, 118.35], 12, {{animate: false}}); let markers = 0; "
        "m.eachLayer(l => { if (l.tcSiteType === 'community_room') l.eachLayer(x => { if (x instanceof L.CircleMarker) markers += 1; }); }); "
        "return markers; }"
    )
    assert shown > 0
