"""Alembic environment of the lifecircle store (run by :func:`lifecircle.store.db.migrate`).

The caller passes an open connection in ``config.attributes["connection"]``; with the
``alembic`` command line, ``sqlalchemy.url`` of the ini file is used instead.  Imported outside
Alembic (e.g. by doctest collection) the module does nothing.
"""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import engine_from_config, pool

from lifecircle.store.models import Base

target_metadata = Base.metadata


def _run(connection: Any) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online(config: Any) -> None:
    """Run the migrations on the given connection, or on one to ``sqlalchemy.url``."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = engine_from_config(
        config.get_section(config.config_ini_section, {}),
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    with engine.connect() as conn:
        _run(conn)


def run_migrations_offline(config: Any) -> None:
    """Emit the SQL without a database (``alembic upgrade --sql``)."""
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    try:
        config = context.config
    except AttributeError:  # not run by Alembic
        return
    if context.is_offline_mode():
        run_migrations_offline(config)
    else:
        run_migrations_online(config)


_main()
