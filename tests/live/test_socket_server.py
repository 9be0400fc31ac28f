"""Real python-socketio clients against real `serve` processes: refusals, order, catch-up,
restarts, two processes joined by Redis, secret-vote payloads, revocation."""

from __future__ import annotations

import json
import signal
import time

import pytest
import socketio
import sqlalchemy as sa

from tests.conftest import issue_token
from tests.live.harness import Http, ServerProcess, Tablet
from tests.live.scenario import published_meeting

pytestmark = pytest.mark.slow


@pytest.fixture
def world(app, cast, database_url, tmp_path):
    scenario = published_meeting(cast, present=True)
    tokens = {name: issue_token(getattr(cast, name)) for name in
              ("chair", "secretary", "member_a", "member_b", "guest", "outsider")}
    servers: list[ServerProcess] = []

    def serve(**kwargs) -> ServerProcess:
        server = ServerProcess(tmp_path, database_url, **kwargs).start()
        servers.append(server)
        return server

    yield scenario, tokens, serve
    for server in servers:
        server.stop(signal.SIGKILL)


def test_connection_without_valid_credentials_is_refused(world):
    scenario, tokens, serve = world
    server = serve()
    for auth in (None, {"token": "forged"}, {"token": ""}):
        client = socketio.Client(reconnection=False)
        with pytest.raises(socketio.exceptions.ConnectionError):
            client.connect(server.url, auth=auth, transports=["websocket"], wait_timeout=5)


def test_an_expired_or_revoked_token_and_a_disabled_account_are_refused_at_connect(world, cast):
    from datetime import timedelta

    from ecabinet.auth.models import AuthSession
    from ecabinet.auth.service import token_hash
    from ecabinet.database import db, utcnow

    scenario, tokens, serve = world
    expired, revoked, disabled = issue_token(cast.member_a), issue_token(cast.member_b), issue_token(cast.delegate)
    sessions = {token: db.session.scalar(sa.select(AuthSession).where(AuthSession.token_hash == token_hash(token)))
                for token in (expired, revoked)}
    sessions[expired].expires_at = utcnow() - timedelta(seconds=1)
    sessions[revoked].revoked_at = utcnow()
    cast.delegate.active = False
    db.session.commit()
    server = serve()
    for token in (expired, revoked, disabled):
        client = socketio.Client(reconnection=False)
        with pytest.raises(socketio.exceptions.ConnectionError):
            client.connect(server.url, auth={"token": token}, transports=["websocket"], wait_timeout=5)


def test_foreign_origin_is_refused(world):
    scenario, tokens, serve = world
    server = serve()
    client = socketio.Client(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(server.url, auth={"token": tokens["member_a"]}, transports=["websocket"],
                       headers={"Origin": "https://evil.example"}, wait_timeout=5)


def test_join_is_authorised_against_participants(world):
    scenario, tokens, serve = world
    server = serve()
    outsider = Tablet(server.url, tokens["outsider"], scenario.meeting.id).connect()
    assert outsider.acks[-1]["ok"] is False and outsider.acks[-1]["error"]["code"] == "not_found"
    malformed = []
    outsider.client.emit("join", {"meeting_id": "1"}, callback=malformed.append)
    deadline = time.monotonic() + 10
    while not malformed and time.monotonic() < deadline:
        time.sleep(0.02)
    assert malformed and malformed[0]["error"]["code"] == "validation_error"
    member = Tablet(server.url, tokens["member_a"], scenario.meeting.id).connect()
    assert member.acks[-1] == {"ok": True, "seq": 0}
    Http(server.url, tokens["chair"]).post(f"/meetings/{scenario.meeting.id}/session/start")
    assert member.wait_for_seq(1)
    time.sleep(0.3)
    assert outsider.received == []
    outsider.close()
    member.close()


def test_events_arrive_in_order_and_a_reconnecting_tablet_catches_up(world):
    scenario, tokens, serve = world
    server = serve()
    meeting_id = scenario.meeting.id
    chair = Http(server.url, tokens["chair"])
    steady = Tablet(server.url, tokens["member_a"], meeting_id).connect()
    flaky = Tablet(server.url, tokens["member_b"], meeting_id).connect()
    chair.post(f"/meetings/{meeting_id}/session/start")
    for item in scenario.items:
        assert chair.post(f"/meetings/{meeting_id}/agenda/{item.id}/activate").status_code == 200
    assert flaky.wait_for_seq(3)
    flaky.client.disconnect()
    for _ in range(5):
        for item in scenario.items:
            chair.post(f"/meetings/{meeting_id}/agenda/{item.id}/activate")
    flaky.connect()
    for _ in range(5):
        chair.post(f"/meetings/{meeting_id}/agenda/{scenario.items[0].id}/activate")
    assert steady.wait_for_seq(18) and flaky.wait_for_seq(18)
    time.sleep(0.3)
    assert steady.applied == list(range(1, 19)) and steady.duplicates == 0
    assert flaky.applied == list(range(1, 19)) and flaky.duplicates == 0
    steady.close()
    flaky.close()


def test_server_restart_mid_session_loses_nothing(world, app):
    scenario, tokens, serve = world
    server = serve()
    meeting_id = scenario.meeting.id
    chair = Http(server.url, tokens["chair"])
    tablets = [Tablet(server.url, tokens[name], meeting_id).connect() for name in ("member_a", "member_b", "guest")]
    chair.post(f"/meetings/{meeting_id}/session/start")
    assert all(t.wait_for_seq(1) for t in tablets)
    for sig in (signal.SIGKILL, signal.SIGTERM):
        server.stop(sig)
        # the secretariat keeps working on another node while this one is down
        from ecabinet.auth.models import User
        from ecabinet.database import db
        from meetings.live import service

        db.session.expire_all()
        from meetings.models import Meeting

        meeting = db.session.get(Meeting, meeting_id)
        for item in scenario.items:
            service.activate_item(meeting, item.id, actor=db.session.get(User, meeting.chair_id))
        server.start()
        chair.post(f"/meetings/{meeting_id}/agenda/{scenario.items[0].id}/activate")
    final = 7
    for tablet in tablets:
        assert tablet.wait_for_seq(final, timeout=20), (tablet.applied, tablet.received)
        assert tablet.applied == list(range(1, final + 1)) and tablet.duplicates == 0
        tablet.close()


def test_two_processes_joined_by_redis_share_rooms(world, redis_queue):
    scenario, tokens, serve = world
    queue = redis_queue
    first = serve(message_queue=queue)
    second = serve(message_queue=queue)
    meeting_id = scenario.meeting.id
    on_first = Tablet(first.url, tokens["member_a"], meeting_id).connect()
    on_second = Tablet(second.url, tokens["member_b"], meeting_id).connect()
    chair_on_first = Http(first.url, tokens["chair"])
    chair_on_first.post(f"/meetings/{meeting_id}/session/start")
    for _ in range(10):
        chair_on_first.post(f"/meetings/{meeting_id}/agenda/{scenario.items[0].id}/activate")
    assert on_first.wait_for_seq(11) and on_second.wait_for_seq(11)
    assert on_second.applied == list(range(1, 12)) and on_second.duplicates == 0
    on_first.close()
    on_second.close()


def test_secret_vote_payloads_carry_counts_only(world, cast):
    scenario, tokens, serve = world
    server = serve()
    meeting_id = scenario.meeting.id
    # the secretariat's panel receives every vote event whole (a guest gets a vote on no item of its own hidden)
    observer = Tablet(server.url, tokens["secretary"], meeting_id).connect()
    chair = Http(server.url, tokens["chair"])
    chair.post(f"/meetings/{meeting_id}/session/start")
    vote_id = chair.post(f"/meetings/{meeting_id}/votes", json={"question": "Kín", "secret": True}).json()["id"]
    assert Http(server.url, tokens["member_a"]).post(f"/votes/{vote_id}/cast", json={"choice": "disagree"}).status_code == 201
    assert Http(server.url, tokens["member_b"]).post(f"/votes/{vote_id}/cast", json={"choice": "agree"}).status_code == 201
    chair.post(f"/votes/{vote_id}/close")
    assert observer.wait_for_seq(5)
    for event in observer.received:
        if event["type"].startswith("vote."):
            text = json.dumps(event["data"])
            assert "user_id" not in text and "names" not in text and "choice" not in text
            assert cast.member_a.full_name not in text
    closed = observer.received[-1]["data"]["result"]
    assert (closed["agree"], closed["disagree"]) == (1, 1)
    observer.close()


def test_logout_disconnects_the_users_sockets_within_two_seconds(world):
    scenario, tokens, serve = world
    server = serve()
    tablet = Tablet(server.url, tokens["member_a"], scenario.meeting.id).connect()
    tablet.reconnect = False
    assert Http(server.url, tokens["member_a"]).post("/auth/logout").status_code == 204
    deadline = time.monotonic() + 2
    while tablet.client.connected and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not tablet.client.connected


def test_a_member_removed_from_the_meeting_leaves_the_room_within_two_seconds(world, cast):
    from ecabinet.database import db, write_transaction
    from meetings.models import Participant

    scenario, tokens, serve = world
    server = serve()
    meeting_id = scenario.meeting.id
    staying = Tablet(server.url, tokens["member_a"], meeting_id).connect()
    removed = Tablet(server.url, tokens["member_b"], meeting_id).connect()
    notices: list[dict] = []
    removed.client.on("removed", notices.append)
    chair = Http(server.url, tokens["chair"])
    chair.post(f"/meetings/{meeting_id}/session/start")
    assert removed.wait_for_seq(1)
    # no removal endpoint yet: the row goes the way a future service would take it out
    db.session.rollback()
    with write_transaction():
        db.session.delete(db.session.scalar(sa.select(Participant).where(Participant.meeting_id == meeting_id,
                                                                         Participant.user_id == cast.member_b.id)))
    deadline = time.monotonic() + 2
    while not notices and time.monotonic() < deadline:
        time.sleep(0.05)
    assert notices == [{"meeting_id": meeting_id}]
    chair.post(f"/meetings/{meeting_id}/agenda/{scenario.items[0].id}/activate")
    assert staying.wait_for_seq(2)
    time.sleep(0.3)
    assert removed.applied == [1] and removed.client.connected
    staying.close()
    removed.close()


def test_sockets_of_a_login_ended_elsewhere_are_disconnected_by_the_sweeper(world, cast):
    """Revoked by another process, the user deactivated, or the token run out: the sweeper drops the
    socket without any request reaching this process."""
    from datetime import timedelta

    from ecabinet.auth.models import AuthSession
    from ecabinet.auth.service import token_hash
    from ecabinet.database import db, utcnow, write_transaction

    scenario, tokens, serve = world
    server = serve()
    revoked, expiring, deactivated = issue_token(cast.member_a), issue_token(cast.member_b), issue_token(cast.guest)
    staying = Tablet(server.url, tokens["chair"], scenario.meeting.id).connect()
    with write_transaction():
        db.session.scalar(sa.select(AuthSession).where(AuthSession.token_hash == token_hash(expiring))) \
            .expires_at = utcnow() + timedelta(seconds=2)
    tablets = {token: Tablet(server.url, token, scenario.meeting.id).connect() for token in (revoked, expiring, deactivated)}
    for tablet in tablets.values():
        tablet.reconnect = False
    db.session.rollback()
    with write_transaction():
        db.session.scalar(sa.select(AuthSession).where(AuthSession.token_hash == token_hash(revoked))).revoked_at = utcnow()
        db.session.merge(cast.guest).active = False
    deadline = time.monotonic() + 4  # the expiring token runs out 2 s after it was stamped
    while any(t.client.connected for t in tablets.values()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [t.client.connected for t in tablets.values()] == [False, False, False]
    assert staying.client.connected
    staying.close()


def test_a_guest_tablet_gets_other_items_hidden_and_stays_in_sync(world):
    """Through the real server (prepared frames for the whole event, plain ones for its hidden form): a
    guest's tablet applies every seq in order, with nothing of the item it is not invited to."""
    scenario, tokens, serve = world
    server = serve()
    meeting_id, (item_a, item_b) = scenario.meeting.id, scenario.items
    guest = Tablet(server.url, tokens["guest"], meeting_id).connect()
    member = Tablet(server.url, tokens["member_a"], meeting_id).connect()
    chair = Http(server.url, tokens["chair"])
    chair.post(f"/meetings/{meeting_id}/session/start")
    for item in (item_a, item_b, item_a):
        assert chair.post(f"/meetings/{meeting_id}/agenda/{item.id}/activate").status_code == 200
    assert guest.wait_for_seq(4) and member.wait_for_seq(4)
    time.sleep(0.3)
    assert guest.applied == member.applied == [1, 2, 3, 4] and guest.duplicates == 0
    assert [e["type"] for e in guest.received] == ["session.started", "hidden", "agenda.activated", "hidden"]
    assert [e["type"] for e in member.received] == ["session.started"] + ["agenda.activated"] * 3
    assert item_a.title not in json.dumps(guest.received, ensure_ascii=False)
    guest.close()
    member.close()


def test_a_hall_display_hears_of_every_change_without_its_content_until_revoked(world, cast):
    """The projector is told each event's number only (it reads what a hall may show itself), joins its own
    meeting only, and a revoked credential ends its connection within two seconds and refuses the next."""
    from meetings.live import hall

    scenario, tokens, serve = world
    meeting_id = scenario.meeting.id
    issued = hall.issue_display(scenario.meeting, "Máy chiếu hội trường", actor=cast.secretary)
    server = serve()
    assert "token_invalid" in refusal(server.url, {"display_token": "guess"})
    chair = Http(server.url, tokens["chair"])
    chair.post(f"/meetings/{meeting_id}/session/start")
    display = Tablet(server.url, "", meeting_id, auth={"display_token": issued["token"]}).connect()
    assert display.acks[-1] == {"ok": True, "seq": 1}
    elsewhere: list[dict] = []
    display.client.emit("join", {"meeting_id": meeting_id + 1}, callback=elsewhere.append)
    display.client.emit("join", {"stream": "user"}, callback=elsewhere.append)
    vote_id = chair.post(f"/meetings/{meeting_id}/votes", json={"question": "Kín", "secret": True}).json()["id"]
    assert Http(server.url, tokens["member_a"]).post(f"/votes/{vote_id}/cast", json={"choice": "agree"}).status_code == 201
    chair.post(f"/votes/{vote_id}/close")
    assert display.wait_for_seq(4)
    assert [e["error"]["code"] for e in elsewhere] == ["not_found", "not_found"]
    assert [(e["seq"], e["type"], e["data"]) for e in display.received] == [(n, "hidden", {}) for n in (1, 2, 3, 4)]
    # a display that joins late catches up the same way: numbers only
    late = Tablet(server.url, "", meeting_id, auth={"display_token": issued["token"]}).connect()
    assert late.wait_for_seq(4)
    assert {e["type"] for e in late.received} == {"hidden"}
    late.close()

    display.reconnect = False
    hall.revoke_display(scenario.meeting, issued["id"], actor=cast.secretary)
    deadline = time.monotonic() + 2
    while display.client.connected and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not display.client.connected
    assert "token_invalid" in refusal(server.url, {"display_token": issued["token"]})
    display.close()


def refusal(url: str, auth: dict[str, str]) -> str:
    """Why the server refused this connection (what the client library is told)."""
    reasons: list[object] = []
    client = socketio.Client(reconnection=False)
    client.on("connect_error", reasons.append)
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(url, auth=auth, transports=["websocket"], wait_timeout=5)
    return repr(reasons)
