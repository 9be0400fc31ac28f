"""Socket.IO: the secretariat's live board of a ballot, and each member's ballot notices."""

from __future__ import annotations

from typing import Any

from flask_login import current_user
from flask_socketio import join_room

from ballots import service
from ecabinet.errors import AppError, Forbidden, Invalid, NotAuthenticated
from ecabinet.extensions import socketio

_registered = False


def register() -> None:
    global _registered
    if _registered:
        return
    _registered = True

    @socketio.on("join_ballot")
    def on_join_ballot(payload: Any = None) -> dict[str, Any]:
        """The secretariat's board joins ``ballot:<id>``; it then receives ``ballot.answered``/``ballot.closed``."""
        try:
            if not current_user.is_authenticated:
                raise NotAuthenticated()
            ballot_id = payload.get("ballot_id") if isinstance(payload, dict) else None
            if not isinstance(ballot_id, int):
                raise Invalid()
            ballot = service.get_ballot_for(current_user, ballot_id)
            if not current_user.is_secretariat:
                raise Forbidden("secretariat_only")
            join_room(service.room(ballot.id))
            return {"ok": True, "answered": service.answered_count(ballot)}
        except AppError as error:
            return {"ok": False, **error.body()}

    @socketio.on("join_ballots")
    def on_join_ballots(payload: Any = None) -> dict[str, Any]:
        """A member's tablet joins its own room: ``ballot.issued`` and ``ballot.reminder`` reach it there."""
        if not current_user.is_authenticated:
            return {"ok": False, **NotAuthenticated().body()}
        join_room(service.user_room(current_user.id))
        return {"ok": True}
