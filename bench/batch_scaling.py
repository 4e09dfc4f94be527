"""Benchmark: batch runs on Dask — speed-up with 1 vs 2 workers, per-city cost model, 300 cities.

Not a test; run by hand on a quiet machine (see bench/RESULTS.md)::

    .venv/bin/python bench/batch_scaling.py --work /tmp/lc-batch \\
        --json bench/results/batch_scaling.json --md bench/results/batch_scaling.md
    # quick check that it works (small sizes, a minute or two):
    .venv/bin/python bench/batch_scaling.py --work /tmp/lc-batch-quick --quick

**Cities (synthetic points on real streets)**: square crops of ``--sizes`` km around Xi'an's old
town, cut from the whole-Xi'an OSM roads shapefile (``rode_project.shp``, UTM 49N, GBK; Geofabrik
layer, ~2017), written as GeoPackages and read by :func:`lifecircle.ingest.read_network` like any
road layer (walking rules, largest component).  Outlets (``--outlets-per-km`` per km of crop
roads, 业态 drawn uniformly from the catalogue) and residences (``--residences-per-km``, 100–2,000
households) are seeded random points on random roads (chance ∝ length), pushed 0–30 m sideways,
written as WGS-84 CSVs.  Each city runs the whole batch pipeline: check → ingest → access →
assess (automatic circles, default rulebook) → tables (reports off: their cost does not depend
on the network but on the number of circles and the formats).

**Cost model**: every crop once through a 1-worker ``LocalCluster`` (one city at a time, so each
step's time and peak RSS come from the run log undisturbed; peak = the worker process's
``VmHWM``, reset at each step, so it includes the ~0.3–0.5 GiB of a worker with its libraries).
Fitted by least squares: ``time ≈ a + b·nodes`` and ``peak ≈ c + d·nodes``.

**Speed-up**: ``--speedup-cities`` copies of the ``--speedup-size`` crop (distinct ids, so each is
computed) with ``--force``, on 1 and on 2 workers; wall time of ``run_batch`` (cluster start-up
excluded, reported separately).

**Estimate for ``--cities`` cities on N workers**: city sizes drawn (seeded) from a log-normal
with median ``--median-nodes`` and σ ``--sigma`` (capped at ``--max-nodes``); each city's time from
the fitted model, divided by the measured parallel efficiency (2-worker speed-up / 2, for the
contention of workers sharing a machine); cities assigned longest first to the least-loaded
worker (LPT).  The markdown states every assumption.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import XIAN, dump, load_average, machine

OLD_TOWN_LONLAT = (108.943, 34.266)


def _crop_centre() -> tuple[float, float]:
    import pyproj

    tr = pyproj.Transformer.from_crs(4326, 32649, always_xy=True)
    x, y = tr.transform(*OLD_TOWN_LONLAT)
    return float(x), float(y)


def _points_on_roads(
    lines: Any, n: int, rng: np.random.Generator, max_side_m: float = 30.0
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points on random lines (chance ∝ length), pushed sideways by 0–max_side_m."""
    import shapely

    geoms = np.asarray(lines.geometry.values)
    length = shapely.length(geoms)
    pick = rng.choice(geoms.size, size=n, p=length / length.sum())
    at = rng.uniform(0, 1, n) * length[pick]
    base = shapely.line_interpolate_point(geoms[pick], at)
    ahead = shapely.line_interpolate_point(geoms[pick], np.minimum(at + 1.0, length[pick]))
    bx, by = shapely.get_x(base), shapely.get_y(base)
    dx, dy = shapely.get_x(ahead) - bx, shapely.get_y(ahead) - by
    norm = np.hypot(dx, dy)
    norm[norm == 0] = 1.0
    side = rng.uniform(-max_side_m, max_side_m, n)
    return bx - dy / norm * side, by + dx / norm * side


def prepare(work: Path, sizes: list[float], args: argparse.Namespace) -> list[dict[str, Any]]:
    """Write one folder per crop size: roads.gpkg, outlets.csv, residences.csv."""
    import geopandas as gpd
    import pandas as pd
    import pyproj
    import shapely

    from lifecircle.taxonomy import load_catalogue

    raw = gpd.read_file(XIAN["raw_shp"], encoding="gbk")
    codes = load_catalogue().codes()
    cx, cy = _crop_centre()
    to_wgs = pyproj.Transformer.from_crs(32649, 4326, always_xy=True)
    crops = []
    for size in sizes:
        folder = work / f"crop_{size:g}km"
        folder.mkdir(parents=True, exist_ok=True)
        half = size * 500.0
        box = (cx - half, cy - half, cx + half, cy + half)
        lines = raw[raw.intersects(shapely.box(*box))].copy()
        lines["geometry"] = shapely.clip_by_rect(lines.geometry.values, *box)
        lines = lines[~lines.geometry.is_empty & (lines.geometry.length > 0)]
        lines = lines.explode(index_parts=False)
        lines = lines[lines.geom_type == "LineString"]
        km = float(lines.length.sum() / 1000.0)
        rng = np.random.default_rng(int(size * 1000) + args.seed)
        n_out = max(20, round(args.outlets_per_km * km))
        n_res = max(5, round(args.residences_per_km * km))
        ox, oy = _points_on_roads(lines, n_out, rng)
        rx, ry = _points_on_roads(lines, n_res, rng)
        olon, olat = to_wgs.transform(ox, oy)
        rlon, rlat = to_wgs.transform(rx, ry)
        lines.to_file(folder / "roads.gpkg", layer="roads", driver="GPKG")
        pd.DataFrame(
            {
                "outlet_id": [f"o{i}" for i in range(n_out)],
                "name": [f"shop {i}" for i in range(n_out)],
                "lon": np.round(olon, 7),
                "lat": np.round(olat, 7),
                "category": rng.choice(codes, n_out),
            }
        ).to_csv(folder / "outlets.csv", index=False)
        pd.DataFrame(
            {
                "residence_id": [f"r{i}" for i in range(n_res)],
                "name": [f"小区 {i}" for i in range(n_res)],
                "lon": np.round(rlon, 7),
                "lat": np.round(rlat, 7),
                "households": rng.integers(100, 2000, n_res),
            }
        ).to_csv(folder / "residences.csv", index=False)
        crops.append(
            {"size_km": size, "folder": str(folder), "road_km": round(km, 1), "outlets": n_out,
             "residences": n_res}
        )  # fmt: skip
        print(f"  crop {size:g} km: {km:.0f} km of roads, {n_out} outlets, {n_res} residences",
              file=sys.stderr)  # fmt: skip
    return crops


def _city_toml(name: str, folder: str) -> str:
    return (
        f'[[city]]\nname = "{name}"\nid = "{name}"\nnetwork = "{folder}/roads.gpkg"\n'
        f'outlets = "{folder}/outlets.csv"\nresidences = "{folder}/residences.csv"\n'
        "tiles = 1\n"
    )


def _write_config(path: Path, cities: list[tuple[str, str]]) -> Path:
    text = "[defaults]\nreport = false\n" + "".join(_city_toml(n, f) for n, f in cities)
    path.write_text(text, encoding="utf-8")
    return path


def _warm_up() -> None:
    """Import the library and load the numba kernels in a worker (not part of a city's cost)."""
    import geopandas as gpd
    import shapely

    from lifecircle.access import compute_access
    from lifecircle.testing import network_from_polylines

    net = network_from_polylines([[(0, 0), (100, 0)]])
    pts = gpd.GeoDataFrame(
        {"residence_id": ["a"], "outlet_id": ["b"], "category": ["convenience_store"]},
        geometry=[shapely.Point(500_050, 3_790_005)],
        crs=net.crs,
    )
    compute_access(net, pts, pts)


def _run(config: Path, out: Path, workers: int) -> tuple[Any, float]:
    """Run a batch with ``force``; returns the summary and the cluster's start-up + warm-up."""
    from lifecircle.batch import batch_client, load_batch_config, run_batch

    cfg = load_batch_config(config)
    t0 = time.perf_counter()
    with batch_client(n_workers=workers, dashboard_address=None) as client:
        client.run(_warm_up)
        startup = time.perf_counter() - t0
        summary = run_batch(cfg, out=out, client=client, force=True)
    failed = [r for r in summary.records if r.get("status") != "ok"]
    if failed:
        raise SystemExit(f"cities failed: {json.dumps(failed, ensure_ascii=False)[:2000]}")
    return summary, startup


def _fit(x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    if x.size < 2:
        return {"a": float(y.mean()) if y.size else math.nan, "b": 0.0, "r2": math.nan}
    b, a = np.polyfit(x, y, 1)
    pred = a + b * x
    ss = float(((y - y.mean()) ** 2).sum())
    r2 = 1.0 - float(((y - pred) ** 2).sum()) / ss if ss > 0 else math.nan
    return {"a": float(a), "b": float(b), "r2": r2}


def _lpt(times: np.ndarray, workers: int) -> float:
    """Makespan of longest-processing-time-first assignment to ``workers``."""
    load = np.zeros(workers)
    for t in np.sort(times)[::-1]:
        load[np.argmin(load)] += t
    return float(load.max())


def estimate(model: dict[str, Any], efficiency: float, args: argparse.Namespace) -> dict[str, Any]:
    rng = np.random.default_rng(args.seed)
    nodes = np.minimum(
        rng.lognormal(np.log(args.median_nodes), args.sigma, args.cities), args.max_nodes
    )
    t = model["time"]["a"] + model["time"]["b"] * nodes
    mem = model["memory"]["a"] + model["memory"]["b"] * nodes
    eff = min(1.0, max(efficiency, 0.1))
    rows = []
    for n in args.target_workers:
        # contention: worker-seconds grow by 1/efficiency when more than one worker shares a machine
        scale = 1.0 if n == 1 else 1.0 / eff
        rows.append(
            {
                "workers": n,
                "hours": _lpt(t * scale, n) / 3600.0,
                "lower_bound_hours": max(float(t.sum()) * scale / n, float(t.max())) / 3600.0,
            }
        )
    return {
        "cities": args.cities,
        "median_nodes": args.median_nodes,
        "sigma": args.sigma,
        "max_nodes": args.max_nodes,
        "nodes_p50_p95_max": [float(np.percentile(nodes, q)) for q in (50, 95, 100)],
        "total_city_hours_one_worker": float(t.sum()) / 3600.0,
        "largest_city_s": float(t.max()),
        "largest_city_peak_mib": float(mem.max()),
        "efficiency": eff,
        "rows": rows,
    }


def markdown(result: dict[str, Any]) -> str:
    m, cm, sp, est = result["machine"], result["cost_model"], result["speedup"], result["estimate"]
    lines = [
        "## Batch runs on Dask: scaling and a 300-city estimate (`bench/batch_scaling.py`)",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores ({m['affinity']} usable), {m['mem_gib']} GiB; "
        f"load average before the run {result['load_before'][0]:.2f}. "
        f"Command: `{result['command']}`.",
        "",
        "**Per-city cost** (1 worker, one city at a time; time = sum of the city's steps; peak = "
        "the worker process's peak RSS during the city, libraries included):",
        "",
        "| crop | nodes | edges | road km | outlets | residences | time s | ingest s | assess s "
        "| peak MiB |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in cm["cities"]:
        lines.append(
            f"| {c['size_km']:g} km | {c['n_nodes']:,} | {c['n_edges']:,} | {c['network_km']:.0f} "
            f"| {c['n_outlets']:,} | {c['n_residences']:,} | {c['busy_s']:.1f} "
            f"| {c['timings_s'].get('ingest', 0):.1f} | {c['timings_s'].get('assess', 0):.1f} "
            f"| {c['peak_rss_mb']:.0f} |"
        )
    t, mem = cm["time"], cm["memory"]
    lines += [
        "",
        f"Fit: time ≈ {t['a']:.2f} s + {t['b'] * 1000:.3f} ms × nodes (R² {t['r2']:.3f}); "
        f"peak ≈ {mem['a']:.0f} MiB + {mem['b'] * 1000:.2f} MiB per 1,000 nodes "
        f"(R² {mem['r2']:.3f}).",
        "",
        f"**Speed-up**: {sp['cities']} cities of {sp['nodes']:,} nodes each: "
        f"1 worker {sp['wall_1']:.1f} s, 2 workers {sp['wall_2']:.1f} s → "
        f"speed-up {sp['speedup']:.2f}× (parallel efficiency {sp['speedup'] / 2:.0%}); "
        f"cluster start-up and worker warm-up (imports, numba kernels) {sp['startup_1']:.1f} s / "
        f"{sp['startup_2']:.1f} s, not included.",
        "",
        f"**Estimate: {est['cities']} cities on N workers.** Assumptions: city networks log-normal "
        f"with median {est['median_nodes']:,} nodes and σ = {est['sigma']} (capped at "
        f"{est['max_nodes']:,}; drawn: median {est['nodes_p50_p95_max'][0]:,.0f}, 95th percentile "
        f"{est['nodes_p50_p95_max'][1]:,.0f}, largest {est['nodes_p50_p95_max'][2]:,.0f}); time "
        f"per city from the fit above, i.e. this machine's cores and this data's density of "
        f"outlets/residences per km; on several workers each city is slowed by the measured "
        f"efficiency ({est['efficiency']:.0%}, as when workers share a machine's memory bandwidth; "
        f"workers on separate machines would do better); cities assigned longest first; no "
        f"tiling (a tiled large city would shorten the tail); reports off; inputs read from "
        f"local disk. Memory: the largest city needs about {est['largest_city_peak_mib']:,.0f} MiB "
        f"per worker, so a machine of M GiB holds at most M·1024/"
        f"{est['largest_city_peak_mib']:,.0f} workers.",
        "",
        "| workers | estimated hours | lower bound (max(total/N, largest city)) |",
        "|---|---|---|",
    ]
    for row in est["rows"]:
        lines.append(f"| {row['workers']} | {row['hours']:.2f} | {row['lower_bound_hours']:.2f} |")
    lines += [
        "",
        f"One worker would take {est['total_city_hours_one_worker']:.1f} h in all; the largest "
        f"city alone {est['largest_city_s'] / 60:.1f} min.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", type=Path, required=True, help="scratch folder")
    parser.add_argument(
        "--sizes", default="3,6,10,20,40", help="crop sides, km (150: the whole region)"
    )
    parser.add_argument("--outlets-per-km", type=float, default=12.0)
    parser.add_argument("--residences-per-km", type=float, default=1.5)
    parser.add_argument("--speedup-size", type=float, default=None, help="default: 2nd largest")
    parser.add_argument("--speedup-cities", type=int, default=6)
    parser.add_argument("--cities", type=int, default=300)
    parser.add_argument("--median-nodes", type=int, default=40_000)
    parser.add_argument("--sigma", type=float, default=0.8)
    parser.add_argument("--max-nodes", type=int, default=400_000)
    parser.add_argument("--target-workers", default="1,2,4,8,16,32,64")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="small sizes, to check the script")
    parser.add_argument("--json", default=None)
    parser.add_argument("--md", default=None)
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.speedup_cities = "1.5,3", 2
    sizes = [float(s) for s in args.sizes.split(",")]
    args.target_workers = [int(n) for n in args.target_workers.split(",")]
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    load_before = load_average()
    print("preparing crops", file=sys.stderr)
    crops = prepare(work, sizes, args)

    print("cost model: every crop on 1 worker", file=sys.stderr)
    config = _write_config(
        work / "cost.toml", [(f"crop_{c['size_km']:g}km", c["folder"]) for c in crops]
    )
    summary, _ = _run(config, work / "out_cost", 1)
    cities = []
    for crop, rec in zip(crops, summary.records, strict=True):
        cities.append({**crop, **{k: rec[k] for k in (
            "n_nodes", "n_edges", "network_km", "n_outlets", "n_residences", "busy_s",
            "timings_s", "peak_rss_mb")}})  # fmt: skip
    x = np.array([c["n_nodes"] for c in cities], dtype=float)
    model = {
        "cities": cities,
        "time": _fit(x, np.array([c["busy_s"] for c in cities])),
        "memory": _fit(x, np.array([c["peak_rss_mb"] for c in cities])),
    }

    size = args.speedup_size or (sizes[-2] if len(sizes) > 1 else sizes[0])
    folder = next(c["folder"] for c in crops if c["size_km"] == size)
    nodes = next(c["n_nodes"] for c in cities if c["size_km"] == size)
    config = _write_config(
        work / "speedup.toml", [(f"copy{i}", folder) for i in range(args.speedup_cities)]
    )
    walls: dict[int, float] = {}
    startups: dict[int, float] = {}
    for workers in (1, 2):
        print(f"speed-up: {args.speedup_cities} cities on {workers} worker(s)", file=sys.stderr)
        s, startup = _run(config, work / f"out_speedup_{workers}", workers)
        walls[workers], startups[workers] = s.wall_s, startup
    speedup = {
        "cities": args.speedup_cities,
        "size_km": size,
        "nodes": nodes,
        "wall_1": walls[1],
        "wall_2": walls[2],
        "startup_1": startups[1],
        "startup_2": startups[2],
        "speedup": walls[1] / walls[2],
    }
    result = {
        "machine": machine(),
        "load_before": load_before,
        "load_after": load_average(),
        "command": " ".join(["python", *sys.argv]),
        "cost_model": model,
        "speedup": speedup,
        "estimate": estimate(model, speedup["speedup"] / 2.0, args),
    }
    text = markdown(result)
    if args.md:
        Path(args.md).parent.mkdir(parents=True, exist_ok=True)
        Path(args.md).write_text(text, encoding="utf-8")
    print(text, file=sys.stderr)
    dump(args.json, result)


if __name__ == "__main__":
    main()
