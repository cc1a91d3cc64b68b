"""The default Linyi map in a real browser."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

COUNT_LAYERS = """
() => {
  const name = Object.keys(window).find(k => k.startsWith("map_"));
  let townships = 0, sites = 0;
  window[name].eachLayer(layer => {
    const p = layer.feature && layer.feature.properties;
    if (p && p.township_code) townships += 1;
    if (p && p.tip !== undefined) sites += 1;
  });
  return {townships, sites};
}
"""


@pytest.fixture(scope="module")
def map_path(linyi_run) -> Path:
    return next(p for p in linyi_run.outputs if p.name == "coverage.html")


def test_map_loads_offline_with_every_township_and_site(open_page, map_path, tmp_path):
    loaded = open_page(map_path)
    loaded.page.wait_for_timeout(500)
    assert loaded.errors == []
    assert loaded.network_requests == []
    counts = loaded.page.evaluate(COUNT_LAYERS)
    assert counts == {"townships": 156, "sites": 156 + 390 + 2 + 1 + 2}
    notice = loaded.page.locator(".tc-notice")
    assert notice.is_visible() and "示意" in notice.inner_text()
    screenshot = tmp_path / "coverage.png"
    loaded.page.screenshot(path=str(screenshot))
    assert screenshot.stat().st_size > 50_000  # a drawn map, not a blank page


def test_indicator_switch_changes_the_legend(open_page, map_path):
    loaded = open_page(map_path)
    legend = loaded.page.locator(".tc-legend-body")
    first = legend.inner_text()
    loaded.page.get_by_label("社工室数量").check()
    assert legend.inner_text() != first and "社工室数量" in legend.inner_text()
    assert loaded.page.locator(".tc-legend").get_attribute("data-indicator") == "community_rooms"
