"""The audit chain: append-only records, each holding the hash of the previous one.

``record()`` is called inside a service's write transaction, so the record commits (or rolls back)
with the change it describes. ``verify()`` walks the chain and names the first bad record.

A chain alone cannot show that its newest records were removed or that everything was re-hashed, so
every transaction that appends records also writes a checkpoint of the new head, signed with the
Government Office key once it exists: a row of ``audit_checkpoints`` in the same transaction and,
after the commit, a line of ``DATA_DIR/audit/checkpoints.jsonl`` (append-only).
``verify_anchored()`` checks the chain against both, and against a witness exported earlier.
A restore starts a new epoch: checkpoints of the old epoch past the restored head no longer count.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import current_app, has_app_context, has_request_context, request
from sqlalchemy import Connection, ForeignKey, String, Text, func, insert, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from ecabinet import office
from ecabinet.database import Model, UTCDateTime, db, listen, utcnow, write_transaction

log = logging.getLogger(__name__)
GENESIS_HASH = "0" * 64
# Keys whose values never enter the chain, whatever a caller passes.
_SECRET_KEYS = frozenset({"password", "pin", "token", "secret", "new_password", "private_key"})


class AuditRecord(Model):
    __tablename__ = "audit_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    #: the actor's username at the time (kept even if the user is renamed)
    actor_label: Mapped[str] = mapped_column(String(120), default="")
    action: Mapped[str] = mapped_column(String(80), index=True)
    object_type: Mapped[str] = mapped_column(String(60), default="")
    object_id: Mapped[str] = mapped_column(String(60), default="", index=True)
    #: canonical JSON of the record's data
    data: Mapped[str] = mapped_column(Text, default="{}")
    ip: Mapped[str] = mapped_column(String(64), default="")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)

    def canonical_content(self) -> dict[str, Any]:
        return _canonical_content({key: getattr(self, key) for key in _HASHED})

    def compute_hash(self) -> str:
        return chain_hash(self.prev_hash, self.canonical_content())

    def as_dict(self) -> dict[str, Any]:
        return {**self.canonical_content(), "prev_hash": self.prev_hash, "hash": self.hash}


_HASHED = ("id", "at", "actor_id", "actor_label", "action", "object_type", "object_id", "data", "ip")


def _canonical_content(row: Mapping[str, Any]) -> dict[str, Any]:
    """What a record's hash covers, from its column values."""
    return {
        "id": row["id"],
        "at": row["at"].isoformat(timespec="microseconds"),
        "actor_id": row["actor_id"],
        "actor": row["actor_label"],
        "action": row["action"],
        "object": [row["object_type"], row["object_id"]],
        "data": json.loads(row["data"]),
        "ip": row["ip"],
    }


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def chain_hash(prev_hash: str, content: dict[str, Any]) -> str:
    return hashlib.sha256((prev_hash + canonical_json(content)).encode()).hexdigest()


def _scrub(data: dict[str, Any]) -> dict[str, Any]:
    return {
        key: ("[redacted]" if key.lower() in _SECRET_KEYS else _scrub(value) if isinstance(value, dict) else value)
        for key, value in data.items()
    }


def _object_ref(target: Any) -> tuple[str, str]:
    if target is None:
        return "", ""
    if isinstance(target, tuple):
        return str(target[0]), str(target[1])
    return getattr(target, "__tablename__", type(target).__name__), str(getattr(target, "id", ""))


@dataclass(frozen=True)
class Entry:
    """A record to append, with the request's details taken when it was asked for: ``record_many``
    may write it from another request's transaction (the group commit of dossier reads)."""

    action: str
    actor_id: int | None
    actor_label: str
    object_type: str
    object_id: str
    data: dict[str, Any]
    ip: str


def entry(actor: Any, action: str, target: Any = None, data: dict[str, Any] | None = None,
          *, actor_label: str | None = None) -> Entry:
    object_type, object_id = _object_ref(target)
    return Entry(action=action, actor_id=getattr(actor, "id", None),
                 actor_label=actor_label if actor_label is not None else getattr(actor, "username", "") or "",
                 object_type=object_type, object_id=object_id, data=data or {},
                 ip=(request.remote_addr or "") if has_request_context() else "")


def record(actor: Any, action: str, target: Any = None, data: dict[str, Any] | None = None,
           *, actor_label: str | None = None) -> AuditRecord:
    """Append one record; the caller's write transaction commits it with the change.

    Precondition: inside ``write_transaction()``, which serialises writers so the chain stays linear.
    """
    _require_write_transaction()
    return record_many([entry(actor, action, target, data, actor_label=actor_label)])[0]


def record_many(entries: Sequence[Entry]) -> list[AuditRecord]:
    """Append the records in this order, each linked to the one before, reading the chain head once.

    The rows go in one INSERT on the session's connection, not through the ORM's flush (records are never
    changed once written); the records returned are that INSERT's values, not objects of the session.
    Precondition: inside ``write_transaction()``, as for ``record``.
    """
    rows = _chained(entries)
    if rows:
        db.session.connection().execute(_APPEND, rows)
    return [AuditRecord(**row) for row in rows]


def append_many(entries: Sequence[Entry]) -> None:
    """``record_many`` for a caller that needs no records back (the group commit of dossier reads).

    Precondition: inside ``write_transaction()``, as for ``record``.
    """
    rows = _chained(entries)
    if rows:
        db.session.connection().execute(_APPEND, rows)


# built once: building them costs as much as running them
_CHAIN_HEAD = select(AuditRecord.id, AuditRecord.hash).order_by(AuditRecord.id.desc()).limit(1)
_APPEND = insert(AuditRecord)


def head() -> dict[str, Any] | None:
    """The chain's newest record as ``{"id", "hash"}``: what a signed document names to anchor the trail."""
    row = db.session.execute(_CHAIN_HEAD).first()
    return {"id": row.id, "hash": row.hash} if row is not None else None


HEAD_ATTACHMENT = "audit-head.json"


def head_attachment() -> dict[str, bytes]:
    """The chain head as a PDF metadata attachment (``pdf.build_document``): a signed minutes, report or
    notice then names the audit record it follows, and a later truncation or rewrite contradicts it."""
    if not has_app_context():
        return {}  # a document rendered outside the app (a layout test, a benchmark) names no chain
    return {HEAD_ATTACHMENT: canonical_json(head()).encode()}


def _chained(entries: Sequence[Entry]) -> list[dict[str, Any]]:
    """The rows of ``entries`` in order, each linked to the one before, after the chain head read once."""
    _require_write_transaction()
    previous = db.session.connection().execute(_CHAIN_HEAD).first()  # Core: AuditRecords are never left unflushed
    last_id, last_hash = (previous.id, previous.hash) if previous else (0, GENESIS_HASH)
    rows = []
    for item in entries:
        row = {"id": last_id + 1, "at": utcnow(), "actor_id": item.actor_id, "actor_label": item.actor_label,
               "action": item.action, "object_type": item.object_type, "object_id": item.object_id,
               "data": canonical_json(_scrub(item.data)), "ip": item.ip, "prev_hash": last_hash}
        row["hash"] = chain_hash(last_hash, _canonical_content(row))
        last_id, last_hash = row["id"], row["hash"]
        rows.append(row)
    if rows:
        head = db.session.info.get("audit_head")
        db.session.info["audit_head"] = (head[0] if head else rows[0]["id"], last_id, last_hash)
    return rows


def _require_write_transaction() -> None:
    if not db.session.info.get("in_write_transaction"):
        raise RuntimeError("audit.record() outside write_transaction()")


@dataclass(frozen=True)
class ChainProblem:
    record_id: int
    reason: str


def verify_records(records: Iterable[dict[str, Any]]) -> ChainProblem | None:
    """Check a chain given as ``as_dict()`` rows in id order; works on exported records too."""
    expected_prev = GENESIS_HASH
    expected_id = None
    for row in records:
        content = {key: row[key] for key in ("id", "at", "actor_id", "actor", "action", "object", "data", "ip")}
        if expected_id is not None and row["id"] != expected_id:
            return ChainProblem(row["id"], f"expected record #{expected_id} here: a record is missing or out of order")
        if row["prev_hash"] != expected_prev:
            return ChainProblem(row["id"], "does not link to the previous record (removed, inserted or reordered)")
        if chain_hash(row["prev_hash"], content) != row["hash"]:
            return ChainProblem(row["id"], "content does not match its hash (edited)")
        expected_prev = row["hash"]
        expected_id = row["id"] + 1
    return None


def iter_records(batch: int = 1000) -> Iterator[dict[str, Any]]:
    last_id = 0
    while True:
        rows = db.session.scalars(
            select(AuditRecord).where(AuditRecord.id > last_id).order_by(AuditRecord.id).limit(batch)
        ).all()
        if not rows:
            return
        for row in rows:
            yield row.as_dict()
        last_id = rows[-1].id


def verify() -> ChainProblem | None:
    """Verify the whole chain in the database."""
    return verify_records(iter_records())


# --- checkpoints: the chain's head, signed, kept in the database and in an append-only file -----------

CHECKPOINT_FILE = Path("audit") / "checkpoints.jsonl"


class AuditCheckpoint(Model):
    """A signed statement that record ``record_id`` of ``epoch`` had a given hash; one per appending
    transaction (``head``), one per restore (``epoch``) and one per exported witness (``witness``)."""

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    epoch: Mapped[int] = mapped_column(default=1)
    record_id: Mapped[int] = mapped_column(index=True)
    #: the canonical JSON the signature covers (kind, epoch, first_id, record_id, hash, at, ...)
    statement: Mapped[str] = mapped_column(Text)
    #: base64, by the Government Office key; empty while the deployment has no office key yet
    signature: Mapped[str] = mapped_column(Text, default="")


def _data_dir() -> Path:
    return Path(current_app.config["DATA_DIR"])


def current_epoch(connection: Connection) -> int:
    return int(connection.execute(select(func.max(AuditCheckpoint.epoch))).scalar() or 1)


EPOCH_FILE = Path("audit") / "epoch"


def file_epoch(data_dir: Path) -> int:
    try:
        return int((data_dir / EPOCH_FILE).read_text().strip() or 1)
    except FileNotFoundError:
        return 1


def write_file_epoch(data_dir: Path, epoch: int) -> None:
    path = data_dir / EPOCH_FILE
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.write_text(f"{epoch}\n")


def _epoch_of_app(connection: Connection) -> int:
    # only a restore changes the epoch, and it makes a new database: read once per app
    cached = current_app.extensions.get("ecabinet.audit_epoch")
    if cached is None:
        cached = max(current_epoch(connection), file_epoch(_data_dir()))
        current_app.extensions["ecabinet.audit_epoch"] = cached
    return int(cached)


_INSERT_CHECKPOINT = insert(AuditCheckpoint)


def write_checkpoint(connection: Connection | None, data_dir: Path, *, kind: str, epoch: int, first_id: int,
                     record_id: int, record_hash: str, **extra: Any) -> str:
    """Insert a checkpoint row on ``connection`` (signed when the office key exists; no row without a
    connection) and return the line to append to the checkpoint file once the transaction committed."""
    statement = canonical_json({"kind": kind, "epoch": epoch, "first_id": first_id, "record_id": record_id,
                                "hash": record_hash, "at": utcnow().isoformat(timespec="microseconds"), **extra})
    signer = office.load(data_dir)
    signature = signer.sign(statement.encode()) if signer is not None else ""
    if connection is not None:
        connection.execute(_INSERT_CHECKPOINT, {"epoch": epoch, "record_id": record_id, "statement": statement,
                                                "signature": signature})
    return canonical_json({"statement": statement, "signature": signature})


def append_checkpoint_line(data_dir: Path, line: str) -> None:
    """One ``write`` on an O_APPEND descriptor: lines from several processes never interleave."""
    path = data_dir / CHECKPOINT_FILE
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(descriptor, (line + "\n").encode())
    finally:
        os.close(descriptor)


def _checkpoint_head(session: Session) -> None:
    head = session.info.pop("audit_head", None)
    if head is None or not has_app_context():
        return
    data_dir = _data_dir()
    connection = session.connection()
    first_id, record_id, record_hash = head
    line = write_checkpoint(connection, data_dir, kind="head", epoch=_epoch_of_app(connection), first_id=first_id,
                            record_id=record_id, record_hash=record_hash)
    session.info.setdefault("after_commit", []).append(lambda: _append_after_commit(data_dir, line))


def _append_after_commit(data_dir: Path, line: str) -> None:
    # the change is committed and its signed row with it: a full disk must not turn it into an error
    try:
        append_checkpoint_line(data_dir, line)
    except OSError as error:
        log.error("audit checkpoint not appended to %s: %s", CHECKPOINT_FILE, error.strerror)


def _forget_head(session: Session) -> None:
    session.info.pop("audit_head", None)


@dataclass(frozen=True)
class Anchor:
    source: str
    kind: str
    epoch: int
    first_id: int
    record_id: int
    hash: str
    statement: str
    signature: str
    extra: dict[str, Any]


def parse_anchor(source: str, statement: str, signature: str) -> Anchor:
    """Raise ValueError (or KeyError/TypeError) when ``statement`` is not a checkpoint statement."""
    body = json.loads(statement)
    return Anchor(source, str(body["kind"]), int(body["epoch"]), int(body["first_id"]), int(body["record_id"]),
                  str(body["hash"]), statement, str(signature or ""),
                  {k: v for k, v in body.items() if k not in {"kind", "epoch", "first_id", "record_id", "hash"}})


@dataclass
class AnchoredResult:
    problem: ChainProblem | None = None
    records: int = 0
    head: tuple[int, str] = (0, GENESIS_HASH)
    lines: list[str] = field(default_factory=list)

    def broken(self, record_id: int, reason: str) -> None:
        if self.problem is None or record_id < self.problem.record_id:
            self.problem = ChainProblem(record_id, reason)


def _file_anchors(data_dir: Path, result: AnchoredResult) -> list[Anchor]:
    path = data_dir / CHECKPOINT_FILE
    anchors: list[Anchor] = []
    try:
        lines = path.open(encoding="utf-8")
    except FileNotFoundError:
        return anchors
    with lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
                anchors.append(parse_anchor(f"{CHECKPOINT_FILE} line {number}", raw["statement"], raw["signature"]))
            except (ValueError, KeyError, TypeError):
                result.broken(1, f"{CHECKPOINT_FILE} line {number} is not a checkpoint (the file was edited)")
    return anchors


def read_witness(path: Path) -> tuple[Anchor, str]:
    """The anchor of an exported witness file and its certificate (PEM); ValueError when unreadable."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if raw.get("format") != "ecabinet-audit-witness":
            raise ValueError("not an audit witness file")
        return parse_anchor(f"witness {path.name}", raw["statement"], raw["signature"]), str(raw["certificate"])
    except (OSError, KeyError, TypeError, AttributeError) as error:
        raise ValueError(f"unreadable witness ({error.__class__.__name__})") from error


def verify_anchored(data_dir: Path, witness: tuple[Anchor, str] | None = None) -> AnchoredResult:
    """The chain walked from genesis and held against every checkpoint (database, file, witness).

    Reports the first missing or wrong position: a checkpoint naming a record past the chain's end
    (records removed), one whose hash differs (rewritten, even when re-hashed after), one whose
    signature does not verify with the pinned office certificate, or an unsigned one after the pin.
    """
    from cryptography import x509

    result = AnchoredResult()
    anchors: list[Anchor] = []
    for row in db.session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.id)):
        try:
            anchors.append(parse_anchor(f"checkpoint row {row.id}", row.statement, row.signature))
        except (ValueError, KeyError, TypeError):
            result.broken(1, f"checkpoint row {row.id} is not a checkpoint (the table was edited)")
    in_database = len(anchors)
    anchors += _file_anchors(data_dir, result)
    in_file = len(anchors) - in_database
    try:
        pin = office.read_pin(data_dir)
    except office.PinDamaged as error:
        result.broken(1, str(error))
        pin = None
    local = office.load(data_dir)
    trusted = pin.certificate if pin is not None else local.certificate if local is not None else None
    if pin is not None and local is not None and local.fingerprint != pin.sha256:
        result.broken(1, "the office certificate in DATA_DIR/ca is not the pinned one (replaced)")
    if witness is not None:
        anchor, pem = witness
        try:
            cert = x509.load_pem_x509_certificate(pem.encode())
        except ValueError:
            cert = None
        if cert is None:
            result.broken(1, "the witness carries no readable certificate (the witness was changed)")
        elif pin is not None and pin.knows(office.fingerprint(cert), anchor.record_id) is None:
            result.broken(1, "the witness was not signed by the pinned office certificate")
        elif not office.signature_valid(cert, anchor.statement.encode(), anchor.signature):
            result.broken(1, "the witness's signature does not verify (the witness was changed)")
        else:
            anchors.append(anchor)

    for anchor in anchors:
        if anchor.source.startswith("witness"):
            continue
        if anchor.signature:
            # a revoked office certificate still vouches for the records up to its revocation (office.Pin)
            certificates = pin.certificates_for(anchor.record_id) if pin is not None else [trusted] if trusted else []
            if not any(office.signature_valid(cert, anchor.statement.encode(), anchor.signature)
                       for cert in certificates):
                result.broken(anchor.first_id, f"{anchor.source} for record #{anchor.record_id}: its signature "
                                               f"does not verify with the office certificate (forged or changed)")
        elif pin is not None and (anchor.record_id > pin.first_from_record or anchor.kind != "head"):
            result.broken(anchor.first_id, f"{anchor.source} for record #{anchor.record_id} is unsigned, "
                                           f"though the office was pinned at record #{pin.first_from_record}")

    epochs = sorted({(a.epoch, a.record_id, a.extra.get("at", "")) for a in anchors if a.kind == "epoch"})

    def superseded(anchor: Anchor) -> tuple[int, int] | None:
        for epoch, start, _ in epochs:
            if epoch > anchor.epoch and start < anchor.record_id:
                return epoch, start
        return None

    live: dict[int, list[Anchor]] = {}
    for anchor in anchors:
        lost = superseded(anchor)
        if lost is None:
            live.setdefault(anchor.record_id, []).append(anchor)
        elif anchor.source.startswith("witness"):
            result.broken(lost[1] + 1, f"the witness names record #{anchor.record_id} of epoch {anchor.epoch}, "
                                       f"but the restore that began epoch {lost[0]} at record #{lost[1]} did not "
                                       f"bring back records #{lost[1] + 1}–#{anchor.record_id}")

    hashes: dict[int, str] = {}
    first: int | None = None
    for record_id, record_hash in db.session.execute(select(AuditRecord.id, AuditRecord.hash)
                                                     .order_by(AuditRecord.id)).yield_per(5000):
        if first is None:
            first = record_id
        result.records += 1
        result.head = (record_id, record_hash)
        if record_id in live:
            hashes[record_id] = record_hash
    problem = verify_records(iter_records())
    if problem is not None:
        result.broken(problem.record_id, problem.reason)
    if first is not None and first != 1:
        result.broken(1, f"missing: the chain starts at record #{first}")
    last_id = result.head[0]
    for record_id, named in sorted(live.items()):
        for anchor in named:
            if record_id > last_id:
                result.broken(last_id + 1, f"missing: {anchor.source} names record #{record_id}, the chain ends "
                                           f"at #{last_id} (records removed)")
            elif record_id not in hashes:
                result.broken(record_id, f"missing: {anchor.source} names record #{record_id}, which is not in "
                                         f"the chain (removed or renumbered)")
            elif hashes[record_id] != anchor.hash:
                result.broken(anchor.first_id, f"{anchor.source} signed another hash for record #{record_id}: "
                                               f"records #{anchor.first_id}–#{record_id} were rewritten")
    if pin is not None and problem is None:
        # every record since the pin was written by a transaction that signed a checkpoint covering it
        # (in the same transaction): one without is a record added outside the application
        covered = sorted((a.first_id, a.record_id) for named in live.values() for a in named if a.signature)
        expected = pin.first_from_record + 1
        for low, high in covered:
            if low > expected:
                break
            expected = max(expected, high + 1)
        if expected <= last_id:
            result.broken(expected, f"record #{expected} is covered by no signed checkpoint (added outside the "
                                    f"application)")
    if pin is not None and last_id > pin.first_from_record and not in_file:
        result.broken(last_id, f"{CHECKPOINT_FILE} is missing or empty (removed)")

    result.lines.append(f"checkpoints: {in_database} in the database, {in_file} in {CHECKPOINT_FILE}"
                        + (", 1 witness" if witness is not None else ""))
    if pin is not None:
        result.lines.append(f"office certificate pinned: SHA-256 {pin.sha256}")
        for entry in pin.previous:
            result.lines.append(f"revoked office certificate SHA-256 {entry.sha256}: trusted for records up to "
                                f"#{entry.until_record} (revoked {entry.revoked_at})")
    else:
        result.lines.append("no office certificate pinned here yet (run `ecabinet init`): checkpoints are "
                            "checked against the office key in DATA_DIR/ca, or unsigned")
    for epoch, start, at in epochs:
        result.lines.append(f"epoch {epoch} began at record #{start} ({at}): a restore from a backup; earlier "
                            f"checkpoints past #{start} belong to the records it did not bring back")
    return result


def export_witness() -> dict[str, Any]:
    """Sign a checkpoint of the current head now and return it as a witness to keep elsewhere.

    The office key is created if the deployment has none yet."""
    signer = office.ensure(_data_dir())
    with write_transaction():
        connection = db.session.connection()
        head = connection.execute(_CHAIN_HEAD).first()
        if head is None:
            raise LookupError("the audit chain is empty")
        line = write_checkpoint(connection, _data_dir(), kind="witness", epoch=_epoch_of_app(connection),
                                first_id=head.id, record_id=head.id, record_hash=head.hash)
        data_dir = _data_dir()
        db.session.info.setdefault("after_commit", []).append(lambda: append_checkpoint_line(data_dir, line))
    body = json.loads(line)
    return {"format": "ecabinet-audit-witness", "statement": body["statement"], "signature": body["signature"],
            "certificate": office.certificate_pem(signer.certificate), "office_sha256": signer.fingerprint}


def install_listeners() -> None:
    """Write the checkpoint of the chain's head with each commit that adds audit records (from create_app)."""
    listen(Session, "before_commit", _checkpoint_head)
    listen(Session, "after_rollback", _forget_head)
