"""满意度调查: resident satisfaction survey definition, responses and satisfaction rates.

The MOFCOM 满意度调查表 itself is not available (standards.md §4), so the bundled survey is a
proposal (P): a 5-point scale 满意 / 比较满意 / 一般 / 不太满意 / 不满意 (common Chinese
public-service survey practice), 不清楚 excluded from the valid answers, and the satisfaction rate
``(满意 + 比较满意) / valid answers`` (top-2-box) against the ≥ 90 % target that every MOFCOM
document states (V2).  A 4-point preset (满意 / 基本满意 / 不太满意 / 不满意, 济南 2022, V2) ships
too; a city writes its own TOML file (it may ``extends = "default"`` and replace any table).

Examples
--------
>>> import pandas as pd
>>> survey = load_survey()
>>> survey.labels, survey.satisfied_values, survey.target
(('满意', '比较满意', '一般', '不太满意', '不满意'), (5, 4), 0.9)
>>> answers = pd.DataFrame({"circle_id": ["A", "A", "A", "B"],
...                         "overall": ["满意", 4, "不清楚", "一般"]})
>>> rates = satisfaction_by_circle(read_responses(answers, survey), survey)
>>> rates[["circle_id", "n_valid", "n_satisfied", "rate"]].to_string(index=False)
'circle_id  n_valid  n_satisfied     rate\\n        A        2            2 1.000000\\n        B        1            0 0.000000\\n     city        3            2 0.666667'
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from lifecircle.assess._io import (
    CITY,
    DATA_DIR,
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
    "SURVEY_PRESETS",
    "Z_95",
    "Question",
    "Survey",
    "load_survey",
    "read_responses",
    "satisfaction_by_circle",
    "wilson_interval",
]

logger = logging.getLogger(__name__)

#: Two-sided 95 % standard-normal quantile used by the Wilson interval.
Z_95 = 1.959964
#: Bundled survey definitions: name → file in ``lifecircle/assess/data``.
SURVEY_PRESETS: Mapping[str, str] = MappingProxyType(
    {"default": "survey_default.toml", "four_point": "survey_four_point.toml"}
)
#: Columns of a responses table that are not questions (matched case- and space-insensitively).
RESPONSE_META_COLUMNS = (
    "respondent_id",
    "respondent",
    "response_id",
    "id",
    "编号",
    "问卷编号",
    "序号",
    "date",
    "日期",
    "time",
    "时间",
    "timestamp",
    "提交时间",
    "district",
    "区",
    "区县",
    "street",
    "街道",
    "community",
    "社区",
    "小区",
    "comment",
    "comments",
    "备注",
    "意见建议",
    "note",
    "row",
)

_TOP_KEYS = (
    "version",
    "name_zh",
    "name_en",
    "note",
    "extends",
    "scale",
    "not_applicable",
    "satisfied",
    "target",
    "questions",
    "question",
)
_SCALE_KEYS = ("labels", "labels_en", "values", "aliases", "source", "confidence")
_QUESTION_KEYS = ("id", "text_zh", "text_en", "overall")


@dataclass(frozen=True)
class Question:
    """One survey question (item).

    Attributes
    ----------
    id
        Column name of the question in a responses table (``"overall"``).
    text_zh, text_en
        The question as asked, Chinese and English; a responses column may also be named by
        ``text_zh``.
    overall
        True for the 总体满意度 question used by default for the satisfaction rate.
    """

    id: str
    text_zh: str
    text_en: str
    overall: bool = False


@dataclass(frozen=True)
class Survey:
    """A satisfaction survey definition; build it with :func:`load_survey`.

    Attributes
    ----------
    version
        Version of the definition file.
    name_zh, name_en
        Title of the survey.
    questions
        The questions, in order.
    scale
        Answer label → value, best first (满意 → 5 ... 不满意 → 1).
    scale_en
        Value → English label.
    aliases
        Other accepted labels → value (e.g. 较不满意 → 2).
    not_applicable
        Labels meaning "cannot judge" (不清楚); such answers, like blanks, are not valid answers.
    satisfied_values
        Values counted as satisfied (top-2-box: 5 and 4).
    target
        Target satisfaction rate (0.90).
    provenance
        Source and confidence of ``questions``, ``scale``, ``not_applicable``, ``satisfied``
        and ``target``.
    file
        The file read (``None`` for a definition built in code).
    """

    version: str
    name_zh: str
    name_en: str
    questions: tuple[Question, ...]
    scale: Mapping[str, int]
    scale_en: Mapping[int, str]
    satisfied_values: tuple[int, ...]
    target: float
    not_applicable: tuple[str, ...] = ()
    aliases: Mapping[str, int] = field(default_factory=dict)
    provenance: Mapping[str, Provenance] = field(default_factory=dict)
    file: str | None = None

    @property
    def labels(self) -> tuple[str, ...]:
        """Answer labels, best first."""
        return tuple(self.scale)

    @property
    def values(self) -> tuple[int, ...]:
        """Answer values, best first."""
        return tuple(self.scale.values())

    @property
    def overall_question(self) -> Question | None:
        """The 总体满意度 question, if the survey has one."""
        return next((q for q in self.questions if q.overall), None)

    def question(self, id_or_text: str) -> Question | None:
        """The question with this id or Chinese text (whitespace and width do not matter)."""
        key = norm_text(id_or_text)
        for q in self.questions:
            if key in (norm_text(q.id), norm_text(q.text_zh)):
                return q
        return None

    def describe_scale(self) -> str:
        """The scale as text, e.g. ``满意=5, 比较满意=4, ...``."""
        return ", ".join(f"{label}={value}" for label, value in self.scale.items())

    def answer_lookup(self) -> dict[str, int | None]:
        """Normalised answer text → value (``None`` for not-applicable labels)."""
        lookup: dict[str, int | None] = {}
        for label, value in (*self.scale.items(), *self.aliases.items()):
            lookup[norm_text(label)] = value
            lookup[norm_text(str(value))] = value
            lookup[norm_text(f"{value}.0")] = value
        for label in self.not_applicable:
            lookup[norm_text(label)] = None
        return lookup


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


def load_survey(path: str | os.PathLike[str] | None = None, *, preset: str = "default") -> Survey:
    """Load and validate a satisfaction survey definition (TOML).

    Parameters
    ----------
    path
        A survey TOML file (or the name of a bundled preset); ``None`` loads the bundled
        preset named by ``preset``.  The file
        has ``version``, ``name_zh``/``name_en``, ``[scale]`` (``labels`` best first,
        ``values``, ``labels_en``, ``aliases``), ``[not_applicable]`` (``labels``),
        ``[satisfied]`` (``values``), ``[target]`` (``value``), ``[questions]`` and
        ``[[question]]`` tables (``id, text_zh, text_en, overall``); every table of settings
        carries ``source`` and ``confidence``.  With ``extends = "<preset>"`` the file takes
        every table it does not write from that preset (a table it writes replaces the
        preset's table whole).
    preset
        ``"default"`` (5-point scale 满意/比较满意/一般/不太满意/不满意, P; target 0.90, V2) or
        ``"four_point"`` (满意/基本满意/不太满意/不满意 as in 济南 2022, V2; satisfied = 满意 +
        基本满意).

    Returns
    -------
    Survey

    Raises
    ------
    InputError
        Listing every problem with the file and the field (e.g. ``question[3].id``):
        unknown keys, labels and values of different lengths, duplicate labels/values/question
        ids, satisfied values not on the scale, a target outside (0, 1], several overall
        questions, an unknown preset.

    Examples
    --------
    >>> four = load_survey(preset="four_point")
    >>> four.describe_scale(), four.satisfied_values
    ('满意=4, 基本满意=3, 不太满意=2, 不满意=1', (4, 3))
    >>> four.provenance["scale"].confidence
    'V2'
    """
    if path is None:
        file = _preset_path(preset)
    elif str(path) in SURVEY_PRESETS and not Path(path).exists():
        file = _preset_path(str(path))  # a preset named where a path is expected (CLI)
    else:
        file = Path(path)
    return _load(file, seen=())


def _preset_path(name: str) -> Path:
    if name not in SURVEY_PRESETS:
        raise InputError(
            Problem(
                f"unknown survey preset {name!r}",
                field="preset",
                fix=f"use one of {', '.join(SURVEY_PRESETS)} or give a TOML file",
            ),
            "survey",
        )
    return DATA_DIR / SURVEY_PRESETS[name]


def _load(file: Path, seen: tuple[str, ...]) -> Survey:
    label = str(file)
    doc = read_toml(file, "survey")
    problems = Problems(file=label)
    check_keys(doc, _TOP_KEYS, label, "", problems)
    extends = doc.get("extends")
    if extends is not None:
        if not isinstance(extends, str) or extends not in SURVEY_PRESETS:
            problems.add(
                f"extends must name a bundled survey preset, got {extends!r}",
                field="extends",
                fix=f"write extends = one of {', '.join(repr(p) for p in SURVEY_PRESETS)}",
            )
        elif extends in seen:
            problems.add(
                f"extends {extends!r} loops back on itself",
                field="extends",
                fix="remove the extends key",
            )
        else:
            base = read_toml(_preset_path(extends), "survey")
            merged = {k: v for k, v in base.items() if k != "extends"}
            merged.update({k: v for k, v in doc.items() if k != "extends"})
            if "question" in doc and "questions" not in doc:
                merged.pop("questions", None)
            doc = merged
    survey = _parse(doc, label, problems)
    problems.raise_if_any("survey")
    return survey


def _parse(doc: dict[str, Any], label: str, problems: Problems) -> Survey:
    version = text_value(doc, "version", "", problems, default="?")
    name_zh = text_value(doc, "name_zh", "", problems, required=False, default="满意度调查")
    name_en = text_value(
        doc, "name_en", "", problems, required=False, default="Satisfaction survey"
    )
    prov: dict[str, Provenance] = {}

    # scale ----------------------------------------------------------------------------------
    scale: dict[str, int] = {}
    scale_en: dict[int, str] = {}
    aliases: dict[str, int] = {}
    raw_scale = doc.get("scale")
    if not isinstance(raw_scale, dict):
        problems.add(
            "[scale] table is missing",
            field="scale",
            fix='write [scale] with labels = ["满意", ...] and values = [5, ...]',
        )
    else:
        check_keys(raw_scale, _SCALE_KEYS, label, "scale", problems)
        prov["scale"] = provenance(raw_scale, "scale", problems)
        scale, scale_en, aliases = _parse_scale(raw_scale, problems)

    # not applicable -------------------------------------------------------------------------
    not_applicable: tuple[str, ...] = ()
    raw_na = doc.get("not_applicable")
    if raw_na is not None:
        if not isinstance(raw_na, dict):
            problems.add(
                "not_applicable must be a table",
                field="not_applicable",
                fix='write [not_applicable] labels = ["不清楚"]',
            )
        else:
            check_keys(
                raw_na, ("labels", "source", "confidence"), label, "not_applicable", problems
            )
            prov["not_applicable"] = provenance(raw_na, "not_applicable", problems)
            labels = raw_na.get("labels", [])
            if not isinstance(labels, list) or not all(
                isinstance(x, str) and x.strip() for x in labels
            ):
                problems.add(
                    f"labels must be a list of texts, got {labels!r}",
                    field="not_applicable.labels",
                    fix='write labels = ["不清楚"]',
                )
            else:
                not_applicable = tuple(x.strip() for x in labels)
                clash = [
                    x
                    for x in not_applicable
                    if norm_text(x) in {norm_text(s) for s in (*scale, *aliases)}
                ]
                if clash:
                    problems.add(
                        f"{', '.join(clash)} are both scale answers and not-applicable answers",
                        field="not_applicable.labels",
                        fix="list each label in one place only",
                    )

    # satisfied ------------------------------------------------------------------------------
    satisfied: tuple[int, ...] = ()
    raw_sat = doc.get("satisfied")
    if not isinstance(raw_sat, dict):
        problems.add(
            "[satisfied] table is missing",
            field="satisfied",
            fix="write [satisfied] values = [5, 4] (the values counted as satisfied)",
        )
    else:
        check_keys(raw_sat, ("values", "source", "confidence"), label, "satisfied", problems)
        prov["satisfied"] = provenance(raw_sat, "satisfied", problems)
        values = raw_sat.get("values")
        if (
            not isinstance(values, list)
            or not values
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in values)
        ):
            problems.add(
                f"values must be a non-empty list of whole numbers, got {values!r}",
                field="satisfied.values",
                fix="write values = [5, 4]",
            )
        else:
            off = [v for v in values if scale and v not in scale.values()]
            if off:
                problems.add(
                    f"satisfied values {off} are not values of the scale "
                    f"({', '.join(str(v) for v in scale.values())})",
                    field="satisfied.values",
                    fix="list values of [scale] values",
                )
            elif scale and len(set(values)) == len(scale):
                problems.add(
                    "every answer counts as satisfied, so the rate is always 100 %",
                    field="satisfied.values",
                    fix="list only the satisfied answers' values (top-2-box: [5, 4])",
                )
            satisfied = tuple(sorted(set(values), reverse=True))

    # target ---------------------------------------------------------------------------------
    target = 0.9
    raw_target = doc.get("target")
    if not isinstance(raw_target, dict):
        problems.add(
            "[target] table is missing",
            field="target",
            fix="write [target] value = 0.90 with source and confidence",
        )
    else:
        check_keys(raw_target, ("value", "source", "confidence"), label, "target", problems)
        prov["target"] = provenance(raw_target, "target", problems)
        value = raw_target.get("value")
        if not is_number(value) or not 0 < float(value) <= 1:
            problems.add(
                f"target value must be a share in (0, 1], got {value!r}",
                field="target.value",
                fix="write value = 0.90 (a share, not a percentage)",
            )
        else:
            target = float(value)

    # questions ------------------------------------------------------------------------------
    raw_meta = doc.get("questions")
    if isinstance(raw_meta, dict):
        check_keys(raw_meta, ("source", "confidence"), label, "questions", problems)
        prov["questions"] = provenance(raw_meta, "questions", problems)
    elif raw_meta is not None:
        problems.add(
            "questions must be a table with source and confidence",
            field="questions",
            fix='write [questions] source = "..." confidence = "P"',
        )
    questions = _parse_questions(doc.get("question"), problems)

    return Survey(
        version=version,
        name_zh=name_zh,
        name_en=name_en,
        questions=questions,
        scale=MappingProxyType(scale),
        scale_en=MappingProxyType(scale_en),
        satisfied_values=satisfied,
        target=target,
        not_applicable=not_applicable,
        aliases=MappingProxyType(aliases),
        provenance=MappingProxyType(prov),
        file=label,
    )


def _parse_scale(
    raw: dict[str, Any], problems: Problems
) -> tuple[dict[str, int], dict[int, str], dict[str, int]]:
    labels = raw.get("labels")
    values = raw.get("values")
    labels_en = raw.get("labels_en")
    ok = True
    if (
        not isinstance(labels, list)
        or len(labels) < 2
        or not all(isinstance(x, str) and x.strip() for x in labels)
    ):
        problems.add(
            f"labels must be a list of at least two answer texts, got {labels!r}",
            field="scale.labels",
            fix='write labels = ["满意", "比较满意", "一般", "不太满意", "不满意"] (best first)',
        )
        ok = False
    if (
        not isinstance(values, list)
        or not values
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in values)
    ):
        problems.add(
            f"values must be a list of whole numbers, got {values!r}",
            field="scale.values",
            fix="write values = [5, 4, 3, 2, 1] (one per label, best first)",
        )
        ok = False
    if not ok or not isinstance(labels, list) or not isinstance(values, list):
        return {}, {}, {}
    if len(labels) != len(values):
        problems.add(
            f"{len(labels)} labels but {len(values)} values",
            field="scale.values",
            fix="give one value per label, in the same order",
        )
        return {}, {}, {}
    if len({norm_text(x) for x in labels}) != len(labels):
        problems.add(
            f"duplicate labels in {labels}",
            field="scale.labels",
            fix="give each answer once",
        )
    if len(set(values)) != len(values):
        problems.add(
            f"duplicate values in {values}", field="scale.values", fix="give each answer a value"
        )
    elif values != sorted(values, reverse=True):
        problems.add(
            f"values {values} are not in descending order (labels go best first)",
            field="scale.values",
            fix="list labels and values from the best answer (满意) to the worst",
        )
    scale = {x.strip(): int(v) for x, v in zip(labels, values, strict=True)}
    scale_en: dict[int, str] = {}
    if labels_en is not None:
        if (
            not isinstance(labels_en, list)
            or len(labels_en) != len(labels)
            or not all(isinstance(x, str) for x in labels_en)
        ):
            problems.add(
                f"labels_en must be a list of {len(labels)} texts, got {labels_en!r}",
                field="scale.labels_en",
                fix="give one English label per Chinese label, in the same order",
            )
        else:
            scale_en = {int(v): x for v, x in zip(values, labels_en, strict=True)}
    aliases: dict[str, int] = {}
    raw_aliases = raw.get("aliases", {})
    if not isinstance(raw_aliases, dict):
        problems.add(
            "aliases must be a table of label = value",
            field="scale.aliases",
            fix='write aliases = { "较不满意" = 2 }',
        )
    else:
        for name, value in raw_aliases.items():
            if not isinstance(value, int) or isinstance(value, bool) or value not in values:
                problems.add(
                    f"alias {name!r} = {value!r} is not a value of the scale",
                    field=f"scale.aliases.{name}",
                    fix=f"use one of {', '.join(str(v) for v in values)}",
                )
            elif norm_text(name) in {norm_text(x) for x in labels}:
                problems.add(
                    f"alias {name!r} is already a label",
                    field=f"scale.aliases.{name}",
                    fix="remove the alias",
                )
            else:
                aliases[str(name)] = int(value)
    return scale, scale_en, aliases


def _parse_questions(raw: Any, problems: Problems) -> tuple[Question, ...]:
    if not isinstance(raw, list) or not raw:
        problems.add(
            "no [[question]] tables",
            field="question",
            fix='write one [[question]] table per item: id = "overall", text_zh = "...", '
            'text_en = "..."',
        )
        return ()
    questions: list[Question] = []
    seen: dict[str, int] = {}
    overall: list[str] = []
    for i, item in enumerate(raw, start=1):
        where = f"question[{i}]"
        if not isinstance(item, dict):
            problems.add("is not a table", field=where, fix="write [[question]] tables")
            continue
        check_keys(item, _QUESTION_KEYS, "", where, problems)
        qid = text_value(item, "id", where, problems)
        if qid and any(ch.isspace() for ch in qid):
            problems.add(
                f"id {qid!r} contains spaces",
                field=f"{where}.id",
                fix="use a column-name-like id, e.g. overall_satisfaction",
            )
        text_zh = text_value(item, "text_zh", where, problems)
        text_en = text_value(item, "text_en", where, problems, required=False, default=text_zh)
        is_overall = item.get("overall", False)
        if not isinstance(is_overall, bool):
            problems.add(
                f"overall must be true or false, got {is_overall!r}",
                field=f"{where}.overall",
                fix="write overall = true for the 总体满意度 question only",
            )
            is_overall = False
        for key in {norm_text(qid), norm_text(text_zh)} - {""}:
            if key in seen and seen[key] != i:
                problems.add(
                    f"question {qid!r} repeats the id or text of question[{seen[key]}]",
                    field=f"{where}.id",
                    fix="give every question its own id and text",
                )
            seen.setdefault(key, i)
        if is_overall:
            overall.append(qid)
        questions.append(Question(qid, text_zh, text_en, is_overall))
    if len(overall) > 1:
        problems.add(
            f"{len(overall)} questions are marked overall ({', '.join(overall)})",
            field="question.overall",
            fix="mark only the 总体满意度 question with overall = true",
        )
    return tuple(questions)


# --------------------------------------------------------------------------------------------
# Responses
# --------------------------------------------------------------------------------------------


def read_responses(
    source: str | os.PathLike[str] | pd.DataFrame,
    survey: Survey,
    *,
    circle_column: str = "circle_id",
    known_circles: Iterable[object] | None = None,
    extra_columns: Sequence[str] = (),
    encoding: str | None = None,
    sheet: str | int = 0,
) -> pd.DataFrame:
    """Read and validate survey responses (one row per respondent).

    Parameters
    ----------
    source
        A CSV (UTF-8; ``encoding="gbk"`` for Chinese Excel/WPS exports) or Excel file
        (``.xlsx``), or a DataFrame: a circle id column and one column per question, named by
        the question's ``id`` or its Chinese text.  Answers are values (5, 4, ...) or labels
        (满意, 比较满意, ..., aliases such as 较不满意); 不清楚 and blanks are kept as missing.
        Columns listed in :data:`RESPONSE_META_COLUMNS` (respondent id, date, district,
        comments, ...) and in ``extra_columns`` are kept as they are.
    survey
        The survey definition (:func:`load_survey`).
    circle_column
        Column holding each respondent's life-circle id.
    known_circles
        Ids of the circles being assessed; ids not among them are errors.
    extra_columns
        Further columns that are not questions.
    encoding
        Text encoding of a CSV file.
    sheet
        Sheet of an Excel workbook (name or 0-based position).

    Returns
    -------
    pandas.DataFrame
        ``circle_id`` (str), ``row`` (1-based data row of the source), the meta/extra columns,
        then one ``Int64`` column per question found (named by question id; ``<NA>`` for blank
        and not-applicable answers), in survey order.  ``attrs``: ``source_file``,
        ``survey_version``, ``questions``, ``n_not_applicable`` (per question).

    Raises
    ------
    InputError
        Listing every problem with file, row and field: an empty or undecodable file, a
        missing circle id column, blank circle ids, ids not in ``known_circles``, columns that
        are not questions, no question column at all, answers outside the scale.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"circle_id": ["A", "B"], "总体满意度": ["比较满意", "不清楚"]})
    >>> read_responses(frame, load_survey())["overall"].tolist()
    [4, <NA>]
    """
    table = read_sheet(source, what="responses", encoding=encoding, sheet=sheet)
    frame = table.frame
    problems = Problems(file=table.file)
    ids = read_circle_ids(
        table, circle_column, problems, known_circles=known_circles, what="responses"
    )
    circle_col = t.find_column(frame.columns, [circle_column])

    meta_norm = {norm_text(c) for c in (*RESPONSE_META_COLUMNS, *extra_columns)}
    question_cols: dict[str, str] = {}  # question id -> column
    keep_cols: list[str] = []
    for col in frame.columns:
        if col == circle_col:
            continue
        if norm_text(col) in meta_norm:
            keep_cols.append(col)
            continue
        q = survey.question(col)
        if q is None:
            problems.add(
                f"column {col!r} is not a question of survey {survey.version}",
                field=col,
                fix="rename it to a question id ("
                + ", ".join(q.id for q in survey.questions[:20])
                + "), or pass extra_columns=[...] to keep it as a non-question column",
            )
            continue
        if q.id in question_cols:
            problems.add(
                f"columns {question_cols[q.id]!r} and {col!r} both hold question {q.id!r}",
                field=col,
                fix="keep one column per question",
            )
            continue
        question_cols[q.id] = col
    if not question_cols and not problems.items:
        problems.add(
            "no question columns",
            fix="name the answer columns by question id ("
            + ", ".join(q.id for q in survey.questions[:20])
            + ") or by the questions' Chinese text",
        )

    lookup = survey.answer_lookup()
    expected = survey.describe_scale() + (
        f", or {'/'.join(survey.not_applicable)}" if survey.not_applicable else ""
    )
    answers: dict[str, pd.Series] = {}
    n_na: dict[str, int] = {}
    for qid, col in question_cols.items():
        values, bad, not_applicable = _parse_answers(frame[col], lookup)
        if bad.any():
            cells = frame[col].to_numpy(dtype=object)[bad]
            t.add_row_problems(
                problems,
                table.rows[bad],
                [
                    f"answer {c!r} is not on the scale (expected {expected}, or blank)"
                    for c in cells
                ],
                field=col,
                fix="correct the answer, or leave it blank if the respondent gave none",
            )
        answers[qid] = values
        n_na[qid] = int(not_applicable.sum())
    problems.raise_if_any("survey responses")
    if ids is None:  # pragma: no cover - a missing column is a recorded problem
        raise InputError(Problem("no circle ids", file=table.file), "survey responses")

    out = pd.DataFrame({"circle_id": ids.astype(str), "row": table.rows.astype(np.int64)})
    for col in keep_cols:
        out[col] = frame[col].to_numpy()
    order = [q.id for q in survey.questions if q.id in answers]
    for qid in order:
        out[qid] = answers[qid].to_numpy()
        out[qid] = out[qid].astype("Int64")
    out.attrs.update(
        {
            "source_file": table.file,
            "survey_version": survey.version,
            "questions": order,
            "n_not_applicable": n_na,
        }
    )
    logger.info(
        "%s: %d responses from %d circles, questions %s",
        table.file,
        len(out),
        out["circle_id"].nunique(),
        ", ".join(order),
    )
    return out


def _parse_answers(
    cells: pd.Series, lookup: Mapping[str, int | None]
) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """Answer values (Int64), a mask of answers off the scale and one of not-applicable ones."""
    missing = t.is_missing(cells)
    keys = cells.astype(object).where(~missing, "").map(norm_text)
    known = keys.isin(list(lookup)).to_numpy()
    mapped = pd.to_numeric(keys.map(lookup), errors="coerce")
    not_applicable = known & mapped.isna().to_numpy()
    bad = ~missing & ~known
    values = mapped.where(known).astype("Int64")
    return values, bad, not_applicable


# --------------------------------------------------------------------------------------------
# Rates
# --------------------------------------------------------------------------------------------


def wilson_interval(
    successes: float | np.ndarray | Sequence[float],
    n: float | np.ndarray | Sequence[float],
    z: float = Z_95,
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a binomial proportion.

    ``centre = (p + z²/2n) / (1 + z²/n)`` and
    ``half = z / (1 + z²/n) · sqrt(p(1 − p)/n + z²/4n²)`` with ``p = successes / n``
    (Wilson 1927).  Unlike the normal (Wald) interval it stays inside [0, 1] and is usable for
    small samples and for rates of 0 or 1.

    Parameters
    ----------
    successes, n
        Counts (scalars or arrays of the same shape); ``n = 0`` gives NaN.
    z
        Standard-normal quantile: 1.959964 for a two-sided 95 % interval.

    Returns
    -------
    low, high
        Float arrays (0-d for scalar input).

    Examples
    --------
    >>> low, high = wilson_interval(45, 50)
    >>> round(float(low), 4), round(float(high), 4)
    (0.7864, 0.9565)
    >>> [round(float(x), 4) for x in wilson_interval(10, 10)]
    [0.7225, 1.0]
    """
    k = np.asarray(successes, dtype=np.float64)
    m = np.asarray(n, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / m
        z2 = z * z
        denom = 1.0 + z2 / m
        centre = (p + z2 / (2.0 * m)) / denom
        half = (z / denom) * np.sqrt(np.maximum(p * (1.0 - p) / m + z2 / (4.0 * m * m), 0.0))
        # exact bounds at p = 0 and p = 1 (the formula gives them up to rounding)
        low = np.where(k <= 0, 0.0, np.clip(centre - half, 0.0, 1.0))
        high = np.where(k >= m, 1.0, np.clip(centre + half, 0.0, 1.0))
        low = np.where(m > 0, low, np.nan)
        high = np.where(m > 0, high, np.nan)
    return low, high


def satisfaction_by_circle(
    responses: pd.DataFrame,
    survey: Survey,
    *,
    question: str | None = None,
    target: float | None = None,
    circles: Iterable[object] | None = None,
    z: float = Z_95,
) -> pd.DataFrame:
    """Satisfaction rate per circle and for the whole city, with 95 % Wilson intervals.

    ``rate = n_satisfied / n_valid`` where ``n_valid`` counts answers on the scale (blanks and
    不清楚 excluded) and ``n_satisfied`` those whose value is in ``survey.satisfied_values``
    (满意 + 比较满意 on the default scale).

    Parameters
    ----------
    responses
        As returned by :func:`read_responses` (a raw table is read with it first).
    survey
        The survey definition.
    question
        The question to rate: a question id or Chinese text; ``None`` uses the survey's overall
        question (总体满意度) when the responses have it, otherwise pools every question's answers
        (``"all"`` forces pooling).  Pooled answers of one respondent are not independent, so
        the pooled interval is too narrow; prefer the overall question.
    target
        Target rate; ``None`` uses ``survey.target`` (0.90).
    circles
        Circle ids to list even when they have no response (their row has ``n_valid = 0`` and
        NaN rates).
    z
        Quantile of the interval (1.959964 = 95 %).

    Returns
    -------
    pandas.DataFrame
        One row per circle (sorted by id) and a last row ``circle_id = "city"`` for all
        responses: ``circle_id, n_valid, n_satisfied, rate, ci_low, ci_high, below_target,
        significantly_below``.  ``below_target`` is judged on the point estimate (``rate <
        target``); ``significantly_below`` when the whole interval lies below the target
        (``ci_high < target``); both are ``<NA>`` where ``n_valid = 0``.  ``attrs``:
        ``question`` (the id or ``"all"``), ``target``, ``survey_version``.

    Raises
    ------
    InputError
        ``question`` is not a question of the survey or not in the responses.
    """
    if "circle_id" not in responses.columns or not any(
        q.id in responses.columns for q in survey.questions
    ):
        responses = read_responses(responses, survey)
    present = [q.id for q in survey.questions if q.id in responses.columns]
    used = _choose_questions(question, survey, present)
    tgt = survey.target if target is None else float(target)
    if not 0 < tgt <= 1:
        raise InputError(
            Problem(
                f"target must be a share in (0, 1], got {target!r}",
                field="target",
                fix="write e.g. 0.9 (not 90)",
            ),
            "satisfaction target",
        )
    values = responses[used].to_numpy(dtype=np.float64, na_value=np.nan)
    valid = ~np.isnan(values)
    satisfied = valid & np.isin(values, np.asarray(survey.satisfied_values, dtype=np.float64))
    per = pd.DataFrame(
        {
            "circle_id": responses["circle_id"].astype(str).to_numpy(),
            "n_valid": valid.sum(axis=1),
            "n_satisfied": satisfied.sum(axis=1),
        }
    )
    grouped = per.groupby("circle_id", sort=True)[["n_valid", "n_satisfied"]].sum()
    if circles is not None:
        extra = sorted({str(c) for c in circles} - set(grouped.index))
        if extra:
            grouped = pd.concat(
                [grouped, pd.DataFrame(0, index=pd.Index(extra), columns=grouped.columns)]
            ).sort_index()
    grouped.loc[CITY] = [int(per["n_valid"].sum()), int(per["n_satisfied"].sum())]
    out = grouped.reset_index(names="circle_id")
    out["n_valid"] = out["n_valid"].astype(np.int64)
    out["n_satisfied"] = out["n_satisfied"].astype(np.int64)
    out = _add_rates(out, tgt, z)
    out.attrs.update(
        {
            "question": used[0] if len(used) == 1 else "all",
            "target": tgt,
            "survey_version": survey.version,
        }
    )
    return out


def _add_rates(frame: pd.DataFrame, target: float, z: float) -> pd.DataFrame:
    """Add ``rate, ci_low, ci_high, below_target, significantly_below`` from the counts."""
    n = frame["n_valid"].to_numpy(dtype=np.float64)
    k = frame["n_satisfied"].to_numpy(dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(n > 0, k / n, np.nan)
    low, high = wilson_interval(k, n, z)
    frame = frame.copy()
    frame["rate"] = rate
    frame["ci_low"] = low
    frame["ci_high"] = high
    has = n > 0
    frame["below_target"] = pd.array(
        [bool(r < target) if h else None for r, h in zip(rate, has, strict=True)], dtype="boolean"
    )
    frame["significantly_below"] = pd.array(
        [bool(c < target) if h else None for c, h in zip(high, has, strict=True)],
        dtype="boolean",
    )
    return frame


def _choose_questions(question: str | None, survey: Survey, present: list[str]) -> list[str]:
    if not present:
        raise InputError(
            Problem(
                "the responses have no question column of this survey",
                field="question",
                fix="read the responses with read_responses(path, survey)",
            ),
            "survey responses",
        )
    if question is None:
        overall = survey.overall_question
        if overall is not None and overall.id in present:
            return [overall.id]
        logger.info("no overall question in the responses; pooling %s", ", ".join(present))
        return present
    if question == "all":
        return present
    q = survey.question(question)
    if q is None or q.id not in present:
        raise InputError(
            Problem(
                f"question {question!r} is "
                + ("not a question of the survey" if q is None else "not in the responses"),
                field="question",
                fix=f"use one of {', '.join(present)}, 'all' or None (overall question)",
            ),
            "survey question",
        )
    return [q.id]
