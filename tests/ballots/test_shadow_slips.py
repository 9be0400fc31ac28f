"""What is counted is what was signed: slips signed with the member's own tool whose signed revision
changes more than the signature (the PDF shadow attacks: hide, replace, hide-and-replace), that carry a
revision after the signature, or that were signed for an answer since superseded, are all refused, and
nothing is stored; the slip fetched for signing is stored once for the same answers."""

from __future__ import annotations

import json
from collections.abc import Callable
from io import BytesIO
from typing import Any
from urllib.parse import quote

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from sqlalchemy import func, select

from ballots import pdf, service
from ballots.models import ResponseRevision, SlipDraft
from ecabinet.audit import AuditRecord
from ecabinet.database import db
from ecabinet.signing import MESSAGES_VI, SignatureRejected, only_signature_added, prepared_revision, sign_pdf
from ecabinet.signing.signer import PYHANKO_LOCK
from tests.conftest import assert_error

from .conftest import PIN, answers_for
from .test_upload import _sign, _signer_of, _unsigned, _upload

Change = Callable[[IncrementalPdfFileWriter], None]


def _sign_with(draft: bytes, signer: Any, change: Change) -> bytes:
    """The member's tool signs the slip's field and writes ``change`` in the same (signed) revision."""
    writer = IncrementalPdfFileWriter(BytesIO(draft), strict=True)
    change(writer)
    meta = signers.PdfSignatureMetadata(field_name=pdf.SIGNATURE_FIELD, md_algorithm="sha256",
                                        subfilter=fields.SigSeedSubFilter.PADES)
    with PYHANKO_LOCK:
        return signers.sign_pdf(writer, meta, signer).getvalue()


def _page(writer: IncrementalPdfFileWriter) -> generic.DictionaryObject:
    return writer.find_page_for_modification(0)[0].get_object()


def _overwrite(writer: IncrementalPdfFileWriter, ref: generic.IndirectObject, data: bytes) -> None:
    """The object keeps its number and gets new content (the stealthiest rewrite)."""
    writer.objects[(ref.generation, ref.idnum)] = generic.StreamObject(stream_data=data)


def _content_of(slip: bytes) -> bytes:
    reader = PdfFileReader(BytesIO(slip), strict=True)
    return reader.find_page_for_modification(0)[0].get_object()["/Contents"].data  # type: ignore[no-any-return]


# white box over the answer lines, and other words written on it
_COVER = b"q 1 1 1 rg 60 420 480 200 re f Q BT /F2 13 Tf 80 560 Td <0001000200030004> Tj ET"


def _replace_content(disagree: bytes) -> Change:
    def change(writer: IncrementalPdfFileWriter) -> None:
        _overwrite(writer, _page(writer).raw_get("/Contents"), _content_of(disagree))
    return change


def _replace_page(disagree: bytes) -> Change:
    def change(writer: IncrementalPdfFileWriter) -> None:
        page = _page(writer)
        new = generic.DictionaryObject({key: page.raw_get(key) for key in page})
        new["/Contents"] = writer.add_object(generic.StreamObject(stream_data=_content_of(disagree)))
        pages = writer.root["/Pages"]
        pages["/Kids"] = generic.ArrayObject([writer.add_object(new)])
        writer.update_container(pages)
    return change


def _overlay_shown(_: bytes) -> Change:
    def change(writer: IncrementalPdfFileWriter) -> None:
        page = _page(writer)
        cover = writer.add_object(generic.StreamObject(stream_data=_COVER))
        page["/Contents"] = generic.ArrayObject([page.raw_get("/Contents"), cover])
        writer.update_container(page)
    return change


def _optional_content(visible: bool) -> Change:
    """The cover drawn as optional content: hidden in what is signed, shown by a viewer setting."""
    def change(writer: IncrementalPdfFileWriter) -> None:
        group = writer.add_object(generic.DictionaryObject({generic.NameObject("/Type"): generic.NameObject("/OCG"),
                                                            generic.NameObject("/Name"): generic.TextStringObject("x")}))
        state = "/ON" if visible else "/OFF"
        writer.root["/OCProperties"] = generic.DictionaryObject({
            generic.NameObject("/OCGs"): generic.ArrayObject([group]),
            generic.NameObject("/D"): generic.DictionaryObject({generic.NameObject(state): generic.ArrayObject([group])})})
        writer.update_root()
        page = _page(writer)
        page["/Resources"]["/Properties"] = generic.DictionaryObject({generic.NameObject("/OC1"): group})
        cover = writer.add_object(generic.StreamObject(stream_data=b"/OC /OC1 BDC " + _COVER + b" EMC"))
        page["/Contents"] = generic.ArrayObject([page.raw_get("/Contents"), cover])
        writer.update_container(page)
    return change


def _annotation_cover(_: bytes) -> Change:
    def change(writer: IncrementalPdfFileWriter) -> None:
        appearance = generic.StreamObject({generic.NameObject("/Type"): generic.NameObject("/XObject"),
                                           generic.NameObject("/Subtype"): generic.NameObject("/Form"),
                                           generic.NameObject("/BBox"): generic.ArrayObject(
                                               [generic.NumberObject(n) for n in (0, 0, 480, 200)])},
                                          stream_data=b"1 1 1 rg 0 0 480 200 re f")
        annotation = generic.DictionaryObject({
            generic.NameObject("/Type"): generic.NameObject("/Annot"),
            generic.NameObject("/Subtype"): generic.NameObject("/Square"),
            generic.NameObject("/Rect"): generic.ArrayObject([generic.NumberObject(n) for n in (60, 420, 540, 620)]),
            generic.NameObject("/AP"): generic.DictionaryObject({generic.NameObject("/N"): writer.add_object(appearance)})})
        writer.register_annotation(writer.find_page_for_modification(0)[0], writer.add_object(annotation))
    return change


def _answers_replaced(disagree: bytes) -> Change:
    def change(writer: IncrementalPdfFileWriter) -> None:
        ref = writer.root["/ECabinetData"].raw_get(f"/{pdf.ANSWERS_FILE}")
        _overwrite(writer, ref, json.dumps(pdf.read_slip_answers(disagree), ensure_ascii=False).encode())
    return change


def _answers_repointed(disagree: bytes) -> Change:
    def change(writer: IncrementalPdfFileWriter) -> None:
        entries = writer.root["/ECabinetData"]
        entries[generic.NameObject(f"/{pdf.ANSWERS_FILE}")] = writer.add_object(generic.StreamObject(
            stream_data=json.dumps(pdf.read_slip_answers(disagree), ensure_ascii=False).encode()))
        writer.update_root()
    return change


ATTACKS = {
    "replace: page content rewritten": _replace_content,
    "replace: page object replaced": _replace_page,
    "hide-and-replace: cover drawn over the answers": _overlay_shown,
    "hide-and-replace: cover as optional content shown": lambda _: _optional_content(True),
    "hide: cover as optional content hidden": lambda _: _optional_content(False),
    "hide: annotation covering the answers": _annotation_cover,
    "embedded answers rewritten in place": _answers_replaced,
    "embedded answers pointed elsewhere": _answers_repointed,
}


def _state() -> tuple[Any, ...]:
    db.session.rollback()
    revisions = db.session.scalar(select(func.count()).select_from(ResponseRevision))
    answers = db.session.execute(select(ResponseRevision.user_id, ResponseRevision.version, ResponseRevision.answers)
                                 .order_by(ResponseRevision.id)).all()
    audit = db.session.scalar(select(func.count()).select_from(AuditRecord))
    drafts = db.session.scalar(select(func.count()).select_from(SlipDraft))
    return revisions, [tuple(row) for row in answers], audit, drafts


def _refused(response: Any, status: int, code: str) -> None:
    error = assert_error(response, status, code)
    if code in MESSAGES_VI:
        assert error["message"] == MESSAGES_VI[code]


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_a_shadow_attacked_slip_is_refused(api: Any, cast: Any, make_ballot: Any, attack: str) -> None:
    ballot = make_ballot()
    agree = _unsigned(api, cast.member_a, ballot, "agree", "agree")
    disagree = _unsigned(api, cast.member_a, ballot, "disagree", "disagree")
    signed = _sign_with(agree, _signer_of(cast.member_a), ATTACKS[attack](disagree))
    before = _state()
    _refused(_upload(api, cast.member_a, ballot, signed), 422, "signed_revision_modified")
    assert _state() == before
    # the same check from the file alone (what a bag's verifier has)
    with pytest.raises(SignatureRejected, match="signed_revision_modified"):
        only_signature_added(signed, unsigned=prepared_revision(signed))


def test_a_signature_shown_over_the_slip_is_refused(api: Any, cast: Any, make_ballot: Any) -> None:
    # a new signature field whose appearance covers the whole page (hide-and-replace by the signature)
    ballot = make_ballot()
    draft = _unsigned(api, cast.member_a, ballot)
    signed = sign_pdf(draft, _signer_of(cast.member_a), field_name="Token", box=(0, 0, 595, 842), page=0)
    before = _state()
    _refused(_upload(api, cast.member_a, ballot, signed), 422, "signed_revision_modified")
    assert _state() == before
    with pytest.raises(SignatureRejected, match="signed_revision_modified"):
        only_signature_added(signed, unsigned=prepared_revision(signed))


def test_a_revision_after_the_signature_is_refused(api: Any, cast: Any, make_ballot: Any) -> None:
    ballot = make_ballot()
    disagree = _unsigned(api, cast.member_a, ballot, "disagree", "disagree")
    signed = _sign(_unsigned(api, cast.member_a, ballot), _signer_of(cast.member_a))
    writer = IncrementalPdfFileWriter(BytesIO(signed), strict=True)
    _answers_replaced(disagree)(writer)
    out = BytesIO()
    writer.write(out)
    before = _state()
    _refused(_upload(api, cast.member_a, ballot, out.getvalue()), 422, "signature_not_whole_file")
    assert _state() == before


def test_the_genuine_slip_signed_with_the_members_tool_counts(api: Any, cast: Any, make_ballot: Any,
                                                              pdfsig: Any) -> None:
    ballot = make_ballot()
    signed = _sign(_unsigned(api, cast.member_a, ballot, "disagree", "other"), _signer_of(cast.member_a))
    assert _upload(api, cast.member_a, ballot, signed).status_code == 201
    assert pdfsig(signed) == ["Signature is Valid."]
    assert only_signature_added(signed, unsigned=prepared_revision(signed)).field_name == pdf.SIGNATURE_FIELD
    assert [a["choice"] for a in db.session.scalar(select(ResponseRevision.answers))] == ["disagree", "other"]
    assert [(row["agree"], row["disagree"], row["other"]) for row in service.compute_tally(ballot)] == [
        (0, 1, 0), (0, 0, 1)]
    assert [a["choice"] for a in pdf.read_slip_answers(signed)["answers"]] == ["disagree", "other"]  # type: ignore[index]


def test_an_older_signed_slip_cannot_be_replayed(api: Any, cast: Any, make_ballot: Any) -> None:
    ballot = make_ballot()
    signer = _signer_of(cast.member_a)
    first = _sign(_unsigned(api, cast.member_a, ballot, "agree", "agree"), signer)
    assert _upload(api, cast.member_a, ballot, first).status_code == 201
    second = _sign(_unsigned(api, cast.member_a, ballot, "disagree", "disagree"), signer)
    assert _upload(api, cast.member_a, ballot, second).status_code == 201
    before = _state()
    _refused(_upload(api, cast.member_a, ballot, first), 409, "slip_superseded")
    assert _state() == before
    # and after an answer signed here with the PIN, the slip signed for the previous answer is stale too
    body = {"answers": answers_for(ballot, "other", "other"), "pin": PIN}
    assert api(cast.member_a).post(f"/ballots/{ballot.id}/responses", body).status_code == 201
    before = _state()
    _refused(_upload(api, cast.member_a, ballot, second), 409, "slip_superseded")
    assert _state() == before
    current = service.current_revisions(ballot)
    assert [(r.version, [a["choice"] for a in r.answers]) for r in current] == [(3, ["other", "other"])]


def test_a_slip_signed_before_an_answer_given_here_is_refused(api: Any, cast: Any, make_ballot: Any) -> None:
    ballot = make_ballot()
    signed = _sign(_unsigned(api, cast.member_a, ballot, "agree", "agree"), _signer_of(cast.member_a))
    body = {"answers": answers_for(ballot, "disagree", "disagree"), "pin": PIN}
    assert api(cast.member_a).post(f"/ballots/{ballot.id}/responses", body).status_code == 201
    before = _state()
    _refused(_upload(api, cast.member_a, ballot, signed), 409, "slip_superseded")
    assert _state() == before


def test_fetching_the_unsigned_slip_again_stores_nothing_new(api: Any, cast: Any, make_ballot: Any) -> None:
    ballot = make_ballot()
    first = _unsigned(api, cast.member_a, ballot, "agree", "disagree")
    after_first = _state()
    again = _unsigned(api, cast.member_a, ballot, "agree", "disagree")
    posted = api(cast.member_a).post(f"/ballots/{ballot.id}/slip", {"answers": answers_for(ballot, "agree", "disagree")})
    assert posted.status_code == 200
    assert again == first == posted.get_data()
    assert _state() == after_first
    assert after_first[3] == 1
    # other answers are another slip; once the member has answered, the same answers are a new one too
    assert _unsigned(api, cast.member_a, ballot, "other", "other") != first
    assert _state()[3] == 2
    assert _upload(api, cast.member_a, ballot, _sign(first, _signer_of(cast.member_a))).status_code == 201
    renewed = _unsigned(api, cast.member_a, ballot, "agree", "disagree")
    assert renewed != first
    assert pdf.read_slip_answers(renewed)["supersedes_version"] == 1  # type: ignore[index]
    assert db.session.scalar(select(func.count()).select_from(AuditRecord).where(
        AuditRecord.action == "ballot.slip_prepared")) == 3


def test_the_draft_query_needs_the_slip_owner(api: Any, cast: Any, make_ballot: Any) -> None:
    ballot = make_ballot()
    _unsigned(api, cast.member_a, ballot)
    draft_id = db.session.scalar(select(SlipDraft.id))
    assert_error(api(cast.member_b).get(f"/ballots/{ballot.id}/slip.pdf?draft={draft_id}"), 404, "not_found")
    query = quote(json.dumps(answers_for(ballot)))
    assert api(cast.member_a).get(f"/ballots/{ballot.id}/slip.pdf?answers={query}").status_code == 200


def test_a_bag_with_uploaded_slips_verifies(app: Any, api: Any, cast: Any, make_ballot: Any, tmp_path: Any) -> None:
    ballot = make_ballot()
    for user, choices in ((cast.member_a, ("disagree", "agree")), (cast.member_b, ("other", "disagree"))):
        signed = _sign(_unsigned(api, user, ballot, *choices), _signer_of(user))
        assert _upload(api, user, ballot, signed).status_code == 201
    service.close_ballot(ballot, actor=cast.secretary)
    response = api(cast.secretary).get(f"/ballots/{ballot.id}/export.zip")
    assert response.status_code == 200
    bag = tmp_path / "bag.zip"
    bag.write_bytes(response.get_data())
    db.session.remove()
    result = app.test_cli_runner().invoke(args=["ecabinet", "ballots", "verify", str(bag)])
    assert result.exit_code == 0, result.output
    assert "tally recomputed from the signed slips matches the report" in result.output


def test_a_slip_laid_out_by_reportlab_counts_too(api: Any, cast: Any, make_ballot: Any, pdfsig: Any) -> None:
    # a letter the prepared faces lack sends the slip through ReportLab: it carries the field as well
    ballot = make_ballot()
    answers = answers_for(ballot, "agree", "other", comment="Согласен")
    response = api(cast.member_a).get(f"/ballots/{ballot.id}/slip.pdf?answers={quote(json.dumps(answers))}")
    assert response.status_code == 200
    draft = response.get_data()
    assert PdfFileReader(BytesIO(draft), strict=True).xrefs.total_revisions == 1
    signed = _sign(draft, _signer_of(cast.member_a))
    assert _upload(api, cast.member_a, ballot, signed).status_code == 201
    assert pdfsig(signed) == ["Signature is Valid."]
    assert db.session.scalar(select(ResponseRevision.answers))[1]["comment"] == "Согласен"
    replaced = _sign_with(draft, _signer_of(cast.member_a), _overlay_shown(draft))
    before = _state()
    _refused(_upload(api, cast.member_a, ballot, replaced), 422, "signed_revision_modified")
    assert _state() == before
