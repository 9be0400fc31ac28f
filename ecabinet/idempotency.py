"""Idempotency-Key on creating writes: a repeated request returns the first answer, creates nothing new.

The key is stored in the same write transaction as what the request created, so either both exist
or neither does.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import request
from flask_login import current_user
from sqlalchemy import ForeignKey, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column

from ecabinet.database import Model, UTCDateTime, db, utcnow, write_transaction
from ecabinet.errors import Conflict, Invalid


class IdempotencyKey(Model):
    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    key: Mapped[str] = mapped_column(String(200))
    #: sha256 of method, path and body: the same key with another request is refused
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[int]
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


def _fingerprint() -> str:
    h = hashlib.sha256(f"{request.method} {request.path}\n".encode())
    if request.files or request.form:
        for name, value in sorted(request.form.items(multi=True)):
            h.update(f"{name}={value}\n".encode())
        for name, upload in sorted(request.files.items(multi=True)):
            digest = hashlib.sha256()  # a chunk at a time: an upload is not held twice for its hash
            for chunk in iter(lambda: upload.stream.read(1 << 20), b""):  # noqa: B023 (used at once)
                digest.update(chunk)
            upload.stream.seek(0)
            h.update(f"{name}:".encode() + digest.digest())
    else:
        h.update(request.get_data(cache=True))
    return h.hexdigest()


def idempotent(view: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a view that returns ``(json_body, 201)``."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        key = request.headers.get("Idempotency-Key")
        if not key:
            return view(*args, **kwargs)
        if len(key) > 200:
            raise Invalid(fields={"Idempotency-Key": "at most 200 characters"})
        fingerprint = _fingerprint()
        with write_transaction():
            stored = db.session.scalar(select(IdempotencyKey).where(IdempotencyKey.user_id == current_user.id,
                                                                    IdempotencyKey.key == key))
            if stored is not None:
                if stored.fingerprint != fingerprint:
                    raise Conflict("idempotency_key_reused")
                return json.loads(stored.body), stored.status
            body, status = view(*args, **kwargs)
            db.session.add(IdempotencyKey(user_id=current_user.id, key=key, fingerprint=fingerprint,
                                          status=status, body=json.dumps(body, ensure_ascii=False, default=str)))
        return body, status

    return wrapper
