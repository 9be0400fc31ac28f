"""A member whose certificate was registered without its key (it stays on their USB token) answers a ballot:
the review step offers the download–sign–upload path, never a PIN, at the three screen sizes."""

from __future__ import annotations

import signal
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import serialization

from ballots import service
from ecabinet import certificates, keystore
from ecabinet.database import utcnow
from tests.browser.conftest import login
from tests.browser.screens import SIZES, Screens
from tests.conftest import TEST_PASSWORD
from tests.live.harness import ServerProcess

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_token_member_is_offered_their_own_tool_instead_of_a_pin(app, cast, database_url, tmp_path, browser):
    ca = keystore.builtin_ca()
    _, cert = ca.issue_signing_certificate(common_name="Lê Thị Hồng", organisation="Bộ Y tế", username="member_b")
    pem = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in (cert, ca.issuing_certificate))
    certificates.import_token_certificate(cast.member_b, pem, actor=None)
    ballot = service.create_ballot(title="Dự thảo Nghị định về y tế số", summary="Văn phòng Chính phủ xin ý kiến.",
                                   questions=["Đồng ý ban hành?"], recipient_ids=[cast.member_b.id],
                                   deadline=utcnow() + timedelta(days=2), actor=cast.secretary)
    service.issue_ballot(ballot, actor=cast.secretary)
    server = ServerProcess(tmp_path, database_url).start()
    try:
        for size in SIZES:
            screens = Screens(browser, "ballot-token-member", size)
            page = screens.page()
            login(page, server.url, "member_b", TEST_PASSWORD)
            page.goto(f"{server.url}/ballots/{ballot.id}")
            page.locator("#answer-form fieldset.question label.choice:has(input[value=agree])").click()
            page.click("#to-review")
            page.wait_for_selector("#step-review:visible")
            assert page.locator("#pin").count() == 0 and page.locator("#sign").count() == 0
            assert "nằm trên thiết bị ký (token) của đồng chí" in page.inner_text("#step-review .notice")
            screens.check(page, "review offers the own-token path")
            page.click("#own-token")
            page.wait_for_url(f"{server.url}/ballots/{ballot.id}/own-signature")
            assert page.is_visible("#download-slip")
            screens.check(page, "own-signature page")
            screens.close()
    finally:
        server.stop(signal.SIGKILL)
