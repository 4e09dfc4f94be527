"""Incremental access: what changes when an outlet opens, closes or moves, or a street closes.

:class:`AccessState` holds the engine's per-residence arrays (counts within each band, the k
nearest outlets of each 业态) and updates only the residences a change can reach:

* **add / remove / move an outlet** — a bounded search from the outlet's foot (radius = the
  largest band) finds the residences within reach of it, before and after; the engine's kernel
  (:func:`~lifecircle.access._kernels.origin_searches`) is rerun for exactly those residences;
* **close an edge** — the edge leaves the network; points snapped onto it are snapped again
  (to the nearest remaining edge, or left out as the engine would), and the residences within
  reach of either end of the edge, or of a re-snapped outlet, are searched again.

The result equals a full recomputation (:func:`~lifecircle.access.compute_access` from scratch
on the changed inputs) exactly: same distances, counts and k-nearest lists, ties included
(removed outlets keep their slot, so the order among the others is unchanged).

Examples
--------
>>> import geopandas as gpd, shapely
>>> from lifecircle.testing import network_from_polylines
>>> net = network_from_polylines([[(0, 0), (2000, 0)]])
>>> at = lambda x: shapely.Point(500_000 + x, 3_790_000)
>>> homes = gpd.GeoDataFrame({"residence_id": ["a", "b"]}, geometry=[at(100), at(1500)],
...                          crs=net.crs)
>>> shops = gpd.GeoDataFrame({"outlet_id": ["s1"], "category": ["pharmacy"]},
...                          geometry=[at(300)], crs=net.crs)
>>> state = AccessState.build(net, shops, homes, categories=["pharmacy"])
>>> change = state.add_outlet("s2", "pharmacy", at(1400))
>>> change.residence_ids.tolist()
['b']
>>> state.nearest_m("pharmacy").round(1).tolist()
[200.0, 100.0]
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyproj
import shapely

from lifecircle.access._kernels import origin_searches
from lifecircle.access._snap import Snapped, snap_points
from lifecircle.access.engine import (
    DEFAULT_BANDS_MIN,
    DEFAULT_MAX_SNAP_M,
    DEFAULT_WALK_SPEED_KMH,
    _band_name,
    _build_table,
    _check_network,
    _edge_outlet_csr,
    _prepare_inputs,
    _search_all,
    _speed_and_bands,
    _without_attrs,
)
from lifecircle.errors import InputError, Problem
from lifecircle.network import WalkNetwork

__all__ = ["AccessChange", "AccessState", "without_edges"]

log = logging.getLogger(__name__)


def without_edges(network: WalkNetwork, edges: Sequence[int]) -> WalkNetwork:
    """A copy of ``network`` without the given edges (indices); nodes are kept as they are.

    Examples
    --------
    >>> from lifecircle.testing import line_network
    >>> without_edges(line_network([(0, 0), (100, 0), (200, 0)]), [0]).n_edges
    1
    """
    drop = np.zeros(network.n_edges, dtype=bool)
    drop[np.asarray(list(edges), dtype=np.int64)] = True
    keep = ~drop
    return WalkNetwork(
        crs=network.crs,
        node_x=network.node_x,
        node_y=network.node_y,
        node_id=network.node_id,
        edge_u=network.edge_u[keep],
        edge_v=network.edge_v[keep],
        edge_length=network.edge_length[keep],
        edge_geometry=network.edge_geometry[keep],
        edge_attrs=network.edge_attrs.reset_index(drop=True).loc[keep].reset_index(drop=True),
        source=network.source,
        report=network.report,
    )


@dataclass(frozen=True)
class AccessChange:
    """What one change touched.

    Attributes
    ----------
    op
        ``add_outlet``, ``remove_outlet``, ``move_outlet`` or ``close_edge``.
    residence_ids
        Residences whose access was recomputed (a superset of those whose values changed).
    changed_ids
        Residences whose counts or k-nearest lists actually changed.
    categories
        业态 whose values may have changed (all of them for ``close_edge``).
    detail
        The change's parameters.
    """

    op: str
    residence_ids: np.ndarray
    changed_ids: np.ndarray
    categories: tuple[str, ...]
    detail: dict[str, Any] = field(default_factory=dict)


class AccessState:
    """Access arrays that follow what-if changes (see the module docstring).

    Build it with :meth:`build`; read it with :meth:`table` (the long table of
    :func:`~lifecircle.access.compute_access`), :meth:`frame` or :meth:`nearest_m`.
    Entrances (several origins per residence) are not supported here.
    """

    network: WalkNetwork
    res_ids: np.ndarray
    res_x: np.ndarray
    res_y: np.ndarray
    res_snap: Snapped
    out_ids: list[str]
    out_cat: np.ndarray
    out_x: np.ndarray
    out_y: np.ndarray
    out_snap: Snapped
    out_alive: np.ndarray
    counts: np.ndarray
    knn_d: np.ndarray
    knn_o: np.ndarray
    _cat_index: dict[str, int]
    _out_pos: dict[str, int]

    def __init__(self) -> None:  # use AccessState.build
        self.categories: list[str] = []
        self.category_names: dict[str, str] = {}
        self.speed = 70.0
        self.bands = np.zeros(0)
        self.bands_m = np.zeros(0)
        self.k = 3
        self.max_snap_m = DEFAULT_MAX_SNAP_M
        self.closed: list[int] = []
        self._edge_now: np.ndarray = np.zeros(0, dtype=np.int64)

    # ------------------------------------------------------------------------------ build
    @classmethod
    def build(
        cls,
        network: WalkNetwork,
        outlets: gpd.GeoDataFrame,
        residences: gpd.GeoDataFrame,
        *,
        categories: Sequence[str] | None = None,
        category_names: dict[str, str] | None = None,
        walk_speed: float | str = DEFAULT_WALK_SPEED_KMH,
        bands_min: Sequence[float] = DEFAULT_BANDS_MIN,
        k: int = 3,
        max_snap_m: float = DEFAULT_MAX_SNAP_M,
    ) -> AccessState:
        """Compute access once, keeping what later changes need.

        Parameters are those of :func:`~lifecircle.access.compute_access`.
        """
        _check_network(network)
        outlets = _without_attrs(outlets)
        residences = _without_attrs(residences)
        self = cls()
        self.network = network
        self.speed, self.bands = _speed_and_bands(walk_speed, bands_min, k)
        self.bands_m = self.bands * self.speed
        self.k = int(k)
        self.max_snap_m = float(max_snap_m)
        (self.categories, self.category_names, self._cat_index, outl, opts, res) = _prepare_inputs(
            network, outlets, residences, categories, category_names, max_snap_m
        )
        self._edge_now = np.arange(network.n_edges, dtype=np.int64)
        self.res_ids = res.ids
        self.res_x, self.res_y = res.x, res.y
        self.res_snap = _copy_snap(res.snapped)
        self.out_ids = [str(x) for x in opts.ids]
        self._out_pos = {oid: i for i, oid in enumerate(self.out_ids)}
        self.out_cat = outl["category"].map(self._cat_index).to_numpy(dtype=np.int64)
        self.out_x, self.out_y = opts.x.copy(), opts.y.copy()
        self.out_snap = _copy_snap(opts.snapped)
        self.out_alive = np.ones(len(self.out_ids), dtype=bool)

        n_res = len(self.res_ids)
        n_cat = len(self.categories)
        self.counts = np.zeros((n_res, n_cat, self.bands.size), dtype=np.int32)
        self.knn_d = np.full((n_res, n_cat, self.k), np.inf)
        self.knn_o = np.full((n_res, n_cat, self.k), -1, dtype=np.int64)
        ok = np.flatnonzero(self.res_snap.ok)
        if ok.size:
            self._recompute(ok)
        return self

    def copy(self) -> AccessState:
        """An independent copy (the network is shared: changes replace it, never modify it)."""
        other = AccessState.__new__(AccessState)
        other.__dict__.update(self.__dict__)
        for name in ("res_snap", "out_snap"):
            setattr(other, name, _copy_snap(getattr(self, name)))
        for name in ("out_cat", "out_x", "out_y", "out_alive", "counts", "knn_d", "knn_o",
                     "_edge_now"):  # fmt: skip
            setattr(other, name, getattr(self, name).copy())
        other.out_ids = list(self.out_ids)
        other._out_pos = dict(self._out_pos)
        other.closed = list(self.closed)
        return other

    # ------------------------------------------------------------------------------ reading
    @property
    def cutoff_m(self) -> float:
        """Search radius: the largest band in metres."""
        return float(self.bands_m[-1])

    @property
    def residence_ok(self) -> np.ndarray:
        """Residences on the network (in the table)."""
        return np.asarray(self.res_snap.ok)

    @property
    def outlet_ok(self) -> np.ndarray:
        """Outlets open and on the network."""
        return np.asarray(self.out_alive & (self.out_snap.edge >= 0))

    def table(self) -> pa.Table:
        """The long access table, as :func:`~lifecircle.access.compute_access` returns it."""
        kept = np.flatnonzero(self.residence_ok)
        ok = self.outlet_ok
        present = np.bincount(self.out_cat[ok], minlength=len(self.categories)) > 0
        return _build_table(
            self.res_ids[kept],
            self.categories,
            self.category_names,
            np.array(self.out_ids, dtype=object),
            self.counts[kept],
            self.knn_d[kept],
            self.knn_o[kept],
            present,
            self.bands,
            self.speed,
        )

    def frame(self, residences: np.ndarray | None = None) -> pd.DataFrame:
        """The table's scalar columns (no k-nearest lists) as pandas, for some residences.

        ``residence_id, category, category_zh, nearest_m, nearest_min, nearest_outlet_id`` and
        one count column per band; ``residences`` are positions in the input (default: all on
        the network).  Much cheaper than :meth:`table` for a few residences.
        """
        ok = self.residence_ok
        idx = np.flatnonzero(ok) if residences is None else np.asarray(residences, dtype=np.int64)
        idx = idx[ok[idx]]
        n_cat = len(self.categories)
        ok_out = self.outlet_ok
        present = np.bincount(self.out_cat[ok_out], minlength=n_cat) > 0
        near = self.knn_d[idx, :, 0].reshape(-1)
        reached = np.isfinite(near)
        first = self.knn_o[idx, :, 0].reshape(-1)
        ids: np.ndarray = np.array([*self.out_ids, None], dtype=object)
        cats = np.array(self.categories, dtype=object)
        frame = pd.DataFrame(
            {
                "residence_id": np.repeat(self.res_ids[idx], n_cat),
                "category": np.tile(cats, idx.size),
                "category_zh": np.tile(
                    np.array([self.category_names.get(c, c) for c in self.categories], object),
                    idx.size,
                ),
                "nearest_m": np.where(reached, near, np.nan),
                "nearest_min": np.where(reached, near / self.speed, np.nan),
                "nearest_outlet_id": ids[np.where(first >= 0, first, len(self.out_ids))],
            }
        )
        missing = ~np.tile(present, idx.size)
        for b, minutes in enumerate(self.bands):
            values = self.counts[idx, :, b].reshape(-1).astype(np.float64)
            values[missing] = np.nan
            frame[_band_name(minutes)] = values
        return frame

    def nearest_m(self, category: str) -> np.ndarray:
        """Nearest walk to ``category`` for every residence on the network (NaN = none)."""
        c = self._category(category)
        near = self.knn_d[self.residence_ok, c, 0]
        return np.where(np.isfinite(near), near, np.nan)

    def residence_index(self, residence_ids: Sequence[str]) -> np.ndarray:
        """Positions of residences by id."""
        pos = {rid: i for i, rid in enumerate(self.res_ids)}
        return np.array([pos[str(r)] for r in residence_ids], dtype=np.int64)

    # ------------------------------------------------------------------------------ changes
    def add_outlet(
        self,
        outlet_id: str,
        category: str,
        geometry: shapely.Point,
        *,
        crs: Any = None,
    ) -> AccessChange:
        """Open an outlet of ``category`` at ``geometry`` (a point; ``crs`` default: the
        network's).  Raises :class:`~lifecircle.errors.InputError` for a known id, an unknown
        业态 or a point with no walkable edge within the snap distance."""
        oid = str(outlet_id)
        if oid in self._out_pos:
            raise InputError(
                Problem(
                    f"outlet id {oid!r} exists already",
                    field="outlet_id",
                    fix="give the new outlet an id of its own",
                ),
                "what-if",
            )
        c = self._category(category)
        x, y = _point_xy(geometry, crs, self.network)
        snap = snap_points(self.network, np.array([x]), np.array([y]), max_snap_m=self.max_snap_m)
        if not snap.ok[0]:
            raise InputError(
                Problem(
                    f"outlet {oid!r} has no walkable edge within {self.max_snap_m:g} m",
                    field="geometry",
                    fix="place it next to a street",
                ),
                "what-if",
            )
        self.out_ids.append(oid)
        self._out_pos[oid] = len(self.out_ids) - 1
        self.out_cat = np.append(self.out_cat, c)
        self.out_x = np.append(self.out_x, x)
        self.out_y = np.append(self.out_y, y)
        self.out_snap = Snapped(
            *(np.append(getattr(self.out_snap, f), getattr(snap, f)) for f in _SNAP_FIELDS)
        )
        self.out_alive = np.append(self.out_alive, True)
        o = len(self.out_ids) - 1
        affected = self._near_outlets([o])
        changed = self._recompute(affected)
        return self._change("add_outlet", affected, changed, (self.categories[c],), {
            "outlet_id": oid, "category": self.categories[c], "x": x, "y": y,
        })  # fmt: skip

    def remove_outlet(self, outlet_id: str) -> AccessChange:
        """Close an outlet (it no longer counts anywhere)."""
        o = self._outlet(outlet_id)
        affected = self._near_outlets([o])
        self.out_alive[o] = False
        changed = self._recompute(affected)
        return self._change(
            "remove_outlet",
            affected,
            changed,
            (self.categories[self.out_cat[o]],),
            {"outlet_id": str(outlet_id)},
        )

    def move_outlet(
        self, outlet_id: str, geometry: shapely.Point, *, crs: Any = None
    ) -> AccessChange:
        """Move an outlet to ``geometry`` (its id and 业态 stay)."""
        o = self._outlet(outlet_id)
        x, y = _point_xy(geometry, crs, self.network)
        snap = snap_points(self.network, np.array([x]), np.array([y]), max_snap_m=self.max_snap_m)
        if not snap.ok[0]:
            raise InputError(
                Problem(
                    f"the new place of outlet {outlet_id!r} has no walkable edge within "
                    f"{self.max_snap_m:g} m",
                    field="geometry",
                    fix="place it next to a street",
                ),
                "what-if",
            )
        before = self._near_outlets([o])
        self.out_x[o], self.out_y[o] = x, y
        for f in _SNAP_FIELDS:
            getattr(self.out_snap, f)[o] = getattr(snap, f)[0]
        after = self._near_outlets([o])
        affected = np.union1d(before, after)
        changed = self._recompute(affected)
        return self._change("move_outlet", affected, changed, (self.categories[self.out_cat[o]],), {
            "outlet_id": str(outlet_id), "x": x, "y": y,
        })  # fmt: skip

    def close_edge(self, edge: int) -> AccessChange:
        """Close a street segment: ``edge`` is its index in the network the state was built on.

        Points snapped onto it move to their nearest remaining edge (or leave the table, as
        in a full recomputation, when none is within the snap distance).
        """
        n0 = self._edge_now.size
        if isinstance(edge, bool) or not isinstance(edge, int | np.integer) or not 0 <= edge < n0:
            raise InputError(
                Problem(
                    f"edge {edge!r} is not an edge index of the network (0 … {n0 - 1})",
                    field="edge",
                    fix="give the index of the edge in the network the scenario started from",
                ),
                "what-if",
            )
        cur = int(self._edge_now[edge])
        if cur < 0:
            raise InputError(
                Problem(f"edge {edge} is closed already", field="edge", fix="close it once"),
                "what-if",
            )
        old = self.network
        # residences within reach of either end (in the network before the change)
        ends = Snapped(
            np.array([cur, cur]), np.array([0.0, old.edge_length[cur]]), np.zeros(2),
            np.full(2, np.nan), np.full(2, np.nan),
        )  # fmt: skip
        affected = self._reach(ends)
        new = without_edges(old, [cur])
        on_res = np.flatnonzero(self.res_snap.edge == cur)
        on_out = np.flatnonzero(self.out_snap.edge == cur)
        for snap in (self.res_snap, self.out_snap):
            shift = snap.edge > cur
            snap.edge[shift] -= 1
        self.network = new
        self._edge_now[self._edge_now == cur] = -1
        self._edge_now[self._edge_now > cur] -= 1
        self.closed.append(int(edge))
        for idx, snap, xs, ys in (
            (on_res, self.res_snap, self.res_x, self.res_y),
            (on_out, self.out_snap, self.out_x, self.out_y),
        ):
            if idx.size:
                again = snap_points(new, xs[idx], ys[idx], max_snap_m=self.max_snap_m)
                for f in _SNAP_FIELDS:
                    getattr(snap, f)[idx] = getattr(again, f)
        lost = on_res[~self.res_snap.ok[on_res]]
        if lost.size:
            self.counts[lost] = 0
            self.knn_d[lost] = np.inf
            self.knn_o[lost] = -1
            log.info("%d residences lost their walkable edge when edge %d closed", lost.size, edge)
        moved = on_out[self.out_alive[on_out] & (self.out_snap.edge[on_out] >= 0)]
        if moved.size:
            affected = np.union1d(affected, self._near_outlets(list(moved)))
        affected = np.union1d(affected, on_res)
        changed = np.union1d(self._recompute(affected), on_res)
        return self._change(
            "close_edge", affected, changed, tuple(self.categories), {"edge": int(edge)}
        )

    # ------------------------------------------------------------------------------ internals
    def _category(self, category: str) -> int:
        if category not in self._cat_index:
            raise InputError(
                Problem(
                    f"业态 {category!r} is not one of the categories of this state",
                    field="category",
                    fix=f"use one of {', '.join(self.categories[:8])}"
                    + (" …" if len(self.categories) > 8 else ""),
                ),
                "what-if",
            )
        return self._cat_index[category]

    def _outlet(self, outlet_id: str) -> int:
        o = self._out_pos.get(str(outlet_id))
        if o is None or not self.out_alive[o]:
            raise InputError(
                Problem(
                    f"outlet {outlet_id!r} is not an open outlet of a known 业态",
                    field="outlet_id",
                    fix="use the outlet_id of an existing outlet",
                ),
                "what-if",
            )
        return o

    def _reach(self, sources: Snapped) -> np.ndarray:
        """Residences within the search radius of any source (a small margin for rounding)."""
        from lifecircle.access._kernels import cover_search

        net = self.network
        ok = np.flatnonzero(self.res_snap.ok)
        order = np.lexsort((self.res_snap.offset[ok], self.res_snap.edge[ok]))
        ed_ptr = np.zeros(net.n_edges + 1, dtype=np.int64)
        np.cumsum(np.bincount(self.res_snap.edge[ok], minlength=net.n_edges), out=ed_ptr[1:])
        indptr, nbr, hedge, hw = net.csr
        cutoff = self.cutoff_m * (1 + 1e-9) + 1e-6
        _, owner, _ = cover_search(
            indptr, nbr, hedge, hw, net.edge_u.astype(np.int64), net.edge_v.astype(np.int64),
            net.edge_length.astype(np.float64), ed_ptr, ok[order].astype(np.int64),
            self.res_snap.offset[ok][order], self.res_snap.access_m[ok][order],
            len(self.res_ids), sources.edge.astype(np.int64), sources.offset.astype(np.float64),
            np.nan_to_num(sources.access_m).astype(np.float64), cutoff, 0, sources.edge.size,
        )  # fmt: skip
        return np.unique(owner)

    def _near_outlets(self, outlets: list[int]) -> np.ndarray:
        idx = np.asarray(outlets, dtype=np.int64)
        idx = idx[self.out_snap.edge[idx] >= 0]
        if not idx.size:
            return np.zeros(0, dtype=np.int64)
        return self._reach(_take(self.out_snap, idx))

    def _recompute(self, residences: np.ndarray) -> np.ndarray:
        """Rerun the engine's kernel for these residences (positions) with the current outlets;
        returns the positions whose values changed."""
        idx = np.asarray(residences, dtype=np.int64)
        idx = idx[self.res_snap.ok[idx]]
        if not idx.size:
            return idx
        ok = self.outlet_ok
        origins = (
            np.arange(idx.size + 1, dtype=np.int64),
            self.res_snap.edge[idx].astype(np.int64),
            self.res_snap.offset[idx].astype(np.float64),
            self.res_snap.access_m[idx].astype(np.float64),
        )
        if idx.size >= 4_000:  # the initial build: the engine's threaded driver
            masked = Snapped(
                np.where(ok, self.out_snap.edge, -1), self.out_snap.offset,
                self.out_snap.access_m, self.out_snap.foot_x, self.out_snap.foot_y,
            )  # fmt: skip
            counts, knn_d, knn_o = _search_all(
                self.network, origins, masked, self.out_cat, len(self.categories),
                self.bands_m, self.k, progress=False, chunk_size=2_000, unit="res",
            )  # fmt: skip
        else:  # a change: a few hundred residences, in this thread (no pool to start)
            counts, knn_d, knn_o = self._search_here(origins, ok)
        differs = (
            (self.counts[idx] != counts).any(axis=(1, 2))
            | (self.knn_o[idx] != knn_o).any(axis=(1, 2))
            | ~_same(self.knn_d[idx], knn_d).all(axis=(1, 2))
        )
        self.counts[idx] = counts
        self.knn_d[idx] = knn_d
        self.knn_o[idx] = knn_o
        return np.asarray(idx[differs])

    def _search_here(
        self, origins: tuple[np.ndarray, ...], ok: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The engine's kernel over ``origins`` in the calling thread."""
        net = self.network
        out_idx = np.flatnonzero(ok)
        eo_ptr, eo_order, eo_offset, eo_access = _edge_outlet_csr(
            net.n_edges,
            self.out_snap.edge[out_idx],
            self.out_snap.offset[out_idx],
            self.out_snap.access_m[out_idx],
        )
        indptr, nbr, hedge, hw = net.csr
        n = origins[0].size - 1
        n_cat = len(self.categories)
        counts = np.zeros((n, n_cat, self.bands_m.size), dtype=np.int32)
        knn_d = np.full((n, n_cat, self.k), np.inf)
        knn_o = np.full((n, n_cat, self.k), -1, dtype=np.int64)
        kernel: Any = origin_searches  # a numba dispatcher; mypy cannot see its signature
        kernel(
            indptr, nbr, hedge, hw, net.edge_u.astype(np.int64), net.edge_v.astype(np.int64),
            net.edge_length.astype(np.float64), eo_ptr, out_idx[eo_order], eo_offset, eo_access,
            self.out_cat, *origins, self.cutoff_m, self.bands_m, 0, n, counts, knn_d, knn_o,
        )  # fmt: skip
        return counts, knn_d, knn_o

    def _change(
        self,
        op: str,
        affected: np.ndarray,
        changed: np.ndarray,
        cats: tuple[str, ...],
        detail: dict[str, Any],
    ) -> AccessChange:
        log.debug("%s: %d residences recomputed, %d changed", op, affected.size, changed.size)
        return AccessChange(
            op,
            self.res_ids[np.asarray(affected, dtype=np.int64)],
            self.res_ids[np.unique(np.asarray(changed, dtype=np.int64))],
            cats,
            detail,
        )


_SNAP_FIELDS = ("edge", "offset", "access_m", "foot_x", "foot_y")


def _same(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.asarray((a == b) | (np.isinf(a) & np.isinf(b)))


def _copy_snap(s: Snapped) -> Snapped:
    return Snapped(*(np.array(getattr(s, f), copy=True) for f in _SNAP_FIELDS))


def _take(s: Snapped, idx: np.ndarray) -> Snapped:
    return Snapped(*(getattr(s, f)[idx] for f in _SNAP_FIELDS))


def _point_xy(geometry: Any, crs: Any, network: WalkNetwork) -> tuple[float, float]:
    """A point's coordinates in the network CRS."""
    if isinstance(geometry, tuple | list) and len(geometry) == 2:
        geometry = shapely.Point(float(geometry[0]), float(geometry[1]))
    if not isinstance(geometry, shapely.Point) or geometry.is_empty:
        raise InputError(
            Problem(
                f"expected a point, got {type(geometry).__name__}",
                field="geometry",
                fix="give a shapely Point (or an (x, y) pair) and its crs",
            ),
            "what-if",
        )
    if crs is None:
        return float(geometry.x), float(geometry.y)
    x, y = _transformer(pyproj.CRS.from_user_input(crs), network.crs).transform(
        float(geometry.x), float(geometry.y)
    )
    return float(x), float(y)


@functools.lru_cache(maxsize=16)
def _transformer(src: pyproj.CRS, dst: pyproj.CRS) -> pyproj.Transformer:
    return pyproj.Transformer.from_crs(src, dst, always_xy=True)
