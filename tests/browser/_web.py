"""Helpers of the browser tests (Playwright for Python driving Debian's chromium headless)."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}
#: Demo accounts created in dev mode (lifecircle.web.app.DEMO_USERS).
MERCHANT = ("merchant", "merchant-demo")
PLANNER = ("planner", "planner-demo")


def http_json(url: str, timeout: float = 30.0) -> Any:
    """GET ``url`` and decode its JSON body (raises on an HTTP error)."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read().decode("utf-8"))


_FONTS_LOADED = (
    "document.fonts.load('16px \"LC CJK Fallback\"', '中文')"
    ".then(() => document.fonts.ready).then(() => true)"
)


class PageErrors(list[str]):
    """JavaScript errors seen by a page (uncaught exceptions)."""


def new_page(
    browser: Any,
    viewport: dict[str, int],
    errors: PageErrors,
    *,
    geolocation: tuple[float, float] | None = None,
    bypass_csp: bool = True,
) -> Any:
    """A page in a fresh context (own cookies and storage) that records uncaught JS errors;
    ``geolocation`` (lon, lat) grants the page that position; ``bypass_csp=False`` enforces
    the pages' Content-Security-Policy."""
    options: dict[str, Any] = {
        "viewport": viewport,
        "locale": "zh-CN",
        "timezone_id": "Asia/Shanghai",
        # Playwright evaluates string predicates (wait_for_function) with eval, which the pages'
        # CSP (script-src 'self') forbids; the CSP header itself is tested in test_pages_static
        "bypass_csp": bypass_csp,
    }
    if geolocation is not None:
        options["geolocation"] = {"longitude": geolocation[0], "latitude": geolocation[1]}
        options["permissions"] = ["geolocation"]
    context = browser.new_context(**options)
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return page


def wait_ready(page: Any) -> None:
    """Wait until the page's script marks itself ready and the CJK font has loaded."""
    page.wait_for_selector("body[data-ready='1']", state="attached", timeout=60_000)
    page.evaluate(_FONTS_LOADED)


def screenshot(page: Any, name: str, *, full_page: bool = False) -> Path:
    """Save ``tests/artifacts/web_<name>.png`` after the fonts have loaded (no toast shown)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.evaluate(_FONTS_LOADED)
    page.evaluate("document.getElementById('toast').hidden = true")
    if full_page:  # a sticky header would otherwise be drawn where the page was scrolled to
        page.evaluate("window.scrollTo(0, 0)")
    path = ARTIFACTS / f"web_{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    _shrink_png(path)
    return path


def _shrink_png(path: Path) -> None:
    """Re-save a screenshot with a 256-colour palette: a third of the size, text still crisp."""
    from PIL import Image

    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=256, method=Image.Quantize.FASTOCTREE)
    small.save(path, optimize=True)


def login(page: Any, user: tuple[str, str]) -> None:
    """Fill the login form of the current page and submit it."""
    page.fill("#username", user[0])
    page.fill("#password", user[1])
    page.click("#login-form button[type=submit]")


def logged_in_page(
    browser: Any,
    errors: PageErrors,
    url: str,
    user: tuple[str, str],
    shown: str,
    viewport: dict[str, int] = DESKTOP,
    bypass_csp: bool = True,
) -> Any:
    """A fresh page at ``url`` (a page with the login form), logged in as ``user``, once the
    element ``shown`` is visible and the page is ready."""
    page = new_page(browser, viewport, errors, bypass_csp=bypass_csp)
    page.goto(url)
    page.wait_for_selector("#login-area:not([hidden])")
    login(page, user)
    page.wait_for_selector(f"{shown}:not([hidden])")
    wait_ready(page)
    return page
