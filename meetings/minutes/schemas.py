"""Request shapes of the minutes API (they also feed the OpenAPI document)."""

from typing import Any

from apiflask import Schema
from apiflask.fields import Integer, String
from apiflask.validators import Length, Range

from ecabinet.schemas import iso
from meetings.minutes.models import Minutes


class NarrativeIn(Schema):
    narrative = String(required=True, validate=Length(max=50_000))


class SignIn(Schema):
    pin = String(required=True, validate=Length(max=200))


class PdfQuery(Schema):
    version = Integer(validate=Range(min=1))


def dump_minutes(minutes: Minutes) -> dict[str, Any]:
    return {
        "id": minutes.id, "meeting_id": minutes.meeting_id, "status": minutes.status,
        "current_version": minutes.current_version, "secretary_id": minutes.secretary_id,
        "secretary_signed_at": iso(minutes.secretary_signed_at), "signed_at": iso(minutes.signed_at),
        "sha256": minutes.signed_sha256 or minutes.secretary_signed_sha256 or minutes.current.sha256,
        "narrative": minutes.current.narrative, "content": minutes.current.content,
        "versions": [{"version": v.version, "sha256": v.sha256, "created_by_id": v.created_by_id,
                      "created_at": iso(v.created_at)} for v in minutes.versions],
    }
