"""The embeddable map in a narrow frame: panels fold to buttons, the map stays in view; the scale is metric."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

#: Share of the map's area that the controls over it cover (sum of their boxes, clipped to the map).
COVERED_SHARE = """
() => {
  const map = document.querySelector('.folium-map').getBoundingClientRect();
  let covered = 0;
  for (const node of document.querySelectorAll('.leaflet-control')) {
    if (!node.offsetParent) continue;  // not shown
    const r = node.getBoundingClientRect();
    const w = Math.min(r.right, map.right) - Math.max(r.left, map.left);
    const h = Math.min(r.bottom, map.bottom) - Math.max(r.top, map.top);
    if (w > 0 && h > 0) covered += w * h;
  }
  return covered / (map.width * map.height);
}
"""
#: Each folded panel: its button and what it shows once open.
PANELS = {
    "indicator": (".tc-legend > .tc-panel-button", ".tc-indicators"),
    "notice": (".tc-info > .tc-panel-button", ".tc-notice"),
    "layers": (".leaflet-control-layers-toggle", ".leaflet-control-layers-list"),
}


@pytest.fixture(scope="module")
def embed_path(linyi_run) -> Path:
    return next(p for p in linyi_run.outputs if p.name == "embed.html")


def _ready(loaded) -> None:
    loaded.page.wait_for_selector("[data-tc-ready]")


@pytest.mark.parametrize("width", [420, 600, 800])
def test_a_narrow_frame_shows_the_map_with_panels_folded_to_buttons(open_page, embed_path, width):
    loaded = open_page(embed_path, width=width, height=600)
    _ready(loaded)
    page = loaded.page
    assert loaded.errors == [] and loaded.network_requests == []
    assert page.evaluate(COVERED_SHARE) <= 0.25
    for button, panel in PANELS.values():
        assert page.locator(button).is_visible() and not page.locator(panel).is_visible()
    # The schematic notice still says so on its button.
    assert page.locator(PANELS["notice"][0]).inner_text() == "示意数据"
    for name, (button, panel) in PANELS.items():
        page.locator(button).click()
        assert page.locator(panel).is_visible(), name
        # One panel open at a time; it leaves most of the map in view.
        others = [other for key, (_, other) in PANELS.items() if key != name]
        assert not any(page.locator(other).is_visible() for other in others), name
        assert page.evaluate(COVERED_SHARE) <= 0.5, name
    # The open layer list folds again when the map is clicked.
    page.mouse.click(width // 2, 300)
    assert not page.locator(PANELS["layers"][1]).is_visible()


def test_the_indicator_is_chosen_from_the_opened_panel(open_page, embed_path):
    loaded = open_page(embed_path, width=420, height=600)
    _ready(loaded)
    page = loaded.page
    page.locator(PANELS["indicator"][0]).click()
    page.get_by_label("社工室数量").check()
    assert page.locator(".tc-legend").get_attribute("data-indicator") == "community_rooms"
    assert "社工室数量" in page.locator(".tc-legend-body").inner_text()
    page.locator(PANELS["indicator"][0]).click()  # folds again
    assert not page.locator(".tc-indicators").is_visible()


def test_a_wide_page_shows_every_panel_and_no_buttons(open_page, embed_path):
    loaded = open_page(embed_path, width=1280, height=860)
    _ready(loaded)
    page = loaded.page
    for button, panel in PANELS.values():
        assert page.locator(panel).is_visible()
    assert page.locator(".tc-panel-button:visible").count() == 0
    assert page.locator(".leaflet-control-layers-toggle").is_hidden()


def test_a_frame_made_wider_unfolds_its_panels(open_page, embed_path):
    loaded = open_page(embed_path, width=600, height=600)
    _ready(loaded)
    page = loaded.page
    assert not page.locator(".tc-indicators").is_visible()
    page.set_viewport_size({"width": 1200, "height": 800})
    page.locator(".tc-indicators").wait_for(state="visible")
    assert page.locator(".leaflet-control-layers-list").is_visible()


@pytest.mark.parametrize("width", [420, 1280])
def test_the_scale_is_metric_only(open_page, embed_path, width):
    loaded = open_page(embed_path, width=width, height=600)
    _ready(loaded)
    scales = loaded.page.locator(".leaflet-control-scale-line")
    assert scales.count() == 1
    assert re.fullmatch(r"\d+ (公里|米)", scales.inner_text())
