"""SQLAlchemy models of the platform's own data.

The city analysis (network, outlets read from files, access, grades) is *not* stored here: it is
computed from the input files and cached on disk.  The database holds what people add at run
time:

* ``users`` and ``sessions`` — accounts (admin, planner, merchant) and login sessions;
* ``submissions`` — merchants' outlet registrations and updates (商户进图) and community-board
  posts, each waiting for a planner's decision (pending → approved / rejected);
* ``merchant_outlets`` — approved merchant outlets, joined to the city's outlets;
* ``outlet_changes`` — an append-only log of approved outlet changes, so that every server
  process applies them to its in-memory city without a restart;
* ``survey_responses`` and ``needs`` — residents' anonymous satisfaction answers and "what is
  missing here" (需求清单) submissions.  Neither stores an IP address, a name or any other
  personal data; the time is kept to the hour;
* ``scenarios`` — planners' saved what-if scenarios (规划方案): the changes and their computed
  before/after summary;
* ``survey_codes`` — one-time codes of a circle's survey round (their hashes), handed out by
  the 社区: one answer each;
* ``login_throttle`` — failed logins per account and per client IP, with the time until which
  further tries are refused (exponential back-off shared by every server process);
* ``audit_log`` — logins, lockouts and account changes: who, when, from which IP, what.

Every table that concerns a city carries its ``city`` key, so one database serves several
cities.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy import false as sa_false
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "ROLES",
    "SUBMISSION_KINDS",
    "SUBMISSION_STATUSES",
    "AuditEntry",
    "AuthSession",
    "Base",
    "LoginThrottle",
    "MerchantOutlet",
    "Need",
    "OutletChange",
    "SavedScenario",
    "Submission",
    "SurveyCode",
    "SurveyResponse",
    "User",
    "utcnow",
]

#: Account roles; residents use the platform anonymously.
ROLES = ("admin", "planner", "merchant")
#: What a submission is: an outlet (create or update) or a community-board post.
SUBMISSION_KINDS = ("outlet", "board")
#: Moderation states.
SUBMISSION_STATUSES = ("pending", "approved", "rejected")


def utcnow() -> datetime:
    """The current time in UTC (timezone-aware)."""
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    """Declarative base of the platform's tables."""

    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


class User(Base):
    """An account: an administrator, a planner or a merchant."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    display_name: Mapped[str | None] = mapped_column(String(128), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    #: A merchant who registered themselves waits (inactive) for a planner's approval.
    pending: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    phone: Mapped[str | None] = mapped_column(String(32), nullable=True)
    licence_no: Mapped[str | None] = mapped_column(String(64), nullable=True)
    #: Districts (区/街道) or circle ids the account works in; empty: all.
    districts: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)


class LoginThrottle(Base):
    """Failed logins of one account (``kind="user"``) or one client IP (``kind="ip"``)."""

    __tablename__ = "login_throttle"

    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class AuditEntry(Base):
    """One line of the audit log: a login, a lockout or an account change."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    action: Mapped[str] = mapped_column(String(32), index=True)
    username: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    ip: Mapped[str | None] = mapped_column(String(64), nullable=True)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class AuthSession(Base):
    """A login session; the cookie carries the (signed) token, the table only its SHA-256."""

    __tablename__ = "sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 hex of the token
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Submission(Base):
    """Something waiting for (or past) moderation: an outlet change or a board post."""

    __tablename__ = "submissions"
    __table_args__ = (
        Index("ix_submissions_city_status", "city", "status"),
        Index("ix_submissions_city_kind_circle", "city", "kind", "circle_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    city: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # outlet | board
    action: Mapped[str] = mapped_column(String(16))  # create | update
    status: Mapped[str] = mapped_column(String(16), default="pending")
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    target_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    circle_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)


class MerchantOutlet(Base):
    """An approved merchant outlet (its public id is ``merchant/<id>``)."""

    __tablename__ = "merchant_outlets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    city: Mapped[str] = mapped_column(String(64), index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(64))
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    opening_hours: Mapped[str | None] = mapped_column(String(200), nullable=True)
    services: Mapped[list[Any]] = mapped_column(JSON, default=list)
    brand: Mapped[str | None] = mapped_column(String(200), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class OutletChange(Base):
    """Append-only log of approved outlet changes (read by every server process)."""

    __tablename__ = "outlet_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    city: Mapped[str] = mapped_column(String(64), index=True)
    outlet_id: Mapped[int] = mapped_column(ForeignKey("merchant_outlets.id"))
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SurveyResponse(Base):
    """One anonymous satisfaction survey answer sheet."""

    __tablename__ = "survey_responses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    city: Mapped[str] = mapped_column(String(64))
    circle_id: Mapped[str] = mapped_column(String(64))
    survey_version: Mapped[str] = mapped_column(String(32))
    answers: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: SHA-256 of the answering browser's device token, the circle and the survey round: the
    #: same browser answering the same circle's survey again gets the same value (nothing else
    #: about the device is kept).
    device: Mapped[str | None] = mapped_column(String(64), nullable=True)
    #: A repeated answer of one device: kept and counted apart, never in the satisfaction rate.
    duplicate: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())

    __table_args__ = (
        Index("ix_survey_responses_city_circle", "city", "circle_id"),
        Index("ix_survey_responses_device", "device"),
    )


class SurveyCode(Base):
    """A one-time code a 社区 hands out for one circle's survey round (only its hash is kept)."""

    __tablename__ = "survey_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    city: Mapped[str] = mapped_column(String(64))
    circle_id: Mapped[str] = mapped_column(String(64))
    survey_version: Mapped[str] = mapped_column(String(32))
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Need(Base):
    """One anonymous "what is missing here" submission (需求清单)."""

    __tablename__ = "needs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    city: Mapped[str] = mapped_column(String(64), index=True)
    circle_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    category: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SavedScenario(Base):
    """A planner's what-if scenario (规划方案): its changes and their computed effect.

    ``changes`` holds the change dicts of :class:`lifecircle.plan.whatif.Scenario` (outlet ids
    assigned, 业态 as codes); ``summary`` the before/after per circle and the city KPIs that
    moved, computed when the scenario was saved against the outlets as of ``base_change_id``
    (the last ``outlet_changes`` row applied then; 0 for the city's own data only).
    """

    __tablename__ = "scenarios"
    __table_args__ = (UniqueConstraint("city", "name", name="uq_scenarios_city_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    city: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    changes: Mapped[list[Any]] = mapped_column(JSON)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON)
    base_change_id: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
