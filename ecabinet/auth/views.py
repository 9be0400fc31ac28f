"""/api/v1/auth/* and /api/v1/me."""

from __future__ import annotations

from apiflask import APIBlueprint
from flask import Response, jsonify, request
from flask_login import current_user, login_required

from ecabinet.auth.loader import current_auth_session
from ecabinet.auth.models import SessionKind
from ecabinet.auth.schemas import TokenOut, TokenRequest, UserOut
from ecabinet.auth.service import login, logout
from ecabinet.extensions import limiter
from ecabinet.ratelimits import login_limits, username_key

api = APIBlueprint("auth_api", __name__, url_prefix="/api/v1", tag="Authentication")


@api.post("/auth/token")
@limiter.limit(login_limits)
@limiter.limit(login_limits, key_func=username_key)
@api.input(TokenRequest, arg_name="credentials")
@api.output(TokenOut)
@api.doc(security=[])
def issue_token(credentials: dict[str, str]) -> dict[str, object]:
    """Exchange a username and password for a bearer token."""
    issued = login(username=credentials["username"], password=credentials["password"],
                   kind=SessionKind.API, ip=request.remote_addr or "")
    return {"token": issued.token, "expires_at": issued.session.expires_at.isoformat(),
            "user": issued.session.user.as_dict()}


@api.post("/auth/logout")
@api.output({}, status_code=204)
@login_required
def revoke_token() -> tuple[str, int]:
    """Revoke the bearer token (or end the browser session) used for this request."""
    logout(current_auth_session(), actor=current_user)
    return "", 204


@api.get("/me")
@api.output(UserOut)  # documents the answer; as_dict() is that shape already, so it is sent without a second pass
@login_required
def me() -> Response:
    """The current user."""
    return jsonify(current_user.as_dict())
