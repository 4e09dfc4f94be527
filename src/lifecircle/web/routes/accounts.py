"""Merchants register themselves; planners approve (or reject) the new accounts.

A self-registered merchant account is created inactive and pending: it cannot log in (403
``account_pending``) until a planner or an administrator approves it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from sqlalchemy import select

from lifecircle.store.models import User
from lifecircle.web.deps import AnonymousWrite, ClientIP, DbSession, PlannerUser
from lifecircle.web.errors import ERROR_RESPONSES, ConflictError, NotFoundError
from lifecircle.web.routes.admin import create_account, user_out
from lifecircle.web.schemas import MerchantRegistrationIn, UserOut
from lifecircle.web.throttle import audit

__all__ = ["router"]

router = APIRouter(prefix="/accounts", tags=["accounts"])

UserId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.post(
    "/register",
    response_model=UserOut,
    status_code=201,
    responses={k: ERROR_RESPONSES[k] for k in (409, 429)},
)
def register_merchant(
    body: MerchantRegistrationIn, db: DbSession, ip: ClientIP, _limit: AnonymousWrite
) -> dict[str, Any]:
    """Register a merchant account (shop name, phone, licence number); it can log in once a
    planner has approved it."""
    user = create_account(db, **body.model_dump(), role="merchant", active=False, pending=True)
    audit(db, "user_registered", username=user.username, ip=ip)
    db.commit()
    return user_out(user)


@router.get(
    "/pending",
    response_model=list[UserOut],
    responses={k: ERROR_RESPONSES[k] for k in (401, 403)},
)
def pending(principal: PlannerUser, db: DbSession) -> list[dict[str, Any]]:
    """Merchant accounts waiting for approval, oldest first."""
    rows = db.execute(select(User).where(User.pending.is_(True)).order_by(User.id)).scalars()
    return [user_out(u) for u in rows]


def _decide(
    user_id: int, principal: PlannerUser, db: DbSession, ip: str, *, approved: bool
) -> dict[str, Any]:
    user = db.get(User, user_id)
    if user is None:
        raise NotFoundError(f"没有编号为 {user_id} 的账户 / no account {user_id}")
    if not user.pending:
        raise ConflictError(
            f"账户 {user.username!r} 不在待审核状态 / account {user.username!r} is not pending"
        )
    user.pending = False
    user.active = approved
    action = "user_approved" if approved else "user_rejected"
    audit(db, action, username=user.username, actor_id=principal.user_id, ip=ip)
    db.commit()
    return user_out(user)


_DECISION = {
    "response_model": UserOut,
    "responses": {k: ERROR_RESPONSES[k] for k in (401, 403, 404, 409)},
}


@router.post("/{user_id}/approve", **_DECISION)  # type: ignore[arg-type]
def approve(user_id: UserId, principal: PlannerUser, db: DbSession, ip: ClientIP) -> dict[str, Any]:
    """Approve a registered merchant: the account can log in."""
    return _decide(user_id, principal, db, ip, approved=True)


@router.post("/{user_id}/reject", **_DECISION)  # type: ignore[arg-type]
def reject(user_id: UserId, principal: PlannerUser, db: DbSession, ip: ClientIP) -> dict[str, Any]:
    """Reject a registration: the account stays disabled (an administrator may enable it)."""
    return _decide(user_id, principal, db, ip, approved=False)
