"""The server's check of a signature it has just made refuses what full validation refuses."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ecabinet.signing import (
    BuiltinCA,
    SignatureRejected,
    ValidationReport,
    build_signer,
    generate_key,
    validate_own_signature,
)
from ecabinet.signing import validate as validate_module

from .helpers import Member, expect_refusal, flip_byte, signed_ranges
from .local_tsa import LocalTSA
from .test_validate import _add_annotation, _add_page_with_pypdf

Sign = Callable[..., bytes]
Own = Callable[..., ValidationReport]
Rejected = Callable[..., SignatureRejected]


@pytest.fixture
def own(ca: BuiltinCA, ballot_pdf: bytes, member_a: Member) -> Own:
    """``own(data, **kwargs)``: the test CA trusted, its CRLs, ``ballot_pdf`` signed by member A."""

    def _own(data: bytes, **kwargs: Any) -> ValidationReport:
        kwargs.setdefault("unsigned", ballot_pdf)
        kwargs.setdefault("trust_roots", [ca.root_certificate])
        kwargs.setdefault("signer", member_a.cert)
        kwargs.setdefault("crls", ca.crls())
        return validate_own_signature(data, **kwargs)

    return _own


@pytest.fixture
def own_rejected(own: Own) -> Rejected:
    return lambda data, code, **kwargs: expect_refusal(own, data, code, **kwargs)


def test_the_report_is_the_full_validations(
    signed_ballot: bytes, own: Own, validate: Callable[..., ValidationReport], ca: BuiltinCA, member_a: Member
) -> None:
    full = validate(signed_ballot, expected_signer=member_a.cert, crls=ca.crls())

    assert own(signed_ballot) == full
    assert full.level == "B-B" and full.coverage == "ENTIRE_FILE"


def test_byte_flips_in_the_signed_range_are_never_accepted(signed_ballot: bytes, own: Own) -> None:
    rng = random.Random(20261202)
    first, second = signed_ranges(signed_ballot)
    # the update only: a flip in the first revision is refused before any signature check
    offsets = [rng.choice(range(first.stop - 2000, first.stop)) for _ in range(20)]
    offsets += [rng.choice(second) for _ in range(40)]

    for offset in offsets:
        with pytest.raises(SignatureRejected):
            own(flip_byte(signed_ballot, offset))


def test_a_flip_in_the_first_revision(signed_ballot: bytes, own_rejected: Rejected) -> None:
    assert_offset = signed_ballot.index(b"ReportLab")

    own_rejected(flip_byte(signed_ballot, assert_offset), "first_revision_mismatch")


def test_signature_value_tampered(signed_ballot: bytes, own_rejected: Rejected) -> None:
    first, second = signed_ranges(signed_ballot)
    hex_digits = signed_ballot[first.stop + 1 : second.start - 1].rstrip(b"0")
    offset = first.stop + 1 + len(hex_digits) - 4
    changed = bytearray(signed_ballot)
    changed[offset] = ord("0") if changed[offset] != ord("0") else ord("1")

    own_rejected(bytes(changed), "signature_invalid")


def test_signed_by_another_member(ballot_pdf: bytes, member_b: Member, sign: Sign, own_rejected: Rejected) -> None:
    own_rejected(sign(ballot_pdf, member_b), "wrong_signer")


@pytest.mark.parametrize(("not_before", "not_after"), [(-800, -30), (30, 800)], ids=["expired", "not-yet-valid"])
def test_certificate_outside_its_validity(
    not_before: int, not_after: int, issue: Callable[..., Member], ballot_pdf: bytes, sign: Sign,
    own_rejected: Rejected,
) -> None:
    now = datetime.now(UTC)
    member = issue("old_member", not_before=now + timedelta(days=not_before), not_after=now + timedelta(days=not_after))

    own_rejected(sign(ballot_pdf, member), "certificate_expired", signer=member.cert)


def test_a_revocation_applies_to_the_next_signature_despite_the_reused_path(
    ca: BuiltinCA, issue: Callable[..., Member], ballot_pdf: bytes, sign: Sign, own: Own, own_rejected: Rejected
) -> None:
    member = issue("own_leaver")
    assert own(sign(ballot_pdf, member), signer=member.cert).username == "own_leaver"

    ca.revoke(member.cert.serial_number)

    own_rejected(sign(ballot_pdf, member), "certificate_revoked", signer=member.cert, crls=ca.crls())


def test_the_path_is_checked_again_for_new_crls_and_after_the_reuse_bound(
    ca: BuiltinCA, signed_ballot: bytes, own: Own, monkeypatch: pytest.MonkeyPatch
) -> None:
    checks: list[int] = []
    real = validate_module._path_result

    def counting(*args: Any) -> Any:
        checks.append(1)
        return real(*args)

    monkeypatch.setattr(validate_module, "_path_result", counting)
    validate_module._trusted_until.clear()
    own(signed_ballot)
    own(signed_ballot)
    assert len(checks) == 1
    own(signed_ballot, crls=[*ca.crls(), ca.crl()])
    assert len(checks) == 2
    monkeypatch.setattr(validate_module, "TRUST_REUSE", timedelta(0))
    validate_module._trusted_until.clear()
    own(signed_ballot)
    own(signed_ballot)
    assert len(checks) == 4


def test_missing_crl_for_part_of_the_chain(ca: BuiltinCA, signed_ballot: bytes, own_rejected: Rejected) -> None:
    own_rejected(signed_ballot, "revocation_unknown", crls=[ca.crl()])


def test_untrusted_root(other_ca: BuiltinCA, signed_ballot: bytes, own_rejected: Rejected) -> None:
    own_rejected(signed_ballot, "untrusted_certificate", trust_roots=[other_ca.root_certificate])


def test_certificate_without_non_repudiation(
    ca: BuiltinCA, ballot_pdf: bytes, sign: Sign, own_rejected: Rejected
) -> None:
    key = generate_key("p256")
    cert = ca.certify_public_key(key.public_key(), common_name="A", organisation="B", username="a",
                                 non_repudiation=False)
    member = Member("a", "A", key, cert, build_signer(key, cert, ca.chain))

    own_rejected(sign(ballot_pdf, member), "missing_non_repudiation", signer=cert)


@pytest.mark.parametrize("tamper", [_add_page_with_pypdf, _add_annotation], ids=["added-page", "added-annotation"])
def test_update_after_signing(tamper: Callable[[bytes], bytes], signed_ballot: bytes, own_rejected: Rejected) -> None:
    own_rejected(tamper(signed_ballot), "signature_not_whole_file")


def test_a_second_signature(signed_ballot: bytes, member_b: Member, sign: Sign, own_rejected: Rejected) -> None:
    own_rejected(sign(signed_ballot, member_b, field_name="Sig2", box=(40, 60, 280, 140)), "signature_not_whole_file")


def test_bytes_appended_after_the_signature(signed_ballot: bytes, own_rejected: Rejected) -> None:
    own_rejected(signed_ballot + b"\n% trailing\n", "signature_not_whole_file")


def test_a_different_first_revision(
    make_pdf: Callable[..., bytes], member_a: Member, sign: Sign, own_rejected: Rejected
) -> None:
    own_rejected(sign(make_pdf("Phiếu lấy ý kiến (bản giả mạo)"), member_a), "first_revision_mismatch")


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (lambda signed, unsigned: unsigned, "not_signed"),
        (lambda signed, unsigned: unsigned + b"garbage \x00\xff" * 50, "not_signed"),
        (lambda signed, unsigned: signed[:-40], "unparseable_pdf"),
        (lambda signed, unsigned: signed[: signed.rindex(b"xref")], "unparseable_pdf"),
    ],
    ids=["unsigned", "unsigned-with-garbage", "truncated-tail", "no-update-xref"],
)
def test_not_a_signed_pdf(
    make: Callable[[bytes, bytes], bytes], code: str, signed_ballot: bytes, ballot_pdf: bytes,
    own_rejected: Rejected,
) -> None:
    own_rejected(make(signed_ballot, ballot_pdf), code)


def test_a_timestamped_signature_is_validated_in_full(
    ballot_pdf: bytes, member_a: Member, sign: Sign, own: Own, own_rejected: Rejected, tsa: LocalTSA,
    other_ca: BuiltinCA,
) -> None:
    assert own(sign(ballot_pdf, member_a, timestamper_url=tsa.url)).level == "B-T"
    key, cert = other_ca.issue_tsa_certificate(common_name="Rogue TSA")
    rogue = LocalTSA(key, cert, other_ca.chain).start()
    try:
        signed = sign(ballot_pdf, member_a, timestamper_url=rogue.url)
    finally:
        rogue.stop()

    own_rejected(signed, "timestamp_invalid")


def test_a_validated_slip_names_its_signer_without_being_read_again(
    signed_ballot: bytes, own: Own, member_a: Member, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ecabinet.signing import certificate_sha256, signer_certificate_sha256

    own(signed_ballot)
    monkeypatch.setattr(validate_module, "_last_signer_certificate", None)  # reading it would fail

    assert signer_certificate_sha256(signed_ballot) == certificate_sha256(member_a.cert)
    with pytest.raises(TypeError):  # other bytes are still read
        signer_certificate_sha256(signed_ballot + b"\n")


def test_a_refused_slip_is_not_remembered(signed_ballot: bytes, own_rejected: Rejected) -> None:
    first, _ = signed_ranges(signed_ballot)
    tampered = flip_byte(signed_ballot, first.stop - 200)  # in the signature's dictionary
    own_rejected(tampered, "signature_invalid")

    assert hashlib.sha256(tampered).digest() not in validate_module._signer_of
