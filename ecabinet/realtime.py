"""Event streams: stored with a per-stream ``seq``, broadcast after commit, replayed on join.

Two kinds of stream: a meeting's (``MeetingEvent``, one ``seq`` per meeting) and a user's own
(``UserEvent``, one ``seq`` per user: ballots, notices, tasks). Every real-time message of the app
leaves through here; domains never call Socket.IO themselves.

The database is the source of truth (Redis pub/sub is fire-and-forget). Each socket has a
per-stream watermark: a live event is delivered only if its ``seq`` is above what that socket
already received, and events arriving while a join replays from the database are held back and
flushed after the replay, so a tablet sees every event once and in order across the seam.

Audiences: a meeting event may be meant for some of the room only (the groups the meetings domain
names, e.g. one item's guests). The ``seq`` stays one counter per meeting with no gaps for
everyone: a socket outside an event's audience receives, at that ``seq``, a ``hidden`` event
(type and data withheld), live and in catch-up alike, so "synced to #N" and gap detection hold for
every recipient. The audience is decided once per event, and each socket's groups once per join.

Hall displays: a projector connects with the read-only credential the secretariat issued (not as a
person) and joins its one meeting's stream with no event whole: it receives every ``seq`` hidden, the
nudge to read again what a hall may show (the meetings domain's projector state).
"""

from __future__ import annotations

import functools
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
from sqlalchemy import ForeignKey, Index, String, Text, bindparam, func, insert, select
from sqlalchemy.orm import Mapped, mapped_column

from ecabinet.adapters import socketio_pubsub
from ecabinet.auth.models import SessionKind, User
from ecabinet.database import Model, UTCDateTime, after_commit, db, utcnow
from ecabinet.errors import AppError, Invalid, NotAuthenticated, NotFound
from ecabinet.extensions import socketio as socketio_ext
from ecabinet.inputs import is_db_int

log = logging.getLogger(__name__)
EVENT_NAME = "event"
#: the type of the placeholder a socket outside an event's audience receives at that seq
HIDDEN = "hidden"
SWEEP_INTERVAL_SECONDS = 1.0
#: who receives an event: None for everyone in the stream, else the groups it is meant for
Audience = frozenset[str] | None


class MeetingEvent(Model):
    __tablename__ = "meeting_events"
    __table_args__ = (Index("uq_meeting_events_meeting_seq", "meeting_id", "seq", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"))
    seq: Mapped[int]
    type: Mapped[str] = mapped_column(String(60))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    data: Mapped[str] = mapped_column(Text, default="{}")
    #: the groups the event is meant for, space-separated; None: everyone who may join the meeting
    audience: Mapped[str | None] = mapped_column(String(300), default=None)

    def payload(self) -> dict[str, Any]:
        return {"meeting_id": self.meeting_id, "seq": self.seq, "type": self.type,
                "at": self.at.isoformat(), "data": json.loads(self.data)}

    def groups(self) -> Audience:
        return _decode_audience(self.audience)


class UserEvent(Model):
    """An event of one user's own stream (ballots issued to them, reminders, their tasks, the board)."""

    __tablename__ = "user_events"
    __table_args__ = (Index("uq_user_events_user_seq", "user_id", "seq", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    seq: Mapped[int]
    type: Mapped[str] = mapped_column(String(60))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    data: Mapped[str] = mapped_column(Text, default="{}")

    def payload(self) -> dict[str, Any]:
        return {"stream": "user", "user_id": self.user_id, "seq": self.seq, "type": self.type,
                "at": self.at.isoformat(), "data": json.loads(self.data)}


def _encode_audience(audience: Audience) -> str | None:
    return None if audience is None else " ".join(sorted(audience))


def _decode_audience(text: str | None) -> Audience:
    return None if text is None else frozenset(text.split())


def visible_to(audience: Audience, groups: frozenset[str]) -> bool:
    """Whether a socket (or reader) of these groups is in the event's audience."""
    return audience is None or not audience.isdisjoint(groups)


def hidden(payload: dict[str, Any]) -> dict[str, Any]:
    """What a recipient outside the audience gets at that seq: the number and time, nothing else."""
    return {**payload, "type": HIDDEN, "data": {}}


def room_name(meeting_id: int) -> str:
    return f"meeting:{meeting_id}"


def user_room_name(user_id: int) -> str:
    return f"user:{user_id}"


_CURRENT_SEQ = select(func.coalesce(func.max(MeetingEvent.seq), 0)).where(MeetingEvent.meeting_id == bindparam("id"))
_APPEND_EVENT = insert(MeetingEvent)


def current_seq(meeting_id: int) -> int:
    db.session.flush()  # the transaction's changes first (the count is read on the connection, past autoflush)
    return db.session.connection().scalar(_CURRENT_SEQ, {"id": meeting_id}) or 0


_RESOLVE: Any = object()
#: (meeting id, event type, data) -> the event's audience; set by the meetings package
AudienceResolver = Callable[[int, str, dict[str, Any]], Audience]
_audience_resolver: AudienceResolver | None = None


def set_audience_resolver(resolver: AudienceResolver) -> None:
    global _audience_resolver
    _audience_resolver = resolver


def publish(meeting_id: int, event_type: str, data: dict[str, Any], *, audience: Audience = _RESOLVE) -> MeetingEvent:
    """Append the next event of a meeting; it is broadcast to the room after the commit. The event returned
    holds what was written (its ``seq`` and time for a receipt); it is no object of the session.

    The audience, unless given, is the one the meetings domain's rule gives the event (its
    ``events.audience_of``). Precondition: inside ``write_transaction()`` (writers are serialised,
    so ``seq`` has no gaps).
    """
    if audience is _RESOLVE:
        audience = _audience_resolver(meeting_id, event_type, data) if _audience_resolver is not None else None
    # the counter's read flushes the transaction's changes; the event itself goes in one INSERT on the
    # session's connection, not through the ORM's flush (events are never changed once written)
    row = {"meeting_id": meeting_id, "seq": current_seq(meeting_id) + 1, "type": event_type, "at": utcnow(),
           "data": json.dumps(data, ensure_ascii=False, default=str), "audience": _encode_audience(audience)}
    db.session.connection().execute(_APPEND_EVENT, row)
    event = MeetingEvent(**row)
    payload = event.payload()
    envelope = payload if audience is None else {"event": payload, "audience": sorted(audience)}
    after_commit(lambda: socketio_ext.emit(EVENT_NAME, envelope, to=room_name(meeting_id)))
    return event


def events_after(meeting_id: int, last_seq: int) -> list[dict[str, Any]]:
    """Every event of the meeting after ``last_seq``, whole (the archive's record)."""
    rows = db.session.scalars(select(MeetingEvent).where(MeetingEvent.meeting_id == meeting_id,
                                                         MeetingEvent.seq > last_seq)
                              .order_by(MeetingEvent.seq)).all()
    return [row.payload() for row in rows]


def events_for(meeting_id: int, last_seq: int, groups: frozenset[str], *, whole: bool = True) -> list[dict[str, Any]]:
    """Catch-up for a reader of these groups: every seq after ``last_seq``, hidden where not theirs
    (every one hidden when not ``whole``: a hall display's)."""
    rows = db.session.scalars(select(MeetingEvent).where(MeetingEvent.meeting_id == meeting_id,
                                                         MeetingEvent.seq > last_seq)
                              .order_by(MeetingEvent.seq)).all()
    return [row.payload() if whole and visible_to(row.groups(), groups) else hidden(row.payload()) for row in rows]


def current_user_seq(user_id: int) -> int:
    return db.session.scalar(select(func.coalesce(func.max(UserEvent.seq), 0))
                             .where(UserEvent.user_id == user_id)) or 0


def publish_to_user(user_id: int, event_type: str, data: dict[str, Any]) -> UserEvent:
    """Append the next event of one user's own stream; it reaches their sockets after the commit.

    Precondition: inside ``write_transaction()``.
    """
    event = UserEvent(user_id=user_id, seq=current_user_seq(user_id) + 1, type=event_type, at=utcnow(),
                      data=json.dumps(data, ensure_ascii=False, default=str))
    db.session.add(event)
    db.session.flush()
    payload = event.payload()
    after_commit(lambda: socketio_ext.emit(EVENT_NAME, payload, to=user_room_name(user_id)))
    return event


def user_events_after(user_id: int, last_seq: int) -> list[dict[str, Any]]:
    rows = db.session.scalars(select(UserEvent).where(UserEvent.user_id == user_id, UserEvent.seq > last_seq)
                              .order_by(UserEvent.seq)).all()
    return [row.payload() for row in rows]


def secretariat_ids(level: str | None = None) -> list[int]:
    """Active users of the secretariat (cleared for ``level`` when given): whose streams office events go to."""
    users = db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.id))
    return [u.id for u in users if u.is_secretariat and (level is None or u.may_read(level))]


# --- who may join a meeting room: decided by the meetings package -------------------------------

#: (user id, meeting id) -> the user's groups in the meeting's room, or None when they may not join
ViewProvider = Callable[[int, int], "frozenset[str] | None"]
#: (meeting_id, user ids in its room) -> the ids that may stay; the sweeper's batch form of the rule
RoomAuthorizer = Callable[[int, set[int]], set[int]]
_view_provider: ViewProvider | None = None
_room_authorizer: RoomAuthorizer | None = None


def set_join_authorizer(view_provider: ViewProvider, *, room_authorizer: RoomAuthorizer) -> None:
    global _view_provider, _room_authorizer
    _view_provider = view_provider
    _room_authorizer = room_authorizer


def who_may_stay(meeting_id: int, user_ids: set[int]) -> set[int]:
    return _room_authorizer(meeting_id, user_ids) if _room_authorizer is not None else set()


def view_of(user_id: int, meeting_id: int) -> frozenset[str] | None:
    """The user's groups in the meeting's room (None: may not join)."""
    return _view_provider(user_id, meeting_id) if _view_provider is not None else None


#: a display credential -> (display id, its meeting id), or None when unknown or revoked
DisplayAuthenticator = Callable[[str], "tuple[int, int] | None"]
#: display ids -> those whose credential still holds (the sweeper's check)
DisplayValidator = Callable[[set[int]], set[int]]
_display_authenticator: DisplayAuthenticator | None = None
_display_validator: DisplayValidator | None = None


def set_display_authenticator(authenticate: DisplayAuthenticator, *, still_valid: DisplayValidator) -> None:
    global _display_authenticator, _display_validator
    _display_authenticator = authenticate
    _display_validator = still_valid


# --- exactly-once, in-order delivery per socket --------------------------------------------------

@dataclass
class _Stream:
    delivered: int = 0
    replaying: bool = False
    held: list[tuple[int, list[Any]]] = field(default_factory=list)
    #: the socket's groups in the stream (which events it receives whole)
    groups: frozenset[str] = frozenset()
    #: False for a hall display: every event reaches it hidden
    whole: bool = True


class DeliveryTracker:
    """Per (socket, stream room) watermark; holds live events back while a replay runs.

    Streams are indexed by socket first, so a disconnect forgets its streams without scanning
    every socket's (a reconnect storm of N tablets would otherwise cost N² steps).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._streams: dict[str, dict[str, _Stream]] = {}

    def begin_replay(self, sid: str, room: str, last_seq: int, groups: frozenset[str] = frozenset(),
                     *, whole: bool = True) -> None:
        with self._lock:
            self._streams.setdefault(sid, {})[room] = _Stream(delivered=last_seq, replaying=True, groups=groups,
                                                              whole=whole)

    def _stream(self, sid: str, room: str) -> _Stream | None:
        streams = self._streams.get(sid)
        return streams.get(room) if streams else None

    def offer(self, sid: str, room: str, seq: int, packets: list[Any], send: Callable[[Any], None],
              audience: Audience = None, hidden_packets: Callable[[], list[Any]] | None = None) -> None:
        with self._lock:
            stream = self._stream(sid, room)
            if stream is None:
                return
            if hidden_packets is not None and not (stream.whole and visible_to(audience, stream.groups)):
                packets = hidden_packets()
            if stream.replaying:
                stream.held.append((seq, packets))
            elif seq > stream.delivered:
                stream.delivered = seq
                for item in packets:
                    send(item)

    def replayed(self, sid: str, room: str, seq: int, packets: list[Any], send: Callable[[Any], None]) -> None:
        with self._lock:
            stream = self._stream(sid, room)
            if stream is None or seq <= stream.delivered:
                return
            stream.delivered = seq
            for item in packets:
                send(item)

    def end_replay(self, sid: str, room: str, send: Callable[[Any], None]) -> None:
        with self._lock:
            stream = self._stream(sid, room)
            if stream is None:
                return
            for seq, packets in sorted(stream.held, key=lambda held: held[0]):
                if seq > stream.delivered:
                    stream.delivered = seq
                    for item in packets:
                        send(item)
            stream.held.clear()
            stream.replaying = False

    def forget(self, sid: str, room: str | None = None) -> None:
        with self._lock:
            if room is None:
                self._streams.pop(sid, None)
            elif (streams := self._streams.get(sid)) is not None:
                streams.pop(room, None)
                if not streams:
                    del self._streams[sid]


class SequencedDelivery(socketio.Manager):
    """Local delivery of stream events through the tracker; encodes each broadcast once (and its hidden
    form once, when a socket outside the audience needs it)."""

    tracker: DeliveryTracker
    #: set by ``ecabinet.wsframes.install`` on the gevent server: the event's text -> its frames,
    #: whose ``write_to(engine.io socket)`` says whether they went straight to that socket
    frames_of: Callable[[str], Any] | None = None

    def initialize(self) -> None:
        super().initialize()
        # once per manager: Flask-SocketIO's test client calls this again for each client it makes
        if getattr(self, "tracker", None) is None:
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
        payload, audience = _unwrap(data)
        packets = self._encode(namespace, payload)
        frames = self.frames_of(packets[0].encode()) if self.frames_of and len(packets) == 1 else None
        def encode_hidden() -> list[Any]:
            return self._encode(namespace, hidden(payload))

        # encoded once, and only when a socket outside the audience (or a hall display) is in the room
        hidden_packets = functools.cache(encode_hidden)
        for sid, eio_sid in list(self.get_participants(namespace, room)):
            def send(item: Any, eio_sid: str = eio_sid) -> None:
                # the prepared frames are the whole event's: a hidden one goes the plain way
                self._deliver(eio_sid, item, frames if item is packets[0] else None)

            self.tracker.offer(sid, room, payload["seq"], packets, send, audience, hidden_packets)
        return None

    def _deliver(self, eio_sid: str, item: Any, frames: Any) -> None:
        if frames is not None:
            engineio_socket = self.server.eio.sockets.get(eio_sid)
            if engineio_socket is not None and frames.write_to(engineio_socket):
                return
        socketio_pubsub.send_packet(self.server, eio_sid, item)

    def replay(self, sid: str, namespace: str, room: str, payloads: list[dict[str, Any]]) -> None:
        eio_sid = self.eio_sid_from_sid(sid, namespace)
        if eio_sid is None:
            return

        def send(item: Any) -> None:
            socketio_pubsub.send_packet(self.server, eio_sid, item)

        for payload in payloads:
            self.tracker.replayed(sid, room, payload["seq"], self._encode(namespace, payload), send)
        self.tracker.end_replay(sid, room, send)


class SequencedRedisDelivery(socketio.RedisManager, SequencedDelivery):
    """Redis pub/sub between processes; each process delivers locally through the tracker."""

    def emit(self, event: str, data: Any, namespace: str | None = None, room: Any = None, skip_sid: Any = None,
             callback: Any = None, to: Any = None, **kwargs: Any) -> None:
        if kwargs.get("ignore_queue") or not _is_meeting_event(event, data, callback):
            # PubSubManager.emit takes no namespace as "/" too
            return super().emit(event, data, namespace=namespace or "/", room=room, skip_sid=skip_sid,
                                callback=callback, to=to, **kwargs)
        # python-socketio serves this process's tablets before it publishes, so the other processes'
        # tablets would wait for all of this one's: two processes would be no faster than one. Other
        # emits (to one socket, where nobody else waits) keep the library's order.
        socketio_pubsub.publish_then_deliver(self, socketio_pubsub.emit_message(
            self, event, data, namespace or "/", to or room, skip_sid))
        return None


def _sid() -> str:
    """The Socket.IO id of the socket whose event is being handled."""
    return request.sid  # type: ignore[attr-defined]  # set by Flask-SocketIO, unknown to Flask's Request


def _is_meeting_event(event: str, data: Any, callback: Any) -> bool:
    """A stream event (sequenced, delivered through the tracker) rather than any other emit: the payload
    itself (meant for everyone in the stream) or ``{"event": payload, "audience": [groups]}``."""
    if event != EVENT_NAME or callback or not isinstance(data, dict):
        return False
    return "seq" in data or (isinstance(data.get("event"), dict) and "seq" in data["event"])


def _unwrap(data: dict[str, Any]) -> tuple[dict[str, Any], Audience]:
    if "seq" in data:
        return data, None
    return data["event"], frozenset(data["audience"])


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


@dataclass
class _DisplayConnection:
    display_id: int
    meeting_id: int


_connections: dict[str, _Connection] = {}
_displays: dict[str, _DisplayConnection] = {}
_connections_lock = threading.Lock()


def _authenticate(auth: Any) -> Any:
    # deferred: ecabinet.auth.service publishes through this module (a cycle at import)
    from ecabinet.auth.loader import BROWSER_SESSION_KEY
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


def _check_unrestricted(user_id: int) -> None:
    """A join is refused, as the API is, while the member must change a reset password or set up the
    second factor their role requires (a role granted after the socket connected counts too)."""
    # deferred: ecabinet.auth.loader imports the ecabinet package, which imports this module
    from ecabinet.auth.loader import restriction
    from ecabinet.auth.models import User

    user = db.session.get(User, user_id)
    refusal = NotAuthenticated() if user is None or not user.is_active else restriction(user)
    if refusal is not None:
        raise refusal


def _error_ack(error: AppError) -> dict[str, Any]:
    return {"ok": False, **error.body()}


def register_socket_handlers() -> None:
    """Connect and join on the default namespace (tablets and browser pages connect here)."""

    @socketio_ext.on("connect")
    def on_connect(auth: Any = None) -> None:
        """Sent by every client; refused without a valid token, session cookie or display credential,
        and (403, as the API) while the member must change a reset password or set up the second
        factor their role requires."""
        from ecabinet.auth.loader import restriction  # deferred: see _check_unrestricted

        display_token = auth.get("display_token") if isinstance(auth, dict) else None
        if isinstance(display_token, str) and display_token:
            _connect_display(display_token)
            return
        auth_session = _authenticate(auth)
        refusal = NotAuthenticated() if auth_session is None else restriction(auth_session.user)
        if refusal is not None:
            db.session.remove()
            # the client library shows the first argument as the error's message and the second as its data
            raise ConnectionRefusedError(refusal.code, refusal.body())
        with _connections_lock:
            _connections[_sid()] = _Connection(auth_session.user_id, auth_session.id, auth_session.expires_at)
        db.session.remove()

    @socketio_ext.on("disconnect")
    def on_disconnect(*args: Any) -> None:
        with _connections_lock:
            _connections.pop(_sid(), None)
            _displays.pop(_sid(), None)
        _manager().tracker.forget(_sid())

    @socketio_ext.on("join")
    def on_join(payload: Any = None) -> dict[str, Any]:
        """A tablet joins a meeting's stream (``meeting_id``) or a page its user's own (``"stream": "user"``);
        it gets an ack with the stream's current seq, the missed events in order, then live ones."""
        try:
            meeting_id, last_seq = _parse_join(payload)
            display = _displays.get(_sid())
            if display is not None:
                return _join_display(display, meeting_id, last_seq)
            connection = _connections.get(_sid())
            if connection is None:
                raise NotAuthenticated()
            _check_unrestricted(connection.user_id)
            if meeting_id is None:
                room, seq = user_room_name(connection.user_id), current_user_seq(connection.user_id)
                groups: frozenset[str] = frozenset()
                last_seq = seq if last_seq is None else last_seq
                missed = user_events_after(connection.user_id, last_seq)
            else:
                # one user's groups from their own rows: a reconnect storm must not scan the participants
                view = view_of(connection.user_id, meeting_id)
                if view is None:
                    raise NotFound()
                room, seq, groups, last_seq = room_name(meeting_id), current_seq(meeting_id), view, last_seq or 0
                missed = events_for(meeting_id, last_seq, groups)
            manager = _manager()
            manager.tracker.begin_replay(_sid(), room, last_seq, groups)
            join_room(room)
            if meeting_id is not None:
                connection.meetings.add(meeting_id)
            sid = _sid()
            socketio_ext.start_background_task(manager.replay, sid, "/", room, missed)
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
        if meeting_id is None:
            user_id = socket_user_id(_sid())
            if user_id is not None:
                socketio_ext.server.leave_room(_sid(), user_room_name(user_id), namespace="/")
                _manager().tracker.forget(_sid(), user_room_name(user_id))
        else:
            _leave(_sid(), meeting_id)
        return {"ok": True}


def _connect_display(token: str) -> None:
    """A hall display's connection: its credential names its one meeting; refused like a person's."""
    try:
        found = _display_authenticator(token) if _display_authenticator is not None else None
    finally:
        db.session.remove()
    if found is None:
        refusal = NotAuthenticated("token_invalid")
        raise ConnectionRefusedError(refusal.code, refusal.body())
    with _connections_lock:
        _displays[_sid()] = _DisplayConnection(*found)


def _join_display(display: _DisplayConnection, meeting_id: int | None, last_seq: int | None) -> dict[str, Any]:
    """A display joins its own meeting's stream only, and receives every event hidden."""
    if meeting_id != display.meeting_id:
        raise NotFound()
    room, seq, last_seq = room_name(meeting_id), current_seq(meeting_id), last_seq or 0
    missed = events_for(meeting_id, last_seq, frozenset(), whole=False)
    manager = _manager()
    manager.tracker.begin_replay(_sid(), room, last_seq, whole=False)
    join_room(room)
    socketio_ext.start_background_task(manager.replay, _sid(), "/", room, missed)
    return {"ok": True, "seq": seq}


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 2**53


def _parse_join(payload: Any) -> tuple[int | None, int | None]:
    """(meeting id, last seq) of a meeting's stream, or (None, last seq or None) of the user's own stream."""
    if not isinstance(payload, dict):
        raise Invalid(fields={"meeting_id": "required"})
    last_seq = payload.get("last_seq")
    if payload.get("stream") == "user" and "meeting_id" not in payload:
        if last_seq is not None and not _is_count(last_seq):
            raise Invalid(fields={"last_seq": "non-negative integer"})
        return None, last_seq
    meeting_id = payload.get("meeting_id")
    if last_seq is None:
        last_seq = 0
    if not isinstance(meeting_id, int) or isinstance(meeting_id, bool) or not _is_count(last_seq):
        raise Invalid(fields={"meeting_id": "integer", "last_seq": "non-negative integer"})
    if not is_db_int(meeting_id):
        raise NotFound()  # no meeting has an id the database cannot hold (as a URL's <int:...>)
    return meeting_id, last_seq


def _leave(sid: str, meeting_id: int) -> None:
    socketio_ext.server.leave_room(sid, room_name(meeting_id), namespace="/")
    _manager().tracker.forget(sid, room_name(meeting_id))
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
        from ecabinet.auth.service import sessions_ended_since  # deferred: auth.service imports this module

        started = utcnow()
        self._sweep_displays()
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

    @staticmethod
    def _sweep_displays() -> None:
        """A revoked display credential ends its screen's connection within a second (one query)."""
        displays = list(_displays.items())
        if not displays or _display_validator is None:
            return
        valid = _display_validator({display.display_id for _, display in displays})
        for sid, display in displays:
            if display.display_id not in valid:
                socketio_ext.server.disconnect(sid, namespace="/")


def sleep(seconds: float) -> None:
    """Yield for ``seconds`` the way the server's async mode does (domains' schedulers)."""
    socketio_ext.sleep(seconds)


def start_background_task(target: Callable[[], None]) -> None:
    socketio_ext.start_background_task(target)


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
