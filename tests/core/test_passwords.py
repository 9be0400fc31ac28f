"""Argon2 password checks, in gevent's thread pool when serving under gevent."""

from __future__ import annotations

import threading

import pytest

from ecabinet import offload
from ecabinet.auth import passwords
from ecabinet.auth.passwords import check_password, hash_password


@pytest.fixture(params=["plain call", "thread pool"])
def checks_in(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The threads the checks ran in (gevent's pool when serving under gevent)."""
    threads: list[int] = []
    verify = passwords._verify
    monkeypatch.setattr(offload, "under_gevent", lambda: request.param == "thread pool")
    monkeypatch.setattr(passwords, "_verify", lambda *args: threads.append(threading.get_ident()) or verify(*args))
    return threads


@pytest.mark.parametrize(("password", "stored", "expected"), [
    ("correct horse battery", "hash", True),
    ("wrong horse battery!", "hash", False),
    ("correct horse battery", None, False),
    ("correct horse battery", "not an argon2 hash", False),
])
def test_check_password(checks_in: list[int], password: str, stored: str | None, expected: bool) -> None:
    password_hash = hash_password("correct horse battery") if stored == "hash" else stored

    assert check_password(password_hash, password) is expected
    assert len(checks_in) == 1
    assert (checks_in[0] == threading.get_ident()) is (not offload.under_gevent())
