"""A deactivated account is logged out at once in every server process, its sockets included, when
the administrator's command runs in yet another process (the CLI on the same message queue)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import uuid

import pytest
import requests
import socketio

from tests.conftest import issue_token
from tests.live.harness import ROOT, ServerProcess


@pytest.mark.slow
def test_deactivation_ends_http_and_sockets_in_every_process(app, cast, database_url, tmp_path, redis_queue):
    channel = f"test-{uuid.uuid4().hex}"
    servers = [ServerProcess(tmp_path, database_url, message_queue=redis_queue) for _ in range(2)]
    for server in servers:
        # remembered for a minute: only the message can end it in time
        server.env.update(ECABINET_MESSAGE_QUEUE_CHANNEL=channel, ECABINET_AUTH_CACHE_SECONDS="60")
    tablet = socketio.Client(reconnection=False)
    dropped = threading.Event()
    tablet.on("disconnect", lambda *args: dropped.set())
    try:
        first, second = (server.start() for server in servers)
        token = issue_token(cast.member_a)
        headers = {"Authorization": f"Bearer {token}", "Connection": "close"}
        for server in (first, second):
            for _ in range(2):  # the second answer comes from the process's memory
                assert requests.get(f"{server.url}/api/v1/me", headers=headers, timeout=10).status_code == 200
        tablet.connect(second.url, auth={"token": token}, transports=["websocket"], wait_timeout=10)
        assert tablet.connected

        command = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "wsgi", "ecabinet", "users", "set", "--username", "member_a",
             "--inactive"], cwd=ROOT, env=servers[0].env, capture_output=True, text=True, timeout=120, check=False)
        assert command.returncode == 0, command.stderr
        assert "active True -> False" in command.stdout

        for server in (first, second):
            answer = requests.get(f"{server.url}/api/v1/me", headers=headers, timeout=10)
            assert answer.status_code == 401, server.url
        assert dropped.wait(10), "the deactivated member's socket stayed connected"
        with pytest.raises(socketio.exceptions.ConnectionError):
            socketio.Client(reconnection=False).connect(second.url, auth={"token": token},
                                                        transports=["websocket"], wait_timeout=5)
    finally:
        if tablet.connected:
            tablet.disconnect()
        for server in servers:
            server.stop()
        time.sleep(0.1)
