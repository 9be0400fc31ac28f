"""Member keys at rest: PKCS#8 under a PIN, and PKCS#12 import.

Messages never contain the PIN or the password, and the original exception is dropped
(``from None``) so that no traceback carries key material either.
"""

from __future__ import annotations

import os
from typing import TypeAlias

from asn1crypto import algos, pem
from asn1crypto import keys as asn1_keys
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, padding, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from cryptography.hazmat.primitives.serialization import pkcs12

from ecabinet.offload import off_hub

SigningKey: TypeAlias = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

# BestAvailableEncryption uses 2,048 PBKDF2 rounds for PKCS#8, which a 6-digit PIN cannot
# survive offline; 600,000 is OWASP's PBKDF2-HMAC-SHA256 figure (about 0.3 s per unlock).
PIN_KDF_ROUNDS = 600_000


class WrongPin(Exception):
    """The PIN does not unlock this key."""

    def __init__(self, message: str = "Mã PIN không đúng.") -> None:
        super().__init__(message)


class InvalidKeyFile(Exception):
    """The data is not a usable key file (or its password is wrong, for PKCS#12)."""

    def __init__(self, message: str = "Tệp khoá không hợp lệ.") -> None:
        super().__init__(message)


def encrypt_private_key(key: SigningKey, pin: str, *, rounds: int = PIN_KDF_ROUNDS) -> bytes:
    """Return ``key`` as an encrypted PKCS#8 PEM (PBES2: PBKDF2-SHA256, AES-256-CBC)."""
    if not pin:
        raise ValueError("The PIN must not be empty.")
    plain = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    salt, iv = os.urandom(16), os.urandom(16)
    kek = off_hub(_derive, pin.encode(), salt, rounds)
    padder = padding.PKCS7(128).padder()
    encryptor = Cipher(algorithms.AES(kek), modes.CBC(iv)).encryptor()
    ciphertext = encryptor.update(padder.update(plain) + padder.finalize()) + encryptor.finalize()
    scheme = algos.EncryptionAlgorithm(
        {
            "algorithm": "pbes2",
            "parameters": {
                "key_derivation_func": {
                    "algorithm": "pbkdf2",
                    "parameters": {
                        "salt": algos.Pbkdf2Salt(name="specified", value=salt),
                        "iteration_count": rounds,
                        "prf": {"algorithm": "sha256"},
                    },
                },
                "encryption_scheme": {"algorithm": "aes256_cbc", "parameters": iv},
            },
        }
    )
    info = asn1_keys.EncryptedPrivateKeyInfo(
        {"encryption_algorithm": scheme, "encrypted_data": ciphertext}
    )
    return pem.armor("ENCRYPTED PRIVATE KEY", info.dump())


def load_private_key(blob: bytes, pin: str) -> SigningKey:
    """Unlock a key made by :func:`encrypt_private_key`; raise WrongPin or InvalidKeyFile."""
    try:
        kind, _, der = pem.unarmor(blob)
        info = asn1_keys.EncryptedPrivateKeyInfo.load(der, strict=True)
        _ = info.native
    except Exception:
        raise InvalidKeyFile() from None
    if kind != "ENCRYPTED PRIVATE KEY":
        raise InvalidKeyFile()
    try:
        password = pin.encode()
    except UnicodeError:
        raise InvalidKeyFile() from None
    own = _own_scheme(info["encryption_algorithm"])
    if own is None:
        return _load_other(blob, password)
    salt, rounds, iv = own
    # the derivation alone, off the gevent hub: cryptography releases the GIL for it, and its
    # OpenSSL derives twice as fast as hashlib's (3.0) here; loading the PEM whole keeps the GIL
    kek = off_hub(_derive, password, salt, rounds)
    decryptor = Cipher(algorithms.AES(kek), modes.CBC(iv)).decryptor()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        padded = decryptor.update(info["encrypted_data"].native) + decryptor.finalize()
        plain = unpadder.update(padded) + unpadder.finalize()
        key = serialization.load_der_private_key(plain, password=None)
    except (ValueError, UnsupportedAlgorithm):
        # the structure parsed above, so a padding or key structure that does not decrypt means a wrong PIN
        raise WrongPin() from None
    return _supported(key)


def _own_scheme(scheme: algos.EncryptionAlgorithm) -> tuple[bytes, int, bytes] | None:
    """(salt, rounds, IV) when ``scheme`` is :func:`encrypt_private_key`'s PBES2 (PBKDF2-HMAC-SHA256,
    AES-256-CBC), else None."""
    try:
        if (scheme["algorithm"].native == "pbes2" and scheme.kdf == "pbkdf2" and scheme.kdf_hmac == "sha256"
                and scheme.encryption_cipher == "aes" and scheme.key_length == 32
                and scheme.encryption_mode == "cbc" and len(scheme.encryption_iv) == 16):
            return scheme.kdf_salt, scheme.kdf_iterations, scheme.encryption_iv
    except (ValueError, KeyError, TypeError):
        pass
    return None


def _derive(password: bytes, salt: bytes, rounds: int) -> bytes:
    return PBKDF2HMAC(hashes.SHA256(), length=32, salt=salt, iterations=rounds).derive(password)


def _load_other(blob: bytes, password: bytes) -> SigningKey:
    try:
        key = serialization.load_pem_private_key(blob, password=password)
    except ValueError:
        # the structure parsed above, so a decryption failure means a wrong PIN
        raise WrongPin() from None
    except TypeError:
        raise InvalidKeyFile() from None
    return _supported(key)


def import_pkcs12(
    data: bytes, password: str | None
) -> tuple[SigningKey, x509.Certificate, list[x509.Certificate]]:
    """Read a PKCS#12 file into (key, certificate, other certificates); raise ``InvalidKeyFile``."""
    try:
        key, cert, chain = pkcs12.load_key_and_certificates(
            data, password.encode() if password else None
        )
    except (ValueError, TypeError):
        raise InvalidKeyFile("Tệp khoá không hợp lệ hoặc mật khẩu không đúng.") from None
    if key is None or cert is None:
        raise InvalidKeyFile("Tệp khoá không chứa khoá bí mật và chứng thư số.")
    if cert.public_key().public_numbers() != key.public_key().public_numbers():  # type: ignore[union-attr]  # RSA/EC only
        raise InvalidKeyFile("Khoá bí mật không khớp với chứng thư số.")
    return _supported(key), cert, list(chain)


def _supported(key: object) -> SigningKey:
    if isinstance(key, rsa.RSAPrivateKey) and key.key_size >= 2048:
        return key
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key
    raise InvalidKeyFile("Loại khoá không được hỗ trợ (cần RSA từ 2048 bit hoặc ECDSA).")
