"""The Government Office's own key as a trust anchor: it signs audit checkpoints and the statements of
exported bags. Verifiers know the office by its certificate's SHA-256 (pinned at ``init`` in
``DATA_DIR/office-pin.json`` and published from ``ecabinet office show``), never by a name in a
certificate: any account can be given a certificate naming ``vpcp``.

The key and certificate are the ones ``keystore.office_signer()`` creates in ``DATA_DIR/ca``; this
module reads them without Flask so that ``restore`` can sign with a restored data directory.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from ecabinet import keystore
from ecabinet.signing import load_private_key
from ecabinet.signing.keys import SigningKey

KEY_FILE, CERT_FILE, PASS_FILE = "office.key.pem", "office.crt.pem", "office-passphrase"
PIN_FILE = "office-pin.json"


@dataclass(frozen=True)
class Office:
    key: SigningKey
    certificate: x509.Certificate

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.certificate)

    def sign(self, payload: bytes) -> str:
        """A detached signature of ``payload`` (base64), SHA-256 with the office key."""
        if isinstance(self.key, ec.EllipticCurvePrivateKey):
            raw = self.key.sign(payload, ec.ECDSA(hashes.SHA256()))
        else:
            raw = self.key.sign(payload, padding.PKCS1v15(), hashes.SHA256())
        return base64.b64encode(raw).decode()


def fingerprint(cert: x509.Certificate) -> str:
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def certificate_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def signature_valid(cert: x509.Certificate, payload: bytes, signature: str) -> bool:
    """Whether ``signature`` (base64) is the key of ``cert`` signing ``payload``."""
    try:
        raw = base64.b64decode(signature, validate=True)
        public = cert.public_key()
        if isinstance(public, ec.EllipticCurvePublicKey):
            public.verify(raw, payload, ec.ECDSA(hashes.SHA256()))
        elif isinstance(public, rsa.RSAPublicKey):
            public.verify(raw, payload, padding.PKCS1v15(), hashes.SHA256())
        else:
            return False
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


_loaded: dict[Path, Office] = {}


def load(data_dir: Path) -> Office | None:
    """The office key of the data directory, or None while it has none (before ``init`` or the first report)."""
    directory = Path(data_dir) / "ca"
    cached = _loaded.get(directory)
    if cached is not None:
        return cached
    if not (directory / CERT_FILE).exists():  # written last by keystore.office_signer(): it says done
        return None
    key = load_private_key((directory / KEY_FILE).read_bytes(), (directory / PASS_FILE).read_text())
    office = Office(key, x509.load_pem_x509_certificate((directory / CERT_FILE).read_bytes()))
    _loaded[directory] = office
    return office


def ensure(data_dir: Path) -> Office:
    """The office key, created now (with the built-in CA) when missing. Needs the app context."""
    keystore.office_signer()
    office = load(data_dir)
    assert office is not None
    return office


@dataclass(frozen=True)
class Pin:
    sha256: str
    certificate: x509.Certificate
    pinned_at: str
    #: the audit chain's last record when the pin was made: checkpoints after it must be signed
    from_record: int


def read_pin(data_dir: Path) -> Pin | None:
    """The pinned office certificate, or None when ``init`` has not pinned one here."""
    try:
        raw = json.loads((Path(data_dir) / PIN_FILE).read_text(encoding="utf-8"))
        cert = x509.load_pem_x509_certificate(raw["certificate"].encode())
        pin = Pin(raw["sha256"], cert, raw["pinned_at"], int(raw["from_record"]))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise PinDamaged(f"{PIN_FILE} is unreadable ({error.__class__.__name__})") from error
    if fingerprint(cert) != pin.sha256:
        raise PinDamaged(f"{PIN_FILE}: the certificate does not match its SHA-256")
    return pin


class PinDamaged(RuntimeError):
    """The pin file was changed or damaged."""


def write_pin(data_dir: Path, office: Office, from_record: int) -> bool:
    """Pin ``office`` once (the file is never rewritten); False when a pin already exists."""
    body = json.dumps({"sha256": office.fingerprint, "certificate": certificate_pem(office.certificate),
                       "pinned_at": datetime.now(UTC).isoformat(timespec="seconds"),
                       "from_record": from_record}, indent=1).encode()
    try:
        descriptor = os.open(Path(data_dir) / PIN_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(descriptor, "wb") as out:
        out.write(body)
        out.flush()
        os.fsync(out.fileno())
    return True


def anchor_from_options(fingerprint_option: str | None, cert_file: Path | None) -> str | None:
    """The office fingerprint a verifier was given from outside: ``--office-fingerprint`` or the
    certificate file ``--office-cert`` (PEM or DER); None when neither."""
    if fingerprint_option:
        return fingerprint_option.replace(":", "").strip().lower()
    if cert_file is not None:
        blob = cert_file.read_bytes()
        cert = (x509.load_pem_x509_certificate(blob) if b"-----BEGIN" in blob
                else x509.load_der_x509_certificate(blob))
        return fingerprint(cert)
    return None


def describe(cert: x509.Certificate) -> dict[str, Any]:
    return {"sha256": fingerprint(cert), "subject": cert.subject.rfc4514_string(),
            "issuer": cert.issuer.rfc4514_string(), "serial": format(cert.serial_number, "x"),
            "not_before": cert.not_valid_before_utc.isoformat(), "not_after": cert.not_valid_after_utc.isoformat()}
