"""Several processes (a message queue): a login is remembered only while the process is sure to hear
what the others make it forget, and a logout on one is refused on the others at once."""

from __future__ import annotations

import signal
import threading
import time
import uuid
from types import SimpleNamespace

import pytest
import requests
import sqlalchemy as sa

from ecabinet.auth import loader, login_bus
from ecabinet.auth.login_bus import EXTENSION, LoginBus
from ecabinet.auth.models import AuthSession
from ecabinet.auth.service import token_hash
from ecabinet.database import db, utcnow
from tests.conftest import issue_token
from tests.core.test_auth_cache import _auth_queries


@pytest.fixture
def bus(app, redis_queue):
    """This app's bus on a channel of its own, not listening yet."""
    bus = app.extensions[EXTENSION] = LoginBus(redis_queue, f"test-{uuid.uuid4().hex}")
    yield bus
    del app.extensions[EXTENSION]


def listening(bus: LoginBus, forget=loader.forget_key) -> threading.Event:
    stop = threading.Event()
    threading.Thread(target=bus.listen, args=(forget,), kwargs={"stop": stop}, daemon=True).start()
    deadline = time.monotonic() + 5
    while not bus.live():
        assert time.monotonic() < deadline, "the bus did not subscribe"
        time.sleep(0.005)
    return stop


def test_a_process_not_listening_yet_remembers_no_login(client, cast, bus):
    headers = {"Authorization": f"Bearer {issue_token(cast.member_a)}"}
    assert _auth_queries(client, headers) == (200, 1)
    assert _auth_queries(client, headers) == (200, 1)


def test_a_listening_process_remembers_and_forgets_what_another_publishes(client, cast, bus):
    token = issue_token(cast.member_a)
    headers = {"Authorization": f"Bearer {token}"}
    stop = listening(bus)
    try:
        assert _auth_queries(client, headers) == (200, 1)
        assert _auth_queries(client, headers) == (200, 0)
        other = LoginBus(bus.url, bus.channel.removesuffix(":logins"))
        other.publish([("api", token_hash(token))])
        deadline = time.monotonic() + 2
        while ("api", token_hash(token)) in loader._remembered:
            assert time.monotonic() < deadline, "the other process's message was not applied"
            time.sleep(0.001)
        assert _auth_queries(client, headers) == (200, 1)
        other.publish([("user", cast.member_a.id)])
        assert _auth_queries(client, headers) == (200, 1)
    finally:
        stop.set()
    deadline = time.monotonic() + 10
    while bus.live():
        assert time.monotonic() < deadline, "the bus still listens"
        time.sleep(0.005)
    assert _auth_queries(client, headers) == (200, 1)  # stopped listening: nothing used from memory
    assert _auth_queries(client, headers) == (200, 1)


class StalledListener:
    """A listener that a busy process has not run yet once the message arrives (``before reading``), or
    that has read the message and not applied it yet (``while applying``), until ``release``."""

    def __init__(self, monkeypatch, stage: str) -> None:
        self.stage = stage
        self.stalling = threading.Event()
        self.stalled = threading.Event()
        self.released = threading.Event()
        real_select = login_bus.select.select

        def select(*args):
            if self.stage == "before reading" and self.stalling.is_set():
                self.stalled.set()
                self.released.wait(10)
            return real_select(*args)

        monkeypatch.setattr(login_bus, "select", SimpleNamespace(select=select))

    def forget(self, key) -> None:
        if key is not None and self.stage == "while applying" and self.stalling.is_set():
            self.stalled.set()
            self.released.wait(10)
        loader.forget_key(key)


@pytest.mark.parametrize("stage", ["before reading", "while applying"])
def test_a_logout_published_elsewhere_is_refused_here_even_before_the_listener_applies_it(client, cast, bus,
                                                                                         monkeypatch, stage):
    token = issue_token(cast.member_a)
    headers = {"Authorization": f"Bearer {token}"}
    listener = StalledListener(monkeypatch, stage)
    stop = listening(bus, listener.forget)
    try:
        assert _auth_queries(client, headers) == (200, 1)
        assert _auth_queries(client, headers) == (200, 0)
        listener.stalling.set()
        if stage == "before reading":
            assert listener.stalled.wait(5)
        # another process logs the token out: it writes, then publishes, then answers
        with db.engine.begin() as other:
            other.execute(sa.update(AuthSession).where(AuthSession.token_hash == token_hash(token))
                          .values(revoked_at=utcnow()))
        db.session.rollback()  # the requests share the test's session: no read from before the logout
        LoginBus(bus.url, bus.channel.removesuffix(":logins")).publish([("api", token_hash(token))])
        assert listener.stalled.wait(5)
        assert _auth_queries(client, headers) == (401, 1)
    finally:
        listener.released.set()
        stop.set()


def test_an_unreachable_redis_means_no_login_is_remembered(client, cast, app):
    app.extensions[EXTENSION] = bus = LoginBus("redis://127.0.0.1:1/0", "test-unreachable")
    stop = threading.Event()
    threading.Thread(target=bus.listen, args=(loader.forget_key,), kwargs={"stop": stop}, daemon=True).start()
    try:
        headers = {"Authorization": f"Bearer {issue_token(cast.member_a)}"}
        assert _auth_queries(client, headers) == (200, 1)
        assert _auth_queries(client, headers) == (200, 1)
        assert not bus.live()
    finally:
        stop.set()
        del app.extensions[EXTENSION]


def test_commits_publish_what_to_forget(client, cast, bus, monkeypatch):
    published: list[list[object]] = []
    monkeypatch.setattr(bus, "publish", lambda keys: published.append(sorted(keys, key=str)))
    token = issue_token(cast.chair)
    published.clear()
    headers = {"Authorization": f"Bearer {token}"}
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    assert [("api", token_hash(token))] in published
    published.clear()
    cast.member_b.active = False
    db.session.commit()
    assert published == [[("user", cast.member_b.id)]]
    published.clear()
    db.session.execute(sa.update(AuthSession).values(revoked_at=utcnow()))
    db.session.commit()
    assert published == [[None]]


@pytest.mark.slow
def test_a_logout_on_one_process_is_refused_on_the_other_at_once(app, cast, database_url, tmp_path, redis_queue):
    from tests.live.harness import ServerProcess

    channel = f"test-{uuid.uuid4().hex}"
    servers = [ServerProcess(tmp_path, database_url, message_queue=redis_queue) for _ in range(2)]
    for server in servers:
        # remembered for a minute: only the message can end it in time
        server.env.update(ECABINET_MESSAGE_QUEUE_CHANNEL=channel, ECABINET_AUTH_CACHE_SECONDS="60")
    try:
        first, second = (server.start() for server in servers)

        def me(server: ServerProcess, token: str) -> requests.Response:
            return requests.get(f"{server.url}/api/v1/me", headers={"Authorization": f"Bearer {token}",
                                                                    "Connection": "close"}, timeout=10)

        # the second process does remember: a revocation written without the app is not seen there yet
        deadline = time.monotonic() + 20
        while True:
            probe = issue_token(cast.member_b)
            assert me(second, probe).status_code == 200
            with db.engine.begin() as other:
                other.execute(sa.update(AuthSession).where(AuthSession.token_hash == token_hash(probe))
                              .values(revoked_at=utcnow()))
            if me(second, probe).status_code == 200:
                break
            assert time.monotonic() < deadline, "the second process never remembered a login"
            time.sleep(0.2)

        for _ in range(20):
            token = issue_token(cast.member_a)
            assert me(second, token).status_code == 200 and me(second, token).status_code == 200
            assert me(first, token).status_code == 200
            logout = requests.post(f"{first.url}/api/v1/auth/logout",
                                   headers={"Authorization": f"Bearer {token}", "Connection": "close"}, timeout=10)
            assert logout.status_code == 204
            refused = me(second, token)
            assert refused.status_code == 401 and refused.json()["error"]["code"] == "not_authenticated"
    finally:
        for server in servers:
            server.stop(signal.SIGKILL)
