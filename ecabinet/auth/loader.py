"""Who is calling: a bearer token (API) or the browser session cookie (UI).

A tablet sends its token with every request, and looking the login up cost about as much as the
rest of a small JSON answer (bench/json_api.py). So a valid login is remembered in this process
for ``AUTH_CACHE_SECONDS`` (config): a change to that login or its user written through this process
(logout, deactivation, new roles, the last-seen touch) forgets it at once. With a message queue
(several processes) such a change is also published when it commits, and every process forgets it
when it reads the message, using no memory while one has arrived unread (ecabinet.auth.login_bus); a
process that is not sure to hear those messages remembers nothing. A change made without the app
(SQL by hand) is seen within that time.
Expiry is checked on every request.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import Flask, Request, current_app, g, has_app_context, session
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import instance_state, manager_of_class, set_committed_value
from sqlalchemy.orm.util import identity_key

from ecabinet import add_background_task
from ecabinet.auth.login_bus import EXTENSION, LoginBus
from ecabinet.auth.mfa import required_for
from ecabinet.auth.models import AuthSession, SessionKind, User
from ecabinet.auth.service import find_session, token_hash
from ecabinet.database import db, from_memory, listen, utcnow
from ecabinet.errors import Forbidden
from ecabinet.extensions import login_manager, socketio

BROWSER_SESSION_KEY = "sid"
_CACHE_MAX = 20_000


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def current_auth_session() -> AuthSession | None:
    login = g.get("auth_session")
    if isinstance(login, RememberedLogin):
        # made an object of the request's session only when asked for (a logout): most requests never
        # need it, and building it costs about a tenth of a small JSON answer
        user = _attach(login.user)
        session = db.session()
        found = _in_session(session, AuthSession, login.columns["id"])
        if found is None:
            found = _instance(AuthSession, login.columns)
            set_committed_value(found, "user", user)  # as the joined load would have: no query, no change
            found = _attach(found, session)
        login = g.auth_session = found
    return login


@login_manager.request_loader
def load_user_from_request(request: Request) -> User | None:
    token = bearer_token(request)
    if token is not None:
        auth_session = remembered_session(token, SessionKind.API)
        g.auth_via = "bearer"
    elif BROWSER_SESSION_KEY in session:
        auth_session = remembered_session(session[BROWSER_SESSION_KEY], SessionKind.BROWSER)
        g.auth_via = "cookie"
        if auth_session is None:
            session.clear()
    else:
        return None
    g.auth_session = auth_session
    if auth_session is None:
        return None
    user = auth_session.user
    if restriction(user) is not None:
        _refuse_until_done(user, request)
    return user


#: the API a member may use before changing a reset password or setting up a required second factor
_OPEN_WHILE_RESTRICTED = {"auth_api.me", "auth_api.revoke_token", "auth_api.change_password", "auth_api.start_totp",
                          "auth_api.confirm_totp", "auth_api.new_recovery_codes"}


def _needs_mfa(user: User) -> bool:
    return required_for(user)


def restriction(user: User) -> Forbidden | None:
    """What the member must do before using the system (the API's and the sockets' 403), or None:
    change a password an administrator reset, or set up the second factor their role requires."""
    if user.must_change_password:
        return Forbidden("password_change_required")
    if current_app.config["MFA_REQUIRED_ROLES"] and _needs_mfa(user):
        return Forbidden("mfa_enrolment_required")
    return None


def _refuse_until_done(user: User, request: Request) -> None:
    """The API answers 403 until the member has done what is asked (browser pages redirect: ecabinet.web)."""
    refusal = restriction(user)
    if refusal is None or not request.path.startswith("/api/") or request.endpoint in _OPEN_WHILE_RESTRICTED:
        return
    # the request knows its user (the refusal is recorded under that name), but the view does not run
    login_manager.set_request_user(user)
    raise refusal


# --- the per-process memory of valid logins --------------------------------------------------------

@dataclass(frozen=True)
class _Remembered:
    until: float  # time.monotonic(): AUTH_CACHE_SECONDS after the lookup, or the login's expiry if sooner
    user_id: int
    login: dict[str, Any]  # AuthSession columns
    user: dict[str, Any]  # User columns


@dataclass(frozen=True)
class RememberedLogin:
    """A remembered login as a request sees it: its user, and its AuthSession when asked for
    (``current_auth_session``)."""

    user: User
    columns: dict[str, Any]  # AuthSession columns


_remembered: dict[tuple[str, str], _Remembered] = {}
_lock = threading.Lock()
_generation = 0  # bumped by every forget, so a lookup racing a change is not stored


def remembered_session(token: str, kind: SessionKind) -> AuthSession | RememberedLogin | None:
    """``find_session``, answered from memory when this login was found valid moments ago.

    The user belongs to the request's database session like a loaded one, so services may change it;
    a remembered login does once ``current_auth_session`` hands it out (logout sets ``revoked_at`` on it).
    A remembered login is valid until its entry's time: it was valid when read, anything that would end
    it sooner than its expiry (revocation, deactivation) forgets it, and the entry ends by its expiry.
    """
    key = (str(kind), token_hash(token))
    hit = _remembered.get(key)
    if hit is not None and hit.until > time.monotonic() and _may_remember():
        user = _instance(User, hit.user)
        session = _request_session()
        if session is None:
            # no query yet in this request, and perhaps none at all (/me): the user joins the session
            # when it is made (_session_with_login), not a session made for it alone
            make_transient_to_detached(user)
            g.auth_unattached = user
        else:
            user = _attach(user, session)
        return RememberedLogin(user, hit.login)
    generation = _generation
    login = find_session(token, kind)
    # a change forgotten since the transaction that read the login began (SQLite reads from its start)
    generation = min(generation, db.session.info.get(_BEGUN, generation))
    keep_for = current_app.config["AUTH_CACHE_SECONDS"]
    if login is not None and keep_for > 0 and _may_remember():
        keep_for = min(keep_for, (login.expires_at - utcnow()).total_seconds())
        entry = _Remembered(time.monotonic() + keep_for, login.user_id, _columns(login),
                            _columns(login.user))
        with _lock:
            if generation == _generation:
                if len(_remembered) >= _CACHE_MAX:
                    _remembered.clear()
                _remembered[key] = entry
    return login


def _may_remember() -> bool:
    bus = current_app.extensions.get(EXTENSION)
    return bus is None or bus.live()


def init_app(app: Flask) -> None:
    """The session listeners (install_listeners); with a message queue, the app publishes what its commits
    make to forget, and the server listens for the other processes' (until it does, nothing is remembered)."""
    install_listeners()
    if not app.config["MESSAGE_QUEUE"]:
        return
    bus = app.extensions[EXTENSION] = LoginBus(app.config["MESSAGE_QUEUE"], app.config["MESSAGE_QUEUE_CHANNEL"])
    add_background_task(app, lambda app: socketio.start_background_task(bus.listen, forget_key))


def forget_key(key: tuple[str, Any] | None) -> None:
    """``forget`` for a key as noted at a change: (kind, token hash), ("user", id), or None for everything."""
    if key is None:
        forget()
    elif key[0] == "user":
        forget(user_id=key[1])
    else:
        forget(key)


def forget(key: tuple[str, str] | None = None, *, user_id: int | None = None) -> None:
    """Forget one login, every login of a user, or (no argument) everything."""
    global _generation
    with _lock:
        _generation += 1
        if key is not None:
            _remembered.pop(key, None)
        elif user_id is not None:
            for stale in [k for k, v in _remembered.items() if v.user_id == user_id]:
                del _remembered[stale]
        else:
            _remembered.clear()


def _columns(obj: Any) -> dict[str, Any]:
    return {attr.key: (list(value) if isinstance(value := getattr(obj, attr.key), list) else value)
            for attr in sa.inspect(type(obj)).column_attrs}


def _instance(cls: type[Any], values: dict[str, Any]) -> Any:
    """An instance built from remembered columns, in no session yet."""
    obj = manager_of_class(cls).new_instance()  # no constructor, no change events: as a query loads it
    instance_state(obj).dict.update({k: list(v) if isinstance(v, list) else v for k, v in values.items()})
    return obj


def _in_session(session: Session, cls: type[Any], id_: int) -> Any:
    return session.identity_map.get(identity_key(cls, id_))


def _attach(obj: Any, session: Session | None = None) -> Any:
    """``obj`` as a persistent instance of the request's session, without a query (the one already there
    when the session holds that row)."""
    session = session or db.session()
    existing = _in_session(session, type(obj), obj.id)
    if existing is not None:
        return existing
    if sa.inspect(obj).transient:
        make_transient_to_detached(obj)
    session.add(obj)
    from_memory(session, obj)
    return obj


def _request_session() -> Session | None:
    """The request's database session if something made it already (looking it up makes one)."""
    registry = db.session.registry
    return registry() if registry.has() else None


def _session_with_login(make: Callable[[], FlaskSession] = db.session.registry.createfunc) -> FlaskSession:
    """Flask-SQLAlchemy's request session, holding the remembered user from its start (as if loaded by
    the login's query): every object of the request that refers to that user row is that user."""
    session = make()
    user = g.pop("auth_unattached", None)
    if user is not None:
        _attach(user, session)
    return session



_PENDING = "ecabinet_auth_forget"
_BEGUN = "ecabinet_auth_generation"  # _generation when the session's transaction began


def _note_changes(db_session: Session, flush_context: Any, instances: Any) -> None:
    # forgotten now (this request must not reuse it) and again after commit (a request that read
    # the old row meanwhile must not keep it)
    for obj in (*db_session.dirty, *db_session.deleted):
        if isinstance(obj, AuthSession):
            key = (str(obj.kind), obj.token_hash)
            db_session.info.setdefault(_PENDING, set()).add(key)
            forget(key)
        elif isinstance(obj, User):
            db_session.info.setdefault(_PENDING, set()).add(("user", obj.id))
            forget(user_id=obj.id)


def _forget_committed(db_session: Session) -> None:
    keys = db_session.info.pop(_PENDING, set())
    for key in keys:
        forget_key(key)
    bus = current_app.extensions.get(EXTENSION) if keys and has_app_context() else None
    if bus is not None:
        bus.publish(keys)  # before the request that made the change answers


def _drop_pending(db_session: Session) -> None:
    db_session.info.pop(_PENDING, None)


def _note_begin(db_session: Session, transaction: Any, connection: Any) -> None:
    db_session.info[_BEGUN] = _generation


def _forget_on_bulk_change(state: Any) -> None:
    if (state.is_update or state.is_delete) and any(m.class_ in (AuthSession, User) for m in state.all_mappers):
        forget()
        state.session.info.setdefault(_PENDING, set()).add(None)


def install_listeners() -> None:
    """Make each request's session hold the remembered user from its start, and forget a remembered login
    or user when a commit changes it, on every session (from init_app)."""
    db.session.registry.createfunc = _session_with_login
    listen(Session, "before_flush", _note_changes)
    listen(Session, "after_commit", _forget_committed)
    listen(Session, "after_rollback", _drop_pending)
    listen(Session, "after_begin", _note_begin)
    listen(Session, "do_orm_execute", _forget_on_bulk_change)
