"""Request shapes of the minutes API (they also feed the OpenAPI document)."""

from apiflask import Schema
from apiflask.fields import Integer, String
from apiflask.validators import Length, Range


class NarrativeIn(Schema):
    narrative = String(required=True, validate=Length(max=50_000))


class SignIn(Schema):
    pin = String(required=True, validate=Length(max=200))


class PdfQuery(Schema):
    version = Integer(validate=Range(min=1))
