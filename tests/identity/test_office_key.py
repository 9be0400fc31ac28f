"""Revoking the Government Office key: one administrator asks, another approves (four eyes), both audited;
the certificate goes on the CA's revocation list, the key is deleted, a new one is made and pinned, and the
audit trail still verifies (the revoked certificate vouches for the records before the revocation)."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from ecabinet import keystore, office
from ecabinet.auth.models import Role
from ecabinet.auth.service import create_user
from ecabinet.signing import SignatureRejected, sign_pdf, validate_signed_pdf
from tests.conftest import assert_error, make_user
from tests.identity.helpers import audit_actions
from tests.identity.test_admin_page import logged_in


def cli(app: Any, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=["ecabinet", *args])


@pytest.fixture
def pinned(app: Any) -> Any:
    result = cli(app, "init")
    assert result.exit_code == 0, result.output
    return app


def data_dir(app: Any) -> Path:
    return Path(app.config["DATA_DIR"])


def office_signed_pdf() -> bytes:
    buffer = BytesIO()
    page = canvas.Canvas(buffer, pagesize=A4, invariant=True)
    page.drawString(72, 770, "Thong bao ket luan")
    page.showPage()
    page.save()
    return sign_pdf(buffer.getvalue(), keystore.office_signer(), field_name="VanPhongChinhPhu",
                    box=(300, 80, 540, 150), signer_name_text=["Văn phòng Chính phủ"])


def test_a_second_administrator_approves_the_revocation(pinned, api, cast):
    pinned.config["FOUR_EYES"] = ["office_key.revoke"]
    second_admin = make_user("admin_two", roles=[Role.ADMIN])
    old = office.load(data_dir(pinned))
    signed_before = office_signed_pdf()

    asked = api(cast.admin).post("/admin/office-key/revoke", json={"reason": "USB lưu khóa bị mất"})
    assert asked.status_code == 202, asked.get_json()
    request_id = asked.get_json()["approval_request"]["id"]
    assert asked.get_json()["approval_request"]["payload"] == {"sha256": old.fingerprint, "reason": "USB lưu khóa bị mất"}
    assert office.load(data_dir(pinned)).fingerprint == old.fingerprint  # nothing happened yet
    assert_error(api(cast.member_a).post(f"/approvals/{request_id}/approve"), 404, "not_found")
    assert_error(api(cast.admin).post(f"/approvals/{request_id}/approve"), 403, "approval_by_another")

    approved = api(second_admin).post(f"/approvals/{request_id}/approve")
    assert approved.status_code == 200 and approved.get_json()["status"] == "approved"
    assert audit_actions()[-3:] == ["approval.requested", "approval.approved", "office_key.revoked"]

    new = office.load(data_dir(pinned))
    assert new is not None and new.fingerprint != old.fingerprint
    # reports are signed with the new key from now on; the old one is deleted, its certificate kept
    assert keystore.office_signer().signing_cert.dump() == new.certificate.public_bytes(Encoding.DER)
    retired = data_dir(pinned) / "ca" / "retired"
    assert [path.name for path in retired.iterdir()] == [f"{old.fingerprint}.crt.pem"]
    crl = x509.load_der_x509_crl(keystore.builtin_ca().crl())
    assert crl.get_revoked_certificate_by_serial_number(old.certificate.serial_number) is not None

    pin = office.read_pin(data_dir(pinned))
    assert pin.sha256 == new.fingerprint and [entry.sha256 for entry in pin.previous] == [old.fingerprint]
    assert pin.previous[0].reason == "USB lưu khóa bị mất"
    shown = cli(pinned, "office", "show")
    assert f"sha256: {new.fingerprint}" in shown.output and f"revoked: {old.fingerprint}" in shown.output
    described = api(cast.admin).get("/admin/office-key").get_json()
    assert described["certificate"]["sha256"] == new.fingerprint
    assert [entry["sha256"] for entry in described["revoked"]] == [old.fingerprint]

    # the audit trail, signed by the old key before and the new one after, still verifies
    create_user(username="later_member", full_name="Thành viên mới", password="long-enough-pass",
                roles=[Role.MEMBER], actor=None)
    verified = cli(pinned, "audit", "verify")
    assert verified.exit_code == 0, verified.output
    assert f"revoked office certificate SHA-256 {old.fingerprint}" in verified.output

    # what the old key signed: intact, but a verifier that checks revocation refuses it (no timestamp)
    roots = keystore.trust_roots()
    assert validate_signed_pdf(signed_before, trust_roots=roots).signatures
    with pytest.raises(SignatureRejected) as refused:
        validate_signed_pdf(signed_before, trust_roots=roots, crls=keystore.crls_for(old.certificate))
    assert refused.value.code == "certificate_revoked"
    signed_after = office_signed_pdf()
    assert validate_signed_pdf(signed_after, trust_roots=roots, crls=keystore.crls_for(new.certificate)).signatures


def test_a_refused_request_changes_nothing(pinned, api, cast):
    pinned.config["FOUR_EYES"] = ["office_key.revoke"]
    second_admin = make_user("admin_two", roles=[Role.ADMIN])
    old = office.load(data_dir(pinned)).fingerprint
    request_id = api(cast.admin).post("/admin/office-key/revoke", json={}).get_json()["approval_request"]["id"]
    browser, csrf = logged_in(pinned, second_admin.username)
    page = browser.get("/admin/users").get_data(as_text=True)
    assert "Khóa của Văn phòng Chính phủ</strong>" in page and f"sha256 = {old}" in page
    refused = browser.post(f"/admin/approvals/{request_id}/reject", data={"csrf_token": csrf})
    assert refused.status_code == 302
    assert office.load(data_dir(pinned)).fingerprint == old
    assert audit_actions()[-3:] == ["approval.requested", "auth.login", "approval.rejected"]


def test_a_request_made_for_a_key_since_replaced_is_not_carried_out(pinned, api, cast):
    pinned.config["FOUR_EYES"] = ["office_key.revoke"]
    second_admin = make_user("admin_two", roles=[Role.ADMIN])
    request_id = api(cast.admin).post("/admin/office-key/revoke", json={}).get_json()["approval_request"]["id"]
    assert cli(pinned, "office", "revoke", "--yes", "--reason", "rotation").exit_code == 0
    assert_error(api(second_admin).post(f"/approvals/{request_id}/approve"), 409, "office_key_changed")


def test_without_four_eyes_an_administrator_revokes_at_once_and_others_cannot(pinned, api, cast):
    pinned.config["FOUR_EYES"] = []
    assert_error(api(cast.secretary).post("/admin/office-key/revoke", json={}), 403, "admin_only")
    old = office.load(data_dir(pinned)).fingerprint
    done = api(cast.admin).post("/admin/office-key/revoke", json={"reason": "hết hạn"})
    assert done.status_code == 200 and done.get_json()["revoked_sha256"] == old
    assert office.read_pin(data_dir(pinned)).sha256 == done.get_json()["new_sha256"]
    assert audit_actions()[-1] == "office_key.revoked"


def test_the_command_asks_before_revoking(pinned):
    old = office.load(data_dir(pinned)).fingerprint
    declined = pinned.test_cli_runner().invoke(args=["ecabinet", "office", "revoke"], input="n\n")
    assert declined.exit_code != 0 and office.load(data_dir(pinned)).fingerprint == old
