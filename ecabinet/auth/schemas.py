"""Request and response shapes of the authentication API."""

from apiflask import Schema
from apiflask.fields import Integer, List, Nested, String
from apiflask.validators import Length


class TokenRequest(Schema):
    username = String(required=True, validate=Length(1, 80))
    password = String(required=True, validate=Length(1, 256))


class UserOut(Schema):
    id = Integer()
    username = String()
    full_name = String()
    title = String()
    organisation = String()
    roles = List(String())
    clearance = String()


class TokenOut(Schema):
    token = String()
    expires_at = String()
    user = Nested(UserOut)
