"""Accounts and logins: the only code that writes users and authentication sessions."""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.exc import OperationalError

from ecabinet import audit
from ecabinet.auth.models import AuthSession, Confidentiality, Role, SessionKind, User
from ecabinet.auth.passwords import MAX_LENGTH, MIN_LENGTH, check_password, hash_password
from ecabinet.database import after_commit, db, utcnow, write_transaction
from ecabinet.errors import Conflict, Invalid, NotAuthenticated

BROWSER_IDLE_TIMEOUT = timedelta(minutes=30)
BROWSER_ABSOLUTE_TIMEOUT = timedelta(hours=12)
# last_seen_at is refreshed at most this often, so a busy tablet does not write on every request
_TOUCH_INTERVAL = timedelta(minutes=1)
logger = logging.getLogger(__name__)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedLogin:
    token: str
    session: AuthSession


def create_user(*, username: str, full_name: str, password: str, roles: list[Role], title: str = "",
                organisation: str = "", clearance: Confidentiality = Confidentiality.NORMAL,
                actor: User | None) -> User:
    """Create an account (admin or CLI)."""
    username = username.strip().lower()
    if not username or not full_name.strip():
        raise Invalid(fields={"username": "required", "full_name": "required"})
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise Invalid("password_too_short", fields={"password": f"{MIN_LENGTH}-{MAX_LENGTH} characters"})
    with write_transaction():
        if db.session.scalar(select(User.id).where(User.username == username)) is not None:
            raise Conflict("username_taken")
        user = User(username=username, full_name=full_name.strip(), title=title, organisation=organisation,
                    password_hash=hash_password(password), roles=[str(role) for role in roles],
                    clearance=clearance)
        db.session.add(user)
        db.session.flush()
        audit.record(actor, "user.created", user, {"username": username, "roles": user.roles,
                                                   "clearance": str(clearance)},
                     actor_label=None if actor else "cli")
    return user


def login(*, username: str, password: str, kind: SessionKind, ip: str = "") -> IssuedLogin:
    """Check credentials and open a session; failures are audited without saying which part was wrong."""
    username = username.strip().lower()
    user = db.session.scalar(select(User).where(User.username == username))
    valid = check_password(user.password_hash if user else None, password)
    if not valid or user is None or not user.is_active:
        with write_transaction():
            audit.record(None, "auth.login_failed", None, {"username": username[:80]}, actor_label=username[:80])
        raise NotAuthenticated("invalid_credentials")
    now = utcnow()
    ttl = (BROWSER_ABSOLUTE_TIMEOUT if kind == SessionKind.BROWSER
           else timedelta(hours=current_app.config["TOKEN_TTL_HOURS"]))
    token = secrets.token_urlsafe(32)
    with write_transaction():
        session = AuthSession(user_id=user.id, kind=kind, token_hash=token_hash(token), created_at=now,
                              expires_at=now + ttl, last_seen_at=now, ip=ip[:64])
        db.session.add(session)
        db.session.flush()
        audit.record(user, "auth.login", session, {"kind": str(kind)})
    return IssuedLogin(token=token, session=session)


def find_session(token: str, kind: SessionKind) -> AuthSession | None:
    """The live session for a token, or None when unknown, expired, revoked or idle too long."""
    session = db.session.scalar(
        select(AuthSession).where(AuthSession.token_hash == token_hash(token), AuthSession.kind == kind)
    )
    now = utcnow()
    if session is None or not session.is_valid(now):
        return None
    if kind == SessionKind.BROWSER and now - session.last_seen_at > BROWSER_IDLE_TIMEOUT:
        return None
    if now - session.last_seen_at > _TOUCH_INTERVAL:
        _touch(session, now)
    return session


def _touch(session: AuthSession, now: datetime) -> None:
    """Note that a login is in use: bookkeeping, not a change of the domain, so no audit record.

    It takes the write path like every write (SQLite waits for the write lock instead of answering
    "database is locked" at once); a database still busy after the wait skips this touch, which the
    next request makes again: a read never fails because of it."""
    try:
        with write_transaction():
            db.session.execute(update(AuthSession).where(AuthSession.id == session.id, AuthSession.last_seen_at < now)
                               .values(last_seen_at=now).execution_options(synchronize_session=False))
    except OperationalError as error:
        logger.warning("last_seen_at of login %s not updated: %s", session.id, type(error).__name__)


def logout(session: AuthSession, *, actor: User) -> None:
    """End a session; its token or cookie stops working and its sockets are disconnected."""
    from ecabinet import realtime

    with write_transaction():
        session.revoked_at = utcnow()
        audit.record(actor, "auth.logout", session, {"kind": str(session.kind)})
        session_id = session.id
        after_commit(lambda: realtime.disconnect_auth_session(session_id))


def sessions_ended_since(since: datetime) -> set[int]:
    """Logins revoked at or after ``since``, and the unexpired logins of deactivated users.

    The socket sweeper asks every second; what it gets grows with logouts and deactivations, not
    with the number of connected tablets (expiry it checks itself, since ``expires_at`` is fixed).
    """
    return set(db.session.scalars(_SESSIONS_ENDED_SINCE, {"since": since}))


# built once: the sweeper asks every second, and building it cost as much as running it
_SESSIONS_ENDED_SINCE = (
    select(AuthSession.id).join(User, User.id == AuthSession.user_id)
    .where(AuthSession.expires_at > bindparam("since"),
           or_(AuthSession.revoked_at >= bindparam("since"), User.active.is_(False))))
