"""Flask-Login's LoginManager reduced to its request loader, and a way to name the request's user.

Flask-Login has no public switch for the work it does on every request that we never need, and no
public way to set the request's user: ``_load_user`` (overridden), ``_load_user_from_request``,
``_update_request_context_with_user`` and the ``_update_remember_cookie`` hook are its internals.
"""

from __future__ import annotations

from typing import Any

import flask_login
from flask import Flask, current_app, request

PINNED = "0.6.3"


class LoginManager(flask_login.LoginManager):
    """Flask-Login with only its request loader (ecabinet.auth.loader): a bearer token or the cookie
    session's ``sid`` names the login, and no user id is ever kept in the cookie session. So its
    session protection (a SHA-512 of the address and user agent on every request), the user id and
    remember-me cookie lookups, and the remember-me hook after every request have nothing to act on,
    and would cost about a twentieth of a JSON answer."""

    def init_app(self, app: Flask, add_context_processor: bool = True) -> None:
        super().init_app(app, add_context_processor)
        app.after_request_funcs[None].remove(self._update_remember_cookie)

    def _load_user(self) -> None:
        flask_login.user_accessed.send(current_app._get_current_object())  # type: ignore[attr-defined]  # a LocalProxy, typed as its object
        self._update_request_context_with_user(self._load_user_from_request(request))

    def set_request_user(self, user: Any) -> None:
        """Make ``user`` the request's ``current_user`` (a refusal is then recorded under that name)."""
        self._update_request_context_with_user(user)
