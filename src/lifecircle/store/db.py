"""Database engine, sessions and migrations.

SQLite (the embedded default) runs in WAL mode with ``synchronous=FULL``, so a write that was
committed survives a crash of the process or of the machine; PostgreSQL is used through its URL
(``postgresql+psycopg://…``).  The schema is created and upgraded by the Alembic migrations that
ship inside this package (:func:`migrate`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

__all__ = [
    "MIGRATIONS_DIR",
    "create_db_engine",
    "migrate",
    "session_factory",
    "session_scope",
    "setup_lock",
]

log = logging.getLogger(__name__)

#: Folder of the Alembic environment (``env.py`` and ``versions/``).
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
    finally:
        cursor.close()


def create_db_engine(url: str, *, echo: bool = False) -> Engine:
    """An engine for a database URL.

    For SQLite files the parent folder is created and every connection is set to WAL journal,
    ``synchronous=FULL``, foreign keys on and a 10 s busy timeout.

    Examples
    --------
    >>> engine = create_db_engine("sqlite://")
    >>> engine.dialect.name
    'sqlite'
    """
    parsed = make_url(url)
    kwargs: dict[str, Any] = {"echo": echo, "future": True}
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        else:
            from sqlalchemy.pool import StaticPool

            # one shared connection, so that an in-memory database outlives a session
            kwargs["poolclass"] = StaticPool
        kwargs["connect_args"] = {"check_same_thread": False}
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    kwargs["pool_pre_ping"] = True
    return create_engine(url, **kwargs)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """A session factory bound to ``engine`` (objects stay usable after commit)."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


#: Key of the PostgreSQL advisory lock held while a server process sets the database up.
_PG_LOCK_KEY = 0x6C696665  # "life"


@contextmanager
def setup_lock(engine: Engine) -> Iterator[None]:
    """Hold a lock across processes while one of them migrates and seeds the database.

    Several server processes (``uvicorn --workers N``) start at once; this lets one set the
    database up while the others wait.  SQLite: an exclusive ``flock`` on ``<database>.lock``;
    PostgreSQL: a session advisory lock; other databases: no lock.
    """
    url = engine.url
    backend = url.get_backend_name()
    if backend == "sqlite" and url.database and url.database != ":memory:":
        import fcntl

        lock_path = Path(url.database).with_name(Path(url.database).name + ".lock")
        with lock_path.open("a") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        return
    if backend == "postgresql":
        from sqlalchemy import text

        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_LOCK_KEY})
            conn.commit()
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_LOCK_KEY})
                conn.commit()
        return
    yield


def migrate(engine: Engine, revision: str = "head") -> None:
    """Create or upgrade the schema with the bundled Alembic migrations."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    log.info("database schema at %s (%s)", revision, engine.url.render_as_string())
