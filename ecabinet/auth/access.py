"""Role checks every domain shares: one refusal, one code, one message."""

from __future__ import annotations

from ecabinet.auth.models import User
from ecabinet.errors import Forbidden


def require_secretariat(actor: User) -> None:
    """Only the Government Office's secretariat prepares, publishes and records (403 ``secretariat_only``)."""
    if not actor.is_secretariat:
        raise Forbidden("secretariat_only")
