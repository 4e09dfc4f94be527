"""Passwords, login sessions, CSRF tokens, role checks and rate limits.

* Passwords are hashed with Argon2id (argon2-cffi).
* A login creates a server-side session (table ``sessions``, keyed by the SHA-256 of a random
  token); the browser holds the token in the ``lifecircle_session`` cookie, signed with HMAC-SHA256
  over the settings' secret key, ``HttpOnly`` and ``SameSite=Lax`` (``Secure`` in production).
  Logging out deletes the session, so a copied cookie stops working.
* Every session has its own CSRF token, returned by the login and ``/api/auth/me``.  A write
  made with the cookie must carry it in the ``X-CSRF-Token`` header (JSON) or in a
  ``csrf_token`` form field (HTML forms).
* Anonymous writes (survey answers, needs) and logins are rate-limited per client IP, in memory;
  nothing about the client is stored.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from lifecircle.store.models import AuthSession, User, utcnow
from lifecircle.web.errors import PermissionDenied, RateLimited

__all__ = [
    "CSRF_FORM_FIELD",
    "CSRF_HEADER",
    "SESSION_COOKIE",
    "CookieSigner",
    "Principal",
    "RateLimiter",
    "check_csrf_token",
    "create_session",
    "delete_session",
    "hash_password",
    "load_principal",
    "verify_password",
]

#: Name of the session cookie.
SESSION_COOKIE = "lifecircle_session"
#: Header carrying the CSRF token on JSON writes.
CSRF_HEADER = "X-CSRF-Token"
#: Form field carrying the CSRF token on HTML form posts.
CSRF_FORM_FIELD = "csrf_token"

_HASHER = PasswordHasher()
#: A hash to verify against when the user does not exist, so timing does not tell.
_DUMMY_HASH = _HASHER.hash("not a password")


def hash_password(password: str) -> str:
    """Argon2id hash of a password.

    Examples
    --------
    >>> h = hash_password("s3cret-pass")
    >>> h.startswith("$argon2id$"), verify_password(h, "s3cret-pass"), verify_password(h, "x")
    (True, True, False)
    """
    return _HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches ``password_hash`` (constant work when the hash is missing)."""
    try:
        return _HASHER.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class CookieSigner:
    """HMAC-SHA256 signatures of cookie values.

    Examples
    --------
    >>> signer = CookieSigner(b"k" * 32)
    >>> signed = signer.sign("abc")
    >>> signer.unsign(signed), signer.unsign(signed[:-1] + "x"), signer.unsign("abc")
    ('abc', None, None)
    """

    def __init__(self, key: bytes, salt: str = "lifecircle-session") -> None:
        if not key:
            raise ValueError("the signing key is empty")
        self._key = hashlib.sha256(salt.encode("utf-8") + b"\0" + key).digest()

    def _mac(self, value: str) -> str:
        return _b64(hmac.new(self._key, value.encode("utf-8"), hashlib.sha256).digest())

    def sign(self, value: str) -> str:
        """``value.signature``."""
        return f"{value}.{self._mac(value)}"

    def unsign(self, signed: str) -> str | None:
        """The value of a signed text, or ``None`` when the signature does not match."""
        value, sep, mac = signed.rpartition(".")
        if not sep or not value:
            return None
        return value if hmac.compare_digest(mac, self._mac(value)) else None


@dataclass(frozen=True)
class Principal:
    """The logged-in user of a request."""

    user_id: int
    username: str
    role: str
    display_name: str | None
    csrf_token: str
    session_id: str

    def has_role(self, *roles: str) -> bool:
        """Whether the user holds one of ``roles``."""
        return self.role in roles


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


def create_session(db: Session, user: User, max_age_s: int) -> tuple[str, str]:
    """Open a session for ``user``: returns ``(token, csrf_token)`` (caller commits)."""
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    now = utcnow()
    db.add(
        AuthSession(
            id=_token_hash(token),
            user_id=user.id,
            csrf_token=csrf,
            created_at=now,
            expires_at=now + timedelta(seconds=max_age_s),
        )
    )
    # expired sessions of this user go at the same time
    db.execute(
        delete(AuthSession).where(AuthSession.user_id == user.id, AuthSession.expires_at < now)
    )
    return token, csrf


def load_principal(db: Session, signer: CookieSigner, cookie: str | None) -> Principal | None:
    """The user of a signed session cookie, or ``None`` (bad signature, unknown, expired)."""
    if not cookie:
        return None
    token = signer.unsign(cookie)
    if token is None:
        return None
    row = db.execute(
        select(AuthSession, User)
        .join(User, User.id == AuthSession.user_id)
        .where(AuthSession.id == _token_hash(token))
    ).first()
    if row is None:
        return None
    session, user = row
    if _aware(session.expires_at) <= utcnow() or not user.active:
        return None
    return Principal(
        user_id=user.id,
        username=user.username,
        role=user.role,
        display_name=user.display_name,
        csrf_token=session.csrf_token,
        session_id=session.id,
    )


def delete_session(db: Session, session_id: str) -> None:
    """End a session (caller commits)."""
    db.execute(delete(AuthSession).where(AuthSession.id == session_id))


def check_csrf_token(principal: Principal, given: str | None) -> None:
    """Raise :class:`PermissionDenied` unless ``given`` is the session's CSRF token."""
    if not given:
        raise PermissionDenied(
            f"this write needs the CSRF token of your session in the {CSRF_HEADER} header "
            f"(or a {CSRF_FORM_FIELD} form field); it is returned by /api/auth/login and "
            "/api/auth/me",
            code="csrf_missing",
        )
    if not hmac.compare_digest(given.encode("utf-8"), principal.csrf_token.encode("utf-8")):
        raise PermissionDenied(
            "the CSRF token does not match your session; read it again from /api/auth/me",
            code="csrf_invalid",
        )


class RateLimiter:
    """Sliding-window rate limits per key (e.g. ``("survey", client_ip)``), in memory.

    Examples
    --------
    >>> limiter = RateLimiter()
    >>> for _ in range(2):
    ...     limiter.hit("k", limit=2, window_s=60)
    >>> limiter.hit("k", limit=2, window_s=60)
    Traceback (most recent call last):
    ...
    lifecircle.web.errors.RateLimited: too many requests: at most 2 per 60 s; try again in 60 s
    """

    def __init__(self) -> None:
        self._hits: dict[object, deque[float]] = {}
        self._lock = threading.Lock()
        self._last_sweep = time.monotonic()

    def hit(self, key: object, *, limit: int, window_s: float = 60.0) -> None:
        """Count one request for ``key``; :class:`RateLimited` beyond ``limit`` per window."""
        now = time.monotonic()
        with self._lock:
            if now - self._last_sweep > 10 * window_s:
                self._sweep(now, window_s)
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - window_s:
                hits.popleft()
            if len(hits) >= limit:
                retry = max(1, int(hits[0] + window_s - now + 0.999))
                raise RateLimited(
                    f"too many requests: at most {limit} per {window_s:g} s; "
                    f"try again in {retry} s",
                    retry_after_s=retry,
                )
            hits.append(now)

    def _sweep(self, now: float, window_s: float) -> None:
        for key in [k for k, v in self._hits.items() if not v or v[-1] <= now - window_s]:
            del self._hits[key]
        self._last_sweep = now

    def reset(self) -> None:
        """Forget every count."""
        with self._lock:
            self._hits.clear()
