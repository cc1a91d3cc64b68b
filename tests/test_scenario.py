"""What-if scenarios: a set of rooms' figures, scenario files, and ``plan --fixed``.

Expected figures of the small layout are worked out by hand; on the Linyi
data they come from the coverage table (metrics) and from the scenario
figures, which measure distances themselves, never from the solver.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from click.testing import CliRunner
from shapely.geometry import Point

from township_coverage import load_project
from township_coverage.cli import main
from township_coverage.errors import InputDataError
from township_coverage.metrics import coverage_table
from township_coverage.pipeline import plan_rooms
from township_coverage.plan.scenario import read_scenario, scenario_figures

UTM50 = "EPSG:32650"
Y = 3_900_000  # about 35°N


def _layout():
    """Five villages on a line (km: 0, 2, 5.5, 8, 20), a site at 0.5 km; radius 3 km covers V1 and V2."""
    villages = gpd.GeoDataFrame(
        {"village_code": ["V1", "V2", "V3", "V4", "V5"], "township_code": ["T1", "T1", "T2", "T2", "T3"],
         "population": [100.0, 50.0, 30.0, 20.0, 10.0]},
        geometry=[Point(x * 1000, Y) for x in (0, 2, 5.5, 8, 20)], crs=UTM50,
    ).to_crs("EPSG:4326")
    sites = gpd.GeoDataFrame({"site_type": ["community_room"]}, geometry=[Point(500, Y)], crs=UTM50).to_crs("EPSG:4326")
    townships = pd.DataFrame({"township_code": ["T1", "T2", "T3"], "county_name": ["甲县", "甲县", "乙县"]})
    return villages, sites, townships


def test_a_scenarios_figures_count_what_its_rooms_newly_reach_in_order():
    villages, sites, townships = _layout()
    figures = scenario_figures(villages, sites, ["V4", "V3"], radius_km=3, townships=townships,
                               weight=villages["population"].to_numpy())
    # V4 (8 km) reaches V3 (5.5) and itself; V3 then adds nothing (V2 is 3.5 km away and covered anyway).
    assert figures.gains.tolist() == [50.0, 0.0]
    assert (figures.total_weight, figures.covered_before, figures.covered_after) == (210.0, 150.0, 200.0)
    assert figures.newly_covered == 50.0 and figures.villages_newly == 2
    assert figures.share_after == pytest.approx(200 / 210)
    assert figures.townships[["weight", "covered_before", "covered_after", "rooms"]].to_numpy().tolist() == [
        [150, 150, 150, 0], [50, 0, 50, 2], [10, 0, 0, 0]]
    assert figures.counties.loc["甲县"].tolist() == [200, 150, 200, 2]
    assert figures.counties.loc["乙县"].tolist() == [10, 0, 0, 0]


def test_without_population_a_scenario_counts_villages():
    villages, sites, townships = _layout()
    figures = scenario_figures(villages, sites, ["V3"], radius_km=3, townships=townships)
    assert (figures.total_weight, figures.covered_before, figures.covered_after) == (5, 2, 4)
    assert figures.gains.tolist() == [2.0]


def test_a_scenario_with_an_unknown_or_repeated_village_is_refused():
    villages, sites, townships = _layout()
    with pytest.raises(ValueError, match="no village has the code.* V9"):
        scenario_figures(villages, sites, ["V9"], radius_km=3, townships=townships)
    with pytest.raises(ValueError, match="V3 occur more than once"):
        scenario_figures(villages, sites, ["V3", "V3"], radius_km=3, townships=townships)


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8-sig")
    return path


def test_a_scenario_file_is_read_in_its_opening_order(tmp_path):
    villages, _, _ = _layout()
    path = _write(tmp_path / "s.csv", "村代码,村（社区）,乡镇（街道）,县区,开设顺序\n"
                                      "V4,丁,乙镇,甲县,2\nV1,甲,甲镇,甲县,3\nV3,丙,乙镇,甲县,1\n")
    assert read_scenario(path, villages) == ["V3", "V4", "V1"]
    english = _write(tmp_path / "e.csv", "village_code,village_name\nV5,e\nV2,b\n")
    assert read_scenario(english, villages) == ["V5", "V2"]


def test_every_problem_of_a_scenario_file_is_reported_at_once(tmp_path):
    villages, _, _ = _layout()
    path = _write(tmp_path / "s.csv", "村代码,开设顺序\nV9,1\nV1,2\nV1,3\nV2,二\n")
    with pytest.raises(InputDataError) as error:
        read_scenario(path, villages)
    message = str(error.value)
    assert "row 2, column '村代码', value 'V9': no village has this code" in message
    assert "row 4, column '村代码', value 'V1': this village is listed twice" in message
    assert "row 5, column '开设顺序', value '二': a whole number is required" in message
    with pytest.raises(InputDataError, match="village_code"):
        read_scenario(_write(tmp_path / "n.csv", "村名\n甲\n"), villages)


# --- on the Linyi data ---------------------------------------------------------------

@pytest.fixture(scope="module")
def linyi(linyi_plan_inputs):
    return linyi_plan_inputs


def _figures(linyi, codes: list[str], *, by_population: bool = True):
    validation, villages, _, existing = linyi
    weight = villages["population"].to_numpy() if by_population else None
    return scenario_figures(villages, existing, codes, radius_km=3, townships=validation.townships, weight=weight)


def test_the_villages_a_scenario_finds_covered_are_those_of_the_coverage_table(linyi):
    validation, villages, sites, _ = linyi
    table = coverage_table(validation.townships, sites, villages, radius_km=3)
    figures = _figures(linyi, [], by_population=False)
    assert figures.townships["covered_before"].astype(int).to_dict() == table["villages_within_radius"].to_dict()
    assert figures.townships["weight"].astype(int).to_dict() == table["villages"].to_dict()


FIXED = ["371302001002", "371327106284"]  # a street of Lanshan, a village of Junan


@pytest.fixture(scope="module")
def fixed_plan(tmp_path_factory, linyi) -> Path:
    folder = tmp_path_factory.mktemp("fixed")
    path = _write(folder / "fixed.csv", "村代码,开设顺序\n" + "".join(f"{c},{i + 1}\n" for i, c in enumerate(FIXED)))
    plan_rooms(load_project(None, output_dir=folder / "out"), new_rooms=4, fixed=path)
    return folder / "out"


def test_fixed_rooms_open_first_and_the_new_rooms_count_beyond_them(fixed_plan, linyi):
    rooms = pd.read_csv(fixed_plan / "plan_rooms.csv", encoding="utf-8-sig", dtype={"村代码": str})
    assert rooms["村代码"].tolist()[:2] == FIXED and len(rooms) == 6 and rooms["村代码"].is_unique
    figures = _figures(linyi, rooms["村代码"].tolist())
    assert figures.gains[0] > 0
    assert rooms["新增覆盖"].to_numpy() == pytest.approx(figures.gains)
    assert rooms["开设后累计覆盖比例"].iloc[-1] == pytest.approx(figures.share_after, abs=5e-5)
    summary = json.loads((fixed_plan / "plan_summary.json").read_text(encoding="utf-8"))
    assert summary["parameters"]["fixed_rooms"] == 2 and summary["parameters"]["new_rooms"] == 4


def test_a_plan_read_back_with_fixed_and_no_new_rooms_is_the_same_plan(fixed_plan, tmp_path):
    result = CliRunner().invoke(main, ["plan", "--fixed", str(fixed_plan / "plan_rooms.csv"), "--new-rooms", "0",
                                       "--output", str(tmp_path), "--quiet", "--no-cache"])
    assert result.exit_code == 0, result.output
    again = pd.read_csv(tmp_path / "plan_rooms.csv", encoding="utf-8-sig", dtype={"村代码": str})
    first = pd.read_csv(fixed_plan / "plan_rooms.csv", encoding="utf-8-sig", dtype={"村代码": str})
    pd.testing.assert_frame_equal(again, first)
    # What the reports read: the plan's facts, with the same rooms and figures.
    facts = [json.loads((folder / "plan_summary.json").read_text(encoding="utf-8")) for folder in (fixed_plan, tmp_path)]
    assert facts[1]["rooms"] == facts[0]["rooms"] and facts[1]["city"] == facts[0]["city"]
    assert facts[1]["parameters"]["fixed_rooms"] == 6


def test_an_unknown_village_in_the_fixed_file_stops_the_plan_with_its_row(tmp_path):
    path = _write(tmp_path / "fixed.csv", "村代码\n371302001002\n999\n")
    result = CliRunner().invoke(main, ["plan", "--fixed", str(path), "--new-rooms", "1", "--output",
                                       str(tmp_path / "out"), "--quiet", "--no-cache"])
    assert result.exit_code == 1
    assert "fixed.csv, row 3, column '村代码', value '999': no village has this code" in result.output
    assert "Traceback" not in result.output
