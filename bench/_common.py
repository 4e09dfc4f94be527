"""Shared helpers of the benchmark scripts: phase timer with peak RSS, machine description.

Peak memory is the resident set size (RSS) of the whole process, so that C/C++ allocations
(numba, pandana, GEOS) count: a background thread samples ``/proc/self/statm`` every 2 ms while a
phase runs, and a whole process's peak is its ``VmHWM`` (``/proc/self/status``).  Not
``ru_maxrss``: on Linux a child started by ``subprocess`` (vfork + exec) inherits its parent's
``ru_maxrss``, so a child of a 600 MiB parent reports at least 600 MiB; ``VmHWM`` belongs to the
process's own address space and starts afresh at exec.  ``tracemalloc`` would only see Python's
own allocations.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
XIAN = {
    "gpkg": SHARED_DATA / "xian_oldtown_osm_network" / "xian_oldtown_osm_network.gpkg",
    "raw_shp": SHARED_DATA
    / "xian_oldtown_osm_network"
    / "raw_richieBao_rode_project"
    / "rode_project.shp",
    "poi": SHARED_DATA / "xian_oldtown_baidu_poi" / "xian_oldtown_baidu_poi_merged_utf8.csv",
    "xiaoqu": SHARED_DATA / "residential_communities_xiaoqu" / "xiaoqu_all_sources_normalized.csv",
}
_PAGE = os.sysconf("SC_PAGE_SIZE")
MIB = 1024.0 * 1024.0


def rss_mib() -> float:
    """Current resident set size of this process, MiB."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * _PAGE / MIB


def hwm_mib() -> float:
    """Peak resident set size of this process so far (``VmHWM``), MiB."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # pragma: no cover


def load_average() -> tuple[float, float, float]:
    """1, 5 and 15-minute load averages (other work on the machine skews timings)."""
    return os.getloadavg()


@dataclass
class Phase:
    """One timed phase: wall seconds, RSS at its start and the peak RSS while it ran (MiB)."""

    tool: str
    name: str
    wall_s: float
    rss_start_mib: float
    rss_peak_mib: float


@dataclass
class Meter:
    """Collects timed phases; use ``with meter.phase(tool, name):``."""

    phases: list[Phase] = field(default_factory=list)
    interval_s: float = 0.002

    @contextmanager
    def phase(self, tool: str, name: str) -> Iterator[None]:
        start_rss = rss_mib()
        peak = [start_rss]
        stop = threading.Event()

        def sample() -> None:
            while not stop.wait(self.interval_s):
                peak[0] = max(peak[0], rss_mib())

        thread = threading.Thread(target=sample, daemon=True)
        thread.start()
        t0 = time.perf_counter()
        try:
            yield
        finally:
            wall = time.perf_counter() - t0
            stop.set()
            thread.join()
            peak[0] = max(peak[0], rss_mib())
            self.phases.append(Phase(tool, name, wall, start_rss, peak[0]))
            print(
                f"  [{tool}] {name}: {wall:.3f} s, RSS {start_rss:.0f} → peak {peak[0]:.0f} MiB",
                file=sys.stderr,
                flush=True,
            )

    def total(self, tool: str, exclude: Sequence[str] = ()) -> float:
        """Sum of a tool's phases (wall seconds), leaving out the named ones."""
        return sum(p.wall_s for p in self.phases if p.tool == tool and p.name not in exclude)

    def to_json(self) -> list[dict[str, object]]:
        return [asdict(p) for p in self.phases]


def run_child(cmd: Sequence[str], env: dict[str, str] | None = None) -> dict[str, object]:
    """Run a command; wall seconds (process start to exit), CPU seconds, stdout/stderr.

    The child's peak RSS must come from the child itself (``VmHWM``, see the module docstring):
    scripts print it in their JSON; other programs are run through ``bench/_peak.py``.
    """
    t0 = time.perf_counter()
    proc = subprocess.Popen(list(cmd), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    chunks: dict[str, bytes] = {}

    def drain(name: str, stream: object) -> None:
        chunks[name] = stream.read()  # type: ignore[attr-defined]

    readers = [
        threading.Thread(target=drain, args=("out", proc.stdout)),
        threading.Thread(target=drain, args=("err", proc.stderr)),
    ]
    for r in readers:
        r.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    for r in readers:
        r.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {
        "cmd": " ".join(cmd),
        "rc": proc.returncode,
        "wall_s": wall,
        "user_s": usage.ru_utime,
        "sys_s": usage.ru_stime,
        "stdout": chunks.get("out", b"").decode(errors="replace"),
        "stderr": chunks.get("err", b"").decode(errors="replace"),
    }


def last_json(text: str) -> dict[str, object]:
    """The JSON object on the last line of a child's stdout."""
    lines = text.strip().splitlines() or ["{}"]
    return json.loads(lines[-1][lines[-1].find("{") :])  # type: ignore[no-any-return]


def machine() -> dict[str, object]:
    """CPU, cores, memory and library versions, for RESULTS.md."""
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    versions: dict[str, str] = {}
    for mod in ("numpy", "numba", "shapely", "pandas", "networkx", "osmnx", "pandana"):
        try:
            versions[mod] = __import__(mod).__version__
        except Exception:  # pragma: no cover - optional tools
            versions[mod] = "absent"
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "affinity": len(os.sched_getaffinity(0)),
        "mem_gib": round(mem_gib, 1),
        "python": platform.python_version(),
        "os": platform.platform(),
        **versions,
    }


def dump(path: str | Path | None, payload: dict[str, object]) -> None:
    """Write the JSON payload (and echo it on stdout's last line for parent processes)."""
    text = json.dumps(payload, ensure_ascii=False, default=str)
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(payload, ensure_ascii=False, indent=1, default=str))
    print("\n" + text, flush=True)
