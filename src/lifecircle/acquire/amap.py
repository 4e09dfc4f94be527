"""Amap (高德) place import: polygon search (``/v3/place/polygon``) by type code, complete and cached.

Amap's Web Service polygon search takes a rectangle as its upper-left and lower-right corners
(``lon,lat|lon,lat``, at most 6 decimals), type codes joined by ``|``, ``offset`` (page size, at
most 25) and ``page`` (from 1); its reply carries ``count`` (the results of the query, which stops
growing at the service's cap) and ``pois`` (``id``, ``name``, ``type``, ``typecode``, ``address``,
``location`` "lon,lat" in GCJ-02, ``tel``...).  Errors come as ``status`` "0" with an ``infocode``
(10001 invalid key, 10003/10044 daily quota, 10004/10014/10019-10021 too frequent...).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from shapely.geometry.base import BaseGeometry

from lifecircle.acquire._categories import amap_typecodes, resolve_categories
from lifecircle.acquire._harvest import Cell, Page
from lifecircle.acquire._places import PlaceImport, Provider, Query, run_import, text
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


def amap_provider(cap: int = AMAP_CAP) -> Provider:
    """The Amap provider description (the cap can be lowered to match a test server)."""
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
    )


def fetch_amap_places(
    boundary: BaseGeometry,
    key: str,
    *,
    categories: Sequence[str] | None = None,
    cache: str | Path | None = None,
    base_url: str = AMAP_URL,
    qps: float = 3.0,
    max_requests: int | None = None,
    retries: int = 4,
    backoff_s: float = 1.0,
    types_per_query: int = 10,
    cap: int = AMAP_CAP,
    progress: Callable[[int], None] | None = None,
    transport: Any = None,
) -> PlaceImport:
    """Every Amap place of the chosen 业态 inside ``boundary``, none missed at the cap.

    Parameters
    ----------
    boundary
        The area (WGS-84; see :func:`~lifecircle.acquire.read_boundary`).
    key
        The user's Amap Web Service key (never written anywhere).
    categories
        业态 codes or names (default: every 业态 of the catalogue); their Amap type codes come
        from the catalogue's mapping ``taxonomy/data/amap_typecodes.csv``.
    cache
        SQLite file of the answers: an interrupted import resumes there, a re-run is free.
    base_url
        The service's address (a test server in tests).
    qps
        Requests per second at most (Amap's personal keys allow a few).
    max_requests
        Requests this run may send (the daily quota left); it stops cleanly when spent.
    retries, backoff_s
        Retries of a transient failure, and the first wait (doubled each time).
    types_per_query
        Type codes asked together in one query.
    cap
        The service's result cap (``AMAP_CAP``).
    progress
        Called with the number of requests of each step (a progress bar).
    transport
        An httpx transport (tests).

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
    codes = amap_typecodes(resolve_categories(categories))
    queries = [
        Query("|".join(batch), {"types": "|".join(batch)})
        for batch in (
            codes[i : i + types_per_query] for i in range(0, len(codes), max(1, types_per_query))
        )
    ]
    result = run_import(
        amap_provider(cap),
        queries,
        boundary,
        key=key,
        base_url=base_url,
        cache=cache,
        qps=qps,
        max_requests=max_requests,
        retries=retries,
        backoff_s=backoff_s,
        judge=judge_amap,
        progress=progress,
        transport=transport,
    )
    result.manifest["categories"] = sorted(resolve_categories(categories))
    return result
