"""Grading with evidence: the 有没有 table per circle × 业态, the grade, and what is missing.

Definitions
-----------
covered
    A residence is *covered* for a 业态 when at least one outlet of it lies within the 业态's band
    (家门口 10 min / 家周边 15 min, from the catalogue) along the network: the access table's
    ``n_<band>min`` column is ≥ 1.  A 业态 with no outlet in the city (missing counts) covers
    nobody.
households_covered_share
    Covered households / households of the circle's residences that reached the network.  A
    circle weighs by households only when every such residence has a known, positive household
    count; otherwise it counts residences (``weighting`` says which, and a log line says why).
present
    ``households_covered_share ≥ coverage_share`` (rulebook; 0.8 by default).
grade
    The highest grade whose rules all hold, grades being cumulative (a 提升型 circle satisfies
    基础型 too): must-haves (one 业态 of each group covering ``coverage_share`` of the households
    within its band, or within ``must_have_within_min``), at least ``min_basic`` / ``min_quality``
    distinct present 业态 of each class, and, where set, the evaluation score and satisfaction
    rate (skipped when not given unless the grade requires them).

Examples
--------
>>> from lifecircle.assess.grading import _pct
>>> _pct(0.45, 0.8), _pct(0.797, 0.8)
('45%', '79.7%')
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from lifecircle.assess.attributes import OutletAttribute, split_code
from lifecircle.assess.model import GRADE_EN, GRADES, NOT_GRADED, UNVERIFIED
from lifecircle.errors import InputError, Problem

if TYPE_CHECKING:
    from lifecircle.access import AccessResult
    from lifecircle.assess.rulebook import GradeRules, Rulebook
    from lifecircle.taxonomy import Catalogue

__all__ = [
    "BLIND_SPOT_COLUMNS",
    "EVIDENCE_COLUMNS",
    "GRADE_COLUMNS",
    "blind_spots",
    "grade_circles",
]

log = logging.getLogger(__name__)

#: Columns of the grades table.
GRADE_COLUMNS = (
    "circle_id",
    "name",
    "grade",
    "grade_en",
    "grade_label",
    "households",
    "n_residences",
    "n_assessed",
    "weighting",
    "n_basic",
    "n_quality",
    "core_missing",
    "next_grade",
    "missing_for_next_grade",
    "missing_for_next_grade_en",
    "evaluation_score",
    "satisfaction_rate",
    "unverified_reason",
    "unverified_reason_en",
)
#: Columns of the evidence (有没有) table.
EVIDENCE_COLUMNS = (
    "circle_id",
    "category",
    "category_zh",
    "class",
    "band_min",
    "present",
    "households_covered_share",
    "residences_covered_share",
    "nearest_min_median",
    "count_within_band_median",
)
#: Columns of the blind-spot table.
BLIND_SPOT_COLUMNS = (
    "residence_id",
    "circle_id",
    "category",
    "category_zh",
    "class",
    "band_min",
    "households",
    "nearest_min",
)
_EPS = 1e-12


def _band_column(minutes: float) -> str:
    return f"n_{int(minutes)}min" if float(minutes).is_integer() else f"n_{minutes:g}min"


def _access_frame(
    access_table: pd.DataFrame | pa.Table | AccessResult, bands: Sequence[float]
) -> pd.DataFrame:
    """The columns grading needs, checking that every band was computed."""
    wanted = ["residence_id", "category", "nearest_min"]
    table: Any = getattr(access_table, "table", access_table)
    names = list(table.column_names) if isinstance(table, pa.Table) else list(table.columns)
    need = [_band_column(b) for b in sorted(set(bands))]
    missing = [c for c in wanted + need if c not in names]
    if missing:
        have = sorted(c for c in names if c.startswith("n_") and c.endswith("min"))
        raise InputError(
            Problem(
                f"the access table has no column(s) {', '.join(missing)} "
                f"(band columns present: {', '.join(have) or 'none'})",
                field=missing[0],
                fix="compute access with bands_min including "
                + ", ".join(f"{b:g}" for b in sorted(set(bands)))
                + " (the catalogue's bands and the rulebook's must_have_within_min)",
            ),
            "access table",
        )
    cols = wanted + need
    frame = table.select(cols).to_pandas() if isinstance(table, pa.Table) else table[cols].copy()
    frame["residence_id"] = frame["residence_id"].astype(str)
    return frame


def _catalogue_bands(catalogue: Catalogue) -> pd.DataFrame:
    frame = catalogue.to_frame()
    return frame[["code", "name_zh", "name_en", "class", "band_minutes"]].reset_index(drop=True)


def _check_categories(acc: pd.DataFrame, catalogue: Catalogue) -> None:
    present = set(acc["category"].unique())
    absent = [c for c in catalogue.codes() if c not in present]
    if absent and len(acc):
        raise InputError(
            Problem(
                f"the access table lacks {len(absent)} 业态 of catalogue {catalogue.version}: "
                + ", ".join(absent[:10])
                + (" …" if len(absent) > 10 else ""),
                field="category",
                fix="compute access for every catalogue 业态 (categories=None)",
            ),
            "access table",
        )


def _weights(res: pd.DataFrame, assessed: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Per-residence weight and per-circle weighting label (households or residences)."""
    hh = (
        pd.to_numeric(res["households"], errors="coerce")
        if "households" in res.columns
        else pd.Series(np.nan, index=res.index)
    )
    ok = np.isfinite(hh.to_numpy(dtype=np.float64)) & (hh.to_numpy(dtype=np.float64) >= 0)
    frame = pd.DataFrame({"circle_id": res["circle_id"], "ok": ok, "hh": hh, "assessed": assessed})
    sub = frame.loc[frame["assessed"]]
    by = sub.groupby("circle_id", sort=False)
    all_known = by["ok"].all() & (by["hh"].sum(min_count=1) > 0)
    unknown = (~sub["ok"]).groupby(sub["circle_id"], sort=False).sum()
    total = by.size()
    use_hh = frame["circle_id"].map(all_known).fillna(False).astype(bool)
    weight = pd.Series(np.where(use_hh, hh.fillna(0.0), 1.0), index=res.index, dtype=np.float64)
    known_of = all_known.to_dict()
    unknown_of = unknown.to_dict()
    total_of = total.to_dict()
    label = pd.Series(
        [
            "households"
            if known_of.get(c, False)
            else f"residences (households unknown for {int(unknown_of.get(c, 0))} of "
            f"{total_of.get(c, 0)})"
            for c in total.index
        ],
        index=total.index,
        dtype=object,
    )
    fallback = [c for c in total.index if not known_of.get(c, False)]
    if fallback:
        log.info(
            "%d circles weigh coverage by residences, not households (household counts "
            "missing): %s%s",
            len(fallback),
            ", ".join(map(str, fallback[:10])),
            " …" if len(fallback) > 10 else "",
        )
    return weight, label


def _median_inf(values: pd.Series, keys: list[pd.Series]) -> pd.Series:
    """Group median treating NaN (not reached) as +inf; an infinite median becomes NaN."""
    filled = values.astype(np.float64).fillna(np.inf)
    med = filled.groupby(keys, sort=False).median()
    return med.replace([np.inf, -np.inf], np.nan)


def grade_circles(
    access_table: pd.DataFrame | pa.Table | AccessResult,
    residences_with_circle: pd.DataFrame,
    rulebook: Rulebook | None = None,
    catalogue: Catalogue | None = None,
    *,
    evaluation: pd.DataFrame | None = None,
    satisfaction: pd.DataFrame | None = None,
    circles: pd.DataFrame | None = None,
    data_flags: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Grade every circle and gather the evidence (see the module docstring for definitions).

    Parameters
    ----------
    access_table
        The long access table (DataFrame, Arrow table or :class:`~lifecircle.access.AccessResult`)
        with a ``n_<m>min`` column for every catalogue band and ``must_have_within_min``.
    residences_with_circle
        ``residence_id, circle_id`` and ``households`` (from
        :func:`~lifecircle.assess.assign_circles`); residences without a circle are left out.
    rulebook
        Default: :func:`~lifecircle.assess.load_rulebook`.
    catalogue
        Default: the bundled catalogue (must be the one the rulebook was loaded with).
    evaluation
        ``circle_id, score`` (0–100), e.g. from ``evaluation_scores``.
    satisfaction
        ``circle_id, rate`` (0–1), e.g. from ``satisfaction_by_circle`` (the ``city`` row is
        ignored).
    circles
        ``circle_id, name`` for names and order (default: ids in order of appearance).
    data_flags
        Where the data failed the audit (:func:`lifecircle.project.audit.data_flags`):
        ``residence_id, category`` (``"*"`` = every 业态), ``reason, reason_en``.  A circle
        that reaches no grade while a must-have it lacks is flagged for at least half of its
        residences (or the whole outlet layer is) is graded :data:`UNVERIFIED` (待核实) with
        the reason in ``unverified_reason``/``unverified_reason_en``, instead of 未达标.

    Returns
    -------
    grades
        One row per circle: ``circle_id, name, grade, grade_en, grade_label, households,
        n_residences, n_assessed, weighting, n_basic, n_quality, core_missing, next_grade,
        missing_for_next_grade, missing_for_next_grade_en, evaluation_score,
        satisfaction_rate``.
    evidence
        One row per circle × 业态: ``circle_id, category, category_zh, class, band_min, present,
        households_covered_share, residences_covered_share, nearest_min_median,
        count_within_band_median``.

    Raises
    ------
    InputError
        Band columns or 业态 missing from the access table; residences without ``circle_id``.
    """
    from lifecircle.taxonomy import load_catalogue

    if catalogue is None:
        catalogue = load_catalogue()
    if rulebook is None:
        from lifecircle.assess.rulebook import load_rulebook

        rulebook = load_rulebook(catalogue=catalogue)
    if rulebook.catalogue_version != catalogue.version:
        log.warning(
            "rulebook was validated against catalogue %s, grading uses %s",
            rulebook.catalogue_version,
            catalogue.version,
        )
    cats = _catalogue_bands(catalogue)
    own_band = dict(zip(cats["code"], cats["band_minutes"], strict=True))
    derived = _derived_codes(rulebook, own_band)
    own_band.update({code: own_band[split_code(code)[0]] for code in derived})
    bands = sorted(set(own_band.values()) | rulebook.bands_min())
    acc = _access_frame(access_table, bands)
    acc = acc.loc[acc["category"].isin(own_band)]
    _check_categories(acc, catalogue)

    for col in ("residence_id", "circle_id"):
        if col not in residences_with_circle.columns:
            raise InputError(
                Problem(
                    f"column '{col}' is missing",
                    field=col,
                    fix="assign circles first with lifecircle.assess.assign_circles",
                ),
                "residences",
            )
    res = pd.DataFrame(residences_with_circle.drop(columns="geometry", errors="ignore"))
    res = res.loc[res["circle_id"].notna()].copy()
    res["residence_id"] = res["residence_id"].astype(str)
    res["circle_id"] = res["circle_id"].astype(str)
    res = res.drop_duplicates("residence_id").reset_index(drop=True)
    in_access = set(acc["residence_id"].unique())
    assessed = res["residence_id"].isin(in_access)
    n_off = int((~assessed).sum())
    if n_off:
        log.warning(
            "%d residences with a circle are not in the access table (not on the walking "
            "network) and do not count in coverage",
            n_off,
        )
    weight, weighting = _weights(res, assessed)
    res["_w"] = weight

    order = _circle_order(res, circles)
    names = _circle_names(order, circles)

    merged = acc.merge(res[["residence_id", "circle_id", "_w"]], on="residence_id", how="inner")
    band_of_row = merged["category"].map(own_band).to_numpy(dtype=np.float64)
    own_count = np.full(len(merged), np.nan)
    for b in set(own_band.values()):
        sel = band_of_row == b
        own_count[sel] = merged.loc[sel, _band_column(b)].to_numpy(
            dtype=np.float64, na_value=np.nan
        )
    merged["_own"] = own_count
    merged["_cov"] = np.nan_to_num(own_count, nan=0.0) > 0
    merged["_wcov"] = merged["_w"] * merged["_cov"]
    keys = [merged["circle_id"], merged["category"]]
    agg = merged.groupby(keys, sort=False).agg(
        w_total=("_w", "sum"), w_cov=("_wcov", "sum"), n_total=("_w", "size"), n_cov=("_cov", "sum")
    )
    agg["nearest_min_median"] = _median_inf(merged["nearest_min"], keys)
    agg["count_within_band_median"] = merged["_own"].groupby(keys, sort=False).median()
    with np.errstate(invalid="ignore", divide="ignore"):
        agg["hh_share"] = np.where(agg["w_total"] > 0, agg["w_cov"] / agg["w_total"], np.nan)
        agg["res_share"] = agg["n_cov"] / agg["n_total"]

    full = pd.MultiIndex.from_product([order, cats["code"]], names=["circle_id", "category"])
    codes = list(cats["code"]) + derived
    full_all = pd.MultiIndex.from_product([order, codes], names=["circle_id", "category"])
    hh_share_all = agg["hh_share"].reindex(full_all)
    agg = agg.reindex(full)
    evidence = pd.DataFrame(
        {
            "circle_id": full.get_level_values(0),
            "category": full.get_level_values(1),
        }
    )
    meta = cats.set_index("code")
    evidence["category_zh"] = evidence["category"].map(meta["name_zh"])
    evidence["class"] = evidence["category"].map(meta["class"])
    evidence["band_min"] = evidence["category"].map(meta["band_minutes"]).astype(np.float64)
    share = agg["hh_share"].to_numpy(dtype=np.float64)
    evidence["households_covered_share"] = share
    evidence["present"] = np.nan_to_num(share, nan=-1.0) >= rulebook.coverage_share - _EPS
    evidence["residences_covered_share"] = agg["res_share"].to_numpy(dtype=np.float64)
    evidence["nearest_min_median"] = agg["nearest_min_median"].to_numpy(dtype=np.float64)
    evidence["count_within_band_median"] = agg["count_within_band_median"].to_numpy(
        dtype=np.float64
    )
    evidence = evidence[list(EVIDENCE_COLUMNS)]

    # shares circle × category at the own band, and at every must_have_within_min band
    own_shares = hh_share_all.unstack("category").reindex(index=order, columns=codes)
    shares: dict[float | None, pd.DataFrame] = {None: own_shares}
    for minutes in rulebook.bands_min():
        col = _band_column(minutes)
        covered = merged[col].to_numpy(dtype=np.float64, na_value=np.nan)
        merged["_wx"] = merged["_w"] * (np.nan_to_num(covered, nan=0.0) > 0)
        sums = merged.groupby(keys, sort=False)[["_wx", "_w"]].sum()
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = (sums["_wx"] / sums["_w"].where(sums["_w"] > 0)).reindex(full_all)
        shares[minutes] = ratio.unstack("category").reindex(index=order, columns=codes)

    scores = _by_circle(evaluation, "score", "evaluation")
    rates = _by_circle(satisfaction, "rate", "satisfaction")
    n_assessed = res.loc[assessed].groupby("circle_id").size()
    grades = _grade_table(
        order,
        names,
        res,
        n_assessed,
        weighting,
        shares,
        rulebook,
        catalogue,
        scores,
        rates,
    )
    unmet = grades.pop("_core_unmet")
    grades["unverified_reason"] = ""
    grades["unverified_reason_en"] = ""
    if data_flags is not None and len(data_flags):
        _mark_unverified(grades, unmet, res, data_flags, catalogue)
    return grades, evidence.reset_index(drop=True)


def _mark_unverified(
    grades: pd.DataFrame,
    unmet: pd.Series,
    res: pd.DataFrame,
    flags: pd.DataFrame,
    catalogue: Catalogue,
) -> None:
    """Grade :data:`UNVERIFIED` the ungraded circles whose missing must-haves lack data."""
    flags = flags.assign(residence_id=flags["residence_id"].astype(str))
    flags = flags.merge(res[["residence_id", "circle_id"]], on="residence_id", how="inner")
    if not len(flags):
        return
    size = res.groupby("circle_id").size()
    n_flagged = (
        flags.drop_duplicates(["residence_id", "category"])
        .groupby(["circle_id", "category"])
        .size()
    )
    share = n_flagged / size.reindex(n_flagged.index.get_level_values(0)).to_numpy()
    majority = share[share >= 0.5 - _EPS]
    reasons = flags.drop_duplicates(["circle_id", "category"]).set_index(["circle_id", "category"])[
        ["reason", "reason_en"]
    ]
    flagged_by_circle: dict[str, set[str]] = {}
    for cid_, cat_ in majority.index:
        flagged_by_circle.setdefault(str(cid_), set()).add(str(cat_))
    groups: list[list[tuple[str, ...]]] = list(unmet)
    for pos, (label, grade, cid) in enumerate(
        zip(grades.index, grades["grade"], grades["circle_id"].astype(str), strict=True)
    ):
        if grade != NOT_GRADED or cid not in flagged_by_circle:
            continue
        flagged = flagged_by_circle[cid]
        lacking = [c for group in groups[pos] for c in group]
        hit = ["*"] if "*" in flagged else [c for c in dict.fromkeys(lacking) if c in flagged]
        if not hit:
            continue
        grades.loc[label, ["grade", "grade_en", "grade_label"]] = [
            UNVERIFIED,
            GRADE_EN[UNVERIFIED],
            UNVERIFIED,
        ]
        grades.loc[label, "unverified_reason"] = "; ".join(
            str(reasons.loc[(cid, c), "reason"]) for c in hit
        )
        grades.loc[label, "unverified_reason_en"] = "; ".join(
            str(reasons.loc[(cid, c), "reason_en"]) for c in hit
        )
    n = int((grades["grade"] == UNVERIFIED).sum())
    if n:
        log.info("%d circles graded %s: a 业态 they lack failed the data audit", n, UNVERIFIED)


def _circle_order(res: pd.DataFrame, circles: pd.DataFrame | None) -> list[str]:
    seen = list(dict.fromkeys(res["circle_id"]))
    if circles is None or "circle_id" not in circles.columns:
        return seen
    listed = [str(c) for c in circles["circle_id"]]
    known = set(listed)
    return listed + [c for c in seen if c not in known]


def _circle_names(order: list[str], circles: pd.DataFrame | None) -> dict[str, str]:
    names = {c: c for c in order}
    if circles is not None and {"circle_id", "name"} <= set(circles.columns):
        for cid, name in zip(circles["circle_id"].astype(str), circles["name"], strict=True):
            if isinstance(name, str) and name:
                names[cid] = name
    return names


def _by_circle(frame: pd.DataFrame | None, column: str, what: str) -> dict[str, float]:
    if frame is None:
        return {}
    for col in ("circle_id", column):
        if col not in frame.columns:
            raise InputError(
                Problem(
                    f"column '{col}' is missing (columns: {', '.join(map(str, frame.columns))})",
                    field=col,
                    fix=f"pass the {what} table with circle_id and {column}",
                ),
                what,
            )
    sub = frame.loc[frame["circle_id"].astype(str) != "city"]
    values = pd.to_numeric(sub[column], errors="coerce")
    return {
        str(c): float(v)
        for c, v in zip(sub["circle_id"], values, strict=True)
        if v is not None and math.isfinite(v)
    }


def _pct(value: float, limit: float | None = None) -> str:
    """A share as a percentage; one decimal where rounding would hide a shortfall."""
    if not math.isfinite(value):
        return "—"
    p = value * 100.0
    if limit is not None and value < limit - _EPS and round(p) >= round(limit * 100.0):
        return f"{math.floor(p * 10.0) / 10.0:.1f}%"
    return f"{p:.0f}%"


def _names(
    codes: Sequence[str],
    catalogue: Catalogue,
    sep: str,
    lang: str,
    attributes: Mapping[str, OutletAttribute] | None = None,
) -> str:
    out = []
    for code in codes:
        base, attr = split_code(code)
        cat = catalogue.get(base)
        name = base if cat is None else (cat.name_zh if lang == "zh" else cat.name_en)
        if attr is not None:
            a = (attributes or {}).get(attr)
            label = attr if a is None else (a.label if lang == "zh" else a.label_en)
            name = f"{name}（{label}）" if lang == "zh" else f"{name} ({label})"
        out.append(name)
    return sep.join(out)


def _derived_codes(rulebook: Rulebook, own_band: Mapping[str, float]) -> list[str]:
    """The rulebook's must-have alternatives that name an outlet attribute (``fast_food+breakfast``);
    their coverage comes from access rows of that code (see
    :func:`lifecircle.assess.attributes.attribute_access`) and counts as 0 where there are none."""
    return [c for c in rulebook.derived_codes() if split_code(c)[0] in own_band]


def _check_grade(
    g: GradeRules,
    cid: str,
    shares: dict[float | None, np.ndarray],
    catalogue: Catalogue,
    basic: list[str],
    quality: list[str],
    score: float,
    rate: float,
    column: dict[str, int],
    attributes: Mapping[str, OutletAttribute] | None = None,
) -> tuple[list[str], list[str], list[tuple[str, ...]]]:
    """The failures of one circle against one grade: (Chinese, English, unmet must-haves).

    ``shares`` holds the circle's row of shares (one value per 业态, at ``column[code]``) at its
    own band (key ``None``) and at each ``must_have_within_min``.
    """
    zh: list[str] = []
    en: list[str] = []
    unmet: list[tuple[str, ...]] = []
    own = shares[None]
    share_for = shares[g.must_have_within_min] if g.must_have_within_min is not None else None
    for group in g.must_have:
        row = share_for if share_for is not None else own
        best = max(0.0 if math.isnan(v) else float(v) for v in row[[column[c] for c in group]])
        if best >= g.coverage_share - _EPS:
            continue
        unmet.append(group)
        within_zh = f"{g.must_have_within_min:g}分钟内" if g.must_have_within_min else ""
        within_en = f" within {g.must_have_within_min:g} min" if g.must_have_within_min else ""
        limit = _pct(g.coverage_share)
        zh.append(
            f"{_names(group, catalogue, '或', 'zh', attributes)}({within_zh}覆盖 "
            f"{_pct(best, g.coverage_share)} < {limit})"
        )
        en.append(
            f"{_names(group, catalogue, ' or ', 'en', attributes)} (covered{within_en} "
            f"{_pct(best, g.coverage_share)} < {limit})"
        )
    present = own >= g.coverage_share - _EPS  # not reached (NaN) is not present
    n_basic = sum(bool(present[column[c]]) for c in basic)
    n_quality = sum(bool(present[column[c]]) for c in quality)
    if n_basic < g.min_basic:
        zh.append(f"基本保障类业态 {n_basic}/{g.min_basic}")
        en.append(f"basic types {n_basic}/{g.min_basic}")
    if n_quality < g.min_quality:
        zh.append(f"品质提升类业态 {n_quality}/{g.min_quality}")
        en.append(f"quality types {n_quality}/{g.min_quality}")
    if g.evaluation_min is not None or g.require_evaluation:
        if not math.isfinite(score):
            if g.require_evaluation:
                zh.append("服务评价 未提供")
                en.append("service evaluation not provided")
        elif g.evaluation_min is not None and score < g.evaluation_min - _EPS:
            zh.append(f"服务评价 {score:g} < {g.evaluation_min:g}")
            en.append(f"service evaluation {score:g} < {g.evaluation_min:g}")
    if g.satisfaction_min is not None or g.require_satisfaction:
        if not math.isfinite(rate):
            if g.require_satisfaction:
                zh.append("满意度 未提供")
                en.append("satisfaction survey not provided")
        elif g.satisfaction_min is not None and rate < g.satisfaction_min - _EPS:
            zh.append(f"满意度 {_pct(rate, g.satisfaction_min)} < {_pct(g.satisfaction_min)}")
            en.append(f"satisfaction {_pct(rate, g.satisfaction_min)} < {_pct(g.satisfaction_min)}")
    return zh, en, unmet


def _grade_table(
    order: list[str],
    names: dict[str, str],
    res: pd.DataFrame,
    n_assessed: pd.Series,
    weighting: pd.Series,
    shares: dict[float | None, pd.DataFrame],
    rulebook: Rulebook,
    catalogue: Catalogue,
    scores: dict[str, float],
    rates: dict[str, float],
) -> pd.DataFrame:
    basic = catalogue.codes("basic")
    quality = catalogue.codes("quality")
    hh = (
        pd.to_numeric(res["households"], errors="coerce")
        if "households" in res.columns
        else pd.Series(np.nan, index=res.index)
    )
    households = hh.groupby(res["circle_id"]).sum(min_count=1).to_dict()
    n_members = res.groupby("circle_id").size().to_dict()
    n_assessed_of = n_assessed.to_dict()
    weighting_of = weighting.to_dict()
    # the share tables as arrays: one row per circle of ``order``, one column per 业态
    codes = list(shares[None].columns)
    column = {c: i for i, c in enumerate(codes)}
    arrays = {k: v.to_numpy(dtype=np.float64, na_value=np.nan) for k, v in shares.items()}
    present_default = arrays[None] >= rulebook.coverage_share - _EPS
    n_basic_of = present_default[:, [column[c] for c in basic]].sum(axis=1)
    n_quality_of = present_default[:, [column[c] for c in quality]].sum(axis=1)
    rows = []
    for at, cid in enumerate(order):
        score = scores.get(cid, math.nan)
        rate = rates.get(cid, math.nan)
        assessed = int(n_assessed_of.get(cid, 0))
        results: list[tuple[list[str], list[str], list[tuple[str, ...]]]]
        if assessed == 0:
            empty = int(n_members.get(cid, 0)) == 0
            failure: tuple[list[str], list[str], list[tuple[str, ...]]] = (
                ["圈内无小区" if empty else "无可评估的小区（均未接入步行网络）"],
                [
                    "no residence in the circle"
                    if empty
                    else "no residence of the circle is on the walking network"
                ],
                [],
            )
            results = [failure for _ in rulebook.grades]
        else:
            mine = {k: v[at] for k, v in arrays.items()}
            results = [
                _check_grade(
                    g,
                    cid,
                    mine,
                    catalogue,
                    basic,
                    quality,
                    score,
                    rate,
                    column,
                    rulebook.attributes,
                )
                for g in rulebook.grades
            ]
        reached = -1
        for i, (zh, _, _) in enumerate(results):
            if zh:
                break
            reached = i
        grade = rulebook.grades[reached].grade if reached >= 0 else NOT_GRADED
        label = rulebook.grades[reached].label if reached >= 0 else NOT_GRADED
        nxt = reached + 1
        if nxt < len(rulebook.grades):
            next_grade = rulebook.grades[nxt].grade
            missing_zh = "缺: " + "; ".join(results[nxt][0])
            missing_en = "missing: " + "; ".join(results[nxt][1])
        else:
            next_grade, missing_zh, missing_en = "", "", ""
        core = results[0][2]
        rows.append(
            {
                "circle_id": cid,
                "name": names.get(cid, cid),
                "grade": grade,
                "grade_en": GRADE_EN[grade],
                "grade_label": label,
                "households": float(households.get(cid, math.nan)),
                "n_residences": int(n_members.get(cid, 0)),
                "n_assessed": assessed,
                "weighting": weighting_of.get(cid, "residences (none on the network)"),
                "n_basic": int(n_basic_of[at]),
                "n_quality": int(n_quality_of[at]),
                "core_missing": ";".join(
                    _names(g, catalogue, "/", "zh", rulebook.attributes) for g in core
                ),
                "next_grade": next_grade,
                "missing_for_next_grade": missing_zh,
                "missing_for_next_grade_en": missing_en,
                "evaluation_score": score,
                "satisfaction_rate": rate,
                "_core_unmet": core,
            }
        )
    frame = pd.DataFrame(rows, columns=[*GRADE_COLUMNS[:-2], "_core_unmet"])
    counts = frame["grade"].value_counts()
    log.info(
        "graded %d circles: %s",
        len(frame),
        ", ".join(f"{g} {int(counts.get(g, 0))}" for g in (*GRADES, NOT_GRADED)),
    )
    return frame


def blind_spots(
    access_table: pd.DataFrame | pa.Table | AccessResult,
    residences_with_circle: pd.DataFrame,
    catalogue: Catalogue | None = None,
) -> pd.DataFrame:
    """Residences lacking a 业态 within its band (the gaps behind the coverage shares).

    Parameters
    ----------
    access_table
        The long access table (needs ``n_<band>min`` for the catalogue's bands).
    residences_with_circle
        ``residence_id`` and optionally ``circle_id`` and ``households``.
    catalogue
        Default: the bundled catalogue.

    Returns
    -------
    DataFrame
        ``residence_id, circle_id, category, category_zh, class, band_min, households,
        nearest_min`` — one row per residence × 业态 not reached within its band;
        ``nearest_min`` is NaN when nothing is reached within the largest band (or the city
        has no such outlet at all).
    """
    from lifecircle.taxonomy import load_catalogue

    if catalogue is None:
        catalogue = load_catalogue()
    cats = _catalogue_bands(catalogue).set_index("code")
    own_band = cats["band_minutes"].to_dict()
    acc = _access_frame(access_table, sorted(set(own_band.values())))
    acc = acc.loc[acc["category"].isin(own_band)].reset_index(drop=True)
    band = acc["category"].map(own_band).to_numpy(dtype=np.float64)
    count = np.full(len(acc), np.nan)
    for b in set(own_band.values()):
        sel = band == b
        count[sel] = acc.loc[sel, _band_column(b)].to_numpy(dtype=np.float64, na_value=np.nan)
    lacking = ~(np.nan_to_num(count, nan=0.0) > 0)
    out = acc.loc[lacking, ["residence_id", "category", "nearest_min"]].copy()
    out["band_min"] = band[lacking]
    res = pd.DataFrame(residences_with_circle.drop(columns="geometry", errors="ignore"))
    res = res.assign(residence_id=res["residence_id"].astype(str)).drop_duplicates("residence_id")
    res = res.set_index("residence_id")
    out["circle_id"] = (
        out["residence_id"].map(res["circle_id"]).astype("string")
        if "circle_id" in res.columns
        else pd.array([pd.NA] * len(out), dtype="string")
    )
    out["households"] = (
        pd.to_numeric(out["residence_id"].map(res["households"]), errors="coerce")
        if "households" in res.columns
        else np.nan
    )
    out["category_zh"] = out["category"].map(cats["name_zh"])
    out["class"] = out["category"].map(cats["class"])
    out["nearest_min"] = out["nearest_min"].astype(np.float64)
    return out[list(BLIND_SPOT_COLUMNS)].reset_index(drop=True)
