"""Resident voice (问需于民): the satisfaction survey of each circle and "what is missing here".

Both are anonymous and rate-limited per client IP.  Nothing about the resident is stored: no IP
address, no name, no browser details; the time is kept to the hour and a point to ~10 m.
"""

from __future__ import annotations

import csv
import hashlib
import io
import secrets
from typing import Annotated, Any
from urllib.parse import quote

import numpy as np
import pandas as pd
from fastapi import APIRouter, Path, Request, Response
from sqlalchemy import select, update

from lifecircle.assess.survey import read_responses
from lifecircle.errors import InputError, Problem, Problems
from lifecircle.store.models import Need, SurveyCode, SurveyResponse, utcnow
from lifecircle.web.deps import AnonymousWrite, AppStateDep, CurrentCity, DbSession, PlannerUser
from lifecircle.web.errors import ERROR_RESPONSES, ConflictError, NotFoundError
from lifecircle.web.routes._common import to_hour
from lifecircle.web.schemas import NeedIn, ReceiptOut, SurveyAnswersIn, SurveyCodesIn, SurveyOut

__all__ = ["DEVICE_COOKIE", "AlreadyAnswered", "router", "survey_qr_svg"]

#: Cookie holding the signed device token of a resident's browser (survey answers).
DEVICE_COOKIE = "lifecircle_device"
_DEVICE_MAX_AGE_S = 400 * 24 * 3600

router = APIRouter(tags=["resident voice"], responses={k: ERROR_RESPONSES[k] for k in (404, 503)})

CircleId = Annotated[str, Path(max_length=64)]


def _known_circle(city: Any, circle_id: str) -> None:
    if circle_id not in set(city.circle_ids()):
        raise NotFoundError(f"no circle {circle_id!r} in {city.name}")


@router.get("/survey/{circle_id}", response_model=SurveyOut)
def survey(circle_id: CircleId, city: CurrentCity) -> dict[str, Any]:
    """The satisfaction survey of a circle: questions and answer scale."""
    _known_circle(city, circle_id)
    s = city.survey
    return {
        "circle_id": circle_id,
        "circle_name": city.circle_name(circle_id),
        "version": s.version,
        "name_zh": s.name_zh,
        "name_en": s.name_en,
        "scale": [
            {"label": label, "label_en": s.scale_en.get(value), "value": value}
            for label, value in s.scale.items()
        ],
        "not_applicable": list(s.not_applicable),
        "questions": [
            {"id": q.id, "text_zh": q.text_zh, "text_en": q.text_en, "overall": q.overall}
            for q in s.questions
        ],
        "target": s.target,
    }


def survey_qr_svg(url: str) -> bytes:
    """A QR code (SVG, dark modules as one path) of a survey page's address.

    Examples
    --------
    >>> survey_qr_svg("https://example.org/survey/c1").startswith(b"<?xml")
    True
    """
    import qrcode
    import qrcode.image.svg

    code = qrcode.QRCode(
        image_factory=qrcode.image.svg.SvgPathImage,
        error_correction=qrcode.constants.ERROR_CORRECT_M,
        box_size=10,
        border=4,
    )
    code.add_data(url)
    code.make(fit=True)
    buffer = io.BytesIO()
    code.make_image().save(buffer)
    return buffer.getvalue()


@router.get(
    "/survey/{circle_id}/qr.svg",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}}, 404: ERROR_RESPONSES[404]},
)
def survey_qr(circle_id: CircleId, city: CurrentCity, request: Request) -> Response:
    """QR code of the circle's survey page (for the 社区's poster, /survey/{circle_id}/poster)."""
    _known_circle(city, circle_id)
    url = f"{str(request.base_url).rstrip('/')}/survey/{quote(circle_id, safe='')}"
    return Response(
        survey_qr_svg(url),
        media_type="image/svg+xml",
        headers={"Cache-Control": "public, max-age=3600", "X-Survey-Url": url},
    )


@router.post(
    "/survey/{circle_id}",
    response_model=ReceiptOut,
    status_code=201,
    responses={k: ERROR_RESPONSES[k] for k in (409, 429)},
)
def answer_survey(
    circle_id: CircleId,
    body: SurveyAnswersIn,
    city: CurrentCity,
    db: DbSession,
    request: Request,
    response: Response,
    state: AppStateDep,
    _limit: AnonymousWrite,
) -> dict[str, Any]:
    """Answer the survey (anonymous): ``{"answers": {"overall": "满意", "breakfast": 4}}``.

    One answer per browser, circle and survey round counts: the browser gets a signed device
    token (cookie ``lifecircle_device``); a second answer from it is kept apart (never in the
    satisfaction rate) and answered with a 409 ``already_answered``."""
    _known_circle(city, circle_id)
    s = city.survey
    found = Problems()
    ids: dict[str, Any] = {}
    for key, value in body.answers.items():
        q = s.question(key)
        if q is None:
            found.add(
                f"「{key}」不是本问卷的问题 / {key!r} is not a question of this survey",
                field=key,
                fix="use the question ids of GET /api/survey/{circle_id}",
            )
        else:
            ids[q.id] = value
    found.raise_if_any("survey answers")
    frame = pd.DataFrame({"circle_id": [circle_id], **{k: [v] for k, v in ids.items()}})
    read = read_responses(frame, s, known_circles=[circle_id])
    values = read[list(ids)].to_numpy(dtype=np.float64, na_value=np.nan)[0]
    answers = {
        qid: None if np.isnan(v) else int(v) for qid, v in zip(ids, values.tolist(), strict=True)
    }
    if body.code is not None:
        return _answer_with_code(db, city.key, circle_id, s.version, body.code, answers)
    token = state.device_signer.unsign(request.cookies.get(DEVICE_COOKIE) or "")
    if token is None:
        token = secrets.token_urlsafe(24)
        response.set_cookie(
            DEVICE_COOKIE,
            state.device_signer.sign(token),
            max_age=_DEVICE_MAX_AGE_S,
            httponly=True,
            samesite="lax",
            secure=state.settings.use_secure_cookies(),
            path="/",
        )
    device = hashlib.sha256(
        "\0".join((token, city.key, circle_id, s.version)).encode("utf-8")
    ).hexdigest()
    repeated = db.execute(
        select(SurveyResponse.id)
        .where(
            SurveyResponse.device == device,
            SurveyResponse.city == city.key,
            SurveyResponse.circle_id == circle_id,
            SurveyResponse.survey_version == s.version,
            SurveyResponse.duplicate.is_(False),
        )
        .limit(1)
    ).first()
    row = SurveyResponse(
        city=city.key,
        circle_id=circle_id,
        survey_version=s.version,
        answers=answers,
        created_at=to_hour(),
        device=device,
        duplicate=repeated is not None,
    )
    db.add(row)
    db.commit()
    if repeated is not None:
        raise AlreadyAnswered(
            "这台设备已经回答过本轮问卷，这次的回答不计入满意度 / this device has already "
            "answered this round of the survey; this answer is kept apart and not counted"
        )
    return {"id": row.id, "status": "received"}


def _code_hash(code: str) -> str:
    return hashlib.sha256(code.strip().upper().replace("-", "").encode("utf-8")).hexdigest()


def _answer_with_code(
    db: DbSession, city: str, circle_id: str, version: str, code: str, answers: dict[str, Any]
) -> dict[str, Any]:
    """Store an answer made with a one-time code: it counts once per code, on any device."""
    row = db.execute(
        select(SurveyCode).where(
            SurveyCode.code_hash == _code_hash(code),
            SurveyCode.city == city,
            SurveyCode.circle_id == circle_id,
            SurveyCode.survey_version == version,
        )
    ).scalar_one_or_none()
    if row is None:
        raise InputError(
            Problem(
                "这个调查码不属于本生活圈的本轮问卷 / the code is not one of this circle's "
                "survey round",
                field="code",
                fix="请核对社区发放的调查码 / check the code handed out by the community",
            ),
            "survey answers",
        )
    used = db.execute(
        update(SurveyCode)
        .where(SurveyCode.id == row.id, SurveyCode.used_at.is_(None))
        .values(used_at=utcnow())
    )
    if used.rowcount != 1:  # type: ignore[attr-defined]
        db.rollback()
        raise AlreadyAnswered("这个调查码已经用过 / this code has already been used")
    response = SurveyResponse(city=city, circle_id=circle_id, survey_version=version,
                              answers=answers, created_at=to_hour(), device=None,
                              duplicate=False)  # fmt: skip
    db.add(response)
    db.commit()
    return {"id": response.id, "status": "received"}


#: Letters and digits of the one-time codes (no 0/O, 1/I/L look-alikes).
_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


@router.post(
    "/survey/{circle_id}/codes",
    response_class=Response,
    status_code=201,
    responses={
        201: {"content": {"text/csv": {}}},
        **{k: ERROR_RESPONSES[k] for k in (401, 403, 404)},
    },
)
def make_survey_codes(
    circle_id: CircleId,
    body: SurveyCodesIn,
    city: CurrentCity,
    principal: PlannerUser,
    db: DbSession,
    request: Request,
) -> Response:
    """Make one-time codes for the circle's current survey round, for the 社区 to hand out:
    a CSV (``circle_id, circle_name, survey_version, code, survey_url``).  Only the codes'
    hashes are stored, so this CSV is the one copy."""
    _known_circle(city, circle_id)
    version = city.survey.version
    base = f"{str(request.base_url).rstrip('/')}/survey/{quote(circle_id, safe='')}"
    name = city.circle_name(circle_id) or ""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["circle_id", "circle_name", "survey_version", "code", "survey_url"])
    for _ in range(body.count):
        raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(10))
        code = f"{raw[:5]}-{raw[5:]}"
        db.add(SurveyCode(city=city.key, circle_id=circle_id, survey_version=version,
                          code_hash=_code_hash(code)))  # fmt: skip
        writer.writerow([circle_id, name, version, code, f"{base}?code={code}"])
    db.commit()
    filename = f"survey-codes-{quote(circle_id, safe='')}.csv"
    return Response(
        "\ufeff" + out.getvalue(),  # BOM: Excel opens the Chinese names right
        status_code=201,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


class AlreadyAnswered(ConflictError):
    """A second survey answer of one device in one round (409 ``already_answered``)."""

    code = "already_answered"


@router.post(
    "/needs", response_model=ReceiptOut, status_code=201, responses={429: ERROR_RESPONSES[429]}
)
def submit_need(
    body: NeedIn, city: CurrentCity, db: DbSession, _limit: AnonymousWrite
) -> dict[str, Any]:
    """Tell planners what is missing here (需求清单): free text, optionally a 业态, a circle or a
    point on the map (anonymous)."""
    found = Problems()
    category = None
    if body.category:
        category = city.catalogue.resolve(body.category)
        if category is None:
            found.add(
                f"「{body.category}」不是业态目录中的类别 / "
                f"{body.category!r} is not a 业态 of the catalogue",
                field="category",
                fix="use a code or name from /api/categories, or leave it out",
            )
    if (body.lon is None) != (body.lat is None):
        found.add("经度和纬度要同时给出 / give both lon and lat, or neither", field="lon/lat",
                  fix="send both")  # fmt: skip
    elif body.lon is not None and body.lat is not None and not city.in_area(body.lon, body.lat):
        found.add(
            f"位置在{city.name}的范围以外 / the point ({body.lon}, {body.lat}) lies outside "
            f"{city.name}",
            field="lon/lat",
            fix="pick a point on this city's map",
        )
    circle_id = body.circle_id or None
    if circle_id is not None and circle_id not in set(city.circle_ids()):
        found.add(
            f"{city.name}没有生活圈「{circle_id}」 / no circle {circle_id!r} in {city.name}",
            field="circle_id",
            fix="use a circle_id of /api/circles or leave it out",
        )
    found.raise_if_any("need")
    if circle_id is None and body.lon is not None and body.lat is not None:
        circle_id = city.circle_at(body.lon, body.lat)
    row = Need(
        city=city.key,
        circle_id=circle_id,
        category=category,
        lon=round(body.lon, 4) if body.lon is not None else None,  # ~10 m is enough
        lat=round(body.lat, 4) if body.lat is not None else None,
        text=body.text,
        created_at=to_hour(),
    )
    db.add(row)
    db.commit()
    return {"id": row.id, "status": "received"}
