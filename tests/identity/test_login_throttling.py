"""Login throttling, OWASP style: a stranger's wrong passwords lock the account's budget, never a device
the member logged in from before; the form and the API share one budget; per-address limits remain."""

from __future__ import annotations

import re
from typing import Any

import pytest

from ecabinet.auth.devices import COOKIE
from tests.conftest import TEST_PASSWORD, assert_error
from tests.identity.helpers import audit_actions


@pytest.fixture(autouse=True)
def small_budget(app: Any) -> None:
    app.config["RATELIMIT_LOGIN"] = "4 per minute"


def api_login(client: Any, username: str, password: str, address: str) -> Any:
    return client.post("/api/v1/auth/token", json={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def form_login(client: Any, username: str, password: str, address: str) -> Any:
    page = client.get("/login", environ_base={"REMOTE_ADDR": address}).get_data(as_text=True)
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": csrf},
                       environ_base={"REMOTE_ADDR": address})


def test_a_strangers_guesses_do_not_lock_the_members_own_tablet(app, cast):
    tablet = app.test_client()
    assert api_login(tablet, "member_a", TEST_PASSWORD, "10.1.0.1").status_code == 200
    assert tablet.get_cookie(COOKIE) is not None
    stranger = app.test_client()
    codes = [api_login(stranger, "member_a", f"guess-number-{n}-x", f"203.0.113.{n}").status_code for n in range(6)]
    assert codes == [401, 401, 401, 401, 429, 429]
    # the member's tablet has its own budget for that account
    assert api_login(tablet, "member_a", TEST_PASSWORD, "10.1.0.1").status_code == 200
    # a device the member never used is held back with the stranger
    assert_error(api_login(app.test_client(), "member_a", TEST_PASSWORD, "10.1.0.2"), 429, "rate_limited")


def test_the_form_and_the_api_share_one_budget(app, cast):
    stranger = app.test_client()
    assert form_login(stranger, "member_a", "wrong-form-pass-1", "198.51.100.1").status_code == 401
    assert form_login(stranger, "member_a", "wrong-form-pass-2", "198.51.100.2").status_code == 401
    assert api_login(stranger, "member_a", "wrong-api-pass-1", "198.51.100.3").status_code == 401
    assert api_login(stranger, "member_a", "wrong-api-pass-2", "198.51.100.4").status_code == 401
    assert api_login(stranger, "member_a", "wrong-api-pass-3", "198.51.100.5").status_code == 429
    assert form_login(stranger, "member_a", "wrong-form-pass-3", "198.51.100.6").status_code == 429


def test_a_browser_the_member_used_keeps_working_through_the_form(app, cast):
    browser = app.test_client()
    assert form_login(browser, "member_a", TEST_PASSWORD, "10.2.0.1").status_code == 302
    browser.post("/logout", data={"csrf_token": re.search(r'name="csrf-token" content="([^"]+)"',
                                                          browser.get("/").get_data(as_text=True)).group(1)})
    stranger = app.test_client()
    for n in range(5):
        api_login(stranger, "member_a", f"guess-number-{n}-y", f"203.0.113.{50 + n}")
    assert form_login(browser, "member_a", TEST_PASSWORD, "10.2.0.1").status_code == 302


def test_successful_logins_do_not_spend_the_accounts_budget(app, cast):
    tablet = app.test_client()
    codes = [api_login(tablet, "member_a", TEST_PASSWORD, f"10.3.0.{n}").status_code for n in range(6)]
    assert codes == [200] * 6


def test_a_device_cookie_of_another_account_does_not_help(app, cast):
    stranger = app.test_client()
    assert api_login(stranger, "outsider", TEST_PASSWORD, "203.0.113.100").status_code == 200
    codes = [api_login(stranger, "member_a", f"guess-{n}-z-pass", f"203.0.113.{101 + n}").status_code
             for n in range(5)]
    assert codes == [401, 401, 401, 401, 429]


def test_a_forged_device_cookie_does_not_help(app, cast):
    stranger = app.test_client()
    stranger.set_cookie(COOKIE, "eyJ1IjoibWVtYmVyX2EiLCJuIjoieCJ9.forged.signature")
    codes = [api_login(stranger, "member_a", f"guess-{n}-f-pass", f"203.0.113.{120 + n}").status_code
             for n in range(5)]
    assert codes == [401, 401, 401, 401, 429]


def test_the_device_itself_has_a_budget(app, cast):
    tablet = app.test_client()
    assert api_login(tablet, "member_a", TEST_PASSWORD, "10.4.0.1").status_code == 200
    codes = [api_login(tablet, "member_a", f"typo-{n}-pass-word", f"10.4.0.{2 + n}").status_code for n in range(5)]
    assert codes == [401, 401, 401, 401, 429]


def test_per_address_limits_remain(app, cast):
    client = app.test_client()
    codes = [api_login(client, name, "wrong-password-here", "192.0.2.7").status_code
             for name in ("chair", "member_a", "member_b", "delegate", "guest")]
    assert codes == [401, 401, 401, 401, 429]
    assert audit_actions().count("auth.login_failed") == 4
