"""Settings of the web platform and the app factory (no database backend needed)."""

from __future__ import annotations

import importlib
import stat
from pathlib import Path

import pytest
from pydantic import ValidationError

from lifecircle.store import create_db_engine, migrate
from lifecircle.web.city import resolve_city
from lifecircle.web.config import Settings
from lifecircle.web.errors import STATUS_BY_ERROR, NotFoundError, status_of
from lifecircle.web.security import CookieSigner, RateLimiter

STRONG = "kq2VtR8p0F3xWm9LbZc7Yh1Nd5Gs4Aj6Ue-a-random-secret"


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LIFECIRCLE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("LIFECIRCLE_CITIES", "helsinki, other.osm.pbf")
    monkeypatch.setenv("LIFECIRCLE_TILE_URL", "https://tiles.example/{z}/{x}/{y}.png")
    s = Settings()
    assert s.cities == ["helsinki", "other.osm.pbf"]
    assert s.resolved_database_url() == f"sqlite:///{tmp_path.as_posix()}/lifecircle.db"
    assert s.tile_url.endswith("{y}.png") and s.is_dev and s.seed_demo_users()
    monkeypatch.setenv("LIFECIRCLE_CITIES", '["a", "b"]')
    assert Settings().cities == ["a", "b"]
    monkeypatch.setenv("LIFECIRCLE_DATABASE_URL", "postgresql+psycopg://u@h/db")
    assert Settings().resolved_database_url() == "postgresql+psycopg://u@h/db"


@pytest.mark.parametrize("secret", ["", "changethis", "secret", "short-but-not-default"])
def test_production_refuses_weak_secrets(secret: str, tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="secret_key"):
        Settings(mode="production", secret_key=secret, data_dir=tmp_path)


def test_production_settings(tmp_path: Path) -> None:
    s = Settings(mode="production", secret_key=STRONG, data_dir=tmp_path, demo_users=True)
    assert not s.seed_demo_users() and s.use_secure_cookies()
    assert s.signing_key() == STRONG.encode()
    with pytest.raises(ValidationError, match="admin_password"):
        Settings(mode="production", secret_key=STRONG, admin_username="root", admin_password="x")
    with pytest.raises(ValidationError, match="at least one city"):
        Settings(cities=[])


def test_dev_secret_is_generated_once_and_kept(tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path)
    key = s.signing_key()
    assert len(key) >= 32 and Settings(data_dir=tmp_path).signing_key() == key
    mode = (tmp_path / "secret_key").stat().st_mode
    assert stat.S_IMODE(mode) == 0o600


def test_importing_the_app_module_starts_nothing(tmp_path: Path) -> None:
    module = importlib.import_module("lifecircle.web.app")
    assert callable(module.create_app)
    assert not any(
        isinstance(v, object) and type(v).__name__ == "FastAPI" for v in vars(module).values()
    )
    assert not list(tmp_path.iterdir())


def test_error_table() -> None:
    from lifecircle.errors import CRSError, InputError, LifecircleError

    assert status_of(CRSError("x")) == 422 and status_of(InputError("x")) == 422
    assert status_of(NotFoundError("x")) == 404 and status_of(LifecircleError("x")) == 400
    assert status_of(ValueError("x")) == 500
    assert all(400 <= code < 600 for code in STATUS_BY_ERROR.values())


def test_cookie_signer_and_rate_limiter() -> None:
    signer = CookieSigner(b"k" * 32)
    assert signer.unsign(signer.sign("token")) == "token"
    assert CookieSigner(b"other" * 8).unsign(signer.sign("token")) is None
    assert signer.unsign("") is None and signer.unsign(".abc") is None
    with pytest.raises(ValueError, match="empty"):
        CookieSigner(b"")
    limiter = RateLimiter()
    limiter.hit("a", limit=1)
    limiter.hit("b", limit=1)  # other clients are counted apart
    with pytest.raises(Exception, match="too many requests"):
        limiter.hit("a", limit=1)
    limiter.reset()
    limiter.hit("a", limit=1)


def test_migrations_match_the_models(tmp_path: Path) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from lifecircle.store.models import Base

    engine = create_db_engine(f"sqlite:///{tmp_path / 'm.db'}")
    migrate(engine)
    migrate(engine)  # idempotent
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        mode = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
        sync = conn.exec_driver_sql("PRAGMA synchronous").scalar()
    assert diff == []
    assert mode == "wal" and sync == 2  # FULL


@pytest.mark.parametrize(
    ("arg", "match"),
    [("atlantis", "no city 'atlantis'"), ("{tmp}/missing.toml", "no city")],
)
def test_unknown_cities(arg: str, match: str, tmp_path: Path) -> None:
    from lifecircle.errors import InputError

    with pytest.raises(InputError, match=match):
        resolve_city(arg.format(tmp=tmp_path))


def test_city_toml(tmp_path: Path) -> None:
    from lifecircle.datasets import get_path
    from lifecircle.errors import InputError

    pbf = get_path("helsinki").as_posix()
    folder = tmp_path / "demo"
    folder.mkdir()
    (folder / "city.toml").write_text(
        f'name = "示例"\nrulebook = "default"\nnetwork = "{pbf}"\noutlets = "{pbf}"\n'
        f'[residences]\npath = "{pbf}"\n',
        "utf-8",
    )
    spec = resolve_city(folder)  # the same city file every command reads
    assert spec.id == "demo" and spec.name == "示例" and spec.rulebook == "default"
    assert str(spec.outlets.path) == pbf and str(spec.residences.path) == pbf
    (folder / "city.toml").write_text('colour = 1\n[network]\npath = "nope.gpkg"\n', "utf-8")
    with pytest.raises(InputError) as err:
        resolve_city(folder)
    fields = {p.field for p in err.value.problems}
    assert fields == {"name", "colour", "network.path", "outlets", "residences"}
    lines = {p.field: p.message for p in err.value.problems}
    assert "(line 1)" in lines["colour"] and "(line 3)" in lines["network.path"]


def test_the_analysis_is_cached_on_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lifecircle.web import city as city_module

    first = city_module.load_city("helsinki", data_dir=tmp_path)
    cached = list((tmp_path / "cache").glob("helsinki-*.pickle"))
    assert len(cached) == 1

    def no_compute(*args: object, **kwargs: object) -> None:
        raise AssertionError("the analysis was computed again")

    monkeypatch.setattr(city_module, "_compute", no_compute)
    again = city_module.load_city("helsinki", data_dir=tmp_path)
    assert again.access.equals(first.access)
    assert again.network.n_edges == first.network.n_edges
