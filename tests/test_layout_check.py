"""The PDF layout check itself finds overlapping text and text off the page, and passes a clean page."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from layout_check import layout_problems

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils")


def _page(path: Path, texts: list[tuple[float, float, str]], *, size: float = 12) -> Path:
    """A one-page PDF (A6 in points) with text at given positions in figure fractions, fonts embedded as TrueType."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with matplotlib.rc_context({"pdf.fonttype": 42}):
        figure = plt.figure(figsize=(4.13, 5.83))
        for x, y, text in texts:
            figure.text(x, y, text, fontsize=size, family="DejaVu Sans")
        figure.savefig(path)
        plt.close(figure)
    return path


def test_clean_page_has_no_problems(tmp_path: Path) -> None:
    # Lines 1.3 em apart: the font boxes poppler reports touch, the text does not.
    pitch = 1.3 * 12 / (5.83 * 72)
    lines = [(0.1, 0.8 - k * pitch, f"Row {k} 12,345") for k in range(10)]
    assert layout_problems(_page(tmp_path / "clean.pdf", lines)) == []


def test_text_written_over_text_is_found(tmp_path: Path) -> None:
    problems = layout_problems(_page(tmp_path / "over.pdf", [(0.1, 0.5, "Source note"), (0.12, 0.505, "Last row")]))
    assert problems and "overlaps" in problems[0]


def test_text_off_the_page_is_found(tmp_path: Path) -> None:
    problems = layout_problems(_page(tmp_path / "off.pdf", [(0.7, 0.5, "A title far too long for the page")]))
    assert any("outside the page" in problem for problem in problems)
