"""One audience rule on every channel: role × object × channel (HTTP, socket events live and in catch-up,
the signed minutes' PDF, search), on SQLite and PostgreSQL.

The meeting has item A (the guest is NOT invited) and item B (the guest is). Item A carries a speaker,
a named vote, a conclusion and a dossier whose words are unique to it, so anything of item A that
reaches the guest shows up as one of those words.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import pytest

from ecabinet import keystore
from ecabinet.extensions import socketio
from tests.conftest import issue_token
from tests.documents import corpus
from tests.live.scenario import published_meeting
from tests.meetings.factories import upload

PIN = "123456"
SECRET_WORDS = ("Đất đai", "đất đai", "Thông qua dự án Luật", "Tờ trình dự án Luật Đất đai")
CONCLUSION_A = "Chính phủ thống nhất trình Quốc hội dự án Luật Đất đai (sửa đổi)."
CONCLUSION_B = "Giao Bộ Khoa học và Công nghệ hoàn thiện dự thảo Nghị định về kinh tế số."
ROLES = ("chair", "secretary", "member_a", "member_b", "delegate", "guest", "admin", "outsider")
# who sees the whole meeting, who only item B, who nothing (member_b is the absent member)
WHOLE = {"chair", "secretary", "member_a", "member_b", "delegate"}
ITEM_B_ONLY = {"guest"}
NOTHING = {"admin", "outsider"}


@dataclass
class World:
    meeting_id: int
    item_a: int
    item_b: int
    vote_a: int
    clients: dict[str, Any]
    tokens: dict[str, str]


@pytest.fixture
def world(app: Any, cast: Any, api: Any) -> World:
    app.config["PIN_KDF_ROUNDS"] = 1000
    scenario = published_meeting(cast)
    clients = {name: api(getattr(cast, name)) for name in ROLES}
    tokens = {name: issue_token(getattr(cast, name)) for name in ROLES}
    for user in (cast.secretary, cast.chair):
        keystore.issue_credential(user, PIN, actor=None)
    meeting_id, item_a, item_b = scenario.meeting.id, scenario.items[0].id, scenario.items[1].id
    chair, secretary = clients["chair"], clients["secretary"]
    doc_a = upload(secretary, meeting_id, item_a, corpus.valid_pdf(1), title="Tờ trình dự án Luật Đất đai")
    assert doc_a.status_code == 201
    assert upload(secretary, meeting_id, item_b, corpus.valid_pdf(1), title="Dự thảo Nghị định").status_code == 201
    assert chair.post(f"/meetings/{meeting_id}/session/start").status_code == 200
    for name in ("chair", "member_a", "delegate", "guest"):
        assert clients[name].post(f"/meetings/{meeting_id}/checkin").status_code == 201
    assert secretary.post(f"/meetings/{meeting_id}/attendance", json={
        "user_id": cast.member_b.id, "present": False, "absence_reason": "Công tác nước ngoài"}).status_code == 200
    assert chair.post(f"/meetings/{meeting_id}/agenda/{item_a}/activate").status_code == 200
    assert chair.post(f"/meetings/{meeting_id}/present", json={"document_id": doc_a.get_json()["id"],
                                                               "page": 1}).status_code == 200
    speaker = clients["member_a"].post(f"/meetings/{meeting_id}/speakers").get_json()["speaker"]
    assert chair.post(f"/meetings/{meeting_id}/speakers/{speaker['id']}/grant").status_code == 200
    vote_a = chair.post(f"/meetings/{meeting_id}/votes", json={
        "agenda_item_id": item_a, "question": "Thông qua dự án Luật Đất đai?", "secret": False}).get_json()["id"]
    assert clients["member_a"].post(f"/votes/{vote_a}/cast", json={"choice": "agree"}).status_code == 201
    assert chair.post(f"/votes/{vote_a}/close").status_code == 200
    assert secretary.put(f"/meetings/{meeting_id}/agenda/{item_a}/conclusion", json={"text": CONCLUSION_A}
                         ).status_code == 200
    assert chair.post(f"/meetings/{meeting_id}/agenda/{item_b}/activate").status_code == 200
    assert secretary.put(f"/meetings/{meeting_id}/agenda/{item_b}/conclusion", json={"text": CONCLUSION_B}
                         ).status_code == 200
    return World(meeting_id, item_a, item_b, vote_a, clients, tokens)


def _leaks(body: Any) -> list[str]:
    text = json.dumps(body, ensure_ascii=False)
    return [word for word in SECRET_WORDS if word in text]


@pytest.mark.parametrize("who", ROLES)
def test_http_answers_follow_the_audience(world: World, who: str) -> None:
    client, m = world.clients[who], world.meeting_id
    meeting, live, events = client.get(f"/meetings/{m}"), client.get(f"/meetings/{m}/live"), \
        client.get(f"/meetings/{m}/events?after=0")
    vote, speakers = client.get(f"/votes/{world.vote_a}"), client.get(f"/meetings/{m}/speakers")
    search = client.get("/search?q=dat dai")
    if who in NOTHING:
        for answer in (meeting, live, events, vote, speakers):
            assert answer.status_code == 404 and answer.get_json()["error"]["code"] == "not_found"
        assert search.get_json()["results"] == []
        return
    for answer in (meeting, live, events, speakers):
        assert answer.status_code == 200
    seqs = [e["seq"] for e in events.get_json()["events"]]
    assert seqs == list(range(1, live.get_json()["seq"] + 1))  # every seq, for every recipient
    if who in WHOLE:
        assert {i["id"] for i in live.get_json()["agenda"]} == {world.item_a, world.item_b}
        assert vote.status_code == 200 and vote.get_json()["names"]
        assert all(e["type"] != "hidden" for e in events.get_json()["events"])
        assert any(r["agenda_item_id"] == world.item_a for r in search.get_json()["results"])
        return
    # the guest of item B: nothing of item A, not even its title
    for answer in (meeting, live, events, speakers, search):
        assert _leaks(answer.get_json()) == [], answer.get_json()
    assert [i["id"] for i in live.get_json()["agenda"]] == [world.item_b]
    assert [i["id"] for i in meeting.get_json()["agenda"]] == [world.item_b]
    assert vote.status_code == 404 and vote.get_json()["error"]["code"] == "not_found"
    assert speakers.get_json()["speakers"] == []
    assert live.get_json()["votes"] == [] and live.get_json()["presentation"] is None
    by_type = {e["type"] for e in events.get_json()["events"]}
    assert "hidden" in by_type and "vote.opened" not in by_type and "speaker.granted" not in by_type
    b_events = [e for e in events.get_json()["events"] if e["data"].get("agenda_item_id") == world.item_b]
    assert {e["type"] for e in b_events} >= {"agenda.activated", "conclusion.set"}


def _join(app: Any, token: str, meeting_id: int, last_seq: int = 0) -> tuple[Any, dict[str, Any]]:
    client = socketio.test_client(app, auth={"token": token})
    assert client.is_connected()
    return client, client.emit("join", {"meeting_id": meeting_id, "last_seq": last_seq}, callback=True)


def _received(client: Any) -> list[dict[str, Any]]:
    time.sleep(0.3)  # the replay runs in a background task
    return [e["args"][0] for e in client.get_received() if e["name"] == "event"]


def test_socket_events_live_and_in_catch_up_across_a_reconnect(app: Any, world: World) -> None:
    """Every socket gets every seq once and in order, live and replayed; outside an event's audience it is
    ``hidden``; a guest that reconnects with its last seq gets exactly the rest, nothing of item A."""
    m, clients = world.meeting_id, world.clients
    secretary, chair = clients["secretary"], clients["chair"]
    sockets, acks = {}, {}
    for who in ROLES:
        sockets[who], acks[who] = _join(app, world.tokens[who], m)
    for who in NOTHING:
        assert acks[who]["ok"] is False and acks[who]["error"]["code"] == "not_found"
    seq = acks["chair"]["seq"]
    replayed = {who: _received(sockets[who]) for who in ROLES}
    # live: one event about item A, one about item B, then the guest drops and misses one of each
    assert secretary.put(f"/meetings/{m}/agenda/{world.item_a}/conclusion", json={"text": CONCLUSION_A + " (2)"}
                         ).status_code == 200
    assert secretary.put(f"/meetings/{m}/agenda/{world.item_b}/conclusion", json={"text": CONCLUSION_B + " (2)"}
                         ).status_code == 200
    live = {who: _received(sockets[who]) for who in ROLES}
    sockets["guest"].disconnect()
    assert chair.post(f"/meetings/{m}/agenda/{world.item_a}/activate").status_code == 200
    assert chair.post(f"/meetings/{m}/agenda/{world.item_b}/activate").status_code == 200
    guest_seen = (replayed["guest"] + live["guest"])[-1]["seq"]
    again, ack = _join(app, world.tokens["guest"], m, last_seq=guest_seen)
    caught_up = _received(again)

    for who in WHOLE | ITEM_B_ONLY:
        got = replayed[who] + live[who]
        assert [e["seq"] for e in got] == list(range(1, seq + 3)), who
        hidden = [e for e in got if e["type"] == "hidden"]
        if who in WHOLE:
            assert hidden == []
        else:
            assert hidden and all(e["data"] == {} for e in hidden)
            assert _leaks(got) == []
    assert [e["type"] for e in live["guest"]] == ["hidden", "conclusion.set"]
    assert [e["type"] for e in live["member_b"]] == ["conclusion.set", "conclusion.set"]
    for who in NOTHING:
        assert replayed[who] == [] and live[who] == []
    assert ack == {"ok": True, "seq": seq + 4}
    assert [(e["seq"], e["type"]) for e in caught_up] == [(seq + 3, "hidden"), (seq + 4, "agenda.activated")]
    assert caught_up[1]["data"]["agenda_item_id"] == world.item_b
    for client in (*sockets.values(), again):
        if client.is_connected():
            client.disconnect()


def test_signed_minutes_and_their_pdf_are_for_the_whole_meeting_only(world: World, pdftotext: Any) -> None:
    m, clients = world.meeting_id, world.clients
    assert clients["chair"].post(f"/meetings/{m}/session/close").status_code == 200
    assert clients["secretary"].post(f"/meetings/{m}/minutes").status_code == 201
    for who in ("secretary", "chair"):
        assert clients[who].post(f"/meetings/{m}/minutes/sign", json={"pin": PIN}).status_code == 200
    for who in ROLES:
        minutes, pdf = clients[who].get(f"/meetings/{m}/minutes"), clients[who].get(f"/meetings/{m}/minutes.pdf")
        if who in WHOLE:
            assert minutes.status_code == 200 and pdf.status_code == 200, who
            assert "Đất đai" in pdftotext(pdf.data)
        else:
            assert minutes.status_code == 404 and pdf.status_code == 404, who
            assert minutes.get_json()["error"]["code"] in ("not_found", "minutes_not_found")
