"""Backup while a real server writes, restore into a fresh data directory (and database), and
refusals: a changed byte, an unlisted or missing file, a non-empty target."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa

from ecabinet import backup as backup_module
from ecabinet import keystore
from ecabinet.backup import BackupError, _libpq, _run_pg_tool
from ecabinet.database import db
from tests.conftest import PG_ADMIN_URL, issue_token
from tests.documents import corpus
from tests.live.harness import ROOT, ServerProcess
from tests.meetings.factories import STARTS_AT, prepared_meeting


def flask_cli(*args: str, data_dir: Path, database_url: str | None) -> subprocess.CompletedProcess[str]:
    """``flask --app wsgi ecabinet ...`` as an operator runs it, on the given data directory and database."""
    env = {**os.environ, "ECABINET_DATA_DIR": str(data_dir), "ECABINET_ENV": "development"}
    env.pop("ECABINET_DATABASE_URL", None)
    if database_url:
        env["ECABINET_DATABASE_URL"] = database_url
    return subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "ecabinet", *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, check=False, timeout=120)


def _url_of(data_dir: Path, database_url: str | None) -> str:
    return database_url or f"sqlite:///{data_dir / 'ecabinet.sqlite'}"


def rows(url: str, query: str) -> list[tuple[Any, ...]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(sa.text(query))]
    finally:
        engine.dispose()


def file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class Writer(threading.Thread):
    """The secretariat working against the server while the backup runs: new meetings, new documents."""

    def __init__(self, url: str, token: str, chair_id: int, meeting_id: int, item_id: int) -> None:
        super().__init__(daemon=True)
        self.url, self.chair_id, self.meeting_id, self.item_id = url, chair_id, meeting_id, item_id
        self.headers = {"Authorization": f"Bearer {token}", "Connection": "close"}
        self.done = 0
        self.errors: list[str] = []
        self.stop = threading.Event()

    def run(self) -> None:
        n = 0
        while not self.stop.is_set():
            n += 1
            try:
                if n % 2:
                    response = requests.post(f"{self.url}/api/v1/meetings", headers=self.headers, timeout=30, json={
                        "title": f"Phiên họp chuyên đề số {n}", "kind": "thematic", "starts_at": STARTS_AT,
                        "location": "Trụ sở Chính phủ", "chair_id": self.chair_id, "confidentiality": "normal"})
                else:
                    pdf = corpus.valid_pdf(1, text=f"Tờ trình số {n}/TTr-BTC")
                    response = requests.post(
                        f"{self.url}/api/v1/meetings/{self.meeting_id}/agenda/{self.item_id}/documents",
                        headers=self.headers, timeout=30, files={"file": (f"to-trinh-{n}.pdf", pdf)},
                        data={"title": f"Tờ trình {n}", "doc_type": "Tờ trình", "confidentiality": "normal"})
            except requests.RequestException as error:
                self.errors.append(repr(error))
                return
            if response.status_code != 201:
                self.errors.append(f"{response.status_code} {response.text[:300]}")
                return
            self.done += 1

    def wait_for(self, done: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while self.done < done and not self.errors and time.monotonic() < deadline:
            time.sleep(0.02)
        assert self.done >= done, f"the writer stalled at {self.done} writes: {self.errors}"


@pytest.fixture
def live_state(app, api, cast) -> dict[str, Any]:
    """A published meeting with two PDF dossiers, the CA and office key, a reader's stamped copy."""
    keystore.init_ca_step()
    meeting = prepared_meeting(api, cast)
    reader = api(cast.member_a)
    document_id = meeting["docs"][0]["id"]
    copy = reader.get(f"/documents/{document_id}/content")
    assert copy.status_code == 200
    return {"meeting": meeting, "document_id": document_id, "reader_token": reader.token, "copy": copy.data}


def test_backup_while_the_server_writes_restores_the_same_state(app, cast, database_url, live_state, restore_target,
                                                                 tmp_path_factory, monkeypatch):
    live_dir = Path(app.config["DATA_DIR"])
    live_url = app.config["SQLALCHEMY_DATABASE_URI"]
    dest = tmp_path_factory.mktemp("backups") / "nightly"
    meeting = live_state["meeting"]
    server = ServerProcess(live_dir, database_url).start()
    secretary_token = issue_token(cast.secretary)
    writer = Writer(server.url, secretary_token, cast.chair.id, meeting["id"], meeting["items"][0]["id"])
    landed: dict[str, int] = {}

    # The backup is quicker than an upload, so the test makes the overlap certain: it holds each step
    # of the backup until the server has committed two more writes (meetings, PDFs and their files).
    def hold(step: str) -> None:
        start = writer.done
        writer.wait_for(start + 2)
        landed[step] = writer.done - start

    original_files, original_tool = backup_module._data_files, backup_module._run_pg_tool

    def files_after_more_writes(*args: Any) -> Iterator[Path]:
        hold("after the snapshot, before the files")
        yield from original_files(*args)

    def dump_after_more_writes(tool: str, *args: Any) -> None:
        if tool == "pg_dump":
            hold("between the exported snapshot and pg_dump")
        original_tool(tool, *args)

    monkeypatch.setattr(backup_module, "_data_files", files_after_more_writes)
    monkeypatch.setattr(backup_module, "_run_pg_tool", dump_after_more_writes)
    try:
        writer.start()
        writer.wait_for(4)
        result = app.test_cli_runner().invoke(args=["ecabinet", "backup", str(dest)])
    finally:
        writer.stop.set()
        writer.join(30)
        server.stop()
    assert result.exit_code == 0, result.output
    assert writer.errors == []
    assert all(count >= 2 for count in landed.values())
    assert len(landed) == (1 if database_url == "sqlite" else 2)
    assert "audit chain:" in result.output and "manifest SHA-256:" in result.output

    manifest = json.loads((dest / "manifest.json").read_text())
    assert manifest["database"]["kind"] == ("sqlite" if database_url == "sqlite" else "postgresql")
    assert manifest["database"]["alembic_heads"] == sorted(
        r[0] for r in rows(live_url, "SELECT version_num FROM alembic_version"))
    for path in [dest, *dest.rglob("*")]:
        assert stat.S_IMODE(path.stat().st_mode) == (0o700 if path.is_dir() else 0o600), path

    data_dir, restore_url = restore_target
    restore_args = ["ecabinet", "restore", str(dest), "--data-dir", str(data_dir)]
    if restore_url:
        restore_args += ["--database-url", restore_url]
    restored = app.test_cli_runner().invoke(args=restore_args)
    assert restored.exit_code == 0, restored.output
    assert "Audit chain intact" in restored.output
    url = _url_of(data_dir, restore_url)

    # the snapshot is one instant of the live system: its rows are exactly the first rows of today's
    live_meetings = rows(live_url, "SELECT id, title, status, starts_at FROM meetings ORDER BY id")
    restored_meetings = rows(url, "SELECT id, title, status, starts_at FROM meetings ORDER BY id")
    assert meeting["id"] in [m[0] for m in restored_meetings]
    assert restored_meetings == live_meetings[:len(restored_meetings)]
    assert len(restored_meetings) < len(live_meetings), "the writer went on after the snapshot"
    live_chain = dict(rows(live_url, "SELECT id, hash FROM audit_records"))
    restored_chain = dict(rows(url, "SELECT id, hash FROM audit_records"))
    assert restored_chain == {i: live_chain[i] for i in restored_chain}
    assert manifest["database"]["audit"]["head"] == restored_chain[max(restored_chain)]

    # every stored file the snapshot names came along, byte for byte
    versions = rows(url, "SELECT sha256 FROM document_versions")
    assert len(versions) >= 2 + 1
    for (sha256,) in versions:
        path = data_dir / "files" / sha256[:2] / sha256[2:4] / sha256
        assert file_hash(path) == sha256 == file_hash(live_dir / path.relative_to(data_dir))
    for name in ("ca-passphrase", "root.key.pem", "issuing.key.pem", "office.key.pem", "office.crt.pem"):
        assert file_hash(data_dir / "ca" / name) == file_hash(live_dir / "ca" / name)
    assert (data_dir / "secret_key").read_bytes() == (live_dir / "secret_key").read_bytes()

    # the restored system: the operator's audit check, the CA keys still open, the app serves
    verify = flask_cli("audit", "verify", data_dir=data_dir, database_url=restore_url)
    assert verify.returncode == 0, verify.stderr
    assert f"Audit chain intact ({len(restored_chain)} records)" in verify.stdout
    signer = subprocess.run(
        [sys.executable, "-c", "import asyncio\nfrom wsgi import app\nfrom ecabinet import keystore\nwith app.app_context():\n"
                               "    signer = keystore.office_signer()\n"
                               "    print(signer.signing_cert.subject.human_friendly)\n"
                               "    print(len(asyncio.run(signer.async_sign_raw(b'backup', 'sha256'))) > 0)"],
        cwd=ROOT, capture_output=True, text=True, check=False, timeout=120,
        env={**os.environ, "ECABINET_DATA_DIR": str(data_dir), "ECABINET_ENV": "development",
             **({"ECABINET_DATABASE_URL": restore_url} if restore_url else {})})
    assert signer.returncode == 0, signer.stderr[-2000:]
    assert "Văn phòng Chính phủ" in signer.stdout and signer.stdout.endswith("True\n")
    assert file_hash(data_dir / "ca" / "office.crt.pem") == file_hash(live_dir / "ca" / "office.crt.pem")
    server = ServerProcess(data_dir, restore_url or "sqlite").start()
    try:
        served = requests.get(f"{server.url}/api/v1/documents/{live_state['document_id']}/content", timeout=30,
                              headers={"Authorization": f"Bearer {live_state['reader_token']}", "Connection": "close"})
        created = requests.post(f"{server.url}/api/v1/meetings", timeout=30, json={
            "title": "Phiên họp sau khôi phục", "kind": "regular", "starts_at": STARTS_AT,
            "location": "Trụ sở Chính phủ", "chair_id": cast.chair.id, "confidentiality": "normal"},
            headers={"Authorization": f"Bearer {secretary_token}", "Connection": "close"})
    finally:
        server.stop()
    assert served.status_code == 200
    assert served.content == live_state["copy"], "the reader's stamped copy is byte-identical after the restore"
    # new rows never reuse an id; on PostgreSQL they may skip some, as pg_dump reads sequences
    # (which no transaction covers) when it dumps them, not at the snapshot
    assert created.status_code == 201, created.text
    assert created.json()["id"] > max(m[0] for m in restored_meetings)
    if database_url == "sqlite":
        assert created.json()["id"] == max(m[0] for m in restored_meetings) + 1
    assert flask_cli("audit", "verify", data_dir=data_dir, database_url=restore_url).returncode == 0


@pytest.fixture
def backup(app, live_state, tmp_path_factory) -> Path:
    dest = tmp_path_factory.mktemp("backups") / "b1"
    result = app.test_cli_runner().invoke(args=["ecabinet", "backup", str(dest)])
    assert result.exit_code == 0, result.output
    return dest


def _first_stored_file(backup: Path) -> Path:
    return next(p for p in sorted((backup / "data" / "files").rglob("*")) if p.is_file())


def _flip_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def _tamper_stored_file(backup: Path) -> str:
    path = _first_stored_file(backup)
    _flip_byte(path)
    return f"{path.relative_to(backup).as_posix()} differs from the manifest"


def _tamper_database(backup: Path) -> str:
    path = next(backup.glob("database.*"))
    _flip_byte(path)
    return f"{path.name} differs from the manifest"


def _tamper_ca_key(backup: Path) -> str:
    path = backup / "data" / "ca" / "root.key.pem"
    path.write_bytes(path.read_bytes().replace(b"-----END", b"-----end", 1))
    return "data/ca/root.key.pem differs from the manifest"


def _add_file(backup: Path) -> str:
    (backup / "data" / "files" / "planted.pdf").write_bytes(corpus.valid_pdf(1))
    return "data/files/planted.pdf is not listed in the manifest"


def _remove_file(backup: Path) -> str:
    path = _first_stored_file(backup)
    path.unlink()
    return f"{path.relative_to(backup).as_posix()} is missing from the backup"


def _edit_manifest(backup: Path) -> str:
    path = backup / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["database"]["audit"]["records"] += 1
    path.write_text(json.dumps(manifest))
    return "the manifest's SHA-256 is"


TAMPERING = [_tamper_stored_file, _tamper_database, _tamper_ca_key, _add_file, _remove_file, _edit_manifest]


@pytest.mark.parametrize("tamper", TAMPERING, ids=[t.__name__.lstrip("_") for t in TAMPERING])
def test_a_changed_backup_is_refused_before_anything_is_restored(app, backup, restore_target, tamper):
    intact = app.test_cli_runner().invoke(args=["ecabinet", "backup", "verify", str(backup)])
    assert intact.exit_code == 0 and "Backup intact." in intact.output
    manifest_sha = hashlib.sha256((backup / "manifest.json").read_bytes()).hexdigest()
    assert f"manifest SHA-256: {manifest_sha}" in intact.output
    reason = tamper(backup)
    check = app.test_cli_runner().invoke(args=["ecabinet", "backup", "verify", str(backup),
                                               "--manifest-sha256", manifest_sha])
    assert check.exit_code == 1
    assert "Backup BROKEN" in check.output and reason in check.output
    data_dir, restore_url = restore_target
    args = ["ecabinet", "restore", str(backup), "--data-dir", str(data_dir), "--manifest-sha256", manifest_sha]
    restored = app.test_cli_runner().invoke(args=args + (["--database-url", restore_url] if restore_url else []))
    assert restored.exit_code == 1
    assert "Restore REFUSED" in restored.output and reason in restored.output
    assert not data_dir.exists()
    if restore_url:
        assert rows(restore_url, "SELECT count(*) FROM information_schema.tables "
                                 "WHERE table_schema = 'public'") == [(0,)]


def test_restore_refuses_a_target_that_holds_data(app, backup, restore_target):
    data_dir, restore_url = restore_target
    data_dir.mkdir(parents=True)
    (data_dir / "files").mkdir()
    args = ["ecabinet", "restore", str(backup), "--data-dir", str(data_dir)]
    result = app.test_cli_runner().invoke(args=args + (["--database-url", restore_url] if restore_url else []))
    assert result.exit_code == 1
    assert f"{data_dir} is not empty" in result.output
    assert [p.name for p in data_dir.iterdir()] == ["files"]


def test_restore_refuses_a_database_that_is_not_empty(app, backup, restore_target, database_url):
    data_dir, restore_url = restore_target
    if restore_url is None:
        restore_url = f"sqlite:///{data_dir.parent / 'other.sqlite'}"
        sa.create_engine(restore_url).connect().close()
    else:
        rows(restore_url, "SELECT 1")
        engine = sa.create_engine(restore_url)
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE leftover (id integer)"))
        engine.dispose()
    result = app.test_cli_runner().invoke(args=["ecabinet", "restore", str(backup), "--data-dir", str(data_dir),
                                                "--database-url", restore_url])
    assert result.exit_code == 1
    assert "already exists" in result.output or "is not empty" in result.output
    assert not data_dir.exists()


def test_a_lone_generated_secret_key_does_not_block_a_restore(app, backup, restore_target):
    """`flask --app wsgi` itself writes DATA_DIR/secret_key on start when ECABINET_DATA_DIR points at the target."""
    data_dir, restore_url = restore_target
    data_dir.mkdir(parents=True)
    (data_dir / "secret_key").write_text("generated-at-start")
    args = ["ecabinet", "restore", str(backup), "--data-dir", str(data_dir)]
    result = app.test_cli_runner().invoke(args=args + (["--database-url", restore_url] if restore_url else []))
    assert result.exit_code == 0, result.output
    assert (data_dir / "secret_key").read_bytes() == (Path(app.config["DATA_DIR"]) / "secret_key").read_bytes()


def test_backup_refuses_an_existing_destination_or_one_inside_the_data_directory(app, backup):
    again = app.test_cli_runner().invoke(args=["ecabinet", "backup", str(backup)])
    assert again.exit_code == 1 and "already exists" in again.output
    inside = app.test_cli_runner().invoke(args=["ecabinet", "backup", str(Path(app.config["DATA_DIR"]) / "bk")])
    assert inside.exit_code == 1 and "inside the data directory" in inside.output
    assert not (Path(app.config["DATA_DIR"]) / "bk").exists()
    assert not [p for p in backup.parent.iterdir() if p.name.startswith(".")]


def test_a_broken_audit_chain_is_backed_up_and_restored_but_reported(app, live_state, restore_target, tmp_path_factory):
    db.session.execute(sa.text("UPDATE audit_records SET data = '{\"edited\": true}' WHERE id = 3"))
    db.session.commit()
    dest = tmp_path_factory.mktemp("backups") / "evidence"
    result = app.test_cli_runner().invoke(args=["ecabinet", "backup", str(dest)])
    assert result.exit_code == 1
    assert "WARNING: the audit chain is BROKEN at record #3" in result.output
    assert app.test_cli_runner().invoke(args=["ecabinet", "backup", "verify", str(dest)]).exit_code == 0
    data_dir, restore_url = restore_target
    args = ["ecabinet", "restore", str(dest), "--data-dir", str(data_dir)]
    restored = app.test_cli_runner().invoke(args=args + (["--database-url", restore_url] if restore_url else []))
    assert restored.exit_code == 1
    assert "Audit chain BROKEN at record #3: content does not match its hash (edited)" in restored.output
    assert rows(_url_of(data_dir, restore_url), "SELECT data FROM audit_records WHERE id = 3") == [('{"edited": true}',)]


def test_the_database_password_reaches_neither_the_command_line_nor_the_output():
    # a database named like the password, so that pg_dump's own error message repeats it
    url = sa.engine.make_url(PG_ADMIN_URL).set(password="s3cret-pw", database="s3cret-pw")
    conninfo, env = _libpq(url)
    assert "s3cret-pw" not in conninfo.split("/")[2] and conninfo.startswith("postgresql://postgres@127.0.0.1:5432/")
    assert env["PGPASSWORD"] == "s3cret-pw"
    with pytest.raises(BackupError) as failure:
        _run_pg_tool("pg_dump", ["--format=custom", "--file=/dev/null"], url)
    assert "pg_dump failed" in str(failure.value) and "does not exist" in str(failure.value)
    assert "s3cret-pw" not in str(failure.value)
