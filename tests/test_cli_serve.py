"""``lifecircle serve --workers N``: several server processes, one platform."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Server:
    """``lifecircle serve --workers 2`` in its own process group, its log in ``tmp_path``."""

    def __init__(self, tmp_path: Path) -> None:
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("LIFECIRCLE_")}
        env.update({"LIFECIRCLE_MODE": "dev", "HOME": str(tmp_path)})
        self.log = tmp_path / "serve.log"
        cmd = [sys.executable, "-m", "lifecircle.cli", "serve", "--port", str(port),
               "--workers", "2", "--data-dir", str(tmp_path / "data")]  # fmt: skip
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                cmd, env=env, stdout=out, stderr=out, start_new_session=True
            )

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, condition: Callable[[], bool], what: str, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.text()[-3000:]
            try:
                if condition():
                    return
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(0.3)
        pytest.fail(f"{what}: {self.text()[-3000:]}")

    def healthy(self) -> bool:
        return bool(httpx.get(f"{self.url}/api/health", timeout=2).json().get("status") == "ok")

    def stop(self) -> None:
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)


def test_serve_with_two_workers_shares_sessions_and_answers(tmp_path: Path) -> None:
    server = _Server(tmp_path)
    url = server.url
    try:
        server.wait_for(server.healthy, "server did not start")
        text = server.text()
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
        server.stop()


def test_a_killed_worker_is_replaced(tmp_path: Path) -> None:
    server = _Server(tmp_path)
    started = re.compile(r"Started server process \[(\d+)\]")
    try:
        server.wait_for(lambda: len(started.findall(server.text())) == 2, "workers did not start")
        server.wait_for(server.healthy, "server did not answer")
        victim = int(started.findall(server.text())[0])
        os.kill(victim, signal.SIGKILL)  # as the kernel's out-of-memory killer would
        server.wait_for(
            lambda: len(started.findall(server.text())) == 3,
            "no process replaced the killed one",
            timeout=120,
        )
        assert f"(pid {victim}) ended with exit code -9; starting a new one" in server.text()
        pids = [int(p) for p in started.findall(server.text())]
        for pid in pids[1:]:
            os.kill(pid, 0)  # both serving processes are alive
        server.wait_for(server.healthy, "server did not answer after the restart")
        for _ in range(10):  # new connections, spread over both processes
            near = httpx.get(
                f"{server.url}/api/nearest", params={"lon": 24.9446, "lat": 60.1702, "k": 3}
            )
            assert near.status_code == 200 and len(near.json()["results"]) == 3
    finally:
        server.stop()
