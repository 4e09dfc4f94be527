"""Classify outlet tables into 业态 (private; see :func:`lifecircle.taxonomy.classify`)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from lifecircle.errors import InputError, Problem, Problems
from lifecircle.taxonomy._catalogue import (
    UNCLASSIFIED_NAMES,
    Catalogue,
    load_catalogue,
    normalise_name,
)
from lifecircle.taxonomy._rules import UNCLASSIFIED, MapRule

__all__ = ["OSM_COLUMNS", "SOURCES", "classify", "unclassified_report"]

logger = logging.getLogger(__name__)

#: Values of ``source``: ``auto`` uses every source column present.
SOURCES: tuple[str, ...] = ("auto", "amap", "baidu", "osm", "name")
#: Plain OSM tag columns understood (any key used by an OSM rule is read when present).
OSM_COLUMNS: tuple[str, ...] = (
    "shop",
    "amenity",
    "craft",
    "leisure",
    "healthcare",
    "social_facility",
    "social_facility:for",
    "office",
    "cuisine",
)
#: OSM keys whose presence marks a frame as OSM data, and that name an unclassified row's type.
_OSM_PRIMARY: tuple[str, ...] = ("shop", "amenity", "craft", "leisure", "healthcare", "office")
_UNCLASSIFIED_ZH = "未分类"
_OBJECT = np.dtype(object)
#: A bracketed branch or place suffix: (东关店), (虹口足球场店), (秋林美食城), (西大街), (近钟楼).
_BRANCH = r"\([^()]*(?:店|路|街|巷|道|号|门|城|场|厦|楼|层|部|区|口|旁|面|近|内)\)"


def classify(
    frame: pd.DataFrame,
    *,
    catalogue: Catalogue | None = None,
    source: str = "auto",
    file: str | None = None,
) -> pd.DataFrame:
    """Give every outlet row a 业态 (business type) of the catalogue.

    Precedence, first that applies wins:

    1. an explicit ``category`` cell (业态 code, Chinese/English name or alias);
    2. a source rule marked final (empty ``refine``), e.g. Baidu ``医疗;药店`` → 药店;
    3. a name keyword that the source rule allows to refine it (or any keyword when no source
       rule matched), first keyword row in file order: ``美食;小吃快餐店`` + 胡辣汤 → 早餐店;
    4. the source rule's own category (its default), e.g. ``美食;小吃快餐店`` → 快餐小吃店;
    5. ``unclassified``.

    Among source columns the most specific is consulted: Amap ``typecode``, then Amap ``type``,
    then Baidu ``tag``, then OSM tags.  Within a kind, the most specific rule wins (see the
    README of ``lifecircle/taxonomy/data``).

    Parameters
    ----------
    frame
        Outlet table.  Columns understood: ``category``, ``typecode`` (Amap, 6 digits, ``|``
        separated), ``type`` (Amap ``大类;中类;小类``, ``|`` separated), ``tag`` (Baidu
        ``大类;小类``), ``osm_tags`` (dict of OSM tags) or plain OSM tag columns (``shop``,
        ``amenity``, ``craft``, ``leisure``, ``healthcare``, ``social_facility``,
        ``social_facility:for``, ``office``, ``cuisine``, ...), and ``name``.
    catalogue
        业态 catalogue; default :func:`load_catalogue`.
    source
        ``"auto"`` (every source column present), ``"amap"``, ``"baidu"``, ``"osm"`` or
        ``"name"`` (keywords only).  The ``category`` column is always honoured.
    file
        File name used in error messages.

    Returns
    -------
    pandas.DataFrame
        Index-aligned with ``frame``: ``category`` (code or ``"unclassified"``),
        ``category_zh`` (Chinese name, 未分类 for unclassified), ``rule`` (what decided, e.g.
        ``"baidu_tag:医疗;药店"``, ``"amap:090601"``, ``"osm:shop=convenience"``,
        ``"keyword:早餐"``, ``"category_column"``, ``"none"``) and ``class``
        (``"basic"``/``"quality"``, ``None`` when unclassified).  No row is dropped.

    Raises
    ------
    InputError
        Unknown 业态 names in the ``category`` column (file, 1-based row, field, the value and
        the closest valid names), a source whose columns are missing, an unknown ``source``.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"name": ["老高家胡辣汤", "好邻居便利店"],
    ...                       "tag": ["美食;小吃快餐店", "购物;便利店"]})
    >>> classify(frame)[["category", "rule"]].values.tolist()
    [['breakfast', 'keyword:胡辣汤'], ['convenience_store', 'baidu_tag:购物;便利店']]
    """
    cat = catalogue if catalogue is not None else load_catalogue()
    if not isinstance(frame, pd.DataFrame):
        raise InputError(
            Problem(
                f"expected a pandas DataFrame, got {type(frame).__name__}",
                file=file,
                fix="pass the outlet table as a DataFrame",
            ),
            "outlets",
        )
    problems = Problems(file=file)
    kinds = _source_kinds(frame, source, problems)
    problems.raise_if_any("outlets")
    n = len(frame)

    explicit = _explicit(frame, cat, problems)
    problems.raise_if_any("outlet categories")

    # Source rules: category, rule text and refine spec of each row.
    src_cat = np.full(n, None, dtype=object)
    src_rule = np.full(n, None, dtype=object)
    refine: list[frozenset[str] | None] = [None]  # spec 0 = any keyword may apply
    spec_of: dict[frozenset[str] | None, int] = {None: 0}
    src_spec = np.zeros(n, dtype=np.int64)
    for kind in kinds:
        open_rows = src_cat == None  # noqa: E711
        if not open_rows.any():
            break
        rule_idx, texts = _match_kind(kind, frame, cat)
        hit = open_rows & (rule_idx >= 0)
        rules = _rules_of(kind, cat)
        if hit.any():
            chosen = rule_idx[hit]
            src_cat[hit] = np.array([r.category for r in rules], dtype=object)[chosen]
            src_rule[hit] = texts[hit]
            rule_spec = np.empty(len(rules), dtype=np.int64)
            for i, rule in enumerate(rules):
                spec = _spec(rule)
                if spec not in spec_of:
                    spec_of[spec] = len(refine)
                    refine.append(spec)
                rule_spec[i] = spec_of[spec]
            src_spec[hit] = rule_spec[chosen]

    # Name keywords, where the explicit column and final source rules leave room.
    kw_cat = np.full(n, None, dtype=object)
    kw_rule = np.full(n, None, dtype=object)
    if "name" in frame.columns and cat.rules.keywords:
        _match_keywords(frame["name"], cat, explicit == None, refine, src_spec, kw_cat, kw_rule)  # noqa: E711

    category = np.full(n, UNCLASSIFIED, dtype=object)
    decided_by = np.full(n, "none", dtype=object)
    has_src = src_cat != None  # noqa: E711
    category[has_src] = src_cat[has_src]
    decided_by[has_src] = src_rule[has_src]
    # A keyword that only confirms the source rule's own category leaves the credit to the source.
    has_kw = (kw_cat != None) & ~(has_src & (kw_cat == src_cat))  # noqa: E711
    category[has_kw] = kw_cat[has_kw]
    decided_by[has_kw] = kw_rule[has_kw]
    has_explicit = explicit != None  # noqa: E711
    category[has_explicit] = explicit[has_explicit]
    decided_by[has_explicit] = "category_column"

    zh = {c.code: c.name_zh for c in cat.categories}
    klass = {c.code: c.klass for c in cat.categories}
    zh[UNCLASSIFIED] = _UNCLASSIFIED_ZH
    codes = pd.Series(category, index=frame.index, dtype=_OBJECT)
    out = pd.DataFrame(
        {
            "category": codes,
            "category_zh": codes.map(zh).astype(object),
            "rule": pd.Series(decided_by, index=frame.index, dtype=_OBJECT),
            "class": codes.map(klass).astype(object).where(codes != UNCLASSIFIED, None),
        },
        index=frame.index,
    )
    logger.debug(
        "classified %d rows (%s): %d unclassified",
        n,
        ", ".join(kinds) or "name only",
        int((category == UNCLASSIFIED).sum()),
    )
    return out


def _spec(rule: MapRule) -> frozenset[str] | None:
    """Keyword categories allowed to refine a source rule.

    A rule that may be refined also accepts its own category's keywords, so that a name that
    confirms the default (肯德基 under 美食;小吃快餐店) is not taken by a later, more general
    keyword (餐厅).
    """
    if rule.refine is None or not rule.refine:
        return rule.refine
    return rule.refine | {rule.category}


def _source_kinds(frame: pd.DataFrame, source: str, problems: Problems) -> list[str]:
    cols = set(frame.columns)
    has_osm = "osm_tags" in cols or any(k in cols for k in _OSM_PRIMARY)
    present = {
        "amap_typecode": "typecode" in cols,
        "amap_type": "type" in cols,
        "baidu": "tag" in cols,
        "osm": has_osm,
    }
    wanted = {
        "auto": ["amap_typecode", "amap_type", "baidu", "osm"],
        "amap": ["amap_typecode", "amap_type"],
        "baidu": ["baidu"],
        "osm": ["osm"],
        "name": [],
    }
    if source not in wanted:
        problems.add(
            f"source {source!r} is not known",
            field="source",
            fix=f"use one of {', '.join(SOURCES)}",
        )
        return []
    kinds = [k for k in wanted[source] if present[k]]
    needs = {
        "amap": "typecode or type",
        "baidu": "tag",
        "osm": "osm_tags or " + "/".join(_OSM_PRIMARY),
        "name": "name",
    }
    if source in ("amap", "baidu", "osm") and not kinds:
        problems.add(
            f"source={source!r} needs the column {needs[source]}, which the table lacks "
            f"(columns: {', '.join(map(str, frame.columns))})",
            field=needs[source],
            fix="rename the column, or use source='auto'",
        )
    if source == "name" and "name" not in cols:
        problems.add(
            "source='name' needs a 'name' column",
            field="name",
            fix="add the outlet names, or use source='auto'",
        )
    return kinds


def _explicit(frame: pd.DataFrame, cat: Catalogue, problems: Problems) -> np.ndarray:
    """Resolved ``category`` cells (object array, ``None`` where empty)."""
    n = len(frame)
    out = np.full(n, None, dtype=object)
    if "category" not in frame.columns:
        return out
    raw = frame["category"]
    text = raw.astype(object).where(raw.notna(), None)
    values = np.array(
        [None if v is None else str(v).strip() or None for v in text.to_numpy()], dtype=object
    )
    present = values != None  # noqa: E711
    if not present.any():
        return out
    unknown_marker = "\0unknown"
    unclassified = {normalise_name(u) for u in UNCLASSIFIED_NAMES}
    lookup: dict[str, str] = {}
    for value in pd.unique(values[present]):
        code = cat.resolve(value)
        if code is None:
            code = UNCLASSIFIED if normalise_name(value) in unclassified else unknown_marker
        lookup[value] = code
    resolved = np.array([lookup[v] if v is not None else None for v in values], dtype=object)
    bad = np.flatnonzero(resolved == unknown_marker)
    suggestions: dict[str, list[str]] = {}
    for pos in bad:
        value = values[pos]
        if value not in suggestions:
            suggestions[value] = cat.suggest(value)
        close = suggestions[value]
        hint = f"closest valid names: {', '.join(close)}" if close else "no close name"
        problems.add(
            f"{value!r} is not a 业态 code or name of catalogue {cat.version} ({hint})",
            row=int(pos) + 1,
            field="category",
            fix="write a catalogue code or Chinese name (load_catalogue().to_frame() lists them), "
            "'unclassified', or leave the cell empty to classify from type and name",
        )
    out[present] = resolved[present]
    out[out == unknown_marker] = None
    return out


def _rules_of(kind: str, cat: Catalogue) -> Sequence[MapRule]:
    rules: Sequence[MapRule] = getattr(cat.rules, kind)
    return rules


def _text(series: pd.Series) -> pd.Series:
    """Stripped NFKC text of a column as an object Series (missing → ``None``)."""
    values = np.asarray(series.to_numpy(dtype=object), dtype=object)
    present = ~np.asarray(pd.isna(values), dtype=bool)
    out = np.full(len(values), None, dtype=object)
    if not present.any():
        return pd.Series(out, dtype=_OBJECT)
    out[present] = values[present].astype(str)
    s = pd.Series(out, dtype=_OBJECT).str.normalize("NFKC").str.strip()
    done = s.to_numpy(dtype=object)
    keep = (s.notna() & (s != "")).to_numpy(dtype=bool)
    out = np.full(len(values), None, dtype=object)
    out[keep] = done[keep]
    return pd.Series(out, dtype=_OBJECT)


def _match_kind(kind: str, frame: pd.DataFrame, cat: Catalogue) -> tuple[np.ndarray, np.ndarray]:
    """Index of the matched rule of each row (-1 if none) and the rule text to report."""
    if kind == "baidu":
        return _match_baidu(frame["tag"], cat.rules.baidu)
    if kind == "amap_typecode":
        return _match_typecode(frame["typecode"], cat.rules.amap_typecode)
    if kind == "amap_type":
        return _match_amap_type(frame["type"], cat.rules.amap_type)
    return _match_osm(frame, cat.rules.osm)


def _lookup(keys: pd.Series, table: dict[str, int]) -> np.ndarray:
    return np.array(keys.map(table).fillna(-1).to_numpy(dtype=np.int64), copy=True)


def _match_baidu(column: pd.Series, rules: Sequence[MapRule]) -> tuple[np.ndarray, np.ndarray]:
    tags = _text(column).str.replace(r"\s*;\s*", ";", regex=True)
    exact = {r.key: i for i, r in enumerate(rules) if not r.key.endswith(";*")}
    family = {r.key[:-2]: i for i, r in enumerate(rules) if r.key.endswith(";*")}
    idx = _lookup(tags, exact)
    miss = idx < 0
    idx[miss] = _lookup(tags[miss].str.split(";").str[0], family)
    texts = ("baidu_tag:" + tags).to_numpy(dtype=object)
    return idx, texts


def _match_typecode(column: pd.Series, rules: Sequence[MapRule]) -> tuple[np.ndarray, np.ndarray]:
    raw = column
    if pd.api.types.is_numeric_dtype(raw):
        as_int = raw.astype("Int64")
        text = as_int.astype("string").str.zfill(6).astype(object)
        codes = pd.Series(text.to_numpy(dtype=object), dtype=object)
        codes = codes.where(as_int.notna().to_numpy(), None)
    else:
        codes = _text(raw).str.split("|").str[0].str.strip().str.replace(r"\.0$", "", regex=True)
        codes = codes.where(codes.str.fullmatch(r"\d{5,6}").fillna(False).astype(bool), None)
        codes = codes.str.zfill(6)
    exact = {r.key: i for i, r in enumerate(rules) if not r.key.endswith("00")}
    mid = {
        r.key: i for i, r in enumerate(rules) if r.key.endswith("00") and not r.key.endswith("0000")
    }
    big = {r.key: i for i, r in enumerate(rules) if r.key.endswith("0000")}
    idx = _lookup(codes, exact)
    miss = idx < 0
    idx[miss] = _lookup(codes[miss].str[:4] + "00", mid)
    miss = idx < 0
    idx[miss] = _lookup(codes[miss].str[:2] + "0000", big)
    texts = ("amap:" + codes).to_numpy(dtype=object)
    return idx, texts


def _match_amap_type(column: pd.Series, rules: Sequence[MapRule]) -> tuple[np.ndarray, np.ndarray]:
    n = len(column)
    table = {r.key: i for i, r in enumerate(rules)}
    parts = _text(column).str.split("|").explode()
    parts = parts.str.strip().str.replace(r"\s*;\s*", ";", regex=True)
    parts = parts[parts.notna() & (parts != "")]
    segs = parts.str.split(";")
    idx = _lookup(parts, table)
    for depth in (2, 1):
        miss = idx < 0
        idx[miss] = _lookup(segs[miss].str[:depth].str.join(";"), table)
    found = pd.DataFrame({"idx": idx, "text": parts.to_numpy(dtype=object)}, index=parts.index)
    found = found[found["idx"] >= 0]
    first = found.groupby(level=0, sort=False).first()
    out_idx = np.full(n, -1, dtype=np.int64)
    out_text = np.full(n, None, dtype=object)
    pos = first.index.to_numpy(dtype=np.int64)
    out_idx[pos] = first["idx"].to_numpy(dtype=np.int64)
    out_text[pos] = ("amap_type:" + first["text"].astype(str)).to_numpy(dtype=object)
    return out_idx, out_text


def _osm_table(frame: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """The OSM tag values needed by the rules, from plain columns and/or an ``osm_tags`` dict."""
    n = len(frame)
    table = pd.DataFrame(index=pd.RangeIndex(n))
    if "osm_tags" in frame.columns:
        dicts = frame["osm_tags"].to_numpy(dtype=object)
        for key in keys:
            table[key] = [d.get(key) if isinstance(d, dict) else None for d in dicts]
    for key in keys:
        if key in frame.columns:
            plain = frame[key].to_numpy(dtype=object)
            if key in table.columns:
                current = table[key].to_numpy(dtype=object)
                table[key] = np.where(pd.isna(current), plain, current)
            else:
                table[key] = plain
    for key in list(table.columns):
        table[key] = _text(table[key]).to_numpy(dtype=object)
    return table


def _match_osm(frame: pd.DataFrame, rules: Sequence[MapRule]) -> tuple[np.ndarray, np.ndarray]:
    n = len(frame)
    idx = np.full(n, -1, dtype=np.int64)
    keys = list(dict.fromkeys(k for r in rules for k, _ in r.conditions))
    table = _osm_table(frame, keys)
    order = sorted(range(len(rules)), key=lambda i: (-len(rules[i].conditions), i))
    for i in order:
        mask = idx < 0
        for key, value in rules[i].conditions:
            if key not in table.columns:
                mask = np.zeros(n, dtype=bool)
                break
            col = table[key].to_numpy(dtype=object)
            present = col != None  # noqa: E711
            mask &= present if value == "*" else present & (col == value)
            if not mask.any():
                break
        idx[mask] = i
    keys_text = np.array(["osm:" + r.key for r in rules] + [None], dtype=object)
    texts = keys_text[idx]
    return idx, texts


def _match_keywords(
    names: pd.Series,
    cat: Catalogue,
    open_rows: np.ndarray,
    refine: list[frozenset[str] | None],
    src_spec: np.ndarray,
    kw_cat: np.ndarray,
    kw_rule: np.ndarray,
) -> None:
    """First keyword rule matching each open row's name, where the row's source rule allows it."""
    rules = cat.rules.keywords
    allowed = np.array(
        [[spec is None or r.category in spec for r in rules] for spec in refine], dtype=bool
    )
    # only the names of the rows still open are read (none when every row has a category)
    where = np.flatnonzero(open_rows & allowed[src_spec].any(axis=1))
    if where.size == 0:
        return
    text = _text(names.iloc[where])
    folded = text.str.casefold()
    # A bracketed branch suffix names a place (1点点(虹口足球场店)), not the trade: match the
    # name without it, unless nothing else is left.
    bare = folded.str.replace(_BRANCH, "", regex=True).str.strip()
    folded = bare.where(bare.notna() & (bare != ""), folded)
    arr = pa.array(folded.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
    arr = pc.fill_null(arr, "")
    pending = np.array(text.notna().to_numpy(), dtype=bool)  # positions in ``where``
    spec = src_spec[where]
    for r, rule in enumerate(rules):
        cand = pending & allowed[spec, r]
        if not cand.any():
            continue
        local = np.flatnonzero(cand)
        rows = where[local]
        sub = arr.take(pa.array(local))
        hit = pc.match_substring_regex(sub, pattern=rule.include).to_numpy(zero_copy_only=False)
        if rule.exclude is not None and hit.any():
            hit &= ~pc.match_substring_regex(sub, pattern=rule.exclude).to_numpy(
                zero_copy_only=False
            )
        if not hit.any():
            continue
        hit_rows = rows[hit]
        matched = pc.extract_regex(sub.filter(pa.array(hit)), pattern=f"(?P<kw>{rule.include})")
        words = matched.field("kw").to_numpy(zero_copy_only=False)
        kw_cat[hit_rows] = rule.category
        kw_rule[hit_rows] = np.char.add("keyword:", words.astype(str)).astype(object)
        pending[local[hit]] = False


def unclassified_report(
    classified: pd.DataFrame, frame: pd.DataFrame, top: int = 10
) -> pd.DataFrame:
    """The source types that most often stay unclassified.

    Parameters
    ----------
    classified
        Result of :func:`classify` for ``frame``.
    frame
        The classified table (same length and order).
    top
        How many types to list.

    Returns
    -------
    pandas.DataFrame
        Columns ``field`` (typecode / type / tag / the OSM key / ``name``), ``value``,
        ``count``, ``share`` (of the unclassified rows) and ``examples`` (up to three names),
        most frequent first.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"name": ["星光快捷酒店", "月光快捷酒店", "某某公司"],
    ...                       "tag": ["酒店;快捷酒店", "酒店;快捷酒店", "公司企业;公司"]})
    >>> unclassified_report(classify(frame), frame)[["value", "count"]].values.tolist()
    [['酒店;快捷酒店', 2], ['公司企业;公司', 1]]
    """
    if len(classified) != len(frame):
        raise InputError(
            Problem(
                f"classified has {len(classified)} rows but frame has {len(frame)}",
                fix="pass the table that was classified, unfiltered",
            ),
            "unclassified report",
        )
    columns = ["field", "value", "count", "share", "examples"]
    mask = classified["category"].to_numpy(dtype=object) == UNCLASSIFIED
    if not mask.any():
        return pd.DataFrame(columns=columns)
    sub = frame.iloc[np.flatnonzero(mask)].reset_index(drop=True)
    n = len(sub)
    field = np.full(n, "name", dtype=object)
    value = np.full(n, "(no type)", dtype=object)
    open_ = np.ones(n, dtype=bool)
    candidates: list[tuple[str, pd.Series]] = []
    if "typecode" in sub.columns:
        candidates.append(("typecode", _text(sub["typecode"]).str.split("|").str[0]))
    if "type" in sub.columns:
        candidates.append(("type", _text(sub["type"]).str.split("|").str[0]))
    if "tag" in sub.columns:
        candidates.append(("tag", _text(sub["tag"])))
    osm_keys = [k for k in _OSM_PRIMARY if k in sub.columns or "osm_tags" in sub.columns]
    if osm_keys:
        osm = _osm_table(sub, osm_keys)
        for key in osm_keys:
            candidates.append((key, osm[key]))
    for name, values in candidates:
        v = values.to_numpy(dtype=object)
        take = open_ & (v != None)  # noqa: E711
        field[take] = name
        value[take] = (
            v[take] if name in ("typecode", "type", "tag") else [f"{name}={x}" for x in v[take]]
        )
        open_ &= ~take
    names = (
        _text(sub["name"]).to_numpy(dtype=object)
        if "name" in sub.columns
        else np.full(n, None, dtype=object)
    )
    table = pd.DataFrame({"field": field, "value": value, "name": names})
    grouped = table.groupby(["field", "value"], sort=False)
    report = grouped.size().rename("count").reset_index()
    examples = grouped["name"].agg(lambda s: "、".join(pd.unique(s.dropna())[:3]))
    report["examples"] = examples.to_numpy(dtype=object)
    report["share"] = report["count"] / n
    report = report.sort_values("count", ascending=False, kind="stable").head(top)
    return report[columns].reset_index(drop=True)
