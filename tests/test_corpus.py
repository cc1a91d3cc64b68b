"""The bad-input corpus in tests/data/: each file ends in the expected status or message.

The files are written by tests/data/make_corpus.py from literals.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from township_coverage import load_project, validate_project
from township_coverage.inputs.crs import bd09_to_wgs84, gcj02_to_wgs84

DATA = Path(__file__).resolve().parent / "data"


def _project(
    tmp_path: Path,
    *,
    townships: str | Path = "townships.geojson",
    sites: str | Path,
    townships_options: str = "",
    sites_options: str = "",
    extra: str = "",
) -> Path:
    """A project file for corpus files (names in tests/data/, or paths)."""
    project = tmp_path / "project.toml"
    project.write_text(
        f'[project]\nname = "corpus"\n'
        f'[layers.townships]\npath = "{(DATA / townships).as_posix()}"\n{townships_options}\n'
        f'[layers.sites]\npath = "{(DATA / sites).as_posix()}"\n{sites_options}\n'
        + textwrap.dedent(extra),
        encoding="utf-8",
    )
    return project


def _validate(tmp_path: Path, **files_and_options):
    return validate_project(load_project(_project(tmp_path, **files_and_options), output_dir=tmp_path / "out"))


def _messages(validation) -> str:
    return "\n".join(str(p) for p in validation.problems)


def _statuses(validation) -> dict[str, int]:
    counts = validation.site_join.status_counts()
    return {status: int(n) for status, n in counts.items() if n}


# --- boundary layers -------------------------------------------------------


@pytest.mark.parametrize(
    ("townships", "message"),
    [
        ("townships_truncated.geojson", "townships_truncated.geojson: cannot read as a boundary layer"),
        ("townships_no_crs.zip", "townships_no_crs.zip: the layer has no CRS; set 'crs' for it in the project file"),
        ("townships_points.geojson", "row 1, column 'geometry', value 'Point': townships must be Polygon or MultiPolygon"),
        ("townships_bowtie.geojson", "row 1, column 'geometry': invalid polygon: Self-intersection"),
        ("townships_duplicate_code.geojson", "row 4, column 'township_code', value '371302001': duplicate"),
        ("townships_overlap.geojson", "township 371321105 overlaps township 371302001"),
    ],
)
def test_bad_boundaries_are_refused_with_a_clear_message(tmp_path, townships, message):
    validation = _validate(tmp_path, townships=townships, sites="sites_gbk.csv")
    assert message in _messages(validation)
    assert validation.errors


def test_a_bowtie_is_repaired_only_when_allowed(tmp_path):
    validation = _validate(
        tmp_path, townships="townships_bowtie.geojson", townships_options="repair_invalid = true", sites="sites_gbk.csv"
    )
    assert not validation.errors
    assert "warning: townships_bowtie.geojson, row 1, column 'geometry': invalid polygon (Self-intersection" in _messages(validation)
    repaired = validation.townships.geometry.iloc[0]
    assert repaired.is_valid and repaired.area == pytest.approx(0.01 * 0.01 / 2)


def test_a_shapefile_without_crs_is_read_when_the_project_gives_one(tmp_path):
    options = (
        'crs = "EPSG:4326"\ncolumns = { township_code = "township_c", township_name = "township_n", '
        'county_code = "county_cod", county_name = "county_nam" }'
    )
    validation = _validate(tmp_path, townships="townships_no_crs.zip", townships_options=options, sites="sites_gbk.csv")
    assert not validation.errors and len(validation.townships) == 3


# --- site tables ------------------------------------------------------------


@pytest.mark.parametrize(
    ("sites", "statuses", "message"),
    [
        ("sites_text_in_number.csv", {"invalid": 1}, "row 2, column 'staff', value '三': must be a whole number >= 0"),
        ("sites_nan.csv", {"invalid": 1}, "row 2, column 'lon', value 'NaN': a number is required"),
        ("sites_out_of_range.csv", {"invalid": 1}, "row 2, column 'lon', value '218.005': must be within [-180, 180]"),
        ("sites_duplicate_ids.csv", {"joined": 1, "duplicate_id": 1}, "row 3, column 'site_id', value 'S1': duplicate (first in row 2)"),
        ("sites_unknown_type.csv", {"invalid": 1}, "row 2, column 'site_type', value '养老院': unknown site type; allowed: township_station"),
        ("sites_half_coordinate.csv", {"invalid": 1}, "row 2, column 'lat', value '': missing; give both longitude and latitude, or neither"),
        ("sites_other_province.csv", {"joined": 1, "outside": 1}, "row 3, column 'lon/lat', value '116.40, 39.91': lies in no township: "),
        ("sites_unmatched_name.csv", {"unmatched_name": 2}, "row 2, column 'township_name', value '兰仙街道': no township has this name; closest: 兰山街道"),
        ("sites_no_township.csv", {"invalid": 1}, "row 2, column 'lon/lat', value '': the row has neither coordinates nor a township code or name"),
    ],
)
def test_bad_rows_end_in_their_status_with_a_clear_message(tmp_path, sites, statuses, message):
    validation = _validate(tmp_path, sites=sites)
    assert _statuses(validation) == statuses
    assert message in _messages(validation)
    assert validation.errors
    assert validation.site_join.status_counts().sum() == len(validation.site_join.points)


def test_an_ambiguous_name_asks_for_the_county(tmp_path):
    validation = _validate(tmp_path, sites="sites_unmatched_name.csv")
    assert (
        "row 3, column 'township_name', value '张庄镇': this township name occurs in several counties "
        "(兰陵县 张庄镇、沂南县 张庄镇); add a county column or the county before the name"
    ) in _messages(validation)


@pytest.mark.parametrize(
    ("sites", "message"),
    [
        ("sites_empty.csv", "sites_empty.csv: the file is empty"),
        ("sites_missing_lat.csv", "sites_missing_lat.csv: no column for 'lat' (the file's headers: "),
        ("missing.csv", "missing.csv: file not found"),
        ("sites_no_position.csv", "no column for 'lon' (or a township code or name)"),
    ],
)
def test_unusable_site_files_are_refused(tmp_path, sites, message):
    validation = _validate(tmp_path, sites=sites)
    assert message in _messages(validation) and validation.errors


def test_name_variants_join_by_name(tmp_path):
    validation = _validate(tmp_path, sites="sites_name_variants.csv")
    assert not validation.errors
    codes = validation.site_join.points.set_index("site_id")["township_code"].to_dict()
    assert codes == {"S1": "371302001", "S2": "371302001", "S3": "371324199", "S4": "371321105"}


def test_gbk_file_with_chinese_headers(tmp_path):
    validation = _validate(tmp_path, sites="sites_gbk.csv")
    assert not validation.problems
    point = validation.site_join.points.iloc[0]
    assert (point["name"], point["township_code"], point["staff"]) == ("兰山街道社工站", "371302001", 3)


def test_utf8_is_never_read_as_gb18030(tmp_path):
    validation = _validate(tmp_path, sites="sites_utf8_not_gb18030.csv")
    assert validation.site_join.points.iloc[0]["name"] == "张庄镇社工室"


def test_xlsx_title_row_and_sheet_by_name(tmp_path):
    validation = _validate(tmp_path, sites="sites_title_row.xlsx", sites_options='sheet = "站点"')
    assert not validation.errors, _messages(validation)
    points = validation.site_join.points
    assert points["_row"].tolist() == [3, 4]  # below the title and header rows
    assert points["township_code"].tolist() == ["371302001", "371321105"]
    first_sheet = _validate(tmp_path, sites="sites_title_row.xlsx")
    assert "no header row found in the first 20 rows" in _messages(first_sheet)


def test_a_point_just_outside_is_snapped_and_reported(tmp_path):
    # 118.0305°E is 0.0005° (about 46 m) east of the last township.
    validation = _validate(tmp_path, sites="sites_near_border.csv", extra="[join]\nsnap_tolerance_m = 100\n")
    assert _statuses(validation) == {"snapped": 1}
    assert not validation.errors
    assert "46 m outside every township; snapped to the nearest, 371324199" in _messages(validation)
    strict = _validate(tmp_path, sites="sites_near_border.csv", extra="[join]\nsnap_tolerance_m = 10\n")
    assert _statuses(strict) == {"outside": 1}


def test_a_declared_township_that_disagrees_is_reported(tmp_path):
    validation = _validate(tmp_path, sites="sites_disagree.csv")
    assert _statuses(validation) == {"joined": 1}
    assert (
        "warning: sites_disagree.csv, row 2, column 'township_code', value '371302001': the position lies in "
        "沂南县 张庄镇 (371321105), not in the declared 兰山区 兰山街道 (371302001); the position is used"
    ) in _messages(validation)


@pytest.mark.parametrize(("sites", "crs", "inverse"), [("sites_gcj02.csv", "GCJ-02", gcj02_to_wgs84), ("sites_bd09.csv", "BD-09", bd09_to_wgs84)])
def test_offset_coordinates_are_converted_before_joining(tmp_path, sites, crs, inverse):
    validation = _validate(tmp_path, sites=sites)
    # Without conversion both points fall in the wrong township.
    assert validation.site_join.points["township_code"].tolist() != ["371302001", "371321105"]
    converted = _validate(tmp_path, sites=sites, sites_options=f'crs = "{crs}"')
    points = converted.site_join.points
    assert points["township_code"].tolist() == ["371302001", "371321105"]
    # Written as 6-decimal values from WGS84 118.0094 / 118.0106, 35.005: back within 0.2 m.
    assert points["lon"].tolist() == pytest.approx([118.0094, 118.0106], abs=2e-6)
    assert points["lat"].tolist() == pytest.approx([35.005, 35.005], abs=2e-6)


@pytest.mark.parametrize(("suffix", "write"), [
    (".gpkg", lambda frame, path: frame.to_file(path, driver="GPKG")),
    (".parquet", lambda frame, path: frame.to_parquet(path)),
    (".kml", lambda frame, path: frame.to_file(path, driver="KML")),
    (".fgb", lambda frame, path: frame.to_file(path, driver="FlatGeobuf")),
])
def test_boundary_formats(tmp_path, suffix, write):
    import geopandas as gpd

    townships = gpd.read_file(DATA / "townships.geojson")
    path = tmp_path / f"townships{suffix}"
    write(townships, path)
    validation = _validate(tmp_path, townships=path, sites="sites_gbk.csv")
    assert not validation.errors, _messages(validation)
    assert sorted(validation.townships["township_code"]) == ["371302001", "371321105", "371324199"]
    assert validation.site_join.points["township_code"].tolist() == ["371302001"]
