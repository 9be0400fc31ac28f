"""Revoking the Government Office's key: under four eyes (``office_key.revoke``) one administrator asks and
another approves; the command line, the server's operator, revokes at once.

A revocation cannot be undone. Carried out, it
- puts the office certificate on the built-in CA's revocation list (from this moment);
- retires the key: the certificate is kept in ``ca/retired/``, the key and its passphrase are deleted;
- makes a new office key and certificate and pins them (``office-pin.json`` keeps the revoked one in its
  history, trusted for the audit records written before the revocation: ecabinet.office.Pin);
- is audited (``office_key.revoked``, after ``approval.requested`` / ``approval.approved`` under four eyes).
What it means for documents signed before is in docs/IDENTITY.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from ecabinet import audit, keystore, office
from ecabinet.auth import approvals
from ecabinet.auth.models import User
from ecabinet.database import db, write_transaction
from ecabinet.errors import MESSAGES, Conflict
from ecabinet.signing.ca import locked_directory

MESSAGES.update({
    "office_key_missing": _l("This deployment has no Government Office key yet."),
    "office_key_changed": _l("The Government Office key has changed since this request was made."),
})

ACTION = KIND = "office_key.revoke"


def request_revocation(*, reason: str, actor: User) -> approvals.ApprovalRequest | dict[str, Any]:
    """Revoke now, or, under four eyes, record the request another administrator approves."""
    current = _current()
    payload = {"sha256": current.fingerprint, "reason": reason.strip()[:500]}
    if approvals.guarded([KIND]):
        return approvals.request_approval(ACTION, target_id=0, payload=payload, kinds=[KIND], actor=actor)
    return revoke(sha256=current.fingerprint, reason=payload["reason"], actor=actor)


def revoke(*, sha256: str, reason: str, actor: User | None) -> dict[str, Any]:
    """Revoke the office key whose certificate has ``sha256`` (the one the approver saw) and replace it."""
    data_dir = Path(current_app.config["DATA_DIR"])
    with write_transaction():
        old = _current()
        if old.fingerprint != sha256:
            raise Conflict("office_key_changed")
        # the records so far, this transaction's included: the revoked key vouches for no record after them
        until_record = db.session.scalar(select(func.max(audit.AuditRecord.id))) or 0
        pin = office.read_pin(data_dir)
        ca = keystore.builtin_ca()
        ca.revoke(old.certificate.serial_number)
        with locked_directory(keystore.ca_directory()):
            office.retire(data_dir, old)
        new = office.ensure(data_dir)
        if pin is not None:
            office.replace_pin(data_dir, pin, new, until_record=until_record, reason=reason)
        done = {"revoked_sha256": old.fingerprint, "serial": format(old.certificate.serial_number, "x"),
                "new_sha256": new.fingerprint, "reason": reason, "trusted_until_record": until_record}
        audit.record(actor, "office_key.revoked", None, done, actor_label=None if actor else "cli")
    return done


def current_fingerprint() -> str:
    return _current().fingerprint


def _current() -> office.Office:
    current = office.load(Path(current_app.config["DATA_DIR"]))
    if current is None:
        raise Conflict("office_key_missing")
    return current


def _apply(request: approvals.ApprovalRequest, approver: User) -> object:
    return revoke(sha256=request.payload["sha256"], reason=request.payload.get("reason", ""), actor=approver)


approvals.register(ACTION, _apply, may_decide=lambda user: user.is_admin)
