"""In the app: the list, the unread count on the person's stream, marking read, preferences (audited),
and what each domain tells whom."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from ecabinet.audit import AuditRecord
from ecabinet.database import db, utcnow
from ecabinet.notifications.models import Notification, OutboxMail
from ecabinet.realtime import UserEvent
from meetings.notices import service as notices
from tests.conftest import assert_error
from tests.documents import corpus
from tests.meetings.factories import create_meeting, prepared_meeting, upload
from tests.notices.conftest import issued_notice, run_session
from tests.notifications.conftest import deliver, with_addresses


def stream_of(user: Any, event_type: str) -> list[dict[str, Any]]:
    rows = db.session.scalars(sa.select(UserEvent).where(UserEvent.user_id == user.id, UserEvent.type == event_type)
                              .order_by(UserEvent.seq))
    return [json.loads(row.data) for row in rows]


def kinds_of(user: Any) -> list[str]:
    return list(db.session.scalars(sa.select(Notification.kind).where(Notification.user_id == user.id)
                                   .order_by(Notification.id)))


def test_the_list_counts_unread_and_opening_marks_read_on_every_tab(app: Any, cast: Any, api: Any) -> None:
    meeting = prepared_meeting(api, cast)
    member = api(cast.member_a)
    listed = member.get("/me/notifications").get_json()
    assert listed["unread"] == 1
    [entry] = listed["notifications"]
    assert entry["kind"] == "meeting.published" and entry["url"] == f"/meetings/{meeting['id']}"
    assert entry["text"] == "Giấy mời họp: Phiên họp Chính phủ thường kỳ tháng 12" and entry["read_at"] is None
    assert stream_of(cast.member_a, "notification.created") == [{"id": entry["id"], "kind": "meeting.published",
                                                                  "unread": 1}]
    # someone else's notification is not there for them (404, unchanged)
    assert_error(api(cast.member_b).post(f"/me/notifications/{entry['id']}/read"), 404, "not_found")
    read = member.post(f"/me/notifications/{entry['id']}/read")
    assert read.status_code == 200 and read.get_json()["read_at"]
    assert member.get("/me/notifications").get_json()["unread"] == 0
    assert stream_of(cast.member_a, "notification.read") == [{"id": entry["id"], "unread": 0}]
    assert member.post(f"/me/notifications/{entry['id']}/read").status_code == 200  # again: nothing new
    assert len(stream_of(cast.member_a, "notification.read")) == 1


def test_opening_from_the_page_marks_read_and_goes_to_the_subject(app: Any, cast: Any, api: Any) -> None:
    meeting = prepared_meeting(api, cast)
    member = api(cast.member_a)
    [entry] = member.get("/me/notifications").get_json()["notifications"]
    headers = {"Authorization": f"Bearer {member.token}"}
    page = member.client.get("/notifications", headers=headers).get_data(as_text=True)
    assert f"/notifications/{entry['id']}" in page and "Giấy mời họp" in page
    opened = member.client.get(f"/notifications/{entry['id']}", headers=headers)
    assert opened.status_code == 302 and opened.headers["Location"] == f"/meetings/{meeting['id']}"
    assert member.get("/me/notifications").get_json()["unread"] == 0


def test_preferences_choose_the_channel_per_kind_and_are_audited(mailing_app: Any, smtp: Any, cast: Any,
                                                                 api: Any) -> None:
    with_addresses(cast)
    member = api(cast.member_a)
    before = member.get("/me/notifications/preferences").get_json()
    assert before["language"] == "vi"
    assert {p["kind"]: p["channel"] for p in before["preferences"]}["meeting.published"] == "both"
    changed = member.put("/me/notifications/preferences", json={
        "language": "en", "preferences": [{"kind": "meeting.published", "channel": "email"}]})
    assert changed.status_code == 200
    assert {p["kind"]: p["channel"] for p in changed.get_json()["preferences"]}["meeting.published"] == "email"
    record = db.session.scalars(sa.select(AuditRecord).where(
        AuditRecord.action == "notification.preferences_changed")).one()
    assert record.actor_id == cast.member_a.id and json.loads(record.data) == {
        "meeting.published": {"from": "both", "to": "email"}, "language": {"from": "vi", "to": "en"}}
    # the same again changes nothing and writes no second record
    member.put("/me/notifications/preferences", json={"preferences": [{"kind": "meeting.published",
                                                                        "channel": "email"}]})
    assert db.session.scalar(sa.select(sa.func.count(AuditRecord.id)).where(
        AuditRecord.action == "notification.preferences_changed")) == 1
    api(cast.member_b).put("/me/notifications/preferences",
                           json={"preferences": [{"kind": "meeting.published", "channel": "app"}]})
    sec = api(cast.secretary)
    meeting = create_meeting(sec, cast)
    for user in (cast.member_a, cast.member_b):
        sec.post(f"/meetings/{meeting['id']}/participants", json={"user_id": user.id, "role": "member"})
    sec.post(f"/meetings/{meeting['id']}/publish")
    deliver(mailing_app)
    [mail] = smtp.inbox.to(cast.member_a.email)  # e-mail only, in English now
    assert mail["Subject"].startswith("Invitation to the meeting")
    assert member.get("/me/notifications").get_json() == {"notifications": [], "unread": 0}
    assert smtp.inbox.to(cast.member_b.email) == []  # in the app only
    assert api(cast.member_b).get("/me/notifications").get_json()["unread"] == 1


def test_invalid_preferences_are_refused_and_change_nothing(app: Any, cast: Any, api: Any) -> None:
    member = api(cast.member_a)
    for body in ({"preferences": [{"kind": "meeting.exploded", "channel": "email"}]},
                 {"preferences": [{"kind": "meeting.published", "channel": "pigeon"}]},
                 {"language": "fr"}):
        assert_error(member.put("/me/notifications/preferences", json=body), 422, "validation_error")
    assert member.get("/me/notifications/preferences").get_json() == api(cast.member_b).get(
        "/me/notifications/preferences").get_json()
    assert db.session.scalar(sa.select(sa.func.count(AuditRecord.id)).where(
        AuditRecord.action == "notification.preferences_changed")) == 0


def test_a_new_version_after_publication_reaches_only_those_who_may_read_it(app: Any, cast: Any, api: Any) -> None:
    meeting = prepared_meeting(api, cast)
    sec = api(cast.secretary)
    item_2_doc = meeting["docs"][1]["id"]  # item 2: the guest is invited to it
    response = sec.post(f"/documents/{item_2_doc}/versions", data={"file": (io.BytesIO(corpus.valid_pdf()), "v2.pdf")},
                        content_type="multipart/form-data")
    assert response.status_code == 201
    told = set(db.session.scalars(sa.select(Notification.user_id).where(Notification.kind == "document.versioned")))
    assert told == {cast.chair.id, cast.member_a.id, cast.member_b.id, cast.delegate.id, cast.guest.id}
    upload(sec, meeting["id"], meeting["items"][0]["id"], title="Hồ sơ bổ sung")  # item 1: not the guest's
    told = set(db.session.scalars(sa.select(Notification.user_id).where(Notification.kind == "document.added")))
    assert told == {cast.chair.id, cast.member_a.id, cast.member_b.id, cast.delegate.id}
    secret = upload(sec, meeting["id"], meeting["items"][0]["id"], title="Phụ lục mật", confidentiality="secret")
    assert secret.status_code == 201
    told = db.session.scalars(sa.select(Notification).where(Notification.subject_id == secret.get_json()["id"])).all()
    # member_b is cleared for Thường only; the others are told without the title
    assert {n.user_id for n in told} == {cast.chair.id, cast.member_a.id, cast.delegate.id}
    assert all(n.classified and n.title == "" for n in told)


def test_meeting_changes_postponement_and_cancellation_reach_participants(app: Any, cast: Any, api: Any) -> None:
    meeting = prepared_meeting(api, cast)
    sec = api(cast.secretary)
    later = (utcnow() + timedelta(days=9)).isoformat()
    assert sec.patch(f"/meetings/{meeting['id']}", json={"location": "Hội trường Diên Hồng"}).status_code == 200
    assert sec.post(f"/meetings/{meeting['id']}/postpone", json={"reason": "Trùng lịch", "starts_at": later}
                    ).status_code == 200
    assert sec.post(f"/meetings/{meeting['id']}/cancel", json={"reason": "Đã xử lý bằng phiếu"}).status_code == 200
    assert kinds_of(cast.guest) == ["meeting.published", "meeting.changed", "meeting.postponed", "meeting.cancelled"]
    cancelled = db.session.scalars(sa.select(Notification).where(Notification.kind == "meeting.cancelled",
                                                                 Notification.user_id == cast.member_a.id)).one()
    assert cancelled.data == {"reason": "Đã xử lý bằng phiếu"}
    assert kinds_of(cast.secretary) == []


def test_a_draft_meeting_tells_nobody(app: Any, cast: Any, api: Any) -> None:
    prepared_meeting(api, cast, publish=False)
    assert db.session.scalar(sa.select(sa.func.count(Notification.id))) == 0


def test_tasks_are_announced_when_assigned_and_once_when_due_soon_and_overdue(mailing_app: Any, smtp: Any,
                                                                             cast: Any, api: Any) -> None:
    with_addresses(cast)
    session = run_session(cast, api)
    issued_notice(cast, session)
    assert "task.assigned" in kinds_of(cast.member_a) and "notice.issued" in kinds_of(cast.member_a)
    assert "notice.issued" in kinds_of(cast.chair) and "notice.issued" not in kinds_of(cast.guest)
    task = db.session.scalars(sa.select(notices.NoticeTask).where(
        notices.NoticeTask.owner_user_id == cast.member_a.id)).one()
    task.deadline = notices.today() + timedelta(days=1)
    db.session.commit()
    now = utcnow()
    assert notices.sweep_task_deadlines(now) == 1
    assert notices.sweep_task_deadlines(now) == 0  # once
    assert notices.sweep_task_deadlines(now + timedelta(days=3)) == 1  # now overdue: told once more
    assert notices.sweep_task_deadlines(now + timedelta(days=4)) == 0
    assert kinds_of(cast.member_a)[-2:] == ["task.due_soon", "task.overdue"]
    deliver(mailing_app)
    subjects = [m["Subject"] for m in smtp.inbox.to(cast.member_a.email)]
    assert any(s.startswith("Nhiệm vụ quá hạn: ") for s in subjects)
    assert db.session.scalar(sa.select(sa.func.count(OutboxMail.id)).where(OutboxMail.state != "sent")) == 0


def test_an_empty_list_says_what_will_appear_there_and_where_to_choose_how(app: Any, cast: Any, api: Any) -> None:
    member = api(cast.member_a)
    page = member.client.get("/notifications", headers={"Authorization": f"Bearer {member.token}"})
    empty = page.get_data(as_text=True)
    empty = empty[empty.index('id="notifications-empty"'):empty.index("</li>", empty.index('id="notifications-empty"'))]
    assert "Giấy mời họp, phiếu lấy ý kiến và nhiệm vụ gửi đồng chí sẽ hiện ở đây." in empty
    assert '<a href="/notifications/settings">Chọn cách nhận thông báo</a>' in empty
