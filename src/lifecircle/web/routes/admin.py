"""Accounts (administrators only)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import select

from lifecircle.store.models import User
from lifecircle.web.deps import AdminUser, ClientIP, DbSession
from lifecircle.web.errors import ERROR_RESPONSES, ConflictError
from lifecircle.web.passwords import check_password
from lifecircle.web.schemas import UserIn, UserOut
from lifecircle.web.security import hash_password
from lifecircle.web.throttle import audit

__all__ = ["router"]

router = APIRouter(
    prefix="/admin", tags=["admin"], responses={k: ERROR_RESPONSES[k] for k in (401, 403, 409)}
)


def _out(user: User) -> dict[str, Any]:
    from lifecircle.web.routes._common import utc

    return {
        "id": user.id,
        "username": user.username,
        "role": user.role,
        "display_name": user.display_name,
        "active": user.active,
        "created_at": utc(user.created_at),
    }


@router.get("/users", response_model=list[UserOut])
def users(principal: AdminUser, db: DbSession) -> list[dict[str, Any]]:
    """Every account."""
    return [_out(u) for u in db.execute(select(User).order_by(User.id)).scalars()]


@router.post("/users", response_model=UserOut, status_code=201)
def create_user(body: UserIn, principal: AdminUser, db: DbSession, ip: ClientIP) -> dict[str, Any]:
    """Create an account (planner, merchant or admin); the password must pass the policy
    (at least 12 characters, not a common password)."""
    check_password(body.password, body.username)
    if db.execute(select(User.id).where(User.username == body.username)).first():
        raise ConflictError(f"用户名 {body.username!r} 已被占用 / the user name is taken")
    user = User(
        username=body.username,
        password_hash=hash_password(body.password),
        role=body.role,
        display_name=body.display_name,
        active=True,
    )
    db.add(user)
    audit(db, "user_created", username=user.username, actor_id=principal.user_id, ip=ip,
          detail={"role": user.role})  # fmt: skip
    db.commit()
    return _out(user)
