"""Benchmark: Xi'an old town, every residence × every 业态, lifecircle vs pandana vs networkx.

Not a test; run by hand (see bench/RESULTS.md)::

    .venv/bin/python bench/access_xian.py --json bench/results/access_xian.json

One process runs the three tools side by side on the same inputs (nearest, k = 3 nearest and
counts within 5/10/15 min at 4.2 km/h = 350/700/1,050 m):

* lifecircle  ``compute_access`` (points snapped onto edges: access legs + partial edges);
* pandana 0.8 ``Network`` + ``precompute`` + ``set_pois``/``nearest_pois`` per 业态 +
  ``aggregate(type="count")`` per band (points snapped to the nearest *node*, no access legs);
* networkx    ``single_source_dijkstra_path_length(cutoff)`` per residence on a graph built from
  the same edges, points snapped to the nearest node with ``osmnx.distance.nearest_nodes``
  (what an OSMnx user writes).

Then lifecircle is checked against the brute-force reference (tests/_reference.py) for every
residence within 0.5 m, and each tool is run again alone in a fresh process (``--only``) to read
its peak RSS (``VmHWM``, which counts C allocations; tracemalloc would not, and ``ru_maxrss``
of a subprocess inherits its parent's peak).

pandana is AGPL-3.0: a benchmark-only tool (``bench`` extra), never a dependency.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from _common import (
    XIAN,
    Meter,
    dump,
    hwm_mib,
    last_json,
    load_average,
    machine,
    rss_mib,
    run_child,
)

SPEED_M_MIN = 70.0  # 4.2 km/h
BANDS_MIN = (5.0, 10.0, 15.0)
BANDS_M = tuple(b * SPEED_M_MIN for b in BANDS_MIN)
CUTOFF = BANDS_M[-1]
K = 3
MAX_SNAP = 250.0

#: Fallback Baidu tag → 业态 mapping, used only if lifecircle.taxonomy cannot be imported.
FALLBACK_TAGS = {
    "购物;便利店": "convenience_store",
    "购物;超市": "supermarket",
    "购物;市场": "wet_market",
    "医疗;药店": "pharmacy",
    "医疗;诊所": "community_clinic",
    "丽人;美发": "beauty_hair",
    "生活服务;洗衣店": "laundry",
    "生活服务;维修点": "repair",
    "生活服务;照相馆": "photo_print",
    "生活服务;图文快印店": "photo_print",
    "生活服务;邮局": "post_express",
    "生活服务;物流公司": "post_express",
    "美食;小吃快餐店": "fast_food",
    "美食;蛋糕甜品店": "bakery",
    "美食;咖啡厅": "tea_coffee",
    "美食;茶座": "tea_coffee",
    "金融;银行": "bank",
    "运动健身;健身中心": "fitness",
    "教育培训;培训机构": "training",
    "购物;家电数码": "repair",
}


# ----------------------------------------------------------------------------------- inputs
def load_inputs(meter: Meter) -> dict[str, Any]:
    """Network, classified outlets and residences, all in the network CRS."""
    import geopandas as gpd

    from lifecircle.geo import to_wgs84
    from lifecircle.ingest import read_network

    with meter.phase("inputs", "read_network(gpkg)"):
        net = read_network(XIAN["gpkg"])
    with meter.phase("inputs", "outlets: read + classify + project"):
        poi = pd.read_csv(XIAN["poi"])
        try:
            from lifecircle.taxonomy import classify, load_catalogue

            cat = load_catalogue()
            labels = classify(poi[["name", "tag"]].fillna({"tag": ""}), source="baidu")
            poi["category"] = labels["category"].to_numpy()
            categories = [c.code for c in cat.categories]
            names = {c.code: c.name_zh for c in cat.categories}
            how = "lifecircle.taxonomy.classify (Baidu tag + name keywords)"
        except Exception as exc:  # taxonomy not there yet: a fixed tag mapping
            print(f"  taxonomy unavailable ({exc!r}); using the fallback tag map", file=sys.stderr)
            poi["category"] = poi["tag"].map(FALLBACK_TAGS).fillna("unclassified")
            categories = sorted(set(FALLBACK_TAGS.values()))
            names = {c: c for c in categories}
            how = "fallback Baidu tag map in bench/access_xian.py"
        poi = poi[poi["category"].isin(categories)].reset_index(drop=True)
        lon, lat = to_wgs84(poi["lng_bd09"], poi["lat_bd09"], "bd09")
        outlets = gpd.GeoDataFrame(
            {"outlet_id": poi["uid"].astype(str), "category": poi["category"]},
            geometry=gpd.points_from_xy(lon, lat),
            crs=4326,
        ).to_crs(net.crs)
    with meter.phase("inputs", "residences: read + filter + project"):
        x0, y0, x1, y1 = net.bounds_wgs84()
        xq = pd.read_csv(XIAN["xiaoqu"], usecols=["city", "source", "lng_bd09", "lat_bd09"])
        xq = xq[(xq["city"] == "西安") & xq["source"].isin(["ke.com", "sofang.com"])]
        xq = xq.dropna(subset=["lng_bd09", "lat_bd09"])
        lon, lat = to_wgs84(xq["lng_bd09"], xq["lat_bd09"], "bd09")
        inside = (lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1)
        residences = gpd.GeoDataFrame(
            {"residence_id": xq.index[inside].astype(str)},
            geometry=gpd.points_from_xy(lon[inside], lat[inside]),
            crs=4326,
        ).to_crs(net.crs)
    return {
        "net": net,
        "outlets": outlets,
        "residences": residences.reset_index(drop=True),
        "categories": categories,
        "names": names,
        "classified_by": how,
    }


# ------------------------------------------------------------------------------- lifecircle
def warm_numba() -> float:
    """One tiny compute_access call so that the kernels are compiled/loaded before timing."""
    import geopandas as gpd

    from lifecircle.access import compute_access
    from lifecircle.testing import line_network

    net = line_network([(0, 0), (100, 0), (200, 0)])
    out = gpd.GeoDataFrame(
        {"outlet_id": ["o"], "category": ["a"]},
        geometry=gpd.points_from_xy([150], [1]),
        crs=net.crs,
    )
    res = gpd.GeoDataFrame(
        {"residence_id": ["r"]}, geometry=gpd.points_from_xy([20], [2]), crs=net.crs
    )
    t0 = time.perf_counter()
    compute_access(net, out, res, categories=["a"], category_names={"a": "a"})
    return time.perf_counter() - t0


def run_lifecircle(meter: Meter, data: dict[str, Any]) -> pd.DataFrame:
    import dataclasses

    from lifecircle.access import compute_access

    # a fresh WalkNetwork each run: its CSR arrays and STRtree (cached properties) are built
    # inside the timed call, as pandana and networkx build their graphs in every run
    net = dataclasses.replace(data["net"])
    with meter.phase("lifecircle", "compute_access (CSR + STRtree + snap + search + table)"):
        result = compute_access(
            net,
            data["outlets"],
            data["residences"],
            categories=data["categories"],
            category_names=data["names"],
            walk_speed=4.2,
            bands_min=BANDS_MIN,
            k=K,
            max_snap_m=MAX_SNAP,
        )
    with meter.phase("lifecircle", "to_pandas"):
        table = result.to_pandas()
    return table


# ---------------------------------------------------------------------- node-snapped tools
def _node_table(
    res_ids: np.ndarray,
    categories: list[str],
    outlet_ids: np.ndarray,
    knn_d: np.ndarray,
    knn_o: np.ndarray,
    counts: np.ndarray,
    present: np.ndarray,
) -> pd.DataFrame:
    """The long table from (R, C, k) nearest arrays and (R, C, B) counts (built like the engine's,
    through Arrow, so that every tool pays the same for its output)."""
    import pyarrow as pa

    n_res, n_cat, k = knn_d.shape
    rows = n_res * n_cat
    flat_d = knn_d.reshape(rows, k)
    flat_o = knn_o.reshape(rows, k)
    found = flat_o >= 0
    out_arr = pa.array(outlet_ids, type=pa.string())
    first = flat_o[:, 0]
    offsets = np.zeros(rows + 1, dtype=np.int32)
    np.cumsum(found.sum(axis=1), out=offsets[1:])
    cat_take = np.tile(np.arange(n_cat), n_res)
    columns = {
        "residence_id": pa.array(np.repeat(res_ids, n_cat), type=pa.string()),
        "category": pa.array(categories, type=pa.string()).take(pa.array(cat_take)),
        "nearest_m": pa.array(flat_d[:, 0], mask=first < 0),
        "nearest_min": pa.array(flat_d[:, 0] / SPEED_M_MIN, mask=first < 0),
        "nearest_outlet_id": out_arr.take(pa.array(np.maximum(first, 0), mask=first < 0)),
    }
    missing = ~present[cat_take]
    for b, minutes in enumerate(BANDS_MIN):
        columns[f"n_{int(minutes)}min"] = pa.array(counts[:, :, b].ravel(), mask=missing)
    columns["knn_outlet_ids"] = pa.ListArray.from_arrays(
        pa.array(offsets), out_arr.take(pa.array(flat_o[found]))
    )
    columns["knn_m"] = pa.ListArray.from_arrays(pa.array(offsets), pa.array(flat_d[found]))
    return pa.table(columns).to_pandas()


def run_pandana(meter: Meter, data: dict[str, Any]) -> pd.DataFrame:
    import pandana

    net, outlets, residences = data["net"], data["outlets"], data["residences"]
    categories = data["categories"]
    cat_index = {c: i for i, c in enumerate(categories)}
    with meter.phase("pandana", "Network() (contraction hierarchies)"):
        pnet = pandana.Network(
            pd.Series(net.node_x),
            pd.Series(net.node_y),
            pd.Series(net.edge_u),
            pd.Series(net.edge_v),
            pd.DataFrame({"length": net.edge_length}),
            twoway=True,
        )
    with meter.phase("pandana", "precompute(cutoff)"):
        pnet.precompute(CUTOFF + 1.0)
    with meter.phase("pandana", "get_node_ids (snap to nodes)"):
        rx = pd.Series(residences.geometry.x.to_numpy())
        ry = pd.Series(residences.geometry.y.to_numpy())
        res_node = pnet.get_node_ids(rx, ry).to_numpy()
        ox_ = pd.Series(outlets.geometry.x.to_numpy())
        oy_ = pd.Series(outlets.geometry.y.to_numpy())
        out_node = pnet.get_node_ids(ox_, oy_).to_numpy()
    n_res, n_cat = len(residences), len(categories)
    knn_d = np.full((n_res, n_cat, K), np.inf)
    knn_o = np.full((n_res, n_cat, K), -1, dtype=np.int64)
    counts = np.zeros((n_res, n_cat, len(BANDS_M)), dtype=np.int64)
    oc = outlets["category"].to_numpy()
    present = np.zeros(n_cat, dtype=bool)
    with meter.phase("pandana", "set_pois + nearest_pois per 业态"):
        for cat in categories:
            sel = np.flatnonzero(oc == cat)
            if sel.size == 0:
                continue
            c = cat_index[cat]
            present[c] = True
            pnet.set_pois(cat, CUTOFF, K, ox_.iloc[sel], oy_.iloc[sel])
            nn = pnet.nearest_pois(CUTOFF, cat, num_pois=K, include_poi_ids=True)
            d = nn[list(range(1, K + 1))].to_numpy()[res_node]
            o = nn[[f"poi{j}" for j in range(1, K + 1)]].to_numpy()[res_node]
            ok = np.isfinite(o) & (d < CUTOFF)  # pandana writes the cutoff for "none found"
            knn_d[:, c, :] = np.where(ok, d, np.inf)
            knn_o[:, c, :] = np.where(ok, np.nan_to_num(o, nan=-1), -1).astype(np.int64)
    with meter.phase("pandana", "set + aggregate(count) per 业态 × band"):
        for cat in categories:
            sel = np.flatnonzero(oc == cat)
            if sel.size == 0:
                continue
            c = cat_index[cat]
            pnet.set(pd.Series(out_node[sel]), name=cat)
            for b, band in enumerate(BANDS_M):
                agg = pnet.aggregate(band, type="count", decay="flat", name=cat)
                counts[:, c, b] = agg.to_numpy()[res_node].astype(np.int64)
    with meter.phase("pandana", "long table"):
        table = _node_table(
            residences["residence_id"].to_numpy(),
            categories,
            outlets["outlet_id"].to_numpy(),
            knn_d,
            knn_o,
            counts,
            present,
        )
    return table


def run_networkx(meter: Meter, data: dict[str, Any]) -> pd.DataFrame:
    import networkx as nx
    import osmnx as ox

    net, outlets, residences = data["net"], data["outlets"], data["residences"]
    categories = data["categories"]
    cat_index = {c: i for i, c in enumerate(categories)}
    with meter.phase("networkx", "build MultiGraph"):
        graph = nx.MultiGraph(crs=net.crs)
        graph.add_nodes_from(
            (i, {"x": float(x), "y": float(y)})
            for i, (x, y) in enumerate(zip(net.node_x, net.node_y, strict=True))
        )
        graph.add_edges_from(
            (int(u), int(v), {"length": float(w)})
            for u, v, w in zip(net.edge_u, net.edge_v, net.edge_length, strict=True)
        )
    with meter.phase("networkx", "osmnx nearest_nodes (snap to nodes)"):
        res_node = ox.distance.nearest_nodes(
            graph, residences.geometry.x.to_numpy(), residences.geometry.y.to_numpy()
        )
        out_node = ox.distance.nearest_nodes(
            graph, outlets.geometry.x.to_numpy(), outlets.geometry.y.to_numpy()
        )
    oc = np.array([cat_index[c] for c in outlets["category"]], dtype=np.int64)
    at_node: dict[int, list[int]] = {}
    for i, n in enumerate(out_node):
        at_node.setdefault(int(n), []).append(i)
    n_res, n_cat = len(residences), len(categories)
    knn_d = np.full((n_res, n_cat, K), np.inf)
    knn_o = np.full((n_res, n_cat, K), -1, dtype=np.int64)
    counts = np.zeros((n_res, n_cat, len(BANDS_M)), dtype=np.int64)
    bands = np.asarray(BANDS_M)
    with meter.phase("networkx", "single_source_dijkstra_path_length loop"):
        for r, node in enumerate(res_node):
            lengths = nx.single_source_dijkstra_path_length(
                graph, int(node), cutoff=CUTOFF, weight="length"
            )
            hits_o: list[int] = []
            hits_d: list[float] = []
            for n, d in lengths.items():
                for o in at_node.get(n, ()):
                    hits_o.append(o)
                    hits_d.append(d)
            if not hits_o:
                continue
            ho = np.asarray(hits_o)
            hd = np.asarray(hits_d)
            hc = oc[ho]
            order = np.lexsort((ho, hd, hc))
            ho, hd, hc = ho[order], hd[order], hc[order]
            starts = np.flatnonzero(np.r_[True, hc[1:] != hc[:-1]])
            ends = np.r_[starts[1:], hc.size]
            for s, e in zip(starts, ends, strict=True):
                c = hc[s]
                m = min(K, e - s)
                knn_d[r, c, :m] = hd[s : s + m]
                knn_o[r, c, :m] = ho[s : s + m]
                counts[r, c, :] = np.searchsorted(hd[s:e], bands, side="right")
    present = np.bincount(oc, minlength=n_cat) > 0
    with meter.phase("networkx", "long table"):
        table = _node_table(
            residences["residence_id"].to_numpy(),
            categories,
            outlets["outlet_id"].to_numpy(),
            knn_d,
            knn_o,
            counts,
            present,
        )
    return table


# ------------------------------------------------------------------------------- checks
def check_reference(data: dict[str, Any], table: pd.DataFrame, meter: Meter) -> dict[str, Any]:
    """lifecircle against tests/_reference.py for every residence, within 0.5 m."""
    from _reference import compare_table, reference_distances, snap_brute, summarise

    net, outlets, residences = data["net"], data["outlets"], data["residences"]
    with meter.phase("reference", "brute-force snap + networkx reference, all residences"):
        o_snap = snap_brute(
            net, outlets.geometry.x.to_numpy(), outlets.geometry.y.to_numpy(), max_snap_m=MAX_SNAP
        )
        r_snap = snap_brute(
            net,
            residences.geometry.x.to_numpy(),
            residences.geometry.y.to_numpy(),
            max_snap_m=MAX_SNAP,
        )
        which = [int(i) for i in np.flatnonzero((r_snap.edge >= 0) & ~r_snap.ambiguous)]
        dists = reference_distances(net, o_snap, r_snap, CUTOFF + 1.0, which=which)
        rows = summarise(dists, outlets["category"].to_numpy(), data["categories"])
    bad, boundary = compare_table(
        table.set_index(["residence_id", "category"]),
        residences["residence_id"].to_numpy(),
        outlets["outlet_id"].to_numpy(),
        outlets["category"].to_numpy(),
        o_snap.edge >= 0,
        dists,
        rows,
        data["categories"],
        BANDS_MIN,
        BANDS_M,
        K,
        SPEED_M_MIN,
        0.5,
    )
    return {
        "residences_compared": len(which),
        "rows_compared": len(which) * len(data["categories"]),
        "ambiguous_outlet_snaps": int(o_snap.ambiguous.sum()),
        "ambiguous_residence_snaps": int(r_snap.ambiguous.sum()),
        "disagreements": len(bad),
        "examples": bad[:10],
        "band_counts_within_0.5m_of_edge": boundary,
    }


def agreement(a: pd.DataFrame, b: pd.DataFrame) -> dict[str, Any]:
    """How two tools' nearest distances and 15-min counts differ (same residence × 业态)."""
    ja = a.set_index(["residence_id", "category"])
    jb = b.set_index(["residence_id", "category"]).reindex(ja.index)
    da, db = ja["nearest_m"].to_numpy(float), jb["nearest_m"].to_numpy(float)
    both = np.isfinite(da) & np.isfinite(db)
    diff = np.abs(da[both] - db[both])
    ca = ja["n_15min"].to_numpy(dtype=float, na_value=np.nan)
    cb = jb["n_15min"].to_numpy(dtype=float, na_value=np.nan)
    cm = np.isfinite(ca) & np.isfinite(cb)
    return {
        "rows": len(ja),
        "reached_in_both": int(both.sum()),
        "reached_in_one_only": int((np.isfinite(da) ^ np.isfinite(db)).sum()),
        "nearest_signed_diff_m_median (first − second)": (
            float(np.median(da[both] - db[both])) if both.any() else None
        ),
        "nearest_abs_diff_m": {
            "median": float(np.median(diff)) if diff.size else None,
            "p90": float(np.percentile(diff, 90)) if diff.size else None,
            "max": float(diff.max()) if diff.size else None,
            "share_within_0.5m": float((diff <= 0.5).mean()) if diff.size else None,
        },
        "n_15min_equal_share": float((ca[cm] == cb[cm]).mean()) if cm.any() else None,
    }


# --------------------------------------------------------------------------------- main
TOOLS = {"lifecircle": run_lifecircle, "pandana": run_pandana, "networkx": run_networkx}


def only(tool: str) -> None:
    """Child mode: load inputs, run one tool, report its process's peak RSS as JSON."""
    meter = Meter()
    if tool == "lifecircle":
        warm = warm_numba()
    data = load_inputs(meter)
    base = hwm_mib()
    t0 = time.perf_counter()
    table = TOOLS[tool](meter, data)
    wall = time.perf_counter() - t0
    payload: dict[str, Any] = {
        "tool": tool,
        "tool_wall_s": wall,
        "rows": len(table),
        "peak_rss_after_inputs_mib": base,
        "peak_rss_end_mib": hwm_mib(),
        "rss_end_mib": rss_mib(),
        "phases": meter.to_json(),
    }
    if tool == "lifecircle":
        payload["numba_warmup_s"] = warm
    dump(None, payload)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", choices=sorted(TOOLS), help="child mode: one tool")
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--no-reference", action="store_true", help="skip the reference check")
    parser.add_argument("--no-children", action="store_true", help="skip the per-tool RSS runs")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per tool (median)")
    args = parser.parse_args()
    if args.only:
        only(args.only)
        return

    print("machine:", machine(), file=sys.stderr)
    load_start = load_average()
    meter = Meter()
    with meter.phase("setup", "numba warm-up (kernels loaded from cache or compiled)"):
        warm = warm_numba()
    data = load_inputs(meter)
    n_res, n_out, n_cat = len(data["residences"]), len(data["outlets"]), len(data["categories"])
    print(
        f"inputs: {data['net'].describe()}, {n_out} outlets in "
        f"{data['outlets']['category'].nunique()} of {n_cat} 业态, {n_res} residences",
        file=sys.stderr,
    )
    runs: dict[str, list[Meter]] = {tool: [] for tool in TOOLS}
    tables: dict[str, pd.DataFrame] = {}
    for rep in range(args.repeat):  # round robin, so that machine noise hits every tool alike
        print(f"repeat {rep + 1}/{args.repeat}", file=sys.stderr)
        for tool, fn in TOOLS.items():
            run_meter = Meter()
            tables[tool] = fn(run_meter, data)
            runs[tool].append(run_meter)
    totals = {tool: float(np.median([m.total(tool) for m in ms])) for tool, ms in runs.items()}
    best = {tool: float(np.min([m.total(tool) for m in ms])) for tool, ms in runs.items()}
    phase_medians = {
        tool: {
            p.name: float(np.median([m.phases[i].wall_s for m in ms]))
            for i, p in enumerate(ms[0].phases)
        }
        for tool, ms in runs.items()
    }
    phase_peaks = {
        tool: {
            p.name: float(max(m.phases[i].rss_peak_mib - m.phases[i].rss_start_mib for m in ms))
            for i, p in enumerate(ms[0].phases)
        }
        for tool, ms in runs.items()
    }
    result: dict[str, Any] = {
        "machine": machine(),
        "inputs": {
            "network": data["net"].describe(),
            "outlets": n_out,
            "categories_total": n_cat,
            "categories_with_outlets": int(data["outlets"]["category"].nunique()),
            "outlets_per_category": data["outlets"]["category"].value_counts().to_dict(),
            "residences": n_res,
            "classified_by": data["classified_by"],
            "rows": n_res * n_cat,
        },
        "numba_warmup_s": warm,
        "repeats": args.repeat,
        "totals_median_s": totals,
        "totals_min_s": best,
        "phase_median_s": phase_medians,
        "phase_rss_growth_max_mib": phase_peaks,
        "ratios": {
            "pandana/lifecircle": totals["pandana"] / totals["lifecircle"],
            "networkx/lifecircle": totals["networkx"] / totals["lifecircle"],
        },
        "agreement": {
            "lifecircle_vs_pandana": agreement(tables["lifecircle"], tables["pandana"]),
            "networkx_vs_pandana": agreement(tables["networkx"], tables["pandana"]),
            "lifecircle_vs_networkx": agreement(tables["lifecircle"], tables["networkx"]),
        },
    }
    if not args.no_reference:
        result["reference"] = check_reference(data, tables["lifecircle"], meter)
        print("reference:", result["reference"], file=sys.stderr)
    if not args.no_children:
        children: dict[str, Any] = {}
        script = str(Path(__file__).resolve())
        for tool in TOOLS:
            run = run_child([sys.executable, script, "--only", tool])
            children[tool] = {
                "rc": run["rc"],
                "process_wall_s": run["wall_s"],
                **last_json(str(run["stdout"])),
            }
            if run["rc"]:
                children[tool]["stderr"] = str(run["stderr"])[-2000:]
            print(
                f"  child {tool}: rc {run['rc']}, peak RSS "
                f"{children[tool].get('peak_rss_end_mib', float('nan')):.0f} MiB",
                file=sys.stderr,
            )
        # numba compile time with an empty cache (fresh process, fresh NUMBA_CACHE_DIR)
        with tempfile.TemporaryDirectory() as cache:
            code = (
                f"import sys; sys.path.insert(0, {str(Path(__file__).resolve().parent)!r}); "
                "import access_xian as a; "
                "print(a.warm_numba())"
            )
            env = {**os.environ, "NUMBA_CACHE_DIR": cache}
            cold = run_child([sys.executable, "-c", code], env=env)
            warm_child = run_child([sys.executable, "-c", code], env=env)
        children["numba_compile_cold_cache_s"] = float(cold["stdout"].split()[-1])
        children["numba_load_from_cache_s"] = float(warm_child["stdout"].split()[-1])
        result["children"] = children
    result["load_average_start_end"] = [load_start, load_average()]
    result["phases"] = meter.to_json() + [
        {**p, "repeat": i} for ms in runs.values() for i, m in enumerate(ms) for p in m.to_json()
    ]
    dump(args.json, result)


if __name__ == "__main__":
    main()
