"""Normalising and matching township names as offices write them.

The same township appears as 兰山街道, 兰山街道办事处, 兰山办事处 or
"兰山 街道" (full-width space); a town as 张庄镇 or 张庄镇人民政府.
:func:`normalise_name` maps all of these to one key; :class:`NameMatcher`
finds a township by name, qualified by county where a name occurs twice.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass

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
        for code, key, county, label, county_label in zip(
            townships["township_code"], keys, counties,
            townships["township_name"], townships["county_name"],
        ):
            self._by_name.setdefault(key, []).append(code)
            self._by_county_name[(county, key)] = code
            self._labels[key] = str(label)
            self._labels[county + key] = f"{county_label}{label}"
            self._full_names[code] = f"{county_label} {label}"

    def match(self, name: str, county: str | None = None) -> NameMatch:
        """Find one township.

        A name may carry its county in front ("兰山区兰山街道") or in
        ``county``. Without a county, a name that occurs in two counties is
        ambiguous.
        """
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
            for (known_county, known_key), code in self._by_county_name.items():
                if key == known_county + known_key:
                    return NameMatch(code)
        return NameMatch(None, "unknown", self.closest(county_key + key))

    def full_name(self, code: str) -> str:
        """County and township name of a code, e.g. "兰山区 兰山街道"."""
        return self._full_names.get(code, code)

    def closest(self, key: str, *, count: int = 3) -> tuple[str, ...]:
        """The known names closest to ``key`` (difflib ratio), best first."""
        found = difflib.get_close_matches(key, list(self._labels), n=count, cutoff=0.4)
        return tuple(dict.fromkeys(self._labels[k] for k in found))

