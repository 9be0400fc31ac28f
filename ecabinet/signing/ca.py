"""A built-in two-level certificate authority for demos and small deployments.

Files in the CA directory (0700): ``ca-passphrase`` (0600, random), ``root.key.pem`` and
``issuing.key.pem`` (0600, PKCS#8 encrypted under the passphrase), ``root.crt.pem``,
``issuing.crt.pem`` and ``revoked.json`` (serials revoked by the issuing CA).
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal, TypeAlias

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .keys import SigningKey

KeyType: TypeAlias = Literal["p256", "rsa2048"]
PublicKey: TypeAlias = rsa.RSAPublicKey | ec.EllipticCurvePublicKey

_PASSPHRASE = "ca-passphrase"  # noqa: S105 (a file name, not a secret)
_ROOT_KEY, _ROOT_CERT = "root.key.pem", "root.crt.pem"
_ISSUING_KEY, _ISSUING_CERT = "issuing.key.pem", "issuing.crt.pem"
_REVOKED = "revoked.json"
# a freshly issued certificate must already be valid for a validator whose clock lags a bit
_BACKDATE = timedelta(minutes=5)
_CRL_LIFETIME = timedelta(days=7)


def generate_key(key_type: KeyType = "p256") -> SigningKey:
    """Generate a private key of the given type."""
    if key_type == "p256":
        return ec.generate_private_key(ec.SECP256R1())
    if key_type == "rsa2048":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    raise ValueError(f"Unknown key type {key_type!r}.")


def certificate_username(cert: x509.Certificate) -> str | None:
    """Return the member username recorded in the subject's UID attribute, if any."""
    values = cert.subject.get_attributes_for_oid(NameOID.USER_ID)
    return str(values[0].value) if values else None


class BuiltinCA:
    """A root CA and an issuing CA kept in one directory."""

    def __init__(
        self,
        directory: Path,
        root_key: SigningKey,
        root_cert: x509.Certificate,
        issuing_key: SigningKey,
        issuing_cert: x509.Certificate,
    ) -> None:
        self.directory = directory
        self._root_key = root_key
        self.root_certificate = root_cert
        self._issuing_key = issuing_key
        self.issuing_certificate = issuing_cert

    @property
    def chain(self) -> list[x509.Certificate]:
        """The issuing CA then the root: what a signer embeds next to its certificate."""
        return [self.issuing_certificate, self.root_certificate]

    @classmethod
    def create_or_load(
        cls,
        directory: Path,
        *,
        organisation: str = "e-Cabinet",
        key_type: KeyType = "p256",
    ) -> BuiltinCA:
        """Load the CA in ``directory``, creating it first if it does not exist yet."""
        directory = Path(directory)
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(directory, 0o700)
        with locked_directory(directory):
            if not (directory / _ISSUING_CERT).exists():
                cls._create(directory, organisation, key_type)
            return cls._load(directory)

    @classmethod
    def _create(cls, directory: Path, organisation: str, key_type: KeyType) -> None:
        passphrase = secrets.token_urlsafe(32).encode()
        now = datetime.now(UTC)
        root_key = generate_key(key_type)
        root_name = _name(f"{organisation} Root CA", organisation)
        root_cert = (
            _builder(root_name, root_name, root_key.public_key(), now, now + timedelta(days=7305))
            .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
            .add_extension(_ca_key_usage(), critical=True)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()),
                critical=False,
            )
            .sign(root_key, hashes.SHA256())
        )
        issuing_key = generate_key(key_type)
        issuing_cert = (
            _builder(
                _name(f"{organisation} Issuing CA", organisation),
                root_name,
                issuing_key.public_key(),
                now,
                now + timedelta(days=3652),
            )
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_ca_key_usage(), critical=True)
            .add_extension(_aki(root_cert), critical=False)
            .sign(root_key, hashes.SHA256())
        )
        write_private(directory / _PASSPHRASE, passphrase)
        write_private(directory / _ROOT_KEY, _encrypt(root_key, passphrase))
        write_private(directory / _ISSUING_KEY, _encrypt(issuing_key, passphrase))
        write_public(directory / _ROOT_CERT, root_cert.public_bytes(serialization.Encoding.PEM))
        write_public(directory / _REVOKED, b"{}")
        # written last: its presence is what marks the CA as complete
        write_public(
            directory / _ISSUING_CERT, issuing_cert.public_bytes(serialization.Encoding.PEM)
        )

    @classmethod
    def _load(cls, directory: Path) -> BuiltinCA:
        passphrase = (directory / _PASSPHRASE).read_bytes()
        return cls(
            directory,
            _decrypt((directory / _ROOT_KEY).read_bytes(), passphrase),
            x509.load_pem_x509_certificate((directory / _ROOT_CERT).read_bytes()),
            _decrypt((directory / _ISSUING_KEY).read_bytes(), passphrase),
            x509.load_pem_x509_certificate((directory / _ISSUING_CERT).read_bytes()),
        )

    def issue_signing_certificate(
        self,
        *,
        common_name: str,
        organisation: str,
        title: str | None = None,
        username: str,
        key_type: KeyType = "p256",
        valid_days: int = 730,
        not_before: datetime | None = None,
        not_after: datetime | None = None,
    ) -> tuple[SigningKey, x509.Certificate]:
        """Generate a key and a document-signing certificate for a member.

        ``not_before``/``not_after`` override the validity window (tests use them for expired
        and not-yet-valid certificates).
        """
        key = generate_key(key_type)
        cert = self.certify_public_key(
            key.public_key(),
            common_name=common_name,
            organisation=organisation,
            title=title,
            username=username,
            valid_days=valid_days,
            not_before=not_before,
            not_after=not_after,
        )
        return key, cert

    def certify_public_key(
        self,
        public_key: PublicKey,
        *,
        common_name: str,
        organisation: str,
        title: str | None = None,
        username: str,
        valid_days: int = 730,
        not_before: datetime | None = None,
        not_after: datetime | None = None,
        non_repudiation: bool = True,
    ) -> x509.Certificate:
        """Issue a document-signing certificate for a key held elsewhere (e.g. a PKCS#11 token).

        ``non_repudiation=False`` exists only to test that validation refuses such certificates.
        """
        start = not_before or datetime.now(UTC) - _BACKDATE
        end = not_after or start + timedelta(days=valid_days)
        attributes = [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
            x509.NameAttribute(NameOID.USER_ID, username),
        ]
        if title:
            attributes.insert(1, x509.NameAttribute(NameOID.TITLE, title))
        key_usage = x509.KeyUsage(
            digital_signature=True,
            content_commitment=non_repudiation,
            key_encipherment=False,
            data_encipherment=False,
            key_agreement=False,
            key_cert_sign=False,
            crl_sign=False,
            encipher_only=False,
            decipher_only=False,
        )
        return (
            _builder(
                x509.Name(attributes), self.issuing_certificate.subject, public_key, start, end
            )
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(key_usage, critical=True)
            .add_extension(_aki(self.issuing_certificate), critical=False)
            .sign(self._issuing_key, hashes.SHA256())
        )

    def issue_tsa_certificate(
        self, *, common_name: str = "e-Cabinet TSA", valid_days: int = 730
    ) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
        """Generate an RSA key and a certificate for an RFC 3161 time-stamping authority."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        start = datetime.now(UTC) - _BACKDATE
        cert = (
            _builder(
                _name(common_name, self._organisation()),
                self.issuing_certificate.subject,
                key.public_key(),
                start,
                start + timedelta(days=valid_days),
            )
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=True,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            # RFC 3161 §2.3: the timeStamping purpose, alone and critical
            .add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True
            )
            .add_extension(_aki(self.issuing_certificate), critical=False)
            .sign(self._issuing_key, hashes.SHA256())
        )
        return key, cert

    def revoke(self, serial: int, *, when: datetime | None = None) -> None:
        """Add a certificate issued by the issuing CA to its revocation list."""
        with locked_directory(self.directory):
            revoked = self._revoked()
            revoked.setdefault(str(serial), (when or datetime.now(UTC)).isoformat())
            write_public(self.directory / _REVOKED, json.dumps(revoked).encode())

    def crl(self) -> bytes:
        """The issuing CA's CRL (DER), valid for seven days: it lists revoked member certs."""
        entries = [
            (int(serial), datetime.fromisoformat(at)) for serial, at in self._revoked().items()
        ]
        return _crl(self._issuing_key, self.issuing_certificate, entries)

    def root_crl(self) -> bytes:
        """The root CA's CRL (DER): it covers the issuing CA, and is empty."""
        return _crl(self._root_key, self.root_certificate, [])

    def crls(self) -> list[bytes]:
        """Both CRLs: hard-fail revocation checking needs one for every certificate in the chain."""
        return [self.root_crl(), self.crl()]

    def _organisation(self) -> str:
        values = self.root_certificate.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
        return str(values[0].value) if values else "e-Cabinet"

    def _revoked(self) -> dict[str, str]:
        path = self.directory / _REVOKED
        return json.loads(path.read_bytes()) if path.exists() else {}


def _name(common_name: str, organisation: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
        ]
    )


def _builder(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: PublicKey,
    not_before: datetime,
    not_after: datetime,
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )


def _aki(issuer: x509.Certificate) -> x509.AuthorityKeyIdentifier:
    ski = issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)


def _ca_key_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=False,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )


# A CRL is re-signed at most this often for the same issuer and the same revoked entries: every
# answer validates against CRLs, and a fresh pair each time (a new CRL number, new bytes) cost the
# signing and made pyhanko-certvalidator parse and match them anew. A revocation changes the
# entries, so it is in the very next CRL; 60 s keeps lastUpdate within minutes of now.
_CRL_REUSE = timedelta(seconds=60)
_crl_cache: dict[tuple[bytes, tuple[tuple[int, datetime], ...]], tuple[datetime, bytes]] = {}
_crl_cache_lock = threading.Lock()


def _crl(key: SigningKey, issuer: x509.Certificate, entries: list[tuple[int, datetime]]) -> bytes:
    now = datetime.now(UTC)
    cache_key = (issuer.fingerprint(hashes.SHA256()), tuple(sorted(entries)))
    with _crl_cache_lock:
        cached = _crl_cache.get(cache_key)
        if cached is not None and now - cached[0] < _CRL_REUSE:
            return cached[1]
    der = _sign_crl(key, issuer, entries, now)
    with _crl_cache_lock:
        if len(_crl_cache) > 64:  # superseded revocation states: drop them all
            _crl_cache.clear()
        _crl_cache[cache_key] = (now, der)
    return der


def _sign_crl(key: SigningKey, issuer: x509.Certificate, entries: list[tuple[int, datetime]],
              now: datetime) -> bytes:
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.subject)
        .last_update(now - _BACKDATE)
        .next_update(now + _CRL_LIFETIME)
        .add_extension(x509.CRLNumber(int(now.timestamp() * 1000)), critical=False)
        .add_extension(_aki(issuer), critical=False)
    )
    for serial, at in entries:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(at).build()
        )
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def _encrypt(key: SigningKey, passphrase: bytes) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase),
    )


def _decrypt(blob: bytes, passphrase: bytes) -> SigningKey:
    key = serialization.load_pem_private_key(blob, password=passphrase)
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise TypeError("Unsupported CA key type.")
    return key


def write_private(path: Path, data: bytes) -> None:
    """Write a secret readable by this user only, whole or not at all (a reader never sees half)."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def write_public(path: Path, data: bytes) -> None:
    """Write a public file whole or not at all."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


@contextmanager
def locked_directory(directory: Path) -> Iterator[None]:
    """Hold the directory's lock file: several workers may start at once on a fresh deployment, and
    one of them creates what the others then load."""
    fd = os.open(directory / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
