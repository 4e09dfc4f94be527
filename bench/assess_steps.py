"""Benchmark: ``assess_city`` per-step times on the first N residences of a synthetic city.

Not a test; run by hand (bench/RESULTS.md §8.1), with the code to measure first on the path::

    PYTHONPATH=src .venv/bin/python bench/assess_steps.py /tmp/lc-pipeline/t1 50000

Prints one JSON line: residences, circles, wall seconds, ``snapshot["timings_s"]`` and the load
average.  The numba kernels are warmed on 500 residences first (from the on-disk cache).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    import geopandas as gpd

    from lifecircle.assess import assess_city
    from lifecircle.ingest import read_network, read_outlets, read_residences

    work, n = Path(sys.argv[1]), int(sys.argv[2])
    net = read_network(work / "tiled.gpkg")
    outlets = read_outlets(work / "outlets.parquet", network=net)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "residences.parquet"
        gpd.read_parquet(work / "residences.parquet").iloc[:n].to_parquet(path)
        residences = read_residences(path, network=net)
    assess_city(net, outlets, residences.iloc[:500])
    t0 = time.perf_counter()
    a = assess_city(net, outlets, residences)
    wall = time.perf_counter() - t0
    print(
        json.dumps(
            {
                "residences": n,
                "circles": len(a.circles),
                "wall_s": round(wall, 2),
                "steps_s": a.snapshot["timings_s"],
                "load": os.getloadavg(),
            }
        )
    )


if __name__ == "__main__":
    main()
