"""Response headers, the CSRF gate for cookie-authenticated writes, and error rendering."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

from apiflask import APIFlask
from apiflask.exceptions import HTTPError
from flask import Response, current_app, g, jsonify, render_template, request, session
from flask_babel import refresh
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from ecabinet import audit
from ecabinet.auth.loader import BROWSER_SESSION_KEY, bearer_token
from ecabinet.database import db, write_transaction
from ecabinet.errors import STATUS_CODES, AppError
from ecabinet.extensions import csrf

log = logging.getLogger(__name__)
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "font-src 'self'; connect-src 'self'; worker-src 'self' blob:; object-src 'none'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
# what a request leaves in g besides Flask-Babel's locale: the login (ecabinet.auth.loader), Flask-Login's user
_REQUEST_STATE = ("auth_session", "auth_via", "auth_unattached", "_login_user")


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.path.startswith("/socket.io") or (
        request.accept_mimetypes.best_match(["application/json", "text/html"]) == "application/json"
    )


def reset_request_state() -> None:
    """Per-request state must not leak when an app context outlives a request (CLI, tests, sockets).

    A request that pushed its own app context starts with nothing to reset (bench/json_api.py: 15 µs).
    """
    state = g._get_current_object().__dict__
    if not state:
        return
    refresh()
    for key in _REQUEST_STATE:
        state.pop(key, None)
    state.pop(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), None)


def protect_cookie_writes() -> None:
    """Cookie-authenticated writes need a CSRF token; bearer-authenticated ones cannot be forged."""
    if request.method not in WRITE_METHODS or bearer_token(request) is not None:
        return
    if BROWSER_SESSION_KEY in session or request.endpoint == "web.login":
        csrf.protect()


def security_headers(app: APIFlask) -> Callable[[Response], Response]:
    """The hook that adds the security headers to every response, their values fixed once per app.

    The headers a view set itself are replaced (Content-Security-Policy and an API answer's Cache-Control
    are kept); the others are appended after one look at what the response has, not a search of its
    headers for each (bench/json_api.py: 25 -> 6 µs).
    """
    fixed = [("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY"),
             ("Referrer-Policy", "same-origin"), ("Permissions-Policy", "camera=(), microphone=(), geolocation=()")]
    if app.config["PRODUCTION"]:
        fixed.append(("Strict-Transport-Security", "max-age=31536000; includeSubDomains"))
    always = [(name.lower(), name, value) for name, value in fixed]

    def set_security_headers(response: Response) -> Response:
        headers = response.headers
        present = {name.lower() for name, _ in headers.items()}
        if "content-security-policy" not in present:
            headers.add("Content-Security-Policy", CSP)
        for lowered, name, value in always:
            if lowered in present:
                headers[name] = value
            else:
                headers.add(name, value)
        if "cache-control" not in present and request.path.startswith("/api/"):
            headers.add("Cache-Control", "no-store")
        return response

    return set_security_headers


def _record_refusal(status: int, code: str) -> None:
    """Refused accesses are part of the record (ASVS 7.1); never let this hide the refusal."""
    if status not in (401, 403) or code == "invalid_credentials":
        return
    from flask_login import current_user

    try:
        db.session.rollback()
        with write_transaction():
            actor = current_user if current_user.is_authenticated else None
            audit.record(actor, "access.refused", None,
                         {"status": status, "code": code, "method": request.method, "path": request.path[:200]},
                         actor_label=None if actor else "anonymous")
    except Exception:  # the refusal must still reach the client
        log.exception("could not audit a refused access")


def render_error(error: AppError) -> Response:
    _record_refusal(error.status, error.code)
    if wants_json():
        body = error.body()
        if "correlation_id" in g:  # the reference an operator finds in the log, as the HTML page shows it
            body["error"]["reference"] = g.correlation_id
        response = jsonify(body)
    else:
        response = current_app.make_response(
            (render_template("error.html", error=error), error.status))
    response.status_code = error.status
    return response


def register_error_handlers(app: APIFlask) -> None:
    @app.errorhandler(AppError)
    def handle_app_error(error: AppError) -> Response:
        db.session.rollback()
        return render_error(error)

    @app.errorhandler(CSRFError)
    def handle_csrf(error: CSRFError) -> Response:
        return render_error(AppError("csrf_failed", status=403))

    @app.errorhandler(RateLimitExceeded)
    def handle_rate_limit(error: RateLimitExceeded) -> Response:
        response = render_error(AppError("rate_limited", status=429))
        retry_after = getattr(error, "retry_after", None)
        if retry_after:
            response.headers["Retry-After"] = str(int(retry_after))
        return response

    @app.errorhandler(HTTPException)
    def handle_http(error: HTTPException) -> Response:
        status = error.code or 500
        code = STATUS_CODES.get(status, "bad_request")
        if status == 400 and request.is_json and request.get_json(silent=True) is None and request.data:
            code = "invalid_json"
        return render_error(AppError(code, status=status))

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception) -> Response:
        db.session.rollback()
        correlation_id = uuid.uuid4().hex[:12]
        g.correlation_id = correlation_id
        log.exception("unhandled error %s on %s %s", correlation_id, request.method, request.path)
        return render_error(AppError("internal_error", status=500))

    @app.error_processor
    def handle_api_error(error: HTTPError) -> Response:
        """APIFlask's own errors (schema validation, abort) in our shape."""
        status = error.status_code
        if status == 422:
            fields = error.detail.get("json") or error.detail.get("form") or error.detail.get("query") or error.detail
            return render_error(AppError("validation_error", status=422, fields=fields))
        code = STATUS_CODES.get(status, "bad_request")
        if status == 400 and request.is_json and request.data and request.get_json(silent=True) is None:
            code = "invalid_json"
        return render_error(AppError(code, status=status))
