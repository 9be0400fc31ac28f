"""``certs issue`` / ``certs import``: keys only ever stored under the PIN; the CA made by ``init``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12

from ecabinet import keystore
from ecabinet.signing import WrongPin, load_private_key
from tests.conftest import audit_actions


def test_certs_issue_reads_the_pin_from_stdin(app: Any, cast: Any) -> None:
    result = app.test_cli_runner().invoke(args=["ecabinet", "certs", "issue", "--username", "member_a",
                                                "--pin-stdin"], input="135790\n")
    assert result.exit_code == 0, result.output
    assert "135790" not in result.output
    credential = keystore.active_credential(cast.member_a)
    assert credential.kind == "builtin" and b"ENCRYPTED PRIVATE KEY" in credential.key_pem
    assert load_private_key(credential.key_pem, "135790")
    try:
        load_private_key(credential.key_pem, "000000")
        raise AssertionError("a wrong PIN unlocked the key")
    except WrongPin:
        pass
    usage = credential.certificate.extensions.get_extension_for_class(__import__("cryptography").x509.KeyUsage).value
    assert usage.content_commitment  # non-repudiation
    assert audit_actions()[-1] == "credential.issued"


def test_certs_import_takes_an_existing_pkcs12(app: Any, cast: Any, tmp_path: Path) -> None:
    ca = keystore.builtin_ca()
    key, cert = ca.issue_signing_certificate(common_name="Lê Thị Hồng", organisation="Bộ Y tế", username="member_b")
    path = tmp_path / "member_b.p12"
    path.write_bytes(pkcs12.serialize_key_and_certificates(b"member_b", key, cert, ca.chain,
                                                           BestAvailableEncryption(b"p12-secret")))
    result = app.test_cli_runner().invoke(args=["ecabinet", "certs", "import", "--username", "member_b", "--p12",
                                                str(path), "--pin-stdin"], input="p12-secret\n246810\n")
    assert result.exit_code == 0, result.output
    credential = keystore.active_credential(cast.member_b)
    assert credential.kind == "pkcs12" and credential.certificate == cert
    assert load_private_key(credential.key_pem, "246810").public_key().public_numbers() == \
        key.public_key().public_numbers()


def test_certs_import_refuses_a_wrong_password(app: Any, cast: Any, tmp_path: Path) -> None:
    ca = keystore.builtin_ca()
    key, cert = ca.issue_signing_certificate(common_name="X", organisation="Y", username="member_b")
    path = tmp_path / "x.p12"
    path.write_bytes(pkcs12.serialize_key_and_certificates(b"x", key, cert, [], BestAvailableEncryption(b"right")))
    result = app.test_cli_runner().invoke(args=["ecabinet", "certs", "import", "--username", "member_b", "--p12",
                                                str(path), "--pin-stdin"], input="wrong\n246810\n")
    assert result.exit_code != 0
    assert keystore.active_credential(cast.member_b) is None


def test_init_step_creates_the_ca_and_the_office_key(app: Any) -> None:
    keystore.init_ca_step()
    directory = keystore.ca_directory()
    assert (directory / "root.crt.pem").exists() and (directory / "office.crt.pem").exists()
    assert oct((directory / "office.key.pem").stat().st_mode & 0o777) == "0o600"


def test_scheduler_starts_in_the_background(app: Any, monkeypatch: Any) -> None:
    from ballots import service
    from ecabinet.extensions import socketio

    started: list[Any] = []
    monkeypatch.setattr(socketio, "start_background_task", lambda fn, *a: started.append(fn))
    service.start_ballot_scheduler(app)
    assert len(started) == 1 and callable(started[0])
