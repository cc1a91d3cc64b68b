"""The one-file HTML report: figures, tables, the interactive and static maps.

Everything is inside the file (the interactive map in an ``iframe`` with
``srcdoc``, static maps as data URLs at screen resolution), so it opens
offline; a very large map is shown from its own file beside the report
instead of a second copy (:mod:`township_coverage.scale`). The sections,
numbered tables and figures are those of the Word report
(:class:`township_coverage.report.content.ReportContent`). Printed, the
tables run in full with their header on each page. The template is rendered
with autoescaping: every value from the data is escaped.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from township_coverage.levels import relabel_values

if TYPE_CHECKING:
    from township_coverage.report.content import ReportContent

#: Widest image the HTML report embeds (pixels); the 300-dpi maps are scaled down to it.
SCREEN_WIDTH_PX = 1400

TEXT = {
    "zh": {
        "summary": "全市概况", "figure": "指标", "computed": "本次计算", "published": "公开数据",
        "context": "其他公开数据（未由数据计算）：", "map": "地图", "counties": "各县区",
        "townships": "各乡镇（街道）", "plan": "拟建社工室", "validation": "数据校验",
        "no_problems": "未发现问题。",
        "map_linked": "交互地图较大，这里显示的是与本报告同一文件夹中的 {file}；移动或发送本报告时请连同 {file} 一起。",
        "townships_left_out": "乡镇表共 {rows:,} 行，未列于此；全表见 township_coverage.csv 与 coverage.xlsx。",
        "progress": "建设进展",
        "changes": "与上一份站点名单相比（最近一次 compare 的结果，见 compare_sites.csv、compare_townships.csv）",
        "print_map": "交互地图见同一文件夹中的 coverage.html（打印时不显示）。",
    },
    "en": {
        "summary": "City summary", "figure": "Figure", "computed": "Computed", "published": "Published",
        "context": "Other published facts (not computed from the data):", "map": "Maps", "counties": "Counties",
        "townships": "Townships", "plan": "Proposed rooms", "validation": "Data checks",
        "no_problems": "No problems found.",
        "map_linked": "The interactive map is large: shown here is {file} from the folder of this report; "
        "keep {file} with the report when you move or send it.",
        "townships_left_out": "The township table has {rows:,} rows and is not listed here; "
        "the whole table is in township_coverage.csv and coverage.xlsx.",
        "progress": "Progress",
        "changes": "Against the previous site list (the last compare run; see compare_sites.csv, compare_townships.csv)",
        "print_map": "The interactive map is coverage.html in the same folder (not printed).",
    },
}


def render_report_html(content: ReportContent, *, map_html: str = "", map_link: str = "") -> str:
    """The report as one HTML document.

    Parameters
    ----------
    content
        What the report shows.
    map_html
        The interactive map's page, shown inside the report.
    map_link
        Instead, the name of the map's file beside the report, shown from there.
    """
    from township_coverage.report.content import Figure, Table
    from township_coverage.report.docx import is_landscape

    environment = Environment(
        loader=PackageLoader("township_coverage.report", "templates"), autoescape=select_autoescape(["j2", "html"])
    )
    template = environment.get_template("report.html.j2")
    tables = {id(b): _table(b.frame, table_id=b.anchor or None, numbers=b.numbers, caption=content.caption(b),
                            total=b.total)
              for section in content.sections for b in section.blocks if isinstance(b, Table)}
    images = {id(b): _screen_image(b.image) for section in content.sections for b in section.blocks
              if isinstance(b, Figure)}
    return template.render(
        c=content,
        t=relabel_values(TEXT[content.lang], content.levels, content.lang),
        w=content.words(),
        map_html=map_html,
        map_link=map_link,
        tables=tables,
        images=images,
        kind=lambda block: type(block).__name__,
        landscape=is_landscape,
        identity=id,
    )


def _screen_image(path: Path, *, width: int = SCREEN_WIDTH_PX) -> str:
    """A PNG scaled down to ``width`` pixels at most, as base64 for a data URL."""
    from PIL import Image

    with Image.open(path) as image:
        if image.width <= width:
            return base64.b64encode(Path(path).read_bytes()).decode("ascii")
        scaled = image.convert("RGB").resize((width, round(image.height * width / image.width)), Image.LANCZOS)
    buffer = io.BytesIO()
    scaled.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
        buffer, format="PNG", optimize=True)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _table(
    frame: pd.DataFrame, *, table_id: str | None = None, numbers: frozenset[str] = frozenset(), caption: str = "",
    total: tuple[str, ...] | None = None,
) -> Markup:
    """A table as HTML, every header and cell escaped; missing values are empty cells.

    Cells of the ``numbers`` columns are right-aligned; ``caption`` goes
    above the table and the ``total`` row into its footer.

    Written column by column with pyarrow: pandas' ``to_html`` formats each
    cell in Python and takes a quarter of a minute for 40,000 townships.
    """
    identifier = (f' id="{escape(table_id)}"' if table_id else "") + (' class="totalled"' if total is not None else "")
    header = "".join(f"<th>{escape(str(name))}</th>" for name in frame.columns)
    opening = ['<td class="n">' if name in numbers else "<td>" for name in frame.columns]
    cells = [
        pc.binary_join_element_wise(opening[i], _cell_texts(frame.iloc[:, i]), "</td>", "") for i in range(frame.shape[1])
    ]
    rows = pc.binary_join_element_wise("<tr>", *cells, "</tr>\n", "") if cells else pa.array([], pa.string())
    body = "".join(rows.to_pylist())
    titled = f"<caption>{escape(caption)}</caption>" if caption else ""
    footer = (
        "<tfoot><tr>" + "".join(f"{cell}{escape(value)}</td>" for cell, value in zip(opening, total)) + "</tr></tfoot>\n"
        if total is not None else ""
    )
    return Markup(
        f"<table{identifier}>{titled}\n<thead><tr>{header}</tr></thead>\n<tbody>\n{body}</tbody>\n{footer}</table>"
    )


def _cell_texts(values: pd.Series) -> pa.Array:
    """Each value as escaped text: whole floats without ``.0``, missing values empty."""
    if pd.api.types.is_float_dtype(values.dtype):
        texts = [f"{v:.0f}" if v.is_integer() else repr(v) for v in values.astype(float).tolist()]
    else:
        texts = values.astype("string").fillna("").tolist()
    strings = pa.array(texts, pa.string())
    for character, entity in _ENTITIES:
        strings = pc.replace_substring(strings, character, entity)
    return pc.if_else(pa.array(values.isna().to_numpy()), "", strings)


# "&" first, so that the other entities are not escaped again.
_ENTITIES = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&#34;"), ("'", "&#39;"))
