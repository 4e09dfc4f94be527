"""A deliberately simple reference for the access engine (tests and benchmarks only).

It shares no code with :mod:`lifecircle.access`: every point is snapped by brute force (the
distance from the point to *every* edge geometry, argmin), the street graph is rebuilt in
networkx with every edge split at the feet that lie on it, each point becomes a node joined to
its foot by its straight access leg, and walks are plain
:func:`networkx.single_source_dijkstra_path_length` runs with a cutoff.  Slow, and meant to be:
it is the definition written out, against which the numba engine is checked.

Distance (metres) = access leg at the origin + network distance between the feet (partial
edges exact) + access leg at the outlet; outlets beyond the cutoff are not reached.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import networkx as nx
import numpy as np
import pandas as pd
import shapely

from lifecircle.network import WalkNetwork

__all__ = ["RefRow", "RefSnap", "compare_table", "reference_distances", "snap_brute", "summarise"]

#: Two edges closer to a point than this apart in distance are a tie (the engine may pick either).
TIE_M = 1e-6


@dataclass(frozen=True)
class RefSnap:
    """Brute-force snapping of points onto the nearest edge.

    ``edge`` is -1 for a point farther than the snap distance.  ``ambiguous`` marks points with
    two or more equally near edges whose feet differ (the choice between them is arbitrary).
    """

    edge: np.ndarray
    offset: np.ndarray
    access_m: np.ndarray
    ambiguous: np.ndarray


def snap_brute(
    network: WalkNetwork, x: np.ndarray, y: np.ndarray, *, max_snap_m: float, chunk: int = 256
) -> RefSnap:
    """Snap points (network CRS) by measuring the distance to every edge."""
    geoms = network.edge_geometry
    n = len(x)
    edge = np.full(n, -1, dtype=np.int64)
    offset = np.full(n, np.nan)
    access = np.full(n, np.nan)
    ambiguous = np.zeros(n, dtype=bool)
    points = shapely.points(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    for start in range(0, n, chunk):
        pts = points[start : start + chunk]
        dist = shapely.distance(pts[:, None], geoms[None, :])
        best = dist.argmin(axis=1)
        for j, e in enumerate(best):
            i = start + j
            d = float(dist[j, e])
            if d > max_snap_m:
                continue
            edge[i] = e
            access[i] = d
            offset[i] = shapely.line_locate_point(geoms[e], pts[j])
            tied = np.flatnonzero(dist[j] <= d + TIE_M)
            if tied.size > 1:
                feet = shapely.line_interpolate_point(
                    geoms[tied], shapely.line_locate_point(geoms[tied], pts[j])
                )
                xy = shapely.get_coordinates(feet)
                ambiguous[i] = bool(np.ptp(xy, axis=0).max() > 1e-3)
    return RefSnap(edge, offset, access, ambiguous)


def _graph(network: WalkNetwork, snaps: dict[str, RefSnap]) -> nx.MultiGraph:
    """The street graph split at every foot, with one leaf node per snapped point."""
    graph = nx.MultiGraph()
    graph.add_nodes_from(range(network.n_nodes))
    feet: dict[int, set[float]] = {}
    for snap in snaps.values():
        for e, t in zip(snap.edge, snap.offset, strict=True):
            if e >= 0:
                feet.setdefault(int(e), set()).add(float(t))
    lengths = network.edge_length
    for e in range(network.n_edges):
        u, v, total = int(network.edge_u[e]), int(network.edge_v[e]), float(lengths[e])
        prev, prev_t = u, 0.0
        for t in sorted(feet.get(e, ())):
            if 0.0 < t < total:
                node = ("foot", e, t)
                graph.add_edge(prev, node, weight=t - prev_t)
                prev, prev_t = node, t
        graph.add_edge(prev, v, weight=total - prev_t)
    for layer, snap in snaps.items():
        for i, (e, t, a) in enumerate(zip(snap.edge, snap.offset, snap.access_m, strict=True)):
            if e < 0:
                continue
            total = float(lengths[e])
            if t <= 0.0:
                foot: object = int(network.edge_u[e])
            elif t >= total:
                foot = int(network.edge_v[e])
            else:
                foot = ("foot", int(e), float(t))
            graph.add_edge((layer, i), foot, weight=float(a))
    return graph


def reference_distances(
    network: WalkNetwork,
    outlets: RefSnap,
    residences: RefSnap,
    cutoff: float,
    which: Sequence[int] | None = None,
    gates: dict[int, Sequence[int]] | None = None,
) -> dict[int, dict[int, float]]:
    """Walk distances (m) from residences to outlets up to ``cutoff``.

    Returns ``{residence index: {outlet index: metres}}`` for the residences in ``which``
    (default all snapped ones); outlets beyond the cutoff are absent.  With ``gates``, the
    points of ``residences`` are entrances and ``gates[r]`` lists the entrances of origin ``r``:
    a walk starts at whichever entrance is best (a source joined to each by a 0 m edge).
    """
    graph = _graph(network, {"o": outlets, "r": residences})
    if gates is not None and which is None:
        which = list(gates)
    if which is None:
        which = [int(i) for i in np.flatnonzero(residences.edge >= 0)]
    result: dict[int, dict[int, float]] = {}
    for r in which:
        start: object = ("r", r)
        if gates is not None:
            # the source exists only while its own walks are searched: otherwise the 0 m edges
            # would let other walks jump between that residence's gates
            start = ("source", r)
            graph.add_weighted_edges_from(
                (start, ("r", g), 0.0) for g in gates[r] if residences.edge[g] >= 0
            )
        reached = nx.single_source_dijkstra_path_length(graph, start, cutoff=cutoff)
        if gates is not None:
            graph.remove_node(start)
        result[r] = {
            node[1]: float(d)
            for node, d in reached.items()
            if isinstance(node, tuple) and node[0] == "o"
        }
    return result


@dataclass(frozen=True)
class RefRow:
    """The reference answer for one residence × category."""

    dists: np.ndarray  # every reached outlet's distance, ascending
    outlets: np.ndarray  # their outlet indices, same order


def summarise(
    dists: dict[int, dict[int, float]], outlet_cat: np.ndarray, categories: Sequence[str]
) -> dict[tuple[int, str], RefRow]:
    """Per residence × category, the reached outlets sorted by distance."""
    out: dict[tuple[int, str], RefRow] = {}
    for r, reached in dists.items():
        ids = np.fromiter(reached.keys(), dtype=np.int64, count=len(reached))
        ds = np.fromiter(reached.values(), dtype=np.float64, count=len(reached))
        for c in categories:
            sel = outlet_cat[ids] == c
            order = np.argsort(ds[sel], kind="stable")
            out[(r, c)] = RefRow(ds[sel][order], ids[sel][order])
    return out


def compare_table(
    table: pd.DataFrame,
    residence_ids: np.ndarray,
    outlet_ids: np.ndarray,
    outlet_cat: np.ndarray,
    outlet_snapped: np.ndarray,
    dists: dict[int, dict[int, float]],
    rows: dict[tuple[int, str], RefRow],
    categories: Sequence[str],
    bands_min: Sequence[float],
    bands_m: Sequence[float],
    k: int,
    speed_m_per_min: float,
    tol: float = 0.5,
) -> tuple[list[str], int]:
    """Compare the engine's long table with the reference, field by field.

    ``table`` is indexed by ``(residence_id, category)``; ``dists``/``rows`` come from
    :func:`reference_distances` (run with a cutoff a little beyond the largest band, so that
    outlets within ``tol`` of it are known) and :func:`summarise`.  Distances must agree within
    ``tol``; the nearest outlet may be any outlet tied with the nearest within ``tol``; a band
    count may differ only by outlets lying within ``tol`` of the band's edge.  A category with
    no outlet at all must have missing counts.

    Returns
    -------
    list of str
        Every disagreement, described.
    int
        How many residence × category × band counts had outlets within ``tol`` of the band edge.
    """
    index = {oid: i for i, oid in enumerate(outlet_ids)}
    cutoff = float(bands_m[-1])
    present = set(np.asarray(outlet_cat)[np.asarray(outlet_snapped)].tolist())
    bad: list[str] = []
    boundary = 0
    for r, reached in dists.items():
        rid = residence_ids[r]
        for cat in categories:
            where = f"residence {rid} × {cat}"
            row = table.loc[(rid, cat)]
            ref = rows[(r, cat)]
            within = ref.dists[ref.dists <= cutoff]
            near = row["nearest_m"]
            if within.size == 0:
                if not (math.isnan(near) or near >= cutoff - tol):
                    bad.append(f"{where}: engine nearest {near:.3f}, reference none")
            elif not abs(near - within[0]) <= tol:
                bad.append(f"{where}: nearest {near:.3f} vs reference {within[0]:.3f}")
            elif reached.get(index.get(row["nearest_outlet_id"], -1), np.inf) > within[0] + tol:
                bad.append(f"{where}: nearest outlet {row['nearest_outlet_id']} is not a nearest")
            elif not abs(row["nearest_min"] - near / speed_m_per_min) <= 1e-9 * max(1.0, near):
                bad.append(f"{where}: nearest_min {row['nearest_min']} is not nearest_m / speed")
            eng = np.asarray(row["knn_m"], dtype=float)
            refk = within[:k]
            n = min(eng.size, refk.size)
            if np.any(np.abs(eng[:n] - refk[:n]) > tol):
                bad.append(f"{where}: knn {eng.round(3).tolist()} vs {refk.round(3).tolist()}")
            if np.any(np.concatenate([eng[n:], refk[n:]]) < cutoff - tol):
                bad.append(f"{where}: knn lengths {eng.size} vs reference {refk.size}")
            for oid, d in zip(row["knn_outlet_ids"], eng, strict=True):
                if abs(reached.get(index.get(oid, -1), np.inf) - d) > tol:
                    bad.append(f"{where}: knn outlet {oid} at {d:.3f} m disagrees with reference")
            for minutes, band_m in zip(bands_min, bands_m, strict=True):
                col = f"n_{int(minutes)}min" if float(minutes).is_integer() else f"n_{minutes:g}min"
                got = row[col]
                if cat not in present:
                    if not pd.isna(got):
                        bad.append(f"{where}: no outlet of this 业态 in the input, {col} = {got}")
                    continue
                if pd.isna(got):
                    bad.append(f"{where}: {col} missing although the 业态 has outlets")
                    continue
                lo = int((ref.dists <= band_m - tol).sum())
                hi = int((ref.dists <= band_m + tol).sum())
                boundary += lo != hi
                if not lo <= got <= hi:
                    bad.append(f"{where}: {col} {got} vs reference {lo}..{hi}")
    return bad, boundary
