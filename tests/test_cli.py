"""The command line end to end, in temporary folders."""

from __future__ import annotations

import re

import numpy as np
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from _support import REPO, map_settings, write_tiny_project, written_outputs
from township_coverage.cli import main

VENDOR = REPO / "src" / "township_coverage" / "webmap" / "vendor"


@pytest.fixture(scope="module")
def default_run(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("cli")
    result = CliRunner().invoke(main, ["run", "--output", str(folder / "maps")])
    return result, folder / "maps"


def test_default_run_succeeds_and_prints_the_published_figures(default_run):
    result, _ = default_run
    assert result.exit_code == 0, result.output
    # Figures of the source article (March 2023).
    for line in (
        "乡镇（街道）数: 156",
        "设有社工站的乡镇数: 156 (100.0%)",
        "社工站工作人员: 444",
        "社工室: 390",
        "学校社工站: 2",
        "企业社工站: 1",
        "医院社工站: 2",
    ):
        assert line in result.output
    assert "✗" not in result.output


def test_default_run_writes_tables_excel_can_open(default_run):
    _, maps = default_run
    for name in ("township_coverage.csv", "county_coverage.csv", "city_summary.csv"):
        assert (maps / name).read_bytes().startswith(b"\xef\xbb\xbf"), name
    townships = pd.read_csv(maps / "township_coverage.csv", encoding="utf-8-sig", dtype={"乡镇代码": str})
    assert len(townships) == 156 and townships["乡镇代码"].is_unique
    assert townships["社工站工作人员"].sum() == 444
    assert townships["社工室"].sum() == 390
    counties = pd.read_csv(maps / "county_coverage.csv", encoding="utf-8-sig")
    # 12 county outlines plus the High-tech Zone (371371), which has townships but no outline.
    assert len(counties) == 13 and counties["乡镇（街道）数"].sum() == 156
    city = pd.read_csv(maps / "city_summary.csv", encoding="utf-8-sig").iloc[0]
    assert (city["乡镇（街道）数"], city["设有社工站的乡镇数"], city["社工站工作人员"]) == (156, 156, 444)
    assert (city["社工室"], city["学校社工站"], city["企业社工站"], city["医院社工站"]) == (390, 2, 1, 2)


def test_map_references_no_external_url_and_says_it_is_schematic(default_run):
    _, maps = default_run
    page = (maps / "coverage.html").read_text(encoding="utf-8")
    # Leaflet's own source mentions its website in strings; everything else
    # in the page must be free of URLs.
    leaflet = (VENDOR / "leaflet" / "leaflet.js").read_text(encoding="utf-8")
    assert leaflet in page
    page = page.replace(leaflet, "")
    assert re.findall(r"(?:https?:)?//[\w.-]+\.[a-z]{2,}", page) == []
    assert "示意数据" in page


def test_map_has_every_township_and_site(default_run):
    _, maps = default_run
    settings = map_settings((maps / "coverage.html").read_text(encoding="utf-8"))
    assert len(settings["townships"]["codes"]) == 156
    names = {layer["type"]: layer["names"] for layer in settings["sites"]}
    assert len(names["township_station"]) == 156 and len(names["community_room"]) == 390
    for site_type, name in (("township_station", "兰山街道社会工作服务站"), ("school_station", "学校社工站（示意1）"),
                            ("hospital_station", "医院社工站（示意2）")):
        assert name in names[site_type]


def test_english_interface(tmp_path: Path):
    project = write_tiny_project(tmp_path)
    result = CliRunner().invoke(main, ["run", "--project", str(project), "--output", str(tmp_path / "out"), "--lang", "en"])
    assert result.exit_code == 0, result.output
    header = (tmp_path / "out" / "township_coverage.csv").read_text(encoding="utf-8-sig").splitlines()[0]
    assert header.startswith("township_code,township_name")


def test_help_explains_the_options():
    runner = CliRunner()
    top = runner.invoke(main, ["--help"])
    assert top.exit_code == 0 and "run" in top.output
    run_help = runner.invoke(main, ["run", "--help"])
    assert run_help.exit_code == 0
    for option in ("--project", "--output", "--lang", "--cdn"):
        assert option in run_help.output


def test_missing_project_file_is_a_clear_error(tmp_path: Path):
    result = CliRunner().invoke(main, ["run", "--project", str(tmp_path / "nope.toml")])
    assert result.exit_code == 1
    assert "project file not found" in result.output and "nope.toml" in result.output


def test_bad_rows_are_all_reported_and_nothing_is_written(tmp_path: Path):
    sites = (
        "site_id,site_type,name,township_code,lon,lat,staff\n"
        "S1,社工站,甲镇社工站,100000001,east,35.005,3\n"
        "S2,社工站,乙站,100000002,118.015,95,2\n"
        "S2,卫生院,丙站,100000002,118.015,35.005,x\n"
    )
    project = write_tiny_project(tmp_path, sites_csv=sites)
    output = tmp_path / "out"
    result = CliRunner().invoke(main, ["run", "--project", str(project), "--output", str(output)])
    assert result.exit_code == 1
    # Rows are numbered as a spreadsheet shows them: the header is row 1.
    expected = [
        "sites.csv, row 2, column 'lon', value 'east': a number is required",
        "sites.csv, row 3, column 'lat', value '95': must be within [-90, 90]",
        "sites.csv, row 4, column 'site_id', value 'S2': duplicate (first in row 3)",
        "sites.csv, row 4, column 'site_type', value '卫生院': unknown site type",
        "sites.csv, row 4, column 'staff', value 'x': must be a whole number >= 0, or empty",
    ]
    for message in expected:
        assert message in result.output
    assert written_outputs(output) == []


def test_a_site_outside_every_township_is_refused(tmp_path: Path):
    sites = "site_id,site_type,name,township_code,lon,lat\nS1,社工站,远站,,116.9,36.6\n"
    project = write_tiny_project(tmp_path, sites_csv=sites)
    result = CliRunner().invoke(main, ["run", "--project", str(project), "--output", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert "sites.csv, row 2, column 'lon/lat', value '116.9, 36.6': lies in no township" in result.output


def test_validate_reports_every_problem_and_exits_1(tmp_path: Path):
    sites = (
        "site_id,site_type,name,township_code,lon,lat\n"
        "S1,社工站,甲镇社工站,100000001,118.005,35.005\n"
        "S2,社工站,远站,,116.9,36.6\n"
        "S3,未知,站,,118.015,35.005\n"
    )
    project = write_tiny_project(tmp_path, sites_csv=sites)
    output = tmp_path / "out"
    result = CliRunner().invoke(main, ["validate", "--project", str(project), "--output", str(output)])
    assert result.exit_code == 1
    assert "sites.csv, row 3, column 'lon/lat', value '116.9, 36.6': lies in no township" in result.output
    assert "sites.csv, row 4, column 'site_type', value '未知': unknown site type" in result.output
    assert "2 error(s), 0 warning(s)" in result.output
    table = pd.read_csv(output / "validation.csv", encoding="utf-8-sig")
    assert table["行"].tolist() == [3, 4] and set(table["级别"]) == {"错误"}
    # Row accounting: 1 joined + 1 outside + 1 invalid = 3 rows.
    assert re.search(r"站点\s+1\s+0\s+1\s+0\s+1\s+0\s+0\s+3", result.output)


def test_validate_exits_0_on_the_default_dataset(tmp_path: Path):
    result = CliRunner().invoke(main, ["validate", "--output", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "0 error(s), 0 warning(s)" in result.output
    assert re.search(r"站点\s+551\s+0\s+0\s+0\s+0\s+0\s+0\s+551", result.output)
    assert re.search(r"村（社区）\s+4186\s+0\s+0\s+0\s+0\s+0\s+0\s+4186", result.output)


@pytest.fixture(scope="module")
def linyi_plan(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("plan")
    result = CliRunner().invoke(main, ["plan", "--new-rooms", "20", "--output", str(folder)])
    return result, folder


def test_plan_proposes_rooms_in_opening_order(linyi_plan):
    result, folder = linyi_plan
    assert result.exit_code == 0, result.output
    assert "拟建社工室 20 个" in result.output and "状态：最优" in result.output
    rooms = pd.read_csv(folder / "plan_rooms.csv", encoding="utf-8-sig", dtype={"村代码": str})
    assert rooms["开设顺序"].tolist() == list(range(1, 21))
    assert rooms["开设后累计覆盖比例"].is_monotonic_increasing
    assert rooms["新增覆盖"].gt(0).all()
    # Existing rooms stay where they are: no proposed room is in a village that has one.
    sites = pd.read_csv(REPO / "geo_data" / "linyi" / "sites.csv", dtype={"village_code": str})
    assert not set(rooms["村代码"]) & set(sites["village_code"].dropna())
    for name in ("plan_rooms.geojson", "plan_townships.csv", "plan_counties.csv", "plan.html"):
        assert (folder / name).exists(), name


def test_plan_covered_share_matches_an_independent_geodesic_count(linyi_plan):
    from pyproj import Geod

    _, folder = linyi_plan
    rooms = pd.read_csv(folder / "plan_rooms.csv", encoding="utf-8-sig")
    sites = pd.read_csv(REPO / "geo_data" / "linyi" / "sites.csv")
    villages = pd.read_csv(REPO / "geo_data" / "linyi" / "villages.csv")
    covering = sites[sites["site_type"].isin(["township_station", "community_room"])]
    lon = pd.concat([covering["lon"], rooms["经度"]]).to_numpy()
    lat = pd.concat([covering["lat"], rooms["纬度"]]).to_numpy()
    geod = Geod(ellps="WGS84")
    covered = 0.0
    for v in villages.itertuples():
        distances = geod.inv(np.full(len(lon), v.lon), np.full(len(lat), v.lat), lon, lat)[2]
        covered += v.population if distances.min() <= 3000 else 0
    share = covered / villages["population"].sum()
    assert rooms["开设后累计覆盖比例"].iloc[-1] == pytest.approx(share, abs=0.005)


def test_plan_target_share_and_unreachable_target(tmp_path: Path):
    runner = CliRunner()
    ok = runner.invoke(main, ["plan", "--target-share", "0.7", "--output", str(tmp_path / "a")])
    assert ok.exit_code == 0, ok.output
    rooms = pd.read_csv(tmp_path / "a" / "plan_rooms.csv", encoding="utf-8-sig")
    assert rooms["开设后累计覆盖比例"].iloc[-1] >= 0.7
    # In opening order, 70 % is reached only with the last room (minimality itself
    # is checked by brute force in test_plan.py).
    assert len(rooms) == 1 or rooms["开设后累计覆盖比例"].iloc[-2] < 0.7
    bad = runner.invoke(main, ["plan", "--target-share", "1", "--max-per-township", "1", "--output", str(tmp_path / "b")])
    assert bad.exit_code == 1 and "cannot be reached with these candidates" in bad.output
    both = runner.invoke(main, ["plan", "--target-share", "0.7", "--new-rooms", "3"])
    assert both.exit_code == 2 and "exactly one of" in both.output


def test_plan_respects_exclusions_and_checks_candidate_lists(linyi_plan, tmp_path: Path):
    _, folder = linyi_plan
    first = pd.read_csv(folder / "plan_rooms.csv", encoding="utf-8-sig", dtype={"村代码": str})
    excluded = first["村代码"].head(3).tolist()
    exclude = tmp_path / "exclude.csv"
    exclude.write_text("村代码\n" + "\n".join(excluded) + "\n", encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(main, ["plan", "--new-rooms", "20", "--exclude", str(exclude), "--output", str(tmp_path / "a")])
    assert result.exit_code == 0, result.output
    rooms = pd.read_csv(tmp_path / "a" / "plan_rooms.csv", encoding="utf-8-sig", dtype={"村代码": str})
    assert not set(excluded) & set(rooms["村代码"])
    assert rooms["开设后累计覆盖比例"].iloc[-1] <= first["开设后累计覆盖比例"].iloc[-1]

    candidates = tmp_path / "candidates.csv"
    candidates.write_text("village_code\n371302001001\n999999999999\n", encoding="utf-8")
    bad = runner.invoke(main, ["plan", "--new-rooms", "2", "--candidates", str(candidates), "--output", str(tmp_path / "b")])
    assert bad.exit_code == 1
    assert "candidates.csv, row 3, column 'village_code', value '999999999999': no village has this code" in bad.output
