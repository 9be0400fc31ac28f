"""Minutes of a meeting: a current pointer plus immutable draft versions, then two signatures."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ecabinet.auth.models import User
from ecabinet.database import Model, UTCDateTime, utcnow


class MinutesStatus(enum.StrEnum):
    DRAFT = "draft"
    SIGNED_BY_SECRETARY = "signed_by_secretary"
    SIGNED = "signed"


class Minutes(Model):
    __tablename__ = "minutes"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), unique=True)
    status: Mapped[MinutesStatus] = mapped_column(String(30), default=MinutesStatus.DRAFT)
    current_version: Mapped[int] = mapped_column(default=1)
    #: the secretariat member who drew up the minutes and signs first (named in the "THƯ KÝ" block)
    secretary_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    #: the signed PDF after each signature, in the content-addressed store
    secretary_signed_sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    secretary_signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    signed_sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    #: the last audit record the archive carries (the chair's signature)
    archive_audit_id: Mapped[int | None] = mapped_column(default=None)

    secretary: Mapped[User] = relationship()
    versions: Mapped[list[MinutesVersion]] = relationship(back_populates="minutes", order_by="MinutesVersion.version",
                                                          cascade="all, delete-orphan")

    @property
    def current(self) -> MinutesVersion:
        return next(v for v in self.versions if v.version == self.current_version)


class MinutesVersion(Model):
    """One immutable draft: the record it was drawn from, the narrative, and the rendered PDF."""

    __tablename__ = "minutes_versions"
    __table_args__ = (UniqueConstraint("minutes_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    minutes_id: Mapped[int] = mapped_column(ForeignKey("minutes.id"))
    version: Mapped[int]
    narrative: Mapped[str] = mapped_column(Text, default="")
    #: what the session record said when this draft was made (see service.session_record)
    content: Mapped[dict] = mapped_column(JSON)
    #: the unsigned PDF in the content-addressed store
    sha256: Mapped[str] = mapped_column(String(64))
    #: where each signature box landed: {"secretary": [page, [x1, y1, x2, y2]], "chair": ...}
    signature_boxes: Mapped[dict] = mapped_column(JSON)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    minutes: Mapped[Minutes] = relationship(back_populates="versions")
