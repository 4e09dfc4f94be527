"""Fixtures of the web platform tests: the sample city's analysis, databases, apps and clients.

The same API tests run against SQLite and against the real PostgreSQL at 127.0.0.1:5432 (trust
authentication; a throwaway database is created for the session and dropped after it).  Without
a PostgreSQL server the PostgreSQL cases are skipped, except on CI (``CI`` set), where they fail.
Set ``LIFECIRCLE_TEST_POSTGRES`` to another server's DSN (``host=… user=…``) if needed.
"""

from __future__ import annotations

import os
import secrets
import shutil
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

with warnings.catch_warnings():
    # Starlette 1.x asks for the httpx2 package; httpx works the same for these tests
    warnings.filterwarnings("ignore", message=".*httpx2.*")
    from fastapi.testclient import TestClient

from lifecircle.web.app import create_app
from lifecircle.web.city import City, CityRegistry, load_city
from lifecircle.web.config import Settings
from lifecircle.web.deps import AppState

BACKENDS = ["sqlite", "postgresql"]
DEMO = {
    "admin": "admin-demo",
    "planner": "planner-demo",
    "merchant": "merchant-demo",
    "merchant2": "merchant2-demo",
}
_PG_DSN = os.environ.get("LIFECIRCLE_TEST_POSTGRES", "host=127.0.0.1 port=5432 user=postgres")


@pytest.fixture(scope="session")
def sample_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder holding the cached analysis of the bundled sample city (computed once)."""
    path = tmp_path_factory.mktemp("lifecircle-sample")
    load_city("helsinki", data_dir=path)
    return path


@pytest.fixture(scope="session")
def sample_city_base(sample_data_dir: Path) -> City:
    """The sample city as loaded once (do not change it: build a fresh City per app)."""
    return load_city("helsinki", data_dir=sample_data_dir)


def fresh_city(base: City) -> City:
    """A new City on the same (unchanged) analysis, so that tests may change its outlets."""
    return City(base.spec, base.assessment)


def copy_cache(sample_data_dir: Path, target: Path) -> Path:
    """A data folder with the sample city's cached analysis (a server starts in seconds)."""
    target.mkdir(parents=True, exist_ok=True)
    shutil.copytree(sample_data_dir / "cache", target / "cache", dirs_exist_ok=True)
    return target


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A throwaway PostgreSQL database for the session: its SQLAlchemy URL."""
    psycopg = pytest.importorskip("psycopg")
    try:
        admin = psycopg.connect(f"{_PG_DSN} dbname=postgres", autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"no PostgreSQL server at {_PG_DSN!r}: {exc}")
    name = f"lifecircle_test_{os.getpid()}_{secrets.token_hex(4)}"
    admin.execute(f'CREATE DATABASE "{name}"')
    params = dict(part.split("=", 1) for part in _PG_DSN.split())
    user = params.get("user", "postgres")
    host = params.get("host", "127.0.0.1")
    port = params.get("port", "5432")
    try:
        yield f"postgresql+psycopg://{user}@{host}:{port}/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def reset_postgres(url: str) -> None:
    """Empty every table of the test database (the schema stays)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            tables = [
                r[0]
                for r in conn.execute(
                    text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
                )
                if r[0] != "alembic_version"
            ]
            if tables:
                conn.execute(
                    text(
                        "TRUNCATE "
                        + ", ".join(f'"{t}"' for t in tables)
                        + " RESTART IDENTITY CASCADE"
                    )
                )
    finally:
        engine.dispose()


def database_url(backend: str, tmp: Path, request: pytest.FixtureRequest) -> str:
    """A fresh, empty database of the backend."""
    if backend == "sqlite":
        return f"sqlite:///{(tmp / 'lifecircle.db').as_posix()}"
    url: str = request.getfixturevalue("postgres_server")
    reset_postgres(url)
    return url


@dataclass
class Api:
    """A test client on a running app, with helpers."""

    client: TestClient
    app: Any
    backend: str
    data_dir: Path

    @property
    def state(self) -> AppState:
        state: AppState = self.app.state.lifecircle
        return state

    @property
    def city(self) -> City:
        assert self.state.cities is not None
        return self.state.cities.get()

    def login(self, user: str, password: str | None = None) -> dict[str, str]:
        """Log in (on this client) and return the CSRF header for writes."""
        r = self.client.post(
            "/api/auth/login", json={"username": user, "password": password or DEMO[user]}
        )
        assert r.status_code == 200, r.text
        return {"X-CSRF-Token": r.json()["csrf_token"]}

    def logout(self) -> None:
        """Drop the session cookie of this client."""
        self.client.cookies.clear()

    def approved_outlet(self, name: str, lon: float, lat: float, **extra: object) -> dict:
        """Register a pharmacy (unless ``extra`` says otherwise) as ``merchant`` and approve it as
        ``planner``; returns the approved submission.  Leaves the client logged out."""
        headers = self.login("merchant")
        body = {"name": name, "category": "pharmacy", "lon": lon, "lat": lat, **extra}
        r = self.client.post("/api/merchant/outlets", json=body, headers=headers)
        assert r.status_code == 201, r.text
        sub = r.json()
        self.logout()
        headers = self.login("planner")
        r = self.client.post(f"/api/moderation/{sub['id']}/approve", headers=headers)
        assert r.status_code == 200, r.text
        self.logout()
        approved: dict = r.json()
        return approved


def make_api(
    backend: str,
    tmp: Path,
    request: pytest.FixtureRequest,
    base: City,
    **settings: Any,
) -> Iterator[Api]:
    """Start an app on a fresh database and a fresh copy of the sample city."""
    url = database_url(backend, tmp, request)
    options: dict[str, Any] = {
        "data_dir": tmp,
        "database_url": url,
        "mode": "dev",
        "anonymous_writes_per_minute": 10_000,
        "logins_per_minute": 10_000,
        "login_failures_per_account": 10_000,  # tests of the throttling set their own
        "login_failures_per_ip": 10_000,
        "freeze_gc": False,  # many apps in one test process
    }
    options.update(settings)
    app = create_app(Settings(**options), cities=CityRegistry([fresh_city(base)]))
    with TestClient(app) as client:
        yield Api(client, app, backend, tmp)


def backend_api_fixture(prefix: str) -> Any:
    """A module-scoped ``api`` fixture: one app per database backend (:data:`BACKENDS`) and test
    module, each on a fresh database and a fresh copy of the sample city (``tmp`` folders named
    ``<prefix>-<backend>``).  Assign it in the test module: ``api = backend_api_fixture("web")``.
    """

    @pytest.fixture(scope="module", params=BACKENDS)
    def api(
        request: pytest.FixtureRequest,
        tmp_path_factory: pytest.TempPathFactory,
        sample_city_base: City,
    ) -> Iterator[Api]:
        tmp = tmp_path_factory.mktemp(f"{prefix}-{request.param}")
        yield from make_api(request.param, tmp, request, sample_city_base)

    return api


@pytest.fixture
def client(api: Api) -> Iterator[Api]:
    """The module's shared ``api`` with a logged-out client (no cookies) before and after."""
    api.logout()
    yield api
    api.logout()
