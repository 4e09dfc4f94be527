"""The API documentation (/docs) renders in the browser with no request to another site."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from _web import DESKTOP, PageErrors, new_page

pytestmark = pytest.mark.slow


def test_swagger_ui_renders_offline(live_server: str, browser: Any, js_errors: PageErrors) -> None:
    page = new_page(browser, DESKTOP, js_errors)
    origin = urlsplit(live_server).netloc
    elsewhere: list[str] = []

    def guard(route: Any) -> None:
        url = route.request.url
        if urlsplit(url).scheme in ("http", "https") and urlsplit(url).netloc != origin:
            elsewhere.append(url)
            route.abort()
        else:
            route.continue_()

    page.route("**/*", guard)
    try:
        page.goto(live_server + "/docs")
        page.wait_for_selector(".opblock", timeout=60_000)
        page.wait_for_load_state("networkidle")
        text = page.locator("#swagger-ui").inner_text()
        assert "/api/scenarios" in text and "/api/nearest" in text
        assert not elsewhere, elsewhere
        assert not js_errors, js_errors
    finally:
        page.context.close()


def test_swagger_ui_renders_under_its_csp(live_server: str, browser: Any) -> None:
    context = browser.new_context(viewport=DESKTOP)  # the CSP is enforced, not bypassed
    page = context.new_page()
    violations: list[str] = []
    page.on(
        "console", lambda m: violations.append(m.text) if "Content Security" in m.text else None
    )
    try:
        response = page.goto(live_server + "/docs")
        assert response is not None
        csp = response.headers["content-security-policy"]
        assert "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
        page.wait_for_selector(".opblock", timeout=60_000)
        page.locator(".opblock-summary").first.click()  # Swagger UI's scripts run
        page.wait_for_selector(".opblock-body", timeout=30_000)
        assert not violations, violations
    finally:
        context.close()
