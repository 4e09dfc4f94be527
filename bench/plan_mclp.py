"""Benchmark: MCLP on walking coverage — lifecircle (HiGHS / heuristic) vs PySAL spopt + CBC.

Not a test; run by hand (see bench/RESULTS.md)::

    # 5,000 demand × 500 candidates, p = 30, 800 m: lifecircle vs spopt 0.7.0 + CBC
    .venv/bin/python bench/plan_mclp.py --demand 5000 --candidates 500 --p 30 --spopt \\
        --json bench/results/plan_mclp_5k.json
    # 20,000 × 2,000, p = 30, to a proven gap ≤ 0.5 % within 60 s
    .venv/bin/python bench/plan_mclp.py --demand 20000 --candidates 2000 --p 30 \\
        --gap 0.005 --time-limit 60 --json bench/results/plan_mclp_20k.json
    # heuristic on 200,000 × 20,000 within 30 s, with its proven bound (16 tiles of the network)
    .venv/bin/python bench/plan_mclp.py --demand 200000 --candidates 20000 --p 30 --tiles 16 \\
        --method heuristic --time-limit 30 --json bench/results/plan_mclp_200k.json

**Instance (synthetic, seeded)**: the Xi'an old-town OSM walking network (``--tiles`` > 1: that
many translated copies joined at their borders, as in ``bench/access_city.py``); demand points
and candidate sites each on an edge drawn uniformly at random, at a uniform position along it,
pushed 0–30 m sideways; demand weights (households) uniform 50–1,000.  The coverage (every
candidate × demand pair within ``--radius`` walking metres) is built once by
:func:`lifecircle.plan.build_coverage` (the access engine's distances) and timed on its own;
both solvers then get *the same coverage data*:

* lifecircle: :class:`lifecircle.plan.MCLP` ``.solve(method=..., mip_gap=..., time_limit=...)``;
* spopt 0.7.0 (``pip install spopt==0.7.0``, a bench extra): ``MCLP.from_cost_matrix`` on the
  dense demand × candidate walking-distance matrix (pairs beyond the radius set to 10⁹ m), then
  ``.solve(pulp.PULP_CBC_CMD(msg=False))`` (PuLP's bundled CBC); its objective is read back as
  the households covered by the sites it opened.  Model building and solving are timed apart.

Prints one JSON line (and a markdown row) with the sizes, timings, objectives, bounds and gaps.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import XIAN, dump, load_average, machine

SIDEWAYS_M = 30.0


def points_on_edges(net: Any, n: int, rng: np.random.Generator) -> Any:
    """``n`` points on random edges, pushed sideways 0–30 m (network CRS)."""
    import shapely

    e = rng.integers(0, net.n_edges, n)
    base = shapely.line_interpolate_point(net.edge_geometry[e], rng.random(n), normalized=True)
    xy = shapely.get_coordinates(base)
    angle = rng.uniform(0, 2 * np.pi, n)
    push = rng.uniform(0, SIDEWAYS_M, n)
    return shapely.points(xy[:, 0] + push * np.cos(angle), xy[:, 1] + push * np.sin(angle))


def build_instance(args: argparse.Namespace) -> tuple[Any, dict[str, Any]]:
    import geopandas as gpd

    from lifecircle.ingest import read_network
    from lifecircle.plan import build_coverage

    t0 = time.perf_counter()
    net = read_network(XIAN["gpkg"])
    info: dict[str, Any] = {"network_read_s": round(time.perf_counter() - t0, 3)}
    if args.tiles > 1:
        from access_city import tile_network

        net, tiling = tile_network(net, args.tiles, connectors=40)
        info["tiling"] = tiling
    info["network"] = net.describe()
    rng = np.random.default_rng(args.seed)
    demand = gpd.GeoDataFrame(
        {
            "residence_id": [f"d{i}" for i in range(args.demand)],
            "households": rng.integers(50, 1001, args.demand).astype(float),
        },
        geometry=points_on_edges(net, args.demand, rng),
        crs=net.crs,
    )
    sites = gpd.GeoDataFrame(
        {"site_id": [f"s{i}" for i in range(args.candidates)]},
        geometry=points_on_edges(net, args.candidates, rng),
        crs=net.crs,
    )
    build_coverage(net, sites.iloc[:10], demand.iloc[:10], radius_m=args.radius)  # numba warm-up
    t0 = time.perf_counter()
    cov = build_coverage(net, sites, demand, radius_m=args.radius)
    info["coverage_s"] = round(time.perf_counter() - t0, 3)
    info["coverage_pairs"] = cov.nnz
    info["demand_on_network"] = cov.n_demand
    info["candidates_on_network"] = cov.n_candidates
    return cov, info


def run_lifecircle(cov: Any, args: argparse.Namespace) -> dict[str, Any]:
    from lifecircle.plan import MCLP

    # warm the numba kernels on a tiny model, so that compile time is not counted
    MCLP(cov.subset(demand=np.arange(min(50, cov.n_demand))), 1).solve(method="heuristic")
    t0 = time.perf_counter()
    model = MCLP.from_coverage(cov, args.p)
    sol = model.solve(time_limit=args.time_limit, method=args.method, mip_gap=args.gap)
    wall = time.perf_counter() - t0
    return {
        "wall_s": round(wall, 3),
        "solve_s": round(sol.time_s, 3),
        "method": sol.method,
        "status": sol.status,
        "objective": sol.objective,
        "bound": sol.bound,
        "gap": sol.gap,
        "bound_method": sol.bound_method,
        "sites": sorted(sol.site_ids.tolist()),
        "notes": sol.notes,
    }


def run_spopt(cov: Any, args: argparse.Namespace) -> dict[str, Any]:
    try:
        import pulp
        from spopt.locate import MCLP as SpoptMCLP
    except ImportError:
        return {"skipped": "spopt not installed: .venv/bin/pip install spopt==0.7.0"}
    import warnings

    dense = np.full((cov.n_demand, cov.n_candidates), 1e9)
    col = np.repeat(np.arange(cov.n_candidates), np.diff(cov.ptr))
    dense[cov.demand, col] = cov.distance_m
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = SpoptMCLP.from_cost_matrix(dense, cov.weights, args.radius, p_facilities=args.p)
    build = time.perf_counter() - t0
    t1 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.solve(pulp.PULP_CBC_CMD(msg=False, timeLimit=args.spopt_time_limit))
    solve = time.perf_counter() - t1
    opened = [j for j, clients in enumerate(model.fac2cli) if len(clients) > 0]
    if not opened:  # a site opened that covers nobody new has no clients: read the variables
        opened = [j for j, v in enumerate(model.fac_vars) if (v.value() or 0) > 0.5]
    covered = (dense[:, opened] <= args.radius).any(axis=1) if opened else np.zeros(0, bool)
    return {
        "build_s": round(build, 3),
        "solve_s": round(solve, 3),
        "wall_s": round(build + solve, 3),
        "status": pulp.LpStatus[model.problem.status],
        "objective": float(cov.weights[covered].sum()),
        "sites": sorted(cov.candidate_ids[opened].tolist()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--demand", type=int, default=5000)
    parser.add_argument("--candidates", type=int, default=500)
    parser.add_argument("--p", type=int, default=30)
    parser.add_argument("--radius", type=float, default=800.0, help="walking metres")
    parser.add_argument("--tiles", type=int, default=1, help="copies of the network, joined")
    parser.add_argument("--method", default="auto", choices=["auto", "mip", "heuristic"])
    parser.add_argument("--gap", type=float, default=1e-4, help="relative gap asked for")
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--spopt", action="store_true", help="also run spopt + CBC")
    parser.add_argument("--spopt-time-limit", type=float, default=600.0)
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()

    started = load_average()
    cov, info = build_instance(args)
    print(f"coverage: {info['coverage_pairs']:,} pairs in {info['coverage_s']} s", file=sys.stderr)
    ours = run_lifecircle(cov, args)
    print(f"lifecircle: {ours['wall_s']} s, objective {ours['objective']}", file=sys.stderr)
    payload: dict[str, Any] = {
        "benchmark": "plan_mclp",
        "params": vars(args),
        "load_average_start": started,
        "instance": info,
        "lifecircle": ours,
        "machine": machine(),
    }
    if args.spopt:
        theirs = run_spopt(cov, args)
        payload["spopt_cbc"] = theirs
        if "objective" in theirs:
            payload["same_objective"] = bool(
                abs(theirs["objective"] - ours["objective"]) <= 1e-6 * max(1.0, ours["objective"])
            )
            payload["speedup"] = round(theirs["wall_s"] / max(ours["wall_s"], 1e-9), 1)
    payload["load_average_end"] = load_average()
    speed = f"{payload.get('speedup', '—')}×" if args.spopt else "—"
    print(
        f"| {args.demand:,} × {args.candidates:,} | p = {args.p} | {args.radius:g} m | "
        f"{info['coverage_pairs']:,} pairs ({info['coverage_s']} s) | lifecircle {ours['method']} "
        f"{ours['wall_s']} s, gap {100 * ours['gap']:.3f}% ({ours['status']}) | "
        f"spopt+CBC {payload.get('spopt_cbc', {}).get('wall_s', '—')} s | {speed} |"
    )
    dump(args.json, payload)


if __name__ == "__main__":
    main()
