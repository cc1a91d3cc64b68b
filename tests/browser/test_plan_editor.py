"""The what-if editor of the plan page: slider, rooms added and removed by clicking, export read back.

The figures the page computes (from the relation it carries) are compared
with :func:`township_coverage.plan.scenario.scenario_figures`, which
measures the distances between villages and sites itself, for the same
rooms; the exported scenario, read back by ``plan --fixed``, gives the
same plan again.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from township_coverage import load_project
from township_coverage.pipeline import plan_rooms
from township_coverage.plan.scenario import read_scenario, scenario_figures

pytestmark = pytest.mark.browser

ROOMS = 12
MAP = "window[Object.keys(window).find(k => k.startsWith('map_'))]"


@pytest.fixture(scope="module")
def linyi(linyi_plan_inputs):
    return linyi_plan_inputs


@pytest.fixture(scope="module")
def plan_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("plan_editor")
    plan_rooms(load_project(None, output_dir=folder), new_rooms=ROOMS)
    return folder


def _python(linyi, codes):
    validation, villages, _, existing = linyi
    return scenario_figures(villages, existing, codes, radius_km=3, townships=validation.townships,
                            weight=villages["population"].to_numpy())


def _open(open_page, folder: Path):
    loaded = open_page(folder / "plan.html")
    loaded.page.wait_for_selector("[data-tc-ready]")
    return loaded


def _page_figures(page) -> dict:
    return page.evaluate("() => window.TownshipPlanner.figures")


def _summary(page) -> dict[str, str]:
    return page.evaluate(
        "() => Object.fromEntries([...document.querySelectorAll('.tc-summary tr[data-key]')]"
        ".map(tr => [tr.dataset.key, tr.cells[1].textContent]))"
    )


def _assert_same(page, expected) -> None:
    """The page's figures, summary rows and county table are those of ``expected`` (scenario figures)."""
    shown = _page_figures(page)
    assert shown["rooms"] == list(expected.rooms)
    assert shown["gains"] == pytest.approx(expected.gains.tolist())
    assert (shown["total"], shown["before"], shown["after"]) == pytest.approx(
        (expected.total_weight, expected.covered_before, expected.covered_after))
    assert shown["villages"] == expected.villages_newly
    townships = expected.townships[expected.townships["weight"] > 0]
    assert set(shown["townships"]) == set(townships.index)
    for code, row in townships.iterrows():
        assert shown["townships"][code] == pytest.approx(
            [row["weight"], row["covered_before"], row["covered_after"], row["rooms"]]), code
    for name, row in expected.counties.iterrows():
        assert shown["counties"][name] == pytest.approx(row.tolist()), name
    rows = _summary(page)
    assert rows["share"] == f"{expected.share_before:.1%} → {expected.share_after:.1%}"
    assert rows["newly_covered"] == f"{expected.newly_covered:,.0f} 人"
    assert rows["villages_newly"] == f"{expected.villages_newly:,d} 个"
    assert rows["rooms"] == f"{len(expected.rooms)} 个"
    # The county table lists the counties with rooms or people gained.
    listed = page.evaluate("() => [...document.querySelectorAll('.tc-planner-counties tr[data-county]')]"
                           ".map(tr => [tr.dataset.county, [...tr.cells].map(td => td.textContent)])")
    gaining = expected.counties[(expected.counties["rooms"] > 0) | (expected.counties["covered_after"] >
                                                                     expected.counties["covered_before"])]
    assert [name for name, _ in listed] == sorted(gaining.index)
    for name, cells in listed:
        row = gaining.loc[name]
        assert cells[1:] == [
            f"{row['covered_before'] / row['weight']:.1%} → {row['covered_after'] / row['weight']:.1%}",
            f"{row['covered_after'] - row['covered_before']:,.0f}", str(int(row["rooms"])),
        ]


def test_the_editor_opens_on_the_solvers_plan_with_the_same_figures_as_python(open_page, plan_folder, linyi):
    rooms = pd.read_csv(plan_folder / "plan_rooms.csv", encoding="utf-8-sig", dtype={"村代码": str})
    loaded = _open(open_page, plan_folder)
    assert loaded.errors == [] and loaded.network_requests == []
    _assert_same(loaded.page, _python(linyi, rooms["村代码"].tolist()))
    assert loaded.page.locator(".tc-planner-slider").inner_text() == f"按开设顺序显示前 {ROOMS} 个（共 {ROOMS} 个）"


def test_the_slider_shows_the_first_rooms_in_opening_order(open_page, plan_folder, linyi):
    rooms = pd.read_csv(plan_folder / "plan_rooms.csv", encoding="utf-8-sig", dtype={"村代码": str})
    loaded = _open(open_page, plan_folder)
    page = loaded.page
    page.locator(".tc-planner-slider input").fill("3")
    _assert_same(page, _python(linyi, rooms["村代码"].tolist()[:3]))
    assert page.locator(".tc-badge-diamond").count() == 3
    entry = page.locator(".leaflet-control-layers-overlays label", has_text="拟建社工室")
    assert "拟建社工室（3）" in entry.inner_text()
    # The townships are coloured by their covered share with these rooms (the share shown in the tooltip).
    expected = _python(linyi, rooms["村代码"].tolist()[:3]).townships
    values = page.evaluate("() => { const p = TownshipCoverage.page; return p.indicator().values.slice(); }")
    codes = page.evaluate("() => TownshipCoverage.townships.codes")
    shares = dict(zip(codes, values))
    for code, row in expected[expected["weight"] > 0].iterrows():
        assert shares[code] == round(100 * row["covered_after"] / row["weight"]), code


def _village_to_add(linyi, plan_codes: list[str]) -> pd.Series:
    """A village without a room, not in the plan, far from every site: one to click on."""
    _, villages, sites, _ = linyi
    metric = villages.estimate_utm_crs()
    xy = np.column_stack([villages.geometry.to_crs(metric).x, villages.geometry.to_crs(metric).y])
    located = sites[sites.geometry.notna()].geometry.to_crs(metric)
    from scipy.spatial import cKDTree

    to_site = cKDTree(np.column_stack([located.x, located.y])).query(xy)[0]
    to_village = cKDTree(xy).query(xy, k=2)[0][:, 1]
    free = (to_site > 4000) & (to_village > 300) & ~villages["village_code"].isin(plan_codes).to_numpy()
    return villages[free].iloc[0]


def test_rooms_removed_and_added_by_clicking_give_pythons_figures_and_export_the_scenario(
    open_page, plan_folder, linyi, tmp_path
):
    rooms = pd.read_csv(plan_folder / "plan_rooms.csv", encoding="utf-8-sig", dtype={"村代码": str})
    plan = rooms["村代码"].tolist()
    loaded = _open(open_page, plan_folder)
    page = loaded.page
    # Remove rooms 2 and 5 (5 is numbered 4 once 2 is gone).
    page.locator(".tc-badge-diamond", has_text=re.compile(r"^2$")).click()
    page.locator(".tc-badge-diamond", has_text=re.compile(r"^4$")).click()
    kept = [code for i, code in enumerate(plan) if i not in (1, 4)]
    _assert_same(page, _python(linyi, kept))
    # Add one where a village is, zoomed in.
    village = _village_to_add(linyi, plan)
    point = page.evaluate(
        f"([lat, lng]) => {{ const map = {MAP}; map.setView([lat, lng], 15, {{animate: false}});"
        " const p = map.latLngToContainerPoint([lat, lng]); return [p.x, p.y]; }",
        [village.geometry.y, village.geometry.x],
    )
    page.mouse.click(*point)
    scenario = [*kept, village["village_code"]]
    expected = _python(linyi, scenario)
    _assert_same(page, expected)
    assert expected.gains[-1] > 0
    assert _summary(page)["method"].endswith("（已调整）")
    assert page.locator(".leaflet-popup").count() == 0  # the click added a room, it opened no township
    # The new room's tooltip says its number and village.
    page.mouse.move(point[0] + 200, point[1] + 200)
    page.locator(".tc-badge-diamond", has_text=re.compile(rf"^{len(scenario)}$")).hover()
    assert page.locator(".leaflet-tooltip").last.inner_text() == f"{len(scenario)}. {village['village_name']}（拟建社工室）"

    with page.expect_download() as download_info:
        page.locator(".tc-planner-export").click()
    download = download_info.value
    assert download.suggested_filename == "规划方案.csv"
    exported = tmp_path / "scenario.csv"
    download.save_as(exported)
    raw = exported.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    table = pd.read_csv(exported, encoding="utf-8-sig", dtype=str)
    assert table.columns.tolist() == ["村代码", "村（社区）", "乡镇（街道）", "县区", "开设顺序"]
    assert table["村代码"].tolist() == scenario and table["开设顺序"].tolist() == [str(i) for i in range(1, 12)]
    assert table["村（社区）"].iloc[-1] == village["village_name"]
    assert read_scenario(exported, linyi[1]) == scenario

    # Read back as the plan: the same rooms and figures.
    again = tmp_path / "again"
    plan_rooms(load_project(None, output_dir=again), new_rooms=0, fixed=exported)
    back = pd.read_csv(again / "plan_rooms.csv", encoding="utf-8-sig", dtype={"村代码": str})
    assert back["村代码"].tolist() == scenario
    assert back["新增覆盖"].to_numpy() == pytest.approx(expected.gains)
    assert back["开设后累计覆盖比例"].iloc[-1] == pytest.approx(expected.share_after, abs=5e-5)
    facts = json.loads((again / "plan_summary.json").read_text(encoding="utf-8"))
    assert [room["village_code"] for room in facts["rooms"]] == scenario
    # ... and its page opens on that scenario.
    reopened = _open(open_page, again)
    _assert_same(reopened.page, expected)


def test_the_solvers_plan_comes_back_and_the_tooltip_gives_the_townships_figures(open_page, plan_folder, linyi):
    rooms = pd.read_csv(plan_folder / "plan_rooms.csv", encoding="utf-8-sig", dtype={"村代码": str})
    loaded = _open(open_page, plan_folder)
    page = loaded.page
    page.locator(".tc-planner-slider input").fill("0")
    assert _page_figures(page)["rooms"] == []
    page.locator(".tc-planner-reset").click()
    expected = _python(linyi, rooms["村代码"].tolist())
    _assert_same(page, expected)
    assert not _summary(page)["method"].endswith("（已调整）")
    # The township of the first room: its figures in the tooltip.
    township = expected.townships.loc[str(rooms["乡镇代码"].iloc[0])]
    points = page.evaluate(
        f"(code) => {{ const map = {MAP}, t = TownshipCoverage.townships, i = t.codes.indexOf(code);"
        " const box = L.latLngBounds(t.latlngs(i).flat(2)); map.fitBounds(box, {animate: false}); const out = [];"
        " for (let f = 0.1; f < 1; f += 0.1) for (let g = 0.1; g < 1; g += 0.1) {"
        "  const lat = box.getSouth() + g * (box.getNorth() - box.getSouth()),"
        "        lng = box.getWest() + f * (box.getEast() - box.getWest());"
        "  if (t.at(lat, lng) === i) { const p = map.latLngToContainerPoint([lat, lng]); out.push([p.x, p.y]); } }"
        " return out; }", township.name)
    share_before = township["covered_before"] / township["weight"]
    share_after = township["covered_after"] / township["weight"]
    gained = township["covered_after"] - township["covered_before"]
    line = (f"规划：覆盖比例 {share_before:.1%} → {share_after:.1%}，新增覆盖 {gained:,.0f} 人，"
            f"拟建社工室 {int(township['rooms'])} 个")
    tips = []
    for x, y in points:  # a point of the township not under a site
        page.mouse.move(x, y)
        page.wait_for_timeout(50)
        tips = [text for text in page.locator(".leaflet-tooltip").all_inner_texts() if "规划" in text]
        if tips:
            break
    assert tips and line in tips[0]


def test_on_a_large_map_the_editor_starts_once_the_villages_are_loaded(open_page, linyi, tmp_path, monkeypatch):
    from township_coverage.webmap import page_data

    monkeypatch.setattr(page_data, "DETAILS_IN_PAGE_MAX", 0)  # names and villages beside the page, as on a large map
    plan_rooms(load_project(None, output_dir=tmp_path), new_rooms=5)
    assert list((tmp_path / "plan_data").glob("details-*.js"))
    rooms = pd.read_csv(tmp_path / "plan_rooms.csv", encoding="utf-8-sig", dtype={"村代码": str})
    loaded = _open(open_page, tmp_path)
    loaded.page.wait_for_function("() => window.TownshipPlanner.figures !== null")
    assert loaded.errors == [] and loaded.network_requests == []
    _assert_same(loaded.page, _python(linyi, rooms["村代码"].tolist()))


NASTY = '=<img src=x onerror="window.injected=1">村'


def test_names_are_text_in_the_editor_and_no_formula_in_the_export(open_page, tmp_path):
    import shutil

    from _support import LINYI

    project = tmp_path / "linyi"
    shutil.copytree(LINYI, project)
    villages = pd.read_csv(project / "villages.csv", dtype=str)
    villages.loc[0, "village_name"] = NASTY
    villages.to_csv(project / "villages.csv", index=False)
    fixed = tmp_path / "fixed.csv"
    fixed.write_text(f"村代码\n{villages.loc[0, 'village_code']}\n", encoding="utf-8")
    plan_rooms(load_project(project, output_dir=tmp_path / "out"), new_rooms=0, fixed=fixed)
    loaded = _open(open_page, tmp_path / "out")
    page = loaded.page
    assert loaded.errors == [] and page.evaluate("() => window.injected") is None
    page.mouse.move(5, 5)
    page.locator(".tc-badge-diamond").first.hover()
    assert page.locator(".leaflet-tooltip").last.inner_text() == f"1. {NASTY}（拟建社工室）"
    with page.expect_download() as download_info:
        page.locator(".tc-planner-export").click()
    exported = tmp_path / "scenario.csv"
    download_info.value.save_as(exported)
    table = pd.read_csv(exported, encoding="utf-8-sig", dtype=str)
    assert table["村（社区）"].tolist() == ["'" + NASTY]
    assert table["村代码"].tolist() == [villages.loc[0, "village_code"]]
