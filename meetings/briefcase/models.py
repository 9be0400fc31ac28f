"""The offline briefcase: a member's enrolled devices and the meetings each holds offline."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ecabinet.auth.models import AuthSession, User
from ecabinet.database import Model, UTCDateTime, utcnow


class BriefcaseDevice(Model):
    """A browser that keeps encrypted copies; its key is derived from the server's secret and ``salt``.

    The row lives as long as the login that enrolled it was never ended on purpose: a login that merely
    ran out (idle, absolute timeout, e.g. during a flight) hands the device on to the member's next login
    on that browser, while a logout, a deactivation, a password reset or a remote wipe ends it for good.
    """

    __tablename__ = "briefcase_devices"
    __table_args__ = (Index("ix_briefcase_devices_user_device", "user_id", "device_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: the public name of the key (random): the browser stores it beside the blobs it encrypted
    key_id: Mapped[str] = mapped_column(String(32), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    #: SHA-256 of the browser's device cookie nonce (ecabinet.auth.devices), or of its login when it has none
    device_hash: Mapped[str] = mapped_column(String(64))
    #: the login that last asked for the key
    auth_session_id: Mapped[int] = mapped_column(ForeignKey("auth_sessions.id"))
    salt: Mapped[str] = mapped_column(String(64))
    #: what the browser said it is (User-Agent, cut), for the secretariat's list
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_contact_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    wiped_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    wiped_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    auth_session: Mapped[AuthSession] = relationship()

    def ended(self) -> bool:
        """Wiped, or its login ended on purpose (revoked), or its owner deactivated."""
        return self.wiped_at is not None or self.auth_session.revoked_at is not None or not self.user.active


class BriefcaseMeeting(Model):
    """A meeting a device took offline (its stamped dossiers, notes and agenda, encrypted on the device)."""

    __tablename__ = "briefcase_meetings"
    __table_args__ = (UniqueConstraint("device_id", "meeting_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("briefcase_devices.id"), index=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), index=True)
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    device: Mapped[BriefcaseDevice] = relationship()
