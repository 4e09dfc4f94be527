"""Snapping points onto the nearest walkable edge (perpendicular foot, offset, access leg)."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import shapely

from lifecircle.access._kernels import grid_cells, snap_grid
from lifecircle.network import WalkNetwork

__all__ = ["Snapped", "snap_points"]


@dataclass(frozen=True)
class Snapped:
    """Where points meet the network.

    Attributes
    ----------
    edge
        Index of the nearest edge, ``-1`` for a point with no edge within the snap distance.
    offset
        Metres along the edge from its ``u`` end to the foot (NaN when not snapped).
    access_m
        Straight distance from the point to the foot, metres (the access leg; NaN when not snapped).
    foot_x, foot_y
        The foot in the network CRS (NaN when not snapped).
    """

    edge: np.ndarray
    offset: np.ndarray
    access_m: np.ndarray
    foot_x: np.ndarray
    foot_y: np.ndarray

    @property
    def ok(self) -> np.ndarray:
        """Mask of the points that were snapped."""
        return self.edge >= 0


def snap_points(
    network: WalkNetwork, x: np.ndarray, y: np.ndarray, *, max_snap_m: float = 250.0
) -> Snapped:
    """Snap points (network CRS) onto their nearest edge, vectorised.

    The foot is the nearest point on the edge's geometry (the perpendicular foot, or an end);
    a point farther than ``max_snap_m`` from every edge is left unsnapped (``edge == -1``), so
    that nothing is silently snapped across a river or an expressway.  The search runs in a
    numba kernel over the edges' straight segments bucketed in a grid, searched ring by ring
    around each point and no farther than needed (see :func:`_segment_grid`).

    Examples
    --------
    >>> import numpy as np
    >>> from lifecircle.access._snap import snap_points
    >>> from lifecircle.testing import line_network
    >>> net = line_network([(0, 0), (100, 0)])
    >>> s = snap_points(net, np.array([30.0]), np.array([4.0]))
    >>> float(s.offset[0]), float(s.access_m[0])
    (30.0, 4.0)
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n = x.shape[0]
    edge = np.full(n, -1, dtype=np.int64)
    offset = np.full(n, np.nan)
    access = np.full(n, np.nan)
    fx = np.full(n, np.nan)
    fy = np.full(n, np.nan)
    valid = np.isfinite(x) & np.isfinite(y)
    if n == 0 or not valid.any() or network.n_edges == 0:
        return Snapped(edge, offset, access, fx, fy)
    grid = _segment_grid(network, max_snap_m)
    idx = np.flatnonzero(valid)
    e = np.empty(idx.size, dtype=np.int64)
    along = np.full(idx.size, np.nan)
    dist = np.full(idx.size, np.nan)
    gx = np.full(idx.size, np.nan)
    gy = np.full(idx.size, np.nan)
    kernel: Any = snap_grid  # a numba dispatcher; its signature is not visible to mypy
    px, py = x[idx], y[idx]

    def part(lo: int, hi: int) -> None:
        kernel(
            px[lo:hi], py[lo:hi], *grid, float(max_snap_m),
            e[lo:hi], along[lo:hi], dist[lo:hi], gx[lo:hi], gy[lo:hi],
        )  # fmt: skip

    # the kernel releases the GIL: large layers are snapped in two halves at once
    if idx.size < 50_000 or (os.cpu_count() or 1) < 2:
        part(0, idx.size)
    else:
        half = idx.size // 2
        with ThreadPoolExecutor(max_workers=1) as pool:
            other = pool.submit(part, half, idx.size)
            part(0, half)
            other.result()
    hit = e >= 0
    rows = idx[hit]
    ei = e[hit]
    glen = network._geometry_length
    scale = np.divide(network.edge_length[ei], glen[ei], out=np.ones(ei.size), where=glen[ei] > 0)
    edge[rows] = ei
    offset[rows] = np.clip(along[hit] * scale, 0.0, network.edge_length[ei])
    access[rows] = dist[hit]
    fx[rows] = gx[hit]
    fy[rows] = gy[hit]
    return Snapped(edge, offset, access, fx, fy)


def _segment_grid(network: WalkNetwork, max_snap_m: float) -> tuple[Any, ...]:
    """The network's straight segments bucketed in a grid for snapping within ``max_snap_m``.

    Cells are a quarter of ``max_snap_m`` (the search goes out ring by ring and stops early;
    in a dense centre a 3 × 3 block of ``max_snap_m`` cells holds thousands of segments), but
    never so small that there are more cells than segments.  Cached on the network per
    ``max_snap_m``.
    """
    cache: dict[float, tuple[Any, ...]] = network.__dict__.setdefault("_snap_grids", {})
    key = float(max_snap_m)
    if key in cache:
        return cache[key]
    coords, owner = shapely.get_coordinates(network.edge_geometry, return_index=True)
    same = owner[1:] == owner[:-1]
    x0, y0 = coords[:-1, 0][same], coords[:-1, 1][same]
    x1, y1 = coords[1:, 0][same], coords[1:, 1][same]
    seg_edge = owner[:-1][same].astype(np.int64)
    seg_len = np.hypot(x1 - x0, y1 - y0)
    # distance along the edge to each segment's start, summed within the edge only, so that an
    # edge gets bit-identical offsets whatever else the network holds (tiles equal the whole)
    within = pd.Series(seg_len).groupby(seg_edge, sort=False).cumsum().to_numpy()
    first = np.r_[True, seg_edge[1:] != seg_edge[:-1]]
    seg_along = np.zeros_like(seg_len)
    seg_along[1:] = np.where(first[1:], 0.0, within[:-1])
    width = float(max(x0.max(), x1.max()) - min(x0.min(), x1.min()))
    height = float(max(y0.max(), y1.max()) - min(y0.min(), y1.min()))
    cell = max(key / 4.0, float(np.sqrt(width * height / max(x0.size, 1))), 1.0)
    minx = float(min(x0.min(), x1.min())) - cell
    miny = float(min(y0.min(), y1.min())) - cell
    nx = int((max(x0.max(), x1.max()) - minx) / cell) + 2
    ny = int((max(y0.max(), y1.max()) - miny) / cell) + 2
    start, items = grid_cells(x0, y0, x1, y1, minx, miny, cell, nx, ny)
    grid = (x0, y0, x1, y1, seg_edge, seg_along, start, items, minx, miny, cell, nx, ny)
    cache[key] = grid
    return grid
