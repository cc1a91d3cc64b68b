"""Where to open new community rooms: maximal covering with existing sites fixed.

Two steps, kept apart:

1. geodata -> matrix: :func:`coverage_problem` measures, in a metric CRS,
   which candidate sites lie within the radius of which villages, using a
   spatial index, so memory grows with the number of village-candidate
   pairs within the radius, not with their product. Villages already within
   the radius of an existing room or station are covered whatever is chosen,
   and drop out; so do villages no candidate reaches and candidates that
   reach no uncovered village. Distances are straight lines, or along a
   road network (:mod:`township_coverage.plan.network`) when the project
   names one: :func:`distances_within` gives the pairs either way.
2. matrix -> solution: :func:`maximize_coverage` picks K candidates to
   maximise the newly covered weight (population, or villages), exactly by
   mixed-integer programming (HiGHS) or by a greedy-plus-swap heuristic
   reported next to the LP bound; :func:`minimum_rooms_for_share` finds the
   fewest candidates that bring the covered share to a target.

Before solving, dominated candidates (whose villages another candidate
all covers) drop out and villages reached by the same candidates merge.
The relation falls apart into connected components (villages more than 2R
apart never interact); the exact method either splits there (each
component's best coverage with 0, 1, 2 ... rooms, by enumeration or small
MILPs, joined by dynamic programming) or solves one model of the whole
relation, as :func:`~township_coverage.plan.coverage.split_pays` decides
from the components' sizes. Per-township limits tie components together;
with them, one model is solved. No proposed room covers nobody new: asking
for more rooms than help gives the fewest that cover everything reachable.
"""

from township_coverage.plan.coverage import maximize_coverage, minimum_rooms_for_share
from township_coverage.plan.network import RoadNetwork, road_network
from township_coverage.plan.problem import (
    DEFAULT_TIME_LIMIT_S,
    EXACT_PAIR_LIMIT,
    CoverageProblem,
    PlanningError,
    PlanResult,
    coverage_problem,
    distances_within,
    opening_order,
)

__all__ = [
    "DEFAULT_TIME_LIMIT_S",
    "EXACT_PAIR_LIMIT",
    "CoverageProblem",
    "PlanResult",
    "PlanningError",
    "RoadNetwork",
    "coverage_problem",
    "distances_within",
    "maximize_coverage",
    "minimum_rooms_for_share",
    "opening_order",
    "road_network",
]
