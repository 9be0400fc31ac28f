"""What ballots and minutes tell whom: a ballot's recipients (not naming a classified one), its reminder
once, its closing; the minutes waiting for the secretary's then the chair's signature."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from ballots import service as ballots
from ecabinet.database import db, utcnow
from ecabinet.notifications.models import Notification
from tests.meetings.factories import prepared_meeting, upload
from tests.minutes.conftest import PIN
from tests.notifications.conftest import deliver, text_of, with_addresses


def told(kind: str) -> list[int]:
    return sorted(db.session.scalars(sa.select(Notification.user_id).where(Notification.kind == kind)))


def test_a_ballot_tells_its_recipients_once_each_step_and_never_names_a_classified_one(
        mailing_app: Any, smtp: Any, cast: Any, api: Any, make_ballot: Any, members: list[Any]) -> None:
    with_addresses(cast)
    meeting = prepared_meeting(api, cast)
    secret_doc = upload(api(cast.secretary), meeting["id"], meeting["items"][0]["id"], title="Phụ lục mật",
                        confidentiality="secret").get_json()
    cleared = [cast.chair, cast.member_a, cast.delegate]
    title = "Phương án điều chỉnh giá điện bí mật"
    ballot = make_ballot(title=title, recipients=cleared, document_ids=[secret_doc["id"]],
                         deadline=utcnow() + timedelta(hours=30))
    assert told("ballot.issued") == sorted(u.id for u in cleared)
    assert ballots.send_reminders(utcnow() + timedelta(hours=7)) == 3
    assert ballots.send_reminders(utcnow() + timedelta(hours=8)) == 0  # once per member
    assert told("ballot.reminder") == sorted(u.id for u in cleared)
    ballots.close_ballot(db.session.get_one(type(ballot), ballot.id), actor=cast.secretary)
    assert told("ballot.closed") == sorted(u.id for u in cleared)
    deliver(mailing_app)
    mails = smtp.inbox.to(cast.member_a.email)
    ballot_mails = [m for m in mails if f"/ballots/{ballot.id}" in text_of(m)[0]]
    assert len(ballot_mails) == 3
    for message in ballot_mails:
        plain, html = text_of(message)
        assert title not in message["Subject"] + plain + html and "giá điện" not in message.as_string()


def test_minutes_wait_for_the_secretary_then_the_chair(app: Any, closed_session: Any, cast: Any) -> None:
    clients, meeting_id = closed_session.clients, closed_session.meeting_id
    assert clients["secretary"].post(f"/meetings/{meeting_id}/minutes").status_code == 201
    assert told("minutes.awaiting_signature") == [cast.secretary.id]
    assert clients["secretary"].post(f"/meetings/{meeting_id}/minutes/sign", json={"pin": PIN}).status_code == 200
    assert told("minutes.awaiting_signature") == sorted([cast.secretary.id, cast.chair.id])
    [to_chair] = clients["chair"].get("/me/notifications").get_json()["notifications"][:1]
    assert to_chair["kind"] == "minutes.awaiting_signature" and to_chair["url"] == f"/meetings/{meeting_id}/minutes"
    assert clients["chair"].post(f"/meetings/{meeting_id}/minutes/sign", json={"pin": PIN}).status_code == 200
    assert len(told("minutes.awaiting_signature")) == 2  # signed: nobody else is waited for
