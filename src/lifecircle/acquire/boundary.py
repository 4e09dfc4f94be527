"""Administrative boundaries (行政区划边界): read one from a file, or fetch it from Amap's district API.

A boundary is held as one shapely (Multi)Polygon in WGS-84; :func:`convert_geometry` moves it to
GCJ-02 or BD-09 for a provider's queries.  Amap's district API answers in GCJ-02, and
:func:`fetch_district` writes the boundary in that system, as the boundaries cities already have
(a bare GeoJSON geometry, ``admin_boundaries_amap_gcj02/<adcode>.geojson``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from lifecircle.acquire._client import ApiClient, ProviderReply
from lifecircle.errors import InputError, Problem

__all__ = ["District", "convert_geometry", "fetch_district", "read_boundary"]

logger = logging.getLogger(__name__)

AMAP_URL = "https://restapi.amap.com"


def convert_geometry(geometry: BaseGeometry, source: str, target: str) -> BaseGeometry:
    """``geometry`` with its coordinates converted between WGS-84, GCJ-02 and BD-09.

    Examples
    --------
    >>> from shapely import Point
    >>> p = convert_geometry(Point(108.94, 34.26), "wgs84", "gcj02")
    >>> round(p.x - 108.94, 4) != 0.0
    True
    """
    from lifecircle.geo import from_wgs84, parse_crs_name, to_wgs84

    source, target = parse_crs_name(source), parse_crs_name(target)
    if source == target:
        return geometry

    def _convert(xy: np.ndarray) -> np.ndarray:
        x, y = to_wgs84(xy[:, 0], xy[:, 1], source)
        x, y = from_wgs84(x, y, target)
        return np.column_stack([x, y])

    return shapely.transform(geometry, _convert)


def read_boundary(path: str | Path, crs: str = "wgs84") -> BaseGeometry:
    """Read a boundary polygon (all features dissolved into one) and return it in WGS-84.

    Parameters
    ----------
    path
        GeoJSON (a bare geometry, a Feature or a FeatureCollection), GeoPackage, Shapefile or
        any file geopandas reads.
    crs
        The coordinate system of the coordinates: ``"wgs84"``, ``"gcj02"`` (Amap's district
        boundaries) or ``"bd09"``.  Coordinates are taken as they are written; a file's own
        CRS declaration cannot tell GCJ-02 from WGS-84, so say which.

    Raises
    ------
    InputError
        The file is missing, unreadable, or holds no polygon.

    Examples
    --------
    >>> import json, tempfile, pathlib
    >>> square = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]}
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "b.geojson"
    >>> _ = path.write_text(json.dumps(square))
    >>> read_boundary(path).area
    1.0
    """
    label = str(path)
    p = Path(path)
    if not p.exists():
        raise InputError(
            Problem("file not found", file=label, fix="check the path of --boundary"), "boundary"
        )
    geoms: list[BaseGeometry] = []
    try:
        if p.suffix.lower() in (".geojson", ".json"):
            data = json.loads(p.read_text(encoding="utf-8-sig"))
            geoms = _geojson_geometries(data)
        else:
            import geopandas as gpd

            frame = gpd.read_file(p)
            if frame.crs is not None and not frame.crs.is_geographic:
                frame = frame.to_crs(4326)
            geoms = [g for g in frame.geometry if g is not None]
    except (ValueError, OSError, KeyError, TypeError) as exc:
        raise InputError(
            Problem(
                f"the boundary cannot be read ({exc})",
                file=label,
                fix="give a GeoJSON, GeoPackage or Shapefile with the boundary polygon",
            ),
            "boundary",
        ) from exc
    polygons = [g for g in geoms if g.geom_type in ("Polygon", "MultiPolygon") and not g.is_empty]
    if not polygons:
        raise InputError(
            Problem(
                "the file holds no polygon",
                file=label,
                fix="give the boundary as a Polygon or MultiPolygon",
            ),
            "boundary",
        )
    merged = shapely.union_all([shapely.make_valid(g) for g in polygons])
    return convert_geometry(merged, crs, "wgs84")


def _geojson_geometries(data: Any) -> list[BaseGeometry]:
    kind = data.get("type") if isinstance(data, Mapping) else None
    if kind == "FeatureCollection":
        return [shapely.geometry.shape(f["geometry"]) for f in data["features"] if f["geometry"]]
    if kind == "Feature":
        return [shapely.geometry.shape(data["geometry"])]
    if kind is None:
        raise ValueError("not GeoJSON")
    return [shapely.geometry.shape(data)]


@dataclass(frozen=True)
class District:
    """An administrative district from Amap: its code, name, level and GCJ-02 boundary."""

    adcode: str
    name: str
    level: str
    boundary_gcj02: BaseGeometry

    def to_geojson(self) -> str:
        """The boundary as a bare GeoJSON geometry (GCJ-02, as Amap gives it)."""
        return json.dumps(shapely.geometry.mapping(self.boundary_gcj02))


def judge_amap(body: Mapping[str, Any]) -> ProviderReply:
    """Classify an Amap Web Service reply by ``status``/``infocode`` (Amap's error-code table)."""
    if str(body.get("status")) == "1" and str(body.get("infocode", "10000")) == "10000":
        return ProviderReply("ok")
    code = str(body.get("infocode", ""))
    info = str(body.get("info", ""))
    message = f"infocode {code} {info}".strip()
    if code in _AMAP_KEY_CODES:
        return ProviderReply("key", message)
    if code in _AMAP_QUOTA_CODES:
        return ProviderReply("quota", message)
    if code in _AMAP_TRANSIENT_CODES or code.startswith("3"):
        return ProviderReply("transient", message)
    return ProviderReply("error", message)


# INVALID_USER_KEY, SERVICE_NOT_AVAILABLE, INVALID_USER_IP/DOMAIN/SIGNATURE/SCODE,
# USERKEY_PLAT_NOMATCH, INSUFFICIENT_PRIVILEGES, USER_KEY_RECYCLED
_AMAP_KEY_CODES = frozenset(
    {"10001", "10002", "10005", "10006", "10007", "10008", "10009", "10012", "10013"}
)
# DAILY_QUERY_OVER_LIMIT, IP_QUERY_OVER_LIMIT, USER_DAILY_QUERY_OVER_LIMIT, ..._ABROAD_...
_AMAP_QUOTA_CODES = frozenset({"10003", "10010", "10044", "10045"})
# ACCESS_TOO_FREQUENT, QPS exceeded, GATEWAY_TIMEOUT, SERVER_IS_BUSY, C(K/U)QPS exceeded, UNKNOWN
_AMAP_TRANSIENT_CODES = frozenset(
    {"10004", "10014", "10015", "10016", "10019", "10020", "10021", "20003"}
)


def fetch_district(client: ApiClient, keywords: str) -> District:
    """Fetch one district's boundary from Amap's district API (``/v3/config/district``).

    Parameters
    ----------
    client
        An Amap :class:`~lifecircle.acquire._client.ApiClient` (its cache and limits apply).
    keywords
        The district's name or adcode, e.g. ``"碑林区"`` or ``"610103"``.

    Raises
    ------
    InputError
        No district matches, or it comes without a boundary.
    """
    body = client.get(
        "/v3/config/district",
        {"keywords": keywords, "subdistrict": "0", "extensions": "all", "output": "JSON"},
    )
    districts = body.get("districts") or []
    if not districts:
        raise InputError(
            Problem(
                f"Amap knows no district {keywords!r}",
                field="district",
                fix="give the district's full name (西安市, 碑林区) or its 6-digit adcode",
            ),
            "boundary",
        )
    d = districts[0]
    polyline = d.get("polyline")
    if not isinstance(polyline, str) or not polyline:
        raise InputError(
            Problem(
                f"Amap gave no boundary for {keywords!r}",
                field="district",
                fix="ask for a district, city or province (streets have no polyline)",
            ),
            "boundary",
        )
    rings = []
    for part in polyline.split("|"):
        pts = [tuple(map(float, xy.split(","))) for xy in part.split(";") if xy]
        if len(pts) >= 3:
            rings.append(shapely.Polygon(pts))
    shape = shapely.union_all([shapely.make_valid(r) for r in rings])
    return District(
        str(d.get("adcode", "")), str(d.get("name", "")), str(d.get("level", "")), shape
    )
