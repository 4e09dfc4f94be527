"""Life circles coloured by grade, and each circle's 有没有 evidence."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Response

from lifecircle.web.deps import CurrentCity
from lifecircle.web.errors import ERROR_RESPONSES
from lifecircle.web.routes._common import json_response
from lifecircle.web.schemas import CircleAtOut, CircleEvidenceOut, FeatureCollection

__all__ = ["router"]

router = APIRouter(tags=["circles"], responses={k: ERROR_RESPONSES[k] for k in (404, 503)})


@router.get("/circles", response_model=FeatureCollection)
def circles(city: CurrentCity) -> Response:
    """Circles as polygons with ``circle_id, name, grade, grade_en, households,
    missing_for_next_grade`` (and the English text, satisfaction rate, counts)."""
    return json_response(city.circles_geojson())


@router.get("/circles/at", response_model=CircleAtOut)
def circle_at(
    city: CurrentCity,
    lon: Annotated[float, Query(ge=-180.0, le=180.0, allow_inf_nan=False)],
    lat: Annotated[float, Query(ge=-90.0, le=90.0, allow_inf_nan=False)],
) -> dict[str, Any]:
    """The circle a point lies in (``circle_id`` null outside every circle), with the address
    of its satisfaction survey page."""
    circle_id = city.circle_at(lon, lat)
    return {
        "circle_id": circle_id,
        "name": city.circle_name(circle_id) if circle_id is not None else None,
        "survey_url": f"/survey/{quote(circle_id, safe='')}" if circle_id is not None else None,
    }


@router.get(
    "/circles/{circle_id}", response_model=list[CircleEvidenceOut], response_model_by_alias=True
)
def circle_evidence(
    city: CurrentCity, circle_id: Annotated[str, Path(max_length=64)]
) -> list[dict[str, Any]]:
    """The circle's evidence: one row per 业态 (present?, household share covered within its
    band, median minutes to the nearest, median count within the band)."""
    return city.evidence_rows(circle_id)
