"""Merchant 进图 → planner approval → the outlet on the resident map and in the nearest results;
unauthenticated writes refused."""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from _web import (
    DESKTOP,
    MERCHANT,
    PHONE,
    PLANNER,
    PageErrors,
    login,
    new_page,
    screenshot,
    wait_ready,
)

pytestmark = pytest.mark.slow

#: A unique name, so that reruns against the same server never mix outlets up.
OUTLET_NAME = f"测试便民药房 {int(time.time() * 1000) % 10_000_000}"


@pytest.fixture
def pages(browser: Any, js_errors: PageErrors) -> Iterator[dict[str, Any]]:
    made: dict[str, Any] = {}
    yield made
    for page in made.values():
        page.context.close()


def test_merchant_registers_planner_approves_resident_finds_it(
    live_server: str, browser: Any, pages: dict[str, Any], js_errors: PageErrors
) -> None:
    # --- the merchant registers an outlet, picking its place on the map ---------------------
    merchant = pages["merchant"] = new_page(browser, PHONE, js_errors)
    merchant.goto(live_server + "/merchant")
    merchant.wait_for_selector("#login-area:not([hidden])")
    login(merchant, MERCHANT)
    merchant.wait_for_selector("#work:not([hidden])")
    wait_ready(merchant)
    merchant.fill("#o-name", OUTLET_NAME)
    merchant.select_option("#o-category", "pharmacy")
    pick = merchant.locator("#pick-map")
    pick.scroll_into_view_if_needed()
    box = pick.bounding_box()
    merchant.mouse.click(box["x"] + box["width"] / 2 + 23, box["y"] + box["height"] / 2 - 17)
    lon = float(merchant.input_value("#o-lon"))
    lat = float(merchant.input_value("#o-lat"))
    merchant.click("[data-hours='Mo-Su 07:00-22:00']")
    merchant.check("#o-services input[value='代收代发']")
    merchant.fill("#o-services-other", "量血压")
    merchant.fill("#o-brand", "测试连锁")
    merchant.locator("#outlet-form").evaluate("el => el.scrollIntoView()")
    screenshot(merchant, "merchant", full_page=True)
    merchant.click("#o-submit")
    merchant.wait_for_selector("#outlet-status.status-ok")
    merchant.wait_for_selector(f"#submissions .sub[data-status='pending'] >> text={OUTLET_NAME}")
    assert merchant.input_value("#o-name") == ""  # the form is ready for the next outlet

    # --- a planner approves it from the moderation queue -------------------------------------
    planner = pages["planner"] = new_page(browser, DESKTOP, js_errors)
    planner.goto(live_server + "/planner")
    planner.wait_for_selector("#login-area:not([hidden])")
    login(planner, PLANNER)
    planner.wait_for_selector("#dash:not([hidden])")
    wait_ready(planner)
    item = planner.locator(f"#moderation .sub[data-name='{OUTLET_NAME}']")
    item.wait_for()
    assert "代收代发" in item.inner_text()
    planner.wait_for_selector("#kpis .kpi")
    planner.wait_for_selector("path.lc-circle", state="attached")
    screenshot(planner, "planner")
    item.locator("[data-action='approve']").click()
    item.wait_for(state="detached")

    # the merchant sees the decision
    merchant.reload()
    merchant.wait_for_selector(f"#submissions .sub[data-status='approved'] >> text={OUTLET_NAME}")

    # --- the resident finds it on the map and in the nearest results --------------------------
    resident = pages["resident"] = new_page(browser, PHONE, js_errors)
    resident.goto(live_server + "/")
    wait_ready(resident)
    resident.fill("#q", OUTLET_NAME)
    resident.press("#q", "Enter")
    resident.wait_for_selector(f"#outlet-list .result >> text={OUTLET_NAME}")
    marker = resident.locator(f"path.lc-outlet[data-name='{OUTLET_NAME}']")
    marker.wait_for(state="attached")
    outlet_id = marker.get_attribute("data-outlet-id")
    resident.locator(f"#outlet-list .result[data-outlet-id='{outlet_id}']").click()
    resident.wait_for_selector("#details:not([hidden])")
    details = resident.locator("#details").inner_text()
    assert "代收代发" in details and "量血压" in details and "测试连锁" in details
    assert "07:00-22:00" in details

    # a click just beside the new outlet: it is among the nearest pharmacies, route drawn
    resident.fill("#q", "")
    resident.press("#q", "Enter")
    resident.select_option("#category", "pharmacy")
    point = resident.evaluate(
        "([lat, lon]) => { LC.map.setView([lat, lon], 17, {animate: false});"
        " const p = LC.map.latLngToContainerPoint([lat, lon]); return [p.x, p.y]; }",
        [lat, lon],
    )
    box = resident.locator("#map").bounding_box()
    resident.mouse.click(box["x"] + point[0] + 14, box["y"] + point[1] + 14)
    hit = resident.locator(f"#nearest-list .result[data-outlet-id='{outlet_id}']")
    hit.wait_for()
    resident.wait_for_selector("path.lc-route", state="attached")
    assert OUTLET_NAME in hit.inner_text()
    screenshot(resident, "resident_new_outlet")
    assert not js_errors, js_errors


def test_unauthenticated_write_is_refused(
    live_server: str, browser: Any, pages: dict[str, Any], js_errors: PageErrors
) -> None:
    page = pages["board"] = new_page(browser, PHONE, js_errors)
    page.goto(live_server + "/board")
    wait_ready(page)
    assert page.locator("#post-login-hint").is_visible()
    page.select_option("#p-kind", "promotion")
    page.fill("#p-title", "周末买一送一")
    page.fill("#p-body", "凭券到店使用")
    page.click("#p-submit")
    status = page.locator("#post-status.status-error")
    status.wait_for()
    text = status.inner_text()
    assert text.startswith("未登录") and not re.search(r"\d{3}", text)  # no HTTP code shown
    assert status.get_attribute("role") == "alert"
    screenshot(page, "board_refused", full_page=True)

    # the API itself refuses the merchant write without a session
    request = urllib.request.Request(
        live_server + "/api/merchant/outlets",
        data=json.dumps({"name": "x", "category": "pharmacy", "lon": 0, "lat": 0}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    code = refused.value.code
    refused.value.close()
    assert code in (401, 403)
    assert not js_errors, js_errors
