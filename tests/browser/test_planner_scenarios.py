"""The planner dashboard's scenarios (规划方案): pick a point on the map, open an outlet of one
业态 there, close an outlet or a street, read the before/after in the list, what was changed and
the circles that change; delete it again."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from _web import DESKTOP, MERCHANT, PLANNER, PageErrors, login, new_page, screenshot, wait_ready

pytestmark = pytest.mark.slow

#: Next to a street of the sample city, where a food market is missing.
LON, LAT = 24.945, 60.17


@pytest.fixture
def planner(browser: Any, js_errors: PageErrors, live_server: str) -> Iterator[Any]:
    page = new_page(browser, DESKTOP, js_errors)
    page.on("dialog", lambda dialog: dialog.accept())  # the delete confirmation
    page.goto(live_server + "/planner")
    page.wait_for_selector("#login-area:not([hidden])")
    login(page, PLANNER)
    page.wait_for_selector("#dash:not([hidden])")
    wait_ready(page)
    yield page
    page.context.close()


def _click_map(page: Any, lat: float, lon: float) -> None:
    """Zoom the dashboard map to a point and click it with the mouse."""
    point = page.evaluate(
        "([lat, lon]) => { LC.map.setView([lat, lon], 17, {animate: false});"
        " const p = LC.map.latLngToContainerPoint([lat, lon]); return [p.x, p.y]; }",
        [lat, lon],
    )
    box = page.locator("#dash-map").bounding_box()
    page.mouse.click(box["x"] + point[0], box["y"] + point[1])


def _start_scenario(page: Any, prefix: str, op: str) -> str:
    """Fill the form's name and kind of change; return the name (unique, so that reruns
    against the same server never clash)."""
    page.wait_for_selector("#scen-table caption, #scen-table tbody")
    name = f"{prefix} {int(time.time() * 1000) % 10_000_000}"
    page.fill("#scen-name", name)
    page.select_option("#scen-op", op)
    return name


def _run_scenario(page: Any, name: str) -> tuple[Any, float, float, Any]:
    """Run the scenario in the form; its row in the list, the KPI before and after, and the
    detail shown."""
    page.click("#scen-run")
    page.wait_for_selector("#scen-status.status-ok", timeout=120_000)
    row = page.locator(f"#scen-table tr[data-scenario='{name}']")
    row.wait_for()
    before, after = (float(c.rstrip("%")) for c in row.locator("td.num").all_inner_texts()[:2])
    detail = page.locator("#scen-detail")
    detail.wait_for()
    return row, before, after, detail


def _delete_scenario(row: Any) -> None:
    row.locator("button.btn-danger").click()  # the page's confirmation is accepted
    row.wait_for(state="detached")


def test_planner_tries_a_food_market_and_reads_before_and_after(
    planner: Any, js_errors: PageErrors
) -> None:
    page = planner
    name = _start_scenario(page, "试开菜市场", "add_outlet")
    page.select_option("#scen-category", "wet_market")
    page.click("#scen-pick")
    assert page.get_attribute("#scen-pick", "aria-pressed") == "true"
    _click_map(page, LAT, LON)
    # the click placed the point (a circle under it did not open its survey page)
    assert page.url.endswith("/planner")
    assert page.get_attribute("#scen-pick", "aria-pressed") == "false"
    assert float(page.input_value("#scen-lon")) == pytest.approx(LON, abs=2e-5)
    assert float(page.input_value("#scen-lat")) == pytest.approx(LAT, abs=2e-5)
    page.wait_for_selector(".lc-pick", state="attached")

    row, before, after, detail = _run_scenario(page, name)
    assert after > before  # the share of households with a food market within 10 minutes
    assert re.fullmatch(r"\d+ → \d+", row.locator("td.num").all_inner_texts()[2])
    assert "菜市场步行10分钟覆盖户数占比" in row.inner_text()
    assert name in detail.inner_text() and "新增网点：菜市场" in detail.inner_text()
    assert page.locator("#dash-map path.scen-outlet").count() == 1
    assert "全市指标变化" in detail.inner_text()
    detail.scroll_into_view_if_needed()
    screenshot(page, "planner_scenario")

    # English labels, then delete it
    page.click("#lang-toggle")
    assert "Households with Wet market / food market within walking distance" in row.inner_text()
    _delete_scenario(row)
    page.click("#lang-toggle")
    assert not js_errors, js_errors


def test_planner_closes_an_outlet_picked_on_the_map(planner: Any, js_errors: PageErrors) -> None:
    page = planner
    name = _start_scenario(page, "关闭菜市场", "remove_outlet")
    assert page.is_hidden("#scen-category") and page.is_visible("#scen-outlet")
    # the sample city's only food market: click the map next to it
    market = page.evaluate(
        "() => LC.get('/api/outlets?category=wet_market').then(r => r.data.features[0])"
    )
    lon, lat = market["geometry"]["coordinates"]
    page.click("#scen-pick")
    _click_map(page, lat, lon)
    page.wait_for_function(f"document.getElementById('scen-outlet').value === {market['id']!r}")
    assert market["id"] in page.inner_text("#scen-outlet-name")
    assert page.url.endswith("/planner")

    row, before, after, detail = _run_scenario(page, name)
    assert before > 0 and after == 0  # no food market left in the city
    assert name in detail.inner_text() and "全市指标变化" in detail.inner_text()
    page.click("#lang-toggle")
    assert page.inner_text("#scen-op option[value='remove_outlet']") == "Close an outlet"
    _delete_scenario(row)
    page.click("#lang-toggle")
    assert not js_errors, js_errors


def test_planner_closes_a_street_picked_on_the_map(planner: Any, js_errors: PageErrors) -> None:
    page = planner
    name = _start_scenario(page, "封闭街道", "close_edge")
    assert page.is_hidden("#scen-category") and page.is_hidden("#scen-outlet")
    page.click("#scen-run")  # no point yet: told what is missing, nothing sent
    assert "街道" in page.inner_text("#scen-status")
    page.click("#scen-pick")
    assert "街道" in page.inner_text("#scen-status")
    _click_map(page, LAT, LON)
    assert float(page.input_value("#scen-lon")) == pytest.approx(LON, abs=2e-5)

    row, before, after, detail = _run_scenario(page, name)
    assert after <= before  # a closed street never brings an outlet nearer
    assert re.search(r"封闭街道：.+（路段 \d+）", detail.inner_text())
    closed = page.locator("#dash-map path.scen-closed")
    assert closed.count() == 1  # the closed street drawn on the map
    page.locator("#dash-map").scroll_into_view_if_needed()
    screenshot(page, "planner_closed_street")
    page.click("#lang-toggle")
    assert re.search(r"Close a street: .+ \(segment \d+\)", detail.inner_text())
    _delete_scenario(row)
    assert closed.count() == 0  # gone with the scenario
    page.click("#lang-toggle")
    assert not js_errors, js_errors


def test_planner_recomputes_a_scenario_made_stale_by_a_new_outlet(
    planner: Any, browser: Any, live_server: str, js_errors: PageErrors
) -> None:
    page = planner
    name = f"重新计算 {int(time.time() * 1000) % 10_000_000}"
    change = {"op": "add_outlet", "category": "bakery", "lon": LON, "lat": LAT}
    made = page.evaluate(
        "(body) => LC.api('POST', '/api/scenarios', body).then(r => r.data)",
        {"name": name, "changes": [change]},
    )
    # a merchant registers a bakery (over the API, in a context of its own); the planner
    # approves it: the scenario's figures are now out of date
    merchant = browser.new_context()
    login_r = merchant.request.post(
        live_server + "/api/auth/login", data={"username": MERCHANT[0], "password": MERCHANT[1]}
    )
    csrf = {"X-CSRF-Token": login_r.json()["csrf_token"]}
    sub = merchant.request.post(
        live_server + "/api/merchant/outlets", headers=csrf,
        data={"name": f"重算面包店 {name}", "category": "bakery", "lon": LON, "lat": LAT + 0.0004},
    ).json()  # fmt: skip
    merchant.close()
    approved = page.evaluate(
        "(id) => LC.api('POST', '/api/moderation/' + id + '/approve').then(r => r.ok)", sub["id"]
    )
    assert approved
    page.reload()
    wait_ready(page)
    row = page.locator(f"#scen-table tr[data-scenario='{name}']")
    row.wait_for()
    assert "已过时" in row.inner_text()
    row.scroll_into_view_if_needed()
    screenshot(page, "planner_scenario_stale")
    row.locator("button.scen-recompute").click()
    page.wait_for_selector("#scen-status.status-ok", timeout=120_000)
    assert name in page.inner_text("#scen-status")
    row = page.locator(f"#scen-table tr[data-scenario='{name}']")
    page.wait_for_function(
        "(n) => { const r = document.querySelector(`#scen-table tr[data-scenario='${n}']`);"
        " return r && !r.querySelector('.scen-recompute'); }",
        arg=name,
    )
    assert "已过时" not in row.inner_text()
    before = float(row.locator("td.num").all_inner_texts()[0].rstrip("%"))
    assert before > made["before"] * 100  # the approved bakery now counts before
    _delete_scenario(row)
    assert not js_errors, js_errors


def test_planner_sees_the_data_audit_first(planner: Any, js_errors: PageErrors) -> None:
    """The dashboard opens on the data audit (数据体检): counts, the run's figures and every
    warning and failure, as text (Chinese, and English after switching)."""
    page = planner
    page.wait_for_selector("#audit-table tbody tr, #audit-table caption")
    summary = page.locator("#audit-summary").inner_text()
    assert re.search(r"\d+ 项正常、\d+ 项提示、\d+ 项不合格", summary), summary
    assert "参与评估的小区" in page.locator("#audit-figures").inner_text()
    rows = page.locator("#audit-table tbody tr")
    assert rows.count() >= 1
    statuses = set(rows.locator("td:first-child").all_inner_texts())
    assert statuses <= {"提示", "不合格"}
    # the audit card comes before the KPI tiles
    order = page.evaluate(
        "() => { const a = document.getElementById('audit-card'),"
        " k = document.getElementById('kpis');"
        " return !!(a.compareDocumentPosition(k) & Node.DOCUMENT_POSITION_FOLLOWING); }"
    )
    assert order
    assert page.locator("#districts-card").is_hidden()  # the sample city has no districts
    screenshot(page, "planner_audit")
    assert not js_errors
