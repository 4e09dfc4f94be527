"""``lifecircle serve --workers N``: several server processes, one platform."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_with_two_workers_shares_sessions_and_answers(tmp_path: Path) -> None:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIFECIRCLE_")}
    env.update({"LIFECIRCLE_MODE": "dev", "HOME": str(tmp_path)})
    log = tmp_path / "serve.log"
    cmd = [sys.executable, "-m", "lifecircle.cli", "serve", "--port", str(port), "--workers", "2",
           "--data-dir", str(tmp_path / "data")]  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=out, start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
            try:
                if httpx.get(f"{url}/api/health", timeout=2).json().get("status") == "ok":
                    break
            except (httpx.HTTPError, ValueError):
                time.sleep(0.3)
        else:
            pytest.fail(f"server did not start: {log.read_text(errors='replace')[-3000:]}")
        text = log.read_text(errors="replace")
        assert text.count("Started server process") == 2, text[-3000:]
        # a session cookie signed by one worker is accepted by both: new connections are
        # spread over the processes, and every one of them knows the user
        r = httpx.post(
            f"{url}/api/auth/login", json={"username": "planner", "password": "planner-demo"}
        )
        assert r.status_code == 200, r.text
        cookies = dict(r.cookies)
        for _ in range(20):
            me = httpx.get(f"{url}/api/auth/me", cookies=cookies)
            assert me.status_code == 200 and me.json()["user"] == "planner"
        near = httpx.get(f"{url}/api/nearest", params={"lon": 24.9446, "lat": 60.1702, "k": 3})
        assert near.status_code == 200 and len(near.json()["results"]) == 3
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
