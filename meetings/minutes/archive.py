"""An archived meeting as a BagIt bag that proves itself, and the verifier that needs no database.

Layout under ``data/``: meeting.json (agenda, participants), documents/<id>-v<n>-<file>.pdf (every
version as uploaded, at the downloader's clearance or below; the others are named as withheld),
minutes.pdf (both signatures), minutes-drafts/v<n>.pdf, votes.json, events.json, audit.json (this
meeting's records up to the chair's signature, each with the hash that links it into the chain; never
logins or other meetings), ballots/<id>/... (signed slips and reports of ballots on its documents),
ca/*.pem, and the statement signed with the Government Office key (``ecabinet.bags``) naming every file,
the expected signers of the minutes and the recorded facts (attendance, votes, conclusions).
"""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
from pathlib import Path
from typing import Any

import bagit
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from flask import current_app
from sqlalchemy import and_, or_, select

from ballots.models import Ballot
from ballots.service import current_revisions
from documents.models import Document
from ecabinet import audit, keystore, office, realtime, storage
from ecabinet.auth.models import Confidentiality, User
from ecabinet.bags import (
    Trust,
    VerifyResult,
    check_statement,
    local_trust,
    manifest_valid,
    unpacked_bag,
    write_statement,
    zip_bag,
)
from ecabinet.database import db
from ecabinet.schemas import iso
from ecabinet.signing import SignatureRejected, certificate_sha256, validate_signed_pdf
from meetings.live.models import SpeakerRequest, Vote
from meetings.minutes import service
from meetings.minutes.schemas import dump_minutes
from meetings.models import Meeting

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _json(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True, default=str), encoding="utf-8")


def _safe(name: str) -> str:
    return _SAFE.sub("_", name)[:80] or "file"


def _meeting_json(meeting: Meeting, secretary: User) -> dict[str, Any]:
    return {
        "minutes_signers": {"secretary": secretary.username, "chair": meeting.chair.username},
        "id": meeting.id, "title": meeting.title, "kind": meeting.kind, "location": meeting.location,
        "status": meeting.status, "starts_at": meeting.starts_at.isoformat(), "chair_id": meeting.chair_id,
        "started_at": iso(meeting.started_at), "closed_at": iso(meeting.closed_at),
        "agenda": [{"id": i.id, "position": i.position, "title": i.title, "presenter": i.presenter,
                    "duration_minutes": i.duration_minutes, "conclusion": i.conclusion,
                    "adopted_without_discussion": i.adopted_without_discussion} for i in meeting.agenda],
        "participants": [{"user_id": p.user_id, "username": p.user.username, "full_name": p.user.full_name,
                          "title": p.user.title, "role": p.role, "represents_user_id": p.represents_user_id,
                          "approved_at": iso(p.approved_at), "checked_in_at": iso(p.checked_in_at),
                          "absence_reason": p.absence_reason, "agenda_item_ids": p.agenda_item_ids}
                         for p in meeting.participants],
    }


def _ballots(meeting: Meeting, root: Path, document_ids: set[int], withheld: set[int]) -> list[dict[str, Any]]:
    """Ballots that carry one of this meeting's documents and none withheld: their signed slips and reports."""
    listed = []
    for ballot in db.session.scalars(select(Ballot).order_by(Ballot.id)):
        if not document_ids.intersection(ballot.document_ids or []) or withheld.intersection(ballot.document_ids or []):
            continue
        folder = f"ballots/{ballot.id}"
        files = []
        if ballot.report_pdf:
            (root / folder).mkdir(parents=True, exist_ok=True)
            (root / folder / "report.pdf").write_bytes(ballot.report_pdf)
            files.append(f"{folder}/report.pdf")
        for revision in current_revisions(ballot):
            name = f"{folder}/slips/{revision.user_id}-v{revision.version}.pdf"
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_bytes(revision.slip_pdf)
            files.append(name)
        listed.append({"id": ballot.id, "number": ballot.number, "title": ballot.title, "status": ballot.status,
                       "tally": ballot.tally, "files": files})
    return listed


class ArchiveAboveClearance(Exception):
    """The downloader is not cleared for the meeting's own level."""


def _records_of(meeting: Meeting, documents: list[Any], ballot_ids: list[int], last_id: int) -> list[dict[str, Any]]:
    """This meeting's audit records up to ``last_id``: about the meeting, its items, participants, speakers,
    votes, documents and the ballots in the bag. Each keeps ``prev_hash`` and ``hash``, so its place in the
    chain can be checked against the server's (and any record's content against its hash)."""
    def ids(rows: Any) -> list[str]:
        return [str(row) for row in rows]

    objects = {
        "meetings": [str(meeting.id)],
        "agenda_items": ids(item.id for item in meeting.agenda),
        "participants": ids(p.id for p in meeting.participants),
        "speaker_requests": ids(db.session.scalars(select(SpeakerRequest.id).where(
            SpeakerRequest.meeting_id == meeting.id))),
        "votes": ids(db.session.scalars(select(Vote.id).where(Vote.meeting_id == meeting.id))),
        "documents": ids(d.id for d in documents),
        "ballots": ids(ballot_ids),
    }
    condition = or_(*(and_(audit.AuditRecord.object_type == kind, audit.AuditRecord.object_id.in_(values))
                      for kind, values in objects.items() if values))
    rows = db.session.scalars(select(audit.AuditRecord).where(condition, audit.AuditRecord.id <= last_id)
                              .order_by(audit.AuditRecord.id))
    return [row.as_dict() for row in rows]


def _facts(meeting: Meeting, votes: list[dict[str, Any]]) -> dict[str, Any]:
    """What the session recorded, as the statement names it: attendance, votes, conclusions."""
    return {
        "meeting": {"id": meeting.id, "title": meeting.title, "confidentiality": str(meeting.confidentiality),
                    "status": str(meeting.status), "chair_id": meeting.chair_id},
        "attendance": [{"user_id": p.user_id, "role": str(p.role), "checked_in": p.checked_in_at is not None,
                        "absence_reason": p.absence_reason} for p in meeting.participants],
        "votes": [{"id": v["id"], "agenda_item_id": v["agenda_item_id"], "status": v["status"], "result": v["result"]}
                  for v in votes],
        "conclusions": [{"agenda_item_id": i.id, "conclusion": i.conclusion,
                         "adopted_without_discussion": i.adopted_without_discussion} for i in meeting.agenda],
    }


def _minutes_signers(minutes: Any, blob: bytes, meeting: Meeting) -> list[dict[str, Any]]:
    """The two signatures of the signed minutes as this server validated them: field, signer, certificate."""
    people = {"secretary": minutes.secretary, "chair": meeting.chair}
    try:
        report = validate_signed_pdf(blob, trust_roots=keystore.trust_roots(), allow_later_signatures=True)
        signed = [(s.subject, certificate_sha256(s.certificate)) for s in report.signatures]
    except SignatureRejected:
        # valid when signed (the service checked it), refused now (a certificate revoked since): the archive
        # still names who signed, and `archive verify` says why the signature no longer validates
        signed = _embedded_signers(blob)
    return [{"role": role, "field": service.FIELD_NAMES[role], "user_id": people[role].id,
             "username": people[role].username, "subject": subject, "certificate_sha256": fingerprint}
            for role, (subject, fingerprint) in zip(("secretary", "chair"), signed, strict=False)]


def _embedded_signers(blob: bytes) -> list[tuple[str, str]]:
    import io

    from pyhanko.pdf_utils.reader import PdfFileReader

    signatures = sorted(PdfFileReader(io.BytesIO(blob), strict=False).embedded_signatures,
                        key=lambda sig: sig.signed_revision)
    return [(sig.signer_cert.subject.human_friendly, hashlib.sha256(sig.signer_cert.dump()).hexdigest())
            for sig in signatures]


def export_bag_zip(meeting: Meeting, *, reader: User) -> bytes:
    """A zipped BagIt bag (SHA-256 manifests) of an archived meeting, as ``reader`` may hold it: documents
    above the reader's clearance are withheld (named, not included); a meeting above it is refused.

    Raises ArchiveAboveClearance when ``reader`` is not cleared for the meeting's level."""
    if not reader.may_read(meeting.confidentiality):
        raise ArchiveAboveClearance()
    minutes = service.get_minutes(meeting)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / f"meeting-{meeting.id}"
        root.mkdir()
        _json(root / "meeting.json", _meeting_json(meeting, minutes.secretary))
        documents = list(db.session.scalars(select(Document).where(Document.meeting_id == meeting.id)
                                            .order_by(Document.id)))
        listed: list[dict[str, Any]] = []
        withheld: list[dict[str, Any]] = []
        for document in documents:
            readable = reader.may_read(document.confidentiality or Confidentiality.NORMAL)
            for version in document.versions:
                if not readable:
                    withheld.append({"document_id": document.id, "version": version.number,
                                     "confidentiality": str(document.confidentiality)})
                    continue
                name = f"documents/{document.id}-v{version.number}-{_safe(version.filename or 'document.pdf')}"
                (root / name).parent.mkdir(parents=True, exist_ok=True)
                (root / name).write_bytes(storage.get(version.sha256))
                listed.append({"file": name, "document_id": document.id, "title": document.title,
                               "agenda_item_id": document.agenda_item_id, "version": version.number,
                               "sha256": version.sha256, "uploaded_at": version.uploaded_at.isoformat()})
        _json(root / "documents.json", listed)
        signed = storage.get(minutes.signed_sha256 or "")
        (root / "minutes.pdf").write_bytes(signed)
        for draft in minutes.versions:
            (root / "minutes-drafts").mkdir(exist_ok=True)
            (root / f"minutes-drafts/v{draft.version}.pdf").write_bytes(storage.get(draft.sha256))
        _json(root / "minutes.json", dump_minutes(minutes))
        votes = [{"id": v.id, "agenda_item_id": v.agenda_item_id, "question": v.question, "secret": v.secret,
                  "status": v.status, "opened_at": v.opened_at.isoformat(), "closed_at": iso(v.closed_at),
                  "result": v.result}
                 for v in db.session.scalars(select(Vote).where(Vote.meeting_id == meeting.id).order_by(Vote.id))]
        _json(root / "votes.json", votes)
        _json(root / "events.json", realtime.events_after(meeting.id, 0))
        hidden = {int(w["document_id"]) for w in withheld}
        ballots = _ballots(meeting, root, {d.id for d in documents}, hidden)
        _json(root / "ballots.json", ballots)
        readable_documents = [d for d in documents if d.id not in hidden]
        records = _records_of(meeting, readable_documents, [b["id"] for b in ballots], minutes.archive_audit_id or 0)
        _json(root / "audit.json", records)
        roots = keystore.trust_roots()
        (root / "ca").mkdir()
        for n, cert in enumerate(roots):
            (root / f"ca/root-{n}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        facts = json.loads(json.dumps(_facts(meeting, votes), default=str))
        write_statement(root, office.ensure(current_app.config["DATA_DIR"]), roots, {
            "kind": "meeting_archive", **facts,
            "minutes": {"sha256": minutes.signed_sha256, "signers": _minutes_signers(minutes, signed, meeting)},
            "documents": [{k: d[k] for k in ("file", "document_id", "version", "sha256")} for d in listed],
            "withheld": withheld,
            "reader": {"user_id": reader.id, "clearance": str(reader.clearance)},
            "audit": {"records": len(records), "last": {"id": records[-1]["id"], "hash": records[-1]["hash"]}
                      if records else None, "head": audit.head()},
        })
        bagit.make_bag(str(root), {"Source-Organization": keystore.OFFICE,
                                   "External-Description": f"Hồ sơ phiên họp: {meeting.title}",
                                   "External-Identifier": f"meeting-{meeting.id}"}, checksums=["sha256"])
        return zip_bag(root)


def verify_bag(path: Path, trust: Trust | None = None) -> VerifyResult:
    """The manifests, the office's signed statement, both minutes signatures by the signers it names, every
    ballot signature, and the audit excerpt (each record's hash, the dossiers, votes and the chair's
    signature as it records them); no database. ``trust`` defaults to this deployment's pinned office."""
    result = VerifyResult()
    if trust is None:
        trust = local_trust(None, None, bag_roots=False)
    with unpacked_bag(path, result) as root:
        return _verify_dir(root, trust, result) if root is not None else result


def _verify_dir(root: Path, trust: Trust, result: VerifyResult) -> VerifyResult:
    if not manifest_valid(root, result):
        return result
    data = root / "data"
    statement = check_statement(data, trust, result)
    if statement is None:
        return result
    body, trust_roots = statement.body, statement.roots
    try:
        records = json.loads((data / "audit.json").read_text(encoding="utf-8"))
        ballots = json.loads((data / "ballots.json").read_text(encoding="utf-8"))
        votes = json.loads((data / "votes.json").read_text(encoding="utf-8"))
        meeting = json.loads((data / "meeting.json").read_text(encoding="utf-8"))
        expected = body["minutes"]["signers"]
        stated_votes, conclusions = body["votes"], body["conclusions"]
        if body.get("kind") != "meeting_archive":
            raise ValueError("not a meeting archive")
    except (OSError, ValueError, KeyError, TypeError) as error:
        result.fail(f"bag content: {error}")
        return result
    _check_minutes(data, body, expected, trust_roots, result)
    if [{k: v[k] for k in ("id", "agenda_item_id", "status", "result")} for v in votes] != stated_votes:
        result.fail("votes.json: differs from the votes the statement records")
    if [{"agenda_item_id": i["id"], "conclusion": i["conclusion"],
         "adopted_without_discussion": i["adopted_without_discussion"]} for i in meeting.get("agenda", [])] \
            != conclusions:
        result.fail("meeting.json: the conclusions differ from those the statement records")
    for ballot in ballots:
        for name in ballot["files"]:
            try:
                validate_signed_pdf((data / name).read_bytes(), trust_roots=trust_roots)
                result.lines.append(f"ok   {name}")
            except (OSError, SignatureRejected) as error:
                result.fail(f"{name}: {getattr(error, 'code', error)}")
    _check_excerpt(records, body, result)
    return result


def _check_minutes(data: Path, body: dict[str, Any], expected: list[dict[str, Any]],
                   trust_roots: list[x509.Certificate], result: VerifyResult) -> None:
    try:
        blob = (data / "minutes.pdf").read_bytes()
        if hashlib.sha256(blob).hexdigest() != body["minutes"]["sha256"]:
            raise SignatureRejected("not_the_signed_minutes", "not the minutes the statement names")
        report = validate_signed_pdf(blob, trust_roots=trust_roots, allow_later_signatures=True,
                                     expected_signer=lambda info: certificate_sha256(info.certificate)
                                     == expected[-1]["certificate_sha256"])
        if len(report.signatures) != 2 or len(expected) != 2:
            raise SignatureRejected("signature_count", "not exactly the two stated signatures")
        for signature, signer in zip(report.signatures, expected, strict=True):
            if (signature.field_name, certificate_sha256(signature.certificate)) \
                    != (signer["field"], signer["certificate_sha256"]):
                raise SignatureRejected("signers_not_those_stated", "signed by others than those stated")
        result.lines.append("ok   minutes.pdf: " + ", ".join(
            f"{s['role']} {s['username']} ({s['subject']})" for s in expected))
    except (OSError, SignatureRejected) as error:
        result.fail(f"minutes.pdf: {getattr(error, 'code', error)}")


def _check_excerpt(records: list[dict[str, Any]], body: dict[str, Any], result: VerifyResult) -> None:
    """Each record against its own hash, in chain order, ending with the chair's signature of these minutes;
    every dossier file and every vote result as the records name them."""
    previous = 0
    for row in records:
        content = {key: row.get(key) for key in ("id", "at", "actor_id", "actor", "action", "object", "data", "ip")}
        if not isinstance(row.get("id"), int) or row["id"] <= previous:
            result.fail(f"audit chain: record {row.get('id')}: out of order")
            return
        if audit.chain_hash(str(row.get("prev_hash")), content) != row.get("hash"):
            result.fail(f"audit chain: record {row['id']}: content does not match its hash (edited)")
            return
        previous = row["id"]
    last = body.get("audit", {}).get("last")
    if not records or last != {"id": records[-1]["id"], "hash": records[-1]["hash"]}:
        result.fail("audit chain: the excerpt does not end where the statement says")
        return
    if records[-1]["action"] != "minutes.signed" or records[-1]["data"].get("sha256") != body["minutes"]["sha256"]:
        result.fail("audit chain: it does not end with the chair's signature of this minutes.pdf")
        return
    recorded = {(r["object"][1], r["data"].get("version"), r["data"].get("sha256")) for r in records
                if r["action"] in ("document.added", "document.versioned")}
    for document in body.get("documents", []):
        if (str(document["document_id"]), document["version"], document["sha256"]) not in recorded:
            result.fail(f"{document['file']}: no audit record of this upload (the dossier was changed)")
    closed = {r["object"][1]: r["data"] for r in records if r["action"] == "vote.closed"}
    for vote in body.get("votes", []):
        if vote["status"] == "closed" and closed.get(str(vote["id"])) != vote["result"]:
            result.fail(f"vote {vote['id']}: its result differs from the audit record of its closing")
    concluded = {r["object"][1]: r["data"].get("text") for r in records if r["action"] == "conclusion.set"}
    for item in body.get("conclusions", []):
        if str(item["agenda_item_id"]) in concluded and concluded[str(item["agenda_item_id"])] != item["conclusion"]:
            result.fail(f"agenda item {item['agenda_item_id']}: its conclusion differs from the audit record")
    if result.ok:
        result.lines.append(f"ok   audit excerpt ({len(records)} records of this meeting, each matching its hash; "
                            f"the chain's record #{records[-1]['id']} is the chair's signature)")
