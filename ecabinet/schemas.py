"""What every domain's JSON shares: times as shown to users, the confidentiality levels a request names."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from ecabinet.auth.models import Confidentiality

SHOWN_ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
LEVELS = [str(level) for level in Confidentiality]


def iso(value: datetime | None) -> str | None:
    """A stored time as ISO 8601 in UTC, as records and archives keep it."""
    return value.isoformat() if value is not None else None


def shown(value: datetime | None) -> str | None:
    """A stored (UTC) time as the API answers it: ISO 8601 in Vietnam's time zone."""
    return value.astimezone(SHOWN_ZONE).isoformat() if value else None
