"""Several workers on one database (as several ``serve`` processes would be) send each mail exactly once."""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa

import config
from ecabinet import create_app
from ecabinet.database import db
from ecabinet.notifications.models import MailState, OutboxMail
from ecabinet.notifications.outbox import Worker
from tests.conftest import issue_token
from tests.live.harness import ServerProcess
from tests.meetings.factories import create_meeting
from tests.notifications.conftest import with_addresses


def test_two_workers_on_one_database_send_each_mail_exactly_once(mailing_app: Any, smtp: Any, cast: Any, api: Any,
                                                                  tmp_path: Path) -> None:
    with_addresses(cast)
    smtp.inbox.delay = 0.05  # a slow server: both workers are busy at the same time
    mailing_app.config["MAIL_BATCH"] = 2
    sec = api(cast.secretary)
    for n in range(4):
        meeting = create_meeting(sec, cast, title=f"Phiên họp chuyên đề số {n + 1}")
        for user in (cast.member_a, cast.member_b, cast.delegate):
            assert sec.post(f"/meetings/{meeting['id']}/participants",
                            json={"user_id": user.id, "role": "member"}).status_code == 201
        assert sec.post(f"/meetings/{meeting['id']}/publish").status_code == 200
    db.session.commit()
    # a second application on the same database: another process's worker
    other = create_app(config.TestingConfig(tmp_path / "other", mailing_app.config["SQLALCHEMY_DATABASE_URI"]), async_mode="threading")
    other.config.update({key: mailing_app.config[key] for key in ("SMTP_URL", "MAIL_FROM", "PUBLIC_URL", "MAIL_BATCH")})
    workers = [Worker(mailing_app), Worker(other)]
    counts: list[int] = []
    start = threading.Barrier(len(workers))

    def run(worker: Worker) -> None:
        start.wait()
        counts.append(worker.run_once())

    threads = [threading.Thread(target=run, args=(worker,)) for worker in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    with other.app_context():
        db.engine.dispose()
    db.session.commit()
    assert sum(counts) == 16 and all(counts), counts  # both worked, neither took a row of the other's
    sent = Counter((message["To"], message["Subject"]) for _, message in smtp.inbox.messages)
    assert len(sent) == 16 and set(sent.values()) == {1}
    assert db.session.scalars(sa.select(OutboxMail.state).distinct()).all() == [MailState.SENT]


@pytest.mark.slow
def test_two_server_processes_send_each_mail_exactly_once(app: Any, smtp: Any, cast: Any, api: Any, tmp_path: Path,
                                                          database_url: str) -> None:
    with_addresses(cast)
    smtp.inbox.delay = 0.02
    sec = api(cast.secretary)
    meeting_ids = []
    for n in range(6):
        meeting = create_meeting(sec, cast, title=f"Phiên họp chuyên đề số {n + 1}")
        for user in (cast.member_a, cast.member_b, cast.delegate):
            assert sec.post(f"/meetings/{meeting['id']}/participants",
                            json={"user_id": user.id, "role": "member"}).status_code == 201
        meeting_ids.append(meeting["id"])
    token = issue_token(cast.secretary)
    servers = [ServerProcess(tmp_path, database_url) for _ in range(2)]
    for server in servers:  # both poll often and claim one mail at a time: they compete for every row
        server.env.update(ECABINET_SMTP_URL=smtp.url, ECABINET_MAIL_POLL_SECONDS="0.1", ECABINET_MAIL_BATCH="1")
    try:
        for server in servers:
            server.start()
        with requests.Session() as http:
            for n, meeting_id in enumerate(meeting_ids):  # half published through each process
                answer = http.post(f"{servers[n % 2].url}/api/v1/meetings/{meeting_id}/publish",
                                   headers={"Authorization": f"Bearer {token}"}, timeout=30)
                assert answer.status_code == 200, answer.text
        deadline = time.monotonic() + 60
        while len(smtp.inbox.messages) < 24 and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1.5)  # time enough for a second copy, were one to be sent
    finally:
        for server in servers:
            server.stop()
    sent = Counter((message["To"], message["Subject"]) for _, message in smtp.inbox.messages)
    assert len(sent) == 24 and set(sent.values()) == {1}, sent
    db.session.rollback()
    assert db.session.scalars(sa.select(OutboxMail.state).distinct()).all() == [MailState.SENT]
