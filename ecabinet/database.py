"""The database: declarative base, UTC times, and the one write-transaction helper.

Every state change runs inside ``write_transaction()``: writes are serialised (SQLite has one
writer; the audit chain and the per-meeting event counter need a total order on every engine),
and work queued with ``after_commit()`` (Socket.IO broadcasts) runs only once the commit succeeded.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, Engine, MetaData, Select, Table, bindparam, event, inspect, select, text
from sqlalchemy.orm import DeclarativeBase, Mapper, Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)

    if TYPE_CHECKING:  # every model maps one table (DeclarativeBase allows any FROM clause)
        __table__: ClassVar[Table]


db = SQLAlchemy(model_class=Base)

# Flask-SQLAlchemy builds db.Model at run time as a subclass of Base; mypy sees it as a variable, not a class
if TYPE_CHECKING:
    Model = Base
else:
    Model = db.Model

# The lock id every write transaction takes on PostgreSQL (pg_advisory_xact_lock).
_WRITE_LOCK_KEY = 0x0ECAB1
_process_write_lock = threading.RLock()
_begin_immediate: contextvars.ContextVar[bool] = contextvars.ContextVar("begin_immediate", default=False)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC; always returns timezone-aware UTC datetimes (SQLite keeps no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def listen(target: Any, identifier: str, fn: Callable[..., Any]) -> None:
    """Register a SQLAlchemy listener from an ``init_app``, once: the classes listened on are shared by every
    app of the process (the tests make many), and a listener registered twice would run twice."""
    if not event.contains(target, identifier, fn):
        event.listen(target, identifier, fn)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    if type(dbapi_connection).__module__ != "sqlite3":
        return
    # pysqlite's own transaction handling is off so that BEGIN (IMMEDIATE) is ours to emit
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


@event.listens_for(Engine, "begin")
def _sqlite_begin(connection: Any) -> None:
    if connection.dialect.name != "sqlite":
        return
    if _begin_immediate.get():
        connection.exec_driver_sql("BEGIN IMMEDIATE")  # it may wait for the lock, and fail as SQLAlchemy's error
    else:
        # a read's BEGIN takes no lock and cannot fail: straight to the driver, not through SQLAlchemy's
        # statement machinery, which costs a tenth of a cached meeting read
        connection.connection.driver_connection.execute("BEGIN")


def _after_commit_queue() -> list[Callable[[], None]]:
    return db.session.info.setdefault("after_commit", [])


def after_commit(callback: Callable[[], None]) -> None:
    """Run ``callback`` once the current write transaction has committed (never on rollback)."""
    if not db.session.info.get("in_write_transaction"):
        raise RuntimeError("after_commit() outside write_transaction()")
    _after_commit_queue().append(callback)


def from_memory(session: Session, obj: Any) -> None:
    """Note that ``obj`` joined ``session`` from a process memory (the remembered login), not from a read
    of its transaction: ``write_transaction`` reads it again under the write lock."""
    session.info.setdefault(_FROM_MEMORY, []).append(obj)


_FROM_MEMORY = "from_memory"
_DATA_VERSION = "PRAGMA data_version"
#: per mapper: the SELECT of its columns by primary key, and the attribute each column sets
_READ_AGAIN: dict[Mapper[Any], tuple[Select[Any], list[str]]] = {}


def _read_again(session: Session, obj: Any) -> None:
    """Set ``obj``'s columns from its row as committed now: what expiring it and loading it through the ORM
    would give, by one SELECT on the session's connection without the ORM's loading machinery (the caller
    of every command is read again so)."""
    state = inspect(obj)
    mapper = state.mapper
    known = _READ_AGAIN.get(mapper)
    if known is None:
        (key_column,) = mapper.primary_key
        attributes = list(mapper.column_attrs)
        statement = select(*[a.columns[0] for a in attributes]).where(key_column == bindparam("key"))
        known = _READ_AGAIN[mapper] = (statement, [a.key for a in attributes])
    statement, names = known
    row = session.connection().execute(statement, {"key": state.identity[0]}).first()
    if row is None:
        session.expire(obj)  # gone: the next access raises, as an expired object's would
        return
    for name, value in zip(names, row, strict=True):
        set_committed_value(obj, name, value)


def _write_lock_on_read_snapshot(session: Session) -> bool | None:
    """On SQLite, end the session's read snapshot and take the write lock on the same connection: True when
    no other connection committed in between (every object read in the snapshot is still the latest),
    False when one did; None when there is no such snapshot to end (no read yet, another engine, or
    unflushed changes: those go the committing way, as before).

    ``PRAGMA data_version`` changes on a connection exactly when another connection committed since
    that connection's read began: when it holds, the objects read before need not be read again (a
    chair's command re-read the meeting, its participants and the vote only to find them unchanged).
    """
    if session.get_bind().dialect.name != "sqlite" or not session.in_transaction() or \
            session.new or session.dirty or session.deleted:
        return None
    connection = session.connection()
    driver: Any = connection.connection.driver_connection
    if not driver.in_transaction:
        return None
    before = driver.execute(_DATA_VERSION).fetchone()
    driver.execute("COMMIT")
    connection.exec_driver_sql("BEGIN IMMEDIATE")  # it may wait for the lock, and fail as SQLAlchemy's error
    return bool(driver.execute(_DATA_VERSION).fetchone() == before)


def _begin_write(session: Session) -> None:
    """Start the write transaction with the latest committed state in view: whatever was read before it
    (or joined from memory) is read again in it, unless nothing can have changed since it was read."""
    latest = _write_lock_on_read_snapshot(session)
    _begin_immediate.set(True)
    remembered = session.info.pop(_FROM_MEMORY, [])
    if latest is None:
        session.commit()  # expires every object: each is read again, in the write transaction
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _WRITE_LOCK_KEY})
    elif not latest:
        session.expire_all()
    else:
        for obj in remembered:
            if obj in session:
                _read_again(session, obj)


@contextmanager
def write_transaction() -> Iterator[None]:
    """One serialised transaction for a state change; nested calls join the outer one.

    The queued ``after_commit`` work (the broadcasts) runs right after the commit, before the session's
    objects are expired: nothing is read again between the commit and the tablets.
    """
    session = db.session()
    if session.info.get("in_write_transaction"):
        yield
        return
    with _process_write_lock:
        token = _begin_immediate.set(False)
        session.info["in_write_transaction"] = True
        try:
            _begin_write(session)
            yield
            session.expire_on_commit = False
            session.commit()
        except BaseException:
            session.rollback()
            session.info.pop("after_commit", None)
            raise
        finally:
            session.expire_on_commit = True
            session.info["in_write_transaction"] = False
            _begin_immediate.reset(token)
    try:
        for callback in session.info.pop("after_commit", []):
            callback()
    finally:
        session.expire_all()
