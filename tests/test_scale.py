"""Outputs of large projects: what is left out, the line that says so, and how to get it.

The limits are lowered here so that the multipart project (5 townships in two
counties, 370001 甲县 and 370002 乙县) stands for a large one.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from _support import write_multipart_project
from township_coverage import load_project, run, scale
from township_coverage.report import staticmap
from township_coverage.cli import main
from township_coverage.errors import ConfigError

needs_poppler = pytest.mark.skipif(shutil.which("pdfinfo") is None, reason="poppler-utils (pdfinfo, pdftotext) not installed")
CODES = [f"{prefix}{n:02d}" for prefix in ("3713", "3714", "3715") for n in range(1, 5)]


def test_atlas_counties_by_default_all_up_to_the_limit(monkeypatch: pytest.MonkeyPatch):
    assert scale.atlas_counties(CODES, None) == (CODES, None)
    monkeypatch.setattr(scale, "MAX_ATLAS_PAGES", 11)
    chosen, note = scale.atlas_counties(CODES, None)
    assert chosen == []
    assert note == (
        "未绘制县区图集 atlas.pdf：共 12 个县区，每个一页，超过 11 页；用 --atlas-counties 3713 只绘制代码以 3713 开头的"
        '县区（或在项目文件中写 [report] atlas_counties = ["3713"]），或用 --atlas-counties all 绘制全部'
    )
    _, english = scale.atlas_counties(CODES, None, lang="en")
    assert english.startswith("atlas.pdf was not drawn: 12 counties make 12 pages, more than 11;")
    assert "--atlas-counties 3713" in english and "--atlas-counties all" in english


def test_atlas_counties_chosen_by_the_beginnings_of_their_codes(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(scale, "MAX_ATLAS_PAGES", 1)
    assert scale.atlas_counties(CODES, ["3714"]) == (["371401", "371402", "371403", "371404"], None)
    assert scale.atlas_counties(CODES, ["371301", "3715"])[0] == ["371301", "371501", "371502", "371503", "371504"]
    assert scale.atlas_counties(CODES, ["all"]) == (CODES, None)
    with pytest.raises(ConfigError, match=r"no county code starts with 9999, 12 \(codes look like 371301\)"):
        scale.atlas_counties(CODES, ["3713", "9999", "12"])
    assert scale.parse_county_choice(" 3713, 3714 ,") == ("3713", "3714")
    with pytest.raises(ConfigError, match="comma-separated"):
        scale.parse_county_choice(" , ")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write_multipart_project(tmp_path)


def _pages(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True).stdout
    return int(re.search(r"Pages:\s+(\d+)", info).group(1))


@needs_poppler
def test_a_report_above_the_atlas_limit_skips_the_atlas_with_a_note(project: Path, monkeypatch):
    monkeypatch.setattr(scale, "MAX_ATLAS_PAGES", 1)
    output = project.parent / "maps"
    output.mkdir()
    (output / "atlas.pdf").write_bytes(b"an older atlas")  # files a run does not write are left alone
    result = CliRunner().invoke(main, ["report", "--project", str(project), "--output", str(output), "--format", "pdf"])
    assert result.exit_code == 0, result.output
    assert "note: 未绘制县区图集 atlas.pdf：共 2 个县区，每个一页，超过 1 页；用 --atlas-counties 3700 " in result.stderr
    assert "wrote " + str(output / "atlas.pdf") not in result.stdout
    assert (output / "atlas.pdf").read_bytes() == b"an older atlas"
    assert (output / "map_gap_score.pdf").exists()


@needs_poppler
def test_chosen_counties_make_the_atlas(project: Path, monkeypatch):
    monkeypatch.setattr(scale, "MAX_ATLAS_PAGES", 1)
    output = project.parent / "maps"
    result = CliRunner().invoke(main, ["report", "--project", str(project), "--output", str(output), "--format", "pdf",
                                       "--atlas-counties", "370002", "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert _pages(output / "atlas.pdf") == 3 + 1  # cover, contents, overview and the county
    text = subprocess.run(["pdftotext", str(output / "atlas.pdf"), "-"], capture_output=True, text=True).stdout
    assert "飞地镇" in text and "环城街道" not in text  # 乙县's one township, none of 甲县's
    assert "Drawing the county atlas … " in result.stderr and "(1 counties, 4 pages)" in result.stderr

    # The project file may choose them too; the command line wins.
    with project.open("a", encoding="utf-8") as file:
        file.write('[report]\natlas_counties = ["370001"]\n')
    by_file = run(load_project(project, output_dir=output), report_formats=("pdf",))
    assert _pages(output / "atlas.pdf") == 3 + 1 and by_file.notes == ()
    text = subprocess.run(["pdftotext", str(output / "atlas.pdf"), "-"], capture_output=True, text=True).stdout
    assert "环城街道" in text and "飞地镇" not in text
    everything = run(load_project(project, output_dir=output), report_formats=("pdf",), atlas_counties=["all"])
    assert _pages(output / "atlas.pdf") == 3 + 2 and everything.notes == ()


def test_unknown_atlas_counties_stop_before_any_output(project: Path):
    output = project.parent / "maps"
    result = CliRunner().invoke(main, ["report", "--project", str(project), "--output", str(output), "--format", "pdf",
                                       "--atlas-counties", "4401"])
    assert result.exit_code == 1
    assert "no county code starts with 4401 (codes look like 370001)" in result.stderr
    assert sorted(p.name for p in output.iterdir() if not p.name.startswith(".")) == []


def test_a_large_map_is_shown_from_its_file_not_copied_into_the_report(project: Path, monkeypatch):
    output = project.parent / "maps"
    small = run(load_project(project, output_dir=output), report_formats=("html",))
    page = (output / "report.html").read_text(encoding="utf-8")
    assert "srcdoc=" in page and 'src="coverage.html"' not in page and small.notes == ()

    monkeypatch.setattr(scale, "MAX_EMBEDDED_MAP_BYTES", 1000)
    large = run(load_project(project, output_dir=output), report_formats=("html",), lang="en")
    page = (output / "report.html").read_text(encoding="utf-8")
    assert "srcdoc=" not in page
    assert '<iframe class="map" title="multipart" src="coverage.html"></iframe>' in page
    assert "keep coverage.html with the report when you move or send it" in page
    size = (output / "coverage.html").stat().st_size
    assert large.notes == (
        f"report.html shows coverage.html from the same folder instead of holding a copy of the map "
        f"({size / 2**20:,.0f} MB, more than 0 MB); keep the two files together",
    )


def test_a_large_township_table_is_left_out_of_the_word_report(project: Path, monkeypatch):
    from docx import Document

    output = project.parent / "maps"
    monkeypatch.setattr(scale, "MAX_DOCX_TABLE_ROWS", 4)  # the project has 5 townships
    result = run(load_project(project, output_dir=output), report_formats=("docx",))
    document = Document(str(output / "report.docx"))
    assert not any(table.rows[0].cells[0].text == "乡镇代码" for table in document.tables)
    assert any(p.text == "乡镇表共 5 行，未列于此；全表见 township_coverage.csv 与 coverage.xlsx。" for p in document.paragraphs)
    assert "report.docx 未列出乡镇表（5 行，超过 4 行）；全表见 township_coverage.csv 与 coverage.xlsx" in result.notes


def test_many_counties_are_outlined_without_names(project: Path, monkeypatch):
    output = project.parent / "maps"
    named = run(load_project(project, output_dir=output), report_formats=("png",))
    assert named.notes == ()
    monkeypatch.setattr(staticmap, "MAX_COUNTY_NAMES", 1)
    result = run(load_project(project, output_dir=output), report_formats=("png",))
    assert result.notes == ("静态地图只画县区界线，不标县区名称（共 2 个县区，超过 1 个时名称会盖住地图）",)
