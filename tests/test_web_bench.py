"""The load benchmark script runs (5 s here; the timed 60 s run is for bench/RESULTS.md)."""

from __future__ import annotations

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
