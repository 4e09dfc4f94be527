"""The provider-independent part of a place import: queries, harvest, de-duplication, output."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from lifecircle.acquire._client import ApiClient, ProviderReply, RequestCache
from lifecircle.acquire._harvest import Cell, Page, harvest
from lifecircle.acquire.boundary import convert_geometry
from lifecircle.errors import InputError, Problem

__all__: list[str] = []

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Query:
    """One search repeated over the cells: a label (for the manifest) and its parameters."""

    label: str
    params: Mapping[str, str]


@dataclass(frozen=True)
class Provider:
    """What differs between Amap and Baidu.

    Attributes
    ----------
    name
        ``"amap"`` or ``"baidu"``.
    crs
        The coordinate system of the provider's coordinates (``"gcj02"``, ``"bd09"``).
    path
        The search endpoint.
    key_param
        The key's query parameter.
    page_size
        Items per page (the documented maximum).
    cap
        Results one query can reach; a total at the cap means "split".
    params
        ``params(query, cell, page)``: the request's parameters (page from 0).
    page
        ``page(body)``: the total and the raw items of a reply.
    row
        ``row(item)``: one output row (``id`` and the coordinate columns included).
    id_column, lon_column, lat_column
        Names of the id and coordinate columns of the output.
    """

    name: str
    crs: str
    path: str
    key_param: str
    page_size: int
    cap: int
    params: Callable[[Query, Cell, int], dict[str, str]]
    page: Callable[[Mapping[str, Any]], Page]
    row: Callable[[Mapping[str, Any]], dict[str, Any]]
    id_column: str
    lon_column: str
    lat_column: str
    queries: Callable[[set[str]], list[Query]]
    judge: Callable[[Mapping[str, Any]], ProviderReply]
    base_url: str


@dataclass
class PlaceImport:
    """The result of a place import.

    Attributes
    ----------
    places
        One row per place (unique provider id), inside the boundary, with the provider's
        coordinates (columns named after their system, e.g. ``lng_gcj02``), types/tags, address,
        phone and ``query_date`` (the day the answer was fetched: the data's vintage).
    manifest
        Provider, coordinate system, queries, cells, requests sent and cached, duplicates removed,
        places outside the boundary, truncated cells: everything but the key.
    """

    places: pd.DataFrame
    manifest: dict[str, Any] = field(default_factory=dict)

    def write(self, out_dir: str | Path) -> list[Path]:
        """Write ``<provider>_places.csv`` (UTF-8 with BOM, for Excel) and ``<provider>_manifest.json``."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        name = self.manifest["provider"]
        csv = out / f"{name}_places.csv"
        self.places.to_csv(csv, index=False, encoding="utf-8-sig")
        manifest = out / f"{name}_manifest.json"
        manifest.write_text(
            json.dumps(self.manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
        return [csv, manifest]


def import_places(
    provider: Provider,
    boundary: BaseGeometry,
    key: str,
    *,
    categories: Sequence[str] | None = None,
    cache: str | Path | None = None,
    base_url: str | None = None,
    qps: float = 3.0,
    max_requests: int | None = None,
    retries: int = 4,
    backoff_s: float = 1.0,
    progress: Callable[[int], None] | None = None,
    transport: Any = None,
    min_cell_deg: float = 1e-4,
) -> PlaceImport:
    """Run every query over the boundary, splitting at the cap; de-duplicate by provider id.

    The parameters are documented at :func:`~lifecircle.acquire.fetch_amap_places`.
    """
    from lifecircle.acquire._categories import resolve_categories

    codes = resolve_categories(categories)
    queries = provider.queries(codes)
    if not queries:
        raise InputError(
            Problem(
                "no query to run: the categories chosen map to no type of this provider",
                field="categories",
                fix="choose 业态 of the catalogue (lifecircle.taxonomy) that the provider's "
                "type table maps",
            ),
            "categories",
        )
    area = convert_geometry(boundary, "wgs84", provider.crs)
    shapely.prepare(area)
    w, s, e, n = (float(v) for v in area.bounds)
    start: Cell = (round(w - 1e-6, 6), round(s - 1e-6, 6), round(e + 1e-6, 6), round(n + 1e-6, 6))

    def touches(cell: Cell) -> bool:
        return bool(area.intersects(shapely.box(*cell)))

    store = RequestCache(cache) if cache is not None else None
    client = ApiClient(
        provider.name,
        base_url or provider.base_url,
        key,
        provider.key_param,
        provider.judge,
        cache=store,
        qps=qps,
        max_requests=max_requests,
        retries=retries,
        backoff_s=backoff_s,
        transport=transport,
    )
    raw: list[dict[str, Any]] = []
    per_query: list[dict[str, Any]] = []
    truncated: list[list[float]] = []
    try:
        for query in queries:

            def fetch(cell: Cell, page: int, query: Query = query) -> Page:
                body = client.get(provider.path, provider.params(query, cell, page))
                got = provider.page(body)
                for item in got.items:
                    item["_fetched_at"] = client.last_fetched_at
                    item["_query"] = query.label
                return got

            result = harvest(
                fetch,
                start,
                cap=provider.cap,
                page_size=provider.page_size,
                touches=touches,
                min_size=min_cell_deg,
                progress=progress,
            )
            raw.extend(result.items)
            truncated.extend(list(c) for c in result.truncated)
            per_query.append(
                {
                    "query": query.label,
                    "cells_queried": result.cells_queried,
                    "cells_split": result.cells_split,
                    "cells_skipped": result.cells_skipped,
                    "results": len(result.items),
                }
            )
            if result.truncated:
                logger.warning(
                    "%s %s: %d cells still at the cap of %d at the smallest size; a few places "
                    "there may be missing",
                    provider.name,
                    query.label,
                    len(result.truncated),
                    provider.cap,
                )
    finally:
        client.close()
    places, n_dup, n_outside = _tidy(provider, raw, area)
    stats = client.stats
    manifest = {
        "provider": provider.name,
        "crs": provider.crs,
        "endpoint": provider.path,
        "cap": provider.cap,
        "page_size": provider.page_size,
        "queries": per_query,
        "requests_sent": stats.sent,
        "requests_cached": stats.cached,
        "retries": stats.retried,
        "results": len(raw),
        "duplicates_removed": n_dup,
        "outside_boundary": n_outside,
        "places": len(places),
        "truncated_cells": truncated,
        "query_date_first": (stats.first_fetch or "")[:10] or None,
        "query_date_last": (stats.last_fetch or "")[:10] or None,
        "coordinates": f"{provider.lon_column}, {provider.lat_column} ({provider.crs})",
        "categories": sorted(codes),
    }
    logger.info(
        "%s: %d places (%d results, %d duplicates, %d outside); %d requests, %d from cache",
        provider.name,
        len(places),
        len(raw),
        n_dup,
        n_outside,
        stats.sent,
        stats.cached,
    )
    return PlaceImport(places, manifest)


def _tidy(
    provider: Provider, raw: list[dict[str, Any]], area: BaseGeometry
) -> tuple[pd.DataFrame, int, int]:
    rows: dict[str, dict[str, Any]] = {}
    n_dup = 0
    for item in raw:
        row = provider.row(item)
        row["query_date"] = str(item.get("_fetched_at", ""))[:10]
        row["query"] = item.get("_query")
        pid = row[provider.id_column]
        if pid in rows:
            n_dup += 1
            continue
        rows[pid] = row
    frame = pd.DataFrame(list(rows.values()))
    if frame.empty:
        return frame, n_dup, 0
    inside = shapely.intersects_xy(
        area, frame[provider.lon_column].to_numpy(float), frame[provider.lat_column].to_numpy(float)
    )
    frame = frame.loc[inside].reset_index(drop=True)
    return frame, n_dup, int((~inside).sum())


def text(value: Any) -> str | None:
    """A provider's text field: Amap writes an empty field as ``[]``; ``None`` when empty."""
    if value is None or value == [] or value == "":
        return None
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    return str(value)
