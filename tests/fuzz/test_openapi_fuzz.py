"""Property-based fuzz of every operation in /api/v1/openapi.json against a real `serve` process.

Schemathesis generates valid and invalid paths, queries and bodies from the OpenAPI document (the
document the server serves, so a route added to the code is fuzzed without touching this file) and
sends them over HTTP to a gevent server on the demo Government, as the secretariat, the chair, a
guest and an anonymous caller. No answer may be a 500, and every refusal must be in the contract's
error shape with a Vietnamese message. Bounded: Schemathesis's boundary-value ("coverage") phase,
then ``FUZZ_EXAMPLES`` random examples per operation (two to three minutes per caller on a 2-core
machine); set ECABINET_FUZZ_EXAMPLES to search longer. Runs on PostgreSQL too
(ECABINET_TEST_DATABASE_URL), where a NUL byte or an integer past 2**31 fails differently.

Driven through Schemathesis's engine rather than its pytest plugin, whose lazy schemas set pytest's
private ``Function._nodeid`` (gone in pytest 9).
"""

from __future__ import annotations

import os
import re
import signal
from collections.abc import Iterator
from typing import Any

import hypothesis.strategies as st
import pytest
import schemathesis
import sqlalchemy as sa
from schemathesis import Case, CheckContext, Response
from schemathesis.engine import events

from ecabinet.auth.models import User
from ecabinet.database import db
from ecabinet.demo import load_demo
from tests.conftest import issue_token
from tests.live.harness import ServerProcess

pytestmark = pytest.mark.slow

FUZZ_EXAMPLES = int(os.environ.get("ECABINET_FUZZ_EXAMPLES", "5"))
# the demo's callers: who may do most (secretariat, chair), who may do little (a guest), nobody
CALLERS = {"secretariat": "vpcp.thuky", "chair": "thutuong", "guest": "khach.vcci", "anonymous": None}
SPARE_TOKENS = 300
SNAKE_CASE = re.compile(r"[a-z][a-z0-9_]*")


class Target:
    """The server under fuzz and the caller's bearer token. A logout in the fuzz spends a spare token
    of the same user, so the caller stays logged in for the other operations."""

    def __init__(self, server: ServerProcess, user: User | None) -> None:
        self.server = server
        self.token = issue_token(user) if user is not None else None
        self.spare = [issue_token(user) for _ in range(SPARE_TOKENS)] if user is not None else []

    def token_for(self, case: Case) -> str | None:
        if case.operation.path == "/api/v1/auth/logout" and self.spare:
            return self.spare.pop()
        return self.token


@pytest.fixture(params=list(CALLERS))
def target(request: pytest.FixtureRequest, app: Any, database_url: str, tmp_path: Any) -> Iterator[Target]:
    load_demo()
    username = CALLERS[request.param]
    user = db.session.scalar(sa.select(User).where(User.username == username)) if username else None
    server = ServerProcess(tmp_path, database_url).start()
    try:
        yield Target(server, user)
    finally:
        server.stop(signal.SIGKILL)


def run_fuzz(target: Target) -> list[str]:
    """Every operation through Schemathesis's engine (its phases: examples, boundary coverage, fuzzing);
    the failures, one line each with a curl command that reproduces it."""
    config = schemathesis.Config.from_dict({
        "generation": {"mode": "all", "max-examples": FUZZ_EXAMPLES, "database": "none"},
        "phases": {"stateful": {"enabled": False}},
        "checks": {"enabled": False, "not_a_server_error": {"enabled": True}, "error_shape": {"enabled": True}},
        "suppress-health-check": ["all"],
        "cache": {"enabled": False},
        "request-timeout": 60,
        "workers": 1,
    })
    schema = schemathesis.openapi.from_url(f"{target.server.url}/api/v1/openapi.json", config=config)
    known = known_ids()

    if target.token is not None:
        @schema.auth(refresh_interval=None)
        class Bearer:
            def get(self, case: Case, context: Any) -> str | None:
                return target.token_for(case)

            def set(self, case: Case, token: str, context: Any) -> None:
                case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}

    @schema.hook("flatmap_path_parameters")
    def sometimes_existing_ids(context: Any, path_parameters: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
        """Half the cases name objects the demo has, so bodies reach the services, not only 404s."""
        existing = {name: st.sampled_from(known[name]) for name in path_parameters or () if known.get(name)}
        if not existing:
            return st.just(path_parameters)
        return st.one_of(st.just(path_parameters), st.fixed_dictionaries({**{k: st.just(v) for k, v in
                                                                            path_parameters.items()}, **existing}))

    failures: list[str] = []
    for event in schemathesis.engine.from_schema(schema).execute():
        if isinstance(event, (events.ScenarioFinished, events.FuzzScenarioFinished)):
            for checks in event.recorder.checks.values():
                for check in checks:
                    if check.failure_info is not None:
                        failures.append(f"{check.failure_info.failure.title}: {check.failure_info.failure.message}"
                                        f"\n    {check.failure_info.code_sample}")
        elif isinstance(event, (events.NonFatalError, events.FatalError)):
            failures.append(f"error in {getattr(event, 'label', '')}: {event.info.format() if hasattr(event, 'info') else event}")
    return failures


def known_ids() -> dict[str, list[int]]:
    tables = {"meeting_id": "meetings", "item_id": "agenda_items", "document_id": "documents",
              "ballot_id": "ballots", "participant_id": "participants"}
    found = {}
    for name, table in tables.items():
        ids = list(db.session.scalars(sa.text(f"SELECT id FROM {table} ORDER BY id LIMIT 20")))  # noqa: S608
        found[name] = ids or [1]
    return found


@schemathesis.check
def error_shape(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """A refusal is {"error": {"code", "message"}} with a snake_case code and a Vietnamese message."""
    if response.status_code < 400:
        return True  # (Schemathesis: not applicable)
    content_type = response.headers.get("content-type", [""])
    assert content_type[0].startswith("application/json"), f"not JSON: {content_type}"
    body = response.json()
    assert isinstance(body, dict) and set(body) == {"error"}, f"not the error shape: {body}"
    error = body["error"]
    assert isinstance(error.get("code"), str) and SNAKE_CASE.fullmatch(error["code"]), f"bad code: {error}"
    message = error.get("message")
    assert isinstance(message, str) and message.strip(), f"no message: {error}"
    # Vietnamese by default: every message of ours has a letter outside ASCII (an English one has none)
    assert not message.isascii(), f"message not in Vietnamese: {error}"
    return None


def test_no_server_error_and_every_refusal_in_the_error_shape(target: Target) -> None:
    failures = run_fuzz(target)
    log = target.server.log.read_text(errors="replace")
    tracebacks = [block for block in log.split("\n\n") if "Traceback" in block][:5]
    assert not failures, (f"{len(failures)} failures:\n" + "\n".join(dict.fromkeys(failures))
                          + "\n\nserver log:\n" + "\n\n".join(tracebacks))
