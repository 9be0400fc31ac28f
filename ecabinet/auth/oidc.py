"""Single sign-on with OpenID Connect (Authlib): the authorization code flow with PKCE (S256).

The provider proves who the person is; this module then names the e-Cabinet account by one claim
(``ECABINET_OIDC_USERNAME_CLAIM``, default ``preferred_username``) and the login goes on as after a right
password: the account's own second factor is asked when it has one, a reset password must be changed,
a role that needs a second factor must set one up. An identity that names no account is refused, unless
``ECABINET_OIDC_CREATE_ACCOUNTS`` allows making one: then a guest, at the normal clearance, with no
password; anything more is an administrator's change (under four eyes where configured).

The ID token counts only when its signature verifies with a key of the provider's JWKS and its issuer
(the configured one, which the discovery document must name too), audience (our client id), nonce (the
one this browser's login sent) and times are right.
"""

from __future__ import annotations

import secrets
from typing import Any

# Authlib ships no type information; typeshed's types-Authlib follows the 1.8 series, not the pinned 1.9.6
from authlib.integrations.base_client import OAuthError  # type: ignore[import-untyped]
from authlib.integrations.flask_client import OAuth  # type: ignore[import-untyped]
from flask import Flask, current_app, session
from joserfc.errors import JoseError
from requests import RequestException
from sqlalchemy import select

from ecabinet import audit
from ecabinet.auth.models import Confidentiality, Role, User
from ecabinet.auth.passwords import hash_password
from ecabinet.database import db, write_transaction
from ecabinet.errors import NotAuthenticated

_EXTENSION = "ecabinet_oidc"
_CLIENT = "sso"
#: what the login asks the provider for; the username claim usually comes with "profile"
SCOPE = "openid profile email"
CALLBACK_PATH = "/login/oidc/callback"
#: seconds to wait for the provider (discovery, keys, token, userinfo)
TIMEOUT = 10


class SsoRefused(NotAuthenticated):
    """The provider's answer does not log anyone in (its ``code`` says why, for the audit and the page)."""


def init_app(app: Flask) -> None:
    """Register the provider when ``ECABINET_OIDC_ISSUER`` is set (a client per app: tests make many)."""
    issuer = app.config.get("OIDC_ISSUER")
    if not issuer:
        return
    oauth = OAuth(app)
    oauth.register(
        _CLIENT, client_id=app.config["OIDC_CLIENT_ID"], client_secret=app.config["OIDC_CLIENT_SECRET"],
        server_metadata_url=issuer.rstrip("/") + "/.well-known/openid-configuration",
        client_kwargs={"scope": SCOPE, "code_challenge_method": "S256", "default_timeout": TIMEOUT})
    app.extensions[_EXTENSION] = oauth


def enabled() -> bool:
    return _EXTENSION in current_app.extensions


def provider_name() -> str:
    return str(current_app.config.get("OIDC_PROVIDER_NAME") or "")


def redirect_uri() -> str:
    """The callback registered at the provider: the public address, never the request's Host header."""
    return current_app.config["PUBLIC_URL"].rstrip("/") + CALLBACK_PATH


def _client() -> Any:
    return current_app.extensions[_EXTENSION].create_client(_CLIENT)


def start() -> Any:
    """The redirect to the provider; the state, nonce and PKCE verifier wait in this browser's session."""
    try:
        _metadata()
        return _client().authorize_redirect(redirect_uri(), nonce=secrets.token_urlsafe(32))
    except (OAuthError, RequestException, ValueError) as error:
        raise SsoRefused("sso_unavailable") from error


def finish(args: dict[str, str]) -> User:
    """The account the provider's answer (the callback's query) names; raises ``SsoRefused``."""
    if args.get("error"):
        raise SsoRefused("sso_cancelled")
    state = args.get("state", "")
    client = _client()
    pending = client.framework.get_state_data(session, state) if state else None
    if not pending or not args.get("code"):
        raise SsoRefused("sso_failed")
    client.framework.clear_state_data(session, state)
    try:
        metadata = _metadata()
        if "iss" in args and args["iss"] != metadata["issuer"]:  # RFC 9207: the answer names its sender
            raise SsoRefused("sso_failed")
        token = client.fetch_access_token(code=args["code"], redirect_uri=pending["redirect_uri"],
                                          code_verifier=pending["code_verifier"])
        claims = verified_id_token(token, nonce=pending["nonce"])
        username = _username(client, token, claims)
    except (OAuthError, JoseError, RequestException, KeyError, ValueError) as error:
        raise SsoRefused("sso_failed") from error
    return _account(username, claims)


def verified_id_token(token: dict[str, Any], *, nonce: str) -> dict[str, Any]:
    """The ID token's claims once its signature (the provider's JWKS), issuer, audience, nonce and times
    are checked; raises otherwise (a joserfc error)."""
    if "id_token" not in token:
        raise SsoRefused("sso_failed")
    config = current_app.config
    # the audience must name us (Authlib alone accepts another audience when "azp" names us)
    claims = _client().parse_id_token(token, nonce=nonce, leeway=60, claims_options={
        "iss": {"essential": True, "values": [config["OIDC_ISSUER"]]}, "sub": {"essential": True},
        "aud": {"essential": True, "values": [config["OIDC_CLIENT_ID"]]}, "exp": {"essential": True},
        "nonce": {"essential": True}})
    return dict(claims)


def _metadata() -> dict[str, Any]:
    """The discovery document, which must name the configured issuer (OpenID Connect Discovery 4.3)."""
    metadata: dict[str, Any] = _client().load_server_metadata()
    if metadata.get("issuer") != current_app.config["OIDC_ISSUER"]:
        raise ValueError("the provider's discovery document names another issuer")
    return metadata


def _username(client: Any, token: dict[str, Any], claims: dict[str, Any]) -> str:
    """The configured claim's value; the ID token's claims get the userinfo answer's added when the claim
    (or, when accounts may be made, the name) is not in the ID token."""
    claim = current_app.config["OIDC_USERNAME_CLAIM"]
    wanted = [claim, "name"] if current_app.config["OIDC_CREATE_ACCOUNTS"] else [claim]
    if any(name not in claims for name in wanted):
        userinfo = client.userinfo(token=token)
        if userinfo.get("sub") != claims["sub"]:  # OpenID Connect Core 5.3.2
            raise SsoRefused("sso_failed")
        claims.update({name: value for name, value in userinfo.items() if name not in claims})
    value = claims.get(claim)
    if not isinstance(value, str) or not value.strip():
        raise SsoRefused("sso_no_username")
    return value.strip().lower()


def _account(username: str, claims: dict[str, Any]) -> User:
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None and current_app.config["OIDC_CREATE_ACCOUNTS"]:
        user = _created(username, claims)
    if user is None or not user.is_active:
        with write_transaction():
            audit.record(None, "auth.login_failed", user, {"username": username[:80], "reason": "sso_unknown"},
                         actor_label=username[:80])
        raise SsoRefused("sso_unknown_account")
    return user


def _created(username: str, claims: dict[str, Any]) -> User:
    """A guest account for a person the provider vouches for; no password works for it (a random one,
    never shown), so it logs in through the provider only until an administrator resets one."""
    email = claims.get("email") if claims.get("email_verified") else ""
    with write_transaction():
        user = User(username=username[:80], full_name=str(claims.get("name") or username)[:200],
                    password_hash=hash_password(secrets.token_urlsafe(32)), roles=[str(Role.GUEST)],
                    clearance=Confidentiality.NORMAL, email=str(email or "")[:254])
        db.session.add(user)
        db.session.flush()
        audit.record(None, "user.created", user, {"username": user.username, "roles": user.roles,
                                                  "clearance": str(user.clearance), "email": user.email,
                                                  "via": "sso"}, actor_label="sso")
    return user
