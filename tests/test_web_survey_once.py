"""One survey answer per device, circle and round (issue 16, item 4), on SQLite and PostgreSQL:
a second answer of the same browser is refused (409), kept apart and shown as a duplicate, and
the satisfaction rate uses the valid answers only."""

from __future__ import annotations

import warnings

import pytest

from _web_fixtures import Api, backend_api_fixture
from _web_fixtures import client as client
from _web_fixtures import postgres_server as postgres_server
from _web_fixtures import sample_city_base as sample_city_base
from _web_fixtures import sample_data_dir as sample_data_dir
from lifecircle.web.routes.voice import DEVICE_COOKIE

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=".*httpx2.*")
    from fastapi.testclient import TestClient

api = backend_api_fixture("survey-once")


def _rate(api: Api, circle: str) -> tuple[float | None, int, int]:
    api.login("planner")
    data = api.client.get("/api/dashboard/satisfaction").json()
    api.logout()
    row = next((r for r in data["rows"] if str(r["circle_id"]) == circle), {})
    return row.get("rate"), int(row.get("n_valid") or 0), int(data["duplicates"].get(circle, 0))


def test_a_second_answer_from_the_same_device_is_refused_and_not_counted(client: Api) -> None:
    c = client.client
    cid = client.city.circle_ids()[0]
    r = c.post(f"/api/survey/{cid}", json={"answers": {"overall": "满意"}})
    assert r.status_code == 201, r.text
    assert DEVICE_COOKIE in r.cookies or DEVICE_COOKIE in c.cookies
    r = c.post(f"/api/survey/{cid}", json={"answers": {"overall": "不满意"}})
    assert r.status_code == 409 and r.json()["code"] == "already_answered"
    assert "已经回答过本轮问卷" in r.json()["message_zh"]
    rate, n_valid, dupes = _rate(client, cid)
    assert (rate, n_valid, dupes) == (1.0, 1, 1)  # the "不满意" is kept apart, not 50 %
    # another circle's survey is a survey of its own
    other = client.city.circle_ids()[1]
    assert c.post(f"/api/survey/{other}", json={"answers": {"overall": 4}}).status_code == 201
    # another browser (no device cookie) counts
    with TestClient(client.app) as second:
        r = second.post(f"/api/survey/{cid}", json={"answers": {"overall": "不满意"}})
        assert r.status_code == 201
    rate, n_valid, dupes = _rate(client, cid)
    assert (rate, n_valid, dupes) == (0.5, 2, 1)
    # a forged device cookie is a new device, not someone else's
    c.cookies.set(DEVICE_COOKIE, "forged.token")
    assert c.post(f"/api/survey/{cid}", json={"answers": {"overall": 5}}).status_code == 201


def test_the_circle_at_a_point_names_its_survey(client: Api) -> None:
    city = client.city
    cid = city.circle_ids()[0]
    inside = city.circle_at(24.945, 60.17)
    r = client.client.get("/api/circles/at", params={"lon": 24.945, "lat": 60.17}).json()
    assert r["circle_id"] == inside and cid
    if inside is not None:
        assert r["survey_url"] == f"/survey/{inside}" and r["name"] == city.circle_name(inside)
    far = client.client.get("/api/circles/at", params={"lon": 0.0, "lat": 0.0}).json()
    assert far == {"circle_id": None, "name": None, "survey_url": None}
    r = client.client.get("/api/circles/at", params={"lon": "nan", "lat": 60.17})
    assert r.status_code == 422


def _svg_modules(svg: str) -> set[tuple[int, int]]:
    """The dark modules of a qrcode SvgPathImage (one ``Mx,yH..V..H..z`` square each)."""
    import re

    path = re.search(r' d="([^"]+)"', svg)
    assert path is not None, svg[:200]
    return {(int(x), int(y)) for x, y in re.findall(r"M(\d+),(\d+)H", path.group(1))}


def test_the_survey_qr_code_and_poster_point_to_the_survey_page(client: Api) -> None:
    import qrcode

    cid = client.city.circle_ids()[0]
    r = client.client.get(f"/api/survey/{cid}/qr.svg")
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml")
    url = r.headers["x-survey-url"]
    assert url == f"http://testserver/survey/{cid}"
    # the code's modules are those of the page's address (border of 4 modules)
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0)
    code.add_data(url)
    code.make(fit=True)
    want = {
        (x + 4, y + 4) for y, row in enumerate(code.get_matrix()) for x, on in enumerate(row) if on
    }
    assert _svg_modules(r.text) == want
    assert client.client.get("/api/survey/NOPE/qr.svg").status_code == 404
    poster = client.client.get(f"/survey/{cid}/poster")
    assert poster.status_code == 200
    assert f'src="/api/survey/{cid}/qr.svg"' in poster.text and url in poster.text
    assert client.city.circle_name(cid) in poster.text


def test_one_time_codes_count_once_each_on_any_device(client: Api) -> None:
    import csv
    import io

    c = client.client
    cid = client.city.circle_ids()[2]
    body = {"count": 3}
    assert c.post(f"/api/survey/{cid}/codes", json=body).status_code == 401
    headers = client.login("planner")
    r = c.post(f"/api/survey/{cid}/codes", json=body, headers=headers)
    assert r.status_code == 201 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text.lstrip("\ufeff"))))
    assert len(rows) == 3 and len({row["code"] for row in rows}) == 3
    assert rows[0]["survey_url"].endswith(f"/survey/{cid}?code={rows[0]['code']}")
    assert c.post("/api/survey/NOPE/codes", json=body, headers=headers).status_code == 404
    client.logout()
    c.cookies.clear()
    # one browser, three codes: three answers count; a used code is refused, a wrong one too
    for row, value in zip(rows, ("满意", "满意", "不满意"), strict=True):
        answer = {"answers": {"overall": value}, "code": row["code"].lower()}
        assert c.post(f"/api/survey/{cid}", json=answer).status_code == 201
    again = c.post(f"/api/survey/{cid}", json={"answers": {"overall": 5}, "code": rows[0]["code"]})
    assert again.status_code == 409 and "已经用过" in again.json()["message_zh"]
    wrong = c.post(f"/api/survey/{cid}", json={"answers": {"overall": 5}, "code": "ZZZZZ-ZZZZZ"})
    assert wrong.status_code == 422 and wrong.json()["detail"][0]["field"] == "code"
    other = client.city.circle_ids()[0]
    r = c.post(f"/api/survey/{other}", json={"answers": {"overall": 5}, "code": rows[1]["code"]})
    assert r.status_code == 422  # a code of another circle
    rate, n_valid, dupes = _rate(client, cid)
    assert n_valid == 3 and rate == pytest.approx(2 / 3) and dupes == 0
