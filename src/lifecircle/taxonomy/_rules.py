"""Source mappings of the 业态 classifier: the rule files and their validation (private).

Five kinds of mapping, each one CSV file beside the catalogue (named in its ``[mappings]`` table):

=================  ===========  ==================================================================
kind               key column   matching
=================  ===========  ==================================================================
``baidu``          ``tag``      Baidu ``大类;小类`` tag, exact; a key ``大类;*`` covers the family
``amap_typecode``  ``typecode`` Amap 6-digit code with Amap's own prefix rule: ``xx0000`` covers
                                the 大类, ``xxyy00`` the 中类, any other code is exact; the most
                                specific matching row wins
``amap_type``      ``type``     Amap ``大类;中类;小类`` names; a row with one or two names covers
                                everything below them; the most specific row wins
``osm``            ``tags``     ``key=value`` conditions joined by ``;`` (``value`` ``*`` = any);
                                the row with most conditions wins, then file order
``keywords``       ``category`` ``include`` / ``exclude`` regular expressions on the case-folded,
                                NFKC-normalised name; the first row in file order that matches wins
=================  ===========  ==================================================================

Every source row names a ``category`` (a catalogue code, or ``unclassified`` for "known not to be
a 业态") and a ``refine`` column: empty = the source decides (final); ``*`` = any name keyword
may override it; ``a|b|c`` = only the keywords of those 业态 (``unclassified`` allowed) may
override it.  This is how "specific before general" is written down: ``美食;小吃快餐店`` gives
快餐小吃店 unless the name says 胡辣汤 (早餐店).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from lifecircle.errors import Problem

__all__ = [
    "MAPPING_CONFIDENCE",
    "MAPPING_KINDS",
    "UNCLASSIFIED",
    "KeywordRule",
    "MapRule",
    "Rules",
    "check_pattern",
    "read_rules",
]

#: Category value of a rule or result meaning "not any 业态".
UNCLASSIFIED = "unclassified"

#: Confidence tags allowed in mapping files (standards.md §0, plus V = documented on the OSM wiki).
MAPPING_CONFIDENCE: frozenset[str] = frozenset({"V1", "V2", "V", "R", "A", "U", "P"})

#: Mapping kinds, in the order the classifier consults the source columns.
MAPPING_KINDS: tuple[str, ...] = ("amap_typecode", "amap_type", "baidu", "osm", "keywords")

_KEY_COLUMN: dict[str, str] = {
    "baidu": "tag",
    "amap_typecode": "typecode",
    "amap_type": "type",
    "osm": "tags",
}
_COMMON = ("category", "refine", "source", "confidence", "note")
_KEYWORD_COLUMNS = ("category", "include", "exclude", "source", "confidence", "note")
_TYPECODE = re.compile(r"^\d{6}$")
_OSM_PART = re.compile(r"^([^=;\s]+)=([^=;]+)$")


@dataclass(frozen=True)
class MapRule:
    """One row of a source mapping file (Baidu tag, Amap typecode/type or OSM tags)."""

    kind: str
    key: str
    category: str
    refine: frozenset[str] | None
    source: str
    confidence: str
    note: str
    file: str
    row: int
    conditions: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class KeywordRule:
    """One row of the name-keyword file: ``include`` and optional ``exclude`` patterns."""

    category: str
    include: str
    exclude: str | None
    source: str
    confidence: str
    note: str
    file: str
    row: int


@dataclass(frozen=True)
class Rules:
    """All source mappings of a catalogue, in precedence order within each kind."""

    baidu: tuple[MapRule, ...]
    amap_typecode: tuple[MapRule, ...]
    amap_type: tuple[MapRule, ...]
    osm: tuple[MapRule, ...]
    keywords: tuple[KeywordRule, ...]

    def osm_keys(self) -> tuple[str, ...]:
        """OSM keys referenced by any OSM rule, in first-use order."""
        keys: dict[str, None] = {}
        for rule in self.osm:
            for key, _ in rule.conditions:
                keys[key] = None
        return tuple(keys)


def check_pattern(pattern: str) -> str | None:
    """Return why ``pattern`` cannot be used as a name keyword, or ``None`` when it can."""
    try:
        re.compile(pattern)
    except re.error as exc:
        return f"{pattern!r} is not a valid regular expression ({exc})"
    try:
        pc.match_substring_regex(pa.array([""], type=pa.string()), pattern=pattern)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        return f"{pattern!r} is not supported by the RE2 engine ({exc})"
    if pattern != pattern.casefold():
        return f"{pattern!r} has upper-case letters, but names are matched case-folded"
    return None


def read_rules(
    files: Mapping[str, Path],
    codes: Collection[str],
    problems: list[Problem],
    extra_keywords: Sequence[tuple[str, str, str]] = (),
) -> Rules:
    """Read and validate the mapping files; append every problem found to ``problems``.

    Parameters
    ----------
    files
        Path of each mapping kind (keys of :data:`MAPPING_KINDS`).
    codes
        Valid 业态 codes (``unclassified`` is always valid).
    problems
        Collector; rules with problems are left out of the result.
    extra_keywords
        ``(code, pattern, file)`` keyword additions of a city override: appended to the
        pattern of that 业态's first keyword row, or a new row at the end.
    """
    valid = set(codes) | {UNCLASSIFIED}
    maps: dict[str, tuple[MapRule, ...]] = {}
    for kind in ("baidu", "amap_typecode", "amap_type", "osm"):
        maps[kind] = tuple(_read_map(kind, files[kind], valid, problems))
    keywords = _read_keywords(files["keywords"], valid, problems)
    keywords = _add_keywords(keywords, extra_keywords, valid, problems)
    return Rules(
        baidu=maps["baidu"],
        amap_typecode=maps["amap_typecode"],
        amap_type=maps["amap_type"],
        osm=maps["osm"],
        keywords=tuple(keywords),
    )


def _read_csv(
    path: Path, columns: Sequence[str], required: Sequence[str], problems: list[Problem]
) -> list[tuple[int, dict[str, str]]]:
    """Rows of a UTF-8 CSV file as ``(1-based row, {column: stripped text})``."""
    if not path.is_file():
        problems.append(
            Problem(
                "mapping file not found",
                file=str(path),
                fix="name an existing CSV file in the catalogue's [mappings] table",
            )
        )
        return []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        header = [h.strip() for h in next(reader, [])]
        missing = [c for c in required if c not in header]
        unknown = [c for c in header if c not in columns]
        for col in missing:
            problems.append(
                Problem(
                    f"column {col!r} is missing (header: {', '.join(header) or 'empty'})",
                    file=str(path),
                    field=col,
                    fix=f"write the header {','.join(columns)}",
                )
            )
        for col in unknown:
            problems.append(
                Problem(
                    f"unknown column {col!r}",
                    file=str(path),
                    field=col,
                    fix=f"use only the columns {', '.join(columns)}",
                )
            )
        if missing:
            return []
        out = []
        for number, values in enumerate(reader, start=1):
            if not any(v.strip() for v in values):
                continue
            record = {
                h: (values[i].strip() if i < len(values) else "") for i, h in enumerate(header)
            }
            out.append((number, record))
        return out


def _common(
    record: dict[str, str],
    row: int,
    path: Path,
    valid: set[str],
    problems: list[Problem],
) -> tuple[str, frozenset[str] | None, str] | None:
    """Validate category, refine, source and confidence of a row; ``None`` if unusable."""
    ok = True
    file = str(path)
    category = record.get("category", "")
    if category not in valid:
        ok = False
        problems.append(
            Problem(
                f"category {category!r} is not a catalogue code",
                file=file,
                row=row,
                field="category",
                fix=f"use one of {', '.join(sorted(valid))}",
            )
        )
    refine_text = record.get("refine", "")
    refine: frozenset[str] | None
    if refine_text == "*":
        refine = None
    else:
        parts = [p.strip() for p in refine_text.split("|") if p.strip()]
        bad = [p for p in parts if p not in valid]
        if bad:
            ok = False
            problems.append(
                Problem(
                    f"refine names unknown categories {bad}",
                    file=file,
                    row=row,
                    field="refine",
                    fix="leave it empty (final), write * (any keyword) or codes joined by |",
                )
            )
        refine = frozenset(parts)
    confidence = record.get("confidence", "")
    if confidence not in MAPPING_CONFIDENCE:
        ok = False
        problems.append(
            Problem(
                f"confidence {confidence!r} is not a known tag",
                file=file,
                row=row,
                field="confidence",
                fix=f"use one of {', '.join(sorted(MAPPING_CONFIDENCE))} (standards.md §0)",
            )
        )
    if not record.get("source", ""):
        ok = False
        problems.append(
            Problem(
                "source is empty",
                file=file,
                row=row,
                field="source",
                fix="say where the rule comes from (document, section, table)",
            )
        )
    return (category, refine, confidence) if ok else None


def _read_map(kind: str, path: Path, valid: set[str], problems: list[Problem]) -> list[MapRule]:
    key_col = _KEY_COLUMN[kind]
    rows = _read_csv(
        path, (key_col, *_COMMON), (key_col, "category", "source", "confidence"), problems
    )
    out: list[MapRule] = []
    seen: dict[str, int] = {}
    file = str(path)
    for row, record in rows:
        key = record[key_col]
        conditions: tuple[tuple[str, str], ...] = ()
        key_ok = True
        if kind == "amap_typecode":
            if not _TYPECODE.match(key):
                key_ok = False
                problems.append(
                    Problem(
                        f"typecode {key!r} is not a 6-digit Amap code",
                        file=file,
                        row=row,
                        field=key_col,
                        fix="write six digits with leading zeros, e.g. 060200 (xx0000 = 大类, "
                        "xxyy00 = 中类)",
                    )
                )
        elif kind == "osm":
            parsed = [_OSM_PART.match(p.strip()) for p in key.split(";")]
            if not key or any(m is None for m in parsed):
                key_ok = False
                problems.append(
                    Problem(
                        f"tags {key!r} are not key=value conditions",
                        file=file,
                        row=row,
                        field=key_col,
                        fix="write e.g. amenity=social_facility;social_facility:for=senior "
                        "(value * = any value)",
                    )
                )
            else:
                conditions = tuple((m.group(1), m.group(2).strip()) for m in parsed if m)
                key = ";".join(f"{k}={v}" for k, v in conditions)
        else:
            segments = key.split(";")
            if (
                not key
                or any(not s.strip() for s in segments)
                or (kind == "amap_type" and "*" in key)
                or ("*" in key and segments[-1] != "*")
            ):
                key_ok = False
                problems.append(
                    Problem(
                        f"{key_col} {key!r} is not a ';'-separated list of names",
                        file=file,
                        row=row,
                        field=key_col,
                        fix="write e.g. 医疗;药店 (Baidu: 医疗;* covers the whole family)"
                        if kind == "baidu"
                        else "write e.g. 餐饮服务;快餐厅 or 餐饮服务;快餐厅;永和豆浆",
                    )
                )
        if key_ok and key in seen:
            key_ok = False
            problems.append(
                Problem(
                    f"{key_col} {key!r} is listed twice (first in row {seen[key]})",
                    file=file,
                    row=row,
                    field=key_col,
                    fix="keep one row per key",
                )
            )
        common = _common(record, row, path, valid, problems)
        if not key_ok or common is None:
            continue
        seen[key] = row
        category, refine, confidence = common
        out.append(
            MapRule(
                kind=kind,
                key=key,
                category=category,
                refine=refine,
                source=record["source"],
                confidence=confidence,
                note=record.get("note", ""),
                file=file,
                row=row,
                conditions=conditions,
            )
        )
    return out


def _read_keywords(path: Path, valid: set[str], problems: list[Problem]) -> list[KeywordRule]:
    rows = _read_csv(
        path, _KEYWORD_COLUMNS, ("category", "include", "source", "confidence"), problems
    )
    out: list[KeywordRule] = []
    file = str(path)
    for row, record in rows:
        record.setdefault("refine", "")
        ok = True
        include = record["include"]
        exclude = record.get("exclude", "") or None
        for field, pattern in (("include", include), ("exclude", exclude)):
            if pattern is None:
                continue
            why = "include is empty" if not pattern else check_pattern(pattern)
            if why:
                ok = False
                problems.append(
                    Problem(
                        why,
                        file=file,
                        row=row,
                        field=field,
                        fix="write keywords joined by | in lower case, RE2 syntax "
                        "(no look-around, no back-references)",
                    )
                )
        common = _common(record, row, path, valid, problems)
        if not ok or common is None:
            continue
        category, _, confidence = common
        out.append(
            KeywordRule(
                category=category,
                include=include,
                exclude=exclude,
                source=record["source"],
                confidence=confidence,
                note=record.get("note", ""),
                file=file,
                row=row,
            )
        )
    return out


def _add_keywords(
    rules: list[KeywordRule],
    extra: Sequence[tuple[str, str, str]],
    valid: set[str],
    problems: list[Problem],
) -> list[KeywordRule]:
    """Merge a city override's keyword additions into the keyword rules."""
    out = list(rules)
    for code, pattern, file in extra:
        if code not in valid:
            problems.append(
                Problem(
                    f"keywords given for unknown 业态 {code!r}",
                    file=file,
                    field=f"keywords.{code}",
                    fix="use a catalogue code, or add the 业态 in a [[category]] table first",
                )
            )
            continue
        why = check_pattern(pattern)
        if why:
            problems.append(
                Problem(
                    why,
                    file=file,
                    field=f"keywords.{code}",
                    fix="write keywords in lower case, RE2 syntax",
                )
            )
            continue
        for i, rule in enumerate(out):
            if rule.category == code and code != UNCLASSIFIED:
                out[i] = KeywordRule(
                    category=rule.category,
                    include=f"{rule.include}|{pattern}",
                    exclude=rule.exclude,
                    source=f"{rule.source}; {file}",
                    confidence=rule.confidence,
                    note=rule.note,
                    file=rule.file,
                    row=rule.row,
                )
                break
        else:
            out.append(
                KeywordRule(
                    category=code,
                    include=pattern,
                    exclude=None,
                    source=file,
                    confidence="P",
                    note="city override",
                    file=file,
                    row=0,
                )
            )
    return out
