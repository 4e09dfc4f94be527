"""Benchmark: the whole ``lifecircle run``-equivalent on synthetic cities of 4 sizes (issue 18).

Not a test; run by hand (see bench/RESULTS.md §8)::

    .venv/bin/python bench/city_pipeline.py prepare --work /tmp/lc-pipeline --tiles 1 2 3 4
    .venv/bin/python bench/city_pipeline.py run --work /tmp/lc-pipeline --tiles 1 2 3 4 \\
        --json bench/results/city_pipeline.json

**Cities**: ``bench/access_city.py prepare`` with ``--target-nodes`` = tiles × 30,768 (the
whole-Xi'an OSM roads, tiled and joined; 4 tiles = the 130 k-node city of RESULTS.md §2) and, per
tile, 20,000 synthetic outlets in 20 业态 and 50,000 synthetic residences (so 4 tiles = 80 k outlets,
200 k residences): density stays the same and every size is the same kind of city.

**run** runs each size in a fresh process (peak RSS = that process's ``VmHWM``) through the steps
of ``lifecircle run``: read the three inputs as the CLI does; **audit** (the input audit of issue
18 does not exist yet: :data:`AUDIT_STEP` is the hook, ``None`` = skipped and timed as 0);
``assess_city`` with automatic circles (its own steps: access, circles, survey/evaluation,
grading, blind spots, KPIs, output tables); the assessment files (CSV, GeoJSON, circle mapping);
the 1+N project list (``--projects``; off by default: one LSCP/MCLP per circle × missing 业态);
the reports in Chinese: the city report (HTML, PDF, Excel; ``--no-city-report`` leaves it out)
and the per-circle pages (HTML + PDF with a map each), ``--circle-pages N`` of them (default
all; with fewer, the time of all is extrapolated from the pages written and marked as such).  The exponent is fitted by least squares
on log(time) against log(residences) over the sizes.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import dump, hwm_mib, last_json, load_average, machine, run_child

BENCH = Path(__file__).resolve().parent
BASE_NODES = 30_768  # nodes of the whole-Xi'an walking network, one tile
OUTLETS_PER_TILE = 20_000
RESIDENCES_PER_TILE = 50_000

#: The input audit step (issue 18: "audit → access → …"); not written yet.  A callable taking
#: ``(network, outlets, residences)`` would be timed here as the step ``audit``.
AUDIT_STEP: Callable[[Any, Any, Any], Any] | None = None


def prepare(args: argparse.Namespace) -> None:
    for tiles in args.tiles:
        work = Path(args.work) / f"t{tiles}"
        if (work / "meta.json").is_file():
            print(f"{work}: already prepared", file=sys.stderr)
            continue
        cmd = [
            sys.executable,
            str(BENCH / "access_city.py"),
            "prepare",
            "--work",
            str(work),
            "--target-nodes",
            str(tiles * BASE_NODES),
            "--outlets",
            str(tiles * OUTLETS_PER_TILE),
            "--residences",
            str(tiles * RESIDENCES_PER_TILE),
        ]
        proc = run_child(cmd)
        if proc["rc"]:
            raise SystemExit(str(proc["stderr"])[-3000:])
        print(f"{work}: prepared in {float(proc['wall_s']):.1f} s", file=sys.stderr)


def one(args: argparse.Namespace) -> None:
    """One size, in this process: every step timed, peak RSS at the end."""
    t_start = time.perf_counter()
    import logging

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    steps: dict[str, float] = {}

    def lap(name: str, since: float) -> float:
        now = time.perf_counter()
        steps[name] = round(now - since, 3)
        print(f"  {name}: {now - since:.2f} s", file=sys.stderr, flush=True)
        return now

    from lifecircle.assess import assess_city, write_circle_mapping
    from lifecircle.ingest import read_network, read_outlets, read_residences
    from lifecircle.report import write_reports

    t = lap("imports", t_start)
    work = Path(args.work)
    out = Path(args.out)
    net = read_network(work / "tiled.gpkg")
    outlets = read_outlets(work / "outlets.parquet", network=net)
    residences = read_residences(work / "residences.parquet", network=net)
    t = lap("read", t)
    if AUDIT_STEP is not None:
        AUDIT_STEP(net, outlets, residences)
    t = lap("audit", t)
    a = assess_city(
        net,
        outlets,
        residences,
        city=f"synthetic {work.name}",
        input_files=[work / "tiled.gpkg", work / "outlets.parquet", work / "residences.parquet"],
    )
    t = lap("assess", t)
    out.mkdir(parents=True, exist_ok=True)
    for name, frame in (
        ("grades.csv", a.grades),
        ("evidence.csv", a.evidence),
        ("kpis.csv", a.kpis),
        ("blind_spots.csv", a.blind_spots),
    ):
        frame.to_csv(out / name, index=False, encoding="utf-8-sig")
    a.circles.to_file(out / "circles.geojson", driver="GeoJSON")
    write_circle_mapping(a.residences, out / "circle_mapping.csv", a.circles)
    t = lap("write_tables", t)
    plan = None
    if args.projects:
        from lifecircle.plan.projects import project_list

        plan = project_list(a, target_share=a.snapshot["parameters"]["coverage_share"])
        plan.write(out)
        t = lap("projects", t)
    if args.city_report:
        write_reports(a, out, lang="zh", per_circle=False, projects=plan)
        t = lap("city_report", t)
    from lifecircle.report import _figures as fig
    from lifecircle.report.writer import _circle_reports

    n_circles = len(a.grades)
    pages = n_circles if args.circle_pages < 0 else min(args.circle_pages, n_circles)
    if pages:
        import dataclasses

        subset = dataclasses.replace(a, grades=a.grades.head(pages))
        _circle_reports(
            subset, fig.Basemap(a.network), out, "zh", ("html", "pdf"), "2026-12-08", "bench", plan
        )
    t = lap("circle_pages", t)
    circle_all = steps["circle_pages"] * n_circles / pages if pages else 0.0
    result = {
        "work": str(work),
        "nodes": net.n_nodes,
        "edges": net.n_edges,
        "outlets": len(outlets),
        "residences": len(residences),
        "circles": n_circles,
        "circle_pages_written": pages,
        "circle_pages_all_s": round(circle_all, 1),
        "circle_pages_extrapolated": pages < n_circles,
        "projects": bool(args.projects),
        "city_report": bool(args.city_report),
        "steps_s": steps,
        "assess_steps_s": a.snapshot["timings_s"],
        "process_in_s": round(time.perf_counter() - t_start, 3),
        "whole_job_s": round(
            sum(v for k, v in steps.items() if k != "circle_pages") + circle_all, 1
        ),
        "peak_rss_mib": round(hwm_mib(), 1),
        "load_average_end": load_average(),
    }
    dump(args.json, result)


def fit(xs: list[float], ys: list[float]) -> float | None:
    """Slope of log(y) against log(x) (least squares); None with fewer than 2 positive pairs."""
    pts = [(math.log(x), math.log(y)) for x, y in zip(xs, ys, strict=True) if x > 0 and y > 0]
    if len(pts) < 2:
        return None
    mx = statistics.fmean(p[0] for p in pts)
    my = statistics.fmean(p[1] for p in pts)
    sxx = sum((p[0] - mx) ** 2 for p in pts)
    return sum((p[0] - mx) * (p[1] - my) for p in pts) / sxx if sxx else None


def run(args: argparse.Namespace) -> None:
    result: dict[str, Any] = {
        "machine": machine(),
        "load_average_start": load_average(),
        "command": " ".join(sys.argv),
        "audit_step": None if AUDIT_STEP is None else AUDIT_STEP.__name__,
        "sizes": [],
    }
    for tiles in args.tiles:
        work = Path(args.work) / f"t{tiles}"
        runs = []
        for rep in range(args.repeat):
            cmd = [
                sys.executable,
                str(BENCH / "city_pipeline.py"),
                "one",
                "--work",
                str(work),
                "--out",
                str(work / "out"),
                "--circle-pages",
                str(args.circle_pages),
                *(["--projects"] if args.projects else []),
                *([] if args.city_report else ["--no-city-report"]),
            ]
            print(f"t{tiles} run {rep + 1}/{args.repeat}: {' '.join(cmd)}", file=sys.stderr)
            load = load_average()
            proc = run_child(cmd, env={**os.environ, "PYTHONUNBUFFERED": "1"})
            if proc["rc"]:
                print(str(proc["stderr"])[-4000:], file=sys.stderr)
                raise SystemExit(f"t{tiles} failed")
            one_result = last_json(str(proc["stdout"]))
            one_result.update(
                {
                    "process_wall_s": round(float(proc["wall_s"]), 2),  # type: ignore[arg-type]
                    "load_average_before": load,
                }
            )
            print(json.dumps(one_result, ensure_ascii=False), file=sys.stderr, flush=True)
            runs.append(one_result)
        walls = [float(r["whole_job_s"]) for r in runs]
        median = runs[walls.index(statistics.median_low(walls))]
        result["sizes"].append({"tiles": tiles, "runs": runs, "median": median})
    meds = [s["median"] for s in result["sizes"]]
    xs = [float(m["residences"]) for m in meds]
    result["exponent_whole_job"] = fit(xs, [float(m["whole_job_s"]) for m in meds])
    result["exponent_by_step"] = {
        step: fit(xs, [float(m["steps_s"].get(step, 0.0)) for m in meds])
        for step in meds[0]["steps_s"]
    }
    result["exponent_by_assess_step"] = {
        step: fit(xs, [float(m["assess_steps_s"].get(step, 0.0)) for m in meds])
        for step in meds[0]["assess_steps_s"]
    }
    result["load_average_end"] = load_average()
    dump(args.json, result)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prepare", help="build the synthetic cities (tiles of Xi'an)")
    p.add_argument("--work", required=True)
    p.add_argument("--tiles", type=int, nargs="+", default=[1, 2, 3, 4])
    r = sub.add_parser("run", help="time every size in a fresh process")
    r.add_argument("--work", required=True)
    r.add_argument("--tiles", type=int, nargs="+", default=[1, 2, 3, 4])
    r.add_argument("--json")
    r.add_argument("--repeat", type=int, default=1, help="runs per size (median)")
    r.add_argument("--circle-pages", type=int, default=-1, help="per-circle pages (-1: all)")
    r.add_argument("--projects", action="store_true", help="include the 1+N project list")
    r.add_argument(
        "--no-city-report",
        dest="city_report",
        action="store_false",
        help="leave out the city report (HTML, PDF, Excel)",
    )
    o = sub.add_parser("one", help="one size in this process (used by run)")
    o.add_argument("--work", required=True)
    o.add_argument("--out", required=True)
    o.add_argument("--json")
    o.add_argument("--circle-pages", type=int, default=-1)
    o.add_argument("--projects", action="store_true")
    o.add_argument("--no-city-report", dest="city_report", action="store_false")
    args = parser.parse_args()
    {"prepare": prepare, "run": run, "one": one}[args.cmd](args)


if __name__ == "__main__":
    main()
