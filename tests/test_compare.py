"""Comparing two site lists: matching, every row accounted for, outputs, errors and the map of changes."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from click.testing import CliRunner
from pyproj import Geod, Transformer
from shapely.geometry import Point

from _support import MULTIPART_SITES, map_settings, without_progress, write_multipart_project, written_outputs
from township_coverage.classes import change_classes
from township_coverage.cli import main
from township_coverage.compare import change_counts, compare_sites, compare_townships

# Positions given in metres in UTM zone 50N (which covers 114-120°E), placed in WGS84 by pyproj.
_TO_WGS84 = Transformer.from_crs("EPSG:32650", "EPSG:4326", always_xy=True)
_ORIGIN = (500_000.0, 3_875_000.0)  # about 117°E 35°N


def _at(east_m: float, north_m: float = 0.0) -> Point:
    return Point(*_TO_WGS84.transform(_ORIGIN[0] + east_m, _ORIGIN[1] + north_m))


def site_list(rows: list[tuple], *, file: str | None = None) -> gpd.GeoDataFrame:
    """Joined rows: (id or None, name, type, township, position or None[, status, detail]); rows numbered from 2.

    Rows without an id get ``<file>:<row>``, as the tool names them, and are not the list's own ids.
    """
    records = []
    for number, (site_id, name, kind, township, position, *status) in enumerate(rows, start=2):
        records.append({
            "_row": number, "site_id": site_id if site_id is not None else f"{file}:{number}",
            "own_id": site_id is not None, "name": name, "site_type": kind, "township_code": township,
            "join_status": status[0] if status else "joined", "join_detail": status[1] if status else "",
            "geometry": position,
        })
    return gpd.GeoDataFrame(records, geometry="geometry", crs="EPSG:4326")


def rows_of(changes: pd.DataFrame) -> list[tuple]:
    """(change, matched_by, old row, new row) of every row of a change table."""
    def number(value):
        return None if pd.isna(value) else int(value)

    return [(c, m, number(o), number(n)) for c, m, o, n in
            zip(changes["change"], changes["matched_by"], changes["old_row"], changes["new_row"])]


def assert_every_row_once(changes: pd.DataFrame, old: pd.DataFrame, new: pd.DataFrame) -> None:
    for side, frame in (("old", old), ("new", new)):
        listed = changes[f"{side}_row"].dropna().astype(int)
        assert sorted(listed) == sorted(frame["_row"]), side


# --- matching ------------------------------------------------------------------------------


def test_sites_match_by_their_own_ids_first():
    old = site_list([
        ("A", "甲镇社工站", "township_station", "T1", _at(0)),
        ("B", "乙村社工室", "community_room", "T1", _at(1_000)),
        ("C", "丙村社工室", "community_room", "T2", _at(5_000)),
    ])
    new = site_list([
        ("B", "乙村社会工作服务室", "community_room", "T1", _at(1_000, 250)),  # renamed and moved 250 m
        ("A", "甲镇社工站", "township_station", "T1", _at(30)),  # 30 m: not moved
        ("D", "丙村社工室", "community_room", "T2", _at(5_000)),  # C's name and place, but another id
    ])
    changes = compare_sites(old, new, moved_m=100)

    # C and D share a name and a place, so they match by name; A and B by id.
    assert rows_of(changes) == [
        ("unchanged", "id", 2, 3),
        ("moved", "id", 3, 2),
        ("unchanged", "name_position", 4, 4),
    ]
    assert list(changes["old_id"]) == ["A", "B", "C"] and list(changes["new_id"]) == ["A", "B", "D"]
    assert list(changes["new_name"]) == ["甲镇社工站", "乙村社会工作服务室", "丙村社工室"]
    assert changes["distance_m"].tolist() == pytest.approx([30, 250, 0], abs=0.5)
    assert_every_row_once(changes, old, new)


def test_ids_of_their_own_only_on_both_sides_match():
    old = site_list([("A", "甲镇社工站", "township_station", "T1", _at(0))])
    new = site_list([
        ("Z", "别的站", "township_station", "T1", _at(0)),
        ("A", "丁村社工室", "community_room", "T2", _at(9_000)),  # same id A, far away: still the same site
    ])
    changes = compare_sites(old, new)
    assert rows_of(changes) == [("moved", "id", 2, 3), ("opened", "", None, 2)]
    assert changes["distance_m"].iloc[0] == pytest.approx(9_000, abs=1)


def test_sites_without_ids_match_by_name_and_type_nearest_pair_first():
    old = site_list([
        (None, "甲镇社工站", "township_station", "T1", _at(0)),
        (None, "乙村社工室", "community_room", "T1", _at(2_000)),
        (None, "丙村社工室", "community_room", "T2", _at(10_000)),
        (None, "王庄社工室", "community_room", "T3", _at(20_000)),  # two rooms of one name
        (None, "王庄社工室", "community_room", "T3", _at(21_000)),
        (None, "学校社工站", "school_station", "T3", _at(30_000)),
    ], file="sites.csv")
    new = site_list([
        (None, "甲镇社工站", "township_station", "T1", _at(0, 60)),  # the same file:row id as old row 2
        (None, "乙村 社工室", "community_room", "T1", _at(2_300)),  # spaced name, 300 m away
        (None, "丙村社工室", "community_room", "T2", _at(15_000)),  # 5 km: beyond 2 km, another site
        (None, "王庄社工室", "community_room", "T3", _at(20_950)),  # 50 m from the second
        (None, "王庄社工室", "community_room", "T3", _at(19_960)),  # 40 m from the first
        (None, "学校社工站", "community_room", "T3", _at(30_000)),  # same name, another type
        (None, "丁村社工室", "community_room", "T2", _at(12_000)),
    ], file="sites.csv")
    changes = compare_sites(old, new, moved_m=100, max_distance_m=2_000)

    assert rows_of(changes) == [
        ("unchanged", "name_position", 2, 2),
        ("moved", "name_position", 3, 3),
        ("closed", "", 4, None),
        ("unchanged", "name_position", 5, 6),
        ("unchanged", "name_position", 6, 5),
        ("closed", "", 7, None),
        ("opened", "", None, 4),
        ("opened", "", None, 7),
        ("opened", "", None, 8),
    ]
    assert changes["distance_m"].iloc[[0, 1, 3, 4]].tolist() == pytest.approx([60, 300, 40, 50], abs=0.5)
    assert change_counts(changes).to_dict() == {"opened": 3, "closed": 2, "moved": 1, "unchanged": 3, "left_out": 0}
    assert_every_row_once(changes, old, new)


def test_distances_agree_with_the_geodesic_distance():
    a, b = Point(118.40, 35.10), Point(118.41, 35.105)
    old = site_list([("A", "甲", "community_room", "T1", a)])
    new = site_list([("A", "甲", "community_room", "T1", b)])
    geodesic = Geod(ellps="WGS84").inv(a.x, a.y, b.x, b.y)[2]
    assert compare_sites(old, new)["distance_m"].iloc[0] == pytest.approx(geodesic, rel=1e-3)


def test_rows_without_position_match_in_their_township_and_left_out_rows_are_listed():
    old = site_list([
        ("A", "甲镇社工站", "township_station", "T1", None),
        (None, "乙村社工室", "community_room", "T1", None),
        (None, "坏行", "community_room", None, None, "invalid", "经度: a number is required"),
    ], file="old.csv")
    new = site_list([
        ("A", "甲镇社工站", "township_station", "T2", None),  # declared in another township: moved
        (None, "乙村社工室", "community_room", "T1", _at(100)),
    ], file="new.csv")
    changes = compare_sites(old, new)
    assert rows_of(changes) == [
        ("moved", "id", 2, 2),
        ("unchanged", "name_position", 3, 3),
        ("left_out", "", 4, None),
    ]
    assert changes["detail"].iloc[2] == "invalid: 经度: a number is required"
    assert changes["distance_m"].isna().all()
    assert_every_row_once(changes, old, new)


def test_townships_count_sites_before_and_after():
    old = site_list([
        ("A", "甲镇社工站", "township_station", "T1", _at(0)),
        ("B", "乙村社工室", "community_room", "T1", _at(1_000)),
        ("C", "丙村社工室", "community_room", "T2", _at(5_000)),
    ])
    new = site_list([
        ("A", "甲镇社工站", "township_station", "T1", _at(0)),
        ("B", "乙村社工室", "community_room", "T2", _at(4_000)),  # moved into T2
        ("E", "戊村社工室", "community_room", "T3", _at(9_000)),
    ])
    townships = pd.DataFrame({"township_code": ["T1", "T2", "T3"], "township_name": ["一", "二", "三"],
                              "county_name": ["县"] * 3})
    table = compare_townships(compare_sites(old, new, townships=townships), townships)
    columns = ["stations_before", "stations_after", "community_rooms_before", "community_rooms_after",
               "opened", "closed", "moved", "net_change", "has_station_after"]
    assert table[columns].to_dict("index") == {
        "T1": dict(zip(columns, [1, 1, 1, 0, 0, 0, 0, -1, True])),
        "T2": dict(zip(columns, [0, 0, 1, 1, 0, 1, 1, 0, False])),
        "T3": dict(zip(columns, [0, 0, 0, 1, 1, 0, 0, 1, False])),
    }


def test_change_classes_are_symmetric_around_no_change():
    classes = change_classes(pd.Series([-2.0, 0.0, 1.0, 2.0]), lang="en")
    assert [label for _, label in classes.legend] == ["−2", "−1", "0", "+1", "+2"]
    by_label = {label: colour for colour, label in classes.legend}
    assert list(classes.colours) == [by_label["−2"], by_label["0"], by_label["+1"], by_label["+2"]]
    assert len({by_label[k] for k in ("−2", "−1", "0", "+1", "+2")}) == 5


# --- the command ----------------------------------------------------------------------------

# The multipart project's sites (ids S1-S5, R1-R4); the new list closes R3, moves R1 on the island
# by about 860 m, opens R5 in the enclave and renames S2 (matched by id).
_NEW_SITES = {
    "S1": None, "S2": ("飞地镇社会工作服务站", 118.030, 35.030), "S3": None, "S4": None, "S5": None,
    "R1": ("海岛村社工室", 118.078, 34.978), "R2": None, "R4": None,
}


def _new_sites_csv(extra: str = "", bad_lon: str | None = None) -> str:
    lines = ["site_id,site_type,name,lon,lat,staff"]
    for site_id, kind, name, lon, lat, staff, _, _ in MULTIPART_SITES:
        if site_id not in _NEW_SITES:
            continue
        if _NEW_SITES[site_id]:
            name, lon, lat = _NEW_SITES[site_id]
        if bad_lon is not None and site_id == "S3":
            lon = bad_lon
        lines.append(f"{site_id},{kind},{name},{lon},{lat},{'' if staff is None else staff}")
    lines.append("R5,社工室,飞地新村社工室,118.025,35.025,")
    return "\n".join(lines) + "\n" + extra


@pytest.fixture
def two_lists(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "project").mkdir()
    project = write_multipart_project(tmp_path / "project")
    new = tmp_path / "new.csv"
    new.write_text(_new_sites_csv(), encoding="utf-8")
    return project, new


def _compare(project: Path, new: Path, output: Path, *options: str):
    return CliRunner().invoke(
        main, ["compare", str(project.parent / "sites.csv"), str(new), "--project", str(project),
               "--output", str(output), *options],
    )


def test_the_command_writes_the_changes_of_the_multipart_project(two_lists, tmp_path: Path):
    project, new = two_lists
    output = tmp_path / "out"
    result = _compare(project, new, output)
    assert result.exit_code == 0, result.output
    said = without_progress(result.output)
    assert "站点变化：sites.csv → new.csv" in said
    for line in ("新增: 1", "撤销: 1", "迁移: 1（相距超过 100 米）", "未变: 7"):
        assert f"  {line}\n" in said
    assert written_outputs(output) == ["compare.html", "compare.xlsx", "compare_sites.csv", "compare_townships.csv"]
    for name in ("compare_sites.csv", "compare_townships.csv"):
        assert (output / name).read_bytes().startswith(b"\xef\xbb\xbf"), name

    sites = pd.read_csv(output / "compare_sites.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert len(sites) == 10  # 9 old rows, 9 new rows, 8 of them pairs
    changed = sites[sites["变化"] != "未变"].set_index("变化")
    assert changed.loc["撤销", ["原编号", "原乡镇（街道）", "新编号"]].tolist() == ["R3", "双角乡", ""]
    assert changed.loc["新增", ["新编号", "新乡镇代码", "新乡镇（街道）"]].tolist() == ["R5", "370002001", "飞地镇"]
    assert changed.loc["迁移", ["原编号", "新乡镇（街道）", "匹配方式"]].tolist() == ["R1", "海岛镇", "编号"]
    assert float(changed.loc["迁移", "位置相距（米）"]) == pytest.approx(
        Geod(ellps="WGS84").inv(118.072, 34.972, 118.078, 34.978)[2], rel=2e-3)
    renamed = sites[sites["原编号"] == "S2"].iloc[0]
    assert (renamed["变化"], renamed["原名称"], renamed["新名称"]) == ("未变", "飞地镇社工站", "飞地镇社会工作服务站")

    townships = pd.read_csv(output / "compare_townships.csv", encoding="utf-8-sig", dtype={"乡镇代码": str})
    townships = townships.set_index("乡镇代码")
    assert townships["净增减"].to_dict() == {
        "370001001": 0, "370002001": 1, "370001002": 0, "370001003": 0, "370001004": -1,
    }
    assert townships.loc["370001004", ["社工室（原）", "社工室（现）", "撤销"]].tolist() == [1, 0, 1]
    sheets = pd.read_excel(output / "compare.xlsx", sheet_name=None)
    assert list(sheets) == ["站点变化", "乡镇变化"] and len(sheets["站点变化"]) == 10


def test_english_headers_and_summary(two_lists, tmp_path: Path):
    project, new = two_lists
    result = _compare(project, new, tmp_path / "out", "--lang", "en", "--moved-m", "1000")
    assert result.exit_code == 0, result.output
    said = without_progress(result.output)
    assert "  moved: 0 (more than 1000 m)\n" in said and "  unchanged: 8\n" in said
    header = (tmp_path / "out" / "compare_sites.csv").read_text(encoding="utf-8-sig").splitlines()[0]
    assert header.startswith("change,matched_by,old_row,new_row,old_id,new_id")


def test_two_projects_compare_on_the_townships_of_the_new_one(tmp_path: Path):
    (tmp_path / "2023").mkdir()
    (tmp_path / "2024").mkdir()
    old_project = write_multipart_project(tmp_path / "2023")
    new_project = write_multipart_project(tmp_path / "2024")
    (new_project.parent / "sites.csv").write_text(_new_sites_csv(), encoding="utf-8")
    result = CliRunner().invoke(main, ["compare", str(old_project.parent), str(new_project), "--output",
                                       str(tmp_path / "out"), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "站点变化：2023/sites.csv → 2024/sites.csv" in result.output
    assert "  新增: 1\n" in result.output and "  撤销: 1\n" in result.output


def test_a_bad_cell_is_reported_with_file_row_header_and_value_and_nothing_is_written(two_lists, tmp_path: Path):
    project, new = two_lists
    new.write_text(_new_sites_csv(bad_lon="东经118度"), encoding="utf-8")
    output = tmp_path / "out"
    result = _compare(project, new, output)
    assert result.exit_code == 1
    assert "new.csv, row 4, column 'lon', value '东经118度': a number is required" in result.output
    assert "--skip-invalid" in result.output
    assert written_outputs(output) == []


def test_skip_invalid_lists_the_bad_row_as_left_out(two_lists, tmp_path: Path):
    project, new = two_lists
    new.write_text(_new_sites_csv(bad_lon="东经118度"), encoding="utf-8")
    output = tmp_path / "out"
    result = _compare(project, new, output, "--skip-invalid", "--lang", "en")
    assert result.exit_code == 0, result.output
    assert "note: new.csv: 1 of 9 rows were left out because of errors (see compare_sites.csv)" in result.output
    # S3 of the old list is no longer matched: closed; its new row is left out.
    assert "  closed: 2\n" in result.output and "  left out (errors): 1\n" in result.output
    sites = pd.read_csv(output / "compare_sites.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    left_out = sites[sites["change"] == "left out (errors)"].iloc[0]
    assert (left_out["new_row"], left_out["new_id"], left_out["old_row"]) == ("4", "S3", "")
    assert "a number is required" in left_out["detail"]


def test_a_path_that_is_neither_project_nor_table_is_refused(two_lists, tmp_path: Path):
    project, _ = two_lists
    other = tmp_path / "sites.txt"
    other.write_text("x", encoding="utf-8")
    result = CliRunner().invoke(main, ["compare", str(other), str(project), "--output", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert "is neither a project (project.toml or its folder) nor a site table (.csv, .xlsx)" in result.output


def test_the_map_escapes_a_hostile_site_name(two_lists, tmp_path: Path):
    project, new = two_lists
    hostile = "<script>alert(1)</script>"
    new.write_text(_new_sites_csv(extra=f"R6,社工室,{hostile},118.011,35.011,\n"), encoding="utf-8")
    output = tmp_path / "out"
    result = _compare(project, new, output)
    assert result.exit_code == 0, result.output
    page = (output / "compare.html").read_text(encoding="utf-8")
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.replace("\\u0026", "&")  # in the opened site's tooltip
    sites = pd.read_csv(output / "compare_sites.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert hostile in set(sites["新名称"])  # the tables keep the name as written


def test_the_map_draws_opened_closed_and_moved_sites(two_lists, tmp_path: Path):
    project, new = two_lists
    output = tmp_path / "out"
    assert _compare(project, new, output).exit_code == 0
    page = (output / "compare.html").read_text(encoding="utf-8")
    # Folium writes layer names as JSON strings with \u escapes.
    for label in ("新增站点（1）", "撤销站点（原位置）（1）", "迁移站点（原位置→新位置）（1）"):
        assert json.dumps(label)[1:-1] in page, label
    assert map_settings(page)["indicators"][0]["label"] == "站点净增减"
    assert '"LineString"' in page and "[118.072, 34.972], [118.078, 34.978]" in page


def test_change_classes_of_larger_changes_are_ordered_ranges_ending_at_the_largest():
    four = change_classes(pd.Series([-4.0, -1.0, 0.0, 3.0]), lang="en")
    assert [label for _, label in four.legend] == ["−4 – −3", "−2 – −1", "0", "+1 – +2", "+3 – +4"]
    seven = change_classes(pd.Series([-7.0, 0.0, 2.0]), lang="en")
    assert [label for _, label in seven.legend] == ["−7", "−6 – −4", "−3 – −1", "0", "+1 – +3", "+4 – +6", "+7"]
