"""Helpers shared by the API routes (private)."""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from typing import Any

import pandas as pd
from fastapi import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from lifecircle.errors import InputError, Problem
from lifecircle.store.models import Submission, SurveyResponse, User, utcnow
from lifecircle.web.city import City

__all__ = [
    "json_response",
    "parse_bbox",
    "submission_out",
    "survey_frame",
    "to_hour",
    "utc",
]


def json_response(data: Any, status_code: int = 200) -> Response:
    """A JSON response from already JSON-safe data (no validation pass; fast)."""
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return Response(body, status_code=status_code, media_type="application/json")


def parse_bbox(text: str | None) -> tuple[float, float, float, float] | None:
    """``"minlon,minlat,maxlon,maxlat"`` → a tuple; :class:`InputError` when malformed."""
    if text is None or not text.strip():
        return None
    parts = text.split(",")
    problem = None
    values: list[float] = []
    if len(parts) != 4:
        problem = f"bbox needs 4 numbers, got {len(parts)}"
    else:
        try:
            values = [float(p) for p in parts]
        except ValueError:
            problem = f"bbox {text!r} holds something that is not a number"
    if problem is None:
        x0, y0, x1, y1 = values
        if not all(math.isfinite(v) for v in values):
            problem = "bbox values must be finite"
        elif not (-180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90):
            problem = f"bbox {text!r} is not minlon,minlat,maxlon,maxlat in degrees"
    if problem is not None:
        raise InputError(
            Problem(problem, field="bbox", fix="write bbox=minlon,minlat,maxlon,maxlat"), "bbox"
        )
    return (values[0], values[1], values[2], values[3])


def utc(value: datetime | None) -> datetime | None:
    """A stored time as timezone-aware UTC (SQLite returns naive values)."""
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


def to_hour(value: datetime | None = None) -> datetime:
    """The time rounded down to the hour (what anonymous submissions keep)."""
    value = value or utcnow()
    return value.replace(minute=0, second=0, microsecond=0)


def submission_out(db: Session, sub: Submission) -> dict[str, Any]:
    """The public form of a submission."""
    author = db.get(User, sub.author_id)
    outlet_id = sub.target_id if sub.kind == "outlet" and sub.status == "approved" else None
    if sub.kind == "outlet" and sub.action == "update":
        outlet_id = sub.target_id
    return {
        "id": sub.id,
        "kind": sub.kind,
        "action": sub.action,
        "status": sub.status,
        "city": sub.city,
        "author": author.display_name or author.username if author else None,
        "target_id": sub.target_id if sub.action == "update" else None,
        "outlet_id": outlet_id,
        "circle_id": sub.circle_id,
        "payload": sub.payload,
        "reason": sub.reason,
        "created_at": utc(sub.created_at),
        "decided_at": utc(sub.decided_at),
    }


def survey_frame(db: Session, city: City) -> tuple[pd.DataFrame | None, tuple[int, int]]:
    """The valid survey answers of a city (repeated answers of one device left out) as a
    responses table, and a key of their state."""
    rows = db.execute(
        select(SurveyResponse.id, SurveyResponse.circle_id, SurveyResponse.answers).where(
            SurveyResponse.city == city.key, SurveyResponse.duplicate.is_(False)
        )
    ).all()
    if not rows:
        return None, (0, 0)
    records = [{"circle_id": r.circle_id, **(r.answers or {})} for r in rows]
    frame = pd.DataFrame.from_records(records)
    known = [q.id for q in city.survey.questions]
    cols = ["circle_id", *[q for q in known if q in frame.columns]]
    frame = frame[cols]
    key = (len(rows), max(r.id for r in rows))
    return frame, key
