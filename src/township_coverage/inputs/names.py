"""Normalising and matching township names as offices write them.

The same township appears as 兰山街道, 兰山街道办事处, 兰山办事处 or
"兰山 街道" (full-width space); a town as 张庄镇 or 张庄镇人民政府.
:func:`normalise_name` maps all of these to one key; :class:`NameMatcher`
finds a township by name, qualified by county where a name occurs twice.
"""

from __future__ import annotations

import difflib
import heapq
import re
from collections import Counter
import unicodedata
from dataclasses import dataclass

import numpy as np
import pandas as pd

# Suffix rewrites applied in order to the end of a normalised name.
_SUFFIXES = (
    ("街道办事处", "街道"),
    ("街道办", "街道"),
    ("办事处", "街道"),
    ("镇人民政府", "镇"),
    ("乡人民政府", "乡"),
    ("人民政府", ""),
)
_SPACE = re.compile(r"\s+")


def normalise_name(name: str) -> str:
    """A matching key for a township name.

    Full-width characters become half-width (Unicode NFKC), white space
    goes, and office suffixes become the unit's own: 街道办事处 / 街道办 /
    办事处 -> 街道, 镇人民政府 -> 镇, 乡人民政府 -> 乡.
    """
    text = _SPACE.sub("", unicodedata.normalize("NFKC", str(name)))
    for suffix, replacement in _SUFFIXES:
        if text.endswith(suffix) and len(text) > len(suffix):
            return text[: -len(suffix)] + replacement
    return text


@dataclass(frozen=True)
class NameMatch:
    """Result of a name look-up.

    Attributes
    ----------
    township_code
        The match, or ``None``.
    reason
        Why there is no match (``"unknown"`` or ``"ambiguous"``), else ``""``.
    candidates
        Closest names when there is no match, best first; for an ambiguous
        name, the townships of that name with their counties.
    """

    township_code: str | None
    reason: str = ""
    candidates: tuple[str, ...] = ()


class NameMatcher:
    """Finds townships by (optionally county-qualified) name.

    Parameters
    ----------
    townships
        Table with ``township_code``, ``township_name``, ``county_name``.
    """

    def __init__(self, townships: pd.DataFrame) -> None:
        keys = townships["township_name"].map(normalise_name)
        counties = townships["county_name"].map(normalise_name)
        self._by_name: dict[str, list[str]] = {}
        self._by_county_name: dict[tuple[str, str], str] = {}
        self._labels: dict[str, str] = {}
        self._full_names: dict[str, str] = {}
        self._found: dict[tuple[str, str | None], NameMatch] = {}
        self._characters: _CharacterCounts | None = None
        for code, key, county, label, county_label in zip(
            townships["township_code"], keys, counties,
            townships["township_name"], townships["county_name"],
        ):
            self._by_name.setdefault(key, []).append(code)
            self._by_county_name[(county, key)] = code
            self._labels[key] = str(label)
            self._labels[county + key] = f"{county_label}{label}"
            self._full_names[code] = f"{county_label} {label}"
        # County and name written together ("兰山区兰山街道"): the first such pair in the layer's order.
        self._by_full_key: dict[str, str] = {}
        for (known_county, known_key), code in self._by_county_name.items():
            self._by_full_key.setdefault(known_county + known_key, code)

    def match(self, name: str, county: str | None = None) -> NameMatch:
        """Find one township.

        A name may carry its county in front ("兰山区兰山街道") or in
        ``county``. Without a county, a name that occurs in two counties is
        ambiguous. Lists repeat names row after row: each is looked up once.
        """
        if (name, county) not in self._found:
            self._found[(name, county)] = self._match(name, county)
        return self._found[(name, county)]

    def _match(self, name: str, county: str | None) -> NameMatch:
        key = normalise_name(name)
        county_key = normalise_name(county) if county else ""
        if county_key:
            code = self._by_county_name.get((county_key, key))
            if code is not None:
                return NameMatch(code)
        else:
            codes = self._by_name.get(key, [])
            if len(codes) == 1:
                return NameMatch(codes[0])
            if len(codes) > 1:
                return NameMatch(None, "ambiguous", tuple(sorted(self.full_name(code) for code in codes)))
            code = self._by_full_key.get(key)
            if code is not None:
                return NameMatch(code)
        return NameMatch(None, "unknown", self.closest(county_key + key))

    def full_name(self, code: str) -> str:
        """County and township name of a code, e.g. "兰山区 兰山街道"."""
        return self._full_names.get(code, code)

    def closest(self, key: str, *, count: int = 3, cutoff: float = 0.4) -> tuple[str, ...]:
        """The known names closest to ``key`` (difflib ratio), best first.

        As ``difflib.get_close_matches``, but names are scored in the order
        of an upper bound of their score (difflib's ``quick_ratio``, for all
        names at once), and scoring stops when no name left can reach the
        best found: a layer of 40,000 townships takes little longer to
        search than one of 150.
        """
        if self._characters is None:
            self._characters = _CharacterCounts(list(self._labels))
        names, bounds = self._characters.names, self._characters.quick_ratios(key)
        scorer = difflib.SequenceMatcher()
        scorer.set_seq2(key)
        best: list[tuple[float, str]] = []  # the ``count`` best so far, the lowest first
        for i in np.argsort(-bounds, kind="stable"):
            floor = best[0][0] if len(best) == count else cutoff
            if bounds[i] < floor - 1e-12:
                break  # no name left can score as high as those kept (ties are still scored)
            scorer.set_seq1(names[i])
            if scorer.real_quick_ratio() >= cutoff and scorer.quick_ratio() >= cutoff and scorer.ratio() >= cutoff:
                scored = (scorer.ratio(), names[i])
                if len(best) < count:
                    heapq.heappush(best, scored)
                elif scored > best[0]:
                    heapq.heapreplace(best, scored)
        found = [name for _, name in sorted(best, reverse=True)]
        return tuple(dict.fromkeys(self._labels[k] for k in found))


class _CharacterCounts:
    """How often each character occurs in each of many names, for difflib's ``quick_ratio`` of all at once."""

    def __init__(self, names: list[str]) -> None:
        from scipy import sparse

        self.names = names
        index: dict[str, int] = {}
        rows, columns = [], []
        for row, name in enumerate(names):
            for character in name:
                rows.append(row)
                columns.append(index.setdefault(character, len(index)))
        ones = np.ones(len(rows), dtype=np.int32)
        # Repeated (row, column) pairs add up: counts per name and character.
        self.counts = sparse.csc_matrix((ones, (rows, columns)), shape=(len(names), max(len(index), 1)))
        self.index = index
        self.lengths = np.array([len(name) for name in names], dtype=float)

    def quick_ratios(self, word: str) -> np.ndarray:
        """difflib's ``quick_ratio`` of ``word`` with every name: 2 x shared characters / total length."""
        shared = np.zeros(len(self.names))
        counts = self.counts
        for character, times in Counter(word).items():
            column = self.index.get(character)
            if column is not None:
                start, end = counts.indptr[column], counts.indptr[column + 1]
                shared[counts.indices[start:end]] += np.minimum(counts.data[start:end], times)
        total = self.lengths + len(word)
        return np.divide(2.0 * shared, total, out=np.ones_like(total), where=total > 0)
