"""Login throttling per account and per IP in the database, the audit log, the password policy
and the secret-key check (issue 16, item 1), on SQLite and PostgreSQL."""

from __future__ import annotations

import warnings
from datetime import timezone
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from _web_fixtures import Api, fresh_city, make_api
from _web_fixtures import postgres_server as postgres_server
from _web_fixtures import sample_city_base as sample_city_base
from _web_fixtures import sample_data_dir as sample_data_dir
from lifecircle.store.models import AuditEntry, LoginThrottle
from lifecircle.web.app import create_app
from lifecircle.web.city import City, CityRegistry
from lifecircle.web.config import Settings
from lifecircle.web.passwords import password_problems

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=".*httpx2.*")
    from fastapi.testclient import TestClient

THROTTLE = {
    "login_failures_per_account": 3,
    "login_failures_per_ip": 8,
    "login_backoff_s": 30.0,
    "login_backoff_max_s": 600.0,
}


def _login(client: TestClient, user: str, password: str) -> object:
    return client.post("/api/auth/login", json={"username": user, "password": password})


def _actions(api: Api, username: str) -> list[str]:
    with api.state.sessions() as db:
        rows = db.execute(
            select(AuditEntry.action).where(AuditEntry.username == username).order_by(AuditEntry.id)
        )
        return list(rows.scalars())


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_failed_logins_lock_the_account_with_growing_waits_in_every_process(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest, sample_city_base: City
) -> None:
    for api in make_api(backend, tmp_path, request, sample_city_base, **THROTTLE):
        c = api.client
        for _ in range(3):  # free failures
            r = _login(c, "planner", "wrong-password")
            assert r.status_code == 401 and "用户名或密码错误" in r.json()["detail"]
        assert _login(c, "planner", "wrong-password").status_code == 401  # 4th: locks 30 s
        # now even the right password waits, here and in a second server process on the database
        r = _login(c, "planner", "planner-demo")
        assert r.status_code == 429 and 25 <= int(r.headers["Retry-After"]) <= 30
        assert "此账户登录失败次数过多" in r.json()["detail"]
        other = create_app(
            Settings(**{**_settings(api), **THROTTLE}),
            cities=CityRegistry([fresh_city(sample_city_base)]),
        )
        with TestClient(other) as second:
            assert _login(second, "planner", "planner-demo").status_code == 429
        # each further failure doubles the wait (the lock is lifted here by hand to try again)
        waits = []
        for _ in range(3):
            _unlock(api, "user", "planner")
            assert _login(c, "planner", "wrong-password").status_code == 401
            waits.append(_wait_s(api, "user", "planner"))
        assert waits == [pytest.approx(60), pytest.approx(120), pytest.approx(240)]
        # other accounts are not affected; after the wait the right password works and resets
        assert _login(c, "merchant", "merchant-demo").status_code == 200
        _unlock(api, "user", "planner")
        assert _login(c, "planner", "planner-demo").status_code == 200
        with api.state.sessions() as db:
            assert db.get(LoginThrottle, ("user", "planner")) is None
        actions = _actions(api, "planner")
        assert actions.count("login_failed") == 7 and actions.count("login_locked") == 4
        assert actions.count("login_refused") == 2 and actions[-1] == "login"


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_failed_logins_from_one_ip_lock_that_ip_for_every_account(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest, sample_city_base: City
) -> None:
    for api in make_api(backend, tmp_path, request, sample_city_base, **THROTTLE):
        c = api.client
        for i in range(9):  # unknown accounts count per IP (and per name) the same way
            assert _login(c, f"nobody{i}", "guess-guess-guess").status_code == 401
        r = _login(c, "admin", "admin-demo")
        assert r.status_code == 429 and "此网络地址" in r.json()["detail"]
        with api.state.sessions() as db:
            row = db.get(LoginThrottle, ("ip", "testclient"))
            assert row is not None and row.failures == 9
            ip = db.execute(select(AuditEntry.ip).where(AuditEntry.action == "login_refused"))
            assert ip.scalar() == "testclient"


def _settings(api: Api) -> dict[str, object]:
    s = api.state.settings
    return {"data_dir": s.data_dir, "database_url": s.database_url, "mode": "dev",
            "freeze_gc": False}  # fmt: skip


def _unlock(api: Api, kind: str, key: str) -> None:
    with api.state.sessions() as db:
        row = db.get(LoginThrottle, (kind, key))
        assert row is not None
        row.locked_until = None
        db.commit()


def _wait_s(api: Api, kind: str, key: str) -> float:
    with api.state.sessions() as db:
        row = db.get(LoginThrottle, (kind, key))
        assert row is not None and row.locked_until is not None
        until = row.locked_until.replace(tzinfo=row.locked_until.tzinfo or timezone.utc)
        last = row.last_failure_at.replace(tzinfo=row.last_failure_at.tzinfo or timezone.utc)
        return (until - last).total_seconds()


# ------------------------------------------------------------------------------------------------
# password policy and secret keys
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "password",
    ["1234567890", "123456789012", "password1234", "Password1234!", "qwertyuiop123",
     "aaaaaaaaaaaaaaa", "abcabcabcabcabc", "woaini1314520", "shop_x-secret-99"],
)  # fmt: skip
def test_weak_passwords_are_refused(password: str) -> None:
    assert password_problems(password, "shop_x")


def test_the_admin_api_applies_the_password_policy(
    tmp_path: Path, request: pytest.FixtureRequest, sample_city_base: City
) -> None:
    for api in make_api("sqlite", tmp_path, request, sample_city_base):
        headers = api.login("admin")
        body = {"username": "shop_p", "role": "merchant"}
        for weak in ("1234567890", "password1234", "qwerty123456789"):
            r = api.client.post(
                "/api/admin/users", json={**body, "password": weak}, headers=headers
            )
            assert r.status_code == 422, r.text
        r = api.client.post(
            "/api/admin/users", json={**body, "password": "password1234"}, headers=headers
        )
        assert "密码过于常见" in r.text
        r = api.client.post(
            "/api/admin/users", json={**body, "password": "菜市场早上七点开门 ok"}, headers=headers
        )
        assert r.status_code == 201, r.text
        assert _actions(api, "shop_p") == ["user_created"]


@pytest.mark.parametrize(
    "key", ["a" * 32, "ab" * 16, "0123456789" * 4, "changeme", "x" * 20 + "abcdefghijklm"]
)
def test_production_refuses_weak_secret_keys(key: str, tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="secret_key is refused"):
        Settings(mode="production", secret_key=key, data_dir=tmp_path)


def test_production_refuses_a_weak_admin_password(tmp_path: Path) -> None:
    key = "kq2VtR8p0F3xWm9LbZc7Yh1Nd5Gs4Aj6Ue"
    Settings(mode="production", secret_key=key, data_dir=tmp_path)
    with pytest.raises(ValidationError, match="admin_password is refused"):
        Settings(mode="production", secret_key=key, data_dir=tmp_path,
                 admin_username="root", admin_password="1234567890ab")  # fmt: skip
    Settings(mode="production", secret_key=key, data_dir=tmp_path,
             admin_username="root", admin_password="菜市场早上七点开门 ok")  # fmt: skip
