"""Walking routes along the network: from a point to outlets, partial edges exact.

The distance is the one of :mod:`lifecircle.access.engine`::

    walk = access leg at the origin (point → its foot on the nearest edge)
         + shortest network distance between the two feet (partial edges exact; two feet on one
           edge also joined directly along it)
         + access leg at the destination (foot → point)

so a route's length equals the ``nearest_m`` that :func:`~lifecircle.access.compute_access`
reports for the same pair.  A bounded Dijkstra search (numba) records each node's predecessor
edge, and the route's geometry is stitched from the edge geometries, cut exactly at both feet.

:class:`NetworkRouter` keeps what repeated queries need (CSR adjacency, snapping grid, edge
vertex tables in the network CRS and in WGS-84), so one query costs a bounded search around the
point — a few milliseconds on a city network.  :func:`walking_route` is the one-off form.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyproj
import shapely
from numba import njit

from lifecircle.access._kernels import _heap_pop, _heap_push, snap_grid, tree_search
from lifecircle.access._snap import Snapped, _segment_grid, snap_points
from lifecircle.access.engine import DEFAULT_MAX_SNAP_M, _check_network
from lifecircle.errors import InputError, Problem
from lifecircle.network import WalkNetwork

__all__ = ["NetworkRouter", "Route", "SearchTree", "Targets", "walking_route"]


@njit(cache=True, inline="always")
def _insert_best(kd: np.ndarray, ko: np.ndarray, n: int, d: float, o: int) -> int:
    """Insert or improve target ``o`` in the ascending top-k lists holding ``n`` entries."""
    k = kd.shape[0]
    for i in range(n):
        if ko[i] == o:
            if d >= kd[i]:
                return n
            # remove it, then insert again below
            for j in range(i, n - 1):
                kd[j] = kd[j + 1]
                ko[j] = ko[j + 1]
            n -= 1
            break
    if n == k and (d > kd[k - 1] or (d == kd[k - 1] and o > ko[k - 1])):
        return n
    i = n if n < k else k - 1
    while i > 0 and (kd[i - 1] > d or (kd[i - 1] == d and ko[i - 1] > o)):
        kd[i] = kd[i - 1]
        ko[i] = ko[i - 1]
        i -= 1
    kd[i] = d
    ko[i] = o
    return n + 1 if n < k else n


@njit(cache=True, nogil=True)
def _nearest_search(
    e0: int,
    s: float,
    a: float,
    indptr: np.ndarray,
    nbr: np.ndarray,
    hedge: np.ndarray,
    hw: np.ndarray,
    edge_u: np.ndarray,
    edge_v: np.ndarray,
    edge_len: np.ndarray,
    eo_ptr: np.ndarray,
    eo_item: np.ndarray,
    eo_offset: np.ndarray,
    eo_access: np.ndarray,
    item_group: np.ndarray,
    wanted: np.ndarray,
    cutoff: float,
    dist: np.ndarray,
    pred_edge: np.ndarray,
    kd: np.ndarray,
    ko: np.ndarray,
) -> int:
    """The ``len(kd)`` nearest targets of the wanted groups from a foot on edge ``e0``.

    Distances as in :func:`lifecircle.access._kernels.origin_searches`; the search stops once
    the nodes left are farther than the k-th target found.  Fills ``dist``/``pred_edge`` (all
    ``inf``/``-1`` on entry) and ``kd``/``ko``; returns how many targets were found.
    """
    found = 0
    # targets on the origin's own edge: straight along it
    for q in range(eo_ptr[e0], eo_ptr[e0 + 1]):
        o = eo_item[q]
        if not wanted[item_group[o]]:
            continue
        d = a + abs(s - eo_offset[q]) + eo_access[q]
        if d <= cutoff:
            found = _insert_best(kd, ko, found, d, o)
    hk = np.empty(nbr.shape[0] + 3)
    hv = np.empty(nbr.shape[0] + 3, dtype=np.int64)
    size = 0
    seeds = ((edge_u[e0], a + s), (edge_v[e0], a + edge_len[e0] - s))
    for x, d in seeds:
        if d <= cutoff and d < dist[x]:
            dist[x] = d
            size = _heap_push(hk, hv, size, d, x)
    k = kd.shape[0]
    while size > 0:
        d = hk[0]
        x = hv[0]
        size = _heap_pop(hk, hv, size)
        if d > dist[x]:
            continue
        if found == k and d > kd[k - 1]:
            break
        for h in range(indptr[x], indptr[x + 1]):
            f = hedge[h]
            for q in range(eo_ptr[f], eo_ptr[f + 1]):
                o = eo_item[q]
                if not wanted[item_group[o]]:
                    continue
                t = eo_offset[q]
                c = np.inf
                if edge_u[f] == x:
                    c = d + t
                if edge_v[f] == x:
                    c = min(c, d + edge_len[f] - t)
                c += eo_access[q]
                if c <= cutoff:
                    found = _insert_best(kd, ko, found, c, o)
            y = nbr[h]
            nd = d + hw[h]
            if nd < dist[y] and nd <= cutoff:
                dist[y] = nd
                pred_edge[y] = f
                size = _heap_push(hk, hv, size, nd, y)
    return found


@njit(cache=True, nogil=True)
def _route_coords(
    table: np.ndarray,
    ptr: np.ndarray,
    along: np.ndarray,
    edge_u: np.ndarray,
    edge_v: np.ndarray,
    edge_len: np.ndarray,
    dist: np.ndarray,
    pred_edge: np.ndarray,
    e0: int,
    s: float,
    a: float,
    e: int,
    t: float,
) -> np.ndarray:
    """Coordinates of the walk from the foot ``(e0, s)`` to the foot ``(e, t)`` (see ``path``)."""
    du = dist[edge_u[e]] + t
    dv = dist[edge_v[e]] + (edge_len[e] - t)
    via = min(du, dv)
    if e == e0 and a + abs(s - t) <= via:
        n_chain = 0
        chain = np.empty(0, dtype=np.int64)
        end = -1
        node = -1
    else:
        end = edge_u[e] if du <= dv else edge_v[e]
        n_chain = 0
        node = end
        while pred_edge[node] >= 0 and n_chain <= dist.shape[0]:
            f = pred_edge[node]
            node = edge_u[f] if edge_v[f] == node else edge_v[f]
            n_chain += 1
        chain = np.empty(n_chain, dtype=np.int64)
        node = end
        for i in range(n_chain):
            f = pred_edge[node]
            chain[n_chain - 1 - i] = f
            node = edge_u[f] if edge_v[f] == node else edge_v[f]
    size = 4
    for i in range(n_chain):
        size += ptr[chain[i] + 1] - ptr[chain[i]]
    size += ptr[e0 + 1] - ptr[e0] + ptr[e + 1] - ptr[e]
    out = np.empty((size, 2))
    n = 0
    if end < 0:
        return out[: _piece_into(out, 0, table, ptr, along, e0, s, t)]
    # the seed: the end of the origin's edge reached straight from the foot
    seed = node
    from_u = seed == edge_u[e0] and dist[seed] == a + s
    n = _piece_into(out, n, table, ptr, along, e0, s, 0.0 if from_u else edge_len[e0])
    node = seed
    for i in range(n_chain):
        f = chain[i]
        forward = edge_u[f] == node
        p0 = ptr[f]
        p1 = ptr[f + 1]
        if forward:
            for j in range(p0, p1):
                out[n, 0] = table[j, 0]
                out[n, 1] = table[j, 1]
                n += 1
            node = edge_v[f]
        else:
            for j in range(p1 - 1, p0 - 1, -1):
                out[n, 0] = table[j, 0]
                out[n, 1] = table[j, 1]
                n += 1
            node = edge_u[f]
    start = 0.0 if end == edge_u[e] else edge_len[e]
    n = _piece_into(out, n, table, ptr, along, e, start, t)
    return out[:n]


@njit(cache=True, inline="always")
def _interp_at(
    table: np.ndarray, along: np.ndarray, p0: int, p1: int, m: float
) -> tuple[float, float]:
    if m <= along[p0]:
        return table[p0, 0], table[p0, 1]
    for j in range(p0 + 1, p1):
        if along[j] >= m:
            span = along[j] - along[j - 1]
            w = (m - along[j - 1]) / span if span > 0 else 0.0
            return (
                table[j - 1, 0] + w * (table[j, 0] - table[j - 1, 0]),
                table[j - 1, 1] + w * (table[j, 1] - table[j - 1, 1]),
            )
    return table[p1 - 1, 0], table[p1 - 1, 1]


@njit(cache=True)
def _piece_into(
    out: np.ndarray,
    n: int,
    table: np.ndarray,
    ptr: np.ndarray,
    along: np.ndarray,
    e: int,
    a: float,
    b: float,
) -> int:
    """Append the stretch of edge ``e`` from ``a`` to ``b`` metres (b < a: backwards)."""
    p0 = ptr[e]
    p1 = ptr[e + 1]
    x, y = _interp_at(table, along, p0, p1, a)
    out[n, 0] = x
    out[n, 1] = y
    n += 1
    if a <= b:
        for j in range(p0, p1):
            if a < along[j] < b:
                out[n, 0] = table[j, 0]
                out[n, 1] = table[j, 1]
                n += 1
    else:
        for j in range(p1 - 1, p0 - 1, -1):
            if b < along[j] < a:
                out[n, 0] = table[j, 0]
                out[n, 1] = table[j, 1]
                n += 1
    x, y = _interp_at(table, along, p0, p1, b)
    out[n, 0] = x
    out[n, 1] = y
    return n + 1


@dataclass(frozen=True)
class SearchTree:
    """The result of one bounded search from a point.

    Attributes
    ----------
    x, y
        The origin in the network CRS.
    edge, offset, access_m
        Where the origin meets the network: its edge, the metres from the edge's ``u`` end to the
        foot, and the straight access leg.
    cutoff_m
        Search radius in walking metres (access leg included).
    dist
        Walking metres from the origin to every node (access leg included; ``inf`` beyond the
        cutoff).
    pred_edge
        The edge by which each node was reached (``-1`` for the origin edge's own ends reached
        straight from the foot, and for unreached nodes).
    """

    x: float
    y: float
    edge: int
    offset: float
    access_m: float
    cutoff_m: float
    dist: np.ndarray
    pred_edge: np.ndarray


@dataclass(frozen=True)
class Route:
    """A walking route from an origin point to a destination point.

    Attributes
    ----------
    distance_m
        Walking metres (both access legs included), as in the access engine.
    geometry
        LineString in the network CRS: origin point → its foot → along the streets → the
        destination's foot → the destination point.
    origin_access_m, destination_access_m
        The straight access legs at both ends.
    """

    distance_m: float
    geometry: shapely.LineString
    origin_access_m: float
    destination_access_m: float


@dataclass(frozen=True)
class Targets:
    """Snapped destinations (outlets) grouped by edge, for :meth:`NetworkRouter.nearest`.

    Build with :meth:`NetworkRouter.targets`.  Target ``i`` is the ``i``-th destination given;
    ``group`` is its group (e.g. a 业态 index) used to filter a query; ``group_counts`` counts
    the snapped targets of each group.
    """

    ptr: np.ndarray
    item: np.ndarray
    offset: np.ndarray
    access: np.ndarray
    group: np.ndarray
    n_groups: int
    group_counts: np.ndarray
    edge: np.ndarray
    target_offset: np.ndarray


class NetworkRouter:
    """Bounded searches and routes on one network, for many queries.

    Parameters
    ----------
    network
        Walking network in a projected metric CRS.
    max_snap_m
        Points farther than this from every edge are not routed.

    Examples
    --------
    >>> import numpy as np
    >>> from lifecircle.testing import line_network
    >>> net = line_network([(0, 0), (100, 0), (100, 100)])
    >>> router = NetworkRouter(net)
    >>> snap = router.snap(np.array([100.0, 20.0]), np.array([60.0, -3.0]))
    >>> targets = router.targets(snap.edge, snap.offset, snap.access_m)
    >>> tree, found, dist = router.nearest(10.0, 5.0, targets, k=2, cutoff_m=1000.0)
    >>> found.tolist(), dist.tolist()  # 5 + 10 + 3 m, then 5 + 90 + 60 m
    ([1, 0], [18.0, 155.0])
    >>> router.path(tree, int(snap.edge[0]), float(snap.offset[0])).tolist()
    [[10.0, 0.0], [100.0, 0.0], [100.0, 60.0]]
    """

    def __init__(self, network: WalkNetwork, *, max_snap_m: float = DEFAULT_MAX_SNAP_M) -> None:
        _check_network(network)
        self.network = network
        self.max_snap_m = float(max_snap_m)
        indptr, nbr, hedge, hw = network.csr
        self._csr = (
            indptr.astype(np.int64),
            nbr.astype(np.int64),
            hedge.astype(np.int64),
            hw.astype(np.float64),
        )
        self._u = network.edge_u.astype(np.int64)
        self._v = network.edge_v.astype(np.int64)
        self._len = network.edge_length.astype(np.float64)
        coords, owner = shapely.get_coordinates(network.edge_geometry, return_index=True)
        counts = np.bincount(owner, minlength=network.n_edges)
        self._ptr = np.zeros(network.n_edges + 1, dtype=np.int64)
        np.cumsum(counts, out=self._ptr[1:])
        self._xy = np.ascontiguousarray(coords[:, :2], dtype=np.float64)
        # distance along each edge at its vertices, scaled to edge_length (as snapping does)
        step = np.zeros(len(coords))
        same = owner[1:] == owner[:-1]
        seg = np.hypot(np.diff(coords[:, 0]), np.diff(coords[:, 1]))
        step[1:] = np.where(same, seg, 0.0)
        csum = np.cumsum(step)
        along = csum - csum[self._ptr[:-1][owner]]
        geom_len = np.asarray(network._geometry_length, dtype=np.float64)
        scale = np.divide(self._len, geom_len, out=np.ones_like(self._len), where=geom_len > 0)
        self._along = np.ascontiguousarray(along * scale[owner])
        to_wgs = pyproj.Transformer.from_crs(network.crs, 4326, always_xy=True)
        lon, lat = to_wgs.transform(self._xy[:, 0], self._xy[:, 1])
        self._lonlat = np.ascontiguousarray(np.column_stack([np.asarray(lon), np.asarray(lat)]))
        self._scale = scale
        self._grid = _segment_grid(network, self.max_snap_m)  # cached on the network

    # ------------------------------------------------------------------------------------------
    def snap(self, x: np.ndarray, y: np.ndarray) -> Snapped:
        """Snap points (network CRS) onto their nearest edges (see :func:`snap_points`)."""
        return snap_points(
            self.network,
            np.asarray(x, dtype=np.float64),
            np.asarray(y, dtype=np.float64),
            max_snap_m=self.max_snap_m,
        )

    def _snap_origin(self, x: float, y: float) -> tuple[int, float, float]:
        # one point: the snapping kernel called directly (what snap_points does, minus the
        # array bookkeeping that costs more than the search for a single point)
        e = np.full(1, -1, dtype=np.int64)
        along = np.empty(1)
        dist = np.empty(1)
        fx = np.empty(1)
        fy = np.empty(1)
        if np.isfinite(x) and np.isfinite(y):
            kernel: Any = snap_grid
            kernel(
                np.array([x]), np.array([y]), *self._grid, self.max_snap_m, e, along, dist, fx, fy
            )
        if e[0] >= 0:
            edge = int(e[0])
            offset = min(max(float(along[0]) * self._scale[edge], 0.0), float(self._len[edge]))
            return edge, offset, float(dist[0])
        snap = self.snap(np.array([x]), np.array([y]))
        if not snap.ok[0]:
            raise InputError(
                Problem(
                    f"the point ({x:.1f}, {y:.1f}) has no walkable street within "
                    f"{self.max_snap_m:g} m",
                    field="point",
                    fix="pick a point nearer to a street of the city's network",
                ),
                "point",
            )
        return int(snap.edge[0]), float(snap.offset[0]), float(snap.access_m[0])

    def search(self, x: float, y: float, *, cutoff_m: float) -> SearchTree:
        """Bounded search from a point (network CRS) up to ``cutoff_m`` walking metres.

        Raises
        ------
        InputError
            The point has no walkable edge within ``max_snap_m``.
        """
        e0, s, a = self._snap_origin(x, y)
        n = self.network.n_nodes
        dist = np.full(n, np.inf)
        pred = np.full(n, -1, dtype=np.int64)
        seeds = np.array([self._u[e0], self._v[e0]], dtype=np.int64)
        seed_d = np.array([a + s, a + self._len[e0] - s])
        indptr, nbr, hedge, hw = self._csr
        kernel: Any = tree_search  # a numba dispatcher
        kernel(seeds, seed_d, indptr, nbr, hedge, hw, float(cutoff_m), dist, pred)
        return SearchTree(float(x), float(y), e0, s, a, float(cutoff_m), dist, pred)

    def targets(
        self,
        edge: np.ndarray,
        offset: np.ndarray,
        access_m: np.ndarray,
        group: np.ndarray | None = None,
    ) -> Targets:
        """Index snapped destinations by edge (unsnapped ones, ``edge == -1``, are left out)."""
        e = np.asarray(edge, dtype=np.int64)
        off = np.asarray(offset, dtype=np.float64)
        acc = np.asarray(access_m, dtype=np.float64)
        grp = np.zeros(e.size, dtype=np.int64) if group is None else np.asarray(group, np.int64)
        ok = np.flatnonzero(e >= 0)
        order = ok[np.lexsort((off[ok], e[ok]))]
        ptr = np.zeros(self.network.n_edges + 1, dtype=np.int64)
        np.cumsum(np.bincount(e[ok], minlength=self.network.n_edges), out=ptr[1:])
        return Targets(
            ptr=ptr,
            item=order.astype(np.int64),
            offset=off[order],
            access=acc[order],
            group=grp,
            n_groups=int(grp.max()) + 1 if grp.size else 1,
            group_counts=np.bincount(grp[ok], minlength=int(grp.max()) + 1 if grp.size else 1),
            edge=e,
            target_offset=off,
        )

    def nearest(
        self,
        x: float,
        y: float,
        targets: Targets,
        *,
        k: int,
        cutoff_m: float,
        groups: Sequence[int] | None = None,
    ) -> tuple[SearchTree, np.ndarray, np.ndarray]:
        """The ``k`` nearest targets (of ``groups``, default all) from a point (network CRS).

        The search stops as soon as every node left is farther than the k-th target found, so a
        query costs a search around the point only.

        Returns
        -------
        tree, found, distances
            The (partial) search tree for :meth:`path`, the target indices nearest first (ties
            by index) and their walking metres.
        """
        e0, s, a = self._snap_origin(x, y)
        n = self.network.n_nodes
        dist = np.full(n, np.inf)
        pred = np.full(n, -1, dtype=np.int64)
        wanted = np.zeros(max(targets.n_groups, 1), dtype=np.bool_)
        if groups is None:
            wanted[:] = True
        else:
            g = np.asarray(list(groups), dtype=np.int64)
            wanted[g[(g >= 0) & (g < wanted.size)]] = True
        # no more than the snapped targets of the wanted groups can be found: asking for just
        # that many lets the search stop once it has them all
        present = int(targets.group_counts[wanted[: targets.group_counts.size]].sum())
        k_eff = min(int(k), present)
        if k_eff == 0:
            tree = SearchTree(float(x), float(y), e0, s, a, float(cutoff_m), dist, pred)
            return tree, np.zeros(0, dtype=np.int64), np.zeros(0)
        kd = np.full(k_eff, np.inf)
        ko = np.full(k_eff, -1, dtype=np.int64)
        indptr, nbr, hedge, hw = self._csr
        kernel: Any = _nearest_search
        found = kernel(
            e0, s, a, indptr, nbr, hedge, hw, self._u, self._v, self._len,
            targets.ptr, targets.item, targets.offset, targets.access, targets.group, wanted,
            float(cutoff_m), dist, pred, kd, ko,
        )  # fmt: skip
        tree = SearchTree(float(x), float(y), e0, s, a, float(cutoff_m), dist, pred)
        return tree, ko[:found].copy(), kd[:found].copy()

    def distances(
        self, tree: SearchTree, edge: np.ndarray, offset: np.ndarray, access_m: np.ndarray
    ) -> np.ndarray:
        """Walking metres from a full search's origin to snapped destinations.

        ``tree`` must come from :meth:`search`; ``edge``, ``offset`` and ``access_m`` describe
        the destinations' feet as :class:`~lifecircle.access.Snapped` does.  Unsnapped ones
        (``edge == -1``) and those beyond the cutoff get ``inf``.
        """
        e = np.asarray(edge, dtype=np.int64)
        t = np.asarray(offset, dtype=np.float64)
        ok = e >= 0
        ee = np.where(ok, e, 0)
        du = tree.dist[self._u[ee]] + t
        dv = tree.dist[self._v[ee]] + (self._len[ee] - t)
        d = np.minimum(du, dv)
        same = ok & (e == tree.edge)
        if same.any():
            direct = tree.access_m + np.abs(tree.offset - t[same])
            d[same] = np.minimum(direct, d[same])
        d = d + np.asarray(access_m, dtype=np.float64)
        d[~ok | ~(d <= tree.cutoff_m)] = np.inf
        return d

    # ------------------------------------------------------------------------------------------
    def point_at(self, edge: int, offset: float, *, wgs84: bool = False) -> np.ndarray:
        """The point ``offset`` metres along ``edge`` from its ``u`` end, ``[x, y]``."""
        table = self._lonlat if wgs84 else self._xy
        fn: Any = _interp_at
        x, y = fn(table, self._along, self._ptr[edge], self._ptr[edge + 1], float(offset))
        return np.array([x, y])

    def path(
        self, tree: SearchTree, edge: int, offset: float, *, wgs84: bool = False
    ) -> np.ndarray:
        """Coordinates of the walk from the origin's foot to a destination's foot.

        Parameters
        ----------
        tree
            A search (:meth:`search` or :meth:`nearest`) that reached the destination.
        edge, offset
            The destination's foot (edge index, metres from its ``u`` end).
        wgs84
            Return longitude/latitude instead of network-CRS coordinates.

        Returns
        -------
        numpy.ndarray
            ``(n, 2)`` coordinates, consecutive duplicates removed.
        """
        e = int(edge)
        t = float(offset)
        via = min(tree.dist[self._u[e]] + t, tree.dist[self._v[e]] + (self._len[e] - t))
        if not np.isfinite(via) and not (
            e == tree.edge and tree.access_m + abs(tree.offset - t) <= tree.cutoff_m
        ):
            raise InputError(
                f"edge {e} is not reached within {tree.cutoff_m:g} m of the origin", "route"
            )
        fn: Any = _route_coords
        coords = fn(
            self._lonlat if wgs84 else self._xy, self._ptr, self._along, self._u, self._v,
            self._len, tree.dist, tree.pred_edge, tree.edge, tree.offset, tree.access_m, e, t,
        )  # fmt: skip
        return _dedupe(coords)

    def routes_wgs84(
        self,
        tree: SearchTree,
        edges: np.ndarray,
        offsets: np.ndarray,
        origin: tuple[float, float],
        ends: np.ndarray,
        decimals: int = 7,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Longitude/latitude of the walks from ``origin`` to each of ``ends`` (destinations
        whose feet are ``edges``/``offsets``, all reached by ``tree``), rounded to ``decimals``:
        :meth:`path` with the two end points, for many destinations in one call.

        Returns
        -------
        coords, bounds
            Route ``i`` is ``coords[bounds[i]:bounds[i + 1]]`` (at least two points).
        """
        fn: Any = _routes_kernel
        coords, bounds = fn(
            self._lonlat, self._ptr, self._along, self._u, self._v, self._len, tree.dist,
            tree.pred_edge, tree.edge, tree.offset, tree.access_m,
            np.asarray(edges, dtype=np.int64), np.asarray(offsets, dtype=np.float64),
            np.round(np.asarray(origin, dtype=np.float64), decimals),
            np.round(np.asarray(ends, dtype=np.float64).reshape(-1, 2), decimals), decimals,
        )  # fmt: skip
        return np.asarray(coords), np.asarray(bounds)

    def route(
        self,
        tree: SearchTree,
        edge: int,
        offset: float,
        access_m: float,
        destination: tuple[float, float],
    ) -> Route:
        """The route (network CRS) from a full search's origin to a snapped destination point."""
        d = float(
            self.distances(tree, np.array([edge]), np.array([offset]), np.array([access_m]))[0]
        )
        if not np.isfinite(d):
            raise InputError(
                f"the destination is farther than {tree.cutoff_m:g} walking metres", "route"
            )
        coords = np.vstack(
            [[tree.x, tree.y], self.path(tree, edge, offset), [destination[0], destination[1]]]
        )
        coords = _dedupe(coords)
        if len(coords) < 2:
            coords = np.vstack([coords, coords])
        return Route(d, shapely.LineString(coords), tree.access_m, float(access_m))


@njit(cache=True, nogil=True)
def _routes_kernel(
    table: np.ndarray,
    ptr: np.ndarray,
    along: np.ndarray,
    edge_u: np.ndarray,
    edge_v: np.ndarray,
    edge_len: np.ndarray,
    dist: np.ndarray,
    pred_edge: np.ndarray,
    e0: int,
    s: float,
    a: float,
    edges: np.ndarray,
    offsets: np.ndarray,
    origin: np.ndarray,
    ends: np.ndarray,
    decimals: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Every route ``origin → its foot → … → the destination's foot → ends[i]``, rounded to
    ``decimals``, consecutive repeats removed, at least two points each: the coordinates one
    after another and ``bounds`` (route ``i`` is ``coords[bounds[i]:bounds[i + 1]]``)."""
    pieces = []
    total = 0
    for i in range(edges.shape[0]):
        c = _route_coords(table, ptr, along, edge_u, edge_v, edge_len, dist, pred_edge,
                          e0, s, a, edges[i], offsets[i])  # fmt: skip
        pieces.append(c)
        total += c.shape[0] + 2
    out = np.empty((total + edges.shape[0], 2))
    bounds = np.zeros(edges.shape[0] + 1, dtype=np.int64)
    n = 0
    for i in range(edges.shape[0]):
        first = n
        c = pieces[i]
        for j in range(-1, c.shape[0] + 1):
            if j == -1:
                x, y = origin[0], origin[1]
            elif j == c.shape[0]:
                x, y = ends[i, 0], ends[i, 1]
            else:
                x, y = np.round(c[j, 0], decimals), np.round(c[j, 1], decimals)
            if n > first and out[n - 1, 0] == x and out[n - 1, 1] == y:
                continue
            out[n, 0] = x
            out[n, 1] = y
            n += 1
        if n - first < 2:
            out[n] = out[n - 1]
            n += 1
        bounds[i + 1] = n
    return out[:n], bounds


@njit(cache=True)
def _dedupe_kernel(coords: np.ndarray) -> np.ndarray:
    n = coords.shape[0]
    if n < 2:
        return coords
    keep = np.ones(n, dtype=np.bool_)
    for i in range(1, n):
        keep[i] = coords[i, 0] != coords[i - 1, 0] or coords[i, 1] != coords[i - 1, 1]
    return coords[keep]


def _dedupe(coords: np.ndarray) -> np.ndarray:
    """``coords`` without consecutive repeated points."""
    fn: Any = _dedupe_kernel
    return np.asarray(fn(np.ascontiguousarray(coords, dtype=np.float64)))


def walking_route(
    network: WalkNetwork,
    origin: tuple[float, float],
    destination: tuple[float, float],
    *,
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
    cutoff_m: float = np.inf,
) -> Route:
    """The shortest walking route between two points (network CRS).

    Parameters
    ----------
    network
        Walking network in a projected metric CRS.
    origin, destination
        ``(x, y)`` in the network CRS.
    max_snap_m
        Points farther than this from every edge are not routed (:class:`InputError`).
    cutoff_m
        Give up beyond this many walking metres (:class:`InputError`).

    Returns
    -------
    Route

    Examples
    --------
    >>> from lifecircle.testing import line_network
    >>> net = line_network([(0, 0), (100, 0), (100, 100)])
    >>> r = walking_route(net, (10, 5), (100, 60))
    >>> r.distance_m, list(r.geometry.coords)
    (155.0, [(10.0, 5.0), (10.0, 0.0), (100.0, 0.0), (100.0, 60.0)])
    """
    router = NetworkRouter(network, max_snap_m=max_snap_m)
    snap = router.snap(np.array([destination[0]]), np.array([destination[1]]))
    if not snap.ok[0]:
        raise InputError(
            Problem(
                f"the destination {destination} has no walkable street within {max_snap_m:g} m",
                field="destination",
                fix="pick a point nearer to a street of the network",
            ),
            "route",
        )
    tree = router.search(float(origin[0]), float(origin[1]), cutoff_m=cutoff_m)
    return router.route(
        tree,
        int(snap.edge[0]),
        float(snap.offset[0]),
        float(snap.access_m[0]),
        (float(destination[0]), float(destination[1])),
    )
