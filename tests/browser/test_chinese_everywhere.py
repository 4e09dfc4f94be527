"""Chinese everywhere (issue 16, item 3): errors in the page's language without HTTP codes, the
slogans translated in English mode, and the resident map's legend."""

from __future__ import annotations

import re
from typing import Any

import pytest
from _web import PHONE, PageErrors, new_page, wait_ready

pytestmark = pytest.mark.slow

_MESSAGE = "([m, u, b]) => LC.api(m, u, b === null ? undefined : b).then(r => r.message)"


@pytest.fixture
def page(browser: Any, js_errors: PageErrors, live_server: str) -> Any:
    page = new_page(browser, PHONE, js_errors)
    page.goto(live_server + "/")
    wait_ready(page)
    yield page
    page.context.close()


def _message(page: Any, method: str, url: str, body: Any = None) -> str:
    return str(page.evaluate(_MESSAGE, [method, url, body]))


def test_errors_are_in_the_pages_language_without_http_codes(
    page: Any, js_errors: PageErrors
) -> None:
    far = {"text": "这里缺少早餐店", "lon": 0.0, "lat": 0.0}
    bad_circle = {"text": "这里缺少早餐店", "circle_id": "NOPE"}
    zh = [
        _message(page, "POST", "/api/needs", far),
        _message(page, "POST", "/api/needs", bad_circle),
        _message(page, "POST", "/api/needs", {"text": ""}),
        _message(page, "GET", "/api/outlets/nope"),
        _message(page, "POST", "/api/needs", {"text": "x" * 2_000_000}),
    ]
    assert zh[0].startswith("填写有误：") and "范围以外" in zh[0]
    assert "没有生活圈「NOPE」" in zh[1] and "内容：不能为空" in zh[2]
    assert zh[3].startswith("未找到") and zh[4].startswith("提交的内容太大")
    for text in zh:
        assert not re.search(r"\b(4\d\d|5\d\d)\b", text), text
        assert not re.search(r"[A-Za-z]{4,}", re.sub("NOPE|Helsinki", "", text)), text  # no English
    page.click("#lang-toggle")
    en = _message(page, "POST", "/api/needs", far)
    assert en.startswith("Please check the form: ") and "lies outside" in en
    assert "422" not in en and not re.search(r"[\u4e00-\u9fff]", en.split("Fix")[0])
    assert not js_errors, js_errors


def test_english_mode_translates_the_slogans_and_the_legend(
    page: Any, js_errors: PageErrors
) -> None:
    chips = page.locator(".chip[data-slogan]")
    legend = page.locator("#map-legend")
    assert legend.is_visible()
    assert "基本保障类网点" in legend.inner_text() and "步行路线" in legend.inner_text()
    assert "一店一早" in chips.all_inner_texts()
    page.click("#lang-toggle")
    texts = chips.all_inner_texts()
    assert "Shop & breakfast" in texts and "Small repairs" in texts
    assert not any(re.search(r"[\u4e00-\u9fff]", t) for t in texts), texts
    assert "Basic-needs outlet" in legend.inner_text()
    page.click(".chip[data-slogan='一店一早']")
    page.wait_for_function(
        "document.getElementById('listing-title').textContent.startsWith('Shop & breakfast')"
    )
    assert not js_errors, js_errors


def test_the_html_report_loads_its_cjk_font_under_its_csp(
    browser: Any, js_errors: PageErrors, live_server: str
) -> None:
    from _web import DESKTOP, PLANNER, login

    from lifecircle.report._fonts import CJK_FONT_FAMILY_CSS

    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")  # the CSP is enforced
    page = context.new_page()
    page.set_default_timeout(30_000)
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "Content Security" in m.text else None)
    try:
        page.goto(live_server + "/login")
        login(page, PLANNER)
        page.wait_for_url(re.compile(r".*/planner.*"))
        page.goto(live_server + "/api/reports/report.html", timeout=300_000)
        loaded = page.evaluate(
            "fam => document.fonts.load('16px \"' + fam + '\"', '生活圈').then(f => f.length)",
            CJK_FONT_FAMILY_CSS,
        )
        assert loaded >= 1, "the CJK font of report.html did not load"
        assert page.evaluate(
            "fam => document.fonts.check('16px \"' + fam + '\"', '生活圈')", CJK_FONT_FAMILY_CSS
        )
        assert not blocked, blocked
    finally:
        context.close()
