"""Assessment of life circles: circles, rulebook grading (基础型/提升型/品质型), KPIs, evaluation
and satisfaction, gathered in one :class:`Assessment` by :func:`assess_city`."""

from lifecircle.assess.chains import chain_brands_found, detect_chains
from lifecircle.assess.circles import (
    assign_circles,
    read_circle_mapping,
    residence_reach,
    write_circle_mapping,
)
from lifecircle.assess.evaluation import (
    IndicatorSheet,
    evaluation_scores,
    load_indicator_sheet,
    read_evaluator_scores,
)
from lifecircle.assess.grading import blind_spots, grade_circles
from lifecircle.assess.kpis import compute_kpis, load_chain_brands
from lifecircle.assess.model import ALL_GRADES, GRADE_EN, GRADES, NOT_GRADED, UNVERIFIED, Assessment
from lifecircle.assess.pipeline import assess_city
from lifecircle.assess.rulebook import PRESETS, GradeRules, Rule, Rulebook, load_rulebook
from lifecircle.assess.survey import (
    Survey,
    load_survey,
    read_responses,
    satisfaction_by_circle,
    wilson_interval,
)

__all__ = [
    "ALL_GRADES",
    "GRADES",
    "GRADE_EN",
    "NOT_GRADED",
    "PRESETS",
    "UNVERIFIED",
    "Assessment",
    "GradeRules",
    "IndicatorSheet",
    "Rule",
    "Rulebook",
    "Survey",
    "assess_city",
    "assign_circles",
    "blind_spots",
    "chain_brands_found",
    "compute_kpis",
    "detect_chains",
    "evaluation_scores",
    "grade_circles",
    "load_chain_brands",
    "load_indicator_sheet",
    "load_rulebook",
    "load_survey",
    "read_circle_mapping",
    "read_evaluator_scores",
    "read_responses",
    "residence_reach",
    "satisfaction_by_circle",
    "wilson_interval",
    "write_circle_mapping",
]
