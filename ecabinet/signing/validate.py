"""Fail-closed validation of signed PDFs.

Anything this module cannot positively establish is a refusal: a parser or validator
exception, a signature that does not cover the whole file, a change after signing, an
untrusted, revoked or expired certificate. Nothing is fetched from the network.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from io import BytesIO
from typing import TypeAlias

from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.ades.report import AdESFailure, AdESIndeterminate
from pyhanko.sign.diff_analysis import DiffResult, ModificationLevel
from pyhanko.sign.validation import (
    EmbeddedPdfSignature,
    PdfSignatureStatus,
    SignatureCoverageLevel,
    validate_pdf_signature,
)
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko_certvalidator import ValidationContext

from .ca import certificate_username
from .signer import PYHANKO_LOCK, to_asn1

MESSAGES_VI: dict[str, str] = {
    "unparseable_pdf": "Không đọc được tệp PDF.",
    "not_signed": "Tệp PDF chưa được ký số.",
    "signature_invalid": "Chữ ký số không hợp lệ hoặc tài liệu đã bị sửa đổi.",
    "signature_not_whole_file": (
        "Chữ ký số không bao trùm toàn bộ tệp: tài liệu đã bị thay đổi sau khi ký."
    ),
    "modified_after_signing": "Tài liệu đã bị thay đổi sau khi ký.",
    "first_revision_mismatch": "Nội dung được ký không phải là tài liệu do hệ thống phát hành.",
    "untrusted_certificate": "Chứng thư số không do tổ chức cung cấp dịch vụ tin cậy cấp.",
    "certificate_revoked": "Chứng thư số đã bị thu hồi.",
    "certificate_expired": "Chứng thư số đã hết hạn hoặc chưa có hiệu lực.",
    "revocation_unknown": "Không xác định được tình trạng thu hồi của chứng thư số.",
    "missing_non_repudiation": "Chứng thư số không có mục đích chống chối bỏ (nonRepudiation).",
    "timestamp_invalid": "Dấu thời gian của chữ ký không hợp lệ.",
    "wrong_signer": "Tài liệu không được ký bởi người có thẩm quyền ký.",
}

_REVOKED = {
    AdESFailure.REVOKED,
    AdESIndeterminate.REVOKED_NO_POE,
    AdESIndeterminate.REVOKED_CA_NO_POE,
}
_OUT_OF_VALIDITY = {
    AdESFailure.NOT_YET_VALID,
    AdESIndeterminate.NOT_YET_VALID,
    AdESIndeterminate.EXPIRED,
    AdESIndeterminate.OUT_OF_BOUNDS_NO_POE,
    AdESIndeterminate.OUT_OF_BOUNDS_NOT_REVOKED,
}
_REVOCATION_UNKNOWN = {
    AdESIndeterminate.TRY_LATER,
    AdESIndeterminate.REVOCATION_OUT_OF_BOUNDS_NO_POE,
}
# a signature may be followed only by other signatures (and the fields that hold them)
_ALLOWED_AFTER_SIGNING = {ModificationLevel.NONE, ModificationLevel.FORM_FILLING}


class SignatureRejected(Exception):  # noqa: N818 (the name is the public API)
    """A signed PDF was refused; ``code`` is stable, ``message_vi`` is for the user."""

    def __init__(self, code: str, message_vi: str | None = None) -> None:
        self.code = code
        self.message_vi = message_vi or MESSAGES_VI[code]
        super().__init__(f"{code}: {self.message_vi}")


@dataclass(frozen=True)
class SignatureInfo:
    """One validated signature."""

    field_name: str
    certificate: x509.Certificate
    subject: str
    serial: int
    username: str | None
    signing_time: datetime
    timestamped: bool
    level: str
    coverage: str


@dataclass(frozen=True)
class ValidationReport:
    """The outcome of an accepted document; the signer fields describe the last signature."""

    subject: str
    serial: int
    username: str | None
    certificate: x509.Certificate
    signing_time: datetime
    timestamped: bool
    level: str
    coverage: str
    first_revision_sha256: str | None
    signatures: list[SignatureInfo]


SignerCheck: TypeAlias = Callable[[SignatureInfo], bool] | x509.Certificate
#: CRLs (DER), or a function giving them for a signer's certificate, so that a caller who does not
#: know the signer yet (an uploaded slip) still validates once, with the right CRLs
CrlSource: TypeAlias = Sequence[bytes] | Callable[[x509.Certificate], Sequence[bytes]]


def validate_signed_pdf(
    data: bytes,
    *,
    trust_roots: Sequence[x509.Certificate],
    expected_first_revision_sha256: str | None = None,
    expected_signer: SignerCheck | None = None,
    crls: CrlSource = (),
    allow_later_signatures: bool = False,
) -> ValidationReport:
    """Validate every signature of ``data`` or raise :class:`SignatureRejected`.

    The last signature must cover the whole file. With ``allow_later_signatures`` earlier
    signatures may be followed by later signature revisions only (minutes signed by the
    secretary then the chair); otherwise exactly one signature is accepted (ballots).
    ``expected_signer`` (a predicate or the expected certificate) applies to the last
    signature. With ``crls`` every certificate in each chain must be covered by one of them
    (revocation "require" mode); without, revocation is not checked (no fetching, ever).
    ``crls`` may be a function of each signer's certificate returning the CRLs to use.
    """
    try:
        return _validate(
            data,
            trust_roots=trust_roots,
            expected_first_revision_sha256=expected_first_revision_sha256,
            expected_signer=expected_signer,
            crls=crls,
            allow_later_signatures=allow_later_signatures,
        )
    except SignatureRejected:
        raise
    except Exception:
        # whatever pyHanko, asn1crypto or cryptography trips over is a refusal, never a pass
        raise SignatureRejected("signature_invalid") from None


def _validate(
    data: bytes,
    *,
    trust_roots: Sequence[x509.Certificate],
    expected_first_revision_sha256: str | None,
    expected_signer: SignerCheck | None,
    crls: CrlSource,
    allow_later_signatures: bool,
) -> ValidationReport:
    reader, signatures = _read(data)
    if not signatures:
        raise SignatureRejected("not_signed")
    if len(signatures) > 1 and not allow_later_signatures:
        raise SignatureRejected("signature_not_whole_file")
    if callable(crls):
        crls = _crls_for_signers(signatures, crls)
    roots = [_asn1_root(root) for root in trust_roots]
    context = _context(roots, crls)
    signature_revisions = {sig.signed_revision for sig in signatures}
    signature_fields = {sig.field_name for sig in signatures}
    infos = []
    for index, embedded in enumerate(signatures):
        last = index == len(signatures) - 1
        status = _validate_one(embedded, context)
        _check_integrity(status, last=last, signature_fields=signature_fields)
        if not last and not all(
            rev in signature_revisions
            for rev in range(embedded.signed_revision + 1, reader.xrefs.total_revisions)
        ):
            raise SignatureRejected("modified_after_signing")
        try:
            _check_certificate(status)
        except SignatureRejected as rejected:
            # a missing CRL surfaces as a generic chain failure: tell it apart from distrust
            if rejected.code == "untrusted_certificate" and crls:
                if _validate_one(embedded, _context(roots, ())).trusted:
                    raise SignatureRejected("revocation_unknown") from None
            raise
        infos.append(_info(embedded, status))

    first_revision = _first_revision_sha256(reader, data, signatures[0])
    if expected_first_revision_sha256 is not None and (
        expected_first_revision_sha256.lower() not in first_revision
    ):
        raise SignatureRejected("first_revision_mismatch")
    last_info = infos[-1]
    if expected_signer is not None and not _signer_matches(expected_signer, last_info):
        raise SignatureRejected("wrong_signer")
    return ValidationReport(
        subject=last_info.subject,
        serial=last_info.serial,
        username=last_info.username,
        certificate=last_info.certificate,
        signing_time=last_info.signing_time,
        timestamped=last_info.timestamped,
        level=last_info.level,
        coverage=last_info.coverage,
        first_revision_sha256=first_revision[-1] if first_revision else None,
        signatures=infos,
    )


def _crls_for_signers(
    signatures: list[EmbeddedPdfSignature], source: Callable[[x509.Certificate], Sequence[bytes]]
) -> list[bytes]:
    found: dict[bytes, None] = {}
    for embedded in signatures:
        cert = x509.load_der_x509_certificate(embedded.signer_cert.dump())
        found.update(dict.fromkeys(source(cert)))
    return list(found)


@lru_cache(maxsize=64)
def _asn1_root(cert: x509.Certificate) -> asn1_x509.Certificate:
    # the same parsed object for every validation: asn1crypto keeps the prepared (RFC 4518) form
    # of its names, which pyhanko-certvalidator compares when building each path
    return to_asn1(cert)


@lru_cache(maxsize=64)
def _parsed_crl(der: bytes) -> asn1_crl.CertificateList:
    # keyed by the exact bytes, so a new CRL (a revocation) is always parsed and used afresh; the
    # ValidationContext is still new for every validation (its moment is "now", never reused)
    return asn1_crl.CertificateList.load(der)


def _context(roots: list[asn1_x509.Certificate], crls: Sequence[bytes]) -> ValidationContext:
    # with CRLs, every certificate of the chain must be covered, declared distribution point or not
    return ValidationContext(
        trust_roots=roots,
        crls=[_parsed_crl(bytes(der)) for der in crls],
        allow_fetching=False,
        revocation_mode="require" if crls else "soft-fail",
    )


def _read(data: bytes) -> tuple[PdfFileReader, list[EmbeddedPdfSignature]]:
    try:
        reader = PdfFileReader(BytesIO(data), strict=True)
        signatures = list(reader.embedded_signatures)
        types = {sig.sig_object_type for sig in signatures}
    except Exception:
        raise SignatureRejected("unparseable_pdf") from None
    if types - {"/Sig"}:
        # document timestamps (PAdES LTA) are not produced here yet: refuse what we do not check
        raise SignatureRejected("signature_invalid")
    return reader, sorted(signatures, key=lambda sig: sig.signed_revision)


def _validate_one(embedded: EmbeddedPdfSignature, context: ValidationContext) -> PdfSignatureStatus:
    usage = embedded.signer_cert.key_usage_value
    if usage is None or "non_repudiation" not in usage.native:
        raise SignatureRejected("missing_non_repudiation")
    with PYHANKO_LOCK:  # asyncio.run inside: see signer.PYHANKO_LOCK
        return validate_pdf_signature(
            embedded,
            signer_validation_context=context,
            key_usage_settings=KeyUsageConstraints(key_usage={"non_repudiation"}),
        )


def _check_integrity(status: PdfSignatureStatus, *, last: bool, signature_fields: set[str]) -> None:
    if not (status.intact and status.valid):
        raise SignatureRejected("signature_invalid")
    if last:
        if status.coverage != SignatureCoverageLevel.ENTIRE_FILE:
            raise SignatureRejected("signature_not_whole_file")
        return
    diff = status.diff_result
    if (
        status.coverage != SignatureCoverageLevel.ENTIRE_REVISION
        or not isinstance(diff, DiffResult)
        or diff.modification_level not in _ALLOWED_AFTER_SIGNING
        or not diff.changed_form_fields <= signature_fields
        or not status.docmdp_ok
    ):
        raise SignatureRejected("modified_after_signing")


def _check_certificate(status: PdfSignatureStatus) -> None:
    problem = status.trust_problem_indic
    if status.revoked or problem in _REVOKED:
        raise SignatureRejected("certificate_revoked")
    if problem in _OUT_OF_VALIDITY or (problem is not None and _outside_validity(status)):
        raise SignatureRejected("certificate_expired")
    if problem in _REVOCATION_UNKNOWN:
        raise SignatureRejected("revocation_unknown")
    if problem is not None or not status.trusted:
        raise SignatureRejected("untrusted_certificate")
    ts = status.timestamp_validity
    if ts is not None and not (ts.intact and ts.valid and ts.trusted):
        raise SignatureRejected("timestamp_invalid")
    if not status.bottom_line:
        raise SignatureRejected("signature_invalid")


def _outside_validity(status: PdfSignatureStatus) -> bool:
    # pyhanko-certvalidator reports a not-yet-valid signer only as a generic chain failure
    validity = status.signing_cert["tbs_certificate"]["validity"]
    moment = status.validation_time or datetime.now(UTC)
    return not validity["not_before"].native <= moment <= validity["not_after"].native


def _info(embedded: EmbeddedPdfSignature, status: PdfSignatureStatus) -> SignatureInfo:
    cert = x509.load_der_x509_certificate(status.signing_cert.dump())
    ts = status.timestamp_validity
    signing_time = ts.timestamp if ts is not None else status.signer_reported_dt
    if signing_time is None:
        raise SignatureRejected("signature_invalid")
    return SignatureInfo(
        field_name=embedded.field_name,
        certificate=cert,
        subject=cert.subject.rfc4514_string(),
        serial=cert.serial_number,
        username=certificate_username(cert),
        signing_time=signing_time,
        timestamped=ts is not None,
        level="B-T" if ts is not None else "B-B",
        coverage=status.coverage.name if status.coverage is not None else "UNCLEAR",
    )


def _first_revision_sha256(
    reader: PdfFileReader, data: bytes, first: EmbeddedPdfSignature
) -> list[str]:
    """Hashes of the bytes before the first signature's revision, without then with its EOL.

    Both are offered because a producer may or may not end the file with a newline after
    ``%%EOF``; the last entry is the one reported. Empty when the file has no unsigned
    revision (the first signature was written together with the document).
    """
    revision = first.signed_revision - 1
    if revision < 0:
        return []
    xref_end = reader.xrefs.get_xref_container_info(revision).end_location
    eof = data.find(b"%%EOF", xref_end)
    if eof < 0:
        return []
    end = eof + len(b"%%EOF")
    with_eol = end
    if data[end : end + 2] == b"\r\n":
        with_eol += 2
    elif data[end : end + 1] in (b"\n", b"\r"):
        with_eol += 1
    return [hashlib.sha256(data[:end]).hexdigest(), hashlib.sha256(data[:with_eol]).hexdigest()]


def first_revision_sha256(pdf_bytes: bytes) -> str:
    """The hash to store when the server generates an unsigned PDF, to pass back at validation."""
    return hashlib.sha256(pdf_bytes).hexdigest()


def _signer_matches(expected: SignerCheck, info: SignatureInfo) -> bool:
    if isinstance(expected, x509.Certificate):
        return expected == info.certificate
    try:
        return bool(expected(info))
    except Exception:
        return False
