"""Server processes share outlet changes through the database, without requests waiting for it.

Two apps on one database stand for two uvicorn worker processes: an outlet approved through one
reaches the other's nearest-outlet answers within a few sync intervals, by the background sync
task alone (the polled requests are the lean ``/api/nearest`` path, which never syncs itself).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from _web_fixtures import BACKENDS, DEMO, TestClient, database_url, fresh_city
from _web_fixtures import postgres_server as postgres_server
from _web_fixtures import sample_city_base as sample_city_base
from _web_fixtures import sample_data_dir as sample_data_dir
from lifecircle.web.app import create_app
from lifecircle.web.city import City, CityRegistry
from lifecircle.web.config import Settings
from lifecircle.web.deps import SYNC_INTERVAL_S

LON, LAT = 24.9446, 60.1702
QUERY = {"lon": LON, "lat": LAT, "category": "pharmacy", "k": 1}


def _app(url: str, tmp: Path, base: City) -> object:
    settings = Settings(
        data_dir=tmp, database_url=url, mode="dev", anonymous_writes_per_minute=10_000,
        logins_per_minute=10_000, freeze_gc=False,
    )  # fmt: skip
    return create_app(settings, cities=CityRegistry([fresh_city(base)]))


def _login(client: TestClient, user: str) -> dict[str, str]:
    r = client.post("/api/auth/login", json={"username": user, "password": DEMO[user]})
    assert r.status_code == 200, r.text
    return {"X-CSRF-Token": r.json()["csrf_token"]}


@pytest.mark.parametrize("backend", BACKENDS)
def test_outlet_approved_in_one_process_reaches_the_other(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest, sample_city_base: City
) -> None:
    url = database_url(backend, tmp_path, request)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with (
        TestClient(_app(url, tmp_path / "a", sample_city_base)) as a,
        TestClient(_app(url, tmp_path / "b", sample_city_base)) as b,
    ):
        before = b.get("/api/nearest", params=QUERY).json()["results"][0]
        headers = _login(a, "merchant")
        body = {"name": "Synkka-apteekki", "category": "pharmacy", "lon": LON, "lat": LAT}
        r = a.post("/api/merchant/outlets", json=body, headers=headers)
        assert r.status_code == 201, r.text
        sub = r.json()["id"]
        a.cookies.clear()
        headers = _login(a, "planner")
        r = a.post(f"/api/moderation/{sub}/approve", headers=headers)
        assert r.status_code == 200, r.text
        oid = r.json()["outlet_id"]
        # the approving process answers with it at once
        assert a.get("/api/nearest", params=QUERY).json()["results"][0]["outlet_id"] == oid

        t0 = time.monotonic()
        seen = None
        while time.monotonic() - t0 < 10 * SYNC_INTERVAL_S:
            seen = b.get("/api/nearest", params=QUERY).json()["results"][0]
            if seen["outlet_id"] == oid:
                break
            time.sleep(0.05)
        assert seen is not None and seen["outlet_id"] == oid, (before, seen)
        assert seen["distance_m"] < before["distance_m"]
