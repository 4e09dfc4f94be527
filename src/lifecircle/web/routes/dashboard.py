"""Planner dashboard data: KPIs, grades, blind spots, needs, satisfaction and report downloads.

The residents' survey answers stored here are folded into the satisfaction rates and, through
them, into the grades and KPIs (recomputed when answers or outlets change).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path as FsPath
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from sqlalchemy import func, select

from lifecircle.assess.model import ALL_GRADES, GRADE_EN
from lifecircle.assess.survey import read_responses, satisfaction_by_circle
from lifecircle.store.models import Need, SurveyResponse
from lifecircle.web.city import City, _clean, _records
from lifecircle.web.deps import AppStateDep, CurrentCity, DbSession, PlannerUser
from lifecircle.web.errors import ERROR_RESPONSES, NotFoundError
from lifecircle.web.routes._common import json_response, survey_frame, utc
from lifecircle.web.schemas import FeatureCollection, KpiOut, NeedOut

__all__ = ["REPORT_FILES", "router"]

log = logging.getLogger(__name__)

router = APIRouter(
    tags=["dashboard"], responses={k: ERROR_RESPONSES[k] for k in (401, 403, 404, 503)}
)

#: Documents a planner can download.
REPORT_FILES = {
    "report.html": "text/html; charset=utf-8",
    "report.pdf": "application/pdf",
    "report.xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
_REPORT_LOCK = threading.Lock()


def _graded_with_key(city: City, db: DbSession) -> tuple[Any, tuple[int, int]]:
    frame, key = survey_frame(db, city)
    if frame is None:
        return city.graded(), key
    answers = read_responses(frame, city.survey, known_circles=city.circle_ids())
    sat = satisfaction_by_circle(answers, city.survey, circles=city.circle_ids())
    return city.graded(sat, key=key), key


def _graded(city: City, db: DbSession) -> Any:
    return _graded_with_key(city, db)[0]


@router.get("/dashboard/kpis", response_model=list[KpiOut])
def kpis(city: CurrentCity, principal: PlannerUser, db: DbSession) -> list[dict[str, Any]]:
    """City KPIs against the policy targets (coverage, grades, chain share, satisfaction…)."""
    return _records(_graded(city, db).kpis)


@router.get("/dashboard/grades", response_model=dict[str, Any])
def grades(city: CurrentCity, principal: PlannerUser, db: DbSession) -> dict[str, Any]:
    """Circles per grade and the grade table (with what is missing for the next grade)."""
    g = _graded(city, db).grades
    counts = g["grade"].value_counts()
    return {
        "counts": [
            {"grade": name, "grade_en": GRADE_EN[name], "circles": int(counts.get(name, 0))}
            for name in ALL_GRADES
        ],
        "circles": _records(g),
    }


@router.get("/dashboard/audit", response_model=dict[str, Any])
def audit(city: CurrentCity, principal: PlannerUser) -> dict[str, Any]:
    """The data audit (数据体检): counts by status, every check (``check, scope, category, value,
    threshold, status, message, message_en``; failures first) and the run's figures (residences
    read and assessed, households known and estimated with the method, outlets)."""
    table = city.assessment.audit
    figures = dict(getattr(city.assessment, "figures", {}) or {})
    if table is None:
        return {"counts": {}, "items": [], "figures": figures}
    order = table["status"].map({"fail": 0, "warn": 1, "ok": 2})
    ordered = table.assign(_o=order).sort_values("_o", kind="stable").drop(columns="_o")
    counts = table["status"].value_counts()
    return {
        "counts": {s: int(counts.get(s, 0)) for s in ("ok", "warn", "fail")},
        "items": _records(ordered),
        "figures": figures,
    }


@router.get("/dashboard/districts", response_model=list[dict[str, Any]])
def districts(city: CurrentCity, principal: PlannerUser, db: DbSession) -> list[dict[str, Any]]:
    """By district (every level): circles per grade, share of households in circles at 基础型 or
    better, outlets per 10 k residents (from the KPI rows ``district:<level>:<name>``)."""
    from lifecircle.assess.pipeline import district_summary

    return _records(district_summary(_graded(city, db).kpis))


@router.get("/dashboard/district-areas", response_model=FeatureCollection)
def district_areas(city: CurrentCity, principal: PlannerUser, db: DbSession) -> Response:
    """The districts of the largest level as polygons (WGS-84, simplified to about 10 m) with
    ``level, name, circles_total, households_basic_or_better``; empty without districts."""
    import shapely

    from lifecircle.assess.pipeline import district_summary

    areas = getattr(city.assessment, "districts", None) or {}
    features: list[dict[str, Any]] = []
    if areas:
        level, polygons = next(iter(areas.items()))
        summary = district_summary(_graded(city, db).kpis)
        rows = summary.loc[summary["level"] == level].set_index("district")
        for name, geom in zip(polygons["name"].astype(str), polygons.geometry, strict=True):
            shape = shapely.simplify(geom, 0.0001, preserve_topology=True)
            known = name in rows.index
            features.append(
                {
                    "type": "Feature",
                    "geometry": shapely.geometry.mapping(shape),
                    "properties": {
                        "level": level,
                        "name": name,
                        "circles_total": _clean(rows.at[name, "circles_total"]) if known else None,
                        "households_basic_or_better": _clean(
                            rows.at[name, "households_basic_or_better"]
                        )
                        if known
                        else None,
                    },
                }
            )
    return json_response({"type": "FeatureCollection", "features": features})


@router.get("/dashboard/circles", response_model=FeatureCollection)
def graded_circles(city: CurrentCity, principal: PlannerUser, db: DbSession) -> Response:
    """Circles coloured by grade, with the residents' satisfaction folded in."""
    return json_response(city.circles_geojson(_graded(city, db)))


@router.get("/dashboard/blind-spots", response_model=FeatureCollection)
def blind_spots(
    city: CurrentCity,
    principal: PlannerUser,
    db: DbSession,
    category: Annotated[str | None, Query(max_length=64, description="业态 code or name")] = None,
) -> Response:
    """Residences lacking a 业态 within its walking band, as points (properties: residence,
    circle, 业态, band, households, nearest minutes)."""
    code = city.resolve_category(category) if category else None
    return json_response(city.blind_spot_features(code, _graded(city, db)))


@router.get("/dashboard/needs", response_model=dict[str, Any])
def needs(
    city: CurrentCity,
    principal: PlannerUser,
    db: DbSession,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> dict[str, Any]:
    """The needs list (需求清单): the latest submissions and counts by 业态 and by circle."""
    rows = (
        db.execute(select(Need).where(Need.city == city.key).order_by(Need.id.desc()))
        .scalars()
        .all()
    )
    names = {c.code: c.name_zh for c in city.catalogue.categories}
    by_category: dict[str, int] = {}
    by_circle: dict[str, int] = {}
    for r in rows:
        by_category[r.category or ""] = by_category.get(r.category or "", 0) + 1
        by_circle[r.circle_id or ""] = by_circle.get(r.circle_id or "", 0) + 1
    items = [
        NeedOut(
            id=r.id,
            circle_id=r.circle_id,
            category=r.category,
            category_zh=names.get(r.category or ""),
            lon=r.lon,
            lat=r.lat,
            text=r.text,
            created_at=utc(r.created_at) or r.created_at,
        ).model_dump(mode="json")
        for r in rows[:limit]
    ]
    return {
        "total": len(rows),
        "items": items,
        "by_category": [
            {"category": k or None, "category_zh": names.get(k), "count": v}
            for k, v in sorted(by_category.items(), key=lambda kv: -kv[1])
        ],
        "by_circle": [
            {"circle_id": k or None, "circle_name": city.circle_name(k) if k else None, "count": v}
            for k, v in sorted(by_circle.items(), key=lambda kv: -kv[1])
        ],
    }


@router.get("/dashboard/satisfaction", response_model=dict[str, Any])
def satisfaction(city: CurrentCity, principal: PlannerUser, db: DbSession) -> dict[str, Any]:
    """Satisfaction rate per circle and for the city (95 % Wilson interval) from the valid
    answers; repeated answers of one device are counted apart (``duplicates``, by circle)."""
    g = _graded(city, db)
    rows = _records(g.satisfaction) if g.satisfaction is not None else []
    repeated = db.execute(
        select(SurveyResponse.circle_id, func.count(SurveyResponse.id))
        .where(SurveyResponse.city == city.key, SurveyResponse.duplicate.is_(True))
        .group_by(SurveyResponse.circle_id)
    ).all()
    return {
        "target": city.survey.target,
        "survey_version": city.survey.version,
        "rows": rows,
        "duplicates": {str(circle): int(n) for circle, n in repeated},
        "duplicates_total": sum(int(n) for _, n in repeated),
    }


# ----------------------------------------------------------------------------------------------
# Reports
# ----------------------------------------------------------------------------------------------


def _ensure_reports(state: AppStateDep, city: City, db: DbSession) -> FsPath:
    """The folder of the current reports, written first when outlets or answers changed."""
    graded, (n_answers, last_answer) = _graded_with_key(city, db)
    name = f"r{city.revision}-s{n_answers}-{last_answer}"
    out = FsPath(state.settings.data_dir) / "reports" / city.key / name
    if (out / "report.html").is_file():
        return out
    with _REPORT_LOCK:
        if (out / "report.html").is_file():
            return out
        from lifecircle.report import write_reports

        tmp = out.with_name(out.name + ".tmp")
        tmp.mkdir(parents=True, exist_ok=True)
        log.info("%s: writing the reports to %s", city.key, out)
        write_reports(city.assessment_now(graded), tmp)
        tmp.replace(out)
    return out


@router.get("/reports", response_model=list[dict[str, Any]])
def reports(city: CurrentCity, principal: PlannerUser) -> list[dict[str, Any]]:
    """Downloadable reports (written on first download, again after outlet changes)."""
    return [{"name": name, "url": f"/api/reports/{name}?city={city.key}"} for name in REPORT_FILES]


@router.get(
    "/reports/{name:path}",
    response_class=FileResponse,
    responses={200: {"content": {m: {} for m in REPORT_FILES.values()}}},
)
async def report_file(
    name: Annotated[str, Path(max_length=200)],
    city: CurrentCity,
    principal: PlannerUser,
    state: AppStateDep,
    db: DbSession,
) -> FileResponse:
    """A report document (report.html, report.pdf, report.xlsx) or a file it links to."""
    if name not in REPORT_FILES and not name.startswith(("img/", "fonts/", "circles/")):
        raise NotFoundError(f"no report {name!r}; available: {', '.join(REPORT_FILES)}")
    out = (await run_in_threadpool(_ensure_reports, state, city, db)).resolve()
    target = (out / name).resolve()
    if not target.is_relative_to(out) or not target.is_file():
        raise NotFoundError(f"no report file {name!r}")
    media = REPORT_FILES.get(name)
    download = target.suffix in (".pdf", ".xlsx")
    return FileResponse(
        target,
        media_type=media,
        filename=target.name if download else None,
        headers={"Content-Security-Policy": _REPORT_CSP},
    )


# the HTML report styles itself inline and shows its maps (img/) and its CJK font (fonts/)
# from beside it; it runs no script
_REPORT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
