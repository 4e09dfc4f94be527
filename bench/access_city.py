"""Benchmark: a city-sized job, the whole ``lifecircle access`` process vs a whole pandana process.

Not a test; run by hand (see bench/RESULTS.md)::

    .venv/bin/python bench/access_city.py prepare --target-nodes 130000 --work /tmp/lc-bench/city
    .venv/bin/python bench/access_city.py run --work /tmp/lc-bench/city --json bench/results/city.json
    .venv/bin/python bench/access_city.py prepare --target-nodes 1000000 --outlets 100000 \\
        --work /tmp/lc-bench/scale
    .venv/bin/python bench/access_city.py run --work /tmp/lc-bench/scale --no-pandana \\
        --json bench/results/scale.json

**Network**: the whole-Xi'an OSM roads (Geofabrik layer, ``rode_project.shp``, UTM 49N, GBK)
read with :func:`lifecircle.ingest.read_network` (walking rules drop motorways and trunk roads;
largest component kept), then *tiled*: translated copies laid side by side on a grid (offset =
the network's bounding box, so copies do not overlap), and **joined** at every shared tile border
by straight connector edges (the ``--connectors`` nodes nearest the border on one side, each to
the nearest node on the other side), so that the whole is one connected network.  Written as a
GeoPackage of lines in EPSG:32649, which the CLI reads like any road layer.

**Points (synthetic, seeded)**: outlets in ``--categories`` 业态 (the first codes of the
catalogue, uniformly) and residences, each on an edge drawn uniformly at random (so that dense
areas, with many short edges, get more points), at a uniform position along it, pushed 0–30 m
sideways so that the access legs are not zero.  Written as GeoParquet in EPSG:32649.

**run** times two whole processes from start to exit on the same files:

* ``lifecircle access --network tiled.gpkg --outlets outlets.parquet --residences
  residences.parquet --formats parquet --out DIR`` (through ``bench/_peak.py``, which records the
  process's peak RSS, ``VmHWM``);
* ``bench/_pandana_job.py``: pandana 0.8 reads the same node/edge tables (prepared from the same
  network, so pandana does *not* pay for building the topology from lines: an advantage to it),
  the same points, builds its contraction hierarchy, ``precompute(1050 m)``, ``set_pois`` +
  ``nearest_pois(k=3)`` per 业态, ``aggregate(count)`` per 业态 × band, and writes the same long
  table (all catalogue 业态, like the CLI) to ``access.parquet``.  pandana snaps to nodes.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import XIAN, dump, last_json, load_average, machine, run_child

BENCH = Path(__file__).resolve().parent
CATEGORY_COUNT = 20
SIDEWAYS_M = 30.0


# ----------------------------------------------------------------------------------- prepare
def tile_network(net: Any, n_tiles: int, connectors: int) -> tuple[Any, dict[str, Any]]:
    """``n_tiles`` translated copies of ``net`` on a near-square grid, joined at the borders."""
    import numpy as np
    import shapely

    from lifecircle.network import ComponentReport, WalkNetwork

    x0, y0, x1, y1 = net.bounds()
    width, height = math.ceil(x1 - x0) + 1.0, math.ceil(y1 - y0) + 1.0
    cols = math.ceil(math.sqrt(n_tiles))
    n_nodes = net.n_nodes
    node_x, node_y, edge_u, edge_v, lengths, geoms, where = [], [], [], [], [], [], {}
    for t in range(n_tiles):
        row, col = divmod(t, cols)
        dx, dy = col * width, row * height
        where[(row, col)] = t
        node_x.append(net.node_x + dx)
        node_y.append(net.node_y + dy)
        edge_u.append(net.edge_u + t * n_nodes)
        edge_v.append(net.edge_v + t * n_nodes)
        lengths.append(net.edge_length)
        geoms.append(
            shapely.transform(net.edge_geometry, lambda c, dx=dx, dy=dy: c + np.array((dx, dy)))
        )
    nx_ = np.concatenate(node_x)
    ny_ = np.concatenate(node_y)
    # connectors across every shared border (right and upper neighbours)
    cu, cv = [], []
    local_x, local_y = net.node_x - x0, net.node_y - y0
    for (row, col), t in where.items():
        for (drow, dcol), near_a, near_b in (
            ((0, 1), -local_x, local_x),  # a's east side (largest x) to b's west side
            ((1, 0), -local_y, local_y),  # a's north side to b's south side
        ):
            other = where.get((row + drow, col + dcol))
            if other is None:
                continue
            a_nodes = np.argsort(near_a)[:connectors] + t * n_nodes
            b_pool = np.argsort(near_b)[: connectors * 20] + other * n_nodes
            for a in a_nodes:
                d2 = (nx_[b_pool] - nx_[a]) ** 2 + (ny_[b_pool] - ny_[a]) ** 2
                cu.append(a)
                cv.append(b_pool[int(np.argmin(d2))])
    cu_a, cv_a = np.asarray(cu, dtype=np.int64), np.asarray(cv, dtype=np.int64)
    conn_geoms = shapely.linestrings(
        np.stack([np.c_[nx_[cu_a], ny_[cu_a]], np.c_[nx_[cv_a], ny_[cv_a]]], axis=1)
    )
    conn_len = shapely.length(conn_geoms)
    import pandas as pd

    all_geoms = np.concatenate([*geoms, conn_geoms])
    tiled = WalkNetwork(
        crs=net.crs,
        node_x=nx_,
        node_y=ny_,
        node_id=np.arange(nx_.size, dtype=np.int64),
        edge_u=np.concatenate([*edge_u, cu_a]),
        edge_v=np.concatenate([*edge_v, cv_a]),
        edge_length=np.concatenate([*lengths, conn_len]),
        edge_geometry=all_geoms,
        edge_attrs=pd.DataFrame(
            {
                "highway": np.concatenate(
                    [
                        np.tile(net.edge_attrs["highway"].to_numpy(dtype=object), n_tiles),
                        np.full(cu_a.size, "footway", dtype=object),
                    ]
                )
            }
        ),
        source=f"{n_tiles} tiles of {net.source}",
        report=ComponentReport(),
    )
    info = {
        "tiles": n_tiles,
        "grid_cols": cols,
        "tile_size_km": [round(width / 1000, 1), round(height / 1000, 1)],
        "connector_edges": int(cu_a.size),
        "connector_km": round(float(conn_len.sum()) / 1000, 1),
        "joined": True,
    }
    return tiled, info


def synthetic_points(net: Any, n: int, rng: Any) -> tuple[Any, Any]:
    """``n`` points on random edges (uniform over edges), uniform along, 0–30 m sideways."""
    import numpy as np
    import shapely

    edges = rng.integers(0, net.n_edges, n)
    geoms = net.edge_geometry[edges]
    along = rng.random(n) * shapely.length(geoms)
    feet = shapely.line_interpolate_point(geoms, along)
    angle = rng.random(n) * 2 * np.pi
    side = rng.random(n) * SIDEWAYS_M
    xy = shapely.get_coordinates(feet)
    return xy[:, 0] + side * np.cos(angle), xy[:, 1] + side * np.sin(angle)


def prepare(args: argparse.Namespace) -> None:
    import geopandas as gpd
    import numpy as np
    import pandas as pd

    from lifecircle.ingest import read_network
    from lifecircle.taxonomy import load_catalogue

    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    base = read_network(XIAN["raw_shp"], encoding="gbk")
    n_tiles = max(1, math.ceil(args.target_nodes / base.n_nodes - 0.25))
    tiled, info = tile_network(base, n_tiles, args.connectors)
    edges = gpd.GeoDataFrame(
        {"highway": tiled.edge_attrs["highway"].to_numpy(), "name": None},
        geometry=tiled.edge_geometry,
        crs=tiled.crs,
    )
    edges.to_file(work / "tiled.gpkg", layer="edges", driver="GPKG", engine="pyogrio")
    # pandana's input: the network the CLI will read, as node and edge tables
    net = read_network(work / "tiled.gpkg")
    pd.DataFrame({"x": net.node_x, "y": net.node_y}).to_parquet(work / "nodes.parquet")
    pd.DataFrame({"from": net.edge_u, "to": net.edge_v, "length": net.edge_length}).to_parquet(
        work / "edges.parquet"
    )
    rng = np.random.default_rng(args.seed)
    cat = load_catalogue()
    codes = [c.code for c in cat.categories][: args.categories]
    ox, oy = synthetic_points(net, args.outlets, rng)
    outlets = gpd.GeoDataFrame(
        {
            "outlet_id": [f"o{i}" for i in range(args.outlets)],
            "name": "synthetic",
            "category": rng.choice(np.asarray(codes, dtype=object), args.outlets),
        },
        geometry=gpd.points_from_xy(ox, oy),
        crs=net.crs,
    )
    outlets.to_parquet(work / "outlets.parquet")
    rx, ry = synthetic_points(net, args.residences, rng)
    residences = gpd.GeoDataFrame(
        {"residence_id": [f"r{i}" for i in range(args.residences)], "name": "synthetic"},
        geometry=gpd.points_from_xy(rx, ry),
        crs=net.crs,
    )
    residences.to_parquet(work / "residences.parquet")
    meta = {
        "synthetic": True,
        "seed": args.seed,
        "base_network": {"file": str(XIAN["raw_shp"]), **base.describe()},
        "tiling": info,
        "network": net.describe(),
        "outlets": args.outlets,
        "outlet_categories": codes,
        "all_categories": [c.code for c in cat.categories],
        "category_names": {c.code: c.name_zh for c in cat.categories},
        "residences": args.residences,
        "prepare_s": round(time.perf_counter() - t0, 1),
    }
    (work / "meta.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1))
    print(json.dumps({k: v for k, v in meta.items() if k != "category_names"}, ensure_ascii=False))


# --------------------------------------------------------------------------------------- run
def _log_lines(stderr: str) -> list[str]:
    """The CLI's log lines, without the progress bar's redraws."""
    lines = []
    for line in stderr.replace("\r", "\n").splitlines():
        if line.strip() and "步行可达 walking access:" not in line:
            lines.append(line[:400])
    return lines


def _parquet_rows(path: Path) -> int:
    import pyarrow.parquet as pq

    return int(pq.ParquetFile(path).metadata.num_rows)


def run(args: argparse.Namespace) -> None:
    work = Path(args.work)
    meta = json.loads((work / "meta.json").read_text())
    result: dict[str, Any] = {
        "machine": machine(),
        "load_average_start": load_average(),
        "inputs": {k: v for k, v in meta.items() if k != "category_names"},
    }
    py = sys.executable
    cli_out = work / "out_lifecircle"
    cli = [
        py,
        str(BENCH / "_peak.py"),
        str(work / "peak_lifecircle.json"),
        "lifecircle.cli:main",
        *(["-v"] if args.verbose else []),
        "access",
        "--network",
        str(work / "tiled.gpkg"),
        "--outlets",
        str(work / "outlets.parquet"),
        "--residences",
        str(work / "residences.parquet"),
        "--formats",
        "parquet",
        "--out",
        str(cli_out),
    ]
    if args.profile:
        cli = [py, "-m", "cProfile", "-o", str(work / "lifecircle.prof"), *cli[1:]]
    job = [py, str(BENCH / "_pandana_job.py"), str(work)]
    walls: dict[str, list[float]] = {"lifecircle": [], "pandana": []}
    for rep in range(args.repeat):  # alternating, so that machine noise hits both alike
        print(f"run {rep + 1}/{args.repeat}:", " ".join(cli), file=sys.stderr, flush=True)
        proc = run_child(cli)
        walls["lifecircle"].append(float(proc["wall_s"]))  # type: ignore[arg-type]
        peak = json.loads((work / "peak_lifecircle.json").read_text())
        result["lifecircle"] = {
            "command": "lifecircle access --network tiled.gpkg --outlets outlets.parquet "
            "--residences residences.parquet --formats parquet --out DIR",
            "rc": proc["rc"],
            "process_wall_s": proc["wall_s"],
            "cpu_user_s": proc["user_s"],
            "cpu_sys_s": proc["sys_s"],
            "peak_rss_mib": peak["vmhwm_mib"],
            "rows": _parquet_rows(cli_out / "access.parquet") if proc["rc"] == 0 else None,
            "log": _log_lines(str(proc["stderr"])),
        }
        print(
            json.dumps({k: v for k, v in result["lifecircle"].items() if k != "log"}),
            file=sys.stderr,
            flush=True,
        )
        if proc["rc"]:
            print(proc["stderr"], file=sys.stderr)
            break
        if args.no_pandana:
            continue
        print(f"run {rep + 1}/{args.repeat}:", " ".join(job), file=sys.stderr, flush=True)
        proc = run_child(job)
        walls["pandana"].append(float(proc["wall_s"]))  # type: ignore[arg-type]
        pj = last_json(str(proc["stdout"])) if proc["rc"] == 0 else {}
        result["pandana"] = {
            "rc": proc["rc"],
            "process_wall_s": proc["wall_s"],
            "cpu_user_s": proc["user_s"],
            "cpu_sys_s": proc["sys_s"],
            **pj,
        }
        if proc["rc"]:
            result["pandana"]["stderr_tail"] = str(proc["stderr"])[-3000:]
            break
        print(json.dumps(result["pandana"]), file=sys.stderr, flush=True)
    # the last run's details above; every run's wall time and the medians here
    result["process_wall_s_runs"] = walls
    medians = {tool: statistics.median(w) for tool, w in walls.items() if w}
    result["process_wall_s_median"] = medians
    if "pandana" in medians and "lifecircle" in medians:
        result["ratio_pandana_over_lifecircle"] = medians["pandana"] / medians["lifecircle"]
        result["agreement_sample"] = agreement_sample(work, cli_out)
    result["load_average_end"] = load_average()
    dump(args.json, result)


def agreement_sample(work: Path, cli_out: Path, n: int = 2000) -> dict[str, Any]:
    """lifecircle vs pandana on a seeded sample of residences (pandana snaps to nodes)."""
    import numpy as np
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    ids = pq.read_table(work / "residences.parquet", columns=["residence_id"])["residence_id"]
    rng = np.random.default_rng(7)
    pick = ids.take(rng.choice(len(ids), min(n, len(ids)), replace=False))
    cols = ["residence_id", "category", "nearest_m", "n_15min"]
    a = pq.read_table(cli_out / "access.parquet", columns=cols)
    b = pq.read_table(work / "out_pandana" / "access.parquet", columns=cols)
    a = a.filter(pc.is_in(a["residence_id"], pick)).to_pandas().set_index(cols[:2])
    b = b.filter(pc.is_in(b["residence_id"], pick)).to_pandas().set_index(cols[:2])
    b = b.reindex(a.index)
    da, db = a["nearest_m"].to_numpy(float), b["nearest_m"].to_numpy(float)
    both = np.isfinite(da) & np.isfinite(db)
    diff = np.abs(da[both] - db[both])
    return {
        "residences": len(pick),
        "rows": len(a),
        "reached_in_both": int(both.sum()),
        "reached_in_one_only": int((np.isfinite(da) ^ np.isfinite(db)).sum()),
        "nearest_abs_diff_m_median": float(np.median(diff)) if diff.size else None,
        "nearest_signed_diff_m_median (lifecircle − pandana)": (
            float(np.median(da[both] - db[both])) if both.any() else None
        ),
        "nearest_abs_diff_m_p90": float(np.percentile(diff, 90)) if diff.size else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prepare", help="build the tiled network and the synthetic points")
    p.add_argument("--work", required=True)
    p.add_argument("--target-nodes", type=int, default=130_000)
    p.add_argument("--outlets", type=int, default=80_000)
    p.add_argument("--residences", type=int, default=200_000)
    p.add_argument("--categories", type=int, default=CATEGORY_COUNT)
    p.add_argument("--connectors", type=int, default=10)
    p.add_argument("--seed", type=int, default=20240601)
    r = sub.add_parser("run", help="time the whole lifecircle and pandana processes")
    r.add_argument("--work", required=True)
    r.add_argument("--json")
    r.add_argument("--no-pandana", action="store_true")
    r.add_argument("--repeat", type=int, default=1, help="runs of each process (median)")
    r.add_argument("--profile", action="store_true", help="run the CLI under cProfile")
    r.add_argument("--verbose", action="store_true", help="pass -v to the CLI (phase logs)")
    args = parser.parse_args()
    prepare(args) if args.cmd == "prepare" else run(args)


if __name__ == "__main__":
    main()
