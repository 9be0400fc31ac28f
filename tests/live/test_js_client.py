"""The official JavaScript `socket.io-client` under node against a real `serve` process: what the
tablets' own client library sees (tests/live/js_client_check.mjs drives it and reports as JSON)."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess

import pytest

from tests.conftest import issue_token, require_service
from tests.live.harness import ROOT, ServerProcess
from tests.live.scenario import published_meeting

pytestmark = pytest.mark.slow
SCRIPT = ROOT / "tests" / "live" / "js_client_check.mjs"


@pytest.fixture
def node() -> str:
    executable = shutil.which("node")
    require_service(executable is not None and (ROOT / "node_modules" / "socket.io-client").is_dir(),
                    "node with node_modules/socket.io-client (npm ci)")
    return executable  # type: ignore[return-value]


def test_javascript_client_refusals_order_catch_up_and_secret_vote(node, app, cast, database_url, tmp_path):
    scenario = published_meeting(cast, present=True)
    tokens = {name: issue_token(getattr(cast, name)) for name in ("chair", "member_a", "member_b", "outsider")}
    server = ServerProcess(tmp_path, database_url).start()
    config = {"url": server.url, "meetingId": scenario.meeting.id, "itemIds": [item.id for item in scenario.items],
              "tokens": tokens}
    try:
        run = subprocess.run([node, str(SCRIPT), json.dumps(config)], cwd=ROOT, capture_output=True, text=True,
                             timeout=120, check=False)
    finally:
        server.stop(signal.SIGKILL)
    assert run.returncode == 0, run.stderr + server.log.read_text()[-3000:]
    report = json.loads(run.stdout)

    for refusal in report["refusals"].values():
        assert refusal["message"] == "not_authenticated"
        assert refusal["data"]["error"]["code"] == "not_authenticated" and refusal["data"]["error"]["message"]
    assert report["outsider_ack"] == {"ok": False, "error": {"code": "not_found", "message": report["outsider_ack"]
                                                             ["error"]["message"]}}
    assert report["outsider_events"] == 0
    assert report["first_acks"] == {"member_a": {"ok": True, "seq": 0}, "member_b": {"ok": True, "seq": 0}}

    final = report["final_seq"]
    assert report["missed_while_away"] == 3
    assert report["rejoin_ack"] == {"ok": True, "seq": 9}
    for tablet in report["tablets"].values():
        assert tablet["applied"] == list(range(1, final + 1))
        assert tablet["duplicates"] == 0 and tablet["gaps"] == 0

    # 2 of the 3 members agree: more than half of ALL members
    assert {k: report["vote_result"][k] for k in ("agree", "disagree", "abstain", "passed")} == \
        {"agree": 2, "disagree": 1, "abstain": 0, "passed": True}
    names = [cast.chair.full_name, cast.member_a.full_name, cast.member_b.full_name]
    vote_events = [e for t in report["tablets"].values() for e in t["events"] if e["type"].startswith("vote.")]
    assert sorted({e["type"] for e in vote_events}) == ["vote.cast", "vote.closed", "vote.opened"]
    for event in vote_events:
        text = json.dumps(event["data"], ensure_ascii=False)
        assert "user_id" not in text and "names" not in text and "choice" not in text
        assert not any(name in text for name in names)

