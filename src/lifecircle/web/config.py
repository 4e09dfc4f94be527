"""Settings of the web platform, read from the environment (prefix ``LIFECIRCLE_``).

Examples
--------
>>> s = Settings(data_dir="/tmp/lc-doc", mode="dev")
>>> s.resolved_database_url()
'sqlite:////tmp/lc-doc/lifecircle.db'
>>> Settings(mode="production", secret_key="")
Traceback (most recent call last):
...
pydantic_core._pydantic_core.ValidationError: 1 validation error for Settings
...
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

if TYPE_CHECKING:
    from lifecircle.web.throttle import ThrottlePolicy

__all__ = ["DEFAULT_SECRETS", "Settings", "default_data_dir"]

#: Values of ``secret_key`` that are refused outside development mode.
DEFAULT_SECRETS = frozenset(
    {"", "changethis", "change-me", "changeme", "secret", "dev", "development", "lifecircle"}
)
_MIN_SECRET_LENGTH = 32


def default_data_dir() -> Path:
    """``$XDG_DATA_HOME/lifecircle`` (``~/.local/share/lifecircle`` by default)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "lifecircle"


class Settings(BaseSettings):
    """Settings of the web platform.

    Every field can be set by an environment variable named ``LIFECIRCLE_<FIELD>`` (e.g.
    ``LIFECIRCLE_DATABASE_URL``, ``LIFECIRCLE_SECRET_KEY``, ``LIFECIRCLE_CITIES=helsinki``).

    Attributes
    ----------
    mode
        ``dev`` (default: demo accounts, a generated secret key kept in the data directory,
        cookies without ``Secure``) or ``production`` (a random ``secret_key`` of at least 32
        characters is required, see :func:`lifecircle.web.passwords.secret_key_problem`; no
        demo accounts; ``Secure`` cookies).
    secret_key
        Key that signs the session cookies.  Refused when empty or a well-known default outside
        ``dev`` mode.
    data_dir
        Folder of the SQLite database, the city analysis cache, generated reports and, in dev
        mode, the generated secret key.
    database_url
        SQLAlchemy URL; default a SQLite file ``<data_dir>/lifecircle.db`` (WAL,
        ``synchronous=FULL``).  PostgreSQL: ``postgresql+psycopg://user@host/db``.
    cities
        Cities to serve: a bundled sample name (``helsinki``), an ``.osm.pbf`` file, a city TOML
        file or a folder holding ``city.toml`` (see :mod:`lifecircle.web.city`).  The first is
        the default of every API call (others are chosen with ``?city=<key>``).
    tile_url, tile_attribution
        Optional raster tile URL template (``https://…/{z}/{x}/{y}.png``) for the map; without
        it the base map is drawn from the city's own street network.
    session_max_age_s
        Lifetime of a login session.
    cookie_secure
        Send the session cookie only over HTTPS (default: on in production mode).
    anonymous_writes_per_minute
        Rate limit of anonymous writes (survey answers, needs) per client IP and minute.
    logins_per_minute
        Rate limit of login attempts per client IP and minute (in each process's memory).
    login_failures_per_account, login_failures_per_ip
        Failed logins allowed per account name and per client IP before further tries are
        held back (in the database, shared by every process; :mod:`lifecircle.web.throttle`).
    login_backoff_s, login_backoff_max_s
        The first wait after the allowed failures; each further failure doubles it, up to the
        maximum.
    demo_users
        Create the demo accounts (``admin``/``admin-demo``, ``planner``/``planner-demo``,
        ``merchant``/``merchant-demo``, ``merchant2``/``merchant2-demo``); default on in dev
        mode, never in production.
    admin_username, admin_password
        An administrator account created at start when it does not exist yet.
    walk_speed
        Walking speed in km/h or a preset (``default``, ``elderly``).
    nearest_max_minutes
        Search radius of ``/api/nearest`` in walking minutes.
    progress
        Show progress bars while a city's analysis is computed.
    max_body_bytes
        Largest request body accepted (JSON and forms), in bytes; larger ones get a 413 before
        anything is parsed.
    max_upload_bytes
        Largest ``multipart/form-data`` body (uploads), in bytes.
    freeze_gc
        After start-up, move everything loaded into the garbage collector's permanent
        generation (``gc.freeze``): the analysis lives as long as the process, and scanning it
        again and again caused latency spikes of hundreds of milliseconds under load.
    """

    model_config = SettingsConfigDict(env_prefix="LIFECIRCLE_", extra="ignore")

    mode: Literal["dev", "production"] = "dev"
    secret_key: SecretStr = SecretStr("")
    data_dir: Path = Field(default_factory=default_data_dir)
    database_url: str | None = None
    cities: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["helsinki"])
    tile_url: str | None = None
    tile_attribution: str | None = None
    session_max_age_s: int = Field(default=14 * 24 * 3600, ge=60)
    cookie_secure: bool | None = None
    anonymous_writes_per_minute: int = Field(default=20, ge=1)
    logins_per_minute: int = Field(default=20, ge=1)
    login_failures_per_account: int = Field(default=5, ge=1)
    login_failures_per_ip: int = Field(default=20, ge=1)
    login_backoff_s: float = Field(default=30.0, gt=0)
    login_backoff_max_s: float = Field(default=3600.0, gt=0)
    demo_users: bool | None = None
    admin_username: str | None = None
    admin_password: SecretStr | None = None
    walk_speed: str = "4.2"
    nearest_max_minutes: float = Field(default=30.0, gt=0, le=120)
    progress: bool = False
    freeze_gc: bool = True
    max_body_bytes: int = Field(default=1_000_000, ge=1_000)
    max_upload_bytes: int = Field(default=10_000_000, ge=1_000)

    @field_validator("cities", mode="before")
    @classmethod
    def _split_cities(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                import json

                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("cities")
    @classmethod
    def _some_city(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("give at least one city (e.g. LIFECIRCLE_CITIES=helsinki)")
        return value

    @model_validator(mode="after")
    def _check_secrets(self) -> Settings:
        if self.mode != "dev":
            from lifecircle.web.passwords import password_problems, secret_key_problem

            key = self.secret_key.get_secret_value()
            weak = (
                "it is empty or a well-known default"
                if key.strip().lower() in DEFAULT_SECRETS
                else f"it is shorter than {_MIN_SECRET_LENGTH} characters"
                if len(key) < _MIN_SECRET_LENGTH
                else secret_key_problem(key)
            )
            if weak:
                raise ValueError(
                    f"secret_key is refused in {self.mode} mode: {weak}; set "
                    "LIFECIRCLE_SECRET_KEY to a long random value, e.g. the output of "
                    "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`"
                )
            if self.admin_password is not None:
                problems = password_problems(
                    self.admin_password.get_secret_value(), self.admin_username
                )
                if self.admin_password.get_secret_value().strip().lower() in DEFAULT_SECRETS:
                    problems.append("a well-known default")
                if problems:
                    raise ValueError(
                        f"admin_password is refused in {self.mode} mode ({'; '.join(problems)}); "
                        "set LIFECIRCLE_ADMIN_PASSWORD to a strong password"
                    )
        return self

    # ------------------------------------------------------------------------------------------
    @property
    def is_dev(self) -> bool:
        """True in development mode."""
        return self.mode == "dev"

    def throttle_policy(self) -> ThrottlePolicy:
        """The login throttling of these settings."""
        from lifecircle.web.throttle import ThrottlePolicy

        return ThrottlePolicy(
            user_free=self.login_failures_per_account,
            ip_free=self.login_failures_per_ip,
            base_s=self.login_backoff_s,
            max_s=max(self.login_backoff_max_s, self.login_backoff_s),
        )

    def resolved_database_url(self) -> str:
        """The database URL (default: SQLite file in the data directory)."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(Path(self.data_dir) / 'lifecircle.db').as_posix()}"

    def use_secure_cookies(self) -> bool:
        """Whether the session cookie carries ``Secure``."""
        return self.cookie_secure if self.cookie_secure is not None else not self.is_dev

    def seed_demo_users(self) -> bool:
        """Whether to create the demo accounts (never outside dev mode)."""
        return self.is_dev and (self.demo_users if self.demo_users is not None else True)

    def signing_key(self) -> bytes:
        """The key that signs cookies.

        Outside dev mode this is ``secret_key``.  In dev mode without one, a random key is
        generated once and kept in ``<data_dir>/secret_key`` (mode 600), so that sessions survive
        a restart.
        """
        key = self.secret_key.get_secret_value()
        if key or not self.is_dev:
            return key.encode("utf-8")
        path = Path(self.data_dir) / "secret_key"
        if path.is_file():
            return path.read_text("utf-8").strip().encode("utf-8")
        path.parent.mkdir(parents=True, exist_ok=True)
        value = secrets.token_urlsafe(48)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(value)
        os.replace(tmp, path)
        return value.encode("utf-8")
