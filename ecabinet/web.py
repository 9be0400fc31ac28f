"""The browser UI shell: login, home, language switch, logout (cookie sessions with CSRF)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from ecabinet import LANGUAGES
from ecabinet.auth import service as auth_service
from ecabinet.auth.loader import BROWSER_SESSION_KEY, current_auth_session
from ecabinet.auth.models import SessionKind
from ecabinet.errors import NotAuthenticated
from ecabinet.extensions import limiter
from ecabinet.pdf import format_vn_datetime
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
    sections = sorted((section(current_user) for section in HOME_SECTIONS), key=lambda s: s.get("order", 50))
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
