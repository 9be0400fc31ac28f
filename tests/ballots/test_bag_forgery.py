"""Forged ballot bags, each with the BagIt manifests recomputed (anyone can): `ballots verify` refuses
them all, because the office is known by its certificate, given from outside the bag."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import bagit
import pytest

from ballots import pdf, rules, service
from ballots.export import verify_bag
from ecabinet import keystore, office
from ecabinet.auth.models import Role
from ecabinet.auth.service import create_user
from ecabinet.bags import STATEMENT, Trust, write_statement
from ecabinet.signing import certificate_sha256, sign_pdf
from tests.forgeries import restate

from .conftest import PIN, answers_for
from .test_export import _closed_bag


@pytest.fixture
def bag(app: Any, api: Any, cast: Any, make_ballot: Any, tmp_path: Path) -> tuple[Any, Path, Path]:
    ballot, path = _closed_bag(api, cast, make_ballot, tmp_path)
    root = tmp_path / "unpacked"
    with zipfile.ZipFile(path) as archive:
        archive.extractall(root)
    return ballot, path, next(root.iterdir())


def _office_sha256(app: Any) -> str:
    return office.ensure(app.config["DATA_DIR"]).fingerprint


def _verify(app: Any, target: Path, *options: str) -> Any:
    return app.test_cli_runner().invoke(args=["ecabinet", "ballots", "verify", *options, str(target)])


def _impostor_vpcp(cast: Any) -> Any:
    """An ordinary account named `vpcp`, with a certificate from the same built-in CA."""
    user = create_user(username="vpcp", full_name="Văn phòng Chính phủ", password="long-enough-pass",
                       roles=[Role.MEMBER], actor=cast.admin)
    keystore.issue_credential(user, PIN, actor=cast.admin)
    return user


def _sign_as(user: Any, blob: bytes, built: Any) -> bytes:
    placement = built.signature_boxes["office"]
    with keystore.unlocked_signer(user, PIN) as (signer, _):
        return sign_pdf(blob, signer, field_name="VanPhongChinhPhu", box=placement.rect, page=placement.page_index,
                        signer_name_text=["Văn phòng Chính phủ"])


def test_the_genuine_bag_verifies_with_the_anchor_given_from_outside(app: Any, bag: Any, tmp_path: Path) -> None:
    _, path, _ = bag
    result = _verify(app, path, "--office-fingerprint", _office_sha256(app))
    assert result.exit_code == 0, result.output
    cert = tmp_path / "office.pem"
    cert.write_text(office.certificate_pem(office.ensure(app.config["DATA_DIR"]).certificate))
    assert _verify(app, path, "--office-cert", str(cert)).exit_code == 0
    assert _verify(app, path).exit_code == 0  # on the server: this deployment's office certificate


def test_without_an_anchor_off_the_server_the_bag_is_refused(bag: Any) -> None:
    _, path, _ = bag
    result = verify_bag(path, Trust())
    assert not result.ok and any("no trust anchor" in line for line in result.lines)


def test_another_office_fingerprint_refuses_the_bag(app: Any, bag: Any) -> None:
    _, path, _ = bag
    result = _verify(app, path, "--office-fingerprint", "ab" * 32)
    assert result.exit_code == 1 and "not the Government Office's" in result.output


def test_an_edited_ballot_json_with_recomputed_manifests_is_refused(app: Any, bag: Any) -> None:
    _, _, root = bag
    facts = json.loads((root / "data/ballot.json").read_text(encoding="utf-8"))
    facts["title"] = "Một dự thảo khác"
    facts["tally"] = []
    (root / "data/ballot.json").write_text(json.dumps(facts, ensure_ascii=False), encoding="utf-8")
    bagit.Bag(str(root)).save(manifests=True)
    result = _verify(app, root, "--office-fingerprint", _office_sha256(app))
    assert result.exit_code == 1
    assert "FAIL ballot.json: differs from the file the signed statement names" in result.output


def test_a_report_signed_by_an_account_named_vpcp_with_a_slip_dropped_is_refused(app: Any, bag: Any,
                                                                                   cast: Any) -> None:
    ballot, _, root = bag
    anchor = _office_sha256(app)
    impostor = _impostor_vpcp(cast)
    genuine = pdf.read_report_tally((root / "data/report.pdf").read_bytes())
    dropped = next((root / "data/slips").glob("member_a-*.pdf"))
    kept = [s for s in genuine["slips"] if s["user_id"] != str(cast.member_a.id)]
    answers = [pdf.read_slip_answers(p.read_bytes())["answers"] for p in (root / "data/slips").glob("*.pdf")
               if p != dropped]
    tally = rules.tally(genuine["question_ids"], answers, genuine["total_members"], genuine["policy"])
    built = pdf.render_report(ballot, tally, len(kept), ballot.closed_at, kept)
    (root / "data/report.pdf").write_bytes(_sign_as(impostor, built.pdf, built))
    dropped.unlink()
    facts = json.loads((root / "data/ballot.json").read_text(encoding="utf-8"))
    facts["slips"] = [s for s in facts["slips"] if s["user_id"] != cast.member_a.id]
    (root / "data/ballot.json").write_text(json.dumps(facts, ensure_ascii=False), encoding="utf-8")
    bagit.Bag(str(root)).save(manifests=True)
    # the genuine statement no longer matches the files
    result = _verify(app, root, "--office-fingerprint", anchor)
    assert result.exit_code == 1 and "differs from the file the signed statement names" in result.output
    # a statement of the forger's own, signed by the `vpcp` account's key and carrying its certificate
    credential = keystore.active_credential(impostor)
    from ecabinet.signing import load_private_key

    forged = office.Office(load_private_key(credential.key_pem, PIN), credential.certificate)
    body = json.loads((root / "data" / STATEMENT).read_text(encoding="utf-8"))
    write_statement(root / "data", forged, keystore.trust_roots(),
                    {"kind": "ballot", "ballot": facts, "audit_head": body["audit_head"]})
    bagit.Bag(str(root)).save(manifests=True)
    for options in (["--office-fingerprint", anchor], []):
        result = _verify(app, root, *options)
        assert result.exit_code == 1, options
        assert f"signed by certificate {certificate_sha256(credential.certificate)}" in result.output
        assert "BAG REFUSED" in result.output
    assert "ok   report.pdf" not in result.output


def test_a_report_signed_by_the_vpcp_account_is_refused_even_inside_a_genuine_statement(
        app: Any, bag: Any, cast: Any) -> None:
    ballot, _, root = bag
    impostor = _impostor_vpcp(cast)
    genuine = pdf.read_report_tally((root / "data/report.pdf").read_bytes())
    built = pdf.render_report(ballot, genuine["tally"], len(genuine["slips"]), ballot.closed_at, genuine["slips"])
    (root / "data/report.pdf").write_bytes(_sign_as(impostor, built.pdf, built))
    # as though the office key itself had been used to state these files: the report's signer still decides
    restate(root)
    bagit.Bag(str(root)).save(manifests=True)
    result = _verify(app, root, "--office-fingerprint", _office_sha256(app))
    assert result.exit_code == 1 and "FAIL report.pdf: wrong_signer" in result.output


def test_the_statement_names_every_file_the_ballot_and_the_audit_head(app: Any, api: Any, cast: Any,
                                                                      make_ballot: Any, tmp_path: Path) -> None:
    ballot = make_ballot()
    body = {"answers": answers_for(ballot, "agree", "agree"), "pin": PIN}
    assert api(cast.member_a).post(f"/ballots/{ballot.id}/responses", body).status_code == 201
    service.close_ballot(ballot, actor=cast.secretary)
    path = tmp_path / "bag.zip"
    path.write_bytes(api(cast.secretary).get(f"/ballots/{ballot.id}/export.zip").get_data())
    with zipfile.ZipFile(path) as archive:
        statement = json.loads(archive.read(f"ballot-{ballot.id}/data/{STATEMENT}"))
    assert statement["ballot"]["id"] == ballot.id and statement["audit_head"]["id"] > 0
    assert set(statement["files"]) == {"ballot.json", "report.pdf", *(f"slips/{n}" for n in (
        s["file"].removeprefix("slips/") for s in statement["ballot"]["slips"]))}


def test_the_signed_report_names_the_audit_head_it_follows(bag: Any) -> None:
    from ecabinet import audit
    from ecabinet.database import db
    from ecabinet.pdf import read_attachment

    _, _, root = bag
    named = json.loads(read_attachment((root / "data/report.pdf").read_bytes(), audit.HEAD_ATTACHMENT) or b"null")
    record = db.session.get(audit.AuditRecord, named["id"])
    assert record is not None and record.hash == named["hash"]


def test_elsewhere_the_cli_needs_the_anchor_and_accepts_the_published_one(app: Any, bag: Any,
                                                                           tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    _, path, _ = bag
    fingerprint = _office_sha256(app)
    elsewhere = tmp_path / "auditor-laptop"
    elsewhere.mkdir()
    env = {**os.environ, "ECABINET_DATA_DIR": str(elsewhere), "ECABINET_ENV": "development"}
    env.pop("ECABINET_DATABASE_URL", None)
    root = Path(__file__).resolve().parents[2]

    def run(*options: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "ecabinet", "ballots",
                               "verify", *options, str(path)], cwd=root, env=env, capture_output=True, text=True,
                              check=False, timeout=240)

    refused = run()
    assert refused.returncode == 1 and "no trust anchor" in refused.stdout
    verified = run("--office-fingerprint", fingerprint)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "the anchor given" in verified.stdout
