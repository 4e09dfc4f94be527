"""Login, logout and the current user."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from sqlalchemy import select

from lifecircle.store.models import User
from lifecircle.web.deps import AnyUser, AppStateDep, ClientIP, DbSession, OptionalUser
from lifecircle.web.errors import ERROR_RESPONSES, AuthenticationRequired
from lifecircle.web.schemas import LoginIn, MeOut
from lifecircle.web.security import (
    SESSION_COOKIE,
    create_session,
    delete_session,
    verify_password,
)

__all__ = ["router"]

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/login", response_model=MeOut, responses={k: ERROR_RESPONSES[k] for k in (401, 429)})
def login(
    body: LoginIn, response: Response, db: DbSession, state: AppStateDep, ip: ClientIP
) -> dict[str, Any]:
    """Log in: sets the session cookie and returns the CSRF token to send with writes
    (``X-CSRF-Token`` header)."""
    state.limiter.hit(("login", ip), limit=state.settings.logins_per_minute, window_s=60.0)
    user = db.execute(select(User).where(User.username == body.username)).scalar_one_or_none()
    if not verify_password(user.password_hash if user else None, body.password) or (
        user is None or not user.active
    ):
        raise AuthenticationRequired("wrong user name or password")
    settings = state.settings
    token, csrf = create_session(db, user, settings.session_max_age_s)
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
