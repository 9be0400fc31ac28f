"""Who is calling: a bearer token (API) or the browser session cookie (UI)."""

from __future__ import annotations

from flask import Request, g, session

from ecabinet.auth.models import AuthSession, SessionKind, User
from ecabinet.auth.service import find_session
from ecabinet.extensions import login_manager

BROWSER_SESSION_KEY = "sid"


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def current_auth_session() -> AuthSession | None:
    return g.get("auth_session")


@login_manager.request_loader
def load_user_from_request(request: Request) -> User | None:
    token = bearer_token(request)
    if token is not None:
        auth_session = find_session(token, SessionKind.API)
        g.auth_via = "bearer"
    elif BROWSER_SESSION_KEY in session:
        auth_session = find_session(session[BROWSER_SESSION_KEY], SessionKind.BROWSER)
        g.auth_via = "cookie"
        if auth_session is None:
            session.clear()
    else:
        return None
    g.auth_session = auth_session
    return auth_session.user if auth_session else None
