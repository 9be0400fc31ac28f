"""The live session's records: requests to speak, votes, and who took part in each vote."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ecabinet.auth.models import User
from ecabinet.database import Model, UTCDateTime, utcnow


class SpeakerStatus(enum.StrEnum):
    REQUESTED = "requested"
    GRANTED = "granted"
    FINISHED = "finished"
    WITHDRAWN = "withdrawn"


class SpeakerRequest(Model):
    __tablename__ = "speaker_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), index=True)
    agenda_item_id: Mapped[int | None] = mapped_column(ForeignKey("agenda_items.id"), default=None)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    status: Mapped[SpeakerStatus] = mapped_column(String(20), default=SpeakerStatus.REQUESTED)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    granted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    #: the speaking time the chair gave with the floor; None when the chair set no limit
    allotted_seconds: Mapped[int | None] = mapped_column(default=None)

    user: Mapped[User] = relationship()

    @property
    def seconds_spoken(self) -> int | None:
        if self.granted_at is None:
            return None
        end = self.finished_at or utcnow()
        return int((end - self.granted_at).total_seconds())


class VoteChoice(enum.StrEnum):
    AGREE = "agree"
    DISAGREE = "disagree"
    ABSTAIN = "abstain"


class VoteStatus(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class Vote(Model):
    """A vote in session. A secret vote keeps only counters and who took part, never who chose what."""

    __tablename__ = "votes"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), index=True)
    agenda_item_id: Mapped[int | None] = mapped_column(ForeignKey("agenda_items.id"), default=None)
    question: Mapped[str] = mapped_column(Text)
    secret: Mapped[bool] = mapped_column(default=False)
    status: Mapped[VoteStatus] = mapped_column(String(10), default=VoteStatus.OPEN)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    agree: Mapped[int] = mapped_column(default=0)
    disagree: Mapped[int] = mapped_column(default=0)
    abstain: Mapped[int] = mapped_column(default=0)
    #: the members entitled to vote, frozen when the vote closes
    entitled_user_ids: Mapped[list[int] | None] = mapped_column(JSON, default=None)
    #: the result fixed at close (see rules.vote_result)
    result: Mapped[dict | None] = mapped_column(JSON, default=None)


class VoteParticipation(Model):
    """That a member voted (one per member). The choice is kept here only for named votes."""

    __tablename__ = "vote_participations"
    __table_args__ = (UniqueConstraint("vote_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    vote_id: Mapped[int] = mapped_column(ForeignKey("votes.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    #: None in a secret vote
    choice: Mapped[VoteChoice | None] = mapped_column(String(10), default=None)
    cast_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    user: Mapped[User] = relationship()


class HallDisplay(Model):
    """A projector or hall screen: a read-only credential for one meeting, issued and revoked by the
    secretariat. Only the token's hash is kept; the display sees what the room projector may show."""

    __tablename__ = "hall_displays"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
