"""Certificates from the CLI and the API: list, revoke, unlock after wrong PINs, register a token's
certificate alone (PEM or DER), and CRLs imported offline; a revoked certificate signs nothing."""

from __future__ import annotations

import json
from io import BytesIO
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy import func, select

from ballots.models import ResponseRevision
from ecabinet import keystore
from ecabinet.database import db, utcnow
from ecabinet.signing import BuiltinCA, build_signer
from tests.ballots.conftest import PIN, answers_for
from tests.ballots.test_upload import _sign as sign_into_the_slips_field
from tests.conftest import TEST_PASSWORD, assert_error
from tests.identity.helpers import audit_actions
from tests.identity.test_mfa import csrf_of


def certs(app: Any, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=["ecabinet", "certs", *args])


def answer(api: Any, user: Any, ballot: Any, pin: str = PIN) -> Any:
    return api(user).post(f"/ballots/{ballot.id}/responses", json={"answers": answers_for(ballot), "pin": pin})


def answers_count() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(ResponseRevision)) or 0


def test_certs_list_shows_each_members_certificate(app, cast, members):
    result = certs(app, "list", "--username", "member_a")
    assert result.exit_code == 0, result.output
    [line] = result.output.splitlines()
    username, serial, kind, subject, _, state = line.split("\t")
    assert (username, kind, state) == ("member_a", "builtin", "active")
    assert serial == keystore.active_credential(cast.member_a).serial and "Trần Đức Long" in subject
    everyone = certs(app, "list").output.splitlines()
    assert {line.split("\t")[0] for line in everyone} == {"chair", "member_a", "member_b", "delegate", "guest"}


def test_a_pin_locked_by_wrong_tries_is_unlocked_by_the_administrator(app, api, cast, make_ballot):
    ballot = make_ballot()
    refused = certs(app, "unlock", "--username", "member_a")
    assert refused.exit_code != 0 and "certificate_not_locked" in refused.output
    for _ in range(app.config["PIN_ATTEMPTS"]):
        assert_error(answer(api, cast.member_a, ballot, pin="000000"), 403, "wrong_pin")
    assert_error(answer(api, cast.member_a, ballot), 403, "signing_locked")
    assert "locked" in certs(app, "list", "--username", "member_a").output
    result = certs(app, "unlock", "--username", "member_a")
    assert result.exit_code == 0, result.output
    assert audit_actions()[-1] == "credential.unlocked"
    assert answer(api, cast.member_a, ballot).status_code == 201


def test_a_revoked_certificate_signs_nothing(app, api, cast, make_ballot):
    ballot = make_ballot()
    serial = keystore.active_credential(cast.member_a).serial
    result = certs(app, "revoke", "--username", "member_a", "--reason", "Mất thiết bị")
    assert result.exit_code == 0, result.output
    assert audit_actions()[-2:] == ["credential.revoked", "credential.revocation_reason"]
    crl = x509.load_der_x509_crl(keystore.builtin_ca().crl())
    assert crl.get_revoked_certificate_by_serial_number(int(serial, 16)) is not None
    assert_error(answer(api, cast.member_a, ballot), 409, "no_signing_credential")
    assert answers_count() == 0
    assert "revoked" in certs(app, "list", "--username", "member_a").output
    again = certs(app, "revoke", "--username", "member_a")
    assert again.exit_code != 0 and "no_active_certificate" in again.output


# --- a certificate from another authority, its key on the member's token ---------------------------

@pytest.fixture
def cipher_ca(app: Any, tmp_path: Path) -> BuiltinCA:
    """The Government Cipher Committee's CA (another authority), trusted by this deployment: its root
    and its issuing CA installed (a certificate alone, in DER, names only its issuer)."""
    authority = BuiltinCA.create_or_load(tmp_path / "ban-co-yeu", organisation="Ban Cơ yếu Chính phủ")
    roots = Path(app.config["TRUSTED_ROOTS_DIR"])
    roots.mkdir(parents=True, exist_ok=True)
    (roots / "ban-co-yeu.pem").write_bytes(authority.root_certificate.public_bytes(serialization.Encoding.PEM)
                                           + authority.issuing_certificate.public_bytes(serialization.Encoding.PEM))
    return authority


def token_certificate(authority: BuiltinCA, tmp_path: Path, *, der: bool = False,
                      **validity: Any) -> tuple[Any, Any, Path]:
    key, cert = authority.issue_signing_certificate(common_name="Lê Thị Hồng", organisation="Bộ Y tế",
                                                    username="member_b", **validity)
    path = tmp_path / ("token.cer" if der else "token.pem")
    if der:
        path.write_bytes(cert.public_bytes(serialization.Encoding.DER))
    else:
        path.write_bytes(cert.public_bytes(serialization.Encoding.PEM)
                         + authority.issuing_certificate.public_bytes(serialization.Encoding.PEM))
    return key, cert, path


def signed_slip(api: Any, user: Any, ballot: Any, signer: Any) -> bytes:
    query = quote(json.dumps(answers_for(ballot)))
    response = api(user).get(f"/ballots/{ballot.id}/slip.pdf?answers={query}")
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return sign_into_the_slips_field(response.get_data(), signer)  # as the member's own tool does


def upload(api: Any, user: Any, ballot: Any, data: bytes) -> Any:
    return api(user).post(f"/ballots/{ballot.id}/responses/upload", data={"file": (BytesIO(data), "slip.pdf")},
                          content_type="multipart/form-data")


@pytest.mark.parametrize("der", [False, True])
def test_a_tokens_certificate_is_registered_and_its_slips_count_until_a_crl_revokes_it(
        app, api, cast, make_ballot, cipher_ca, tmp_path, der):
    key, cert, path = token_certificate(cipher_ca, tmp_path, der=der)
    result = certs(app, "import", "--username", "member_b", "--cert", str(path))
    assert result.exit_code == 0, result.output
    credential = keystore.active_credential(cast.member_b)
    assert credential.kind == "pkcs11" and credential.key_pem is None
    assert credential.certificate == cert
    assert audit_actions()[-1] == "credential.imported"
    signer = build_signer(key, cert, [cipher_ca.issuing_certificate, cipher_ca.root_certificate])
    ballot = make_ballot()
    first = upload(api, cast.member_b, ballot, signed_slip(api, cast.member_b, ballot, signer))
    assert first.status_code == 201, first.get_json()

    cipher_ca.revoke(cert.serial_number)
    crl_file = tmp_path / "ban-co-yeu.crl"
    crl_file.write_bytes(cipher_ca.crl())
    imported = certs(app, "crl-import", str(crl_file))
    assert imported.exit_code == 0, imported.output
    assert "Revoked 1 registered certificate" in imported.output
    assert {"crl.imported", "credential.revoked"} <= set(audit_actions()[-2:])
    revised = upload(api, cast.member_b, ballot, signed_slip(api, cast.member_b, ballot, signer))
    assert_error(revised, 422, "certificate_revoked")
    assert answers_count() == 1


def test_an_untrusted_expired_or_revoked_certificate_is_not_registered(app, cast, cipher_ca, tmp_path):
    stranger = BuiltinCA.create_or_load(tmp_path / "mao-danh", organisation="Mạo danh")
    (tmp_path / "s").mkdir()
    _, _, untrusted = token_certificate(stranger, tmp_path / "s")
    result = certs(app, "import", "--username", "member_b", "--cert", str(untrusted))
    assert result.exit_code != 0 and "certificate_untrusted" in result.output
    (tmp_path / "e").mkdir()
    _, _, expired = token_certificate(cipher_ca, tmp_path / "e", not_before=utcnow().replace(year=2020),
                                      not_after=utcnow().replace(year=2021))
    result = certs(app, "import", "--username", "member_b", "--cert", str(expired))
    assert result.exit_code != 0 and "certificate_expired" in result.output
    (tmp_path / "r").mkdir()
    _, revoked_cert, revoked = token_certificate(cipher_ca, tmp_path / "r")
    cipher_ca.revoke(revoked_cert.serial_number)
    (tmp_path / "list.crl").write_bytes(cipher_ca.crl())
    assert certs(app, "crl-import", str(tmp_path / "list.crl")).exit_code == 0
    result = certs(app, "import", "--username", "member_b", "--cert", str(revoked))
    assert result.exit_code != 0 and "certificate_revoked" in result.output
    (tmp_path / "junk.pem").write_bytes(b"not a certificate")
    result = certs(app, "import", "--username", "member_b", "--cert", str(tmp_path / "junk.pem"))
    assert result.exit_code != 0 and "certificate_invalid" in result.output
    assert keystore.active_credential(cast.member_b) is None
    assert "credential.imported" not in audit_actions()


def test_a_crl_of_an_unknown_issuer_or_with_a_bad_signature_is_refused(app, cast, cipher_ca, tmp_path):
    stranger = BuiltinCA.create_or_load(tmp_path / "mao-danh", organisation="Mạo danh")
    (tmp_path / "stranger.crl").write_bytes(stranger.crl())
    result = certs(app, "crl-import", str(tmp_path / "stranger.crl"))
    assert result.exit_code != 0 and "crl_issuer_unknown" in result.output
    good = bytearray(cipher_ca.crl())
    good[-5] ^= 0xFF  # inside the signature
    (tmp_path / "forged.crl").write_bytes(bytes(good))
    result = certs(app, "crl-import", str(tmp_path / "forged.crl"))
    assert result.exit_code != 0 and ("crl_signature_invalid" in result.output or "crl_invalid" in result.output)
    (tmp_path / "junk.crl").write_bytes(b"junk")
    result = certs(app, "crl-import", str(tmp_path / "junk.crl"))
    assert result.exit_code != 0 and "crl_invalid" in result.output
    assert "crl.imported" not in audit_actions()


# --- the API --------------------------------------------------------------------------------------

def test_certificates_through_the_admin_api(app, api, cast, make_ballot, cipher_ca, tmp_path):
    admin = api(cast.admin)
    listed = admin.get("/admin/certs?username=member_a").get_json()["certificates"]
    assert [(c["username"], c["kind"], c["active"], c["revoked"]) for c in listed] == [
        ("member_a", "builtin", True, False)]
    ballot = make_ballot()
    for _ in range(app.config["PIN_ATTEMPTS"]):
        answer(api, cast.member_a, ballot, pin="000000")
    unlocked = admin.post(f"/admin/certs/{listed[0]['id']}/unlock")
    assert unlocked.status_code == 200 and unlocked.get_json()["locked"] is False
    revoked = admin.post(f"/admin/certs/{listed[0]['id']}/revoke", json={"reason": "Thôi giữ chức vụ"})
    assert revoked.status_code == 200 and revoked.get_json()["revoked"] is True
    assert_error(admin.post(f"/admin/certs/{listed[0]['id']}/revoke", json={}), 409, "certificate_revoked")
    assert_error(answer(api, cast.member_a, ballot), 409, "no_signing_credential")

    _, cert, path = token_certificate(cipher_ca, tmp_path)
    registered = admin.post(f"/admin/users/{cast.member_b.id}/certs",
                            data={"cert": (BytesIO(path.read_bytes()), "t.pem")}, content_type="multipart/form-data")
    assert registered.status_code == 201, registered.get_json()
    assert registered.get_json()["serial"] == format(cert.serial_number, "x")
    cipher_ca.revoke(cert.serial_number)
    crl = admin.post("/admin/crls", data={"crl": (BytesIO(cipher_ca.crl()), "c.crl")},
                     content_type="multipart/form-data")
    assert crl.status_code == 201, crl.get_json()
    assert crl.get_json()["revoked_credentials"] == [registered.get_json()["id"]]
    assert [c["issuer"] for c in admin.get("/admin/crls").get_json()["crls"]] == [crl.get_json()["issuer"]]
    assert_error(admin.post("/admin/crls", data={"crl": (BytesIO(b"junk"), "c.crl")},
                            content_type="multipart/form-data"), 422, "crl_invalid")


@pytest.mark.parametrize(("method", "path"), [
    ("post", "/admin/certs/1/revoke"), ("post", "/admin/certs/1/unlock"), ("post", "/admin/crls"),
    ("post", "/admin/users/1/certs"), ("get", "/admin/crls"),
])
def test_only_an_administrator_manages_certificates(api, cast, members, method, path):
    credential = keystore.active_credential(cast.member_a)
    before = audit_actions()
    response = getattr(api(cast.secretary), method)(path.replace("/1/", f"/{credential.id}/"))
    assert_error(response, 403, "admin_only")
    db.session.refresh(credential)
    assert credential.revoked_at is None and credential.active
    assert audit_actions() == before


def test_a_member_whose_certificate_is_on_a_token_is_told_to_sign_with_their_own_tool(
        app, api, cast, make_ballot, cipher_ca, tmp_path):
    _, _, path = token_certificate(cipher_ca, tmp_path)
    assert certs(app, "import", "--username", "member_b", "--cert", str(path)).exit_code == 0
    ballot = make_ballot()
    refused = assert_error(answer(api, cast.member_b, ballot), 409, "sign_with_own_tool")
    assert refused["message"].startswith("Khóa của chứng thư số nằm trên thiết bị ký (token) của đồng chí")
    assert "tải phiếu về, ký bằng công cụ ký số của đồng chí" in refused["message"]
    assert answers_count() == 0
    assert keystore.active_credential(cast.member_b).failed_attempts == 0  # no PIN attempt was counted

    browser = app.test_client()
    login = browser.post("/login", data={"username": "member_b", "password": TEST_PASSWORD,
                                         "csrf_token": csrf_of(browser.get("/login").get_data(as_text=True))})
    assert login.status_code == 302
    page = browser.get(f"/ballots/{ballot.id}").get_data(as_text=True)
    assert 'id="pin"' not in page and 'id="sign"' not in page
    assert "Khóa của chứng thư số nằm trên thiết bị ký (token) của đồng chí" in page
    assert f'class="btn btn-primary" id="own-token" href="/ballots/{ballot.id}/own-signature"' in page
