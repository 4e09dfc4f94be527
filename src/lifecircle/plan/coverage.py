"""Coverage data for location models: which candidate sites reach which residences on foot.

Distances are the access engine's walking distances (access legs + network path, partial edges
exact), never straight lines: :func:`build_coverage` runs a bounded search along the network
from every candidate's foot and lists the residences reached within the search radius.  Existing
outlets of the 业态 are searched the same way (from the residences, with the engine's kernel), so
that demand they already serve is known.
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp

from lifecircle.access._kernels import cover_search
from lifecircle.access._snap import Snapped
from lifecircle.access.engine import (
    DEFAULT_MAX_SNAP_M,
    _check_network,
    _search_all,
    prepare_points,
)
from lifecircle.errors import InputError, Problem
from lifecircle.network import WalkNetwork

__all__ = ["Coverage", "build_coverage", "demand_weights"]

log = logging.getLogger(__name__)


@dataclass
class Coverage:
    """Walking distances between candidate sites and demand points, sparse.

    Attributes
    ----------
    demand_ids
        Demand (residence) ids, ``str`` (residences off the network are not here; see
        ``excluded``).
    weights
        Households per demand point (float, ≥ 0).
    candidate_ids
        Candidate site ids, ``str``.
    ptr, demand, distance_m
        The pairs within ``search_m``, column-compressed by candidate: candidate ``j`` reaches
        demand ``demand[ptr[j]:ptr[j+1]]`` (ascending) at ``distance_m[ptr[j]:ptr[j+1]]`` metres.
    radius_m
        Coverage radius: a demand point is *covered* by a site within this walk (the 业态's band).
    search_m
        Pairs are listed up to this walk (≥ ``radius_m``; larger for the p-median).
    existing_m
        Per demand point, the walk to the nearest existing outlet (``inf`` beyond ``search_m`` or
        without outlets).
    existing_id
        Its id (``None`` where there is none).
    candidates
        Candidate attributes in candidate order (``site_id``, optional ``floor_area``, ``rent``,
        ``capacity``; WGS-84 geometry), or ``None``.
    excluded
        Points left out: ``layer, id, reason``.
    """

    demand_ids: np.ndarray
    weights: np.ndarray
    candidate_ids: np.ndarray
    ptr: np.ndarray
    demand: np.ndarray
    distance_m: np.ndarray
    radius_m: float
    search_m: float
    existing_m: np.ndarray
    existing_id: np.ndarray | None = None
    candidates: gpd.GeoDataFrame | None = None
    excluded: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["layer", "id", "reason"])
    )

    @property
    def n_demand(self) -> int:
        """Number of demand points."""
        return int(self.weights.shape[0])

    @property
    def n_candidates(self) -> int:
        """Number of candidate sites."""
        return int(self.ptr.shape[0] - 1)

    @property
    def nnz(self) -> int:
        """Number of (candidate, demand) pairs listed."""
        return int(self.demand.shape[0])

    @property
    def covered_by_existing(self) -> np.ndarray:
        """Mask of demand points already covered by an existing outlet."""
        return np.asarray(self.existing_m <= self.radius_m)

    def households_covered_before(self) -> float:
        """Households already covered by the existing outlets."""
        return float(self.weights[self.covered_by_existing].sum())

    def covering(self, radius_m: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The pairs within ``radius_m`` (default: the coverage radius), as ``(ptr, demand)``."""
        r = self.radius_m if radius_m is None else float(radius_m)
        keep = self.distance_m <= r
        if keep.all():
            return self.ptr, self.demand
        col = np.repeat(np.arange(self.n_candidates), np.diff(self.ptr))[keep]
        ptr = np.zeros(self.n_candidates + 1, dtype=np.int64)
        np.cumsum(np.bincount(col, minlength=self.n_candidates), out=ptr[1:])
        return ptr, self.demand[keep]

    def matrix(self, radius_m: float | None = None) -> sp.csc_matrix:
        """Boolean coverage matrix (demand × candidates) within ``radius_m``."""
        ptr, dem = self.covering(radius_m)
        return sp.csc_matrix(
            (np.ones(dem.size, dtype=bool), dem, ptr), shape=(self.n_demand, self.n_candidates)
        )

    def subset(
        self, demand: np.ndarray | None = None, candidates: np.ndarray | None = None
    ) -> Coverage:
        """The coverage restricted to some demand points and/or candidates (masks or indices)."""
        n_d, n_c = self.n_demand, self.n_candidates
        dmask = _mask(demand, n_d)
        cmask = _mask(candidates, n_c)
        dmap = np.full(n_d, -1, dtype=np.int64)
        dmap[dmask] = np.arange(int(dmask.sum()))
        col = np.repeat(np.arange(n_c), np.diff(self.ptr))
        keep = dmask[self.demand] & cmask[col]
        cmap = np.full(n_c, -1, dtype=np.int64)
        cmap[cmask] = np.arange(int(cmask.sum()))
        new_col = cmap[col[keep]]
        n_new = int(cmask.sum())
        ptr = np.zeros(n_new + 1, dtype=np.int64)
        np.cumsum(np.bincount(new_col, minlength=n_new), out=ptr[1:])
        cands = None
        if self.candidates is not None:
            cands = self.candidates.iloc[np.flatnonzero(cmask)].reset_index(drop=True)
        return replace(
            self,
            demand_ids=self.demand_ids[dmask],
            weights=self.weights[dmask],
            candidate_ids=self.candidate_ids[cmask],
            ptr=ptr,
            demand=dmap[self.demand[keep]],
            distance_m=self.distance_m[keep],
            existing_m=self.existing_m[dmask],
            existing_id=None if self.existing_id is None else self.existing_id[dmask],
            candidates=cands,
        )

    def by_demand(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The pairs row-compressed by demand: ``(ptr, candidate, distance_m)``."""
        col = np.repeat(np.arange(self.n_candidates, dtype=np.int64), np.diff(self.ptr))
        order = np.argsort(self.demand, kind="stable")
        ptr = np.zeros(self.n_demand + 1, dtype=np.int64)
        np.cumsum(np.bincount(self.demand, minlength=self.n_demand), out=ptr[1:])
        return ptr, col[order], self.distance_m[order]

    @classmethod
    def from_matrix(
        cls,
        distances: Any,
        weights: Any,
        radius_m: float,
        *,
        existing_m: Any = None,
        search_m: float | None = None,
        demand_ids: Any = None,
        candidate_ids: Any = None,
    ) -> Coverage:
        """Coverage from a distance matrix (demand × candidates), e.g. for tests and benchmarks.

        Parameters
        ----------
        distances
            Dense array (``inf``/NaN = not within reach) or a SciPy sparse matrix whose stored
            entries are the distances; a boolean matrix means "covered" (distance 0).
        weights
            Households per demand point.
        radius_m
            Coverage radius.
        existing_m
            Walk to the nearest existing outlet per demand point (default: none).
        search_m
            Pairs farther than this are dropped (default: all finite pairs are kept).

        Examples
        --------
        >>> import numpy as np
        >>> cov = Coverage.from_matrix(np.array([[100.0, np.inf], [900.0, 300.0]]), [10, 20], 500)
        >>> cov.n_demand, cov.n_candidates, cov.matrix().toarray().tolist()
        (2, 2, [[True, False], [False, True]])
        """
        if sp.issparse(distances):
            mat = sp.csc_matrix(distances)
            mat.sort_indices()
            ptr = mat.indptr.astype(np.int64)
            dem = mat.indices.astype(np.int64)
            dist = np.asarray(mat.data, dtype=np.float64)
            if mat.dtype == bool:
                dist = np.zeros(dem.size)
            n_d, n_c = mat.shape
        else:
            arr = np.asarray(distances)
            if arr.ndim != 2:
                raise InputError(
                    f"distances must be a 2-d matrix (demand × candidates), got shape {arr.shape}",
                    "coverage",
                )
            if arr.dtype == bool:
                arr = np.where(arr, 0.0, np.inf)
            arr = arr.astype(np.float64)
            n_d, n_c = arr.shape
            ok = np.isfinite(arr).T
            col, dem = np.nonzero(ok)
            dist = arr.T[ok]
            ptr = np.zeros(n_c + 1, dtype=np.int64)
            np.cumsum(np.bincount(col, minlength=n_c), out=ptr[1:])
            dem = dem.astype(np.int64)
        limit = np.inf if search_m is None else float(search_m)
        if np.isfinite(limit):
            keep = dist <= limit
            col = np.repeat(np.arange(n_c), np.diff(ptr))[keep]
            ptr = np.zeros(n_c + 1, dtype=np.int64)
            np.cumsum(np.bincount(col, minlength=n_c), out=ptr[1:])
            dem, dist = dem[keep], dist[keep]
        w = _check_weights(np.asarray(weights, dtype=np.float64).reshape(-1), n_d)
        ex = (
            np.full(n_d, np.inf)
            if existing_m is None
            else np.asarray(existing_m, dtype=np.float64).reshape(-1)
        )
        if ex.shape[0] != n_d:
            raise InputError(
                f"existing_m has {ex.shape[0]} values for {n_d} demand points", "coverage"
            )
        ex = np.where(np.isnan(ex), np.inf, ex)
        finite_search = float(np.max(dist)) if dist.size else float(radius_m)
        return cls(
            demand_ids=_ids(demand_ids, n_d, "D"),
            weights=w,
            candidate_ids=_ids(candidate_ids, n_c, "S"),
            ptr=ptr,
            demand=dem,
            distance_m=dist,
            radius_m=float(radius_m),
            search_m=float(search_m) if search_m is not None else max(finite_search, radius_m),
            existing_m=ex,
        )


def _mask(sel: np.ndarray | None, n: int) -> np.ndarray:
    if sel is None:
        return np.ones(n, dtype=bool)
    arr = np.asarray(sel)
    if arr.dtype == bool:
        return arr
    mask = np.zeros(n, dtype=bool)
    mask[arr.astype(np.int64)] = True
    return mask


def _ids(ids: Any, n: int, prefix: str) -> np.ndarray:
    if ids is None:
        return np.array([f"{prefix}{i + 1}" for i in range(n)], dtype=object)
    out = np.array([str(x) for x in ids], dtype=object)
    if out.shape[0] != n:
        raise InputError(f"{out.shape[0]} ids given for {n} rows", "coverage")
    return out


def _check_weights(w: np.ndarray, n: int) -> np.ndarray:
    if w.shape[0] != n:
        raise InputError(
            Problem(
                f"{w.shape[0]} weights given for {n} demand points",
                field="weights",
                fix="give one household count per demand point",
            ),
            "demand weights",
        )
    bad = np.flatnonzero(~np.isfinite(w) | (w < 0))
    if bad.size:
        raise InputError(
            [
                Problem(
                    f"weight {float(w[i]):g} is not a non-negative number",
                    row=int(i) + 1,
                    field="weights",
                    fix="give households as numbers ≥ 0",
                )
                for i in bad[:20]
            ],
            "demand weights",
        )
    return w


def demand_weights(
    residences: pd.DataFrame, column: str = "households", fill: str | float = "median"
) -> np.ndarray:
    """Households per residence, with a rule for unknown counts.

    Parameters
    ----------
    residences
        Residences (a ``households`` column, possibly with NaN).
    column
        The weight column.
    fill
        Weight of a residence whose count is unknown: ``"median"`` (of the known counts; 1 when
        none is known), or a number (``1.0`` counts residences, ``0.0`` leaves them out).

    Examples
    --------
    >>> import pandas as pd
    >>> demand_weights(pd.DataFrame({"households": [100, None, 300]})).tolist()
    [100.0, 200.0, 300.0]
    """
    if column in residences.columns:
        w = pd.to_numeric(residences[column], errors="coerce").to_numpy(
            dtype=np.float64, na_value=np.nan
        )
    else:
        w = np.full(len(residences), np.nan)
    known = np.isfinite(w) & (w >= 0)
    if isinstance(fill, str):
        if fill != "median":
            raise InputError(
                Problem(
                    f"fill {fill!r} is not known",
                    field="fill",
                    fix="use 'median' or a number such as 1.0",
                ),
                "demand weights",
            )
        value = float(np.median(w[known])) if known.any() else 1.0
    else:
        value = float(fill)
        if not (np.isfinite(value) and value >= 0):
            raise InputError(f"fill must be a number ≥ 0, got {fill!r}", "demand weights")
    n_fill = int((~known).sum())
    if n_fill:
        log.info(
            "%d of %d residences have no %s; they weigh %g each (%s)",
            n_fill,
            len(w),
            column,
            value,
            fill,
        )
    return np.where(known, w, value)


def _edge_csr(
    n_edges: int, edge: np.ndarray, offset: np.ndarray, access: np.ndarray, owner: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    order = np.lexsort((offset, edge))
    ptr = np.zeros(n_edges + 1, dtype=np.int64)
    np.cumsum(np.bincount(edge, minlength=n_edges), out=ptr[1:])
    return ptr, owner[order].astype(np.int64), offset[order], access[order]


def search_from_sources(
    network: WalkNetwork,
    sources: Snapped,
    targets: Snapped,
    cutoff_m: float,
    *,
    threads: int | None = None,
    chunk: int = 256,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (source, target) pair within ``cutoff_m`` walking, column-compressed by source.

    Sources and targets not snapped (``edge == -1``) reach nothing.  Returns ``(ptr, target,
    distance)`` with targets ascending within each source.
    """
    tok = np.flatnonzero(targets.ok)
    ed = _edge_csr(
        network.n_edges,
        targets.edge[tok],
        targets.offset[tok],
        targets.access_m[tok],
        tok,
    )
    indptr, nbr, hedge, hw = network.csr
    edge_u = network.edge_u.astype(np.int64)
    edge_v = network.edge_v.astype(np.int64)
    edge_len = network.edge_length.astype(np.float64)
    n_src = int(sources.edge.shape[0])
    n_tgt = int(targets.edge.shape[0])
    src_edge = sources.edge.astype(np.int64)
    src_off = np.nan_to_num(sources.offset).astype(np.float64)
    src_acc = np.nan_to_num(sources.access_m).astype(np.float64)

    def work(span: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return cover_search(
            indptr, nbr, hedge, hw, edge_u, edge_v, edge_len, *ed, n_tgt,
            src_edge, src_off, src_acc, float(cutoff_m), span[0], span[1],
        )  # fmt: skip

    spans = [(a, min(n_src, a + chunk)) for a in range(0, n_src, chunk)]
    if len(spans) > 1:
        with ThreadPoolExecutor(max_workers=threads or os.cpu_count() or 1) as pool:
            parts = list(pool.map(work, spans))
    else:
        parts = [work(s) for s in spans]
    counts = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, dtype=np.int64)
    tgt = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, dtype=np.int64)
    dist = np.concatenate([p[2] for p in parts]) if parts else np.zeros(0)
    ptr = np.zeros(n_src + 1, dtype=np.int64)
    np.cumsum(counts, out=ptr[1:])
    col = np.repeat(np.arange(n_src, dtype=np.int64), counts)
    order = np.lexsort((tgt, col))
    return ptr, tgt[order], dist[order]


def build_coverage(
    network: WalkNetwork,
    candidates: gpd.GeoDataFrame,
    residences: gpd.GeoDataFrame,
    *,
    radius_m: float,
    search_m: float | None = None,
    existing: gpd.GeoDataFrame | None = None,
    weights: np.ndarray | str = "households",
    fill_weight: str | float = "median",
    candidate_id: str = "site_id",
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
    threads: int | None = None,
) -> Coverage:
    """Walking coverage of residences by candidate sites (and by the existing outlets).

    Parameters
    ----------
    network
        Walking network (projected, metres).
    candidates
        Candidate sites: points with ``candidate_id`` (see
        :func:`~lifecircle.plan.candidates.generate_candidates` and
        :func:`~lifecircle.plan.candidates.read_candidates`).
    residences
        Demand: residences with ``residence_id`` and households.
    radius_m
        Coverage radius in walking metres (the 业态's band × walking speed).
    search_m
        List pairs up to this walk (default ``radius_m``; the p-median may want more).
    existing
        Existing outlets of the 业态 (``outlet_id``, points); the demand they cover is fixed.
    weights
        Column of ``residences`` with the households, or an array aligned with it.
    fill_weight
        Weight of residences with unknown households (:func:`demand_weights`).
    candidate_id
        Id column of ``candidates``.
    max_snap_m
        Points farther than this from every walkable edge are left out (listed in
        ``excluded``), as in the access engine.
    threads
        Threads for the searches (default: all cores).

    Returns
    -------
    Coverage

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> from lifecircle.testing import network_from_polylines
    >>> net = network_from_polylines([[(0, 0), (2000, 0)]])
    >>> at = lambda x: shapely.Point(500_000 + x, 3_790_000)
    >>> homes = gpd.GeoDataFrame({"residence_id": ["a", "b"], "households": [300, 500]},
    ...                          geometry=[at(100), at(1500)], crs=net.crs)
    >>> sites = gpd.GeoDataFrame({"site_id": ["s1", "s2"]}, geometry=[at(400), at(1000)],
    ...                          crs=net.crs)
    >>> cov = build_coverage(net, sites, homes, radius_m=600)
    >>> cov.matrix().toarray().tolist()
    [[True, False], [False, True]]
    """
    _check_network(network)
    search = float(radius_m if search_m is None else max(search_m, radius_m))
    if not (np.isfinite(radius_m) and radius_m > 0):
        raise InputError(f"radius_m must be a positive number, got {radius_m!r}", "coverage")
    res_pts = prepare_points(
        network, residences, "residence_id", max_snap_m=max_snap_m, what="residences"
    )
    if isinstance(weights, str):
        w_all = demand_weights(residences, weights, fill_weight)
    else:
        w_all = _check_weights(np.asarray(weights, dtype=np.float64).reshape(-1), len(residences))
    cand_pts = prepare_points(
        network, candidates, candidate_id, max_snap_m=max_snap_m, what="candidates"
    )
    if len(set(cand_pts.ids)) != len(cand_pts.ids):
        dup = pd.Series(cand_pts.ids).duplicated(keep=False).to_numpy()
        raise InputError(
            [
                Problem(
                    f"candidate id {cand_pts.ids[i]!r} is not unique",
                    row=int(i) + 1,
                    field=candidate_id,
                    fix="give every candidate site its own id",
                )
                for i in np.flatnonzero(dup)[:20]
            ],
            "candidates",
        )
    res_ok = res_pts.snapped.ok
    cand_ok = cand_pts.snapped.ok
    reason = f"no walkable edge within {max_snap_m:g} m"
    excluded = pd.concat(
        [
            pd.DataFrame({"layer": "residences", "id": res_pts.ids[~res_ok], "reason": reason}),
            pd.DataFrame({"layer": "candidates", "id": cand_pts.ids[~cand_ok], "reason": reason}),
        ],
        ignore_index=True,
    )
    keep_res = np.flatnonzero(res_ok)
    dem_snap = _take(res_pts.snapped, keep_res)
    keep_cand = np.flatnonzero(cand_ok)
    src_snap = _take(cand_pts.snapped, keep_cand)
    ptr, dem, dist = search_from_sources(network, src_snap, dem_snap, search, threads=threads)

    existing_m = np.full(keep_res.size, np.inf)
    existing_id = np.full(keep_res.size, None, dtype=object)
    if existing is not None and len(existing):
        ex_pts = prepare_points(
            network, existing, "outlet_id", max_snap_m=max_snap_m, what="outlets"
        )
        origins = (
            np.arange(keep_res.size + 1, dtype=np.int64),
            dem_snap.edge.astype(np.int64),
            dem_snap.offset.astype(np.float64),
            dem_snap.access_m.astype(np.float64),
        )
        _, knn_d, knn_o = _search_all(
            network,
            origins,
            ex_pts.snapped,
            np.zeros(len(ex_pts.ids), dtype=np.int64),
            1,
            np.array([search]),
            1,
            progress=False,
            chunk_size=2_000,
            unit="res",
            threads=threads,
        )
        existing_m = knn_d[:, 0, 0].copy()
        found = knn_o[:, 0, 0] >= 0
        existing_id[found] = ex_pts.ids[knn_o[found, 0, 0]]
        n_bad = int((~ex_pts.snapped.ok).sum())
        if n_bad:
            excluded = pd.concat(
                [
                    excluded,
                    pd.DataFrame(
                        {
                            "layer": "outlets",
                            "id": ex_pts.ids[~ex_pts.snapped.ok],
                            "reason": reason,
                        }
                    ),
                ],
                ignore_index=True,
            )
    cand_frame = candidates.iloc[keep_cand].copy()
    if cand_frame.crs is not None:
        cand_frame = cand_frame.to_crs(4326)
    cand_frame["site_id"] = cand_pts.ids[keep_cand]
    cand_frame["edge"] = src_snap.edge
    cand_frame["offset_m"] = src_snap.offset
    cand_frame["access_m"] = src_snap.access_m
    if excluded.shape[0]:
        log.warning("%d points left out of the coverage (%s)", excluded.shape[0], reason)
    return Coverage(
        demand_ids=res_pts.ids[keep_res],
        weights=w_all[keep_res],
        candidate_ids=cand_pts.ids[keep_cand],
        ptr=ptr,
        demand=dem,
        distance_m=dist,
        radius_m=float(radius_m),
        search_m=search,
        existing_m=existing_m,
        existing_id=existing_id,
        candidates=cand_frame.reset_index(drop=True),
        excluded=excluded,
    )


def _take(s: Snapped, idx: np.ndarray) -> Snapped:
    return Snapped(s.edge[idx], s.offset[idx], s.access_m[idx], s.foot_x[idx], s.foot_y[idx])
