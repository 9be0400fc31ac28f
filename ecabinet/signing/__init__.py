"""PAdES signing core: built-in CA, member keys, signing, fail-closed validation, PKCS#11.

A pure library: no Flask, no database. Services pass bytes and keys in and get bytes out.
"""

from .ca import BuiltinCA, KeyType, certificate_username, generate_key
from .keys import InvalidKeyFile, WrongPin, encrypt_private_key, import_pkcs12, load_private_key
from .pkcs11 import TokenError, TokenSigner, find_softhsm_module, open_pkcs11_signer
from .signer import CachedKeySigner, TimestampUnavailable, build_signer, sign_pdf
from .validate import (
    MESSAGES_VI,
    SignatureInfo,
    SignatureRejected,
    SignatureWidget,
    ValidationReport,
    certificate_sha256,
    first_revision_sha256,
    only_signature_added,
    prepared_revision,
    signer_certificate_sha256,
    validate_own_signature,
    validate_signed_pdf,
)

__all__ = [
    "MESSAGES_VI",
    "BuiltinCA",
    "CachedKeySigner",
    "InvalidKeyFile",
    "KeyType",
    "SignatureInfo",
    "SignatureRejected",
    "SignatureWidget",
    "TimestampUnavailable",
    "TokenError",
    "TokenSigner",
    "ValidationReport",
    "WrongPin",
    "build_signer",
    "certificate_sha256",
    "certificate_username",
    "encrypt_private_key",
    "find_softhsm_module",
    "first_revision_sha256",
    "generate_key",
    "import_pkcs12",
    "load_private_key",
    "only_signature_added",
    "open_pkcs11_signer",
    "prepared_revision",
    "sign_pdf",
    "signer_certificate_sha256",
    "validate_own_signature",
    "validate_signed_pdf",
]
