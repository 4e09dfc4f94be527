"""Numba kernels of the access engine, on CSR arrays.

All distances are metres, float64.  ``inf`` marks "not reached"; the public layer turns it into NaN.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = [
    "bounded_search_nodes",
    "compact_knn",
    "cover_search",
    "grid_cells",
    "origin_searches",
    "snap_grid",
]


@njit(cache=True, inline="always")
def _heap_push(hk: np.ndarray, hv: np.ndarray, size: int, key: float, val: int) -> int:
    i = size
    hk[i] = key
    hv[i] = val
    while i > 0:
        p = (i - 1) >> 1
        if hk[p] <= hk[i]:
            break
        hk[p], hk[i] = hk[i], hk[p]
        hv[p], hv[i] = hv[i], hv[p]
        i = p
    return size + 1


@njit(cache=True, inline="always")
def _heap_pop(hk: np.ndarray, hv: np.ndarray, size: int) -> int:
    size -= 1
    hk[0] = hk[size]
    hv[0] = hv[size]
    i = 0
    while True:
        left = 2 * i + 1
        if left >= size:
            break
        c = left
        if left + 1 < size and hk[left + 1] < hk[left]:
            c = left + 1
        if hk[i] <= hk[c]:
            break
        hk[c], hk[i] = hk[i], hk[c]
        hv[c], hv[i] = hv[i], hv[c]
        i = c
    return size


@njit(cache=True)
def _search(
    seeds_node: np.ndarray,
    seeds_dist: np.ndarray,
    n_seeds: int,
    indptr: np.ndarray,
    nbr: np.ndarray,
    hw: np.ndarray,
    cutoff: float,
    dist: np.ndarray,
    order: np.ndarray,
    hk: np.ndarray,
    hv: np.ndarray,
    hedge: np.ndarray,
    pred_edge: np.ndarray,
) -> int:
    """Dijkstra from seeds (node, initial distance) up to ``cutoff``.

    Fills ``dist`` (must be all inf on entry for the nodes it touches) and writes the settled
    nodes in settling order into ``order``; returns how many were settled.  The caller resets
    ``dist[order[:n]]`` to inf afterwards (and the seeds' entries, which are always settled
    when within the cutoff).  Unless ``pred_edge`` is empty, it gets each reached node's
    predecessor edge (``-1`` for a node reached straight from its seed), for routes.
    """
    record = pred_edge.shape[0] > 0
    size = 0
    for i in range(n_seeds):
        x = seeds_node[i]
        d = seeds_dist[i]
        if d <= cutoff and d < dist[x]:
            dist[x] = d
            if record:
                pred_edge[x] = -1
            size = _heap_push(hk, hv, size, d, x)
    n_settled = 0
    while size > 0:
        d = hk[0]
        x = hv[0]
        size = _heap_pop(hk, hv, size)
        if d > dist[x]:
            continue
        order[n_settled] = x
        n_settled += 1
        for h in range(indptr[x], indptr[x + 1]):
            y = nbr[h]
            nd = d + hw[h]
            if nd < dist[y] and nd <= cutoff:
                dist[y] = nd
                if record:
                    pred_edge[y] = hedge[h]
                size = _heap_push(hk, hv, size, nd, y)
    # a node whose label was lowered but which was never popped cannot exist: every push is popped
    return n_settled


@njit(cache=True, nogil=True)
def tree_search(
    seeds_node: np.ndarray,
    seeds_dist: np.ndarray,
    indptr: np.ndarray,
    nbr: np.ndarray,
    hedge: np.ndarray,
    hw: np.ndarray,
    cutoff: float,
    dist: np.ndarray,
    pred_edge: np.ndarray,
) -> int:
    """Dijkstra from seeds up to ``cutoff`` recording each node's predecessor edge.

    ``dist`` must be all ``inf`` and ``pred_edge`` all ``-1`` on entry; a node reached straight
    from its seed keeps ``pred_edge == -1``.  Returns the number of settled nodes.
    """
    n_seeds = seeds_node.shape[0]
    order = np.empty(indptr.shape[0] - 1, dtype=np.int64)
    hk = np.empty(nbr.shape[0] + n_seeds + 1)
    hv = np.empty(nbr.shape[0] + n_seeds + 1, dtype=np.int64)
    return _search(
        seeds_node, seeds_dist, n_seeds, indptr, nbr, hw, cutoff, dist, order, hk, hv,
        hedge, pred_edge,
    )  # fmt: skip


@njit(cache=True, inline="always")
def _reach_points(
    order: np.ndarray,
    n_settled: int,
    dist: np.ndarray,
    indptr: np.ndarray,
    hedge: np.ndarray,
    edge_u: np.ndarray,
    edge_v: np.ndarray,
    edge_len: np.ndarray,
    p_ptr: np.ndarray,
    p_owner: np.ndarray,
    p_offset: np.ndarray,
    p_access: np.ndarray,
    best: np.ndarray,
    touched: np.ndarray,
    n_touched: int,
) -> int:
    """Lower ``best[owner]`` for the points on edges incident to the settled nodes.

    A point sits on edge ``f`` at ``offset`` from its ``u`` end with an access leg; from a
    settled node it is reached along the edge from whichever end(s) the node is.  Newly reached
    owners are appended to ``touched``; returns the new count.
    """
    for i in range(n_settled):
        x = order[i]
        dx = dist[x]
        for h in range(indptr[x], indptr[x + 1]):
            f = hedge[h]
            lo = p_ptr[f]
            hi = p_ptr[f + 1]
            if lo == hi:
                continue
            from_u = edge_u[f] == x
            from_v = edge_v[f] == x
            for q in range(lo, hi):
                o = p_owner[q]
                t = p_offset[q]
                d = np.inf
                if from_u:
                    d = dx + t
                if from_v:
                    d = min(d, dx + edge_len[f] - t)
                d += p_access[q]
                if d < best[o]:
                    if best[o] == np.inf:
                        touched[n_touched] = o
                        n_touched += 1
                    best[o] = d
    return n_touched


@njit(cache=True, inline="always")
def _emit(
    d: float,
    o: int,
    cat: int,
    bands: np.ndarray,
    hist: np.ndarray,
    kd: np.ndarray,
    ko: np.ndarray,
    k: int,
) -> None:
    """Outlet ``o`` of 业态 ``cat`` at walk ``d``: into the first band it is within (``hist``,
    summed into cumulative counts by the caller) and offered to the 业态's top k (``kd`` is inf
    where empty, so one comparison rejects most offers; ties go to the lower outlet index)."""
    n_bands = bands.shape[0]
    b = 0
    while d > bands[b]:
        b += 1
    hist[cat * n_bands + b] += 1
    base = cat * k
    last = base + k - 1
    if d > kd[last] or (d == kd[last] and o > ko[last]):
        return
    if k > 16:
        # long lists (every neighbour of a residence, say): find the slot by bisection and move
        # only the entries filled so far, not the empty (inf) tail
        lo = base
        hi = last
        while lo < hi:  # the first entry after (d, o)
            mid = (lo + hi) >> 1
            if kd[mid] > d or (kd[mid] == d and ko[mid] > o):
                hi = mid
            else:
                lo = mid + 1
        end = lo
        top = last
        while end < top:  # the first empty entry from there (the last one when full)
            mid = (end + top) >> 1
            if kd[mid] == np.inf:
                top = mid
            else:
                end = mid + 1
        for i in range(end, lo, -1):
            kd[i] = kd[i - 1]
            ko[i] = ko[i - 1]
        kd[lo] = d
        ko[lo] = o
        return
    i = last
    while i > base and (kd[i - 1] > d or (kd[i - 1] == d and ko[i - 1] > o)):
        kd[i] = kd[i - 1]
        ko[i] = ko[i - 1]
        i -= 1
    kd[i] = d
    ko[i] = o


@njit(cache=True, nogil=True)
def origin_searches(
    indptr: np.ndarray,
    nbr: np.ndarray,
    hedge: np.ndarray,
    hw: np.ndarray,
    edge_u: np.ndarray,
    edge_v: np.ndarray,
    edge_len: np.ndarray,
    eo_ptr: np.ndarray,
    eo_outlet: np.ndarray,
    eo_offset: np.ndarray,
    eo_access: np.ndarray,
    outlet_cat: np.ndarray,
    or_ptr: np.ndarray,
    or_edge: np.ndarray,
    or_offset: np.ndarray,
    or_access: np.ndarray,
    cutoff: float,
    bands: np.ndarray,
    start: int,
    stop: int,
    counts: np.ndarray,
    knn_d: np.ndarray,
    knn_o: np.ndarray,
) -> None:
    """For origin groups ``start:stop``, the outlets within ``cutoff`` along the network.

    An origin group (a residence) has one or more origin points (the residence itself, or its
    entrances), each snapped onto an edge at ``offset`` metres from the edge's ``u`` end with a
    straight access leg of ``access`` metres.  The walk distance to an outlet is
    ``origin access + network distance between the two feet + outlet access``; partial edges
    are counted exactly, and two feet on the same edge are joined directly along it.

    One Dijkstra per group from the ends of its origins' edges; then every edge incident to a
    settled node is visited once, and each outlet on it gets ``min(via u, via v)`` (plus, on an
    origin's own edge, the direct walk along it), so that each outlet is counted once without
    a per-outlet scratch array.

    Writes rows ``start:stop`` of ``counts`` (int32, groups × categories × bands: outlets
    within each band), ``knn_d`` (float64, groups × categories × k: the k smallest distances,
    ascending, ``inf`` where fewer were found) and ``knn_o`` (int64: their outlet indices, -1
    where fewer).  Releases the GIL, so threads can run disjoint ranges at once.
    """
    n_nodes = indptr.shape[0] - 1
    n_edges = edge_u.shape[0]
    n_cat = knn_d.shape[1]
    k = knn_d.shape[2]
    n_bands = bands.shape[0]
    max_seeds = 1
    for r in range(start, stop):
        max_seeds = max(max_seeds, or_ptr[r + 1] - or_ptr[r])
    dist = np.full(n_nodes, np.inf)
    order = np.empty(n_nodes, dtype=np.int64)
    hk = np.empty(nbr.shape[0] + 2 * max_seeds + 1)
    hv = np.empty(nbr.shape[0] + 2 * max_seeds + 1, dtype=np.int64)
    seeds_node = np.empty(2 * max_seeds, dtype=np.int64)
    seeds_dist = np.empty(2 * max_seeds)
    own = np.full(n_edges, -1, dtype=np.int64)  # group with an origin on the edge, or done with it
    no_pred = np.empty(0, dtype=np.int64)  # no predecessor edges recorded
    hist = np.zeros(n_cat * n_bands, dtype=np.int32)
    eo_cat = outlet_cat[eo_outlet]  # 业态 in the edge order: read in sequence
    kd = np.full(n_cat * k, np.inf)
    ko = np.full(n_cat * k, -1, dtype=np.int64)
    for r in range(start, stop):
        n_seeds = 0
        for j in range(or_ptr[r], or_ptr[r + 1]):
            e = or_edge[j]
            seeds_node[n_seeds] = edge_u[e]
            seeds_dist[n_seeds] = or_access[j] + or_offset[j]
            seeds_node[n_seeds + 1] = edge_v[e]
            seeds_dist[n_seeds + 1] = or_access[j] + edge_len[e] - or_offset[j]
            n_seeds += 2
            own[e] = r
        n_settled = _search(
            seeds_node, seeds_dist, n_seeds, indptr, nbr, hw, cutoff, dist, order, hk, hv,
            hedge, no_pred,
        )  # fmt: skip
        # edges reached from the settled nodes, each once: from its u end, or from its v end
        # when u was not reached (a loop street, u == v, is listed twice at its node: marked
        # done the first time); an origin's own edge is done below
        for i in range(n_settled):
            x = order[i]
            for h in range(indptr[x], indptr[x + 1]):
                f = hedge[h]
                lo = eo_ptr[f]
                hi = eo_ptr[f + 1]
                if lo == hi or own[f] == r:
                    continue
                du = dist[edge_u[f]]
                if edge_u[f] != x and du < np.inf:
                    continue
                if edge_u[f] == edge_v[f]:
                    own[f] = r
                dv = dist[edge_v[f]]
                ln = edge_len[f]
                for q in range(lo, hi):
                    t = eo_offset[q]
                    d = min(du + t, dv + ln - t) + eo_access[q]
                    if d <= cutoff:
                        _emit(d, eo_outlet[q], eo_cat[q], bands, hist, kd, ko, k)
        # the origins' own edges: the direct walk along the edge, or round through either end
        for j in range(or_ptr[r], or_ptr[r + 1]):
            e = or_edge[j]
            if own[e] != r:
                continue  # a second origin on an edge already done
            own[e] = -1
            du = dist[edge_u[e]]
            dv = dist[edge_v[e]]
            ln = edge_len[e]
            for q in range(eo_ptr[e], eo_ptr[e + 1]):
                t = eo_offset[q]
                d = min(du + t, dv + ln - t)
                for j2 in range(j, or_ptr[r + 1]):
                    if or_edge[j2] == e:
                        d = min(d, or_access[j2] + abs(or_offset[j2] - t))
                d += eo_access[q]
                if d <= cutoff:
                    _emit(d, eo_outlet[q], eo_cat[q], bands, hist, kd, ko, k)
        for i in range(n_settled):
            dist[order[i]] = np.inf
        for i in range(n_seeds):
            dist[seeds_node[i]] = np.inf
        for c in range(n_cat):
            within = 0
            for b in range(n_bands):
                within += hist[c * n_bands + b]
                counts[r, c, b] = within
                hist[c * n_bands + b] = 0
            for j in range(k):
                knn_d[r, c, j] = kd[c * k + j]
                knn_o[r, c, j] = ko[c * k + j]
                kd[c * k + j] = np.inf
                ko[c * k + j] = -1


@njit(cache=True, nogil=True)
def compact_knn(knn_d: np.ndarray, knn_o: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The k-nearest arrays (rows × k, ``-1`` where fewer were found) as list columns:
    ``(offsets, outlet indices, distances)`` of the entries found, row after row."""
    rows, k = knn_o.shape
    offsets = np.empty(rows + 1, dtype=np.int32)
    n = 0
    for i in range(rows):
        offsets[i] = n
        for j in range(k):
            if knn_o[i, j] >= 0:
                n += 1
    offsets[rows] = n
    ids = np.empty(n, dtype=np.int32)
    dist = np.empty(n)
    n = 0
    for i in range(rows):
        for j in range(k):
            if knn_o[i, j] >= 0:
                ids[n] = knn_o[i, j]
                dist[n] = knn_d[i, j]
                n += 1
    return offsets, ids, dist


@njit(cache=True)
def bounded_search_nodes(
    seeds_node: np.ndarray,
    seeds_dist: np.ndarray,
    indptr: np.ndarray,
    nbr: np.ndarray,
    hw: np.ndarray,
    cutoff: float,
) -> np.ndarray:
    """Node distances from seeds up to ``cutoff`` (``inf`` beyond), for walking areas."""
    n_nodes = indptr.shape[0] - 1
    dist = np.full(n_nodes, np.inf)
    order = np.empty(n_nodes, dtype=np.int64)
    hk = np.empty(nbr.shape[0] + seeds_node.shape[0] + 1)
    hv = np.empty(nbr.shape[0] + seeds_node.shape[0] + 1, dtype=np.int64)
    _search(
        seeds_node, seeds_dist, seeds_node.shape[0], indptr, nbr, hw, cutoff, dist, order, hk, hv,
        np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64),
    )  # fmt: skip
    return dist


@njit(cache=True)
def grid_cells(
    x0: np.ndarray,
    y0: np.ndarray,
    x1: np.ndarray,
    y1: np.ndarray,
    minx: float,
    miny: float,
    cell: float,
    nx: int,
    ny: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Bucket segments into a regular grid by their bounding boxes: ``(cell_start, items)``."""
    n = x0.shape[0]
    counts = np.zeros(nx * ny + 1, dtype=np.int64)
    for i in range(n):
        ax = int((min(x0[i], x1[i]) - minx) / cell)
        bx = int((max(x0[i], x1[i]) - minx) / cell)
        ay = int((min(y0[i], y1[i]) - miny) / cell)
        by = int((max(y0[i], y1[i]) - miny) / cell)
        for gx in range(ax, bx + 1):
            for gy in range(ay, by + 1):
                counts[gy * nx + gx + 1] += 1
    start = np.cumsum(counts)
    fill = start[:-1].copy()
    items = np.empty(start[-1], dtype=np.int64)
    for i in range(n):
        ax = int((min(x0[i], x1[i]) - minx) / cell)
        bx = int((max(x0[i], x1[i]) - minx) / cell)
        ay = int((min(y0[i], y1[i]) - miny) / cell)
        by = int((max(y0[i], y1[i]) - miny) / cell)
        for gx in range(ax, bx + 1):
            for gy in range(ay, by + 1):
                c = gy * nx + gx
                items[fill[c]] = i
                fill[c] += 1
    return start, items


@njit(cache=True, nogil=True)
def snap_grid(
    px: np.ndarray,
    py: np.ndarray,
    x0: np.ndarray,
    y0: np.ndarray,
    x1: np.ndarray,
    y1: np.ndarray,
    seg_edge: np.ndarray,
    seg_along: np.ndarray,
    cell_start: np.ndarray,
    items: np.ndarray,
    minx: float,
    miny: float,
    cell: float,
    nx: int,
    ny: int,
    max_d: float,
    edge: np.ndarray,
    along: np.ndarray,
    dist: np.ndarray,
    fx: np.ndarray,
    fy: np.ndarray,
) -> None:
    """Nearest segment within ``max_d`` of each point.

    Writes the edge, the distance along the edge's geometry to the perpendicular foot, the
    distance to it and the foot; ``edge = -1`` where no segment is within ``max_d``.  Ties go to
    the lower segment index, so results are deterministic.

    The cells are searched in square rings around the point's cell, out to ``max_d``: once
    rings ``0..r`` are done, a segment not yet seen touches none of those cells, so it is at
    least as far as the border of their block: ``r × cell`` plus the point's distance to the
    border of its own cell.  The search stops as soon as the best distance is below that
    (strictly, so ties are all seen); a point a few metres from a street is done in its own cell.
    """
    rings = int(np.ceil(max_d / cell))
    for i in range(px.shape[0]):
        x = px[i]
        y = py[i]
        best = max_d
        bs = -1
        bt = 0.0
        gx = int((x - minx) / cell)
        gy = int((y - miny) / cell)
        ix = x - minx - gx * cell
        iy = y - miny - gy * cell
        inner = min(min(ix, cell - ix), min(iy, cell - iy))
        for r in range(rings + 1):
            if bs != -1 and best < (r - 1) * cell + inner:
                break
            for cy in range(gy - r, gy + r + 1):
                if cy < 0 or cy >= ny:
                    continue
                ring_row = cy == gy - r or cy == gy + r
                step = 1 if ring_row else 2 * r
                for cx in range(gx - r, gx + r + 1, max(step, 1)):
                    if cx < 0 or cx >= nx:
                        continue
                    c = cy * nx + cx
                    for q in range(cell_start[c], cell_start[c + 1]):
                        s = items[q]
                        dx = x1[s] - x0[s]
                        dy = y1[s] - y0[s]
                        ll = dx * dx + dy * dy
                        t = 0.0
                        if ll > 0.0:
                            t = ((x - x0[s]) * dx + (y - y0[s]) * dy) / ll
                            t = min(1.0, max(0.0, t))
                        ex = x0[s] + t * dx - x
                        ey = y0[s] + t * dy - y
                        d = np.sqrt(ex * ex + ey * ey)
                        if d < best or (d == best and bs != -1 and s < bs):
                            best = d
                            bs = s
                            bt = t
        if bs == -1:
            edge[i] = -1
            continue
        dx = x1[bs] - x0[bs]
        dy = y1[bs] - y0[bs]
        edge[i] = seg_edge[bs]
        along[i] = seg_along[bs] + bt * np.sqrt(dx * dx + dy * dy)
        dist[i] = best
        fx[i] = x0[bs] + bt * dx
        fy[i] = y0[bs] + bt * dy


@njit(cache=True, nogil=True)
def cover_search(
    indptr: np.ndarray,
    nbr: np.ndarray,
    hedge: np.ndarray,
    hw: np.ndarray,
    edge_u: np.ndarray,
    edge_v: np.ndarray,
    edge_len: np.ndarray,
    ed_ptr: np.ndarray,
    ed_owner: np.ndarray,
    ed_offset: np.ndarray,
    ed_access: np.ndarray,
    n_owner: int,
    src_edge: np.ndarray,
    src_offset: np.ndarray,
    src_access: np.ndarray,
    cutoff: float,
    start: int,
    stop: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points within ``cutoff`` of each source ``start:stop``, walking along the network.

    A source (a candidate site) sits on edge ``src_edge`` at ``src_offset`` metres from the
    edge's ``u`` end, with a straight access leg ``src_access``.  The points (demand origins) are
    listed per edge in ``ed_*`` (CSR by edge: owner index, offset, access leg); an owner (a
    residence) with several points takes its nearest one.  The walk distance is the one of the
    access engine: access leg + network distance between the feet (partial edges exact, two
    feet on one edge joined directly along it) + access leg.

    Returns ``(counts, owner, dist)``: per source the number of owners found, then the owners
    and distances of every source one after the other (in the order found).
    """
    n_nodes = indptr.shape[0] - 1
    dist = np.full(n_nodes, np.inf)
    order = np.empty(n_nodes, dtype=np.int64)
    hk = np.empty(nbr.shape[0] + 3)
    hv = np.empty(nbr.shape[0] + 3, dtype=np.int64)
    best = np.full(max(n_owner, 1), np.inf)
    touched = np.empty(max(n_owner, 1), dtype=np.int64)
    seeds_node = np.empty(2, dtype=np.int64)
    seeds_dist = np.empty(2)
    no_pred = np.empty(0, dtype=np.int64)
    cap = 1024
    out_owner = np.empty(cap, dtype=np.int64)
    out_dist = np.empty(cap)
    n_out = 0
    counts = np.zeros(stop - start, dtype=np.int64)
    for s in range(start, stop):
        e = src_edge[s]
        if e < 0:
            continue
        t = src_offset[s]
        a = src_access[s]
        seeds_node[0] = edge_u[e]
        seeds_dist[0] = a + t
        seeds_node[1] = edge_v[e]
        seeds_dist[1] = a + edge_len[e] - t
        n_touched = 0
        for q in range(ed_ptr[e], ed_ptr[e + 1]):
            o = ed_owner[q]
            d = a + abs(t - ed_offset[q]) + ed_access[q]
            if d < best[o]:
                if best[o] == np.inf:
                    touched[n_touched] = o
                    n_touched += 1
                best[o] = d
        n_settled = _search(
            seeds_node, seeds_dist, 2, indptr, nbr, hw, cutoff, dist, order, hk, hv, hedge, no_pred
        )
        n_touched = _reach_points(
            order, n_settled, dist, indptr, hedge, edge_u, edge_v, edge_len,
            ed_ptr, ed_owner, ed_offset, ed_access, best, touched, n_touched,
        )  # fmt: skip
        for i in range(n_settled):
            dist[order[i]] = np.inf
        dist[seeds_node[0]] = np.inf
        dist[seeds_node[1]] = np.inf
        for i in range(n_touched):
            o = touched[i]
            d = best[o]
            best[o] = np.inf
            if d > cutoff:
                continue
            if n_out == cap:
                cap *= 2
                grown_o = np.empty(cap, dtype=np.int64)
                grown_d = np.empty(cap)
                grown_o[:n_out] = out_owner[:n_out]
                grown_d[:n_out] = out_dist[:n_out]
                out_owner = grown_o
                out_dist = grown_d
            out_owner[n_out] = o
            out_dist[n_out] = d
            n_out += 1
            counts[s - start] += 1
    return counts, out_owner[:n_out].copy(), out_dist[:n_out].copy()


# ----------------------------------------------------------------------------------- helpers
