"""Amap and Baidu place imports against local fakes of the services (tests/_acquire_fakes.py)."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import shapely
from click.testing import CliRunner

from _acquire_fakes import (
    CITY_WGS84,
    DENSE_WGS84,
    FakeProvider,
    create_app,
    serve,
    synthetic_city,
    wanted_amap_ids,
    wanted_baidu_ids,
)
from lifecircle.acquire import (
    KeyInvalidError,
    QuotaExceededError,
    fetch_amap_places,
    fetch_baidu_places,
)
from lifecircle.cli import main

KEY = "k3y-SECRET-0123456789abcdef"
CAP = 100
CATEGORIES = ["pharmacy", "便利店"]
BOUNDARY = shapely.box(*CITY_WGS84)


@pytest.fixture
def fake() -> FakeProvider:
    return synthetic_city({KEY}, cap=CAP)


@pytest.fixture
def url(fake: FakeProvider) -> Iterator[str]:
    with serve(create_app(fake)) as base:
        yield base


def _import(provider: str, url: str, **kw: Any) -> Any:
    run = fetch_amap_places if provider == "amap" else fetch_baidu_places
    key = kw.pop("key", KEY)
    options: dict[str, Any] = {"qps": 1000.0, "backoff_s": 0.001, "cap": CAP}
    options.update(kw)
    return run(BOUNDARY, key, categories=CATEGORIES, base_url=url, **options)


def _wanted(provider: str, fake: FakeProvider) -> set[str]:
    return wanted_amap_ids(fake) if provider == "amap" else wanted_baidu_ids(fake)


def _ids(provider: str, places: Any) -> list[str]:
    return list(places["id" if provider == "amap" else "uid"])


@pytest.mark.parametrize("provider", ["amap", "baidu"])
def test_dense_city_returns_every_place_exactly_once(
    provider: str, fake: FakeProvider, url: str
) -> None:
    in_dense = sum(DENSE_WGS84[0] - 0.01 < p["lon"] < DENSE_WGS84[2] + 0.01 for p in fake.amap_pois)
    assert in_dense >= 10 * CAP  # the densest cell holds ten times the cap
    result = _import(provider, url)
    ids = _ids(provider, result.places)
    assert len(ids) == len(set(ids))  # exactly once
    assert set(ids) == _wanted(provider, fake)  # every place, and no bus stop
    m = result.manifest
    assert sum(q["cells_split"] for q in m["queries"]) > 0
    assert m["truncated_cells"] == []
    assert m["duplicates_removed"] > 0  # places on split lines came twice and were merged
    # no request was sent twice, and the count the manifest gives is the server's
    assert max(Counter(fake.log).values()) == 1
    assert m["requests_sent"] == len(fake.log)
    assert set(result.places["query_date"]) == {m["query_date_last"]}


def test_without_splitting_the_cap_truncates(fake: FakeProvider, url: str) -> None:
    """The fake's cap is real: a client that believes the cap is higher misses places."""
    result = _import("amap", url, cap=10 * CAP)
    assert len(result.places) < len(wanted_amap_ids(fake))


@pytest.mark.parametrize("provider", ["amap", "baidu"])
def test_interrupted_import_resumes_without_repeating_a_request(
    provider: str, fake: FakeProvider, url: str, tmp_path: Path
) -> None:
    cache = tmp_path / "cache.sqlite"
    fake.new_day(quota=40)
    with pytest.raises(QuotaExceededError, match="quota"):
        _import(provider, url, cache=cache)
    assert len(fake.log) == 40
    fake.new_day(quota=None)
    result = _import(provider, url, cache=cache)
    assert set(_ids(provider, result.places)) == _wanted(provider, fake)
    assert max(Counter(fake.log).values()) == 1  # the 40 answers of the first run were kept
    assert result.manifest["requests_cached"] == 40
    sent = len(fake.log)
    again = _import(provider, url, cache=cache)  # a re-run costs nothing
    assert len(fake.log) == sent
    assert again.manifest["requests_sent"] == 0
    assert again.places.equals(result.places)


def test_request_budget_stops_cleanly_and_resumes(
    fake: FakeProvider, url: str, tmp_path: Path
) -> None:
    cache = tmp_path / "cache.sqlite"
    with pytest.raises(QuotaExceededError, match="budget"):
        _import("amap", url, cache=cache, max_requests=25)
    assert len(fake.log) == 25
    result = _import("amap", url, cache=cache)
    assert set(result.places["id"]) == wanted_amap_ids(fake)
    assert max(Counter(fake.log).values()) == 1


@pytest.mark.parametrize("provider", ["amap", "baidu"])
def test_transient_failures_are_retried_with_backoff(
    provider: str, fake: FakeProvider, url: str
) -> None:
    fake.fail_next = 4  # two "too frequent" answers and two HTTP 503
    result = _import(provider, url)
    assert result.manifest["retries"] == 4
    assert set(_ids(provider, result.places)) == _wanted(provider, fake)


def test_persistent_failure_gives_up_with_a_clear_error(fake: FakeProvider, url: str) -> None:
    from lifecircle.acquire import AcquireError

    fake.fail_next = 100
    with pytest.raises(AcquireError, match="after 3 attempts"):
        _import("amap", url, retries=2)


@pytest.mark.parametrize("provider", ["amap", "baidu"])
def test_invalid_key_is_refused_at_once(provider: str, fake: FakeProvider, url: str) -> None:
    with pytest.raises(KeyInvalidError, match="rejected the key") as info:
        _import(provider, url, key="wrong-key-42")
    assert "wrong-key-42" not in str(info.value)
    assert len(fake.log) == 0


def test_places_read_back_as_outlets(fake: FakeProvider, url: str, tmp_path: Path) -> None:
    from lifecircle.ingest import read_outlets

    for provider, crs in (("amap", "gcj02"), ("baidu", "bd09")):
        paths = _import(provider, url).write(tmp_path)
        outlets = read_outlets(paths[0], crs=crs)
        assert len(outlets) == len(_wanted(provider, fake))
        assert set(outlets["category"]) == {"pharmacy", "convenience_store"}
        # converted to WGS-84 inside the city
        assert outlets.geometry.x.between(CITY_WGS84[0], CITY_WGS84[2]).all()


# ---- command line -----------------------------------------------------------------------------


def _boundary_file(tmp_path: Path) -> Path:
    path = tmp_path / "city.geojson"
    path.write_text(shapely.to_geojson(BOUNDARY), encoding="utf-8")
    return path


def _cli(provider: str, url: str, tmp_path: Path, *extra: str, key: str = KEY) -> Any:
    env = {"LIFECIRCLE_AMAP_KEY": key, "LIFECIRCLE_BAIDU_AK": key}
    args = ["-vv", "fetch", provider, "--boundary", str(_boundary_file(tmp_path))]
    args += ["--categories", "药店,convenience_store", "--base-url", url, "--cap", str(CAP)]
    args += ["--qps", "1000", "--backoff", "0.001", "--out", str(tmp_path / "out"), *extra]
    return CliRunner().invoke(main, args, env=env)


@pytest.mark.parametrize("provider", ["amap", "baidu"])
def test_cli_import_never_writes_or_logs_the_key(
    provider: str,
    fake: FakeProvider,
    url: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    fake.fail_next = 2
    result = _cli(provider, url, tmp_path)
    assert result.exit_code == 0, result.output
    assert f"{len(_wanted(provider, fake))} 个网点 places" in result.output
    crs = "gcj02" if provider == "amap" else "bd09"
    assert f'crs = "{crs}", date = ' in result.output  # the city file's [outlets], dated
    assert "HTTP Request" in caplog.text  # httpx logged its requests (with the key redacted)
    assert KEY not in caplog.text
    assert KEY not in result.output
    files = list((tmp_path / "out").iterdir())
    assert {f.name for f in files} == {
        f"{provider}_places.csv",
        f"{provider}_manifest.json",
        f"{provider}_cache.sqlite",
    }
    for f in files:
        assert KEY.encode() not in f.read_bytes(), f
    # a re-run costs no request
    sent = len(fake.log)
    again = _cli(provider, url, tmp_path)
    assert again.exit_code == 0, again.output
    assert len(fake.log) == sent
    assert "requests sent 0" in again.output


@pytest.mark.parametrize("provider", ["amap", "baidu"])
def test_cli_invalid_key_and_quota_exit_non_zero(
    provider: str, fake: FakeProvider, url: str, tmp_path: Path
) -> None:
    bad = _cli(provider, url, tmp_path, key="not-the-key-777")
    assert bad.exit_code != 0
    assert "密钥无效" in bad.output and "rejected the key" in bad.output
    assert "not-the-key-777" not in bad.output
    fake.new_day(quota=5)
    spent = _cli(provider, url, tmp_path)
    assert spent.exit_code != 0
    assert "当日配额已用完" in spent.output and "quota is exhausted" in spent.output


def test_cli_key_file_and_missing_key(fake: FakeProvider, url: str, tmp_path: Path) -> None:
    key_file = tmp_path / "amap.key"
    key_file.write_text(KEY + "\n", encoding="utf-8")
    ok = _cli("amap", url, tmp_path, "--key-file", str(key_file), key="")
    assert ok.exit_code == 0, ok.output
    missing = _cli("amap", url, tmp_path, key="")
    assert missing.exit_code != 0
    assert "no key" in missing.output


def test_rate_limit_spaces_the_requests(fake: FakeProvider, url: str, tmp_path: Path) -> None:
    import time

    from lifecircle.acquire._client import ApiClient, RequestCache
    from lifecircle.acquire.boundary import judge_amap

    cache = RequestCache(tmp_path / "c.sqlite")
    with ApiClient("amap", url, KEY, "key", judge_amap, qps=20.0, cache=cache) as client:
        t0 = time.perf_counter()
        for i in range(6):
            client.get("/v3/config/district", {"keywords": f"d{i}"})
        spent = time.perf_counter() - t0
        for i in range(6):  # answered by the cache: no wait, no request
            client.get("/v3/config/district", {"keywords": f"d{i}"})
        assert time.perf_counter() - t0 - spent < 0.2
    assert spent >= 5 / 20.0
    assert client.stats.sent == 6 and client.stats.cached == 6


def test_a_run_killed_midway_resumes_from_the_cache(
    fake: FakeProvider, url: str, tmp_path: Path
) -> None:
    """Ctrl+C in the middle of an import: the next run asks only what was not answered."""
    cache = tmp_path / "cache.sqlite"
    counted = 0

    def stop_after_30(n: int) -> None:
        nonlocal counted
        counted += n
        if counted >= 30:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _import("baidu", url, cache=cache, progress=stop_after_30)
    first = len(fake.log)
    assert first >= 30
    result = _import("baidu", url, cache=cache)
    assert set(result.places["uid"]) == wanted_baidu_ids(fake)
    assert max(Counter(fake.log).values()) == 1
    assert result.manifest["requests_cached"] == first


@pytest.mark.shared_data
@pytest.mark.slow
def test_real_district_at_the_real_baidu_cap(shared_data: Path) -> None:
    """Xi'an's 碑林区 (Amap's GCJ-02 boundary) over the old town's Baidu POIs, served at Baidu's
    real cap of 150: every POI inside the district comes back exactly once."""
    import pandas as pd

    from lifecircle.acquire import read_boundary
    from lifecircle.acquire._categories import baidu_queries, resolve_categories
    from lifecircle.acquire.baidu import BAIDU_CAP
    from lifecircle.acquire.boundary import convert_geometry

    pois = pd.read_csv(
        shared_data / "xian_oldtown_baidu_poi" / "xian_oldtown_baidu_poi_merged_utf8.csv",
        dtype={"uid": str},
    ).drop_duplicates("uid")
    pois["tag"] = pois["tag"].fillna("")
    district = read_boundary(
        shared_data / "admin_boundaries_amap_gcj02" / "610103.geojson", "gcj02"
    )
    fake = FakeProvider(keys={KEY}, baidu_cap=BAIDU_CAP)
    fake.baidu_pois = [
        {"uid": r.uid, "name": r.name, "tag": r.tag, "lng": r.lng_bd09, "lat": r.lat_bd09}
        for r in pois.itertuples()
    ]
    asked = set(baidu_queries(resolve_categories(None)))

    def wanted(tag: str) -> bool:
        first, _, second = tag.partition(";")
        return (second, first) in asked or (first, None) in asked

    area = convert_geometry(district, "wgs84", "bd09")
    inside = shapely.intersects_xy(area, pois["lng_bd09"], pois["lat_bd09"])
    expected = set(pois.loc[inside & pois["tag"].map(wanted), "uid"])
    assert len(expected) > 10 * BAIDU_CAP
    with serve(create_app(fake)) as base:
        result = fetch_baidu_places(district, KEY, base_url=base, qps=1000.0)
    got = list(result.places["uid"])
    assert len(got) == len(set(got))
    assert set(got) == expected
    assert max(Counter(fake.log).values()) == 1
