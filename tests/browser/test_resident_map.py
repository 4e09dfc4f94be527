"""Resident map in a phone-sized browser: network base map, nearest pharmacy with its route,
walking areas, English switch and elderly mode."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
from _web import PHONE, PageErrors, http_json, new_page, screenshot, wait_ready

pytestmark = pytest.mark.slow


def _fmt_distance(metres: float) -> str:
    """The page's distance format (LC.fmtDistance, Chinese)."""
    if metres < 1000:
        return f"{round(metres)} 米"
    return f"{metres / 1000:.1f} 公里"


def _click_map(page: Any, dx: float = 0.0, dy: float = 0.0) -> None:
    """Click the map at its centre shifted by (dx, dy) pixels, off any outlet marker."""
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2 + dx, box["y"] + box["height"] / 2 + dy)


@pytest.fixture
def phone_page(browser: Any, js_errors: PageErrors) -> Any:
    page = new_page(browser, PHONE, js_errors)
    yield page
    page.context.close()


def test_resident_clicks_a_point_and_gets_the_nearest_pharmacy_with_its_route(
    live_server: str, phone_page: Any, js_errors: PageErrors
) -> None:
    page = phone_page
    page.goto(live_server + "/")
    wait_ready(page)
    # the base map is the city's own street network, drawn without a tile server
    assert int(page.get_attribute("#map", "data-network-features")) > 100
    assert page.locator("#map canvas").count() >= 1
    assert page.locator(".leaflet-tile").count() == 0

    page.select_option("#category", "pharmacy")
    page.wait_for_function("document.querySelectorAll('path.lc-outlet').length > 0")
    # the nearest pharmacy from a clicked point, off the markers
    for dx, dy in ((0, 0), (37, -23), (-41, 29)):
        _click_map(page, dx, dy)
        page.wait_for_selector("#nearest-list .result, #nearest-list .empty")
        if page.locator("#nearest-list .result").count():
            break
    first = page.locator("#nearest-list .result").first
    first.wait_for()
    page.wait_for_selector("path.lc-route")
    lon = float(page.get_attribute("#nearest", "data-origin-lon"))
    lat = float(page.get_attribute("#nearest", "data-origin-lat"))

    api = http_json(
        live_server
        + "/api/nearest?"
        + urlencode({"lon": f"{lon:.6f}", "lat": f"{lat:.6f}", "category": "pharmacy", "k": 5})
    )
    assert api["results"], "the API finds no pharmacy from the clicked point"
    best = api["results"][0]
    assert best["category"] == "pharmacy"
    assert first.get_attribute("data-outlet-id") == str(best["outlet_id"])
    assert float(first.get_attribute("data-distance-m")) == pytest.approx(best["distance_m"])
    assert first.locator(".distance").inner_text() == _fmt_distance(best["distance_m"])
    assert f"{max(1, round(best['minutes']))}分钟" in first.locator(".minutes").inner_text()
    shown = page.locator("#nearest-list .result")
    assert shown.count() == len(api["results"])
    # the route of the nearest pharmacy is drawn as an SVG polyline with the route's vertices
    route = page.locator("path.lc-route")
    assert route.count() == 1
    assert route.get_attribute("data-outlet-id") == str(best["outlet_id"])
    d = route.get_attribute("d") or ""
    assert d.startswith("M") and d.count("L") >= 1
    assert page.locator("path.lc-origin").count() == 1

    # choosing another result redraws the route for it
    if shown.count() > 1:
        shown.nth(1).click()
        page.wait_for_function(
            "id => document.querySelector('path.lc-route')?.getAttribute('data-outlet-id') === id",
            arg=str(api["results"][1]["outlet_id"]),
        )
        page.wait_for_selector("#details:not([hidden])")
        assert page.locator("#details-name").inner_text() == (
            api["results"][1]["name"] or "（未命名）"
        )
        shown.nth(0).click()

    page.locator("#sheet").evaluate("el => el.scrollTop = 0")
    screenshot(page, "resident_nearest")

    # the 5/10/15-minute walking areas around the same point
    page.click("#walk-area")
    page.wait_for_selector("path.lc-walk-area", state="attached")
    assert page.locator("path.lc-walk-area").count() >= 3
    assert page.get_attribute("#walk-area", "aria-pressed") == "true"
    screenshot(page, "resident_walk_area")
    assert not js_errors, js_errors


def test_slogan_shortcuts_and_search(
    live_server: str, phone_page: Any, js_errors: PageErrors
) -> None:
    page = phone_page
    page.goto(live_server + "/")
    wait_ready(page)
    page.click(".chip[data-slogan='小修小补']")
    page.wait_for_function(
        "document.querySelector('#listing-title').textContent.startsWith('小修小补')"
    )
    assert page.get_attribute(".chip[data-slogan='小修小补']", "aria-pressed") == "true"
    page.click(".chip[data-slogan='一店一早']")
    page.wait_for_function(
        "document.querySelector('#listing-title').textContent.startsWith('一店一早')"
    )
    # a category name typed into the search box selects that 业态
    page.fill("#q", "药店")
    page.press("#q", "Enter")
    page.wait_for_function("document.querySelector('#category').value === 'pharmacy'")
    assert not js_errors, js_errors


def test_english_switch_and_elderly_mode_are_remembered(
    live_server: str, browser: Any, js_errors: PageErrors
) -> None:
    city = http_json(live_server + "/api/city")
    # the phone shares its location: the city centre
    page = new_page(browser, PHONE, js_errors, geolocation=(city["center"][0], city["center"][1]))
    page.goto(live_server + "/")
    wait_ready(page)
    assert page.locator(".mainnav a[data-nav='resident']").inner_text() == "便民地图"
    page.click("#lang-toggle")
    assert page.locator(".mainnav a[data-nav='resident']").inner_text() == "Map"
    assert page.evaluate("document.documentElement.lang") == "en"
    page.click("#elder-toggle")
    assert page.evaluate("document.documentElement.classList.contains('elder')")
    assert page.get_attribute("#elder-toggle", "aria-pressed") == "true"
    page.reload()
    wait_ready(page)
    assert page.evaluate("document.documentElement.lang") == "en"
    assert page.evaluate("document.documentElement.classList.contains('elder')")
    assert page.locator("#sheet-title").inner_text() == "Find the nearest services"
    # fewer steps: one button takes the phone's location and finds the nearest pharmacy
    assert page.locator("[data-quick='pharmacy']").is_visible()
    font_px = page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)")
    assert font_px >= 20
    page.click("#lang-toggle")
    page.click("[data-quick='pharmacy']")
    page.wait_for_selector("#nearest-list .result")
    page.wait_for_selector("path.lc-route", state="attached")
    assert float(page.get_attribute("#nearest", "data-origin-lon")) == pytest.approx(
        city["center"][0], abs=1e-5
    )
    screenshot(page, "resident_elder", full_page=True)
    page.click("#elder-toggle")
    page.context.close()
    assert not js_errors, js_errors


def test_keyboard_reaches_the_controls(live_server: str, phone_page: Any) -> None:
    page = phone_page
    page.goto(live_server + "/")
    wait_ready(page)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    page.keyboard.press("Enter")
    focused = []
    for _ in range(12):
        page.keyboard.press("Tab")
        focused.append(page.evaluate("document.activeElement.id || document.activeElement.tagName"))
    assert "q" in focused
    # every form control has a label or an aria-label
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('input, select, textarea')].filter(el =>
              !el.labels?.length && !el.getAttribute('aria-label')).map(el => el.id)"""
    )
    assert unlabelled == []
