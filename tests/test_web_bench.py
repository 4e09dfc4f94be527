"""The load benchmark script runs (5 s here; the timed 60 s run is for bench/RESULTS.md)."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).resolve().parents[1] / "bench" / "web_load.py"


@pytest.mark.parametrize("client", ["h2load", "python"])
def test_web_load_benchmark_runs_and_prints_a_table(tmp_path: Path, client: str) -> None:
    if client == "h2load" and shutil.which("h2load") is None:
        pytest.skip("h2load is not installed (apt-get install nghttp2-client; .ci/run does)")
    figures = tmp_path / "load.json"
    cmd = [sys.executable, str(SCRIPT), "--client", client, "--duration", "5", "--warmup", "1",
           "--clients", "200", "--max-p99-ms", "1e9", "--data-dir", str(tmp_path / "data"),
           "--json", str(figures)]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[0].startswith("| client | clients | think ms | workers | duration s | requests")
    row = [cell.strip() for cell in lines[2].strip("|").split("|")]
    assert row[0] == client and row[1] == "200" and int(row[5]) > 0 and row[-1] == "0"
    data = json.loads(figures.read_text())
    assert data["errors"] == 0 and data["requests"] == int(row[5])
    assert 0 < data["p50_us"] <= data["p99_us"] <= data["max_us"]


def _web_load_module():
    spec = importlib.util.spec_from_file_location("web_load", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["web_load"] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("log", "summary", "requests", "errors", "max_us"),
    [
        # status 0: the status line came in the warm-up; the request is not counted
        (
            "1\t200\t1000\n2\t0\t5952000\n3\t200\t3000\n",
            "0 failed, 0 errored, 0 timeout",
            2,
            0,
            3000.0,
        ),
        # a failed request (-1) is in the log and in h2load's count: one error
        ("1\t200\t1000\n2\t-1\t2000\n", "1 failed, 1 errored, 0 timeout", 2, 1, 2000.0),
        ("1\t200\t1000\n2\t503\t2000\n", "1 failed, 0 errored, 0 timeout", 2, 1, 2000.0),
    ],
)
def test_h2load_log_figures(
    log: str, summary: str, requests: int, errors: int, max_us: float
) -> None:
    fig = _web_load_module().h2load_figures(log, summary, duration=5.0)
    assert (fig["requests"], fig["errors"], fig["max_us"]) == (requests, errors, max_us)
