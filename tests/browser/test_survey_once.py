"""A resident follows the survey link of the map, answers, and a second answer from the same
browser is refused (issue 16, item 4)."""

from __future__ import annotations

from typing import Any

import pytest
from _web import PHONE, PageErrors, new_page, wait_ready

pytestmark = pytest.mark.slow


def _answer(page: Any) -> Any:
    page.locator("#sv-questions fieldset").first.get_by_label("满意", exact=True).check()
    page.click("#sv-submit")
    return page.locator("#sv-status.status-ok, #sv-status.status-error")


def test_resident_answers_through_the_map_link_once(
    live_server: str, browser: Any, js_errors: PageErrors, pages: list[Any]
) -> None:
    page = new_page(browser, PHONE, js_errors)
    pages.append(page)
    page.goto(live_server + "/")
    wait_ready(page)
    box = page.locator("#map").bounding_box()
    for dx, dy in ((0, 0), (37, -23), (-41, 29), (60, 60)):  # a point inside a circle
        page.mouse.click(box["x"] + box["width"] / 2 + dx, box["y"] + box["height"] / 2 + dy)
        try:
            page.wait_for_selector("#survey-link-line:not([hidden])", timeout=5_000)
            break
        except Exception:
            continue
    link = page.locator("#survey-link")
    assert link.inner_text() == "为这个生活圈打分（满意度调查）"
    href = link.get_attribute("href") or ""
    assert href.startswith("/survey/")
    link.click()
    page.wait_for_url("**" + href)
    wait_ready(page)
    status = _answer(page)
    status.wait_for()
    assert "status-ok" in (status.get_attribute("class") or "")
    # the same browser again: refused, in Chinese, without an HTTP code
    page.reload()
    wait_ready(page)
    status = _answer(page)
    status.wait_for()
    text = status.inner_text()
    assert "status-error" in (status.get_attribute("class") or "")
    assert "已经回答过本轮问卷" in text and "409" not in text
    assert not js_errors, js_errors


def test_the_printable_poster_shows_the_qr_code(live_server: str, browser: Any) -> None:
    from _web import DESKTOP, http_json

    cid = http_json(live_server + "/api/circles")["features"][0]["properties"]["circle_id"]
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")  # the CSP is enforced
    try:
        page = context.new_page()
        page.goto(f"{live_server}/survey/{cid}/poster")
        page.wait_for_selector("body[data-ready='1']", state="attached")
        page.wait_for_function("document.getElementById('poster-qr').naturalWidth > 0")
        assert page.inner_text("h1") == "扫码参与满意度调查"
        assert page.inner_text("#poster-url").endswith(f"/survey/{cid}")
    finally:
        context.close()
