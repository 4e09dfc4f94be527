"""Run a console entry point and report its peak RSS (VmHWM) and wall time on exit.

Usage: ``python bench/_peak.py REPORT.json module:function [ARGS...]``, e.g.
``python bench/_peak.py /tmp/peak.json lifecircle.cli:main access --network ...``.
The report is written even when the entry point exits through ``sys.exit`` (click does).
"""

from __future__ import annotations

import atexit
import importlib
import json
import sys
import time

T0 = time.perf_counter()


def _report(path: str) -> None:
    hwm = 0.0
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                hwm = int(line.split()[1]) / 1024.0
    with open(path, "w") as fh:
        json.dump({"vmhwm_mib": hwm, "wall_in_process_s": time.perf_counter() - T0}, fh)


def main() -> None:
    report, target, *args = sys.argv[1:]
    atexit.register(_report, report)
    module, func = target.split(":")
    sys.argv = [module, *args]
    getattr(importlib.import_module(module), func)()


if __name__ == "__main__":
    main()
