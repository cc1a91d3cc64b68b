"""Progress lines: one per long step on stderr, in the user's language, none with --quiet."""

from __future__ import annotations

import io
import re
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from _support import PROGRESS_LINE, without_progress, write_tiny_project
from township_coverage.cli import main
from township_coverage.inputs.config import LevelNames
from township_coverage.progress import Progress


class _Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def test_a_step_is_one_line_with_its_time_when_it_ends():
    stream = io.StringIO()
    progress = Progress("zh", stream)
    with progress.step("townships") as step:
        assert stream.getvalue() == ""  # not a terminal: nothing until the step ends
        time.sleep(0.25)
        step.detail = "3 行"
    line = stream.getvalue()
    assert re.fullmatch(r"读取并检查乡镇边界 … 0\.[2-9] s（3 行）\n", line), line
    assert PROGRESS_LINE.fullmatch(line.rstrip("\n"))


def test_on_a_terminal_the_label_shows_when_the_step_starts():
    stream = _Terminal()
    with Progress("en", stream).step("static_map", "Gap score"):
        assert stream.getvalue() == "Drawing the static map: Gap score …"
    assert re.fullmatch(r"Drawing the static map: Gap score … 0\.0 s\n", stream.getvalue())


def test_a_failing_step_prints_no_time():
    quiet_stream, terminal = io.StringIO(), _Terminal()
    for stream in (quiet_stream, terminal):
        with pytest.raises(KeyboardInterrupt):
            with Progress("zh", stream).step("indicators"):
                raise KeyboardInterrupt
    assert quiet_stream.getvalue() == ""
    assert terminal.getvalue() == "计算指标 …\n"  # the line is ended, for the message that follows


def test_disabled_progress_prints_nothing_and_levels_rename_the_labels():
    stream = io.StringIO()
    with Progress("zh", stream, enabled=False).step("townships"):
        pass
    Progress("zh", stream, enabled=False).done("cached_points", 1.0, name="sites.csv")
    assert stream.getvalue() == ""
    renamed = Progress("zh", stream, levels=LevelNames(township="区县", county="地市"))
    assert renamed.label("townships") == "读取并检查区县边界"
    assert renamed.label("join_points", "sites.csv") == "合并 sites.csv 到区县"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("progress")
    return write_tiny_project(folder)


def _run(tiny: Path, *options: str):
    runner = CliRunner()
    return runner.invoke(main, ["run", "--project", str(tiny), "--output", str(tiny.parent / "maps"),
                                "--no-cache", *options])


def test_run_prints_a_line_per_step_in_chinese_by_default(tiny: Path):
    result = _run(tiny)
    assert result.exit_code == 0, result.output
    labels = [line.split(" … ")[0] for line in result.stderr.splitlines() if PROGRESS_LINE.fullmatch(line)]
    assert labels == [
        "读取并检查乡镇边界", "读取并检查 sites.csv", "合并 sites.csv 到乡镇", "计算指标", "划分图例分级",
        "生成交互地图", "写出表格（CSV）", "写出交互地图（coverage.html、embed.html）", "写出逐行结果 sites_joined.csv",
        *[f"绘制静态地图：{name}" for name in ("社工站工作人员", "社工室数量", "服务半径内人口比例", "新建社工室缺口得分")],
        "写出 HTML 报告", "写出 Excel 工作簿",
    ]
    assert "读取并检查 sites.csv … " in result.stderr and "（3 行）" in result.stderr
    # The summary on stdout is unchanged by them.
    assert not PROGRESS_LINE.search(result.stdout)


def test_run_in_english_and_a_cached_run_say_so(tiny: Path):
    first = _run(tiny, "--lang", "en")
    assert first.exit_code == 0, first.output
    assert re.search(r"^Reading and checking the townships … \d+\.\d s$", first.stderr, re.MULTILINE)
    assert "读取" not in first.stderr
    runner = CliRunner()
    args = ["run", "--project", str(tiny), "--output", str(tiny.parent / "cached"), "--lang", "en"]
    runner.invoke(main, args)
    again = runner.invoke(main, args)
    assert again.exit_code == 0, again.output
    assert re.search(r"^Reading sites.csv as checked and joined in an earlier run \(cache\) … \d+\.\d s$", again.stderr, re.MULTILINE)
    assert "Reading and checking the townships" not in again.stderr


def test_quiet_prints_no_progress(tiny: Path):
    loud, quiet = _run(tiny), _run(tiny, "--quiet")
    assert quiet.exit_code == 0, quiet.output
    assert PROGRESS_LINE.search(loud.stderr)
    assert quiet.stderr == without_progress(loud.stderr)
    assert not PROGRESS_LINE.search(quiet.stderr)


def test_validate_reports_reading_and_writing(tiny: Path):
    result = CliRunner().invoke(main, ["validate", "--project", str(tiny), "--output", str(tiny.parent / "v"),
                                       "--no-cache", "--lang", "en"])
    assert result.exit_code == 0, result.output
    labels = [line.split(" … ")[0] for line in result.stderr.splitlines() if PROGRESS_LINE.fullmatch(line)]
    assert labels == [
        "Reading and checking the townships", "Reading and checking sites.csv", "Joining sites.csv to the townships",
        "Writing the validation results",
    ]
