"""Community board (社区公告栏): gig jobs (零工服务专区), promotions and events (邻里节、美食节、
消费节, coupons redeemed in the shop), posted by merchants and planners, moderated, browsed by
circle."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from sqlalchemy import select

from lifecircle.errors import Problems
from lifecircle.store.models import Submission, User
from lifecircle.web.deps import BoardAuthor, CurrentCity, DbSession
from lifecircle.web.errors import ERROR_RESPONSES
from lifecircle.web.routes._common import submission_out, utc
from lifecircle.web.schemas import BoardPostIn, BoardPostOut, SubmissionOut

__all__ = ["KIND_ZH", "router"]

router = APIRouter(
    prefix="/board", tags=["board"], responses={k: ERROR_RESPONSES[k] for k in (404, 503)}
)

#: Chinese labels of the post kinds.
KIND_ZH = {"gig": "零工", "promotion": "优惠", "event": "活动"}
_MAX_DAYS = 366


@router.get("", response_model=list[BoardPostOut])
def posts(
    city: CurrentCity,
    db: DbSession,
    circle_id: Annotated[str | None, Query(max_length=64)] = None,
    kind: Annotated[Literal["gig", "promotion", "event"] | None, Query()] = None,
) -> list[dict[str, Any]]:
    """Approved posts that are still valid, newest first; by circle (city-wide posts, without
    a circle, are listed for every circle) and kind."""
    query = select(Submission).where(
        Submission.city == city.key, Submission.kind == "board", Submission.status == "approved"
    )
    if circle_id:
        query = query.where((Submission.circle_id == circle_id) | (Submission.circle_id.is_(None)))
    rows = db.execute(query.order_by(Submission.id.desc())).scalars().all()
    today = date.today().isoformat()
    out = []
    for sub in rows:
        p = sub.payload
        if kind is not None and p.get("kind") != kind:
            continue
        if p.get("valid_until") and str(p["valid_until"]) < today:
            continue
        author = db.get(User, sub.author_id)
        out.append(
            {
                "id": sub.id,
                "kind": p["kind"],
                "kind_zh": KIND_ZH[p["kind"]],
                "title": p["title"],
                "body": p["body"],
                "circle_id": sub.circle_id,
                "circle_name": city.circle_name(sub.circle_id) if sub.circle_id else None,
                "valid_until": p.get("valid_until"),
                "coupon": p.get("coupon"),
                "author": (author.display_name or author.username) if author else None,
                "created_at": utc(sub.created_at),
            }
        )
    return out


@router.post(
    "",
    response_model=SubmissionOut,
    status_code=201,
    responses={k: ERROR_RESPONSES[k] for k in (401, 403)},
)
def create_post(
    body: BoardPostIn, city: CurrentCity, principal: BoardAuthor, db: DbSession
) -> dict[str, Any]:
    """Post a gig job, a promotion or an event (merchants and planners); it waits for
    moderation."""
    found = Problems()
    if body.circle_id is not None and body.circle_id not in set(city.circle_ids()):
        found.add(
            f"{city.name}没有生活圈「{body.circle_id}」 / no circle {body.circle_id!r} in "
            f"{city.name}",
            field="circle_id",
            fix="use a circle_id of /api/circles, or leave it out for a city-wide post",
        )
    if body.valid_until is not None:
        today = date.today()
        if body.valid_until < today:
            found.add("有效期已经过去 / valid_until lies in the past", field="valid_until",
                      fix="give a later date")  # fmt: skip
        elif body.valid_until > today + timedelta(days=_MAX_DAYS):
            found.add(
                f"有效期不能超过 {_MAX_DAYS} 天 / valid_until is more than {_MAX_DAYS} days ahead",
                field="valid_until",
                fix="post again when the date comes nearer",
            )
    found.raise_if_any("board post")
    payload = body.model_dump(mode="json")
    sub = Submission(
        city=city.key,
        kind="board",
        action="create",
        status="pending",
        author_id=principal.user_id,
        circle_id=body.circle_id,
        payload=payload,
    )
    db.add(sub)
    db.commit()
    return submission_out(db, sub)
