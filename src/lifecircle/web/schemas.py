"""Request and response models of the API (what ``/openapi.json`` documents).

Inputs are strict (``extra="forbid"``, bounded lengths and ranges); outputs describe exactly what
the routes return.  GeoJSON is WGS-84 longitude/latitude.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

__all__ = [
    "BoardPostIn",
    "BoardPostOut",
    "CategoryOut",
    "CircleAtOut",
    "CircleEvidenceOut",
    "CityOut",
    "Feature",
    "FeatureCollection",
    "HealthOut",
    "KpiOut",
    "LineString",
    "LoginIn",
    "MeOut",
    "MerchantRegistrationIn",
    "NearestOut",
    "NeedIn",
    "NeedOut",
    "OutletFeature",
    "OutletFeatureCollection",
    "OutletIn",
    "OutletUpdateIn",
    "PasswordResetIn",
    "ReceiptOut",
    "RejectIn",
    "ScenarioChangeIn",
    "ScenarioIn",
    "ScenarioOut",
    "ScenarioSummaryOut",
    "SloganOut",
    "SubmissionOut",
    "SurveyAnswersIn",
    "SurveyCodesIn",
    "SurveyOut",
    "UserIn",
    "UserOut",
    "UserUpdateIn",
]

_IN = ConfigDict(extra="forbid", str_strip_whitespace=True)


def not_null(value: object) -> object:
    """A ``mode="before"`` field validator: refuse an explicit ``null`` (the field may be left
    out instead)."""
    if value is None:
        raise PydanticCustomError(
            "null_not_allowed",
            "不能为空值（null）；不改此项就不要写它 / may not be null; leave the field out to keep it",
        )
    return value


#: Fields of :class:`OutletUpdateIn` that may be left out but not set to ``null``.
_NOT_NULL_UPDATE = ("name", "category", "lon", "lat", "services", "active")


def _not_nullable(schema: dict[str, Any], names: tuple[str, ...] = _NOT_NULL_UPDATE) -> None:
    """Document ``names`` (default: :data:`_NOT_NULL_UPDATE`) without ``null`` in a JSON schema."""
    for name in names:
        prop = schema.get("properties", {}).get(name, {})
        options = [o for o in prop.pop("anyOf", []) if o.get("type") != "null"]
        if len(options) == 1:
            prop.update(options[0])
        elif options:
            prop["anyOf"] = options
        if prop.get("default", 0) is None:
            del prop["default"]


Lon = Field(ge=-180.0, le=180.0, allow_inf_nan=False, description="Longitude, WGS-84")
Lat = Field(ge=-90.0, le=90.0, allow_inf_nan=False, description="Latitude, WGS-84")


# ---------------------------------------------------------------------------------------------
# GeoJSON
# ---------------------------------------------------------------------------------------------


class Feature(BaseModel):
    """A GeoJSON Feature (geometry in WGS-84; ``null`` when it has none)."""

    type: Literal["Feature"] = "Feature"
    id: str | int | None = None
    geometry: dict[str, Any] | None
    properties: dict[str, Any]


class FeatureCollection(BaseModel):
    """A GeoJSON FeatureCollection."""

    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[Feature]


class LineString(BaseModel):
    """A GeoJSON LineString."""

    type: Literal["LineString"] = "LineString"
    coordinates: list[list[float]]


class PointGeometry(BaseModel):
    """A GeoJSON Point."""

    type: Literal["Point"] = "Point"
    coordinates: list[float] = Field(min_length=2, max_length=2)


class OutletProperties(BaseModel):
    """Properties of an outlet feature."""

    id: str
    name: str | None
    category: str = Field(description="业态 code")
    category_zh: str
    category_en: str
    class_: Literal["basic", "quality"] | None = Field(
        alias="class", description="基本保障类 basic / 品质提升类 quality"
    )
    opening_hours: str | None
    services: list[str] = Field(description="e.g. 代收代发, 打印复印")
    brand: str | None
    is_chain: bool | None
    source: str = Field(description="file (the city's data) or merchant (registered here)")

    model_config = ConfigDict(populate_by_name=True)


class OutletFeature(BaseModel):
    """An outlet as a GeoJSON Feature."""

    type: Literal["Feature"] = "Feature"
    id: str
    geometry: PointGeometry
    properties: OutletProperties


class OutletFeatureCollection(BaseModel):
    """Outlets as a GeoJSON FeatureCollection."""

    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[OutletFeature]
    total: int = Field(description="Outlets matching the filters (before the limit)")


# ---------------------------------------------------------------------------------------------
# City, categories
# ---------------------------------------------------------------------------------------------


class HealthOut(BaseModel):
    """Service health."""

    status: Literal["ok", "starting"]
    version: str
    database: str
    cities: list[str]


class CityOut(BaseModel):
    """The served city."""

    key: str
    name: str
    bbox: list[float] = Field(description="[min_lon, min_lat, max_lon, max_lat]")
    center: list[float] = Field(description="[lon, lat]")
    categories_count: int
    outlets_count: int
    circles_count: int
    residences_count: int
    tile_url: str | None
    tile_attribution: str | None
    attribution: str
    walk_speed_m_per_min: float
    bands_min: list[float]
    revision: int = Field(description="Increases whenever approved outlet changes are applied")


class CategoryOut(BaseModel):
    """A 业态 of the catalogue."""

    code: str
    name_zh: str
    name_en: str
    class_: Literal["basic", "quality"] = Field(alias="class")
    class_zh: str
    band_min: float = Field(description="Walking band in minutes (家门口 10 / 家周边 15)")
    slogans: list[str] = Field(
        description="Slogans the 业态 answers: 一店, 一早, 一菜, 一修, 一老, 一小"
    )
    outlets_count: int

    model_config = ConfigDict(populate_by_name=True)


class SloganOut(BaseModel):
    """A slogan shortcut of the map: 一店一早, 一菜一修, 一老一小, 小修小补."""

    slogan: str
    name_en: str
    categories: list[str]


# ---------------------------------------------------------------------------------------------
# Nearest
# ---------------------------------------------------------------------------------------------


class NearestOrigin(BaseModel):
    """Where the walk starts: the point and its foot on the nearest street."""

    lon: float
    lat: float
    foot_lon: float
    foot_lat: float
    access_m: float = Field(description="Straight metres from the point to its foot")


class NearestResult(BaseModel):
    """One nearby outlet with its walking route."""

    outlet_id: str
    name: str | None
    category: str
    category_zh: str
    lon: float
    lat: float
    distance_m: float = Field(description="Walking metres along the network (access legs included)")
    minutes: float
    route: LineString


class NearestOut(BaseModel):
    """The nearest outlets on foot from a point."""

    origin: NearestOrigin
    walk_speed_m_per_min: float
    max_minutes: float
    results: list[NearestResult]


# ---------------------------------------------------------------------------------------------
# Circles and dashboard
# ---------------------------------------------------------------------------------------------


class CircleEvidenceOut(BaseModel):
    """One 业态 of a circle's 有没有 table."""

    circle_id: str
    category: str
    category_zh: str | None
    class_: str | None = Field(alias="class")
    band_min: float | None
    present: bool | None
    households_covered_share: float | None
    residences_covered_share: float | None
    nearest_min_median: float | None
    count_within_band_median: float | None

    model_config = ConfigDict(populate_by_name=True, extra="allow")


class CircleAtOut(BaseModel):
    """The circle at a point and its survey page."""

    circle_id: str | None
    name: str | None
    survey_url: str | None = Field(description="The circle's satisfaction survey page")


class KpiOut(BaseModel):
    """One KPI against its target."""

    scope: str
    kpi: str
    kpi_zh: str | None
    value: float | None
    target: float | None
    unit: str | None
    meets: bool | None
    source: str | None
    basis: str | None = None


# ---------------------------------------------------------------------------------------------
# Auth and users
# ---------------------------------------------------------------------------------------------


class LoginIn(BaseModel):
    """Credentials."""

    model_config = _IN
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class MeOut(BaseModel):
    """The logged-in user and the session's CSRF token."""

    user: str
    role: Literal["admin", "planner", "merchant"]
    display_name: str | None
    csrf_token: str


_USERNAME = Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
_PASSWORD = Field(
    min_length=12,
    max_length=256,
    description="At least 12 characters and not a common password (lifecircle.web.passwords)",
)
_PHONE = Field(min_length=5, max_length=32, pattern=r"^\+?[0-9][0-9 \-]{3,30}$", description="电话")
_LICENCE = Field(
    min_length=6,
    max_length=64,
    pattern=r"^[0-9A-Za-z\-]+$",
    description="营业执照号 / 统一社会信用代码 (business licence number)",
)
_DISTRICTS = Field(
    default=None,
    max_length=50,
    description="Districts (区/街道) or circle ids the account works in; empty or null: all",
)


class UserIn(BaseModel):
    """A new account (admin only)."""

    model_config = _IN
    username: str = _USERNAME
    password: str = _PASSWORD
    role: Literal["admin", "planner", "merchant"]
    display_name: str | None = Field(default=None, max_length=128)
    phone: str | None = Field(default=None, max_length=32)
    licence_no: str | None = Field(default=None, max_length=64)
    districts: list[Annotated[str, Field(min_length=1, max_length=64)]] | None = _DISTRICTS


class UserUpdateIn(BaseModel):
    """Changes to an account (admin only); fields left out stay as they are."""

    model_config = ConfigDict(**_IN, json_schema_extra=lambda schema, _: _not_nullable(
        schema, ("role", "active")))  # fmt: skip
    role: Literal["admin", "planner", "merchant"] | None = None
    active: bool | None = Field(default=None, description="false disables the account")
    display_name: str | None = Field(default=None, max_length=128)
    districts: list[Annotated[str, Field(min_length=1, max_length=64)]] | None = _DISTRICTS

    _no_null = field_validator("role", "active", mode="before")(not_null)


class PasswordResetIn(BaseModel):
    """A new password for an account (admin only); the account's sessions end."""

    model_config = _IN
    password: str = _PASSWORD


class MerchantRegistrationIn(BaseModel):
    """A merchant's own registration: the account waits for a planner's approval."""

    model_config = _IN
    username: str = _USERNAME
    password: str = _PASSWORD
    display_name: str = Field(min_length=1, max_length=128, description="Shop or company name")
    phone: str = _PHONE
    licence_no: str = _LICENCE
    districts: list[Annotated[str, Field(min_length=1, max_length=64)]] | None = _DISTRICTS


class UserOut(BaseModel):
    """An account (without its password)."""

    id: int
    username: str
    role: str
    display_name: str | None
    active: bool
    pending: bool = Field(description="Registered by the merchant; waits for approval")
    phone: str | None
    licence_no: str | None
    districts: list[str] | None
    created_at: datetime


# ---------------------------------------------------------------------------------------------
# Merchants and moderation
# ---------------------------------------------------------------------------------------------


class OutletIn(BaseModel):
    """A merchant's outlet (商户进图)."""

    model_config = _IN
    name: str = Field(min_length=1, max_length=200)
    category: str = Field(min_length=1, max_length=64, description="业态 code or name")
    lon: float = Lon
    lat: float = Lat
    opening_hours: str | None = Field(default=None, max_length=200)
    services: list[str] = Field(default_factory=list, max_length=30)
    brand: str | None = Field(default=None, max_length=200)


class OutletUpdateIn(BaseModel):
    """Changes to a merchant's approved outlet (fields left out stay as they are).

    ``opening_hours`` and ``brand`` may be ``null`` (cleared); the other fields may be left out
    but not set to ``null``.
    """

    model_config = ConfigDict(**_IN, json_schema_extra=lambda schema, _: _not_nullable(schema))
    name: str | None = Field(default=None, min_length=1, max_length=200)
    category: str | None = Field(default=None, min_length=1, max_length=64)
    lon: float | None = Field(default=None, ge=-180.0, le=180.0, allow_inf_nan=False)
    lat: float | None = Field(default=None, ge=-90.0, le=90.0, allow_inf_nan=False)
    opening_hours: str | None = Field(default=None, max_length=200)
    services: list[str] | None = Field(default=None, max_length=30)
    brand: str | None = Field(default=None, max_length=200)
    active: bool | None = Field(default=None, description="false withdraws the outlet")

    _no_null = field_validator(*_NOT_NULL_UPDATE, mode="before")(not_null)


class SubmissionOut(BaseModel):
    """A submission and its moderation state."""

    id: int
    kind: Literal["outlet", "board"]
    action: Literal["create", "update"]
    status: Literal["pending", "approved", "rejected"]
    city: str
    author: str | None
    target_id: str | None = Field(description="The outlet an update changes (merchant/<n>)")
    outlet_id: str | None = Field(description="The outlet created or changed, once approved")
    circle_id: str | None
    payload: dict[str, Any]
    reason: str | None
    created_at: datetime
    decided_at: datetime | None


class RejectIn(BaseModel):
    """Why a submission is rejected."""

    model_config = _IN
    reason: str = Field(min_length=1, max_length=500)


# ---------------------------------------------------------------------------------------------
# Resident voice
# ---------------------------------------------------------------------------------------------


class SurveyScaleItem(BaseModel):
    """One answer of the scale."""

    label: str
    label_en: str | None
    value: int


class SurveyQuestionOut(BaseModel):
    """One question."""

    id: str
    text_zh: str
    text_en: str
    overall: bool


class SurveyOut(BaseModel):
    """The satisfaction survey of a circle."""

    circle_id: str
    circle_name: str | None
    version: str
    name_zh: str
    name_en: str
    scale: list[SurveyScaleItem]
    not_applicable: list[str]
    questions: list[SurveyQuestionOut]
    target: float


class SurveyAnswersIn(BaseModel):
    """Answers by question id: a value (5 … 1), a label (满意 …), a not-applicable label
    (不清楚) or ``null``."""

    model_config = _IN
    answers: dict[str, int | str | None] = Field(min_length=1, max_length=50)
    code: str | None = Field(
        default=None,
        min_length=6,
        max_length=32,
        pattern=r"^[A-Za-z0-9\-]+$",
        description="A one-time code handed out by the 社区 (the answer counts once per code)",
    )


class SurveyCodesIn(BaseModel):
    """How many one-time codes to make for a circle's current survey round."""

    model_config = _IN
    count: int = Field(ge=1, le=5000)


class ReceiptOut(BaseModel):
    """Receipt of an anonymous submission."""

    id: int
    status: Literal["received"] = "received"


class NeedIn(BaseModel):
    """What is missing here (需求清单)."""

    model_config = _IN
    text: str = Field(min_length=1, max_length=500)
    circle_id: str | None = Field(default=None, max_length=64)
    category: str | None = Field(default=None, max_length=64, description="业态 code or name")
    lon: float | None = Field(default=None, ge=-180.0, le=180.0, allow_inf_nan=False)
    lat: float | None = Field(default=None, ge=-90.0, le=90.0, allow_inf_nan=False)


class NeedOut(BaseModel):
    """A need as planners see it."""

    id: int
    circle_id: str | None
    category: str | None
    category_zh: str | None
    lon: float | None
    lat: float | None
    text: str
    created_at: datetime


# ---------------------------------------------------------------------------------------------
# Community board
# ---------------------------------------------------------------------------------------------


class BoardPostIn(BaseModel):
    """A community-board post: 零工 gig, 优惠 promotion or 活动 event."""

    model_config = _IN
    kind: Literal["gig", "promotion", "event"]
    title: str = Field(min_length=1, max_length=120)
    body: str = Field(min_length=1, max_length=2000)
    circle_id: str | None = Field(default=None, max_length=64)
    valid_until: date | None = None
    coupon: str | None = Field(default=None, max_length=64, description="Redeemed in the shop")


class BoardPostOut(BaseModel):
    """An approved board post."""

    id: int
    kind: Literal["gig", "promotion", "event"]
    kind_zh: str
    title: str
    body: str
    circle_id: str | None
    circle_name: str | None
    valid_until: date | None
    coupon: str | None
    author: str | None
    created_at: datetime


# ---------------------------------------------------------------------------------------------
# Planning scenarios (规划方案)
# ---------------------------------------------------------------------------------------------


class AddOutletChangeIn(BaseModel):
    """Open an outlet of a 业态 at a point."""

    model_config = _IN
    op: Literal["add_outlet"]
    category: str = Field(min_length=1, max_length=64, description="业态 code or name")
    lon: float = Lon
    lat: float = Lat
    outlet_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        description="Id of the new outlet; default scenario/<n> (n: the change's position)",
    )
    name: str | None = Field(default=None, min_length=1, max_length=200)
    is_chain: bool | None = Field(default=None, description="default: from the name's brand")


class RemoveOutletChangeIn(BaseModel):
    """Close an outlet (of the city's data, a merchant's, or one added earlier in the list)."""

    model_config = _IN
    op: Literal["remove_outlet"]
    outlet_id: str = Field(min_length=1, max_length=128)


class MoveOutletChangeIn(BaseModel):
    """Move an outlet to a point."""

    model_config = _IN
    op: Literal["move_outlet"]
    outlet_id: str = Field(min_length=1, max_length=128)
    lon: float = Lon
    lat: float = Lat


class CloseEdgeChangeIn(BaseModel):
    """Close a street segment: ``edge`` (its index, the ``edge`` property of /api/network), or
    ``lon``/``lat`` of a point on the map (the nearest walkable segment within the snap
    distance is closed)."""

    model_config = _IN
    op: Literal["close_edge"]
    edge: int | None = Field(default=None, ge=0, le=2**31 - 1)
    lon: float | None = Field(default=None, ge=-180.0, le=180.0, allow_inf_nan=False)
    lat: float | None = Field(default=None, ge=-90.0, le=90.0, allow_inf_nan=False)

    @model_validator(mode="after")
    def _edge_or_point(self) -> CloseEdgeChangeIn:
        point = (self.lon is not None, self.lat is not None)
        if point[0] != point[1]:
            raise ValueError("给出经度和纬度 / give both lon and lat")
        if (self.edge is None) == (not point[0]):
            raise ValueError("给出 edge 或 lon/lat 之一 / give either edge or lon/lat, not both")
        return self


#: One change of a scenario: the dict format of :meth:`lifecircle.plan.whatif.WhatIf.apply`.
ScenarioChangeIn = Annotated[
    AddOutletChangeIn | RemoveOutletChangeIn | MoveOutletChangeIn | CloseEdgeChangeIn,
    Field(discriminator="op"),
]


class ScenarioIn(BaseModel):
    """A named list of changes to try on the city's current state."""

    model_config = _IN
    name: str = Field(min_length=1, max_length=120, description="Unique within the city")
    description: str | None = Field(default=None, max_length=1000)
    changes: list[ScenarioChangeIn] = Field(min_length=1, max_length=50)


class ScenarioHeadline(BaseModel):
    """The figure the dashboard shows before and after."""

    kpi: str = Field(
        description="households_covered:<业态> when every outlet change concerns one 业态, "
        "else households_basic_or_better"
    )
    kpi_zh: str | None
    before: float | None
    after: float | None
    unit: str | None


class ScenarioCircleOut(BaseModel):
    """One circle before and after."""

    circle_id: str
    name: str | None
    grade_before: str | None
    grade_after: str | None
    grade_changed: bool
    n_basic_before: int | None
    n_basic_after: int | None
    n_quality_before: int | None
    n_quality_after: int | None
    coverage_changes: str = Field(
        description="业态 whose household coverage moved, e.g. 早餐店 45%→85%"
    )
    missing_for_next_grade_after: str | None


class ScenarioKpiOut(BaseModel):
    """A city KPI that moved."""

    kpi: str
    kpi_zh: str | None
    before: float | None
    after: float | None
    target: float | None
    unit: str | None
    meets: bool | None = Field(description="Whether the value after meets the target")


class ScenarioStepOut(BaseModel):
    """What one change did."""

    op: Literal["add_outlet", "remove_outlet", "move_outlet", "close_edge"]
    residences_changed: int = Field(description="Residences whose walking access changed")
    circles: list[str] = Field(description="Circles whose residences' access changed")
    grades_changed: int


class ScenarioSummaryOut(BaseModel):
    """A saved scenario as listed on the dashboard."""

    id: int
    city: str
    name: str
    description: str | None
    n_changes: int
    author: str | None
    created_at: datetime
    kpi: str
    kpi_zh: str | None
    before: float | None
    after: float | None
    unit: str | None
    circles_basic_before: int = Field(description="Circles at 基础型 or better before")
    circles_basic_after: int = Field(description="Circles at 基础型 or better after")
    circles_upgraded: int = Field(description="Circles whose grade rose")
    circles_downgraded: int = Field(description="Circles whose grade fell")
    stale: bool = Field(
        description="Outlets were approved or changed since it was computed: recompute it "
        "(POST /api/scenarios/{id}/recompute) for figures of the current state"
    )


class ScenarioOut(ScenarioSummaryOut):
    """A saved scenario with its full result."""

    base_change_id: int = Field(description="Last approved outlet change it was computed on")
    changes: list[dict[str, Any]] = Field(
        description="The changes as applied (outlet ids assigned, 业态 as codes)"
    )
    headline: ScenarioHeadline
    circles: list[ScenarioCircleOut]
    kpis: list[ScenarioKpiOut]
    steps: list[ScenarioStepOut]
