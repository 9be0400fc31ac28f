"""Dossier reads are audited by group commit: concurrent reads share one transaction, each read waits
for the commit that carries its record, and a read whose record cannot be committed is not served."""

from __future__ import annotations

import itertools
import multiprocessing
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from documents import service
from documents.models import ReaderCopy
from ecabinet import audit
from ecabinet.audit import AuditRecord
from ecabinet.database import db
from tests.meetings.factories import prepared_meeting


def in_threads(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run the calls at once, one thread each; their results (or exceptions) in the same order."""
    results: list[Any] = [None] * len(calls)

    def run(index: int) -> None:
        try:
            results[index] = calls[index]()
        except Exception as error:
            results[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def reads() -> list[AuditRecord]:
    return list(db.session.scalars(sa.select(AuditRecord).where(AuditRecord.action == "document.read")
                                   .order_by(AuditRecord.id)))


@pytest.fixture
def readers(api, cast):
    """The four cast members who may open the first item's dossier, each with a client, and its path."""
    meeting = prepared_meeting(api, cast)
    users = [cast.chair, cast.member_a, cast.member_b, cast.delegate]
    return users, [api(u) for u in users], f"/documents/{meeting['docs'][0]['id']}/content"


@pytest.fixture
def batches(monkeypatch):
    """The readers of each group commit; the writer takes the queue only once ``expect`` reads wait in
    it, and notes how many pooled connections are out at that moment."""
    seen: list[list[int]] = []
    expect: dict[str, Any] = {"reads": 1, "connections_out": []}
    real = service._write_reads

    def recording(queued):
        seen.append([r.entry.actor_id for r in queued])
        real(queued)

    def wait_for_all() -> None:
        deadline = time.monotonic() + 10
        while len(service._journal()._queued) < expect["reads"] and time.monotonic() < deadline:
            time.sleep(0.005)
        expect["connections_out"].append(db.engine.pool.checkedout())

    monkeypatch.setattr(service, "_write_reads", recording)
    monkeypatch.setattr(service, "_let_ready_requests_queue", wait_for_all)
    return seen, expect


def test_concurrent_reads_share_one_commit_each_recorded_in_turn(readers, batches):
    users, clients, path = readers
    seen, expect = batches
    expect["reads"] = len(users)
    first = in_threads([lambda c=c: c.get(path) for c in clients])
    assert [r.status_code for r in first] == [200] * len(users)
    assert len(seen) == 1 and sorted(seen[0]) == sorted(u.id for u in users)
    assert expect["connections_out"] == [0]  # the waiting reads hold no connection from the pool
    records = reads()
    assert [r.actor_id for r in records] == seen[0]  # the chain holds them in the order they queued
    assert [r.id for r in records] == list(range(records[0].id, records[0].id + len(users)))
    assert all(r.as_dict()["data"]["first"] for r in records)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ReaderCopy)) == len(users)
    assert len({r.data for r in first}) == len(users)  # each reader's own stamped copy

    again = in_threads([lambda c=c: c.get(path) for c in clients])
    assert len(seen) == 2 and len(seen[1]) == len(users)
    assert [r.data for r in again] == [r.data for r in first]  # byte-identical on every fetch
    assert [r.headers["ETag"] for r in again] == [r.headers["ETag"] for r in first]
    assert not any(r.as_dict()["data"]["first"] for r in reads()[len(users):])
    assert audit.verify() is None


def test_a_read_whose_record_cannot_be_committed_is_not_served(readers, batches, monkeypatch):
    users, clients, path = readers
    seen, expect = batches
    expect["reads"] = len(users)

    def failing(entries):
        raise sa.exc.OperationalError("INSERT INTO audit_records", {}, Exception("disk I/O error"))

    monkeypatch.setattr(audit, "append_many", failing)
    refused = in_threads([lambda c=c: c.get(path) for c in clients])
    assert [r.status_code for r in refused] == [500] * len(users)
    assert not any(r.data.startswith(b"%PDF") for r in refused)
    assert len(seen) == 1  # the whole group failed together: no reader got the file
    assert reads() == []
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ReaderCopy)) == 0

    monkeypatch.undo()  # the journal is not left waiting on the failed group
    assert clients[0].get(path).status_code == 200
    assert [r.actor_id for r in reads()] == [users[0].id]


def _read_in_process(data_dir: str, database_url: str | None, tokens: list[str], path: str, rounds: int,
                     start: Any, address: str) -> None:
    from config import TestingConfig
    from ecabinet import create_app

    app = create_app(TestingConfig(Path(data_dir), database_url), async_mode="threading")
    clients = [app.test_client() for _ in tokens]
    start.wait(60)  # both processes read at the same time, not one after the other

    def read(client: Any, token: str) -> None:
        for _ in range(rounds):
            response = client.get(f"/api/v1{path}", headers={"Authorization": f"Bearer {token}"},
                                  environ_base={"REMOTE_ADDR": address})
            assert response.status_code == 200, response.status_code

    failures = in_threads([lambda c=c, t=t: read(c, t) for c, t in zip(clients, tokens, strict=True)])
    assert failures == [None] * len(tokens), failures


def test_two_processes_reading_at_once_keep_one_intact_chain(app, readers, database_url):
    users, clients, path = readers
    url = None if database_url == "sqlite" else database_url
    before = len(reads())
    rounds = 10
    spawn = multiprocessing.get_context("spawn")
    start = spawn.Barrier(2)
    processes = [spawn.Process(target=_read_in_process, args=(str(app.config["DATA_DIR"]), url,
                                                                [c.token for c in clients], path, rounds, start,
                                                                f"10.0.0.{n}"))
                 for n in (1, 2)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(120)
    assert [p.exitcode for p in processes] == [0, 0]
    db.session.rollback()  # end this session's read snapshot: the children committed after it began
    records = reads()[before:]
    assert len(records) == 2 * rounds * len(users)
    addresses = [r.ip for r in records]
    assert sum(a != b for a, b in itertools.pairwise(addresses)) > 1  # the processes' writes interleaved
    assert audit.verify() is None
