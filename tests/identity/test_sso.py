"""Single sign-on through a real OpenID provider (node's certified oidc-provider): the code flow with
PKCE, the ID token's checks, accounts matched by a claim, the second factor still asked, unknown people
refused unless accounts may be made."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from joserfc.errors import JoseError

from config import Config, ConfigError
from ecabinet.audit import AuditRecord
from ecabinet.auth import oidc
from ecabinet.auth.models import Role, User
from ecabinet.database import db
from tests.conftest import audit_actions
from tests.identity import sso
from tests.identity.test_mfa import enrol


@pytest.fixture
def sso_app(app, oidc_provider):
    """The app with the provider configured (as ECABINET_OIDC_* would at start)."""
    configure(app, oidc_provider.issuer)
    return app


def configure(app: Any, issuer: str, **extra: Any) -> None:
    app.config.update(OIDC_ISSUER=issuer, OIDC_CLIENT_ID=sso.CLIENT_ID, OIDC_CLIENT_SECRET=sso.CLIENT_SECRET,
                      OIDC_PROVIDER_NAME="Cổng định danh", PUBLIC_URL=sso.PUBLIC_URL, **extra)
    oidc.init_app(app)


def start(browser: Any, next_page: str = "") -> str:
    """The login button: the address of the provider's authorization endpoint the browser is sent to."""
    response = browser.get("/login/oidc" + (f"?next={next_page}" if next_page else ""))
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return response.headers["Location"]


def back_at_app(browser: Any, callback: str) -> Any:
    parts = urlsplit(callback)
    assert f"{parts.scheme}://{parts.netloc}" == sso.PUBLIC_URL
    return browser.get(f"{parts.path}?{parts.query}")


def login_through_provider(app: Any, login: str, next_page: str = "") -> tuple[Any, Any]:
    browser = app.test_client()
    return browser, back_at_app(browser, sso.sign_in(start(browser, next_page), login))


def test_the_login_page_offers_the_provider_only_when_configured(app, oidc_provider):
    assert "Đăng nhập bằng" not in app.test_client().get("/login").get_data(as_text=True)
    assert app.test_client().get("/login/oidc").headers["Location"].endswith("/login")
    configure(app, oidc_provider.issuer)
    page = app.test_client().get("/login").get_data(as_text=True)
    assert "Đăng nhập bằng Cổng định danh" in page and 'href="/login/oidc"' in page


def test_a_member_logs_in_through_the_provider_with_pkce(sso_app, cast):
    browser = sso_app.test_client()
    authorize = start(browser, "/meetings")
    query = parse_qs(urlsplit(authorize).query)
    assert authorize.startswith(sso_app.config["OIDC_ISSUER"])
    assert query["response_type"] == ["code"] and query["client_id"] == [sso.CLIENT_ID]
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) == 43
    assert query["redirect_uri"] == [sso.PUBLIC_URL + "/login/oidc/callback"] and query["nonce"][0]
    # the provider names "Member_A": the account is member_a, the page asked for at the start opens
    answer = back_at_app(browser, sso.sign_in(authorize, "anh"))
    assert answer.status_code == 302 and answer.headers["Location"] == "/meetings"
    assert browser.get("/meetings").status_code == 200
    last = db.session.scalars(db.select(AuditRecord).order_by(AuditRecord.id.desc())).first()
    assert last.action == "auth.login" and json.loads(last.data)["via"] == "sso"


def test_an_account_with_a_second_factor_is_asked_for_its_code_after_the_provider(sso_app, api, cast):
    _, totp = enrol(api, cast.member_a)
    browser, answer = login_through_provider(sso_app, "anh")
    assert answer.status_code == 200 and "Nhập mã xác thực" in answer.get_data(as_text=True)
    assert browser.get("/meetings").status_code == 302  # not logged in yet
    page = answer.get_data(as_text=True)
    csrf = page.split('name="csrf_token" value="')[1].split('"')[0]
    done = browser.post("/login/otp", data={"otp": totp.now(), "csrf_token": csrf})
    assert done.status_code == 302 and browser.get("/meetings").status_code == 200


def test_a_role_that_needs_a_second_factor_is_sent_to_set_it_up(sso_app, cast):
    sso_app.config["MFA_REQUIRED_ROLES"] = ["secretary"]
    browser, answer = login_through_provider(sso_app, "thu")
    assert answer.headers["Location"].endswith("/account/mfa")
    assert browser.get("/meetings").headers["Location"].endswith("/account/mfa")


@pytest.mark.parametrize("login", ["moi", "vo-danh"])
def test_a_person_without_an_account_is_refused_and_nothing_is_made(sso_app, cast, login):
    browser, answer = login_through_provider(sso_app, login)
    assert answer.status_code == 401
    page = answer.get_data(as_text=True)
    assert ("Không có tài khoản nào đang hoạt động" in page if login == "moi"
            else "không cho biết tài khoản nào là của đồng chí" in page)
    assert browser.get("/meetings").status_code == 302
    assert db.session.scalar(db.select(User).where(User.username == "newcomer")) is None
    if login == "moi":
        assert audit_actions()[-1] == "auth.login_failed"


def test_a_deactivated_account_is_refused(sso_app, cast):
    cast.member_a.active = False
    db.session.commit()
    _, answer = login_through_provider(sso_app, "anh")
    assert answer.status_code == 401


def test_when_allowed_a_newcomer_gets_a_guest_account_and_nothing_more(sso_app, cast):
    sso_app.config["OIDC_CREATE_ACCOUNTS"] = True
    browser, answer = login_through_provider(sso_app, "moi")
    assert answer.status_code == 302
    user = db.session.scalar(db.select(User).where(User.username == "newcomer"))
    assert user.roles == [str(Role.GUEST)] and str(user.clearance) == "normal"
    assert user.full_name == "Lê Văn Mới" and user.email == "moi@chinhphu.vn"
    assert audit_actions()[-2:] == ["user.created", "auth.login"]
    assert browser.get("/").status_code == 200


def test_a_callback_whose_nonce_is_not_this_logins_is_refused(sso_app, cast):
    browser = sso_app.test_client()
    authorize = start(browser)
    with browser.session_transaction() as session:
        [key] = [key for key in session if key.startswith("_state_")]
        session[key] = {**session[key], "data": {**session[key]["data"], "nonce": "not-the-one-sent"}}
    answer = back_at_app(browser, sso.sign_in(authorize, "anh"))
    assert answer.status_code == 401 and "Đăng nhập một lần không thành công" in answer.get_data(as_text=True)
    assert browser.get("/meetings").status_code == 302


def test_a_callback_is_accepted_once_and_only_in_the_browser_that_started(sso_app, cast):
    browser = sso_app.test_client()
    callback = sso.sign_in(start(browser), "anh")
    assert back_at_app(sso_app.test_client(), callback).status_code == 401  # another browser: no state
    assert back_at_app(browser, callback).status_code == 302
    browser.post("/logout", data={})
    assert back_at_app(sso_app.test_client(), callback).status_code == 401


def test_a_provider_naming_another_issuer_is_not_trusted(app, oidc_provider, cast):
    # the same server under another name: its discovery document and tokens say 127.0.0.1
    configure(app, oidc_provider.issuer.replace("127.0.0.1", "localhost"))
    answer = app.test_client().get("/login/oidc")
    assert answer.status_code == 503 and "không liên lạc được" in answer.get_data(as_text=True)


def test_a_cancelled_sign_in_logs_no_one_in(sso_app):
    browser = sso_app.test_client()
    state = parse_qs(urlsplit(start(browser)).query)["state"][0]
    answer = browser.get("/login/oidc/callback?" + urlencode({"error": "access_denied", "state": state}))
    assert answer.status_code == 401 and "đã bị hủy" in answer.get_data(as_text=True)


def other_apps_tokens(issuer: str, nonce: str) -> dict[str, Any]:
    """Tokens the provider issued to another application (its own code flow with PKCE)."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    authorize = f"{issuer}/auth?" + urlencode({
        "client_id": sso.OTHER_CLIENT_ID, "response_type": "code", "scope": "openid", "nonce": nonce,
        "redirect_uri": sso.OTHER_REDIRECT, "code_challenge": challenge, "code_challenge_method": "S256",
        "state": "s"})
    code = parse_qs(urlsplit(sso.sign_in(authorize, "anh", until=sso.OTHER_REDIRECT)).query)["code"][0]
    answer = requests.post(f"{issuer}/token", auth=(sso.OTHER_CLIENT_ID, sso.OTHER_SECRET), timeout=10, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": sso.OTHER_REDIRECT,
        "code_verifier": verifier})
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_the_id_token_is_checked_for_audience_signature_and_nonce(sso_app, oidc_provider):
    tokens = other_apps_tokens(oidc_provider.issuer, nonce="n-1")
    with sso_app.test_request_context():
        # the provider's own signature, but for another application
        with pytest.raises(JoseError):
            oidc.verified_id_token(tokens, nonce="n-1")
        sso_app.config.update(OIDC_CLIENT_ID=sso.OTHER_CLIENT_ID, OIDC_CLIENT_SECRET=sso.OTHER_SECRET)
        oidc.init_app(sso_app)  # as that application, it is accepted ...
        assert oidc.verified_id_token(tokens, nonce="n-1")["sub"] == "anh"
        with pytest.raises(JoseError):  # ... but not with another nonce
            oidc.verified_id_token(tokens, nonce="n-2")
        header, payload, signature = tokens["id_token"].split(".")
        forged = signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
        with pytest.raises(JoseError):
            oidc.verified_id_token({**tokens, "id_token": f"{header}.{payload}.{forged}"}, nonce="n-1")


@pytest.mark.parametrize(("issuer", "secret"), [("http://idp.chinhphu.vn", "s"), ("https://idp.chinhphu.vn", "")])
def test_production_refuses_a_plain_http_provider_or_a_missing_secret(monkeypatch, tmp_path, issuer, secret):
    monkeypatch.setenv("ECABINET_ENV", "production")
    monkeypatch.setenv("ECABINET_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ECABINET_SECRET_KEY", "x" * 40)
    monkeypatch.delenv("ECABINET_DEBUG", raising=False)
    monkeypatch.setenv("ECABINET_OIDC_ISSUER", issuer)
    monkeypatch.setenv("ECABINET_OIDC_CLIENT_ID", "ecabinet")
    monkeypatch.setenv("ECABINET_OIDC_CLIENT_SECRET", secret)
    with pytest.raises(ConfigError, match="ECABINET_OIDC_ISSUER"):
        Config().validate()
    monkeypatch.setenv("ECABINET_OIDC_ISSUER", "https://idp.chinhphu.vn")
    monkeypatch.setenv("ECABINET_OIDC_CLIENT_SECRET", "s")
    Config().validate()
