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
