"""Benchmark: what-if on the Xi'an old town — one outlet added, access + grades + KPIs updated.

Not a test; run by hand (see bench/RESULTS.md)::

    .venv/bin/python bench/plan_whatif.py --json bench/results/plan_whatif.json
    .venv/bin/python bench/plan_whatif.py --city /tmp/lc-pipeline/t4 \
        --json bench/results/plan_whatif_city.json

``--city DIR`` runs on a synthetic city of ``bench/city_pipeline.py prepare`` instead (its
``tiled.gpkg``, ``outlets.parquet``, ``residences.parquet``; automatic circles), the new outlets
on random edges of the whole network.

Reads the Xi'an old-town inputs (OSM network, Baidu POIs, ke.com/sofang.com 小区 in the
old-town box), assesses the city once (:func:`lifecircle.assess.assess_city`), builds a
:class:`lifecircle.plan.WhatIf` and then, ``--repeat`` times, adds one outlet of a basic 业态
(cycling through them) at a random point on the network inside the old town — each on a fresh
copy of the start (:meth:`WhatIf.fork`, not timed), after one warm-up change.  Each update is
timed whole: access for the residences within reach, the grades and evidence of the circles
whose residences changed, the blind spots and the city KPIs.  The same change assessed from
scratch (``compute_access`` + ``grade_circles`` + ``blind_spots`` + ``compute_kpis``) is timed
once for comparison.  Prints one JSON line with the median / p90 / max and the parts.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import XIAN, dump, load_average, machine

WHERE = (
    "city == '西安' and source in ['ke.com', 'sofang.com'] and "
    "108.915 <= lng_wgs84 <= 108.971 and 34.250 <= lat_wgs84 <= 34.283"
)


def load(meter: dict[str, float], city: str | None = None) -> Any:
    from lifecircle.assess import assess_city
    from lifecircle.ingest import read_network, read_outlets, read_residences

    t0 = time.perf_counter()
    if city is not None:
        work = Path(city)
        net = read_network(work / "tiled.gpkg")
        outlets = read_outlets(work / "outlets.parquet", network=net)
        residences = read_residences(work / "residences.parquet", network=net)
        meter["read_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        assessment = assess_city(net, outlets, residences, city=work.name)
        meter["assess_s"] = time.perf_counter() - t0
        return assessment
    net = read_network(XIAN["gpkg"])
    outlets = read_outlets(XIAN["poi"], lon="lng_bd09", lat="lat_bd09", crs="bd09", network=net)
    residences = read_residences(
        XIAN["xiaoqu"], where=WHERE, lon="lng_bd09", lat="lat_bd09", crs="bd09", network=net,
        on_missing="drop", on_outside="drop",
    )  # fmt: skip
    meter["read_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    assessment = assess_city(net, outlets, residences, city="西安老城")
    meter["assess_s"] = time.perf_counter() - t0
    return assessment


def random_points(assessment: Any, n: int, seed: int, anywhere: bool = False) -> list[Any]:
    """Points on random edges inside the old-town box (or ``anywhere`` on the network), WGS-84."""
    import geopandas as gpd
    import shapely

    net = assessment.network
    rng = np.random.default_rng(seed)
    if anywhere:
        inside = np.arange(net.n_edges)
    else:
        box = gpd.GeoSeries([shapely.box(108.915, 34.250, 108.971, 34.283)], crs=4326)
        area = box.to_crs(net.crs).iloc[0]
        mid = shapely.line_interpolate_point(net.edge_geometry, 0.5, normalized=True)
        inside = np.flatnonzero(shapely.contains(area, mid))
    edges = rng.choice(inside, n, replace=False)
    pts = shapely.line_interpolate_point(net.edge_geometry[edges], rng.random(n), normalized=True)
    return list(gpd.GeoSeries(pts, crs=net.crs).to_crs(4326))


def from_scratch(what: Any, point: Any, code: str) -> float:
    """The same change assessed from scratch (same circles)."""
    import geopandas as gpd
    import pandas as pd

    from lifecircle.access import compute_access
    from lifecircle.assess import blind_spots, compute_kpis, grade_circles

    a = what.assessment
    cat = what.catalogue
    new = gpd.GeoDataFrame(
        {"outlet_id": ["bench-new"], "category": [code], "name": ["bench"]},
        geometry=[point],
        crs=4326,
    )
    outlets = pd.concat([a.outlets, new], ignore_index=True)
    t0 = time.perf_counter()
    acc = compute_access(
        a.network, outlets, a.residences, categories=cat.codes(),
        category_names={c.code: c.name_zh for c in cat.categories},
        bands_min=a.snapshot["parameters"]["bands_min"],
    )  # fmt: skip
    grades, evidence = grade_circles(acc.table, a.residences, what.rulebook, cat, circles=a.circles)
    blind_spots(acc.table, a.residences, cat)
    compute_kpis(
        access=acc.table.drop_columns(["knn_outlet_ids", "knn_m"]).to_pandas(),
        residences=a.residences, outlets=outlets, grades=grades, evidence=evidence,
        catalogue=cat, circles=a.circles,
    )  # fmt: skip
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=20, help="timed changes")
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--city", help="a synthetic city's folder (bench/city_pipeline.py)")
    args = parser.parse_args()

    from lifecircle.plan import WhatIf

    started = load_average()
    meter: dict[str, float] = {}
    assessment = load(meter, args.city)
    t0 = time.perf_counter()
    base = WhatIf(assessment)
    meter["whatif_build_s"] = time.perf_counter() - t0
    codes = base.catalogue.codes("basic")
    points = random_points(assessment, args.repeat + 1, args.seed, anywhere=args.city is not None)
    base.fork().add_outlet("warm-up", codes[0], points[0])  # numba and caches
    times: list[float] = []
    parts: dict[str, list[float]] = {}
    rows = []
    for i in range(args.repeat):
        what = base.fork()
        code = codes[i % len(codes)]
        step = what.add_outlet(f"bench-{i}", code, points[i + 1])
        times.append(step.time_s)
        for k, v in step.timings.items():
            parts.setdefault(k, []).append(v)
        rows.append(
            {
                "category": code,
                "ms": round(1000 * step.time_s, 1),
                "residences_recomputed": int(step.change.residence_ids.size),
                "residences_changed": int(step.change.changed_ids.size),
                "circles_touched": len(step.circles),
                "circles_regraded": len(step.regraded),
                "grades_changed": len(step.grades_changed),
            }
        )
    scratch = from_scratch(base, points[1], codes[0])
    ms = sorted(1000 * t for t in times)
    summary = {
        "median_ms": round(statistics.median(ms), 1),
        "p90_ms": round(ms[int(0.9 * (len(ms) - 1))], 1),
        "max_ms": round(ms[-1], 1),
        "parts_median_ms": {k: round(1000 * statistics.median(v), 1) for k, v in parts.items()},
        "from_scratch_ms": round(1000 * scratch, 1),
        "target_ms": 200.0,
        "meets_target": statistics.median(ms) <= 200.0,
    }
    where = args.city or "Xi'an old town"
    print(
        f"| {where}, add one outlet | median {summary['median_ms']} ms | p90 "
        f"{summary['p90_ms']} ms | max {summary['max_ms']} ms | from scratch "
        f"{summary['from_scratch_ms']} ms |"
    )
    dump(
        args.json,
        {
            "benchmark": "plan_whatif",
            "params": vars(args),
            "load_average_start": started,
            "inputs": {
                "residences": len(assessment.residences),
                "outlets": len(assessment.outlets),
                "circles": len(assessment.circles),
                "network": assessment.network.describe(),
            },
            "setup_s": {k: round(v, 3) for k, v in meter.items()},
            "summary": summary,
            "changes": rows,
            "load_average_end": load_average(),
            "machine": machine(),
        },
    )


if __name__ == "__main__":
    main()
