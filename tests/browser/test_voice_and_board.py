"""Resident voice (survey of a circle, "what is missing here") and the community board
(a merchant posts, a planner approves, residents read it by circle)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from _web import (
    DESKTOP,
    MERCHANT,
    PHONE,
    PLANNER,
    PageErrors,
    http_json,
    login,
    new_page,
    screenshot,
    wait_ready,
)

pytestmark = pytest.mark.slow

STAMP = int(time.time() * 1000) % 10_000_000


@pytest.fixture
def pages(browser: Any, js_errors: PageErrors) -> Iterator[dict[str, Any]]:
    made: dict[str, Any] = {}
    yield made
    for page in made.values():
        page.context.close()


def test_resident_answers_the_survey_and_says_what_is_missing(
    live_server: str, browser: Any, pages: dict[str, Any], js_errors: PageErrors
) -> None:
    circles = http_json(live_server + "/api/circles")["features"]
    circle = circles[0]["properties"]
    survey = http_json(f"{live_server}/api/survey/{circle['circle_id']}")
    page = pages["resident"] = new_page(browser, PHONE, js_errors)
    page.goto(f"{live_server}/survey/{circle['circle_id']}")
    wait_ready(page)
    assert page.locator("#sv-circle-name").inner_text() == survey["circle_name"]
    fieldsets = page.locator("#sv-questions fieldset")
    assert fieldsets.count() == len(survey["questions"])
    # every answer is a labelled radio button (满意 … 不满意, 不清楚)
    first = fieldsets.first
    assert first.locator("input[type=radio]").count() == len(survey["scale"]) + 1
    first.get_by_label("满意", exact=True).check()
    fieldsets.nth(1).get_by_label("不清楚").check()
    fieldsets.nth(2).get_by_label("不太满意").check()
    page.click("#sv-submit")
    page.wait_for_selector("#sv-status.status-ok")
    assert page.locator("#sv-submit").is_disabled()

    need_text = f"小区门口没有早餐店 {STAMP}"
    page.select_option("#need-category", "breakfast")
    page.fill("#need-text", need_text)
    page.click("#need-form button[type=submit]")
    page.wait_for_selector("#need-status.status-ok")
    screenshot(page, "survey", full_page=True)

    # planners see the need in the dashboard's needs list
    planner = pages["planner"] = new_page(browser, DESKTOP, js_errors)
    planner.goto(live_server + "/planner")
    planner.wait_for_selector("#login-area:not([hidden])")
    login(planner, PLANNER)
    wait_ready(planner)
    planner.wait_for_selector(f"#needs-table >> text={need_text}")
    assert not js_errors, js_errors


def test_merchant_posts_planner_approves_residents_read(
    live_server: str, browser: Any, pages: dict[str, Any], js_errors: PageErrors
) -> None:
    circle_id = http_json(live_server + "/api/circles")["features"][0]["properties"]["circle_id"]
    title = f"周末邻里美食节 {STAMP}"
    merchant = pages["merchant"] = new_page(browser, PHONE, js_errors)
    merchant.goto(live_server + "/login?next=/board")
    login(merchant, MERCHANT)
    merchant.wait_for_url("**/board")
    wait_ready(merchant)
    assert merchant.locator("#post-login-hint").is_hidden()
    merchant.select_option("#p-kind", "event")
    merchant.fill("#p-title", title)
    merchant.fill("#p-body", "周六上午十点，社区广场，凭券领取试吃。")
    merchant.select_option("#p-circle", circle_id)
    merchant.fill("#p-until", (date.today() + timedelta(days=30)).isoformat())
    merchant.fill("#p-coupon", "MEISHI2030")
    merchant.click("#p-submit")
    merchant.wait_for_selector("#post-status.status-ok")

    planner = pages["planner"] = new_page(browser, DESKTOP, js_errors)
    planner.goto(live_server + "/planner")
    planner.wait_for_selector("#login-area:not([hidden])")
    login(planner, PLANNER)
    wait_ready(planner)
    item = planner.locator(f"#moderation .sub[data-name='{title}']")
    item.wait_for()
    item.locator("[data-action='approve']").click()
    item.wait_for(state="detached")

    resident = pages["resident"] = new_page(browser, PHONE, js_errors)
    resident.goto(f"{live_server}/board?circle_id={circle_id}")
    wait_ready(resident)
    post = resident.locator(".post", has_text=title)
    post.wait_for()
    assert "MEISHI2030" in post.inner_text()
    resident.click(".chip[data-kind='gig']")
    assert resident.locator(".post", has_text=title).count() == 0
    resident.click(".chip[data-kind='event']")
    assert resident.locator(".post", has_text=title).count() == 1
    screenshot(resident, "board")
    assert not js_errors, js_errors
