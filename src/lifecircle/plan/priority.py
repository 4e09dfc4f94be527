"""Policy priority of the 1+N projects: must-haves first, residents' needs as evidence.

Each project (a circle × missing 业态) gets a ``priority_tier``:

1. a must-have of the circle's next grade whose group is unmet (the core basic set of the default
   rulebook: 一店一早、一菜一修、药店、快递 — 商务部 2023 试点通知, 人民日报 2023-09-21 "重点补齐便利店、
   菜市场、早餐店及维修点等短板", standards.md §13 D13, V2);
2. another 基本保障类 业态;
3. a 品质提升类 业态.

Within a circle, projects are ordered by tier, then by ``households_gained × (1 + needs_weight ×
needs_count)``: every resident's need for that 业态 in that circle (问需于民 — the platform's 需求清单
or a CSV) raises the project by ``needs_weight`` (default :data:`NEEDS_WEIGHT` = 10 % of its
households gained per need; P, a proposal of this software).  Needs never lift a project over a
lower tier: the policy's order comes first.

A 业态 the catalogue marks ``observable = false`` (前置仓: not visible in POI data) is not
proposed unless the city supplied outlets of it; :func:`split_unobservable` says which 业态 could not
be checked.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from lifecircle.errors import InputError, Problem, Problems

if TYPE_CHECKING:
    from lifecircle.assess.model import Assessment
    from lifecircle.assess.rulebook import Rulebook
    from lifecircle.taxonomy import Catalogue

__all__ = ["NEEDS_WEIGHT", "prioritise", "read_needs", "split_unobservable"]

#: Rank weight of one resident's need: +10 % of the project's households gained (P).
NEEDS_WEIGHT = 0.1
_TIER_ZH = {2: "基本保障类业态缺失", 3: "品质提升类业态缺失"}
_TIER_EN = {2: "basic type missing", 3: "quality type missing"}


def read_needs(source: pd.DataFrame | str | os.PathLike[str], catalogue: Catalogue) -> pd.DataFrame:
    """Residents' needs (需求清单) per circle and 业态.

    Parameters
    ----------
    source
        A table (or CSV/Excel file) with ``circle_id`` and ``category`` (业态 code or name, e.g.
        菜市场) and optionally ``count`` (needs on that row; default 1 per row) — the platform's
        需求清单 export or a survey tally.
    catalogue
        To resolve 业态 names.

    Returns
    -------
    pandas.DataFrame
        ``circle_id, category, needs_count`` summed per circle × 业态.

    Raises
    ------
    InputError
        Missing columns, unknown 业态 (row, value and close names), counts that are not whole
        numbers ≥ 0.

    Examples
    --------
    >>> from lifecircle.taxonomy import load_catalogue
    >>> table = pd.DataFrame({"circle_id": ["C1", "C1", "C2"], "category": ["菜市场", "wet_market", "药店"]})
    >>> read_needs(table, load_catalogue()).values.tolist()
    [['C1', 'wet_market', 2], ['C2', 'pharmacy', 1]]
    """
    label = None
    if not isinstance(source, pd.DataFrame):
        label = str(source)
        if str(source).lower().endswith((".xlsx", ".xls")):
            source = pd.read_excel(source, dtype=object)
        else:
            source = pd.read_csv(source, dtype=object, encoding="utf-8-sig")
    problems = Problems(file=label)
    for col in ("circle_id", "category"):
        if col not in source.columns:
            problems.add(
                f"the needs table has no column {col!r} (columns: {', '.join(map(str, source.columns))})",
                field=col,
                fix="give circle_id, category (业态 code or name) and optionally count",
            )
    problems.raise_if_any("needs")
    codes: list[str | None] = []
    for i, name in enumerate(source["category"], start=1):
        code = catalogue.resolve(str(name)) if isinstance(name, str) else None
        if code is None:
            close = catalogue.suggest(str(name))
            problems.add(
                f"unknown 业态 {name!r}",
                row=i,
                field="category",
                fix=(f"did you mean {', '.join(close)}? " if close else "")
                + "use a code or name of the catalogue",
            )
        codes.append(code)
    counts = (
        pd.to_numeric(source["count"], errors="coerce")
        if "count" in source.columns
        else pd.Series(1.0, index=source.index)
    )
    for i, (raw, value) in enumerate(zip(source.get("count", counts), counts, strict=True), 1):
        if not (np.isfinite(value) and value >= 0 and float(value).is_integer()):
            problems.add(
                f"count {raw!r} is not a whole number ≥ 0", row=i, field="count", fix="write e.g. 3"
            )
    problems.raise_if_any("needs")
    frame = pd.DataFrame(
        {
            "circle_id": source["circle_id"].astype(str).to_numpy(),
            "category": codes,
            "needs_count": counts.astype(int).to_numpy(),
        }
    )
    out = frame.groupby(["circle_id", "category"], sort=True)["needs_count"].sum()
    return out.reset_index()


def split_unobservable(
    gaps: pd.DataFrame, assessment: Assessment, catalogue: Catalogue
) -> tuple[pd.DataFrame, list[str]]:
    """Gaps without the 业态 that POI data cannot show (``observable = false``) unless the city
    supplied outlets of them; and the codes left unchecked."""
    outlets = assessment.outlets
    supplied = set(outlets["category"].astype(str)) if "category" in outlets.columns else set[str]()
    hidden = [c.code for c in catalogue.categories if not c.observable and c.code not in supplied]
    return gaps.loc[~gaps["category"].isin(hidden)], hidden


def _label(group: Iterable[str], catalogue: Catalogue, rulebook: Rulebook) -> str:
    from lifecircle.assess.grading import _names

    return _names(tuple(group), catalogue, "或", "zh", rulebook.attributes)


def prioritise(
    projects: pd.DataFrame,
    assessment: Assessment,
    rulebook: Rulebook,
    catalogue: Catalogue,
    *,
    needs: pd.DataFrame | str | os.PathLike[str] | None = None,
    needs_weight: float = NEEDS_WEIGHT,
) -> pd.DataFrame:
    """Projects with ``priority_tier, needs_count, rank, reason, reason_en``, in policy order.

    Parameters
    ----------
    projects
        Rows of :func:`~lifecircle.plan.projects.project_list` (``circle_id, category,
        class, households_gained``).
    assessment, rulebook, catalogue
        Those of the plan: the grades' ``next_grade`` and ``missing_for_next_grade`` say which
        must-have groups are unmet.
    needs
        :func:`read_needs` output (or a table it reads).
    needs_weight
        Share of households gained added per need (default :data:`NEEDS_WEIGHT`, P).

    Returns
    -------
    pandas.DataFrame
        ``projects`` sorted by circle, tier, weighted households gained, 业态; ``rank`` 1 first.
    """
    if not (isinstance(needs_weight, int | float) and needs_weight >= 0):
        raise InputError(
            Problem(
                f"needs_weight must be a number ≥ 0, got {needs_weight!r}",
                field="needs_weight",
                fix="write e.g. 0.1 (each need adds 10 % of the households gained)",
            ),
            "projects",
        )
    out = projects.copy()
    if needs is not None and not (
        isinstance(needs, pd.DataFrame)
        and {"circle_id", "category", "needs_count"} <= set(needs.columns)
    ):
        needs = read_needs(needs, catalogue)
    count: dict[tuple[str, str], int] = {}
    if isinstance(needs, pd.DataFrame):
        for cid, code, n in needs[["circle_id", "category", "needs_count"]].values:
            count[(str(cid), str(code))] = count.get((str(cid), str(code)), 0) + int(n)
    grades = assessment.grades.set_index(assessment.grades["circle_id"].astype(str))
    by_name = {g.grade: g for g in rulebook.grades}
    tiers, zh, en, n_needs = [], [], [], []
    for cid, code, klass in out[["circle_id", "category", "class"]].astype(str).values:
        nxt = str(grades["next_grade"].get(cid, "")) if "next_grade" in grades else ""
        missing = str(grades["missing_for_next_grade"].get(cid, "") or "")
        tier = 2 if klass == "basic" else 3
        reason_zh, reason_en = _TIER_ZH[tier], _TIER_EN[tier]
        grade = by_name.get(nxt)
        if grade is not None:
            for group in grade.must_have:
                bases = {c.split("+", 1)[0] for c in group}
                label = _label(group, catalogue, rulebook)
                if code in bases and f"{label}(" in missing:
                    tier = 1
                    reason_zh = f"{grade.label}必备业态缺失：{label}"
                    reason_en = f"must-have of {grade.label_en} missing: " + " or ".join(
                        sorted(bases)
                    )
                    break
        n = count.get((cid, code), 0)
        if n:
            reason_zh += f"；居民需求 {n} 条"
            reason_en += f"; {n} resident need(s)"
        tiers.append(tier)
        zh.append(reason_zh)
        en.append(reason_en)
        n_needs.append(n)
    out["priority_tier"] = np.asarray(tiers, dtype=np.int64)
    out["needs_count"] = np.asarray(n_needs, dtype=np.int64)
    out["reason"] = zh
    out["reason_en"] = en
    gained = pd.to_numeric(out["households_gained"], errors="coerce").fillna(0.0)
    out["_score"] = gained * (1.0 + float(needs_weight) * out["needs_count"])
    out = out.sort_values(
        ["circle_id", "priority_tier", "_score", "needs_count", "category"],
        ascending=[True, True, False, False, True],
        kind="stable",
    )
    out["rank"] = out.groupby("circle_id").cumcount() + 1
    return out.drop(columns="_score").reset_index(drop=True)
