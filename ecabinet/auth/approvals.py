"""Four eyes for what cannot be undone: one person asks, another approves (or refuses), both audited.

Which kinds need a second person is configured (``ECABINET_FOUR_EYES``): raising a clearance
(``clearance.raise``), granting the secretariat or administrator role (``role.secretary``, ``role.admin``),
and, for the packages that register them, revoking the Government Office's key (``office_key.revoke``) and
issuing a conclusion notice (``notice.issue``). A package registers how an approved request is carried
out (``register``); the request keeps what was asked, so the approver sees exactly what they approve.
The command line acts as the server's operator and is not asked (it has no second person to ask).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, ForeignKey, String, select
from sqlalchemy.orm import Mapped, mapped_column

from ecabinet import audit
from ecabinet.auth.models import Confidentiality, Role, User
from ecabinet.auth.service import create_user, update_user
from ecabinet.database import Model, UTCDateTime, db, utcnow, write_transaction
from ecabinet.errors import MESSAGES, Conflict, Forbidden, NotFound

MESSAGES.update({
    "approval_by_another": _l("Another person must approve this request."),
    "approval_not_pending": _l("This request has already been decided."),
})

#: every kind a deployment may put under four eyes
KINDS = ("clearance.raise", "role.secretary", "role.admin", "office_key.revoke", "notice.issue")


class ApprovalStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class ApprovalRequest(Model):
    """A change one person asked for that waits for another person's approval."""

    __tablename__ = "approval_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: the registered action that carries it out, e.g. "user.update"
    action: Mapped[str] = mapped_column(String(40))
    #: the four-eyes kinds it touches, e.g. ["clearance.raise"]
    kinds: Mapped[list[str]] = mapped_column(JSON, default=list)
    target_id: Mapped[int] = mapped_column()
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(10), default=ApprovalStatus.PENDING)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "action": self.action, "kinds": list(self.kinds), "target_id": self.target_id,
                "payload": dict(self.payload), "status": self.status, "requested_by_id": self.requested_by_id,
                "requested_at": self.requested_at.isoformat(), "decided_by_id": self.decided_by_id,
                "decided_at": self.decided_at.isoformat() if self.decided_at else None}


Apply = Callable[[ApprovalRequest, User], object]
MayDecide = Callable[[User], bool]
_actions: dict[str, tuple[Apply, MayDecide]] = {}


def register(action: str, apply: Apply, *, may_decide: MayDecide) -> None:
    """How an approved request of ``action`` is carried out (with the approver as the actor), and who may
    approve or refuse it."""
    _actions[action] = (apply, may_decide)


def may_decide(request: ApprovalRequest, user: User) -> bool:
    return request.action in _actions and _actions[request.action][1](user)


def guarded(kinds: list[str]) -> list[str]:
    """The kinds among ``kinds`` that this deployment puts under four eyes."""
    configured = current_app.config.get("FOUR_EYES") or ()
    return [kind for kind in kinds if kind in configured]


def request_approval(action: str, *, target_id: int, payload: dict[str, Any], kinds: list[str],
                     actor: User) -> ApprovalRequest:
    """Record the request (nothing changes yet)."""
    with write_transaction():
        request = ApprovalRequest(action=action, kinds=kinds, target_id=target_id, payload=payload,
                                  requested_by_id=actor.id)
        db.session.add(request)
        db.session.flush()
        audit.record(actor, "approval.requested", request, {"action": action, "kinds": kinds,
                                                            "target_id": target_id, "payload": payload})
    return request


def approve(request: ApprovalRequest, *, actor: User) -> object:
    """Carry the request out, as ``actor``: anyone but the person who asked. Locks the request."""
    with write_transaction():
        _lock_pending(request, actor)
        request.status = ApprovalStatus.APPROVED
        request.decided_by_id = actor.id
        request.decided_at = utcnow()
        audit.record(actor, "approval.approved", request, {"action": request.action, "kinds": request.kinds,
                                                           "requested_by_id": request.requested_by_id})
        return _actions[request.action][0](request, actor)


def reject(request: ApprovalRequest, *, actor: User) -> None:
    """Refuse the request (the person who asked may withdraw it this way too)."""
    with write_transaction():
        _lock_pending(request, actor, withdrawing_allowed=True)
        request.status = ApprovalStatus.REJECTED
        request.decided_by_id = actor.id
        request.decided_at = utcnow()
        audit.record(actor, "approval.rejected", request, {"action": request.action, "kinds": request.kinds,
                                                           "requested_by_id": request.requested_by_id})


def _lock_pending(request: ApprovalRequest, actor: User, *, withdrawing_allowed: bool = False) -> None:
    if not may_decide(request, actor) and not (withdrawing_allowed and request.requested_by_id == actor.id):
        raise NotFound()
    db.session.refresh(request, with_for_update=True)
    if request.status != ApprovalStatus.PENDING:
        raise Conflict("approval_not_pending")
    if request.requested_by_id == actor.id and not withdrawing_allowed:
        raise Forbidden("approval_by_another")


def pending(user: User) -> list[ApprovalRequest]:
    """The pending requests ``user`` may decide, or asked for."""
    return [request for request in db.session.scalars(
        select(ApprovalRequest).where(ApprovalRequest.status == ApprovalStatus.PENDING).order_by(ApprovalRequest.id))
        if may_decide(request, user) or request.requested_by_id == user.id]


def get_request(request_id: int) -> ApprovalRequest:
    found = db.session.get(ApprovalRequest, request_id)
    if found is None:
        raise NotFound()
    return found


# --- accounts ---------------------------------------------------------------------------------------

def account_kinds(user: User, *, roles: list[Role] | None, clearance: Confidentiality | None) -> list[str]:
    """What in a change of ``user`` is under four eyes (configured kinds only)."""
    kinds = []
    if clearance is not None and Confidentiality(clearance).rank > Confidentiality(user.clearance).rank:
        kinds.append("clearance.raise")
    for role, kind in ((Role.SECRETARY, "role.secretary"), (Role.ADMIN, "role.admin")):
        if roles is not None and role in roles and str(role) not in user.roles:
            kinds.append(kind)
    return guarded(kinds)


def create_account(*, actor: User, roles: list[Role], clearance: Confidentiality, **fields: Any) -> tuple[
        User, ApprovalRequest | None]:
    """Create an account; what of it is under four eyes (the secretariat or administrator role, a clearance
    above normal) is left out and asked for in a request another administrator approves."""
    kinds = guarded([*(["clearance.raise"] if Confidentiality(clearance) != Confidentiality.NORMAL else []),
                     *(f"role.{role}" for role in (Role.SECRETARY, Role.ADMIN) if role in roles)])
    held_roles = {Role.SECRETARY: "role.secretary", Role.ADMIN: "role.admin"}
    granted = [role for role in roles if held_roles.get(role) not in kinds]
    start_clearance = Confidentiality.NORMAL if "clearance.raise" in kinds else clearance
    with write_transaction():
        user = create_user(roles=granted or [Role.GUEST], clearance=start_clearance, actor=actor, **fields)
        if not kinds:
            return user, None
        request = request_approval("user.update", target_id=user.id, kinds=kinds, actor=actor,
                                   payload={"roles": [str(role) for role in roles], "clearance": str(clearance)})
    return user, request


def _apply_account_change(request: ApprovalRequest, approver: User) -> object:
    user = db.session.get(User, request.target_id)
    if user is None:
        raise NotFound()
    payload = request.payload
    return update_user(user, actor=approver, roles=[Role(r) for r in payload["roles"]] if "roles" in payload else None,
                       clearance=Confidentiality(payload["clearance"]) if "clearance" in payload else None,
                       email=payload.get("email"), active=payload.get("active"))


register("user.update", _apply_account_change, may_decide=lambda user: user.is_admin)
