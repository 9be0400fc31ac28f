"""Fail-closed validation of signed PDFs.

Anything this module cannot positively establish is a refusal: a parser or validator
exception, a signature that does not cover the whole file, a change after signing, an
untrusted, revoked or expired certificate. Nothing is fetched from the network.
"""

from __future__ import annotations

import asyncio
import binascii
import hashlib
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from io import BytesIO
from typing import TypeAlias

from asn1crypto import cms
from asn1crypto import core as asn1_core
from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.ades.report import AdESFailure, AdESIndeterminate
from pyhanko.sign.diff_analysis import (
    CatalogModificationRule,
    DiffResult,
    DocInfoRule,
    FormUpdatingRule,
    MetadataUpdateRule,
    ModificationLevel,
    ObjectStreamRule,
    SigFieldCreationRule,
    SigFieldModificationRule,
    StandardDiffPolicy,
    XrefStreamRule,
)
from pyhanko.sign.diff_analysis.constants import ACROFORM_EXEMPT_STRICT_COMPARISON
from pyhanko.sign.validation import (
    EmbeddedPdfSignature,
    PdfSignatureStatus,
    SignatureCoverageLevel,
    validate_pdf_signature,
)
from pyhanko.sign.validation.generic_cms import (
    CertvalidatorOperationResult,
    extract_self_reported_ts,
    validate_cert_usage,
    validate_sig_integrity,
)
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.path import ValidationPath

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
    "signed_revision_modified": (
        "Phần được ký có thay đổi ngoài chữ ký số (trang, nội dung hoặc dữ liệu đính kèm): "
        "tài liệu không được chấp nhận."
    ),
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
# what a signing tool writes with its signature: the field, widget and appearance, the form
# dictionary, the page's annotation list, document information and XMP metadata
_ALLOWED_WITH_SIGNATURE = {ModificationLevel.NONE, ModificationLevel.LTA_UPDATES, ModificationLevel.FORM_FILLING}
# pyHanko's default policy, for a first signature (the form gains /SigFlags) into a form whose only
# fields are signature fields
_SIGNING_DIFF_POLICY = StandardDiffPolicy(
    global_rules=[
        CatalogModificationRule(),
        DocInfoRule().as_qualified(ModificationLevel.LTA_UPDATES),
        XrefStreamRule().as_qualified(ModificationLevel.LTA_UPDATES),
        ObjectStreamRule().as_qualified(ModificationLevel.LTA_UPDATES),
        MetadataUpdateRule().as_qualified(ModificationLevel.LTA_UPDATES),
    ],
    form_rule=FormUpdatingRule(field_rules=[SigFieldCreationRule(), SigFieldModificationRule()],
                               ignored_acroform_keys=ACROFORM_EXEMPT_STRICT_COMPARISON | {"/SigFlags"}),
)
_STARTXREF = re.compile(rb"startxref\s+(\d+)\s+%%EOF\s*$")


class SignatureRejected(Exception):
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


@dataclass(frozen=True)
class SignatureWidget:
    """Where a file's one signature shows: its page (index) and rectangle; empty when invisible."""

    field_name: str
    page_index: int
    rect: tuple[float, float, float, float]

    def within(self, page_index: int, box: Sequence[float], tolerance: float = 1.0) -> bool:
        """Whether it shows nowhere but inside ``box`` (x1, y1, x2, y2) of that page."""
        x1, y1, x2, y2 = self.rect
        if x1 == x2 or y1 == y2:
            return True  # an invisible signature paints nothing
        bx1, by1, bx2, by2 = box
        return (self.page_index == page_index and bx1 - tolerance <= x1 and by1 - tolerance <= y1
                and x2 <= bx2 + tolerance and y2 <= by2 + tolerance)


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


#: how long a checked certificate path is reused for the server's own fresh signatures. A new CRL
#: (every revocation makes one) or a changed trust root is another key, so revocation and distrust
#: still apply to the very next signature; the bound covers what only time changes.
TRUST_REUSE = timedelta(seconds=60)
#: what stands in for the signature's hex /Contents when its dictionary is parsed
_HOLE = b"\x00ecabinet\xff"
_BYTE_RANGE = re.compile(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]")
_trusted_until: dict[bytes, datetime] = {}
_trusted_lock = threading.Lock()


def validate_own_signature(
    data: bytes,
    *,
    unsigned: bytes,
    trust_roots: Sequence[x509.Certificate],
    signer: x509.Certificate,
    crls: Sequence[bytes] = (),
) -> ValidationReport:
    """Validate the one signature this server has just appended to ``unsigned``, or raise.

    The same refusals as :func:`validate_signed_pdf` for that case (the signature dictionary of
    the only field, its range covering all of ``data`` but its /Contents, the CMS intact and valid
    over that range, ``unsigned`` byte-identical as the first revision, the signer ``signer``
    with non-repudiation, its path trusted and unrevoked under ``crls``), without re-reading the
    rest of a file whose every other byte the server wrote itself, and with the path check reused
    for :data:`TRUST_REUSE`. A timestamped signature takes the full validation.
    """
    try:
        return _validate_own(data, unsigned=unsigned, trust_roots=trust_roots, signer=signer, crls=crls)
    except SignatureRejected:
        raise
    except Exception:
        raise SignatureRejected("signature_invalid") from None


def _validate_own(
    data: bytes,
    *,
    unsigned: bytes,
    trust_roots: Sequence[x509.Certificate],
    signer: x509.Certificate,
    crls: Sequence[bytes],
) -> ValidationReport:
    if not data.startswith(unsigned) or not unsigned.rstrip().endswith(b"%%EOF"):
        raise SignatureRejected("first_revision_mismatch")
    try:
        reader = PdfFileReader(BytesIO(data), strict=True)
        revisions = reader.xrefs.total_revisions
        form = reader.root["/AcroForm"] if "/AcroForm" in reader.root else {}
        fields = [field.get_object() for field in form["/Fields"]] if "/Fields" in form else []
    except Exception:
        raise SignatureRejected("unparseable_pdf") from None
    signed = [field for field in fields if field.get("/FT") == "/Sig" and "/V" in field]
    if not signed:
        raise SignatureRejected("not_signed")
    if len(signed) > 1 or revisions != 2:
        raise SignatureRejected("signature_not_whole_file")
    ref = signed[0].raw_get("/V").reference
    offset = reader.xrefs[ref]
    if not isinstance(offset, int) or offset < len(unsigned):
        raise SignatureRejected("signature_invalid")
    sig_object, (start, end) = _signature_dictionary(data, ref, offset)
    if sig_object.get("/Type") != "/Sig" or sig_object.get("/SubFilter") != "/ETSI.CAdES.detached":
        raise SignatureRejected("signature_invalid")
    content_info = cms.ContentInfo.load(binascii.unhexlify(data[start + 1 : end - 1]))
    if content_info["content_type"].native != "signed_data":
        raise SignatureRejected("signature_invalid")
    signed_data = content_info["content"]
    signer_infos = signed_data["signer_infos"]
    if len(signer_infos) != 1:
        raise SignatureRejected("signature_invalid")
    signer_info = signer_infos[0]
    if signer_info["unsigned_attrs"] is not asn1_core.VOID:
        # a timestamp token: validated in full, with its own chain
        return validate_signed_pdf(data, trust_roots=trust_roots, crls=crls, expected_signer=signer,
                                   expected_first_revision_sha256=hashlib.sha256(unsigned).hexdigest())
    cert, others = _signer_and_others(signed_data, signer_info, signer.public_bytes(serialization.Encoding.DER))
    usage = cert.key_usage_value
    if usage is None or "non_repudiation" not in usage.native:
        raise SignatureRejected("missing_non_repudiation")
    encapsulated = signed_data["encap_content_info"]
    md_algorithm = signer_info["digest_algorithm"]["algorithm"].native
    if encapsulated["content"] is not asn1_core.VOID or md_algorithm not in ("sha256", "sha384", "sha512"):
        raise SignatureRejected("signature_invalid")
    digest = hashlib.new(md_algorithm, data[:start])
    digest.update(data[end:])
    intact, valid = validate_sig_integrity(signer_info, cert, encapsulated["content_type"].native,
                                           digest.digest())
    if not (intact and valid):
        raise SignatureRejected("signature_invalid")
    _check_path(cert, others, [_asn1_root(root) for root in trust_roots], crls)
    signing_time = extract_self_reported_ts(signer_info) or generic.parse_pdf_date(sig_object["/M"], strict=True)
    username = certificate_username(signer)
    _remember_signer(data, cert.dump())
    info = SignatureInfo(field_name=str(signed[0].get("/T", "")), certificate=signer,
                         subject=signer.subject.rfc4514_string(), serial=signer.serial_number,
                         username=username, signing_time=signing_time,
                         timestamped=False, level="B-B", coverage=SignatureCoverageLevel.ENTIRE_FILE.name)
    return ValidationReport(subject=info.subject, serial=info.serial, username=username, certificate=signer,
                            signing_time=signing_time, timestamped=False, level="B-B", coverage=info.coverage,
                            first_revision_sha256=hashlib.sha256(unsigned).hexdigest(), signatures=[info])


def only_signature_added(data: bytes, *, unsigned: bytes) -> SignatureWidget:
    """Check that ``data`` is ``unsigned`` with one revision appended that adds a signature and
    nothing else, or raise :class:`SignatureRejected`; returns where the new signature shows.

    ``unsigned`` is what was prepared for this signer: one revision (a ballot slip), or a file
    already signed by others (minutes the secretary signed, prepared for the chair).

    The appended revision is compared with ``unsigned`` by pyHanko's standard difference analysis:
    only the signature field, its widget and appearance, the form dictionary, the page's annotation
    list, document information and XMP metadata may appear. A page, a content stream, an
    annotation, an embedded file or the catalogue changed inside the signed revision (a shadow
    attack: what is shown is not what was prepared, yet the signature covers it) is
    ``signed_revision_modified``. The signature itself is validated by :func:`validate_signed_pdf`.
    """
    base = _STARTXREF.search(unsigned[-64:])
    if not data.startswith(unsigned) or base is None:
        raise SignatureRejected("first_revision_mismatch")
    try:
        reader = PdfFileReader(BytesIO(data), strict=True)
        revisions = reader.xrefs.total_revisions
        prepared_xref = reader.xrefs.get_xref_container_info(revisions - 2).declared_startxref if revisions > 1 \
            else None
        signatures = list(reader.embedded_signatures)
    except Exception:
        raise SignatureRejected("unparseable_pdf") from None
    added = [signature for signature in signatures if signature.signed_revision == revisions - 1]
    if not added:
        raise SignatureRejected("not_signed")
    if prepared_xref != int(base.group(1)) or len(added) != 1:
        # the revision before the last must be the prepared file's last, and the signature's the only one after
        raise SignatureRejected("signed_revision_modified")
    (signature,) = added
    try:
        diff = _SIGNING_DIFF_POLICY.review_file(reader, revisions - 2)
        widget = _widget(reader, signature)
    except Exception:
        raise SignatureRejected("signed_revision_modified") from None
    if (
        not isinstance(diff, DiffResult)
        or diff.modification_level not in _ALLOWED_WITH_SIGNATURE
        or not diff.changed_form_fields <= {signature.field_name}
    ):
        raise SignatureRejected("signed_revision_modified")
    try:
        prepared = _empty_signature_fields(reader, revisions - 2)
    except Exception:
        raise SignatureRejected("signed_revision_modified") from None
    if prepared and prepared.get(signature.field_name) != widget.rect:
        # the prepared document says where it is signed: there, and nowhere else
        raise SignatureRejected("signed_revision_modified")
    return widget


def _empty_signature_fields(reader: PdfFileReader, revision: int) -> dict[str, tuple[float, float, float, float]]:
    """The prepared revision's empty signature fields (name → rectangle), with their widget merged in."""
    root = reader.get_historical_resolver(revision).root
    form = root["/AcroForm"] if "/AcroForm" in root else generic.DictionaryObject()
    found = {}
    for field in (form["/Fields"] if "/Fields" in form else []):
        field = field.get_object()
        if field.get("/FT") == "/Sig" and "/Rect" in field:
            rect = [float(value) for value in field["/Rect"]]
            found[str(field["/T"])] = (min(rect[0], rect[2]), min(rect[1], rect[3]), max(rect[0], rect[2]),
                                       max(rect[1], rect[3]))
    return found


def prepared_revision(data: bytes) -> bytes:
    """The first revision of ``data`` (through its ``%%EOF`` and end of line): what was prepared
    for signing, to pass to :func:`only_signature_added` when the prepared file is not at hand."""
    try:
        reader = PdfFileReader(BytesIO(data), strict=True)
        xref_end = reader.xrefs.get_xref_container_info(0).end_location
    except Exception:
        raise SignatureRejected("unparseable_pdf") from None
    eof = data.find(b"%%EOF", xref_end)
    if eof < 0:
        raise SignatureRejected("unparseable_pdf")
    end = eof + len(b"%%EOF")
    if data[end : end + 2] == b"\r\n":
        end += 2
    elif data[end : end + 1] in (b"\n", b"\r"):
        end += 1
    return data[:end]


def _widget(reader: PdfFileReader, signature: EmbeddedPdfSignature) -> SignatureWidget:
    field = signature.sig_field
    kids = field.get("/Kids")
    if kids is not None and len(kids) != 1:
        raise ValueError("a signature shown in several places")
    target = kids.raw_get(0).reference if kids is not None else field.container_ref
    if not isinstance(target, generic.Reference):
        raise ValueError("a signature field that is not an indirect object")
    annotation = target.get_object()
    assert isinstance(annotation, generic.DictionaryObject)
    rect = [float(value) for value in annotation["/Rect"]]
    box = (min(rect[0], rect[2]), min(rect[1], rect[3]), max(rect[0], rect[2]), max(rect[1], rect[3]))
    on = []
    for index in range(int(reader.root["/Pages"]["/Count"])):
        annots = reader.find_page_for_modification(index)[0].get_object().get("/Annots", generic.ArrayObject())
        if any(annots.raw_get(i).reference == target for i in range(len(annots))):
            on.append(index)
    if len(on) != 1:
        raise ValueError("a signature widget on no page or on several")
    return SignatureWidget(field_name=signature.field_name, page_index=on[0], rect=box)


def _signer_and_others(
    signed_data: cms.SignedData, signer_info: cms.SignerInfo, expected: bytes
) -> tuple[asn1_x509.Certificate, list[asn1_x509.Certificate]]:
    """The embedded certificate that is ``expected`` (DER) and names the signer, and the others.

    Byte equality where pyHanko's own lookup compares names after LDAP string preparation (a third
    of this validation); the signing-certificate attribute is still checked by the integrity step.
    """
    certs = [choice.chosen for choice in signed_data["certificates"]]
    if not all(isinstance(cert, asn1_x509.Certificate) for cert in certs):
        raise SignatureRejected("signature_invalid")
    found = [cert for cert in certs if cert.dump() == expected]
    sid = signer_info["sid"]
    if not found or sid.name != "issuer_and_serial_number":
        raise SignatureRejected("wrong_signer")
    cert = found[0]
    named = sid.chosen
    if named["serial_number"].native != cert.serial_number or named["issuer"].dump() != cert.issuer.dump():
        raise SignatureRejected("wrong_signer")
    return cert, [other for other in certs if other.dump() != expected]


def _signature_dictionary(
    data: bytes, ref: generic.Reference, offset: int
) -> tuple[generic.DictionaryObject, tuple[int, int]]:
    """The signature dictionary at ``offset`` and the hole its /ByteRange leaves, or a refusal.

    The dictionary is parsed with the hole replaced by a marker: pyHanko's reader decodes a 16 KB
    hex string one byte at a time (a third of a full validation). Finding the marker as /Contents
    and the same range as /ByteRange proves both are this dictionary's own.
    """
    header = b"%d %d obj" % (ref.idnum, ref.generation)
    found = _BYTE_RANGE.search(data, offset)
    if not data.startswith(header, offset) or found is None:
        raise SignatureRejected("signature_invalid")
    zero, start, end, tail = (int(n) for n in found.groups())
    end_of_range = end + tail
    if (zero, end_of_range) != (0, len(data)) or not offset < start < end or data[start] != ord("<") or (
        data[end - 1] != ord(">")
    ):
        raise SignatureRejected("signature_not_whole_file")
    blanked = BytesIO(data[offset + len(header) : start].lstrip() + b"<" + _HOLE.hex().encode() + b">" + data[end:])
    sig_object = generic.read_object(blanked, container_ref=ref)
    if (
        not isinstance(sig_object, generic.DictionaryObject)
        or sig_object.get("/ByteRange") != [0, start, end, tail]
        or sig_object.get("/Contents") != _HOLE
    ):
        raise SignatureRejected("signature_not_whole_file")
    return sig_object, (start, end)


def _check_path(
    cert: asn1_x509.Certificate,
    others: list[asn1_x509.Certificate],
    roots: list[asn1_x509.Certificate],
    crls: Sequence[bytes],
) -> None:
    """Refuse unless ``cert`` has a trusted non-repudiation path, revocation required under ``crls``."""
    key = hashlib.sha256(b"".join(
        hashlib.sha256(part).digest()
        for part in [cert.dump(), b"|", *(c.dump() for c in others), b"|", *(r.dump() for r in roots), b"|",
                     *(bytes(der) for der in crls)]
    )).digest()
    now = datetime.now(UTC)
    with _trusted_lock:
        until = _trusted_until.get(key)
    if until is not None and now < until:
        return
    result = _path_result(cert, others, roots, crls)
    try:
        _check_trust_problem(result.error_subindic, revoked=result.revo_details is not None, cert=cert,
                             moment=now)
        if result.success_result is None:
            raise SignatureRejected("untrusted_certificate")
    except SignatureRejected as rejected:
        # a missing CRL surfaces as a generic chain failure: tell it apart from distrust
        if rejected.code == "untrusted_certificate" and crls:
            if _path_result(cert, others, roots, ()).success_result is not None:
                raise SignatureRejected("revocation_unknown") from None
        raise
    until = min([now + TRUST_REUSE, cert["tbs_certificate"]["validity"]["not_after"].native,
                 *(_parsed_crl(bytes(der))["tbs_cert_list"]["next_update"].native for der in crls)])
    with _trusted_lock:
        if len(_trusted_until) > 1024:  # superseded CRLs and roots: drop them all
            _trusted_until.clear()
        _trusted_until[key] = until


def _path_result(
    cert: asn1_x509.Certificate,
    others: list[asn1_x509.Certificate],
    roots: list[asn1_x509.Certificate],
    crls: Sequence[bytes],
) -> CertvalidatorOperationResult[ValidationPath]:
    context = _context(roots, crls)
    context.certificate_registry.register_multiple(others)
    check = validate_cert_usage(cert, context, KeyUsageConstraints(key_usage={"non_repudiation"}),
                                paths=context.path_builder.async_build_paths_lazy(cert))
    with PYHANKO_LOCK:  # asyncio.run: see signer.PYHANKO_LOCK
        return asyncio.run(check)


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
    _check_trust_problem(status.trust_problem_indic, revoked=status.revoked,
                         cert=status.signing_cert, moment=status.validation_time)
    if not status.trusted:
        raise SignatureRejected("untrusted_certificate")
    ts = status.timestamp_validity
    if ts is not None and not (ts.intact and ts.valid and ts.trusted):
        raise SignatureRejected("timestamp_invalid")
    if not status.bottom_line:
        raise SignatureRejected("signature_invalid")


def _check_trust_problem(
    problem: object, *, revoked: bool, cert: asn1_x509.Certificate, moment: datetime | None
) -> None:
    if revoked or problem in _REVOKED:
        raise SignatureRejected("certificate_revoked")
    if problem in _OUT_OF_VALIDITY or (problem is not None and _outside_validity(cert, moment)):
        raise SignatureRejected("certificate_expired")
    if problem in _REVOCATION_UNKNOWN:
        raise SignatureRejected("revocation_unknown")
    if problem is not None:
        raise SignatureRejected("untrusted_certificate")


def _outside_validity(cert: asn1_x509.Certificate, moment: datetime | None) -> bool:
    # pyhanko-certvalidator reports a not-yet-valid signer only as a generic chain failure
    validity = cert["tbs_certificate"]["validity"]
    moment = moment or datetime.now(UTC)
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


#: SHA-256 of a file this process validated with ``validate_own_signature`` -> its signer
#: certificate's SHA-256: a ballot's report names each slip's certificate without reading the slip
#: again (content-addressed, so never stale; 3 ms a slip otherwise)
_signer_of: dict[bytes, str] = {}
_signer_of_lock = threading.Lock()


def _remember_signer(data: bytes, cert_der: bytes) -> None:
    key, value = hashlib.sha256(data).digest(), hashlib.sha256(cert_der).hexdigest()
    with _signer_of_lock:
        if len(_signer_of) >= 8192:  # ballots long closed: drop them all
            _signer_of.clear()
        _signer_of[key] = value


def signer_certificate_sha256(pdf_bytes: bytes) -> str:
    """SHA-256 of the DER of the last signature's signer certificate (of a PDF validated before)."""
    with _signer_of_lock:
        known = _signer_of.get(hashlib.sha256(pdf_bytes).digest())
    if known is not None:
        return known
    cert = _last_signer_certificate(pdf_bytes)
    if cert is None:
        _, signatures = _read(pdf_bytes)
        if not signatures:
            raise SignatureRejected("not_signed")
        cert = signatures[-1].signer_cert
    return hashlib.sha256(cert.dump()).hexdigest()


def _last_signer_certificate(data: bytes) -> asn1_x509.Certificate | None:
    """The signer certificate of the signature covering the whole file, read as ``_validate_own``
    reads one, or None for pyHanko's reader to decide (a field in kids or in an object stream, a
    signer not named byte for byte by exactly one embedded certificate, anything unexpected).

    pyHanko's reader decodes every signature's hex /Contents one byte at a time: 14 ms of a slip,
    paid for each of a ballot's slips when its report is made.
    """
    try:
        reader = PdfFileReader(BytesIO(data), strict=True)
        form = reader.root["/AcroForm"] if "/AcroForm" in reader.root else {}
        fields = [field.get_object() for field in form["/Fields"]] if "/Fields" in form else []
        for field in fields:
            if field.get("/FT") != "/Sig" or "/V" not in field:
                continue
            ref = field.raw_get("/V").reference
            offset = reader.xrefs[ref]
            if not isinstance(offset, int):
                return None
            try:
                sig_object, (start, end) = _signature_dictionary(data, ref, offset)
            except SignatureRejected:
                continue  # an earlier signature: its range ends before the file does
            if sig_object.get("/Type") != "/Sig":
                return None
            signed_data = cms.ContentInfo.load(binascii.unhexlify(data[start + 1 : end - 1]))["content"]
            (signer_info,) = signed_data["signer_infos"]
            sid = signer_info["sid"]
            if sid.name != "issuer_and_serial_number":
                return None
            serial, issuer = sid.chosen["serial_number"].native, sid.chosen["issuer"].dump()
            certs = [choice.chosen for choice in signed_data["certificates"]]
            same_serial = [cert for cert in certs
                           if isinstance(cert, asn1_x509.Certificate) and cert.serial_number == serial]
            if len(same_serial) != 1 or same_serial[0].issuer.dump() != issuer:
                return None
            return same_serial[0]
    except Exception:
        return None  # pyHanko's reader gives the answer or the refusal
    return None


def certificate_sha256(cert: x509.Certificate) -> str:
    """SHA-256 of a certificate's DER: how a report names the certificate that signed a slip."""
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


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
