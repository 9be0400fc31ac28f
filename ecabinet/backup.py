"""Online backup and restore: a database snapshot, then the data directory's files, and a manifest.

A backup is a directory (0700, files 0600: it holds the CA key, the members' PIN-encrypted keys
and the app's secret key)::

    manifest.json      format, database kind, alembic heads, audit chain head, app version,
                       created_at, and the size and SHA-256 of every other file
    database.sqlite    SQLite: the online-backup API's copy    | database.pgdump: pg_dump --format=custom
    data/...           DATA_DIR without the live database: files/ (content-addressed), ca/, secret_key, ...

The database is snapshotted FIRST, the files copied after: a stored file is written and fsynced
before the row naming it commits and is never changed, so every file the snapshot refers to is on
disk when the copy starts (files added meanwhile are harmless extras). Neither step stops writers.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic.script import ScriptDirectory
from alembic.script.revision import ResolutionError
from flask import current_app
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session

from ecabinet import audit
from ecabinet.database import db

FORMAT = "ecabinet-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DATA = "data"
DATABASE_FILES = {"sqlite": "database.sqlite", "postgresql": "database.pgdump"}
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# a data directory holding only the key the app generated when it started protects nothing yet
_FRESH_DIR_LEFTOVERS = {"secret_key"}
_CHUNK = 1024 * 1024


class BackupError(RuntimeError):
    """The backup cannot be made, is damaged, or cannot be restored here; the message says why."""


@dataclass(frozen=True)
class BackupSummary:
    path: Path
    manifest: dict[str, Any]
    manifest_sha256: str

    def lines(self) -> list[str]:
        database = self.manifest["database"]
        chain = database["audit"]
        data_files = [name for name in self.manifest["files"] if name.startswith(f"{DATA}/")]
        stored = [name for name in data_files if name.startswith(f"{DATA}/files/")]
        lines = [f"Backup: {self.path}",
                 f"  database: {database['kind']}, migrations {', '.join(database['alembic_heads']) or '(none)'}",
                 f"  data files: {len(data_files)} ({len(stored)} stored documents)",
                 f"  audit chain: {chain['records']} records, head {chain['head'][:16]}…",
                 f"  manifest SHA-256: {self.manifest_sha256}"]
        if chain["problem"]:
            lines.append(f"  WARNING: the audit chain is BROKEN at record #{chain['problem']['record_id']}: "
                         f"{chain['problem']['reason']}")
        return lines


def schema_status(heads: list[str]) -> str:
    """``current`` when a database at ``heads`` has every migration of this code, ``older`` when
    ``init`` would upgrade it, ``unknown`` when it was made by code that has migrations this one lacks."""
    script = ScriptDirectory(str(MIGRATIONS_DIR))
    try:
        # walking down from the heads also follows depends_on, which alembic_version does not list
        applied = {revision.revision for revision in script.iterate_revisions(tuple(heads), "base")}
    except ResolutionError:
        return "unknown"
    return "current" if applied >= {revision.revision for revision in script.walk_revisions()} else "older"


def _mkdirs(directory: Path) -> None:
    """Create ``directory`` and any missing parent, each 0700."""
    if directory.is_dir():
        return
    _mkdirs(directory.parent)
    directory.mkdir(mode=0o700, exist_ok=True)


def _hash_copy(source: Path, target: Path) -> tuple[str, int]:
    """Copy ``source`` to a new file ``target`` (0600, fsynced); return the SHA-256 and size copied."""
    digest, size = hashlib.sha256(), 0
    _mkdirs(target.parent)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with source.open("rb") as src, os.fdopen(fd, "wb") as out:
        while chunk := src.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    return digest.hexdigest(), size


def _hash_file(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as src:
        while chunk := src.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _audit_state(session: Session) -> dict[str, Any]:
    """Count, last id, head hash and the first problem of the audit chain as ``session`` sees it."""
    rows = session.scalars(sa.select(audit.AuditRecord).order_by(audit.AuditRecord.id).execution_options(
        yield_per=1000))
    last: dict[str, Any] = {"id": 0, "hash": audit.GENESIS_HASH}
    count = 0

    def walk() -> Iterator[dict[str, Any]]:
        nonlocal count, last
        for row in rows:
            count += 1
            last = row.as_dict()
            yield last

    problem = audit.verify_records(walk())
    if problem is not None:
        rows.close()
    state = {"records": count, "last_id": last["id"], "head": last["hash"], "problem": None}
    if problem is not None:
        state["problem"] = {"record_id": problem.record_id, "reason": problem.reason}
    return state


def _alembic_heads(session: Session) -> list[str]:
    return sorted(session.scalars(sa.text("SELECT version_num FROM alembic_version")))


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq connection URI without the password, and the environment that carries it.

    The password never reaches a command line (visible to every local user) nor any output."""
    env = {**os.environ}
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    # URL.set() ignores None, so the password is dropped with the named tuple's own _replace()
    conninfo = url._replace(drivername="postgresql", password=None).render_as_string(hide_password=False)
    return conninfo, env


def _run_pg_tool(tool: str, args: list[str], url: URL) -> None:
    executable = shutil.which(tool)
    if executable is None:
        raise BackupError(f"{tool} not found: install the PostgreSQL client tools matching the server version")
    conninfo, env = _libpq(url)
    result = subprocess.run([executable, *args, f"--dbname={conninfo}"], env=env,  # noqa: S603 (our argv, no shell)
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        message = result.stderr.strip()
        if url.password:
            message = message.replace(str(url.password), "***")
        raise BackupError(f"{tool} failed (exit {result.returncode}): {message[-2000:]}")


def _snapshot_sqlite(database: Path, target: Path) -> tuple[list[str], dict[str, Any]]:
    """One-step online backup: a single read transaction, so the copy is one consistent state while
    writers go on (in WAL mode readers never block them)."""
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    source = sqlite3.connect(database)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)
        if copy.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            raise BackupError("the SQLite snapshot failed its integrity check")
    finally:
        copy.close()
        source.close()
    with os.fdopen(os.open(target, os.O_RDONLY), "rb") as handle:
        os.fsync(handle.fileno())
    engine = sa.create_engine(f"sqlite:///{target}")
    try:
        with Session(engine) as session:
            return _alembic_heads(session), _audit_state(session)
    finally:
        engine.dispose()


def _snapshot_postgresql(url: URL, target: Path) -> tuple[list[str], dict[str, Any]]:
    """pg_dump of a snapshot exported by our own REPEATABLE READ transaction, so the dump, the
    migration heads and the audit head recorded in the manifest describe the same instant."""
    with db.engine.connect() as connection:
        connection = connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            snapshot: str = connection.execute(sa.text("SELECT pg_export_snapshot()")).scalar_one()
            with Session(bind=connection) as session:
                heads, chain = _alembic_heads(session), _audit_state(session)
            _run_pg_tool("pg_dump", ["--format=custom", "--no-owner", "--no-acl", f"--snapshot={snapshot}",
                                     f"--file={target}"], url)
    os.chmod(target, 0o600)
    return heads, chain


def _live_database_files(url: URL) -> set[Path]:
    if url.get_backend_name() != "sqlite" or not url.database:
        return set()
    path = Path(url.database).resolve()
    return {path.with_name(path.name + suffix) for suffix in ("", "-wal", "-shm", "-journal")}


def _data_files(data_dir: Path, skip: set[Path]) -> Iterator[Path]:
    """Regular files under DATA_DIR, minus the live database and the half-written temporaries
    (storage and the CA rename theirs into place once complete)."""
    for path in sorted(data_dir.rglob("*")):
        name = path.name
        if (path.is_symlink() or not path.is_file() or path.resolve() in skip or name == ".lock"
                or name.startswith(".tmp-") or name.endswith(".tmp")):
            continue
        yield path


def create_backup(dest: Path) -> BackupSummary:
    """Write a consistent backup of the running system to the new directory ``dest``.

    Precondition: inside the app context of the system to back up."""
    data_dir = Path(current_app.config["DATA_DIR"]).resolve()
    dest = dest.resolve()
    if dest.exists():
        raise BackupError(f"{dest} already exists: give a new directory")
    if not dest.parent.is_dir():
        raise BackupError(f"{dest.parent} is not a directory")
    if dest.is_relative_to(data_dir):
        raise BackupError("the backup must not be inside the data directory")
    url = db.engine.url
    kind = url.get_backend_name()
    if kind not in DATABASE_FILES or (kind == "sqlite" and not url.database):
        raise BackupError(f"cannot back up a {kind} database of this kind")
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.partial-", dir=dest.parent))
    try:
        database_file = staging / DATABASE_FILES[kind]
        if kind == "sqlite":
            heads, chain = _snapshot_sqlite(Path(str(url.database)), database_file)
        else:
            heads, chain = _snapshot_postgresql(url, database_file)
        sha256, size = _hash_file(database_file)
        files = {database_file.name: {"sha256": sha256, "size": size}}
        for path in _data_files(data_dir, _live_database_files(url)):
            relative = path.relative_to(data_dir).as_posix()
            try:
                sha256, size = _hash_copy(path, staging / DATA / relative)
            except FileNotFoundError:
                continue  # removed since the listing (a rotated log): it is in no snapshot
            if relative.startswith("files/") and sha256 != path.name:
                raise BackupError(f"stored file {relative} does not match its name: the data directory is damaged")
            files[f"{DATA}/{relative}"] = {"sha256": sha256, "size": size}
        manifest = {
            "format": FORMAT, "format_version": FORMAT_VERSION,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "app_version": metadata.version("ecabinet"),
            "database": {"kind": kind, "file": database_file.name, "alembic_heads": heads, "audit": chain},
            "files": files,
        }
        encoded = json.dumps(manifest, indent=1, sort_keys=True).encode()
        with os.fdopen(os.open(staging / MANIFEST, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
            out.write(encoded)
            out.flush()
            os.fsync(out.fileno())
        os.rename(staging, dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return BackupSummary(dest, manifest, hashlib.sha256(encoded).hexdigest())


def verify_backup(src: Path, *, manifest_sha256: str | None = None) -> BackupSummary:
    """Check the manifest and every byte of the backup ``src``; raise BackupError on any difference."""
    src = src.resolve()
    try:
        encoded = (src / MANIFEST).read_bytes()
    except OSError as error:
        raise BackupError(f"{src} is not a backup: no readable {MANIFEST} ({error.strerror})") from error
    digest = hashlib.sha256(encoded).hexdigest()
    if manifest_sha256 is not None and digest != manifest_sha256.strip().lower():
        raise BackupError(f"the manifest's SHA-256 is {digest}, not the expected {manifest_sha256}")
    try:
        manifest = json.loads(encoded)
        listed: dict[str, dict[str, Any]] = manifest["files"]
        database = manifest["database"]
        ok = (manifest["format"] == FORMAT and database["kind"] in DATABASE_FILES
              and database["file"] == DATABASE_FILES[database["kind"]] and database["file"] in listed)
        newer = int(manifest["format_version"]) > FORMAT_VERSION
    except (ValueError, KeyError, TypeError) as error:
        raise BackupError(f"{MANIFEST} is damaged ({error.__class__.__name__})") from error
    if not ok:
        raise BackupError(f"{MANIFEST} does not describe an e-Cabinet backup")
    if newer:
        raise BackupError(f"backup format {manifest['format_version']} is newer than this version understands")
    present = {path.relative_to(src).as_posix() for path in src.rglob("*") if not path.is_dir()}
    present.discard(MANIFEST)
    for name in sorted(present - set(listed)):
        raise BackupError(f"{name} is not listed in the manifest: the backup was changed")
    for name, expected in sorted(listed.items()):
        path = src / name
        if name not in present or ".." in Path(name).parts:
            raise BackupError(f"{name} is missing from the backup")
        if path.is_symlink():
            raise BackupError(f"{name} is a symbolic link: the backup was changed")
        sha256, size = _hash_file(path)
        if (sha256, size) != (expected["sha256"], expected["size"]):
            raise BackupError(f"{name} differs from the manifest (SHA-256 {sha256}, expected "
                              f"{expected['sha256']}): the backup is damaged or was changed")
    return BackupSummary(src, manifest, digest)


def _is_fresh(data_dir: Path) -> bool:
    if not data_dir.exists():
        return True
    if not data_dir.is_dir():
        return False
    return {entry.name for entry in data_dir.iterdir()} <= _FRESH_DIR_LEFTOVERS


def _postgresql_is_empty(url: URL) -> bool:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            tables: int = connection.execute(sa.text(
                "SELECT count(*) FROM information_schema.tables "
                "WHERE table_schema NOT IN ('pg_catalog', 'information_schema')")).scalar_one()
    except sa.exc.OperationalError as error:
        raise BackupError(f"cannot connect to the target database {url.render_as_string(hide_password=True)}: "
                          f"create it first (createdb) and check the URL") from error
    finally:
        engine.dispose()
    return tables == 0


@contextmanager
def _staged(data_dir: Path) -> Iterator[Path]:
    """A staging directory inside ``data_dir``: its entries move into place only on success."""
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".restore-partial-", dir=data_dir))
    try:
        yield staging
        for entry in staging.iterdir():
            os.replace(entry, data_dir / entry.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def restore_backup(src: Path, *, data_dir: Path, database_url: str | None = None,
                   manifest_sha256: str | None = None) -> tuple[BackupSummary, str, dict[str, Any]]:
    """Restore the verified backup ``src`` into an empty ``data_dir`` and an empty database.

    Returns the backup's summary, the database URL (password hidden) and the restored chain's state."""
    summary = verify_backup(src, manifest_sha256=manifest_sha256)
    manifest, src = summary.manifest, summary.path
    kind = manifest["database"]["kind"]
    data_dir = data_dir.resolve()
    if not _is_fresh(data_dir):
        raise BackupError(f"{data_dir} is not empty: restore only into a new data directory")
    if database_url:
        url = make_url(database_url)
    elif kind == "sqlite":
        url = make_url(f"sqlite:///{data_dir / 'ecabinet.sqlite'}")
    else:
        raise BackupError("this is a PostgreSQL backup: give --database-url of an empty database")
    if url.get_backend_name() != kind:
        raise BackupError(f"this is a {kind} backup; it cannot be restored into {url.get_backend_name()}")
    database_file = src / manifest["database"]["file"]
    if kind == "sqlite":
        if not url.database:
            raise BackupError("give a SQLite database file, not an in-memory database")
        sqlite_path = Path(url.database).resolve()
        if any(path.exists() for path in _live_database_files(url)):
            raise BackupError(f"the target database {sqlite_path} already exists")
    elif not _postgresql_is_empty(url):
        raise BackupError(f"the target database {url.render_as_string(hide_password=True)} is not empty")

    with _staged(data_dir) as staging:
        for name, expected in manifest["files"].items():
            if name.startswith(f"{DATA}/"):
                _restore_file(src / name, staging / name.removeprefix(f"{DATA}/"), expected)
        if kind == "sqlite":
            # the default database lives in the data directory: stage it with the files
            staged = sqlite_path.parent == data_dir
            target = staging / sqlite_path.name if staged else sqlite_path.with_name(sqlite_path.name + ".restoring")
            try:
                _restore_file(database_file, target, manifest["files"][database_file.name])
                chain = _restored_chain(make_url(f"sqlite:///{target}"))
                _check_chain(manifest, chain)
                chain["epoch"] = _start_epoch(make_url(f"sqlite:///{target}"), staging, summary)
                if not staged:
                    os.replace(target, sqlite_path)
            finally:
                if not staged:
                    target.unlink(missing_ok=True)
        else:
            _run_pg_tool("pg_restore", ["--format=custom", "--no-owner", "--no-acl", "--exit-on-error",
                                        "--single-transaction", str(database_file)], url)
            chain = _restored_chain(url)
            _check_chain(manifest, chain)
            chain["epoch"] = _start_epoch(url, staging, summary)
    return summary, url.render_as_string(hide_password=True), chain


def _check_chain(manifest: dict[str, Any], chain: dict[str, Any]) -> None:
    recorded = manifest["database"]["audit"]
    if any(chain[key] != recorded[key] for key in ("records", "last_id", "head")):
        raise BackupError("the restored database's audit chain does not match the manifest")


def _start_epoch(url: URL, data_dir: Path, summary: BackupSummary) -> int:
    """Begin a new epoch of the audit trail at the restored head: the checkpoints of the records made
    after the backup (copied with the data directory) no longer count, and `audit verify` says so.

    The epoch checkpoint is signed with the restored office key, in the database and in the file."""
    chain = summary.manifest["database"]["audit"]
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            # a backup made before checkpoints existed has no table yet: the file and the epoch file carry
            # the epoch until `init` upgrades the schema
            has_table = sa.inspect(connection).has_table(audit.AuditCheckpoint.__tablename__)
            epoch = max(audit.current_epoch(connection) if has_table else 1, audit.file_epoch(data_dir)) + 1
            line = audit.write_checkpoint(connection if has_table else None, data_dir, kind="epoch", epoch=epoch,
                                          first_id=chain["last_id"], record_id=chain["last_id"],
                                          record_hash=chain["head"],
                                          backup_created_at=summary.manifest["created_at"],
                                          backup_manifest_sha256=summary.manifest_sha256)
    except sa.exc.SQLAlchemyError as error:
        raise BackupError(f"cannot record the new audit epoch in the restored database "
                          f"({error.__class__.__name__})") from error
    finally:
        engine.dispose()
    audit.append_checkpoint_line(data_dir, line)
    audit.write_file_epoch(data_dir, epoch)
    return epoch


def _restore_file(source: Path, target: Path, expected: dict[str, Any]) -> None:
    # hashed again while copied: a byte changed since verify_backup() must not slip through
    if _hash_copy(source, target)[0] != expected["sha256"]:
        raise BackupError(f"{source} changed while it was restored")


def _restored_chain(url: URL) -> dict[str, Any]:
    engine = sa.create_engine(url)
    try:
        with Session(engine) as session:
            return _audit_state(session)
    finally:
        engine.dispose()
