"""Baidu (百度) place import: bounds search (``/place/v2/search``) by tag, complete and cached.

Baidu's place search takes ``bounds`` as ``lat,lng,lat,lng`` (south-west then north-east corner,
BD-09 by default), ``query`` (a keyword or a category name), ``tag`` (the category preference),
``page_size`` (at most 20) and ``page_num`` (from 0), with ``scope=2`` for the details; its reply
carries ``status`` (0 ok), ``total`` (which stops growing at the service's cap) and ``results``
(``uid``, ``name``, ``location`` {lat, lng} in BD-09, ``address``, ``telephone``, ``detail_info``
with ``tag`` and ``type``).  Errors: ``status`` 2xx/5/101/102 key problems, 4/302 quota, 401
concurrency (retried).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shapely.geometry.base import BaseGeometry

from lifecircle.acquire._categories import baidu_queries
from lifecircle.acquire._client import ProviderReply
from lifecircle.acquire._harvest import Cell, Page
from lifecircle.acquire._places import PlaceImport, Provider, Query, import_places, text

__all__ = ["BAIDU_CAP", "BAIDU_PAGE_SIZE", "BAIDU_URL", "fetch_baidu_places"]

BAIDU_URL = "https://api.map.baidu.com"
#: Results one Baidu bounds query reaches (its ``total`` stops there).
BAIDU_CAP = 150
#: Largest documented page (``page_size``).
BAIDU_PAGE_SIZE = 20

# 5 ak invalid, 101 ak missing/disabled, 102 whitelist/SN, 200-299 permission (APP 不存在, IP/SN
# check failed, service disabled...)
_KEY = frozenset({3, 5, 101, 102})
# 4 quota check failed, 301-302 daily quota exceeded
_QUOTA = frozenset({4, 301, 302})
# 1 server error, 401 concurrency above the agreed quota
_TRANSIENT = frozenset({1, 401, 402})


def judge_baidu(body: Mapping[str, Any]) -> ProviderReply:
    """Classify a Baidu Web API reply by its ``status`` (Baidu's status-code table)."""
    try:
        status = int(body.get("status", -1))
    except (TypeError, ValueError):
        status = -1
    if status == 0:
        return ProviderReply("ok")
    message = f"status {status} {body.get('message', '')}".strip()
    if status in _KEY or 200 <= status < 300:
        return ProviderReply("key", message)
    if status in _QUOTA:
        return ProviderReply("quota", message)
    if status in _TRANSIENT:
        return ProviderReply("transient", message)
    return ProviderReply("error", message)


def _params(query: Query, cell: Cell, page: int) -> dict[str, str]:
    w, s, e, n = cell
    return {
        **query.params,
        "bounds": f"{s:.6f},{w:.6f},{n:.6f},{e:.6f}",
        "page_size": str(BAIDU_PAGE_SIZE),
        "page_num": str(page),
        "scope": "2",
        "output": "json",
    }


def _page(body: Mapping[str, Any]) -> Page:
    return Page(int(body.get("total") or 0), list(body.get("results") or []))


def _row(item: Mapping[str, Any]) -> dict[str, Any]:
    detail = item.get("detail_info") or {}
    location = item["location"]
    return {
        "uid": str(item["uid"]),
        "name": text(item.get("name")),
        "tag": text(detail.get("tag")),
        "baidu_type": text(detail.get("type")),
        "address": text(item.get("address")),
        "telephone": text(item.get("telephone")),
        "lng_bd09": float(location["lng"]),
        "lat_bd09": float(location["lat"]),
        "province": text(item.get("province")),
        "city": text(item.get("city")),
        "area": text(item.get("area")),
    }


def _queries(codes: set[str]) -> list[Query]:
    return [
        Query(q if t is None else f"{t};{q}", {"query": q} if t is None else {"query": q, "tag": t})
        for q, t in baidu_queries(codes)
    ]


def baidu_provider(cap: int = BAIDU_CAP) -> Provider:
    """The Baidu provider description (the cap can be lowered to match a test server)."""
    return Provider(
        name="baidu",
        crs="bd09",
        path="/place/v2/search",
        key_param="ak",
        page_size=BAIDU_PAGE_SIZE,
        cap=cap,
        params=_params,
        page=_page,
        row=_row,
        id_column="uid",
        lon_column="lng_bd09",
        lat_column="lat_bd09",
        queries=_queries,
        judge=judge_baidu,
        base_url=BAIDU_URL,
    )


def fetch_baidu_places(
    boundary: BaseGeometry, key: str, *, cap: int = BAIDU_CAP, **options: Any
) -> PlaceImport:
    """Every Baidu place of the chosen 业态 inside ``boundary``, none missed at the cap.

    ``options`` are those of :func:`~lifecircle.acquire.fetch_amap_places`; the queries are the
    catalogue's Baidu tags (``taxonomy/data/baidu_tags.csv``: ``购物;便利店`` is asked as query
    便利店 with tag 购物; ``美食;*`` as query 美食).

    Returns
    -------
    PlaceImport
        ``places`` with ``uid``, ``name``, ``tag``, ``baidu_type``, ``address``, ``telephone``,
        ``lng_bd09``, ``lat_bd09`` (BD-09, as Baidu gives them), district fields, ``query_date``
        and ``query``; ``manifest`` with what was done.
    """
    return import_places(baidu_provider(cap), boundary, key, **options)
