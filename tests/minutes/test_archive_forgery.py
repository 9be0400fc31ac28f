"""Forged meeting archives, each with the BagIt manifests recomputed: `archive verify` refuses them.
Then with the statement signed again as though the forger held the office key: the minutes' signers,
the dossiers, the vote results and the conclusions are still held against the audit excerpt.
And what an archive holds: only its meeting, at the downloader's clearance."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.serialization import Encoding

from documents.models import Document
from ecabinet import audit, keystore, office, storage
from ecabinet.auth.models import Confidentiality
from ecabinet.bags import Trust
from ecabinet.database import db, write_transaction
from ecabinet.signing import BuiltinCA, certificate_sha256, sign_pdf
from meetings.minutes import service
from meetings.minutes.archive import verify_bag
from meetings.models import Meeting
from tests.documents import corpus
from tests.forgeries import resave, restate
from tests.minutes.conftest import PIN


def _sign_both(session: Any) -> None:
    clients, meeting_id = session.clients, session.meeting_id
    assert clients["secretary"].post(f"/meetings/{meeting_id}/minutes").status_code == 201
    for who in ("secretary", "chair"):
        assert clients[who].post(f"/meetings/{meeting_id}/minutes/sign", json={"pin": PIN}).status_code == 200


def _download(session: Any, who: str, tmp_path: Path) -> Path:
    answer = session.clients[who].get(f"/meetings/{session.meeting_id}/archive.zip")
    assert answer.status_code == 200, answer.get_data(as_text=True)
    with zipfile.ZipFile(io.BytesIO(answer.data)) as archive:
        archive.extractall(tmp_path / who)
    return tmp_path / who / f"meeting-{session.meeting_id}"


@pytest.fixture
def archived(closed_session: Any, tmp_path: Path) -> tuple[Any, Path]:
    _sign_both(closed_session)
    return closed_session, _download(closed_session, "secretary", tmp_path)


def _verify(app: Any, root: Path, *options: str) -> Any:
    return app.test_cli_runner().invoke(args=["ecabinet", "archive", "verify", *options, str(root)])


def _refused(app: Any, root: Path, reason: str) -> None:
    result = _verify(app, root)
    assert result.exit_code == 1, result.output
    assert f"FAIL {reason}" in result.output, result.output
    assert "ARCHIVE REFUSED" in result.output


def _edit_json(path: Path, change: Any) -> Any:
    value = json.loads(path.read_text(encoding="utf-8"))
    change(value)
    path.write_text(json.dumps(value, ensure_ascii=False), encoding="utf-8")
    return value


def _statement(root: Path) -> dict[str, Any]:
    return json.loads((root / "data/statement.json").read_text(encoding="utf-8"))


def test_the_genuine_archive_verifies_with_the_office_given_from_outside(app: Any, archived: Any,
                                                                          tmp_path: Path) -> None:
    _, root = archived
    fingerprint = office.ensure(app.config["DATA_DIR"]).fingerprint
    result = _verify(app, root, "--office-fingerprint", fingerprint)
    assert result.exit_code == 0, result.output
    assert "ok   minutes.pdf: secretary secretary" in result.output and "ok   audit excerpt" in result.output
    assert _verify(app, root).exit_code == 0  # on the server: this deployment's own office certificate
    refused = verify_bag(root, Trust())  # elsewhere, nothing is trusted unless given
    assert not refused.ok and any("no trust anchor" in line for line in refused.lines)


def test_minutes_replaced_by_a_pdf_an_ordinary_member_signed_twice_are_refused(app: Any, archived: Any,
                                                                                cast: Any) -> None:
    session, root = archived
    keystore.issue_credential(cast.member_a, PIN, actor=None)
    minutes = service.get_minutes(db.session.get(Meeting, session.meeting_id))
    draft = minutes.current
    forged = storage.get(draft.sha256)
    with keystore.unlocked_signer(cast.member_a, PIN) as (signer, _):
        for role in ("secretary", "chair"):
            page, rect = draft.signature_boxes[role]
            forged = sign_pdf(forged, signer, field_name=service.FIELD_NAMES[role], box=tuple(rect), page=page)
    (root / "data/minutes.pdf").write_bytes(forged)
    _edit_json(root / "data/meeting.json", lambda m: m.update(
        minutes_signers={"secretary": "member_a", "chair": "member_a"}))
    resave(root)
    _refused(app, root, "minutes.pdf: differs from the file the signed statement names")
    # the forger holding the office key states the new file and even names member_a as both signers
    member_cert = certificate_sha256(keystore.active_credential(cast.member_a).certificate)
    signers = [{**s, "username": "member_a", "certificate_sha256": member_cert}
               for s in _statement(root)["minutes"]["signers"]]
    restate(root, minutes={"sha256": hashlib.sha256(forged).hexdigest(), "signers": signers})
    _refused(app, root, "audit chain: it does not end with the chair's signature of this minutes.pdf")


def test_minutes_signed_by_others_than_the_statement_names_are_refused(app: Any, archived: Any) -> None:
    _, root = archived
    statement = _statement(root)
    signers = [dict(s) for s in statement["minutes"]["signers"]]
    signers[0]["certificate_sha256"], signers[1]["certificate_sha256"] = (signers[1]["certificate_sha256"],
                                                                          signers[0]["certificate_sha256"])
    restate(root, minutes={**statement["minutes"], "signers": signers})
    _refused(app, root, "minutes.pdf: wrong_signer")


def test_a_changed_dossier_is_refused_and_not_found_in_the_audit_excerpt(app: Any, archived: Any) -> None:
    _, root = archived
    dossier = sorted((root / "data/documents").glob("*.pdf"))[0]
    other = corpus.valid_pdf(4, text="Tờ trình đã bị thay")
    dossier.write_bytes(other)
    digest = hashlib.sha256(other).hexdigest()
    name = f"documents/{dossier.name}"
    _edit_json(root / "data/documents.json", lambda docs: [d.update(sha256=digest) for d in docs if d["file"] == name])
    resave(root)
    _refused(app, root, f"{name}: differs from the file the signed statement names")
    documents = [{**d, "sha256": digest} if d["file"] == name else d for d in _statement(root)["documents"]]
    restate(root, documents=documents)
    _refused(app, root, f"{name}: no audit record of this upload (the dossier was changed)")


def test_changed_vote_results_are_refused(app: Any, archived: Any) -> None:
    _, root = archived

    def flip(votes: list[dict[str, Any]]) -> None:
        votes[0]["result"]["passed"] = not votes[0]["result"]["passed"]

    votes = _edit_json(root / "data/votes.json", flip)
    resave(root)
    _refused(app, root, "votes.json: differs from the file the signed statement names")
    stated = [{k: v[k] for k in ("id", "agenda_item_id", "status", "result")} for v in votes]
    restate(root, votes=stated)
    _refused(app, root, f"vote {votes[0]['id']}: its result differs from the audit record of its closing")


def test_changed_conclusions_are_refused(app: Any, archived: Any) -> None:
    _, root = archived

    def rewrite(meeting: dict[str, Any]) -> None:
        meeting["agenda"][0]["conclusion"] = "Chính phủ không thông qua dự án Luật."

    meeting = _edit_json(root / "data/meeting.json", rewrite)
    resave(root)
    _refused(app, root, "meeting.json: differs from the file the signed statement names")
    conclusions = [{"agenda_item_id": i["id"], "conclusion": i["conclusion"],
                    "adopted_without_discussion": i["adopted_without_discussion"]} for i in meeting["agenda"]]
    restate(root, conclusions=conclusions)
    _refused(app, root, f"agenda item {meeting['agenda'][0]['id']}: its conclusion differs from the audit record")


@pytest.mark.parametrize("name", ["events.json", "audit.json", "minutes.json", "ballots.json"])
def test_any_other_changed_file_is_refused(app: Any, archived: Any, name: str) -> None:
    _, root = archived
    _edit_json(root / "data" / name, lambda value: value.append({"forged": True}) if isinstance(value, list)
               else value.update(forged=True))
    resave(root)
    _refused(app, root, f"{name}: differs from the file the signed statement names")


def test_an_added_file_is_refused(app: Any, archived: Any) -> None:
    _, root = archived
    (root / "data/documents/99-v1-extra.pdf").write_bytes(corpus.valid_pdf(1))
    resave(root)
    _refused(app, root, "documents/99-v1-extra.pdf: not named in the signed statement (added)")


def test_a_bag_re_signed_by_another_office_with_its_own_roots_is_refused_unless_explicitly_trusted(
        app: Any, archived: Any, tmp_path: Path) -> None:
    from ecabinet.bags import write_statement

    _, root = archived
    ca = BuiltinCA.create_or_load(tmp_path / "forger-ca", organisation="Chính phủ Việt Nam")
    key, cert = ca.issue_signing_certificate(common_name="Văn phòng Chính phủ", organisation="Chính phủ Việt Nam",
                                             username="vpcp")
    (root / "data/ca/root-0.pem").write_bytes(ca.root_certificate.public_bytes(Encoding.PEM))
    statement = _statement(root)
    facts = {k: v for k, v in statement.items()
             if k not in {"format", "version", "issued_at", "office_sha256", "trust_roots", "files"}}
    write_statement(root / "data", office.Office(key, cert), [ca.root_certificate], facts)
    resave(root)
    result = _verify(app, root)
    assert result.exit_code == 1 and f"signed by certificate {office.fingerprint(cert)}" in result.output
    genuine = office.ensure(app.config["DATA_DIR"]).fingerprint
    assert _verify(app, root, "--office-fingerprint", genuine).exit_code == 1
    trusted = _verify(app, root, "--bag-roots")  # only when told: the bag then vouches for itself
    assert "WARN trusting the office certificate carried in the bag" in trusted.output


def _record(action: str, target: tuple[str, str], data: dict[str, Any]) -> None:
    with write_transaction():
        audit.record(None, action, target, data)


def test_an_archive_holds_only_its_meeting_at_the_downloaders_clearance(app: Any, closed_session: Any,
                                                                        cast: Any, tmp_path: Path) -> None:
    session = closed_session
    other = Meeting(title="Phiên họp chuyên đề khác", kind="thematic", starts_at=db.session.get(
        Meeting, session.meeting_id).starts_at, location="Hà Nội", chair_id=cast.chair.id,
        created_by_id=cast.secretary.id)
    db.session.add(other)
    db.session.commit()
    _record("meeting.created", ("meetings", str(other.id)), {"title": other.title})
    _record("auth.login", ("users", str(cast.chair.id)), {"method": "password"})
    # the first dossier becomes Tuyệt mật: the chair (cleared for Mật) may not hold it, the secretary may
    secret_doc = db.session.scalars(sa.select(Document).where(Document.meeting_id == session.meeting_id)).first()
    secret_doc.confidentiality = Confidentiality.TOP_SECRET
    cast.secretary.clearance = Confidentiality.TOP_SECRET
    db.session.commit()
    _sign_both(session)

    chair_root = _download(session, "chair", tmp_path)
    secretary_root = _download(session, "secretary", tmp_path)
    chair_statement, secretary_statement = _statement(chair_root), _statement(secretary_root)
    assert not any(f"documents/{secret_doc.id}-" in name for name in chair_statement["files"])
    assert {w["document_id"] for w in chair_statement["withheld"]} == {secret_doc.id}
    assert any(f"documents/{secret_doc.id}-" in name for name in secretary_statement["files"])
    assert secretary_statement["withheld"] == []
    for root in (chair_root, secretary_root):
        records = json.loads((root / "data/audit.json").read_text(encoding="utf-8"))
        assert records and all(r["action"] != "auth.login" for r in records)
        assert ["meetings", str(other.id)] not in [r["object"] for r in records]
        assert {r["object"][0] for r in records} <= {"meetings", "agenda_items", "participants", "speaker_requests",
                                                     "votes", "documents", "ballots"}
        assert _verify(app, root).exit_code == 0
    chair_records = json.loads((chair_root / "data/audit.json").read_text(encoding="utf-8"))
    assert ["documents", str(secret_doc.id)] not in [r["object"] for r in chair_records]

    meeting = db.session.get(Meeting, session.meeting_id)
    meeting.confidentiality = Confidentiality.TOP_SECRET
    db.session.commit()
    refused = session.clients["chair"].get(f"/meetings/{session.meeting_id}/archive.zip")
    assert refused.status_code in (403, 404) and refused.mimetype == "application/json"
    assert refused.get_json()["error"]["code"] in ("clearance_insufficient", "meeting_not_found", "not_found")


def test_the_signed_minutes_name_the_audit_head_they_follow(archived: Any) -> None:
    from ecabinet.pdf import read_attachment

    _, root = archived
    named = json.loads(read_attachment((root / "data/minutes.pdf").read_bytes(), audit.HEAD_ATTACHMENT) or b"null")
    assert named is not None
    record = db.session.get(audit.AuditRecord, named["id"])
    assert record is not None and record.hash == named["hash"]  # the last record before the draft was drawn


def test_an_archive_is_still_served_when_a_signers_certificate_no_longer_validates(
        app: Any, archived: Any, cast: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    session, before = archived
    # the deployment stopped trusting the CA that issued the signers' certificates (a root withdrawn)
    other = BuiltinCA.create_or_load(tmp_path / "other-ca", organisation="Ban Cơ yếu Chính phủ")
    monkeypatch.setattr(keystore, "trust_roots", lambda: [other.root_certificate])
    after = _download(session, "secretary", tmp_path / "after")
    signers = _statement(after)["minutes"]["signers"]
    assert [s["certificate_sha256"] for s in signers] == [
        s["certificate_sha256"] for s in _statement(before)["minutes"]["signers"]]
    assert signers[1]["certificate_sha256"] == certificate_sha256(keystore.active_credential(cast.chair).certificate)
    refused = _verify(app, after)
    assert refused.exit_code == 1 and "FAIL minutes.pdf: untrusted_certificate" in refused.output
