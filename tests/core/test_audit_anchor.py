"""The anchored audit trail: what a database administrator does to the chain (remove the newest
records, empty it, rewrite and re-hash, renumber) is found by `audit verify`, which names the first
missing or wrong record; a witness kept elsewhere holds even when the checkpoints are gone too."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from ecabinet.audit import CHECKPOINT_FILE, AuditCheckpoint, AuditRecord, chain_hash
from ecabinet.auth.models import Role
from ecabinet.auth.service import create_user
from ecabinet.database import db


def _make_records(count: int, prefix: str = "user") -> None:
    for index in range(count):
        create_user(username=f"{prefix}{index}", full_name=f"Người dùng {index}", password="long-enough-pass",
                    roles=[Role.MEMBER], actor=None)


def _cli(app: Any, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=["ecabinet", *args])


@pytest.fixture
def pinned(app: Any) -> Any:
    """A deployment after `init`: the office certificate pinned, then six records."""
    result = _cli(app, "init")
    assert result.exit_code == 0, result.output
    _make_records(6)
    return app


def _count(model: Any) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def _last_id() -> int:
    return db.session.scalar(sa.select(sa.func.max(AuditRecord.id)))


def _rehash_from(first_id: int) -> None:
    """What a forger with the database does after changing record ``first_id``: recompute every hash after it."""
    records = db.session.scalars(sa.select(AuditRecord).order_by(AuditRecord.id)).all()
    previous = next((r.hash for r in records if r.id == first_id - 1), "0" * 64)
    for row in records:
        if row.id < first_id:
            continue
        row.prev_hash = previous
        row.hash = "pending-" + str(row.id)
    db.session.flush()
    for row in records:
        if row.id < first_id:
            continue
        row.prev_hash = previous
        row.hash = chain_hash(previous, row.canonical_content())
        previous = row.hash
    db.session.commit()


def test_an_untouched_chain_verifies_against_its_checkpoints(pinned: Any) -> None:
    result = _cli(pinned, "audit", "verify")
    assert result.exit_code == 0, result.output
    assert "Audit chain intact (7 records" in result.output  # office.pinned and six accounts
    assert _count(AuditCheckpoint) == 7
    lines = (Path(pinned.config["DATA_DIR"]) / CHECKPOINT_FILE).read_text().splitlines()
    assert len(lines) == 7 and all(json.loads(line)["signature"] for line in lines)


def test_removing_only_the_newest_record_is_named(pinned: Any) -> None:
    last = _last_id()
    db.session.execute(sa.delete(AuditRecord).where(AuditRecord.id == last))
    db.session.commit()
    result = _cli(pinned, "audit", "verify")
    assert result.exit_code == 1
    assert f"BROKEN at record #{last}: missing" in result.output


def test_removing_the_newest_records_and_their_checkpoint_rows_is_still_named(pinned: Any) -> None:
    last = _last_id()
    db.session.execute(sa.delete(AuditRecord).where(AuditRecord.id > last - 3))
    db.session.execute(sa.delete(AuditCheckpoint))
    db.session.commit()
    result = _cli(pinned, "audit", "verify")
    assert result.exit_code == 1
    assert f"BROKEN at record #{last - 2}: missing" in result.output


def test_emptying_the_table_is_named(pinned: Any) -> None:
    db.session.execute(sa.delete(AuditRecord))
    db.session.commit()
    result = _cli(pinned, "audit", "verify")
    assert result.exit_code == 1
    assert "BROKEN at record #1: missing" in result.output


def test_a_rewritten_record_with_every_later_hash_recomputed_is_named(pinned: Any) -> None:
    db.session.execute(sa.update(AuditRecord).where(AuditRecord.id == 3).values(data='{"username":"forged"}'))
    db.session.commit()
    _rehash_from(3)
    from ecabinet.audit import verify

    assert verify() is None  # the bare chain is consistent again: only the checkpoints tell
    result = _cli(pinned, "audit", "verify")
    assert result.exit_code == 1
    assert "BROKEN at record #3:" in result.output and "rewritten" in result.output


def test_a_rewrite_with_the_checkpoints_rewritten_too_fails_their_signatures(pinned: Any) -> None:
    db.session.execute(sa.update(AuditRecord).where(AuditRecord.id == 4).values(data='{"username":"forged"}'))
    db.session.commit()
    _rehash_from(4)
    hashes = dict(db.session.execute(sa.select(AuditRecord.id, AuditRecord.hash)).all())
    for row in db.session.scalars(sa.select(AuditCheckpoint)):
        statement = json.loads(row.statement)
        statement["hash"] = hashes[statement["record_id"]]
        row.statement = json.dumps(statement, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    db.session.commit()
    (Path(pinned.config["DATA_DIR"]) / CHECKPOINT_FILE).unlink()
    result = _cli(pinned, "audit", "verify")
    assert result.exit_code == 1
    assert "BROKEN at record #4:" in result.output and "signature does not verify" in result.output


def test_renumbering_the_last_record_is_named(pinned: Any) -> None:
    last = _last_id()
    db.session.execute(sa.update(AuditRecord).where(AuditRecord.id == last).values(id=last + 100))
    db.session.commit()
    _rehash_from(last + 100)
    result = _cli(pinned, "audit", "verify")
    assert result.exit_code == 1
    assert f"BROKEN at record #{last}" in result.output


def test_a_witness_holds_when_the_checkpoints_and_the_file_are_rewritten(pinned: Any, tmp_path: Path) -> None:
    witness = tmp_path / "witness.json"
    exported = _cli(pinned, "audit", "witness", str(witness))
    assert exported.exit_code == 0, exported.output
    last = _last_id()
    assert _cli(pinned, "audit", "verify", "--witness", str(witness)).exit_code == 0
    # a forger with the whole server: drop the newest two records, every checkpoint past them and the
    # file's lines for them; the pin stays (it is also published)
    db.session.execute(sa.delete(AuditRecord).where(AuditRecord.id > last - 2))
    db.session.execute(sa.delete(AuditCheckpoint).where(AuditCheckpoint.record_id > last - 2))
    db.session.commit()
    path = Path(pinned.config["DATA_DIR"]) / CHECKPOINT_FILE
    kept = [line for line in path.read_text().splitlines() if json.loads(json.loads(line)["statement"])["record_id"]
            <= last - 2]
    path.write_text("\n".join(kept) + "\n")
    assert _cli(pinned, "audit", "verify").exit_code == 0  # nothing on the server shows it any more
    result = _cli(pinned, "audit", "verify", "--witness", str(witness))
    assert result.exit_code == 1
    assert f"BROKEN at record #{last - 1}: missing: witness" in result.output


def test_a_changed_witness_is_refused(pinned: Any, tmp_path: Path) -> None:
    witness = tmp_path / "witness.json"
    assert _cli(pinned, "audit", "witness", str(witness)).exit_code == 0
    body = json.loads(witness.read_text())
    statement = json.loads(body["statement"])
    statement["record_id"] += 5
    body["statement"] = json.dumps(statement)
    witness.write_text(json.dumps(body))
    result = _cli(pinned, "audit", "verify", "--witness", str(witness))
    assert result.exit_code == 1 and "signature does not verify" in result.output


def test_the_office_certificate_is_shown_for_publication(pinned: Any) -> None:
    from ecabinet import office

    pin = office.read_pin(Path(pinned.config["DATA_DIR"]))
    assert pin is not None
    shown = _cli(pinned, "office", "show", "--pem")
    assert shown.exit_code == 0, shown.output
    assert f"sha256: {pin.sha256}" in shown.output and "BEGIN CERTIFICATE" in shown.output
    assert _cli(pinned, "init").exit_code == 0  # a second init keeps the pin
    assert office.read_pin(Path(pinned.config["DATA_DIR"])) == pin
    actions = db.session.scalars(sa.select(AuditRecord.action).where(AuditRecord.action == "office.pinned")).all()
    assert actions == ["office.pinned"]


_APPENDER = textwrap.dedent("""
    import sys
    from config import Config
    from ecabinet import audit, create_app
    from ecabinet.database import write_transaction

    app = create_app(Config(), async_mode="threading")
    with app.app_context():
        for n in range(int(sys.argv[2])):
            with write_transaction():
                audit.record(None, "test.appended", None, {"process": sys.argv[1], "n": n})
""")


def test_two_processes_appending_at_once_keep_the_chain_anchored(pinned: Any, database_url: str) -> None:
    env = {**os.environ, "ECABINET_DATA_DIR": str(pinned.config["DATA_DIR"]), "ECABINET_ENV": "development",
           "ECABINET_DATABASE_URL": str(db.engine.url.render_as_string(hide_password=False))}
    root = Path(__file__).resolve().parents[2]
    db.session.remove()
    processes = [subprocess.Popen([sys.executable, "-c", _APPENDER, prefix, "25"], cwd=root, env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for prefix in ("first", "second")]
    for process in processes:
        _, err = process.communicate(timeout=240)
        assert process.returncode == 0, err
    assert _count(AuditRecord) == 57
    lines = (Path(pinned.config["DATA_DIR"]) / CHECKPOINT_FILE).read_text().splitlines()
    assert len(lines) == _count(AuditCheckpoint) == 57
    assert _cli(pinned, "audit", "verify").exit_code == 0
    db.session.execute(sa.delete(AuditRecord).where(AuditRecord.id == 57))
    db.session.commit()
    result = _cli(pinned, "audit", "verify")
    assert result.exit_code == 1 and "BROKEN at record #57: missing" in result.output


def _operator(*args: str, data_dir: Path, database_url: str | None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ECABINET_DATA_DIR": str(data_dir), "ECABINET_ENV": "development"}
    env.pop("ECABINET_DATABASE_URL", None)
    if database_url:
        env["ECABINET_DATABASE_URL"] = database_url
    root = Path(__file__).resolve().parents[2]
    command = [sys.executable, "-m", "flask", "--app", "wsgi", "ecabinet", *args] if args[0] != "-c" \
        else [sys.executable, *args]
    return subprocess.run(command, cwd=root, env=env, capture_output=True, text=True,
                          check=False, timeout=240)


def test_a_restore_starts_a_new_epoch_and_says_so(pinned: Any, restore_target: Any,
                                                  tmp_path_factory: pytest.TempPathFactory) -> None:
    data_dir, database_url = restore_target
    tmp_path = tmp_path_factory.mktemp("outside")
    backup = tmp_path / "backup"
    made = _cli(pinned, "backup", str(backup))
    assert made.exit_code == 0, made.output
    restored_head = _last_id()
    _make_records(3, prefix="after")  # made after the backup: the restore does not bring them back
    later = tmp_path / "later-witness.json"
    assert _cli(pinned, "audit", "witness", str(later)).exit_code == 0

    restored = _operator("restore", str(backup), "--data-dir", str(data_dir),
                         *(["--database-url", database_url] if database_url else []),
                         data_dir=data_dir, database_url=None)
    assert restored.returncode == 0, restored.stderr
    assert f"begins epoch 2 at record #{restored_head}" in restored.stdout
    verified = _operator("audit", "verify", data_dir=data_dir, database_url=database_url)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert f"epoch 2 began at record #{restored_head}" in verified.stdout
    refused = _operator("audit", "verify", "--witness", str(later), data_dir=data_dir, database_url=database_url)
    assert refused.returncode == 1
    assert f"BROKEN at record #{restored_head + 1}" in refused.stderr and "did not bring back" in refused.stderr

    # the restored system goes on: its new records take the old numbers in the new epoch
    appended = _operator("-c", _APPENDER, "restored", "2", data_dir=data_dir, database_url=database_url)
    assert appended.returncode == 0, appended.stderr
    assert _operator("audit", "verify", data_dir=data_dir, database_url=database_url).returncode == 0
    url = database_url or f"sqlite:///{data_dir / 'ecabinet.sqlite'}"
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM audit_records WHERE id = :id"), {"id": restored_head + 2})
    engine.dispose()
    broken = _operator("audit", "verify", data_dir=data_dir, database_url=database_url)
    assert broken.returncode == 1 and f"BROKEN at record #{restored_head + 2}: missing" in broken.stderr


def test_a_record_appended_behind_the_applications_back_is_named(pinned: Any) -> None:
    from ecabinet.audit import _canonical_content

    last = db.session.scalar(sa.select(AuditRecord).order_by(AuditRecord.id.desc()).limit(1))
    row = {"id": last.id + 1, "at": last.at, "actor_id": None, "actor_label": "", "action": "vote.cast",
           "object_type": "votes", "object_id": "1", "data": '{"choice":"agree"}', "ip": "", "prev_hash": last.hash}
    row["hash"] = chain_hash(last.hash, _canonical_content(row))
    db.session.execute(sa.insert(AuditRecord).values(**row))
    db.session.commit()
    from ecabinet.audit import verify

    assert verify() is None  # a perfectly linked chain
    result = _cli(pinned, "audit", "verify")
    assert result.exit_code == 1
    assert f"BROKEN at record #{last.id + 1}: record #{last.id + 1} is covered by no signed checkpoint" in result.output


def test_an_edited_line_of_the_checkpoint_file_is_named(pinned: Any) -> None:
    path = Path(pinned.config["DATA_DIR"]) / CHECKPOINT_FILE
    lines = path.read_text().splitlines()
    line = json.loads(lines[3])
    statement = json.loads(line["statement"])
    statement["hash"] = "f" * 64
    line["statement"] = json.dumps(statement, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    lines[3] = json.dumps(line)
    path.write_text("\n".join(lines) + "\n")
    result = _cli(pinned, "audit", "verify")
    assert result.exit_code == 1
    assert f"BROKEN at record #{statement['first_id']}: {CHECKPOINT_FILE} line 4" in result.output
    assert "signature does not verify" in result.output
