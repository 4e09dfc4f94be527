"""Accounts (administrators only)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import select

from lifecircle.store.models import User
from lifecircle.web.deps import AdminUser, DbSession
from lifecircle.web.errors import ERROR_RESPONSES, ConflictError
from lifecircle.web.schemas import UserIn, UserOut
from lifecircle.web.security import hash_password

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
def create_user(body: UserIn, principal: AdminUser, db: DbSession) -> dict[str, Any]:
    """Create an account (planner, merchant or admin)."""
    if db.execute(select(User.id).where(User.username == body.username)).first():
        raise ConflictError(f"the user name {body.username!r} is taken")
    user = User(
        username=body.username,
        password_hash=hash_password(body.password),
        role=body.role,
        display_name=body.display_name,
        active=True,
    )
    db.add(user)
    db.commit()
    return _out(user)
