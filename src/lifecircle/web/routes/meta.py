"""Health, the served cities, the 业态 catalogue, slogans and the street network."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from sqlalchemy import text

from lifecircle import __version__
from lifecircle.taxonomy import CLASSES
from lifecircle.web.city import SLOGAN_SHORTCUTS
from lifecircle.web.deps import AppStateDep, CurrentCity
from lifecircle.web.errors import ERROR_RESPONSES
from lifecircle.web.routes._common import parse_bbox
from lifecircle.web.schemas import CategoryOut, CityOut, FeatureCollection, HealthOut, SloganOut

__all__ = ["router"]

router = APIRouter(tags=["city"], responses={k: ERROR_RESPONSES[k] for k in (404, 503)})


@router.get("/health", response_model=HealthOut)
def health(state: AppStateDep) -> dict[str, Any]:
    """Whether the service is up: the database answers and the cities are loaded."""
    try:
        with state.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        database = "ok"
    except Exception as exc:  # reported, not raised: health must answer
        database = f"error: {type(exc).__name__}"
    cities = list(state.cities.cities) if state.cities is not None else []
    return {
        "status": "ok" if cities else "starting",
        "version": __version__,
        "database": database,
        "cities": cities,
    }


def _city_out(city: Any, state: AppStateDep) -> dict[str, Any]:
    settings = state.settings
    return {
        "key": city.key,
        "name": city.name,
        "bbox": city.bbox,
        "center": city.center,
        "categories_count": len(city.catalogue.categories),
        "outlets_count": len(city._index.ids),
        "circles_count": len(city.circles),
        "residences_count": len(city.residences),
        "tile_url": settings.tile_url,
        "tile_attribution": settings.tile_attribution,
        "attribution": city.spec.attribution,
        "walk_speed_m_per_min": city.speed,
        "bands_min": city.bands_min,
        "revision": city.revision,
    }


@router.get("/cities", response_model=list[CityOut])
def cities(state: AppStateDep) -> list[dict[str, Any]]:
    """Every served city (the first is the default; choose another with ``?city=<key>``)."""
    if state.cities is None:
        return []
    return [_city_out(c, state) for c in state.cities]


@router.get("/city", response_model=CityOut)
def city_info(city: CurrentCity, state: AppStateDep) -> dict[str, Any]:
    """The city: name, extent, centre, counts and the optional tile URL of the base map."""
    return _city_out(city, state)


@router.get("/categories", response_model=list[CategoryOut], response_model_by_alias=True)
def categories(city: CurrentCity) -> list[dict[str, Any]]:
    """The 业态 catalogue with walking bands, slogans and outlet counts."""
    counts: dict[str, int] = {}
    for code in city._index.categories:
        counts[code] = counts.get(code, 0) + 1
    cat = city.catalogue
    return [
        {
            "code": c.code,
            "name_zh": c.name_zh,
            "name_en": c.name_en,
            "class": c.klass,
            "class_zh": CLASSES[c.klass],
            "band_min": float(cat.bands[c.band]),
            "slogans": list(c.slogans),
            "outlets_count": counts.get(c.code, 0),
        }
        for c in cat.categories
    ]


@router.get("/slogans", response_model=list[SloganOut])
def slogans(city: CurrentCity) -> list[dict[str, Any]]:
    """Map shortcuts of the policy slogans: 一店一早, 一菜一修, 一老一小 and 小修小补."""
    return [
        {"slogan": name, "name_en": en, "categories": city.categories_for_slogan(name) or []}
        for name, (_, en) in SLOGAN_SHORTCUTS.items()
    ]


@router.get("/network", response_model=FeatureCollection)
def network(
    city: CurrentCity,
    bbox: Annotated[
        str | None,
        Query(
            max_length=200,
            description="minlon,minlat,maxlon,maxlat; default the whole network",
            examples=["24.94,60.165,24.95,60.172"],
        ),
    ] = None,
) -> Response:
    """The street network's edges (LineStrings with ``edge, highway, name``), to draw the base
    map from our own data."""
    box = parse_bbox(bbox)
    response = Response(city.network_json(box), media_type="application/json")
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response
