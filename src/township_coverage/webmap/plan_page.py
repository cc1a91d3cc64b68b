"""What the plan page (``plan.html``) adds to the coverage map: the summary box and the what-if editor.

The page opens on the covered share (of people, or of villages when
population is unknown) and shows a summary box with the plan's figures:
covered share before and after, what is newly covered, the number of
rooms, the radius and the method. The proposed rooms themselves are a
site layer of their own (:data:`page_data.PROPOSED_ROOM`), numbered in
opening order.

With a :class:`PlanEditor`, ``planner.js`` makes the box live: a slider
over the opening order, rooms added or removed by clicking, the figures
per county and township recomputed at once, and the scenario exported as
CSV for ``plan --fixed``. It reads the relation of the candidate villages
to the villages they reach (within the radius, not yet covered by an
existing site) as compact varint streams, built by :func:`editor_settings`.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp

from township_coverage.classes import INDICATORS, Classes, Indicator
from township_coverage.geometry import varint_base64, zigzag
from township_coverage.plan.scenario import SCENARIO_HEADERS

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
        "villages_newly": "新覆盖村（社区）",
        "slider": "按开设顺序显示前 {k} 个（共 {n} 个）",
        "edited": "（已调整）",
        "export": "导出方案（CSV）",
        "reset": "恢复求解结果",
        "hint": "放大地图后点击村（社区）增设社工室，点击拟建社工室将其移除。",
        "county": "县区",
        "county_share": "覆盖比例",
        "county_gain": "新增覆盖",
        "county_rooms": "社工室",
        "tooltip": "规划：覆盖比例 {before} → {after}，新增覆盖 {newly}，拟建社工室 {rooms} 个",
        "candidates": "可增设社工室的村（社区）",
        "newly_layer": "新覆盖的村（社区）",
        "room_suffix": "（拟建社工室）",
        "file": "规划方案.csv",
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
        "villages_newly": "Villages newly covered",
        "slider": "First {k} of {n} in opening order",
        "edited": " (edited)",
        "export": "Export scenario (CSV)",
        "reset": "Back to the solver's plan",
        "hint": "Zoom in and click a village to add a room there; click a proposed room to remove it.",
        "county": "County",
        "county_share": "Covered share",
        "county_gain": "Newly covered",
        "county_rooms": "Rooms",
        "tooltip": "Plan: covered share {before} → {after}, {newly} newly covered, {rooms} proposed rooms",
        "candidates": "Villages that may get a room",
        "newly_layer": "Newly covered villages",
        "room_suffix": " (proposed room)",
        "file": "plan_scenario.csv",
    },
}


@dataclass(frozen=True)
class PlanEditor:
    """What the editor of the plan page computes with.

    Attributes
    ----------
    candidates
        Villages that may get a room (``village_code``), the plan's rooms
        among them.
    reach
        CSR matrix, candidates x demand villages: 1 where the candidate is
        within the radius of the village.
    demand
        Villages within the radius of some candidate and of no existing
        site (``township_code``).
    demand_weight
        Weight (people, or 1) of each demand village.
    township_weight, township_covered
        Per township code: weight of all its villages; of those within the
        radius of an existing site.
    plan
        Positions in ``candidates`` of the plan's rooms, in opening order.
    """

    candidates: gpd.GeoDataFrame
    reach: sp.csr_matrix
    demand: gpd.GeoDataFrame
    demand_weight: np.ndarray
    township_weight: pd.Series
    township_covered: pd.Series
    plan: np.ndarray


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
    editor: PlanEditor | None = None

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


def editor_settings(
    editor: PlanEditor, figures: PlanFigures, townships: pd.Index, villages: pd.Index, classes: Classes, lang: str,
) -> dict:
    """The data ``planner.js`` reads: candidates, the relation, demand villages, township totals, text.

    Candidates and demand villages are given as positions in the page's
    list of villages (the search's: points, names and townships), so that
    their points and names are in the page once.

    Parameters
    ----------
    editor
        The editor's relation and plan.
    figures
        The plan's figures (weight, radius, method).
    townships
        Township codes in the page's order.
    villages
        Labels of the page's villages, in its order.
    classes
        The classes of the coverage indicator the page opens on, to colour
        the townships again as the covered share changes.
    lang
        Language of the panel and of the exported file's headers.
    """
    reach = editor.reach.tocsr().sorted_indices()
    # Within a candidate, steps from one village to the next; its first village, a step from the first of
    # the candidate before (neighbours in the village list reach about the same villages).
    firsts = reach.indptr[:-1][np.diff(reach.indptr) > 0]
    steps = np.diff(reach.indices, prepend=0).astype(np.int64)
    steps[firsts] = np.diff(reach.indices[firsts], prepend=0)
    headers = SCENARIO_HEADERS[lang]
    return {
        "weight": figures.weight,
        "candidates": {
            "villages": _positions(villages, editor.candidates.index),
            "codes": village_codes(editor.candidates["village_code"]),
        },
        # Per candidate its number of demand villages; then their positions as zigzag steps.
        "reach": {"counts": varint_base64(np.diff(reach.indptr)), "steps": varint_base64(zigzag(steps))},
        "demand": {"villages": _positions(villages, editor.demand.index), "weight": numbers(editor.demand_weight)},
        "township_weight": numbers(editor.township_weight.reindex(townships, fill_value=0).to_numpy()),
        "township_covered": numbers(editor.township_covered.reindex(townships, fill_value=0).to_numpy()),
        "plan": varint_base64(editor.plan),
        "bounds": list(classes.bounds),
        "colours": [colour for colour, _ in classes.legend[: len(classes.bounds)]],
        "text": _TEXT[lang],
        "method": METHODS[lang][figures.method],
        "headers": [headers[key] for key in ("village_code", "village_name", "township_name", "county_name", "order")],
    }


def _positions(index: pd.Index, labels: pd.Index) -> str:
    """Positions of ``labels`` in ``index`` as zigzag varint steps from one to the next.

    Raises
    ------
    ValueError
        If a label is not in ``index``.
    """
    positions = index.get_indexer(labels)
    if (positions < 0).any():
        raise ValueError(f"{(positions < 0).sum()} village(s) of the plan are not among the page's villages")
    return varint_base64(zigzag(np.diff(positions, prepend=0)))


def numbers(values: np.ndarray) -> str | list[float]:
    """Non-negative whole numbers as varint base64 text; other numbers as a list."""
    values = np.nan_to_num(np.asarray(values, dtype=float))
    if np.all(values >= 0) and np.all(values == np.round(values)) and (values.max(initial=0) < 2**53):
        return varint_base64(values.astype(np.int64))
    return values.tolist()


def village_codes(codes: pd.Series) -> list[str] | dict:
    """Village codes: as text, or, when all are whole numbers written plainly, as varint steps between them."""
    text = codes.astype(str).tolist()
    if not all(code.isascii() and code.isdigit() and code[0] != "0" and len(code) < 16 for code in text):
        return text
    return {"steps": varint_base64(zigzag(np.diff(np.array([int(code) for code in text], dtype=np.int64), prepend=0)))}


def plan_editor(
    villages: gpd.GeoDataFrame, already: np.ndarray, weights: np.ndarray, candidates: gpd.GeoDataFrame,
    reach: sp.csr_matrix, reach_candidates: np.ndarray, reach_demand: np.ndarray, plan_labels: np.ndarray,
) -> PlanEditor:
    """A :class:`PlanEditor` from a planning relation.

    Parameters
    ----------
    villages
        Every village with a position (``township_code``).
    already
        Whether each village is within the radius of an existing site.
    weights
        Weight of each village.
    candidates
        Every village that may get a room, the plan's among them.
    reach, reach_candidates, reach_demand
        The relation (a :class:`township_coverage.plan.CoverageProblem`'s
        ``covers``) and the labels of its rows (candidates) and columns
        (villages); candidates missing from it reach no village.
    plan_labels
        Labels (in ``candidates``) of the plan's rooms, in opening order.
    """
    row = pd.Index(reach_candidates).get_indexer(candidates.index)
    if reach.shape[0] == 0:  # no candidate reaches a village not yet covered
        relation = sp.csr_matrix((len(candidates), reach.shape[1]))
    else:
        keep = sp.diags((row >= 0).astype(float))
        relation = (keep @ reach.tocsr()[np.maximum(row, 0)]).tocsr()
    relation.eliminate_zeros()
    codes = villages["township_code"].astype(str)
    return PlanEditor(
        candidates=candidates[["village_code"]],
        reach=relation,
        demand=villages.loc[reach_demand, ["township_code"]],
        demand_weight=np.asarray(weights, dtype=float)[villages.index.get_indexer(reach_demand)],
        township_weight=pd.Series(weights, index=codes.to_numpy()).groupby(level=0).sum(),
        township_covered=pd.Series(np.where(already, weights, 0.0), index=codes.to_numpy()).groupby(level=0).sum(),
        plan=candidates.index.get_indexer(plan_labels),
    )
