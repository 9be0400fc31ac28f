"""Meetings, participants, agenda items and members' pre-session positions."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ecabinet.auth.models import Confidentiality, User
from ecabinet.database import Model, UTCDateTime, utcnow


class MeetingKind(enum.StrEnum):
    REGULAR = "regular"
    THEMATIC = "thematic"
    EXTRAORDINARY = "extraordinary"


class MeetingStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    IN_SESSION = "in_session"
    CLOSED = "closed"
    ARCHIVED = "archived"
    #: called off before the session (an addition to the API's list; postponing keeps the status)
    CANCELLED = "cancelled"


class ParticipantRole(enum.StrEnum):
    MEMBER = "member"
    DELEGATE = "delegate"
    GUEST = "guest"


class Stance(enum.StrEnum):
    """A member's position on an item before the session (the consent-agenda practice)."""

    AGREE = "agree"
    OBJECTION = "objection"
    WISH_TO_SPEAK = "wish_to_speak"


class Meeting(Model):
    __tablename__ = "meetings"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    kind: Mapped[MeetingKind] = mapped_column(String(20))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    location: Mapped[str] = mapped_column(String(300), default="")
    chair_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    confidentiality: Mapped[Confidentiality] = mapped_column(String(20), default=Confidentiality.NORMAL)
    status: Mapped[MeetingStatus] = mapped_column(String(20), default=MeetingStatus.DRAFT)
    #: the agenda item being discussed during the session
    current_item_id: Mapped[int | None] = mapped_column(ForeignKey("agenda_items.id", use_alter=True), default=None)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    #: the document and page being presented: {"document_id", "page"}
    presentation: Mapped[dict | None] = mapped_column(JSON, default=None)

    chair: Mapped[User] = relationship(foreign_keys=[chair_id])
    participants: Mapped[list[Participant]] = relationship(back_populates="meeting", cascade="all, delete-orphan",
                                                           order_by="Participant.id")
    agenda: Mapped[list[AgendaItem]] = relationship(back_populates="meeting", cascade="all, delete-orphan",
                                                    order_by="AgendaItem.position",
                                                    foreign_keys="AgendaItem.meeting_id")


class Participant(Model):
    __tablename__ = "participants"
    __table_args__ = (UniqueConstraint("meeting_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    role: Mapped[ParticipantRole] = mapped_column(String(20))
    #: the absent member a delegate attends for
    represents_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    #: a delegate attends only once the chair approved
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    #: agenda items a guest is invited to (guests see nothing else)
    agenda_item_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    #: present now: checked in and not recorded absent since
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    absence_reason: Mapped[str | None] = mapped_column(Text, default=None)
    #: first check-in of the session, kept when the member leaves: the minutes' attendance
    attended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    meeting: Mapped[Meeting] = relationship(back_populates="participants")
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    represents: Mapped[User | None] = relationship(foreign_keys=[represents_user_id])


class AgendaItem(Model):
    __tablename__ = "agenda_items"
    __table_args__ = (Index("ix_agenda_items_meeting_position", "meeting_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"))
    position: Mapped[int]
    title: Mapped[str] = mapped_column(String(500))
    #: the ministry presenting the item
    presenter: Mapped[str] = mapped_column(String(300), default="")
    duration_minutes: Mapped[int] = mapped_column(default=15)
    conclusion: Mapped[str | None] = mapped_column(Text, default=None)
    #: adopted in the consent block at the start of the session, without discussion
    adopted_without_discussion: Mapped[bool] = mapped_column(default=False)
    #: marked by the secretariat, before the session, for adoption without discussion
    consent_block: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    #: first taken up in session: a discussed item never goes into the consent block
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    #: a member's objection or wish to speak took the item out of the consent block
    consent_withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    consent_withdrawn_reason: Mapped[str | None] = mapped_column(String(20), default=None)

    meeting: Mapped[Meeting] = relationship(back_populates="agenda", foreign_keys=[meeting_id])


class ItemPosition(Model):
    __tablename__ = "item_positions"
    __table_args__ = (UniqueConstraint("agenda_item_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agenda_item_id: Mapped[int] = mapped_column(ForeignKey("agenda_items.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    stance: Mapped[Stance] = mapped_column(String(20))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ParticipantGroup(Model):
    """A named set of members the secretariat invites together (e.g. "Thành viên Chính phủ và Ban cán sự")."""

    __tablename__ = "participant_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    members: Mapped[list[ParticipantGroupMember]] = relationship(cascade="all, delete-orphan",
                                                                 order_by="ParticipantGroupMember.id")


class ParticipantGroupMember(Model):
    __tablename__ = "participant_group_members"
    __table_args__ = (UniqueConstraint("group_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("participant_groups.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))

    user: Mapped[User] = relationship()
