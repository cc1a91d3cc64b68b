"""What the plan page (``plan.html``) adds to the coverage map.

The page opens on the covered share (of people, or of villages when
population is unknown) and shows a summary box with the plan's figures:
covered share before and after, what is newly covered, the number of
rooms, the radius and the method. The proposed rooms themselves are a
site layer of their own (:data:`page_data.PROPOSED_ROOM`), numbered in
opening order.
"""

from __future__ import annotations

from dataclasses import dataclass

from township_coverage.classes import INDICATORS, Indicator

#: The covered share of villages: the coverage indicator when population is unknown.
VILLAGE_COVERAGE = Indicator(
    "village_share_within_radius",
    {"zh": "服务半径内村（社区）比例", "en": "Villages within radius"},
    {"zh": "%", "en": "%"},
    "share",
)
POPULATION_COVERAGE = "population_share_within_radius"
WEIGHTS = ("population", "villages")
METHODS = {
    "zh": {"exact": "精确求解（混合整数规划，HiGHS）", "heuristic": "启发式（贪心＋交换）"},
    "en": {"exact": "exact (mixed-integer programming, HiGHS)", "heuristic": "heuristic (greedy + swaps)"},
}
_TEXT = {
    "zh": {
        "title": "规划摘要",
        "share": "覆盖比例",
        "population": "新增覆盖人口",
        "villages": "新增覆盖村（社区）",
        "rooms": "拟建社工室",
        "radius": "服务半径",
        "method": "求解方式",
        "units": {"population": "人", "villages": "个", "rooms": "个", "radius": "公里"},
    },
    "en": {
        "title": "Plan summary",
        "share": "Covered share",
        "population": "People newly covered",
        "villages": "Villages newly covered",
        "rooms": "Proposed rooms",
        "radius": "Radius",
        "method": "Method",
        "units": {"population": "", "villages": "", "rooms": "", "radius": "km"},
    },
}


@dataclass(frozen=True)
class PlanFigures:
    """A plan's figures as the plan page shows them.

    Attributes
    ----------
    weight
        What coverage counts: ``"population"`` or ``"villages"``.
    covered_before, covered_after
        Covered share (0-1) without and with the proposed rooms.
    newly_covered
        People (or villages) the proposed rooms newly cover.
    rooms
        Number of proposed rooms.
    radius_km
        Coverage radius.
    method
        ``"exact"`` or ``"heuristic"``.
    """

    weight: str
    covered_before: float
    covered_after: float
    newly_covered: float
    rooms: int
    radius_km: float
    method: str

    def __post_init__(self) -> None:
        if self.weight not in WEIGHTS:
            raise ValueError(f"weight={self.weight!r}; allowed: {', '.join(WEIGHTS)}")
        if self.method not in METHODS["en"]:
            raise ValueError(f"method={self.method!r}; allowed: {', '.join(METHODS['en'])}")


def plan_indicators(figures: PlanFigures) -> tuple[tuple[Indicator, ...], str]:
    """The indicators of the plan page and the column it opens on.

    By population: the usual indicators, opening on the population share
    within the radius. By villages: the village share within the radius
    takes the place of the population share (unknown without population).
    """
    if figures.weight == "population":
        return INDICATORS, POPULATION_COVERAGE
    shown = tuple(VILLAGE_COVERAGE if i.column == POPULATION_COVERAGE else i for i in INDICATORS)
    return shown, VILLAGE_COVERAGE.column


def summary_box(figures: PlanFigures, lang: str) -> dict:
    """The summary box: a title and rows of ``[key, label, value]`` (plain text, put in with textContent)."""
    text = _TEXT[lang]
    units = text["units"]

    def with_unit(number: str, unit: str) -> str:
        return f"{number} {unit}" if unit else number

    rows = [
        ["share", text["share"], f"{figures.covered_before:.1%} → {figures.covered_after:.1%}"],
        ["newly_covered", text[figures.weight], with_unit(f"{figures.newly_covered:,.0f}", units[figures.weight])],
        ["rooms", text["rooms"], with_unit(f"{figures.rooms:,d}", units["rooms"])],
        ["radius", text["radius"], with_unit(f"{figures.radius_km:g}", units["radius"])],
        ["method", text["method"], METHODS[lang][figures.method]],
    ]
    return {"title": text["title"], "rows": rows}
