"""The kinds of notification: each domain registers its own (the core names none), with the label a
person chooses a channel for and the headline the mail and the list show."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask_babel import gettext
from flask_babel import lazy_gettext as _l

if TYPE_CHECKING:
    from ecabinet.notifications.models import Notification


@dataclass(frozen=True)
class Kind:
    code: str
    #: what the person chooses a channel for ("A meeting is published")
    label: Any
    #: the mail's subject and the list's line, with ``%(title)s`` ("Invitation to the meeting: %(title)s")
    headline: Any
    #: the order on the preferences screen (domains' kinds grouped)
    order: int = 50


KINDS: dict[str, Kind] = {}

#: the details a notification's ``data`` may carry, in the order shown: field -> (label, is a time)
DETAILS: dict[str, tuple[Any, bool]] = {
    "starts_at": (_l("Time"), True),
    "location": (_l("Place"), False),
    "deadline": (_l("Deadline"), True),
    "reason": (_l("Reason"), False),
    "version": (_l("Dossier version"), False),
}


def register_kind(code: str, *, label: Any, headline: Any, order: int = 50) -> None:
    # deferred: ecabinet.web imports the ecabinet package, which imports this one
    from ecabinet.web import register_labels

    KINDS[code] = Kind(code=code, label=label, headline=headline, order=order)
    register_labels("notification_kind", {code: label})


def ordered() -> list[Kind]:
    return sorted(KINDS.values(), key=lambda kind: (kind.order, kind.code))


def headline(notification: Notification) -> str:
    """The one line saying what happened; for a classified subject only that there is something new."""
    kind = KINDS.get(notification.kind)
    if notification.classified or kind is None:
        return gettext("Something new for you in the Government e-Cabinet")
    return str(kind.headline) % {"title": notification.title}
