"""Login rate limits, OWASP style: one budget for the form and the API.

- Per address: every attempt counts (``RATELIMIT_LOGIN``).
- Per account: only failures count, and the same limits apply whether or not the username exists, so
  a 429 reveals nothing. A device the member logged in from before (a valid device cookie,
  ecabinet.auth.devices) has its own budget instead: a stranger guessing the member's password locks
  out strangers, not the member's tablet.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response, current_app, g, request

from ecabinet.auth.devices import device_nonce
from ecabinet.extensions import limiter


def login_limits() -> str:
    return current_app.config["RATELIMIT_LOGIN"]


def login_username() -> str:
    """The username a login request names (form, JSON body, or the second step's pending login)."""
    from flask import session

    if request.endpoint == "web.login_otp":
        return str(session.get("mfa_pending", {}).get("username", ""))[:80]
    payload = request.get_json(silent=True) if request.is_json else request.form
    username = (payload or {}).get("username", "") if hasattr(payload, "get") else ""
    return str(username).strip().lower()[:80]


def username_key() -> str:
    """The account's budget, or this device's own when it holds the account's device cookie."""
    username = login_username()
    nonce = device_nonce(request, username)
    return f"login-device:{nonce}" if nonce else f"login-user:{username}"


def note_failure() -> None:
    """Count this request against the account's budget (a wrong password or a wrong second-factor code;
    "a code is needed" after a right password is not a guess)."""
    g.login_failed = True


def _failed(response: Response) -> bool:
    return bool(g.get("login_failed"))


_per_address = limiter.shared_limit(login_limits, scope="login-address")
_per_account = limiter.shared_limit(login_limits, scope="login-account", key_func=username_key,
                                    deduct_when=_failed)


def login_limited(view: Callable[..., Any]) -> Callable[..., Any]:
    """Both login budgets, shared by every login route (the form, its second step, the API)."""
    return _per_address(_per_account(view))
