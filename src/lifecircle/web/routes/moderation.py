"""Moderation by planners: merchants' outlet submissions and community-board posts."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import select

from lifecircle.store.models import MerchantOutlet, OutletChange, Submission, utcnow
from lifecircle.web.deps import AppStateDep, CurrentCity, DbSession, PlannerUser, sync_city
from lifecircle.web.errors import ERROR_RESPONSES, ConflictError, NotFoundError
from lifecircle.web.routes._common import submission_out
from lifecircle.web.schemas import RejectIn, SubmissionOut

__all__ = ["router"]

router = APIRouter(
    prefix="/moderation",
    tags=["moderation"],
    responses={k: ERROR_RESPONSES[k] for k in (401, 403, 404, 409, 503)},
)

SubmissionId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("", response_model=list[SubmissionOut])
def queue(
    city: CurrentCity,
    principal: PlannerUser,
    db: DbSession,
    status: Annotated[Literal["pending", "approved", "rejected", "all"], Query()] = "pending",
    kind: Annotated[Literal["outlet", "board"] | None, Query(alias="type")] = None,
) -> list[dict[str, Any]]:
    """Submissions of the city by status (default pending) and type (outlet or board), oldest
    first."""
    query = select(Submission).where(Submission.city == city.key)
    if status != "all":
        query = query.where(Submission.status == status)
    if kind is not None:
        query = query.where(Submission.kind == kind)
    subs = db.execute(query.order_by(Submission.id)).scalars()
    return [submission_out(db, s) for s in subs]


def _pending(db: DbSession, city_key: str, submission_id: int) -> Submission:
    sub = db.get(Submission, submission_id, with_for_update=True)
    if sub is None or sub.city != city_key:
        raise NotFoundError(f"no submission {submission_id}")
    if sub.status != "pending":
        raise ConflictError(f"submission {submission_id} is already {sub.status}")
    return sub


def _apply_outlet(db: DbSession, sub: Submission) -> None:
    fields = dict(sub.payload)
    if sub.action == "create":
        row = MerchantOutlet(
            city=sub.city,
            owner_id=sub.author_id,
            name=fields["name"],
            category=fields["category"],
            lon=float(fields["lon"]),
            lat=float(fields["lat"]),
            opening_hours=fields.get("opening_hours"),
            services=list(fields.get("services") or []),
            brand=fields.get("brand"),
            active=True,
            submission_id=sub.id,
        )
        db.add(row)
        db.flush()
        sub.target_id = f"merchant/{row.id}"
    else:
        number = (sub.target_id or "").removeprefix("merchant/")
        found = db.get(MerchantOutlet, int(number)) if number.isdigit() else None
        if found is None:
            raise ConflictError(f"the outlet {sub.target_id!r} of this update no longer exists")
        row = found
        for key, value in fields.items():
            if key == "services":
                value = list(value or [])
            setattr(row, key, value)
        row.updated_at = utcnow()
        row.submission_id = sub.id
    db.add(OutletChange(city=sub.city, outlet_id=row.id, submission_id=sub.id))


@router.post("/{submission_id}/approve", response_model=SubmissionOut)
async def approve(
    submission_id: SubmissionId,
    city: CurrentCity,
    principal: PlannerUser,
    state: AppStateDep,
) -> dict[str, Any]:
    """Approve: an outlet joins the map and the access results at once (no restart); a board
    post is published."""

    def work() -> dict[str, Any]:
        with state.sessions() as db:
            sub = _pending(db, city.key, submission_id)
            sub.status = "approved"
            sub.decided_at = utcnow()
            sub.decided_by = principal.user_id
            if sub.kind == "outlet":
                _apply_outlet(db, sub)
            db.commit()
            out = submission_out(db, sub)
        if out["kind"] == "outlet":
            sync_city(state, city, force=True)
        return out

    return await run_in_threadpool(work)


@router.post("/{submission_id}/reject", response_model=SubmissionOut)
def reject(
    submission_id: SubmissionId,
    body: RejectIn,
    city: CurrentCity,
    principal: PlannerUser,
    db: DbSession,
) -> dict[str, Any]:
    """Reject with a reason the author sees."""
    sub = _pending(db, city.key, submission_id)
    sub.status = "rejected"
    sub.reason = body.reason
    sub.decided_at = utcnow()
    sub.decided_by = principal.user_id
    db.commit()
    return submission_out(db, sub)
