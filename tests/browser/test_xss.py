"""HTML in every user-writable field stays text on the maps and panels (issue 16, item 1).

A merchant's outlet (name, brand, hours, services), a board post, a resident's need, a
rejection reason and a planner's scenario (name, description, the ids and names of its
outlets) all carry an ``<img onerror>`` payload that sets ``window.__xss``.  The pages are
opened in Chromium with the CSP bypassed (:func:`_web.new_page`), so that only the way the
pages build their tooltips, popups and lists keeps the script from running, and again with the
CSP enforced; every tooltip is opened.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from _web import DESKTOP, MERCHANT, PLANNER, PageErrors, logged_in_page, login, new_page, wait_ready

pytestmark = pytest.mark.slow

LON, LAT = 24.945, 60.17


def _payload(field: str) -> str:
    return f"<img src=x onerror=\"__xss='{field}'\">"


def _api(page: Any, method: str, url: str, body: Any = None) -> Any:
    result = page.evaluate(
        "([m, u, b]) => LC.api(m, u, b === null ? undefined : b)", [method, url, body]
    )
    assert result["ok"], result
    return result["data"]


def _open_every_tooltip(page: Any, selector: str) -> int:
    """Fire mouseover on every element of ``selector`` (Leaflet opens its tooltip)."""
    return int(
        page.evaluate(
            "sel => { const els = document.querySelectorAll(sel); els.forEach(e =>"
            " e.dispatchEvent(new MouseEvent('mouseover', {bubbles: true}))); return els.length; }",
            selector,
        )
    )


def _no_xss(page: Any) -> None:
    page.wait_for_timeout(500)  # the <img> error event comes after the image failed to load
    assert page.evaluate("window.__xss === undefined"), page.evaluate("window.__xss")


@pytest.mark.parametrize("bypass_csp", [True, False], ids=["csp-bypassed", "csp-enforced"])
def test_html_in_every_user_field_is_shown_as_text(
    live_server: str, browser: Any, js_errors: PageErrors, pages: list[Any], bypass_csp: bool
) -> None:
    tag = str(int(time.time() * 1000) % 10_000_000)
    # a merchant registers an outlet and posts on the board, everything with HTML in it
    merchant = new_page(browser, DESKTOP, js_errors, bypass_csp=bypass_csp)
    pages.append(merchant)
    merchant.goto(live_server + "/merchant")
    merchant.wait_for_selector("#login-area:not([hidden])")
    login(merchant, MERCHANT)
    wait_ready(merchant)
    outlet = _api(
        merchant,
        "POST",
        "/api/merchant/outlets",
        {
            "name": _payload("outlet.name") + tag,
            "category": "pharmacy",
            "lon": LON,
            "lat": LAT,
            "brand": _payload("outlet.brand"),
            "opening_hours": _payload("outlet.opening_hours"),
            "services": [_payload("svc")],
        },
    )
    post = _api(
        merchant,
        "POST",
        "/api/board",
        {
            "kind": "promotion",
            "title": _payload("board.title"),
            "body": _payload("board.body"),
            "coupon": "<b>x</b>",
        },
    )
    rejected = _api(
        merchant,
        "POST",
        "/api/merchant/outlets",
        {"name": "被拒绝的店 " + tag, "category": "pharmacy", "lon": LON, "lat": LAT},
    )
    # a resident writes a need
    _api(merchant, "POST", "/api/needs", {"text": _payload("need.text"), "lon": LON, "lat": LAT})

    # the planner approves, rejects with HTML and saves a scenario full of HTML
    planner = logged_in_page(
        browser, js_errors, live_server + "/planner", PLANNER, "#dash", bypass_csp=bypass_csp
    )
    pages.append(planner)
    approved = _api(planner, "POST", f"/api/moderation/{outlet['id']}/approve")
    _api(planner, "POST", f"/api/moderation/{post['id']}/approve")
    _api(
        planner,
        "POST",
        f"/api/moderation/{rejected['id']}/reject",
        {"reason": _payload("reject.reason")},
    )
    scenario_name = _payload("scenario.name") + tag
    _api(
        planner,
        "POST",
        "/api/scenarios",
        {
            "name": scenario_name,
            "description": _payload("scenario.description"),
            "changes": [
                {
                    "op": "add_outlet",
                    "category": "wet_market",
                    "lon": LON,
                    "lat": LAT,
                    "outlet_id": _payload("scenario.outlet_id"),
                    "name": _payload("scenario.outlet_name"),
                },
                {
                    "op": "move_outlet",
                    "outlet_id": _payload("scenario.outlet_id"),
                    "lon": LON + 0.0005,
                    "lat": LAT,
                },
                {"op": "close_edge", "lon": LON, "lat": LAT},
            ],
        },
    )
    planner.reload()
    wait_ready(planner)
    planner.wait_for_selector("#scen-table tr[data-scenario]")
    planner.evaluate(
        "name => [...document.querySelectorAll('#scen-table tr[data-scenario]')]"
        ".find(tr => tr.dataset.scenario === name).querySelector('th button').click()",
        scenario_name,
    )
    planner.wait_for_selector("#dash-map path.scen-outlet")
    assert _open_every_tooltip(planner, "#dash-map path.scen-outlet, #dash-map path.scen-closed")
    _open_every_tooltip(planner, "#dash-map path.lc-circle, #dash-map path.lc-blind")
    assert tag in planner.inner_text("#scen-detail")
    _no_xss(planner)

    # the merchant's own lists show the rejection reason and the approved outlet
    merchant.reload()
    wait_ready(merchant)
    _no_xss(merchant)

    # the resident map: the outlet's tooltip, its details and a route to it
    resident = new_page(browser, DESKTOP, js_errors, bypass_csp=bypass_csp)
    pages.append(resident)
    resident.goto(live_server + "/")
    wait_ready(resident)
    resident.select_option("#category", "pharmacy")
    marker = f"path.lc-outlet[data-outlet-id='{approved['outlet_id']}']"
    resident.wait_for_selector(marker, state="attached", timeout=30_000)
    assert _open_every_tooltip(resident, marker) == 1
    resident.evaluate(
        "sel => document.querySelector(sel).dispatchEvent(new MouseEvent('click', {bubbles: true}))",
        marker,
    )
    resident.wait_for_function(f"document.body.innerText.includes('{tag}')")
    _open_every_tooltip(resident, "path.lc-dest, path.lc-origin")
    _no_xss(resident)

    # the board and the survey page
    for path in ("/board", "/survey/" + str(approved.get("circle_id") or "x")):
        page = new_page(browser, DESKTOP, js_errors, bypass_csp=bypass_csp)
        pages.append(page)
        page.goto(live_server + path)
        wait_ready(page)
        _no_xss(page)
    assert not js_errors, js_errors
