"""服务"好不好" evaluation: indicator sheet, evaluator scores and per-circle service scores.

The MOFCOM 《服务"好不好"评价表》 is not available (standards.md §3), so the bundled indicator sheet
is a PROPOSAL (P): five dimensions 便利化 30 / 规范化 20 / 智慧化 15 / 品质化 15 / 管理运营 20
points (standards.md §13 ``haobuhao_dimensions_P``) and 20 indicators built from the metrics
MOFCOM itself reports (连锁化率, smart-platform use, 一老一小 services, ...).  A city gives its own
sheet as TOML.

Each indicator earns up to ``weight`` points of the 100; its scoring rule turns what evaluators
record into points:

``scale``
    evaluators give 0 … ``max`` points; points = score / max × weight.
``share``
    a share 0 … 1 (``35%`` accepted); points = min(share / full_at, 1) × weight
    (``full_at`` = 1 unless set, e.g. 0.30 for a 30 % 连锁化率 target).
``bool``
    yes/no (1/0, 是/否, 有/无, true/false); points = weight for yes.

Examples
--------
>>> import pandas as pd
>>> sheet = load_indicator_sheet()
>>> sheet.is_proposal, sum(d.weight for d in sheet.dimensions), len(sheet.indicators)
(True, 100.0, 20)
>>> scores = pd.DataFrame({"circle_id": ["A", "A"], "indicator": ["chain_share", "layout"],
...                        "score": [0.15, 4]})
>>> result = evaluation_scores(read_evaluator_scores(scores, sheet), sheet, min_coverage=0)
>>> result[["circle_id", "score", "coverage", "chain_share", "layout"]].round(3).values.tolist()
[['A', 63.636, 0.11, 3.0, 4.0]]
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
import pandas as pd

from lifecircle.assess._io import (
    DATA_DIR,
    NO_PROVENANCE,
    Provenance,
    check_keys,
    is_number,
    norm_text,
    provenance,
    read_circle_ids,
    read_sheet,
    read_toml,
    text_value,
)
from lifecircle.errors import InputError, Problem, Problems
from lifecircle.ingest import _tables as t

__all__ = [
    "SCORING_RULES",
    "Dimension",
    "Indicator",
    "IndicatorSheet",
    "dimension_scores",
    "evaluation_scores",
    "load_indicator_sheet",
    "read_evaluator_scores",
]

logger = logging.getLogger(__name__)

#: Scoring rules of an indicator.
SCORING_RULES = ("scale", "share", "bool")
#: Columns of a wide scores table that are not indicators (matched case- and space-insensitively).
SCORE_META_COLUMNS = (
    "name",
    "名称",
    "circle_name",
    "生活圈名称",
    "date",
    "日期",
    "district",
    "区",
    "street",
    "街道",
    "comment",
    "comments",
    "备注",
    "note",
    "row",
)
_EVALUATOR_COLUMNS = ("evaluator", "评价人", "评分人", "打分人", "评委", "专家")
_INDICATOR_COLUMNS = ("indicator", "指标", "indicator_id", "指标编号")
_SCORE_COLUMNS = ("score", "value", "得分", "分值", "评分", "数值")
_TOP_KEYS = ("version", "meta", "dimension", "indicator")
_META_KEYS = ("status", "title_zh", "title_en", "note", "source", "confidence")
_DIMENSION_KEYS = ("id", "name_zh", "name_en", "weight", "source", "confidence", "note")
_INDICATOR_KEYS = (
    "id",
    "name_zh",
    "name_en",
    "dimension",
    "weight",
    "scoring",
    "max",
    "full_at",
    "auto",
    "source",
    "confidence",
    "note",
)
_TRUE = frozenset(
    norm_text(x) for x in ("1", "1.0", "true", "yes", "y", "是", "有", "达标", "√", "✓")
)
_FALSE = frozenset(
    norm_text(x) for x in ("0", "0.0", "false", "no", "n", "否", "无", "未达标", "×", "✗")
)
_WEIGHT_TOLERANCE = 1e-6


@dataclass(frozen=True)
class Dimension:
    """A dimension of the indicator sheet (便利化, 规范化, ...).

    Attributes
    ----------
    id, name_zh, name_en
        Identifier and names.
    weight
        Points of the dimension in the 100-point total (= the sum of its indicators' weights).
    provenance
        Source and confidence of the weight.
    """

    id: str
    name_zh: str
    name_en: str
    weight: float
    provenance: Provenance = NO_PROVENANCE


@dataclass(frozen=True)
class Indicator:
    """One indicator of the sheet.

    Attributes
    ----------
    id, name_zh, name_en
        Identifier (a scores column or ``indicator`` value) and names; scores tables may also
        name the indicator by ``name_zh``.
    dimension
        Id of its dimension.
    weight
        Points of the indicator in the 100-point total.
    scoring
        ``"scale"``, ``"share"`` or ``"bool"`` (see the module docstring).
    max
        Highest score evaluators give (``scale`` only; 1 otherwise).
    full_at
        Share that earns full points (``share`` only; 1 otherwise).
    provenance
        Source and confidence.
    auto
        The measure of the assessment that fills this indicator (``auto`` in the sheet, one of
        :data:`lifecircle.assess.auto_evaluation.AUTO_MEASURES`); ``""`` when only evaluators
        score it.
    """

    id: str
    name_zh: str
    name_en: str
    dimension: str
    weight: float
    scoring: str
    max: float = 1.0
    full_at: float = 1.0
    provenance: Provenance = NO_PROVENANCE
    auto: str = ""

    def points(self, value: np.ndarray) -> np.ndarray:
        """Points earned (0 … weight) for recorded values (score, share or 1/0)."""
        v = np.asarray(value, dtype=np.float64)
        if self.scoring == "scale":
            frac = v / self.max
        elif self.scoring == "share":
            frac = np.minimum(v / self.full_at, 1.0)
        else:
            frac = v
        return np.asarray(frac * self.weight, dtype=np.float64)


@dataclass(frozen=True)
class IndicatorSheet:
    """A 服务"好不好" indicator sheet; build it with :func:`load_indicator_sheet`.

    Attributes
    ----------
    version
        Version of the sheet.
    status
        ``"proposal"`` for the bundled sheet (no official 评价表 available), ``"official"`` or
        ``"local"`` for a city's own.
    title_zh, title_en, note
        Display title and a note for reports.
    provenance
        Source and confidence of the sheet as a whole.
    dimensions, indicators
        In sheet order.
    file
        The file read.
    """

    version: str
    status: str
    title_zh: str
    title_en: str
    note: str
    provenance: Provenance
    dimensions: tuple[Dimension, ...]
    indicators: tuple[Indicator, ...]
    file: str | None = None
    _lookup: Mapping[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        lookup: dict[str, str] = {}
        for ind in self.indicators:
            for text in (ind.id, ind.name_zh):
                lookup.setdefault(norm_text(text), ind.id)
        object.__setattr__(self, "_lookup", MappingProxyType(lookup))

    @property
    def is_proposal(self) -> bool:
        """True when the sheet is a proposal of this software, not an official table."""
        return self.status == "proposal" or self.provenance.confidence == "P"

    def indicator(self, id_or_name: object) -> Indicator | None:
        """The indicator with this id or Chinese name (whitespace and width do not matter)."""
        code = self._lookup.get(norm_text(id_or_name))
        return None if code is None else next(i for i in self.indicators if i.id == code)

    def to_frame(self) -> pd.DataFrame:
        """One row per indicator: id, names, dimension, weight, scoring, max, full_at, source."""
        dims = {d.id: d for d in self.dimensions}
        return pd.DataFrame(
            [
                {
                    "id": i.id,
                    "name_zh": i.name_zh,
                    "name_en": i.name_en,
                    "dimension": i.dimension,
                    "dimension_zh": dims[i.dimension].name_zh if i.dimension in dims else "",
                    "weight": i.weight,
                    "scoring": i.scoring,
                    "max": i.max,
                    "full_at": i.full_at,
                    "source": i.provenance.source,
                    "confidence": i.provenance.confidence,
                }
                for i in self.indicators
            ]
        )


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


def load_indicator_sheet(path: str | os.PathLike[str] | None = None) -> IndicatorSheet:
    """Load and validate a 服务"好不好" indicator sheet (TOML).

    Parameters
    ----------
    path
        A sheet TOML file; ``None`` loads the bundled proposal (``indicators_default.toml``).
        The file has ``version``, ``[meta]`` (``status``, ``title_zh``, ``title_en``, ``note``,
        ``source``, ``confidence``), ``[[dimension]]`` tables (``id, name_zh, name_en, weight,
        source, confidence``) and ``[[indicator]]`` tables (``id, name_zh, name_en, dimension,
        weight, scoring`` = scale|share|bool, ``max`` for scale, optional ``full_at`` for share,
        ``source, confidence``).

    Returns
    -------
    IndicatorSheet

    Raises
    ------
    InputError
        Listing every problem with file and field (e.g. ``indicator[4].scoring``): dimension
        weights or indicator weights not summing to 100, a dimension whose indicators' weights
        differ from its weight, duplicate ids, unknown dimensions or scoring rules, a missing
        or non-positive ``max``, ``full_at`` outside (0, 1], unknown keys.

    Examples
    --------
    >>> sheet = load_indicator_sheet()
    >>> [(d.name_zh, d.weight) for d in sheet.dimensions]
    [('便利化', 30.0), ('规范化', 20.0), ('智慧化', 15.0), ('品质化', 15.0), ('管理运营', 20.0)]
    """
    file = Path(path) if path is not None else DATA_DIR / "indicators_default.toml"
    label = str(file)
    doc = read_toml(file, "indicator sheet")
    problems = Problems(file=label)
    check_keys(doc, _TOP_KEYS, label, "", problems)
    version = text_value(doc, "version", "", problems, default="?")

    meta = doc.get("meta")
    if not isinstance(meta, dict):
        problems.add(
            "[meta] table is missing",
            field="meta",
            fix='write [meta] status = "proposal" | "official" | "local", title_zh, source, '
            "confidence",
        )
        meta = {}
    else:
        check_keys(meta, _META_KEYS, label, "meta", problems)
    status = text_value(meta, "status", "meta", problems, default="proposal") if meta else ""
    if status and status not in ("proposal", "official", "local"):
        problems.add(
            f"status {status!r} is not known",
            field="meta.status",
            fix='write status = "proposal", "official" or "local"',
        )
    title_zh = text_value(meta, "title_zh", "meta", problems, required=False, default="服务评价")
    title_en = text_value(
        meta, "title_en", "meta", problems, required=False, default="Service evaluation"
    )
    note = text_value(meta, "note", "meta", problems, required=False)
    sheet_prov = provenance(meta, "meta", problems) if meta else Provenance("", "P")

    dimensions = _parse_dimensions(doc.get("dimension"), problems)
    indicators = _parse_indicators(doc.get("indicator"), {d.id: d for d in dimensions}, problems)
    _check_weights(dimensions, indicators, problems)
    problems.raise_if_any("indicator sheet")
    return IndicatorSheet(
        version=version,
        status=status or "proposal",
        title_zh=title_zh,
        title_en=title_en,
        note=note,
        provenance=sheet_prov,
        dimensions=dimensions,
        indicators=indicators,
        file=label,
    )


def _weight(raw: dict[str, Any], where: str, problems: Problems) -> float:
    value = raw.get("weight")
    if not is_number(value) or not float(value) > 0:
        problems.add(
            f"weight must be a positive number of points, got {value!r}",
            field=f"{where}.weight",
            fix="write e.g. weight = 10 (points of the 100-point total)",
        )
        return float("nan")
    return float(value)


def _parse_dimensions(raw: Any, problems: Problems) -> tuple[Dimension, ...]:
    if not isinstance(raw, list) or not raw:
        problems.add(
            "no [[dimension]] tables",
            field="dimension",
            fix='write one [[dimension]] table per dimension: id = "convenience", '
            'name_zh = "便利化", weight = 30',
        )
        return ()
    out: list[Dimension] = []
    seen: set[str] = set()
    for i, item in enumerate(raw, start=1):
        where = f"dimension[{i}]"
        if not isinstance(item, dict):
            problems.add("is not a table", field=where, fix="write [[dimension]] tables")
            continue
        check_keys(item, _DIMENSION_KEYS, "", where, problems)
        did = text_value(item, "id", where, problems)
        if did and did in seen:
            problems.add(
                f"dimension id {did!r} is repeated",
                field=f"{where}.id",
                fix="give each dimension its own id",
            )
        seen.add(did)
        name_zh = text_value(item, "name_zh", where, problems)
        name_en = text_value(item, "name_en", where, problems, required=False, default=name_zh)
        out.append(
            Dimension(
                did,
                name_zh,
                name_en,
                _weight(item, where, problems),
                provenance(item, where, problems),
            )
        )
    return tuple(out)


def _parse_indicators(
    raw: Any, dims: Mapping[str, Dimension], problems: Problems
) -> tuple[Indicator, ...]:
    if not isinstance(raw, list) or not raw:
        problems.add(
            "no [[indicator]] tables",
            field="indicator",
            fix="write one [[indicator]] table per indicator: id, name_zh, dimension, weight, "
            'scoring = "scale" | "share" | "bool"',
        )
        return ()
    by_name = {norm_text(d.name_zh): d.id for d in dims.values()}
    out: list[Indicator] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(raw, start=1):
        where = f"indicator[{i}]"
        if not isinstance(item, dict):
            problems.add("is not a table", field=where, fix="write [[indicator]] tables")
            continue
        check_keys(item, _INDICATOR_KEYS, "", where, problems)
        iid = text_value(item, "id", where, problems)
        if iid and not re.fullmatch(r"[^\s,;]+", iid):
            problems.add(
                f"id {iid!r} contains spaces, commas or semicolons",
                field=f"{where}.id",
                fix="use a column-name-like id, e.g. chain_share",
            )
        name_zh = text_value(item, "name_zh", where, problems)
        name_en = text_value(item, "name_en", where, problems, required=False, default=name_zh)
        for key in {norm_text(iid), norm_text(name_zh)} - {""}:
            if key in seen and seen[key] != i:
                problems.add(
                    f"indicator {iid!r} repeats the id or name of indicator[{seen[key]}]",
                    field=f"{where}.id",
                    fix="give every indicator its own id and name",
                )
            seen.setdefault(key, i)
        dim = text_value(item, "dimension", where, problems)
        dim_id = dim if dim in dims else by_name.get(norm_text(dim), "")
        if dim and dims and not dim_id:
            problems.add(
                f"dimension {dim!r} is not one of the sheet's dimensions",
                field=f"{where}.dimension",
                fix=f"use one of {', '.join(dims)}",
            )
        weight = _weight(item, where, problems)
        scoring = text_value(item, "scoring", where, problems)
        if scoring and scoring not in SCORING_RULES:
            problems.add(
                f"scoring rule {scoring!r} is not known",
                field=f"{where}.scoring",
                fix=f"use one of {', '.join(SCORING_RULES)}",
            )
        top = item.get("max")
        max_points = 1.0
        if scoring == "scale":
            if not is_number(top) or not float(top) > 0:
                problems.add(
                    f"a scale indicator needs max, the highest score evaluators give "
                    f"(a positive number), got {top!r}",
                    field=f"{where}.max",
                    fix="write e.g. max = 5",
                )
            else:
                max_points = float(top)
        elif top is not None:
            problems.add(
                f"max applies to scale indicators only (this one is {scoring!r})",
                field=f"{where}.max",
                fix='remove max, or write scoring = "scale"',
            )
        full = item.get("full_at")
        full_at = 1.0
        if full is not None:
            if scoring != "share":
                problems.add(
                    f"full_at applies to share indicators only (this one is {scoring!r})",
                    field=f"{where}.full_at",
                    fix='remove full_at, or write scoring = "share"',
                )
            elif not is_number(full) or not 0 < float(full) <= 1:
                problems.add(
                    f"full_at must be a share in (0, 1], got {full!r}",
                    field=f"{where}.full_at",
                    fix="write e.g. full_at = 0.30 (a 30 % share earns full points)",
                )
            else:
                full_at = float(full)
        auto = item.get("auto", "")
        from lifecircle.assess.auto_evaluation import AUTO_MEASURES

        if auto and auto not in AUTO_MEASURES:
            problems.add(
                f"auto measure {auto!r} is not known",
                field=f"{where}.auto",
                fix=f"use one of {', '.join(AUTO_MEASURES)}, or remove auto",
            )
            auto = ""
        out.append(
            Indicator(
                iid,
                name_zh,
                name_en,
                dim_id or dim,
                weight,
                scoring,
                max_points,
                full_at,
                provenance(item, where, problems),
                str(auto),
            )
        )
    return tuple(out)


def _check_weights(
    dimensions: Sequence[Dimension], indicators: Sequence[Indicator], problems: Problems
) -> None:
    dim_total = sum(d.weight for d in dimensions)
    if dimensions and np.isfinite(dim_total) and abs(dim_total - 100.0) > _WEIGHT_TOLERANCE:
        problems.add(
            f"dimension weights sum to {dim_total:g}, not 100 ("
            + ", ".join(f"{d.id} {d.weight:g}" for d in dimensions)
            + ")",
            field="dimension.weight",
            fix="change the weights so that they add up to 100 points",
        )
    ind_total = sum(i.weight for i in indicators)
    if indicators and np.isfinite(ind_total) and abs(ind_total - 100.0) > _WEIGHT_TOLERANCE:
        problems.add(
            f"indicator weights sum to {ind_total:g}, not 100",
            field="indicator.weight",
            fix="change the weights so that they add up to 100 points",
        )
    for i, d in enumerate(dimensions, start=1):
        own = [ind for ind in indicators if ind.dimension == d.id]
        total = sum(ind.weight for ind in own)
        if not own:
            problems.add(
                f"dimension {d.id!r} has no indicators",
                field=f"dimension[{i}]",
                fix="add indicators with dimension = " + repr(d.id) + ", or remove the dimension",
            )
        elif (
            np.isfinite(total)
            and np.isfinite(d.weight)
            and abs(total - d.weight) > _WEIGHT_TOLERANCE
        ):
            problems.add(
                f"the indicators of dimension {d.id!r} weigh {total:g} points, but the "
                f"dimension weighs {d.weight:g}",
                field=f"dimension[{i}].weight",
                fix="make the dimension's weight the sum of its indicators' weights",
            )


# --------------------------------------------------------------------------------------------
# Scores
# --------------------------------------------------------------------------------------------


def read_evaluator_scores(
    source: str | os.PathLike[str] | pd.DataFrame,
    sheet: IndicatorSheet,
    *,
    known_circles: Iterable[object] | None = None,
    circle_column: str = "circle_id",
    extra_columns: Sequence[str] = (),
    encoding: str | None = None,
    excel_sheet: str | int = 0,
) -> pd.DataFrame:
    """Read and validate evaluator scores (CSV, Excel or DataFrame).

    Two layouts are accepted:

    * long: ``circle_id, indicator, score`` and optionally ``evaluator`` (评价人), one row per
      circle × indicator (× evaluator); other columns are ignored;
    * wide: ``circle_id`` (optionally ``evaluator``) and one column per indicator, named by id
      or Chinese name; columns that are not indicators are errors unless listed in
      :data:`SCORE_META_COLUMNS` or ``extra_columns``.

    Values: ``scale`` indicators 0 … ``max``; ``share`` indicators 0 … 1 (or ``35%``);
    ``bool`` indicators 1/0, 是/否, 有/无, true/false.  Blank cells are "not scored".

    Parameters
    ----------
    source
        The scores file or table.
    sheet
        The indicator sheet (:func:`load_indicator_sheet`).
    known_circles
        Ids of the circles being assessed; ids not among them are errors.
    circle_column
        Column holding the circle id.
    extra_columns
        Further non-indicator columns of a wide table.
    encoding
        Text encoding of a CSV (``"gbk"`` for Chinese Excel/WPS exports).
    excel_sheet
        Sheet of an Excel workbook (name or 0-based position).

    Returns
    -------
    pandas.DataFrame
        Long form, blanks dropped: ``circle_id`` (str), ``indicator`` (id), ``score`` (float;
        bool as 1.0/0.0, shares as 0–1), ``evaluator`` (str, ``<NA>`` when not given), ``row``
        (1-based data row of the source).  Several evaluators' scores are averaged by
        :func:`evaluation_scores`.

    Raises
    ------
    InputError
        Listing every problem with file, row and field: empty or undecodable file, missing
        circle id column or ids, unknown circle ids, unknown indicators, values that are not
        numbers, scores outside 0 … max (or shares outside 0 … 1), the same circle × indicator
        × evaluator given twice.
    """
    table = read_sheet(source, what="scores", encoding=encoding, sheet=excel_sheet)
    frame = table.frame
    problems = Problems(file=table.file)
    ids = read_circle_ids(
        table, circle_column, problems, known_circles=known_circles, what="scores"
    )
    circle_col = t.find_column(frame.columns, [circle_column])
    evaluator_col = t.find_column(frame.columns, _EVALUATOR_COLUMNS)
    indicator_col = t.find_column(frame.columns, _INDICATOR_COLUMNS)
    score_col = t.find_column(frame.columns, _SCORE_COLUMNS)
    evaluators = (
        t.text_column(frame, evaluator_col)
        if evaluator_col is not None
        else np.full(len(frame), None, dtype=object)
    )

    n = len(frame)
    if ids is None:
        ids = np.full(n, "", dtype=object)
    if indicator_col is not None and score_col is not None:
        long = _long_cells(frame, table.rows, indicator_col, score_col, sheet, problems)
        cells = long.assign(
            circle_id=ids[long["pos"].to_numpy()],
            evaluator=evaluators[long["pos"].to_numpy()],
        )
    else:
        if indicator_col is not None or score_col is not None:
            logger.info(
                "%s: column %r found without its partner; reading the table as wide",
                table.file,
                indicator_col or score_col,
            )
        cells = _wide_cells(
            frame, table.rows, {circle_col, evaluator_col}, extra_columns, sheet, problems
        )
        pos = cells["pos"].to_numpy()
        cells = cells.assign(circle_id=ids[pos], evaluator=evaluators[pos])

    values = _check_values(cells, sheet, problems)
    _check_duplicates(cells, evaluator_col is not None, problems)
    problems.raise_if_any("evaluator scores")
    out = pd.DataFrame(
        {
            "circle_id": cells["circle_id"].astype(str).to_numpy(),
            "indicator": cells["indicator"].to_numpy(),
            "score": values,
            "evaluator": pd.array(cells["evaluator"].to_numpy(), dtype="string"),
            "row": cells["row"].to_numpy(dtype=np.int64),
        }
    )
    out = out[~np.isnan(values)].reset_index(drop=True)
    out.attrs.update({"source_file": table.file, "sheet_version": sheet.version})
    logger.info(
        "%s: %d scores of %d circles on %d indicators",
        table.file,
        len(out),
        out["circle_id"].nunique(),
        out["indicator"].nunique(),
    )
    return out


def _long_cells(
    frame: pd.DataFrame,
    rows: np.ndarray,
    indicator_col: str,
    score_col: str,
    sheet: IndicatorSheet,
    problems: Problems,
) -> pd.DataFrame:
    names = frame[indicator_col]
    missing = t.is_missing(names)
    codes = np.array(
        [None if m else _indicator_id(sheet, v) for v, m in zip(names, missing, strict=True)],
        dtype=object,
    )
    unknown = ~missing & (codes == None)  # noqa: E711 - element-wise
    if missing.any():
        t.add_row_problems(
            problems,
            rows[missing],
            "no indicator named",
            field=indicator_col,
            fix="write the indicator id or Chinese name, or remove the row",
        )
    if unknown.any():
        t.add_row_problems(
            problems,
            rows[unknown],
            [
                f"indicator {v!r} is not on indicator sheet {sheet.version} ({_suggest(sheet, v)})"
                for v in names.to_numpy(dtype=object)[unknown]
            ],
            field=indicator_col,
            fix="use an indicator id or Chinese name of the sheet",
        )
    ok = np.flatnonzero(~missing & ~unknown)
    return pd.DataFrame(
        {
            "pos": ok,
            "row": rows[ok],
            "indicator": codes[ok],
            "raw": frame[score_col].to_numpy(dtype=object)[ok],
            "field": score_col,
        }
    )


def _wide_cells(
    frame: pd.DataFrame,
    rows: np.ndarray,
    skip: set[str | None],
    extra_columns: Sequence[str],
    sheet: IndicatorSheet,
    problems: Problems,
) -> pd.DataFrame:
    meta = {norm_text(c) for c in (*SCORE_META_COLUMNS, *extra_columns)}
    parts: list[pd.DataFrame] = []
    used: dict[str, str] = {}
    for col in frame.columns:
        if col in skip or norm_text(col) in meta:
            continue
        ind = sheet.indicator(col)
        if ind is None:
            problems.add(
                f"column {col!r} is not an indicator of sheet {sheet.version} "
                f"({_suggest(sheet, col)})",
                field=col,
                fix="rename it to an indicator id or Chinese name, or pass extra_columns=[...] "
                "to ignore it",
            )
            continue
        if ind.id in used:
            problems.add(
                f"columns {used[ind.id]!r} and {col!r} both hold indicator {ind.id!r}",
                field=col,
                fix="keep one column per indicator",
            )
            continue
        used[ind.id] = col
        parts.append(
            pd.DataFrame(
                {
                    "pos": np.arange(len(frame)),
                    "row": rows,
                    "indicator": ind.id,
                    "raw": frame[col].to_numpy(dtype=object),
                    "field": col,
                }
            )
        )
    if not used and not problems.items:
        problems.add(
            "no indicator columns (and no indicator/score columns of the long layout)",
            fix="give either columns circle_id, indicator, score [, evaluator] or one column per "
            "indicator (" + ", ".join(i.id for i in sheet.indicators[:10]) + " ...)",
        )
    if not parts:
        return pd.DataFrame(
            {
                "pos": np.array([], dtype=np.int64),
                "row": np.array([], dtype=np.int64),
                "indicator": [],
                "raw": [],
                "field": [],
            }
        )
    return pd.concat(parts, ignore_index=True)


def _indicator_id(sheet: IndicatorSheet, value: object) -> str | None:
    ind = sheet.indicator(value)
    return None if ind is None else ind.id


def _suggest(sheet: IndicatorSheet, value: object) -> str:
    import difflib

    names = [i.id for i in sheet.indicators] + [i.name_zh for i in sheet.indicators]
    close = difflib.get_close_matches(str(value), names, n=3, cutoff=0.5)
    if close:
        return "did you mean " + " or ".join(repr(c) for c in close) + "?"
    return (
        "indicators: "
        + ", ".join(i.id for i in sheet.indicators[:10])
        + (" ..." if len(sheet.indicators) > 10 else "")
    )


def _check_values(cells: pd.DataFrame, sheet: IndicatorSheet, problems: Problems) -> np.ndarray:
    """Parse the raw values and record problems; NaN where blank or bad."""
    values = np.full(len(cells), np.nan)
    if not len(cells):
        return values
    by_id = {i.id: i for i in sheet.indicators}
    for (code, fld), grp in cells.groupby(["indicator", "field"], sort=False):
        ind = by_id[str(code)]
        raw = grp["raw"]
        idx = grp.index.to_numpy()
        rows = grp["row"].to_numpy()
        missing = t.is_missing(raw)
        if ind.scoring == "bool":
            keys = raw.astype(object).where(~missing, "").map(norm_text)
            yes = keys.isin(_TRUE).to_numpy()
            no = keys.isin(_FALSE).to_numpy()
            bad = ~missing & ~yes & ~no
            vals = np.where(yes, 1.0, np.where(no, 0.0, np.nan))
            if bad.any():
                t.add_row_problems(
                    problems,
                    rows[bad],
                    [f"{v!r} is not yes/no" for v in raw.to_numpy(dtype=object)[bad]],
                    field=str(fld),
                    fix=f"indicator {ind.id} ({ind.name_zh}) takes 1/0, 是/否, 有/无 or true/false",
                )
            values[idx] = vals
            continue
        text = raw.astype(object).where(~missing, "").map(lambda v: str(v).strip())
        percent = text.str.endswith("%").to_numpy() | text.str.endswith("％").to_numpy()
        nums = pd.to_numeric(text.str.rstrip("%％").str.strip(), errors="coerce").to_numpy(
            dtype=np.float64, na_value=np.nan
        )
        if ind.scoring == "share":
            nums = np.where(percent, nums / 100.0, nums)
        elif percent.any():
            nums = np.where(percent, np.nan, nums)
        bad = ~missing & ~np.isfinite(nums)
        if bad.any():
            t.add_row_problems(
                problems,
                rows[bad],
                [f"{v!r} is not a number" for v in raw.to_numpy(dtype=object)[bad]],
                field=str(fld),
                fix=f"write a number for indicator {ind.id} ({ind.name_zh})",
            )
        top = ind.max if ind.scoring == "scale" else 1.0
        out = ~missing & ~bad & ((nums < 0) | (nums > top))
        if out.any():
            what = f"0 … {ind.max:g} points" if ind.scoring == "scale" else "a share 0 … 1"
            t.add_row_problems(
                problems,
                rows[out],
                [
                    f"score {v:g} is outside {what} of indicator {ind.id} ({ind.name_zh})"
                    for v in nums[out]
                ],
                field=str(fld),
                fix="correct the score"
                + (" (shares are 0–1 or written as 35%)" if ind.scoring == "share" else ""),
            )
        values[idx] = np.where(missing | bad | out, np.nan, nums)
    return values


def _check_duplicates(cells: pd.DataFrame, has_evaluator: bool, problems: Problems) -> None:
    if not has_evaluator or not len(cells):
        return
    key = cells[["circle_id", "indicator", "evaluator"]].astype(str)
    dup = key.duplicated(keep="first").to_numpy() & ~t.is_missing(cells["raw"])
    dup &= key.duplicated(keep=False).to_numpy()
    if dup.any():
        sub = cells[dup]
        t.add_row_problems(
            problems,
            sub["row"].to_numpy(),
            [
                f"evaluator {e!r} scored indicator {i!r} of circle {c!r} twice"
                for e, i, c in zip(
                    sub["evaluator"], sub["indicator"], sub["circle_id"], strict=True
                )
            ],
            field=str(sub["field"].iloc[0]),
            fix="keep one score per evaluator, circle and indicator",
        )


def evaluation_scores(
    scores: pd.DataFrame,
    sheet: IndicatorSheet,
    *,
    missing: Literal["rescale", "zero", "nan"] = "rescale",
    min_coverage: float = 0.5,
    circles: Iterable[object] | None = None,
) -> pd.DataFrame:
    """Per-circle service score (0–100) from evaluator scores.

    Each indicator's value is the mean over the evaluators who scored it (a ``bool`` indicator's
    mean is the share of evaluators saying yes), turned into points (0 … weight) by its scoring
    rule.

    Parameters
    ----------
    scores
        As returned by :func:`read_evaluator_scores` (a raw table is read with it first).
    sheet
        The indicator sheet.
    missing
        What an indicator nobody scored for a circle counts as:

        ``"rescale"`` (default)
            the score is computed over the answered weight and scaled to 100:
            ``score = 100 × points / answered weight``; ``coverage`` says which share of the 100
            points was answered, and circles below ``min_coverage`` get NaN;
        ``"zero"``
            no points (``score = points``), conservative;
        ``"nan"``
            the score is NaN unless every indicator was scored.
    min_coverage
        Least answered share of the weight for a ``"rescale"`` score (0.5 by default).
    circles
        Circle ids to list even without scores (NaN score, coverage 0).

    Returns
    -------
    pandas.DataFrame
        One row per circle, sorted by id: ``circle_id, score, coverage``, then one column per
        indicator (sheet order) with the points earned (0 … weight; NaN when not scored).
        ``attrs``: ``sheet_version``, ``status`` (proposal/official/local), ``missing``,
        ``n_evaluators`` (circle → number of distinct evaluators or score rows).

    Examples
    --------
    >>> import pandas as pd
    >>> sheet = load_indicator_sheet()
    >>> wide = pd.DataFrame({"circle_id": ["A"], **{i.id: [i.max if i.scoring == "scale" else 1]
    ...                      for i in sheet.indicators}})
    >>> evaluation_scores(read_evaluator_scores(wide, sheet), sheet)["score"].tolist()
    [100.0]
    """
    if missing not in ("rescale", "zero", "nan"):
        raise InputError(
            Problem(
                f"missing={missing!r} is not known",
                field="missing",
                fix="use 'rescale', 'zero' or 'nan'",
            ),
            "evaluation",
        )
    if not 0 <= min_coverage <= 1:
        raise InputError(
            Problem(
                f"min_coverage must be a share in [0, 1], got {min_coverage!r}",
                field="min_coverage",
                fix="write e.g. 0.5",
            ),
            "evaluation",
        )
    if scores.attrs.get("sheet_version") != sheet.version or "row" not in scores.columns:
        scores = read_evaluator_scores(scores, sheet)
    codes = [i.id for i in sheet.indicators]
    means = (
        scores.groupby(["circle_id", "indicator"], sort=False)["score"]
        .mean()
        .unstack("indicator")
        .reindex(columns=codes)
    )
    if circles is not None:
        means = means.reindex(means.index.union(pd.Index([str(c) for c in circles])))
    means = means.sort_index()
    points = pd.DataFrame(index=means.index)
    weights = np.array([i.weight for i in sheet.indicators])
    for ind in sheet.indicators:
        points[ind.id] = ind.points(means[ind.id].to_numpy(dtype=np.float64))
    answered = points.notna().to_numpy()
    total_weight = float(weights.sum())
    answered_weight = (answered * weights).sum(axis=1)
    earned = np.nansum(points.to_numpy(dtype=np.float64), axis=1)
    coverage = answered_weight / total_weight
    with np.errstate(divide="ignore", invalid="ignore"):
        if missing == "rescale":
            score = np.where(
                (coverage >= min_coverage) & (answered_weight > 0),
                100.0 * earned / answered_weight,
                np.nan,
            )
        elif missing == "zero":
            score = np.where(answered_weight > 0, 100.0 * earned / total_weight, np.nan)
        else:
            score = np.where(answered.all(axis=1), 100.0 * earned / total_weight, np.nan)
    out = pd.DataFrame(
        {"circle_id": points.index.astype(str), "score": score, "coverage": coverage}
    )
    for code in codes:
        out[code] = points[code].to_numpy()
    counts: dict[object, int] = {}
    if len(scores):
        has_eval = scores["evaluator"].notna() if "evaluator" in scores.columns else None
        if has_eval is not None and bool(has_eval.any()):
            counts = scores[has_eval].groupby("circle_id")["evaluator"].nunique().to_dict()
    out.attrs.update(
        {
            "sheet_version": sheet.version,
            "status": sheet.status,
            "missing": missing,
            "n_evaluators": {str(k): int(v) for k, v in counts.items()},
        }
    )
    return out.reset_index(drop=True)


def dimension_scores(evaluation: pd.DataFrame, sheet: IndicatorSheet) -> pd.DataFrame:
    """Points per dimension from :func:`evaluation_scores` (NaN indicators count as 0).

    Returns one row per circle: ``circle_id`` and one column per dimension id.
    """
    out = pd.DataFrame({"circle_id": evaluation["circle_id"].to_numpy()})
    for d in sheet.dimensions:
        cols = [i.id for i in sheet.indicators if i.dimension == d.id and i.id in evaluation]
        out[d.id] = evaluation[cols].sum(axis=1, min_count=1).to_numpy() if cols else np.nan
    return out
