"""Login, logout and the current user."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from sqlalchemy import select

from lifecircle.store.models import User
from lifecircle.web.deps import AnyUser, AppStateDep, ClientIP, DbSession, OptionalUser
from lifecircle.web.errors import ERROR_RESPONSES, AuthenticationRequired, PermissionDenied
from lifecircle.web.schemas import LoginIn, MeOut
from lifecircle.web.security import (
    SESSION_COOKIE,
    create_session,
    delete_session,
    verify_password,
)
from lifecircle.web.throttle import audit, check_login_allowed, record_failure, record_success

__all__ = ["router"]

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post(
    "/login", response_model=MeOut, responses={k: ERROR_RESPONSES[k] for k in (401, 403, 429)}
)
def login(
    body: LoginIn, response: Response, db: DbSession, state: AppStateDep, ip: ClientIP
) -> dict[str, Any]:
    """Log in: sets the session cookie and returns the CSRF token to send with writes
    (``X-CSRF-Token`` header).

    Failed logins are counted per account and per client IP (:mod:`lifecircle.web.throttle`):
    past a few, further tries wait longer and longer (429 with ``Retry-After``).  A pending or
    disabled account is a 403."""
    state.limiter.hit(("login", ip), limit=state.settings.logins_per_minute, window_s=60.0)
    check_login_allowed(db, body.username, ip)
    user = db.execute(select(User).where(User.username == body.username)).scalar_one_or_none()
    if not verify_password(user.password_hash if user else None, body.password) or user is None:
        reason = "unknown_user" if user is None else "wrong_password"
        record_failure(db, body.username, ip, state.settings.throttle_policy(), reason=reason)
        raise AuthenticationRequired("用户名或密码错误 / wrong user name or password")
    if not user.active:
        audit(db, "login_inactive", username=user.username, actor_id=user.id, ip=ip)
        db.commit()
        if user.pending:
            raise PermissionDenied(
                "账户正在等待规划师审核，通过后即可登录 / your account waits for a planner's "
                "approval; you can log in once it is approved",
                code="account_pending",
            )
        raise PermissionDenied(
            "账户已停用，请联系管理员 / this account is disabled; ask an administrator",
            code="account_disabled",
        )
    settings = state.settings
    token, csrf = create_session(db, user, settings.session_max_age_s)
    record_success(db, user.username, user.id, ip)
    db.commit()
    response.set_cookie(
        SESSION_COOKIE,
        state.signer.sign(token),
        max_age=settings.session_max_age_s,
        httponly=True,
        samesite="lax",
        secure=settings.use_secure_cookies(),
        path="/",
    )
    return {
        "user": user.username,
        "role": user.role,
        "display_name": user.display_name,
        "csrf_token": csrf,
    }


@router.post("/logout", status_code=204, responses={k: ERROR_RESPONSES[k] for k in (401, 403)})
def logout(principal: AnyUser, db: DbSession) -> Response:
    """End the session (the cookie stops working even if it was copied)."""
    delete_session(db, principal.session_id)
    db.commit()
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/me", response_model=MeOut, responses={401: ERROR_RESPONSES[401]})
def me(principal: OptionalUser) -> dict[str, Any]:
    """The logged-in user and the session's CSRF token (401 when not logged in)."""
    if principal is None:
        raise AuthenticationRequired("not logged in")
    return {
        "user": principal.username,
        "role": principal.role,
        "display_name": principal.display_name,
        "csrf_token": principal.csrf_token,
    }
