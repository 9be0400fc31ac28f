"""Request and response shapes of the authentication API."""

from apiflask import Schema
from apiflask.fields import Boolean, Dict, Integer, List, Nested, String
from apiflask.validators import Length, OneOf

from ecabinet.auth.models import Confidentiality, Role


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


class TokenRequestWithOtp(TokenRequest):
    #: the authenticator app's code (or a recovery code) once a second factor is set up
    otp = String(validate=Length(1, 32))


class AdminUserOut(UserOut):
    #: a change under four eyes waiting for another administrator (when one was asked for)
    approval_request = Dict()
    email = String()
    active = Boolean()
    mfa = Boolean()
    must_change_password = Boolean()
    created_at = String()


class AccountInList(AdminUserOut):
    """An account in the list (its own class: apispec registers a nested schema under its own name)."""


class UsersOut(Schema):
    users = List(Nested(AccountInList))


class AdminUserCreate(Schema):
    username = String(required=True, validate=Length(1, 80))
    full_name = String(required=True, validate=Length(1, 200))
    title = String(load_default="", validate=Length(0, 200))
    organisation = String(load_default="", validate=Length(0, 200))
    roles = List(String(validate=OneOf([r.value for r in Role])), required=True, validate=Length(1, 5))
    clearance = String(load_default="normal", validate=OneOf([c.value for c in Confidentiality]))
    email = String(load_default="", validate=Length(0, 254))
    password = String(required=True, validate=Length(1, 1024))


class AdminUserUpdate(Schema):
    roles = List(String(validate=OneOf([r.value for r in Role])), validate=Length(1, 5))
    clearance = String(validate=OneOf([c.value for c in Confidentiality]))
    email = String(validate=Length(0, 254))
    active = Boolean()


class PasswordReset(Schema):
    password = String(required=True, validate=Length(1, 1024))


class PasswordChange(Schema):
    current_password = String(required=True, validate=Length(1, 1024))
    new_password = String(required=True, validate=Length(1, 1024))


class TotpStartOut(Schema):
    secret = String()
    otpauth_uri = String()


class OtpIn(Schema):
    otp = String(required=True, validate=Length(1, 32))


class RecoveryCodesOut(Schema):
    codes = List(String())


class CertQuery(Schema):
    username = String(validate=Length(1, 80))


class RevokeIn(Schema):
    reason = String(load_default="", validate=Length(0, 500))
