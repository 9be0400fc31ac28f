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


_loaded: dict[Path, tuple[tuple[int, int], Office]] = {}


def file_identity(path: Path) -> tuple[int, int] | None:
    """The file's inode and change time: a replaced office key is seen by every process at its next use."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_ino, stat.st_mtime_ns


def load(data_dir: Path) -> Office | None:
    """The office key of the data directory, or None while it has none (before ``init`` or the first report,
    or just after a revocation retired it)."""
    directory = Path(data_dir) / "ca"
    identity = file_identity(directory / CERT_FILE)  # written last by keystore.office_signer(): it says done
    if identity is None:
        _loaded.pop(directory, None)
        return None
    cached = _loaded.get(directory)
    if cached is not None and cached[0] == identity:
        return cached[1]
    key = load_private_key((directory / KEY_FILE).read_bytes(), (directory / PASS_FILE).read_text())
    office = Office(key, x509.load_pem_x509_certificate((directory / CERT_FILE).read_bytes()))
    _loaded[directory] = (identity, office)
    return office


def retire(data_dir: Path, office: Office) -> Path:
    """Take a revoked office key out of use for good: its certificate is kept in ``ca/retired/`` (to verify
    what it signed), its key and passphrase are deleted. The certificate goes first, so no process loads
    the key again (``load`` answers None until a new key is made)."""
    directory = Path(data_dir) / "ca"
    retired = directory / "retired" / f"{office.fingerprint}.crt.pem"
    retired.parent.mkdir(mode=0o700, exist_ok=True)
    retired.write_bytes(certificate_pem(office.certificate).encode())
    for name in (CERT_FILE, KEY_FILE, PASS_FILE):
        (directory / name).unlink(missing_ok=True)
    _loaded.pop(directory, None)
    return retired


def ensure(data_dir: Path) -> Office:
    """The office key, created now (with the built-in CA) when missing. Needs the app context."""
    keystore.office_signer()
    office = load(data_dir)
    assert office is not None
    return office


@dataclass(frozen=True)
class PreviousPin:
    """An office certificate pinned before a revocation replaced it: it vouches for the audit records up to
    ``until_record`` only."""

    sha256: str
    certificate: x509.Certificate
    pinned_at: str
    from_record: int
    until_record: int
    revoked_at: str
    reason: str


@dataclass(frozen=True)
class Pin:
    sha256: str
    certificate: x509.Certificate
    pinned_at: str
    #: the audit chain's last record when the pin was made: checkpoints after it must be signed
    from_record: int
    #: the certificates revoked before this one, oldest first
    previous: tuple[PreviousPin, ...] = ()

    @property
    def first_from_record(self) -> int:
        """The record from which every checkpoint is signed (the first pin's)."""
        return min([self.from_record, *(entry.from_record for entry in self.previous)])

    def certificates_for(self, record_id: int) -> list[x509.Certificate]:
        """The certificates whose signature on a checkpoint of ``record_id`` counts: the current one, and a
        revoked one for the records up to its revocation."""
        return [self.certificate, *(entry.certificate for entry in self.previous if record_id <= entry.until_record)]

    def knows(self, sha256: str, record_id: int) -> x509.Certificate | None:
        return next((cert for cert in self.certificates_for(record_id) if fingerprint(cert) == sha256), None)


def read_pin(data_dir: Path) -> Pin | None:
    """The pinned office certificate, or None when ``init`` has not pinned one here."""
    try:
        raw = json.loads((Path(data_dir) / PIN_FILE).read_text(encoding="utf-8"))
        cert = x509.load_pem_x509_certificate(raw["certificate"].encode())
        previous = tuple(PreviousPin(entry["sha256"], x509.load_pem_x509_certificate(entry["certificate"].encode()),
                                     entry["pinned_at"], int(entry["from_record"]), int(entry["until_record"]),
                                     entry["revoked_at"], entry.get("reason", ""))
                         for entry in raw.get("previous", []))
        pin = Pin(raw["sha256"], cert, raw["pinned_at"], int(raw["from_record"]), previous)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise PinDamaged(f"{PIN_FILE} is unreadable ({error.__class__.__name__})") from error
    entries: list[Pin | PreviousPin] = [pin, *pin.previous]
    if any(fingerprint(entry.certificate) != entry.sha256 for entry in entries):
        raise PinDamaged(f"{PIN_FILE}: the certificate does not match its SHA-256")
    return pin


class PinDamaged(RuntimeError):
    """The pin file was changed or damaged."""


def write_pin(data_dir: Path, office: Office, from_record: int) -> bool:
    """Pin ``office`` once (``init`` never rewrites the file); False when a pin already exists."""
    body = json.dumps(_pin_entry(office.certificate, datetime.now(UTC).isoformat(timespec="seconds"), from_record),
                      indent=1).encode()
    try:
        descriptor = os.open(Path(data_dir) / PIN_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(descriptor, "wb") as out:
        out.write(body)
        out.flush()
        os.fsync(out.fileno())
    return True


def replace_pin(data_dir: Path, pin: Pin, office: Office, *, until_record: int, reason: str) -> None:
    """After a revocation: pin the new office certificate; the revoked one stays in the file's history,
    trusted for the audit records up to ``until_record``. The file is replaced whole (renamed into place)."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    previous = [{**_pin_entry(entry.certificate, entry.pinned_at, entry.from_record),
                 "until_record": entry.until_record, "revoked_at": entry.revoked_at, "reason": entry.reason}
                for entry in pin.previous]
    previous.append({**_pin_entry(pin.certificate, pin.pinned_at, pin.from_record), "until_record": until_record,
                     "revoked_at": now, "reason": reason})
    body = json.dumps({**_pin_entry(office.certificate, now, until_record), "previous": previous}, indent=1).encode()
    path = Path(data_dir) / PIN_FILE
    tmp = path.with_name(PIN_FILE + ".tmp")
    with tmp.open("wb") as out:
        out.write(body)
        out.flush()
        os.fsync(out.fileno())
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def _pin_entry(cert: x509.Certificate, pinned_at: str, from_record: int) -> dict[str, Any]:
    return {"sha256": fingerprint(cert), "certificate": certificate_pem(cert), "pinned_at": pinned_at,
            "from_record": from_record}


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
