"""Single sign-on in Chromium: the login page offers the provider (three screen sizes), the member signs in
at a real OpenID provider (node's oidc-provider) and comes back logged in; a person the provider vouches for
who has no account here is told so on the login page."""

from __future__ import annotations

import re

import pytest

from tests.browser.screens import SIZES, Screens
from tests.identity import sso
from tests.live.harness import ServerProcess

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_member_logs_in_through_the_provider(app, cast, tmp_path, database_url, browser):
    server = ServerProcess(tmp_path, database_url)
    provider_run = sso.start_provider(app_url=server.url)
    provider = next(provider_run)
    server.env.update(ECABINET_OIDC_ISSUER=provider.issuer, ECABINET_OIDC_CLIENT_ID=sso.CLIENT_ID,
                      ECABINET_OIDC_CLIENT_SECRET=sso.CLIENT_SECRET, ECABINET_OIDC_PROVIDER_NAME="Cổng định danh",
                      ECABINET_PUBLIC_URL=server.url)
    try:
        server.start()
        for size in SIZES:
            screens = Screens(browser, "sso", size)
            try:
                page = screens.page()
                page.goto(f"{server.url}/login")
                button = page.get_by_role("link", name="Đăng nhập bằng Cổng định danh")
                assert button.is_visible()
                screens.check(page, "login page offers the provider")
                if size == "phone":
                    sign_in_at_provider(screens, page, button, "vo-danh")
                    page.wait_for_url(re.compile(r".*/login/oidc/callback.*"))
                    assert "không cho biết tài khoản nào là của đồng chí" in page.locator("p.alert").inner_text()
                    screens.check(page, "refused: no account named", refused=401)
                    continue
                sign_in_at_provider(screens, page, button, "anh")
                page.wait_for_url(f"{server.url}/")
                screens.check(page, "home after single sign-on")
            finally:
                screens.close()
    finally:
        server.stop()
        provider_run.close()


def sign_in_at_provider(screens: Screens, page, button, login: str) -> None:
    """The provider's own (development) sign-in and consent pages. They are not ours: what their console
    says (they ask for a web font and a favicon this machine cannot reach) is forgotten before coming back."""
    button.click()
    page.wait_for_selector("input[name=login]")
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", "any")
    page.click("button[type=submit]")
    page.wait_for_selector("button[type=submit]:has-text('Continue')")
    page.wait_for_load_state("networkidle")
    screens.errors.clear()
    page.click("button[type=submit]:has-text('Continue')")
