"""Export of a closed ballot and ``ballots verify``: signatures and a re-tally without the database."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

from ballots import service
from ecabinet.database import db
from tests.forgeries import restate

from .conftest import PIN, answers_for


def _closed_bag(api: Any, cast: Any, make_ballot: Any, tmp_path: Path) -> tuple[Any, Path]:
    ballot = make_ballot()
    for user, choices in ((cast.member_a, ("agree", "disagree")), (cast.member_b, ("agree", "other")),
                          (cast.chair, ("agree", "agree"))):
        body = {"answers": answers_for(ballot, *choices), "pin": PIN}
        assert api(user).post(f"/ballots/{ballot.id}/responses", body).status_code == 201
    service.close_ballot(ballot, actor=cast.secretary)
    response = api(cast.secretary).get(f"/ballots/{ballot.id}/export.zip")
    assert response.status_code == 200
    path = tmp_path / "bag.zip"
    path.write_bytes(response.get_data())
    return ballot, path


def _rewrite(path: Path, change: Any) -> Path:
    out = path.with_name("tampered.zip")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w") as dst:
        for name in src.namelist():
            dst.writestr(name, change(name, src.read(name)))
    return out


def test_verify_agrees_with_the_database(app: Any, api: Any, cast: Any, make_ballot: Any, tmp_path: Path) -> None:
    ballot, path = _closed_bag(api, cast, make_ballot, tmp_path)
    with zipfile.ZipFile(path) as bag:
        names = bag.namelist()
    assert any(n.endswith("bagit.txt") for n in names) and any(n.endswith("manifest-sha256.txt") for n in names)
    assert sum("/data/slips/" in n for n in names) == 3
    db.session.remove()
    result = app.test_cli_runner().invoke(args=["ecabinet", "ballots", "verify", str(path)])
    assert result.exit_code == 0, result.output
    assert "tally recomputed from the signed slips matches the report" in result.output


def test_verify_detects_a_tampered_slip(app: Any, api: Any, cast: Any, make_ballot: Any, tmp_path: Path) -> None:
    _, path = _closed_bag(api, cast, make_ballot, tmp_path)

    def flip(name: str, data: bytes) -> bytes:
        if "/data/slips/" in name and name.endswith(".pdf") and "member_a" in name:
            return data.replace(b"/Type /Catalog", b"/Type /Catalog ", 1)
        return data

    result = app.test_cli_runner().invoke(args=["ecabinet", "ballots", "verify", str(_rewrite(path, flip))])
    assert result.exit_code == 1
    assert "FAIL" in result.output


def test_verify_detects_a_removed_slip_even_with_a_fixed_manifest(app: Any, api: Any, cast: Any, make_ballot: Any,
                                                                  tmp_path: Path) -> None:
    from ballots.export import verify_bag

    _, path = _closed_bag(api, cast, make_ballot, tmp_path)
    directory = tmp_path / "bag"
    with zipfile.ZipFile(path) as archive:
        archive.extractall(directory)
    root = next(directory.iterdir())
    removed = next((root / "data" / "slips").glob("member_a-*.pdf"))
    removed.unlink()
    import bagit

    bag = bagit.Bag(str(root))
    bag.save(manifests=True)
    result = verify_bag(root)
    assert not result.ok
    assert any("named in the signed statement but missing from the bag" in line and removed.name in line
               for line in result.lines)


def test_not_a_zip(app: Any, tmp_path: Path) -> None:
    path = tmp_path / "x.zip"
    path.write_bytes(b"nope")
    result = app.test_cli_runner().invoke(args=["ecabinet", "ballots", "verify", str(path)])
    assert result.exit_code == 1


def test_export_needs_a_closed_ballot(api: Any, cast: Any, make_ballot: Any) -> None:
    from tests.conftest import assert_error

    ballot = make_ballot()
    assert_error(api(cast.secretary).get(f"/ballots/{ballot.id}/export.zip"), 409, "ballot_not_closed")


def _unpacked(path: Path, tmp_path: Path) -> Path:
    directory = tmp_path / "unpacked"
    with zipfile.ZipFile(path) as archive:
        archive.extractall(directory)
    return next(directory.iterdir())


def _resave(root: Path) -> None:
    import bagit

    bagit.Bag(str(root)).save(manifests=True)


def test_a_slip_signed_with_a_certificate_from_another_trusted_ca_verifies(
        app: Any, api: Any, cast: Any, make_ballot: Any, tmp_path: Path) -> None:
    # a real CA (e.g. the Government Cipher Committee's) puts its own identifiers in UID, not our user names
    from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, Encoding, pkcs12

    from ecabinet import keystore
    from ecabinet.signing import BuiltinCA

    other = BuiltinCA.create_or_load(tmp_path / "bcy", organisation="Ban Cơ yếu Chính phủ")
    roots = tmp_path / "trusted_roots"
    roots.mkdir()
    (roots / "bcy.pem").write_bytes(other.root_certificate.public_bytes(Encoding.PEM))
    app.config["TRUSTED_ROOTS_DIR"] = str(roots)
    key, cert = other.issue_signing_certificate(common_name="Lê Thị Hồng", organisation="Bộ Y tế",
                                                username="CMND:001085012345")
    p12 = pkcs12.serialize_key_and_certificates(b"hong", key, cert, other.chain, BestAvailableEncryption(b"secret"))
    keystore.import_credential(cast.member_b, p12, "secret", PIN, actor=None)
    _, path = _closed_bag(api, cast, make_ballot, tmp_path)
    db.session.remove()
    result = app.test_cli_runner().invoke(args=["ecabinet", "ballots", "verify", str(path)])
    assert result.exit_code == 0, result.output
    assert "member_b-v1.pdf signed by" in result.output and "the certificate the report lists" in result.output


def test_a_slip_re_signed_by_another_trusted_certificate_naming_the_member_fails(
        app: Any, api: Any, cast: Any, make_ballot: Any, tmp_path: Path) -> None:
    from ballots.export import verify_bag
    from ecabinet import keystore
    from ecabinet.signing import build_signer
    from tests.ballots.test_upload import _sign

    ballot, path = _closed_bag(api, cast, make_ballot, tmp_path)
    ca = keystore.builtin_ca()
    key, impostor = ca.issue_signing_certificate(common_name=cast.member_a.full_name, organisation="Bộ Tài chính",
                                                 username=cast.member_a.username)
    root = _unpacked(path, tmp_path)
    slip = next((root / "data" / "slips").glob("member_a-*.pdf"))
    # the member's own answers, on a slip this server rendered, signed with a certificate that names her
    from ballots.pdf import read_slip_answers, render_slip

    answers = read_slip_answers(slip.read_bytes())["answers"]
    built = render_slip(ballot, cast.member_a, answers, ballot.closed_at)
    slip.write_bytes(_sign(built.pdf, build_signer(key, impostor, ca.chain)))
    restate(root)
    _resave(root)
    result = verify_bag(root)
    assert not result.ok
    assert any(line.startswith("FAIL") and slip.name in line for line in result.lines), result.lines


def test_a_slip_whose_certificate_is_not_the_one_the_report_lists_fails(
        app: Any, api: Any, cast: Any, make_ballot: Any, tmp_path: Path) -> None:
    from ballots import pdf
    from ballots.export import verify_bag
    from ecabinet import keystore
    from ecabinet.signing import certificate_sha256

    ballot, path = _closed_bag(api, cast, make_ballot, tmp_path)
    root = _unpacked(path, tmp_path)
    report = pdf.read_report_tally((root / "data" / "report.pdf").read_bytes())
    assert all(len(s["certificate_sha256"]) == 64 for s in report["slips"])
    _, impostor = keystore.builtin_ca().issue_signing_certificate(
        common_name=cast.member_a.full_name, organisation="Bộ Tài chính", username=cast.member_a.username)
    listed = [{**s, "certificate_sha256": certificate_sha256(impostor)} if s["user_id"] == str(cast.member_a.id)
              else s for s in report["slips"]]
    # a report the office itself signed, listing another certificate for member_a's genuine slip
    built = pdf.render_report(ballot, report["tally"], len(listed), ballot.closed_at, listed)
    (root / "data" / "report.pdf").write_bytes(service._sign_report(ballot, built, None))
    restate(root)
    _resave(root)
    result = verify_bag(root)
    assert not result.ok
    assert [line for line in result.lines if line.startswith("FAIL")][0].endswith("wrong_signer"), result.lines
    assert any("member_a" in line and "wrong_signer" in line for line in result.lines)
