"""``lifecircle inspect``: a city's input summary and every problem found, without stopping early."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lifecircle.errors import InputError, LifecircleError

__all__ = ["inspect_inputs", "render_inspection"]


def _problems_of(exc: LifecircleError) -> list[str]:
    if isinstance(exc, InputError):
        return [str(p) for p in exc.problems]
    return [str(exc)]


def inspect_inputs(
    network: str | Path,
    *,
    outlets: str | Path | None = None,
    residences: str | Path | None = None,
    outlets_crs: str = "wgs84",
    residences_crs: str = "wgs84",
    outlets_lon: str | None = None,
    outlets_lat: str | None = None,
    residences_lon: str | None = None,
    residences_lat: str | None = None,
    residences_where: str | None = None,
    layer: str | None = None,
    encoding: str | None = None,
    drop_missing: bool = False,
    drop_outside: bool = False,
) -> dict[str, Any]:
    """Read a city's inputs and summarise them; problems are collected, not raised.

    Returns
    -------
    dict
        ``network``, ``outlets``, ``residences`` summaries and ``problems`` (a list of strings
        naming file, row and field, and the fix).
    """
    from lifecircle.ingest import read_network, read_outlets, read_residences

    report: dict[str, Any] = {"network": None, "outlets": None, "residences": None, "problems": []}
    problems: list[str] = report["problems"]
    try:
        net = read_network(network, layer=layer, encoding=encoding)
    except LifecircleError as exc:
        problems.extend(_problems_of(exc))
        return report
    rep = net.report
    report["network"] = {
        "file": str(network),
        **net.describe(),
        "bbox_wgs84": [round(v, 6) for v in net.bounds_wgs84()],
        "excluded_edges": dict(rep.excluded_edges),
        "excluded_km": {k: round(v, 3) for k, v in rep.excluded_km.items()},
    }
    layers = (
        ("outlets", outlets, read_outlets, outlets_crs, outlets_lon, outlets_lat, None),
        (
            "residences",
            residences,
            read_residences,
            residences_crs,
            residences_lon,
            residences_lat,
            residences_where,
        ),
    )
    for what, path, reader, crs, lon, lat, where in layers:
        if path is None:
            continue
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                kwargs: dict[str, Any] = {
                    "crs": crs,
                    "lon": lon,
                    "lat": lat,
                    "network": net,
                    "on_missing": "drop" if drop_missing else "error",
                    "on_outside": "drop" if drop_outside else "error",
                }
                if where:
                    kwargs["where"] = where
                frame = reader(path, **kwargs)
            except LifecircleError as exc:
                problems.extend(_problems_of(exc))
                frame = None
        problems.extend(
            f"{path}: {w.message}" for w in caught if issubclass(w.category, UserWarning)
        )
        if frame is None:
            continue
        report[what] = (
            _summarise_outlets(frame) if what == "outlets" else _summarise_residences(frame)
        )
        report[what]["file"] = str(path)
    return report


def _summarise_outlets(frame: pd.DataFrame) -> dict[str, Any]:
    counts = (
        frame.groupby(["category", "category_zh"], dropna=False).size().sort_values(ascending=False)
    )
    n = len(frame)
    unclassified = int((frame["category"] == "unclassified").sum())
    top = frame.attrs.get("unclassified_report")
    top_rows = top.head(10).to_dict("records") if isinstance(top, pd.DataFrame) and len(top) else []
    chain = frame["is_chain"] if "is_chain" in frame.columns else pd.Series(dtype="boolean")
    by_category = [
        {"category": str(code), "category_zh": str(zh), "count": int(v)}
        for (code, zh), v in zip(counts.index, counts.to_numpy(), strict=True)
    ]
    return {
        "count": n,
        "by_category": by_category,
        "unclassified": unclassified,
        "unclassified_share": round(unclassified / n, 4) if n else None,
        "top_unmatched": top_rows,
        "chain_known": int(chain.notna().sum()),
        "declared_crs": frame.attrs.get("declared_crs"),
    }


def _summarise_residences(frame: pd.DataFrame) -> dict[str, Any]:
    cols = frame.reindex(columns=["households", "population"])  # absent columns become NaN
    hh = pd.to_numeric(cols["households"], errors="coerce")
    pop = pd.to_numeric(cols["population"], errors="coerce")
    return {
        "count": len(frame),
        "households_total": float(np.nansum(hh)),
        "households_missing": int(hh.isna().sum()),
        "population_total": float(np.nansum(pop)),
        "declared_crs": frame.attrs.get("declared_crs"),
    }


def render_inspection(report: dict[str, Any]) -> str:
    """Human-readable, bilingual rendering of :func:`inspect_inputs`'s report."""
    lines: list[str] = []
    net = report.get("network")
    if net:
        lines += [
            f"路网 Network: {net['file']}",
            f"  {net['nodes']} 节点 nodes, {net['edges']} 路段 edges, {net['km']:.1f} km, "
            f"CRS {net['crs']}",
            f"  连通分量 components: {net['components']} (丢弃 dropped "
            f"{net['dropped_components']} pieces, {net['dropped_km']:.2f} km)",
            f"  范围 bbox (WGS-84): {net['bbox_wgs84']}",
        ]
        for reason, n in net["excluded_edges"].items():
            lines.append(
                f"  排除 excluded by '{reason}': {n} edges, {net['excluded_km'].get(reason, 0):.2f} km"
            )
    out = report.get("outlets")
    if out:
        lines += [f"网点 Outlets: {out['file']} ({out['count']}, declared {out['declared_crs']})"]
        for row in out["by_category"]:
            lines.append(
                f"  {row['category_zh'] or '':<14} {row['category']:<26} {row['count']:>7}"
            )
        share = out["unclassified_share"]
        lines.append(
            f"  未分类 unclassified: {out['unclassified']} ({share:.1%})"
            if share is not None
            else "  未分类 unclassified: 0"
        )
        if out["top_unmatched"]:
            lines.append("  主要未匹配类型 top unmatched source types:")
            for row in out["top_unmatched"]:
                lines.append("    " + ", ".join(f"{k}={v}" for k, v in row.items()))
    res = report.get("residences")
    if res:
        lines += [
            f"小区 Residences: {res['file']} ({res['count']}, declared {res['declared_crs']})",
            f"  户数合计 households: {res['households_total']:.0f} "
            f"(缺失 missing in {res['households_missing']})",
        ]
    probs = report["problems"]
    lines.append(f"问题 Problems: {len(probs)}" + ("" if probs else " — 无 none"))
    lines += [f"  - {p}" for p in probs]
    return "\n".join(lines)
