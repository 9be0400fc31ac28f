"""An archived meeting as a BagIt bag, and the verifier that needs no database.

Layout under ``data/``: meeting.json (agenda, participants), documents/<id>-v<n>-<file>.pdf (every
version as uploaded), minutes.pdf (both signatures), minutes-drafts/v<n>.pdf, votes.json,
events.json, audit.json (every record from genesis to the chair's signature, so the chain verifies),
ballots/<number>/... (signed slips and reports of ballots on this meeting's documents), ca/*.pem.
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
from sqlalchemy import select

from ecabinet import audit, keystore, realtime, storage
from ecabinet.auth.models import User
from ecabinet.bags import VerifyResult, manifest_valid, unpacked_bag, zip_bag
from ecabinet.database import db
from ecabinet.signing import SignatureRejected, validate_signed_pdf
from meetings.live.models import Vote
from meetings.minutes import service
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
        "started_at": service._iso(meeting.started_at), "closed_at": service._iso(meeting.closed_at),
        "agenda": [{"id": i.id, "position": i.position, "title": i.title, "presenter": i.presenter,
                    "duration_minutes": i.duration_minutes, "conclusion": i.conclusion,
                    "adopted_without_discussion": i.adopted_without_discussion} for i in meeting.agenda],
        "participants": [{"user_id": p.user_id, "username": p.user.username, "full_name": p.user.full_name,
                          "title": p.user.title, "role": p.role, "represents_user_id": p.represents_user_id,
                          "approved_at": service._iso(p.approved_at), "checked_in_at": service._iso(p.checked_in_at),
                          "absence_reason": p.absence_reason, "agenda_item_ids": p.agenda_item_ids}
                         for p in meeting.participants],
    }


def _ballots(meeting: Meeting, root: Path, document_ids: set[int]) -> list[dict[str, Any]]:
    """Ballots that carry one of this meeting's documents: their signed slips and reports."""
    try:
        from ballots.models import Ballot
        from ballots.service import current_revisions
    except ImportError:
        return []
    listed = []
    for ballot in db.session.scalars(select(Ballot).order_by(Ballot.id)):
        if not document_ids.intersection(ballot.document_ids or []):
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


def export_bag_zip(meeting: Meeting) -> bytes:
    """A zipped BagIt bag (SHA-256 manifests) of an archived meeting."""
    from documents.models import Document

    minutes = service.get_minutes(meeting)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / f"meeting-{meeting.id}"
        root.mkdir()
        _json(root / "meeting.json", _meeting_json(meeting, minutes.secretary))
        documents = list(db.session.scalars(select(Document).where(Document.meeting_id == meeting.id)
                                            .order_by(Document.id)))
        listed = []
        for document in documents:
            for version in document.versions:
                name = f"documents/{document.id}-v{version.number}-{_safe(version.filename or 'document.pdf')}"
                (root / name).parent.mkdir(parents=True, exist_ok=True)
                (root / name).write_bytes(storage.get(version.sha256))
                listed.append({"file": name, "document_id": document.id, "title": document.title,
                               "agenda_item_id": document.agenda_item_id, "version": version.number,
                               "sha256": version.sha256, "uploaded_at": version.uploaded_at.isoformat()})
        _json(root / "documents.json", listed)
        (root / "minutes.pdf").write_bytes(storage.get(minutes.signed_sha256 or ""))
        for version in minutes.versions:
            (root / "minutes-drafts").mkdir(exist_ok=True)
            (root / f"minutes-drafts/v{version.version}.pdf").write_bytes(storage.get(version.sha256))
        _json(root / "minutes.json", service.minutes_dict(minutes))
        votes = db.session.scalars(select(Vote).where(Vote.meeting_id == meeting.id).order_by(Vote.id))
        _json(root / "votes.json", [{"id": v.id, "agenda_item_id": v.agenda_item_id, "question": v.question,
                                     "secret": v.secret, "status": v.status, "opened_at": v.opened_at.isoformat(),
                                     "closed_at": service._iso(v.closed_at), "result": v.result} for v in votes])
        _json(root / "events.json", realtime.events_after(meeting.id, 0))
        records = [r for r in audit.iter_records() if r["id"] <= (minutes.archive_audit_id or 0)]
        _json(root / "audit.json", records)
        _json(root / "ballots.json", _ballots(meeting, root, {d.id for d in documents}))
        (root / "ca").mkdir()
        for n, cert in enumerate(keystore.trust_roots()):
            (root / f"ca/root-{n}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        bagit.make_bag(str(root), {"Source-Organization": keystore.OFFICE,
                                   "External-Description": f"Hồ sơ phiên họp: {meeting.title}",
                                   "External-Identifier": f"meeting-{meeting.id}"}, checksums=["sha256"])
        return zip_bag(root)


def verify_bag(path: Path, trust_roots: list[x509.Certificate] | None = None) -> VerifyResult:
    """The manifests, both minutes signatures, every ballot signature and the audit chain; no database.

    ``trust_roots`` default to the roots stored in the bag (``data/ca``); the CLI passes the
    data directory's built-in CA when there is one, so a bag cannot vouch for itself there.
    """
    result = VerifyResult()
    with unpacked_bag(path, result) as root:
        return _verify_dir(root, trust_roots, result) if root is not None else result


def _verify_dir(root: Path, trust_roots: list[x509.Certificate] | None, result: VerifyResult) -> VerifyResult:
    if not manifest_valid(root, result):
        return result
    data = root / "data"
    if trust_roots is None:
        trust_roots = [x509.load_pem_x509_certificate(p.read_bytes()) for p in sorted((data / "ca").glob("*.pem"))]
    try:
        meeting = json.loads((data / "meeting.json").read_text(encoding="utf-8"))
        minutes = json.loads((data / "minutes.json").read_text(encoding="utf-8"))
        records = json.loads((data / "audit.json").read_text(encoding="utf-8"))
        ballots = json.loads((data / "ballots.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        result.fail(f"bag content: {error}")
        return result
    signers = meeting.get("minutes_signers", {})
    try:
        blob = (data / "minutes.pdf").read_bytes()
        report = validate_signed_pdf(blob, trust_roots=trust_roots, allow_later_signatures=True,
                                     expected_signer=lambda info: info.username == signers.get("chair"))
        if len(report.signatures) != 2:
            raise SignatureRejected("signature_count")
        first, second = report.signatures
        if (first.field_name, first.username) != (service.FIELD_NAMES["secretary"], signers.get("secretary")) \
                or second.field_name != service.FIELD_NAMES["chair"]:
            raise SignatureRejected("signers_out_of_order")
        result.lines.append("ok   minutes.pdf: " + ", ".join(s.subject for s in report.signatures))
    except (OSError, SignatureRejected) as error:
        result.fail(f"minutes.pdf: {getattr(error, 'code', error)}")
    if minutes.get("status") != "signed":
        result.fail("minutes.json: the minutes are not signed")
    signed_sha = hashlib.sha256((data / "minutes.pdf").read_bytes()).hexdigest()
    if minutes.get("sha256") != signed_sha:
        result.fail("minutes.json: does not name the signed minutes.pdf")
    for ballot in ballots:
        for name in ballot["files"]:
            try:
                validate_signed_pdf((data / name).read_bytes(), trust_roots=trust_roots)
                result.lines.append(f"ok   {name}")
            except (OSError, SignatureRejected) as error:
                result.fail(f"{name}: {getattr(error, 'code', error)}")
    problem = audit.verify_records(records)
    if problem is not None:
        result.fail(f"audit chain: record {problem.record_id}: {problem.reason}")
    elif not records or records[-1].get("action") != "minutes.signed" \
            or records[-1]["data"].get("sha256") != signed_sha:
        result.fail("audit chain: it does not end with the chair's signature of this minutes.pdf")
    else:
        result.lines.append(f"ok   audit chain ({len(records)} records from genesis)")
    return result
