"""The built-in CA: files on disk, certificate profiles, revocation."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ecabinet.signing import BuiltinCA, certificate_username


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_create_or_load_is_idempotent_and_keeps_keys_private(tmp_path: Path) -> None:
    directory = tmp_path / "ca"
    first = BuiltinCA.create_or_load(directory)
    again = BuiltinCA.create_or_load(directory)

    assert again.root_certificate == first.root_certificate
    assert again.issuing_certificate == first.issuing_certificate
    assert _mode(directory) == 0o700
    for name in ("ca-passphrase", "root.key.pem", "issuing.key.pem"):
        assert _mode(directory / name) == 0o600, name
    for name in ("root.key.pem", "issuing.key.pem"):
        assert (directory / name).read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert isinstance(first.root_certificate.public_key(), ec.EllipticCurvePublicKey)


def test_chain_verifies_up_to_the_root(ca: BuiltinCA) -> None:
    ca.issuing_certificate.verify_directly_issued_by(ca.root_certificate)
    ca.root_certificate.verify_directly_issued_by(ca.root_certificate)
    constraints = ca.issuing_certificate.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical
    assert constraints.value.ca
    assert constraints.value.path_length == 0


def test_signing_certificate_profile(ca: BuiltinCA) -> None:
    key, cert = ca.issue_signing_certificate(
        common_name="Nguyễn Văn Ánh",
        organisation="Bộ Tư pháp",
        title="Thứ trưởng",
        username="member_a",
    )

    cert.verify_directly_issued_by(ca.issuing_certificate)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical
    assert usage.value.digital_signature
    assert usage.value.content_commitment
    assert not usage.value.key_cert_sign
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    subject = cert.subject
    assert subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Nguyễn Văn Ánh"
    assert subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "Bộ Tư pháp"
    assert subject.get_attributes_for_oid(NameOID.TITLE)[0].value == "Thứ trưởng"
    assert certificate_username(cert) == "member_a"


def test_rsa_key_and_validity_window(ca: BuiltinCA) -> None:
    start = datetime(2020, 1, 1, tzinfo=UTC)
    key, cert = ca.issue_signing_certificate(
        common_name="A",
        organisation="B",
        username="old",
        key_type="rsa2048",
        not_before=start,
        not_after=start + timedelta(days=30),
    )

    assert isinstance(key, rsa.RSAPrivateKey)
    assert key.key_size == 2048
    assert cert.not_valid_before_utc == start
    assert cert.not_valid_after_utc == start + timedelta(days=30)


def test_tsa_certificate_has_only_the_critical_timestamping_purpose(ca: BuiltinCA) -> None:
    key, cert = ca.issue_tsa_certificate()

    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert eku.critical
    assert list(eku.value) == [ExtendedKeyUsageOID.TIME_STAMPING]
    assert isinstance(key, rsa.RSAPrivateKey)


def test_revoked_serial_is_in_the_crl_and_survives_a_reload(tmp_path: Path) -> None:
    authority = BuiltinCA.create_or_load(tmp_path)
    _, revoked = authority.issue_signing_certificate(
        common_name="X", organisation="Y", username="x"
    )
    _, kept = authority.issue_signing_certificate(common_name="Z", organisation="Y", username="z")

    authority.revoke(revoked.serial_number)
    crl = x509.load_der_x509_crl(BuiltinCA.create_or_load(tmp_path).crl())

    assert crl.is_signature_valid(authority.issuing_certificate.public_key())  # type: ignore[arg-type]
    assert crl.get_revoked_certificate_by_serial_number(revoked.serial_number) is not None
    assert crl.get_revoked_certificate_by_serial_number(kept.serial_number) is None
    assert crl.next_update_utc is not None
    assert crl.next_update_utc > datetime.now(UTC)
    root_crl = x509.load_der_x509_crl(authority.root_crl())
    assert root_crl.is_signature_valid(authority.root_certificate.public_key())  # type: ignore[arg-type]
    assert len(authority.crls()) == 2
