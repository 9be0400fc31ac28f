"""Signing sessions: a key unlocked by a correct PIN is held for a while; every answer still needs the PIN."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from ballots import service
from ecabinet import keystore
from ecabinet.auth import service as auth_service
from ecabinet.auth.models import AuthSession, SessionKind
from ecabinet.database import db, utcnow
from tests.conftest import assert_error, audit_actions

from .conftest import PIN, age_wrong_pins, answers_for


@pytest.fixture
def unlocks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """One entry per full PIN unlock (the PBKDF2 path)."""
    calls: list[int] = []
    real = keystore.load_private_key

    def counting(blob: bytes, pin: str) -> Any:
        calls.append(1)
        return real(blob, pin)

    monkeypatch.setattr(keystore, "load_private_key", counting)
    return calls


def _answer(api: Any, user: Any, ballot: Any, pin: str = PIN) -> Any:
    return api(user).post(f"/ballots/{ballot.id}/responses", {"answers": answers_for(ballot), "pin": pin})


def _held(user: Any) -> bool:
    credential = keystore.active_credential(user)
    return credential is not None and keystore.signing_sessions().held(credential) is not None


def test_a_correct_pin_reuses_the_held_key(app: Any, api: Any, cast: Any, make_ballot: Any,
                                           unlocks: list[int]) -> None:
    assert app.config["SIGNING_SESSION_SECONDS"] == 900
    ballot = make_ballot()
    assert _answer(api, cast.member_a, ballot).status_code == 201
    assert _answer(api, cast.member_a, ballot).status_code == 201
    assert _answer(api, cast.member_a, make_ballot()).status_code == 201
    assert unlocks == [1]
    assert _held(cast.member_a)
    assert audit_actions().count("ballot.answered") == 3


def test_a_wrong_pin_is_counted_and_evicts(api: Any, cast: Any, make_ballot: Any, unlocks: list[int]) -> None:
    ballot = make_ballot()
    assert _answer(api, cast.member_a, ballot).status_code == 201
    assert_error(_answer(api, cast.member_a, ballot, pin="000000"), 403, "wrong_pin")
    assert keystore.active_credential(cast.member_a).failed_attempts == 1
    assert audit_actions().count("credential.wrong_pin") == 1
    assert not _held(cast.member_a)
    assert unlocks == [1]  # the wrong PIN was refused by the keyed hash, without a key derivation
    age_wrong_pins()
    assert _answer(api, cast.member_a, ballot).status_code == 201
    assert unlocks == [1, 1]
    assert keystore.active_credential(cast.member_a).failed_attempts == 0


def test_a_wrong_pin_counted_elsewhere_evicts(api: Any, cast: Any, make_ballot: Any, unlocks: list[int]) -> None:
    ballot = make_ballot()
    assert _answer(api, cast.member_a, ballot).status_code == 201
    # another server process counted a wrong PIN: this one must not keep signing from memory
    db.session.execute(update(keystore.SigningCredential).values(failed_attempts=1))
    db.session.commit()
    assert _answer(api, cast.member_a, ballot).status_code == 201
    assert unlocks == [1, 1]


def test_locking_evicts_and_refuses(app: Any, api: Any, cast: Any, make_ballot: Any, unlocks: list[int]) -> None:
    app.config["PIN_ATTEMPTS"] = 2
    ballot = make_ballot()
    assert _answer(api, cast.member_a, ballot).status_code == 201
    for _ in range(2):
        assert_error(_answer(api, cast.member_a, ballot, pin="000000"), 403, "wrong_pin")
    assert_error(_answer(api, cast.member_a, ballot), 403, "signing_locked")
    assert not _held(cast.member_a)
    keystore.unlock_credential(keystore.active_credential(cast.member_a), actor=cast.admin)
    assert _answer(api, cast.member_a, ballot).status_code == 201
    # the first wrong PIN met the held key, the second (nothing held any more) a full unlock
    assert unlocks == [1, 1, 1]


def test_revoking_evicts(api: Any, cast: Any, make_ballot: Any) -> None:
    ballot = make_ballot()
    assert _answer(api, cast.member_a, ballot).status_code == 201
    credential = keystore.active_credential(cast.member_a)
    keystore.revoke_credential(credential, actor=cast.admin)
    assert keystore.signing_sessions().held(credential) is None
    assert_error(_answer(api, cast.member_a, ballot), 409, "no_signing_credential")
    assert audit_actions().count("ballot.answered") == 1


def test_a_new_credential_replaces_the_held_key(api: Any, cast: Any, make_ballot: Any,
                                                unlocks: list[int]) -> None:
    ballot = make_ballot()
    assert _answer(api, cast.member_a, ballot).status_code == 201
    old = keystore.active_credential(cast.member_a)
    new = keystore.issue_credential(cast.member_a, "654321", actor=cast.admin)
    assert keystore.signing_sessions().held(old) is None
    assert_error(_answer(api, cast.member_a, ballot), 403, "wrong_pin")  # the old PIN does not open the new key
    receipt = _answer(api, cast.member_a, ballot, pin="654321")
    assert receipt.status_code == 201
    assert unlocks == [1, 1, 1]
    revision = service.current_revisions(ballot)[0]
    assert revision.signer_serial == new.serial


def test_the_held_key_expires(app: Any, api: Any, cast: Any, make_ballot: Any, unlocks: list[int],
                              monkeypatch: pytest.MonkeyPatch) -> None:
    app.config["SIGNING_SESSION_SECONDS"] = 60
    ballot = make_ballot()
    now = [1000.0]
    monkeypatch.setattr(keystore, "_clock", lambda: now[0])
    assert _answer(api, cast.member_a, ballot).status_code == 201
    now[0] += 59
    assert _answer(api, cast.member_a, ballot).status_code == 201
    assert unlocks == [1]
    now[0] += 1
    assert not _held(cast.member_a)
    assert _answer(api, cast.member_a, ballot).status_code == 201
    assert unlocks == [1, 1]


def test_zero_seconds_disables_the_session(app: Any, api: Any, cast: Any, make_ballot: Any,
                                           unlocks: list[int]) -> None:
    app.config["SIGNING_SESSION_SECONDS"] = 0
    ballot = make_ballot()
    assert _answer(api, cast.member_a, ballot).status_code == 201
    assert _answer(api, cast.member_a, ballot).status_code == 201
    assert unlocks == [1, 1]
    assert len(keystore.signing_sessions()) == 0


def _other_login(user: Any) -> AuthSession:
    """A second login of ``user`` (say, their laptop) next to the API token the tests answer with."""
    now = utcnow()
    session = AuthSession(user_id=user.id, kind=SessionKind.BROWSER, token_hash=f"{user.id:064d}",
                          created_at=now, expires_at=now + timedelta(hours=1), last_seen_at=now)
    db.session.add(session)
    db.session.commit()
    return session


def test_logout_evicts(api: Any, cast: Any, make_ballot: Any, unlocks: list[int]) -> None:
    laptop = _other_login(cast.member_a)
    ballot = make_ballot()
    assert _answer(api, cast.member_a, ballot).status_code == 201
    assert _held(cast.member_a)
    auth_service.logout(laptop, actor=cast.member_a)
    assert not _held(cast.member_a)
    assert _answer(api, cast.member_a, ballot).status_code == 201
    assert unlocks == [1, 1]


def test_a_logout_in_another_process_is_seen(api: Any, cast: Any, make_ballot: Any, unlocks: list[int]) -> None:
    laptop = _other_login(cast.member_a)
    ballot = make_ballot()
    assert _answer(api, cast.member_a, ballot).status_code == 201
    # written by another server process: this process's listener never sees it, the check does
    db.session.execute(update(AuthSession).where(AuthSession.id == laptop.id).values(revoked_at=utcnow()))
    db.session.commit()
    assert _held(cast.member_a)
    assert _answer(api, cast.member_a, ballot).status_code == 201
    assert unlocks == [1, 1]


def test_the_pin_is_neither_held_nor_logged(api: Any, cast: Any, make_ballot: Any,
                                            caplog: pytest.LogCaptureFixture) -> None:
    ballot = make_ballot()
    with caplog.at_level(logging.DEBUG):
        assert _answer(api, cast.member_a, ballot).status_code == 201
        assert_error(_answer(api, cast.member_a, ballot, pin="987650"), 403, "wrong_pin")
        assert _answer(api, cast.member_a, ballot).status_code == 201
    assert PIN not in caplog.text
    assert "987650" not in caplog.text
    entry = keystore.signing_sessions().held(keystore.active_credential(cast.member_a))
    assert entry is not None
    assert PIN.encode() not in entry.pin_mac
    assert PIN not in repr(entry)


class _Contended:
    """The credential's unlock lock held by another answer until this one found it taken."""

    def __init__(self, lock: Any) -> None:
        self._lock = lock
        self.waiting = threading.Event()

    def acquire(self, blocking: bool = True) -> bool:
        got = self._lock.acquire(blocking)
        if not got:
            self.waiting.set()
        return got

    def release(self) -> None:
        self._lock.release()

    def locked(self) -> bool:
        return bool(self._lock.locked())


def _answer_while_unlocking_elsewhere(app: Any, api: Any, user: Any, ballot: Any,
                                      meanwhile: Callable[[], None] = lambda: None) -> Any:
    """Answer while another answer of ``user`` holds the unlock; it runs ``meanwhile``, then lets go."""
    credential_id = keystore.active_credential(user).id
    sessions = keystore.signing_sessions()
    contended = _Contended(sessions.unlocking(credential_id))
    sessions._unlocking[credential_id] = contended  # type: ignore[assignment]
    contended.acquire()

    def other_answer() -> None:
        assert contended.waiting.wait(10)
        with app.app_context():
            meanwhile()
            db.session.commit()
        contended.release()

    other = threading.Thread(target=other_answer)
    other.start()
    try:
        return _answer(api, user, ballot)
    finally:
        other.join()


def test_two_answers_at_once_unlock_once(app: Any, api: Any, cast: Any, make_ballot: Any,
                                         unlocks: list[int]) -> None:
    first, second = make_ballot(), make_ballot()
    assert _answer(api, cast.member_a, first).status_code == 201

    assert _answer_while_unlocking_elsewhere(app, api, cast.member_a, second).status_code == 201
    assert unlocks == [1]
    assert audit_actions().count("ballot.answered") == 2


def test_a_lock_while_waiting_for_the_other_unlock_refuses(app: Any, api: Any, cast: Any, make_ballot: Any,
                                                           unlocks: list[int]) -> None:
    ballot = make_ballot()

    def locked_by_the_other_answer() -> None:
        db.session.execute(update(keystore.SigningCredential).values(failed_attempts=5, locked=True))

    response = _answer_while_unlocking_elsewhere(app, api, cast.member_a, ballot, locked_by_the_other_answer)
    assert_error(response, 403, "signing_locked")
    assert unlocks == []
    assert audit_actions().count("ballot.answered") == 0
    assert not keystore.signing_sessions().unlocking(keystore.active_credential(cast.member_a).id).locked()


def test_a_wrong_pin_lets_go_of_the_unlock(api: Any, cast: Any, make_ballot: Any, unlocks: list[int]) -> None:
    ballot = make_ballot()
    assert_error(_answer(api, cast.member_a, ballot, pin="000000"), 403, "wrong_pin")

    assert not keystore.signing_sessions().unlocking(keystore.active_credential(cast.member_a).id).locked()
    assert _answer(api, cast.member_a, ballot).status_code == 201
    assert unlocks == [1, 1]
