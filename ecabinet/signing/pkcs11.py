"""PKCS#11 signing (hardware tokens, HSMs; SoftHSM2 in tests) through pyHanko."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

import pkcs11
from cryptography import x509
from pyhanko.config.pkcs11 import TokenCriteria
from pyhanko.sign.pkcs11 import PKCS11Signer, open_pkcs11_session

from .keys import WrongPin
from .signer import to_asn1

SOFTHSM_CANDIDATES = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
)


class TokenError(Exception):
    """The PKCS#11 module, token, key or certificate could not be used."""


class TokenSigner(PKCS11Signer):
    """A pyHanko PKCS#11 signer that owns its (open, logged-in) session until ``close``.

    A PKCS#11 session runs one operation at a time: give each worker thread its own signer.
    """

    def close(self) -> None:
        """Log out and close the session."""
        self.pkcs11_session.close()

    def __enter__(self) -> TokenSigner:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def open_pkcs11_signer(
    module_path: str,
    token_label: str,
    key_label: str,
    user_pin: str,
    *,
    cert_label: str | None = None,
    signing_cert: x509.Certificate | None = None,
    chain: Sequence[x509.Certificate] = (),
) -> TokenSigner:
    """Open a session on the token and return a signer for ``key_label``; close it when done.

    The certificate is read from the token (label ``cert_label``, by default the key's
    label) unless ``signing_cert`` is given. A wrong PIN raises ``WrongPin``.
    """
    try:
        session = open_pkcs11_session(
            module_path, token_criteria=TokenCriteria(label=token_label), user_pin=user_pin
        )
    except (pkcs11.exceptions.PinIncorrect, pkcs11.exceptions.PinLenRange):
        raise WrongPin() from None
    except (pkcs11.PKCS11Error, OSError, RuntimeError) as e:
        raise TokenError(f"Cannot open token {token_label!r}: {type(e).__name__}") from None
    signer = TokenSigner(
        session,
        cert_label=None if signing_cert is not None else (cert_label or key_label),
        signing_cert=to_asn1(signing_cert) if signing_cert is not None else None,
        ca_chain=[to_asn1(c) for c in chain],
        key_label=key_label,
    )
    try:
        # load the key and certificate now, so a wrong label fails here and not mid-signature
        cert = signer.signing_cert
        # many tokens (SoftHSM2 among them) offer CKM_ECDSA but not CKM_ECDSA_SHA256:
        # hash on the host and let the token sign the digest
        signer.use_raw_mechanism = cert.public_key.algorithm == "ec"
    except Exception as e:
        session.close()
        raise TokenError(
            f"Key or certificate {key_label!r} not usable: {type(e).__name__}"
        ) from None
    return signer


def find_softhsm_module() -> str | None:
    """Path of SoftHSM2's PKCS#11 module (``SOFTHSM2_MODULE`` overrides), or None."""
    override = os.environ.get("SOFTHSM2_MODULE")
    candidates = (override,) if override else SOFTHSM_CANDIDATES
    return next((path for path in candidates if path and Path(path).is_file()), None)
