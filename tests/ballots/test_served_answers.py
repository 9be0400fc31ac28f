"""Members answering at the same moment through the real gevent server (pyHanko runs its own
asyncio loop per call: concurrent calls in one process once answered 500)."""

from __future__ import annotations

import signal
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from ecabinet.database import db
from tests.conftest import issue_token
from tests.live.harness import ServerProcess

from .conftest import PIN, answers_for

pytestmark = pytest.mark.slow


def test_members_answering_at_once_all_get_their_receipt(cast: Any, members: list[Any], make_ballot: Any,
                                                         database_url: str, tmp_path: Any) -> None:
    ballot = make_ballot()
    ballot_id, body = ballot.id, {"answers": answers_for(ballot), "pin": PIN}
    tokens = [issue_token(member) for member in members]
    db.session.commit()
    server = ServerProcess(tmp_path, database_url).start()
    try:
        def answer(token: str) -> requests.Response:
            return requests.post(f"{server.url}/api/v1/ballots/{ballot_id}/responses", json=body, timeout=120,
                                 headers={"Authorization": f"Bearer {token}"})

        with ThreadPoolExecutor(len(tokens)) as pool:
            responses = list(pool.map(answer, tokens))
        assert [r.status_code for r in responses] == [201] * len(tokens), [r.text[:200] for r in responses]
        assert len({r.json()["sha256"] for r in responses}) == len(tokens)
        board = requests.get(f"{server.url}/api/v1/ballots/{ballot_id}", timeout=30,
                             headers={"Authorization": f"Bearer {issue_token(cast.secretary)}"}).json()
        assert sorted(r["status"] for r in board["recipients"]) == ["answered"] * len(tokens)
    finally:
        server.stop(signal.SIGKILL)
