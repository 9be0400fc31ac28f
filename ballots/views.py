"""/api/v1 ballot routes: parse → access → service → serialize."""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint
from flask import Response as FlaskResponse
from flask import current_app, request
from flask_login import current_user, login_required

from ballots import service
from ballots.errors import MESSAGES, BallotConflict, BallotInvalid
from ballots.export import export_bag_zip
from ballots.models import BallotStatus, ResponseRevision
from ballots.schemas import BallotIn, ResponseIn, SlipIn, dump_ballot, dump_response
from ecabinet import inputs
from ecabinet.auth.models import User
from ecabinet.errors import UnsupportedType

api = APIBlueprint("ballots_api", __name__, url_prefix="/api/v1", tag="Opinion ballots")


def _pdf(data: bytes, name: str) -> FlaskResponse:
    return FlaskResponse(data, mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="{name}"', "Cache-Control": "private, no-store"})


def _key() -> str | None:
    key = request.headers.get("Idempotency-Key", "").strip()
    return key[:200] or None


@api.post("/ballots")
@api.input(BallotIn, arg_name="data")
@login_required
def create_ballot(data: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """The secretariat drafts a ballot."""
    ballot = service.create_ballot(actor=current_user, **data)
    return dump_ballot(ballot, current_user), 201


@api.get("/ballots")
@login_required
def list_ballots() -> dict[str, Any]:
    """The caller's ballots (the secretariat: all)."""
    return {"ballots": [dump_ballot(b, current_user) for b in service.ballots_for(current_user)]}


@api.get("/ballots/<int:ballot_id>")
@login_required
def get_ballot(ballot_id: int) -> dict[str, Any]:
    return dump_ballot(service.get_ballot_for(current_user, ballot_id), current_user)


@api.post("/ballots/<int:ballot_id>/issue")
@login_required
def issue_ballot(ballot_id: int) -> dict[str, Any]:
    """Send the ballot to its recipients."""
    ballot = service.issue_ballot(service.get_ballot_for(current_user, ballot_id), actor=current_user)
    return dump_ballot(ballot, current_user)


@api.post("/ballots/<int:ballot_id>/responses")
@api.input(ResponseIn, arg_name="data")
@login_required
def submit_response(ballot_id: int, data: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Answer, sign with the PIN-unlocked key, validate, record: 201 with the receipt."""
    ballot = service.get_ballot_for(current_user, ballot_id)
    revision, _ = service.submit_response(ballot, answers=data["answers"], pin=data["pin"],
                                          idempotency_key=_key(), actor=current_user)
    return revision.receipt(), 201


@api.post("/ballots/<int:ballot_id>/slip")
@api.input(SlipIn, arg_name="data")
@login_required
def prepare_slip(ballot_id: int, data: dict[str, Any]) -> FlaskResponse:
    """The unsigned slip for the caller's answers, to sign with their own tool."""
    draft = service.prepare_slip(service.get_ballot_for(current_user, ballot_id), answers=data["answers"],
                                 actor=current_user)
    return _pdf(draft.pdf, f"phieu-{ballot_id}-chua-ky.pdf")


@api.get("/ballots/<int:ballot_id>/slip.pdf")
@login_required
def slip_pdf(ballot_id: int) -> FlaskResponse:
    """The unsigned slip: ``?answers=<JSON list>`` or ``?draft=<id>`` of one prepared before."""
    ballot = service.get_ballot_for(current_user, ballot_id)
    if request.args.get("draft"):
        draft = service.slip_draft_for(ballot, current_user, inputs.query_int(request.args.get("draft")) or 0)
        return _pdf(draft.pdf, f"phieu-{ballot_id}-chua-ky.pdf")
    try:
        answers = inputs.load_json(request.args.get("answers", ""))  # depth and text checked as a body's
        if not isinstance(answers, list) or not all(isinstance(a, dict) for a in answers):
            raise ValueError
    except (ValueError, inputs.InvalidJson):
        raise BallotInvalid("invalid_answers") from None
    draft = service.prepare_slip(ballot, answers=answers, actor=current_user)
    return _pdf(draft.pdf, f"phieu-{ballot_id}-chua-ky.pdf")


def may_upload_a_slip(user: User, args: dict[str, Any]) -> None:
    """Only a recipient sends a signed slip: decided from the URL before the file is read."""
    service.require_recipient(service.get_ballot_for(user, args["ballot_id"]), user)


@api.post("/ballots/<int:ballot_id>/responses/upload")
@login_required
def upload_signed_slip(ballot_id: int) -> tuple[dict[str, Any], int]:
    """A slip signed with the member's own tool (multipart ``file``)."""
    ballot = service.get_ballot_for(current_user, ballot_id)
    upload = request.files.get("file")
    if upload is None:
        raise BallotInvalid("not_a_pdf", fields={"file": ["missing"]})
    data = upload.read()
    if not data.startswith(b"%PDF-"):
        raise UnsupportedType()
    revision, _ = service.upload_signed_slip(ballot, data=data, idempotency_key=_key(), actor=current_user)
    return revision.receipt(), 201


def _revision(ballot_id: int, response_id: int) -> ResponseRevision:
    return service.revision_for(service.get_ballot_for(current_user, ballot_id), current_user, response_id,
                                request.args.get("version", type=int))


@api.get("/ballots/<int:ballot_id>/responses/<int:response_id>/pdf")
@login_required
def response_pdf(ballot_id: int, response_id: int) -> FlaskResponse:
    """The signed slip (``?version=N`` for an earlier one): the member and the secretariat only."""
    revision = _revision(ballot_id, response_id)
    return _pdf(revision.slip_pdf, f"phieu-{ballot_id}-{response_id}-v{revision.version}.pdf")


@api.get("/ballots/<int:ballot_id>/responses")
@login_required
def list_responses(ballot_id: int) -> dict[str, Any]:
    """Every answer and every version (the secretariat)."""
    ballot = service.get_ballot_for(current_user, ballot_id)
    service.require_secretariat(current_user)
    return {"responses": [dump_response(response) for response in service.responses_of(ballot)]}


@api.post("/ballots/<int:ballot_id>/close")
@login_required
def close_ballot(ballot_id: int) -> dict[str, Any]:
    """The secretariat closes the ballot: the tally is fixed and the report signed."""
    ballot, level = service.close_ballot(service.get_ballot_for(current_user, ballot_id), actor=current_user)
    out = {**dump_ballot(ballot, current_user), "tally": ballot.tally, "report_level": level}
    if level == "B-B" and current_app.config.get("TSA_URL"):
        out["notice"] = {"code": "report_not_timestamped", "message": str(MESSAGES["report_not_timestamped"])}
    return out


@api.post("/ballots/<int:ballot_id>/remind")
@login_required
def remind(ballot_id: int) -> dict[str, Any]:
    """The secretariat reminds the recipients who have not answered: ``{"reminded": [user ids]}``."""
    ballot = service.get_ballot_for(current_user, ballot_id)
    return {"reminded": service.remind_ballot(ballot, actor=current_user)}


@api.get("/ballots/<int:ballot_id>/tally")
@login_required
def tally(ballot_id: int) -> dict[str, Any]:
    """Per question; the fixed tally once closed, the running one before (secretariat only)."""
    ballot = service.get_ballot_for(current_user, ballot_id)
    if ballot.status != BallotStatus.CLOSED:
        service.require_secretariat(current_user)
    rows = ballot.tally if ballot.status == BallotStatus.CLOSED else service.compute_tally(ballot)
    return {"ballot_id": ballot.id, "status": ballot.status, "non_answer_policy": ballot.non_answer_policy,
            "questions": rows}


@api.get("/ballots/<int:ballot_id>/report.pdf")
@login_required
def report_pdf(ballot_id: int) -> FlaskResponse:
    """The summary report signed by the Government Office."""
    ballot = service.get_ballot_for(current_user, ballot_id)
    if ballot.status != BallotStatus.CLOSED or ballot.report_pdf is None:
        raise BallotConflict("ballot_not_closed")
    return _pdf(ballot.report_pdf, f"bao-cao-{ballot_id}.pdf")


@api.get("/ballots/<int:ballot_id>/export.zip")
@login_required
def export_zip(ballot_id: int) -> FlaskResponse:
    """A BagIt bag of a closed ballot: signed slips, the report, a manifest (secretariat)."""
    ballot = service.get_ballot_for(current_user, ballot_id)
    service.require_secretariat(current_user)
    if ballot.status != BallotStatus.CLOSED:
        raise BallotConflict("ballot_not_closed")
    return FlaskResponse(export_bag_zip(ballot), mimetype="application/zip",
                         headers={"Content-Disposition": f'attachment; filename="ballot-{ballot_id}.zip"'})
