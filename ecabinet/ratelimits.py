"""Login rate limits: the same limits whether or not the username exists, so 429 reveals nothing."""

from __future__ import annotations

from flask import current_app, request


def login_limits() -> str:
    return current_app.config["RATELIMIT_LOGIN"]


def username_key() -> str:
    payload = request.get_json(silent=True) if request.is_json else request.form
    username = (payload or {}).get("username", "") if hasattr(payload, "get") else ""
    return f"login-user:{str(username).strip().lower()[:80]}"
