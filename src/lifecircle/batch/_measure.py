"""Wall time and peak memory of one step of a batch (run inside a Dask worker or in-process)."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["StepStats", "measure", "worker_name"]

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_MIB = 1024.0 * 1024.0


@dataclass
class StepStats:
    """How long a step took and how much memory its process held at most meanwhile.

    Attributes
    ----------
    step
        Name of the step (``check``, ``ingest``, ``split``, ``tile 2/4``, ``assess`` ...).
    seconds
        Wall time of the step.
    rss_start_mb, peak_rss_mb
        Resident set size of the process when the step began, and its peak during the step (MiB).
        The peak covers the whole process (imports, caches), so with one task per worker process
        it is the memory a worker needs for that step.
    worker
        Dask worker address, or ``host:pid`` outside a worker.
    method
        ``vmhwm`` (the kernel's peak, reset at the start of the step: exact) or ``sampled``
        (polled every 10 ms: may miss short spikes).
    """

    step: str
    seconds: float = 0.0
    rss_start_mb: float = 0.0
    peak_rss_mb: float = 0.0
    worker: str = ""
    method: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain dict with rounded numbers (for the run log)."""
        out = asdict(self)
        for key in ("seconds", "rss_start_mb", "peak_rss_mb"):
            out[key] = round(float(out[key]), 3)
        return out


def _rss_mb() -> float:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * _PAGE / _MIB
    except OSError:  # pragma: no cover - not Linux
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _vmhwm_mb() -> float | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:  # pragma: no cover - not Linux
        return None
    return None  # pragma: no cover


def _reset_vmhwm() -> bool:
    """Reset the kernel's peak-RSS counter of this process (Linux ≥ 4.0); False if impossible."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:  # pragma: no cover - not Linux, or not allowed
        return False
    return _vmhwm_mb() is not None


def worker_name() -> str:
    """The Dask worker's address, else ``host:pid``."""
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return f"{socket.gethostname()}:{os.getpid()}"


def _in_worker() -> bool:
    try:
        from distributed import get_worker

        get_worker()
    except (ImportError, ValueError):
        return False
    return True


@contextmanager
def measure(step: str) -> Iterator[StepStats]:
    """Time a step and record its peak RSS.

    In a Dask worker process (one task at a time) the kernel's peak counter ``VmHWM`` is reset
    at the start, which is exact; elsewhere (in the caller's own process, whose ``VmHWM`` other
    tools may read) a thread samples the RSS every 10 ms.
    """
    stats = StepStats(step=step, rss_start_mb=_rss_mb(), worker=worker_name())
    use_hwm = _in_worker() and _reset_vmhwm()
    peak = [stats.rss_start_mb]
    stop = threading.Event()
    sampler = None
    if not use_hwm:

        def sample() -> None:
            while not stop.wait(0.01):
                peak[0] = max(peak[0], _rss_mb())

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
    t0 = time.perf_counter()
    try:
        yield stats
    finally:
        stats.seconds = time.perf_counter() - t0
        if sampler is not None:
            stop.set()
            sampler.join()
        hwm = _vmhwm_mb() if use_hwm else None
        stats.peak_rss_mb = max(peak[0], _rss_mb(), hwm or 0.0)
        stats.method = "vmhwm" if use_hwm else "sampled"
