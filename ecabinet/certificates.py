"""What an administrator does with members' signing certificates (CLI, API and the admin page):
list, revoke, unlock after wrong PINs, and register a certificate whose key stays on the member's token."""

from __future__ import annotations

from cryptography import x509
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ecabinet import audit, keystore, revocation
from ecabinet.auth.models import User
from ecabinet.database import db, utcnow, write_transaction
from ecabinet.errors import MESSAGES, Conflict, Invalid, NotFound

MESSAGES.update({
    "certificate_invalid": _l("The file is not a certificate (PEM or DER)."),
    "certificate_expired": _l("The certificate has expired or is not valid yet."),
    "certificate_untrusted": _l("The certificate was not issued by a trusted authority."),
    "certificate_revoked": _l("The certificate has been revoked."),
    "certificate_not_for_signing": _l("The certificate is not meant for signing documents."),
    "no_active_certificate": _l("This account has no active signing certificate."),
    "certificate_not_locked": _l("Signing is not locked for this account."),
})


def credentials_of(user: User | None = None) -> list[tuple[keystore.SigningCredential, User]]:
    """Every credential (newest first), or one user's."""
    query = (select(keystore.SigningCredential, User).join(User, User.id == keystore.SigningCredential.user_id)
             .order_by(User.username, keystore.SigningCredential.id.desc()))
    if user is not None:
        query = query.where(keystore.SigningCredential.user_id == user.id)
    return [(credential, owner) for credential, owner in db.session.execute(query)]


def describe(credential: keystore.SigningCredential, owner: User) -> dict[str, object]:
    return {**credential.as_dict(), "username": owner.username}


def current_credential(user: User) -> keystore.SigningCredential:
    """The user's newest unrevoked credential (active or not: a replaced one is still theirs to revoke)."""
    credential = db.session.scalar(select(keystore.SigningCredential).where(
        keystore.SigningCredential.user_id == user.id, keystore.SigningCredential.revoked_at.is_(None))
        .order_by(keystore.SigningCredential.active.desc(), keystore.SigningCredential.id.desc()).limit(1))
    if credential is None:
        raise NotFound("no_active_certificate")
    return credential


def credential_by_id(credential_id: int) -> keystore.SigningCredential:
    credential = db.session.get(keystore.SigningCredential, credential_id)
    if credential is None:
        raise NotFound()
    return credential


def revoke(credential: keystore.SigningCredential, *, reason: str = "", actor: User | None) -> None:
    """Revoke a certificate (lost token, member left office): it signs nothing from now on."""
    if credential.revoked_at is not None:
        raise Conflict("certificate_revoked")
    with write_transaction():
        keystore.revoke_credential(credential, actor=actor)
        if reason:
            audit.record(actor, "credential.revocation_reason", credential, {"reason": reason[:500]},
                         actor_label=None if actor else "cli")


def unlock(credential: keystore.SigningCredential, *, actor: User | None) -> None:
    """Clear the wrong-PIN lock."""
    if not credential.locked and not credential.failed_attempts:
        raise Conflict("certificate_not_locked")
    keystore.unlock_credential(credential, actor=actor)


def parse_certificates(data: bytes) -> list[x509.Certificate]:
    """The certificate first, then any CA certificates of its chain (PEM), or one DER certificate."""
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            certs = x509.load_pem_x509_certificates(data)
        else:
            certs = [x509.load_der_x509_certificate(data)]
    except ValueError:
        raise Invalid("certificate_invalid", fields={"cert": "certificate_invalid"}) from None
    if not certs:
        raise Invalid("certificate_invalid", fields={"cert": "certificate_invalid"})
    return certs


def import_token_certificate(user: User, data: bytes, *, actor: User | None) -> keystore.SigningCredential:
    """Register the certificate of a member's token (its key never leaves it): the member signs slips
    with their own tool and uploads them. It must be valid now, issued (through the given chain) by a
    trusted root, meant for signing, and not revoked."""
    cert, *chain = parse_certificates(data)
    now = utcnow()
    if not cert.not_valid_before_utc <= now < cert.not_valid_after_utc:
        raise Invalid("certificate_expired", fields={"cert": "certificate_expired"})
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
        if not (usage.content_commitment or usage.digital_signature):
            raise Invalid("certificate_not_for_signing", fields={"cert": "certificate_not_for_signing"})
    except x509.ExtensionNotFound:
        pass
    full_chain = _path_to_root(cert, chain)
    if full_chain is None:
        raise Invalid("certificate_untrusted", fields={"cert": "certificate_untrusted"})
    if keystore.is_revoked(cert) or revocation.is_revoked_elsewhere(cert):
        raise Invalid("certificate_revoked", fields={"cert": "certificate_revoked"})
    return keystore.register_pkcs11_credential(user, module="", token_label="", key_label="", cert=cert,
                                               chain=full_chain, actor=actor)


def _path_to_root(cert: x509.Certificate, given: list[x509.Certificate]) -> list[x509.Certificate] | None:
    """The CA certificates from ``cert``'s issuer up to a trusted root, each signature checked."""
    roots = keystore.trust_roots()
    candidates = [*given, *revocation.known_authorities()]
    path: list[x509.Certificate] = []
    current = cert
    for _ in range(8):
        for root in roots:
            if current.issuer == root.subject and _issued_by(current, root):
                return [*path, root] if root not in path else path
        parent = next((c for c in candidates if c.subject == current.issuer and c != current
                       and _issued_by(current, c)), None)
        if parent is None:
            return None
        path.append(parent)
        current = parent
    return None


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except Exception:
        return False
    return True
