"""Text on printed maps: its width, its lines, and places for labels that overlap nothing.

Shared by the static maps and the county atlas, which lay out their pages by
hand: every text box is measured before it is drawn, so that no text runs
into another or off the page.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

Box = tuple[float, float, float, float]

#: Characters after which a line is best broken.
BREAKS_AFTER = frozenset(" ；;，,、。/）)")
#: Characters a line never ends with.
OPENING = frozenset("（(《「“")


class TextMeasure:
    """Width of text in points as set in ``font``: the sum of its characters' advances (CJK text has no kerning)."""

    def __init__(self, font: str):
        from matplotlib.font_manager import FontProperties, findfont, get_font

        self.font = font
        self._faces = [get_font(findfont(FontProperties(family=family))) for family in (font, "DejaVu Sans")]
        for face in self._faces:
            face.set_size(1000, 72)  # advances in thousandths of an em
        self._advance = lru_cache(maxsize=None)(self._advance_of)

    def _advance_of(self, char: str) -> float:
        for face in self._faces:
            if face.get_char_index(ord(char)):
                return face.load_char(ord(char)).linearHoriAdvance / 65536 / 1000
        return 1.0

    def width(self, text: str, size: float) -> float:
        """Points ``text`` takes at ``size`` points (kerning left out: a little wider, never narrower)."""
        return size * sum(self._advance(char) for char in text)

    def wrap(self, text: str, width: float, size: float) -> list[str]:
        """``text`` in lines no wider than ``width`` points, each paragraph (``\\n``) on new lines.

        Chinese has no spaces: a line breaks after the last separator
        (:data:`BREAKS_AFTER`) in its second half, else after the last
        character that fits, but never after an opening bracket.
        """
        lines: list[str] = []
        for paragraph in text.split("\n"):
            while paragraph:
                used, end = 0.0, 0
                while end < len(paragraph) and used + self.width(paragraph[end], size) <= width:
                    used += self.width(paragraph[end], size)
                    end += 1
                if end < len(paragraph):
                    end = max(end, 1)
                    breaks = [i + 1 for i in range(end // 2, end) if paragraph[i] in BREAKS_AFTER]
                    end = breaks[-1] if breaks else end
                    while end > 1 and paragraph[end - 1] in OPENING:
                        end -= 1
                lines.append(paragraph[:end].rstrip())
                paragraph = paragraph[end:].lstrip(" ")
        return [line for line in lines if line]


class BoxGrid:
    """Boxes ``(x0, y0, x1, y1)`` taken so far, found by the square grid cells they touch.

    A new box is checked against the few boxes near it only, so placing
    *n* labels among *m* symbols takes about *n + m* steps, not *n x m*.
    """

    def __init__(self, cell: float) -> None:
        self.cell = cell
        self._cells: dict[tuple[int, int], list[Box]] = defaultdict(list)

    def _keys(self, box: Box) -> list[tuple[int, int]]:
        i0, j0, i1, j1 = (math.floor(v / self.cell) for v in box)
        return [(i, j) for i in range(i0, i1 + 1) for j in range(j0, j1 + 1)]

    def fits(self, box: Box) -> bool:
        """Whether ``box`` overlaps no box taken so far."""
        x0, y0, x1, y1 = box
        return not any(
            x0 < other[2] and other[0] < x1 and y0 < other[3] and other[1] < y1
            for key in self._keys(box) for other in self._cells.get(key, ())
        )

    def add(self, boxes: Box | np.ndarray) -> None:
        """Mark one box, or ``(n, 4)`` boxes, as taken."""
        for box in np.asarray(boxes, dtype=float).reshape(-1, 4):
            taken = tuple(box.tolist())
            for key in self._keys(taken):
                self._cells[key].append(taken)


def is_inside(box: Box, frame: Box) -> bool:
    """Whether ``box`` lies within ``frame`` (both ``(x0, y0, x1, y1)``)."""
    return box[0] >= frame[0] and box[1] >= frame[1] and box[2] <= frame[2] and box[3] <= frame[3]


@dataclass(frozen=True)
class PlacedLabel:
    """A label's centre and whether a leader line joins it to its anchor."""

    x: float
    y: float
    leader: bool


class LabelPlacer:
    """Places text boxes inside ``extent`` where they overlap no marker and no other label.

    Parameters
    ----------
    extent
        ``(xmin, ymin, xmax, ymax)``: labels stay inside it.
    cell
        Side of a grid cell (about a label's height), see :class:`BoxGrid`.
    """

    def __init__(self, extent: Box, cell: float):
        self.extent = extent
        self._taken = BoxGrid(cell)

    def block(self, boxes: np.ndarray) -> None:
        """Mark boxes ``(n, 4)`` (x0, y0, x1, y1) as taken."""
        self._taken.add(boxes)

    def is_free(self, box: Box) -> bool:
        """Whether ``box`` is inside the extent and overlaps no taken box."""
        return is_inside(box, self.extent) and self._taken.fits(box)

    def place(
        self, x: float, y: float, width: float, height: float, inside: Callable[[float, float], bool] | None = None,
        *, leader: bool = True,
    ) -> PlacedLabel | None:
        """Place a ``width`` x ``height`` label for the point ``(x, y)``, and mark it taken.

        Tries the point itself, then positions around it (above, below,
        right, left, the diagonals), then the same twice as far; a position
        counts when the label's centre is ``inside`` the unit it names. If
        none is free, the farther positions are tried anywhere, joined to
        the point by a leader line (unless not ``leader``). ``None`` when
        nothing fits.
        """
        rings = ((1.0, True), (2.2, True)) + (((2.2, False),) if leader else ())
        for ring, needs_inside in rings:
            for dx, dy in self._offsets(width, height, ring):
                cx, cy = x + dx, y + dy
                if needs_inside and inside is not None and not inside(cx, cy):
                    continue
                box = (cx - width / 2, cy - height / 2, cx + width / 2, cy + height / 2)
                if self.is_free(box):
                    self._taken.add(box)
                    return PlacedLabel(cx, cy, leader=not needs_inside)
        return None

    @staticmethod
    def _offsets(width: float, height: float, ring: float) -> list[tuple[float, float]]:
        side, up = (width / 2 + height * 0.6) * ring, height * 1.1 * ring
        offsets = [(0.0, up), (0.0, -up), (side, 0.0), (-side, 0.0), (side, up), (-side, up), (side, -up), (-side, -up)]
        return ([(0.0, 0.0)] if ring == 1.0 else []) + offsets


def scale_bar_length(longest: float) -> float:
    """The longest of 1, 2 or 5 x 10^n not over ``longest`` (a scale bar's length in metres)."""
    exponent = 10 ** math.floor(math.log10(longest))
    return max(step * exponent for step in (1, 2, 5) if step * exponent <= longest)
