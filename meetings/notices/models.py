"""Conclusion notices ("thông báo kết luận") and the follow-up tasks they assign to ministries."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ecabinet.auth.models import User
from ecabinet.database import Model, UTCDateTime, utcnow
from meetings.models import Meeting


class NoticeStatus(enum.StrEnum):
    DRAFT = "draft"
    ISSUED = "issued"


class TaskStatus(enum.StrEnum):
    """Stored states; "overdue" is not stored but computed from the deadline (see rules.shown_status)."""

    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"


class ConclusionNotice(Model):
    """One notice per meeting: a draft the secretariat edits, then a signed, immutable document."""

    __tablename__ = "conclusion_notices"
    # Decree 30 Art. 15: numbers are unique per year and restart at 01 on 1 January
    __table_args__ = (UniqueConstraint("year", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), unique=True)
    status: Mapped[NoticeStatus] = mapped_column(String(20), default=NoticeStatus.DRAFT)
    #: the opening narrative the secretariat writes above the conclusions
    intro: Mapped[str] = mapped_column(Text, default="")
    #: the conclusions as issued (frozen at issue; drafts show the meeting's current conclusions)
    content: Mapped[dict | None] = mapped_column(JSON, default=None)
    #: "Số: {number:02d}/TB-VPCP", assigned by the system at issue in the year of issue (Hanoi time)
    year: Mapped[int | None] = mapped_column(default=None)
    number: Mapped[int | None] = mapped_column(default=None)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    #: the signed PDF in the content-addressed store, and the unsigned rendering it was made from
    signed_sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    unsigned_sha256: Mapped[str | None] = mapped_column(String(64), default=None)

    meeting: Mapped[Meeting] = relationship()
    tasks: Mapped[list[NoticeTask]] = relationship(back_populates="notice", order_by="NoticeTask.position",
                                                   cascade="all, delete-orphan")

    @property
    def number_symbol(self) -> str | None:
        return f"{self.number:02d}/TB-VPCP" if self.number is not None else None


class NoticeTask(Model):
    """A follow-up task: what is asked, of whom, by when; its status moves until the secretariat closes it."""

    __tablename__ = "notice_tasks"
    __table_args__ = (Index("ix_notice_tasks_owner_status", "owner_user_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("conclusion_notices.id"))
    position: Mapped[int]
    #: the agenda item whose conclusion the task follows from (None: the meeting as a whole)
    agenda_item_id: Mapped[int | None] = mapped_column(ForeignKey("agenda_items.id"), default=None)
    description: Mapped[str] = mapped_column(Text)
    #: the member answering for it; their organisation (ministry) is shown as "cơ quan chủ trì"
    owner_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    #: a calendar day in Hanoi: overdue from the next day on
    deadline: Mapped[date] = mapped_column(Date)
    status: Mapped[TaskStatus] = mapped_column(String(20), default=TaskStatus.OPEN)
    #: the latest progress note (every note stays in the updates)
    last_note: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    notice: Mapped[ConclusionNotice] = relationship(back_populates="tasks")
    owner: Mapped[User] = relationship()
    updates: Mapped[list[TaskUpdate]] = relationship(order_by="TaskUpdate.id", cascade="all, delete-orphan")


class TaskUpdate(Model):
    """One append-only step in a task's history: who changed what, with their note."""

    __tablename__ = "notice_task_updates"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("notice_tasks.id"), index=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(20))
    from_status: Mapped[str] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    actor: Mapped[User] = relationship()
