"""The result of assessing a city: what the reports, the web platform and planning read.

Every table is a plain (Geo)DataFrame with the columns listed here, so that each product
(``report``, ``web``, ``plan``, ``batch``) depends on this contract and not on how it was computed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import pandas as pd

from lifecircle.network import WalkNetwork

__all__ = ["ALL_GRADES", "GRADES", "GRADE_EN", "NOT_GRADED", "UNVERIFIED", "Assessment"]

#: Grades from lowest to highest (商务部 三年行动: 基础型、提升型、品质型).
GRADES = ("基础型", "提升型", "品质型")
#: Label for a circle that reaches no grade.
NOT_GRADED = "未达标"
#: Label for a circle that reaches no grade while a 业态 it lacks failed the data audit in its
#: area: the data, not the city, may be missing (待核实).
UNVERIFIED = "待核实"
GRADE_EN = {
    "基础型": "basic",
    "提升型": "enhanced",
    "品质型": "quality",
    NOT_GRADED: "not graded",
    UNVERIFIED: "unverified",
}
#: Every value of the ``grade`` column, highest first.
ALL_GRADES = (*GRADES[::-1], NOT_GRADED, UNVERIFIED)


@dataclass
class Assessment:
    """A graded city.

    Attributes
    ----------
    city
        Display name of the city or area (e.g. 西安老城).
    network
        The walking network used.
    outlets
        Outlets as read by :func:`lifecircle.ingest.read_outlets` (WGS-84), with ``category``,
        ``class`` and ``is_chain``.
    residences
        Residences (WGS-84) with ``residence_id, name, households, population, circle_id`` and the
        snapping ``status``.
    circles
        One row per circle: ``circle_id, name, source`` (``boundary``, ``mapping`` or
        ``auto``), ``centre_residence_id`` (the shared centre of an automatic circle, else
        missing), ``n_residences, households, population`` and optionally ``district``;
        geometry = the circle's area (the boundary polygon, or the convex hull of its residences
        buffered by 100 m), WGS-84.
    access
        The long access table (:meth:`lifecircle.access.AccessResult.to_pandas`).
    grades
        One row per circle: ``circle_id, name, grade`` (one of :data:`GRADES` or
        :data:`NOT_GRADED`), ``grade_en, grade_label`` (the rulebook's display label, e.g.
        ``三星 ★★★``), ``households`` (sum of the known counts), ``n_residences, n_assessed``
        (members, and those on the walking network), ``weighting`` (``households``, or
        ``residences (…)`` when household counts are missing), ``n_basic, n_quality,
        core_missing`` (;-joined 业态 names, alternatives joined by ``/``), ``next_grade``
        (``""`` at the top), ``missing_for_next_grade`` (human-readable, Chinese),
        ``missing_for_next_grade_en``, ``evaluation_score`` (NaN when none),
        ``satisfaction_rate`` (NaN when none).
    evidence
        One row per circle × 业态 (the 有没有 table): ``circle_id, category, category_zh, class,
        band_min, present, households_covered_share, residences_covered_share,
        nearest_min_median, count_within_band_median``.
    kpis
        City KPIs: ``scope`` (``city`` or a district name), ``kpi, kpi_zh, value, target, unit,
        meets`` (nullable bool), ``source`` (confidence tag of the target).
    blind_spots
        Residences lacking a 业态 within its band: ``residence_id, circle_id, category,
        category_zh, class, band_min, households, nearest_min`` (NaN = nothing within the
        largest band).
    satisfaction
        Per circle and the city: ``circle_id`` (``"city"`` for the whole), ``n_valid,
        n_satisfied, rate, ci_low, ci_high, below_target, significantly_below`` (the Wilson
        interval's upper end below the target); ``None`` without survey data.
    evaluation
        Per circle: ``circle_id, score`` (0–100), ``coverage`` (share of the sheet's weight that
        was scored) plus one column per indicator; ``None`` without evaluator scores.
    snapshot
        Data snapshot for the reports: input file hashes, rulebook and catalogue versions,
        software version, date, parameters.
    audit
        The data audit (数据体检, :func:`lifecircle.project.audit.audit_city`): ``check, scope,
        category, value, threshold, status, message, message_en``; ``None`` when not run.
    data_flags
        Where the data failed the audit, per residence and 业态 (see
        :func:`~lifecircle.assess.grading.grade_circles`); grading reads it, so regrading (web,
        what-if) keeps 待核实 where it applies.
    figures
        The run's headline figures, the same in every output (``summary.json``): residences
        read and assessed, households known and estimated and the method, population
        assessed, outlets read, classified and assessed.
    districts
        District level → its districts (``name``, WGS-84 polygons), largest level first, when
        the city names districts (for the reports' by-district map).
    service_evaluation
        服务"好不好" per circle × indicator (``evaluation.csv``): ``circle_id, indicator,
        name_zh, name_en, value, points, max_points, source`` (``auto`` from the data, ``score``
        from evaluators, ``missing``), ``note`` — see :mod:`lifecircle.assess.auto_evaluation`.
    service_scores
        Per circle: ``circle_id, score`` (100 × points / weight answered), ``coverage``, the
        points of every indicator, ``n_auto, n_scored, missing`` (ids).  Grades use
        ``evaluation`` (evaluators' scores) only.
    """

    city: str
    network: WalkNetwork
    outlets: gpd.GeoDataFrame
    residences: gpd.GeoDataFrame
    circles: gpd.GeoDataFrame
    access: pd.DataFrame
    grades: pd.DataFrame
    evidence: pd.DataFrame
    kpis: pd.DataFrame
    blind_spots: pd.DataFrame
    satisfaction: pd.DataFrame | None = None
    evaluation: pd.DataFrame | None = None
    snapshot: dict[str, Any] = field(default_factory=dict)
    audit: pd.DataFrame | None = None
    data_flags: pd.DataFrame | None = None
    figures: dict[str, Any] = field(default_factory=dict)
    districts: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)
    service_evaluation: pd.DataFrame | None = None
    service_scores: pd.DataFrame | None = None
