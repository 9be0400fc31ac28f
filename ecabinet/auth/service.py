"""Accounts and logins: the only code that writes users and authentication sessions."""

from __future__ import annotations

import functools
import hashlib
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from flask import current_app
from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.exc import OperationalError

from ecabinet import audit, realtime
from ecabinet.auth import errors as _errors  # noqa: F401  (the codes' messages)
from ecabinet.auth import mfa
from ecabinet.auth.models import AuthSession, Confidentiality, Role, SessionKind, User
from ecabinet.auth.passwords import check_password, hash_password, validate_new_password
from ecabinet.database import after_commit, db, utcnow, write_transaction
from ecabinet.errors import Conflict, Forbidden, Invalid, NotAuthenticated
from ecabinet.ratelimits import note_failure

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
                organisation: str = "", clearance: Confidentiality = Confidentiality.NORMAL, email: str = "",
                actor: User | None) -> User:
    """Create an account (admin or CLI)."""
    username = username.strip().lower()
    if not username or not full_name.strip():
        raise Invalid(fields={"username": "required", "full_name": "required"})
    if not roles:
        raise Invalid(fields={"roles": "required"})
    validate_new_password(password, username=username)
    email = _checked_email(email)
    with write_transaction():
        if db.session.scalar(select(User.id).where(User.username == username)) is not None:
            raise Conflict("username_taken")
        user = User(username=username, full_name=full_name.strip(), title=title, organisation=organisation,
                    password_hash=hash_password(password), roles=[str(role) for role in roles],
                    clearance=clearance, email=email)
        db.session.add(user)
        db.session.flush()
        audit.record(actor, "user.created", user, {"username": username, "roles": user.roles,
                                                   "clearance": str(clearance), "email": email},
                     actor_label=None if actor else "cli")
    return user


def update_user(user: User, *, actor: User | None, roles: list[Role] | None = None,
                clearance: Confidentiality | None = None, email: str | None = None,
                active: bool | None = None) -> dict[str, list[object]]:
    """Change an account; given roles replace the old ones. A deactivated account's logins end at once.

    Returns the changes made ({field: [old, new]}); nothing changed writes nothing.
    """
    wanted: dict[str, object] = {}
    if roles is not None:
        wanted["roles"] = sorted({str(Role(role)) for role in roles}, key=_ROLE_ORDER.index)
    if clearance is not None:
        wanted["clearance"] = str(Confidentiality(clearance))
    if email is not None:
        wanted["email"] = _checked_email(email)
    if active is not None:
        wanted["active"] = active
    with write_transaction():
        db.session.refresh(user, with_for_update=True)
        changes = {field: [_plain(getattr(user, field)), value] for field, value in wanted.items()
                   if _plain(getattr(user, field)) != value}
        if not changes:
            return {}
        if actor is not None and actor.id == user.id and (
                changes.get("active") == [True, False]
                or ("roles" in changes and str(Role.ADMIN) not in cast(list[str], wanted["roles"]))):
            raise Conflict("cannot_lock_out_self")
        was_admin = user.active and user.is_admin
        for field, (_, value) in changes.items():
            setattr(user, field, value)
        if was_admin and not (user.active and user.is_admin) and not _another_active_admin(user):
            raise Conflict("last_admin")
        audit.record(actor, "user.updated", user, {"username": user.username, "changes": changes},
                     actor_label=None if actor else "cli")
        if changes.get("active") == [True, False]:
            _end_logins(user)
            audit.record(actor, "user.deactivated", user, {"username": user.username},
                         actor_label=None if actor else "cli")
        elif changes.get("active") == [False, True]:
            audit.record(actor, "user.reactivated", user, {"username": user.username},
                         actor_label=None if actor else "cli")
    return changes


def reset_password(user: User, password: str, *, actor: User | None) -> None:
    """An administrator sets a temporary password: the member's logins end and they choose a new one
    at the next login."""
    validate_new_password(password, username=user.username)
    password_hash = hash_password(password)
    with write_transaction():
        user.password_hash = password_hash
        user.must_change_password = True
        _end_logins(user)
        audit.record(actor, "user.password_reset", user, {"username": user.username},
                     actor_label=None if actor else "cli")


def change_password(user: User, *, current: str, new: str, keep: AuthSession | None = None) -> None:
    """The member replaces their own password; their other logins end."""
    if not check_password(user.password_hash, current):
        raise Forbidden("password_wrong")
    if new == current:
        raise Invalid("password_unchanged", fields={"new_password": "password_unchanged"})
    validate_new_password(new, username=user.username)
    password_hash = hash_password(new)
    with write_transaction():
        user.password_hash = password_hash
        user.must_change_password = False
        _end_logins(user, keep=keep)
        audit.record(user, "user.password_changed", user, {"username": user.username})


def _end_logins(user: User, *, keep: AuthSession | None = None) -> None:
    """Revoke the user's live logins; their sockets in this process drop after the commit (the
    sweeper drops them in the other processes)."""
    now = utcnow()
    ended = []
    for session in db.session.scalars(select(AuthSession).where(
            AuthSession.user_id == user.id, AuthSession.revoked_at.is_(None), AuthSession.expires_at > now)):
        if keep is not None and session.id == keep.id:
            continue
        session.revoked_at = now
        ended.append(session.id)
    for session_id in ended:
        after_commit(functools.partial(realtime.disconnect_auth_session, session_id))


def _another_active_admin(user: User) -> bool:
    return any(str(Role.ADMIN) in (roles or []) for roles in db.session.scalars(
        select(User.roles).where(User.active.is_(True), User.id != user.id)))


_ROLE_ORDER = [str(role) for role in Role]


def _plain(value: object) -> object:
    return list(value) if isinstance(value, list) else str(value) if isinstance(value, str) else value


def _checked_email(email: str) -> str:
    email = email.strip()
    if email and not _EMAIL.fullmatch(email):
        raise Invalid("invalid_email", fields={"email": "invalid_email"})
    return email


_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,189}\.[^@\s.]{2,63}")


def check_credentials(*, username: str, password: str) -> User:
    """The active user these credentials name; failures are audited without saying which part was wrong."""
    username = username.strip().lower()
    user = db.session.scalar(select(User).where(User.username == username))
    valid = check_password(user.password_hash if user else None, password)
    if not valid or user is None or not user.is_active:
        with write_transaction():
            audit.record(None, "auth.login_failed", None, {"username": username[:80]}, actor_label=username[:80])
        note_failure()
        raise NotAuthenticated("invalid_credentials")
    return user


def check_second_factor(user: User, otp: str | None) -> None:
    """Nothing when the user has no second factor or ``otp`` is a right code (TOTP or an unused recovery
    code); otherwise 401 ``mfa_required`` (no code) or ``mfa_invalid`` (audited)."""
    if not user.has_totp:
        return
    if not otp:
        raise NotAuthenticated("mfa_required")
    if not mfa.accept_code(user, otp):
        with write_transaction():
            audit.record(None, "auth.login_failed", user, {"username": user.username, "reason": "mfa"},
                         actor_label=user.username)
        note_failure()
        raise NotAuthenticated("mfa_invalid")


def open_login(user: User, *, kind: SessionKind, ip: str = "", via: str = "password") -> IssuedLogin:
    """A new session for a user whose credentials (and second factor) were checked; ``via`` says how the
    person was recognised (``password`` or ``sso``, the OpenID provider)."""
    now = utcnow()
    ttl = (BROWSER_ABSOLUTE_TIMEOUT if kind == SessionKind.BROWSER
           else timedelta(hours=current_app.config["TOKEN_TTL_HOURS"]))
    token = secrets.token_urlsafe(32)
    with write_transaction():
        session = AuthSession(user_id=user.id, kind=kind, token_hash=token_hash(token), created_at=now,
                              expires_at=now + ttl, last_seen_at=now, ip=ip[:64])
        db.session.add(session)
        db.session.flush()
        audit.record(user, "auth.login", session, {"kind": str(kind), "mfa": user.has_totp, "via": via})
    return IssuedLogin(token=token, session=session)


def login(*, username: str, password: str, kind: SessionKind, ip: str = "", otp: str | None = None) -> IssuedLogin:
    """Check credentials and the second factor, and open a session."""
    user = check_credentials(username=username, password=password)
    check_second_factor(user, otp)
    return open_login(user, kind=kind, ip=ip)


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
    with write_transaction():
        session.revoked_at = utcnow()
        audit.record(actor, "auth.logout", session, {"kind": str(session.kind)})
        session_id = session.id
        after_commit(lambda: realtime.disconnect_auth_session(session_id))


def end_login(session: AuthSession, *, actor: User, reason: str) -> None:
    """End another person's login (e.g. a remote wipe of their tablet): its token or cookie stops working
    and its sockets drop after the commit.

    Precondition: inside the caller's ``write_transaction()``, which records why.
    """
    from ecabinet import realtime  # deferred: realtime imports this module

    if session.revoked_at is not None:
        return
    session.revoked_at = utcnow()
    audit.record(actor, "auth.login_ended", session, {"user_id": session.user_id, "reason": reason})
    session_id = session.id
    after_commit(lambda: realtime.disconnect_auth_session(session_id))


def user_by_id(user_id: int) -> User | None:
    """The account with id ``user_id``, if any."""
    return db.session.get(User, user_id)


def user_named(username: str) -> User | None:
    """The account whose login name is ``username`` (names are kept lower-case), if any."""
    return db.session.scalar(select(User).where(User.username == username.strip().lower()))


def all_users() -> list[User]:
    """Every account, active or not, by login name (the administrators' list)."""
    return list(db.session.scalars(select(User).order_by(User.username)))


def active_users(*, by_name: bool = False) -> list[User]:
    """The accounts that can log in, in the order they were created or, ``by_name``, by full name."""
    return list(db.session.scalars(select(User).where(User.active.is_(True))
                                   .order_by(User.full_name if by_name else User.id)))


def sessions_ended_since(since: datetime) -> set[int]:
    """Logins revoked at or after ``since``, and the unexpired logins of deactivated users.

    The socket sweeper asks every second; what it gets grows with logouts and deactivations, not
    with the number of connected tablets (expiry it checks itself, since ``expires_at`` is fixed).
    """
    return set(db.session.scalars(_SESSIONS_ENDED_SINCE, {"since": since}))


# built once: the sweeper asks every second, and building it costs as much as running it
_SESSIONS_ENDED_SINCE = (
    select(AuthSession.id).join(User, User.id == AuthSession.user_id)
    .where(AuthSession.expires_at > bindparam("since"),
           or_(AuthSession.revoked_at >= bindparam("since"), User.active.is_(False))))
