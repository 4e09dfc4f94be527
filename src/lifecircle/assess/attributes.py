"""Outlet attributes (breakfast offer, 24-hour opening, services) and the must-haves that name them.

A rulebook's must-have group may name an outlet *attribute* besides a 业态: ``fast_food+breakfast``
is "a 快餐小吃店 with a breakfast offer".  The seeds define 一早 that way — 三年行动 (policy 004) and
Fujian (000): 以早餐店、小吃店、"便利店+早餐服务"、"互联网+早餐服务"等为主体 (standards.md §14.2, V1) — so
the default rulebook's 一早 group is ``breakfast | fast_food+breakfast |
convenience_store+breakfast_service``.

An attribute is configuration (an ``[attributes.<name>]`` table of the rulebook, with its source):
an outlet has it when its **name** holds one of ``name_keywords``, its ``services`` list holds one
of ``services``, its parsed ``opening_hours`` open before ``opens_before`` (``"09:00"``), or, with
``open_24h = true``, it is open 24 hours.  How to detect a breakfast offer from map data is a
proposal of this software (P); the rulebook says so.

:func:`parse_hours` turns the free-text ``opening_hours`` of Amap/Baidu/OSM/census data into
structured opening intervals; :func:`outlet_attributes` gives every outlet its parsed hours and
services as filterable columns.

Examples
--------
>>> parse_hours("周一至周日 06:30-14:00")
((390, 840),)
>>> is_open_24h("24小时营业"), opens_before("7:00-21:00", "09:00"), opens_before("10:00-22:00", "09:00")
(True, True, False)
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from lifecircle.errors import Problem

if TYPE_CHECKING:
    from lifecircle.assess.rulebook import Rulebook

__all__ = [
    "ATTRIBUTE_SEP",
    "OutletAttribute",
    "attribute_access",
    "attribute_outlets",
    "attribute_rows",
    "has_attribute",
    "is_open_24h",
    "opens_before",
    "outlet_attributes",
    "parse_attributes",
    "parse_hours",
    "service_kpis",
    "split_code",
]

#: Offers measured by :func:`service_kpis`: name → alternatives (``业态``, ``业态+attribute`` or
#: ``*+attribute`` for any 业态).  The breakfast offer is the default rulebook's 一早 group; a
#: 24-hour offer is a shop, pharmacy or eatery open 24 hours (a bank's 24-hour ATM is not) (P).
SERVICE_OFFERS: dict[str, tuple[str, ...]] = {
    "open_24h": (
        "convenience_store+open_24h",
        "supermarket+open_24h",
        "pharmacy+open_24h",
        "fast_food+open_24h",
    ),
    "parcel": ("post_express", "*+parcel_service"),
    "breakfast": ("breakfast", "fast_food+breakfast", "convenience_store+breakfast_service"),
}
_OFFER_ZH = {"open_24h": "24小时营业网点", "parcel": "快递收寄点", "breakfast": "早餐供应"}

#: Separator of a 业态 code and an attribute in a must-have (``fast_food+breakfast``).
ATTRIBUTE_SEP = "+"

_RANGE = re.compile(
    r"(?<!\d)([01]?\d|2[0-4])\s*[:：点]\s*([0-5]\d)?\s*(?:分)?\s*[-–—~～至到]\s*"
    r"(?:次日|凌晨)?\s*([01]?\d|2[0-4])\s*[:：点]\s*([0-5]\d)?"
)
_ALL_DAY = re.compile(r"24\s*(?:小时|h|hours?)|24/7|全天|00:00\s*-\s*24:00|0:00\s*-\s*24:00", re.I)
_KEYS = ("label", "label_en", "name_keywords", "services", "opens_before", "open_24h")
_META = ("source", "confidence", "note")


@dataclass(frozen=True)
class OutletAttribute:
    """What gives an outlet an attribute (any one criterion suffices).

    Attributes
    ----------
    name
        Key used in must-haves (``breakfast`` in ``fast_food+breakfast``).
    label, label_en
        Display names (早餐供应 / breakfast offer).
    name_keywords
        Name keywords (case-insensitive substrings).
    services
        Entries of an outlet's ``services`` list (``;``-separated) that give the attribute.
    opens_before
        Minutes after midnight: outlets opening earlier have it (``None``: hours not used).
    open_24h
        Outlets open 24 hours have it.
    source, confidence
        Where the definition comes from (standards.md §0 tags).
    """

    name: str
    label: str
    label_en: str
    name_keywords: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    opens_before: int | None = None
    open_24h: bool = False
    source: str = ""
    confidence: str = "P"


def split_code(code: str) -> tuple[str, str | None]:
    """``"fast_food+breakfast"`` → ``("fast_food", "breakfast")``; a plain code → ``(code, None)``."""
    base, sep, attr = code.partition(ATTRIBUTE_SEP)
    return (base, attr) if sep else (code, None)


def parse_hours(text: object) -> tuple[tuple[int, int], ...]:
    """Opening intervals in minutes after midnight (the end may pass 1440 for overnight hours).

    ``24小时``/``24/7``/``全天`` give ``((0, 1440),)``; text without a time range gives ``()``.

    Examples
    --------
    >>> parse_hours("Mo-Fr 07:00-21:00; Sa 8:30-12:00")
    ((420, 1260), (510, 720))
    >>> parse_hours("18:00-次日02:00"), parse_hours("24小时"), parse_hours("")
    (((1080, 1560),), ((0, 1440),), ())
    """
    if text is None or (isinstance(text, float) and np.isnan(text)) or text is pd.NA:
        return ()
    s = str(text)
    if _ALL_DAY.search(s):
        return ((0, 1440),)
    out = []
    for m in _RANGE.finditer(s):
        start = int(m.group(1)) * 60 + int(m.group(2) or 0)
        end = int(m.group(3)) * 60 + int(m.group(4) or 0)
        if start >= 1440:
            continue
        if end <= start:
            end += 1440
        out.append((start, end))
    return tuple(out)


def is_open_24h(text: object) -> bool:
    """True when the hours cover a whole day."""
    return any(end - start >= 1440 for start, end in parse_hours(text))


def opens_before(text: object, time: str | int) -> bool:
    """True when an opening interval starts before ``time`` (``"09:00"`` or minutes)."""
    limit = _minutes(time) if isinstance(time, str) else int(time)
    return any(start < limit for start, _ in parse_hours(text))


def _minutes(text: str) -> int:
    m = re.fullmatch(r"\s*([01]?\d|2[0-3])\s*:\s*([0-5]\d)\s*", text)
    if m is None:
        raise ValueError(f"not a time of day (HH:MM): {text!r}")
    return int(m.group(1)) * 60 + int(m.group(2))


def _services(value: object) -> set[str]:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return set()
    return {s.strip().casefold() for s in re.split(r"[；;，,、|]", str(value)) if s.strip()}


def has_attribute(outlets: pd.DataFrame, attribute: OutletAttribute) -> np.ndarray:
    """Which outlets have ``attribute`` (by name keyword, ``services``, ``opening_hours``).

    Examples
    --------
    >>> attr = OutletAttribute("breakfast", "早餐供应", "breakfast offer", ("早餐", "包子"),
    ...                        ("早餐",), opens_before=540)
    >>> frame = pd.DataFrame({"name": ["老王小吃", "老李小吃", "刘记包子", "张记面馆"],
    ...                       "opening_hours": ["06:30-13:00", "10:00-22:00", None, None],
    ...                       "services": [None, None, None, "早餐;外卖"]})
    >>> has_attribute(frame, attr).tolist()
    [True, False, True, True]
    """
    n = len(outlets)
    hit = np.zeros(n, dtype=bool)
    if attribute.name_keywords and "name" in outlets.columns:
        pattern = "|".join(re.escape(k.casefold()) for k in attribute.name_keywords if k)
        names = outlets["name"].astype("string").str.casefold()
        hit |= np.asarray(names.str.contains(pattern, regex=True).fillna(False), dtype=bool)
    if attribute.services and "services" in outlets.columns:
        wanted = {s.casefold() for s in attribute.services}
        hit |= np.array([bool(_services(v) & wanted) for v in outlets["services"]], dtype=bool)
    if "opening_hours" in outlets.columns and (
        attribute.opens_before is not None or attribute.open_24h
    ):
        hours = [parse_hours(v) for v in outlets["opening_hours"]]
        if attribute.opens_before is not None:
            early = attribute.opens_before
            hit |= np.array([any(s < early for s, _ in h) for h in hours], dtype=bool)
        if attribute.open_24h:
            hit |= np.array([any(e - s >= 1440 for s, e in h) for h in hours], dtype=bool)
    return hit


def outlet_attributes(outlets: pd.DataFrame) -> pd.DataFrame:
    """Parsed, filterable hours and services of every outlet.

    Returns
    -------
    pandas.DataFrame
        Index-aligned ``opens_at`` and ``closes_at`` (minutes after midnight of the first
        interval; NaN when unknown), ``open_24h`` (nullable bool, NA when the hours are unknown),
        ``services_list`` (list of entries).

    Examples
    --------
    >>> frame = pd.DataFrame({"opening_hours": ["24小时", "07:00-20:00", None],
    ...                       "services": ["代收代发;打印复印", None, "缴费"]})
    >>> outlet_attributes(frame).values.tolist()
    [[0.0, 1440.0, True, ['代收代发', '打印复印']], [420.0, 1200.0, False, []], [nan, nan, <NA>, ['缴费']]]
    """
    hours = (
        [parse_hours(v) for v in outlets["opening_hours"]]
        if "opening_hours" in outlets.columns
        else [()] * len(outlets)
    )
    services = (
        outlets["services"].to_numpy(dtype=object)
        if "services" in outlets.columns
        else [None] * len(outlets)
    )
    return pd.DataFrame(
        {
            "opens_at": [float(h[0][0]) if h else np.nan for h in hours],
            "closes_at": [float(h[0][1]) if h else np.nan for h in hours],
            "open_24h": pd.array(
                [any(e - s >= 1440 for s, e in h) if h else None for h in hours], dtype="boolean"
            ),
            "services_list": [
                [s.strip() for s in re.split(r"[；;，,、|]", str(v)) if s.strip()]
                if isinstance(v, str)
                else []
                for v in services
            ],
        },
        index=outlets.index,
    )


def attribute_outlets(outlets: pd.DataFrame, rulebook: Rulebook) -> pd.DataFrame:
    """One row per outlet × attribute code the rulebook's must-haves name (``fast_food+breakfast``),
    with ``category`` set to that code and ``outlet_id`` suffixed ``+<attribute>``."""
    parts = []
    for code in rulebook.derived_codes():
        base, attr = split_code(code)
        assert attr is not None  # derived codes always carry one
        rows = outlets.loc[outlets["category"].astype("string") == base]
        if len(rows):
            mask = has_attribute(rows, rulebook.attributes[attr])
            picked = rows.loc[mask].copy()
            picked["outlet_id"] = picked["outlet_id"].astype(str) + ATTRIBUTE_SEP + attr
            picked["category"] = code
            picked.attrs = {}  # the reader's attrs (tables) cannot be compared by concat
            parts.append(picked)
    if not parts:
        empty = outlets.iloc[:0].copy()
        empty.attrs = {}
        return empty
    return pd.concat(parts)


def attribute_rows(
    network: Any,
    outlets: pd.DataFrame,
    residences: pd.DataFrame,
    rulebook: Rulebook,
    *,
    walk_speed: float | str,
    bands_min: Sequence[float],
) -> pd.DataFrame | None:
    """Access rows (no k-nearest lists) of the rulebook's attribute codes, from a separate search
    over the outlets having the attribute; ``None`` when no must-have names an attribute or no
    outlet has one (their coverage is then 0)."""
    codes = rulebook.derived_codes()
    extra = attribute_outlets(outlets, rulebook) if codes else None
    if extra is None or not len(extra):
        return None
    from lifecircle.access import compute_access

    more = compute_access(
        network,
        extra,
        residences,
        categories=codes,
        category_names={c: _label(c, rulebook) for c in codes},
        walk_speed=walk_speed,
        bands_min=bands_min,
    )
    return more.table.drop_columns(["knn_outlet_ids", "knn_m"]).to_pandas()


def attribute_access(access_table: Any, rows: pd.DataFrame | None) -> Any:
    """The access table with the rows of :func:`attribute_rows` added (for grading).

    Without attribute rows the table is returned as is; the access result of the assessment
    keeps catalogue 业态 only.
    """
    if rows is None:
        return access_table
    table = getattr(access_table, "table", access_table)
    base = table.to_pandas() if hasattr(table, "to_pandas") else pd.DataFrame(table)
    base = base.drop(columns=["knn_outlet_ids", "knn_m"], errors="ignore")
    return pd.concat([base, rows[list(base.columns)]], ignore_index=True)


def _label(code: str, rulebook: Rulebook) -> str:
    base, attr = split_code(code)
    a = rulebook.attributes.get(attr or "")
    return f"{base}（{a.label}）" if a else code


def parse_attributes(
    raw: object, file: str | None, line: int | None, problems: list[Problem]
) -> dict[str, OutletAttribute]:
    """The ``[attributes]`` table of a rulebook, every problem recorded."""
    at = f" (line {line})" if line else ""
    if not isinstance(raw, Mapping):
        problems.append(
            Problem(
                f"[attributes] must be a table{at}",
                file=file,
                field="attributes",
                fix="write [attributes.<name>]",
            )
        )
        return {}
    out: dict[str, OutletAttribute] = {}
    for name, table in raw.items():
        where = f"attributes.{name}"
        if not isinstance(table, Mapping):
            problems.append(
                Problem(f"{where} must be a table{at}", file=file, field=where, fix="write a table")
            )
            continue
        n_before = len(problems)

        def bad(key: str, message: str, fix: str, where: str = where) -> None:
            problems.append(Problem(message + at, file=file, field=f"{where}.{key}", fix=fix))

        for key in table:
            if key not in _KEYS + _META:
                bad(key, f"unknown key {key!r}", f"use {', '.join(_KEYS + _META)}")
        lists: dict[str, tuple[str, ...]] = {}
        for key in ("name_keywords", "services"):
            value = table.get(key, [])
            if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
                bad(key, f"{key} must be a list of texts, got {value!r}", f'write {key} = ["…"]')
                value = []
            lists[key] = tuple(value)
        early = table.get("opens_before")
        minutes: int | None = None
        if early is not None:
            try:
                minutes = _minutes(str(early))
            except ValueError:
                bad("opens_before", f"opens_before must be HH:MM, got {early!r}", '"09:00"')
        all_day = table.get("open_24h", False)
        if not isinstance(all_day, bool):
            bad("open_24h", f"open_24h must be true or false, got {all_day!r}", "open_24h = true")
        source = table.get("source")
        if not isinstance(source, str) or not source.strip():
            bad("source", "an attribute needs its source", 'write source = "<document, section>"')
        if not (lists["name_keywords"] or lists["services"] or minutes is not None or all_day):
            bad(
                "name_keywords",
                "an attribute needs at least one criterion",
                "give name_keywords, services, opens_before or open_24h",
            )
        if len(problems) > n_before:
            continue
        out[str(name)] = OutletAttribute(
            name=str(name),
            label=str(table.get("label", name)),
            label_en=str(table.get("label_en", name)),
            name_keywords=lists["name_keywords"],
            services=lists["services"],
            opens_before=minutes,
            open_24h=bool(all_day),
            source=str(source),
            confidence=str(table.get("confidence", "P")),
        )
    return out


def service_kpis(
    assessment: Any,
    rulebook: Rulebook,
    *,
    minutes: float = 10.0,
    offers: Mapping[str, Sequence[str]] = SERVICE_OFFERS,
) -> pd.DataFrame:
    """Share of households within ``minutes`` of a 24-hour outlet, a parcel point, a breakfast offer.

    Parameters
    ----------
    assessment
        The assessment (network, outlets with ``opening_hours``/``services``, residences).
    rulebook
        Defines the attributes the offers name (``open_24h``, ``parcel_service``, ``breakfast``
        …; see the default rulebook's ``[attributes]``).
    minutes
        Walking time (default 10, 家门口).
    offers
        Offer name → alternatives (default :data:`SERVICE_OFFERS`).

    Returns
    -------
    pandas.DataFrame
        Rows in the layout of ``kpis.csv`` (``scope = "city"``, ``kpi =
        households_within_<m>min:<offer>``, unit ``share``, no target); households with unknown
        counts are left out; without any count, residences are counted.  An offer that no outlet
        shows while no outlet has opening hours or services is NaN (unknown), with a note.
    """
    from lifecircle.access import compute_access
    from lifecircle.assess.kpis import KPI_COLUMNS

    outlets = assessment.outlets
    parts = []
    blind: set[str] = set()  # offers the data cannot show (no hours/services, nothing found)
    known = np.zeros(len(outlets), dtype=bool)
    for info in ("opening_hours", "services"):
        if info in outlets.columns:
            known |= outlets[info].notna().to_numpy(dtype=bool)
    for name, alternatives in offers.items():
        mask = np.zeros(len(outlets), dtype=bool)
        for alt in alternatives:
            base, attr = split_code(alt)
            sel = (
                np.ones(len(outlets), dtype=bool)
                if base == "*"
                else (outlets["category"].astype("string") == base).fillna(False).to_numpy(bool)
            )
            if attr is not None:
                if attr not in rulebook.attributes:
                    raise KeyError(f"offer {name!r} names unknown attribute {attr!r}")
                sel &= has_attribute(outlets, rulebook.attributes[attr])
            mask |= sel
        if not mask.any() and not known.any():
            blind.add(name)
        picked = outlets.loc[mask].copy()
        picked["outlet_id"] = picked["outlet_id"].astype(str) + "#" + name
        picked["category"] = f"offer:{name}"
        picked.attrs = {}
        parts.append(picked)
    codes = [f"offer:{n}" for n in offers]
    res = assessment.residences
    hh = pd.to_numeric(res.get("households"), errors="coerce") if "households" in res else None
    rows = []
    virtual = pd.concat(parts) if parts else outlets.iloc[:0]
    if len(virtual):
        params = (assessment.snapshot or {}).get("parameters", {})
        table = (
            compute_access(
                assessment.network,
                virtual,
                res,
                categories=codes,
                walk_speed=params.get("walk_speed_kmh", 4.2),
                bands_min=[minutes],
            )
            .table.drop_columns(["knn_outlet_ids", "knn_m"])
            .to_pandas()
        )
    else:
        table = pd.DataFrame(columns=["residence_id", "category", f"n_{minutes:g}min"])
    col = [c for c in table.columns if c.startswith("n_") and c.endswith("min")]
    weights = pd.Series(
        hh.to_numpy(dtype=np.float64) if hh is not None else np.nan,
        index=res["residence_id"].astype(str),
    )
    use_hh = bool(np.isfinite(weights.to_numpy()).any())
    for name, code in zip(offers, codes, strict=True):
        sub = table[table["category"] == code]
        reach = pd.Series(
            (sub[col[0]].fillna(0).to_numpy() > 0) if col and len(sub) else [],
            index=sub["residence_id"].astype(str) if len(sub) else pd.Index([]),
            dtype=bool,
        )
        w = weights if use_hh else pd.Series(1.0, index=weights.index)
        w = w[np.isfinite(w.to_numpy())]
        covered = reach.reindex(w.index, fill_value=False).to_numpy(dtype=bool)
        total = float(w.sum())
        value = float(w.to_numpy()[covered].sum()) / total if total > 0 else np.nan
        label = f"{minutes:g}分钟内有{_OFFER_ZH.get(name, name)}的户数占比"
        if name in blind:  # no outlet has hours or services: unknown, not zero
            value, label = np.nan, label + "（数据无营业时间/服务项目，无法判断）"
        rows.append(
            {
                "scope": "city",
                "kpi": f"households_within_{minutes:g}min:{name}",
                "kpi_zh": label,
                "value": value,
                "target": np.nan,
                "unit": "share",
                "meets": pd.NA,
                "source": "",
            }
        )
    out = pd.DataFrame(rows, columns=list(KPI_COLUMNS))
    out["meets"] = out["meets"].astype("boolean")
    return out
