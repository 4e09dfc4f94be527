"""服务"好不好" indicators measured from the assessment itself, merged with evaluators' scores.

An indicator of the sheet with ``auto = "<measure>"`` is filled from the data (source ``auto``);
evaluators' scores fill the other indicators (source ``score``); an indicator neither gives is
``missing``.  The circle's score is computed from what is there — ``100 × points / weight answered``
— with ``coverage`` (the share of the 100 points answered) and the missing indicators listed, so a
circle without evaluator scores still gets a number (from the auto indicators alone), never a
silent NaN.

Measures (:data:`AUTO_MEASURES`; all P — the official 评价表 is not available, standards.md §3):

``core_basic_doorstep``
    share of the circle's households (residences where household counts are missing) for which
    every core must-have group of the lowest grade (一店一早、一菜一修、药店、快递 in the default
    rulebook, attribute alternatives included) has an outlet within its band;
``basic_types``
    基本保障类 业态 present (the grades' ``n_basic``) / the catalogue's basic 业态;
``quality_surround``
    mean over the 品质提升类 业态 of the share of households that have it within its band;
``chain_share``
    the city's 连锁化率 (``kpis.csv``), the same for every circle: outlets are not assigned to
    circles;
``elderly_services`` / ``child_services``
    1 when 社区养老服务机构 or 社区食堂（助餐点） / 幼儿托管点 is present (coverage_share reached).

Examples
--------
>>> import pandas as pd
>>> from lifecircle.assess.evaluation import load_indicator_sheet
>>> sheet = load_indicator_sheet()
>>> auto = pd.DataFrame({"circle_id": ["C1"], "measure": ["basic_types"], "value": [0.5],
...                      "note": [""]})
>>> long, wide = evaluation_table(sheet, auto=auto, circles=["C1"])
>>> long.loc[long["indicator"] == "basic_types", ["value", "points", "max_points", "source"]
...          ].values.tolist()
[[0.5, 4.0, 8.0, 'auto']]
>>> wide[["score", "coverage"]].round(2).values.tolist()
[[50.0, 0.08]]
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from lifecircle.assess.evaluation import IndicatorSheet
    from lifecircle.assess.rulebook import Rulebook
    from lifecircle.taxonomy import Catalogue

__all__ = [
    "AUTO_MEASURES",
    "EVALUATION_COLUMNS",
    "auto_values",
    "evaluation_table",
]

#: Measures an indicator's ``auto`` may name.
AUTO_MEASURES = (
    "core_basic_doorstep",
    "basic_types",
    "quality_surround",
    "chain_share",
    "elderly_services",
    "child_services",
)
#: Columns of the long evaluation table (``evaluation.csv``).
EVALUATION_COLUMNS = (
    "circle_id",
    "indicator",
    "name_zh",
    "name_en",
    "value",
    "points",
    "max_points",
    "source",
    "note",
)


def _band_column(minutes: float) -> str:
    return f"n_{int(minutes)}min" if float(minutes).is_integer() else f"n_{minutes:g}min"


def _core_coverage(
    access: pd.DataFrame,
    residences: pd.DataFrame,
    groups: Sequence[tuple[str, ...]],
    catalogue: Catalogue,
) -> pd.Series:
    """Per circle: household share with every group met at its own band."""
    from lifecircle.assess.attributes import split_code

    res = residences.loc[residences["circle_id"].notna(), ["residence_id", "circle_id"]].copy()
    res["residence_id"] = res["residence_id"].astype(str)
    res["circle_id"] = res["circle_id"].astype(str)
    hh = (
        pd.to_numeric(residences.loc[res.index, "households"], errors="coerce")
        if "households" in residences.columns
        else pd.Series(np.nan, index=res.index)
    )
    acc = access.copy()
    acc["residence_id"] = acc["residence_id"].astype(str)
    acc = acc[acc["residence_id"].isin(set(res["residence_id"]))]
    wanted = {c for g in groups for c in g}
    acc = acc[acc["category"].isin(wanted)]
    covered = np.zeros(len(acc), dtype=bool)
    for code in wanted:
        sel = (acc["category"] == code).to_numpy()
        col = _band_column(catalogue.band_minutes(split_code(code)[0]))
        if col in acc.columns and sel.any():
            covered[sel] = np.nan_to_num(acc.loc[sel, col].to_numpy(dtype=np.float64)) > 0
    hit = set(zip(acc["residence_id"][covered], acc["category"][covered], strict=True))
    on_network = set(acc["residence_id"])
    ok = np.array(
        [
            rid in on_network and all(any((rid, c) in hit for c in g) for g in groups)
            for rid in res["residence_id"]
        ],
        dtype=float,
    )
    res["ok"] = ok
    res["assessed"] = res["residence_id"].isin(on_network)
    res["hh"] = hh.to_numpy()
    out = {}
    for cid, grp in res[res["assessed"]].groupby("circle_id", sort=False):
        w = grp["hh"].to_numpy(dtype=np.float64)
        if not np.isfinite(w).any() or np.nansum(w) <= 0:
            w = np.ones(len(grp))
        w = np.nan_to_num(w, nan=0.0)
        out[str(cid)] = float((w * grp["ok"].to_numpy()).sum() / w.sum()) if w.sum() else np.nan
    return pd.Series(out, dtype=np.float64)


def auto_values(
    *,
    grades: pd.DataFrame,
    evidence: pd.DataFrame,
    catalogue: Catalogue,
    rulebook: Rulebook,
    access: pd.DataFrame | None = None,
    residences: pd.DataFrame | None = None,
    chain_share: float | None = None,
) -> pd.DataFrame:
    """The :data:`AUTO_MEASURES` of every circle, from the assessment.

    Parameters
    ----------
    grades, evidence
        :func:`~lifecircle.assess.grade_circles` output.
    catalogue, rulebook
        Those of the assessment.
    access, residences
        The long access table graded (attribute rows included) and the residences with
        ``circle_id`` and ``households``; without them ``core_basic_doorstep`` is left out.
    chain_share
        The city's 连锁化率 (0–1); ``None`` leaves ``chain_share`` out.

    Returns
    -------
    pandas.DataFrame
        ``circle_id, measure, value, note`` (one row per circle × measure that could be measured).
    """
    rows: list[dict[str, Any]] = []
    circles = grades["circle_id"].astype(str).tolist()
    n_basic_all = len(catalogue.codes("basic"))
    ev = evidence.copy()
    ev["circle_id"] = ev["circle_id"].astype(str)
    share = ev.pivot(index="circle_id", columns="category", values="households_covered_share")
    present = ev.pivot(index="circle_id", columns="category", values="present")
    quality = [c for c in catalogue.codes("quality") if c in share.columns]
    core = None
    if access is not None and residences is not None and rulebook.grades:
        core = _core_coverage(access, residences, rulebook.grades[0].must_have, catalogue)

    def has(cid: str, codes: Iterable[str]) -> float:
        row = present.loc[cid] if cid in present.index else None
        return float(any(bool(row.get(c, False)) for c in codes)) if row is not None else np.nan

    for cid, n_basic in zip(circles, grades["n_basic"], strict=True):
        vals: dict[str, tuple[float, str]] = {
            "basic_types": (float(n_basic) / n_basic_all, f"{int(n_basic)}/{n_basic_all} 类"),
            "elderly_services": (has(cid, ("elderly_care", "community_canteen")), "有/无"),
            "child_services": (has(cid, ("childcare",)), "有/无"),
        }
        if cid in share.index and quality:
            q = np.nan_to_num(share.loc[cid, quality].to_numpy(dtype=np.float64), nan=0.0)
            vals["quality_surround"] = (float(q.mean()), f"{len(quality)} 类品质业态覆盖率均值")
        if core is not None and cid in core.index and np.isfinite(core[cid]):
            vals["core_basic_doorstep"] = (float(core[cid]), "核心业态全部可达的户数占比")
        if chain_share is not None and np.isfinite(chain_share):
            vals["chain_share"] = (float(chain_share), "全市连锁化率 / city-wide")
        for measure, (value, note) in vals.items():
            if np.isfinite(value):
                rows.append({"circle_id": cid, "measure": measure, "value": value, "note": note})
    return pd.DataFrame(rows, columns=["circle_id", "measure", "value", "note"])


def evaluation_table(
    sheet: IndicatorSheet,
    *,
    auto: pd.DataFrame | None = None,
    scores: pd.DataFrame | None = None,
    circles: Iterable[object] = (),
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Indicators per circle from the data (``auto``) and evaluators (``score``), and the scores.

    Parameters
    ----------
    sheet
        The indicator sheet (its indicators' ``auto`` name the measures).
    auto
        :func:`auto_values` output.
    scores
        Evaluator scores (:func:`~lifecircle.assess.read_evaluator_scores`); an indicator
        that the data measure keeps its ``auto`` value.
    circles
        Circle ids to list.

    Returns
    -------
    long
        :data:`EVALUATION_COLUMNS`, one row per circle × indicator: ``value`` (the auto value,
        or the evaluators' mean), ``points`` (0 … ``max_points``; NaN when missing),
        ``source`` (``auto``, ``score`` or ``missing``).
    wide
        One row per circle: ``circle_id, score, coverage``, the points of every indicator,
        ``n_auto``, ``n_scored``, ``missing`` (``;``-joined ids).  ``score`` = 100 × points /
        weight answered; NaN only for a circle with no indicator at all (then every id is listed
        as missing).
    """
    ids = [str(c) for c in circles]
    auto_by: dict[tuple[str, str], tuple[float, str]] = {}
    if auto is not None and len(auto):
        for cid, measure, value, note in auto[["circle_id", "measure", "value", "note"]].values:
            auto_by[(str(cid), str(measure))] = (float(value), str(note))
            if str(cid) not in ids:
                ids.append(str(cid))
    means: dict[tuple[str, str], float] = {}
    if scores is not None and len(scores):
        grouped = scores.groupby(["circle_id", "indicator"], sort=False)["score"].mean()
        for key, value in grouped.items():
            cid, code = str(key[0]), str(key[1])  # type: ignore[index]
            means[(cid, code)] = float(value)
            if cid not in ids:
                ids.append(cid)
    rows = []
    for cid in sorted(ids):
        for ind in sheet.indicators:
            got = auto_by.get((cid, ind.auto)) if ind.auto else None
            if got is not None:
                value, note, source = got[0], got[1], "auto"
            elif (cid, ind.id) in means:
                value, note, source = means[(cid, ind.id)], "", "score"
            else:
                value, note, source = np.nan, "", "missing"
            points = float(ind.points(np.array([value]))[0]) if source != "missing" else np.nan
            rows.append(
                {
                    "circle_id": cid,
                    "indicator": ind.id,
                    "name_zh": ind.name_zh,
                    "name_en": ind.name_en,
                    "value": value,
                    "points": points,
                    "max_points": float(ind.weight),
                    "source": source,
                    "note": note,
                }
            )
    long = pd.DataFrame(rows, columns=list(EVALUATION_COLUMNS))
    total = float(sum(i.weight for i in sheet.indicators))
    wide_rows = []
    for cid, grp in long.groupby("circle_id", sort=True):
        there = grp["source"] != "missing"
        answered = float(grp.loc[there, "max_points"].sum())
        earned = float(grp.loc[there, "points"].sum())
        row: dict[str, Any] = {
            "circle_id": cid,
            "score": 100.0 * earned / answered if answered > 0 else np.nan,
            "coverage": answered / total if total else np.nan,
        }
        row.update(dict(zip(grp["indicator"], grp["points"], strict=True)))
        row["n_auto"] = int((grp["source"] == "auto").sum())
        row["n_scored"] = int((grp["source"] == "score").sum())
        row["missing"] = ";".join(grp.loc[~there, "indicator"])
        wide_rows.append(row)
    cols = ["circle_id", "score", "coverage", *(i.id for i in sheet.indicators)]
    wide = pd.DataFrame(wide_rows, columns=[*cols, "n_auto", "n_scored", "missing"])
    wide.attrs.update({"sheet_version": sheet.version, "status": sheet.status, "missing": "listed"})
    return long, wide
