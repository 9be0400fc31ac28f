"""Notifications (what each person is told, and read in the app), the mail outbox and preferences."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ecabinet.auth.models import User
from ecabinet.database import Model, UTCDateTime, utcnow


class Channel(enum.StrEnum):
    """Where a person wants one kind of notification: by e-mail, in the app, or both."""

    EMAIL = "email"
    APP = "app"
    BOTH = "both"

    @property
    def mails(self) -> bool:
        return self in (Channel.EMAIL, Channel.BOTH)

    @property
    def shows(self) -> bool:
        return self in (Channel.APP, Channel.BOTH)


class MailState(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class Notification(Model):
    """One thing one person is told about. ``title`` and ``data`` are empty for a subject at Mật or above:
    only its kind and the link leave its page (the mail and the list name nothing)."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_unread", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(40))
    #: the subject, e.g. ("meeting", 12): what the link opens
    subject_type: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[int]
    #: the page's path, e.g. /meetings/12 (the mail makes it absolute with ECABINET_PUBLIC_URL)
    path: Mapped[str] = mapped_column(String(300))
    title: Mapped[str] = mapped_column(String(500), default="")
    classified: Mapped[bool] = mapped_column(default=False)
    #: details the text shows (a new time, a reason); empty when classified
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: listed in the app (the person's preference for this kind when it was made)
    in_app: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    #: sent once: a second notify() with the same key for the same person is ignored (periodic sweeps)
    key: Mapped[str | None] = mapped_column(String(200), unique=True, default=None)

    user: Mapped[User] = relationship()

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "subject": {"type": self.subject_type, "id": self.subject_id},
                "url": self.path, "title": self.title, "classified": self.classified, "data": self.data,
                "created_at": self.created_at.isoformat(),
                "read_at": self.read_at.isoformat() if self.read_at else None}


class OutboxMail(Model):
    """One e-mail to send, written with the change that causes it and delivered after the commit by
    whichever worker claims it first (``state`` pending → sending → sent | failed)."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_state_next", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notifications.id"))
    to_address: Mapped[str] = mapped_column(String(254))
    state: Mapped[MailState] = mapped_column(String(10), default=MailState.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: the claim of the worker sending it now (a random token), until ``claimed_until``
    claimed_by: Mapped[str | None] = mapped_column(String(64), default=None)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    #: why the last attempt failed (the SMTP server's answer, or the connection error)
    last_error: Mapped[str] = mapped_column(Text, default="")

    notification: Mapped[Notification] = relationship(lazy="joined")


class Preference(Model):
    """A person's channel for one kind; without a row, the kind's default (both)."""

    __tablename__ = "notification_preferences"
    __table_args__ = (Index("uq_notification_preferences_user_kind", "user_id", "kind", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(40))
    channel: Mapped[Channel] = mapped_column(String(10))
