"""Local fakes of the Amap and Baidu place-search APIs, following their documented JSON.

One Starlette app serves both (their paths differ): Amap's ``/v3/place/polygon`` and
``/v3/config/district``, Baidu's ``/place/v2/search``.  Each has the behaviours an import must
survive: a result cap (the reported count stops at it and pages past it are empty), pagination,
an invalid key, a daily quota, transient "too frequent" answers and HTTP 503s.  Every request
served is logged (path and parameters, without the key) so tests can prove that none is repeated.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from lifecircle.geo import from_wgs84

#: The synthetic city: a box in the middle of Xi'an (WGS-84).
CITY_WGS84 = (108.90, 34.22, 109.00, 34.30)
#: A dense block of it (WGS-84): ten times the cap of places in about 100 m × 100 m.
DENSE_WGS84 = (108.9500, 34.2600, 108.9510, 34.2610)


@dataclass
class FakeProvider:
    """The state of the fake services."""

    keys: set[str]
    amap_pois: list[dict[str, Any]] = field(default_factory=list)
    baidu_pois: list[dict[str, Any]] = field(default_factory=list)
    districts: dict[str, dict[str, Any]] = field(default_factory=dict)
    amap_cap: int = 100
    baidu_cap: int = 100
    quota: int | None = None
    served: int = 0
    fail_next: int = 0  # transient failures still to give (alternating code and HTTP 503)
    log: list[tuple[str, tuple[tuple[str, str], ...]]] = field(default_factory=list)

    def new_day(self, quota: int | None = None) -> None:
        """Reset the daily count (and set a new quota)."""
        self.served = 0
        self.quota = quota


def _logged(fake: FakeProvider, request: Request, key_param: str) -> None:
    params = tuple(sorted((k, v) for k, v in request.query_params.items() if k != key_param))
    fake.log.append((request.url.path, params))


def _gate(fake: FakeProvider, request: Request, key_param: str, errors: dict[str, Any]) -> Any:
    """The common checks: key, transient failures, quota.  ``None`` when the request may go on."""
    if request.query_params.get(key_param) not in fake.keys:
        return JSONResponse(errors["key"])
    if fake.fail_next > 0:
        fake.fail_next -= 1
        if fake.fail_next % 2:
            return Response("busy", status_code=503)
        return JSONResponse(errors["busy"])
    if fake.quota is not None and fake.served >= fake.quota:
        return JSONResponse(errors["quota"])
    fake.served += 1
    _logged(fake, request, key_param)
    return None


_AMAP_ERRORS = {
    "key": {"status": "0", "info": "INVALID_USER_KEY", "infocode": "10001"},
    "quota": {"status": "0", "info": "DAILY_QUERY_OVER_LIMIT", "infocode": "10003"},
    "busy": {"status": "0", "info": "ACCESS_TOO_FREQUENT", "infocode": "10004"},
}
_BAIDU_ERRORS = {
    "key": {"status": 200, "message": "APP不存在，AK有误请检查再重试"},
    "quota": {"status": 302, "message": "天配额超限，限制访问"},
    "busy": {"status": 401, "message": "当前并发量已经超过约定并发配额，限制访问"},
}


def _amap_type_matches(code: str, wanted: list[str]) -> bool:
    for w in wanted:
        if code == w or (w.endswith("0000") and code[:2] == w[:2]):
            return True
        if w.endswith("00") and code[:4] == w[:4]:
            return True
    return False


def create_app(fake: FakeProvider) -> Starlette:
    """The ASGI app of both fakes."""

    async def amap_polygon(request: Request) -> Response:
        gate = _gate(fake, request, "key", _AMAP_ERRORS)
        if gate is not None:
            return gate
        q = request.query_params
        (x1, y1), (x2, y2) = (tuple(map(float, p.split(","))) for p in q["polygon"].split("|"))
        w, e, s, n = min(x1, x2), max(x1, x2), min(y1, y2), max(y1, y2)
        types = q.get("types", "").split("|")
        found = [
            p
            for p in fake.amap_pois
            if w <= p["lon"] <= e
            and s <= p["lat"] <= n
            and _amap_type_matches(p["typecode"], types)
        ]
        found.sort(key=lambda p: p["id"])
        size = min(int(q.get("offset", 20)), 25)
        page = int(q.get("page", 1))
        reachable = found[: fake.amap_cap]
        items = reachable[(page - 1) * size : page * size] if 1 <= page <= 100 else []
        pois = [
            {
                "id": p["id"],
                "name": p["name"],
                "type": p["type"],
                "typecode": p["typecode"],
                "address": p.get("address") or [],
                "location": f"{p['lon']:.6f},{p['lat']:.6f}",
                "tel": p.get("tel") or [],
                "pname": "陕西省",
                "cityname": "西安市",
                "adname": "碑林区",
                "adcode": "610103",
            }
            for p in items
        ]
        return JSONResponse(
            {
                "status": "1",
                "info": "OK",
                "infocode": "10000",
                "count": str(len(reachable)),
                "pois": pois,
            }
        )

    async def amap_district(request: Request) -> Response:
        gate = _gate(fake, request, "key", _AMAP_ERRORS)
        if gate is not None:
            return gate
        d = fake.districts.get(request.query_params.get("keywords", ""))
        return JSONResponse(
            {
                "status": "1",
                "info": "OK",
                "infocode": "10000",
                "count": "1" if d else "0",
                "districts": [d] if d else [],
            }
        )

    async def baidu_search(request: Request) -> Response:
        gate = _gate(fake, request, "ak", _BAIDU_ERRORS)
        if gate is not None:
            return gate
        q = request.query_params
        s, w, n, e = map(float, q["bounds"].split(","))
        query, tag = q.get("query", ""), q.get("tag")

        def matches(p: dict[str, Any]) -> bool:
            first, _, second = p["tag"].partition(";")
            return (tag is None and query == first) or (query == second and tag == first)

        found = [
            p for p in fake.baidu_pois if w <= p["lng"] <= e and s <= p["lat"] <= n and matches(p)
        ]
        found.sort(key=lambda p: p["uid"])
        size = min(int(q.get("page_size", 10)), 20)
        page = int(q.get("page_num", 0))
        reachable = found[: fake.baidu_cap]
        items = reachable[page * size : (page + 1) * size]
        results = [
            {
                "name": p["name"],
                "location": {"lat": p["lat"], "lng": p["lng"]},
                "address": p.get("address", ""),
                "province": "陕西省",
                "city": "西安市",
                "area": "碑林区",
                "telephone": p.get("telephone", ""),
                "uid": p["uid"],
                "detail": 1,
                "detail_info": {"tag": p["tag"], "type": "life"},
            }
            for p in items
        ]
        return JSONResponse(
            {"status": 0, "message": "ok", "total": len(reachable), "results": results}
        )

    return Starlette(
        routes=[
            Route("/v3/place/polygon", amap_polygon),
            Route("/v3/config/district", amap_district),
            Route("/place/v2/search", baidu_search),
        ]
    )


def synthetic_city(keys: set[str], cap: int = 100, seed: int = 15) -> FakeProvider:
    """A city with sparse places everywhere and 10 × ``cap`` of them in one dense block.

    Amap places are in GCJ-02, Baidu places in BD-09, as the services give them.  Two types are
    asked for (pharmacy, convenience store); a third one (bus stops) must never come back.
    """
    rng = np.random.default_rng(seed)
    west, south, east, north = CITY_WGS84
    n_sparse = 3 * cap
    lon = np.concatenate(
        [
            rng.uniform(west + 0.002, east - 0.002, n_sparse),
            rng.uniform(108.9501, 108.9509, 10 * cap),
        ]
    )
    lat = np.concatenate(
        [
            rng.uniform(south + 0.002, north - 0.002, n_sparse),
            rng.uniform(34.2601, 34.2609, 10 * cap),
        ]
    )
    kind = rng.integers(0, 3, lon.size)
    kind[n_sparse:] = rng.integers(0, 2, 10 * cap)  # the dense block: only wanted types
    amap_types = [
        ("090601", "医疗保健服务;医药保健销售店;药房"),
        ("060200", "购物服务;便民商店/便利店;便民商店/便利店"),
        ("150700", "交通设施服务;公交车站;公交车站相关"),
    ]
    baidu_tags = ["医疗;药店", "购物;便利店", "交通设施;公交车站"]
    glon, glat = from_wgs84(lon, lat, "gcj02")
    blon, blat = from_wgs84(lon, lat, "bd09")
    fake = FakeProvider(keys=keys, amap_cap=cap, baidu_cap=cap)
    for i in range(lon.size):
        code, name = amap_types[kind[i]]
        fake.amap_pois.append(
            {
                "id": f"B0FF{i:06d}",
                "name": f"测试网点{i}",
                "type": name,
                "typecode": code,
                "lon": round(float(glon[i]), 6),
                "lat": round(float(glat[i]), 6),
                "address": f"测试路{i}号",
                "tel": f"029-8{i:07d}" if i % 3 else None,
            }
        )
        fake.baidu_pois.append(
            {
                "uid": f"u{i:08d}",
                "name": f"测试网点{i}",
                "tag": baidu_tags[kind[i]],
                "lng": round(float(blon[i]), 6),
                "lat": round(float(blat[i]), 6),
                "address": f"测试路{i}号",
                "telephone": f"(029)8{i:07d}",
            }
        )
    return fake


def wanted_amap_ids(fake: FakeProvider) -> set[str]:
    """Ids of the Amap places of the wanted types (pharmacy, convenience store)."""
    return {p["id"] for p in fake.amap_pois if p["typecode"] != "150700"}


def wanted_baidu_ids(fake: FakeProvider) -> set[str]:
    """Uids of the Baidu places of the wanted tags."""
    return {p["uid"] for p in fake.baidu_pois if not p["tag"].startswith("交通")}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(app: Starlette) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1 in a thread; yields its base URL."""
    import uvicorn

    port = _free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", lifespan="off", ws="none"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the fake server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
