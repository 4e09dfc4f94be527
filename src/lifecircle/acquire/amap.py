"""Amap (高德) place import: polygon search (``/v3/place/polygon``) by type code, complete and cached.

Amap's Web Service polygon search takes a rectangle as its upper-left and lower-right corners
(``lon,lat|lon,lat``, at most 6 decimals), type codes joined by ``|``, ``offset`` (page size, at
most 25) and ``page`` (from 1); its reply carries ``count`` (the results of the query, which stops
growing at the service's cap) and ``pois`` (``id``, ``name``, ``type``, ``typecode``, ``address``,
``location`` "lon,lat" in GCJ-02, ``tel``...).  Errors come as ``status`` "0" with an ``infocode``
(10001 invalid key, 10003/10044 daily quota, 10004/10014/10019-10021 too frequent...).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shapely.geometry.base import BaseGeometry

from lifecircle.acquire._categories import amap_typecodes
from lifecircle.acquire._harvest import Cell, Page
from lifecircle.acquire._places import PlaceImport, Provider, Query, import_places, text
from lifecircle.acquire.boundary import AMAP_URL, judge_amap

__all__ = ["AMAP_CAP", "AMAP_PAGE_SIZE", "fetch_amap_places"]

#: Results one Amap polygon query reaches (its ``count`` stops there).
AMAP_CAP = 900
#: Largest documented page (``offset``).
AMAP_PAGE_SIZE = 25


def _params(query: Query, cell: Cell, page: int) -> dict[str, str]:
    w, s, e, n = cell
    return {
        **query.params,
        "polygon": f"{w:.6f},{n:.6f}|{e:.6f},{s:.6f}",
        "offset": str(AMAP_PAGE_SIZE),
        "page": str(page + 1),
        "extensions": "all",
        "output": "JSON",
    }


def _page(body: Mapping[str, Any]) -> Page:
    return Page(int(body.get("count") or 0), list(body.get("pois") or []))


def _row(item: Mapping[str, Any]) -> dict[str, Any]:
    lon, lat = (float(v) for v in str(item["location"]).split(","))
    return {
        "id": str(item["id"]),
        "name": text(item.get("name")),
        "type": text(item.get("type")),
        "typecode": text(item.get("typecode")),
        "address": text(item.get("address")),
        "tel": text(item.get("tel")),
        "lng_gcj02": lon,
        "lat_gcj02": lat,
        "pname": text(item.get("pname")),
        "cityname": text(item.get("cityname")),
        "adname": text(item.get("adname")),
        "adcode": text(item.get("adcode")),
    }


def amap_provider(cap: int = AMAP_CAP, types_per_query: int = 10) -> Provider:
    """The Amap provider description (the cap can be lowered to match a test server)."""

    def queries(codes: set[str]) -> list[Query]:
        found = amap_typecodes(codes)
        step = max(1, types_per_query)
        batches = (found[i : i + step] for i in range(0, len(found), step))
        return [Query("|".join(b), {"types": "|".join(b)}) for b in batches]

    return Provider(
        name="amap",
        crs="gcj02",
        path="/v3/place/polygon",
        key_param="key",
        page_size=AMAP_PAGE_SIZE,
        cap=cap,
        params=_params,
        page=_page,
        row=_row,
        id_column="id",
        lon_column="lng_gcj02",
        lat_column="lat_gcj02",
        queries=queries,
        judge=judge_amap,
        base_url=AMAP_URL,
    )


def fetch_amap_places(
    boundary: BaseGeometry,
    key: str,
    *,
    types_per_query: int = 10,
    cap: int = AMAP_CAP,
    **options: Any,
) -> PlaceImport:
    """Every Amap place of the chosen 业态 inside ``boundary``, none missed at the cap.

    Parameters
    ----------
    boundary
        The area (WGS-84; see :func:`~lifecircle.acquire.read_boundary`).
    key
        The user's Amap Web Service key (never written anywhere).
    types_per_query
        Type codes asked together in one query.
    cap
        The service's result cap (``AMAP_CAP``).
    **options
        ``categories``: 业态 codes or names (default: every 业态 of the catalogue); their Amap
        type codes come from the catalogue's mapping ``taxonomy/data/amap_typecodes.csv``.
        ``cache``: SQLite file of the answers: an interrupted import resumes there, a re-run is
        free.  ``base_url``: the service's address (a test server in tests).  ``qps``:
        requests per second at most (default 3).  ``max_requests``: requests this run may send
        (the daily quota left); it stops cleanly when spent.  ``retries``, ``backoff_s``:
        retries of a transient failure (default 4) and the first wait (1 s, doubled each
        time).  ``progress``: called with the number of requests of each step (a progress
        bar).  ``transport``: an httpx transport.

    Returns
    -------
    PlaceImport
        ``places`` with ``id``, ``name``, ``type``, ``typecode``, ``address``, ``tel``,
        ``lng_gcj02``, ``lat_gcj02`` (GCJ-02, as Amap gives them), district fields,
        ``query_date`` and ``query``; ``manifest`` with what was done.

    Raises
    ------
    KeyInvalidError, QuotaExceededError, AcquireError
        The key is refused, the quota or budget is spent, or the service keeps failing.
    """
    return import_places(amap_provider(cap, types_per_query), boundary, key, **options)
