"""Opinion ballots: the ballot, its questions and recipients, and each member's signed answers."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ecabinet.database import Model, UTCDateTime, utcnow


class BallotStatus(enum.StrEnum):
    DRAFT = "draft"
    ISSUED = "issued"
    CLOSED = "closed"


class Choice(enum.StrEnum):
    AGREE = "agree"
    DISAGREE = "disagree"
    OTHER = "other"


class NonAnswerPolicy(enum.StrEnum):
    """How a member who did not answer counts in the tally (shown on the report)."""

    NOT_COUNTED = "not_counted"  # counts against: it is not an approval
    AGREE = "agree"  # "quá hạn không trả lời coi như đồng ý"


class Ballot(Model):
    __tablename__ = "ballots"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(500))
    summary: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(10), default=BallotStatus.DRAFT)
    deadline: Mapped[datetime] = mapped_column(UTCDateTime())
    non_answer_policy: Mapped[str] = mapped_column(String(20), default=NonAnswerPolicy.NOT_COUNTED)
    #: attached dossiers (documents.Document ids), validated when the documents package exists
    document_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    #: the tally fixed at close, and the signed summary report
    tally: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, default=None)
    report_pdf: Mapped[bytes | None] = mapped_column(LargeBinary, default=None, deferred=True)
    report_sha256: Mapped[str] = mapped_column(String(64), default="")

    questions: Mapped[list[Question]] = relationship(order_by="Question.position", cascade="all, delete-orphan")
    recipients: Mapped[list[Recipient]] = relationship(order_by="Recipient.user_id", cascade="all, delete-orphan")

    @property
    def number(self) -> str:
        return f"{self.id}/PLYK-VPCP"


class Question(Model):
    __tablename__ = "ballot_questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    ballot_id: Mapped[int] = mapped_column(ForeignKey("ballots.id"), index=True)
    position: Mapped[int]
    text: Mapped[str] = mapped_column(Text)


class Recipient(Model):
    __tablename__ = "ballot_recipients"
    __table_args__ = (UniqueConstraint("ballot_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ballot_id: Mapped[int] = mapped_column(ForeignKey("ballots.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class Response(Model):
    """A member's current answer; the unique key makes two current answers impossible."""

    __tablename__ = "ballot_responses"
    __table_args__ = (UniqueConstraint("ballot_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ballot_id: Mapped[int] = mapped_column(ForeignKey("ballots.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    current_version: Mapped[int] = mapped_column(default=1)
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    revisions: Mapped[list[ResponseRevision]] = relationship(order_by="ResponseRevision.version")


class ResponseRevision(Model):
    """One signed slip, never changed; the highest version is current."""

    __tablename__ = "ballot_response_revisions"
    __table_args__ = (UniqueConstraint("response_id", "version"),
                      Index("ix_ballot_response_revisions_key", "ballot_id", "user_id", "idempotency_key"))

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("ballot_responses.id"))
    ballot_id: Mapped[int] = mapped_column(ForeignKey("ballots.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int]
    answers: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    slip_pdf: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    #: SHA-256 of the signed slip, and of the unsigned slip the server rendered (its first revision)
    sha256: Mapped[str] = mapped_column(String(64))
    unsigned_sha256: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: PAdES level: B-B, or B-T with a timestamp authority
    level: Mapped[str] = mapped_column(String(8))
    signer_subject: Mapped[str] = mapped_column(String(500), default="")
    signer_serial: Mapped[str] = mapped_column(String(64), default="")
    #: "server" (signed with the key held here) or "upload" (signed with the member's own tool)
    method: Mapped[str] = mapped_column(String(10), default="server")
    idempotency_key: Mapped[str | None] = mapped_column(String(200), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    def receipt(self) -> dict[str, Any]:
        return {"id": self.response_id, "version": self.version, "sha256": self.sha256,
                "signed_at": self.signed_at.isoformat(), "level": self.level}


class SlipDraft(Model):
    """An unsigned slip handed out for signing with the member's own tool.

    One per member, ballot, answers and current answer version: fetching it again returns it.
    """

    __tablename__ = "ballot_slip_drafts"
    __table_args__ = (Index("ix_ballot_slip_drafts_answers", "ballot_id", "user_id", "base_version",
                            "answers_sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ballot_id: Mapped[int] = mapped_column(ForeignKey("ballots.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    answers: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    #: SHA-256 of the answers' canonical JSON (how a fetch finds the draft it made before)
    answers_sha256: Mapped[str] = mapped_column(String(64), default="", server_default="")
    #: the member's answer version the draft supersedes (0: none yet); embedded in the slip, and
    #: an upload counts only while it is still the current one (an older signed slip is not replayed)
    base_version: Mapped[int] = mapped_column(default=0, server_default="0")
    #: where the member's signature goes: page index and (x1, y1, x2, y2) in points
    signature_page: Mapped[int] = mapped_column(default=0, server_default="0")
    signature_rect: Mapped[list[float] | None] = mapped_column(JSON, default=None)
    pdf: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
