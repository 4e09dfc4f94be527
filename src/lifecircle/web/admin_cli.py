"""``lifecircle admin``: accounts of the web platform from the command line.

``lifecircle admin create-user`` creates the first administrator of a production server (or any
account) in the database the server uses: ``--database-url``, else ``LIFECIRCLE_DATABASE_URL``,
else the SQLite file in the data directory (``LIFECIRCLE_DATA_DIR``).  The password is asked for
twice (hidden), or read from standard input with ``--password-stdin``; it must pass the password
policy (:mod:`lifecircle.web.passwords`).  The schema is migrated first, so this also works on a
new, empty database.

Examples
--------
>>> from click.testing import CliRunner
>>> result = CliRunner().invoke(admin, ["create-user", "--help"])
>>> "--password-stdin" in result.output
True
"""

from __future__ import annotations

import sys

import click

__all__ = ["admin"]

_ROLES = ("admin", "planner", "merchant")


@click.group("admin")
def admin() -> None:
    """账户管理 / Accounts of the web platform (lifecircle serve)."""


@admin.command("create-user")
@click.option("--username", required=True, help="账户名 / user name (letters, digits, _ . -)")
@click.option(
    "--role",
    type=click.Choice(_ROLES),
    default="admin",
    show_default=True,
    help="角色 / role",
)
@click.option("--display-name", default=None, help="显示名称 / display name")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="从标准输入读取密码（一行）/ read the password from standard input (one line)",
)
@click.option(
    "--database-url",
    envvar="LIFECIRCLE_DATABASE_URL",
    default=None,
    help="数据库 / SQLAlchemy URL (default: LIFECIRCLE_DATABASE_URL, else SQLite in the data dir)",
)
@click.option(
    "--data-dir",
    envvar="LIFECIRCLE_DATA_DIR",
    default=None,
    type=click.Path(file_okay=False),
    help="数据目录 / data directory of the SQLite default",
)
def create_user(
    username: str,
    role: str,
    display_name: str | None,
    password_stdin: bool,
    database_url: str | None,
    data_dir: str | None,
) -> None:
    """创建账户（生产环境的第一个管理员）/ Create an account (the first administrator of a
    production server)."""
    from lifecircle.errors import InputError
    from lifecircle.store import create_db_engine, migrate, session_factory
    from lifecircle.store.db import setup_lock
    from lifecircle.web.config import Settings
    from lifecircle.web.errors import ConflictError
    from lifecircle.web.routes.admin import create_account
    from lifecircle.web.throttle import audit

    options: dict[str, object] = {"mode": "dev", "database_url": database_url}
    if data_dir:
        options["data_dir"] = data_dir
    url = Settings(**options).resolved_database_url()  # type: ignore[arg-type]
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("密码 / password", hide_input=True, confirmation_prompt=True)
    engine = create_db_engine(url)
    try:
        with setup_lock(engine):
            migrate(engine)
        with session_factory(engine)() as db:
            try:
                user = create_account(
                    db,
                    username=username,
                    password=password,
                    role=role,
                    display_name=display_name or username,
                    active=True,
                    pending=False,
                )
            except InputError as exc:
                raise click.ClickException(
                    "; ".join(p.message for p in exc.problems)
                    + " — 用 12 个以上字符、不常见的一句话或随机密码 / use 12 or more "
                    "characters: an uncommon phrase or a random password"
                ) from None
            except ConflictError as exc:
                raise click.ClickException(str(exc)) from None
            audit(db, "user_created", username=user.username, detail={"role": role, "by": "cli"})
            db.commit()
    finally:
        engine.dispose()
    click.echo(f"已创建{role}账户 {username} / created the {role} account {username!r}")
