"""The PIN limit under bursts: each attempt is counted in the database before its PIN is tried, so 30
wrong PINs sent at once try at most ``PIN_ATTEMPTS``, in one process or two, with or without a signing
session, and a right PIN in the middle of the burst does not give it a fresh set of attempts."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from sqlalchemy import func, select

from ballots.models import ResponseRevision
from ecabinet import keystore
from ecabinet.audit import AuditRecord
from ecabinet.database import db
from ecabinet.signing.keys import PIN_KDF_ROUNDS
from tests.conftest import issue_token
from tests.live.harness import ServerProcess

from .conftest import PIN, age_wrong_pins, answers_for

LIMIT = 5
BURST = 30


def _wrong_pins_recorded() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(AuditRecord)
                             .where(AuditRecord.action == "credential.wrong_pin")) or 0


def _answers_recorded() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(ResponseRevision)) or 0


class Tried(list[str]):
    """The PINs tried so far, in order; a test can wait until a given one is being tried."""

    def __init__(self) -> None:
        super().__init__()
        self.changed = threading.Condition()

    def add(self, pin: str) -> None:
        with self.changed:
            self.append(pin)
            self.changed.notify_all()

    def wait_for(self, pins: list[str]) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: any(pin in self for pin in pins), timeout=60), pins


@pytest.fixture
def tries(monkeypatch: pytest.MonkeyPatch) -> Tried:
    """Every PIN this process tries against a key (derivation or held key); the derivation is given
    the production's duration, so the burst's requests are really in flight together."""
    tried = Tried()
    real_load, real_matches = keystore.load_private_key, keystore.SigningSessions.pin_matches

    def load(blob: bytes, pin: str) -> Any:
        tried.add(pin)
        time.sleep(0.2)
        return real_load(blob, pin)

    def matches(self: Any, entry: Any, pin: str) -> bool:
        tried.add(pin)
        return real_matches(self, entry, pin)

    monkeypatch.setattr(keystore, "load_private_key", load)
    monkeypatch.setattr(keystore.SigningSessions, "pin_matches", matches)
    return tried


Outcome = tuple[int, str | None]


def _sender(app: Any, token: str, ballot: Any, start: threading.Event | None = None) -> Callable[[str], Outcome]:
    """A function answering the ballot with a PIN from its own client (after ``start``, when given)."""
    body = {"answers": answers_for(ballot)}

    def send(pin: str) -> Outcome:
        client = app.test_client()
        if start is not None:
            start.wait(10)
        response = client.post(f"/api/v1/ballots/{ballot.id}/responses", json={**body, "pin": pin},
                               headers={"Authorization": f"Bearer {token}"})
        return response.status_code, None if response.status_code == 201 else response.get_json()["error"]["code"]

    return send


def _burst(app: Any, token: str, ballot: Any, pins: list[str]) -> list[Outcome]:
    """All PINs sent at once from 20 client threads (the test database's pool has 30 connections)."""
    start = threading.Event()
    send = _sender(app, token, ballot, start)
    with ThreadPoolExecutor(max_workers=20) as pool:
        futures = [pool.submit(send, pin) for pin in pins]
        time.sleep(0.2)
        start.set()
        return [future.result() for future in futures]


@pytest.mark.parametrize("session_seconds", [0, 900])
def test_a_burst_of_wrong_pins_tries_at_most_the_limit(app: Any, api: Any, cast: Any, make_ballot: Any,
                                                       tries: Tried, session_seconds: int) -> None:
    app.config.update(PIN_ATTEMPTS=LIMIT, SIGNING_SESSION_SECONDS=session_seconds)
    ballot = make_ballot()
    if session_seconds:  # a key held from an earlier answer meets the burst first
        assert api(cast.member_a).post(f"/ballots/{ballot.id}/responses",
                                       {"answers": answers_for(ballot), "pin": PIN}).status_code == 201
        tries.clear()
    before = _answers_recorded()
    outcomes = _burst(app, issue_token(cast.member_a), ballot, [f"{n:06d}" for n in range(BURST)])
    assert len(tries) == LIMIT
    assert sorted(outcomes) == sorted([(403, "wrong_pin")] * LIMIT + [(403, "signing_locked")] * (BURST - LIMIT))
    assert _wrong_pins_recorded() == LIMIT
    credential = keystore.active_credential(cast.member_a)
    assert (credential.failed_attempts, credential.pin_attempts_pending, credential.locked) == (LIMIT, 0, True)
    # the right PIN after the burst signs nothing
    tries.clear()
    response = api(cast.member_a).post(f"/ballots/{ballot.id}/responses", {"answers": answers_for(ballot), "pin": PIN})
    assert (response.status_code, response.get_json()["error"]["code"]) == (403, "signing_locked")
    assert tries == []
    assert _answers_recorded() == before


@pytest.mark.parametrize("session_seconds", [0, 900])
def test_a_right_pin_in_the_middle_of_a_burst_does_not_reset_the_count(app: Any, api: Any, cast: Any,
                                                                       make_ballot: Any, tries: Tried,
                                                                       session_seconds: int) -> None:
    # a burst is seconds long here; on a stalled machine its first wrong PINs could pass the quiet time that
    # lets a right PIN forgive them, which is not what this test is about
    app.config.update(PIN_ATTEMPTS=LIMIT, SIGNING_SESSION_SECONDS=session_seconds, PIN_FORGIVE_SECONDS=3600)
    ballot = make_ballot()
    send = _sender(app, issue_token(cast.member_a), ballot)
    wrong = [f"{n:06d}" for n in range(BURST)]
    first, rest = wrong[:LIMIT - 2], wrong[LIMIT - 2:]
    # the right PIN is sent while the first wrong ones are tried, the rest of the burst while it is tried
    # itself: it is always within the limit, and wrong PINs are counted before and after it
    with ThreadPoolExecutor(max_workers=20) as pool:
        started = [pool.submit(send, pin) for pin in first]
        tries.wait_for(first)
        started.append(pool.submit(send, PIN))
        tries.wait_for([PIN])
        started += [pool.submit(send, pin) for pin in rest]
        outcomes = [future.result() for future in started]
    assert outcomes[LIMIT - 2] == (201, None)
    assert _answers_recorded() == 1
    # while the right PIN is tried it holds one of the attempts: when the rest of the burst is refused
    # before it is decided, the burst tries one wrong PIN fewer than the limit
    wrong_in_burst = len([pin for pin in tries if pin != PIN])
    assert wrong_in_burst in (LIMIT - 1, LIMIT)
    assert sorted(outcomes) == sorted([(201, None)] + [(403, "wrong_pin")] * wrong_in_burst
                                      + [(403, "signing_locked")] * (BURST - wrong_in_burst))
    credential = keystore.active_credential(cast.member_a)
    assert (credential.failed_attempts, credential.pin_attempts_pending, credential.locked) == \
        (wrong_in_burst, 0, wrong_in_burst == LIMIT)
    # wrong PINs sent after the burst find only what it left: a reset would have given them a fresh limit
    after = [api(cast.member_a).post(f"/ballots/{ballot.id}/responses", {"answers": answers_for(ballot),
                                                                         "pin": "999999"})
             for _ in range(LIMIT - wrong_in_burst + 1)]
    assert [(r.status_code, r.get_json()["error"]["code"]) for r in after] == \
        [(403, "wrong_pin")] * (LIMIT - wrong_in_burst) + [(403, "signing_locked")]
    assert len([pin for pin in tries if pin != PIN]) == _wrong_pins_recorded() == LIMIT
    credential = keystore.active_credential(cast.member_a)
    assert (credential.failed_attempts, credential.pin_attempts_pending, credential.locked) == (LIMIT, 0, True)


def test_a_right_pin_alone_still_forgives_earlier_wrong_ones(app: Any, api: Any, cast: Any, make_ballot: Any) -> None:
    app.config.update(PIN_ATTEMPTS=LIMIT, SIGNING_SESSION_SECONDS=0)
    ballot = make_ballot()
    body = {"answers": answers_for(ballot)}
    for _ in range(LIMIT - 1):
        assert api(cast.member_a).post(f"/ballots/{ballot.id}/responses", {**body, "pin": "000000"}).status_code == 403
    age_wrong_pins()
    assert api(cast.member_a).post(f"/ballots/{ballot.id}/responses", {**body, "pin": PIN}).status_code == 201
    assert keystore.active_credential(cast.member_a).failed_attempts == 0


def _start(server: ServerProcess) -> None:
    try:
        server.start()
    except requests.ReadTimeout:
        # listening, but slow to answer its first page on the loaded machine: wait for it
        requests.get(f"{server.url}/login", timeout=120)


@pytest.mark.slow
@pytest.mark.parametrize("session_seconds", [0, 900])
def test_a_burst_across_two_server_processes_tries_at_most_the_limit(app: Any, cast: Any, make_ballot: Any,
                                                                     database_url: str, tmp_path: Any,
                                                                     session_seconds: int) -> None:
    # the production key derivation (0.3 s) keeps the burst's attempts in flight together
    app.config["PIN_KDF_ROUNDS"] = PIN_KDF_ROUNDS
    keystore.issue_credential(cast.member_a, PIN, actor=None)
    ballot = make_ballot()
    token = issue_token(cast.member_a)
    settings = {"ECABINET_PIN_ATTEMPTS": str(LIMIT), "ECABINET_SIGNING_SESSION_SECONDS": str(session_seconds)}
    servers = [ServerProcess(tmp_path, database_url) for _ in range(2)]
    for server in servers:
        server.env.update(settings)
    try:
        for server in servers:
            _start(server)
        url = f"/api/v1/ballots/{ballot.id}/responses"
        headers = {"Authorization": f"Bearer {token}", "Connection": "close"}
        body = {"answers": answers_for(ballot)}
        if session_seconds:  # each process holds the unlocked key when the burst comes
            for server in servers:
                held = requests.post(server.url + url, json={**body, "pin": PIN}, headers=headers, timeout=30)
                assert held.status_code == 201, held.text
        before = _answers_recorded()
        start = threading.Barrier(BURST)

        def send(n: int) -> tuple[int, str]:
            start.wait()
            response = requests.post(servers[n % 2].url + url, json={**body, "pin": f"{n:06d}"}, headers=headers,
                                     timeout=60)
            return response.status_code, response.json()["error"]["code"]

        with ThreadPoolExecutor(max_workers=BURST) as pool:
            outcomes = list(pool.map(send, range(BURST)))
        after = requests.post(servers[0].url + url, json={**body, "pin": PIN}, headers=headers, timeout=30)
    finally:
        for server in servers:
            server.stop(signal.SIGKILL)
    assert sorted(outcomes) == sorted([(403, "wrong_pin")] * LIMIT + [(403, "signing_locked")] * (BURST - LIMIT))
    assert _wrong_pins_recorded() == LIMIT
    assert (after.status_code, after.json()["error"]["code"]) == (403, "signing_locked")
    assert _answers_recorded() == before
    db.session.expire_all()
    credential = keystore.active_credential(cast.member_a)
    assert (credential.failed_attempts, credential.pin_attempts_pending, credential.locked) == (LIMIT, 0, True)
