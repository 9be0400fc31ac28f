"""The e-Cabinet application factory: one create_app() for the server, the tests and the CLI."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from apiflask import APIFlask
from flask import Flask, Request, Response, has_request_context, redirect, request, session, url_for
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin
from flask_babel import get_locale
from werkzeug.middleware.proxy_fix import ProxyFix

from config import Config
from ecabinet import audit, notifications, openapi, realtime  # noqa: F401  (audit's models register with the metadata)
from ecabinet.adapters import limiter_hooks
from ecabinet.errors import NotAuthenticated
from ecabinet.extensions import babel, csrf, db, limiter, login_manager, migrate, socketio
from ecabinet.inputs import IdConverter, guard_input_schemas

ROOT = Path(__file__).resolve().parent.parent
DOMAIN_PACKAGES = ("documents", "meetings", "meetings.live", "ballots", "meetings.minutes", "meetings.notices",
                   "meetings.briefcase", "search")
LANGUAGES = ("vi", "en")
# app.extensions key: start functions the server runs in the background (see add_background_task)
BACKGROUND_TASKS = "ecabinet.background_tasks"


def add_background_task(app: Flask, start: Callable[[Flask], None]) -> None:
    """Have the server (not the CLI or tests) start ``start(app)``, e.g. closing ballots at their deadline."""
    app.extensions.setdefault(BACKGROUND_TASKS, []).append(start)


def select_locale() -> str:
    """The user's explicit choice first; the browser UI is otherwise Vietnamese (tablets often ship
    with an English system language); API clients choose with Accept-Language, Vietnamese by default."""
    if not has_request_context():
        return "vi"
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return chosen
    from ecabinet.auth.loader import BROWSER_SESSION_KEY  # deferred: the loader imports add_background_task

    if BROWSER_SESSION_KEY in session or not request.path.startswith("/api/"):
        return "vi"
    return request.accept_languages.best_match(LANGUAGES, default="vi") or "vi"


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie session, without building its signer for a request that brings no cookie:
    API clients send a bearer token instead, and building the signer is a measurable part of every
    such request (bench/json_api.py measures it). A session written during the request is signed as
    Flask signs it."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if app.secret_key and ("HTTP_COOKIE" not in request.environ
                               or self.get_cookie_name(app) not in request.cookies):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if not session and not session.modified and not session.accessed:
            return  # what Flask would do after reading six settings: nothing (no cookie, no Vary)
        super().save_session(app, session, response)


def create_app(config: Config | None = None, *, async_mode: str | None = None) -> APIFlask:
    config = config or Config()
    config.validate()
    app = APIFlask(__name__, title="e-Cabinet API", version="1", spec_path="/api/v1/openapi.json",
                   docs_path=None, template_folder=str(ROOT / "templates"),
                   static_folder=str(Path(__file__).parent / "static"))
    app.config.from_object(config)
    app.url_map.converters["int"] = IdConverter  # before any route: every <int:...> is a database id
    app.session_interface = CookieSessions()
    app.json.ensure_ascii = False  # type: ignore[attr-defined]  # DefaultJSONProvider's setting
    if app.config["PROXY_COUNT"]:
        hops = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]  # Flask's documented way
    app.config["DATA_DIR"].mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("fontTools").setLevel(logging.WARNING)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).parent / "migrations"))
    login_manager.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=lambda: "Asia/Ho_Chi_Minh")
    limiter.init_app(app)
    limiter_hooks.skip_idle_limit_check(app, limiter)
    socketio.init_app(app, async_mode=async_mode or _async_mode(),
                      cors_allowed_origins=app.config["ALLOWED_ORIGINS"],
                      client_manager=realtime.client_manager(app.config["MESSAGE_QUEUE"],
                                                             app.config["MESSAGE_QUEUE_CHANNEL"]),
                      max_http_buffer_size=64 * 1024, ping_interval=10, ping_timeout=10)

    audit.install_listeners()
    _register_core(app)
    for name in DOMAIN_PACKAGES:
        importlib.import_module(name).init_app(app)
    guard_input_schemas(app)
    return app


def _async_mode() -> str:
    """gevent when the serving process patched the standard library (see ecabinet.server)."""
    try:
        from gevent import monkey

        return "gevent" if monkey.is_module_patched("socket") else "threading"
    except ImportError:
        return "threading"


def _register_core(app: APIFlask) -> None:
    # deferred: these modules import names defined in this package (add_background_task, LANGUAGES, create_app)
    from ecabinet import keystore, security
    from ecabinet.auth import loader, oidc
    from ecabinet.auth.admin_web import admin_web
    from ecabinet.auth.views import admin_api
    from ecabinet.auth.views import api as auth_api
    from ecabinet.cli import cli
    from ecabinet.web import web

    login_manager.login_view = "web.login_form"
    app.before_request(security.reset_request_state)
    app.before_request(security.screen_request)
    app.before_request(security.protect_cookie_writes)
    app.after_request(security.security_headers(app))
    security.register_error_handlers(app)
    security.register_socket_error_handler()
    loader.init_app(app)
    keystore.install_listeners()
    oidc.init_app(app)
    add_background_task(app, security.start_refusal_flusher)
    openapi.init_app(app)
    app.register_blueprint(auth_api)
    app.register_blueprint(admin_api)
    app.register_blueprint(admin_web)
    app.register_blueprint(web)
    notifications.init_app(app)
    app.cli.add_command(cli)
    realtime.register_socket_handlers()
    app.jinja_env.globals.update(app_languages=LANGUAGES, get_locale=get_locale)

    @login_manager.unauthorized_handler
    def unauthorized() -> Any:
        if security.wants_json() or request.method != "GET":
            raise NotAuthenticated()
        return redirect(url_for("web.login_form", next=request.full_path))
