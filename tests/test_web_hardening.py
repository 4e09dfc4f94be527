"""Hardening of the web platform against hostile input (issue 16, item 1), on SQLite and PostgreSQL.

Body-size limits before parsing, 422 replies that never echo the input, non-finite numbers and
invalid Unicode refused with a 400, explicit ``null`` refused for fields that need a value, NUL
characters refused everywhere, and the security headers on every response.
"""

from __future__ import annotations

import json
import time

import pytest

from _web_fixtures import Api, backend_api_fixture
from _web_fixtures import client as client
from _web_fixtures import postgres_server as postgres_server
from _web_fixtures import sample_city_base as sample_city_base
from _web_fixtures import sample_data_dir as sample_data_dir

LON, LAT = 24.945, 60.17

api = backend_api_fixture("hardening")


def _post_raw(api: Api, path: str, body: bytes, headers: dict[str, str] | None = None) -> object:
    return api.client.post(
        path, content=body, headers={"Content-Type": "application/json", **(headers or {})}
    )


# ------------------------------------------------------------------------------------------------
# body size
# ------------------------------------------------------------------------------------------------


def test_a_body_over_the_limit_is_refused_before_it_is_parsed(client: Api) -> None:
    big = json.dumps({"username": "admin", "password": "x" * 6_000_000}).encode()
    t0 = time.perf_counter()
    r = _post_raw(client, "/api/auth/login", big)
    assert r.status_code == 413, r.text
    assert r.json()["code"] == "too_large" and "1000 KB" in r.json()["zh"]
    assert len(r.content) < 1000
    assert time.perf_counter() - t0 < 2.0
    # a body sent in chunks without Content-Length is cut off at the limit the same way
    chunks = (b" " * 100_000 for _ in range(30))
    r = client.client.post(
        "/api/needs", content=chunks, headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 413, r.text
    # just under the limit is parsed (and fails validation for what it is)
    r = _post_raw(client, "/api/needs", json.dumps({"text": "x" * 900_000}).encode())
    assert r.status_code == 422


def test_a_422_never_echoes_a_large_input(client: Api) -> None:
    huge = "名" * 150_000
    r = client.client.post("/api/needs", json={"text": huge, "circle_id": huge})
    assert r.status_code == 422
    assert len(r.content) < 5_000, len(r.content)
    assert "名名名名名名名名" not in r.text
    body = r.json()
    assert body["code"] == "invalid_input"
    assert {tuple(i["loc"]) for i in body["detail"]} == {("body", "text"), ("body", "circle_id")}
    assert all(i["msg_zh"] for i in body["detail"]) and "input" not in body["detail"][0]
    # a huge key of a survey answer is cut short in the loc
    r = client.client.post(
        f"/api/survey/{client.city.circle_ids()[0]}", json={"answers": {"k" * 100_000: [1]}}
    )
    assert r.status_code == 422 and len(r.content) < 5_000


# ------------------------------------------------------------------------------------------------
# non-finite numbers, invalid Unicode, NUL
# ------------------------------------------------------------------------------------------------

_BAD_BODIES = {
    "nan": b'{"text": "x", "lon": NaN, "lat": 60.17}',
    "infinity": b'{"text": "x", "lon": Infinity, "lat": 60.17}',
    "-infinity": b'{"text": "x", "lon": -Infinity, "lat": 60.17}',
    "1e400": b'{"text": "x", "lon": 1e400, "lat": 60.17}',
    "surrogate": b'{"text": "\\ud800 broken"}',
    "surrogate-key": b'{"text": "x", "\\udfff": 1}',
    "nul": b'{"text": "a\\u0000b"}',
    "bad-utf8": b'{"text": "\xff\xfe"}',
    "huge-int": b'{"text": "x", "lon": 1' + b"0" * 5000 + b"}",
}


@pytest.mark.parametrize("case", sorted(_BAD_BODIES))
@pytest.mark.parametrize(
    "path", ["/api/needs", "/api/auth/login", "/api/merchant/outlets", "/api/scenarios"]
)
def test_non_finite_numbers_invalid_unicode_and_nul_are_a_400(
    client: Api, path: str, case: str
) -> None:
    r = _post_raw(client, path, _BAD_BODIES[case])
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["code"] == "invalid_json" and body["zh"] and body["en"]


def test_a_nul_in_a_need_is_refused_and_nothing_is_stored(client: Api) -> None:
    from sqlalchemy import func, select

    from lifecircle.store.models import Need

    with client.state.sessions() as db:
        before = db.execute(select(func.count(Need.id))).scalar()
    r = client.client.post("/api/needs", json={"text": "缺少药店\x00", "lon": LON, "lat": LAT})
    assert r.status_code == 400 and "NUL" in r.json()["zh"]
    with client.state.sessions() as db:
        assert db.execute(select(func.count(Need.id))).scalar() == before
    # in the query string and the path too
    assert client.client.get("/api/outlets?category=%00").status_code == 400
    assert client.client.get("/api/survey/a%00b").status_code == 400
    # a need without NUL is stored (on PostgreSQL too)
    r = client.client.post("/api/needs", json={"text": "缺少药店", "lon": LON, "lat": LAT})
    assert r.status_code == 201, r.text


# ------------------------------------------------------------------------------------------------
# explicit null
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["category", "lat", "lon", "name", "services", "active"])
def test_a_merchant_update_with_null_for_a_required_field_is_a_422(client: Api, field: str) -> None:
    approved = client.approved_outlet(f"空值测试药店 {field}", LON, LAT)
    outlet_id = approved["outlet_id"]
    headers = client.login("merchant")
    r = client.client.put(f"/api/merchant/outlets/{outlet_id}", json={field: None}, headers=headers)
    assert r.status_code == 422, r.text
    item = r.json()["detail"][0]
    assert item["loc"] == ["body", field] and item["type"] == "null_not_allowed"
    assert "null" in item["msg_zh"]
    # clearing an optional field is fine, and the planner can approve it
    r = client.client.put(
        f"/api/merchant/outlets/{outlet_id}", json={"opening_hours": None}, headers=headers
    )
    assert r.status_code == 202, r.text
    client.logout()
    headers = client.login("planner")
    r = client.client.post(f"/api/moderation/{r.json()['id']}/approve", headers=headers)
    assert r.status_code == 200, r.text


# ------------------------------------------------------------------------------------------------
# headers
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/health",
        "/api/city",
        "/openapi.json",
        "/docs",
        "/",
        "/static/js/common.js",
        "/api/no-such-route",
        f"/api/nearest?lon={LON}&lat={LAT}",
        "/api/outlets?category=%00",
    ],
)
def test_every_response_has_a_csp_and_nosniff(client: Api, path: str) -> None:
    r = client.client.get(path)
    assert r.status_code < 500
    assert r.headers["x-content-type-options"] == "nosniff"
    csp = r.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "default-src" in csp
    assert "'unsafe-eval'" not in csp
    assert (
        "script-src" not in csp or "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
    )


def test_the_413_reply_has_the_headers_too(client: Api) -> None:
    r = _post_raw(client, "/api/needs", b"[" + b"1," * 600_000 + b"1]")
    assert r.status_code == 413
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-security-policy"].startswith("default-src 'none'")


# ------------------------------------------------------------------------------------------------
# errors in Chinese, with English available
# ------------------------------------------------------------------------------------------------


def test_errors_carry_a_chinese_and_an_english_message(client: Api) -> None:
    headers = client.login("merchant")
    body = {"name": "远方药店", "category": "不存在的业态", "lon": 0.0, "lat": 0.0}
    r = client.client.post("/api/merchant/outlets", json=body, headers=headers)
    assert r.status_code == 422
    out = r.json()
    zh = {i["field"]: i["msg_zh"] for i in out["detail"]}
    assert zh == {
        "category": "「不存在的业态」不是业态目录中的类别",
        "lon/lat": "位置在Helsinki的范围以外",
    }
    assert "is not a 业态 of the catalogue" in out["message"] and "的范围以外" in out["message_zh"]
    assert all("请" in i["fix_zh"] and "请" not in i["fix"] for i in out["detail"])
    client.logout()
    r = client.client.post("/api/auth/login", json={"username": "planner", "password": "nope"})
    assert r.status_code == 401 and r.json()["message_zh"] == "用户名或密码错误"
    assert r.json()["message_en"] == "wrong user name or password"
    r = client.client.get("/api/outlets/nope")
    assert r.status_code == 404 and r.json()["message_zh"] == "没有找到"
    assert r.json()["message_en"].startswith("no outlet")
