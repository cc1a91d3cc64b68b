"""Progress lines on the terminal: one short line per long step, with its time.

A command prints, for each step that may take a while, one line such as
``读取并检查乡镇边界 … 12.3 s`` (``Reading and checking the townships …
12.3 s`` with ``--lang en``) to stderr. On a terminal the label shows as
soon as the step starts and the time is added when it ends; elsewhere (a
pipe, a log file) the whole line is written when the step ends, so that
lines never interleave with other output. The stages take a
:class:`Progress` as an explicit option; :data:`SILENT` says nothing.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TextIO

from township_coverage.inputs.config import LevelNames
from township_coverage.levels import relabel

#: Label of each step, per language. ``{name}`` is filled in by the caller
#: (a file name, an indicator); the level terms follow the project's names.
STEP_LABELS: Mapping[str, Mapping[str, str]] = {
    "zh": {
        "cached_townships": "读取上次检查过的乡镇边界（缓存）",
        "cached_points": "读取上次检查并合并的 {name}（缓存）",
        "townships": "读取并检查乡镇边界",
        "counties": "读取并检查县区边界",
        "read_points": "读取并检查 {name}",
        "join_points": "合并 {name} 到乡镇",
        "room_links": "关联社工室与村（社区）",
        "indicators": "计算指标",
        "timeline": "计算各时间点的指标",
        "timeline_files": "写出进展表、进展图和时间轴地图",
        "classes": "划分图例分级",
        "map": "生成交互地图",
        "map_files": "写出交互地图（coverage.html、embed.html）",
        "joined_rows": "写出逐行结果 {name}",
        "tables": "写出表格（CSV）",
        "static_map": "绘制静态地图：{name}",
        "atlas": "绘制县区图集",
        "report_html": "写出 HTML 报告",
        "report_docx": "写出 Word 报告",
        "workbook": "写出 Excel 工作簿",
        "validation": "写出校验结果",
        "compare": "比对新旧站点名单",
        "compare_map": "生成站点变化地图",
        "compare_files": "写出站点变化表格与地图",
        "roads": "读取道路网并建图：{name}",
    },
    "en": {
        "cached_townships": "Reading the townships as checked in an earlier run (cache)",
        "cached_points": "Reading {name} as checked and joined in an earlier run (cache)",
        "townships": "Reading and checking the townships",
        "counties": "Reading and checking the counties",
        "read_points": "Reading and checking {name}",
        "join_points": "Joining {name} to the townships",
        "room_links": "Linking community rooms to villages",
        "indicators": "Computing the indicators",
        "timeline": "Computing the indicators at each step",
        "timeline_files": "Writing the progress table, chart and time-slider map",
        "classes": "Classing the indicators",
        "map": "Building the interactive map",
        "map_files": "Writing the interactive map (coverage.html, embed.html)",
        "joined_rows": "Writing every row with its result: {name}",
        "tables": "Writing the tables (CSV)",
        "static_map": "Drawing the static map: {name}",
        "atlas": "Drawing the county atlas",
        "report_html": "Writing the HTML report",
        "report_docx": "Writing the Word report",
        "workbook": "Writing the Excel workbook",
        "validation": "Writing the validation results",
        "compare": "Matching the old and the new site list",
        "compare_map": "Building the map of changes",
        "compare_files": "Writing the tables and the map of changes",
        "roads": "Reading the road network and building its graph: {name}",
    },
}


#: The detail of a step whose output was copied from the cache instead of written again.
FROM_CACHE = {"zh": "沿用缓存", "en": "from the cache"}


@dataclass
class Step:
    """A step under way; ``detail`` (e.g. ``"141,234 行"``) is printed after its time."""

    label: str
    detail: str = ""


class Progress:
    """Prints one line per step to a stream (stderr by default).

    Parameters
    ----------
    lang
        ``"zh"`` or ``"en"``.
    stream
        Where lines go; ``None`` for ``sys.stderr`` at the time of printing.
    enabled
        ``False`` prints nothing (:data:`SILENT`, ``--quiet``).
    levels
        The project's names of the levels, used in the labels.
    """

    def __init__(
        self, lang: str = "zh", stream: TextIO | None = None, *, enabled: bool = True,
        levels: LevelNames = LevelNames(),
    ) -> None:
        self.lang = lang if lang in STEP_LABELS else "zh"
        self.stream = stream
        self.enabled = enabled
        self.levels = levels

    def with_levels(self, levels: LevelNames) -> Progress:
        """The same progress, labels using a project's names of the levels."""
        return Progress(self.lang, self.stream, enabled=self.enabled, levels=levels)

    def reused(self, step: Step) -> None:
        """Say on ``step``'s line that its output came from the cache."""
        step.detail = FROM_CACHE[self.lang]

    def label(self, key: str, name: str = "") -> str:
        """The label of step ``key`` in this language."""
        return relabel(STEP_LABELS[self.lang][key].format(name=name), self.levels, self.lang)

    @contextmanager
    def step(self, key: str, name: str = "") -> Iterator[Step]:
        """Time the block and print its line when it ends.

        An exception (or Ctrl-C) ends the line without a time; the error
        message that follows says what happened.
        """
        step = Step(self.label(key, name))
        stream = self._stream()
        live = self.enabled and _is_terminal(stream)
        if live:
            stream.write(f"{step.label} …")
            stream.flush()
        start = time.perf_counter()
        try:
            yield step
        except BaseException:
            if live:
                stream.write("\n")
                stream.flush()
            raise
        self._finish(step, time.perf_counter() - start, stream, live=live)

    def done(self, key: str, seconds: float, *, name: str = "", detail: str = "") -> None:
        """Print the line of a step that was timed elsewhere."""
        stream = self._stream()
        self._finish(Step(self.label(key, name), detail), seconds, stream, live=False)

    def _finish(self, step: Step, seconds: float, stream: TextIO, *, live: bool) -> None:
        if not self.enabled:
            return
        detail = f"（{step.detail}）" if step.detail and self.lang == "zh" else f" ({step.detail})" if step.detail else ""
        stream.write(("" if live else f"{step.label} …") + f" {seconds:.1f} s{detail}\n")
        stream.flush()

    def _stream(self) -> TextIO:
        return self.stream if self.stream is not None else sys.stderr


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


#: Prints nothing: the default of the stages, for callers of the Python API.
SILENT = Progress(enabled=False)
