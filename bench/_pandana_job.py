"""The pandana side of bench/access_city.py: one whole process, same inputs, same output table.

Usage: ``python bench/_pandana_job.py WORK_DIR`` (after ``access_city.py prepare``).  Reads
``nodes.parquet``/``edges.parquet`` (the network the CLI reads, as tables), ``outlets.parquet``
and ``residences.parquet``; writes ``WORK_DIR/out_pandana/access.parquet`` with the columns of
the lifecircle table, for every catalogue 业态 (those without outlets: missing values).
Prints its phases and peak RSS (VmHWM) as JSON on the last line.

pandana is AGPL-3.0: benchmark only.  Differences from lifecircle: points are snapped to the
nearest *node* (no access legs, no partial edges), and "nothing found" comes back as the search
distance, turned into missing values here.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

T0 = time.perf_counter()

import geopandas as gpd  # noqa: E402
import numpy as np  # noqa: E402
import pandana  # noqa: E402
import pandas as pd  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

SPEED_M_MIN = 70.0
BANDS_MIN = (5.0, 10.0, 15.0)
BANDS_M = tuple(b * SPEED_M_MIN for b in BANDS_MIN)
CUTOFF = BANDS_M[-1]
K = 3


def _hwm() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def main() -> None:
    work = Path(sys.argv[1])
    meta = json.loads((work / "meta.json").read_text())
    categories: list[str] = meta["all_categories"]
    names: dict[str, str] = meta["category_names"]
    phases: dict[str, float] = {"imports": time.perf_counter() - T0}
    t = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal t
        now = time.perf_counter()
        phases[name] = now - t
        t = now
        print(f"  [pandana] {name}: {phases[name]:.2f} s", file=sys.stderr, flush=True)

    nodes = pd.read_parquet(work / "nodes.parquet")
    edges = pd.read_parquet(work / "edges.parquet")
    outlets = gpd.read_parquet(work / "outlets.parquet")
    residences = gpd.read_parquet(work / "residences.parquet")
    lap("read inputs")
    net = pandana.Network(
        nodes["x"], nodes["y"], edges["from"], edges["to"], edges[["length"]], twoway=True
    )
    lap("Network() (contraction hierarchies)")
    net.precompute(CUTOFF + 1.0)
    lap("precompute(cutoff)")
    ox = pd.Series(outlets.geometry.x.to_numpy())
    oy = pd.Series(outlets.geometry.y.to_numpy())
    res_node = net.get_node_ids(
        pd.Series(residences.geometry.x.to_numpy()), pd.Series(residences.geometry.y.to_numpy())
    ).to_numpy()
    out_node = net.get_node_ids(ox, oy).to_numpy()
    lap("get_node_ids")
    n_res, n_cat = len(residences), len(categories)
    knn_d = np.full((n_res, n_cat, K), np.inf)
    knn_o = np.full((n_res, n_cat, K), -1, dtype=np.int64)
    counts = np.zeros((n_res, n_cat, len(BANDS_M)), dtype=np.int32)
    present = np.zeros(n_cat, dtype=bool)
    oc = outlets["category"].to_numpy()
    for c, cat in enumerate(categories):
        sel = np.flatnonzero(oc == cat)
        if sel.size == 0:
            continue
        present[c] = True
        net.set_pois(cat, CUTOFF, K, ox.iloc[sel], oy.iloc[sel])
        nn = net.nearest_pois(CUTOFF, cat, num_pois=K, include_poi_ids=True)
        d = nn[list(range(1, K + 1))].to_numpy()[res_node]
        o = nn[[f"poi{j}" for j in range(1, K + 1)]].to_numpy()[res_node]
        ok = np.isfinite(o) & (d < CUTOFF)
        knn_d[:, c, :] = np.where(ok, d, np.inf)
        knn_o[:, c, :] = np.where(ok, np.nan_to_num(o, nan=-1), -1).astype(np.int64)
    lap("set_pois + nearest_pois per 业态")
    for c, cat in enumerate(categories):
        sel = np.flatnonzero(oc == cat)
        if sel.size == 0:
            continue
        net.set(pd.Series(out_node[sel]), name=cat)
        for b, band in enumerate(BANDS_M):
            agg = net.aggregate(band, type="count", decay="flat", name=cat)
            counts[:, c, b] = agg.to_numpy()[res_node]
    lap("set + aggregate(count) per 业态 × band")

    rows = n_res * n_cat
    flat_d = knn_d.reshape(rows, K)
    flat_o = knn_o.reshape(rows, K)
    found = flat_o >= 0
    first = flat_o[:, 0]
    out_ids = pa.array(outlets["outlet_id"].astype(str).to_numpy(), type=pa.string())
    offsets = np.zeros(rows + 1, dtype=np.int32)
    np.cumsum(found.sum(axis=1), out=offsets[1:])
    res_take = np.repeat(np.arange(n_res), n_cat)
    cat_take = np.tile(np.arange(n_cat), n_res)
    missing = ~present[cat_take]
    columns = {
        "residence_id": pa.array(residences["residence_id"].astype(str).to_numpy()).take(
            pa.array(res_take)
        ),
        "category": pa.array(categories, type=pa.string()).take(pa.array(cat_take)),
        "category_zh": pa.array([names.get(c, c) for c in categories]).take(pa.array(cat_take)),
        "nearest_m": pa.array(flat_d[:, 0], mask=first < 0),
        "nearest_min": pa.array(flat_d[:, 0] / SPEED_M_MIN, mask=first < 0),
        "nearest_outlet_id": out_ids.take(pa.array(np.maximum(first, 0), mask=first < 0)),
    }
    for b, minutes in enumerate(BANDS_MIN):
        columns[f"n_{int(minutes)}min"] = pa.array(counts[:, :, b].ravel(), mask=missing)
    columns["knn_outlet_ids"] = pa.ListArray.from_arrays(
        pa.array(offsets), out_ids.take(pa.array(flat_o[found]))
    )
    columns["knn_m"] = pa.ListArray.from_arrays(pa.array(offsets), pa.array(flat_d[found]))
    table = pa.table(columns)
    out = work / "out_pandana"
    out.mkdir(exist_ok=True)
    pq.write_table(table, out / "access.parquet")
    lap("long table + write parquet")
    print(
        "\n"
        + json.dumps(
            {
                "phases_s": phases,
                "in_process_s": time.perf_counter() - T0,
                "peak_rss_mib": _hwm(),
                "rows": table.num_rows,
            }
        )
    )


if __name__ == "__main__":
    main()
