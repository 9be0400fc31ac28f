"""The browser UI shell: login, home, language switch, logout (cookie sessions with CSRF)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from ecabinet import LANGUAGES
from ecabinet.auth import service as auth_service
from ecabinet.auth.loader import BROWSER_SESSION_KEY, current_auth_session
from ecabinet.auth.models import SessionKind
from ecabinet.errors import NotAuthenticated
from ecabinet.extensions import limiter
from ecabinet.ratelimits import login_limits, username_key

web = Blueprint("web", __name__)

# Domain packages add their own sections to the home page (meetings, ballots).
HOME_SECTIONS: list[Any] = []


def _safe_next(target: str | None) -> str:
    if target and not urlsplit(target).netloc and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("web.home")


@web.get("/login")
def login_form() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("web.home"))
    return render_template("auth/login.html", next=request.args.get("next", ""))


@web.post("/login")
@limiter.limit(login_limits)
@limiter.limit(login_limits, key_func=username_key)
def login() -> Any:
    username = request.form.get("username", "")
    try:
        issued = auth_service.login(username=username, password=request.form.get("password", ""),
                                    kind=SessionKind.BROWSER, ip=request.remote_addr or "")
    except NotAuthenticated:
        return render_template("auth/login.html", error=_("Wrong username or password."),
                               username=username, next=request.form.get("next", "")), 401
    session.clear()  # a fresh session at login: nothing from before it carries over (fixation)
    session[BROWSER_SESSION_KEY] = issued.token
    session.permanent = True
    return redirect(_safe_next(request.form.get("next")))


@web.post("/logout")
@login_required
def logout_view() -> Response:
    auth_service.logout(current_auth_session(), actor=current_user)
    session.clear()
    return redirect(url_for("web.login_form"))


@web.post("/lang/<code>")
def switch_language(code: str) -> Response:
    if code in LANGUAGES:
        session["lang"] = code
    return redirect(_safe_next(request.form.get("next") or request.referrer and urlsplit(request.referrer).path))


@web.get("/")
@login_required
def home() -> str:
    sections = [section(current_user) for section in HOME_SECTIONS]
    return render_template("home.html", sections=sections)
