"""Fixtures of the browser tests: Playwright for Python driving Debian's chromium headless.

The platform runs in a subprocess (``create_app(Settings())`` under uvicorn) on a free port with a
temporary data directory, in dev mode, so the demo accounts exist (``planner``/``planner-demo``,
``merchant``/``merchant-demo``).  Every test skips cleanly when ``/usr/bin/chromium`` or
Playwright is absent.  Screenshots are written to ``tests/artifacts/web_*.png``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
from collections.abc import Iterator
from typing import Any

import pytest
from _web import CHROMIUM, CHROMIUM_ARGS, PageErrors, http_json

#: First start computes the sample city's analysis; allow for a slow machine.
_START_TIMEOUT_S = 600.0

_SERVER_CODE = """
import sys, uvicorn
from lifecircle.web.app import create_app
from lifecircle.web.config import Settings
uvicorn.run(create_app(Settings()), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of the platform serving the bundled sample city."""
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is not installed")
    pytest.importorskip("playwright.sync_api")
    pytest.importorskip("lifecircle.web.app")
    data_dir = tmp_path_factory.mktemp("web-data")
    port = _free_port()
    env = {
        **os.environ,
        "LIFECIRCLE_MODE": "dev",
        "LIFECIRCLE_DATA_DIR": str(data_dir),
        "PYTHONWARNINGS": "ignore",
    }
    for key in ("LIFECIRCLE_DATABASE_URL", "LIFECIRCLE_TILE_URL", "LIFECIRCLE_CITIES"):
        env.pop(key, None)
    log = (data_dir / "server.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-c", _SERVER_CODE, str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + _START_TIMEOUT_S
    try:
        while True:
            if proc.poll() is not None:
                log.flush()
                text = (data_dir / "server.log").read_text("utf-8", errors="replace")
                pytest.fail(f"the web server exited with {proc.returncode}:\n{text[-3000:]}")
            try:
                http_json(f"{base}/api/city", timeout=5)
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                if time.monotonic() > deadline:
                    pytest.fail(f"the web server did not answer /api/city in {_START_TIMEOUT_S} s")
                time.sleep(0.5)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=20)
        log.close()


@pytest.fixture(scope="session")
def browser(live_server: str) -> Iterator[Any]:
    """A headless Debian chromium driven by Playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def pages() -> Iterator[list[Any]]:
    """Pages a test opens (append them); their contexts are closed after the test."""
    opened: list[Any] = []
    yield opened
    for page in opened:
        page.context.close()


@pytest.fixture
def js_errors() -> PageErrors:
    """Collects uncaught JS errors; a test asserts it is empty."""
    return PageErrors()


# this file is a conftest, not a module of doctests: keep --doctest-modules from importing it a
# second time under the same module name as the other conftest.py
collect_ignore = ["conftest.py"]
