"""A chair whose certificate was registered without its key (it stays on their USB token) signs the minutes:
the page offers the download–sign–upload path, never a PIN, at the three screen sizes; the minutes
downloaded there, signed by the chair's own tool and uploaded there, archive the meeting."""

from __future__ import annotations

import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from ecabinet import certificates, keystore
from ecabinet.signing import build_signer
from tests.browser.conftest import login
from tests.browser.screens import SIZES, Screens
from tests.conftest import TEST_PASSWORD
from tests.live.harness import ServerProcess
from tests.minutes.conftest import PIN, closed_session, fast_pin_kdf  # noqa: F401 (fixtures)
from tests.minutes.test_own_token import _sign

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def chair_token(closed_session, cast):  # noqa: F811
    """The secretary has signed; the chair's certificate is registered alone, its key kept here (the
    chair's token). Made before the browser starts: its event loop would refuse pyHanko's."""
    meeting_id, clients = closed_session.meeting_id, closed_session.clients
    assert clients["secretary"].post(f"/meetings/{meeting_id}/minutes").status_code == 201
    assert clients["secretary"].post(f"/meetings/{meeting_id}/minutes/sign", json={"pin": PIN}).status_code == 200
    ca = keystore.builtin_ca()
    key, cert = ca.issue_signing_certificate(common_name="Phạm Minh Chính", organisation="Chính phủ", username="chair")
    pem = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in (cert, ca.issuing_certificate))
    certificates.import_token_certificate(cast.chair, pem, actor=None)
    return build_signer(key, cert, ca.chain)


def test_a_chair_with_a_token_uploads_the_minutes_signed_with_their_own_tool(
        closed_session, chair_token, database_url, tmp_path, browser):  # noqa: F811
    meeting_id = closed_session.meeting_id
    server = ServerProcess(tmp_path, database_url).start()
    try:
        for n, size in enumerate(SIZES, 1):
            screens = Screens(browser, "minutes-token-chair", size)
            page = screens.page()
            login(page, server.url, "chair", TEST_PASSWORD)
            page.goto(f"{server.url}/meetings/{meeting_id}/minutes")
            assert page.locator("#sign").count() == 0  # no PIN: the server cannot sign for the chair
            assert "nằm trên thiết bị ký (token) của đồng chí" in page.inner_text("#no-cert")
            assert page.is_visible("#download-prepared") and page.is_visible("#upload-signed")
            screens.check(page, "the chair is offered the own-token path")
            if n == len(SIZES):
                with page.expect_download() as download:
                    page.click("#download-prepared")
                prepared = Path(download.value.path()).read_bytes()
                signed = tmp_path / "bien-ban-da-ky.pdf"
                with ThreadPoolExecutor(1) as tool:  # the chair's own tool: outside the browser's event loop
                    signed.write_bytes(tool.submit(_sign, prepared, chair_token, "ChuToa").result())
                page.set_input_files("#signed-file", str(signed))
                assert "bien-ban-da-ky.pdf" in page.inner_text("#file-name")
                page.click("#upload-signed")
                # the upload archives the meeting: the same question as the PIN path, answered here
                dialog = page.locator("dialog[open]")
                assert "Không thể hoàn tác" in dialog.inner_text()
                screens.check(page, "the chair confirms uploading and archiving")
                dialog.get_by_role("button", name="Tải lên và lưu trữ").click()
                page.wait_for_selector("#minutes-status:text-is('Đã ký')")
                assert page.locator("#own-signature").count() == 0
                screens.check(page, "signed with the token and archived")
            screens.close()
    finally:
        server.stop(signal.SIGKILL)
