"""The plan's page (plan.html) in a browser: what it opens on, the proposed rooms, the summary box.

Expected figures are recomputed from the plan's tables (plan_rooms.csv,
plan_townships.csv) and the villages' population in the input file.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from _support import LINYI
from township_coverage import load_project
from township_coverage.pipeline import plan_rooms

pytestmark = pytest.mark.browser

ROOMS = 40
#: The numbered diamonds drawn: number, position and tooltip text.
PROPOSED = """
() => {
  const map = window[Object.keys(window).find(k => k.startsWith('map_'))], out = [];
  map.eachLayer(layer => {
    const node = layer.getElement && layer.getElement();
    const badge = node && node.querySelector('.tc-badge-diamond');
    if (badge) out.push({number: badge.textContent, lat: layer.getLatLng().lat, lng: layer.getLatLng().lng});
  });
  return out;
}
"""


@pytest.fixture(scope="module")
def plan_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("plan")
    plan_rooms(load_project(None, output_dir=folder), new_rooms=ROOMS)
    return folder


def _open(open_page, folder: Path, **size):
    loaded = open_page(folder / "plan.html", **size)
    loaded.page.wait_for_selector("[data-tc-ready]")
    return loaded


def test_the_plan_page_opens_on_the_covered_population_share(open_page, plan_folder):
    loaded = _open(open_page, plan_folder)
    assert loaded.errors == [] and loaded.network_requests == []
    legend = loaded.page.locator(".tc-legend")
    assert legend.get_attribute("data-indicator") == "population_share_within_radius"
    assert loaded.page.get_by_label("服务半径内人口比例").is_checked()
    assert "服务半径内人口比例" in loaded.page.locator(".tc-legend-body").inner_text()


def test_proposed_rooms_are_numbered_in_opening_order(open_page, plan_folder):
    rooms = pd.read_csv(plan_folder / "plan_rooms.csv", encoding="utf-8-sig")
    loaded = _open(open_page, plan_folder)
    drawn = sorted(loaded.page.evaluate(PROPOSED), key=lambda badge: int(badge["number"]))
    assert [int(badge["number"]) for badge in drawn] == rooms["开设顺序"].tolist() == list(range(1, ROOMS + 1))
    for badge, room in zip(drawn, rooms.itertuples()):
        # The table gives 4 decimals; the page about 1 m (1e-5°).
        assert (badge["lng"], badge["lat"]) == pytest.approx((room.经度, room.纬度), abs=6e-5)
    # In the layer list, with its own symbol and the number of rooms.
    entry = loaded.page.locator(".leaflet-control-layers-overlays label", has_text="拟建社工室")
    assert f"拟建社工室（{ROOMS}）" in entry.inner_text()
    assert "rotate(45deg)" in entry.locator(".tc-symbol").get_attribute("style")
    # The tooltip says the number and the village.
    first = rooms.iloc[0]
    loaded.page.locator(".tc-badge-diamond", has_text=re.compile(r"^1$")).hover()
    # Only the room's tooltip: the township's under it closes.
    tooltips = loaded.page.locator(".leaflet-tooltip")
    assert tooltips.count() == 1 and tooltips.inner_text() == f"1. {first['村（社区）']}（拟建社工室）"


def test_the_summary_box_gives_the_plans_figures(open_page, plan_folder):
    rooms = pd.read_csv(plan_folder / "plan_rooms.csv", encoding="utf-8-sig")
    townships = pd.read_csv(plan_folder / "plan_townships.csv", encoding="utf-8-sig")
    population = pd.read_csv(LINYI / "villages.csv")["population"].sum()
    # The plan counts the villages' people; the township table scales them to each township's own
    # population and rounds, so its sums may differ by about a person per township.
    newly = rooms["新增覆盖"].sum()
    gained = townships["服务半径内人口（规划后）"].sum() - townships["服务半径内人口（规划前）"].sum()
    assert gained == pytest.approx(newly, abs=len(townships))
    after = rooms["开设后累计覆盖比例"].iloc[-1] * population
    before = after - newly
    loaded = _open(open_page, plan_folder)
    rows = loaded.page.evaluate(
        "() => Object.fromEntries([...document.querySelectorAll('.tc-summary tr')]"
        ".map(tr => [tr.dataset.key, [...tr.cells].map(td => td.textContent)]))"
    )
    assert rows["share"] == ["覆盖比例", f"{before / population:.1%} → {after / population:.1%}"]
    assert rows["newly_covered"] == ["新增覆盖人口", f"{newly:,.0f} 人"]
    assert rows["rooms"] == ["拟建社工室", f"{len(rooms)} 个"]
    assert rows["radius"] == ["服务半径", "3 公里"]  # the Linyi project's radius_km
    assert rows["method"][1] in {"精确求解（混合整数规划，HiGHS）", "启发式（贪心＋交换）"}
    assert loaded.page.locator(".tc-summary").is_visible()


def test_a_narrow_plan_page_folds_the_summary_to_a_button(open_page, plan_folder):
    loaded = _open(open_page, plan_folder, width=420, height=600)
    button, table = loaded.page.locator(".tc-summary > .tc-panel-button"), loaded.page.locator(".tc-summary > table")
    assert button.inner_text() == "规划摘要" and not table.is_visible()
    button.click()
    assert table.is_visible()
