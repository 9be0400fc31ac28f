"""OCSP: a certificate that names a responder is checked against it (a real HTTP responder signing real
OCSP answers with the issuer's key); an unreachable responder is no answer."""

from __future__ import annotations

import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID

from ecabinet import keystore, revocation
from ecabinet.database import utcnow
from tests.live.harness import free_port


class Authority:
    """A small CA whose certificates name its OCSP responder, and the responder itself."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "OCSP Test Root"),
                          x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Ban Cơ yếu Chính phủ")])
        now = utcnow()
        self.cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(self.key.public_key())
                     .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
                     .not_valid_after(now + timedelta(days=365))
                     .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                     .sign(self.key, hashes.SHA256()))
        self.revoked: set[int] = set()
        self.issued: dict[int, x509.Certificate] = {}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"

    def issue(self, username: str, *, responder: str | None = None) -> x509.Certificate:
        now = utcnow()
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Lê Thị Hồng"),
                                         x509.NameAttribute(NameOID.USER_ID, username)]))
                .issuer_name(self.cert.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=30))
                .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                                             data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                             crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
                .add_extension(x509.AuthorityInformationAccess([x509.AccessDescription(
                    AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(responder or self.url))]),
                    critical=False)
                .sign(self.key, hashes.SHA256()))
        self.issued[cert.serial_number] = cert
        return cert

    def answer(self, body: bytes) -> bytes:
        asked = ocsp.load_der_ocsp_request(body)
        cert = self.issued[asked.serial_number]
        now = utcnow()
        revoked = cert.serial_number in self.revoked
        builder = ocsp.OCSPResponseBuilder().add_response(
            cert=cert, issuer=self.cert, algorithm=hashes.SHA1(),  # noqa: S303 (RFC 6960's CertID)
            cert_status=ocsp.OCSPCertStatus.REVOKED if revoked else ocsp.OCSPCertStatus.GOOD,
            this_update=now, next_update=now + timedelta(hours=1),
            revocation_time=now - timedelta(hours=1) if revoked else None,
            revocation_reason=x509.ReasonFlags.key_compromise if revoked else None,
        ).responder_id(ocsp.OCSPResponderEncoding.HASH, self.cert)
        return builder.sign(self.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


@pytest.fixture
def authority(app: Any) -> Any:
    ca = Authority()
    roots = Path(app.config["TRUSTED_ROOTS_DIR"])
    roots.mkdir(parents=True, exist_ok=True)
    (roots / "ocsp-root.pem").write_bytes(ca.cert.public_bytes(serialization.Encoding.PEM))

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = ca.answer(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(200)
            self.send_header("Content-Type", "application/ocsp-response")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", ca.port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield ca
    server.shutdown()
    server.server_close()


def certs(app: Any, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=["ecabinet", "certs", *args])


def test_the_responder_decides(app, cast, authority, tmp_path):
    good = authority.issue("member_b")
    assert revocation.ocsp_revoked(good) is False
    authority.revoked.add(good.serial_number)
    assert revocation.ocsp_revoked(good) is True
    assert keystore.is_revoked(good) is True


def test_a_certificate_its_responder_calls_revoked_is_not_registered(app, cast, authority, tmp_path):
    cert = authority.issue("member_b")
    authority.revoked.add(cert.serial_number)
    path = tmp_path / "token.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    result = certs(app, "import", "--username", "member_b", "--cert", str(path))
    assert result.exit_code != 0 and "certificate_revoked" in result.output
    authority.revoked.clear()
    result = certs(app, "import", "--username", "member_b", "--cert", str(path))
    assert result.exit_code == 0, result.output


def test_an_unreachable_responder_is_no_answer(app, cast, authority):
    cert = authority.issue("member_b", responder=f"http://127.0.0.1:{free_port()}/")
    assert revocation.ocsp_revoked(cert) is False


def test_an_answer_not_signed_by_the_issuer_is_ignored(app, cast, authority):
    cert = authority.issue("member_b")
    authority.revoked.add(cert.serial_number)
    authority.key = ec.generate_private_key(ec.SECP256R1())  # the responder now signs with a stranger's key
    assert revocation.ocsp_revoked(cert) is False
