"""The load benchmark script runs (5 s here; the timed 60 s run is for bench/RESULTS.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).resolve().parents[1] / "bench" / "web_load.py"


def test_web_load_benchmark_runs_and_prints_a_table(tmp_path: Path) -> None:
    figures = tmp_path / "load.json"
    cmd = [sys.executable, str(SCRIPT), "--duration", "5", "--warmup", "1", "--clients", "200",
           "--max-p99-ms", "1e9", "--data-dir", str(tmp_path / "data"), "--json", str(figures)]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[0].startswith("| clients | think ms | workers | duration s | requests | req/s")
    row = [cell.strip() for cell in lines[2].strip("|").split("|")]
    assert row[0] == "200" and int(row[4]) > 0 and row[-1] == "0"  # no errors
    assert '"errors": 0' in figures.read_text()
