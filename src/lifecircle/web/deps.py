"""Dependencies of the API routes, as ``Annotated`` aliases.

``DbSession`` (a database session), ``CurrentCity`` (the city of ``?city=``, default the first),
``OptionalUser`` (the logged-in user or ``None``), ``AnyUser``, ``MerchantUser``,
``PlannerUser`` (planner or admin), ``AdminUser`` and ``BoardAuthor`` (merchant, planner or
admin; the role checks also enforce the CSRF token on writes), ``AnonymousWrite`` (the per-IP
rate limit of anonymous writes) and ``AppStateDep``.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from lifecircle.store.models import MerchantOutlet, OutletChange
from lifecircle.web.city import City, CityRegistry, MerchantOutletData
from lifecircle.web.config import Settings
from lifecircle.web.errors import AuthenticationRequired, PermissionDenied, ServiceUnavailable
from lifecircle.web.security import (
    CSRF_FORM_FIELD,
    CSRF_HEADER,
    SESSION_COOKIE,
    CookieSigner,
    Principal,
    RateLimiter,
    check_csrf_token,
    load_principal,
)

__all__ = [
    "AdminUser",
    "AnonymousWrite",
    "AnyUser",
    "AppState",
    "AppStateDep",
    "BoardAuthor",
    "ClientIP",
    "CurrentCity",
    "DbSession",
    "MerchantUser",
    "OptionalUser",
    "PlannerUser",
    "client_ip",
    "require_roles",
    "sync_city",
]

log = logging.getLogger(__name__)

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: Seconds between two checks of the database for outlet changes made by other processes
#: (by a background task of each process: requests never wait for it).
SYNC_INTERVAL_S = 1.0


@dataclass
class AppState:
    """Everything the routes share: settings, database, cities, signer, rate limiter."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    signer: CookieSigner
    #: Signs the device tokens of residents' browsers (one survey answer per device).
    device_signer: CookieSigner
    limiter: RateLimiter = field(default_factory=RateLimiter)
    cities: CityRegistry | None = None
    sync_lock: threading.Lock = field(default_factory=threading.Lock)


async def get_state(request: Request) -> AppState:
    """The application's shared state."""
    state: AppState = request.app.state.lifecircle
    return state


AppStateDep = Annotated[AppState, Depends(get_state)]


def get_db(state: AppStateDep) -> Iterator[Session]:
    """A database session for one request (the route commits)."""
    with state.sessions() as session:
        yield session


DbSession = Annotated[Session, Depends(get_db)]


def sync_city(state: AppState, city: City, *, force: bool = False) -> None:
    """Apply outlet changes approved since the city's last sync (by any server process)."""
    with state.sync_lock:
        if not force and time.monotonic() - city.last_sync < SYNC_INTERVAL_S:
            return  # synced a moment ago (by another thread, perhaps while this one waited)
        with state.sessions() as db:
            latest = db.execute(
                select(func.max(OutletChange.id)).where(OutletChange.city == city.key)
            ).scalar()
            city.last_sync = time.monotonic()
            if latest is None or latest <= city.applied_change_id:
                return
            changed = (
                db.execute(
                    select(OutletChange.outlet_id)
                    .where(OutletChange.city == city.key, OutletChange.id > city.applied_change_id)
                    .distinct()
                )
                .scalars()
                .all()
            )
            rows = db.execute(
                select(MerchantOutlet).where(MerchantOutlet.id.in_(changed))
            ).scalars()
            changes = [merchant_outlet_data(row) for row in rows]
        city.apply_outlets(changes)
        city.applied_change_id = int(latest)


def merchant_outlet_data(row: MerchantOutlet) -> MerchantOutletData:
    """The city's view of a stored merchant outlet."""
    return MerchantOutletData(
        outlet_id=f"merchant/{row.id}",
        name=row.name,
        category=row.category,
        lon=float(row.lon),
        lat=float(row.lat),
        opening_hours=row.opening_hours,
        services=tuple(str(s) for s in (row.services or [])),
        brand=row.brand,
        active=bool(row.active),
    )


async def sync_loop(state: AppState) -> None:
    """Apply other processes' outlet changes every :data:`SYNC_INTERVAL_S` (runs for the life
    of the app; a failed check is logged and tried again at the next tick)."""
    while True:
        await asyncio.sleep(SYNC_INTERVAL_S)
        for city in state.cities or ():
            try:
                await run_in_threadpool(sync_city, state, city)
            except Exception:  # the next tick tries again; requests go on with what is loaded
                log.exception("syncing outlet changes of %s failed", city.key)


async def get_city(
    state: AppStateDep,
    city: Annotated[
        str | None,
        Query(
            max_length=64,
            description="City key (see /api/cities); default: the first city served.",
        ),
    ] = None,
) -> City:
    """The city of the request (other processes' outlet changes are applied by
    :func:`sync_loop`)."""
    if state.cities is None:
        raise ServiceUnavailable("the city analysis is still loading; try again in a moment")
    return state.cities.get(city)


CurrentCity = Annotated[City, Depends(get_city)]


def client_ip(request: Request) -> str:
    """The client's IP address (as seen by the server; behind a proxy run uvicorn with
    ``--proxy-headers``)."""
    return request.client.host if request.client else "unknown"


ClientIP = Annotated[str, Depends(client_ip)]


def get_principal(request: Request, state: AppStateDep, db: DbSession) -> Principal | None:
    """The logged-in user of the request, if any."""
    return load_principal(db, state.signer, request.cookies.get(SESSION_COOKIE))


OptionalUser = Annotated[Principal | None, Depends(get_principal)]


def require_roles(*roles: str) -> Callable[..., Any]:
    """A dependency: 401 without login, 403 for another role, 403 on a write without CSRF token.

    ``roles`` empty means any logged-in user.
    """

    async def dependency(request: Request, principal: OptionalUser) -> Principal:
        if principal is None:
            raise AuthenticationRequired(
                "log in first (POST /api/auth/login); this needs a "
                + (" or ".join(roles) if roles else "logged-in")
                + " account"
            )
        if roles and not principal.has_role(*roles):
            raise PermissionDenied(
                f"your role {principal.role!r} may not do this; it needs {' or '.join(roles)}",
                code="wrong_role",
            )
        if request.method not in _SAFE_METHODS:
            given = request.headers.get(CSRF_HEADER)
            content_type = request.headers.get("content-type", "")
            if not given and content_type.startswith(
                ("application/x-www-form-urlencoded", "multipart/form-data")
            ):
                form = await request.form()
                value = form.get(CSRF_FORM_FIELD)
                given = value if isinstance(value, str) else None
            check_csrf_token(principal, given)
        return principal

    return dependency


AnyUser = Annotated[Principal, Depends(require_roles())]
MerchantUser = Annotated[Principal, Depends(require_roles("merchant", "admin"))]
PlannerUser = Annotated[Principal, Depends(require_roles("planner", "admin"))]
AdminUser = Annotated[Principal, Depends(require_roles("admin"))]
BoardAuthor = Annotated[Principal, Depends(require_roles("merchant", "planner", "admin"))]


def anonymous_write(state: AppStateDep, ip: ClientIP) -> None:
    """Count an anonymous write against the client's per-minute limit (429 beyond it)."""
    state.limiter.hit(
        ("anonymous-write", ip), limit=state.settings.anonymous_writes_per_minute, window_s=60.0
    )


AnonymousWrite = Annotated[None, Depends(anonymous_write)]
