"""Layout check of PDF pages: no text overlapping other text, no text outside the page.

Reads the position of every word with poppler's ``pdftotext -bbox-layout``,
so it checks the file as a reader gets it, whatever drew it (matplotlib,
a browser's print). poppler gives each word the font's full height
(ascender to descender, about 1.45 em for Noto Sans CJK), well above its
glyphs; the check uses the middle :data:`CORE` of that height, about the
em box, so that two lines set 1.2 em apart do not count as overlapping.
"""

from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np

_XHTML = "{http://www.w3.org/1999/xhtml}"

#: Share of a word box's height (around its middle) taken as the word's extent.
CORE = 0.7


@dataclass(frozen=True)
class Page:
    """One page: its size in points and its words with their boxes (x0, y0, x1, y1, y downwards)."""

    number: int
    width: float
    height: float
    words: list[str]
    boxes: np.ndarray


def pdf_pages(path: Path) -> list[Page]:
    """Every page of a PDF with the boxes of its words."""
    xml = subprocess.run(
        ["pdftotext", "-bbox-layout", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout
    pages = []
    for number, page in enumerate(ET.fromstring(xml).iter(f"{_XHTML}page"), start=1):
        words = list(page.iter(f"{_XHTML}word"))
        boxes = np.array(
            [[float(w.get(k)) for k in ("xMin", "yMin", "xMax", "yMax")] for w in words], dtype=float
        ).reshape(-1, 4)
        pages.append(Page(number, float(page.get("width")), float(page.get("height")), [w.text or "" for w in words], boxes))
    return pages


def layout_problems(path: Path, *, min_overlap: float = 0.15, margin: float = 0.5) -> list[str]:
    """What is wrong with the layout of a PDF, one line per problem; empty when nothing is.

    Parameters
    ----------
    path
        The PDF file.
    min_overlap
        Two words overlap when their common area is more than this share of
        the smaller word's area (touching boxes of neighbouring lines do not count).
    margin
        Points a word's box may stick out of the page (rounding).
    """
    problems = []
    for page in pdf_pages(path):
        where = f"{Path(path).name} page {page.number}"
        boxes = _cores(page.boxes)
        x0, y0, x1, y1 = boxes.T
        outside = (x0 < -margin) | (y0 < -margin) | (x1 > page.width + margin) | (y1 > page.height + margin)
        problems += [f"{where}: {page.words[i]!r} outside the page" for i in np.flatnonzero(outside)]
        for i, j in _overlapping_pairs(boxes, min_overlap):
            problems.append(f"{where}: {page.words[i]!r} overlaps {page.words[j]!r}")
    return problems


def _cores(boxes: np.ndarray) -> np.ndarray:
    """Word boxes cut to the middle :data:`CORE` of their height."""
    cut = (1 - CORE) / 2 * (boxes[:, 3] - boxes[:, 1])
    return np.column_stack([boxes[:, 0], boxes[:, 1] + cut, boxes[:, 2], boxes[:, 3] - cut])


def _overlapping_pairs(boxes: np.ndarray, min_overlap: float) -> list[tuple[int, int]]:
    """Index pairs (i < j) of boxes whose intersection exceeds ``min_overlap`` of the smaller one."""
    if len(boxes) < 2:
        return []
    x0, y0, x1, y1 = (boxes[:, k] for k in range(4))
    width = np.clip(np.minimum(x1[:, None], x1) - np.maximum(x0[:, None], x0), 0, None)
    height = np.clip(np.minimum(y1[:, None], y1) - np.maximum(y0[:, None], y0), 0, None)
    area = (x1 - x0) * (y1 - y0)
    smaller = np.minimum(area[:, None], area)
    overlapping = width * height > min_overlap * np.maximum(smaller, 1e-9)
    i, j = np.nonzero(np.triu(overlapping, k=1))
    return list(zip(i.tolist(), j.tolist()))
