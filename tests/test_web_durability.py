"""Every write that returned 2xx survives ``kill -9`` of the server and a restart.

A real uvicorn server runs in a subprocess on a free port (SQLite in WAL mode with
``synchronous=FULL``, or PostgreSQL); the test writes through the API, kills the process with
SIGKILL, starts it again on the same data and reads everything back.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from _web_fixtures import BACKENDS, copy_cache, reset_postgres
from _web_fixtures import postgres_server as postgres_server
from _web_fixtures import sample_data_dir as sample_data_dir

pytestmark = pytest.mark.slow

LON, LAT = 24.9446, 60.1702


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """A uvicorn subprocess serving the sample city."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.log = log
        self.port = _free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 120.0) -> None:
        cmd = [sys.executable, "-m", "uvicorn", "lifecircle.web.app:create_app", "--factory",
               "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning"]  # fmt: skip
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(cmd, env=self.env, stdout=out, stderr=out)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text(errors='replace')[-3000:]}")
            try:
                if httpx.get(f"{self.url}/api/health", timeout=2).json().get("status") == "ok":
                    return
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(0.3)
        raise RuntimeError(f"server did not start: {self.log.read_text(errors='replace')[-3000:]}")

    def kill9(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)
        assert self.proc.returncode == -signal.SIGKILL

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)


@pytest.fixture(params=BACKENDS)
def server(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    sample_data_dir: Path,
) -> Iterator[Server]:
    data = copy_cache(sample_data_dir, tmp_path / "data")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIFECIRCLE_")}
    env.update({"LIFECIRCLE_DATA_DIR": str(data), "LIFECIRCLE_MODE": "dev",
                "LIFECIRCLE_CITIES": "helsinki"})  # fmt: skip
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres_server")
        reset_postgres(url)
        env["LIFECIRCLE_DATABASE_URL"] = url
    srv = Server(env, tmp_path / "server.log")
    try:
        yield srv
    finally:
        srv.stop()


def _client(srv: Server) -> httpx.Client:
    return httpx.Client(base_url=srv.url, timeout=60)


def _login(c: httpx.Client, user: str) -> dict[str, str]:
    r = c.post("/api/auth/login", json={"username": user, "password": f"{user}-demo"})
    assert r.status_code == 200, r.text
    return {"X-CSRF-Token": r.json()["csrf_token"]}


def test_writes_survive_kill_9(server: Server) -> None:
    server.start()
    merchant, planner, resident = _client(server), _client(server), _client(server)
    with merchant, planner, resident:
        mh = _login(merchant, "merchant")
        ph = _login(planner, "planner")
        body = {"name": "Kestävä apteekki", "category": "pharmacy", "lon": LON, "lat": LAT}
        r1 = merchant.post("/api/merchant/outlets", json=body, headers=mh)
        r2 = merchant.post("/api/merchant/outlets", json={**body, "name": "Odottava"}, headers=mh)
        assert r1.status_code == 201 and r2.status_code == 201
        approved = planner.post(f"/api/moderation/{r1.json()['id']}/approve", headers=ph)
        assert approved.status_code == 200
        oid = approved.json()["outlet_id"]
        post = {"kind": "event", "title": "邻里节", "body": "周日下午"}
        board = merchant.post("/api/board", json=post, headers=mh)
        assert board.status_code == 201
        assert (
            planner.post(f"/api/moderation/{board.json()['id']}/approve", headers=ph).status_code
            == 200
        )
        circle = resident.get("/api/circles").json()["features"][0]["id"]
        survey = resident.post(f"/api/survey/{circle}", json={"answers": {"overall": "满意"}})
        need = resident.post("/api/needs", json={"text": "缺菜市场", "category": "菜市场"})
        assert survey.status_code == 201 and need.status_code == 201
        cookies = dict(planner.cookies)

    server.kill9()
    server.start()

    with _client(server) as c:
        feats = c.get("/api/outlets", params={"q": "Kestävä"}).json()["features"]
        assert [f["id"] for f in feats] == [oid]
        near = c.get("/api/nearest", params={"lon": LON, "lat": LAT, "category": "pharmacy"})
        assert near.json()["results"][0]["outlet_id"] == oid
        assert [p["title"] for p in c.get("/api/board").json()] == ["邻里节"]
        c.cookies.update(cookies)  # the login session survived too
        assert c.get("/api/auth/me").json()["user"] == "planner"
        pending = c.get("/api/moderation").json()
        assert [s["id"] for s in pending] == [r2.json()["id"]]
        sat = c.get("/api/dashboard/satisfaction").json()["rows"]
        assert next(r for r in sat if r["circle_id"] == circle)["n_valid"] == 1
        needs = c.get("/api/dashboard/needs").json()
        assert [i["id"] for i in needs["items"]] == [need.json()["id"]]
