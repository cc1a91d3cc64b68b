"""The timeline map in a real browser: the slider restyles the townships and shows the sites open then.

Expected colours, counts and values come from the literal sites and dates
in ``_support`` (``TIMELINE_SITES``, ``TIMELINE_DATES``), not from the page.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from _support import TIMELINE_DATES, TIMELINE_SITES, multipart_townships, timeline_sites, timeline_steps, timeline_villages
from township_coverage.webmap import MapOptions, build_timeline_map, save_map

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api", reason="playwright is not installed").expect

MAP = "window[Object.keys(window).find(k => k.startsWith('map_'))]"
HOSTILE_LABEL = "<img src=x onerror=alert(1)>"
# Inside 海岛镇's mainland part, away from every site (its station and room are on the island).
ISLAND_TOWNSHIP, INSIDE = "370001002", (35.05, 118.07)
YES, NO = (0x2C, 0x7F, 0xB8), (0xE3, 0x4A, 0x33)  # has a station: yes, no
COUNT_SITES = f"""
() => {{
  let shown = 0;
  {MAP}.eachLayer(layer => {{ if (layer.tcSiteType) shown += layer.getLayers().length; }});
  return shown;
}}
"""
# The townships' canvas pixel under a point, after the next frame.
PIXEL = f"""
async ([lat, lng]) => {{
  await new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)));
  const map = {MAP}, canvas = document.querySelector('.leaflet-tcTownships-pane canvas');
  const point = map.latLngToContainerPoint([lat, lng]), box = map.getContainer().getBoundingClientRect();
  const r = canvas.getBoundingClientRect();
  const x = Math.round((box.left + point.x - r.left) * canvas.width / r.width);
  const y = Math.round((box.top + point.y - r.top) * canvas.height / r.height);
  return Array.from(canvas.getContext('2d').getImageData(x, y, 1, 1).data);
}}
"""


def open_on(site: tuple, day: str) -> bool:
    opened, closed = site[7], site[8]
    return (not opened or opened <= day) and (not closed or day < closed)


def sites_open(day: str, site_type: str | None = None, township: str | None = None) -> list[tuple]:
    return [s for s in TIMELINE_SITES if open_on(s, day) and site_type in (None, s[1]) and township in (None, s[6])]


@pytest.fixture(scope="module")
def timeline_page(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("timeline")
    fmap = build_timeline_map(
        multipart_townships().set_index("township_code"),
        timeline_steps(labels={1: {"zh": HOSTILE_LABEL}}),
        timeline_sites(),
        title="时间轴",
        villages=timeline_villages(),
        options=MapOptions(radius_km=1.0),
    )
    (path,) = save_map(fmap, folder / "timeline.html")
    return path


def _ready(loaded) -> None:
    loaded.page.wait_for_selector("[data-tc-timeline]")


def _colour_near(pixel: list[int], expected: tuple[int, int, int]) -> bool:
    return pixel[3] > 150 and all(abs(a - b) <= 3 for a, b in zip(pixel, expected))


def test_the_slider_changes_fills_sites_and_values(open_page, timeline_page):
    loaded = open_page(timeline_page)
    _ready(loaded)
    page = loaded.page
    assert loaded.errors == [] and loaded.network_requests == []
    page.get_by_label("是否设有社工站").check()
    slider = page.locator("input.tc-timeline-slider")
    # The page opens on the last step.
    assert slider.input_value() == "2"
    assert page.evaluate(COUNT_SITES) == len(sites_open(TIMELINE_DATES[2])) == 8
    seen = {}
    for step in (0, 1):
        day = TIMELINE_DATES[step]
        slider.fill(str(step))
        year, month, date = day.split("-")
        assert page.locator(".tc-timeline-date").inner_text() == f"截至 {int(year)}年{int(month)}月{int(date)}日"
        has_station = bool(sites_open(day, "township_station", ISLAND_TOWNSHIP))
        pixel = page.evaluate(PIXEL, list(INSIDE))
        assert _colour_near(pixel, YES if has_station else NO), (step, pixel)
        seen[step] = (tuple(pixel), page.evaluate(COUNT_SITES))
        assert seen[step][1] == len(sites_open(day))
        # The layer list counts the sites shown.
        stations = len(sites_open(day, "township_station"))
        assert f"社工站（{stations}）" in page.locator(".leaflet-control-layers").inner_text()
        # The popup shows the step's values and open sites.
        page.evaluate(f"() => TownshipCoverage.openTownship('{ISLAND_TOWNSHIP}')")
        popup = page.locator(f".tc-popup[data-township='{ISLAND_TOWNSHIP}']")
        expect(popup).to_have_count(1)  # the previous step's popup fades out
        popup = popup.inner_text()
        rooms = sites_open(day, "community_room", ISLAND_TOWNSHIP)
        assert f"社工室数量\t{len(rooms)} 个" in popup
        assert all(s[2] in popup for s in sites_open(day, township=ISLAND_TOWNSHIP))
    assert seen[0][0] != seen[1][0] and seen[0][1] != seen[1][1]
    # The 2022 room on the island closed on the day of the second step: 5 sites, then 6.
    assert (seen[0][1], seen[1][1]) == (5, 6)
    # Next goes on to the last step.
    page.get_by_role("button", name="下一期").click()
    assert slider.input_value() == "2" and page.evaluate(COUNT_SITES) == 8
    assert page.locator(".tc-timeline-date").inner_text() == "截至 2023年12月31日"


def test_step_labels_show_as_text(open_page, timeline_page):
    loaded = open_page(timeline_page)
    dialogs = []
    loaded.page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    _ready(loaded)
    labels = loaded.page.locator(".tc-timeline-steps span")
    assert labels.all_inner_texts() == ["2021年末", HOSTILE_LABEL, "2023年末"]
    assert loaded.page.locator(".tc-timeline img").count() == 0 and dialogs == []
    # Clicking a label chooses its step.
    labels.first.click()
    assert loaded.page.locator("input.tc-timeline-slider").input_value() == "0"


def test_play_runs_through_the_steps_and_stops_at_the_last(open_page, timeline_page):
    loaded = open_page(timeline_page)
    _ready(loaded)
    slider = loaded.page.locator("input.tc-timeline-slider")
    play = loaded.page.get_by_role("button", name="播放")
    play.click()  # from the last step it starts again at the first
    assert slider.input_value() == "0"
    expect(loaded.page.get_by_role("button", name="暂停")).to_be_visible()
    expect(slider).to_have_value("1", timeout=5000)
    expect(slider).to_have_value("2", timeout=5000)
    expect(play).to_have_attribute("title", "播放")
    loaded.page.wait_for_timeout(1700)  # stopped: no further step
    assert slider.input_value() == "2" and loaded.errors == []


def test_long_step_labels_do_not_overlap(open_page, tmp_path):
    long = {k: {"zh": f"{2021 + k}年第4季度末（第{k + 1}步）"} for k in range(3)}
    fmap = build_timeline_map(multipart_townships().set_index("township_code"), timeline_steps(labels=long),
                              timeline_sites(), title="时间轴", options=MapOptions(radius_km=1.0))
    (path,) = save_map(fmap, tmp_path / "timeline.html")
    loaded = open_page(path)
    _ready(loaded)
    boxes = loaded.page.evaluate(
        """() => Array.from(document.querySelectorAll('.tc-timeline-steps span'))
             .filter(span => getComputedStyle(span).display !== 'none')
             .map(span => { const r = span.getBoundingClientRect(); return [span.textContent, r.left, r.right]; })"""
    )
    assert boxes[-1][0] == long[2]["zh"]  # the last step keeps its label
    assert all(right < left for (_, _, right), (_, left, _) in zip(boxes, boxes[1:])), boxes
