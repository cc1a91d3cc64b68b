"""The coverage map in a real browser (Debian's Chromium through Playwright)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import MultiPolygon, Polygon, box

from _support import LINYI, map_townships
from township_coverage import load_project, run

pytestmark = pytest.mark.browser

MAP = "window[Object.keys(window).find(k => k.startsWith('map_'))]"
COUNT_LAYERS = f"""
() => {{
  const counts = {{townships: TownshipCoverage.townships.codes.length}};
  {MAP}.eachLayer(layer => {{
    if (layer.tcSiteType) counts[layer.tcSiteType] = layer.getLayers().length;
  }});
  return counts;
}}
"""


@pytest.fixture(scope="module")
def map_path(linyi_run) -> Path:
    return next(p for p in linyi_run.outputs if p.name == "coverage.html")


def _ready(loaded) -> None:
    loaded.page.wait_for_selector("[data-tc-ready]")


def test_map_loads_offline_with_every_township_and_site(open_page, map_path, tmp_path):
    loaded = open_page(map_path)
    _ready(loaded)
    assert loaded.errors == []
    assert loaded.network_requests == []
    counts = loaded.page.evaluate(COUNT_LAYERS)
    assert counts == {
        "townships": 156,
        "township_station": 156,
        "community_room": 390,
        "school_station": 2,
        "enterprise_station": 1,
        "hospital_station": 2,
    }
    notice = loaded.page.locator(".tc-notice")
    assert notice.is_visible() and "示意" in notice.inner_text()
    screenshot = tmp_path / "coverage.png"
    loaded.page.screenshot(path=str(screenshot))
    assert screenshot.stat().st_size > 50_000  # a drawn map, not a blank page


def test_the_initial_view_fits_linyi(open_page, map_path):
    loaded = open_page(map_path)
    _ready(loaded)
    bounds = loaded.page.evaluate(f"() => {{ const b = {MAP}.getBounds(); return [b.getSouth(), b.getWest(), b.getNorth(), b.getEast()]; }}")
    south, west, north, east = bounds
    # Linyi spans about 34.4-36.2°N, 117.4-119.2°E.
    assert south < 34.4 and north > 36.2 and west < 117.4 and east > 119.2
    assert north - south < 4  # and not much more


DRAWN_TOWNSHIPS = """
() => {
  const t = TownshipCoverage.townships, out = {};
  t.codes.forEach((code, index) => { out[code] = t.latlngs(index); });
  return out;
}
"""


def test_the_page_draws_exactly_the_borders_it_carries(open_page, map_path):
    # The browser's decoder against the independent reader in _support.
    page_text = map_path.read_text(encoding="utf-8")
    carried = map_townships(page_text)
    loaded = open_page(map_path)
    _ready(loaded)
    drawn = loaded.page.evaluate(DRAWN_TOWNSHIPS)
    assert set(drawn) == set(carried)
    for code, polygons in drawn.items():
        shells = [Polygon([(p["lng"], p["lat"]) for p in rings[0]], [[(p["lng"], p["lat"]) for p in r] for r in rings[1:]])
                  for rings in polygons]
        shape = MultiPolygon(shells) if len(shells) > 1 else shells[0]
        assert shape.normalize().equals_exact(carried[code].normalize(), 1e-9), code
    # The page finds the township under a point (for tooltips and popups) as shapely does.
    for code, shape in list(carried.items())[::15]:
        point = shape.representative_point()
        index = loaded.page.evaluate(f"() => TownshipCoverage.townships.at({point.y}, {point.x})")
        assert index >= 0 and drawn_codes(loaded)[index] == code


def drawn_codes(loaded) -> list[str]:
    return loaded.page.evaluate("() => TownshipCoverage.townships.codes")


def test_switching_the_indicator_changes_fills_and_legend(open_page, map_path):
    loaded = open_page(map_path)
    _ready(loaded)
    fills = "() => TownshipCoverage.townships.fills()"
    legend = loaded.page.locator(".tc-legend-body")
    before_fills, before_legend = loaded.page.evaluate(fills), legend.inner_text()
    loaded.page.get_by_label("社工室数量").check()
    after_fills = loaded.page.evaluate(fills)
    assert after_fills != before_fills
    assert legend.inner_text() != before_legend and "社工室数量" in legend.inner_text()
    assert loaded.page.locator(".tc-legend").get_attribute("data-indicator") == "community_rooms"
    # Exactly one indicator is chosen.
    assert loaded.page.locator("input[name=tc-indicator]:checked").count() == 1


def test_clicking_a_township_opens_its_figures(open_page, map_path):
    sites = pd.read_csv(LINYI / "sites.csv", dtype={"township_code": str})
    townships = gpd.read_file(LINYI / "townships.geojson").set_index("township_code")
    code = "371321105"  # 张庄镇, 沂南县
    rooms = int(((sites["township_code"] == code) & (sites["site_type"] == "community_room")).sum())
    staff = int(sites.loc[(sites["township_code"] == code) & (sites["site_type"] == "township_station"), "staff"].sum())
    point = townships.geometry[code].representative_point()
    loaded = open_page(map_path)
    _ready(loaded)
    # Hide the sites so that the click reaches the township.
    loaded.page.evaluate(f"() => {{ const m = {MAP}; m.eachLayer(l => {{ if (l.tcSiteType) m.removeLayer(l); }}); }}")
    xy = loaded.page.evaluate(
        f"() => {{ const m = {MAP}; m.setView([{point.y}, {point.x}], 11, {{animate: false}}); "
        f"const p = m.latLngToContainerPoint([{point.y}, {point.x}]); const r = m.getContainer().getBoundingClientRect(); "
        "return [p.x + r.left, p.y + r.top]; }"
    )
    loaded.page.mouse.click(*xy)
    popup = loaded.page.locator(".tc-popup")
    popup.wait_for()
    text = popup.inner_text()
    assert popup.get_attribute("data-township") == code
    assert "张庄镇" in text and "沂南县" in text
    assert f"社工室数量\t{rooms} 个" in text and f"社工站工作人员\t{staff} 人" in text


def test_search_finds_a_township_and_zooms_to_it(open_page, map_path):
    loaded = open_page(map_path)
    _ready(loaded)
    zoom_before = loaded.page.evaluate(f"() => {MAP}.getZoom()")
    box_input = loaded.page.get_by_placeholder("搜索乡镇或村（社区）")
    box_input.fill("张庄")
    results = loaded.page.locator(".tc-search-results li")
    assert "张庄镇" in results.first.inner_text()
    box_input.press("Enter")
    loaded.page.locator(".tc-popup[data-township='371321105']").wait_for()
    assert loaded.page.evaluate(f"() => {MAP}.getZoom()") > zoom_before + 1


def test_search_finds_a_village(open_page, map_path):
    loaded = open_page(map_path)
    _ready(loaded)
    box_input = loaded.page.get_by_placeholder("搜索乡镇或村（社区）")
    box_input.fill("前十社区居民委员会")
    box_input.press("Enter")
    assert loaded.page.evaluate(f"() => {MAP}.getZoom()") == 14
    assert "前十社区居民委员会" in loaded.page.locator(".leaflet-tooltip").last.inner_text()


HOSTILE = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def hostile_map(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("hostile")
    gpd.GeoDataFrame(
        {
            "township_code": ["1", "2"],
            "township_name": [HOSTILE, "</script><script>alert(2)</script>"],
            "county_code": ["9", "9"],
            "county_name": ["<b onmouseover=alert(3)>县</b>", "县"],
        },
        geometry=[box(118.00, 35.00, 118.01, 35.01), box(118.01, 35.00, 118.02, 35.01)],
        crs="EPSG:4326",
    ).to_file(folder / "townships.geojson", driver="GeoJSON")
    (folder / "sites.csv").write_text(
        "site_id,site_type,name,lon,lat,staff\n"
        f'S1,社工站,"{HOSTILE}",118.005,35.005,2\n'
        "S2,社工室,<svg onload=alert(4)>,118.015,35.005,\n",
        encoding="utf-8",
    )
    (folder / "villages.csv").write_text(
        f'village_code,village_name,lon,lat,population\nV1,"{HOSTILE}村",118.006,35.006,100\n', encoding="utf-8"
    )
    (folder / "project.toml").write_text(
        textwrap.dedent(
            """\
            [project]
            name = "<script>alert(5)</script>"
            attribution = "<img src=y onerror=alert(6)>"
            [layers.townships]
            path = "townships.geojson"
            [layers.sites]
            path = "sites.csv"
            [layers.villages]
            path = "villages.csv"
            """
        ),
        encoding="utf-8",
    )
    result = run(load_project(folder, output_dir=folder / "maps"))
    return next(p for p in result.outputs if p.name == "coverage.html")


def test_names_from_the_data_show_as_text_and_run_no_script(open_page, hostile_map):
    loaded = open_page(hostile_map)
    dialogs = []
    loaded.page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    loaded.page.reload()
    _ready(loaded)
    assert loaded.errors == [] and dialogs == []
    # Tooltip, popup, legend, search: the names appear literally.
    loaded.page.evaluate("() => TownshipCoverage.openTownship('1')")
    assert HOSTILE in loaded.page.locator(".tc-popup").inner_text()
    search = loaded.page.get_by_placeholder("搜索乡镇或村（社区）")
    search.fill("<img")
    assert HOSTILE in loaded.page.locator(".tc-search-results").inner_text()
    search.press("Enter")
    loaded.page.mouse.move(5, 5)
    assert loaded.page.locator("img[src=x], img[src=y], svg[onload]").count() == 0
    assert dialogs == []
    assert loaded.page.title() == "<script>alert(5)</script>"


def test_html_report_opens_offline_and_shows_the_figures(open_page, linyi_run):
    report = next(p for p in linyi_run.outputs if p.name == "report.html")
    loaded = open_page(report)
    loaded.page.wait_for_timeout(1500)
    assert loaded.errors == [] and loaded.network_requests == []
    summary = loaded.page.locator("#summary").inner_text()
    for figure in ("156", "444", "390"):
        assert figure in summary
    frame = loaded.page.frame_locator("iframe.map")
    frame.locator("[data-tc-ready]").wait_for()
    assert loaded.page.locator("#townships tbody tr").count() == 156
