"""Validation fails closed: each tampering or certificate problem is refused with its own code."""

from __future__ import annotations

import hashlib
import random
import socket
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from io import BytesIO

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pypdf import PdfReader, PdfWriter

from ecabinet.signing import (
    BuiltinCA,
    SignatureRejected,
    ValidationReport,
    certificate_sha256,
    signer_certificate_sha256,
)
from ecabinet.signing.validate import _last_signer_certificate

from .helpers import Member, flip_byte, signed_ranges
from .local_tsa import LocalTSA

Sign = Callable[..., bytes]
Validate = Callable[..., ValidationReport]
Rejected = Callable[..., SignatureRejected]


def _add_page_with_pypdf(signed: bytes) -> bytes:
    writer = PdfWriter(PdfReader(BytesIO(signed)), incremental=True)
    writer.add_blank_page()
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def _add_annotation(signed: bytes) -> bytes:
    writer = IncrementalPdfFileWriter(BytesIO(signed))
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    annotation = writer.add_object(
        generic.DictionaryObject(
            {
                pdf_name("/Type"): pdf_name("/Annot"),
                pdf_name("/Subtype"): pdf_name("/FreeText"),
                pdf_name("/Rect"): generic.ArrayObject(
                    [generic.NumberObject(n) for n in (72, 600, 400, 640)]
                ),
                pdf_name("/Contents"): generic.TextStringObject("Không đồng ý"),
                pdf_name("/DA"): generic.TextStringObject("/Helv 12 Tf 0 g"),
            }
        )
    )
    annots = page.get("/Annots", generic.ArrayObject())
    annots.append(annotation)
    page[pdf_name("/Annots")] = annots
    writer.update_container(page)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def test_a_valid_ballot_passes(signed_ballot: bytes, validate: Validate, member_a: Member) -> None:
    assert validate(signed_ballot, expected_signer=member_a.cert).username == "member_a"


def test_byte_flipped_in_the_signed_range(signed_ballot: bytes, assert_rejected: Rejected) -> None:
    offset = signed_ballot.index(b"ReportLab")
    assert any(offset in r for r in signed_ranges(signed_ballot))

    assert_rejected(flip_byte(signed_ballot, offset), "signature_invalid")


def test_random_byte_flips_are_never_accepted(signed_ballot: bytes, validate: Validate) -> None:
    rng = random.Random(20250101)
    offsets = [rng.choice(r) for r in signed_ranges(signed_ballot) for _ in range(20)]

    for offset in offsets:
        with pytest.raises(SignatureRejected):
            validate(flip_byte(signed_ballot, offset))


def test_signature_contents_tampered(signed_ballot: bytes, assert_rejected: Rejected) -> None:
    first, second = signed_ranges(signed_ballot)
    # the signature value sits a little before the zero padding at the end of /Contents
    hex_digits = signed_ballot[first.stop + 1 : second.start - 1].rstrip(b"0")
    offset = first.stop + 1 + len(hex_digits) - 4
    changed = bytearray(signed_ballot)
    changed[offset] = ord("0") if changed[offset] != ord("0") else ord("1")

    assert_rejected(bytes(changed), "signature_invalid")


def test_signed_by_another_member(
    ballot_pdf: bytes, member_a: Member, member_b: Member, sign: Sign, assert_rejected: Rejected
) -> None:
    by_b = sign(ballot_pdf, member_b)

    assert_rejected(by_b, "wrong_signer", expected_signer=member_a.cert)
    assert_rejected(by_b, "wrong_signer", expected_signer=lambda s: s.username == "member_a")


@pytest.mark.parametrize(
    ("not_before", "not_after"),
    [(-800, -30), (30, 800)],
    ids=["expired", "not-yet-valid"],
)
def test_certificate_outside_its_validity(
    not_before: int,
    not_after: int,
    issue: Callable[..., Member],
    ballot_pdf: bytes,
    sign: Sign,
    assert_rejected: Rejected,
) -> None:
    now = datetime.now(UTC)
    member = issue(
        "old_member",
        not_before=now + timedelta(days=not_before),
        not_after=now + timedelta(days=not_after),
    )

    assert_rejected(sign(ballot_pdf, member), "certificate_expired")


def test_revoked_certificate(
    ca: BuiltinCA,
    issue: Callable[..., Member],
    ballot_pdf: bytes,
    sign: Sign,
    validate: Validate,
    assert_rejected: Rejected,
) -> None:
    member = issue("leaver")
    signed = sign(ballot_pdf, member)
    assert validate(signed, crls=ca.crls()).username == "leaver"

    ca.revoke(member.cert.serial_number)

    assert_rejected(signed, "certificate_revoked", crls=ca.crls())


def test_crls_chosen_for_the_signer_in_one_pass(
    ca: BuiltinCA,
    issue: Callable[..., Member],
    ballot_pdf: bytes,
    sign: Sign,
    validate: Validate,
    assert_rejected: Rejected,
) -> None:
    member = issue("uploader")
    signed = sign(ballot_pdf, member)
    asked: list[int] = []

    def crls_for(cert: object) -> list[bytes]:
        asked.append(cert.serial_number)  # type: ignore[attr-defined]
        return ca.crls()

    assert validate(signed, crls=crls_for).username == "uploader"
    assert asked == [member.cert.serial_number]
    ca.revoke(member.cert.serial_number)
    assert_rejected(signed, "certificate_revoked", crls=crls_for)
    # a signer whose CA publishes no CRL here is validated without revocation, as with crls=()
    assert validate(signed, crls=lambda cert: []).username == "uploader"


def test_missing_crl_for_part_of_the_chain_is_not_a_pass(
    ca: BuiltinCA, signed_ballot: bytes, assert_rejected: Rejected
) -> None:
    # CRLs given means hard-fail: the issuing CA itself needs the root's CRL too
    assert_rejected(signed_ballot, "revocation_unknown", crls=[ca.crl()])


def test_untrusted_root(
    other_ca: BuiltinCA,
    signed_ballot: bytes,
    assert_rejected: Rejected,
    issue: Callable[..., Member],
    ballot_pdf: bytes,
    sign: Sign,
    ca: BuiltinCA,
) -> None:
    assert_rejected(signed_ballot, "untrusted_certificate", trust_roots=[other_ca.root_certificate])
    impostor = issue("member_a", full_name="Nguyễn Văn Ánh", authority=other_ca)
    assert_rejected(sign(ballot_pdf, impostor), "untrusted_certificate")


def test_certificate_without_non_repudiation(
    ca: BuiltinCA, ballot_pdf: bytes, sign: Sign, assert_rejected: Rejected
) -> None:
    from ecabinet.signing import build_signer, generate_key

    key = generate_key("p256")
    cert = ca.certify_public_key(
        key.public_key(), common_name="A", organisation="B", username="a", non_repudiation=False
    )
    member = Member("a", "A", key, cert, build_signer(key, cert, ca.chain))

    assert_rejected(sign(ballot_pdf, member), "missing_non_repudiation")


@pytest.mark.parametrize(
    "tamper", [_add_page_with_pypdf, _add_annotation], ids=["added-page", "added-annotation"]
)
def test_update_after_signing(
    tamper: Callable[[bytes], bytes], signed_ballot: bytes, assert_rejected: Rejected
) -> None:
    tampered = tamper(signed_ballot)
    assert tampered.startswith(signed_ballot)

    assert_rejected(tampered, "signature_not_whole_file")
    assert_rejected(tampered, "signature_not_whole_file", allow_later_signatures=True)


def test_annotation_slipped_in_between_two_signatures(
    ballot_pdf: bytes, secretary: Member, chair: Member, sign: Sign, assert_rejected: Rejected
) -> None:
    by_secretary = sign(ballot_pdf, secretary, field_name="ThuKy")
    by_both = sign(
        _add_annotation(by_secretary), chair, field_name="ChuToa", box=(40, 60, 280, 140)
    )

    assert_rejected(by_both, "modified_after_signing", allow_later_signatures=True)


def test_a_ballot_accepts_one_signature_only(
    signed_ballot: bytes, member_b: Member, sign: Sign, assert_rejected: Rejected
) -> None:
    countersigned = sign(signed_ballot, member_b, field_name="Sig2", box=(40, 60, 280, 140))

    assert_rejected(countersigned, "signature_not_whole_file")


def test_first_revision_is_not_the_document_we_issued(
    make_pdf: Callable[..., bytes],
    ballot_pdf: bytes,
    member_a: Member,
    sign: Sign,
    assert_rejected: Rejected,
) -> None:
    forged = sign(make_pdf("Phiếu lấy ý kiến (bản giả mạo)"), member_a)

    assert_rejected(
        forged,
        "first_revision_mismatch",
        expected_first_revision_sha256=hashlib.sha256(ballot_pdf).hexdigest(),
    )


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (lambda signed, unsigned: b"", "unparseable_pdf"),
        (lambda signed, unsigned: b"%PDF-1.7\n garbage \x00\xff" * 50, "unparseable_pdf"),
        (lambda signed, unsigned: signed[: len(signed) // 2], "unparseable_pdf"),
        (lambda signed, unsigned: signed[:-40], "unparseable_pdf"),
        (lambda signed, unsigned: unsigned, "not_signed"),
    ],
    ids=["empty", "garbage", "truncated-half", "truncated-tail", "unsigned"],
)
def test_not_a_signed_pdf(
    make: Callable[[bytes, bytes], bytes],
    code: str,
    signed_ballot: bytes,
    ballot_pdf: bytes,
    assert_rejected: Rejected,
) -> None:
    assert_rejected(make(signed_ballot, ballot_pdf), code)


def test_timestamp_from_an_untrusted_authority(
    other_ca: BuiltinCA, ballot_pdf: bytes, member_a: Member, sign: Sign, assert_rejected: Rejected
) -> None:
    key, cert = other_ca.issue_tsa_certificate(common_name="Rogue TSA")
    rogue = LocalTSA(key, cert, other_ca.chain).start()
    try:
        signed = sign(ballot_pdf, member_a, timestamper_url=rogue.url)
    finally:
        rogue.stop()

    assert_rejected(signed, "timestamp_invalid")


def test_validation_never_uses_the_network(
    ca: BuiltinCA,
    ballot_pdf: bytes,
    member_a: Member,
    sign: Sign,
    validate: Validate,
    tsa: LocalTSA,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    signed = sign(ballot_pdf, member_a, timestamper_url=tsa.url)

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("validation opened a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)

    assert validate(signed, crls=ca.crls()).level == "B-T"


def _pyhanko_signer_sha256(data: bytes) -> str:
    signatures = sorted(PdfFileReader(BytesIO(data)).embedded_signatures, key=lambda sig: sig.signed_revision)
    return hashlib.sha256(signatures[-1].signer_cert.dump()).hexdigest()


def test_signer_certificate_of_the_last_signature(
    ballot_pdf: bytes, member_a: Member, chair: Member, sign: Sign
) -> None:
    once = sign(ballot_pdf, member_a)
    twice = sign(once, chair, field_name="Sig2")
    for data, signer in ((once, member_a), (twice, chair)):
        # read from the signature's own hole, as pyHanko's reader would name it
        assert _last_signer_certificate(data) is not None
        assert signer_certificate_sha256(data) == certificate_sha256(signer.cert) == _pyhanko_signer_sha256(data)


def test_signer_certificate_of_an_unsigned_pdf(ballot_pdf: bytes) -> None:
    with pytest.raises(SignatureRejected) as refused:
        signer_certificate_sha256(ballot_pdf)
    assert refused.value.code == "not_signed"
