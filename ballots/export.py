"""Export a closed ballot as a BagIt bag that proves itself, and verify such a bag without the database.

The bag's statement (``ecabinet.bags``) is signed with the Government Office key and names every file;
the report must be signed by that same certificate: the office is known by its certificate, never by a
user name inside one (any account can be called ``vpcp``).
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path
from typing import Any

import bagit
from flask import current_app

from ballots import pdf, rules
from ballots.models import Ballot
from ballots.service import current_revisions
from ecabinet import audit, keystore, office
from ecabinet.auth.models import User
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
from ecabinet.signing import SignatureRejected, certificate_sha256, validate_signed_pdf


def export_bag_zip(ballot: Ballot) -> bytes:
    """A zipped BagIt bag: data/slips/*.pdf (current signed slips), data/report.pdf, data/ballot.json."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / f"ballot-{ballot.id}"
        (root / "slips").mkdir(parents=True)
        slips = []
        for revision in current_revisions(ballot):
            user = db.session.get(User, revision.user_id)
            name = f"slips/{user.username if user else revision.user_id}-v{revision.version}.pdf"
            (root / name).write_bytes(revision.slip_pdf)
            slips.append({"file": name, "user_id": revision.user_id, "version": revision.version,
                          "sha256": revision.sha256, "level": revision.level})
        (root / "report.pdf").write_bytes(ballot.report_pdf or b"")
        facts = {
            "id": ballot.id, "number": ballot.number, "title": ballot.title, "status": ballot.status,
            "deadline": ballot.deadline.isoformat(),
            "closed_at": ballot.closed_at.isoformat() if ballot.closed_at else None,
            "non_answer_policy": ballot.non_answer_policy,
            "questions": [{"id": q.id, "text": q.text} for q in ballot.questions],
            "recipient_ids": [r.user_id for r in ballot.recipients], "tally": ballot.tally,
            "report_sha256": ballot.report_sha256, "slips": slips}
        (root / "ballot.json").write_text(json.dumps(facts, ensure_ascii=False, indent=2), encoding="utf-8")
        write_statement(root, office.ensure(current_app.config["DATA_DIR"]), keystore.trust_roots(),
                        {"kind": "ballot", "ballot": json.loads(json.dumps(facts, default=str)),
                         "audit_head": audit.head()})
        bagit.make_bag(str(root), {"Source-Organization": keystore.OFFICE, "External-Description":
                                   f"Phiếu lấy ý kiến {ballot.number}"}, checksums=["sha256"])
        return zip_bag(root)


def verify_bag(path: Path, trust: Trust | None = None) -> VerifyResult:
    """Manifest, the signed statement, the report's signature by the office, every slip's signature and the
    re-tally; no database. ``trust`` defaults to this deployment's pinned office certificate."""
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
    trust_roots = statement.roots
    facts = statement.body.get("ballot") or {}
    try:
        if json.loads((data / "ballot.json").read_text(encoding="utf-8")).get("id") != facts.get("id"):
            raise SignatureRejected("ballot_json_mismatch", "ballot.json is not the stated ballot")
        report_bytes = (data / "report.pdf").read_bytes()
        validate_signed_pdf(report_bytes, trust_roots=trust_roots, expected_signer=lambda info:
                            certificate_sha256(info.certificate) == statement.office_sha256)
        report: dict[str, Any] | None = pdf.read_report_tally(report_bytes)
        if report is None:
            raise SignatureRejected("unparseable_pdf")
        if report.get("ballot_id") != facts.get("id"):
            raise SignatureRejected("another_ballot", "the report of another ballot")
        result.lines.append("ok   report.pdf signed by the Government Office's certificate")
    except (OSError, ValueError, SignatureRejected) as error:
        result.fail(f"report.pdf: {getattr(error, 'code', error)}")
        return result
    stated = {s.get("sha256") for s in facts.get("slips", [])}
    if stated != {s["sha256"] for s in report["slips"]}:
        result.fail("the slips the statement names differ from those the report counted")
    # the office-signed report names the certificate that signed each counted slip: that, not a
    # name inside the certificate (a real CA's carries none of ours), binds a slip to its member
    listed = {s["sha256"]: s.get("certificate_sha256") for s in report["slips"]}
    answers = []
    hashes = set()
    for slip in sorted((data / "slips").glob("*.pdf")):
        blob = slip.read_bytes()
        digest = hashlib.sha256(blob).hexdigest()
        if digest not in listed:
            result.fail(f"{slip.name}: not a slip the report counted")
            continue
        fingerprint = listed[digest]
        if not fingerprint:
            result.fail(f"{slip.name}: the report names no signer certificate for it")
            continue
        try:
            embedded = pdf.read_slip_answers(blob)
            checked = validate_signed_pdf(blob, trust_roots=trust_roots, expected_signer=lambda info, fp=fingerprint:
                                          certificate_sha256(info.certificate) == fp)
        except SignatureRejected as error:
            result.fail(f"{slip.name}: {error.code}")
            continue
        if embedded is None or embedded.get("ballot_id") != report["ballot_id"]:
            result.fail(f"{slip.name}: not an answer slip of this ballot")
            continue
        hashes.add(digest)
        answers.append(embedded["answers"])
        result.lines.append(f"ok   {slip.name} signed by {checked.subject}, the certificate the report lists")
    if hashes != set(listed):
        result.fail(f"the slips differ from those the report counted ({len(hashes)} valid, {len(listed)} listed)")
    recount = rules.tally(report["question_ids"], answers, report["total_members"], report["policy"])
    if recount != report["tally"]:
        result.fail("the tally recomputed from the signed slips does not match the report")
    else:
        result.lines.append("ok   tally recomputed from the signed slips matches the report")
    return result
