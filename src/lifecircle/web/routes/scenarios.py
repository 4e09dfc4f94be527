"""Planning scenarios (规划方案): try outlet and street changes, see grades and KPIs before/after.

A scenario is a named list of changes in the dict format of
:meth:`lifecircle.plan.whatif.WhatIf.apply` (open, close or move an outlet, close a street).  It
is run on a fork of the city's current state (:meth:`lifecircle.web.city.City.whatif_base`:
the city's outlets with the approved merchant outlets, and the residents' survey answers folded
into the grades, as the dashboard shows them); the result — every circle's grade before and
after, and the city KPIs that moved — is saved with the changes, so the list reads it back
without computing again.  A saved scenario is marked ``stale`` once outlets were approved or
changed after it was computed; ``POST /api/scenarios/{id}/recompute`` runs it again on the
current state.
"""

from __future__ import annotations

from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Path, Response
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from lifecircle.assess.model import GRADES
from lifecircle.errors import InputError, Problems
from lifecircle.plan.whatif import Scenario, ScenarioResult, WhatIf, run_scenario
from lifecircle.store.models import SavedScenario, User
from lifecircle.web.city import City, _clean, _records
from lifecircle.web.deps import CurrentCity, DbSession, PlannerUser
from lifecircle.web.errors import ERROR_RESPONSES, ConflictError, NotFoundError, PermissionDenied
from lifecircle.web.routes._common import utc
from lifecircle.web.routes.dashboard import _graded_with_key
from lifecircle.web.routes.merchant import check_outlet
from lifecircle.web.schemas import ScenarioIn, ScenarioOut, ScenarioSummaryOut

__all__ = ["router"]

router = APIRouter(
    prefix="/scenarios",
    tags=["scenarios"],
    responses={k: ERROR_RESPONSES[k] for k in (401, 403, 404, 409, 503)},
)

ScenarioId = Annotated[int, Path(ge=1, le=2**31 - 1)]

#: The headline when the changes do not all concern one 业态.
_DEFAULT_HEADLINE = "households_basic_or_better"
_CIRCLE_COLUMNS = (
    "circle_id", "name", "grade_before", "grade_after", "grade_changed", "n_basic_before",
    "n_basic_after", "n_quality_before", "n_quality_after", "coverage_changes",
    "missing_for_next_grade_after",
)  # fmt: skip


def _rank(grade: Any) -> int:
    return GRADES.index(grade) + 1 if grade in GRADES else 0


def _validate_changes(city: City, changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Validate the changes against the city (every problem at once, ``row``: the change's
    1-based position); return them with outlet ids assigned and 业态 as codes."""
    found = Problems()
    known = set(city.outlets["outlet_id"].astype(str))
    added: set[str] = set()
    out = []
    for i, change in enumerate(changes, start=1):
        ch = dict(change)
        op = ch["op"]
        if op == "close_edge":
            if "lon" in ch:
                edge = city.nearest_edge(ch.pop("lon"), ch.pop("lat"))
                if edge is None:
                    found.add(
                        f"no walkable street within {city.max_snap_m:g} m of the point",
                        row=i,
                        field="lon/lat",
                        fix="pick a point on a street (or give the street's edge)",
                    )
                else:
                    ch["edge"] = edge
            if ch.get("edge", 0) >= city.network.n_edges:
                found.add(
                    f"edge {ch['edge']} is not an edge of the street network "
                    f"(0 … {city.network.n_edges - 1})",
                    row=i,
                    field="edge",
                    fix="give the edge property of a street of /api/network",
                )
            elif "edge" in ch:
                ch.update(city.street(ch["edge"]))  # its shape and name, for the map and list
        exists = ch.get("outlet_id") in known or ch.get("outlet_id") in added
        if op in ("remove_outlet", "move_outlet") and not exists:
            found.add(
                f"no outlet {ch['outlet_id']!r} in {city.name}",
                row=i,
                field="outlet_id",
                fix="use the id of an outlet of /api/outlets or one added earlier in the list",
            )
        if op == "add_outlet":
            ch.setdefault("outlet_id", f"scenario/{i}")
            if ch["outlet_id"] in known or ch["outlet_id"] in added:
                found.add(
                    f"outlet id {ch['outlet_id']!r} is taken",
                    row=i,
                    field="outlet_id",
                    fix="leave outlet_id out (scenario/<n> is given) or choose another",
                )
            added.add(ch["outlet_id"])
        if "lon" in ch:
            try:
                ch.update(check_outlet(city, {k: ch[k] for k in ("category", "lon", "lat")
                                              if k in ch}))  # fmt: skip
            except InputError as exc:
                for p in exc.problems:
                    found.add(p.message, row=i, field=p.field, fix=p.fix)
        out.append(ch)
    found.raise_if_any("scenario")
    return out


def _headline_kpi(city: City, base: WhatIf, changes: list[dict[str, Any]]) -> str:
    """households_covered:<业态> when every outlet change concerns one 业态, else the share of
    households in circles of 基础型 or better."""
    if any(ch["op"] == "close_edge" for ch in changes):
        return _DEFAULT_HEADLINE
    frame = city.outlets
    category_of = dict(zip(frame["outlet_id"].astype(str), frame["category"].astype(str),
                           strict=True))  # fmt: skip
    cats = set()
    for ch in changes:
        if ch["op"] == "add_outlet":
            category_of[ch["outlet_id"]] = ch["category"]
        cats.add(category_of.get(ch["outlet_id"]))
    if len(cats) == 1:
        name = f"households_covered:{cats.pop()}"
        city_rows = base.kpis.loc[base.kpis["scope"] == "city", "kpi"]
        if name in set(city_rows):
            return name
    return _DEFAULT_HEADLINE


def _summary(base: WhatIf, result: ScenarioResult, headline: str) -> dict[str, Any]:
    """The saved result: headline, circles before/after, KPIs that moved, steps."""
    kpi_meta = base.kpis.loc[base.kpis["scope"] == "city"].set_index("kpi")
    now = result.whatif.kpis.loc[result.whatif.kpis["scope"] == "city"].set_index("kpi")
    kpis = result.kpis.assign(unit=result.kpis["kpi"].map(kpi_meta["unit"]))
    circles = result.circles
    before = circles["grade_before"].map(_rank).to_numpy()
    after = circles["grade_after"].map(_rank).to_numpy()
    steps = [
        {
            "op": step.change.op,
            "residences_changed": int(step.change.changed_ids.size),
            "circles": [str(c) for c in step.circles],
            "grades_changed": len(step.grades_changed),
        }
        for step in result.steps
    ]
    return _clean(
        {
            "headline": {
                "kpi": headline,
                "kpi_zh": kpi_meta["kpi_zh"].get(headline),
                "before": kpi_meta["value"].get(headline),
                "after": now["value"].get(headline),
                "unit": kpi_meta["unit"].get(headline),
            },
            "circles_basic_before": int((before > 0).sum()),
            "circles_basic_after": int((after > 0).sum()),
            "circles_upgraded": int((after > before).sum()),
            "circles_downgraded": int((after < before).sum()),
            "circles": _records(pd.DataFrame(circles), _CIRCLE_COLUMNS),
            "kpis": _records(kpis, ("kpi", "kpi_zh", "before", "after", "target", "unit", "meets")),
            "steps": steps,
        }
    )


def _out(row: SavedScenario, author: User | None, city: City, *, full: bool) -> dict[str, Any]:
    s = row.summary or {}
    head = s.get("headline") or {}
    out: dict[str, Any] = {
        "id": row.id,
        "city": row.city,
        "name": row.name,
        "description": row.description,
        "n_changes": len(row.changes or []),
        "author": (author.display_name or author.username) if author else None,
        "created_at": utc(row.created_at),
        "kpi": head.get("kpi", _DEFAULT_HEADLINE),
        "kpi_zh": head.get("kpi_zh"),
        "before": head.get("before"),
        "after": head.get("after"),
        "unit": head.get("unit"),
        "stale": row.base_change_id != city.applied_change_id,
        **{k: int(s.get(k, 0)) for k in ("circles_basic_before", "circles_basic_after",
                                          "circles_upgraded", "circles_downgraded")},
    }  # fmt: skip
    if full:
        out.update(
            base_change_id=row.base_change_id,
            changes=row.changes,
            headline=head,
            circles=s.get("circles", []),
            kpis=s.get("kpis", []),
            steps=s.get("steps", []),
        )
    return out


def _compute(row: SavedScenario, city: City, db: DbSession, changes: list[dict[str, Any]]) -> None:
    """Validate ``changes``, run them on the city's current state and put them, the result and
    the outlet change it was computed on into ``row`` (not committed)."""
    base_change_id = city.applied_change_id  # read first: the base is as new or newer
    graded, key = _graded_with_key(city, db)
    base = city.whatif_base(graded, key)
    changes = _validate_changes(city, changes)
    result = run_scenario(base, Scenario(row.name, changes))
    row.changes = changes
    row.summary = _summary(base, result, _headline_kpi(city, base, changes))
    row.base_change_id = base_change_id


def _get(db: DbSession, city: City, scenario_id: int) -> tuple[SavedScenario, User | None]:
    row = db.get(SavedScenario, scenario_id)
    if row is None or row.city != city.key:
        raise NotFoundError(f"no scenario {scenario_id} in {city.name}")
    return row, db.get(User, row.created_by)


@router.get("", response_model=list[ScenarioSummaryOut])
def list_scenarios(
    city: CurrentCity, principal: PlannerUser, db: DbSession
) -> list[dict[str, Any]]:
    """Saved scenarios of the city, newest first, each with its headline figure before and
    after and the circles reaching 基础型 before and after."""
    rows = db.execute(
        select(SavedScenario, User)
        .join(User, User.id == SavedScenario.created_by, isouter=True)
        .where(SavedScenario.city == city.key)
        .order_by(SavedScenario.id.desc())
    ).all()
    return [_out(row, author, city, full=False) for row, author in rows]


@router.post("", response_model=ScenarioOut, status_code=201)
def create_scenario(
    body: ScenarioIn, city: CurrentCity, principal: PlannerUser, db: DbSession
) -> dict[str, Any]:
    """Run a scenario on the city's current state and save it.

    Changes: ``{"op": "add_outlet", "category", "lon", "lat"}`` (optional ``outlet_id``,
    ``name``, ``is_chain``), ``{"op": "remove_outlet", "outlet_id"}``, ``{"op":
    "move_outlet", "outlet_id", "lon", "lat"}``, ``{"op": "close_edge", "edge"}`` or ``{"op":
    "close_edge", "lon", "lat"}`` (the nearest street segment; saved with its ``edge``, its
    ``street`` name and its ``line`` in WGS-84); applied in order.  Returns every circle's grade before and after and the
    city KPIs that moved.
    """
    taken = db.execute(
        select(SavedScenario.id).where(
            SavedScenario.city == city.key, SavedScenario.name == body.name
        )
    ).first()
    if taken is not None:
        raise ConflictError(f"a scenario named {body.name!r} exists already in {city.name}")
    changes = [ch.model_dump(exclude_none=True) for ch in body.changes]
    row = SavedScenario(
        city=city.key, name=body.name, description=body.description, created_by=principal.user_id
    )
    _compute(row, city, db, changes)
    db.add(row)
    try:
        db.commit()
    except IntegrityError:  # the same name saved meanwhile
        db.rollback()
        raise ConflictError(
            f"a scenario named {body.name!r} exists already in {city.name}"
        ) from None
    return _out(row, db.get(User, principal.user_id), city, full=True)


@router.post("/{scenario_id}/recompute", response_model=ScenarioOut)
def recompute_scenario(
    scenario_id: ScenarioId, city: CurrentCity, principal: PlannerUser, db: DbSession
) -> dict[str, Any]:
    """Run a saved scenario's changes again on the city's current state and save the new
    figures (for a ``stale`` one: outlets were approved or changed since it was computed).
    A change that no longer applies (its outlet was closed meanwhile) is a 422 naming it."""
    row, author = _get(db, city, scenario_id)
    _compute(row, city, db, [dict(ch) for ch in row.changes or []])
    db.commit()
    return _out(row, author, city, full=True)


@router.get("/{scenario_id}", response_model=ScenarioOut)
def get_scenario(
    scenario_id: ScenarioId, city: CurrentCity, principal: PlannerUser, db: DbSession
) -> dict[str, Any]:
    """A saved scenario with its changes, every circle before/after and the KPIs that moved."""
    row, author = _get(db, city, scenario_id)
    return _out(row, author, city, full=True)


@router.delete("/{scenario_id}", status_code=204, response_class=Response)
def delete_scenario(
    scenario_id: ScenarioId, city: CurrentCity, principal: PlannerUser, db: DbSession
) -> Response:
    """Delete a saved scenario (its author or an administrator)."""
    row, _ = _get(db, city, scenario_id)
    if row.created_by != principal.user_id and principal.role != "admin":
        raise PermissionDenied(
            f"scenario {scenario_id} was made by another planner; ask them or an administrator",
            code="not_owner",
        )
    db.delete(row)
    db.commit()
    return Response(status_code=204)
