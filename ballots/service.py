"""The only writer of ballots: every change in one transaction, audited, broadcast after commit."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn

from cryptography import x509
from flask import current_app
from sqlalchemy import Select, bindparam, func, insert, select, update
from sqlalchemy.orm import undefer

from ballots import pdf, rules
from ballots.errors import (
    BallotConflict,
    BallotInvalid,
    BallotNotFound,
    SigningFailed,
    TimestampUnavailable,
)
from ballots.models import (
    Ballot,
    BallotStatus,
    Choice,
    NonAnswerPolicy,
    Question,
    Recipient,
    Response,
    ResponseRevision,
    SlipDraft,
)
from documents.models import Document
from ecabinet import audit, keystore, notifications, realtime
from ecabinet.auth.access import require_secretariat
from ecabinet.auth.models import Confidentiality, Role, User
from ecabinet.database import db, utcnow, write_transaction
from ecabinet.errors import Conflict, NotFound
from ecabinet.pdf import BuiltDocument
from ecabinet.signing import (
    SignatureRejected,
    sign_pdf,
    signer_certificate_sha256,
    validate_own_signature,
)
from ecabinet.signing import TimestampUnavailable as NoTimestamp

log = logging.getLogger(__name__)
REMINDER_BEFORE = timedelta(hours=24)


def _to_secretariat(event: str, data: dict[str, Any]) -> None:
    """The secretariat's board: each secretary's own stream (published with the change, sent after commit)."""
    for user_id in realtime.secretariat_ids():
        realtime.publish_to_user(user_id, event, data)


def _notify(ballot: Ballot, user_ids: Sequence[int], kind: str, *, key: str | None = None) -> None:
    """Tell recipients about the ballot; one classified by its dossiers is not named."""
    notifications.notify(user_ids, kind, ("ballot", ballot.id), path=f"/ballots/{ballot.id}", title=ballot.title,
                         level=level_of(ballot.document_ids), data={"deadline": ballot.deadline.isoformat()}, key=key)


def get_ballot_for(user: User, ballot_id: int) -> Ballot:
    """The ballot, or NotFound when unknown or not visible (recipients see it once issued)."""
    ballot = db.session.get(Ballot, ballot_id)
    if ballot is None or not user.may_read(level_of(ballot.document_ids)):
        raise NotFound()
    if user.is_secretariat:
        return ballot
    if ballot.status != BallotStatus.DRAFT and any(r.user_id == user.id for r in ballot.recipients):
        return ballot
    raise NotFound()


def may_use_ballots(user: User) -> bool:
    """The secretariat issues ballots and members (the chair is one) answer them; a guest or an administrator is
    never a recipient, so neither the list nor its menu entry is theirs."""
    return user.has_role(Role.SECRETARY, Role.MEMBER, Role.CHAIR)


def ballots_for(user: User) -> list[Ballot]:
    query = select(Ballot).order_by(Ballot.id.desc())
    if not user.is_secretariat:
        query = query.join(Recipient).where(Recipient.user_id == user.id, Ballot.status != BallotStatus.DRAFT)
    return [ballot for ballot in db.session.scalars(query)
            if not ballot.document_ids or user.may_read(level_of(ballot.document_ids))]


def is_open(ballot: Ballot, now: datetime | None = None) -> bool:
    return ballot.status == BallotStatus.ISSUED and (now or utcnow()) < ballot.deadline


def _validate_documents(ids: list[int]) -> None:
    for doc_id in ids:
        if db.session.get(Document, doc_id) is None:
            raise BallotInvalid("unknown_document", fields={"document_ids": [doc_id]})


def level_of(document_ids: Sequence[int]) -> Confidentiality:
    """A ballot is classified at the highest level of the dossiers it asks about (Mật and above travel with it)."""
    levels = db.session.scalars(select(Document.confidentiality).where(Document.id.in_(list(document_ids)))).all() \
        if document_ids else []
    return max((Confidentiality(level) for level in levels), key=lambda level: level.rank,
               default=Confidentiality.NORMAL)


def create_ballot(*, title: str, summary: str, questions: Sequence[str], recipient_ids: Sequence[int],
                  deadline: datetime, document_ids: Sequence[int] = (), non_answer_policy: str | None = None,
                  actor: User) -> Ballot:
    """The secretariat drafts a ballot."""
    require_secretariat(actor)
    if deadline <= utcnow():
        raise BallotInvalid("deadline_passed", fields={"deadline": ["in the past"]})
    ids = list(dict.fromkeys(recipient_ids))
    users = db.session.scalars(select(User).where(User.id.in_(ids))).all() if ids else []
    if not ids or len(users) != len(ids) or any(not u.active or Role.MEMBER not in u.roles for u in users):
        raise BallotInvalid("unknown_recipient", fields={"recipient_ids": ids})
    _validate_documents(list(document_ids))
    level = level_of(document_ids)
    if not actor.may_read(level):
        raise BallotInvalid("unknown_document", fields={"document_ids": list(document_ids)})
    if uncleared := [u.id for u in users if not u.may_read(level)]:
        raise BallotInvalid("recipient_not_cleared", fields={"recipient_ids": uncleared})
    policy = non_answer_policy or current_app.config.get("BALLOT_NON_ANSWER_POLICY", NonAnswerPolicy.NOT_COUNTED)
    with write_transaction():
        ballot = Ballot(title=title, summary=summary, deadline=deadline, document_ids=list(document_ids),
                        non_answer_policy=str(NonAnswerPolicy(policy)), created_by_id=actor.id,
                        status=BallotStatus.DRAFT)
        ballot.questions = [Question(position=i, text=text) for i, text in enumerate(questions, start=1)]
        ballot.recipients = [Recipient(user_id=uid) for uid in ids]
        db.session.add(ballot)
        db.session.flush()
        audit.record(actor, "ballot.created", ballot, {"title": title, "questions": len(questions),
                                                       "recipients": ids, "deadline": deadline.isoformat()})
    return ballot


def issue_ballot(ballot: Ballot, *, actor: User) -> Ballot:
    """Send a draft to its recipients; they are notified live and find it in their inbox."""
    require_secretariat(actor)
    with write_transaction():
        db.session.refresh(ballot)
        if ballot.status != BallotStatus.DRAFT:
            raise BallotConflict("ballot_not_draft")
        if ballot.deadline <= utcnow():
            raise BallotInvalid("deadline_passed", fields={"deadline": ["in the past"]})
        ballot.status = BallotStatus.ISSUED
        ballot.issued_at = utcnow()
        audit.record(actor, "ballot.issued", ballot, {"recipients": [r.user_id for r in ballot.recipients]})
        note = {"ballot_id": ballot.id, "title": ballot.title, "deadline": ballot.deadline.isoformat()}
        for recipient in ballot.recipients:
            realtime.publish_to_user(recipient.user_id, "ballot.issued", note)
        _notify(ballot, [r.user_id for r in ballot.recipients], "ballot.issued")
    return ballot


def _answers(ballot: Ballot, raw: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Exactly one valid answer per question, in question order."""
    by_question: dict[object, dict[str, Any]] = {}  # keyed by the ids as sent, until checked
    for item in raw:
        qid = item.get("question_id")
        if qid in by_question or item.get("choice") not in set(Choice):
            raise BallotInvalid("invalid_answers", fields={"answers": [qid]})
        by_question[qid] = {"question_id": qid, "choice": item["choice"], "comment": (item.get("comment") or "")[:5000]}
    if set(by_question) != {q.id for q in ballot.questions}:
        raise BallotInvalid("invalid_answers", fields={"answers": sorted(by_question, key=str)})
    return [by_question[q.id] for q in ballot.questions]


def require_recipient(ballot: Ballot, user: User) -> None:
    if ballot.status == BallotStatus.DRAFT or not any(r.user_id == user.id for r in ballot.recipients):
        raise BallotNotFound()


def _refuse_late(ballot: Ballot, user: User, how: str) -> None:
    """After closing nothing changes; the refused attempt is recorded."""
    with write_transaction():
        audit.record(user, "ballot.late_answer_refused", ballot, {"method": how})
    raise BallotConflict("ballot_closed")


def _check_open(ballot: Ballot, user: User, how: str) -> None:
    if ballot.status == BallotStatus.CLOSED or (ballot.status == BallotStatus.ISSUED and utcnow() >= ballot.deadline):
        _refuse_late(ballot, user, how)
    if ballot.status != BallotStatus.ISSUED:
        raise BallotConflict("ballot_not_issued")


def _existing_receipt(ballot_id: int, user_id: int, key: str | None) -> ResponseRevision | None:
    if not key:
        return None
    return db.session.scalar(select(ResponseRevision).where(
        ResponseRevision.ballot_id == ballot_id, ResponseRevision.user_id == user_id,
        ResponseRevision.idempotency_key == key))


def submit_response(ballot: Ballot, *, answers: Sequence[dict[str, Any]], pin: str, idempotency_key: str | None,
                    actor: User) -> tuple[ResponseRevision, bool]:
    """Render the slip, sign it with the member's key, validate it, then record it (fail closed).

    Returns the revision and whether it was created now (False: a repeated Idempotency-Key).
    """
    require_recipient(ballot, actor)
    previous = _existing_receipt(ballot.id, actor.id, idempotency_key)
    if previous is not None:
        if previous.answers != _answers(ballot, answers):
            raise Conflict("idempotency_key_reused")
        return previous, False
    _check_open(ballot, actor, "server")
    clean = _answers(ballot, answers)
    built = pdf.render_slip(ballot, actor, clean, utcnow())
    placement = built.signature_boxes["member"]
    tsa_url = current_app.config.get("TSA_URL")
    with keystore.unlocked_signer(actor, pin) as (signer, credential):
        try:
            signed = sign_pdf(built.pdf, signer, field_name="ThanhVien", box=placement.rect,
                              page=placement.page_index, reason=f"Trả lời phiếu lấy ý kiến {ballot.number}",
                              location=pdf.PLACE, timestamper_url=tsa_url,
                              signer_name_text=[f"Ký bởi: {actor.full_name}",
                                                actor.title or pdf.ISSUING_BODY[-1].title()])
        except NoTimestamp as error:
            _no_timestamp_for_answer(ballot, actor, str(error))
        cert = credential.certificate
    try:
        report = validate_own_signature(signed, unsigned=built.pdf, trust_roots=keystore.trust_roots(), signer=cert,
                                        crls=keystore.crls_for(cert))
    except SignatureRejected as rejected:
        if tsa_url and rejected.code == "timestamp_invalid":
            _no_timestamp_for_answer(ballot, actor, "untrusted token")
        log.error("own slip for ballot %s refused by validation: %s", ballot.id, rejected.code)
        raise SigningFailed() from None
    unsigned_sha = hashlib.sha256(built.pdf).hexdigest()
    return _record(ballot, actor, clean, signed, unsigned_sha, report, "server", idempotency_key), True


def _no_timestamp_for_answer(ballot: Ballot, user: User, why: str) -> NoReturn:
    """Refuse an answer the timestamp authority could not stamp: nothing is stored, the PIN was right.

    A B-B slip is not substituted: with a TSA configured the deployment promised B-T answers, and
    the member can retry (the same Idempotency-Key included) once it is back.
    """
    # no URL (it may carry the TSA account's credentials), no PIN, no answers
    log.warning("timestamp authority unavailable: answer of user %s to ballot %s not recorded (%s)",
                user.id, ballot.id, why)
    raise TimestampUnavailable() from None


def _answers_sha256(answers: list[dict[str, Any]]) -> str:
    return hashlib.sha256(json.dumps(answers, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


def _current_version(ballot_id: int, user_id: int) -> int:
    """The member's current answer version (0: not answered yet)."""
    return db.session.scalar(select(Response.current_version).where(
        Response.ballot_id == ballot_id, Response.user_id == user_id)) or 0


def _draft_for(ballot_id: int, user_id: int, version: int, answers_sha256: str) -> SlipDraft | None:
    return db.session.scalar(select(SlipDraft).where(
        SlipDraft.ballot_id == ballot_id, SlipDraft.user_id == user_id, SlipDraft.base_version == version,
        SlipDraft.answers_sha256 == answers_sha256).order_by(SlipDraft.id).limit(1))


def prepare_slip(ballot: Ballot, *, answers: Sequence[dict[str, Any]], actor: User) -> SlipDraft:
    """The unsigned slip for a member who signs with their own tool; kept to check the upload.

    The slip names the member's current answer version and counts only while it is still current.
    Asked for again with the same answers (and the same current version), it is the slip made
    before: nothing new is stored or audited.
    """
    require_recipient(ballot, actor)
    _check_open(ballot, actor, "prepare")
    clean = _answers(ballot, answers)
    key = _answers_sha256(clean)
    version = _current_version(ballot.id, actor.id)
    made = _draft_for(ballot.id, actor.id, version, key)
    if made is not None:
        return made
    built = pdf.render_slip(ballot, actor, clean, utcnow(), supersedes=version)
    placement = built.signature_boxes["member"]
    with write_transaction():
        made = _draft_for(ballot.id, actor.id, version, key)  # by a request that raced this one
        if made is not None:
            return made
        draft = SlipDraft(ballot_id=ballot.id, user_id=actor.id, answers=clean, answers_sha256=key,
                          base_version=version, signature_page=placement.page_index,
                          signature_rect=list(placement.rect), pdf=built.pdf,
                          sha256=hashlib.sha256(built.pdf).hexdigest())
        db.session.add(draft)
        db.session.flush()
        audit.record(actor, "ballot.slip_prepared", ballot, {"draft_id": draft.id, "sha256": draft.sha256,
                                                             "supersedes_version": version})
    return draft


def upload_signed_slip(ballot: Ballot, *, data: bytes, idempotency_key: str | None,
                       actor: User) -> tuple[ResponseRevision, bool]:
    """Accept a slip signed elsewhere only if it is a slip we prepared with the signature added.

    What is counted is what was signed: the first revision byte-identical to the draft, the signed
    revision adding the signature and nothing else (no page, content or embedded answers changed:
    the shadow attacks), the signature shown only in the slip's signature box, and the draft still
    naming the member's current answer (an older signed slip is not replayed).
    """
    require_recipient(ballot, actor)
    previous = _existing_receipt(ballot.id, actor.id, idempotency_key)
    if previous is not None:
        return previous, False
    _check_open(ballot, actor, "upload")
    try:
        report = keystore.validate_upload(data, actor)
    except SignatureRejected as rejected:
        raise BallotInvalid(rejected.code, keystore.rejected_message(rejected)) from None
    draft = db.session.scalar(select(SlipDraft).where(
        SlipDraft.ballot_id == ballot.id, SlipDraft.user_id == actor.id,
        SlipDraft.sha256 == (report.first_revision_sha256 or "")))
    if draft is None or not data.startswith(draft.pdf):
        raise BallotInvalid("slip_not_ours")
    if draft.signature_rect is None:
        raise BallotConflict("slip_superseded")  # prepared before drafts were bound to an answer version
    try:
        keystore.check_signature_added(data, prepared=draft.pdf, page=draft.signature_page, box=draft.signature_rect)
        embedded = pdf.read_slip_answers(data) or {}
        if embedded.get("answers") != draft.answers or embedded.get("supersedes_version") != draft.base_version:
            raise SignatureRejected("signed_revision_modified")
    except SignatureRejected as rejected:
        raise BallotInvalid(rejected.code, keystore.rejected_message(rejected)) from None
    return _record(ballot, actor, draft.answers, data, draft.sha256, report, "upload", idempotency_key,
                   supersedes=draft.base_version), True


# built once, run as Core statements: building one costs as much as running it, and the ORM's unit of
# work twice that (the answer's rows are written once and never read back in its request)
_ballots, _responses, _revisions = Ballot.__table__, Response.__table__, ResponseRevision.__table__
_STATE: Select[BallotStatus, datetime] = select(_ballots.c.status, _ballots.c.deadline).where(
    _ballots.c.id == bindparam("ballot_id"))
_RESPONSE = select(_responses.c.id, _responses.c.current_version).where(
    _responses.c.ballot_id == bindparam("ballot_id"), _responses.c.user_id == bindparam("user_id"))
_NEW_RESPONSE = insert(_responses)
_NEXT_VERSION = update(_responses).where(_responses.c.id == bindparam("response_id")).values(
    current_version=bindparam("version"), answered_at=bindparam("at"))
_NEW_REVISION = insert(_revisions)
_ANSWERED = select(func.count()).select_from(_responses).where(_responses.c.ballot_id == bindparam("ballot_id"))


def _record(ballot: Ballot, user: User, answers: list[dict[str, Any]], signed: bytes, unsigned_sha: str,
            report: Any, method: str, key: str | None, *, supersedes: int | None = None) -> ResponseRevision:
    """Store a validated slip as the member's current answer.

    Writers are serialised by ``write_transaction``; the open check, the idempotency check and the
    version number are read inside it, so two submissions can never make two current answers.
    With ``supersedes`` (an uploaded slip) the member's current version must still be that one.
    """
    ballot_id, user_id = ballot.id, user.id
    # the transaction starts by expiring what the session holds: the ballot and the member are not
    # reloaded, only the ballot's state is read (the audit names it by table and id, as it would)
    target = (Ballot.__tablename__, ballot_id)
    answered = audit.entry(user, "ballot.answered", target)
    refused = audit.entry(user, "ballot.late_answer_refused", target, {"method": method})
    with write_transaction():
        connection = db.session.connection()
        status, deadline = connection.execute(_STATE, {"ballot_id": ballot_id}).one()
        if status != BallotStatus.ISSUED or utcnow() >= deadline:
            audit.append_many([refused])
            late = True
        else:
            late = False
            again = _existing_receipt(ballot_id, user_id, key)
            if again is not None:
                return again
            current = connection.execute(_RESPONSE, {"ballot_id": ballot_id, "user_id": user_id}).first()
            if supersedes is not None and (current.current_version if current else 0) != supersedes:
                raise BallotConflict("slip_superseded")
            now = utcnow()
            if current is None:
                version = 1
                inserted = connection.execute(_NEW_RESPONSE, {
                    "ballot_id": ballot_id, "user_id": user_id, "current_version": version,
                    "answered_at": now}).inserted_primary_key
                assert inserted is not None  # one row inserted
                response_id = inserted[0]
            else:
                response_id, version = current.id, current.current_version + 1
                connection.execute(_NEXT_VERSION, {"response_id": response_id, "version": version, "at": now})
            # the receipt: the row as written (never added to the session, so nothing reads it back)
            revision = ResponseRevision(
                response_id=response_id, ballot_id=ballot_id, user_id=user_id, version=version,
                answers=answers, slip_pdf=signed, sha256=hashlib.sha256(signed).hexdigest(),
                unsigned_sha256=unsigned_sha, signed_at=report.signing_time.astimezone(UTC), level=report.level,
                signer_subject=report.subject, signer_serial=format(report.serial, "x"), method=method,
                idempotency_key=key, created_at=now)
            connection.execute(_NEW_REVISION, {column: getattr(revision, column) for column in _REVISION_COLUMNS})
            audit.append_many([replace(answered, data={
                "response_id": response_id, "version": version, "sha256": revision.sha256,
                "level": revision.level, "method": method})])
            _to_secretariat("ballot.answered", {"ballot_id": ballot_id, "user_id": user_id, "version": version,
                                                "answered_at": now.isoformat(), "answered": _answered(ballot_id)})
    if late:
        raise BallotConflict("ballot_closed")
    return revision


_REVISION_COLUMNS = [column.key for column in _revisions.columns if column.key != "id"]


def answered_count(ballot: Ballot) -> int:
    return _answered(ballot.id)


def _answered(ballot_id: int) -> int:
    return db.session.connection().execute(_ANSWERED, {"ballot_id": ballot_id}).scalar() or 0


def _current(ballot_id: int, *columns: Any) -> Any:
    return (select(*columns).join(Response, Response.id == ResponseRevision.response_id)
            .where(Response.ballot_id == ballot_id, ResponseRevision.version == Response.current_version)
            .order_by(ResponseRevision.user_id))


def current_revisions(ballot: Ballot) -> list[ResponseRevision]:
    """The current revision of each member's answer, signed slips loaded in the same query (every caller reads them)."""
    return list(db.session.scalars(_current(ballot.id, ResponseRevision).options(undefer(ResponseRevision.slip_pdf))))


def current_answers(ballot: Ballot) -> list[tuple[int, list[dict[str, Any]]]]:
    """(user id, answers) of each member's current answer, without the slips."""
    rows = db.session.execute(_current(ballot.id, ResponseRevision.user_id, ResponseRevision.answers))
    return [(int(row.user_id), list(row.answers)) for row in rows]


def compute_tally(ballot: Ballot) -> list[dict[str, Any]]:
    return _tally(ballot, list(db.session.scalars(_current(ballot.id, ResponseRevision.answers))))


def _tally(ballot: Ballot, answers: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    return rules.tally([q.id for q in ballot.questions], answers, len(ballot.recipients), ballot.non_answer_policy)


def _opinions(revisions: list[ResponseRevision]) -> list[dict[str, Any]]:
    """Each "other opinion" and each comment, in full, with the member's name, for the report."""
    names = {u.id: f"{u.full_name}, {u.title}" if u.title else u.full_name for u in db.session.scalars(
        select(User).where(User.id.in_([r.user_id for r in revisions])))} if revisions else {}
    return [{"question_id": a["question_id"], "member": names.get(r.user_id, str(r.user_id)), "choice": a["choice"],
             "comment": a.get("comment") or ""}
            for r in sorted(revisions, key=lambda r: names.get(r.user_id, ""))
            for a in r.answers if a["choice"] == "other" or a.get("comment")]


def close_ballot(ballot: Ballot, *, actor: User | None, now: datetime | None = None) -> tuple[Ballot, str]:
    """Close, fix the tally and sign the summary report with the Government Office's key.

    Returns the ballot and the report's PAdES level (B-B when the timestamp authority failed).

    The report lists each counted slip's hash and its signer certificate's hash, so that
    ``ballots verify`` binds every slip to the certificate the office saw, without the database.
    When the timestamp authority fails, the ballot still closes: the report is signed B-B and
    the audit record says the timestamp was unavailable (the deadline must not depend on a TSA).
    """
    if actor is not None:
        require_secretariat(actor)
    now = now or utcnow()
    with write_transaction():
        db.session.refresh(ballot)
        if ballot.status != BallotStatus.ISSUED:
            raise BallotConflict("ballot_closed" if ballot.status == BallotStatus.CLOSED else "ballot_not_issued")
        revisions = current_revisions(ballot)
        tally = _tally(ballot, [r.answers for r in revisions])
        built = pdf.render_report(ballot, tally, len(revisions), now, [
            {"user_id": str(r.user_id), "sha256": r.sha256,
             "certificate_sha256": signer_certificate_sha256(r.slip_pdf)} for r in revisions],
            opinions=_opinions(revisions), level=level_of(ballot.document_ids))
        tsa_url = current_app.config.get("TSA_URL")
        try:
            signed = _sign_report(ballot, built, tsa_url)
            if tsa_url:
                _check_report_timestamp(signed, built.pdf)
            level, timestamp = ("B-T", "ok") if tsa_url else ("B-B", "not_configured")
        except NoTimestamp as error:
            log.warning("timestamp authority unavailable: report of ballot %s signed without a timestamp (%s)",
                        ballot.id, error)
            signed = _sign_report(ballot, built, None)
            level, timestamp = "B-B", "unavailable"
        ballot.status = BallotStatus.CLOSED
        ballot.closed_at = now
        ballot.tally = tally
        ballot.report_pdf = signed
        ballot.report_sha256 = hashlib.sha256(signed).hexdigest()
        audit.record(actor, "ballot.closed", ballot, {"tally": tally, "report_sha256": ballot.report_sha256,
                                                      "report_level": level, "timestamp": timestamp,
                                                      "by": "secretariat" if actor else "deadline"},
                     actor_label=None if actor else "scheduler")
        _to_secretariat("ballot.closed", {"ballot_id": ballot.id, "tally": tally, "report_level": level})
        _notify(ballot, [r.user_id for r in ballot.recipients], "ballot.closed")
    return ballot, level


def _check_report_timestamp(signed: bytes, unsigned: bytes) -> None:
    """Raise ``NoTimestamp`` when the TSA's token does not validate (a report ``ballots verify`` would refuse)."""
    office_cert = keystore.office_signer().signing_cert
    assert office_cert is not None  # build_signer always gives its certificate
    office = x509.load_der_x509_certificate(office_cert.dump())
    try:
        validate_own_signature(signed, unsigned=unsigned, trust_roots=keystore.trust_roots(), signer=office,
                               crls=keystore.crls_for(office))
    except SignatureRejected as rejected:
        if rejected.code != "timestamp_invalid":
            raise
        raise NoTimestamp("untrusted token") from None


def _sign_report(ballot: Ballot, built: BuiltDocument, tsa_url: str | None) -> bytes:
    placement = built.signature_boxes["office"]
    return sign_pdf(built.pdf, keystore.office_signer(), field_name="VanPhongChinhPhu", box=placement.rect,
                    page=placement.page_index, reason=f"Báo cáo tổng hợp ý kiến {ballot.number}",
                    location=pdf.PLACE, signer_name_text=["Văn phòng Chính phủ", "Chính phủ"],
                    timestamper_url=tsa_url)


def close_due_ballots(now: datetime) -> list[int]:
    """Close every issued ballot whose deadline has passed (the scheduler's job; tests call it)."""
    due = db.session.scalars(select(Ballot.id).where(Ballot.status == BallotStatus.ISSUED,
                                                     Ballot.deadline <= now)).all()
    closed = []
    for ballot_id in due:
        ballot = db.session.get_one(Ballot, ballot_id)
        try:
            close_ballot(ballot, actor=None, now=now)
            closed.append(ballot_id)
        except BallotConflict:
            pass  # closed meanwhile by the secretariat
    return closed


def send_reminders(now: datetime, before: timedelta = REMINDER_BEFORE) -> int:
    """Remind members who have not answered once the deadline is near (once per member)."""
    rows = db.session.execute(
        select(Recipient, Ballot).join(Ballot, Ballot.id == Recipient.ballot_id)
        .where(Ballot.status == BallotStatus.ISSUED, Ballot.deadline > now, Ballot.deadline <= now + before,
               Recipient.reminded_at.is_(None))).all()
    sent = 0
    for recipient, ballot in rows:
        answered = db.session.scalar(select(Response.id).where(Response.ballot_id == ballot.id,
                                                               Response.user_id == recipient.user_id))
        if answered:
            continue
        with write_transaction():
            recipient.reminded_at = now
            audit.record(None, "ballot.reminded", ballot, {"user_id": recipient.user_id},
                         actor_label="scheduler")
            realtime.publish_to_user(recipient.user_id, "ballot.reminder", {
                "ballot_id": ballot.id, "title": ballot.title, "deadline": ballot.deadline.isoformat()})
            _notify(ballot, [recipient.user_id], "ballot.reminder", key=f"ballot.reminder:{ballot.id}")
        sent += 1
    return sent


def remind_ballot(ballot: Ballot, *, actor: User) -> list[int]:
    """The secretariat reminds every recipient who has not answered yet; one audit record for the batch."""
    require_secretariat(actor)
    with write_transaction():
        db.session.refresh(ballot)
        if not is_open(ballot):
            raise BallotConflict("ballot_closed" if ballot.status == BallotStatus.CLOSED else "ballot_not_issued")
        answered = set(db.session.scalars(select(Response.user_id).where(Response.ballot_id == ballot.id)))
        pending = [r for r in ballot.recipients if r.user_id not in answered]
        now = utcnow()
        for recipient in pending:
            recipient.reminded_at = now
        user_ids = [r.user_id for r in pending]
        audit.record(actor, "ballot.reminded", ballot, {"user_ids": user_ids})
        note = {"ballot_id": ballot.id, "title": ballot.title, "deadline": ballot.deadline.isoformat()}
        for user_id in user_ids:
            realtime.publish_to_user(user_id, "ballot.reminder", note)
        _notify(ballot, user_ids, "ballot.reminder")
    return user_ids


def start_ballot_scheduler(app: Any, interval: float = 30.0) -> None:
    """Close ballots at their deadline and send reminders, in the server, with no browser needed."""

    def loop() -> None:
        while True:
            realtime.sleep(interval)
            try:
                with app.app_context():
                    now = utcnow()
                    close_due_ballots(now)
                    send_reminders(now)
                    db.session.remove()
            except Exception:
                log.exception("ballot scheduler pass failed")

    realtime.start_background_task(loop)


def responses_by_user(ballot: Ballot) -> dict[int, Response]:
    """Each recipient's response to ``ballot`` (those who answered), by user id."""
    return {r.user_id: r for r in db.session.scalars(select(Response).where(Response.ballot_id == ballot.id))}


def responses_of(ballot: Ballot) -> list[Response]:
    """Every answer to ``ballot`` with its versions, by member."""
    return list(db.session.scalars(select(Response).where(Response.ballot_id == ballot.id)
                                   .order_by(Response.user_id)))


def slip_draft_for(ballot: Ballot, user: User, draft_id: int) -> SlipDraft:
    """An unsigned slip ``user`` prepared for ``ballot`` before; BallotNotFound for anyone else's."""
    draft = db.session.get(SlipDraft, draft_id)
    if draft is None or draft.user_id != user.id or draft.ballot_id != ballot.id:
        raise BallotNotFound()
    return draft


def revision_for(ballot: Ballot, user: User, response_id: int, version: int | None) -> ResponseRevision:
    """A version of an answer to ``ballot`` (the current one by default): the member's own, or any for the
    secretariat; BallotNotFound otherwise."""
    response = db.session.get(Response, response_id)
    if response is None or response.ballot_id != ballot.id:
        raise BallotNotFound()
    if response.user_id != user.id and not user.is_secretariat:
        raise BallotNotFound()
    revisions = response.revisions
    chosen = revisions[-1] if version is None else next((r for r in revisions if r.version == version), None)
    if chosen is None:
        raise BallotNotFound()
    return chosen


def answered_at(ballots: Sequence[Ballot], user: User) -> dict[int, datetime]:
    """When ``user`` answered each of ``ballots`` they answered, by ballot id."""
    if not ballots:
        return {}
    rows = db.session.execute(select(Response.ballot_id, Response.answered_at).where(
        Response.user_id == user.id, Response.ballot_id.in_([b.id for b in ballots])))
    return {ballot_id: at for ballot_id, at in rows}


def answer_counts(ballots: Sequence[Ballot]) -> dict[int, int]:
    """How many members answered each of ``ballots``, by ballot id (none answered: absent)."""
    if not ballots:
        return {}
    rows = db.session.execute(select(Response.ballot_id, func.count(Response.id))
                              .where(Response.ballot_id.in_([b.id for b in ballots])).group_by(Response.ballot_id))
    return {ballot_id: count for ballot_id, count in rows}


def recipient_users(ballot: Ballot) -> dict[int, User]:
    """The accounts of ``ballot``'s recipients, by id."""
    return {u.id: u for u in db.session.scalars(select(User).where(
        User.id.in_([r.user_id for r in ballot.recipients])))}


def documents_of(ballot: Ballot) -> list[Document]:
    """The dossiers ``ballot`` asks about, in its order (a deleted one is left out)."""
    if not ballot.document_ids:
        return []
    found = {d.id: d for d in db.session.scalars(select(Document).where(Document.id.in_(ballot.document_ids)))}
    return [found[i] for i in ballot.document_ids if i in found]


def documents_offered(user: User, limit: int = 200) -> list[Document]:
    """The dossiers ``user`` may ask about in a new ballot, newest first: none above their clearance,
    whose title alone may be classified."""
    readable = [level for level in Confidentiality if user.may_read(level)]
    return list(db.session.scalars(select(Document).where(Document.confidentiality.in_(readable))
                                   .order_by(Document.id.desc()).limit(limit)))
