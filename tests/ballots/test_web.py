"""Tablet pages: the member's answer form and receipt, the secretariat's board and editor."""

from __future__ import annotations

import re
from typing import Any

from tests.conftest import TEST_PASSWORD

from .conftest import PIN, answers_for


def _login(app: Any, username: str) -> Any:
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    response = client.post("/login", data={"username": username, "password": TEST_PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    return client


def test_member_sees_the_form_then_the_receipt(app: Any, api: Any, cast: Any, make_ballot: Any) -> None:
    ballot = make_ballot()
    ballot_id, body = ballot.id, {"answers": answers_for(ballot), "pin": PIN}
    member_api = api(cast.member_a)
    browser = _login(app, "member_a")
    assert f"/ballots/{ballot_id}" in browser.get("/").get_data(as_text=True)  # home: "cần trả lời"
    page = browser.get(f"/ballots/{ballot_id}").get_data(as_text=True)
    assert 'id="answer-form"' in page and 'name="pin"' in page and 'type="password"' in page
    receipt = member_api.post(f"/ballots/{ballot_id}/responses", body).get_json()
    page = browser.get(f"/ballots/{ballot_id}").get_data(as_text=True)
    assert receipt["sha256"] in page and f"/responses/{receipt['id']}/pdf" in page
    assert 'id="answer-form" novalidate hidden' in page  # the form waits behind "Change my answer"
    assert f"/ballots/{ballot_id}" not in browser.get("/").get_data(as_text=True)
    listing = browser.get("/ballots").get_data(as_text=True)
    answered = listing.index("Đã trả lời, phiếu còn mở")
    assert listing.index(f"/ballots/{ballot_id}") > answered


def test_secretariat_sees_the_board_and_the_editor(app: Any, cast: Any, make_ballot: Any) -> None:
    ballot_id = make_ballot().id
    browser = _login(app, "secretary")
    page = browser.get(f"/ballots/{ballot_id}").get_data(as_text=True)
    assert 'id="board"' in page and "Trần Đức Long" in page
    assert browser.get("/ballots/new").status_code == 200


def test_outsider_gets_not_found(app: Any, cast: Any, make_ballot: Any) -> None:
    ballot_id = make_ballot().id
    assert _login(app, "outsider").get(f"/ballots/{ballot_id}").status_code == 404
