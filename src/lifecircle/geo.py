"""Chinese coordinate systems (WGS-84, GCJ-02, BD-09) and projection to metres.

Chinese map services publish coordinates that are deliberately offset from WGS-84: Amap (高德),
Tencent and Google China use GCJ-02 (国测局, "Mars" coordinates); Baidu (百度) adds a second offset
on top, BD-09.  The offset is 300–1,000 m in mainland China, enough to put a shop on the wrong
street.  This module converts between the three with the published formulas (vectorised over
numpy arrays), finds a local UTM zone, and checks whether a point layer declared in one system
fits a WGS-84 street network better in another (:func:`check_offset`).

The inverse conversions (GCJ-02 → WGS-84, BD-09 → GCJ-02) have no closed form; they are solved
by fixed-point iteration to about 1e-10 degrees, not by the common one-step approximation (which
is off by 1–2 m).

Every conversion takes scalars, lists, numpy arrays or pandas Series (broadcast together) and
returns two float64 numpy arrays of that shape (0-d arrays for scalars; ``float()`` them).
"""

from __future__ import annotations

import functools
import logging
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, cast

import numpy as np
import numpy.typing as npt
import pyproj
import shapely

from lifecircle.errors import CoordinateOffsetWarning, CRSError, NetworkError, Problem

if TYPE_CHECKING:
    from lifecircle.network import WalkNetwork

__all__ = [
    "CoordSystem",
    "OffsetCheck",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "check_offset",
    "from_wgs84",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "local_utm_crs",
    "out_of_china",
    "parse_crs_name",
    "project_xy",
    "to_wgs84",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

logger = logging.getLogger(__name__)

CoordSystem = Literal["wgs84", "gcj02", "bd09"]
FloatArray = npt.NDArray[np.float64]

#: Krasovsky 1940 semi-major axis and eccentricity squared used by the GCJ-02 formula.
_A = 6378245.0
_EE = 0.00669342162296594323
#: Baidu's constant (π · 3000 / 180) and its false origin.
_X_PI = np.pi * 3000.0 / 180.0
_BD_DX, _BD_DY = 0.0065, 0.006
_TOL_DEG = 1e-8  # residual before the last update; the error after it is ~1e-10
_MAX_ITER = 50

_ALIASES: dict[str, CoordSystem] = {
    **dict.fromkeys(["wgs84", "wgs", "epsg:4326", "epsg4326", "4326", "gps"], "wgs84"),
    **dict.fromkeys(
        ["gcj02", "gcj", "mars", "火星", "火星坐标", "火星坐标系", "高德", "amap", "gaode"], "gcj02"
    ),
    **dict.fromkeys(["bd09", "bd09ll", "bd", "baidu", "百度", "百度坐标", "百度坐标系"], "bd09"),
}


def parse_crs_name(name: str) -> CoordSystem:
    """Normalise a coordinate-system name or alias to ``"wgs84"``, ``"gcj02"`` or ``"bd09"``.

    Case, spaces, ``-`` and ``_`` are ignored, so ``"WGS-84"``, ``"EPSG:4326"``, ``"GCJ-02"``,
    ``"高德"``, ``"amap"``, ``"BD-09"`` and ``"百度"`` are all accepted.

    Raises
    ------
    CRSError
        The name is none of the accepted ones (the message lists them).

    Examples
    --------
    >>> parse_crs_name("GCJ-02"), parse_crs_name("百度"), parse_crs_name("EPSG:4326")
    ('gcj02', 'bd09', 'wgs84')
    """
    key = "".join(str(name).split()).lower().replace("-", "").replace("_", "")
    if key in _ALIASES:
        return _ALIASES[key]
    accepted = ", ".join(_ALIASES)
    raise CRSError(
        Problem(
            f"unknown coordinate system {name!r}; expected WGS-84, GCJ-02 or BD-09.",
            field="crs",
            fix=f"use one of: {accepted}.",
        ),
        "coordinate system",
    )


def _arrays(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Float64 copies of ``lon, lat`` broadcast to one shape (0-d for scalars)."""
    x, y = np.broadcast_arrays(np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64))
    return np.array(x, dtype=np.float64), np.array(y, dtype=np.float64)


def out_of_china(lon: npt.ArrayLike, lat: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """True where a point lies outside the rough mainland-China box (no GCJ-02 offset there).

    The box is the one used by every published GCJ-02 implementation: longitude 72.004–137.8347,
    latitude 0.8293–55.8271.  NaN counts as outside.
    """
    x, y = _arrays(lon, lat)
    return ~((x >= 72.004) & (x <= 137.8347) & (y >= 0.8293) & (y <= 55.8271))


def _gcj_delta(x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
    """GCJ-02 minus WGS-84 in degrees at WGS-84 point ``(x, y)``; zero outside China."""
    u, v = x - 105.0, y - 35.0
    common = (20.0 * np.sin(6.0 * u * np.pi) + 20.0 * np.sin(2.0 * u * np.pi)) * 2.0 / 3.0
    sqrt_u = np.sqrt(np.abs(u))
    dlat = -100.0 + 2.0 * u + 3.0 * v + 0.2 * v * v + 0.1 * u * v + 0.2 * sqrt_u + common
    dlat += (20.0 * np.sin(v * np.pi) + 40.0 * np.sin(v / 3.0 * np.pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(v / 12.0 * np.pi) + 320.0 * np.sin(v * np.pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + u + 2.0 * v + 0.1 * u * u + 0.1 * u * v + 0.1 * sqrt_u + common
    dlon += (20.0 * np.sin(u * np.pi) + 40.0 * np.sin(u / 3.0 * np.pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(u / 12.0 * np.pi) + 300.0 * np.sin(u / 30.0 * np.pi)) * 2.0 / 3.0
    rad = np.radians(y)
    magic = 1.0 - _EE * np.sin(rad) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = dlat * 180.0 / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * np.pi)
    dlon = dlon * 180.0 / (_A / sqrt_magic * np.cos(rad) * np.pi)
    outside = out_of_china(x, y)
    return np.where(outside, 0.0, dlon), np.where(outside, 0.0, dlat)


def _invert(forward: Any, x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Solve ``forward(p) = (x, y)`` by fixed-point iteration (``forward`` is near identity)."""
    px, py = x.copy(), y.copy()
    for _ in range(_MAX_ITER):
        fx, fy = forward(px, py)
        ex, ey = fx - x, fy - y
        px, py = np.asarray(px - ex), np.asarray(py - ey)
        err = np.maximum(np.abs(ex), np.abs(ey))
        if not np.any(err[np.isfinite(err)] > _TOL_DEG):
            break
    return px, py


def wgs84_to_gcj02(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """WGS-84 → GCJ-02 (unchanged outside China).

    Examples
    --------
    >>> lon, lat = wgs84_to_gcj02(108.94237, 34.26105)  # 钟楼 Bell Tower, Xi'an
    >>> round(float(lon), 5), round(float(lat), 5)
    (108.94703, 34.25946)
    """
    x, y = _arrays(lon, lat)
    dx, dy = _gcj_delta(x, y)
    return np.asarray(x + dx), np.asarray(y + dy)


def gcj02_to_wgs84(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """GCJ-02 → WGS-84, the exact inverse of :func:`wgs84_to_gcj02` (to ~1e-10°)."""
    return _invert(wgs84_to_gcj02, *_arrays(lon, lat))


def gcj02_to_bd09(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """GCJ-02 → BD-09 (Baidu's published formula; unchanged outside China, like GCJ-02)."""
    x, y = _arrays(lon, lat)
    z = np.hypot(x, y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    outside = out_of_china(x, y)
    bx = np.where(outside, x, z * np.cos(theta) + _BD_DX)
    return bx, np.where(outside, y, z * np.sin(theta) + _BD_DY)


def bd09_to_gcj02(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """BD-09 → GCJ-02, the exact inverse of :func:`gcj02_to_bd09` (to ~1e-10°)."""
    return _invert(gcj02_to_bd09, *_arrays(lon, lat))


def wgs84_to_bd09(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """WGS-84 → BD-09 (through GCJ-02)."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """BD-09 → WGS-84 (through GCJ-02)."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


_TO_WGS84 = {"wgs84": _arrays, "gcj02": gcj02_to_wgs84, "bd09": bd09_to_wgs84}
_FROM_WGS84 = {"wgs84": _arrays, "gcj02": wgs84_to_gcj02, "bd09": wgs84_to_bd09}


def to_wgs84(lon: npt.ArrayLike, lat: npt.ArrayLike, crs: str) -> tuple[FloatArray, FloatArray]:
    """Convert from the system named ``crs`` (any alias of :func:`parse_crs_name`) to WGS-84."""
    return _TO_WGS84[parse_crs_name(crs)](lon, lat)


def from_wgs84(lon: npt.ArrayLike, lat: npt.ArrayLike, crs: str) -> tuple[FloatArray, FloatArray]:
    """Convert from WGS-84 to the system named ``crs`` (any alias of :func:`parse_crs_name`)."""
    return _FROM_WGS84[parse_crs_name(crs)](lon, lat)


def project_xy(
    x: npt.ArrayLike, y: npt.ArrayLike, src: Any, dst: Any
) -> tuple[FloatArray, FloatArray]:
    """Coordinates ``x, y`` (east, north) from CRS ``src`` to CRS ``dst``, as float arrays.

    The transformer of each pair of CRSs is built once (it takes milliseconds; the points then
    take well under a microsecond each).  NaN stays NaN.

    Examples
    --------
    >>> x, y = project_xy([108.94], [34.26], 4326, 32649)
    >>> round(float(x[0])), round(float(y[0]))
    (310330, 3792905)
    """
    xa, ya = _arrays(x, y)
    a, b = pyproj.CRS.from_user_input(src), pyproj.CRS.from_user_input(dst)
    if a == b:
        return xa.copy(), ya.copy()
    tx, ty = _transformer(a, b).transform(xa, ya)
    return np.asarray(tx, dtype=np.float64), np.asarray(ty, dtype=np.float64)


@functools.lru_cache(maxsize=32)
def _transformer(src: pyproj.CRS, dst: pyproj.CRS) -> pyproj.Transformer:
    return pyproj.Transformer.from_crs(src, dst, always_xy=True)


def local_utm_crs(lon: npt.ArrayLike, lat: npt.ArrayLike) -> pyproj.CRS:
    """The WGS-84 UTM zone (EPSG:326xx north, 327xx south) of the median point.

    Raises
    ------
    CRSError
        No finite point, or the coordinates are not longitude/latitude degrees.

    Examples
    --------
    >>> local_utm_crs([108.94], [34.26]).to_epsg()  # Xi'an
    32649
    """
    x, y = _arrays(lon, lat)
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        raise CRSError(Problem("no finite coordinate to pick a UTM zone.", fix="check lon/lat."))
    mx, my = float(np.median(x[ok])), float(np.median(y[ok]))
    if not (-180.0 <= mx <= 180.0 and -90.0 <= my <= 90.0):
        raise CRSError(
            Problem(
                f"expected longitude/latitude in degrees, got a median point ({mx:g}, {my:g}).",
                fix="give WGS-84 degrees (lon -180..180, lat -90..90), not projected metres.",
            )
        )
    zone = min(int((mx + 180.0) // 6.0) + 1, 60)
    return pyproj.CRS.from_epsg((32600 if my >= 0 else 32700) + zone)


_SYSTEMS: tuple[CoordSystem, ...] = ("wgs84", "gcj02", "bd09")
_SAMPLE = 2000
_MARGIN_M = 1500.0
_NEAR_M = 25.0
_SHIFT_RANGE_M = (250.0, 1500.0)
_SOURCES = {"wgs84": "GPS/OSM", "gcj02": "Amap (高德)/Tencent", "bd09": "Baidu (百度)"}


@dataclass(frozen=True)
class OffsetCheck:
    """Outcome of :func:`check_offset` (distances in metres, shares in 0–1).

    Attributes
    ----------
    declared
        The system the layer was declared in.
    best
        The hypothesis whose points lie closest to the network (lowest median nearest-edge
        distance).
    median_m
        Per hypothesis, median distance from the converted points to the nearest edge.
    within_25m
        Per hypothesis, share of points within 25 m of an edge.
    shift_m
        Per hypothesis, median distance between its converted positions and the declared ones.
    suspicious
        True when another system fits clearly better and the shift is the GCJ-02/BD-09 size.
    message
        One line for logs and the warning.
    n_points
        Points compared (those near the network, sampled).
    """

    declared: CoordSystem
    best: CoordSystem
    median_m: dict[str, float]
    within_25m: dict[str, float]
    shift_m: dict[str, float]
    suspicious: bool
    message: str
    n_points: int = 0


def _network_edges(edges: Any) -> tuple[pyproj.CRS, np.ndarray]:
    """Edges in a metric CRS: a WalkNetwork as is, WGS-84 geometries projected to local UTM."""
    walk = hasattr(edges, "edge_geometry") and hasattr(edges, "crs")
    if not walk and getattr(edges, "crs", None) is not None and hasattr(edges, "to_crs"):
        edges = edges.to_crs(4326)
    geoms = np.asarray(edges.edge_geometry if walk else getattr(edges, "geometry", edges))
    geoms = geoms.astype(object).ravel()
    geoms = geoms[~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)]
    if geoms.size == 0:
        raise NetworkError(Problem("the network has no edge geometry.", fix="load a network."))
    if walk:
        return pyproj.CRS.from_user_input(edges.crs), geoms
    b = shapely.bounds(geoms)
    crs = local_utm_crs((b[:, 0] + b[:, 2]) / 2.0, (b[:, 1] + b[:, 3]) / 2.0)
    tr = pyproj.Transformer.from_crs(4326, crs, always_xy=True)
    return crs, shapely.transform(geoms, lambda xy: np.column_stack(tr.transform(*xy.T)))


def check_offset(
    lon: npt.ArrayLike,
    lat: npt.ArrayLike,
    declared: str,
    edges_wgs84: npt.ArrayLike | WalkNetwork,
    *,
    what: str = "outlets",
    warn: bool = True,
    seed: int = 0,
) -> OffsetCheck:
    """Check whether points declared in one system fit the network better in another.

    Each hypothesis (the raw coordinates read as WGS-84, GCJ-02 or BD-09) is converted to WGS-84
    and projected to the network's metric CRS; on a seeded sample of at most 2,000 points (those
    within 1.5 km of the network's bounding box) it measures the median distance to the nearest
    edge and the share within 25 m.  In a dense street grid a wrong offset still lands near *some*
    street, so the verdict also needs the shift between hypotheses to be the GCJ-02/BD-09 size
    (250–1,500 m): the layer is ``suspicious`` when another hypothesis' median is lower by ≥ 25 %
    and ≥ 3 m, or its 25 m share higher by ≥ 0.1, and that shift applies.

    Parameters
    ----------
    lon, lat
        Raw coordinates as read from the file.
    declared
        The system the user declared (any alias of :func:`parse_crs_name`).
    edges_wgs84
        A :class:`~lifecircle.network.WalkNetwork` (edges in its projected CRS), or WGS-84 edge
        geometries (array, GeoSeries or GeoDataFrame).
    what
        Layer name for messages; the suggested fix is ``--{what}-crs <system>``.
    warn
        Issue a :class:`~lifecircle.errors.CoordinateOffsetWarning` when suspicious.
    seed
        Seed of the sample.
    """
    decl = parse_crs_name(declared)
    crs, edges = _network_edges(edges_wgs84)
    x, y = _arrays(lon, lat)
    x, y = x.ravel(), y.ravel()
    to_m = pyproj.Transformer.from_crs(4326, crs, always_xy=True)
    ok = np.isfinite(x) & np.isfinite(y) & (np.abs(y) <= 90.0) & (np.abs(x) <= 180.0)
    with np.errstate(invalid="ignore"):
        rx, ry = to_m.transform(np.where(ok, x, np.nan), np.where(ok, y, np.nan))
    x0, y0, x1, y1 = shapely.total_bounds(edges)
    near = ok & (rx >= x0 - _MARGIN_M) & (rx <= x1 + _MARGIN_M)
    near &= (ry >= y0 - _MARGIN_M) & (ry <= y1 + _MARGIN_M)
    idx = np.flatnonzero(near)
    if idx.size > _SAMPLE:
        idx = np.sort(np.random.default_rng(seed).choice(idx, _SAMPLE, replace=False))
    nan: dict[str, float] = dict.fromkeys(_SYSTEMS, float("nan"))
    if idx.size == 0:
        msg = f"{what}: no point within {_MARGIN_M:.0f} m of the network; offset not checked."
        logger.info(msg)
        return OffsetCheck(decl, decl, nan, dict(nan), dict(nan), False, msg, 0)
    # a WalkNetwork keeps one spatial index for all its users; build one only for raw edges
    tree = getattr(edges_wgs84, "edge_tree", None) or shapely.STRtree(edges)
    positions: dict[str, tuple[FloatArray, FloatArray]] = {}
    median_m: dict[str, float] = {}
    within: dict[str, float] = {}
    for system in _SYSTEMS:
        wx, wy = to_wgs84(x[idx], y[idx], system)
        px, py = to_m.transform(wx, wy)
        positions[system] = (np.asarray(px), np.asarray(py))
        points = shapely.points(px, py)
        _, dist = tree.query_nearest(points, return_distance=True, all_matches=False)
        median_m[system] = float(np.median(dist))
        within[system] = float(np.mean(dist <= _NEAR_M))
    dx0, dy0 = positions[decl]
    shift_m = {
        s: float(np.median(np.hypot(px - dx0, py - dy0))) for s, (px, py) in positions.items()
    }
    best = cast(CoordSystem, min(_SYSTEMS, key=lambda s: (median_m[s], -within[s], s != decl)))
    gain = median_m[decl] - median_m[best]
    clearly = (gain >= 3.0 and gain >= 0.25 * median_m[decl]) or (
        within[best] - within[decl] >= 0.1
    )
    shifted = _SHIFT_RANGE_M[0] <= shift_m[best] <= _SHIFT_RANGE_M[1]
    suspicious = best != decl and clearly and shifted
    stats = ", ".join(f"{s} {median_m[s]:.1f} m ({within[s]:.0%} ≤ 25 m)" for s in _SYSTEMS)
    if suspicious:
        msg = (
            f"{what} are declared {decl} but fit the street network better as {best}: median "
            f"distance to the nearest street {median_m[decl]:.1f} m as {decl} vs "
            f"{median_m[best]:.1f} m as {best} (a systematic shift of {shift_m[best]:.0f} m, "
            f"the GCJ-02/BD-09 signature; {idx.size} points). Fix: declare --{what}-crs {best} "
            f"if the coordinates come from {_SOURCES[best]}."
        )
    else:
        msg = f"{what}: declared {decl} fits the network ({idx.size} points; {stats})."
    logger.info("offset check: %s; %s", msg, stats)
    if suspicious and warn:
        warnings.warn(msg, CoordinateOffsetWarning, stacklevel=2)
    return OffsetCheck(decl, best, median_m, within, shift_m, suspicious, msg, int(idx.size))
