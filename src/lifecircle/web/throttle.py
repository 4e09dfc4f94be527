"""Login throttling per account and per client IP, kept in the database, and the audit log.

Every failed login counts against the account name tried (``kind="user"``, known or not, so the
answer never tells whether an account exists) and against the client's IP (``kind="ip"``).
Past a number of free failures (:attr:`ThrottlePolicy.user_free`, :attr:`ThrottlePolicy.ip_free`)
each further failure holds the account or the IP back for twice as long as the one before
(``base_s``, 2 × ``base_s``, … up to ``max_s``); while held back every login is refused with a
429, even with the right password.  Failures older than ``window_s`` are forgotten; a successful
login clears the account's count.  The counts live in the table ``login_throttle``, so every
server process (``--workers N``) and every server sharing the database sees the same ones.

Logins, refusals, lockouts and account changes are written to ``audit_log``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import and_, delete, or_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lifecircle.store.models import AuditEntry, LoginThrottle, utcnow
from lifecircle.web.errors import RateLimited

__all__ = ["ThrottlePolicy", "audit", "check_login_allowed", "record_failure", "record_success"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ThrottlePolicy:
    """How many failed logins are free and how the wait grows after them.

    Examples
    --------
    >>> policy = ThrottlePolicy(user_free=5, base_s=30, max_s=3600)
    >>> [policy.wait_s(n, free=policy.user_free) for n in (5, 6, 7, 8, 20)]
    [0.0, 30.0, 60.0, 120.0, 3600.0]
    """

    user_free: int = 5
    ip_free: int = 20
    base_s: float = 30.0
    max_s: float = 3600.0
    window_s: float = 3600.0

    def wait_s(self, failures: int, *, free: int) -> float:
        """Seconds a key is held back after its ``failures``-th failure in a row."""
        if failures <= free:
            return 0.0
        return float(min(self.max_s, self.base_s * 2.0 ** (failures - free - 1)))


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


def _keys(username: str, ip: str) -> list[tuple[str, str]]:
    return [("user", username.strip().lower()[:128]), ("ip", ip[:128])]


def audit(
    db: Session,
    action: str,
    *,
    username: str | None = None,
    actor_id: int | None = None,
    ip: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Add a line to the audit log (the caller commits)."""
    db.add(
        AuditEntry(
            at=utcnow(),
            action=action,
            username=username[:64] if username else None,
            actor_id=actor_id,
            ip=ip[:64] if ip else None,
            detail=detail,
        )
    )


def check_login_allowed(db: Session, username: str, ip: str) -> None:
    """Raise :class:`RateLimited` (and log it) while the account or the IP is held back."""
    now = utcnow()
    for kind, key in _keys(username, ip):
        row = db.get(LoginThrottle, (kind, key))
        if row is None or row.locked_until is None:
            continue
        until = _aware(row.locked_until)
        if until > now:
            retry = max(1, int((until - now).total_seconds() + 0.999))
            audit(db, "login_refused", username=username, ip=ip, detail={"by": kind})
            db.commit()
            who = "此账户" if kind == "user" else "此网络地址"
            raise RateLimited(
                f"{who}登录失败次数过多，请 {retry} 秒后再试 / too many failed logins for this "
                f"{'account' if kind == 'user' else 'address'}; try again in {retry} s",
                retry_after_s=retry,
            )


def _bump(db: Session, kind: str, key: str, free: int, policy: ThrottlePolicy) -> float:
    now = utcnow()
    row = db.get(LoginThrottle, (kind, key), with_for_update=True)
    if row is None:
        row = LoginThrottle(kind=kind, key=key, failures=0, last_failure_at=now)
        db.add(row)
    elif _aware(row.last_failure_at) < now - timedelta(seconds=policy.window_s):
        row.failures = 0  # an old streak is forgotten
    row.failures += 1
    row.last_failure_at = now
    wait = policy.wait_s(row.failures, free=free)
    row.locked_until = now + timedelta(seconds=wait) if wait else None
    return wait


def record_failure(
    db: Session, username: str, ip: str, policy: ThrottlePolicy, *, reason: str
) -> None:
    """Count a failed login against the account and the IP, audit it, and commit."""
    waits: dict[str, float] = {}
    for attempt in range(3):
        try:
            for kind, key in _keys(username, ip):
                free = policy.user_free if kind == "user" else policy.ip_free
                waits[kind] = _bump(db, kind, key, free, policy)
            audit(db, "login_failed", username=username, ip=ip, detail={"reason": reason})
            for kind, wait in waits.items():
                if wait:
                    audit(db, "login_locked", username=username, ip=ip,
                          detail={"by": kind, "seconds": wait})  # fmt: skip
            _forget_old(db, policy)
            db.commit()
            return
        except IntegrityError:  # another process inserted the same key meanwhile: count again
            db.rollback()
            if attempt == 2:
                raise


def _forget_old(db: Session, policy: ThrottlePolicy) -> None:
    now = utcnow()
    cutoff = now - timedelta(seconds=policy.window_s)
    db.execute(
        delete(LoginThrottle).where(
            LoginThrottle.last_failure_at < cutoff,
            or_(LoginThrottle.locked_until.is_(None), and_(LoginThrottle.locked_until < now)),
        )
    )


def record_success(db: Session, username: str, user_id: int, ip: str) -> None:
    """Clear the account's failures and audit the login (the caller commits)."""
    db.execute(
        delete(LoginThrottle).where(
            LoginThrottle.kind == "user", LoginThrottle.key == _keys(username, ip)[0][1]
        )
    )
    audit(db, "login", username=username, actor_id=user_id, ip=ip)
