"""The timeline map's data: steps, shared classes, values per step, the sites' opening days.

Expected values come from the literal sites and dates in ``_support``
(``TIMELINE_SITES``, ``TIMELINE_DATES``) and the page is read back with
the independent readers there.
"""

from __future__ import annotations

import datetime

import pandas as pd
import pytest

from _support import (
    TIMELINE_DATES,
    TIMELINE_SITES,
    map_settings,
    multipart_townships,
    read_varints,
    timeline_sites,
    timeline_steps,
    timeline_villages,
)
from township_coverage.webmap import MapOptions, build_timeline_map, render_map

CODES = ["370001001", "370002001", "370001002", "370001003", "370001004"]  # the townships' order in the page
YES, NO = "#2c7fb8", "#e34a33"


def open_on(site: tuple, day: str) -> bool:
    """Whether a site of TIMELINE_SITES is open on ``day`` (ISO dates compare as text)."""
    opened, closed = site[7], site[8]
    return (not opened or opened <= day) and (not closed or day < closed)


def day_number(text: str) -> int:
    return (datetime.date.fromisoformat(text) - datetime.date(1970, 1, 1)).days


def signed(n: int) -> int:
    return (n >> 1) ^ -(n & 1)


def values(text: str) -> list[int | None]:
    """Display values: 0 is missing, else the zigzag of the value plus one."""
    return [None if n == 0 else signed(n - 1) for n in read_varints(text)]


def build(steps=None, **options) -> dict:
    shapes = multipart_townships().set_index("township_code")
    fmap = build_timeline_map(
        shapes, steps or timeline_steps(), timeline_sites(), title="t", villages=timeline_villages(),
        options=MapOptions(**options),
    )
    page = render_map(fmap)
    return {"page": page, **map_settings(page)}


@pytest.fixture(scope="module")
def settings() -> dict:
    return build()


def test_steps_carry_their_label_date_and_day_number(settings):
    steps = settings["timeline"]["steps"]
    assert [step["label"] for step in steps] == ["2021年末", "2022年末", "2023年末"]
    assert [step["as_of"] for step in steps] == ["截至 2021年12月31日", "截至 2022年12月31日", "截至 2023年12月31日"]
    assert [step["day"] for step in steps] == [day_number(d) for d in TIMELINE_DATES] == [18992, 19357, 19722]
    assert settings["timeline"]["start"] == 2  # the last step by default
    assert settings["townships"]["codes"] == CODES


def test_english_steps():
    steps = build(lang="en")["timeline"]["steps"]
    assert [step["label"] for step in steps] == ["end of 2021", "end of 2022", "end of 2023"]
    assert steps[1]["as_of"] == "As of 2022-12-31"


def test_class_letters_of_every_step_refer_to_one_palette(settings):
    by_column = {entry["column"]: entry for entry in settings["timeline"]["indicators"]}
    page = {entry["column"]: entry for entry in settings["indicators"]}
    # Has a station: from the test's sites, per step.
    palette = page["has_station"]["palette"]
    for step, day in enumerate(TIMELINE_DATES):
        expected = [YES if any(s[1] == "township_station" and s[6] == code and open_on(s, day) for s in TIMELINE_SITES)
                    else NO for code in CODES]
        assert [palette[ord(letter) - 97] for letter in by_column["has_station"]["classes"][step]] == expected
    # Station staff takes five distinct values over the steps (0-4), so each is its own class:
    # a value has the same colour at every step, and different values have different colours.
    palette = page["station_staff"]["palette"]
    colour_of_value = {}
    for step in range(len(TIMELINE_DATES)):
        letters = by_column["station_staff"]["classes"][step]
        for letter, value in zip(letters, values(by_column["station_staff"]["values"][step])):
            colour_of_value.setdefault(value, set()).add(palette[ord(letter) - 97])
    assert sorted(colour_of_value) == [0, 1, 2, 3, 4]
    assert all(len(colours) == 1 for colours in colour_of_value.values())
    assert len(set().union(*colour_of_value.values())) == 5
    # The page opens on the last step, with its letters.
    assert page["station_staff"]["classes"] == by_column["station_staff"]["classes"][2]


def test_values_of_every_step(settings):
    by_column = {entry["column"]: entry for entry in settings["timeline"]["indicators"]}
    for step, day in enumerate(TIMELINE_DATES):
        staff = [sum(s[5] for s in TIMELINE_SITES if s[1] == "township_station" and s[6] == code and open_on(s, day))
                 for code in CODES]
        rooms = [sum(1 for s in TIMELINE_SITES if s[1] == "community_room" and s[6] == code and open_on(s, day))
                 for code in CODES]
        assert values(by_column["station_staff"]["values"][step]) == staff
        assert values(by_column["community_rooms"]["values"][step]) == rooms
    assert values(by_column["community_rooms"]["values"][0]) == [1, 0, 1, 0, 0]  # R5, R1 (closes at the end of 2022)


def test_sites_carry_their_opening_and_closing_days(settings):
    layers = settings["timeline"]["sites"]
    assert [layer["type"] for layer in settings["sites"]] == ["township_station", "community_room"]
    for layer, days in zip(settings["sites"], layers):
        expected = [s for s in TIMELINE_SITES if s[1] == layer["type"]]
        opened = [None if n == 0 else signed(n - 1) for n in read_varints(days["opened"])]
        closed = [None if n == 0 else signed(n - 1) for n in read_varints(days["closed"])]
        assert opened == [day_number(s[7]) if s[7] else None for s in expected]
        assert closed == [day_number(s[8]) if s[8] else None for s in expected]


def test_sites_without_date_columns_are_open_at_every_step():
    sites = timeline_sites().drop(columns=["opened", "closed"])
    shapes = multipart_townships().set_index("township_code")
    page = map_settings(render_map(build_timeline_map(shapes, timeline_steps(), sites, title="t")))
    for layer in page["timeline"]["sites"]:
        assert set(read_varints(layer["opened"])) == {0} and set(read_varints(layer["closed"])) == {0}


def test_labels_from_the_caller_stay_text():
    hostile = "</script><img src=x onerror=alert(1)>"
    built = build(timeline_steps(labels={1: {"zh": hostile}}))
    assert built["timeline"]["steps"][1]["label"] == hostile
    assert hostile not in built["page"]


def test_problems_of_the_steps_are_reported_together():
    steps = timeline_steps()
    shapes = multipart_townships().set_index("township_code")
    sites = timeline_sites().assign(opened=lambda f: f["opened"].astype(str))
    short = type(steps[0])(steps[0].date, steps[0].table.drop(index="370001004").drop(columns="gap_score"))
    with pytest.raises(ValueError, match=r"(?s)steps\[2\]\.date=2021-12-31 is not after steps\[1\]\.date=2023-12-31.*"
                       r"steps\[0\]\.table has no column gap_score.*no row for 1 township\(s\), e\.g\. '370001004'.*"
                       r"sites\['opened'\] holds \w+, not dates"):
        build_timeline_map(shapes, [short, steps[2], steps[0]], sites, title="t")
    with pytest.raises(ValueError, match="no step given"):
        build_timeline_map(shapes, [], timeline_sites(), title="t")


def test_a_step_without_a_label_in_the_language_shows_its_day():
    steps = build(timeline_steps({1: {"zh": "二〇二二年末"}}), lang="en")["timeline"]["steps"]
    assert [step["label"] for step in steps] == ["end of 2021", "2022-12-31", "end of 2023"]
