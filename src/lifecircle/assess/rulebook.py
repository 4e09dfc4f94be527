"""The grading rulebook: which 业态 a life circle needs for 基础型 / 提升型 / 品质型.

A rulebook is a TOML file (``data/rulebook_default.toml`` and presets beside it) holding, for each
grade, the must-have 业态 (alternative groups such as 一店 = 便利店 or 综合超市), the minimum numbers
of distinct 基本保障类 and 品质提升类 业态, the household-coverage share that counts as "has it",
and optional evaluation-score and satisfaction thresholds.  Every rule carries its ``source`` and
``confidence`` tag (standards.md §0: V1, V2, R, A, U, P; ``city`` for a city's own setting).

A city file overrides any part of the rulebook it ``extends`` (``"default"`` unless it says
otherwise): tables merge key by key; a rule, a list or a value is replaced as a whole.  The loader
validates the result and reports every problem at once (file, line, field and the fix): unknown
keys, wrong types, unknown 业态 (with close names), bad bands, and contradictory grades (a higher
grade demanding less than a lower one).

Examples
--------
>>> from lifecircle.assess import load_rulebook
>>> book = load_rulebook()
>>> [g.grade for g in book.grades]
['基础型', '提升型', '品质型']
>>> book.coverage_share, book.grade("品质型").min_quality
(0.8, 10)
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import math
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import pandas as pd

from lifecircle._toml import LineIndex, at_line
from lifecircle.assess.attributes import (
    ATTRIBUTE_SEP,
    OutletAttribute,
    parse_attributes,
    split_code,
)
from lifecircle.assess.model import GRADE_EN, GRADES
from lifecircle.errors import InputError, Problem

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

if TYPE_CHECKING:
    from lifecircle.taxonomy import Catalogue

__all__ = [
    "CONFIDENCE_TAGS",
    "PRESETS",
    "GradeRules",
    "Rule",
    "Rulebook",
    "load_rulebook",
]

log = logging.getLogger(__name__)

#: Confidence tags a rule may carry: standards.md §0 plus ``city`` (a city's own decision).
CONFIDENCE_TAGS = frozenset({"V1", "V2", "R", "A", "U", "P", "city"})
#: Bundled rulebooks: name → file in ``lifecircle/assess/data``.
PRESETS: Mapping[str, str] = MappingProxyType(
    {
        "default": "rulebook_default.toml",
        "shanxi_star": "rulebook_shanxi_star.toml",
        "beijing_8": "rulebook_beijing_8.toml",
    }
)

_TOP_KEYS = ("version", "extends", "meta", "coverage_share", "grade", "attributes")
_RULE_KEYS = (
    "must_have",
    "must_have_within_min",
    "min_basic",
    "min_quality",
    "coverage_share",
    "evaluation_min",
    "satisfaction_min",
    "require_evaluation",
    "require_satisfaction",
)
_GRADE_TEXT_KEYS = ("label", "label_en", "note")
_RULE_FIELDS = ("value", "share", "source", "confidence", "note")
_REQUIRED_RULES = ("must_have", "min_basic", "min_quality")
#: English names accepted for the grade tables.
_GRADE_ALIASES = {**{g: g for g in GRADES}, **{GRADE_EN[g]: g for g in GRADES}}
_ORIGIN = "_origin"  # private key: (file, line) of a rule or table in the merged document


@dataclass(frozen=True)
class Rule:
    """One rule with its provenance.

    Attributes
    ----------
    value
        The value in force (a count is already scaled to the catalogue).
    source
        Where it comes from (document, section of standards.md).
    confidence
        V1, V2, R, A, U, P (standards.md §0) or ``city``.
    file, line
        Where it was written.
    note
        How a share was turned into a count, or a remark of the file.
    """

    value: Any
    source: str
    confidence: str
    file: str | None = None
    line: int | None = None
    note: str | None = None


@dataclass(frozen=True)
class GradeRules:
    """The rules of one grade (all must hold; grades are cumulative).

    Attributes
    ----------
    grade
        基础型, 提升型 or 品质型.
    label, label_en
        Display names (e.g. ``三星 ★★★`` in the Shanxi preset).
    must_have
        Groups of alternative 业态 codes; each group must be met.
    must_have_within_min
        Minutes for the must-haves, or ``None`` for each 业态's own band.
    min_basic, min_quality
        Distinct 基本保障类 / 品质提升类 业态 that must be present.
    coverage_share
        Share of households that must reach a 业态 within its band for it to count.
    evaluation_min
        Evaluation score (0–100) required, or ``None``.
    satisfaction_min
        Satisfaction rate (0–1) required, or ``None``.
    require_evaluation, require_satisfaction
        Whether a circle without a score / survey answers fails the grade.
    rules
        Rule key → :class:`Rule` (provenance of each value above).
    """

    grade: str
    label: str
    label_en: str
    must_have: tuple[tuple[str, ...], ...]
    must_have_within_min: float | None
    min_basic: int
    min_quality: int
    coverage_share: float
    evaluation_min: float | None
    satisfaction_min: float | None
    require_evaluation: bool
    require_satisfaction: bool
    rules: Mapping[str, Rule] = field(default_factory=dict)


@dataclass(frozen=True)
class Rulebook:
    """A validated grading rulebook; build it with :func:`load_rulebook`.

    Attributes
    ----------
    version
        Rulebook version (an override appends ``+<its version>``).
    meta
        The ``[meta]`` table (name, note, ``provisional`` …).
    coverage_share
        Default share of households that must reach a 业态 within its band.
    grades
        The grade rules, lowest first.
    catalogue_version
        Version of the 业态 catalogue the rulebook was validated against.
    files
        Files read, base first.
    sha256
        SHA-256 of the files' bytes (and of a dict override), in order: identifies the rules used.
    rules
        Top-level rules (``coverage_share``) with provenance.
    attributes
        Outlet attributes that must-haves may name (``fast_food+breakfast``), see
        :mod:`lifecircle.assess.attributes`.
    """

    version: str
    meta: Mapping[str, Any]
    coverage_share: float
    grades: tuple[GradeRules, ...]
    catalogue_version: str
    files: tuple[str, ...] = ()
    sha256: str = ""
    rules: Mapping[str, Rule] = field(default_factory=dict)
    attributes: Mapping[str, OutletAttribute] = field(default_factory=dict)

    def grade(self, name: str) -> GradeRules:
        """The rules of a grade by Chinese or English name (``基础型`` or ``basic``)."""
        key = _GRADE_ALIASES.get(name, name)
        for g in self.grades:
            if g.grade == key:
                return g
        raise KeyError(f"no grade {name!r}; grades: {', '.join(g.grade for g in self.grades)}")

    @property
    def provisional(self) -> bool:
        """True when any rule is a proposal (P) or unconfirmed (U): label results "provisional"."""
        tags = [r.confidence for r in self.rules.values()]
        tags += [r.confidence for g in self.grades for r in g.rules.values()]
        return bool(self.meta.get("provisional", False)) or any(t in ("P", "U") for t in tags)

    def derived_codes(self) -> list[str]:
        """Must-have alternatives that name an outlet attribute (``fast_food+breakfast``), in order.

        Examples
        --------
        >>> load_rulebook().derived_codes()
        ['fast_food+breakfast', 'convenience_store+breakfast_service']
        """
        codes = (c for g in self.grades for group in g.must_have for c in group)
        return list(dict.fromkeys(c for c in codes if ATTRIBUTE_SEP in c))

    def bands_min(self) -> set[float]:
        """Minutes asked for by ``must_have_within_min`` (besides the catalogue's bands)."""
        return {g.must_have_within_min for g in self.grades if g.must_have_within_min is not None}

    def to_frame(self) -> pd.DataFrame:
        """One row per rule: ``grade, rule, value, source, confidence, file, line, note``.

        Examples
        --------
        >>> frame = load_rulebook().to_frame()
        >>> frame.loc[frame["rule"] == "min_basic", ["grade", "value"]].values.tolist()
        [['基础型', 8], ['提升型', 12], ['品质型', 12]]
        """
        rows = [{"grade": "", "rule": key, **_rule_row(rule)} for key, rule in self.rules.items()]
        for g in self.grades:
            rows += [{"grade": g.grade, "rule": key, **_rule_row(r)} for key, r in g.rules.items()]
        return pd.DataFrame(
            rows, columns=["grade", "rule", "value", "source", "confidence", "file", "line", "note"]
        )


def _rule_row(rule: Rule) -> dict[str, Any]:
    value = rule.value
    if isinstance(value, tuple):
        value = "; ".join("|".join(group) for group in value)
    return {
        "value": value,
        "source": rule.source,
        "confidence": rule.confidence,
        "file": rule.file,
        "line": rule.line,
        "note": rule.note,
    }


# ---------------------------------------------------------------------------------------------
# loading


def load_rulebook(
    path: str | Path | None = None,
    *,
    preset: str | None = None,
    catalogue: Catalogue | None = None,
    overrides: str | Path | Mapping[str, Any] | None = None,
    max_minutes: float | None = None,
) -> Rulebook:
    """Load, merge and validate a grading rulebook.

    Parameters
    ----------
    path
        A rulebook TOML file.  It is merged over the rulebook named by its ``extends`` key
        (``"default"`` when absent; ``"none"`` for a complete rulebook; a preset name or a path
        relative to the file).
    preset
        Instead of ``path``: a bundled rulebook, one of :data:`PRESETS` (``default``,
        ``shanxi_star``, ``beijing_8``).  Neither given: ``default``.
    catalogue
        The 业态 catalogue that names are checked against and counts scaled to (default: the
        bundled catalogue).
    overrides
        A city file (path) or a mapping merged on top of everything else.
    max_minutes
        The access search radius in minutes: no rule may ask for more (default: the largest of
        15 and the catalogue's bands, which is what :func:`lifecircle.assess.assess_city`
        searches).

    Returns
    -------
    Rulebook

    Raises
    ------
    InputError
        Listing every problem (file, line, field and the fix).

    Examples
    --------
    >>> load_rulebook(preset="beijing_8").grade("基础型").must_have[3]
    ('housekeeping',)
    >>> book = load_rulebook(overrides={"grade": {"基础型": {"min_basic": 10}}})
    >>> rule = book.grade("基础型").rules["min_basic"]
    >>> rule.value, rule.confidence, rule.source
    (10, 'city', 'set in <overrides>')
    """
    from lifecircle.access import DEFAULT_BANDS_MIN
    from lifecircle.taxonomy import load_catalogue

    if catalogue is None:
        catalogue = load_catalogue()
    if max_minutes is None:
        max_minutes = max([*DEFAULT_BANDS_MIN, *catalogue.bands.values()])
    if path is not None and preset is not None:
        raise InputError(
            Problem(
                "both a rulebook file and a preset were given",
                field="preset",
                fix='give one; a file can name its base with extends = "<preset>"',
            ),
            "rulebook",
        )
    problems: list[Problem] = []
    files: list[str] = []
    digests: list[bytes] = []
    if path is not None:
        doc = _read_chain(Path(path), problems, files, digests, seen=())
    else:
        name = preset or "default"
        if name not in PRESETS:
            raise InputError(
                Problem(
                    f"unknown rulebook preset {name!r}",
                    field="preset",
                    fix=f"use one of {', '.join(PRESETS)} or give a file",
                ),
                "rulebook",
            )
        doc = _read_chain(_data_file(PRESETS[name]), problems, files, digests, seen=())
    if overrides is not None:
        if isinstance(overrides, Mapping):
            label = "<overrides>"
            digests.append(json.dumps(overrides, sort_keys=True, default=str).encode())
            top = _annotate({"version": "overrides", **overrides}, label, LineIndex(""), problems)
            files.append(label)
        else:
            ov = Path(overrides)
            top = _read_chain(ov, problems, files, digests, seen=(), base_default=False)
            label = str(ov)
        doc = _merge(doc, top)
    book = _build(doc, catalogue, float(max_minutes), problems)
    if problems or book is None:
        raise InputError(problems, "rulebook")
    sha = hashlib.sha256(b"\0".join(digests)).hexdigest()
    book = Rulebook(
        version=book.version,
        meta=book.meta,
        coverage_share=book.coverage_share,
        grades=book.grades,
        catalogue_version=catalogue.version,
        files=tuple(files),
        sha256=sha,
        rules=book.rules,
        attributes=book.attributes,
    )
    log.debug("rulebook %s from %s", book.version, ", ".join(files))
    return book


def _data_file(name: str) -> Path:
    return Path(str(resources.files("lifecircle.assess").joinpath("data", name)))


def _read_chain(
    path: Path,
    problems: list[Problem],
    files: list[str],
    digests: list[bytes],
    *,
    seen: tuple[str, ...],
    base_default: bool = True,
) -> dict[str, Any]:
    """Read ``path`` and, first, the rulebooks it extends; return the merged, annotated doc."""
    file = str(path)
    if not path.is_file():
        problems.append(
            Problem("rulebook file not found", file=file, fix="give the path of a TOML file")
        )
        return {}
    raw_bytes = path.read_bytes()
    try:
        text = raw_bytes.decode("utf-8")
        raw = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        problems.append(
            Problem(
                f"not valid TOML ({exc})",
                file=file,
                fix="check the syntax near the position given (quotes, brackets, commas); "
                'Chinese table names need quotes: [grade."基础型"]',
            )
        )
        return {}
    lines = LineIndex(text)
    extends = raw.pop("extends", "default" if base_default else "none")
    base: dict[str, Any] = {}
    if not isinstance(extends, str) or not extends.strip():
        problems.append(
            Problem(
                f"extends must be a preset name or a file name, got {extends!r}"
                + at_line(lines.find(("extends",))),
                file=file,
                field="extends",
                fix=f'write extends = "default" (or one of {", ".join(PRESETS)}, a path, "none")',
            )
        )
    elif extends != "none":
        target = _data_file(PRESETS[extends]) if extends in PRESETS else path.parent / extends
        key = str(target.resolve())
        if key in seen or key == str(path.resolve()):
            problems.append(
                Problem(
                    f"extends {extends!r} makes a cycle" + at_line(lines.find(("extends",))),
                    file=file,
                    field="extends",
                    fix='let the chain of extends end in a rulebook with extends = "none"',
                )
            )
        elif extends not in PRESETS and not target.is_file():
            problems.append(
                Problem(
                    f"extends {extends!r}: no such preset or file"
                    + at_line(lines.find(("extends",))),
                    file=file,
                    field="extends",
                    fix=f"use one of {', '.join(PRESETS)} or a path relative to this file",
                )
            )
        else:
            base = _read_chain(target, problems, files, digests, seen=(*seen, str(path.resolve())))
    files.append(file)
    digests.append(raw_bytes)
    if base and "version" not in raw:
        raw["version"] = path.stem
    return _merge(base, _annotate(raw, file, lines, problems))


def _annotate(
    raw: dict[str, Any], file: str, lines: LineIndex, problems: list[Problem]
) -> dict[str, Any]:
    """Turn a raw document into one whose rules are tables with provenance (``_origin``)."""
    doc: dict[str, Any] = {}
    for key, value in raw.items():
        if key == "coverage_share":
            doc[key] = _as_rule(value, file, lines.find((key,)))
        elif key == "grade" and isinstance(value, dict):
            grades: dict[str, Any] = {}
            for gname, gvalue in value.items():
                canonical = _GRADE_ALIASES.get(str(gname).strip())
                where = ("grade", str(gname))
                if canonical is None:
                    problems.append(
                        Problem(
                            f"unknown grade {gname!r}" + at_line(lines.find(where)),
                            file=file,
                            field=f"grade.{gname}",
                            fix='use [grade."基础型"], [grade."提升型"] or [grade."品质型"] '
                            "(or basic / enhanced / quality)",
                        )
                    )
                    continue
                if not isinstance(gvalue, dict):
                    problems.append(
                        Problem(
                            f"grade {gname!r} must be a table, got {gvalue!r}"
                            + at_line(lines.find(where)),
                            file=file,
                            field=f"grade.{gname}",
                            fix=f'write [grade."{canonical}"] with its rules',
                        )
                    )
                    continue
                table: dict[str, Any] = {_ORIGIN: (file, lines.find(where), str(gname))}
                for rkey, rvalue in gvalue.items():
                    line = lines.find((*where, rkey))
                    table[rkey] = (
                        _as_rule(rvalue, file, line) if rkey in _RULE_KEYS else (rvalue, file, line)
                    )
                grades[canonical] = _merge(grades.get(canonical, {}), table)
            doc[key] = grades
        else:
            doc[key] = (value, file, lines.find((key,)))
    return doc


def _as_rule(value: Any, file: str, line: int | None) -> dict[str, Any]:
    """A rule as a table: a plain value is attributed to the file that wrote it."""
    if isinstance(value, dict):
        rule = dict(value)
        rule.setdefault("source", f"set in {Path(file).name}" if file != "<overrides>" else file)
        rule.setdefault("confidence", "city")
    else:
        name = Path(file).name if file != "<overrides>" else file
        rule = {"value": value, "source": f"set in {name}", "confidence": "city"}
    rule[_ORIGIN] = (file, line)
    return rule


def _merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """Merge ``top`` over ``base``: grade tables and ``meta`` merge key by key, the rest replaces."""
    out = dict(base)
    for key, value in top.items():
        if key == "grade" and isinstance(out.get(key), dict):
            grades = dict(out[key])
            for gname, gtable in value.items():
                merged = dict(grades.get(gname, {}))
                merged.update(gtable)
                grades[gname] = merged
            out[key] = grades
        elif key == "version" and key in out:
            out[key] = (f"{out[key][0]}+{value[0]}", value[1], value[2])
        elif key in ("meta", "attributes") and key in out and isinstance(value[0], dict):
            old = out[key][0] if isinstance(out[key][0], dict) else {}
            out[key] = ({**old, **value[0]}, value[1], value[2])
        else:
            out[key] = value
    return out


# ---------------------------------------------------------------------------------------------
# validation


@dataclass
class _Checker:
    """Validates rule values; records problems with file, line and field."""

    catalogue: Catalogue
    max_minutes: float
    problems: list[Problem]
    attributes: Mapping[str, OutletAttribute] = field(default_factory=dict)

    def add(self, message: str, origin: tuple[Any, ...], field_: str, fix: str) -> None:
        file, line = origin[0], origin[1]
        self.problems.append(Problem(message + at_line(line), file=file, field=field_, fix=fix))

    def rule(self, raw: dict[str, Any], key: str, where: str) -> tuple[Any, Rule] | None:
        origin = raw.get(_ORIGIN, (None, None))
        fname = f"{where}.{key}" if where else key
        for k in raw:
            if k != _ORIGIN and k not in _RULE_FIELDS:
                self.add(
                    f"unknown key {k!r} in rule {key}",
                    origin,
                    f"{fname}.{k}",
                    f"remove it; a rule has {', '.join(_RULE_FIELDS)}",
                )
        source, confidence = raw.get("source"), raw.get("confidence")
        ok = True
        if not isinstance(source, str) or not source.strip():
            self.add(
                f"source must be a non-empty string, got {source!r}",
                origin,
                f"{fname}.source",
                'write source = "<document, section>"',
            )
            ok = False
        if confidence not in CONFIDENCE_TAGS:
            self.add(
                f"confidence {confidence!r} is not a known tag",
                origin,
                f"{fname}.confidence",
                f"use one of {', '.join(sorted(CONFIDENCE_TAGS))} (standards.md §0)",
            )
            ok = False
        has_value, has_share = "value" in raw, "share" in raw
        if has_value == has_share:
            self.add(
                "a rule needs exactly one of value or share",
                origin,
                fname,
                f"write {key} = <value>, or a table with value = … (share = … for counts)",
            )
            return None
        if has_share and key not in ("min_basic", "min_quality"):
            self.add(
                f"share is only allowed for min_basic / min_quality, not {key}",
                origin,
                f"{fname}.share",
                "write value = …",
            )
            return None
        note = raw.get("note") if isinstance(raw.get("note"), str) else None
        value = raw["share"] if has_share else raw["value"]
        parsed = self._value(key, value, has_share, origin, fname)
        if parsed is _BAD or not ok:
            return None
        if has_share:
            klass = "basic" if key == "min_basic" else "quality"
            n = len(self.catalogue.codes(klass))
            share = parsed
            parsed = math.ceil(share * n - 1e-9)
            note = f"share {value} of the catalogue's {n} {klass} 业态 → {parsed}" + (
                f"; {note}" if note else ""
            )
        return parsed, Rule(
            parsed, str(source).strip(), str(confidence), origin[0], origin[1], note
        )

    def _value(self, key: str, value: Any, share: bool, origin: Any, fname: str) -> Any:
        def bad(message: str, fix: str) -> Any:
            self.add(message, origin, fname, fix)
            return _BAD

        is_num = isinstance(value, int | float) and not isinstance(value, bool)
        if key == "must_have":
            return self._must_have(value, origin, fname)
        if share:
            frac: Fraction | None = None
            if isinstance(value, str):
                try:
                    frac = Fraction(value.strip())
                except (ValueError, ZeroDivisionError):
                    frac = None
            elif is_num:
                frac = Fraction(value).limit_denominator(1000)
            if frac is None or not 0 <= frac <= 1:
                return bad(
                    f"share must be a fraction between 0 and 1, got {value!r}",
                    'write e.g. share = "15/23" or share = 0.65',
                )
            return frac
        if key in ("min_basic", "min_quality"):
            klass = "basic" if key == "min_basic" else "quality"
            n = len(self.catalogue.codes(klass))
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                return bad(
                    f"{key} must be a whole number ≥ 0, got {value!r}",
                    f'write e.g. {key} = 10, or share = "15/23"',
                )
            if value > n:
                return bad(
                    f"{key} = {value} cannot be met: catalogue {self.catalogue.version} has only "
                    f"{n} {klass} 业态",
                    f"lower it to at most {n}, or write it as a share of the catalogue",
                )
            return value
        if key == "coverage_share":
            if not is_num or not 0 < value <= 1:
                return bad(
                    f"coverage_share must be a share in (0, 1], got {value!r}",
                    "write e.g. 0.8 (80 % of households)",
                )
            return float(value)
        if key in ("evaluation_min", "satisfaction_min", "must_have_within_min"):
            if value is False:
                return None
            if key == "evaluation_min" and (not is_num or not 0 <= value <= 100):
                return bad(
                    f"evaluation_min must be a score 0–100 or false, got {value!r}",
                    "write e.g. evaluation_min = 70",
                )
            if key == "satisfaction_min" and (not is_num or not 0 <= value <= 1):
                hint = f" ({value / 100:g}?)" if is_num and 1 < value <= 100 else ""
                return bad(
                    f"satisfaction_min must be a rate 0–1 or false, got {value!r}{hint}",
                    "write e.g. satisfaction_min = 0.9 (90 %)",
                )
            if key == "must_have_within_min":
                if not is_num or value <= 0:
                    return bad(
                        f"must_have_within_min must be positive minutes or false, got {value!r}",
                        "write e.g. 10, or false for each 业态's own band",
                    )
                if value > self.max_minutes:
                    return bad(
                        f"must_have_within_min = {value} is beyond the access search radius of "
                        f"{self.max_minutes:g} min",
                        f"use at most {self.max_minutes:g} min, or widen the search radius "
                        "(max_minutes / the catalogue's [bands])",
                    )
            return float(value)
        if key in ("require_evaluation", "require_satisfaction"):
            if not isinstance(value, bool):
                return bad(f"{key} must be true or false, got {value!r}", f"write {key} = true")
            return value
        return value  # pragma: no cover - every key is handled above

    def _must_have(self, value: Any, origin: Any, fname: str) -> Any:
        fix_shape = 'write e.g. value = [["convenience_store", "supermarket"], ["breakfast"]]'
        if not isinstance(value, list):
            self.add(f"must_have must be a list of groups, got {value!r}", origin, fname, fix_shape)
            return _BAD
        groups: list[tuple[str, ...]] = []
        failed = False
        for i, group in enumerate(value, start=1):
            names = group.split("|") if isinstance(group, str) else group
            if (
                not isinstance(names, list)
                or not names
                or not all(isinstance(n, str) and n.strip() for n in names)
            ):
                self.add(
                    f"group {i} must be a non-empty list of 业态 names, got {group!r}",
                    origin,
                    fname,
                    fix_shape,
                )
                failed = True
                continue
            codes: list[str] = []
            for name in names:
                name, sep, attr = name.partition(ATTRIBUTE_SEP)
                if sep and attr.strip() not in self.attributes:
                    self.add(
                        f"unknown outlet attribute {attr!r} in group {i}",
                        origin,
                        fname,
                        "define it in an [attributes."
                        + attr.strip()
                        + "] table (known: "
                        + (", ".join(self.attributes) or "none")
                        + ")",
                    )
                    failed = True
                    continue
                code = self.catalogue.resolve(name)
                if code is not None and sep:
                    code = f"{code}{ATTRIBUTE_SEP}{attr.strip()}"
                if code is None:
                    close = self.catalogue.suggest(name)
                    self.add(
                        f"unknown 业态 {name!r} in group {i}",
                        origin,
                        fname,
                        (f"did you mean {', '.join(close)}? " if close else "")
                        + f"use a code or name of catalogue {self.catalogue.version}",
                    )
                    failed = True
                elif code not in codes:
                    codes.append(code)
            if codes:
                groups.append(tuple(codes))
        return _BAD if failed else tuple(groups)


_BAD = object()


def _build(
    doc: dict[str, Any], catalogue: Catalogue, max_minutes: float, problems: list[Problem]
) -> Rulebook | None:
    check = _Checker(catalogue, max_minutes, problems)
    for key, value in doc.items():
        if key not in _TOP_KEYS:
            origin = value[1:] if isinstance(value, tuple) else value.get(_ORIGIN, (None, None))
            check.add(
                f"unknown top-level key {key!r}",
                origin,
                key,
                f"remove it or check the spelling; allowed: {', '.join(_TOP_KEYS)}",
            )
    version_raw = doc.get("version", (None, None, None))
    version = version_raw[0]
    if not isinstance(version, str) or not version.strip():
        check.add(
            f"version must be a non-empty string, got {version!r}",
            version_raw[1:],
            "version",
            'write version = "2026.11.1" at the top',
        )
        version = "?"
    meta_raw = doc.get("meta", ({}, None, None))
    meta = meta_raw[0]
    if not isinstance(meta, dict):
        check.add(f"[meta] must be a table, got {meta!r}", meta_raw[1:], "meta", "write [meta]")
        meta = {}
    if "attributes" in doc:
        raw_attrs, afile, aline = doc["attributes"]
        check.attributes = parse_attributes(raw_attrs, afile, aline, problems)
    top_rules: dict[str, Rule] = {}
    coverage = 0.8
    if "coverage_share" not in doc:
        problems.append(
            Problem(
                "coverage_share is missing",
                field="coverage_share",
                fix="write coverage_share = 0.8 (or extend the default rulebook)",
            )
        )
    else:
        parsed = check.rule(doc["coverage_share"], "coverage_share", "")
        if parsed is not None:
            coverage, top_rules["coverage_share"] = parsed

    grades_raw = doc.get("grade", {})
    grades: list[GradeRules] = []
    for gname in GRADES:
        table = grades_raw.get(gname) if isinstance(grades_raw, dict) else None
        if table is None:
            problems.append(
                Problem(
                    f"grade {gname} is missing",
                    file=None,
                    field=f"grade.{gname}",
                    fix=f'write a [grade."{gname}"] table (or extend the default rulebook)',
                )
            )
            continue
        built = _build_grade(gname, table, coverage, top_rules, check)
        if built is not None:
            grades.append(built)
    if problems:
        return None
    _check_order(grades, catalogue, check)
    if problems:
        return None
    return Rulebook(
        version=version,
        meta=MappingProxyType(dict(meta)),
        coverage_share=coverage,
        grades=tuple(grades),
        catalogue_version=catalogue.version,
        rules=MappingProxyType(top_rules),
        attributes=MappingProxyType(dict(check.attributes)),
    )


def _build_grade(
    gname: str,
    table: dict[str, Any],
    coverage: float,
    top_rules: Mapping[str, Rule],
    check: _Checker,
) -> GradeRules | None:
    origin = table.get(_ORIGIN, (None, None, gname))
    where = f"grade.{gname}"
    n_before = len(check.problems)
    for key, value in table.items():
        if key == _ORIGIN or key in _RULE_KEYS:
            continue
        if key in _GRADE_TEXT_KEYS:
            if not isinstance(value[0], str):
                check.add(
                    f"{key} must be a string, got {value[0]!r}",
                    value[1:],
                    f"{where}.{key}",
                    f'write {key} = "…"',
                )
            continue
        check.add(
            f"unknown key {key!r} in grade {gname}",
            value[1:] if isinstance(value, tuple) else origin,
            f"{where}.{key}",
            f"remove it or check the spelling; allowed: {', '.join(_RULE_KEYS + _GRADE_TEXT_KEYS)}",
        )
    values: dict[str, Any] = {}
    rules: dict[str, Rule] = {}
    for key in _RULE_KEYS:
        if key not in table:
            if key in _REQUIRED_RULES:
                check.add(
                    f"grade {gname} has no {key}",
                    origin,
                    f"{where}.{key}",
                    f'write [grade."{gname}".{key}] with value, source and confidence',
                )
            continue
        parsed = check.rule(table[key], key, where)
        if parsed is not None:
            values[key], rules[key] = parsed
    if len(check.problems) > n_before:
        return None
    if "coverage_share" not in values:
        values["coverage_share"] = coverage
        if "coverage_share" in top_rules:
            rules["coverage_share"] = top_rules["coverage_share"]

    def text(key: str, default: str) -> str:
        value = table.get(key, (default,))[0]
        return value if isinstance(value, str) and value else default

    return GradeRules(
        grade=gname,
        label=text("label", gname),
        label_en=text("label_en", GRADE_EN[gname]),
        must_have=values["must_have"],
        must_have_within_min=values.get("must_have_within_min"),
        min_basic=int(values["min_basic"]),
        min_quality=int(values["min_quality"]),
        coverage_share=float(values["coverage_share"]),
        evaluation_min=values.get("evaluation_min"),
        satisfaction_min=values.get("satisfaction_min"),
        require_evaluation=bool(values.get("require_evaluation", False)),
        require_satisfaction=bool(values.get("require_satisfaction", False)),
        rules=MappingProxyType(rules),
    )


def _check_order(grades: Sequence[GradeRules], catalogue: Catalogue, check: _Checker) -> None:
    """A higher grade may not demand less than the grade below it."""

    def origin(g: GradeRules, key: str) -> tuple[Any, ...]:
        rule = g.rules.get(key)
        return (rule.file, rule.line) if rule else (None, None)

    def within(g: GradeRules, code: str) -> float:
        if g.must_have_within_min is not None:
            return g.must_have_within_min
        return catalogue.band_minutes(split_code(code)[0])

    for low, high in itertools.pairwise(grades):
        where = f"grade.{high.grade}"
        fix_tail = f"a higher grade must demand at least what {low.grade} demands"
        for key in ("min_basic", "min_quality", "coverage_share"):
            a, b = getattr(low, key), getattr(high, key)
            if b < a:
                check.add(
                    f"{high.grade} {key} = {b:g} is less than {low.grade}'s {a:g}",
                    origin(high, key),
                    f"{where}.{key}",
                    f"raise it to at least {a:g}; {fix_tail}",
                )
        for key in ("evaluation_min", "satisfaction_min"):
            a, b = getattr(low, key), getattr(high, key)
            if a is not None and (b is None or b < a):
                shown = "not set" if b is None else f"{b:g}"
                check.add(
                    f"{high.grade} {key} is {shown} while {low.grade} requires {a:g}",
                    origin(high, key) if b is not None else origin(low, key),
                    f"{where}.{key}",
                    f"set it to at least {a:g}; {fix_tail}",
                )
        for key in ("require_evaluation", "require_satisfaction"):
            if getattr(low, key) and not getattr(high, key):
                check.add(
                    f"{high.grade} does not set {key} while {low.grade} does",
                    origin(high, key) if key in high.rules else origin(low, key),
                    f"{where}.{key}",
                    f"set {key} = true; {fix_tail}",
                )
        for group in low.must_have:
            stricter = [h for h in high.must_have if set(h) <= set(group)]
            label = "|".join(group)
            if not stricter:
                check.add(
                    f"must-have {label} of {low.grade} is dropped by {high.grade}",
                    origin(high, "must_have"),
                    f"{where}.must_have",
                    f"add [{', '.join(repr(c) for c in group)}] to its must_have; {fix_tail}",
                )
                continue
            if not any(all(within(high, c) <= within(low, c) for c in h) for h in stricter):
                code = stricter[0][0]
                check.add(
                    f"must-have {label} may be {within(high, code):g} min away in "
                    f"{high.grade} but only {within(low, code):g} min in {low.grade}",
                    origin(high, "must_have_within_min"),
                    f"{where}.must_have_within_min",
                    f"use at most {within(low, code):g} min; {fix_tail}",
                )
