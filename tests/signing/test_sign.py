"""Signing: PAdES B-B/B-T, visible appearance, second signatures; checked by pyHanko and pdfsig."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from io import BytesIO
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.reader import PdfFileReader

from ecabinet.signing import (
    BuiltinCA,
    ValidationReport,
    build_signer,
    generate_key,
    sign_pdf,
)
from ecabinet.signing import signer as signer_module
from ecabinet.signing.signer import CachedKeySigner

from .helpers import SIGNATURE_BOX, Member
from .local_tsa import LocalTSA

Sign = Callable[..., bytes]
Validate = Callable[..., ValidationReport]
PdfSig = Callable[[bytes], list[str]]


def _widget(data: bytes, field_name: str) -> Any:
    reader = PdfFileReader(BytesIO(data))
    sig = next(s for s in reader.embedded_signatures if s.field_name == field_name)
    return sig.sig_field, reader


@pytest.mark.parametrize("key_type", ["p256", "rsa2048"])
def test_signed_ballot_is_valid_for_pyhanko_and_poppler(
    key_type: str,
    issue: Callable[..., Member],
    ballot_pdf: bytes,
    sign: Sign,
    validate: Validate,
    pdfsig: PdfSig,
) -> None:
    member = issue(f"member_{key_type}", full_name="Nguyễn Văn Ánh", key_type=key_type)

    signed = sign(ballot_pdf, member, reason="Biểu quyết", location="Hà Nội")
    report = validate(
        signed,
        expected_first_revision_sha256=hashlib.sha256(ballot_pdf).hexdigest(),
        expected_signer=member.cert,
    )

    assert signed[: len(ballot_pdf)] == ballot_pdf
    assert report.username == member.username
    assert report.serial == member.cert.serial_number
    assert "CN=Nguyễn Văn Ánh" in report.subject
    assert (report.level, report.timestamped, report.coverage) == ("B-B", False, "ENTIRE_FILE")
    assert report.first_revision_sha256 == hashlib.sha256(ballot_pdf).hexdigest()
    assert abs(report.signing_time - datetime.now(UTC)) < timedelta(minutes=1)
    assert [s.username for s in report.signatures] == [member.username]
    assert pdfsig(signed) == ["Signature is Valid."]


def test_signature_dictionary_is_pades_sha256(signed_ballot: bytes) -> None:
    reader = PdfFileReader(BytesIO(signed_ballot))
    (sig,) = reader.embedded_signatures

    assert sig.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
    assert sig.md_algorithm == "sha256"
    assert sig.sig_object["/Reason"] == "Biểu quyết"
    assert sig.sig_object["/Location"] == "Hà Nội"


def test_appearance_is_visible_and_shows_name_organisation_and_vietnam_time(
    make_pdf: Callable[..., bytes], member_a: Member, sign: Sign
) -> None:
    two_pages = make_pdf(pages=2)

    signed = sign(two_pages, member_a, page=0)

    field, reader = _widget(signed, "Sig1")
    assert [float(v) for v in field["/Rect"]] == list(SIGNATURE_BOX)
    assert field["/P"].get_object() == reader.root["/Pages"]["/Kids"][0].get_object()
    appearance = field["/AP"]["/N"]
    text = _actual_text(appearance)
    assert f"Ký bởi: {member_a.full_name}" in text
    assert "Văn phòng Chính phủ" in text
    (shown,) = re.findall(r"Thời gian ký: (\d\d/\d\d/\d{4} \d\d:\d\d:\d\d) \+07:00", text)
    shown_at = datetime.strptime(shown + " +0700", "%d/%m/%Y %H:%M:%S %z")
    signed_at = PdfFileReader(BytesIO(signed)).embedded_signatures[0].self_reported_timestamp
    assert signed_at is not None
    assert abs(shown_at - signed_at) < timedelta(seconds=1)
    assert "LiberationSerif" in str(_fonts(appearance))


@pytest.mark.parametrize(
    ("lines", "expected"),
    [((), "Ký bởi: Nguyễn Văn Ánh"), (["Tỷ lệ 100% đồng ý"], "Tỷ lệ 100% đồng ý")],
    ids=["certificate-name", "literal-percent"],
)
def test_appearance_lines(
    lines: tuple[str, ...], expected: str, ballot_pdf: bytes, member_a: Member
) -> None:
    signed = sign_pdf(
        ballot_pdf, member_a.signer, field_name="Sig1", box=SIGNATURE_BOX, signer_name_text=lines
    )

    field, _ = _widget(signed, "Sig1")
    assert expected in _actual_text(field["/AP"]["/N"]).splitlines()


def test_last_page_is_the_default(
    make_pdf: Callable[..., bytes], member_a: Member, sign: Sign
) -> None:
    signed = sign(make_pdf(pages=3), member_a)

    field, reader = _widget(signed, "Sig1")
    assert field["/P"].get_object() == reader.root["/Pages"]["/Kids"][2].get_object()


def test_second_signature_keeps_both_valid(
    ballot_pdf: bytes,
    secretary: Member,
    chair: Member,
    sign: Sign,
    validate: Validate,
    pdfsig: PdfSig,
) -> None:
    by_secretary = sign(ballot_pdf, secretary, field_name="ThuKy")

    by_both = sign(by_secretary, chair, field_name="ChuToa", box=(40, 60, 280, 140))
    report = validate(
        by_both,
        allow_later_signatures=True,
        expected_first_revision_sha256=hashlib.sha256(ballot_pdf).hexdigest(),
        expected_signer=lambda s: s.username == "chair",
    )

    assert by_both[: len(by_secretary)] == by_secretary
    assert [s.username for s in report.signatures] == ["secretary", "chair"]
    assert [s.coverage for s in report.signatures] == ["ENTIRE_REVISION", "ENTIRE_FILE"]
    assert report.username == "chair"
    assert pdfsig(by_both) == ["Signature is Valid.", "Signature is Valid."]


def test_b_t_with_a_timestamp_authority(
    ballot_pdf: bytes,
    member_a: Member,
    sign: Sign,
    validate: Validate,
    pdfsig: PdfSig,
    tsa: LocalTSA,
) -> None:
    requests = tsa.requests

    signed = sign(ballot_pdf, member_a, timestamper_url=tsa.url)
    report = validate(signed, crls=())

    assert tsa.requests == requests + 1
    assert (report.level, report.timestamped) == ("B-T", True)
    assert report.signatures[0].level == "B-T"
    assert abs(report.signing_time - datetime.now(UTC)) < timedelta(minutes=1)
    assert pdfsig(signed) == ["Signature is Valid."]


def test_signing_signs_once_and_never_reparses_the_key(
    ballot_pdf: bytes, member_a: Member, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []
    original = CachedKeySigner.async_sign_raw

    async def counting(
        self: CachedKeySigner, data: bytes, digest: str, dry_run: bool = False
    ) -> bytes:
        calls.append(dry_run)
        return await original(self, data, digest, dry_run)

    def no_parsing(*args: object, **kwargs: object) -> None:
        raise AssertionError("the signing path parsed a private key")

    monkeypatch.setattr(CachedKeySigner, "async_sign_raw", counting)
    monkeypatch.setattr(serialization, "load_der_private_key", no_parsing)
    monkeypatch.setattr(serialization, "load_pem_private_key", no_parsing)

    sign_pdf(ballot_pdf, member_a.signer, field_name="Sig1", box=SIGNATURE_BOX)

    assert calls == [False]


def test_an_undersized_reservation_falls_back_to_pyhankos_estimate(
    ballot_pdf: bytes,
    member_a: Member,
    sign: Sign,
    validate: Validate,
    tsa: LocalTSA,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(signer_module, "_CMS_OVERHEAD", 0)
    monkeypatch.setattr(signer_module, "_TIMESTAMP_TOKEN_ALLOWANCE", 0)
    requests = tsa.requests

    signed = sign(ballot_pdf, member_a, timestamper_url=tsa.url)

    assert validate(signed).level == "B-T"
    assert tsa.requests > requests + 1  # the reserved attempt failed and was redone


def test_a_key_that_does_not_match_the_certificate_is_refused(
    member_a: Member, ca: BuiltinCA
) -> None:
    with pytest.raises(ValueError, match="does not match"):
        build_signer(generate_key("p256"), member_a.cert, ca.chain)


def _actual_text(xobject: Any) -> str:
    """The /ActualText strings pyHanko wraps around each line, from this form and nested ones."""
    data = xobject.data.decode("latin-1")
    found = [
        _pdf_string(m) for m in re.findall(r"/ActualText \(((?:\\.|[^\\)])*)\)", data, flags=re.S)
    ]
    for child in xobject.get("/Resources", {}).get("/XObject", {}).values():
        found.append(_actual_text(child.get_object()))
    return "\n".join(found)


def _pdf_string(literal: str) -> str:
    raw = re.sub(
        r"\\([0-7]{1,3}|.)",
        lambda m: (
            chr(int(m.group(1), 8))
            if m.group(1).isdigit()
            else {"n": "\n"}.get(m.group(1), m.group(1))
        ),
        literal,
        flags=re.S,
    ).encode("latin-1")
    return raw[2:].decode("utf-16-be") if raw.startswith(b"\xfe\xff") else raw.decode("latin-1")


def _fonts(xobject: Any) -> list[str]:
    resources = xobject.get("/Resources", {})
    names = [str(font.get_object()["/BaseFont"]) for font in resources.get("/Font", {}).values()]
    for child in resources.get("/XObject", {}).values():
        names += _fonts(child.get_object())
    return names


def test_the_signing_certificate_attribute_is_pyhankos_own(
    ballot_pdf: bytes, member_a: Member, chair: Member, sign: Sign, pdfsig: PdfSig
) -> None:
    from pyhanko.sign.general import as_signing_certificate_v2, find_unique_cms_attribute

    for member in (member_a, chair, member_a):  # the kept value serves every later signature
        signed = sign(ballot_pdf, member)
        embedded = PdfFileReader(BytesIO(signed)).embedded_signatures[0]
        attrs = embedded.signer_info["signed_attrs"]
        value = find_unique_cms_attribute(attrs, "signing_certificate_v2")

        assert value.dump() == as_signing_certificate_v2(member.signer.signing_cert).dump()
        assert pdfsig(signed) == ["Signature is Valid."]


def test_the_embedded_signature_font_is_the_same_program_whenever_it_is_prepared(monkeypatch):
    """Every process embeds the same font bytes: a slip signed twice differs only in its signature."""
    from fontTools.ttLib.tables import _h_e_a_d

    from ecabinet.signing._font import PreparedFont
    from ecabinet.signing.signer import FONT_PATH

    programs = []
    for now in (3_000_000_000, 3_000_086_400):  # two days, as two processes started on them
        monkeypatch.setattr(_h_e_a_d, "timestampNow", lambda now=now: now)
        programs.append(PreparedFont(FONT_PATH).compressed_program)
    assert programs[0] == programs[1]
