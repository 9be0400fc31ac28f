"""The browser UI shell: login (password, then the second factor's code when set up), home, language
switch, logout, the member's password and authenticator app (cookie sessions with CSRF)."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from ecabinet import LANGUAGES
from ecabinet.auth import mfa, oidc
from ecabinet.auth import service as auth_service
from ecabinet.auth.devices import remember_device
from ecabinet.auth.loader import BROWSER_SESSION_KEY, current_auth_session
from ecabinet.auth.models import SessionKind, User
from ecabinet.errors import AppError, NotAuthenticated
from ecabinet.extensions import csrf
from ecabinet.pdf import format_vn_datetime
from ecabinet.ratelimits import login_limited

web = Blueprint("web", __name__)

# Domain packages add their own sections to the home page (meetings, ballots); a section that is not the
# person's (ballots for a guest) answers None and is left out.
HOME_SECTIONS: list[Any] = []
#: how long the second step of a login waits for the code
MFA_STEP_SECONDS = 300
_PENDING = "mfa_pending"
# the pages a member who must change the password or set up a second factor may still open
_OPEN_WHILE_RESTRICTED = {"web.login_form", "web.login", "web.login_otp", "web.login_sso", "web.login_sso_callback",
                          "web.logout_view", "web.switch_language",
                          "web.password_form", "web.password_change", "web.mfa_page", "web.mfa_start",
                          "web.mfa_confirm", "static"}


def _safe_next(target: str | None) -> str:
    if target and not urlsplit(target).netloc and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("web.home")


@web.before_app_request
def _restricted_pages() -> Response | None:
    """A member who must change the password, or whose role needs a second factor not yet set up,
    is sent to that page first (the API answers 403: ecabinet.auth.loader)."""
    if request.path.startswith(("/api/", "/socket.io", "/static/")) or request.endpoint in _OPEN_WHILE_RESTRICTED:
        return None
    if BROWSER_SESSION_KEY not in session or not current_user.is_authenticated:
        return None
    if current_user.must_change_password:
        return redirect(url_for("web.password_form"))
    if mfa.required_for(current_user):
        return redirect(url_for("web.mfa_page"))
    return None


@web.app_context_processor
def _single_sign_on() -> dict[str, str]:
    """The login page's "Log in with ..." button, when a provider is configured."""
    return {"sso_name": oidc.provider_name() if oidc.enabled() else ""}


@web.get("/login")
def login_form() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("web.home"))
    return render_template("auth/login.html", next=request.args.get("next", ""))


@web.post("/login")
@login_limited
def login() -> Any:
    username = request.form.get("username", "")
    next_page = request.form.get("next", "")
    try:
        user = auth_service.check_credentials(username=username, password=request.form.get("password", ""))
    except NotAuthenticated:
        return render_template("auth/login.html", error=_("Wrong username or password."),
                               username=username, next=next_page), 401
    return _second_step_or_logged_in(user, next_page, via="password")


def _second_step_or_logged_in(user: User, next_page: str, *, via: str) -> Any:
    """After the password or the provider: the code's page when the account has a second factor."""
    if user.has_totp:
        session.clear()
        session[_PENDING] = {"user_id": user.id, "username": user.username, "at": time.time(), "next": next_page,
                             "via": via}
        return render_template("auth/otp.html")
    return _logged_in(user, next_page, via=via)


_SSO_NEXT = "sso_next"


@web.get("/login/oidc")
def login_sso() -> Any:
    """Single sign-on: off to the OpenID provider (ecabinet/auth/oidc.py), back at the callback."""
    if not oidc.enabled():
        return redirect(url_for("web.login_form"))
    try:
        response = oidc.start()
    except oidc.SsoRefused as refused:
        return render_template("auth/login.html", error=refused.message, next=""), 503
    session[_SSO_NEXT] = request.args.get("next", "")
    return response


@web.get(oidc.CALLBACK_PATH)
def login_sso_callback() -> Any:
    """The provider's answer: the account its verified ID token names, then the second step if any."""
    if not oidc.enabled():
        return redirect(url_for("web.login_form"))
    try:
        user = oidc.finish(request.args.to_dict())
    except oidc.SsoRefused as refused:
        return render_template("auth/login.html", error=refused.message, next=""), 401
    return _second_step_or_logged_in(user, session.pop(_SSO_NEXT, ""), via="sso")


@web.post("/login/otp")
@login_limited
def login_otp() -> Any:
    """The second step: the code from the authenticator app (or a recovery code)."""
    csrf.protect()
    pending = session.get(_PENDING) or {}
    user = auth_service.user_by_id(pending["user_id"]) if pending.get("user_id") else None
    if user is None or not user.is_active or time.time() - pending.get("at", 0) > MFA_STEP_SECONDS:
        session.pop(_PENDING, None)
        return render_template("auth/login.html", error=_("The login took too long. Start again."), next=""), 401
    try:
        auth_service.check_second_factor(user, request.form.get("otp", "").strip())
    except NotAuthenticated as refused:
        return render_template("auth/otp.html", error=refused.message), 401
    return _logged_in(user, pending.get("next", ""), via=pending.get("via", "password"))


def _logged_in(user: User, next_page: str, *, via: str) -> Response:
    issued = auth_service.open_login(user, kind=SessionKind.BROWSER, ip=request.remote_addr or "", via=via)
    session.clear()  # a fresh session at login: nothing from before it carries over (fixation)
    session[BROWSER_SESSION_KEY] = issued.token
    session.permanent = True
    if user.must_change_password:
        target = url_for("web.password_form")
    elif mfa.required_for(user):
        target = url_for("web.mfa_page")
    else:
        target = _safe_next(next_page)
    response = redirect(target)
    remember_device(response, user)
    return response


@web.post("/logout")
@login_required
def logout_view() -> Response:
    auth_session = current_auth_session()
    if auth_session is None:
        raise NotAuthenticated()
    auth_service.logout(auth_session, actor=current_user)
    session.clear()
    return redirect(url_for("web.login_form"))


@web.get("/account/password")
@login_required
def password_form() -> str:
    return render_template("auth/password.html")


@web.post("/account/password")
@login_required
def password_change() -> Any:
    new = request.form.get("new_password", "")
    if new != request.form.get("confirm_password", ""):
        return render_template("auth/password.html", error=_("The two new passwords differ.")), 422
    try:
        auth_service.change_password(current_user, current=request.form.get("current_password", ""), new=new,
                                     keep=current_auth_session())
    except AppError as refused:
        return render_template("auth/password.html", error=refused.message), refused.status
    return redirect(url_for("web.mfa_page") if mfa.required_for(current_user) else url_for("web.home"))


@web.get("/account/mfa")
@login_required
def mfa_page() -> str:
    pending = bool(current_user.totp_secret) and not current_user.has_totp
    return render_template("auth/mfa.html", pending=pending, required=mfa.required_for(current_user),
                           qr=mfa.qr_svg(current_user) if pending else None,
                           secret=current_user.totp_secret if pending else None)


@web.post("/account/mfa")
@login_required
def mfa_start() -> Any:
    try:
        mfa.start_totp(current_user)
    except AppError as refused:
        return render_template("auth/mfa.html", error=refused.message, pending=False, required=False), refused.status
    return redirect(url_for("web.mfa_page"))


@web.post("/account/mfa/confirm")
@login_required
def mfa_confirm() -> Any:
    try:
        codes = mfa.confirm_totp(current_user, request.form.get("otp", "").strip())
    except AppError as refused:
        pending = bool(current_user.totp_secret) and not current_user.has_totp
        return render_template("auth/mfa.html", error=refused.message, pending=pending, required=False,
                               qr=mfa.qr_svg(current_user) if pending else None,
                               secret=current_user.totp_secret if pending else None), refused.status
    return render_template("auth/mfa.html", pending=False, required=False, recovery_codes=codes)


@web.post("/lang/<code>")
def switch_language(code: str) -> Response:
    if code in LANGUAGES:
        session["lang"] = code
    return redirect(_safe_next(request.form.get("next") or request.referrer and urlsplit(request.referrer).path))


@web.get("/")
@login_required
def home() -> str:
    mine = [made for made in (section(current_user) for section in HOME_SECTIONS) if made is not None]
    sections = sorted([*mine, _account_section(current_user)], key=lambda s: s.get("order", 50))
    return render_template("home.html", sections=sections)


# One table for every code shown to people (statuses, roles, levels): domains add theirs with
# register_labels(); templates write {{ code|label("meeting_status") }} and never show a raw code.
LABELS: dict[str, dict[str, Any]] = {
    "role": {"admin": _l("Administrator"), "secretary": _l("Secretariat"), "chair": _l("Chair"),
             "member": _l("Government member"), "guest": _l("Invited guest")},
    "confidentiality": {"normal": _l("Normal"), "confidential": _l("Confidential"), "secret": _l("Secret"),
                        "top_secret": _l("Top secret")},
}


def register_labels(kind: str, labels: dict[str, Any]) -> None:
    LABELS.setdefault(kind, {}).update(labels)


@web.app_template_filter("label")
def label(code: object, kind: str) -> str:
    value = str(code.value if hasattr(code, "value") else code)
    return str(LABELS.get(kind, {}).get(value, value))


def _as_datetime(value: datetime | date | str | None) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)  # stored times are UTC


@web.app_template_filter("hanoi")
def hanoi(value: datetime | date | str | None) -> str:
    """dd/mm/yyyy HH:mm in Hanoi time: the one date format of every page (ui.js formats the same way)."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.strftime("%d/%m/%Y")
    moment = _as_datetime(value)
    return format_vn_datetime(moment) if moment else ""


@web.app_template_filter("hanoi_date")
def hanoi_date(value: datetime | date | str | None) -> str:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.strftime("%d/%m/%Y")
    moment = _as_datetime(value)
    return format_vn_datetime(moment)[:10] if moment else ""


@web.get("/favicon.ico")
def favicon() -> Response:
    return redirect(url_for("static", filename="favicon.svg"), code=301)


def _account_section(user: User) -> dict[str, Any]:
    """The home page's "My account" card: password, authenticator app, and the administration page."""
    items = [{"url": url_for("web.mfa_page"), "title": _("Authenticator app"),
              "subtitle": _("Set up") if not user.has_totp else _("Set up already"), "badge": None},
             {"url": url_for("web.password_form"), "title": _("Change my password"), "subtitle": "", "badge": None}]
    if user.is_admin:
        items.append({"url": url_for("admin_web.users_page"), "title": _("Accounts"),
                      "subtitle": _("Accounts, roles, clearances and signing certificates"), "badge": None})
    return {"title": _("My account"), "items": items, "empty": "", "actions": [], "order": 90}

