"""Slips signed with the member's own tool: accepted only when ours, whole, and the member's."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from io import BytesIO
from typing import Any
from urllib.parse import quote

import pytest
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from sqlalchemy import func, select

from ballots.models import ResponseRevision
from ballots.pdf import SIGNATURE_FIELD
from ecabinet import keystore
from ecabinet.database import db, utcnow
from ecabinet.signing import build_signer, load_private_key
from ecabinet.signing.signer import PYHANKO_LOCK
from tests.conftest import assert_error
from tests.signing.helpers import flip_byte, signed_ranges
from tests.signing.test_validate import _add_annotation, _add_page_with_pypdf

from .conftest import PIN, answers_for


def _unsigned(api: Any, user: Any, ballot: Any, *choices: str) -> bytes:
    query = quote(json.dumps(answers_for(ballot, *choices)))
    response = api(user).get(f"/ballots/{ballot.id}/slip.pdf?answers={query}")
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return response.get_data()


def _signer_of(user: Any) -> Any:
    credential = keystore.active_credential(user)
    return build_signer(load_private_key(credential.key_pem, PIN), credential.certificate, credential.chain)


def _sign(pdf: bytes, signer: Any) -> bytes:
    """What the member's own tool does: sign into the slip's empty signature field."""
    meta = signers.PdfSignatureMetadata(field_name=SIGNATURE_FIELD, md_algorithm="sha256",
                                        subfilter=fields.SigSeedSubFilter.PADES)
    with PYHANKO_LOCK:
        return signers.sign_pdf(IncrementalPdfFileWriter(BytesIO(pdf), strict=True), meta, signer).getvalue()


def _upload(api: Any, user: Any, ballot: Any, data: bytes, key: str | None = None) -> Any:
    headers = {"Idempotency-Key": key} if key else None
    return api(user).post(f"/ballots/{ballot.id}/responses/upload", data={"file": (BytesIO(data), "slip.pdf")},
                          content_type="multipart/form-data", headers=headers)


def _count() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(ResponseRevision)) or 0


def test_a_slip_signed_elsewhere_is_accepted(api: Any, cast: Any, make_ballot: Any, pdfsig: Any) -> None:
    ballot = make_ballot()
    signed = _sign(_unsigned(api, cast.member_a, ballot, "disagree", "agree"), _signer_of(cast.member_a))
    response = _upload(api, cast.member_a, ballot, signed, key="up-1")
    assert response.status_code == 201, response.get_json()
    receipt = response.get_json()
    assert receipt["sha256"] == hashlib.sha256(signed).hexdigest()
    assert _upload(api, cast.member_a, ballot, signed, key="up-1").get_json() == receipt
    stored = db.session.scalar(select(ResponseRevision))
    assert (stored.method, [a["choice"] for a in stored.answers]) == ("upload", ["disagree", "agree"])
    assert pdfsig(signed) == ["Signature is Valid."]


@pytest.mark.parametrize("where", ["start", "middle", "end"])
def test_a_flipped_byte_is_refused(api: Any, cast: Any, make_ballot: Any, where: str) -> None:
    ballot = make_ballot()
    signed = _sign(_unsigned(api, cast.member_a, ballot), _signer_of(cast.member_a))
    first, second = signed_ranges(signed)
    offset = {"start": 200, "middle": (first.stop + second.start) // 2 - 40, "end": second.stop - 30}[where]
    response = _upload(api, cast.member_a, ballot, flip_byte(signed, offset))
    assert response.status_code in (415, 422), response.get_json()
    assert _count() == 0


def test_another_members_key_is_refused(api: Any, cast: Any, make_ballot: Any) -> None:
    ballot = make_ballot()
    signed = _sign(_unsigned(api, cast.member_a, ballot), _signer_of(cast.member_b))
    assert_error(_upload(api, cast.member_a, ballot, signed), 422, "wrong_signer")
    assert _count() == 0


def test_a_slip_not_made_by_the_server_is_refused(api: Any, cast: Any, make_ballot: Any) -> None:
    ballot = make_ballot()
    other = make_ballot(title="Một phiếu khác")
    signed = _sign(_unsigned(api, cast.member_a, other), _signer_of(cast.member_a))
    assert_error(_upload(api, cast.member_a, ballot, signed), 422, "slip_not_ours")
    assert _count() == 0


def test_an_expired_certificate_is_refused(api: Any, cast: Any, make_ballot: Any) -> None:
    ballot = make_ballot()
    ca = keystore.builtin_ca()
    start = utcnow() - timedelta(days=30)
    key, cert = ca.issue_signing_certificate(common_name="Trần Đức Long", organisation="Bộ Tài chính",
                                             username="member_a", not_before=start,
                                             not_after=start + timedelta(days=1))
    signed = _sign(_unsigned(api, cast.member_a, ballot), build_signer(key, cert, ca.chain))
    assert_error(_upload(api, cast.member_a, ballot, signed), 422, "certificate_expired")
    assert _count() == 0


def test_a_revoked_certificate_is_refused(api: Any, cast: Any, make_ballot: Any) -> None:
    ballot = make_ballot()
    signer = _signer_of(cast.member_a)
    signed = _sign(_unsigned(api, cast.member_a, ballot), signer)
    keystore.revoke_credential(keystore.active_credential(cast.member_a), actor=cast.admin)
    assert_error(_upload(api, cast.member_a, ballot, signed), 422, "certificate_revoked")
    assert _count() == 0
    assert_error(api(cast.member_a).post(f"/ballots/{ballot.id}/responses",
                                         {"answers": answers_for(ballot), "pin": PIN}), 409, "no_signing_credential")


@pytest.mark.parametrize("tamper", [_add_page_with_pypdf, _add_annotation], ids=["added-page", "added-annotation"])
def test_changes_after_signing_are_refused(api: Any, cast: Any, make_ballot: Any, tamper: Any) -> None:
    ballot = make_ballot()
    signed = _sign(_unsigned(api, cast.member_a, ballot), _signer_of(cast.member_a))
    response = _upload(api, cast.member_a, ballot, tamper(signed))
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"]["code"] in {"signature_not_whole_file", "modified_after_signing"}
    assert _count() == 0


@pytest.mark.parametrize("data", [b"%PDF-1.7\nnot really", b"hello", b""], ids=["broken", "text", "empty"])
def test_unparseable_files_are_refused(api: Any, cast: Any, make_ballot: Any, data: bytes) -> None:
    ballot = make_ballot()
    response = _upload(api, cast.member_a, ballot, data)
    assert response.status_code in (415, 422), response.get_data(as_text=True)
    assert _count() == 0


def test_unsigned_slip_needs_valid_answers_and_a_recipient(api: Any, cast: Any, make_ballot: Any) -> None:
    ballot = make_ballot()
    assert_error(api(cast.member_a).get(f"/ballots/{ballot.id}/slip.pdf?answers=nope"), 422, "invalid_answers")
    query = quote(json.dumps(answers_for(ballot)))
    assert_error(api(cast.outsider).get(f"/ballots/{ballot.id}/slip.pdf?answers={query}"), 404, "not_found")


def test_a_certificate_naming_the_member_but_not_registered_to_her_is_refused(api: Any, cast: Any,
                                                                              make_ballot: Any) -> None:
    # any trusted CA can put any name or user id in a certificate: only one registered here counts
    ballot = make_ballot()
    ca = keystore.builtin_ca()
    key, impostor = ca.issue_signing_certificate(common_name=cast.member_a.full_name, organisation="Bộ Tài chính",
                                                 username=cast.member_a.username)
    signed = _sign(_unsigned(api, cast.member_a, ballot), build_signer(key, impostor, ca.chain))
    assert_error(_upload(api, cast.member_a, ballot, signed), 422, "wrong_signer")
    assert _count() == 0


def test_a_superseded_certificate_of_the_member_still_signs_her_slip(api: Any, cast: Any, make_ballot: Any) -> None:
    ballot = make_ballot()
    earlier = _signer_of(cast.member_a)
    keystore.issue_credential(cast.member_a, "246810", actor=None)  # a new certificate replaces it for signing here
    signed = _sign(_unsigned(api, cast.member_a, ballot), earlier)
    assert _upload(api, cast.member_a, ballot, signed).status_code == 201
    assert _count() == 1
