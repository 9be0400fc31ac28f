"""Flask extensions, created unbound; create_app() binds them."""

import flask_login
from flask import Flask, current_app, request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_socketio import SocketIO
from flask_wtf.csrf import CSRFProtect

from ecabinet.database import db


class LoginManager(flask_login.LoginManager):
    """Flask-Login with only its request loader (ecabinet.auth.loader): a bearer token or the cookie
    session's ``sid`` names the login, and no user id is ever kept in the cookie session. So its
    session protection (a SHA-512 of the address and user agent on every request), the user id and
    remember-me cookie lookups, and the remember-me hook after every request had nothing to act on,
    and cost about 10 µs of a 200 µs JSON answer (bench/json_api.py)."""

    def init_app(self, app: Flask, add_context_processor: bool = True) -> None:
        super().init_app(app, add_context_processor)
        app.after_request_funcs[None].remove(self._update_remember_cookie)

    def _load_user(self) -> None:
        flask_login.user_accessed.send(current_app._get_current_object())  # type: ignore[attr-defined]  # a LocalProxy, typed as its object
        self._update_request_context_with_user(self._load_user_from_request(request))


migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
socketio = SocketIO()

__all__ = ["babel", "csrf", "db", "limiter", "login_manager", "migrate", "socketio"]
