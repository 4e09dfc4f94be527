"""The data audit (数据体检): where a city's inputs are thin or missing, before anything is graded.

:func:`audit_city` runs every check on the inputs of :func:`~lifecircle.project.read_inputs` and
returns an :class:`Audit`: a table with one row per check and scope (``audit.csv``) and the
*data flags* — residence × 业态 pairs whose data failed — that grading reads to report a circle
as 待核实 (unverified) instead of 未达标.

Checks (``check`` column; ``scope`` is ``city``, ``district:<level>:<name>``, a layer or a source
group; ``status`` ok / warn / fail; thresholds in the city file's ``[audit]`` table):

``outlet_extent``
    Share of residences with no classified outlet of any 业态 within ``outlet_extent_m``
    (straight line; default 1 km): the outlet layer does not reach them.  ``fail`` from
    ``outlet_extent_fail_share`` (10 %) of a scope's residences, ``warn`` above 0; each such
    residence is flagged for every 业态.
``category_density``
    Each 业态's outlets per 10 k residents (population of the residences in the study area) per
    scope, against the reference file (``data/audit_reference.toml``: sourced floors; below one
    is ``fail`` and flags the 业态 for the scope's residences) and the internal reference (a
    district below a fraction of its level's median warns).
``truncation``
    A source group (``audit.group_column``, else a ``source_file``/``query``/``keyword``/
    ``category_query`` column) whose row count sits at a provider's page cap
    (``provider_caps``, within 1 %): the export stopped there (``warn``); and tiles of
    ``tile_m`` inside the study area with residences but no outlet at all.
``unclassified_share``
    Outlets no rule gave a 业态 (``warn`` / ``fail`` from ``unclassified_warn`` / ``_fail``).
``duplicates``
    Outlets with the same normalised name within ``duplicate_m`` metres, merged into the first
    (file order); the merges are listed in ``duplicates.csv``.
``households_missing``
    Residences without a household count, estimated by the household policy (``warn``).
``households_outliers``
    Implausible counts treated as unknown unless confirmed in the city file (``warn``).
``crs_offset``
    The GCJ-02/BD-09 offset check of each point layer (a contradiction is an error when read;
    accepted with ``accept_offset`` it is ``warn``).
``vintage``
    Each layer's declared date (``date`` key) against ``max_age_years``; undeclared warns.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from lifecircle._toml import read_toml

if TYPE_CHECKING:
    import geopandas as gpd

    from lifecircle.project.inputs import CityInputs
    from lifecircle.project.spec import AuditSettings

__all__ = [
    "AUDIT_COLUMNS",
    "Audit",
    "audit_city",
    "merge_duplicate_outlets",
    "normalised_outlet_name",
]

log = logging.getLogger(__name__)

AUDIT_COLUMNS = (
    "check",
    "scope",
    "category",
    "value",
    "threshold",
    "status",
    "message",
    "message_en",
)
FLAG_COLUMNS = ("residence_id", "category", "reason", "reason_en")
_OK, _WARN, _FAIL = "ok", "warn", "fail"
GROUP_CANDIDATES = ("source_file", "query", "keyword", "category_query", "search_type")
_OUTLET_EXTENT_FAIL_SHARE = 0.1
_CAP_TOLERANCE = 0.01
_SUFFIX = re.compile(r"[(（][^()（）]*[)）]$")
_PUNCT = re.compile(r"[\s\-_·・.,，。、'\"“”‘’]+")


@dataclass
class Audit:
    """The audit of one city.

    Attributes
    ----------
    table
        One row per check and scope: :data:`AUDIT_COLUMNS`.
    flags
        Residence × 业态 whose data failed (``category = "*"``: every 业态), with the reason:
        ``residence_id, category, reason, reason_en``.
    duplicates
        The outlets merged as duplicates: ``kept_id, merged_id, name, distance_m, kept_source,
        merged_source``.
    brands
        Chain brands found in the outlets (:func:`lifecircle.assess.chains.chain_brands_found`),
        for the planner to confirm (``chains.brands``) or reject (``chains.not_chains``).
    """

    table: pd.DataFrame
    flags: pd.DataFrame
    duplicates: pd.DataFrame = field(default_factory=pd.DataFrame)
    brands: pd.DataFrame = field(default_factory=pd.DataFrame)

    def counts(self) -> dict[str, int]:
        """Rows per status."""
        c = self.table["status"].value_counts()
        return {s: int(c.get(s, 0)) for s in (_OK, _WARN, _FAIL)}


def normalised_outlet_name(names: pd.Series) -> pd.Series:
    """Names for duplicate matching: NFKC, case-folded, no spaces/punctuation, no branch suffix.

    Examples
    --------
    >>> normalised_outlet_name(pd.Series(["老孙家（钟楼店）", "老孙家 ", None])).tolist()
    ['老孙家', '老孙家', '']
    """
    out = []
    for value in names.astype("string").fillna(""):
        text = unicodedata.normalize("NFKC", str(value)).casefold().strip()
        text = _SUFFIX.sub("", text)
        out.append(_PUNCT.sub("", text))
    return pd.Series(out, index=names.index, dtype=object)


def merge_duplicate_outlets(
    outlets: gpd.GeoDataFrame, distance_m: float
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Merge outlets with the same normalised name within ``distance_m`` (into the first).

    Rule: among outlets sharing a normalised name, an outlet within ``distance_m`` of an earlier
    one (file order; with several sources, the sources in priority order, so the higher-priority
    source's fields win) is merged into it — dropped, and listed.  Unnamed outlets are never
    merged.

    Returns
    -------
    outlets
        Without the merged ones (``attrs`` kept).
    merges
        ``kept_id, merged_id, name, distance_m``.
    """
    from scipy.spatial import cKDTree

    columns = ["kept_id", "merged_id", "name", "distance_m", "kept_source", "merged_source"]
    if len(outlets) < 2 or "name" not in outlets.columns:
        return outlets, pd.DataFrame(columns=columns)
    metric = outlets.estimate_utm_crs()
    xy = np.column_stack(
        [outlets.geometry.to_crs(metric).x.to_numpy(), outlets.geometry.to_crs(metric).y.to_numpy()]
    )
    key = normalised_outlet_name(outlets["name"]).to_numpy()
    pairs = cKDTree(xy).query_pairs(distance_m, output_type="ndarray")
    if not len(pairs):
        return outlets, pd.DataFrame(columns=columns)
    pairs = pairs[(key[pairs[:, 0]] == key[pairs[:, 1]]) & (key[pairs[:, 0]] != "")]
    pairs = np.sort(pairs, axis=1)
    pairs = pairs[np.lexsort((pairs[:, 0], pairs[:, 1]))]
    parent = np.arange(len(outlets))
    for a, b in pairs:  # union into the earliest outlet of each group (few pairs)
        ra, rb = parent[a], parent[b]
        while parent[ra] != ra:
            ra = parent[ra]
        while parent[rb] != rb:
            rb = parent[rb]
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    root = parent.copy()
    for i in range(len(root)):
        r = i
        while parent[r] != r:
            r = parent[r]
        root[i] = r
    merged = np.flatnonzero(root != np.arange(len(root)))
    ids = outlets["outlet_id"].astype(str).to_numpy()
    dist = np.hypot(*(xy[merged] - xy[root[merged]]).T)
    source = (
        outlets["source_label"].astype(str).to_numpy()
        if "source_label" in outlets.columns
        else np.full(len(outlets), "", dtype=object)
    )
    merges = pd.DataFrame(
        {
            "kept_id": ids[root[merged]],
            "merged_id": ids[merged],
            "name": outlets["name"].to_numpy()[merged],
            "distance_m": np.round(dist, 1),
            "kept_source": source[root[merged]],
            "merged_source": source[merged],
        }
    )
    keep = np.ones(len(outlets), dtype=bool)
    keep[merged] = False
    attrs = dict(outlets.attrs)
    out = outlets.loc[keep].reset_index(drop=True)
    out.attrs.update(attrs)
    if len(merges):
        log.info("%d duplicate outlets merged (same name within %.0f m)", len(merges), distance_m)
    return out, merges


@dataclass(frozen=True)
class _Reference:
    fail_below: dict[str, float]
    warn_below: dict[str, float]
    sources: dict[str, str]
    internal_fraction: float
    internal_zero_median: float
    min_population: float
    version: str


def _load_reference(path: str | None) -> _Reference:
    if path is None:
        source = resources.files("lifecircle.project") / "data" / "audit_reference.toml"
        with resources.as_file(source) as p:
            doc, _ = read_toml(Path(p), "audit reference", "fix the TOML syntax")
    else:
        doc, _ = read_toml(Path(path), "audit reference", "fix the TOML syntax")
    rule = doc.get("rule", {})
    cats = doc.get("category", {})
    return _Reference(
        {c: float(v["fail_below"]) for c, v in cats.items() if "fail_below" in v},
        {c: float(v["warn_below"]) for c, v in cats.items() if "warn_below" in v},
        {c: str(v.get("source", "")) for c, v in cats.items()},
        float(rule.get("internal_fraction", 0.25)),
        float(rule.get("internal_zero_if_median_at_least", 1.0)),
        float(rule.get("min_population", 5000)),
        str(doc.get("version", "")),
    )


def _row(
    check: str,
    scope: str,
    category: str,
    value: float,
    threshold: float,
    status: str,
    message: str,
    message_en: str,
) -> dict[str, Any]:
    return {
        "check": check,
        "scope": scope,
        "category": category,
        "value": float(value),
        "threshold": float(threshold),
        "status": status,
        "message": message,
        "message_en": message_en,
    }


def _scopes(frame: pd.DataFrame, levels: Iterable[str]) -> list[tuple[str, np.ndarray]]:
    """``(scope, mask)`` for the city and each district of each level."""
    out = [("city", np.ones(len(frame), dtype=bool))]
    for level in levels:
        col = f"district:{level}"
        if col not in frame.columns:
            continue
        values = frame[col].astype("string")
        for name in sorted(values.dropna().unique()):
            out.append((f"{col}:{name}", (values == name).fillna(False).to_numpy(dtype=bool)))
    return out


def _scope_label(scope: str) -> tuple[str, str]:
    if scope == "city":
        return "全市（研究范围）", "the study area"
    _, level, name = scope.split(":", 2)
    return f"{level} {name}", f"{level} {name}"


def _outlet_extent(
    inputs: CityInputs, s: AuditSettings
) -> tuple[list[dict[str, Any]], pd.DataFrame]:
    from scipy.spatial import cKDTree

    from lifecircle.taxonomy import UNCLASSIFIED

    res, out = inputs.residences, inputs.outlets
    classified = out.loc[out["category"].astype(str) != UNCLASSIFIED]
    crs = inputs.network.crs
    rxy = np.column_stack([res.geometry.to_crs(crs).x, res.geometry.to_crs(crs).y])
    if len(classified):
        oxy = np.column_stack(
            [classified.geometry.to_crs(crs).x, classified.geometry.to_crs(crs).y]
        )
        dist, _ = cKDTree(oxy).query(rxy, k=1, distance_upper_bound=s.outlet_extent_m)
        far = ~np.isfinite(dist)
    else:
        far = np.ones(len(res), dtype=bool)
    rows = []
    km = s.outlet_extent_m / 1000.0
    for scope, mask in _scopes(res, inputs.levels):
        n = int(mask.sum())
        if not n:
            continue
        share = float(far[mask].mean())
        status = _FAIL if share >= _OUTLET_EXTENT_FAIL_SHARE else _WARN if share > 0 else _OK
        zh, en = _scope_label(scope)
        rows.append(
            _row(
                "outlet_extent", scope, "", share, _OUTLET_EXTENT_FAIL_SHARE, status,
                f"{zh}：{int(far[mask].sum())}/{n} 个小区 {km:g} 公里内没有任何已分类网点"
                + ("——网点数据未覆盖这些小区，相关评级为待核实" if status == _FAIL else ""),
                f"{en}: {int(far[mask].sum())} of {n} residences have no classified outlet "
                f"within {km:g} km"
                + (" — the outlet data does not cover them; their grades are unverified"
                   if status == _FAIL else ""),
            )
        )  # fmt: skip
    flags = pd.DataFrame(
        {
            "residence_id": res["residence_id"].astype(str).to_numpy()[far],
            "category": "*",
            "reason": f"网点数据未覆盖（{km:g} 公里内无任何网点）",
            "reason_en": f"outlet data does not cover it (no outlet within {km:g} km)",
        }
    )
    return rows, flags


def _density(
    inputs: CityInputs, s: AuditSettings, ref: _Reference
) -> tuple[list[dict[str, Any]], pd.DataFrame]:
    from lifecircle.taxonomy import load_catalogue

    catalogue = load_catalogue()
    res, out = inputs.residences, inputs.outlets
    pop = pd.to_numeric(res["population"], errors="coerce").fillna(0.0).to_numpy()
    rows: list[dict[str, Any]] = []
    flags: list[pd.DataFrame] = []
    cat_of = out["category"].astype(str).to_numpy()
    res_scopes = dict(_scopes(res, inputs.levels))
    out_scopes = dict(_scopes(out, inputs.levels))
    names = {c.code: c.name_zh for c in catalogue.categories}
    names_en = {c.code: c.name_en for c in catalogue.categories}
    codes = [c.code for c in catalogue.categories if c.klass == "basic"]
    codes += [c for c in ref.fail_below if c not in codes]
    codes += [c for c in ref.warn_below if c not in codes]
    density: dict[tuple[str, str], float] = {}
    for scope, rmask in res_scopes.items():
        population = float(pop[rmask].sum())
        if population < ref.min_population:
            continue
        omask = out_scopes.get(scope, np.zeros(len(out), dtype=bool))
        for code in codes:
            n = int(((cat_of == code) & omask).sum())
            density[(scope, code)] = n / population * 10_000.0
    for (scope, code), value in density.items():
        level = scope.split(":")[1] if scope != "city" else None
        siblings = [v for (sc, c), v in density.items() if c == code and sc != "city"
                    and sc.split(":")[1] == level] if level else []  # fmt: skip
        median = float(np.median(siblings)) if len(siblings) >= 3 else math.nan
        status, threshold, why, why_en = _OK, math.nan, "", ""
        if code in ref.fail_below and value < ref.fail_below[code]:
            status, threshold = _FAIL, ref.fail_below[code]
            why, why_en = (
                f"低于参考下限 {threshold:g}（{ref.sources.get(code, '')}）",
                (f"below the reference floor {threshold:g} ({ref.sources.get(code, '')})"),
            )
        elif code in ref.warn_below and value < ref.warn_below[code]:
            status, threshold = _WARN, ref.warn_below[code]
            why, why_en = f"低于参考值 {threshold:g}", f"below the reference {threshold:g}"
        elif math.isfinite(median) and (
            value < ref.internal_fraction * median
            or (value == 0 and median >= ref.internal_zero_median)
        ):
            status, threshold = _WARN, ref.internal_fraction * median
            why = f"低于同级片区中位数 {median:.2f} 的 {ref.internal_fraction:.0%}"
            why_en = f"below {ref.internal_fraction:.0%} of the median {median:.2f} of its level"
        zh, en = _scope_label(scope)
        rows.append(
            _row(
                "category_density", scope, code, value, threshold, status,
                f"{zh}：{names.get(code, code)} 每万人 {value:.2f} 个" + (f"，{why}" if why else ""),
                f"{en}: {names_en.get(code, code)} {value:.2f} per 10k residents"
                + (f", {why_en}" if why_en else ""),
            )
        )  # fmt: skip
        if status == _FAIL:
            ids = res["residence_id"].astype(str).to_numpy()[res_scopes[scope]]
            flags.append(
                pd.DataFrame(
                    {
                        "residence_id": ids,
                        "category": code,
                        "reason": f"{names.get(code, code)}数据过少（{zh}每万人 {value:.2f} 个）",
                        "reason_en": f"too few {names_en.get(code, code)} in the data "
                        f"({value:.2f} per 10k in {en})",
                    }
                )
            )
    return rows, pd.concat(flags, ignore_index=True) if flags else _no_flags()


def _no_flags() -> pd.DataFrame:
    return pd.DataFrame(columns=list(FLAG_COLUMNS))


def _truncation(inputs: CityInputs, s: AuditSettings) -> list[dict[str, Any]]:
    rows = []
    groups = inputs.outlet_groups
    if groups is not None and len(groups):
        column = groups.name
        for name, n in groups.value_counts().items():
            cap = next((c for c in s.provider_caps if c * (1 - _CAP_TOLERANCE) <= n <= c), None)
            if cap is not None:
                rows.append(
                    _row(
                        "truncation", f"{column}:{name}", "", n, cap, _WARN,
                        f"来源分组 {name} 有 {n} 条，恰在服务商单次查询上限 {cap} 附近：导出可能被截断，"
                        "该类网点不全（请按更小范围重新下载）",
                        f"source group {name} has {n} rows, at the provider's cap of {cap}: the "
                        "export was probably cut off and these outlets are incomplete (download "
                        "by smaller areas)",
                    )
                )  # fmt: skip
        if not rows:
            rows.append(
                _row("truncation", f"{column}", "", int(groups.value_counts().max()), math.nan,
                     _OK, f"没有来源分组停在查询上限（{column}）",
                     f"no source group stops at a provider cap ({column})")
            )  # fmt: skip
    rows.append(_empty_tiles(inputs, s))
    return rows


def _empty_tiles(inputs: CityInputs, s: AuditSettings) -> dict[str, Any]:
    crs = inputs.network.crs
    res = inputs.residences.geometry.to_crs(crs)
    out = inputs.outlets.geometry.to_crs(crs)
    x0, y0 = float(res.x.min()), float(res.y.min())

    def cells(x: pd.Series, y: pd.Series) -> set[tuple[int, int]]:
        return set(zip(((x - x0) // s.tile_m).astype(int), ((y - y0) // s.tile_m).astype(int),
                       strict=True))  # fmt: skip

    with_res = cells(res.x, res.y)
    empty = sorted(with_res - cells(out.x, out.y))
    km = s.tile_m / 1000.0
    status = _WARN if empty else _OK
    return _row(
        "truncation", "tiles", "", len(empty), 0, status,
        f"{len(empty)}/{len(with_res)} 个 {km:g} 公里网格有小区但没有任何网点"
        + ("（数据可能缺失）" if empty else ""),
        f"{len(empty)} of {len(with_res)} tiles of {km:g} km hold residences but no outlet"
        + (" (data may be missing)" if empty else ""),
    )  # fmt: skip


def _unclassified(inputs: CityInputs, s: AuditSettings) -> dict[str, Any]:
    from lifecircle.taxonomy import UNCLASSIFIED

    n = len(inputs.outlets)
    share = float((inputs.outlets["category"].astype(str) == UNCLASSIFIED).mean()) if n else 0.0
    status = (
        _FAIL if share >= s.unclassified_fail else _WARN if share >= s.unclassified_warn else _OK
    )
    return _row(
        "unclassified_share", "outlets", "", share, s.unclassified_warn, status,
        f"{share:.0%} 的网点未能归入任何业态（{n} 个网点中）",
        f"{share:.0%} of the {n} outlets match no 业态",
    )  # fmt: skip


def _household_rows(inputs: CityInputs) -> list[dict[str, Any]]:
    f = inputs.households
    n = f.n_known + f.n_estimated
    missing = f.n_estimated - f.n_outliers
    method = (
        f"按已知户数中位数 {f.fill_value:,.0f} 户估算"
        if f.method == "median"
        else "不计入按户加权的指标"
    )
    method_en = (
        f"estimated at the median of the known counts, {f.fill_value:,.0f}"
        if f.method == "median"
        else "left out of household-weighted figures"
    )
    rows = [
        _row(
            "households_missing", "residences", "", missing / n if n else 0.0, 0.0,
            _WARN if missing else _OK,
            f"{missing}/{n} 个小区没有户数，{method}",
            f"{missing} of {n} residences have no household count; {method_en}",
        )
    ]  # fmt: skip
    ids = ", ".join(f.outlier_ids[:8]) + (" …" if len(f.outlier_ids) > 8 else "")
    rows.append(
        _row(
            "households_outliers", "residences", "", f.n_outliers, inputs.spec.households.max,
            _WARN if f.n_outliers else _OK,
            f"{f.n_outliers} 个小区户数异常（> {inputs.spec.households.max:,.0f} 户或高于均值 "
            f"{inputs.spec.households.sigma:g} 个标准差），已按未知处理"
            + (f"：{ids}；确属实请在城市文件 households.confirmed 中确认" if ids else ""),
            f"{f.n_outliers} residences with implausible counts (> {inputs.spec.households.max:,.0f}"
            f" or > {inputs.spec.households.sigma:g} σ) treated as unknown"
            + (f": {ids}; confirm real ones with households.confirmed" if ids else ""),
        )
    )  # fmt: skip
    return rows


def _offset_rows(inputs: CityInputs) -> list[dict[str, Any]]:
    rows = []
    for what, frame in (("outlets", inputs.outlets), ("residences", inputs.residences)):
        check = frame.attrs.get("offset_check")
        if check is None:
            continue
        declared = check.declared
        value = check.median_m.get(declared, math.nan)
        status = _WARN if check.suspicious else _OK
        rows.append(
            _row(
                "crs_offset", what, "", value, math.nan, status,
                f"{what}：声明坐标系 {declared}，到最近道路的中位距离 {value:.1f} 米"
                + (f"，按 {check.best} 更吻合（已按设置接受）" if check.suspicious else ""),
                check.message,
            )
        )  # fmt: skip
    return rows


def _vintage(inputs: CityInputs, s: AuditSettings, today: dt.date) -> list[dict[str, Any]]:
    rows = []
    spec = inputs.spec
    for what, layer in (("network", spec.network), ("outlets", spec.outlets),
                        ("residences", spec.residences)):  # fmt: skip
        if layer.date is None:
            rows.append(
                _row("vintage", what, "", math.nan, s.max_age_years, _WARN,
                     f"{what} 未声明数据日期（城市文件 {what}.date）",
                     f"{what}: no date declared (city file {what}.date)")
            )  # fmt: skip
            continue
        text = layer.date.strip()
        when = dt.date.fromisoformat((text + "-01-01")[:10] if len(text) <= 7 else text[:10]) \
            if len(text) > 4 else dt.date(int(text), 7, 1)  # fmt: skip
        age = (today - when).days / 365.25
        status = _WARN if age > s.max_age_years else _OK
        rows.append(
            _row(
                "vintage", what, "", round(age, 1), s.max_age_years, status,
                f"{what} 数据日期 {text}，已 {age:.1f} 年" + ("，已过时，请更新" if status == _WARN else ""),
                f"{what} dated {text}, {age:.1f} years old" + (", outdated" if status == _WARN else ""),
            )
        )  # fmt: skip
    return rows


def audit_city(inputs: CityInputs, *, today: dt.date | None = None) -> Audit:
    """Run every check of the data audit (see the module docstring) on a city's inputs.

    Parameters
    ----------
    inputs
        From :func:`lifecircle.project.read_inputs`.
    today
        Reference date of the ``vintage`` check (default: today).

    Returns
    -------
    Audit
    """
    s = inputs.spec.audit
    ref = _load_reference(s.density_ranges)
    rows: list[dict[str, Any]] = []
    extent_rows, extent_flags = _outlet_extent(inputs, s)
    rows += extent_rows
    density_rows, density_flags = _density(inputs, s, ref)
    rows += density_rows
    rows += _truncation(inputs, s)
    rows.append(_unclassified(inputs, s))
    n_dup = len(inputs.duplicates)
    rows.append(
        _row(
            "duplicates", "outlets", "", n_dup, s.duplicate_m, _WARN if n_dup else _OK,
            f"{n_dup} 个网点与 {s.duplicate_m:g} 米内同名网点重复，已合并（保留文件中靠前者，"
            "见 duplicates.csv）",
            f"{n_dup} outlets duplicate a same-named one within {s.duplicate_m:g} m and were "
            "merged into the earlier one (listed in duplicates.csv)",
        )
    )  # fmt: skip
    rows += _household_rows(inputs)
    rows += _offset_rows(inputs)
    rows += _vintage(inputs, s, today or dt.date.today())
    table = pd.DataFrame(rows, columns=list(AUDIT_COLUMNS))
    flags = pd.concat([f for f in (extent_flags, density_flags) if len(f)] or [_no_flags()],
                      ignore_index=True)  # fmt: skip
    from lifecircle.assess.chains import chain_brands_found, chain_settings
    from lifecircle.taxonomy import UNCLASSIFIED

    with_type = inputs.outlets.loc[inputs.outlets["category"].astype(str) != UNCLASSIFIED]
    brands = chain_brands_found(with_type, chain_settings(inputs.spec.chains))
    audit = Audit(table, flags[list(FLAG_COLUMNS)], inputs.duplicates, brands)
    c = audit.counts()
    log.info("data audit: %d ok, %d warn, %d fail", c[_OK], c[_WARN], c[_FAIL])
    return audit
