"""Planning: blind spots, candidate sites, location-allocation on walking coverage, what-if
scenarios and the 1+N project list (缺什么、补什么).

* :func:`blind_spot_summary`, :func:`blind_spot_layer` — who lacks which 业态, by circle or
  district, and as a map layer;
* :func:`generate_candidates`, :func:`read_candidates` — candidate sites;
* :func:`build_coverage` → :class:`MCLP`, :class:`LSCP`, :class:`PMedian` — location models on
  the access engine's walking distances, solved by HiGHS or a heuristic with a proven bound;
* :func:`plan_sites` — the whole chain for one 业态 (``lifecircle plan``);
* :class:`WhatIf`, :class:`Scenario` — incremental what-if changes with grades and KPIs;
* :func:`project_list` — the circles' projects (N) and the city roll-up (1).
"""

from lifecircle.plan.blindspots import blind_spot_layer, blind_spot_summary
from lifecircle.plan.candidates import dedupe_candidates, generate_candidates, read_candidates
from lifecircle.plan.coverage import Coverage, build_coverage, demand_weights
from lifecircle.plan.models import LSCP, MCLP, METHODS, PMedian, Solution
from lifecircle.plan.projects import ProjectPlan, project_list
from lifecircle.plan.sites import MODELS, SitePlan, plan_sites
from lifecircle.plan.whatif import (
    Scenario,
    ScenarioResult,
    StepResult,
    WhatIf,
    compare_scenarios,
    run_scenario,
)

__all__ = [
    "LSCP",
    "MCLP",
    "METHODS",
    "MODELS",
    "Coverage",
    "PMedian",
    "ProjectPlan",
    "Scenario",
    "ScenarioResult",
    "SitePlan",
    "Solution",
    "StepResult",
    "WhatIf",
    "blind_spot_layer",
    "blind_spot_summary",
    "build_coverage",
    "compare_scenarios",
    "dedupe_candidates",
    "demand_weights",
    "generate_candidates",
    "plan_sites",
    "project_list",
    "read_candidates",
    "run_scenario",
]
