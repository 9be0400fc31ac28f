"""Meeting events: stored with a per-meeting ``seq``, broadcast after commit, replayed on join.

The database is the source of truth (Redis pub/sub is fire-and-forget). Each socket has a
per-meeting watermark: a live event is delivered only if its ``seq`` is above what that socket
already received, and events arriving while a join replays from the database are held back and
flushed after the replay, so a tablet sees every event once and in order across the seam.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import socketio
from flask import request, session
from flask_socketio import ConnectionRefusedError, join_room
from socketio import packet
from sqlalchemy import ForeignKey, Index, String, Text, func, select
from sqlalchemy.orm import Mapped, mapped_column

from ecabinet.database import UTCDateTime, after_commit, db, utcnow
from ecabinet.errors import AppError, Invalid, NotAuthenticated, NotFound
from ecabinet.extensions import socketio as socketio_ext
from ecabinet.inputs import is_db_int

log = logging.getLogger(__name__)
EVENT_NAME = "event"
SWEEP_INTERVAL_SECONDS = 1.0


class MeetingEvent(db.Model):
    __tablename__ = "meeting_events"
    __table_args__ = (Index("uq_meeting_events_meeting_seq", "meeting_id", "seq", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"))
    seq: Mapped[int]
    type: Mapped[str] = mapped_column(String(60))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    data: Mapped[str] = mapped_column(Text, default="{}")

    def payload(self) -> dict[str, Any]:
        return {"meeting_id": self.meeting_id, "seq": self.seq, "type": self.type,
                "at": self.at.isoformat(), "data": json.loads(self.data)}


def room_name(meeting_id: int) -> str:
    return f"meeting:{meeting_id}"


def current_seq(meeting_id: int) -> int:
    return db.session.scalar(select(func.coalesce(func.max(MeetingEvent.seq), 0))
                             .where(MeetingEvent.meeting_id == meeting_id)) or 0


def publish(meeting_id: int, event_type: str, data: dict[str, Any]) -> MeetingEvent:
    """Append the next event of a meeting; it is broadcast to the room after the commit.

    Precondition: inside ``write_transaction()`` (writers are serialised, so ``seq`` has no gaps).
    """
    event = MeetingEvent(meeting_id=meeting_id, seq=current_seq(meeting_id) + 1, type=event_type,
                         at=utcnow(), data=json.dumps(data, ensure_ascii=False, default=str))
    db.session.add(event)
    db.session.flush()
    payload = event.payload()
    after_commit(lambda: socketio_ext.emit(EVENT_NAME, payload, to=room_name(meeting_id)))
    return event


def events_after(meeting_id: int, last_seq: int) -> list[dict[str, Any]]:
    rows = db.session.scalars(select(MeetingEvent).where(MeetingEvent.meeting_id == meeting_id,
                                                         MeetingEvent.seq > last_seq)
                              .order_by(MeetingEvent.seq)).all()
    return [row.payload() for row in rows]


# --- who may join a meeting room: decided by the meetings package -------------------------------

JoinAuthorizer = Callable[[Any, int], bool]
#: (meeting_id, user ids in its room) -> the ids that may stay; the sweeper's batch form of may_join
RoomAuthorizer = Callable[[int, set[int]], set[int]]
_join_authorizer: JoinAuthorizer | None = None
_room_authorizer: RoomAuthorizer | None = None


def set_join_authorizer(authorizer: JoinAuthorizer, *, room_authorizer: RoomAuthorizer | None = None) -> None:
    global _join_authorizer, _room_authorizer
    _join_authorizer = authorizer
    _room_authorizer = room_authorizer


def who_may_stay(meeting_id: int, user_ids: set[int]) -> set[int]:
    if _room_authorizer is not None:
        return _room_authorizer(meeting_id, user_ids)
    from ecabinet.auth.models import User

    return {uid for uid in user_ids if (user := db.session.get(User, uid)) is not None and may_join(user, meeting_id)}


def may_join(user: Any, meeting_id: int) -> bool:
    return _join_authorizer is not None and _join_authorizer(user, meeting_id)


# --- exactly-once, in-order delivery per socket --------------------------------------------------

@dataclass
class _Stream:
    delivered: int = 0
    replaying: bool = False
    held: list[tuple[int, list[Any]]] = field(default_factory=list)


class DeliveryTracker:
    """Per (socket, meeting) watermark; holds live events back while a replay runs.

    Streams are indexed by socket first, so a disconnect forgets its streams without scanning
    every socket's (a reconnect storm of N tablets would otherwise cost N² steps).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._streams: dict[str, dict[int, _Stream]] = {}

    def begin_replay(self, sid: str, meeting_id: int, last_seq: int) -> None:
        with self._lock:
            self._streams.setdefault(sid, {})[meeting_id] = _Stream(delivered=last_seq, replaying=True)

    def _stream(self, sid: str, meeting_id: int) -> _Stream | None:
        streams = self._streams.get(sid)
        return streams.get(meeting_id) if streams else None

    def offer(self, sid: str, meeting_id: int, seq: int, packets: list[Any], send: Callable[[Any], None]) -> None:
        with self._lock:
            stream = self._stream(sid, meeting_id)
            if stream is None:
                return
            if stream.replaying:
                stream.held.append((seq, packets))
            elif seq > stream.delivered:
                stream.delivered = seq
                for item in packets:
                    send(item)

    def replayed(self, sid: str, meeting_id: int, seq: int, packets: list[Any], send: Callable[[Any], None]) -> None:
        with self._lock:
            stream = self._stream(sid, meeting_id)
            if stream is None or seq <= stream.delivered:
                return
            stream.delivered = seq
            for item in packets:
                send(item)

    def end_replay(self, sid: str, meeting_id: int, send: Callable[[Any], None]) -> None:
        with self._lock:
            stream = self._stream(sid, meeting_id)
            if stream is None:
                return
            for seq, packets in sorted(stream.held, key=lambda held: held[0]):
                if seq > stream.delivered:
                    stream.delivered = seq
                    for item in packets:
                        send(item)
            stream.held.clear()
            stream.replaying = False

    def forget(self, sid: str, meeting_id: int | None = None) -> None:
        with self._lock:
            if meeting_id is None:
                self._streams.pop(sid, None)
            elif (streams := self._streams.get(sid)) is not None:
                streams.pop(meeting_id, None)
                if not streams:
                    del self._streams[sid]


class SequencedDelivery(socketio.Manager):
    """Local delivery of meeting events through the tracker; encodes each broadcast once."""

    tracker: DeliveryTracker
    #: set by ``ecabinet.wsframes.install`` on the gevent server: the event's text -> its frames,
    #: whose ``write_to(engine.io socket)`` says whether they went straight to that socket
    frames_of: Callable[[str], Any] | None = None

    def initialize(self) -> None:
        super().initialize()
        self.tracker = DeliveryTracker()

    def _encode(self, namespace: str, payload: dict[str, Any]) -> list[Any]:
        from engineio import packet as eio_packet

        encoded = self.server.packet_class(packet.EVENT, namespace=namespace, data=[EVENT_NAME, payload]).encode()
        encoded = encoded if isinstance(encoded, list) else [encoded]
        return [eio_packet.Packet(eio_packet.MESSAGE, item) for item in encoded]

    def emit(self, event: str, data: Any, namespace: str, room: Any = None, skip_sid: Any = None,
             callback: Any = None, to: Any = None, **kwargs: Any) -> None:
        if not _is_meeting_event(event, data, callback):
            return super().emit(event, data, namespace, room=room, skip_sid=skip_sid, callback=callback,
                                to=to, **kwargs)
        room = to or room
        if namespace not in self.rooms:
            return None
        packets = self._encode(namespace, data)
        frames = self.frames_of(packets[0].encode()) if self.frames_of and len(packets) == 1 else None
        for sid, eio_sid in list(self.get_participants(namespace, room)):
            self.tracker.offer(sid, data["meeting_id"], data["seq"], packets,
                               lambda item, eio_sid=eio_sid: self._deliver(eio_sid, item, frames))
        return None

    def _deliver(self, eio_sid: str, item: Any, frames: Any) -> None:
        if frames is not None:
            engineio_socket = self.server.eio.sockets.get(eio_sid)
            if engineio_socket is not None and frames.write_to(engineio_socket):
                return
        self.server._send_eio_packet(eio_sid, item)

    def replay(self, sid: str, namespace: str, meeting_id: int, payloads: list[dict[str, Any]]) -> None:
        eio_sid = self.eio_sid_from_sid(sid, namespace)
        if eio_sid is None:
            return

        def send(item: Any) -> None:
            self.server._send_eio_packet(eio_sid, item)

        for payload in payloads:
            self.tracker.replayed(sid, meeting_id, payload["seq"], self._encode(namespace, payload), send)
        self.tracker.end_replay(sid, meeting_id, send)


class SequencedRedisDelivery(socketio.RedisManager, SequencedDelivery):
    """Redis pub/sub between processes; each process delivers locally through the tracker."""

    def emit(self, event: str, data: Any, namespace: str | None = None, room: Any = None, skip_sid: Any = None,
             callback: Any = None, to: Any = None, **kwargs: Any) -> None:
        if kwargs.get("ignore_queue") or not _is_meeting_event(event, data, callback):
            return super().emit(event, data, namespace=namespace, room=room, skip_sid=skip_sid,
                                callback=callback, to=to, **kwargs)
        # python-socketio serves this process's tablets before it publishes, so the other processes'
        # tablets would wait for all of this one's: two processes would be no faster than one. The
        # message is PubSubManager.emit's for a JSON payload without callback; other emits (to one
        # socket, where nobody else waits) keep the library's order.
        message = {"method": "emit", "event": event, "data": [data], "binary": False,
                   "namespace": namespace or "/", "room": to or room, "skip_sid": skip_sid, "callback": None,
                   "host_id": self.host_id}
        self._publish(message)
        self._handle_emit(message)
        return None


def _is_meeting_event(event: str, data: Any, callback: Any) -> bool:
    """A meeting event (sequenced, delivered through the tracker) rather than any other emit."""
    return event == EVENT_NAME and not callback and isinstance(data, dict) and "seq" in data


def client_manager(message_queue: str | None, channel: str = "ecabinet") -> SequencedDelivery:
    if message_queue:
        return SequencedRedisDelivery(message_queue, channel=channel)
    return SequencedDelivery()


def _manager() -> SequencedDelivery:
    return socketio_ext.server.manager


# --- connections ----------------------------------------------------------------------------------

@dataclass
class _Connection:
    user_id: int
    auth_session_id: int
    expires_at: datetime
    meetings: set[int] = field(default_factory=set)


_connections: dict[str, _Connection] = {}
_connections_lock = threading.Lock()


def _authenticate(auth: Any) -> Any:
    from ecabinet.auth.loader import BROWSER_SESSION_KEY
    from ecabinet.auth.models import SessionKind
    from ecabinet.auth.service import find_session

    token = auth.get("token") if isinstance(auth, dict) else None
    if isinstance(token, str) and token:
        return find_session(token, SessionKind.API)
    if BROWSER_SESSION_KEY in session:
        return find_session(session[BROWSER_SESSION_KEY], SessionKind.BROWSER)
    return None


def socket_user_id(sid: str) -> int | None:
    """The user who authenticated this socket (handlers authorise from it, never from the payload)."""
    connection = _connections.get(sid)
    return connection.user_id if connection else None


def _error_ack(error: AppError) -> dict[str, Any]:
    return {"ok": False, **error.body()}


def register_socket_handlers() -> None:
    """Connect and join on the default namespace (tablets and browser pages connect here)."""

    @socketio_ext.on("connect")
    def on_connect(auth: Any = None) -> None:
        """Sent by every client; refused without a valid token or session cookie."""
        auth_session = _authenticate(auth)
        if auth_session is None:
            # the client library shows the first argument as the error's message and the second as its data
            refusal = NotAuthenticated()
            raise ConnectionRefusedError(refusal.code, refusal.body())
        with _connections_lock:
            _connections[request.sid] = _Connection(auth_session.user_id, auth_session.id, auth_session.expires_at)
        db.session.remove()

    @socketio_ext.on("disconnect")
    def on_disconnect(*args: Any) -> None:
        with _connections_lock:
            _connections.pop(request.sid, None)
        _manager().tracker.forget(request.sid)

    @socketio_ext.on("join")
    def on_join(payload: Any = None) -> dict[str, Any]:
        """A tablet joins a meeting room; it gets an ack, the missed events in order, then live ones."""
        try:
            meeting_id, last_seq = _parse_join(payload)
            connection = _connections.get(request.sid)
            # the room form of the rule: a reconnect storm of N tablets must not scan N participants each
            if connection is None or connection.user_id not in who_may_stay(meeting_id, {connection.user_id}):
                raise NotFound()
            seq = current_seq(meeting_id)
            manager = _manager()
            manager.tracker.begin_replay(request.sid, meeting_id, last_seq)
            join_room(room_name(meeting_id))
            connection.meetings.add(meeting_id)
            missed = events_after(meeting_id, last_seq)
            sid = request.sid
            socketio_ext.start_background_task(manager.replay, sid, "/", meeting_id, missed)
            return {"ok": True, "seq": seq}
        except AppError as error:
            return _error_ack(error)
        finally:
            db.session.remove()

    @socketio_ext.on("leave")
    def on_leave(payload: Any = None) -> dict[str, Any]:
        try:
            meeting_id, _ = _parse_join(payload)
        except AppError as error:
            return _error_ack(error)
        _leave(request.sid, meeting_id)
        return {"ok": True}


def _parse_join(payload: Any) -> tuple[int, int]:
    if not isinstance(payload, dict):
        raise Invalid(fields={"meeting_id": "required"})
    meeting_id, last_seq = payload.get("meeting_id"), payload.get("last_seq", 0)
    if last_seq is None:
        last_seq = 0
    if not isinstance(meeting_id, int) or isinstance(meeting_id, bool) or not is_db_int(last_seq) or last_seq < 0:
        raise Invalid(fields={"meeting_id": "integer", "last_seq": "non-negative integer"})
    if not is_db_int(meeting_id):
        raise NotFound()  # no meeting has an id the database cannot hold (as a URL's <int:...>)
    return meeting_id, last_seq


def _leave(sid: str, meeting_id: int) -> None:
    socketio_ext.server.leave_room(sid, room_name(meeting_id), namespace="/")
    _manager().tracker.forget(sid, meeting_id)
    connection = _connections.get(sid)
    if connection:
        connection.meetings.discard(meeting_id)


def disconnect_auth_session(auth_session_id: int) -> None:
    """Disconnect this process's sockets of an ended login; the sweeper covers other processes."""
    for sid, connection in list(_connections.items()):
        if connection.auth_session_id == auth_session_id:
            socketio_ext.server.disconnect(sid, namespace="/")


class Sweeper:
    """Drops sockets whose login ended and rooms their user may no longer see, every second.

    It runs on the gevent hub next to the broadcasts, so its queries must not grow with the number of
    tablets: logins ended since the last sweep (one query, whose answer grows with logouts), expiry
    from each connection's own ``expires_at``, and per meeting with a room the room's users who may no
    longer see it (one query per room, whose answer is usually empty). It yields between meetings.
    """

    #: how far back each sweep looks again: a revocation stamped by another process's clock, or
    #: committed a while after it was stamped, is still seen
    OVERLAP = timedelta(minutes=1)

    def __init__(self) -> None:
        self.since = utcnow() - self.OVERLAP

    def sweep(self) -> None:
        from ecabinet.auth.service import sessions_ended_since

        started = utcnow()
        snapshot = list(_connections.items())
        ended = sessions_ended_since(self.since) if snapshot else set()
        rooms: dict[int, list[tuple[str, int]]] = {}
        for sid, connection in snapshot:
            if connection.auth_session_id in ended or connection.expires_at <= started:
                socketio_ext.server.disconnect(sid, namespace="/")
                continue
            for meeting_id in list(connection.meetings):
                rooms.setdefault(meeting_id, []).append((sid, connection.user_id))
        for meeting_id, members in rooms.items():
            socketio_ext.sleep(0)
            allowed = who_may_stay(meeting_id, {user_id for _, user_id in members})
            for sid, user_id in members:
                if user_id not in allowed:
                    _leave(sid, meeting_id)
                    socketio_ext.emit("removed", {"meeting_id": meeting_id}, to=sid)
        self.since = started - self.OVERLAP  # only after a sweep that went through


def start_sweeper(app: Any) -> None:
    sweeper = Sweeper()

    def loop() -> None:
        while True:
            socketio_ext.sleep(SWEEP_INTERVAL_SECONDS)
            with app.app_context():
                try:
                    sweeper.sweep()
                except Exception:
                    log.exception("socket sweep failed")
                finally:
                    db.session.remove()

    socketio_ext.start_background_task(loop)
