"""Accounts (administrators only): list, create, change roles and districts, disable, reset
passwords.  Every change is written to the audit log."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from lifecircle.store.models import AuthSession, User
from lifecircle.web.deps import AdminUser, ClientIP, DbSession
from lifecircle.web.errors import ERROR_RESPONSES, ConflictError, NotFoundError
from lifecircle.web.passwords import check_password
from lifecircle.web.schemas import PasswordResetIn, UserIn, UserOut, UserUpdateIn
from lifecircle.web.security import hash_password
from lifecircle.web.throttle import audit

__all__ = ["create_account", "router", "user_out"]

router = APIRouter(
    prefix="/admin",
    tags=["admin"],
    responses={k: ERROR_RESPONSES[k] for k in (401, 403, 404, 409)},
)

UserId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def user_out(user: User) -> dict[str, Any]:
    """The public form of an account."""
    from lifecircle.web.routes._common import utc

    return {
        "id": user.id,
        "username": user.username,
        "role": user.role,
        "display_name": user.display_name,
        "active": bool(user.active),
        "pending": bool(user.pending),
        "phone": user.phone,
        "licence_no": user.licence_no,
        "districts": list(user.districts) if user.districts else None,
        "created_at": utc(user.created_at),
    }


def create_account(db: Session, *, username: str, password: str, role: str, **fields: Any) -> User:
    """Add an account after the password policy (the caller audits and commits).

    Raises :class:`lifecircle.errors.InputError` for a weak password and
    :class:`ConflictError` for a name that is taken.
    """
    check_password(password, username)
    if "districts" in fields:
        fields["districts"] = fields["districts"] or None  # empty: every district
    if db.execute(select(User.id).where(User.username == username)).first():
        raise ConflictError(f"用户名 {username!r} 已被占用 / the user name {username!r} is taken")
    user = User(username=username, password_hash=hash_password(password), role=role, **fields)
    db.add(user)
    db.flush()
    return user


def _user(db: Session, user_id: int) -> User:
    user = db.get(User, user_id)
    if user is None:
        raise NotFoundError(f"没有编号为 {user_id} 的账户 / no account {user_id}")
    return user


def _active_admins(db: Session) -> int:
    return int(
        db.execute(
            select(func.count(User.id)).where(User.role == "admin", User.active.is_(True))
        ).scalar()
        or 0
    )


@router.get("/users", response_model=list[UserOut])
def users(principal: AdminUser, db: DbSession) -> list[dict[str, Any]]:
    """Every account, pending registrations included."""
    return [user_out(u) for u in db.execute(select(User).order_by(User.id)).scalars()]


@router.post("/users", response_model=UserOut, status_code=201)
def create_user(body: UserIn, principal: AdminUser, db: DbSession, ip: ClientIP) -> dict[str, Any]:
    """Create an account (planner, merchant or admin); the password must pass the policy
    (at least 12 characters, not a common password)."""
    user = create_account(db, **body.model_dump(), active=True, pending=False)
    audit(db, "user_created", username=user.username, actor_id=principal.user_id, ip=ip,
          detail={"role": user.role})  # fmt: skip
    db.commit()
    return user_out(user)


@router.patch("/users/{user_id}", response_model=UserOut)
def update_user(
    user_id: UserId, body: UserUpdateIn, principal: AdminUser, db: DbSession, ip: ClientIP
) -> dict[str, Any]:
    """Change an account's role, districts or display name, or disable (``active: false``) or
    enable it.  Disabling ends its sessions; the last active administrator stays one."""
    user = _user(db, user_id)
    changes = body.model_dump(exclude_unset=True)
    loses_admin = (
        user.role == "admin"
        and user.active
        and (changes.get("role", "admin") != "admin" or changes.get("active") is False)
    )
    if loses_admin and _active_admins(db) <= 1:
        raise ConflictError(
            "不能停用或降级最后一个管理员 / the last active administrator cannot be disabled "
            "or given another role"
        )
    if "districts" in changes:
        changes["districts"] = changes["districts"] or None  # empty: every district
    for key, value in changes.items():
        setattr(user, key, value)
    if changes.get("active") is True:
        user.pending = False
    if changes.get("active") is False:
        db.execute(delete(AuthSession).where(AuthSession.user_id == user.id))
    audit(db, "user_changed", username=user.username, actor_id=principal.user_id, ip=ip,
          detail=changes)  # fmt: skip
    db.commit()
    return user_out(user)


@router.post("/users/{user_id}/password", response_model=UserOut)
def reset_password(
    user_id: UserId, body: PasswordResetIn, principal: AdminUser, db: DbSession, ip: ClientIP
) -> dict[str, Any]:
    """Give an account a new password (policy checked); its sessions end."""
    user = _user(db, user_id)
    check_password(body.password, user.username)
    user.password_hash = hash_password(body.password)
    db.execute(delete(AuthSession).where(AuthSession.user_id == user.id))
    audit(db, "password_reset", username=user.username, actor_id=principal.user_id, ip=ip)
    db.commit()
    return user_out(user)
