"""Benchmark of ``lifecircle fetch osm``: clip speed (MB/s) and peak memory on synthetic regions.

A synthetic "region" is a grid of streets (ways of ten blocks along every row and column of
nodes), a shop on every 50th node and a residential building on every 200th block, with node
ids spread over the id range of today's OSM (up to 1.2e10) as a regional extract has them.  The
same city (a square of about 2 km × 2 km) is clipped from regions of growing size, each in its own
process (``bench/_peak.py``: peak RSS is the process's VmHWM): the time grows with the file, the
memory must not.

Usage: ``python bench/osm_clip.py [--sizes 400,800,1600] [--out bench/results/osm_clip.json]``
(sizes are grid widths: a width of 1600 is 2.56 M nodes).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine

STEP = 0.001  # degrees between grid nodes (about 100 m)
ORIGIN = (108.0, 34.0)
CITY = (108.2, 34.2, 108.22, 34.22)  # the clipped city, inside every region
MAX_ID = 12_000_000_000
SEGMENT = 10  # blocks per way, as real streets are split at their crossings


def write_region(path: Path, width: int, seed: int = 1) -> int:
    """Write a ``width`` × ``width`` grid region; return its number of nodes."""
    import osmium

    rng = np.random.default_rng(seed)
    n = width * width
    ids = np.sort(rng.choice(MAX_ID, size=n, replace=False) + 1)
    order = rng.permutation(n)  # grid position of each id: neighbours have unrelated ids
    node_of = np.empty(n, dtype=np.int64)
    node_of[order] = ids
    writer = osmium.SimpleWriter(str(path))
    try:
        for k in range(n):
            pos = int(order[k])
            i, j = divmod(pos, width)
            tags = {"shop": "convenience", "name": f"s{k}"} if pos % 50 == 0 else {}
            writer.add_node(
                osmium.osm.mutable.Node(
                    id=int(ids[k]), location=(ORIGIN[0] + j * STEP, ORIGIN[1] + i * STEP), tags=tags
                )
            )
        way_id = 1
        for i in range(width):  # streets along the rows and the columns, 10 blocks each
            for start in range(0, width - 1, SEGMENT):
                stop = min(start + SEGMENT, width - 1) + 1
                row = [int(node_of[i * width + j]) for j in range(start, stop)]
                col = [int(node_of[j * width + i]) for j in range(start, stop)]
                writer.add_way(
                    osmium.osm.mutable.Way(id=way_id, nodes=row, tags={"highway": "residential"})
                )
                writer.add_way(
                    osmium.osm.mutable.Way(id=way_id + 1, nodes=col, tags={"highway": "footway"})
                )
                way_id += 2
        for b in range(0, (width - 1) * (width - 1), 200):
            i, j = divmod(b, width - 1)
            ring = [
                node_of[i * width + j],
                node_of[i * width + j + 1],
                node_of[(i + 1) * width + j + 1],
                node_of[(i + 1) * width + j],
            ]
            refs = [int(r) for r in ring] + [int(ring[0])]
            writer.add_way(
                osmium.osm.mutable.Way(id=way_id, nodes=refs, tags={"building": "apartments"})
            )
            way_id += 1
    finally:
        writer.close()
    return n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="400,800,1600")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "osm_clip.json"))
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        boundary = d / "city.geojson"
        w, s, e, n = CITY
        ring = [[w, s], [e, s], [e, n], [w, n], [w, s]]
        boundary.write_text(json.dumps({"type": "Polygon", "coordinates": [ring]}))
        for width in (int(v) for v in args.sizes.split(",")):
            region = d / f"region_{width}.osm.pbf"
            nodes = write_region(region, width)
            report = d / f"peak_{width}.json"
            out = d / f"out_{width}"
            cmd = [
                sys.executable,
                str(Path(__file__).parent / "_peak.py"),
                str(report),
                "lifecircle.cli:main",
                "fetch",
                "osm",
                "--pbf",
                str(region),
                "--boundary",
                str(boundary),
                "--buffer",
                "500",
                "--out",
                str(out),
                "--no-layers",
            ]
            done = subprocess.run(cmd, capture_output=True, text=True, check=True)
            peak = json.loads(report.read_text())
            summary = json.loads((out / "clip.json").read_text())
            mb = region.stat().st_size / 1e6
            row = {
                "grid_width": width,
                "nodes": nodes,
                "file_mb": round(mb, 1),
                "clip_s": round(summary["seconds"], 2),
                "mb_per_s": round(summary["mb_per_s"], 1),
                "peak_rss_mib": round(peak["vmhwm_mib"], 0),
                "ways_kept": summary["ways"],
                "nodes_inside": summary["nodes_inside"],
            }
            print(json.dumps(row), flush=True)
            del done
            rows.append(row)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"machine": machine(), "runs": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
