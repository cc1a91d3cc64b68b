"""Write the bad-input corpus in this folder (run once; the files are committed).

Every file is small and built from literals here, so that what each one
contains is plain to see. Usage: ``python tests/data/make_corpus.py``.
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
from shapely.geometry import Polygon, box

HERE = Path(__file__).resolve().parent

# Three 1 km-ish squares in a row at 35°N: A | B | C. B and C share a name in
# two counties, as 张庄镇 does in real life.
TOWNSHIPS = gpd.GeoDataFrame(
    {
        "township_code": ["371302001", "371321105", "371324199"],
        "township_name": ["兰山街道", "张庄镇", "张庄镇"],
        "county_code": ["371302", "371321", "371324"],
        "county_name": ["兰山区", "沂南县", "兰陵县"],
    },
    geometry=[box(118.00, 35.00, 118.01, 35.01), box(118.01, 35.00, 118.02, 35.01), box(118.02, 35.00, 118.03, 35.01)],
    crs="EPSG:4326",
)
HEADER = "site_id,site_type,name,township_code,lon,lat,staff\n"
GOOD = "S1,社工站,兰山街道社工站,371302001,118.005,35.005,3\n"


def main() -> None:
    write_geojson(TOWNSHIPS, "townships.geojson")
    text = (HERE / "townships.geojson").read_text(encoding="utf-8")
    (HERE / "townships_truncated.geojson").write_text(text[: len(text) // 2], encoding="utf-8")
    write_geojson(TOWNSHIPS.set_geometry(TOWNSHIPS.representative_point()), "townships_points.geojson")
    bowtie = Polygon([(118.00, 35.00), (118.01, 35.01), (118.01, 35.00), (118.00, 35.01)])
    write_geojson(TOWNSHIPS.set_geometry([bowtie, *TOWNSHIPS.geometry[1:]]), "townships_bowtie.geojson")
    write_geojson(pd.concat([TOWNSHIPS, TOWNSHIPS.iloc[[0]]]), "townships_duplicate_code.geojson")
    overlapping = TOWNSHIPS.copy()
    overlapping.loc[1, "geometry"] = box(118.005, 35.00, 118.02, 35.01)
    write_geojson(overlapping, "townships_overlap.geojson")
    write_shapefile_without_crs()

    csv = {
        "sites_empty.csv": "",
        "sites_missing_lat.csv": "site_id,site_type,name,lon\nS1,社工站,站,118.005\n",
        "sites_text_in_number.csv": HEADER + "S1,社工站,站,371302001,118.005,35.005,三\n",
        "sites_nan.csv": HEADER + "S1,社工站,站,371302001,NaN,35.005,3\n",
        "sites_out_of_range.csv": HEADER + "S1,社工站,站,371302001,218.005,35.005,3\n",
        "sites_swapped.csv": HEADER + GOOD + "S2,社工室,村室,371321105,35.005,118.015,\n",
        "sites_duplicate_ids.csv": HEADER + GOOD + "S1,社工室,村室,371321105,118.015,35.005,\n",
        "sites_unknown_type.csv": HEADER + "S1,养老院,站,371302001,118.005,35.005,\n",
        "sites_missing_id.csv": HEADER + ",社工站,站,371302001,118.005,35.005,3\n",
        "sites_half_coordinate.csv": HEADER + "S1,社工站,站,371302001,118.005,,3\n",
        "sites_other_province.csv": HEADER + GOOD + "S2,社工室,北京某室,,116.40,39.91,\n",
        "sites_near_border.csv": HEADER + "S1,社工站,站,371321105,118.0305,35.005,3\n",
        "sites_disagree.csv": HEADER + "S1,社工站,站,371302001,118.015,35.005,3\n",
        "sites_name_variants.csv": (
            "site_id,site_type,name,township_name,county_name\n"
            "S1,社工站,站一,兰山街道办事处,\n"
            "S2,社工站,站二,兰山　办事处,\n"
            "S3,社工站,站三,张庄镇人民政府,兰陵县\n"
            "S4,社工站,站四,沂南县张庄镇,\n"
        ),
        "sites_unmatched_name.csv": (
            "site_id,site_type,name,township_name,county_name\n"
            "S1,社工站,站一,兰仙街道,\n"
            "S2,社工站,站二,张庄镇,\n"
        ),
        "sites_no_position.csv": "site_id,site_type,name,staff\nS1,社工站,站一,3\n",
        "sites_no_township.csv": "site_id,site_type,name,township_name,lon,lat\nS1,社工站,站一,,,\n",
    }
    for name, content in csv.items():
        (HERE / name).write_text(content, encoding="utf-8")
    # A file exported by Excel on Chinese Windows: GBK, Chinese headers.
    (HERE / "sites_gbk.csv").write_bytes(
        ("编号,类型,名称,所属乡镇,经度,纬度,工作人员数\nS1,社工站,兰山街道社工站,兰山街道,118.005,35.005,3\n").encode("gbk")
    )
    # UTF-8 whose bytes are also valid GB18030: must be read as UTF-8.
    (HERE / "sites_utf8_not_gb18030.csv").write_bytes(
        ("编号,类型,名称,经度,纬度\nS1,社工室,张庄镇社工室,118.015,35.005\n").encode("utf-8")
    )
    write_xlsx_with_title_row()
    write_offset_coordinates()


def write_geojson(frame: gpd.GeoDataFrame, name: str) -> None:
    frame.to_file(HERE / name, driver="GeoJSON", layer_options={"WRITE_BBOX": "NO"})


def write_shapefile_without_crs() -> None:
    folder = HERE / "_shp"
    folder.mkdir(exist_ok=True)
    TOWNSHIPS.to_file(folder / "townships.shp", engine="pyogrio")
    (folder / "townships.prj").unlink()
    with zipfile.ZipFile(HERE / "townships_no_crs.zip", "w") as archive:
        for part in sorted(folder.iterdir()):
            archive.write(part, part.name)
    shutil.rmtree(folder)


def write_xlsx_with_title_row() -> None:
    rows = [
        ["临沂市社工站名单（2023年3月）", None, None, None, None, None],
        ["序号", "站点名称", "类型", "经度", "纬度", "人员(人)"],
        [1, "兰山街道社工站", "社工站", 118.005, 35.005, 3],
        [2, "张庄镇社工室", "社工室", 118.015, 35.005, None],
    ]
    with pd.ExcelWriter(HERE / "sites_title_row.xlsx", engine="openpyxl") as writer:
        pd.DataFrame([["说明"], ["本表仅供测试"]]).to_excel(writer, sheet_name="说明", header=False, index=False)
        pd.DataFrame(rows).to_excel(writer, sheet_name="站点", header=False, index=False)


def write_offset_coordinates() -> None:
    """The same two WGS84 points, once as Amap (GCJ-02) and once as Baidu (BD-09) gives them.

    Values from the public forward formulas, rounded to 6 decimals as apps show them.
    """
    import sys

    sys.path.insert(0, str(HERE.parents[1] / "src"))
    from township_coverage.inputs.crs import wgs84_to_bd09, wgs84_to_gcj02

    # Two points 50 m inside the A|B border (118.01): the offsets (~500 m)
    # would put each in the wrong township if not converted.
    points = [(118.0094, 35.005), (118.0106, 35.005)]
    for name, convert in (("sites_gcj02.csv", wgs84_to_gcj02), ("sites_bd09.csv", wgs84_to_bd09)):
        lines = ["site_id,site_type,name,lon,lat"]
        for number, (lon, lat) in enumerate(points, start=1):
            x, y = convert(lon, lat)
            lines.append(f"S{number},社工室,室{number},{float(x):.6f},{float(y):.6f}")
        (HERE / name).write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
