"""HTML pages of the web platform (便民地图, 商户进图, 规划看板, 社区公告栏, 满意度调查).

The pages are thin shells: Jinja2 templates that load the bundled JavaScript, which talks to the
JSON API under ``/api``.  Everything they need is served from the package itself — the vendored
Leaflet map library, the stylesheets and the CJK fallback font of :mod:`lifecircle.report` — so
the platform works offline: no CDN, and no tile server unless ``/api/city`` names one (the base
map is drawn from the city's own street network).

``router`` is included by :func:`lifecircle.web.app.create_app`; it serves

* ``/`` — resident map (居民便民地图),
* ``/merchant`` — merchant 进图 (register or update an outlet),
* ``/planner`` — planner dashboard (规划看板),
* ``/board`` — community board (社区公告栏: 零工, 优惠, 活动),
* ``/survey/{circle_id}`` — satisfaction survey and 需求清单 of one circle,
* ``/survey/{circle_id}/poster`` — a printable poster with the survey's QR code,
* ``/login`` — login of merchants, planners and administrators,
* ``/register`` — merchants register themselves (approved by a planner),
* ``/admin`` — accounts: registrations to approve, users to manage,
* ``/static/{path}`` — the bundled assets (``/static/fonts/…`` maps to the report fonts).
"""

from __future__ import annotations

import logging
import mimetypes
from pathlib import Path
from typing import Final
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.templating import Jinja2Templates

__all__ = ["PAGES", "STATIC_DIR", "TEMPLATES_DIR", "router"]

logger = logging.getLogger(__name__)

_HERE: Final = Path(__file__).resolve().parent
#: Folder of the Jinja2 page templates.
TEMPLATES_DIR: Final = _HERE / "templates"
#: Folder of the bundled static assets (JS, CSS, vendored Leaflet).
STATIC_DIR: Final = _HERE / "static"
#: The CJK fallback font ships once, with the report package; it is served from there.
_FONTS_DIR: Final = _HERE.parent / "report" / "fonts"

#: Page name → (template, Chinese title, English title).
PAGES: Final[dict[str, tuple[str, str, str]]] = {
    "resident": ("resident.html", "便民地图", "Convenience map"),
    "merchant": ("merchant.html", "商户进图", "Merchant sign-up"),
    "planner": ("planner.html", "规划看板", "Planner dashboard"),
    "board": ("board.html", "社区公告栏", "Community board"),
    "survey": ("survey.html", "满意度调查", "Satisfaction survey"),
    "login": ("login.html", "登录", "Log in"),
    "register": ("register.html", "商户注册", "Register your shop"),
    "admin": ("admin.html", "账户管理", "Accounts"),
    "poster": ("poster.html", "满意度调查海报", "Survey poster"),
}

# Assets change only with the package version, so browsers may keep them for a day.
_STATIC_CACHE: Final = "public, max-age=86400"
_EXTRA_TYPES: Final = {".js": "text/javascript", ".css": "text/css", ".ttf": "font/ttf"}

# Pages must not be framed by other sites and must not leak the URL to other origins; scripts,
# styles, fonts and data come from this origin only, images also from a configured tile server
# (Leaflet positions its elements with inline styles, hence 'unsafe-inline' for styles only).
_PAGE_HEADERS: Final = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
_CSP: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:{tiles}; font-src 'self'; connect-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)

templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
router = APIRouter(include_in_schema=False)


def _page(request: Request, name: str, **context: object) -> HTMLResponse:
    template, title_zh, title_en = PAGES[name]
    response = templates.TemplateResponse(
        request,
        template,
        {"page": name, "title_zh": title_zh, "title_en": title_en, **context},
    )
    response.headers.update(_PAGE_HEADERS)
    response.headers["Content-Security-Policy"] = _CSP.format(tiles=_tile_origin(request))
    return response


def _tile_origin(request: Request) -> str:
    """`` <scheme://host>`` of the configured tile server (``""`` when none)."""
    state = getattr(request.app.state, "lifecircle", None)
    url = getattr(getattr(state, "settings", None), "tile_url", None)
    if not isinstance(url, str) or not url:
        return ""
    parts = urlsplit(url.replace("{s}", "a"))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return ""
    host = parts.netloc
    if "{s}." in url:  # Leaflet's subdomain placeholder: allow every subdomain
        host = "*." + host.split(".", 1)[1]
    return f" {parts.scheme}://{host}"


@router.get("/", response_class=HTMLResponse)
def resident_map(request: Request) -> HTMLResponse:
    """Resident map: outlets by 业态, nearest outlets on foot, walking areas."""
    return _page(request, "resident")


@router.get("/merchant", response_class=HTMLResponse)
def merchant_page(request: Request) -> HTMLResponse:
    """Merchant 进图: register or update an outlet, see the moderation status."""
    return _page(request, "merchant")


@router.get("/planner", response_class=HTMLResponse)
def planner_page(request: Request) -> HTMLResponse:
    """Planner dashboard: KPIs, grades, blind spots, needs, moderation, reports."""
    return _page(request, "planner")


@router.get("/board", response_class=HTMLResponse)
def board_page(request: Request) -> HTMLResponse:
    """Community board: gig jobs, promotions and events by circle."""
    return _page(request, "board")


@router.get("/survey/{circle_id}", response_class=HTMLResponse)
def survey_page(request: Request, circle_id: str) -> HTMLResponse:
    """Satisfaction survey and "what is missing here" form of one circle."""
    return _page(request, "survey", circle_id=circle_id)


@router.get("/survey/{circle_id}/poster", response_class=HTMLResponse)
def survey_poster(request: Request, circle_id: str) -> HTMLResponse:
    """A printable poster for the 社区: the circle's survey QR code and address."""
    state = getattr(request.app.state, "lifecircle", None)
    cities = getattr(state, "cities", None)
    name = None
    if cities is not None and circle_id in set(cities.get().circle_ids()):
        name = cities.get().circle_name(circle_id)
    url = f"{str(request.base_url).rstrip('/')}/survey/{quote(circle_id, safe='')}"
    return _page(request, "poster", circle_id=circle_id, circle_name=name or circle_id, url=url)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> HTMLResponse:
    """Login form for merchants, planners and administrators."""
    return _page(request, "login")


@router.get("/register", response_class=HTMLResponse)
def register_page(request: Request) -> HTMLResponse:
    """Merchant self-registration (the account waits for a planner's approval)."""
    return _page(request, "register")


@router.get("/admin", response_class=HTMLResponse)
def admin_page(request: Request) -> HTMLResponse:
    """Accounts: pending registrations (planners, administrators) and every account (admins)."""
    return _page(request, "admin")


@router.get("/static/{path:path}")
def static_file(path: str) -> Response:
    """A bundled asset; ``fonts/<name>`` is served from the report package's font folder."""
    if path.startswith("fonts/"):
        root, relative = _FONTS_DIR, path.removeprefix("fonts/")
    else:
        root, relative = STATIC_DIR, path
    target = _resolve_inside(root, relative)
    if target is None:
        raise HTTPException(status_code=404, detail=f"No static file {path!r}.")
    media_type = _EXTRA_TYPES.get(target.suffix) or mimetypes.guess_type(target.name)[0]
    return FileResponse(
        target,
        media_type=media_type or "application/octet-stream",
        headers={"Cache-Control": _STATIC_CACHE, "X-Content-Type-Options": "nosniff"},
    )


def _resolve_inside(root: Path, relative: str) -> Path | None:
    """``root / relative`` if it is an existing file inside ``root`` (no ``..`` escapes)."""
    if not relative or "\x00" in relative:
        return None
    root = root.resolve()
    target = (root / relative).resolve()
    if not target.is_relative_to(root) or not target.is_file():
        return None
    return target
