"""Device cookies (OWASP "Slow down online guessing attacks with device cookies").

A successful login leaves a signed cookie naming the account on that browser or tablet. A later login
attempt for the same account that presents it is counted against that device's own budget instead of
the account's: a stranger's wrong passwords exhaust the account's budget, never the budget of a device
the member has used before. The cookie holds no secret: it is a random nonce and the username, signed
with the app's key, so it cannot be forged for another account.
"""

from __future__ import annotations

import secrets

from flask import Request, current_app, request
from flask_babel import gettext
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.wrappers import Response

from ecabinet.auth.models import User

COOKIE = "ecabinet_device"
MAX_AGE = 180 * 24 * 3600
_SALT = "ecabinet.device-cookie"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def remember_device(response: Response, user: User) -> None:
    """Set (or renew) the device cookie after a successful login of ``user``."""
    known = device_nonce(request, user.username)
    value = _serializer().dumps({"u": user.username, "n": known or secrets.token_urlsafe(16)})
    response.set_cookie(COOKIE, value, max_age=MAX_AGE, httponly=True, samesite="Lax",
                        secure=current_app.config["PRODUCTION"], path="/")


def device_nonce(req: Request, username: str) -> str | None:
    """The nonce of a valid device cookie issued to ``username`` on this device, or None."""
    raw = req.cookies.get(COOKIE)
    if not raw or not username:
        return None
    try:
        data = _serializer().loads(raw, max_age=MAX_AGE)
    except BadSignature:
        return None
    if not isinstance(data, dict) or data.get("u") != username or not isinstance(data.get("n"), str):
        return None
    return data["n"]


#: (what the User-Agent contains, the name people know it by), first match wins: the order matters
#: (Edge and Opera say "Chrome" too, Chrome says "Safari", an iPad on iPadOS 13+ says "Macintosh")
_BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("CriOS", "Chrome"), ("FxiOS", "Firefox"), ("Firefox/", "Firefox"),
             ("Chrome/", "Chrome"), ("Chromium/", "Chromium"), ("Safari/", "Safari"))
_SYSTEMS = (("iPad", "iPad"), ("iPhone", "iPhone"), ("Android", "Android"), ("Windows", "Windows"),
            ("Macintosh", "Mac"), ("CrOS", "ChromeOS"), ("Linux", "Linux"))


def device_name(user_agent: str) -> str:
    """What a person recognises of a browser's User-Agent ("Safari trên iPad"), or "" when nothing is
    recognised (an API client); the secretariat picks the tablet to wipe by it."""
    browser = next((name for mark, name in _BROWSERS if mark in user_agent), "")
    system = next((name for mark, name in _SYSTEMS if mark in user_agent), "")
    if browser and system:
        return gettext("%(browser)s on %(system)s", browser=browser, system=system)
    return browser or system
