"""The mail outbox's worker: claims pending mails, sends them, records sent or failed and why.

Rows are written by ``notify`` in the transaction of the change that causes them, so a rolled-back
change mails nobody. Any number of workers (several ``serve`` processes on one database) may run:
a worker claims rows with a compare-and-set UPDATE (``state = 'pending'``, or a ``sending`` claim
whose lease ran out) under a fresh token, on PostgreSQL also ``FOR UPDATE SKIP LOCKED``, and sends
only the rows carrying its token, so each row is sent by one worker once. A process that dies while
sending leaves its claim to expire and another worker sends it again (the only case of a second copy).

Failures are retried with exponential backoff (``ECABINET_MAIL_RETRY_SECONDS`` doubled per attempt)
until ``ECABINET_MAIL_MAX_ATTEMPTS``, then the row stays ``failed`` with the reason, for the secretariat.

The worker also runs the domains' periodic sweeps (``register_sweep``): time-based notifications
(a ballot's reminder, a task due soon or overdue), each made once through ``notify``'s key.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import and_, func, or_, select, update

from ecabinet import realtime
from ecabinet.database import db, utcnow, write_transaction
from ecabinet.notifications import mail
from ecabinet.notifications.models import MailState, OutboxMail

log = logging.getLogger(__name__)
#: how long a claim holds a row before another worker may take it (a send is bounded by the SMTP timeout)
LEASE = timedelta(minutes=5)
DEACTIVATED = "account deactivated"

Sweep = Callable[[datetime], Any]
_sweeps: list[Sweep] = []
_wake = threading.Event()


def register_sweep(sweep: Sweep) -> None:
    """Run ``sweep(now)`` on every pass of the worker (inside the app context); it calls ``notify`` with a key."""
    if sweep not in _sweeps:
        _sweeps.append(sweep)


def wake() -> None:
    """A mail was committed: the worker of this process sends it now rather than at its next poll."""
    _wake.set()


def _claimable(now: datetime) -> Any:
    return or_(and_(OutboxMail.state == MailState.PENDING, OutboxMail.next_attempt_at <= now),
               and_(OutboxMail.state == MailState.SENDING, OutboxMail.claimed_until < now))


def claim(now: datetime, limit: int) -> list[OutboxMail]:
    """Take up to ``limit`` mails due now for this worker alone (see the module's docstring)."""
    token = secrets.token_hex(16)
    with write_transaction():
        candidates = select(OutboxMail.id).where(_claimable(now)).order_by(OutboxMail.id).limit(limit)
        if db.session.get_bind().dialect.name == "postgresql":
            candidates = candidates.with_for_update(skip_locked=True)
        ids = list(db.session.scalars(candidates))
        if not ids:
            return []
        db.session.execute(update(OutboxMail).where(OutboxMail.id.in_(ids), _claimable(now))
                           .values(state=MailState.SENDING, claimed_by=token, claimed_until=now + LEASE,
                                   attempts=OutboxMail.attempts + 1))
    return list(db.session.scalars(select(OutboxMail).where(OutboxMail.claimed_by == token,
                                                            OutboxMail.state == MailState.SENDING)
                                   .order_by(OutboxMail.id)))


@dataclass(frozen=True)
class Settings:
    max_attempts: int
    retry_seconds: float
    timeout: float
    #: mails claimed and sent over one connection at a time
    batch: int

    @classmethod
    def of(cls, app: Flask) -> Settings:
        return cls(max_attempts=app.config["MAIL_MAX_ATTEMPTS"], retry_seconds=app.config["MAIL_RETRY_SECONDS"],
                   timeout=app.config["MAIL_TIMEOUT_SECONDS"], batch=app.config["MAIL_BATCH"])


def backoff(attempts: int, base: float) -> timedelta:
    """The wait before the next attempt: ``base`` after the first failure, doubled each time, at most a day."""
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), 86400))


def deliver_due(app: Flask, now: datetime | None = None) -> int:
    """Send every mail due now (batch after batch); the number of mails this worker handled.

    Without ``ECABINET_SMTP_URL`` nothing is sent (and ``notify`` queued nothing).
    """
    server = mail.configured_server()
    if server is None:
        return 0
    settings = Settings.of(app)
    handled = 0
    while rows := claim(moment := now or utcnow(), settings.batch):
        tokens = {row.id: row.claimed_by for row in rows}
        # an account deactivated since the change is mailed nothing more
        results: dict[int, str | None] = {row.id: DEACTIVATED for row in rows if not row.notification.user.active}
        sendable = [row for row in rows if row.id not in results]
        sent = mail.send_all(server, [mail.build_message(row.notification, row.to_address) for row in sendable],
                             settings.timeout)
        results.update(zip((row.id for row in sendable), sent, strict=True))
        _record(rows, tokens, results, settings, moment)
        handled += len(rows)
    return handled


def _record(rows: list[OutboxMail], tokens: dict[int, str | None], results: dict[int, str | None],
            settings: Settings, now: datetime) -> None:
    """Sent, or failed for now (retried after the backoff), or failed for good; only rows still ours."""
    with write_transaction():
        for row in rows:
            error = results[row.id]
            db.session.refresh(row)
            if row.claimed_by != tokens[row.id] or row.state != MailState.SENDING:
                continue  # our lease ran out and another worker took it
            row.claimed_by = None
            row.claimed_until = None
            if error is None:
                row.state, row.sent_at, row.last_error = MailState.SENT, now, ""
                continue
            row.last_error = error
            if row.attempts >= settings.max_attempts or _permanent(error):
                row.state = MailState.FAILED
                log.warning("mail %s failed for good after %s attempts: %s", row.id, row.attempts, error)
            else:
                row.state = MailState.PENDING
                row.next_attempt_at = now + backoff(row.attempts, settings.retry_seconds)


def _permanent(error: str) -> bool:
    """No retry helps: the account is gone, or the server refused the address for good (5xx)."""
    return error == DEACTIVATED or error.startswith("recipient refused: 5")


def run_sweeps(now: datetime) -> None:
    for sweep in list(_sweeps):
        try:
            sweep(now)
        except Exception:
            log.exception("notification sweep %s failed", getattr(sweep, "__name__", sweep))
            db.session.rollback()


class Worker:
    """The loop inside ``serve``: sends on a commit's wake-up or every poll, and sweeps every so often."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.last_sweep = 0.0

    def run_once(self, now: datetime | None = None) -> int:
        with self.app.app_context():
            try:
                if time.monotonic() - self.last_sweep >= self.app.config["NOTIFY_SWEEP_SECONDS"]:
                    self.last_sweep = time.monotonic()
                    run_sweeps(now or utcnow())
                return deliver_due(self.app, now)
            finally:
                db.session.remove()

    def loop(self) -> None:
        while True:
            try:
                self.run_once()
            except Exception:
                log.exception("mail outbox pass failed")
            _wake.wait(self.app.config["MAIL_POLL_SECONDS"])
            _wake.clear()
            realtime.sleep(0)


def start_worker(app: Flask) -> None:
    realtime.start_background_task(Worker(app).loop)


# --- what the secretariat sees ----------------------------------------------------------------------------

def state_counts() -> dict[str, int]:
    rows = db.session.execute(select(OutboxMail.state, func.count(OutboxMail.id)).group_by(OutboxMail.state)).all()
    counts = {str(state): 0 for state in MailState}
    counts.update({str(state): count for state, count in rows})
    return counts


def recent(*, state: str | None = None, limit: int = 200) -> list[OutboxMail]:
    query = select(OutboxMail).order_by(OutboxMail.id.desc()).limit(limit)
    if state is not None:
        query = query.where(OutboxMail.state == state)
    return list(db.session.scalars(query))


def mail_dict(row: OutboxMail) -> dict[str, Any]:
    """An outbox row as the secretariat sees it: to whom, what kind, where it stands (never a classified title)."""
    notification = row.notification
    return {"id": row.id, "notification_id": notification.id, "kind": notification.kind,
            "user_id": notification.user_id, "recipient": notification.user.full_name, "to": row.to_address,
            "subject": {"type": notification.subject_type, "id": notification.subject_id},
            "title": notification.title, "state": str(row.state), "attempts": row.attempts,
            "created_at": row.created_at.isoformat(), "sent_at": row.sent_at.isoformat() if row.sent_at else None,
            "next_attempt_at": row.next_attempt_at.isoformat() if row.state == MailState.PENDING else None,
            "error": row.last_error, "cause": mail.cause_of(row.last_error)}
