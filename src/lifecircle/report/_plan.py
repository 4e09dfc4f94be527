"""Display tables and text of the 1+N project list in the reports.

The city report shows the city plan ("1": one row per 业态, and one row per circle with
projects), each circle's report its own plan ("N": the missing 业态 ranked by households
gained, and the proposed sites).  The numbers are those of
:class:`~lifecircle.plan.projects.ProjectPlan`, formatted only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd

from lifecircle.report._labels import column_label, text
from lifecircle.report._tables import (
    DisplayTable,
    _class_label,
    _flag,
    _missing,
    category_labels,
    fmt_number,
    fmt_share,
)

if TYPE_CHECKING:
    from lifecircle.plan.projects import ProjectPlan

__all__ = [
    "circle_plan_text",
    "city_plan_text",
    "plan_circles_table",
    "plan_city_table",
    "project_note",
    "project_sites_table",
    "project_table",
]

#: How many 业态 the per-circle row of the city report names.
_TOP = 3
_TOO_MANY = re.compile(r"^(\d+) sites needed")


def _labels(frame: pd.DataFrame, lang: str) -> list[str]:
    return category_labels(
        frame["category"].astype(str).tolist(),
        frame["category_zh"].tolist() if "category_zh" in frame else [None] * len(frame),
        lang,
    )


def _join(values: Any, lang: str) -> str:
    parts = [str(v) for v in values if not _missing(v) and str(v)]
    return ("、" if lang != "en" else ", ").join(parts)


def _change(before: Any, after: Any, lang: str) -> str:
    return f"{fmt_share(before, lang)} → {fmt_share(after, lang)}"


def _reach(projects: pd.DataFrame, lang: str) -> dict[str, str]:
    """How many projects reach the target, and the target, for the texts."""
    target = projects["target_share"].dropna()
    return {
        "n_reach": f"{int(projects['reaches_target'].astype(bool).sum()):,}",
        "target": fmt_share(target.iloc[0] if len(target) else None, lang),
    }


def _has(frame: pd.DataFrame, column: str) -> bool:
    """Whether any row of ``frame`` gives ``column`` (floor area, rent, ...)."""
    if column not in frame.columns:
        return False
    return bool(pd.to_numeric(frame[column], errors="coerce").notna().any())


def city_plan_text(plan: ProjectPlan, lang: str) -> str:
    """The paragraph above the city plan."""
    p = plan.projects
    if not len(p):
        return text("plan_none", lang)
    return text(
        "plan_city_text",
        lang,
        n_projects=f"{len(p):,}",
        n_circles=f"{p['circle_id'].nunique():,}",
        n_categories=f"{p['category'].nunique():,}",
        n_sites=f"{plan.sites['site_id'].nunique():,}",
        **_reach(p, lang),
    )


def plan_city_table(city: pd.DataFrame, lang: str) -> DisplayTable:
    """The city plan ("1"): per 业态 circles missing it, projects, sites, households lacking and
    gained, city household coverage before → after."""
    cols = ["circles_missing", "n_projects", "n_sites", "households_lacking", "households_gained"]
    headers = [column_label("category_zh", lang), column_label("class", lang)]
    headers += [column_label(c, lang) for c in cols] + [column_label("coverage_change", lang)]
    rows = []
    for label, rec in zip(_labels(city, lang), city.to_dict("records"), strict=True):
        rows.append(
            [label, _class_label(rec.get("class"), lang)]
            + [fmt_number(rec.get(c), lang, 0) for c in cols]
            + [_change(rec.get("share_before"), rec.get("share_after"), lang)]
        )
    return DisplayTable(
        headers,
        rows,
        [False, False] + [True] * (len(cols) + 1),
        widths=[2.6, 1.1, 1.1, 0.8, 0.9, 1.1, 1.1, 1.4],
    )


def plan_circles_table(
    plan: ProjectPlan, lang: str, links: Mapping[str, str] | None = None
) -> DisplayTable:
    """One row per circle with projects: projects, how many reach the target, distinct sites,
    the first 业态 by households gained; the first cell links to the circle page."""
    headers = [
        column_label(c, lang)
        for c in ("circle_id", "circle_name", "n_projects", "n_reach", "n_sites")
    ] + [text("top_projects", lang, n=_TOP)]
    rows, row_links = [], []
    p = plan.projects
    labels = pd.Series(_labels(p, lang), index=p.index, dtype=object)
    sites = plan.sites.groupby(plan.sites["circle_id"].astype(str))["site_id"].nunique()
    for cid, group in p.groupby(p["circle_id"].astype(str), sort=False):
        first = group.sort_values("rank", kind="stable")
        name = first["circle_name"].iloc[0]
        rows.append(
            [
                cid,
                "" if _missing(name) or str(name) == cid else str(name),
                f"{len(group):,}",
                f"{int(group['reaches_target'].astype(bool).sum()):,}",
                f"{int(sites.get(cid, 0)):,}",
                _join(labels.loc[first.index[:_TOP]], lang),
            ]
        )
        row_links.append(None if links is None else links.get(cid))
    return DisplayTable(
        headers,
        rows,
        [False, False, True, True, True, False],
        widths=[1.0, 1.6, 0.8, 1.1, 0.9, 3.6],
        links=row_links,
    )


def circle_plan_text(projects: pd.DataFrame, lang: str) -> str:
    """The paragraph above a circle's plan."""
    if not len(projects):
        return text("plan_circle_none", lang)
    return text("plan_circle_text", lang, n=f"{len(projects):,}", **_reach(projects, lang))


def project_note(rec: Mapping[Any, Any], lang: str) -> str:
    """Why a project does not reach the target, in the report language (``""`` when it does)."""
    if _missing(rec.get("n_sites")) or int(rec["n_sites"]) == 0:
        return text("note_no_candidate", lang)
    if str(rec.get("model")) != "mclp":
        return ""
    found = _TOO_MANY.match(str(rec.get("note") or ""))
    if found:
        return text("note_too_many", lang, n=found.group(1), shown=int(rec["n_sites"]))
    return text("note_out_of_reach", lang)


def project_table(
    projects: pd.DataFrame, lang: str, *, floor_area: bool = False, rent: bool = False
) -> DisplayTable:
    """A circle's plan ("N"): rank, 业态, class, coverage before → after, households gained,
    sites (names, else ids), floor area and rent (when asked), reaches the target, note."""
    headers = [
        column_label(c, lang)
        for c in (
            "rank",
            "category_zh",
            "class",
            "coverage_change",
            "households_gained",
            "n_sites",
            "site_names",
        )
    ]
    numeric = [True, False, False, True, True, True, False]
    widths = [0.7, 1.9, 1.05, 1.4, 1.35, 0.7, 1.65]
    if floor_area:
        headers.append(column_label("floor_area_m2", lang))
        numeric.append(True)
        widths.append(0.8)
    if rent:
        headers.append(column_label("rent", lang))
        numeric.append(True)
        widths.append(0.7)
    headers += [column_label("reaches_target", lang), column_label("note", lang)]
    numeric += [False, False]
    widths += [0.8, 1.9]
    rows, status = [], []
    for label, rec in zip(_labels(projects, lang), projects.to_dict("records"), strict=True):
        names = str(rec.get("site_names") or "") or str(rec.get("site_ids") or "")
        row = [
            fmt_number(rec.get("rank"), lang, 0),
            label,
            _class_label(rec.get("class"), lang),
            _change(rec.get("share_before"), rec.get("share_after"), lang),
            fmt_number(rec.get("households_gained"), lang, 0),
            fmt_number(rec.get("n_sites"), lang, 0),
            _join(names.split(";"), lang),
        ]
        if floor_area:
            row.append(fmt_number(rec.get("floor_area_m2"), lang, 1))
        if rent:
            row.append(fmt_number(rec.get("rent"), lang, 0))
        reaches, state = _flag(rec.get("reaches_target"), lang)
        row += [reaches, project_note(rec, lang)]
        st: list[str | None] = [None] * len(row)
        st[-2] = state
        rows.append(row)
        status.append(st)
    return DisplayTable(headers, rows, numeric, status, widths)


def project_sites_table(sites: pd.DataFrame, lang: str) -> DisplayTable:
    """A circle's proposed sites, one row per site: id, name, the 业态 it adds, lon/lat, and
    floor area, rent and capacity where the candidates give them."""
    optional = [c for c in ("floor_area", "rent", "capacity") if _has(sites, c)]
    with_names = "name" in sites.columns and bool(
        sites["name"].map(lambda v: isinstance(v, str) and bool(v)).any()
    )
    cols = ["site_id", *(["name"] if with_names else []), "categories_added", "lon", "lat"]
    headers = [column_label(c, lang) for c in [*cols, *optional]]
    numeric = [False] * (len(cols) - 2) + [True, True] + [True] * len(optional)
    widths = [1.3, *([1.8] if with_names else []), 3.4, 1.0, 1.0] + [0.9] * len(optional)
    labels = pd.Series(_labels(sites, lang), index=sites.index, dtype=object)
    rows = []
    for site_id, group in sites.groupby(sites["site_id"].astype(str), sort=False):
        first = group.iloc[0]
        row = [site_id]
        if with_names:
            row.append("" if _missing(first.get("name")) else str(first.get("name")))
        row += [
            _join(dict.fromkeys(labels.loc[group.index]), lang),
            "" if _missing(first.get("lon")) else f"{float(first['lon']):.5f}",
            "" if _missing(first.get("lat")) else f"{float(first['lat']):.5f}",
        ]
        row += [fmt_number(first.get(c), lang, 1 if c == "floor_area" else 0) for c in optional]
        rows.append(row)
    return DisplayTable(headers, rows, numeric, widths=widths)
