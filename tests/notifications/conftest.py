"""A real SMTP server (aiosmtpd) the app sends to, and what it received, parsed."""

from __future__ import annotations

import email
import email.policy
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ecabinet.database import db
from ecabinet.notifications.outbox import Worker
from tests.ballots.conftest import fast_pin_kdf, make_ballot, members  # noqa: F401 (fixtures)
from tests.minutes.conftest import closed_session  # noqa: F401 (fixture)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Inbox:
    """What the SMTP server accepted: each message parsed, with its envelope recipients."""

    def __init__(self, delay: float = 0.0) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []
        self.delay = delay
        self._lock = threading.Lock()

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,  # noqa: N802  (aiosmtpd's hook name)
                          rcpt_options: list[str]) -> str:
        if address.startswith("unknown"):
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802  (aiosmtpd's hook name)
        if self.delay:
            time.sleep(self.delay)  # a slow server: concurrent workers overlap while one sends
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        with self._lock:
            self.messages.append((list(envelope.rcpt_tos), message))  # type: ignore[arg-type]
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [message for recipients, message in self.messages if address in recipients]


class SmtpServer:
    """aiosmtpd on a free local port; with ``login`` it offers AUTH (LOGIN/PLAIN) over plain TCP and takes only
    that user and password."""

    def __init__(self, inbox: Inbox, login: tuple[str, str] | None = None, tls: Any = None) -> None:
        self.inbox = inbox
        self.port = free_port()
        self.login = login
        options: dict[str, Any] = {}
        if login is not None:
            options = {"auth_require_tls": False, "authenticator": self._check}
        if tls is not None:
            options["ssl_context"] = tls  # TLS from the first byte: smtps://
        self.controller = Controller(inbox, hostname="127.0.0.1", port=self.port, **options)

    def _check(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        good = isinstance(data, LoginPassword) and self.login == (data.login.decode(), data.password.decode())
        return AuthResult(success=good, handled=False)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A real SMTP server on a free local port, for the test's duration."""
    server = SmtpServer(Inbox())
    server.controller.start()
    yield server
    server.controller.stop()


@pytest.fixture
def mailing_app(app: Any, smtp: SmtpServer) -> Any:
    """The app configured to mail through the test's SMTP server."""
    app.config.update(SMTP_URL=smtp.url, MAIL_FROM="Văn phòng Chính phủ <ecabinet@vpcp.test>",
                      PUBLIC_URL="https://ecabinet.example.vn", MAIL_RETRY_SECONDS=60, MAIL_MAX_ATTEMPTS=3)
    return app


def deliver(app: Any, now: Any = None) -> int:
    """One pass of the outbox worker, as ``serve`` runs it (in its own app context and session); then the
    test's session ends its read so that it sees what the worker wrote."""
    handled = Worker(app).run_once(now)
    db.session.commit()
    return handled


def with_addresses(cast: Any) -> None:
    """Everyone of the cast gets an address; the chair reads English."""
    for user in (cast.chair, cast.secretary, cast.member_a, cast.member_b, cast.delegate, cast.guest, cast.admin,
                 cast.outsider):
        user.email = f"{user.username}@gov.test"
    cast.chair.language = "en"
    db.session.commit()


def text_of(message: EmailMessage) -> tuple[str, str]:
    """The plain-text and HTML bodies."""
    plain = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert plain is not None and html is not None
    return plain.get_content(), html.get_content()


def tls_pki(folder: Path) -> tuple[ssl.SSLContext, Path]:
    """A CA of our own (as a government runs for its internal servers) and a server certificate it issued
    for 127.0.0.1: the server's TLS context, and the CA's certificate as a PEM file."""
    now = datetime.now(UTC)

    def certificate(subject: str, key: Any, issuer: str, issuer_key: Any, *, ca: bool) -> x509.Certificate:
        builder = (x509.CertificateBuilder()
                   .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
                   .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=1))
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if not ca:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        return builder.sign(issuer_key, hashes.SHA256())

    ca_key, server_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = certificate("Mail CA of the test", ca_key, "Mail CA of the test", ca_key, ca=True)
    leaf = certificate("127.0.0.1", server_key, "Mail CA of the test", ca_key, ca=False)
    ca_file, chain, key_file = folder / "mail-ca.pem", folder / "mail-server.pem", folder / "mail-server.key"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    chain.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(server_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                  serialization.NoEncryption()))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(chain, key_file)
    return context, ca_file
