"""Whose signature an uploaded slip carries: a certificate registered here to the member, never one
that merely names the member (any trusted CA can put any name or user id in a certificate)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from ballots.models import ResponseRevision
from ecabinet import keystore
from ecabinet.database import db
from ecabinet.signing import build_signer
from tests.ballots.test_upload import _sign, _signer_of, _unsigned, _upload
from tests.conftest import assert_error


def _revisions() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(ResponseRevision)) or 0


def test_a_certificate_naming_the_member_but_not_registered_to_her_is_refused(api: Any, cast: Any,
                                                                              make_ballot: Any) -> None:
    ballot = make_ballot()
    ca = keystore.builtin_ca()
    key, impostor = ca.issue_signing_certificate(common_name=cast.member_a.full_name, organisation="Bộ Tài chính",
                                                 username=cast.member_a.username)
    signed = _sign(_unsigned(api, cast.member_a, ballot), build_signer(key, impostor, ca.chain))
    assert_error(_upload(api, cast.member_a, ballot, signed), 422, "wrong_signer")
    assert _revisions() == 0


def test_a_superseded_certificate_of_the_member_still_signs_her_slip(api: Any, cast: Any, make_ballot: Any) -> None:
    ballot = make_ballot()
    earlier = _signer_of(cast.member_a)
    keystore.issue_credential(cast.member_a, "246810", actor=None)  # a new certificate replaces it for signing here
    signed = _sign(_unsigned(api, cast.member_a, ballot), earlier)
    assert _upload(api, cast.member_a, ballot, signed).status_code == 201
    assert _revisions() == 1
