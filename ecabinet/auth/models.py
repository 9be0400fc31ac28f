"""Users, roles, clearances and authentication sessions (browser cookies and API tokens)."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ecabinet.database import Model, UTCDateTime, utcnow


class Role(enum.StrEnum):
    ADMIN = "admin"
    SECRETARY = "secretary"
    CHAIR = "chair"
    MEMBER = "member"
    GUEST = "guest"


class Confidentiality(enum.StrEnum):
    """Độ mật: Thường, Mật, Tối mật, Tuyệt mật, in increasing order."""

    NORMAL = "normal"
    CONFIDENTIAL = "confidential"
    SECRET = "secret"  # noqa: S105 (a confidentiality level, not a password)
    TOP_SECRET = "top_secret"  # noqa: S105 (a confidentiality level, not a password)

    @property
    def rank(self) -> int:
        return _CONFIDENTIALITY_RANKS[self]

    def allows(self, level: Confidentiality) -> bool:
        """A clearance allows documents at its own level and below."""
        return level.rank <= self.rank


_CONFIDENTIALITY_RANKS = {level: rank for rank, level in enumerate(Confidentiality)}


class User(UserMixin, Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    #: chức vụ, e.g. "Bộ trưởng Bộ Tài chính"
    title: Mapped[str] = mapped_column(String(200), default="")
    organisation: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    clearance: Mapped[Confidentiality] = mapped_column(String(20), default=Confidentiality.NORMAL)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    email: Mapped[str] = mapped_column(String(254), default="", server_default="")
    #: the language of the mail the person receives (vi, or en for those who chose English)
    language: Mapped[str] = mapped_column(String(5), default="vi", server_default="vi")
    #: set by an administrator's reset: the member chooses a new password at the next login
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=false())
    #: the TOTP secret (RFC 6238), pending until ``totp_confirmed_at``
    totp_secret: Mapped[str | None] = mapped_column(String(64), default=None)
    totp_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    #: the last time step accepted: a code is accepted once (RFC 6238 section 5.2)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger, default=None)
    #: SHA-256 of each unused recovery code
    recovery_codes: Mapped[list[str] | None] = mapped_column(JSON, default=None)

    @property
    def has_totp(self) -> bool:
        return self.totp_confirmed_at is not None

    @property
    def is_active(self) -> bool:
        return self.active

    def has_role(self, *roles: Role) -> bool:
        return any(role in self.roles for role in roles)

    @property
    def is_secretariat(self) -> bool:
        return self.has_role(Role.SECRETARY)

    @property
    def is_admin(self) -> bool:
        return self.has_role(Role.ADMIN)

    def may_read(self, level: Confidentiality | str) -> bool:
        return Confidentiality(self.clearance).allows(Confidentiality(level))

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "username": self.username,
            "full_name": self.full_name,
            "title": self.title,
            "organisation": self.organisation,
            "roles": list(self.roles),
            "clearance": str(self.clearance),
        }

    def admin_dict(self) -> dict[str, object]:
        """What an administrator sees of an account (never a hash or a secret)."""
        return {**self.as_dict(), "email": self.email, "active": self.active, "mfa": self.has_totp,
                "must_change_password": self.must_change_password,
                "created_at": self.created_at.isoformat()}


class SessionKind(enum.StrEnum):
    BROWSER = "browser"
    API = "api"


class AuthSession(Model):
    """A login: a browser session (cookie) or an API bearer token. Only the SHA-256 is stored."""

    __tablename__ = "auth_sessions"
    __table_args__ = (Index("ix_auth_sessions_user_active", "user_id", "revoked_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[SessionKind] = mapped_column(String(10))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    ip: Mapped[str] = mapped_column(String(64), default="")

    user: Mapped[User] = relationship(lazy="joined")

    def is_valid(self, now: datetime) -> bool:
        return self.revoked_at is None and now < self.expires_at and self.user.is_active
