"""Outlets on the map, the nearest outlets on foot with their routes, walking areas."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from lifecircle.errors import InputError, Problem
from lifecircle.web.city import City
from lifecircle.web.deps import CurrentCity
from lifecircle.web.errors import ERROR_RESPONSES
from lifecircle.web.routes._common import json_response, parse_bbox
from lifecircle.web.schemas import (
    FeatureCollection,
    NearestOut,
    OutletFeature,
    OutletFeatureCollection,
)

__all__ = ["router"]

router = APIRouter(tags=["outlets"], responses={k: ERROR_RESPONSES[k] for k in (404, 503)})

LonQ = Annotated[float, Query(ge=-180.0, le=180.0, allow_inf_nan=False, description="Longitude")]
LatQ = Annotated[float, Query(ge=-90.0, le=90.0, allow_inf_nan=False, description="Latitude")]


def _categories(city: City, category: str | None, slogan: str | None) -> list[str] | None:
    chosen: set[str] | None = None
    if category:
        codes = [city.resolve_category(part) for part in category.split(",") if part.strip()]
        chosen = set(codes)
    if slogan:
        shortcut = city.categories_for_slogan(slogan.strip())
        if shortcut is None:
            raise InputError(
                Problem(
                    f"{slogan!r} is not a slogan shortcut",
                    field="slogan",
                    fix="use 一店一早, 一菜一修, 一老一小, 小修小补 or a single slogan such as 一店",
                ),
                "slogan",
            )
        chosen = set(shortcut) if chosen is None else chosen & set(shortcut)
    return None if chosen is None else sorted(chosen)


@router.get("/outlets", response_model=OutletFeatureCollection)
def outlets(
    city: CurrentCity,
    category: Annotated[
        str | None,
        Query(max_length=500, description="业态 code(s) or name(s), comma-separated"),
    ] = None,
    slogan: Annotated[
        str | None, Query(max_length=20, description="一店一早, 一菜一修, 一老一小 or 小修小补")
    ] = None,
    q: Annotated[
        str | None, Query(max_length=100, description="Search in names, brands and 业态 names")
    ] = None,
    bbox: Annotated[
        str | None, Query(max_length=200, description="minlon,minlat,maxlon,maxlat")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=20000)] = 5000,
) -> Response:
    """Outlets with a 业态 as a GeoJSON FeatureCollection, filtered by 业态, slogan, text and
    extent."""
    features, total = city.outlet_features(
        categories=_categories(city, category, slogan),
        q=q.strip() if q and q.strip() else None,
        bbox=parse_bbox(bbox),
        limit=limit,
    )
    return json_response({"type": "FeatureCollection", "features": features, "total": total})


@router.get("/outlets/{outlet_id:path}", response_model=OutletFeature)
def outlet(
    city: CurrentCity,
    outlet_id: Annotated[str, Path(max_length=200, description="e.g. node/123 or merchant/4")],
) -> Response:
    """One outlet with its details (hours, services such as 代收代发/打印复印, chain brand)."""
    return json_response(city.outlet_feature(outlet_id))


@router.get("/nearest", response_model=NearestOut)
async def nearest(
    city: CurrentCity,
    lon: LonQ,
    lat: LatQ,
    category: Annotated[
        str | None,
        Query(max_length=500, description="业态 code(s) or name(s), comma-separated; default all"),
    ] = None,
    slogan: Annotated[str | None, Query(max_length=20)] = None,
    k: Annotated[int, Query(ge=1, le=20)] = 5,
) -> Response:
    """The ``k`` nearest outlets on foot from a point, with walking distance, time and route.

    Distances are measured along the street network exactly as the access analysis does
    (straight access legs to and from the nearest streets, partial edges exact), searched up to
    the configured radius (30 minutes by default).
    """
    cats = _categories(city, category, slogan)
    return Response(
        city.nearest_json(lon, lat, categories=cats, k=k), media_type="application/json"
    )


@router.get("/walking-area", response_model=FeatureCollection)
def walking_area(
    city: CurrentCity,
    lon: LonQ,
    lat: LatQ,
    minutes: Annotated[
        str, Query(max_length=60, description="Comma-separated minutes, e.g. 5,10,15")
    ] = "5,10,15",
) -> Response:
    """The 5/10/15-minute walking areas around a point (polygons, largest last)."""
    values: list[float] = []
    try:
        values = sorted({float(m) for m in minutes.split(",") if m.strip()})
    except ValueError:
        values = []
    if not values or len(values) > 6 or not all(math.isfinite(m) and 0 < m <= 60 for m in values):
        raise InputError(
            Problem(
                f"minutes {minutes!r} must be 1 to 6 numbers in (0, 60]",
                field="minutes",
                fix="write e.g. minutes=5,10,15",
            ),
            "minutes",
        )
    return Response(city.walking_area_json(lon, lat, values), media_type="application/json")
