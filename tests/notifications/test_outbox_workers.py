"""Several workers on one database (as several ``serve`` processes would be) send each mail exactly once."""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path
from typing import Any

import sqlalchemy as sa

import config
from ecabinet import create_app
from ecabinet.database import db
from ecabinet.notifications.models import MailState, OutboxMail
from ecabinet.notifications.outbox import Worker
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
