"""Members' signing credentials: built-in CA certificates, imported PKCS#12, PKCS#11 tokens.

Keys are kept only encrypted under the member's PIN; wrong PINs are counted and lock signing
after ``PIN_ATTEMPTS``. Each attempt is counted in the database before the PIN is tried (as a smart
card decrements its retry counter first), so no burst, in any number of processes, tries more.
After a correct PIN the parsed key is held in memory for ``SIGNING_SESSION_SECONDS`` (a signing
session, like a token's login), so later answers check the PIN against a keyed hash instead of
paying the 0.3 s key derivation again. The built-in CA and the
Government Office's organisation key live in ``DATA_DIR/ca``.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l
from pyhanko.sign import signers
from sqlalchemy import ForeignKey, Index, LargeBinary, String, and_, case, false, or_, select, update
from sqlalchemy.orm import Mapped, mapped_column

from ecabinet import audit, revocation
from ecabinet.auth.models import AuthSession, User
from ecabinet.database import Model, UTCDateTime, db, listen, utcnow, write_transaction
from ecabinet.errors import AppError, Conflict, Forbidden, Invalid
from ecabinet.signing import (
    BuiltinCA,
    InvalidKeyFile,
    SignatureRejected,
    ValidationReport,
    WrongPin,
    build_signer,
    encrypt_private_key,
    import_pkcs12,
    load_private_key,
    only_signature_added,
    open_pkcs11_signer,
    validate_signed_pdf,
)
from ecabinet.signing.ca import KeyType, locked_directory, write_private, write_public
from ecabinet.signing.keys import PIN_KDF_ROUNDS

ORGANISATION = "Chính phủ Việt Nam"
OFFICE = "Văn phòng Chính phủ"


class WrongPinError(Forbidden):
    default_code = "wrong_pin"

    @property
    def message(self) -> str:
        return str(_l("The PIN is wrong."))


class SigningLocked(Forbidden):
    default_code = "signing_locked"

    @property
    def message(self) -> str:
        return str(_l("Signing is locked after too many wrong PINs. Ask the administrator to unlock it."))


class NoCredential(Conflict):
    default_code = "no_signing_credential"

    @property
    def message(self) -> str:
        return str(_l("You have no signing certificate yet. Ask the administrator to issue one."))


class SignWithOwnTool(Conflict):
    """The member's only certificate was registered without its key (``certs import``): the server cannot
    sign with it, the member signs the slip with their own tool and uploads it."""

    default_code = "sign_with_own_tool"

    @property
    def message(self) -> str:
        return str(_l("Your certificate's key stays on your own token, so the server cannot sign for you: "
                      "download the slip, sign it with your own signing tool and upload it."))


class TokenUnavailable(AppError):
    status = 503
    default_code = "signing_token_unavailable"

    @property
    def message(self) -> str:
        return str(_l("The signing token cannot be reached."))


class CredentialKind(enum.StrEnum):
    BUILTIN = "builtin"
    PKCS12 = "pkcs12"
    PKCS11 = "pkcs11"


class SigningCredential(Model):
    """A member's certificate and how to reach its key; only the newest active one signs."""

    __tablename__ = "signing_credentials"
    __table_args__ = (Index("ix_signing_credentials_user_active", "user_id", "active"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(10))
    #: the signing certificate (DER) and the CA certificates to embed (concatenated PEM)
    cert_der: Mapped[bytes] = mapped_column(LargeBinary)
    chain_pem: Mapped[bytes] = mapped_column(LargeBinary, default=b"")
    serial: Mapped[str] = mapped_column(String(64), default="")
    #: PKCS#8 encrypted under the PIN (builtin, pkcs12); empty for pkcs11
    key_pem: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    pkcs11_module: Mapped[str] = mapped_column(String(500), default="")
    token_label: Mapped[str] = mapped_column(String(200), default="")
    key_label: Mapped[str] = mapped_column(String(200), default="")
    #: wrong PINs, plus the attempts reserved and not yet decided (see ``_reserve_attempt``)
    failed_attempts: Mapped[int] = mapped_column(default=0)
    #: attempts reserved and not yet decided; one a crash left behind stays counted until unlocked
    pin_attempts_pending: Mapped[int] = mapped_column(default=0, server_default="0")
    #: every attempt ever reserved: tells a right PIN whether another attempt overlapped it
    pin_attempts_started: Mapped[int] = mapped_column(default=0, server_default="0")
    #: when the last wrong PIN was found wrong: a right PIN soon after it forgives nothing
    pin_last_wrong_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    locked: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @property
    def certificate(self) -> x509.Certificate:
        return x509.load_der_x509_certificate(self.cert_der)

    @property
    def chain(self) -> list[x509.Certificate]:
        return x509.load_pem_x509_certificates(self.chain_pem) if self.chain_pem else []

    @property
    def server_signs(self) -> bool:
        """Whether the server can reach the key: not for a certificate imported alone (its key is on the
        member's own token, which the server has no module for)."""
        return self.kind != CredentialKind.PKCS11 or bool(self.pkcs11_module)

    def as_dict(self) -> dict[str, Any]:
        cert = self.certificate
        return {"id": self.id, "user_id": self.user_id, "kind": self.kind, "subject": cert.subject.rfc4514_string(),
                "serial": self.serial, "not_after": cert.not_valid_after_utc.isoformat(),
                "locked": self.locked, "active": self.active, "revoked": self.revoked_at is not None}


_cas: dict[Path, BuiltinCA] = {}


def ca_directory() -> Path:
    return Path(current_app.config["DATA_DIR"]) / "ca"


def builtin_ca() -> BuiltinCA:
    """The built-in CA of this deployment (created on first use; ``init`` creates it up front)."""
    directory = ca_directory()
    if directory not in _cas:
        _cas[directory] = BuiltinCA.create_or_load(directory, organisation=ORGANISATION)
    return _cas[directory]


def init_ca_step() -> None:
    """``init`` step: create the built-in CA and the Government Office's organisation key."""
    builtin_ca()
    office_signer()


def trust_roots() -> list[x509.Certificate]:
    """The built-in root plus every PEM in ``TRUSTED_ROOTS_DIR`` (default DATA_DIR/trusted_roots)."""
    roots = [builtin_ca().root_certificate]
    directory = Path(current_app.config.get("TRUSTED_ROOTS_DIR")
                     or Path(current_app.config["DATA_DIR"]) / "trusted_roots")
    if directory.is_dir():
        for path in sorted(directory.glob("*.pem")) + sorted(directory.glob("*.crt")):
            roots.extend(x509.load_pem_x509_certificates(path.read_bytes()))
    return roots


def crls_for(cert: x509.Certificate) -> list[bytes]:
    """The built-in CA's CRLs when it issued ``cert``; other CAs' status is not fetched."""
    ca = builtin_ca()
    if cert.issuer == ca.issuing_certificate.subject:
        return ca.crls()
    return []


def _kdf_rounds() -> int:
    return int(current_app.config.get("PIN_KDF_ROUNDS", PIN_KDF_ROUNDS))


def _pem(certs: list[x509.Certificate]) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def _fit(value: str) -> str:
    """X.520 caps these name attributes at 64 characters (cryptography counts UTF-8 bytes)."""
    encoded = value.encode()[:64]
    return encoded.decode(errors="ignore").strip()


def _check_pin(pin: str) -> None:
    if not (4 <= len(pin) <= 64):
        raise Invalid(fields={"pin": ["The PIN must have 4 to 64 characters."]})


def _store(user: User, kind: CredentialKind, cert: x509.Certificate, chain: list[x509.Certificate], *,
           actor: Any, key_pem: bytes | None = None, **token: str) -> SigningCredential:
    with write_transaction():
        for old in db.session.scalars(select(SigningCredential).where(
                SigningCredential.user_id == user.id, SigningCredential.active.is_(True))):
            old.active = False
            signing_sessions().evict(old.id)
        credential = SigningCredential(user_id=user.id, kind=str(kind),
                                       cert_der=cert.public_bytes(serialization.Encoding.DER),
                                       chain_pem=_pem(chain), serial=format(cert.serial_number, "x"),
                                       key_pem=key_pem, **token)
        db.session.add(credential)
        db.session.flush()
        audit.record(actor, "credential.issued" if kind == CredentialKind.BUILTIN else "credential.imported",
                     credential, {"user_id": user.id, "kind": str(kind), "serial": credential.serial,
                                  "subject": cert.subject.rfc4514_string()})
    return credential


def issue_credential(user: User, pin: str, *, actor: Any, key_type: KeyType = "p256") -> SigningCredential:
    """Give ``user`` a non-repudiation certificate from the built-in CA; the key is kept under the PIN."""
    _check_pin(pin)
    ca = builtin_ca()
    key, cert = ca.issue_signing_certificate(common_name=_fit(user.full_name),
                                             organisation=_fit(user.organisation or OFFICE),
                                             title=_fit(user.title) or None, username=user.username,
                                             key_type=key_type)
    return _store(user, CredentialKind.BUILTIN, cert, ca.chain, actor=actor,
                  key_pem=encrypt_private_key(key, pin, rounds=_kdf_rounds()))


def import_credential(user: User, p12: bytes, password: str | None, pin: str, *, actor: Any) -> SigningCredential:
    """Take a member's existing PKCS#12 (e.g. from the Government Cipher Committee's CA)."""
    _check_pin(pin)
    try:
        key, cert, chain = import_pkcs12(p12, password)
    except InvalidKeyFile as error:
        raise Invalid("invalid_key_file", str(error)) from None
    return _store(user, CredentialKind.PKCS12, cert, chain, actor=actor,
                  key_pem=encrypt_private_key(key, pin, rounds=_kdf_rounds()))


def register_pkcs11_credential(user: User, *, module: str, token_label: str, key_label: str,
                               cert: x509.Certificate, chain: list[x509.Certificate],
                               actor: Any) -> SigningCredential:
    """Sign for ``user`` with a key held in a PKCS#11 token or HSM."""
    return _store(user, CredentialKind.PKCS11, cert, chain, actor=actor, pkcs11_module=module,
                  token_label=token_label, key_label=key_label)


def revoke_credential(credential: SigningCredential, *, actor: Any) -> None:
    """Revoke a certificate: the built-in CA lists it on its CRL and signing stops."""
    with write_transaction():
        credential.revoked_at = utcnow()
        credential.active = False
        signing_sessions().evict(credential.id)
        if credential.certificate.issuer == builtin_ca().issuing_certificate.subject:
            builtin_ca().revoke(credential.certificate.serial_number)
        audit.record(actor, "credential.revoked", credential, {"serial": credential.serial})


def unlock_credential(credential: SigningCredential, *, actor: Any) -> None:
    """The administrator clears the wrong-PIN counter."""
    with write_transaction():
        credential.failed_attempts = 0
        credential.pin_attempts_pending = 0
        credential.locked = False
        audit.record(actor, "credential.unlocked", credential, {"user_id": credential.user_id})


def active_credential(user: User) -> SigningCredential | None:
    return db.session.scalar(select(SigningCredential).where(
        SigningCredential.user_id == user.id, SigningCredential.active.is_(True),
        SigningCredential.revoked_at.is_(None)).order_by(SigningCredential.id.desc()).limit(1))


@dataclass(frozen=True)
class _Attempt:
    """A PIN attempt counted before it is tried."""

    credential_id: int
    #: ``pin_attempts_started`` as this attempt left it
    ticket: int
    #: no other attempt was undecided when this one was reserved
    alone: bool
    #: other attempts were counted (wrong, or undecided) when this one was reserved
    others: bool


_credentials = SigningCredential.__table__


def _pin_limit() -> int:
    return int(current_app.config.get("PIN_ATTEMPTS", 5))


def _reserve_attempt(credential_id: int) -> _Attempt:
    """Count one attempt before the PIN is tried, or refuse when the limit is used up.

    One conditional UPDATE in a serialised write transaction (a row lock on PostgreSQL, the
    database's write lock on SQLite): however many requests and processes race, at most
    ``PIN_ATTEMPTS`` attempts are ever reserved, so at most that many PINs are ever tried.
    """
    table = _credentials
    with write_transaction():
        row = db.session.execute(
            update(table)
            .where(table.c.id == credential_id, table.c.locked.is_(False), table.c.active.is_(True),
                   table.c.revoked_at.is_(None), table.c.failed_attempts < _pin_limit())
            .values(failed_attempts=table.c.failed_attempts + 1,
                    pin_attempts_pending=table.c.pin_attempts_pending + 1,
                    pin_attempts_started=table.c.pin_attempts_started + 1)
            .returning(table.c.failed_attempts, table.c.pin_attempts_started, table.c.pin_attempts_pending)).first()
        state = None if row is not None else db.session.execute(
            select(table.c.active, table.c.revoked_at).where(table.c.id == credential_id)).first()
    if row is None:
        if state is None or not state.active or state.revoked_at is not None:
            raise NoCredential()
        raise SigningLocked()
    return _Attempt(credential_id, row.pin_attempts_started, alone=row.pin_attempts_pending == 1,
                    others=row.failed_attempts > 1)


def _undecided(table: Any) -> Any:
    """The pending count once this attempt is decided (an unlock meanwhile may have cleared it)."""
    return case((table.c.pin_attempts_pending > 0, table.c.pin_attempts_pending - 1), else_=0)


def _wrong_pin(attempt: _Attempt, user: User) -> None:
    """The reserved attempt was wrong: it stays counted; the wrong PINs reaching the limit lock."""
    signing_sessions().evict(attempt.credential_id)
    table = _credentials
    with write_transaction():
        # SET reads the row as it was: wrong PINs = attempts counted minus those still undecided
        wrong = table.c.failed_attempts - _undecided(table)
        row = db.session.execute(
            update(table).where(table.c.id == attempt.credential_id)
            .values(pin_attempts_pending=_undecided(table), locked=or_(table.c.locked, wrong >= _pin_limit()),
                    pin_last_wrong_at=utcnow())
            .returning(table.c.failed_attempts, table.c.pin_attempts_pending, table.c.locked)).one()
        audit.record(user, "credential.wrong_pin", (SigningCredential.__tablename__, attempt.credential_id),
                     {"failed_attempts": row.failed_attempts - row.pin_attempts_pending, "locked": bool(row.locked)})


def _right_pin(attempt: _Attempt, *, forgive: bool = True) -> None:
    """The reserved attempt was right (or never tried, ``forgive=False``): it is no longer counted.

    The wrong PINs before it are forgiven only when no other attempt overlapped it and the last
    wrong one is ``PIN_FORGIVE_SECONDS`` old: a right PIN in the middle of a burst of wrong ones
    (even one this process serialises) must not give the burst a fresh set of attempts.
    """
    table = _credentials
    quiet_since = utcnow() - timedelta(seconds=float(current_app.config.get("PIN_FORGIVE_SECONDS", 10)))
    alone = (and_(table.c.pin_attempts_started == attempt.ticket, table.c.pin_attempts_pending == 1,
                  or_(table.c.pin_last_wrong_at.is_(None), table.c.pin_last_wrong_at <= quiet_since))
             if attempt.alone and forgive else false())
    with write_transaction():
        db.session.execute(
            update(table).where(table.c.id == attempt.credential_id)
            .values(pin_attempts_pending=_undecided(table),
                    failed_attempts=case((alone, 0), (table.c.failed_attempts > 0, table.c.failed_attempts - 1),
                                         else_=0)))


_clock = time.monotonic


@dataclass(frozen=True)
class _HeldKey:
    signer: signers.Signer
    pin_mac: bytes
    #: the encrypted key this entry was unlocked from: a re-keyed credential never matches
    key_digest: bytes
    user_id: int
    opened_at: datetime
    expires_at: float


class SigningSessions:
    """Members' unlocked keys held in this process for a short time, keyed by credential.

    Like a hardware token's logged-in session, but every use still needs the PIN: it is checked
    in constant time against an HMAC under a per-process random key, never stored itself. The
    database stays authoritative: a held key is used only while its credential is the member's
    active one, unlocked, with no wrong PIN counted and no logout since it was unlocked, so lock,
    revoke, replacement and logout in another server process take effect too.
    """

    def __init__(self) -> None:
        self._mac_key = secrets.token_bytes(32)
        self._held: dict[int, _HeldKey] = {}
        self._lock = threading.Lock()
        self._unlocking: dict[int, threading.Lock] = {}

    def _mac(self, pin: str) -> bytes:
        return hmac.new(self._mac_key, pin.encode(), hashlib.sha256).digest()

    def hold(self, credential: SigningCredential, signer: signers.Signer, pin: str, seconds: float) -> None:
        held = _HeldKey(signer=signer, pin_mac=self._mac(pin), key_digest=_key_digest(credential),
                        user_id=credential.user_id, opened_at=utcnow(), expires_at=_clock() + seconds)
        with self._lock:
            self._held[credential.id] = held

    def held(self, credential: SigningCredential) -> _HeldKey | None:
        """The unexpired entry for this very credential, or None (expired entries are dropped)."""
        now = _clock()
        with self._lock:
            for expired in [cid for cid, entry in self._held.items() if entry.expires_at <= now]:
                del self._held[expired]
            entry = self._held.get(credential.id)
        if entry is None or not hmac.compare_digest(entry.key_digest, _key_digest(credential)):
            return None
        return entry

    def pin_matches(self, entry: _HeldKey, pin: str) -> bool:
        return hmac.compare_digest(entry.pin_mac, self._mac(pin))

    def unlocking(self, credential_id: int) -> threading.Lock:
        """The lock held while this credential's key is looked up or unlocked."""
        with self._lock:
            return self._unlocking.setdefault(credential_id, threading.Lock())

    def evict(self, credential_id: int) -> None:
        with self._lock:
            self._held.pop(credential_id, None)

    def evict_user(self, user_id: int) -> None:
        with self._lock:
            for cid in [cid for cid, entry in self._held.items() if entry.user_id == user_id]:
                del self._held[cid]

    def __len__(self) -> int:
        return len(self._held)


def signing_sessions() -> SigningSessions:
    """This app's held keys (one table per app, so test apps never share keys)."""
    sessions = current_app.extensions.get("ecabinet.signing_sessions")
    if sessions is None:
        sessions = current_app.extensions["ecabinet.signing_sessions"] = SigningSessions()
    return sessions


def _session_seconds() -> float:
    return max(0.0, float(current_app.config.get("SIGNING_SESSION_SECONDS", 0)))


def _key_digest(credential: SigningCredential) -> bytes:
    return hashlib.sha256(credential.key_pem or b"").digest()


def _logout_evicts(target: AuthSession, value: datetime | None, old: Any, initiator: Any) -> None:
    # memory hygiene in this process; other processes refuse the entry through _logged_out_since
    if value is not None and target.user_id is not None and has_app_context():
        signing_sessions().evict_user(target.user_id)


def _logged_out_since(user_id: int, moment: datetime) -> bool:
    return db.session.scalar(select(AuthSession.id).where(
        AuthSession.user_id == user_id, AuthSession.revoked_at >= moment).limit(1)) is not None


def _held_signer(credential: SigningCredential, user: User, pin: str, attempt: _Attempt) -> signers.Signer | None:
    """The held signer, or None to unlock the key; raises ``WrongPin`` when the PIN does not match.

    The held key is given up when another attempt is counted (a wrong PIN here or in another
    process, or one under way) or the member logged out since it was unlocked.
    """
    sessions = signing_sessions()
    entry = sessions.held(credential)
    if entry is None:
        return None
    if attempt.others or _logged_out_since(user.id, entry.opened_at):
        sessions.evict(credential.id)
        return None
    if not sessions.pin_matches(entry, pin):
        raise WrongPin()
    return entry.signer


@contextmanager
def unlocked_signer(user: User, pin: str) -> Iterator[tuple[signers.Signer, SigningCredential]]:
    """The user's signer, unlocked by ``pin`` (a held key when a signing session is open).

    Every PIN is an attempt reserved in the database before it is tried (``_reserve_attempt``).
    """
    credential = active_credential(user)
    if credential is None:
        raise NoCredential()
    if not credential.server_signs:
        raise SignWithOwnTool()
    if credential.locked:
        raise SigningLocked()
    if not pin:
        raise WrongPinError()
    if credential.kind == CredentialKind.PKCS11:
        # the token keeps the key and checks the PIN itself: nothing is held here
        token = _try_pin(credential, user, lambda attempt: open_pkcs11_signer(
            credential.pkcs11_module, credential.token_label, credential.key_label, pin,
            signing_cert=credential.certificate, chain=credential.chain))
        try:
            yield token, credential
        finally:
            token.close()
        return
    seconds = _session_seconds()
    if not seconds:
        yield _try_pin(credential, user, lambda attempt: _unlock(credential, pin)), credential
        return

    def held_or_unlocked(attempt: _Attempt) -> signers.Signer:
        signer = _held_signer(credential, user, pin, attempt)
        if signer is None:
            signer = _unlock(credential, pin)
            signing_sessions().hold(credential, signer, pin, seconds)
        return signer

    # one derivation per credential at a time in this process: a member answering two ballots at
    # once unlocks once, and the second answer's PIN is checked against the key the first one holds
    # (its attempt is reserved once the first one's is decided)
    unlocking = signing_sessions().unlocking(credential.id)
    if not unlocking.acquire(blocking=False):
        unlocking.acquire()
    try:
        signer = _try_pin(credential, user, held_or_unlocked)
    finally:
        unlocking.release()
    yield signer, credential


def _try_pin(credential: SigningCredential, user: User, attempt_with: Callable[[_Attempt], Any]) -> Any:
    """Reserve an attempt, then run ``attempt_with`` (which raises ``WrongPin`` for a wrong PIN)."""
    attempt = _reserve_attempt(credential.id)
    try:
        opened = attempt_with(attempt)
    except WrongPin:
        _wrong_pin(attempt, user)
        raise WrongPinError() from None
    except Exception:
        _right_pin(attempt, forgive=False)  # not found wrong (a token out of reach): given back
        if credential.kind == CredentialKind.PKCS11:
            raise TokenUnavailable() from None
        raise
    _right_pin(attempt)
    return opened


def _unlock(credential: SigningCredential, pin: str) -> signers.Signer:
    """Derive the key from the PIN (about 0.1 s, off the gevent hub); raises ``WrongPin``."""
    key = load_private_key(credential.key_pem or b"", pin)
    return build_signer(key, credential.certificate, credential.chain)


_office: dict[Path, tuple[tuple[int, int] | None, signers.Signer]] = {}


def office_signer() -> signers.Signer:
    """The Government Office's organisation signer (reports); its key sits next to the CA. A new one is
    made when there is none, also after a revocation retired the old one (ecabinet/office_revocation.py):
    every process sees that at its next signature, by the certificate file's identity."""
    from ecabinet import office  # deferred: office imports this module

    directory = ca_directory()
    key_path, cert_path = directory / office.KEY_FILE, directory / office.CERT_FILE
    cached = _office.get(directory)
    if cached is not None and cached[0] is not None and cached[0] == office.file_identity(cert_path):
        return cached[1]
    ca = builtin_ca()
    pass_path = directory / office.PASS_FILE
    if not cert_path.exists():
        with locked_directory(directory):
            if not cert_path.exists():  # not made by another process while this one waited
                passphrase = secrets.token_urlsafe(32)
                key, cert = ca.issue_signing_certificate(common_name=OFFICE, organisation=ORGANISATION,
                                                         username="vpcp", valid_days=3650)
                write_private(pass_path, passphrase.encode())
                write_private(key_path, encrypt_private_key(key, passphrase, rounds=_kdf_rounds()))
                write_public(cert_path, cert.public_bytes(serialization.Encoding.PEM))  # last: it says done
    identity = office.file_identity(cert_path)
    key = load_private_key(key_path.read_bytes(), pass_path.read_text())
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    _office[directory] = (identity, build_signer(key, cert, ca.chain))
    return _office[directory][1]


def is_registered_to(user: User, cert: x509.Certificate) -> bool:
    """Whether ``cert`` is one of the certificates registered here to ``user`` (issued, imported or on
    a token). A certificate that merely names the member is not enough: any trusted CA can name anyone,
    and a real CA's certificate does not carry this system's user names."""
    der = cert.public_bytes(serialization.Encoding.DER)
    return db.session.scalar(select(SigningCredential.id).where(
        SigningCredential.user_id == user.id, SigningCredential.cert_der == der).limit(1)) is not None


def is_revoked(cert: x509.Certificate) -> bool:
    """Whether a credential holding ``cert`` was revoked here (whatever CA issued it), or its own
    authority revoked it (an imported CRL, its OCSP responder: ecabinet.revocation)."""
    der = cert.public_bytes(serialization.Encoding.DER)
    return db.session.scalar(select(SigningCredential.id).where(
        SigningCredential.cert_der == der, SigningCredential.revoked_at.is_not(None)).limit(1)) is not None \
        or revocation.is_revoked_elsewhere(cert)


def rejected_message(rejected: SignatureRejected) -> str:
    """What the user reads when a file they signed is refused: Vietnamese, or the code in English."""
    from flask_babel import get_locale

    return rejected.message_vi if str(get_locale()) == "vi" else rejected.code.replace("_", " ").capitalize() + "."


def validate_upload(data: bytes, user: User, *, expected_first_revision_sha256: str | None = None,
                    allow_later_signatures: bool = False) -> ValidationReport:
    """Validate a file ``user`` signed with their own tool, or raise :class:`SignatureRejected`.

    The last signature must be made with a certificate registered here to ``user`` (their token's
    certificate, imported alone), trusted, valid when it signed and not revoked, by this server or by
    its authority (the CRLs are chosen once the signer is read from the file). Earlier signatures
    (the secretary's, under minutes the chair uploads) were checked for revocation when they were
    made: their authority's CRLs are not required of them again.
    """
    def crls_of_the_user(cert: x509.Certificate) -> list[bytes]:
        return crls_for(cert) if is_registered_to(user, cert) else []

    report = validate_signed_pdf(data, trust_roots=trust_roots(), crls=crls_of_the_user,
                                 expected_signer=lambda info: is_registered_to(user, info.certificate),
                                 expected_first_revision_sha256=expected_first_revision_sha256,
                                 allow_later_signatures=allow_later_signatures)
    if is_revoked(report.certificate):
        raise SignatureRejected("certificate_revoked")
    return report


def check_signature_added(data: bytes, *, prepared: bytes, page: int, box: Sequence[float],
                          field: str | None = None) -> None:
    """Refuse (:class:`SignatureRejected`) a signed file that is not exactly ``prepared`` with one
    signature added, shown nowhere but in ``box`` of page ``page`` (and in ``field`` when named):
    what was signed is what this server prepared, not a shadow of it."""
    widget = only_signature_added(data, unsigned=prepared)
    if not widget.within(page, box) or (field is not None and widget.field_name != field):
        raise SignatureRejected("signed_revision_modified")


def install_listeners() -> None:
    """Drop a member's held signing keys in this process when one of their logins ends (from create_app)."""
    listen(AuthSession.revoked_at, "set", _logout_evicts)
