"""Display tables shared by the HTML and PDF reports: headers and cells as formatted text."""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from lifecircle.assess.model import GRADE_EN
from lifecircle.report._labels import KPI_EN, PARAMETERS, column_label, grade_label, text

__all__ = [
    "DisplayTable",
    "audit_table",
    "category_labels",
    "district_table",
    "evaluation_table",
    "evidence_table",
    "fmt_number",
    "fmt_share",
    "grade_table",
    "kpi_category_table",
    "kpi_table",
    "satisfaction_table",
    "short_date",
    "snapshot_display",
    "snapshot_rows",
    "snapshot_table",
    "split_kpis",
]

#: Units that mean "a share between 0 and 1" (shown as a percentage).
_SHARE_UNITS = {"share", "ratio", "fraction", "比例", "占比"}


@dataclass
class DisplayTable:
    """A table ready to render.

    Attributes
    ----------
    headers
        Column headings in the report language.
    rows
        Cell texts.
    numeric
        Per column: right-align (numbers).
    status
        Per cell: ``"ok"``, ``"bad"`` or ``None`` (colours ✓/✗ cells).
    widths
        Relative column widths for the PDF (same length as ``headers``).
    links
        Per row: an optional link target (the circle page) for the first cell in HTML.
    """

    headers: list[str]
    rows: list[list[str]]
    numeric: list[bool]
    status: list[list[str | None]] = field(default_factory=list)
    widths: list[float] = field(default_factory=list)
    links: list[str | None] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.status:
            self.status = [[None] * len(self.headers) for _ in self.rows]
        if not self.widths:
            self.widths = [1.0] * len(self.headers)
        if not self.links:
            self.links = [None] * len(self.rows)


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def fmt_number(value: Any, lang: str, digits: int = 1) -> str:
    """A number for display: thousands separators, ``digits`` decimals unless whole, — if missing."""
    if _missing(value):
        return text("na", lang)
    if isinstance(value, (bool, np.bool_)):
        return text("yes", lang) if value else text("no", lang)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(number):
        return text("na", lang)
    if number.is_integer() and abs(number) < 1e15:
        return f"{int(number):,}"
    return f"{number:,.{digits}f}"


def fmt_share(value: Any, lang: str, digits: int = 0) -> str:
    """A share 0–1 as a percentage."""
    if _missing(value):
        return text("na", lang)
    return f"{float(value) * 100:.{digits}f}%"


def _flag(value: Any, lang: str) -> tuple[str, str | None]:
    if _missing(value):
        return text("na", lang), None
    ok = bool(value)
    return (text("yes", lang), "ok") if ok else (text("no", lang), "bad")


@functools.lru_cache(maxsize=1)
def _catalogue_names() -> dict[str, tuple[str, str, str]]:
    from lifecircle.taxonomy import load_catalogue

    return {c.code: (c.name_zh, c.name_en, c.klass) for c in load_catalogue().categories}


def category_labels(codes: Sequence[str], names_zh: Sequence[Any], lang: str) -> list[str]:
    """业态 display names: Chinese from the table, English from the catalogue (else the code)."""
    known = _catalogue_names()
    out = []
    for code, zh in zip(codes, names_zh, strict=True):
        if lang == "en":
            out.append(known.get(str(code), (None, str(code)))[1] or str(code))
        else:
            out.append(str(zh) if not _missing(zh) else known.get(str(code), (str(code),))[0])
    return out


def _class_label(value: Any, lang: str) -> str:
    if value in ("basic", "quality"):
        return text(f"class_{value}", lang)
    return text("na", lang) if _missing(value) else str(value)


def _kpi_value(value: Any, unit: Any, lang: str) -> str:
    if isinstance(unit, str) and unit.strip().lower() in _SHARE_UNITS:
        return fmt_share(value, lang, 1)
    return fmt_number(value, lang, 2 if not _missing(value) and abs(float(value)) < 10 else 1)


#: Display of the KPI units: unit → (Chinese, English).
_UNITS = {
    "count": ("个", ""),
    "per 10k residents": ("个/万人", "per 10k residents"),
    "m² per 100 households": ("m²/百户", "m² per 100 households"),
}


def _unit_label(unit: Any, lang: str) -> str:
    if _missing(unit):
        return ""
    if str(unit).strip().lower() in _SHARE_UNITS:
        return "%"
    pair = _UNITS.get(str(unit))
    if pair is None:
        return str(unit)
    return pair[1] if lang == "en" else pair[0]


def kpi_table(kpis: pd.DataFrame, lang: str) -> DisplayTable:
    """KPIs against targets: indicator, value, target, unit, meets (✓/✗), source tag."""
    show_scope = "scope" in kpis.columns and kpis["scope"].nunique(dropna=True) > 1
    if lang == "en" or "kpi_zh" not in kpis.columns:
        names = kpis["kpi"].astype(str).map(lambda k: KPI_EN.get(k, k.replace("_", " ")))
    else:
        names = kpis["kpi_zh"]
    headers = [column_label("kpi_zh", lang), column_label("value", lang)]
    headers += [column_label(c, lang) for c in ("target", "unit", "meets", "source")]
    numeric = [False, True, True, False, False, False]
    widths = [3.6, 1.1, 1.1, 1.0, 0.8, 0.8]
    if show_scope:
        headers.insert(0, column_label("scope", lang))
        numeric.insert(0, False)
        widths.insert(0, 1.2)
    rows: list[list[str]] = []
    status: list[list[str | None]] = []
    for i, rec in enumerate(kpis.to_dict("records")):
        unit = rec.get("unit")
        name = names.iloc[i]
        meets, state = _flag(rec.get("meets"), lang)
        row = [
            str(name) if not _missing(name) else str(rec.get("kpi", "")),
            _kpi_value(rec.get("value"), unit, lang),
            _kpi_value(rec.get("target"), unit, lang),
            _unit_label(unit, lang),
            meets,
            "" if _missing(rec.get("source")) else str(rec.get("source")),
        ]
        st: list[str | None] = [None, None, None, None, state, None]
        if show_scope:
            scope = rec.get("scope")
            row.insert(0, ("全市" if lang != "en" else "City") if scope == "city" else str(scope))
            st.insert(0, None)
        rows.append(row)
        status.append(st)
    return DisplayTable(headers, rows, numeric, status, widths)


#: KPIs reported per 业态 (``<name>:<code>``), shown as one table with a row per 业态.
_PER_CATEGORY = ("households_covered", "communities_covered", "circles_with", "outlets_per_10k")


def split_kpis(kpis: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Headline KPIs and the per-业态 KPIs (for :func:`kpi_category_table`) of the city scope;
    district rows go to :func:`district_table`."""
    parts = kpis["kpi"].astype(str).str.split(":", n=1)
    name, code = parts.str[0], parts.str[1]
    per = name.isin(_PER_CATEGORY) & code.notna() & (code != "all")
    city = (
        kpis["scope"].astype(str).eq("city")
        if "scope" in kpis.columns
        else pd.Series(True, index=kpis.index)
    )
    return kpis.loc[~per & city], kpis.loc[per & city]


def kpi_category_table(per_category: pd.DataFrame, lang: str) -> DisplayTable:
    """One row per 业态: households/residences covered, circles with it, outlets per 10k."""
    parts = per_category["kpi"].astype(str).str.split(":", n=1)
    frame = pd.DataFrame(
        {
            "name": parts.str[0].to_numpy(),
            "code": parts.str[1].to_numpy(),
            "value": per_category["value"].to_numpy(),
        }
    )
    cols = [c for c in _PER_CATEGORY if (frame["name"] == c).any()]
    codes = list(dict.fromkeys(frame["code"]))
    wide = frame.pivot_table(
        index="code", columns="name", values="value", aggfunc="first", sort=False
    ).reindex(codes)
    known = _catalogue_names()
    labels = category_labels(codes, [known.get(c, (c,))[0] for c in codes], lang)
    headers = [column_label("category_zh", lang), column_label("class", lang)] + [
        column_label(c, lang) for c in cols
    ]
    rows = []
    for code, label in zip(codes, labels, strict=True):
        klass = known.get(code, (None, None, None))[2]
        row = [label, _class_label(klass, lang)]
        for c in cols:
            value = wide.at[code, c] if c in wide.columns else np.nan
            row.append(
                fmt_number(value, lang, 1) if c == "outlets_per_10k" else fmt_share(value, lang)
            )
        rows.append(row)
    return DisplayTable(
        headers, rows, [False, False] + [True] * len(cols), widths=[2.6, 1.2] + [1.1] * len(cols)
    )


def audit_table(audit: pd.DataFrame, lang: str) -> DisplayTable:
    """The audit's warnings and failures: status, check, scope, finding (failures first)."""
    headers = [text(k, lang) for k in ("audit_status", "audit_check", "audit_scope",
                                       "audit_message")]  # fmt: skip
    shown = audit.loc[audit["status"].isin(["fail", "warn"])]
    shown = shown.assign(_o=shown["status"].map({"fail": 0, "warn": 1})).sort_values(
        "_o", kind="stable"
    )
    message = "message_en" if lang == "en" else "message"
    rows, status = [], []
    for rec in shown.to_dict("records"):
        state = str(rec["status"])
        rows.append(
            [
                text(f"status_{state}", lang),
                str(rec["check"]),
                _scope_label(str(rec["scope"]), lang),
                str(rec.get(message) or rec.get("message") or ""),
            ]
        )
        status.append(["bad" if state == "fail" else "warn", None, None, None])
    return DisplayTable(headers, rows, [False] * 4, status, [0.8, 1.3, 1.6, 5.0])


def _scope_label(scope: str, lang: str) -> str:
    if scope == "city":
        return "全市" if lang != "en" else "City"
    if scope.startswith("district:"):
        _, level, name = scope.split(":", 2)
        return f"{level} {name}"
    return scope


#: Header of each column of the by-district table: a grade, or a column label key.
_DISTRICT_HEADERS = {
    "circles_total": "n_circles",
    "circles:quality": "品质型",
    "circles:enhanced": "提升型",
    "circles:basic": "基础型",
    "circles:not graded": "未达标",
    "circles:unverified": "待核实",
    "households_basic_or_better": "households_basic_or_better",
    "outlets_per_10k:all": "outlets_per_10k_all",
}


def district_table(kpis: pd.DataFrame, lang: str) -> DisplayTable | None:
    """One row per district (every level): circles per grade, households in circles at 基础型+,
    outlets per 10k residents; ``None`` without district rows."""
    from lifecircle.assess.pipeline import DISTRICT_KPIS, district_summary

    summary = district_summary(kpis)
    if not len(summary):
        return None
    headers = [text("district_level", lang), text("district_name", lang)]
    for kpi in DISTRICT_KPIS:
        label = _DISTRICT_HEADERS[kpi]
        headers.append(grade_label(label, lang) if label in GRADE_EN else column_label(label, lang))
    rows = []
    for rec in summary.to_dict("records"):
        row = [str(rec["level"]), str(rec["district"])]
        for kpi in DISTRICT_KPIS:
            value = rec[kpi]
            if kpi == "households_basic_or_better":
                row.append(fmt_share(value, lang, 1))
            elif kpi.startswith("outlets_per_10k"):
                row.append(fmt_number(value, lang, 1))
            else:
                row.append(fmt_number(value, lang, 0))
        rows.append(row)
    numeric = [False, False] + [True] * len(DISTRICT_KPIS)
    widths = [0.7, 1.4] + [0.8] * len(DISTRICT_KPIS)
    return DisplayTable(headers, rows, numeric, [], widths)


def grade_table(
    grades: pd.DataFrame, lang: str, links: Mapping[str, str] | None = None
) -> DisplayTable:
    """One row per circle: id, name, grade, households, type counts, what the next grade needs."""
    cols = ["circle_id", "name", "grade", "households", "n_basic", "n_quality"]
    optional = [
        c
        for c in ("evaluation_score", "satisfaction_rate")
        if c in grades.columns and grades[c].notna().any()
    ]
    missing_col = (
        "missing_for_next_grade_en"
        if lang == "en" and "missing_for_next_grade_en" in grades.columns
        else "missing_for_next_grade"
    )
    headers = [column_label(c, lang) for c in [*cols, *optional]] + [
        column_label("missing_for_next_grade", lang)
    ]
    numeric = [False, False, False, True, True, True] + [True] * len(optional) + [False]
    widths = [1.0, 1.5, 1.1, 1.1, 0.9, 0.9] + [1.0] * len(optional) + [3.6]
    rows, status, row_links = [], [], []
    grade_state = {"未达标": "bad", "待核实": "warn"}
    for rec in grades.to_dict("records"):
        row = [
            str(rec.get("circle_id")),
            "" if _missing(rec.get("name")) else str(rec.get("name")),
            grade_label(rec.get("grade"), lang),
            fmt_number(rec.get("households"), lang, 0),
            fmt_number(rec.get("n_basic"), lang, 0),
            fmt_number(rec.get("n_quality"), lang, 0),
        ]
        for c in optional:
            row.append(
                fmt_share(rec.get(c), lang, 1)
                if c == "satisfaction_rate"
                else fmt_number(rec.get(c), lang, 1)
            )
        missing = rec.get(missing_col)
        row.append("" if _missing(missing) else str(missing))
        rows.append(row)
        st: list[str | None] = [None] * len(row)
        st[2] = grade_state.get(str(rec.get("grade")))
        status.append(st)
        row_links.append(None if links is None else links.get(str(rec.get("circle_id"))))
    return DisplayTable(headers, rows, numeric, status, widths, row_links)


def evidence_table(evidence: pd.DataFrame, lang: str) -> DisplayTable:
    """The 有没有 table of one circle: 业态, class, band, present, nearest walk, count, coverage."""
    headers = [
        column_label("category_zh", lang),
        column_label("class", lang),
        column_label("band_min", lang),
        column_label("present", lang),
        column_label("nearest_min_median", lang),
        column_label("count_within_band_median", lang),
        column_label("households_covered_share", lang),
    ]
    numeric = [False, False, True, False, True, True, True]
    widths = [3.0, 1.3, 1.0, 0.8, 1.3, 1.3, 1.2]
    labels = category_labels(
        evidence["category"].astype(str).tolist(),
        evidence.get("category_zh", evidence["category"]).tolist(),
        lang,
    )
    rows, status = [], []
    for label, rec in zip(labels, evidence.to_dict("records"), strict=True):
        present, state = _flag(rec.get("present"), lang)
        rows.append(
            [
                label,
                _class_label(rec.get("class"), lang),
                fmt_number(rec.get("band_min"), lang, 0),
                present,
                fmt_number(rec.get("nearest_min_median"), lang, 1),
                fmt_number(rec.get("count_within_band_median"), lang, 1),
                fmt_share(rec.get("households_covered_share"), lang),
            ]
        )
        status.append([None, None, None, state, None, None, None])
    return DisplayTable(headers, rows, numeric, status, widths)


def _circle_name(circle_id: Any, lang: str) -> str:
    if str(circle_id) == "city":
        return "全市" if lang != "en" else "City"
    return str(circle_id)


def satisfaction_table(satisfaction: pd.DataFrame, lang: str) -> DisplayTable:
    """Satisfaction per circle and city: responses, rate, Wilson 95 % interval, below target."""
    headers = [
        column_label(c, lang)
        for c in ("circle_id", "n_valid", "n_satisfied", "rate", "ci", "below_target")
    ]
    numeric = [False, True, True, True, True, False]
    widths = [1.4, 1.0, 1.0, 1.0, 1.6, 1.0]
    rows, status = [], []
    for rec in satisfaction.to_dict("records"):
        below = rec.get("below_target")
        if _missing(below):
            flag, state = text("na", lang), None
        elif bool(below):
            flag, state = text("no", lang), "bad"
        else:
            flag, state = text("yes", lang), "ok"
        ci = (
            text("na", lang)
            if _missing(rec.get("ci_low"))
            else f"{fmt_share(rec.get('ci_low'), lang, 1)} – {fmt_share(rec.get('ci_high'), lang, 1)}"
        )
        rows.append(
            [
                _circle_name(rec.get("circle_id"), lang),
                fmt_number(rec.get("n_valid"), lang, 0),
                fmt_number(rec.get("n_satisfied"), lang, 0),
                fmt_share(rec.get("rate"), lang, 1),
                ci,
                flag,
            ]
        )
        status.append([None, None, None, None, None, state])
    # the ✓/✗ column reads "meets the target"
    headers[-1] = column_label("meets", lang)
    return DisplayTable(headers, rows, numeric, status, widths)


def evaluation_table(evaluation: pd.DataFrame, lang: str) -> DisplayTable:
    """Evaluation scores per circle: total score, then one column per indicator."""
    others = [c for c in evaluation.columns if c not in ("circle_id", "score")]
    cols = ["circle_id", "score", *others]
    headers = [column_label(c, lang) for c in cols]
    numeric = [False] + [True] * (len(cols) - 1)
    rows = [
        [_circle_name(rec.get("circle_id"), lang)]
        + [fmt_number(rec.get(c), lang, 1) for c in cols[1:]]
        for rec in evaluation.to_dict("records")
    ]
    return DisplayTable(headers, rows, numeric, widths=[1.3] + [1.0] * (len(cols) - 1))


def _compact(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (list, tuple)):
        return ", ".join(_compact(v) for v in value)
    if isinstance(value, Mapping):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def snapshot_rows(snapshot: Mapping[str, Any], lang: str) -> list[tuple[str, str]]:
    """Flatten the data snapshot into (item, value) rows; nested mappings become one row per key."""
    rows: list[tuple[str, str]] = []
    for key, value in snapshot.items():
        try:
            label = text(f"snapshot_{key}", lang)
        except KeyError:
            label = str(key)
        if isinstance(value, Mapping) and value:
            for sub, subvalue in value.items():
                rows.append((f"{label} · {sub}", _compact(subvalue)))
        else:
            rows.append((label, _compact(value)))
    return rows


def short_date(value: Any) -> str:
    """``2026-11-22`` from an ISO date or date-time; other text unchanged."""
    text_ = str(value)
    return text_[:10] if len(text_) >= 10 and text_[4] == "-" and text_[7] == "-" else text_


def _parameter(key: str, value: Any, lang: str) -> str:
    if key == "walk_speed_kmh":
        return f"{float(value):g} km/h"
    if key == "walk_speed_m_per_min":
        return f"{float(value):g} m/min"
    if key in ("bands_min", "circle_minutes"):
        return f"{_compact(value)} {'min' if lang == 'en' else '分钟'}"
    if key == "coverage_share":
        return fmt_share(value, lang)
    if key == "max_snap_m":
        return f"{float(value):g} m"
    return _compact(value)


def snapshot_display(snapshot: Mapping[str, Any], lang: str) -> list[tuple[str, str]]:
    """The data snapshot as (item, value) rows for the reports: date, versions, rulebook,
    input files with their SHA-256, parameters, data size.  Keys it does not know are shown
    as they are (``city`` and ``timings_s`` are left to the workbook)."""
    rows: list[tuple[str, str]] = []
    done = {"city", "timings_s"}
    if snapshot.get("date"):
        rows.append((text("snapshot_date", lang), str(snapshot["date"])))
    done.add("date")
    version = snapshot.get("lifecircle_version") or snapshot.get("software_version")
    if version:
        rows.append((text("snapshot_software_version", lang), str(version)))
    done |= {"lifecircle_version", "software_version"}
    rulebook = snapshot.get("rulebook")
    if isinstance(rulebook, Mapping):
        parts = [str(rulebook.get("name") or "")]
        if rulebook.get("version"):
            parts.append(text("version", lang, v=rulebook["version"]))
        if rulebook.get("provisional"):
            parts.append(text("provisional", lang))
        rows.append((text("snapshot_rulebook", lang), " · ".join(p for p in parts if p)))
        if rulebook.get("sha256"):
            rows.append((text("snapshot_rulebook_sha256", lang), str(rulebook["sha256"])))
        done.add("rulebook")
    elif snapshot.get("rulebook_version"):
        rows.append((text("snapshot_rulebook_version", lang), str(snapshot["rulebook_version"])))
    done.add("rulebook_version")
    catalogue = snapshot.get("catalogue")
    cat_version = (
        catalogue.get("version")
        if isinstance(catalogue, Mapping)
        else snapshot.get("catalogue_version")
    )
    if cat_version:
        rows.append((text("snapshot_catalogue", lang), str(cat_version)))
    done |= {"catalogue", "catalogue_version"}
    inputs = snapshot.get("inputs")
    if isinstance(inputs, Mapping):
        for path, digest in inputs.items():
            name = str(path).replace("\\", "/").rsplit("/", 1)[-1]
            rows.append((f"{text('snapshot_inputs', lang)} · {name}", _compact(digest)))
        done.add("inputs")
    params = snapshot.get("parameters")
    if isinstance(params, Mapping):
        shown: set[str] = set()
        for key, value in params.items():
            if value is None or value == "":
                continue
            if key == "walk_speed_m_per_min" and "walk_speed_kmh" in params:
                continue
            pair = PARAMETERS.get(str(key))
            label = (pair[1] if lang == "en" else pair[0]) if pair else str(key)
            if label in shown:
                continue
            shown.add(label)
            rows.append(
                (
                    f"{text('snapshot_parameters', lang)} · {label}",
                    _parameter(str(key), value, lang),
                )
            )
        done.add("parameters")
    counts = snapshot.get("counts")
    if isinstance(counts, Mapping) and {"outlets", "residences", "circles"} <= set(counts):
        rows.append(
            (
                text("snapshot_counts", lang),
                text(
                    "snapshot_counts_text",
                    lang,
                    outlets=fmt_number(counts["outlets"], lang, 0),
                    residences=fmt_number(counts["residences"], lang, 0),
                    excluded=fmt_number(counts.get("residences_excluded", 0), lang, 0),
                    circles=fmt_number(counts["circles"], lang, 0),
                ),
            )
        )
        done.add("counts")
    rest = {k: v for k, v in snapshot.items() if k not in done}
    return rows + snapshot_rows(rest, lang)


def snapshot_table(snapshot: Mapping[str, Any], lang: str) -> DisplayTable:
    """The data snapshot as a two-column table (see :func:`snapshot_display`)."""
    rows = [[k, v] for k, v in snapshot_display(snapshot, lang)]
    return DisplayTable(
        [text("snapshot_item", lang), text("snapshot_value", lang)],
        rows,
        [False, False],
        widths=[1.6, 4.4],
    )
