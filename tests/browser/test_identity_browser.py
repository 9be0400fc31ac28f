"""The administrator deactivates a member from the administration page while the member's browser is
logged in; a member sets up an authenticator app from its page and logs in with the code."""

from __future__ import annotations

import re
import time

import pyotp
import pytest

from tests.browser.conftest import login
from tests.conftest import TEST_PASSWORD
from tests.live.harness import ServerProcess

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SIZES = [(1280, 800), (768, 1024), (390, 844)]


def test_admin_deactivates_a_logged_in_member_and_a_member_enrols_totp(app, cast, tmp_path, database_url, browser):
    server = ServerProcess(tmp_path, database_url).start()
    try:
        tablet = browser.new_context(viewport={"width": 768, "height": 1024}).new_page()
        login(tablet, server.url, "member_b", TEST_PASSWORD)

        admin = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
        login(admin, server.url, "admin", TEST_PASSWORD)
        admin.click("a[href='/admin/users']")
        admin.wait_for_selector("table a:text-is('member_b')")
        for width, height in SIZES:
            admin.set_viewport_size({"width": width, "height": height})
            admin.screenshot(path=str(tmp_path / f"admin-users-{width}.png"), full_page=True)
            # nothing wider than the screen but the table, which scrolls in its own box
            assert admin.evaluate("document.documentElement.scrollWidth") <= width
        admin.set_viewport_size({"width": 1280, "height": 800})
        admin.click("table a:text-is('member_b')")
        admin.uncheck("input[name=active]")
        admin.click(f"form[action$='/admin/users/{cast.member_b.id}'] button[type=submit]")
        admin.wait_for_selector("p.notice[role=status]")
        for width, height in SIZES:
            admin.set_viewport_size({"width": width, "height": height})
            admin.screenshot(path=str(tmp_path / f"admin-user-{width}.png"), full_page=True)

        tablet.reload()
        tablet.wait_for_url(re.compile(r".*/login.*"))

        member = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
        login(member, server.url, "member_a", TEST_PASSWORD)
        member.goto(f"{server.url}/account/mfa")
        member.click("form[action='/account/mfa'] button[type=submit]")
        member.wait_for_selector(".qr img")
        assert member.evaluate("document.querySelector('.qr img').naturalWidth") > 100  # the QR code is drawn
        member.screenshot(path=str(tmp_path / "mfa-390.png"), full_page=True)
        secret = member.locator("code").first.inner_text()
        totp = pyotp.TOTP(secret)
        # the previous step's code: the current one stays unused for the login below
        member.fill("input[name=otp]", totp.at(time.time() - totp.interval))
        member.click("form[action='/account/mfa/confirm'] button[type=submit]")
        member.wait_for_selector(".recovery-codes li")
        assert member.locator(".recovery-codes li").count() == 10
        member.click("button.menu-toggle")  # on a phone the top bar's links and logout sit in the menu
        member.click("button:has-text('Đăng xuất')")
        member.wait_for_url(re.compile(r".*/login.*"))
        member.fill("input[name=username]", "member_a")
        member.fill("input[name=password]", TEST_PASSWORD)
        member.click(".login-card button[type=submit]")
        member.wait_for_selector("input[name=otp]")
        member.fill("input[name=otp]", totp.now())
        member.click(".login-card button[type=submit]")
        member.wait_for_url(f"{server.url}/")
    finally:
        server.stop()
