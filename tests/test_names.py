"""Township name normalisation and matching."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from township_coverage.inputs.names import NameMatcher, normalise_name

cores = st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5), min_size=1, max_size=6)


@pytest.mark.parametrize(
    ("written", "key"),
    [
        ("兰山街道", "兰山街道"),
        ("兰山街道办事处", "兰山街道"),
        ("兰山街道办", "兰山街道"),
        ("兰山办事处", "兰山街道"),
        ("兰山　街道", "兰山街道"),
        (" 张庄镇人民政府 ", "张庄镇"),
        ("张庄乡人民政府", "张庄乡"),
        ("ＡＢ镇", "AB镇"),
    ],
)
def test_variants_normalise_to_one_key(written, key):
    assert normalise_name(written) == key


@given(cores)
def test_normalising_is_idempotent(core):
    for suffix in ("街道办事处", "镇人民政府", "街道", "镇", ""):
        once = normalise_name(core + suffix)
        assert normalise_name(once) == once


@given(cores, st.sampled_from(["街道办事处", "街道办", "办事处"]))
def test_office_suffixes_are_the_street(core, suffix):
    assert normalise_name(core + suffix) == normalise_name(core + "街道")


@given(cores)
def test_full_width_spaces_are_ignored(core):
    spaced = "　".join(core) + "镇"
    assert normalise_name(spaced) == normalise_name(core + "镇")


@pytest.fixture
def matcher() -> NameMatcher:
    return NameMatcher(
        pd.DataFrame(
            {
                "township_code": ["1", "2", "3"],
                "township_name": ["兰山街道", "张庄镇", "张庄镇"],
                "county_name": ["兰山区", "沂南县", "兰陵县"],
            }
        )
    )


def test_matching_by_name_county_and_prefix(matcher):
    assert matcher.match("兰山街道办事处").township_code == "1"
    assert matcher.match("张庄镇", "兰陵县").township_code == "3"
    assert matcher.match("沂南县张庄镇").township_code == "2"
    ambiguous = matcher.match("张庄镇")
    assert (ambiguous.township_code, ambiguous.reason) == (None, "ambiguous")
    assert ambiguous.candidates == ("兰陵县 张庄镇", "沂南县 张庄镇")


def test_unknown_names_come_with_the_closest_candidates(matcher):
    result = matcher.match("兰仙街道")
    assert result.township_code is None and result.reason == "unknown"
    assert result.candidates[0] == "兰山街道"


@given(
    st.lists(cores, min_size=1, max_size=40),
    st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x4E20), max_size=8),
)
def test_closest_names_are_difflibs_over_all_names(cores_of_names, word):
    import difflib

    # Few distinct characters, so that many names score alike and ties are decided by the name.
    names = [core[:3] + suffix for core, suffix in zip(cores_of_names, ["镇", "乡", "街道"] * 14)]
    townships = pd.DataFrame(
        {"township_code": [str(i) for i in range(len(names))], "township_name": names, "county_name": "县"}
    )
    matcher = NameMatcher(townships)
    labels = {}
    for name in names:
        labels[normalise_name(name)] = name
        labels["县" + normalise_name(name)] = "县" + name
    expected = tuple(dict.fromkeys(labels[k] for k in difflib.get_close_matches(word, list(labels), n=3, cutoff=0.4)))
    assert matcher.closest(word) == expected


def test_a_name_with_its_county_in_front_and_repeated_look_ups():
    townships = pd.DataFrame(
        {"township_code": ["1", "2", "3"], "township_name": ["城关镇", "城关镇", "河口乡"],
         "county_name": ["甲县", "乙县", "乙县"]}
    )
    matcher = NameMatcher(townships)
    assert matcher.match("乙县城关镇").township_code == "2"
    assert matcher.match("甲县 城关镇").township_code == "1"
    assert matcher.match("城关镇").reason == "ambiguous"
    first = matcher.match("河口镇")
    assert first.reason == "unknown" and first.candidates[0] == "河口乡"
    assert matcher.match("河口镇") is first  # looked up once
