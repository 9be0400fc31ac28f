"""Follow-up tasks: the owner's list and progress, the secretariat's tracker, overdue, audit and broadcasts."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from ecabinet.database import db
from ecabinet.extensions import socketio
from meetings.notices import service
from meetings.notices.models import NoticeTask, TaskUpdate
from tests.conftest import assert_error, audit_actions, issue_token

from .conftest import issued_notice, run_session, tasks_for


def _task(task_id: int) -> NoticeTask:
    db.session.expire_all()
    task = db.session.get(NoticeTask, task_id)
    assert task is not None
    return task


def _real_actions(since: int) -> list[str]:
    return [a for a in audit_actions()[since:] if a != "access.refused"]


@pytest.fixture
def notice(concluded: Any, cast: Any) -> dict[str, Any]:
    return issued_notice(cast, concluded)


def test_the_owner_sees_their_tasks_and_reports_progress(concluded, cast, notice):
    member_a, secretary = concluded.clients["member_a"], concluded.clients["secretary"]
    mine = member_a.get("/tasks?mine=1").get_json()["tasks"]
    assert [(t["description"], t["status"], t["owner"]["organisation"], t["number"]) for t in mine] == [
        ("Hoàn thiện hồ sơ dự án Luật trình Quốc hội", "open", "Bộ Tài chính", "01/TB-VPCP")]
    task_id = mine[0]["id"]
    reported = member_a.post(f"/tasks/{task_id}/progress", json={"note": "Đã gửi Bộ Tư pháp thẩm định."})
    assert reported.status_code == 200
    body = reported.get_json()
    assert body["status"] == "in_progress" and body["last_note"] == "Đã gửi Bộ Tư pháp thẩm định."
    again = member_a.post(f"/tasks/{task_id}/progress", json={"note": "Đã tiếp thu ý kiến thẩm định."})
    assert again.get_json()["status"] == "in_progress"
    done = secretary.post(f"/tasks/{task_id}/done", json={"note": "Đã trình Quốc hội."})
    assert done.get_json()["status"] == "done" and done.get_json()["done_at"]
    assert_error(member_a.post(f"/tasks/{task_id}/progress", json={"note": "Bổ sung"}), 409, "task_done")
    assert_error(secretary.post(f"/tasks/{task_id}/done", json={}), 409, "task_already_done")
    reopened = secretary.post(f"/tasks/{task_id}/reopen", json={"note": "Quốc hội yêu cầu bổ sung."})
    assert reopened.get_json()["status"] == "in_progress" and reopened.get_json()["done_at"] is None
    assert_error(secretary.post(f"/tasks/{task_id}/reopen", json={}), 409, "task_not_done")
    history = member_a.get(f"/tasks/{task_id}").get_json()["history"]
    assert [(h["action"], h["from"], h["to"]) for h in history] == [
        ("progress", "open", "in_progress"), ("progress", "in_progress", "in_progress"),
        ("complete", "in_progress", "done"), ("reopen", "done", "in_progress")]
    assert [h["actor"]["full_name"] for h in history] == ["Trần Đức Long", "Trần Đức Long",
                                                         "Nguyễn Thị Thanh Hằng", "Nguyễn Thị Thanh Hằng"]
    assert [a for a in audit_actions() if a.startswith("task.")] == [
        "task.progress_reported", "task.progress_reported", "task.completed", "task.reopened"]


@pytest.mark.parametrize(("who", "path", "status", "code"), [
    ("member_b", "progress", 403, "task_owner_only"),
    ("chair", "progress", 403, "task_owner_only"),
    ("member_a", "done", 403, "secretariat_only"),
    ("member_a", "reopen", 403, "secretariat_only"),
    ("guest", "progress", 404, "not_found"),
    ("outsider", "progress", 404, "not_found"),
    ("admin", "done", 404, "not_found"),
])
def test_only_the_owner_or_the_secretariat_updates(concluded, notice, who, path, status, code):
    task_id = next(t["id"] for t in notice["tasks"] if t["owner"]["organisation"] == "Bộ Tài chính")
    before = len(audit_actions())
    assert_error(concluded.clients[who].post(f"/tasks/{task_id}/{path}", json={"note": "x"}), status, code)
    assert _task(task_id).status == "open" and _real_actions(before) == []
    assert db.session.scalar(sa.select(sa.func.count()).select_from(TaskUpdate)) == 0


@pytest.mark.parametrize(("who", "status"), [("secretary", 200), ("member_a", 200), ("member_b", 200),
                                              ("chair", 200), ("guest", 404), ("outsider", 404)])
def test_who_sees_a_task(concluded, notice, who, status):
    assert concluded.clients[who].get(f"/tasks/{notice['tasks'][0]['id']}").status_code == status


def test_the_secretariat_tracks_every_task_with_filters(concluded, cast, notice, api, ministries):
    secretary = concluded.clients["secretary"]
    other = run_session(cast, api)
    issued_notice(cast, other)
    everything = secretary.get("/tasks").get_json()["tasks"]
    assert len(everything) == 4
    assert {t["owner_user_id"] for t in secretary.get(f"/tasks?owner_user_id={cast.member_b.id}").get_json()["tasks"]} \
        == {cast.member_b.id}
    assert {t["meeting_id"] for t in secretary.get(f"/tasks?meeting_id={other.meeting_id}").get_json()["tasks"]} \
        == {other.meeting_id}
    # a member only ever gets their own tasks, with or without ?mine=1
    assert {t["owner_user_id"] for t in concluded.clients["member_b"].get("/tasks").get_json()["tasks"]} \
        == {cast.member_b.id}
    assert concluded.clients["outsider"].get("/tasks").get_json()["tasks"] == []
    assert secretary.get("/tasks?mine=1").get_json()["tasks"] == []
    assert_error(secretary.get("/tasks?status=late"), 422, "validation_error")


def test_a_task_past_its_deadline_is_overdue_until_done(concluded, cast, notice):
    secretary, member_a = concluded.clients["secretary"], concluded.clients["member_a"]
    task_id = member_a.get("/tasks?mine=1").get_json()["tasks"][0]["id"]
    task = _task(task_id)
    task.deadline = service.today()  # the deadline day itself is still on time
    db.session.commit()
    assert member_a.get(f"/tasks/{task_id}").get_json()["status"] == "open"
    task = _task(task_id)
    task.deadline = service.today() - timedelta(days=1)
    db.session.commit()
    shown = member_a.get(f"/tasks/{task_id}").get_json()
    assert (shown["status"], shown["work_status"], shown["overdue"]) == ("overdue", "open", True)
    assert [t["id"] for t in secretary.get("/tasks?status=overdue").get_json()["tasks"]] == [task_id]
    assert task_id not in [t["id"] for t in secretary.get("/tasks?status=open").get_json()["tasks"]]
    assert member_a.post(f"/tasks/{task_id}/progress", json={"note": "Đang làm"}).get_json()["status"] == "overdue"
    done = secretary.post(f"/tasks/{task_id}/done", json={}).get_json()
    assert (done["status"], done["overdue"]) == ("done", False)
    assert [t["id"] for t in secretary.get("/tasks?status=done").get_json()["tasks"]] == [task_id]


def test_tasks_of_a_draft_are_neither_listed_nor_updated(concluded, cast):
    secretary = concluded.clients["secretary"]
    draft = secretary.post(f"/meetings/{concluded.meeting_id}/notices",
                           json={"tasks": tasks_for(cast, concluded)}).get_json()
    task_id = draft["tasks"][0]["id"]
    assert secretary.get("/tasks").get_json()["tasks"] == []
    assert concluded.clients["member_a"].get("/tasks?mine=1").get_json()["tasks"] == []
    assert_error(concluded.clients["member_a"].get(f"/tasks/{task_id}"), 404, "not_found")
    assert_error(secretary.post(f"/tasks/{task_id}/progress", json={"note": "x"}), 409, "notice_not_issued")


@pytest.mark.parametrize(("body", "code"), [({"note": "   "}, "task_note_required"), ({}, "validation_error"),
                                            ({"note": "x" * 5001}, "validation_error")])
def test_a_progress_report_needs_a_note(concluded, notice, body, code):
    task_id = notice["tasks"][0]["id"]
    assert_error(concluded.clients["member_a"].post(f"/tasks/{task_id}/progress", json=body), 422, code)
    assert _task(task_id).status == "open"


def _socket(app: Any, token: str) -> Any:
    """A page joined to its user's own stream (tasks and notices arrive there, ecabinet.realtime)."""
    client = socketio.test_client(app, auth={"token": token})
    assert client.is_connected()
    assert client.emit("join", {"stream": "user"}, callback=True)["ok"] is True
    client.get_received()
    return client


def _stream_events(client: Any) -> list[dict[str, Any]]:
    time.sleep(0.2)  # a join's replay runs in a background task
    return [event["args"][0] for event in client.get_received() if event["name"] == "event"]


def _names(client: Any) -> list[str]:
    return [event["type"] for event in _stream_events(client)]


def test_changes_reach_the_owner_and_the_secretariat_after_commit(app, concluded, cast):
    secretary, member_a = concluded.clients["secretary"], concluded.clients["member_a"]
    notice_id = secretary.post(f"/meetings/{concluded.meeting_id}/notices",
                               json={"tasks": tasks_for(cast, concluded)[:1]}).get_json()["id"]
    # the socket handlers end the session (they run in this thread here): tokens first, plain values after
    tokens = {name: issue_token(getattr(cast, name)) for name in ("secretary", "member_a", "member_b")}
    sockets = {name: _socket(app, token) for name, token in tokens.items()}
    assert secretary.post(f"/notices/{notice_id}/issue").status_code == 200
    # with the board's event, each person's notifications (ecabinet.notifications): the notice to the
    # meeting's members, the task to its owner
    assert {name: _names(s) for name, s in sockets.items()} == {
        "secretary": ["notice.issued"], "member_a": ["notice.issued", "notification.created", "notification.created"],
        "member_b": ["notification.created"]}
    task_id = member_a.get("/tasks?mine=1").get_json()["tasks"][0]["id"]
    member_a.post(f"/tasks/{task_id}/progress", json={"note": "Đang thực hiện"})
    received = _stream_events(sockets["member_a"])
    assert [(e["type"], e["data"]["id"], e["data"]["status"]) for e in received] == [
        ("task.updated", task_id, "in_progress")]
    assert _names(sockets["secretary"]) == ["task.updated"] and _names(sockets["member_b"]) == []
    # a refused change broadcasts nothing
    member_a.post(f"/tasks/{task_id}/done", json={})
    secretary.post(f"/tasks/{task_id}/reopen", json={})
    assert {name: _names(s) for name, s in sockets.items()} == {"secretary": [], "member_a": [], "member_b": []}
    for client in sockets.values():
        client.disconnect()


def test_joining_needs_a_valid_login(app):
    client = socketio.test_client(app, auth={"token": "nope"})
    assert not client.is_connected()
