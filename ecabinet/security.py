"""What a request may cost before a view runs (login first, body limits, input checks), response
headers, the CSRF gate for cookie-authenticated writes, and error rendering."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from apiflask import APIFlask
from apiflask.exceptions import HTTPError
from flask import Response, current_app, g, jsonify, render_template, request, session
from flask_babel import refresh
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from ecabinet import audit, inputs
from ecabinet.auth.loader import BROWSER_SESSION_KEY, bearer_token
from ecabinet.database import db, write_transaction
from ecabinet.errors import STATUS_CODES, AppError, TooLarge
from ecabinet.extensions import csrf, login_manager, socketio

log = logging.getLogger(__name__)
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "font-src 'self'; connect-src 'self'; worker-src 'self' blob:; object-src 'none'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
# what a request leaves in g besides Flask-Babel's locale: the login (ecabinet.auth.loader), Flask-Login's user
_REQUEST_STATE = ("auth_session", "auth_via", "auth_unattached", "_login_user")
#: what anyone may call: logging in, the language switch, the OpenAPI document, static files
PUBLIC_ENDPOINTS = frozenset({"static", "openapi.spec", "auth_api.issue_token", "web.login_form", "web.login",
                              "web.login_otp", "web.switch_language"})
UPLOAD_MIMETYPE = "multipart/form-data"
#: the routes that take a file, each with the check that decides, from the URL and the login alone,
#: whether this caller may upload there: it raises (403/404) before a byte of the file is read
UPLOAD_GUARDS: dict[str, Callable[[Any, dict[str, Any]], None]] = {}


def guard_upload(endpoint: str, check: Callable[[Any, dict[str, Any]], None]) -> None:
    """Accept files (up to ``ECABINET_MAX_UPLOAD_MB``) at ``endpoint``, for callers ``check(user, view_args)``
    lets through. A multipart body anywhere else has the small limit of any other body."""
    UPLOAD_GUARDS[endpoint] = check


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.path.startswith("/socket.io") or (
        request.accept_mimetypes.best_match(["application/json", "text/html"]) == "application/json"
    )


def reset_request_state() -> None:
    """Per-request state must not leak when an app context outlives a request (CLI, tests, sockets).

    A request that pushed its own app context starts with nothing to reset, and skips the work.
    """
    state = g._get_current_object().__dict__
    if not state:
        return
    refresh()
    for key in _REQUEST_STATE:
        state.pop(key, None)
    state.pop(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), None)


def screen_request() -> Response | None:
    """Decide what a request may cost before anything reads its body (OWASP ASVS 13.1.3, 12.1.1).

    A write to anything but the login routes is refused (401) unless the caller is logged in: an
    anonymous body is never read, parsed or buffered (and the server reads at most so much of what is
    left before it hangs up, ecabinet.server). Only a file sent to a route that takes one
    (``guard_upload``), by a caller its guard authorises from the URL, may be as large as
    ``ECABINET_MAX_UPLOAD_MB``; any other body is limited to ``ECABINET_MAX_JSON_KB``: 413 from its
    Content-Length before reading, or once a body sent without one passes the limit. A JSON body is
    then parsed and checked once (ecabinet.inputs), so no view parses one nested too deep or holding a
    NUL or a lone surrogate; so are the query string and a plain form.
    """
    guard = UPLOAD_GUARDS.get(request.endpoint or "") if request.mimetype == UPLOAD_MIMETYPE else None
    upload = guard is not None
    limit = current_app.config["MAX_CONTENT_LENGTH"] if upload else current_app.config["MAX_JSON_BYTES"]
    # a body sent without a length (chunked) may be read one byte past the limit: that byte tells it is over
    request.max_content_length = limit if request.content_length is not None else limit + 1
    if request.method in WRITE_METHODS and request.endpoint not in PUBLIC_ENDPOINTS \
            and request.endpoint is not None and not request.endpoint.endswith(".static"):
        from flask_login import current_user

        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if guard is not None:
            guard(current_user, request.view_args or {})  # authorised before the file is read
    if (request.content_length or 0) > limit:
        raise TooLarge("too_large" if upload else "request_too_large")
    if b"%00" in request.query_string:
        raise inputs.InvalidText()
    if request.method in WRITE_METHODS:
        if request.is_json:
            body = request.get_data(cache=True)
            if len(body) > limit:
                raise TooLarge("request_too_large")
            if body:
                inputs.load_json(body)
        elif request.mimetype == "application/x-www-form-urlencoded" and inputs.has_bad_text(
                [*request.form.keys(), *request.form.values()]):
            raise inputs.InvalidText()
    return None


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
    headers for each (every response pays for this hook).
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


@dataclass
class _Window:
    started: float
    count: int = 0
    by_code: dict[str, int] = field(default_factory=dict)
    first: dict[str, Any] | None = None


class AnonymousRefusals:
    """Refusals of callers who are not logged in, counted instead of each written to the audit chain.

    Anyone can send them by the thousand, and an audit record each would let a stranger grow the chain
    (and the database) at will. So each process counts them per window of ``window`` seconds, logs
    the window's first one with its request (the sample), and when the window is over writes one
    audit record with the count per code, the sample and the window's bounds. Refusals of a logged-in
    user (403) stay one record each: they are the security events worth following one by one.
    """

    def __init__(self, window: float = 60.0) -> None:
        self.window = window
        self.total = 0  # since the process started
        self._lock = threading.Lock()
        self._current = _Window(time.time())

    def note(self, status: int, code: str) -> None:
        sample = {"status": status, "code": code, "method": request.method, "path": request.path[:200]}
        with self._lock:
            self.total += 1
            current = self._current
            current.count += 1
            current.by_code[code] = current.by_code.get(code, 0) + 1
            first = current.first is None
            if first:
                current.first = sample
        if first:
            log.info("anonymous refusal (first in this %ss window, later ones are counted): %s %s %s from %s",
                     int(self.window), status, request.method, request.path[:200], request.remote_addr)
        self.flush()

    def flush(self, *, force: bool = False) -> bool:
        """Write the window's record once it is over (now, with ``force``); True when one was written."""
        now = time.time()
        with self._lock:
            ended = self._current
            if ended.count == 0 or (not force and now - ended.started < self.window):
                return False
            self._current = _Window(now)
        try:
            db.session.rollback()
            with write_transaction():
                audit.record(None, "access.refused_anonymous", None,
                             {"count": ended.count, "by_code": ended.by_code, "sample": ended.first,
                              "from": _iso(ended.started), "until": _iso(now)}, actor_label="anonymous")
        except Exception:  # the count must not hide the refusal that closed the window
            log.exception("could not audit %s anonymous refusals", ended.count)
            return False
        return True


def _iso(moment: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(moment, UTC).isoformat()


ANONYMOUS_REFUSALS = "ecabinet.anonymous_refusals"  # app.extensions key


def anonymous_refusals(app: Any = None) -> AnonymousRefusals:
    app = app or current_app
    counter = app.extensions.get(ANONYMOUS_REFUSALS)
    if counter is None:
        counter = app.extensions[ANONYMOUS_REFUSALS] = AnonymousRefusals(app.config["REFUSAL_AUDIT_SECONDS"])
    return counter


def start_refusal_flusher(app: Any) -> None:
    """In the server: the last window of a burst is written even if no refusal follows it."""
    counter = anonymous_refusals(app)

    def loop() -> None:
        while True:
            socketio.sleep(max(counter.window, 1.0))
            with app.app_context():
                try:
                    counter.flush()
                finally:
                    db.session.remove()

    socketio.start_background_task(loop)


def _record_refusal(status: int, code: str) -> None:
    """Refused accesses are part of the record (ASVS 7.1): a logged-in user's each, an anonymous
    caller's counted (AnonymousRefusals); never let this hide the refusal."""
    if status not in (401, 403) or code == "invalid_credentials":
        return
    from flask_login import current_user

    try:
        if not current_user.is_authenticated:
            anonymous_refusals().note(status, code)
            return
        db.session.rollback()
        with write_transaction():
            audit.record(current_user, "access.refused", None,
                         {"status": status, "code": code, "method": request.method, "path": request.path[:200]})
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


def register_socket_error_handler() -> None:
    """An unexpected failure in a socket handler still answers the event, as an HTTP request gets its
    500: the ack ``{"ok": false, "error": {...}}`` with a reference in the log (a client waiting for its
    ack would otherwise wait forever). A failed ``connect`` is refused, never accepted."""
    from flask_socketio import ConnectionRefusedError

    @socketio.on_error_default
    def socket_error(error: Exception) -> dict[str, Any]:
        db.session.rollback()
        event = request.event.get("message")  # type: ignore[attr-defined]  # set by Flask-SocketIO, unknown to Flask
        refusal = error if isinstance(error, AppError) else AppError("internal_error", status=500)
        body = refusal.body()
        if not isinstance(error, AppError):
            body["error"]["reference"] = uuid.uuid4().hex[:12]
            log.error("unhandled error %s in socket event %s", body["error"]["reference"], event, exc_info=error)
        if event == "connect":
            raise ConnectionRefusedError(refusal.code, body)
        return {"ok": False, **body}


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
        return render_error(AppError(_code_for(status), status=status))

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
            # {location: {field: reasons}} -> {field: reasons}
            fields = next((error.detail[location] for location in ("json", "form", "form_and_files", "files", "query")
                           if error.detail.get(location)), error.detail)
            return render_error(AppError("validation_error", status=422, fields=fields))
        return render_error(AppError(_code_for(status), status=status))


def _code_for(status: int) -> str:
    """The error code of a status werkzeug or APIFlask raised (a body too large, JSON that does not parse)."""
    if status == 413 and request.mimetype != UPLOAD_MIMETYPE:
        return "request_too_large"
    if status == 400 and request.is_json and _json_unreadable():
        return "invalid_json"
    return STATUS_CODES.get(status, "bad_request")


def _json_unreadable() -> bool:
    try:
        data = request.get_data(cache=True)
        if data:
            inputs.load_json(data)
    except AppError:
        return True
    except Exception:  # a body too large or cut short cannot be JSON either
        return True
    return False
