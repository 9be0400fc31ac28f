"""Ballot pages: the member's list, answer form, review and receipt; the secretariat's editor and board;
the chair's progress view. The data comes from the services, every write goes through the JSON API."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, has_request_context, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from ballots import service
from ballots.errors import BallotForbidden
from ballots.models import Ballot, BallotStatus
from ballots.schemas import dump_ballot
from documents import access as documents_access
from ecabinet import keystore
from ecabinet.auth import service as auth_service
from ecabinet.auth.models import Role, User
from ecabinet.database import utcnow
from ecabinet.errors import NotFound
from ecabinet.web import HOME_SECTIONS, hanoi, register_labels

web = Blueprint("ballots_web", __name__)


@web.app_context_processor
def ballots_menu() -> dict[str, Any]:
    """Whether the top bar offers "Phiếu lấy ý kiến": to the same people ``ballots_page`` lets in."""
    if not has_request_context() or not current_user.is_authenticated:
        return {}
    return {"may_use_ballots": service.may_use_ballots(current_user)}


def register_page_labels() -> None:
    """The labels the pages show for this package's codes (``label`` in ecabinet.web), given by init_app."""
    register_labels("ballot_status", {"draft": _l("Draft"), "issued": _l("Open for answers"), "closed": _l("Closed")})
    register_labels("choice", {"agree": _l("Agree"), "disagree": _l("Disagree"), "other": _l("Other opinion")})
    register_labels("non_answer_policy", {"not_counted": _l("A non-answer is not counted as agreement"),
                                          "agree": _l("A non-answer counts as agreement")})


def grouped(user: User) -> dict[str, list[dict[str, Any]]]:
    """The caller's ballots in three groups: to answer (or, for the secretariat, drafts), open, closed."""
    ballots = service.ballots_for(user)
    answered = service.answered_at(ballots, user)
    counts = service.answer_counts(ballots) if user.is_secretariat else {}
    groups: dict[str, list[dict[str, Any]]] = {"to_answer": [], "answered": [], "closed": [], "draft": [], "open": []}
    for ballot in ballots:
        row = {"ballot": ballot, "answered_at": answered.get(ballot.id), "answered": counts.get(ballot.id, 0),
               "total": len(ballot.recipients), "open": service.is_open(ballot)}
        if ballot.status == BallotStatus.DRAFT:
            groups["draft"].append(row)
        elif ballot.status == BallotStatus.CLOSED or not row["open"]:
            groups["closed"].append(row)
        elif user.is_secretariat:
            groups["open"].append(row)
        elif ballot.id in answered:
            groups["answered"].append(row)
        else:
            groups["to_answer"].append(row)
    groups["to_answer"].sort(key=lambda row: row["ballot"].deadline)
    return groups


def _hanoi_time(value: Any) -> str:
    return f"{hanoi(value)} ({_('Hà Nội time')})"


def home_section(user: User) -> dict[str, Any] | None:
    """The home page: ballots awaiting the member's answer ("cần trả lời"), or the secretariat's open ones;
    nothing for a guest or an administrator, who are never asked (``may_use_ballots``)."""
    if not service.may_use_ballots(user):
        return None
    groups = grouped(user)
    actions = [{"url": url_for("ballots_web.ballots_page"), "label": _("All opinion ballots")}]
    if user.is_secretariat:
        actions.append({"url": url_for("ballots_web.editor"), "label": _("New ballot")})
        items = [{"url": url_for("ballots_web.ballot_page", ballot_id=row["ballot"].id), "title": row["ballot"].title,
                  "subtitle": _("Deadline %(when)s", when=_hanoi_time(row["ballot"].deadline)),
                  "badge": _("%(answered)s of %(total)s answered", answered=row["answered"], total=row["total"])}
                 for row in groups["open"] + groups["draft"]]
        return {"title": _("Opinion ballots in progress"), "items": items[:8], "empty": _("No ballot in progress."),
                "actions": actions, "order": 20}
    items = [{"url": url_for("ballots_web.ballot_page", ballot_id=row["ballot"].id), "title": row["ballot"].title,
              "subtitle": _("Answer by %(when)s", when=_hanoi_time(row["ballot"].deadline)), "badge": _("To answer"),
              "urgent": True} for row in groups["to_answer"]]
    return {"title": _("Opinion ballots to answer"), "items": items[:8], "empty": _("No ballot awaits your answer."),
            "actions": actions, "order": 10}


def register_home_section() -> None:
    if home_section not in HOME_SECTIONS:
        HOME_SECTIONS.append(home_section)


@web.get("/ballots")
@login_required
def ballots_page() -> str:
    if not service.may_use_ballots(current_user):
        raise BallotForbidden("ballots_not_for_role")
    return render_template("ballots/list.html", groups=grouped(current_user),
                           secretariat=current_user.is_secretariat)


def _pin_attempts_left(user: User) -> int | None:
    credential = keystore.active_credential(user)
    if credential is None:
        return None
    if credential.locked:
        return 0
    return max(0, int(current_app.config.get("PIN_ATTEMPTS", 5)) - credential.failed_attempts)


def _how_to_sign(user: User | None) -> dict[str, bool]:
    """Whether the answer screen asks for the PIN (the server holds or reaches the key), or offers only
    the download–sign–upload path (no certificate here, or one whose key stays on the member's token)."""
    credential = keystore.active_credential(user) if user is not None else None
    return {"has_credential": credential is not None and credential.server_signs,
            "token_only": credential is not None and not credential.server_signs}


@web.get("/ballots/<int:ballot_id>")
@login_required
def ballot_page(ballot_id: int) -> str:
    ballot = service.get_ballot_for(current_user, ballot_id)
    data = dump_ballot(ballot, current_user)
    recipient = any(r.user_id == current_user.id for r in ballot.recipients)
    is_open = service.is_open(ballot)
    board = None
    if current_user.is_secretariat or (current_user.has_role(Role.CHAIR) and ballot.status != BallotStatus.DRAFT):
        board = _board(ballot, full=current_user.is_secretariat)
    mine = data.get("my_response")
    return render_template(
        "ballots/ballot.html", ballot=ballot, data=data, board=board, recipient=recipient, is_open=is_open,
        mine=mine, questions={q.id: q for q in ballot.questions}, documents=service.documents_of(ballot),
        attempts_left=_pin_attempts_left(current_user) if recipient else None,
        **_how_to_sign(current_user if recipient else None),
        secretariat=current_user.is_secretariat, now=utcnow())


def _board(ballot: Ballot, *, full: bool) -> dict[str, Any]:
    """Answered and pending recipients, and (for the secretariat) the running or fixed tally."""
    responses = service.responses_by_user(ballot)
    users = service.recipient_users(ballot)
    rows: list[dict[str, Any]] = [
        {"user": users[r.user_id], "answered_at": responses[r.user_id].answered_at if r.user_id in responses else None,
         "reminded_at": r.reminded_at} for r in ballot.recipients if r.user_id in users]
    rows.sort(key=lambda row: (row["answered_at"] is not None, row["user"].full_name))
    tally = None
    comments: dict[int, list[dict[str, Any]]] = {}
    # the chair sees the fixed result once the ballot is closed, never the running one
    if (full and ballot.status != BallotStatus.DRAFT) or ballot.status == BallotStatus.CLOSED:
        tally = ballot.tally if ballot.status == BallotStatus.CLOSED and ballot.tally else service.compute_tally(ballot)
    if full and ballot.status != BallotStatus.DRAFT:
        for user_id, answers in service.current_answers(ballot):
            for answer in answers:
                if answer.get("comment") and user_id in users:
                    comments.setdefault(answer["question_id"], []).append(
                        {"user": users[user_id], "choice": answer.get("choice"), "comment": answer["comment"]})
    return {"rows": rows, "answered": len(responses), "total": len(rows), "pending": len(rows) - len(responses),
            "tally": tally, "comments": comments}


@web.get("/ballots/<int:ballot_id>/own-signature")
@login_required
def own_signature_page(ballot_id: int) -> str:
    """Signing with one's own token: download the unsigned slip, sign it elsewhere, upload it."""
    ballot = service.get_ballot_for(current_user, ballot_id)
    if not any(r.user_id == current_user.id for r in ballot.recipients):
        raise NotFound()
    return render_template("ballots/own_signature.html", ballot=ballot, is_open=service.is_open(ballot))


@web.get("/ballots/new")
@login_required
def editor() -> str:
    service.require_secretariat(current_user)
    documents = service.documents_offered(current_user)
    return render_template("ballots/editor.html", documents=documents,
                           filed_under=documents_access.filed_under(documents),
                           members=[m for m in auth_service.active_users() if Role.MEMBER in m.roles])
