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
from sqlalchemy import DateTime, Engine, MetaData, Table, event, text
from sqlalchemy.orm import DeclarativeBase
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


@contextmanager
def write_transaction() -> Iterator[None]:
    """One serialised transaction for a state change; nested calls join the outer one."""
    session = db.session
    if session.info.get("in_write_transaction"):
        yield
        return
    with _process_write_lock:
        # End any read snapshot first: the write must see the latest committed state.
        session.commit()
        token = _begin_immediate.set(True)
        session.info["in_write_transaction"] = True
        try:
            if session.get_bind().dialect.name == "postgresql":
                session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _WRITE_LOCK_KEY})
            yield
            session.commit()
        except BaseException:
            session.rollback()
            session.info.pop("after_commit", None)
            raise
        finally:
            session.info["in_write_transaction"] = False
            _begin_immediate.reset(token)
    for callback in session.info.pop("after_commit", []):
        callback()
