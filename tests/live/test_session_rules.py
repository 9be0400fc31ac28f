"""The Government's session rules over HTTP: the quorum before a vote, only members present vote, the chair
is a member, the consent block. Each refusal: its status, code and Vietnamese message, the state unchanged,
and no event or audit record beyond the refused-access record a 403 always writes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa

from ecabinet.auth.models import User
from ecabinet.database import db
from ecabinet.realtime import MeetingEvent
from meetings.live.models import Vote, VoteParticipation
from meetings.models import AgendaItem, ItemPosition, Meeting, Stance
from tests.conftest import assert_error, audit_actions
from tests.live.scenario import published_meeting

VI = {
    "quorum_not_reached": "Chưa đủ số thành viên có mặt: cần ít nhất hai phần ba tổng số thành viên Chính phủ "
                          "điểm danh.",
    "voter_not_checked_in": "Vui lòng điểm danh trước khi biểu quyết: chỉ thành viên có mặt mới được biểu quyết.",
    "voter_recorded_absent": "Đồng chí đang được ghi nhận vắng mặt: vui lòng điểm danh lại trước khi biểu quyết.",
    "not_entitled_to_vote": "Đồng chí không có quyền biểu quyết.",
    "delegate_member_present": "Thành viên mà đồng chí được ủy quyền đang có mặt và tự biểu quyết.",
    "seat_already_voted": "Thành viên này đã được biểu quyết (trực tiếp hoặc qua người được ủy quyền).",
    "chair_not_member": "Chủ tọa phiên họp phải là thành viên của phiên họp, không phải đại biểu mời hay người được "
                        "ủy quyền.",
    "consent_block_frozen": "Không thể thay đổi danh sách thông qua theo khối sau khi phiên họp đã khai mạc.",
    "consent_block_empty": "Không còn nội dung nào để thông qua theo khối.",
    "consent_block_changed": "Danh sách nội dung thông qua theo khối đã thay đổi. Vui lòng xem lại trước khi "
                             "thông qua.",
    "item_not_in_consent_block": "Nội dung này không thuộc danh sách thông qua theo khối.",
    "consent_objection_not_allowed": "Chỉ thành viên phiên họp mới được đề nghị đưa nội dung ra khỏi danh sách "
                                     "thông qua theo khối.",
    "chair_only": "Chỉ Chủ tọa được thực hiện thao tác này.",
}
NAMES = ("chair", "secretary", "member_a", "member_b", "delegate", "guest", "outsider")


def events(meeting_id: int) -> list[tuple[int, str]]:
    return list(db.session.execute(sa.select(MeetingEvent.seq, MeetingEvent.type)
                                   .where(MeetingEvent.meeting_id == meeting_id).order_by(MeetingEvent.seq)))


@contextmanager
def refused(meeting_id: int) -> Iterator[None]:
    """Nothing of the meeting's stream or the audit trail moves, but a 403's refused-access record."""
    before_events, before_audit = events(meeting_id), len(audit_actions())
    yield
    db.session.expire_all()
    assert events(meeting_id) == before_events
    assert [a for a in audit_actions()[before_audit:] if a != "access.refused"] == []


def assert_refusal(response: Any, status: int, code: str) -> None:
    error = assert_error(response, status, code)
    assert error["message"] == VI[code]
    if status == 403:
        assert audit_actions()[-1] == "access.refused"


class Room:
    def __init__(self, cast: Any, api: Any, *, extra_members: int = 0) -> None:
        self.cast = cast
        self.scenario = published_meeting(cast, extra_members=extra_members)
        self.id = self.scenario.meeting.id
        self.items = self.scenario.items
        self.clients = {name: api(getattr(cast, name)) for name in NAMES}

    def __getitem__(self, name: str) -> Any:
        return self.clients[name]

    def start(self) -> None:
        assert self["chair"].post(f"/meetings/{self.id}/session/start").status_code == 200

    def check_in(self, *names: str) -> None:
        for name in names:
            assert self[name].post(f"/meetings/{self.id}/checkin").status_code == 201

    def absent(self, name: str, reason: str = "Công tác nước ngoài") -> None:
        answer = self["secretary"].post(f"/meetings/{self.id}/attendance", json={
            "user_id": getattr(self.cast, name).id, "present": False, "absence_reason": reason})
        assert answer.status_code == 200

    def open_vote(self, item_id: int | None = None, *, secret: bool = False) -> int:
        answer = self["chair"].post(f"/meetings/{self.id}/votes", json={
            "question": "Thông qua dự thảo Nghị định?", "secret": secret, "agenda_item_id": item_id})
        assert answer.status_code == 201, answer.get_json()
        return answer.get_json()["id"]

    def mark(self, item: AgendaItem, marked: bool = True) -> Any:
        return self["secretary"].patch(f"/meetings/{self.id}/agenda/{item.id}", json={"consent_block": marked})

    def preview(self, name: str = "chair") -> dict[str, Any]:
        answer = self[name].get(f"/meetings/{self.id}/consent-block")
        assert answer.status_code == 200
        return answer.get_json()


@pytest.fixture
def room(cast: Any, api: Any) -> Room:
    return Room(cast, api)


def _vote_row(vote_id: int) -> tuple[int, int, int, int]:
    db.session.expire_all()
    vote = db.session.get(Vote, vote_id)
    participations = db.session.scalar(sa.select(sa.func.count()).select_from(VoteParticipation)
                                       .where(VoteParticipation.vote_id == vote_id))
    return vote.agree, vote.disagree, vote.abstain, participations


# --- the quorum -----------------------------------------------------------------------------------

def test_a_vote_opens_only_with_two_thirds_of_all_members_present(cast, api):
    room = Room(cast, api, extra_members=3)  # six members: four must be present
    room.start()
    room.check_in("member_a", "member_b", "delegate", "guest")
    room.absent("member_b")  # recorded absent after checking in: no longer present
    room.check_in("chair")
    quorum = room["chair"].get(f"/meetings/{room.id}/quorum").get_json()
    assert (quorum["present"], quorum["required"], quorum["reached"]) == (2, 4, False)
    with refused(room.id):
        assert_refusal(room["chair"].post(f"/meetings/{room.id}/votes", json={"question": "Q?", "secret": False}),
                       409, "quorum_not_reached")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Vote)) == 0
    room.check_in("member_b")
    minister = db.session.scalar(sa.select(User).where(User.username == "minister0"))
    assert api(minister).post(f"/meetings/{room.id}/checkin").status_code == 201
    assert room["chair"].get(f"/meetings/{room.id}/quorum").get_json()["reached"] is True
    assert room.open_vote() > 0


# --- who votes ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("voter", "setup", "status", "code"), [
    ("member_b", "never_checked_in", 409, "voter_not_checked_in"),
    ("member_b", "left", 409, "voter_recorded_absent"),
    ("member_b", "absent_beforehand", 409, "voter_recorded_absent"),
    ("chair", "never_checked_in", 409, "voter_not_checked_in"),
    ("guest", "checked_in", 403, "not_entitled_to_vote"),
    ("delegate", "checked_in", 403, "not_entitled_to_vote"),  # the default policy: delegates never vote
])
def test_only_members_present_vote(room, voter, setup, status, code):
    room.start()
    if setup == "absent_beforehand":
        room.absent(voter)
    room.check_in(*[name for name in ("chair", "member_a", "member_b") if name != voter])
    if setup in ("left", "checked_in"):
        room.check_in(voter)
    if setup == "left":
        room.absent(voter, "Về cơ quan xử lý công việc đột xuất")
    # the guest is invited to item 2: a vote on it is one the guest sees, and still may not cast
    vote_id = room.open_vote(room.items[1].id if voter == "guest" else None)
    with refused(room.id):
        assert_refusal(room[voter].post(f"/votes/{vote_id}/cast", json={"choice": "agree"}), status, code)
    assert _vote_row(vote_id) == (0, 0, 0, 0)
    if setup != "checked_in":
        # checking in (again) is all it takes: the refusal was about presence, not the person
        room.check_in(voter)
        assert room[voter].post(f"/votes/{vote_id}/cast", json={"choice": "agree"}).status_code == 201
        assert _vote_row(vote_id) == (1, 0, 0, 1)


def test_the_chair_votes_as_a_member_and_breaks_a_tie(room, cast):
    room.start()
    room.check_in("chair", "member_a")
    room.absent("member_b")
    vote_id = room.open_vote()
    assert room["chair"].post(f"/votes/{vote_id}/cast", json={"choice": "agree"}).status_code == 201
    assert room["member_a"].post(f"/votes/{vote_id}/cast", json={"choice": "disagree"}).status_code == 201
    result = room["chair"].post(f"/votes/{vote_id}/close").get_json()
    # one of three members agreeing is no majority of ALL members; the chair's vote counts like any member's
    assert (result["agree"], result["disagree"], result["not_voted"], result["total_members"]) == (1, 1, 1, 3)
    assert result["passed"] is False


@pytest.fixture
def delegates_vote(app):
    app.config["DELEGATES_VOTE"] = True
    yield
    app.config["DELEGATES_VOTE"] = False


def test_where_the_policy_allows_a_delegate_votes_for_the_absent_member_once(room, cast, delegates_vote):
    room.start()
    room.check_in("chair", "member_a", "delegate")
    room.absent("member_b")
    vote_id = room.open_vote()
    assert room["delegate"].post(f"/votes/{vote_id}/cast", json={"choice": "agree"}).status_code == 201
    room.check_in("member_b")  # the member arrives after the delegate voted for them
    with refused(room.id):
        assert_refusal(room["member_b"].post(f"/votes/{vote_id}/cast", json={"choice": "disagree"}),
                       409, "seat_already_voted")
    assert _vote_row(vote_id) == (1, 0, 0, 1)
    result = room["chair"].post(f"/votes/{vote_id}/close").get_json()
    assert result["total_members"] == 3  # the delegate holds the member's seat, not one of its own


def test_a_delegate_does_not_vote_while_the_member_is_present(room, cast, delegates_vote):
    room.start()
    room.check_in("chair", "member_a", "member_b", "delegate")
    vote_id = room.open_vote()
    with refused(room.id):
        assert_refusal(room["delegate"].post(f"/votes/{vote_id}/cast", json={"choice": "agree"}),
                       409, "delegate_member_present")
    assert _vote_row(vote_id) == (0, 0, 0, 0)
    assert room["member_b"].post(f"/votes/{vote_id}/cast", json={"choice": "agree"}).status_code == 201


# --- the chair is a member ------------------------------------------------------------------------

def test_a_new_meeting_makes_its_chair_a_member_who_checks_in_and_votes(api, cast):
    sec = api(cast.secretary)
    created = sec.post("/meetings", json={"title": "Phiên họp chuyên đề về xây dựng pháp luật", "kind": "thematic",
                                          "starts_at": "2026-12-10T08:00:00+07:00", "chair_id": cast.chair.id})
    assert created.status_code == 201
    mid = created.get_json()["id"]
    assert [(p["user_id"], p["role"]) for p in created.get_json()["participants"]] == [(cast.chair.id, "member")]
    assert sec.post(f"/meetings/{mid}/participants", json={"user_id": cast.member_a.id, "role": "member"}).status_code == 201
    assert sec.post(f"/meetings/{mid}/publish").status_code == 200
    chair = api(cast.chair)
    assert chair.post(f"/meetings/{mid}/session/start").status_code == 200
    assert chair.post(f"/meetings/{mid}/checkin").status_code == 201
    assert api(cast.member_a).post(f"/meetings/{mid}/checkin").status_code == 201
    vote_id = chair.post(f"/meetings/{mid}/votes", json={"question": "Thông qua?", "secret": False}).get_json()["id"]
    assert chair.post(f"/votes/{vote_id}/cast", json={"choice": "agree"}).status_code == 201


def test_a_new_chair_becomes_a_member_and_a_guest_cannot_chair(room, cast):
    sec = room["secretary"]
    changed = sec.patch(f"/meetings/{room.id}", json={"chair_id": cast.outsider.id})
    assert changed.status_code == 200
    members = {(p["user_id"], p["role"]) for p in changed.get_json()["participants"]}
    assert (cast.outsider.id, "member") in members and (cast.chair.id, "member") in members
    assert events(room.id)[-2:] == [(1, "participant.added"), (2, "meeting.updated")]
    with refused(room.id):
        assert_refusal(sec.patch(f"/meetings/{room.id}", json={"chair_id": cast.guest.id}), 409, "chair_not_member")
        assert_refusal(sec.patch(f"/meetings/{room.id}", json={"chair_id": cast.delegate.id}), 409,
                       "chair_not_member")
    db.session.expire_all()
    assert db.session.get(Meeting, room.id).chair_id == cast.outsider.id


# --- the consent block ----------------------------------------------------------------------------

def _marked_room(room: Room) -> Room:
    for item in room.items:
        assert room.mark(item).status_code == 200
    return room


def test_the_secretariat_marks_items_only_before_the_session(room):
    assert room.mark(room.items[0]).get_json()["consent_block"] is True
    room.start()
    with refused(room.id):
        assert_refusal(room.mark(room.items[1]), 409, "consent_block_frozen")
        assert_refusal(room.mark(room.items[0], False), 409, "consent_block_frozen")
    db.session.expire_all()
    assert [db.session.get(AgendaItem, item.id).consent_block for item in room.items] == [True, False]


def test_the_chair_is_shown_exactly_what_adoption_adopts(room, cast):
    room.mark(room.items[0])
    room.mark(room.items[1])
    db.session.add(ItemPosition(agenda_item_id=room.items[1].id, user_id=cast.member_a.id, stance=Stance.WISH_TO_SPEAK))
    db.session.commit()
    room.start()
    room.check_in("chair", "member_a")
    shown = room.preview()
    assert shown["agenda_item_ids"] == [room.items[0].id]
    assert [i["title"] for i in shown["items"]] == ["Dự án Luật Đất đai (sửa đổi)"]
    assert shown["excluded"] == [{"agenda_item_id": room.items[1].id, "position": 2,
                                  "title": "Nghị định về kinh tế số", "reason": "objected"}]
    assert shown["quorum"]["reached"] is True
    adopted = room["chair"].post(f"/meetings/{room.id}/consent-block", json={"agenda_item_ids": shown["agenda_item_ids"]})
    assert adopted.get_json() == {"adopted_agenda_item_ids": [room.items[0].id]}
    assert events(room.id)[-1][1] == "consent.adopted"
    assert audit_actions()[-1] == "consent.adopted"
    # a guest's preview holds only the items it is invited to
    assert room.preview("guest")["agenda_item_ids"] == []


def test_adoption_needs_the_quorum(room):
    _marked_room(room)
    room.start()
    room.check_in("member_a", "delegate", "guest")
    ids = room.preview()["agenda_item_ids"]
    with refused(room.id):
        assert_refusal(room["chair"].post(f"/meetings/{room.id}/consent-block", json={"agenda_item_ids": ids}),
                       409, "quorum_not_reached")
    db.session.expire_all()
    assert not any(db.session.get(AgendaItem, item.id).adopted_without_discussion for item in room.items)


def test_an_item_discussed_and_voted_down_never_goes_through_the_block(room):
    _marked_room(room)
    room.start()
    room.check_in("chair", "member_a", "member_b")
    first, second = room.items
    stale = room.preview()["agenda_item_ids"]
    assert room["chair"].post(f"/meetings/{room.id}/agenda/{first.id}/activate").status_code == 200
    vote_id = room.open_vote(first.id)
    for name in ("chair", "member_a", "member_b"):
        assert room[name].post(f"/votes/{vote_id}/cast", json={"choice": "disagree"}).status_code == 201
    assert room["chair"].post(f"/votes/{vote_id}/close").get_json()["passed"] is False
    shown = room.preview()
    assert shown["agenda_item_ids"] == [second.id]
    assert shown["excluded"][0]["reason"] == "discussed"
    with refused(room.id):
        assert_refusal(room["chair"].post(f"/meetings/{room.id}/consent-block", json={"agenda_item_ids": stale}),
                       409, "consent_block_changed")
    db.session.expire_all()
    assert db.session.get(AgendaItem, first.id).adopted_without_discussion is False
    adopted = room["chair"].post(f"/meetings/{room.id}/consent-block", json={"agenda_item_ids": [second.id]})
    assert adopted.get_json() == {"adopted_agenda_item_ids": [second.id]}


def test_a_voted_item_leaves_the_block_even_if_never_activated(room):
    _marked_room(room)
    room.start()
    room.check_in("chair", "member_a")
    vote_id = room.open_vote(room.items[1].id)
    assert room["chair"].post(f"/votes/{vote_id}/close").status_code == 200
    assert {e["reason"] for e in room.preview()["excluded"]} == {"voted"}


def test_a_members_objection_takes_the_item_out_of_the_block(room, cast):
    _marked_room(room)
    room.start()
    room.check_in("chair", "member_a")
    previewed = room.preview()["agenda_item_ids"]
    first, second = room.items
    answer = room["member_b"].post(f"/meetings/{room.id}/agenda/{second.id}/consent-objection",
                                   json={"reason": "wish_to_speak"})
    assert answer.status_code == 201
    assert answer.get_json()["consent_block"]["agenda_item_ids"] == [first.id]
    assert events(room.id)[-1][1] == "consent.item_withdrawn"
    assert audit_actions()[-1] == "consent.item_withdrawn"
    # every screen of the room shows the item taken out (the member's own included), and no longer offered
    state = room["member_b"].get(f"/meetings/{room.id}/live").get_json()
    assert [(i["id"], i["consent_withdrawn"]) for i in state["agenda"]] == [(first.id, False), (second.id, True)]
    assert state["consent_candidates"] == [first.id]
    # the chair adopting what it was shown before the objection is refused, not silently narrowed
    with refused(room.id):
        assert_refusal(room["chair"].post(f"/meetings/{room.id}/consent-block", json={"agenda_item_ids": previewed}),
                       409, "consent_block_changed")
        assert_refusal(room["member_a"].post(f"/meetings/{room.id}/agenda/{second.id}/consent-objection",
                                             json={"reason": "objection"}), 409, "item_not_in_consent_block")
        assert_refusal(room["guest"].post(f"/meetings/{room.id}/agenda/{second.id}/consent-objection",
                                          json={"reason": "objection"}), 403, "consent_objection_not_allowed")
        assert_refusal(room["member_a"].post(f"/meetings/{room.id}/consent-block",
                                             json={"agenda_item_ids": [first.id]}), 403, "chair_only")
        # the guest cannot even name an item it is not invited to
        assert_error(room["guest"].post(f"/meetings/{room.id}/agenda/{first.id}/consent-objection",
                                        json={"reason": "objection"}), 404, "not_found")
    db.session.expire_all()
    assert db.session.get(AgendaItem, first.id).consent_withdrawn_at is None
    assert room["chair"].post(f"/meetings/{room.id}/consent-block",
                              json={"agenda_item_ids": [first.id]}).get_json() == {"adopted_agenda_item_ids": [first.id]}


def test_an_empty_block_is_not_adopted(room):
    room.start()
    room.check_in("chair", "member_a")
    assert room.preview()["agenda_item_ids"] == []
    with refused(room.id):
        assert_refusal(room["chair"].post(f"/meetings/{room.id}/consent-block", json={"agenda_item_ids": []}),
                       409, "consent_block_empty")
