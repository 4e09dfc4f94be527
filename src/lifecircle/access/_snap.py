"""Snapping points onto the nearest walkable edge (perpendicular foot, offset, access leg)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

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
    that nothing is silently snapped across a river or an expressway.

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
    idx = np.flatnonzero(valid)
    points = shapely.points(x[idx], y[idx])
    (pi, ei), dist = network.edge_tree.query_nearest(
        points, max_distance=max_snap_m, return_distance=True, all_matches=False
    )
    if pi.size:
        # query_nearest returns one match per point, ordered by input point
        rows = idx[pi]
        geoms = network.edge_geometry[ei]
        along = shapely.line_locate_point(geoms, points[pi])
        glen = shapely.length(geoms)
        scale = np.divide(network.edge_length[ei], glen, out=np.ones_like(glen), where=glen > 0)
        feet = shapely.line_interpolate_point(geoms, along)
        edge[rows] = ei
        offset[rows] = np.clip(along * scale, 0.0, network.edge_length[ei])
        access[rows] = dist
        fx[rows] = shapely.get_x(feet)
        fy[rows] = shapely.get_y(feet)
    return Snapped(edge, offset, access, fx, fy)
