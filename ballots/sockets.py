"""Socket.IO: the secretariat's live board of a ballot, and each member's ballot notices."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_socketio import join_room

from ballots import service
from ecabinet import realtime
from ecabinet.auth.models import User
from ecabinet.database import db
from ecabinet.errors import AppError, Forbidden, Invalid, NotAuthenticated, NotFound
from ecabinet.extensions import socketio
from ecabinet.inputs import is_db_int


def _socket_user() -> User:
    user_id = realtime.socket_user_id(request.sid)
    user = db.session.get(User, user_id) if user_id is not None else None
    if user is None:
        raise NotAuthenticated()
    return user


def register() -> None:
    """Bind the handlers to the app's Socket.IO server (a new one per ``create_app``)."""

    @socketio.on("join_ballot")
    def on_join_ballot(payload: Any = None) -> dict[str, Any]:
        """Sent by the secretariat's board; it then receives ``ballot.answered`` and ``ballot.closed``."""
        try:
            user = _socket_user()
            ballot_id = payload.get("ballot_id") if isinstance(payload, dict) else None
            if not isinstance(ballot_id, int):
                raise Invalid(fields={"ballot_id": "required"})
            if not is_db_int(ballot_id):
                raise NotFound()
            ballot = service.get_ballot_for(user, ballot_id)
            if not user.is_secretariat:
                raise Forbidden("secretariat_only")
            join_room(service.room(ballot.id))
            return {"ok": True, "answered": service.answered_count(ballot)}
        except AppError as error:
            return {"ok": False, **error.body()}
        finally:
            db.session.remove()

    @socketio.on("join_ballots")
    def on_join_ballots(payload: Any = None) -> dict[str, Any]:
        """Sent by a member's tablet; ``ballot.issued`` and ``ballot.reminder`` for that member arrive there."""
        try:
            user = _socket_user()
            join_room(service.user_room(user.id))
            return {"ok": True}
        except AppError as error:
            return {"ok": False, **error.body()}
        finally:
            db.session.remove()
