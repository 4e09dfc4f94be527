"""Merchant 进图: register or update an outlet; every change waits for a planner's approval."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from sqlalchemy import select

from lifecircle.errors import InputError, Problems
from lifecircle.store.models import MerchantOutlet, Submission
from lifecircle.web.city import City
from lifecircle.web.deps import CurrentCity, DbSession, MerchantUser
from lifecircle.web.errors import ERROR_RESPONSES, NotFoundError, PermissionDenied
from lifecircle.web.routes._common import submission_out
from lifecircle.web.schemas import OutletIn, OutletUpdateIn, SubmissionOut

__all__ = ["check_outlet", "router"]

router = APIRouter(
    prefix="/merchant",
    tags=["merchant"],
    responses={k: ERROR_RESPONSES[k] for k in (401, 403, 404, 503)},
)

_MERCHANT_PREFIX = "merchant/"


def check_outlet(city: City, data: dict[str, Any]) -> dict[str, Any]:
    """Validate an outlet's fields against the city; every problem in one :class:`InputError`.

    Returns the normalised fields (``category`` as a 业态 code, services without blanks).
    """
    found = Problems()
    out = dict(data)
    if out.get("category") is not None:
        code = city.catalogue.resolve(str(out["category"]))
        if code is None:
            found.add(
                f"「{out['category']}」不是业态目录中的类别 / "
                f"{out['category']!r} is not a 业态 of the catalogue",
                field="category",
                fix="请从列表中选择业态 / use a code or name from /api/categories, e.g. "
                + ", ".join(city.catalogue.suggest(str(out["category"])) or ["pharmacy"]),
            )
        else:
            out["category"] = code
    lon, lat = out.get("lon"), out.get("lat")
    if lon is not None and lat is not None:
        if not city.in_area(lon, lat):
            found.add(
                f"位置在{city.name}的范围以外 / the point ({lon}, {lat}) lies outside "
                f"{city.name} (extent {', '.join(f'{v:.4f}' for v in city.bbox)})",
                field="lon/lat",
                fix="请在本市地图上点选店铺位置 / pick the outlet's position on the map of this city",
            )
        else:
            ok, _ = city.snap_lonlat(lon, lat)
            if not ok:
                found.add(
                    f"位置离最近的步行道路超过 {city.max_snap_m:g} 米 / the point ({lon}, {lat}) "
                    f"is more than {city.max_snap_m:g} m from every walkable street",
                    field="lon/lat",
                    fix="请把标记放在店门口的街道上 / put the marker at the shop's entrance on "
                    "the street",
                )
    if out.get("services") is not None:
        out["services"] = [s.strip() for s in out["services"] if s and s.strip()][:30]
        if any(len(s) > 50 for s in out["services"]):
            found.add("服务名称不能超过 50 个字 / a service is longer than 50 characters",
                      field="services",
                      fix="写简短的服务名称 / list short service names, e.g. 代收代发, 打印复印")  # fmt: skip
    for key in ("name", "opening_hours", "brand"):
        if isinstance(out.get(key), str):
            out[key] = out[key].strip() or None
    if "name" in data and not out.get("name"):
        found.add("店名不能为空 / the name is empty", field="name",
                  fix="请填写店名 / give the shop's name")  # fmt: skip
    found.raise_if_any("outlet")
    return out


@router.post("/outlets", response_model=SubmissionOut, status_code=201)
def register_outlet(
    body: OutletIn, city: CurrentCity, principal: MerchantUser, db: DbSession
) -> dict[str, Any]:
    """Register an outlet (name, 业态, position, hours, services, brand): a pending submission."""
    payload = check_outlet(city, body.model_dump())
    sub = Submission(
        city=city.key,
        kind="outlet",
        action="create",
        status="pending",
        author_id=principal.user_id,
        circle_id=city.circle_at(payload["lon"], payload["lat"]),
        payload=payload,
    )
    db.add(sub)
    db.commit()
    return submission_out(db, sub)


def _own_outlet(db: DbSession, city: City, outlet_id: str, principal: Any) -> MerchantOutlet:
    number = outlet_id.removeprefix(_MERCHANT_PREFIX)
    row = db.get(MerchantOutlet, int(number)) if number.isdigit() else None
    if row is None or row.city != city.key or not outlet_id.startswith(_MERCHANT_PREFIX):
        if outlet_id in city._outlet_features:
            raise PermissionDenied(
                f"outlet {outlet_id!r} comes from the city's data, not from a merchant "
                "account; register your shop as a new outlet instead"
            )
        raise NotFoundError(f"no merchant outlet {outlet_id!r} in {city.name}")
    if row.owner_id != principal.user_id and principal.role != "admin":
        raise PermissionDenied(f"outlet {outlet_id!r} belongs to another merchant")
    return row


@router.put("/outlets/{outlet_id:path}", response_model=SubmissionOut, status_code=202)
def update_outlet(
    outlet_id: Annotated[str, Path(max_length=200, description="merchant/<n>")],
    body: OutletUpdateIn,
    city: CurrentCity,
    principal: MerchantUser,
    db: DbSession,
) -> dict[str, Any]:
    """Change (or, with ``active: false``, withdraw) one of your approved outlets: a pending
    submission."""
    row = _own_outlet(db, city, outlet_id, principal)
    changes = body.model_dump(exclude_unset=True)
    if not changes:
        raise InputError("没有要修改的内容 / the update changes nothing; give at least one field",
                         "outlet")  # fmt: skip
    merged = {"lon": row.lon, "lat": row.lat, **changes}
    checked = check_outlet(city, merged)
    payload = {k: checked[k] for k in changes}
    lon, lat = checked["lon"], checked["lat"]
    sub = Submission(
        city=city.key,
        kind="outlet",
        action="update",
        status="pending",
        author_id=principal.user_id,
        target_id=f"{_MERCHANT_PREFIX}{row.id}",
        circle_id=city.circle_at(lon, lat),
        payload=payload,
    )
    db.add(sub)
    db.commit()
    return submission_out(db, sub)


@router.get("/submissions", response_model=list[SubmissionOut])
def my_submissions(
    city: CurrentCity, principal: MerchantUser, db: DbSession
) -> list[dict[str, Any]]:
    """Your submissions (outlets and board posts), newest first, with their status."""
    subs = db.execute(
        select(Submission)
        .where(Submission.city == city.key, Submission.author_id == principal.user_id)
        .order_by(Submission.id.desc())
    ).scalars()
    return [submission_out(db, s) for s in subs]


@router.get("/outlets", response_model=list[dict[str, Any]])
def my_outlets(city: CurrentCity, principal: MerchantUser, db: DbSession) -> list[dict[str, Any]]:
    """Your approved outlets as GeoJSON features (as /api/outlets/{id} shows them)."""
    rows = db.execute(
        select(MerchantOutlet)
        .where(MerchantOutlet.city == city.key, MerchantOutlet.owner_id == principal.user_id)
        .order_by(MerchantOutlet.id)
    ).scalars()
    out = []
    for row in rows:
        feature = city._outlet_features.get(f"{_MERCHANT_PREFIX}{row.id}")
        if feature is not None:
            out.append(feature)
    return out
