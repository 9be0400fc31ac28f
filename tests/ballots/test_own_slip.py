"""The server's own signed slip: one revision with the answers inside, and validation that still refuses
a corrupted signature, a key that is not the certificate's, and another member's certificate."""

from __future__ import annotations

import binascii
import hashlib
import io
import json
import re
from typing import Any

import pytest
from asn1crypto import cms
from cryptography.hazmat.primitives.asymmetric import ec
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import signers
from pyhanko_certvalidator.registry import SimpleCertificateStore
from pyhanko_certvalidator.util import get_pyca_cryptography_hash
from pypdf import PdfReader, PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject
from sqlalchemy import func, select

from ballots import pdf, service
from ballots.errors import SigningFailed
from ballots.models import ResponseRevision
from ecabinet import keystore
from ecabinet.database import db, utcnow
from ecabinet.signing import build_signer, load_private_key, sign_pdf, validate_signed_pdf
from ecabinet.signing.signer import to_asn1

from .conftest import PIN, answers_for


def _revisions() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(ResponseRevision)) or 0


def _submit(ballot: Any, user: Any) -> ResponseRevision:
    revision, created = service.submit_response(ballot, answers=answers_for(ballot), pin=PIN, idempotency_key=None,
                                                actor=user)
    assert created
    return revision


def test_the_signed_slip_has_one_revision_and_carries_the_answers(cast: Any, make_ballot: Any) -> None:
    ballot = make_ballot()
    revision = _submit(ballot, cast.member_a)
    reader = PdfFileReader(io.BytesIO(revision.slip_pdf), strict=True)
    # the rendered slip (answers included) is one revision; the signature is the second and last
    assert reader.xrefs.total_revisions == 2
    assert len(reader.embedded_signatures) == 1
    payload = pdf.read_slip_answers(revision.slip_pdf)
    assert payload is not None
    assert payload["member"]["username"] == cast.member_a.username
    assert [a["choice"] for a in payload["answers"]] == ["agree"] * len(ballot.questions)


def _corrupt_signature(signed: bytes) -> bytes:
    """One hex digit of the SignerInfo's signature value changed (the CMS still parses)."""
    match = re.search(rb"/Contents <([0-9a-fA-F]+)>", signed)
    assert match is not None
    der = binascii.unhexlify(match.group(1))
    value = cms.ContentInfo.load(der)["content"]["signer_infos"][0]["signature"].native
    at = match.start(1) + 2 * der.index(value) + 20
    digit = b"1" if signed[at:at + 1] != b"1" else b"2"
    return signed[:at] + digit + signed[at + 1:]


class _WrongKeySigner(signers.Signer):
    """The member's certificate with a key that is not its key (what a mixed-up key store would give)."""

    def __init__(self, credential: Any) -> None:
        registry = SimpleCertificateStore()
        registry.register_multiple([to_asn1(c) for c in credential.chain])
        super().__init__(signing_cert=to_asn1(credential.certificate), cert_registry=registry)
        self._key = ec.generate_private_key(ec.SECP256R1())

    async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run: bool = False) -> bytes:
        return self._key.sign(data, ec.ECDSA(get_pyca_cryptography_hash(digest_algorithm)))


@pytest.mark.parametrize("fault", ["corrupted_signature", "wrong_key", "wrong_certificate"])
def test_a_faulty_own_signature_is_never_stored(monkeypatch: pytest.MonkeyPatch, cast: Any, make_ballot: Any,
                                                fault: str) -> None:
    ballot = make_ballot()
    real_sign = service.sign_pdf

    def faulty(pdf_bytes: bytes, signer: Any, **kw: Any) -> bytes:
        if fault == "wrong_key":
            signer = _WrongKeySigner(keystore.active_credential(cast.member_a))
        elif fault == "wrong_certificate":
            other = keystore.active_credential(cast.member_b)
            signer = build_signer(load_private_key(other.key_pem, PIN), other.certificate, other.chain)
        signed = real_sign(pdf_bytes, signer, **kw)
        return _corrupt_signature(signed) if fault == "corrupted_signature" else signed

    monkeypatch.setattr(service, "sign_pdf", faulty)
    before = _revisions()
    with pytest.raises(SigningFailed):
        _submit(ballot, cast.member_a)
    assert _revisions() == before


def _old_format(slip: bytes) -> bytes:
    """A slip as made before the answers were written by ReportLab: pypdf rewrote the file to add them."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(slip)))
    entries = DictionaryObject()
    stream = DecodedStreamObject()
    stream.set_data(json.dumps({"old": True}).encode())
    stream[NameObject("/Type")] = NameObject("/ECabinetAttachment")
    entries[NameObject(f"/{pdf.ANSWERS_FILE}")] = writer._add_object(stream.flate_encode())
    writer.root_object[NameObject("/ECabinetData")] = entries
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_a_slip_in_the_old_format_still_verifies_and_reads(cast: Any, make_ballot: Any) -> None:
    ballot = make_ballot()
    built = pdf.render_slip(ballot, cast.member_a, answers_for(ballot), utcnow())
    old = _old_format(built.pdf)
    credential = keystore.active_credential(cast.member_a)
    signer = build_signer(load_private_key(credential.key_pem, PIN), credential.certificate, credential.chain)
    placement = built.signature_boxes["member"]
    signed = sign_pdf(old, signer, field_name="ThanhVien", box=placement.rect, page=placement.page_index)
    report = validate_signed_pdf(signed, trust_roots=keystore.trust_roots(),
                                 expected_first_revision_sha256=hashlib.sha256(old).hexdigest(),
                                 expected_signer=credential.certificate, crls=keystore.crls_for(credential.certificate))
    assert report.username == cast.member_a.username
    assert pdf.read_slip_answers(signed) == {"old": True}
