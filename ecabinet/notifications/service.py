"""The only writer of notifications: ``notify`` (called by domains inside their write transaction),
marking read, and each person's preferences.

A notification is written with the change that causes it: the in-app entry and its mail (the
outbox row) commit or roll back with that change, and the mail leaves after the commit
(``ecabinet.notifications.outbox``). The core knows no domain: a domain passes the subject, its
page, its title and its classification.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import current_app
from sqlalchemy import func, select, update

from ecabinet import audit, realtime
from ecabinet.auth.models import Confidentiality, User
from ecabinet.database import after_commit, db, utcnow, write_transaction
from ecabinet.errors import Invalid, NotFound
from ecabinet.notifications import outbox
from ecabinet.notifications.kinds import KINDS, ordered
from ecabinet.notifications.models import Channel, MailState, Notification, OutboxMail, Preference

DEFAULT_CHANNEL = Channel.BOTH
NO_ADDRESS = "no e-mail address on the account"


def is_classified(level: Confidentiality | str) -> bool:
    """Mật and above: the subject is never named outside its own page (not in a mail, not in the list)."""
    return Confidentiality(level).rank >= Confidentiality.CONFIDENTIAL.rank


def notify(user_ids: Iterable[int], kind: str, subject: tuple[str, int], *, path: str, title: str,
           level: Confidentiality | str = Confidentiality.NORMAL, data: dict[str, Any] | None = None,
           key: str | None = None) -> list[Notification]:
    """Tell each person (active, cleared for ``level``) about ``subject``: in the app, by e-mail, or both,
    as they chose for ``kind``.

    ``key`` makes it once only: a person already notified under that key is skipped (the periodic
    sweeps call this again every pass). Precondition: inside ``write_transaction()``.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    ids = list(dict.fromkeys(user_ids))
    if not ids:
        return []
    classified = is_classified(level)
    users = db.session.scalars(select(User).where(User.id.in_(ids), User.active.is_(True))).all()
    channels = preferences_of([u.id for u in users], kind)
    mailing = bool(current_app.config.get("SMTP_URL"))
    made = []
    for user in sorted(users, key=lambda u: u.id):
        if not user.may_read(level):
            continue
        if key and already_sent(key, user.id):
            continue
        channel = channels[user.id]
        notification = Notification(user_id=user.id, kind=kind, subject_type=subject[0], subject_id=subject[1],
                                    path=path, title="" if classified else title[:500], classified=classified,
                                    data={} if classified else dict(data or {}), in_app=channel.shows,
                                    created_at=utcnow(), key=f"{key}:{user.id}" if key else None)
        db.session.add(notification)
        db.session.flush()
        if channel.mails and mailing:
            _queue_mail(notification, user)
        if channel.shows:
            realtime.publish_to_user(user.id, "notification.created",
                                     {"id": notification.id, "kind": kind, "unread": unread_count(user.id)})
        made.append(notification)
    if any(channels[n.user_id].mails for n in made) and mailing:
        after_commit(outbox.wake)
    return made


def already_sent(key: str, user_id: int) -> bool:
    """Whether ``user_id`` was notified under ``key`` (see ``notify``)."""
    return db.session.scalar(select(Notification.id).where(Notification.key == f"{key}:{user_id}")) is not None


def _queue_mail(notification: Notification, user: User) -> None:
    address = (user.email or "").strip()
    db.session.add(OutboxMail(notification_id=notification.id, to_address=address,
                              state=MailState.PENDING if address else MailState.FAILED,
                              last_error="" if address else NO_ADDRESS, created_at=utcnow(),
                              next_attempt_at=utcnow()))


def preferences_of(user_ids: list[int], kind: str) -> dict[int, Channel]:
    rows = db.session.execute(select(Preference.user_id, Preference.channel)
                              .where(Preference.user_id.in_(user_ids), Preference.kind == kind)).all() \
        if user_ids else []
    chosen = {user_id: Channel(channel) for user_id, channel in rows}
    return {user_id: chosen.get(user_id, DEFAULT_CHANNEL) for user_id in user_ids}


def preferences(user: User) -> dict[str, Any]:
    """Every kind with the person's channel, and the language their mail is written in."""
    chosen = {row.kind: Channel(row.channel)
              for row in db.session.scalars(select(Preference).where(Preference.user_id == user.id))}
    return {"language": user.language,
            "preferences": [{"kind": kind.code, "label": str(kind.label),
                             "channel": str(chosen.get(kind.code, DEFAULT_CHANNEL))} for kind in ordered()]}


def set_preferences(user: User, *, channels: dict[str, str] | None = None, language: str | None = None,
                    actor: User) -> dict[str, Any]:
    """Change the person's channels (only the kinds given) and mail language; audited with what changed."""
    from ecabinet import LANGUAGES  # deferred: the ecabinet package imports this one

    channels = channels or {}
    unknown = sorted(k for k in channels if k not in KINDS)
    bad = sorted(k for k, v in channels.items() if k in KINDS and v not in set(Channel))
    if unknown or bad or (language is not None and language not in LANGUAGES):
        fields: dict[str, Any] = {}
        if unknown or bad:
            fields["preferences"] = {**{k: "unknown kind" for k in unknown},
                                     **{k: "email, app or both" for k in bad}}
        if language is not None and language not in LANGUAGES:
            fields["language"] = "vi or en"
        raise Invalid(fields=fields)
    with write_transaction():
        db.session.refresh(user)
        before = {row.kind: row for row in db.session.scalars(select(Preference).where(Preference.user_id == user.id))}
        changed: dict[str, Any] = {}
        for kind, value in channels.items():
            row = before.get(kind)
            old = Channel(row.channel) if row else DEFAULT_CHANNEL
            if old == value:
                continue
            if row is None:
                db.session.add(Preference(user_id=user.id, kind=kind, channel=Channel(value)))
            else:
                row.channel = Channel(value)
            changed[kind] = {"from": str(old), "to": value}
        if language is not None and language != user.language:
            changed["language"] = {"from": user.language, "to": language}
            user.language = language
        if changed:
            audit.record(actor, "notification.preferences_changed", user, changed)
    return preferences(user)


# --- the person's list ----------------------------------------------------------------------------------

def unread_count(user_id: int) -> int:
    return db.session.scalar(select(func.count(Notification.id)).where(
        Notification.user_id == user_id, Notification.in_app.is_(True), Notification.read_at.is_(None))) or 0


def list_for(user: User, *, limit: int = 50, unread_only: bool = False) -> list[Notification]:
    query = (select(Notification).where(Notification.user_id == user.id, Notification.in_app.is_(True))
             .order_by(Notification.id.desc()).limit(limit))
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    return list(db.session.scalars(query))


def get_for(user: User, notification_id: int) -> Notification:
    """The person's own notification, or NotFound (another person's is never shown)."""
    notification = db.session.get(Notification, notification_id)
    if notification is None or notification.user_id != user.id or not notification.in_app:
        raise NotFound()
    return notification


def mark_read(notification: Notification, *, actor: User) -> Notification:
    """Opened: read from now on; the person's other tabs and tablets see the new count."""
    if notification.read_at is not None:
        return notification
    with write_transaction():
        done = db.session.execute(update(Notification).where(Notification.id == notification.id,
                                                             Notification.read_at.is_(None))
                                  .values(read_at=utcnow()))
        if done.rowcount:  # type: ignore[attr-defined]  # an UPDATE's CursorResult
            realtime.publish_to_user(actor.id, "notification.read",
                                     {"id": notification.id, "unread": unread_count(actor.id)})
    db.session.refresh(notification)
    return notification


def mark_all_read(*, actor: User) -> int:
    with write_transaction():
        done = db.session.execute(update(Notification).where(
            Notification.user_id == actor.id, Notification.in_app.is_(True), Notification.read_at.is_(None))
            .values(read_at=utcnow()))
        count: int = done.rowcount  # type: ignore[attr-defined]  # an UPDATE's CursorResult
        if count:
            realtime.publish_to_user(actor.id, "notification.read", {"id": None, "unread": 0})
    return count
