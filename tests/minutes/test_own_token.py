"""Minutes signed with one's own token: a chair whose certificate was imported without its key downloads
the prepared minutes, signs them with their own tool (pyHanko here, with a key the server never holds)
and uploads them; only that exact file with one signature in the chair's box, in the chair's turn, by
the chair's registered certificate, is accepted."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers

from ecabinet import keystore, storage
from ecabinet.database import db
from ecabinet.signing import BuiltinCA, build_signer
from ecabinet.signing.signer import PYHANKO_LOCK
from meetings.minutes.models import Minutes
from meetings.models import Meeting
from tests.conftest import TEST_PASSWORD, assert_error, audit_actions
from tests.identity.test_mfa import csrf_of
from tests.minutes.conftest import PIN
from tests.minutes.test_minutes_api import _events, _status


@pytest.fixture
def cipher_ca(app: Any, tmp_path: Path) -> BuiltinCA:
    """Another authority (the Government Cipher Committee's CA), trusted by this deployment."""
    authority = BuiltinCA.create_or_load(tmp_path / "ban-co-yeu", organisation="Ban Cơ yếu Chính phủ")
    roots = Path(app.config["TRUSTED_ROOTS_DIR"])
    roots.mkdir(parents=True, exist_ok=True)
    (roots / "ban-co-yeu.pem").write_bytes(authority.root_certificate.public_bytes(serialization.Encoding.PEM)
                                           + authority.issuing_certificate.public_bytes(serialization.Encoding.PEM))
    return authority


def _token(authority: BuiltinCA, username: str) -> tuple[Any, Any]:
    """A token's key (kept by the test, the member's own tool) and its certificate."""
    key, cert = authority.issue_signing_certificate(common_name=f"Token {username}", organisation="Chính phủ",
                                                    username=username)
    return build_signer(key, cert, [authority.issuing_certificate, authority.root_certificate]), cert


@pytest.fixture
def chair_token(app: Any, cipher_ca: BuiltinCA, tmp_path: Path) -> Any:
    """The chair's certificate registered alone (``certs import --cert``): its key stays on the token."""
    signer, cert = _token(cipher_ca, "chair")
    path = tmp_path / "chair.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    result = app.test_cli_runner().invoke(args=["ecabinet", "certs", "import", "--username", "chair",
                                                "--cert", str(path)])
    assert result.exit_code == 0, result.output
    return signer


def _sign(pdf: bytes, signer: Any, field: str, *, tamper: bool = False) -> bytes:
    """What the signer's own tool does: sign into the named empty field (with ``tamper``, after drawing
    something more on the first page in the same revision: a shadow of what was prepared)."""
    writer = IncrementalPdfFileWriter(BytesIO(pdf), strict=True)
    if tamper:
        stream = writer.add_object(generic.StreamObject(stream_data=b"q 1 0 0 RG 72 72 400 400 re S Q"))
        writer.add_stream_to_page(0, stream)
    meta = signers.PdfSignatureMetadata(field_name=field, md_algorithm="sha256",
                                        subfilter=fields.SigSeedSubFilter.PADES)
    with PYHANKO_LOCK:
        return signers.sign_pdf(writer, meta, signer).getvalue()


def _upload(client: Any, meeting_id: int, data: bytes) -> Any:
    return client.post(f"/meetings/{meeting_id}/minutes/sign/upload", data={"file": (BytesIO(data), "bb.pdf")},
                       content_type="multipart/form-data")


def _draw_up_and_secretary_signs(session: Any) -> None:
    clients, meeting_id = session.clients, session.meeting_id
    assert clients["secretary"].post(f"/meetings/{meeting_id}/minutes").status_code == 201
    assert clients["secretary"].post(f"/meetings/{meeting_id}/minutes/sign", json={"pin": PIN}).status_code == 200


def test_a_chair_with_a_token_signs_the_minutes_with_their_own_tool(closed_session, chair_token, pdfsig):
    clients, meeting_id = closed_session.clients, closed_session.meeting_id
    _draw_up_and_secretary_signs(closed_session)
    assert_error(clients["chair"].post(f"/meetings/{meeting_id}/minutes/sign", json={"pin": PIN}), 409,
                 "sign_with_own_tool")
    prepared = clients["chair"].get(f"/meetings/{meeting_id}/minutes/sign/prepared.pdf")
    assert prepared.status_code == 200 and prepared.mimetype == "application/pdf"
    minutes = db.session.query(Minutes).one()
    assert prepared.data == storage.get(minutes.secretary_signed_sha256)  # what the secretary signed, unchanged

    signed = _sign(prepared.data, chair_token, "ChuToa")
    accepted = _upload(clients["chair"], meeting_id, signed)
    assert accepted.status_code == 200, accepted.get_json()
    assert accepted.get_json()["status"] == "signed"
    assert _status(meeting_id) == "archived"
    assert _events(meeting_id)[-1] == "minutes.signed"
    assert audit_actions()[-1] == "minutes.signed"
    final = clients["member_a"].get(f"/meetings/{meeting_id}/minutes.pdf")
    assert final.data == signed
    assert pdfsig(final.data) == ["Signature is Valid.", "Signature is Valid."]
    assert_error(_upload(clients["chair"], meeting_id, signed), 409, "minutes_already_signed")


def test_the_upload_is_refused_out_of_turn_by_another_key_or_with_changed_content(
        closed_session, chair_token, cipher_ca):
    clients, meeting_id = closed_session.clients, closed_session.meeting_id
    assert clients["secretary"].post(f"/meetings/{meeting_id}/minutes").status_code == 201
    draft = clients["secretary"].get(f"/meetings/{meeting_id}/minutes/sign/prepared.pdf").data
    # not the chair's turn yet: the secretary signs first
    assert_error(clients["chair"].get(f"/meetings/{meeting_id}/minutes/sign/prepared.pdf"), 409,
                 "secretary_must_sign_first")
    assert_error(_upload(clients["chair"], meeting_id, _sign(draft, chair_token, "ThuKy")), 409,
                 "secretary_must_sign_first")
    assert_error(_upload(clients["member_a"], meeting_id, draft), 403, "not_a_minutes_signer")
    assert clients["secretary"].post(f"/meetings/{meeting_id}/minutes/sign", json={"pin": PIN}).status_code == 200
    prepared = clients["chair"].get(f"/meetings/{meeting_id}/minutes/sign/prepared.pdf").data

    before = audit_actions()
    stranger, _ = _token(cipher_ca, "chair")  # names the chair, but is not the certificate registered here
    assert_error(_upload(clients["chair"], meeting_id, _sign(prepared, stranger, "ChuToa")), 422, "wrong_signer")
    # a shadow: the page drawn over in the signed revision (the secretary's signature sees it first)
    shadow = assert_error(_upload(clients["chair"], meeting_id, _sign(prepared, chair_token, "ChuToa", tamper=True)),
                          422, "modified_after_signing")
    assert shadow["message"] == "Tài liệu đã bị thay đổi sau khi ký."
    # signed in the secretary's box, or over an earlier draft: not the file prepared for the chair
    assert_error(_upload(clients["chair"], meeting_id, _sign(draft, chair_token, "ThuKy")), 422,
                 "first_revision_mismatch")
    credential = keystore.active_credential(_chair_of(closed_session))
    keystore.revoke_credential(credential, actor=None)
    assert_error(_upload(clients["chair"], meeting_id, _sign(prepared, chair_token, "ChuToa")), 422,
                 "certificate_revoked")
    assert audit_actions()[len(before):] == ["credential.revoked"]
    assert _status(meeting_id) == "closed"


def _chair_of(session: Any) -> Any:
    meeting = db.session.get(Meeting, session.meeting_id)
    assert meeting is not None
    return meeting.chair


def test_the_minutes_page_offers_the_chair_with_a_token_the_upload_instead_of_the_pin(app, closed_session,
                                                                                      chair_token):
    _draw_up_and_secretary_signs(closed_session)
    browser = app.test_client()
    login = browser.post("/login", data={"username": "chair", "password": TEST_PASSWORD,
                                         "csrf_token": csrf_of(browser.get("/login").get_data(as_text=True))})
    assert login.status_code == 302
    page = browser.get(f"/meetings/{closed_session.meeting_id}/minutes").get_data(as_text=True)
    assert 'id="sign"' not in page
    assert 'id="own-signature"' in page and 'id="download-prepared"' in page
    assert "Khóa của chứng thư số nằm trên thiết bị ký (token) của đồng chí: tải biên bản về" in page


def test_a_secretary_with_a_token_signs_first_and_a_shadow_of_the_draft_is_refused(app, closed_session, cipher_ca,
                                                                                   tmp_path):
    clients, meeting_id = closed_session.clients, closed_session.meeting_id
    signer, cert = _token(cipher_ca, "secretary")
    path = tmp_path / "secretary.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    assert app.test_cli_runner().invoke(args=["ecabinet", "certs", "import", "--username", "secretary",
                                              "--cert", str(path)]).exit_code == 0
    assert clients["secretary"].post(f"/meetings/{meeting_id}/minutes").status_code == 201
    draft = clients["secretary"].get(f"/meetings/{meeting_id}/minutes/sign/prepared.pdf").data
    minutes = db.session.query(Minutes).one()
    assert draft == storage.get(minutes.current.sha256)
    assert_error(_upload(clients["secretary"], meeting_id, _sign(draft, signer, "ThuKy", tamper=True)), 422,
                 "signed_revision_modified")
    # signed in the chair's field: not the secretary's box
    assert_error(_upload(clients["secretary"], meeting_id, _sign(draft, signer, "ChuToa")), 422,
                 "signed_revision_modified")
    assert_error(_upload(clients["secretary"], meeting_id, b"not a PDF"), 415, "unsupported_media_type")
    accepted = _upload(clients["secretary"], meeting_id, _sign(draft, signer, "ThuKy"))
    assert accepted.status_code == 200, accepted.get_json()
    assert accepted.get_json()["status"] == "signed_by_secretary"
    assert _status(meeting_id) == "closed"
    assert audit_actions()[-1] == "minutes.signed"
    # the chair, who signs with a PIN, now signs after the secretary's token signature
    assert clients["chair"].post(f"/meetings/{meeting_id}/minutes/sign", json={"pin": PIN}).status_code == 200
    assert _status(meeting_id) == "archived"
