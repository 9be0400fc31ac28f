"""The remembered meeting view (meetings.schemas.meeting_snapshot): read once per change, never stale, never
shown to someone who may not see it."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa

from ecabinet import audit
from ecabinet.audit import AuditRecord
from ecabinet.auth.models import Confidentiality, User
from ecabinet.database import db, utcnow
from meetings.models import Meeting
from tests.conftest import assert_error
from tests.documents import corpus
from tests.meetings.factories import create_meeting, prepared_meeting, upload


def statements_of(call) -> tuple[object, list[str]]:
    """(the response, the SQL statements it ran)."""
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany) -> None:
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        response = call()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    return response, statements


def read(client, meeting_id: int) -> dict:
    response = client.get(f"/meetings/{meeting_id}")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def test_a_second_read_is_one_query(api, cast):
    m = prepared_meeting(api, cast)
    member = api(cast.member_a)
    first = read(member, m["id"])
    again, statements = statements_of(lambda: member.get(f"/meetings/{m['id']}"))
    assert again.get_json() == first
    assert len(statements) == 1
    assert "FROM audit_records" in statements[0]


def test_a_request_holds_one_connection_at_most_and_a_repeated_read_makes_no_session(api, cast):
    import threading

    from ecabinet.auth.models import User

    m = prepared_meeting(api, cast)
    member = api(cast.member_a)
    first = read(member, m["id"])
    held, most, made = [0], [0], []

    def checkout(*args: object) -> None:
        held[0] += 1
        most[0] = max(most[0], held[0])

    def checkin(*args: object) -> None:
        held[0] -= 1

    def attached(session: object, instance: object) -> None:
        made.append(instance)

    sa.event.listen(db.engine, "checkout", checkout)
    sa.event.listen(db.engine, "checkin", checkin)
    sa.event.listen(sa.orm.Session, "transient_to_pending", attached)
    sa.event.listen(sa.orm.Session, "detached_to_persistent", attached)
    try:
        answers: list[object] = []  # in a thread: the request pushes its own app context, as on a server
        thread = threading.Thread(target=lambda: answers.append(member.get(f"/meetings/{m['id']}").get_json()))
        thread.start()
        thread.join(30)
    finally:
        sa.event.remove(db.engine, "checkout", checkout)
        sa.event.remove(db.engine, "checkin", checkin)
        sa.event.remove(sa.orm.Session, "transient_to_pending", attached)
        sa.event.remove(sa.orm.Session, "detached_to_persistent", attached)
    assert answers == [first]
    assert most == [1] and held == [0]
    assert not [obj for obj in made if isinstance(obj, User)]  # the viewer joined no session: none was made


def test_every_viewer_gets_their_own_view_of_one_snapshot(api, cast):
    m = prepared_meeting(api, cast)
    secretary = read(api(cast.secretary), m["id"])
    guest = read(api(cast.guest), m["id"])
    member = read(api(cast.member_a), m["id"])
    assert "tally" in secretary["agenda"][0]
    assert [i["id"] for i in guest["agenda"]] == [m["items"][1]["id"]]
    assert [p["role"] for p in guest["participants"]].count("guest") == 1
    assert len(member["agenda"]) == 2 and "tally" not in member["agenda"][0]
    assert (secretary["my_role"], guest["my_role"], member["my_role"]) == ("secretary", "guest", "member")
    for user in (cast.outsider, cast.admin):
        assert_error(api(user).get(f"/meetings/{m['id']}"), 404, "not_found")


def test_publishing_shows_a_draft_read_by_the_secretariat_to_the_members(api, cast):
    m = prepared_meeting(api, cast, publish=False)
    sec, member = api(cast.secretary), api(cast.member_a)
    assert read(sec, m["id"])["status"] == "draft"
    assert_error(member.get(f"/meetings/{m['id']}"), 404, "not_found")
    assert sec.post(f"/meetings/{m['id']}/publish").status_code == 200
    assert read(member, m["id"])["status"] == "published"


def _new_version(sec, document_id: int) -> None:
    form = {"file": (io.BytesIO(corpus.valid_pdf(2)), "v2.pdf")}
    response = sec.post(f"/documents/{document_id}/versions", data=form, content_type="multipart/form-data")
    assert response.status_code == 201, response.get_data(as_text=True)


# changes that append no meeting event (a draft) and changes that do: each is on the very next read
CHANGES = [
    ("draft edit", False, lambda sec, m, cast: sec.patch(f"/meetings/{m['id']}", json={"location": "Phòng 2"}),
     lambda body, m: body["location"] == "Phòng 2"),
    ("draft item", False, lambda sec, m, cast: sec.post(f"/meetings/{m['id']}/agenda", json={"title": "Mục mới"}),
     lambda body, m: body["agenda"][-1]["title"] == "Mục mới"),
    ("draft upload", False, lambda sec, m, cast: upload(sec, m["id"], m["items"][0]["id"], title="Phụ lục"),
     lambda body, m: [d["title"] for d in body["agenda"][0]["documents"]] == ["Hồ sơ 1", "Phụ lục"]),
    ("draft version", False, lambda sec, m, cast: _new_version(sec, m["docs"][0]["id"]),
     lambda body, m: body["agenda"][0]["documents"][0]["version"] == 2),
    ("reorder", True, lambda sec, m, cast: sec.patch(f"/meetings/{m['id']}/agenda/{m['items'][1]['id']}",
                                                     json={"position": 1}),
     lambda body, m: body["agenda"][0]["id"] == m["items"][1]["id"]),
    ("published edit", True, lambda sec, m, cast: sec.patch(f"/meetings/{m['id']}", json={"title": "Phiên mới"}),
     lambda body, m: body["title"] == "Phiên mới"),
    ("new version", True, lambda sec, m, cast: _new_version(sec, m["docs"][0]["id"]),
     lambda body, m: body["agenda"][0]["documents"][0]["version"] == 2),
    ("participant", True, lambda sec, m, cast: sec.post(f"/meetings/{m['id']}/participants",
                                                        json={"user_id": cast.outsider.id, "role": "member"}),
     lambda body, m: body["participants"][-1]["user"]["full_name"] == "Người Ngoài"),
]


@pytest.mark.parametrize(("name", "published", "change", "seen"), CHANGES, ids=[c[0] for c in CHANGES])
def test_a_change_is_on_the_next_read(api, cast, name, published, change, seen):
    m = prepared_meeting(api, cast, publish=published)
    sec = api(cast.secretary)
    reader = api(cast.member_a) if published else sec
    before = read(reader, m["id"])
    assert not seen(before, m)
    change(sec, m, cast)
    assert seen(read(reader, m["id"]), m)


def test_the_delegate_may_read_once_approved(api, cast):
    m = prepared_meeting(api, cast, publish=False)
    assert api(cast.secretary).post(f"/meetings/{m['id']}/publish").status_code == 200
    delegate = api(cast.delegate)
    assert read(delegate, m["id"])["agenda"][0]["documents"][0]["readable"] is False
    assert api(cast.chair).post(f"/meetings/{m['id']}/participants/{m['delegate']['id']}/approve").status_code == 200
    assert read(delegate, m["id"])["agenda"][0]["documents"][0]["readable"] is True


def test_a_position_and_an_opening_are_on_the_next_read(api, cast):
    m = prepared_meeting(api, cast)
    member = api(cast.member_a)
    read(member, m["id"])
    item = m["items"][0]["id"]
    assert member.put(f"/meetings/{m['id']}/agenda/{item}/position", json={"stance": "objection"}).status_code == 200
    assert member.get(f"/documents/{m['docs'][0]['id']}/content").status_code == 200
    first = read(member, m["id"])["agenda"][0]
    assert first["my_position"] == "objection"
    assert first["documents"][0]["badge"]["state"] is None
    assert read(api(cast.chair), m["id"])["agenda"][0]["tally"]["objection"] == 1


@pytest.mark.parametrize("how", ["object", "bulk"])
def test_a_change_written_here_without_an_audit_record_is_seen(api, cast, how):
    m = prepared_meeting(api, cast)
    member = api(cast.member_a)
    read(member, m["id"])
    records = db.session.scalar(sa.select(sa.func.count()).select_from(AuditRecord))
    if how == "object":
        cast.member_b.full_name = "Lê Thị Hồng Nhung"
    else:
        db.session.execute(sa.update(User).where(User.id == cast.member_b.id).values(full_name="Lê Thị Hồng Nhung"))
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditRecord)) == records
    names = [p["user"]["full_name"] for p in read(member, m["id"])["participants"]]
    assert "Lê Thị Hồng Nhung" in names


def test_a_lowered_clearance_is_applied_on_the_next_read(api, cast):
    m = prepared_meeting(api, cast)
    sec = api(cast.secretary)
    secret = upload(sec, m["id"], m["items"][0]["id"], title="Mật", confidentiality="secret").get_json()
    member = api(cast.member_a)
    readable = {d["id"]: d["readable"] for d in read(member, m["id"])["agenda"][0]["documents"]}
    assert readable[secret["id"]] is True
    cast.member_a.clearance = Confidentiality.NORMAL
    db.session.commit()
    readable = {d["id"]: d["readable"] for d in read(member, m["id"])["agenda"][0]["documents"]}
    assert readable[secret["id"]] is False


def test_a_change_from_another_process_is_seen_through_its_audit_record(api, cast):
    meeting = create_meeting(api(cast.secretary), cast)
    sec = api(cast.secretary)
    assert read(sec, meeting["id"])["location"] == "Trụ sở Chính phủ"
    newest = db.session.execute(sa.select(AuditRecord).order_by(AuditRecord.id.desc()).limit(1)).scalar_one()
    entry = AuditRecord(id=newest.id + 1, at=utcnow(), actor_label="other", action="meeting.updated",
                        object_type="meetings", object_id=str(meeting["id"]), data="{}", ip="",
                        prev_hash=newest.hash)
    entry.hash = entry.compute_hash()
    db.session.expunge_all()
    # what a service in another server process writes, through a connection this process's ORM never sees
    with db.engine.begin() as other:
        other.execute(sa.update(Meeting).where(Meeting.id == meeting["id"]).values(location="Phòng họp số 2"))
        other.execute(sa.insert(AuditRecord).values(**{c.key: getattr(entry, c.key)
                                                       for c in sa.inspect(AuditRecord).column_attrs}))
    db.session.remove()  # the test's requests share one session: start afresh, as a request does
    assert read(sec, meeting["id"])["location"] == "Phòng họp số 2"
    assert audit.verify() is None


def test_a_new_key_drops_the_snapshots_of_the_older_one(app, api, cast):
    from meetings.schemas import _SNAPSHOTS

    sec = api(cast.secretary)
    first, second = (create_meeting(sec, cast)["id"] for _ in range(2))
    read(sec, first)
    read(sec, second)
    assert set(app.extensions[_SNAPSHOTS][1]) == {first, second}
    assert sec.patch(f"/meetings/{first}", json={"location": "Phòng 2"}).status_code == 200
    read(sec, first)
    assert set(app.extensions[_SNAPSHOTS][1]) == {first}  # memory holds what the newest key was read for
