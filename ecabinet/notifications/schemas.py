"""Request and response shapes of the notifications API."""

from apiflask import Schema
from apiflask.fields import Boolean, Dict, Integer, List, Nested, String
from apiflask.validators import Length, OneOf

from ecabinet.notifications.models import Channel, MailState


class SubjectOut(Schema):
    type = String()
    id = Integer()


class NotificationOut(Schema):
    id = Integer()
    kind = String()
    #: what it is about and its page (relative to ECABINET_PUBLIC_URL)
    subject = Nested(SubjectOut)
    url = String()
    #: empty for a subject at Mật or above (``classified``): the link alone says where to look
    title = String()
    #: the line to show, in the caller's language
    text = String()
    classified = Boolean()
    data = Dict()
    created_at = String()
    read_at = String(allow_none=True)


class NotificationInList(NotificationOut):
    """A notification in the list (its own class: apispec registers a nested schema under its own name)."""


class NotificationsOut(Schema):
    notifications = List(Nested(NotificationInList))
    unread = Integer()


class NotificationsQuery(Schema):
    unread = Boolean(load_default=False)


class ReadAllOut(Schema):
    marked = Integer()
    unread = Integer()


class PreferenceIn(Schema):
    kind = String(required=True, validate=Length(1, 40))
    channel = String(required=True, validate=OneOf([c.value for c in Channel]))


class PreferenceOut(Schema):
    kind = String()
    label = String()
    channel = String()


class PreferencesIn(Schema):
    preferences = List(Nested(PreferenceIn), load_default=list, validate=Length(0, 100))
    language = String(validate=OneOf(["vi", "en"]))


class PreferencesOut(Schema):
    #: the language the caller's mail is written in
    language = String()
    preferences = List(Nested(PreferenceOut))


class OutboxQuery(Schema):
    state = String(validate=OneOf([s.value for s in MailState]))


class OutboxMailOut(Schema):
    id = Integer()
    notification_id = Integer()
    kind = String()
    user_id = Integer()
    recipient = String()
    to = String()
    subject = Nested(SubjectOut)
    title = String()
    state = String()
    attempts = Integer()
    created_at = String()
    sent_at = String(allow_none=True)
    next_attempt_at = String(allow_none=True)
    #: why the last attempt failed (the SMTP server's answer or the connection error)
    error = String()
    #: the kind of failure: unreachable, tls, login_refused, recipient_refused, server_refused, disconnected,
    #: invalid; "" when none (or the reason is one of ours, such as an account without an address)
    cause = String()


class OutboxOut(Schema):
    counts = Dict()
    smtp_configured = Boolean()
    mails = List(Nested(OutboxMailOut))
