"""The audit chain: append-only records, each holding the hash of the previous one.

``record()`` is called inside a service's write transaction, so the record commits (or rolls back)
with the change it describes. ``verify()`` walks the chain and names the first bad record.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import has_request_context, request
from sqlalchemy import ForeignKey, String, Text, insert, select
from sqlalchemy.orm import Mapped, mapped_column

from ecabinet.database import UTCDateTime, db, utcnow

GENESIS_HASH = "0" * 64
# Keys whose values never enter the chain, whatever a caller passes.
_SECRET_KEYS = frozenset({"password", "pin", "token", "secret", "new_password", "private_key"})


class AuditRecord(db.Model):
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

    Precondition: inside ``write_transaction()``, as for ``record``.
    """
    records = [AuditRecord(**row) for row in _chained(entries)]
    db.session.add_all(records)
    db.session.flush()
    return records


def append_many(entries: Sequence[Entry]) -> None:
    """``record_many`` for a caller that needs no objects back (the group commit of dossier reads): the
    rows go in one INSERT on the session's connection, not through the ORM's flush (a third of the cost).

    Precondition: inside ``write_transaction()``, as for ``record``.
    """
    rows = _chained(entries)
    if rows:
        db.session.connection().execute(_APPEND, rows)


# built once: building them cost as much as running them
_CHAIN_HEAD = select(AuditRecord.id, AuditRecord.hash).order_by(AuditRecord.id.desc()).limit(1)
_APPEND = insert(AuditRecord)


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
