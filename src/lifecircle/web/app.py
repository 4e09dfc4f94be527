"""The web platform's application factory.

``create_app(settings)`` builds the FastAPI app; nothing happens at import time.  At start-up
(the app's lifespan) the database schema is migrated, the demo or configured accounts are
created, the cities are loaded (from the analysis cache, or computed with progress logged) and
the approved merchant outlets applied.

Run it with ``lifecircle serve`` or with uvicorn's factory mode, settings from the environment::

    LIFECIRCLE_CITIES=helsinki uvicorn lifecircle.web.app:create_app --factory --port 8000
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.middleware.gzip import GZipMiddleware
from sqlalchemy import select

from lifecircle import __version__
from lifecircle.store import create_db_engine, migrate, session_factory
from lifecircle.store.db import setup_lock
from lifecircle.store.models import User
from lifecircle.web.city import CityRegistry, load_city
from lifecircle.web.config import Settings
from lifecircle.web.deps import AppState, sync_city, sync_loop
from lifecircle.web.docs import install_docs
from lifecircle.web.errors import ERROR_RESPONSES, install_error_handlers
from lifecircle.web.fastpath import NearestFastPath
from lifecircle.web.hardening import (
    BodyRefused,
    checked_receive,
    send_refusal,
    with_security_headers,
)
from lifecircle.web.security import CookieSigner, hash_password

__all__ = ["DEMO_USERS", "NO_ADMIN_HINT", "PlatformApp", "create_app", "load_cities", "start_up"]

log = logging.getLogger(__name__)

#: Demo accounts created in dev mode: user name → (password, role, display name).
DEMO_USERS: dict[str, tuple[str, str, str]] = {
    "admin": ("admin-demo", "admin", "管理员 Admin"),
    "planner": ("planner-demo", "planner", "规划师 Planner"),
    "merchant": ("merchant-demo", "merchant", "示例商户 Demo shop"),
    "merchant2": ("merchant2-demo", "merchant", "示例商户二 Second shop"),
}

_DESCRIPTION = """
城市一刻钟便民生活圈 web platform: the resident map (便民地图), merchants' outlets (商户进图),
resident voice (满意度调查, 需求清单), the planner dashboard and the community board.

* GeoJSON is WGS-84.  Distances are walking metres along the street network.
* Writes by logged-in users need the session cookie (POST /api/auth/login) **and** the
  `X-CSRF-Token` header (the `csrf_token` of the login answer).
* Errors: `{"detail": "...", "code": "..."}`; invalid input (422) lists every problem in
  `detail` (`loc`, `msg`, `field`, `fix`).
"""


def load_cities(settings: Settings) -> CityRegistry:
    """Load every city of ``settings.cities`` (cached analysis, or computed)."""
    cities = [
        load_city(
            name,
            data_dir=settings.data_dir,
            walk_speed=settings.walk_speed,
            nearest_max_minutes=settings.nearest_max_minutes,
            progress=settings.progress,
        )
        for name in settings.cities
    ]
    return CityRegistry(cities)


def _seed_users(state: AppState) -> None:
    settings = state.settings
    wanted: dict[str, tuple[str, str, str]] = {}
    if settings.seed_demo_users():
        wanted.update(DEMO_USERS)
    if settings.admin_username and settings.admin_password is not None:
        wanted[settings.admin_username] = (
            settings.admin_password.get_secret_value(),
            "admin",
            settings.admin_username,
        )
    if not wanted:
        return
    with state.sessions() as db:
        existing = set(db.execute(select(User.username)).scalars())
        for name, (password, role, display) in wanted.items():
            if name not in existing:
                db.add(
                    User(
                        username=name,
                        password_hash=hash_password(password),
                        role=role,
                        display_name=display,
                        active=True,
                    )
                )
                log.info("created the %s account %r", role, name)
        db.commit()


#: Logged when a production server starts without an administrator.
NO_ADMIN_HINT = (
    "no active administrator account yet: create one with `lifecircle admin create-user "
    "--username NAME --role admin` (same LIFECIRCLE_DATABASE_URL / LIFECIRCLE_DATA_DIR as the "
    "server), or set LIFECIRCLE_ADMIN_USERNAME and LIFECIRCLE_ADMIN_PASSWORD / 还没有管理员账户："
    "请用 `lifecircle admin create-user --username 名称 --role admin` 创建"
)


def _hint_without_admin(state: AppState) -> None:
    if state.settings.is_dev:
        return
    with state.sessions() as db:
        found = db.execute(
            select(User.id).where(User.role == "admin", User.active.is_(True)).limit(1)
        ).first()
    if found is None:
        log.warning(NO_ADMIN_HINT)


def start_up(state: AppState) -> None:
    """Migrate the database, create accounts, load the cities and apply approved outlets."""
    t0 = time.perf_counter()
    with setup_lock(state.engine):  # one server process at a time (uvicorn --workers N)
        migrate(state.engine)
        _seed_users(state)
        _hint_without_admin(state)
    if state.cities is None:
        state.cities = load_cities(state.settings)
    for city in state.cities:
        sync_city(state, city, force=True)
    # the loaded analysis lives as long as the process: keep the garbage collector from
    # scanning it again and again (long pauses under load otherwise)
    if state.settings.freeze_gc:
        gc.collect()
        gc.freeze()
    log.info("lifecircle web platform ready in %.1f s", time.perf_counter() - t0)


class PlatformApp(FastAPI):
    """The FastAPI app, with plain ``GET /api/nearest`` requests answered before its middleware
    stack (:mod:`lifecircle.web.fastpath`)."""

    nearest_fast_path: NearestFastPath | None = None
    #: Body limits of :mod:`lifecircle.web.hardening` (JSON and forms; uploads).
    max_body_bytes: int = 1_000_000
    max_upload_bytes: int = 10_000_000

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            # every response carries nosniff and a CSP; bodies are size-checked and JSON is
            # checked strictly before anything parses them (lifecircle.web.hardening)
            send = with_security_headers(send)
            try:
                receive = await checked_receive(
                    scope, receive, max_body=self.max_body_bytes, max_upload=self.max_upload_bytes
                )
            except BodyRefused as refusal:
                await send_refusal(send, refusal)
                return
        fast = self.nearest_fast_path
        if fast is not None and await fast.answered(scope, send):
            return
        await super().__call__(scope, receive, send)


def create_app(settings: Settings | None = None, *, cities: CityRegistry | None = None) -> FastAPI:
    """Build the web platform.

    Parameters
    ----------
    settings
        Settings; default: read from the environment (``LIFECIRCLE_*``).
    cities
        Already loaded cities (e.g. by ``lifecircle serve``); default: loaded at start-up from
        ``settings.cities``.

    Returns
    -------
    FastAPI
        The app; its lifespan prepares the database and the cities.
    """
    settings = settings if settings is not None else Settings()
    engine = create_db_engine(settings.resolved_database_url())
    state = AppState(
        settings=settings,
        engine=engine,
        sessions=session_factory(engine),
        signer=CookieSigner(settings.signing_key()),
        device_signer=CookieSigner(settings.signing_key(), salt="lifecircle-device"),
        cities=cities,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(start_up, state)
        syncing = asyncio.create_task(sync_loop(state))
        yield
        syncing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await syncing
        engine.dispose()

    app = PlatformApp(
        title="lifecircle 一刻钟便民生活圈",
        version=__version__,
        description=_DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # lifecircle.web.docs serves /docs with the vendored Swagger UI
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.lifecircle = state
    app.max_body_bytes = settings.max_body_bytes
    app.max_upload_bytes = settings.max_upload_bytes
    install_error_handlers(app)
    app.add_middleware(GZipMiddleware, minimum_size=2048)
    # plain /api/nearest requests are answered before the framework's machinery
    app.nearest_fast_path = NearestFastPath(state)

    from lifecircle.web.routes import api_router

    # any body may be unreadable (400), and every /api route answers JSON errors
    app.include_router(api_router, prefix="/api", responses={400: ERROR_RESPONSES[400]})
    pages = _pages_router()
    if pages is not None:
        app.include_router(pages)
    install_docs(app)
    return app


def _pages_router() -> Any:
    try:
        from lifecircle.web.pages import router as pages_router
    except ImportError as exc:  # the HTML pages are optional for the API
        log.warning("HTML pages not available (%s); serving the API only", exc)
        return None
    return pages_router
