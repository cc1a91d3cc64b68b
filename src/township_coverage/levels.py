"""The names of the two administrative levels in the text people read.

Tables, maps and reports call the levels 乡镇（街道） and 县区 by default; a
project may name them otherwise in ``[levels]`` (a province maps its 区县
within 地市). :func:`relabel` puts the project's names into a label.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from township_coverage.inputs.config import LevelNames

# The default terms of each level as they occur in labels, longest first.
_TERMS = {
    "zh": {"township": r"乡镇（街道）|乡镇", "county": r"县区"},
    "en": {"township": r"\b[Tt]ownships?\b", "county": r"\b[Cc]ount(?:y|ies)\b"},
}


def relabel(text: str, levels: LevelNames, lang: str) -> str:
    """``text`` with the default level terms replaced by the project's names.

    Parameters
    ----------
    text
        A label in ``lang`` (e.g. "乡镇（街道）数", "County borders").
    levels
        The project's names; a level left unnamed keeps its default term.
    lang
        ``"zh"`` or ``"en"``.
    """
    names = {"township": levels.township, "county": levels.county}
    terms = {level: pattern for level, pattern in _TERMS.get(lang, {}).items() if names[level]}
    if not terms:
        return text
    pattern = re.compile("|".join(f"(?P<{level}>{term})" for level, term in terms.items()))

    def name_of(match: re.Match) -> str:
        name = str(names[match.lastgroup])
        return name[:1].upper() + name[1:] if match.group(0)[:1].isupper() else name

    return pattern.sub(name_of, text)


def relabel_values(labels: Mapping[str, str], levels: LevelNames, lang: str) -> dict[str, str]:
    """The same mapping with every label relabelled."""
    return {key: relabel(label, levels, lang) for key, label in labels.items()}
