"""Signing through PKCS#11 with a SoftHSM2 token: the key never leaves the token."""

from __future__ import annotations

from collections.abc import Callable

import pkcs11
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pkcs11 import Attribute, KeyType
from pkcs11.util.ec import encode_ec_public_key, encode_named_curve_parameters
from pkcs11.util.x509 import decode_x509_certificate

from ecabinet.signing import (
    BuiltinCA,
    TokenError,
    ValidationReport,
    WrongPin,
    open_pkcs11_signer,
    sign_pdf,
)

from .helpers import SIGNATURE_BOX, SoftToken

KEY_LABEL = "van-phong-chinh-phu"


@pytest.fixture(scope="module")
def token_cert(softhsm: SoftToken, ca: BuiltinCA) -> x509.Certificate:
    """An EC key generated on the token, certified by the CA; the certificate stored beside it."""
    token = pkcs11.lib(softhsm.module).get_token(token_label=softhsm.label)
    with token.open(rw=True, user_pin=softhsm.pin) as session:
        params = session.create_domain_parameters(
            KeyType.EC,
            {Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")},
            local=True,
        )
        public, _ = params.generate_keypair(store=True, label=KEY_LABEL)
        public_key = serialization.load_der_public_key(encode_ec_public_key(public))
        cert = ca.certify_public_key(
            public_key,  # type: ignore[arg-type]
            common_name="Văn phòng Chính phủ",
            organisation="Chính phủ",
            username="vpcp",
        )
        attributes = decode_x509_certificate(cert.public_bytes(serialization.Encoding.DER))
        attributes.update({Attribute.TOKEN: True, Attribute.LABEL: KEY_LABEL})
        session.create_object(attributes)
    return cert


def test_sign_with_a_key_on_the_token(
    softhsm: SoftToken,
    token_cert: x509.Certificate,
    ca: BuiltinCA,
    ballot_pdf: bytes,
    validate: Callable[..., ValidationReport],
    pdfsig: Callable[[bytes], list[str]],
) -> None:
    with open_pkcs11_signer(
        softhsm.module, softhsm.label, KEY_LABEL, softhsm.pin, chain=ca.chain
    ) as signer:
        first = sign_pdf(
            ballot_pdf,
            signer,
            field_name="CoQuan",
            box=SIGNATURE_BOX,
            signer_name_text=["Văn phòng Chính phủ"],
        )
        # the session stays open: a second document signs without logging in again
        second = sign_pdf(first, signer, field_name="CoQuan2", box=(40, 60, 280, 140))

    report = validate(first, expected_signer=token_cert, crls=ca.crls())
    assert (report.username, report.level) == ("vpcp", "B-B")
    assert len(validate(second, allow_later_signatures=True).signatures) == 2
    assert pdfsig(first) == ["Signature is Valid."]


def test_wrong_token_pin(softhsm: SoftToken, token_cert: x509.Certificate) -> None:
    with pytest.raises(WrongPin):
        open_pkcs11_signer(softhsm.module, softhsm.label, KEY_LABEL, "000000")


@pytest.mark.parametrize(
    ("token_label", "key_label"),
    [("no-such-token", KEY_LABEL), ("ecabinet-test", "no-such-key")],
    ids=["token", "key"],
)
def test_unknown_token_or_key(
    softhsm: SoftToken, token_cert: x509.Certificate, token_label: str, key_label: str
) -> None:
    with pytest.raises(TokenError):
        open_pkcs11_signer(softhsm.module, token_label, key_label, softhsm.pin)
