"""Accounts in the browser (issue 16, item 2): a merchant registers on /register, a planner
approves the account on /admin, the merchant logs in; an administrator disables an account."""

from __future__ import annotations

import time
from typing import Any

import pytest
from _web import (
    PHONE,
    PLANNER,
    PageErrors,
    logged_in_page,
    login,
    new_page,
    screenshot,
    wait_ready,
)

pytestmark = pytest.mark.slow

PASSWORD = "早餐店 opens at 6:30"


def test_merchant_registers_planner_approves_merchant_logs_in(
    live_server: str, browser: Any, js_errors: PageErrors, pages: list[Any]
) -> None:
    username = f"shop{int(time.time() * 1000) % 10_000_000}"
    merchant = new_page(browser, PHONE, js_errors)
    pages.append(merchant)
    merchant.goto(live_server + "/login")
    merchant.click("#register-link")
    wait_ready(merchant)
    merchant.click("#r-submit")  # empty: every required field is named
    assert "请填写所有带 * 的项目" in merchant.inner_text("#reg-status")
    merchant.fill("#r-shop", "老王早点铺")
    merchant.fill("#r-phone", "029-8765 4321")
    merchant.fill("#r-licence", "91610102MA6U1234X5")
    merchant.fill("#r-username", username)
    merchant.fill("#r-password", "1234567890")
    merchant.click("#r-submit")
    weak = merchant.locator("#reg-status.status-error")
    weak.wait_for()
    assert "密码：至少需要 12 个字符" in weak.inner_text() and "422" not in weak.inner_text()
    merchant.fill("#r-password", PASSWORD)
    merchant.click("#r-submit")
    merchant.locator("#reg-status.status-ok").wait_for()
    assert "等待规划人员审核" in merchant.inner_text("#reg-status")
    screenshot(merchant, "register")
    # not yet approved: the login says so
    merchant.goto(live_server + "/login")
    login(merchant, (username, PASSWORD))
    status = merchant.locator("#login-status.status-error")
    status.wait_for()
    assert "等待规划师审核" in status.inner_text()

    planner = logged_in_page(browser, js_errors, live_server + "/admin", PLANNER, "#adm")
    pages.append(planner)
    assert planner.is_hidden("#users-section")  # the account list is for administrators
    row = planner.locator(f"#pending-table tr[data-user='{username}']")
    assert "老王早点铺" in row.inner_text() and "91610102MA6U1234X5" in row.inner_text()
    row.locator(".adm-approve").click()
    row.wait_for(state="detached")
    assert username in planner.inner_text("#pending-status")

    merchant.goto(live_server + "/login")
    login(merchant, (username, PASSWORD))
    merchant.wait_for_url("**/merchant")
    assert not js_errors, js_errors


def test_admin_disables_and_enables_an_account(
    live_server: str, browser: Any, js_errors: PageErrors, pages: list[Any]
) -> None:
    admin = ("admin", "admin-demo")
    page = logged_in_page(browser, js_errors, live_server + "/admin", admin, "#users-section")
    pages.append(page)
    row = page.locator("#users-table tr[data-user='merchant2']")
    assert row.locator(".adm-state").inner_text() == "启用"
    row.locator(".adm-toggle").click()
    page.wait_for_function(
        "document.querySelector(\"#users-table tr[data-user='merchant2'] .adm-state\")"
        ".textContent === '已停用'"
    )
    screenshot(page, "admin_users", full_page=True)
    page.locator("#users-table tr[data-user='merchant2'] .adm-toggle").click()
    page.wait_for_function(
        "document.querySelector(\"#users-table tr[data-user='merchant2'] .adm-state\")"
        ".textContent === '启用'"
    )
    assert not js_errors, js_errors
