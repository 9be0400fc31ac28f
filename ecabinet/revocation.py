"""Revocation of certificates from other authorities: CRLs imported offline, and OCSP where reachable.

The built-in CA knows its own revocations (ecabinet.keystore). A member's certificate from another
authority (a token's certificate, an imported PKCS#12) is checked against the CRLs an administrator
imported (``certs crl-import``), each verified against its issuer's key before it is kept, and, when the
certificate names an OCSP responder and its issuer is known, against that responder (a few seconds at
most; an unreachable responder is not an answer). A CRL listing a credential registered here revokes
that credential at import, so a server-held key of a revoked certificate signs nothing either.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID
from flask_babel import lazy_gettext as _l
from sqlalchemy import LargeBinary, String, select
from sqlalchemy.orm import Mapped, mapped_column

from ecabinet import audit, keystore
from ecabinet.database import Model, UTCDateTime, db, utcnow, write_transaction
from ecabinet.errors import MESSAGES, Conflict, Invalid

log = logging.getLogger(__name__)

OCSP_TIMEOUT_SECONDS = 3.0

MESSAGES.update({
    "crl_invalid": _l("The file is not a certificate revocation list (PEM or DER)."),
    "crl_issuer_unknown": _l("The revocation list's issuer is not a trusted or registered authority."),
    "crl_signature_invalid": _l("The revocation list's signature does not match its issuer."),
    "crl_older": _l("A newer revocation list from this issuer is already imported."),
})


class RevocationList(Model):
    """The newest CRL imported for one issuer."""

    __tablename__ = "revocation_lists"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: SHA-256 of the issuer's DER name
    issuer_key: Mapped[str] = mapped_column(String(64), unique=True)
    issuer: Mapped[str] = mapped_column(String(1000))
    crl_der: Mapped[bytes] = mapped_column(LargeBinary)
    this_update: Mapped[datetime] = mapped_column(UTCDateTime())
    next_update: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @property
    def crl(self) -> x509.CertificateRevocationList:
        return x509.load_der_x509_crl(self.crl_der)

    def as_dict(self) -> dict[str, object]:
        return {"id": self.id, "issuer": self.issuer, "this_update": self.this_update.isoformat(),
                "next_update": self.next_update.isoformat() if self.next_update else None,
                "revoked": len(self.crl), "imported_at": self.imported_at.isoformat()}


@dataclass(frozen=True)
class CrlImport:
    revocation_list: RevocationList
    #: ids of credentials registered here that the list revoked
    revoked_credentials: list[int]


def revocation_lists() -> list[RevocationList]:
    """The imported revocation lists, one per issuer, by issuer."""
    return list(db.session.scalars(select(RevocationList).order_by(RevocationList.issuer)))


def _issuer_key(name: x509.Name) -> str:
    return hashlib.sha256(name.public_bytes()).hexdigest()


def parse_crl(data: bytes) -> x509.CertificateRevocationList:
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_crl(data)
        return x509.load_der_x509_crl(data)
    except ValueError:
        raise Invalid("crl_invalid", fields={"crl": "crl_invalid"}) from None


def known_authorities() -> list[x509.Certificate]:
    """Certificates that may issue a CRL we accept: the trusted roots and every CA in a registered chain."""
    found = list(keystore.trust_roots())
    for chain_pem in db.session.scalars(select(keystore.SigningCredential.chain_pem).distinct()):
        if chain_pem:
            found.extend(x509.load_pem_x509_certificates(chain_pem))
    return found


def import_crl(data: bytes, *, actor: object) -> CrlImport:
    """Keep a CRL verified against its issuer's key, and revoke the registered credentials it lists."""
    crl = parse_crl(data)
    issuers = [cert for cert in known_authorities() if cert.subject == crl.issuer]
    if not issuers:
        raise Invalid("crl_issuer_unknown", fields={"crl": "crl_issuer_unknown"})
    if not any(crl.is_signature_valid(issuer.public_key()) for issuer in issuers):  # type: ignore[arg-type]  # CA keys
        raise Invalid("crl_signature_invalid", fields={"crl": "crl_signature_invalid"})
    key = _issuer_key(crl.issuer)
    revoked_ids: list[int] = []
    with write_transaction():
        stored = db.session.scalar(select(RevocationList).where(RevocationList.issuer_key == key)
                                   .with_for_update())
        if stored is not None and stored.this_update > crl.last_update_utc:
            raise Conflict("crl_older")
        if stored is None:
            stored = RevocationList(issuer_key=key)
            db.session.add(stored)
        stored.issuer = crl.issuer.rfc4514_string()[:1000]
        stored.crl_der = crl.public_bytes(serialization.Encoding.DER)
        stored.this_update = crl.last_update_utc
        stored.next_update = crl.next_update_utc
        stored.imported_at = utcnow()
        db.session.flush()
        audit.record(actor, "crl.imported", stored, {"issuer": stored.issuer, "entries": len(crl),
                                                      "this_update": stored.this_update.isoformat()},
                     actor_label=None if actor else "cli")
        for credential in db.session.scalars(select(keystore.SigningCredential).where(
                keystore.SigningCredential.revoked_at.is_(None))):
            cert = credential.certificate
            if cert.issuer == crl.issuer and crl.get_revoked_certificate_by_serial_number(cert.serial_number):
                keystore.revoke_credential(credential, actor=actor)
                revoked_ids.append(credential.id)
    return CrlImport(stored, revoked_ids)


def listed_on_crl(cert: x509.Certificate) -> bool:
    """Whether an imported CRL of the certificate's issuer lists it."""
    stored = db.session.scalar(select(RevocationList).where(RevocationList.issuer_key == _issuer_key(cert.issuer)))
    return stored is not None and stored.crl.get_revoked_certificate_by_serial_number(cert.serial_number) is not None


def ocsp_revoked(cert: x509.Certificate, issuer: x509.Certificate | None = None) -> bool:
    """Whether the certificate's OCSP responder answers "revoked" (False when none is named, the issuer is
    unknown, or the responder cannot be reached or answers something unverifiable)."""
    import requests

    urls = _ocsp_urls(cert)
    if not urls:
        return False
    issuer = issuer or next((c for c in known_authorities() if c.subject == cert.issuer), None)
    if issuer is None:
        return False
    request = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, hashes.SHA1()).build()  # noqa: S303 (RFC 6960's CertID)
    body = request.public_bytes(serialization.Encoding.DER)
    for url in urls:
        try:
            answer = requests.post(url, data=body, timeout=OCSP_TIMEOUT_SECONDS,
                                   headers={"Content-Type": "application/ocsp-request"})
            response = ocsp.load_der_ocsp_response(answer.content)
        except Exception as error:  # an unreachable or broken responder is no answer; say so in the log
            log.warning("OCSP responder %s gave no answer: %s", url, error)
            continue
        if (response.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL
                or response.serial_number != cert.serial_number):
            continue
        if not _ocsp_signed_by(response, issuer):
            log.warning("OCSP answer from %s not signed by the issuer or its delegate", url)
            continue
        return response.certificate_status == ocsp.OCSPCertStatus.REVOKED
    return False


def _ocsp_urls(cert: x509.Certificate) -> list[str]:
    try:
        access = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    except x509.ExtensionNotFound:
        return []
    return [str(item.access_location.value) for item in access
            if item.access_method == AuthorityInformationAccessOID.OCSP
            and str(item.access_location.value).startswith(("http://", "https://"))]


def _ocsp_signed_by(response: ocsp.OCSPResponse, issuer: x509.Certificate) -> bool:
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

    # the issuer itself, or a responder it delegated to (RFC 6960 4.2.2.2: issued by it, for OCSP signing)
    signers = [issuer, *[c for c in response.certificates if _issued_by(c, issuer) and _ocsp_signer(c)]]
    for signer in signers:
        key = signer.public_key()
        try:
            algorithm = response.signature_hash_algorithm  # (raises on an algorithm cryptography does not know)
            if algorithm is None:  # an Ed25519/Ed448 signature: neither branch below verifies it
                continue
            if isinstance(key, rsa.RSAPublicKey):
                key.verify(response.signature, response.tbs_response_bytes, padding.PKCS1v15(), algorithm)
            elif isinstance(key, ec.EllipticCurvePublicKey):
                key.verify(response.signature, response.tbs_response_bytes, ec.ECDSA(algorithm))
            else:
                continue
            return True
        except Exception:  # noqa: S112 (a signature that does not verify: try the next signer)
            continue
    return False


def _ocsp_signer(cert: x509.Certificate) -> bool:
    try:
        usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return False
    return ExtendedKeyUsageOID.OCSP_SIGNING in usage


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except Exception:
        return False
    return True


def is_revoked_elsewhere(cert: x509.Certificate) -> bool:
    """Revoked by its own authority: on an imported CRL, or so says its OCSP responder."""
    return listed_on_crl(cert) or ocsp_revoked(cert)
