"""Export of a closed ballot and ``ballots verify``: signatures and a re-tally without the database."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

from ballots import service
from ecabinet.database import db

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
    assert any("differ" in line or "tally" in line for line in result.lines)


def test_not_a_zip(app: Any, tmp_path: Path) -> None:
    path = tmp_path / "x.zip"
    path.write_bytes(b"nope")
    result = app.test_cli_runner().invoke(args=["ecabinet", "ballots", "verify", str(path)])
    assert result.exit_code == 1


def test_export_needs_a_closed_ballot(api: Any, cast: Any, make_ballot: Any) -> None:
    from tests.conftest import assert_error

    ballot = make_ballot()
    assert_error(api(cast.secretary).get(f"/ballots/{ballot.id}/export.zip"), 409, "ballot_not_closed")
