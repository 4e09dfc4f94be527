"""Accounts for real users (issue 16, item 2), on SQLite and PostgreSQL: merchants register
themselves and wait for a planner's approval; administrators create, change, disable and reset
accounts; ``lifecircle admin create-user`` makes the first administrator of a production server,
which hints at it when it starts without one."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from _web_fixtures import Api, backend_api_fixture, make_api
from _web_fixtures import client as client
from _web_fixtures import postgres_server as postgres_server
from _web_fixtures import sample_city_base as sample_city_base
from _web_fixtures import sample_data_dir as sample_data_dir
from lifecircle.cli import main as cli_main
from lifecircle.store.models import AuditEntry
from lifecircle.web.app import NO_ADMIN_HINT
from lifecircle.web.city import City

api = backend_api_fixture("accounts")
STRONG_KEY = "kq2VtR8p0F3xWm9LbZc7Yh1Nd5Gs4Aj6Ue-a-random-secret"
GOOD_PASSWORD = "早餐店 opens at 6:30"


def _register(api: Api, username: str, **extra: object) -> object:
    body = {
        "username": username,
        "password": GOOD_PASSWORD,
        "display_name": "老王早点铺",
        "phone": "029-8765 4321",
        "licence_no": "91610102MA6U1234X5",
        **extra,
    }
    return api.client.post("/api/accounts/register", json=body)


def _audit(api: Api, username: str) -> list[str]:
    with api.state.sessions() as db:
        q = select(AuditEntry.action).where(AuditEntry.username == username)
        return list(db.execute(q.order_by(AuditEntry.id)).scalars())


def test_a_merchant_registers_and_logs_in_once_a_planner_approved(client: Api) -> None:
    c = client.client
    r = _register(client, "wang_zaodian")
    assert r.status_code == 201, r.text
    user = r.json()
    assert user["pending"] and not user["active"] and user["role"] == "merchant"
    assert user["phone"] == "029-8765 4321" and user["licence_no"] == "91610102MA6U1234X5"
    assert _register(client, "wang_zaodian").status_code == 409
    # pending: no login yet
    r = c.post("/api/auth/login", json={"username": "wang_zaodian", "password": GOOD_PASSWORD})
    assert r.status_code == 403 and r.json()["code"] == "account_pending"
    assert "等待规划师审核" in r.json()["message_zh"]
    # a merchant may not approve; a planner sees it and approves it
    headers = client.login("merchant")
    assert c.get("/api/accounts/pending").status_code == 403
    client.logout()
    headers = client.login("planner")
    pending = c.get("/api/accounts/pending").json()
    assert [u["username"] for u in pending if u["username"] == "wang_zaodian"] == ["wang_zaodian"]
    r = c.post(f"/api/accounts/{user['id']}/approve", headers=headers)
    assert r.status_code == 200 and r.json()["active"] and not r.json()["pending"]
    assert c.post(f"/api/accounts/{user['id']}/approve", headers=headers).status_code == 409
    client.logout()
    client.login("wang_zaodian", GOOD_PASSWORD)
    assert c.get("/api/auth/me").json()["role"] == "merchant"
    assert _audit(client, "wang_zaodian") == ["user_registered", "login_inactive",
                                              "user_approved", "login"]  # fmt: skip


def test_a_rejected_registration_cannot_log_in(client: Api) -> None:
    user = _register(client, "li_fake_shop").json()
    headers = client.login("planner")
    r = client.client.post(f"/api/accounts/{user['id']}/reject", headers=headers)
    assert r.status_code == 200 and not r.json()["active"] and not r.json()["pending"]
    client.logout()
    r = client.client.post(
        "/api/auth/login", json={"username": "li_fake_shop", "password": GOOD_PASSWORD}
    )
    assert r.status_code == 403 and r.json()["code"] == "account_disabled"


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"password": "1234567890"}, "password"),
        ({"password": "password1234"}, "password"),
        ({"phone": "call me"}, "phone"),
        ({"licence_no": "<b>"}, "licence_no"),
        ({"display_name": ""}, "display_name"),
        ({"role": "admin"}, "role"),  # no mass assignment
    ],
)
def test_bad_registrations_are_refused(client: Api, extra: dict, field: str) -> None:
    r = _register(client, "bad_shop", **extra)
    assert r.status_code == 422, r.text
    assert field in r.text and r.json()["message_zh"]


def test_the_admin_changes_disables_and_resets_accounts(client: Api) -> None:
    c = client.client
    headers = client.login("admin")
    body = {"username": "zhao_planner", "password": GOOD_PASSWORD, "role": "planner",
            "districts": ["碑林区"]}  # fmt: skip
    user = c.post("/api/admin/users", json=body, headers=headers).json()
    assert user["districts"] == ["碑林区"] and user["active"]
    uid = user["id"]
    r = c.patch(f"/api/admin/users/{uid}", json={"role": "merchant", "districts": []},
                headers=headers)  # fmt: skip
    assert r.status_code == 200 and r.json()["role"] == "merchant" and r.json()["districts"] is None
    assert (
        c.patch(f"/api/admin/users/{uid}", json={"role": None}, headers=headers).status_code == 422
    )
    # the account logs in (its own client), then is disabled: its session ends at once
    other = client.client.__class__(client.app)
    r = other.post("/api/auth/login", json={"username": "zhao_planner", "password": GOOD_PASSWORD})
    assert r.status_code == 200
    assert (
        c.patch(f"/api/admin/users/{uid}", json={"active": False}, headers=headers).json()["active"]
        is False
    )
    assert other.get("/api/auth/me").status_code == 401
    c.patch(f"/api/admin/users/{uid}", json={"active": True}, headers=headers)
    # a reset password must pass the policy; the old one stops working
    weak = c.post(f"/api/admin/users/{uid}/password", json={"password": "qwerty123456"},
                  headers=headers)  # fmt: skip
    assert weak.status_code == 422
    new = "新的密码 river-stone-42"
    r = c.post(f"/api/admin/users/{uid}/password", json={"password": new}, headers=headers)
    assert r.status_code == 200
    assert other.post("/api/auth/login", json={"username": "zhao_planner",
                      "password": GOOD_PASSWORD}).status_code == 401  # fmt: skip
    assert other.post("/api/auth/login", json={"username": "zhao_planner",
                      "password": new}).status_code == 200  # fmt: skip
    # the last administrator cannot disable itself
    me = next(u for u in c.get("/api/admin/users").json() if u["username"] == "admin")
    r = c.patch(f"/api/admin/users/{me['id']}", json={"active": False}, headers=headers)
    assert r.status_code == 409
    assert (
        c.patch("/api/admin/users/999999", json={"active": False}, headers=headers).status_code
        == 404
    )
    assert _audit(client, "zhao_planner")[:4] == ["user_created", "user_changed", "login",
                                                  "user_changed"]  # fmt: skip
    client.logout()
    headers = client.login("planner")
    assert c.patch(f"/api/admin/users/{uid}", json={"active": False},
                   headers=headers).status_code == 403  # fmt: skip


def test_cli_creates_the_first_admin_and_production_hints_without_one(
    tmp_path: Path,
    request: pytest.FixtureRequest,
    sample_city_base: City,
    caplog: pytest.LogCaptureFixture,
) -> None:
    production = {"mode": "production", "secret_key": STRONG_KEY, "cookie_secure": False}
    with caplog.at_level(logging.WARNING, logger="lifecircle.web.app"):
        for api in make_api("sqlite", tmp_path, request, sample_city_base, **production):
            assert api.client.get("/api/health").status_code == 200
    assert NO_ADMIN_HINT in caplog.text
    url = f"sqlite:///{(tmp_path / 'lifecircle.db').as_posix()}"
    runner = CliRunner()
    args = ["admin", "create-user", "--username", "root", "--password-stdin",
            "--database-url", url]  # fmt: skip
    weak = runner.invoke(cli_main, args, input="1234567890\n")
    assert weak.exit_code != 0 and "至少需要 12 个字符" in weak.output
    done = runner.invoke(cli_main, args, input=GOOD_PASSWORD + "\n")
    assert done.exit_code == 0, done.output
    assert "root" in done.output
    again = runner.invoke(cli_main, args, input=GOOD_PASSWORD + "\n")
    assert again.exit_code != 0 and "已被占用" in again.output
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="lifecircle.web.app"):
        for api in make_api("sqlite", tmp_path, request, sample_city_base, **production):
            r = api.client.post("/api/auth/login", json={"username": "root",
                                "password": GOOD_PASSWORD})  # fmt: skip
            assert r.status_code == 200 and r.json()["role"] == "admin"
            assert _audit(api, "root") == ["user_created", "login"]
    assert NO_ADMIN_HINT not in caplog.text
