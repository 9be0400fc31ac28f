"""Member keys under a PIN, and PKCS#12 import."""

from __future__ import annotations

import pytest
from asn1crypto import keys as asn1_keys
from asn1crypto import pem
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from ecabinet.signing import (
    BuiltinCA,
    InvalidKeyFile,
    WrongPin,
    encrypt_private_key,
    generate_key,
    import_pkcs12,
    load_private_key,
)
from ecabinet.signing.keys import PIN_KDF_ROUNDS

FAST = 1_000  # KDF rounds for tests that are not about the KDF


def test_pin_protected_key_is_pkcs8_pbes2_with_the_full_kdf_cost() -> None:
    key = generate_key("p256")

    blob = encrypt_private_key(key, "246810")

    _, _, der = pem.unarmor(blob)
    params = asn1_keys.EncryptedPrivateKeyInfo.load(der)["encryption_algorithm"]["parameters"]
    kdf = params["key_derivation_func"]["parameters"]
    assert params["encryption_scheme"]["algorithm"].native == "aes256_cbc"
    assert kdf["iteration_count"].native == PIN_KDF_ROUNDS
    assert kdf["prf"]["algorithm"].native == "sha256"
    assert load_private_key(blob, "246810").private_numbers() == key.private_numbers()


@pytest.mark.parametrize("key_type", ["p256", "rsa2048"])
def test_round_trip(key_type: str) -> None:
    key = generate_key(key_type)  # type: ignore[arg-type]

    loaded = load_private_key(encrypt_private_key(key, "1234", rounds=FAST), "1234")

    assert loaded.private_numbers() == key.private_numbers()  # type: ignore[union-attr]


def test_wrong_pin_raises_wrong_pin_without_the_pin() -> None:
    blob = encrypt_private_key(generate_key("p256"), "135790", rounds=FAST)

    with pytest.raises(WrongPin) as info:
        load_private_key(blob, "975310")

    assert "975310" not in str(info.value)
    assert "135790" not in str(info.value)
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__


@pytest.mark.parametrize(
    "blob",
    [
        b"",
        b"garbage",
        b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nnot base64\n-----END ENCRYPTED PRIVATE KEY-----\n",
        generate_key("p256").private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    ],
    ids=["empty", "garbage", "bad-base64", "unencrypted"],
)
def test_not_a_pin_protected_key(blob: bytes) -> None:
    with pytest.raises(InvalidKeyFile):
        load_private_key(blob, "1234")


def test_empty_pin_is_refused() -> None:
    with pytest.raises(ValueError, match="PIN"):
        encrypt_private_key(generate_key("p256"), "")


def test_import_pkcs12(ca: BuiltinCA) -> None:
    key, cert = ca.issue_signing_certificate(common_name="A", organisation="B", username="a")
    data = pkcs12.serialize_key_and_certificates(
        b"member",
        key,
        cert,
        ca.chain,
        serialization.BestAvailableEncryption(b"p12-secret"),
    )

    loaded_key, loaded_cert, chain = import_pkcs12(data, "p12-secret")

    assert loaded_key.private_numbers() == key.private_numbers()  # type: ignore[union-attr]
    assert loaded_cert == cert
    assert set(chain) == set(ca.chain)


@pytest.mark.parametrize("password", ["wrong", None])
def test_import_pkcs12_with_a_wrong_password(ca: BuiltinCA, password: str | None) -> None:
    key, cert = ca.issue_signing_certificate(common_name="A", organisation="B", username="a")
    data = pkcs12.serialize_key_and_certificates(
        b"m", key, cert, None, serialization.BestAvailableEncryption(b"right")
    )
    with pytest.raises(InvalidKeyFile):
        import_pkcs12(data, password)


@pytest.mark.parametrize("data", [b"", b"\x30\x03\x02\x01\x03", b"not a pkcs12 file" * 10])
def test_import_pkcs12_garbage(data: bytes) -> None:
    with pytest.raises(InvalidKeyFile):
        import_pkcs12(data, "x")


def test_import_pkcs12_without_a_key(ca: BuiltinCA) -> None:
    data = pkcs12.serialize_key_and_certificates(
        None, None, None, ca.chain, serialization.BestAvailableEncryption(b"x")
    )
    with pytest.raises(InvalidKeyFile):
        import_pkcs12(data, "x")


def test_a_key_encrypted_by_another_tool_still_unlocks() -> None:
    key = generate_key("p256")
    blob = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.BestAvailableEncryption(b"1234"))

    assert load_private_key(blob, "1234").private_numbers() == key.private_numbers()
    with pytest.raises(WrongPin):
        load_private_key(blob, "4321")


@pytest.mark.parametrize("key_type", ["p256", "rsa2048"])
def test_off_the_hub_the_derivation_unlocks_the_same_key_and_refuses_a_wrong_pin(
        key_type: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    from ecabinet import offload
    from ecabinet.signing import keys

    threads = []
    derive = keys._derive
    monkeypatch.setattr(offload, "under_gevent", lambda: True)
    monkeypatch.setattr(keys, "_derive", lambda *args: threads.append(threading.get_ident()) or derive(*args))
    key = generate_key(key_type)  # type: ignore[arg-type]
    blob = encrypt_private_key(key, "246810", rounds=FAST)

    assert load_private_key(blob, "246810").private_numbers() == key.private_numbers()  # type: ignore[union-attr]
    with pytest.raises(WrongPin):
        load_private_key(blob, "246811")
    # encrypt, unlock, wrong PIN: each derivation in gevent's thread pool
    assert len(threads) == 3
    assert threading.get_ident() not in threads
