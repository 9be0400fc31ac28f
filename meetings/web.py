"""Meeting pages for tablets and the secretariat (the data comes from the JSON API; writes go through it too)."""

from __future__ import annotations

import difflib
from datetime import UTC, timedelta
from types import SimpleNamespace
from typing import Any

from flask import Blueprint, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from ecabinet import keystore
from ecabinet.auth import service as auth_service
from ecabinet.auth.models import Role, User
from ecabinet.database import utcnow
from ecabinet.pdf import to_vn_time
from ecabinet.web import hanoi, hanoi_date, label, register_labels
from meetings import access, dossiers, service
from meetings.live import rules
from meetings.minutes import archive
from meetings.minutes import service as minutes_service
from meetings.minutes.access import readable_minutes
from meetings.minutes.models import MinutesStatus
from meetings.schemas import dump_meeting, shown

web = Blueprint("meetings_web", __name__)


def register_page_labels() -> None:
    """The labels the pages show for this package's codes (``label`` in ecabinet.web), given by init_app."""
    register_labels("meeting_status", {"draft": _l("Draft"), "published": _l("Published"),
                                       "in_session": _l("In session"), "closed": _l("Closed"),
                                       "archived": _l("Archived"), "cancelled": _l("Cancelled"),
                                       "postponed": _l("Postponed")})
    register_labels("meeting_kind", {"regular": _l("Regular session"), "thematic": _l("Thematic session"),
                                     "extraordinary": _l("Extraordinary session")})
    register_labels("participant_role", {"member": _l("Member"), "delegate": _l("Delegate"), "guest": _l("Guest")})
    register_labels("minutes_status", {"draft": _l("Draft"), "signed_by_secretary": _l("Signed by the secretary"),
                                       "signed": _l("Signed")})


def _hanoi_time(value: Any) -> str:
    return f"{hanoi(value)} ({_('Hà Nội time')})"


def home_section(user: User) -> dict[str, Any]:
    """"My meetings" on the home page: the next one first; the secretariat also sees what awaits it."""
    meetings = access.visible_meetings(user)
    now = utcnow()
    upcoming = sorted((m for m in meetings if str(m.status) in ("published", "in_session") and
                       (m.starts_at.replace(tzinfo=UTC) if m.starts_at.tzinfo is None else m.starts_at)
                       >= now - timedelta(hours=12)), key=lambda m: m.starts_at)
    nxt = upcoming[0] if upcoming else None
    actions = [{"url": url_for("meetings_web.meetings_page"), "label": _("All meetings")}]
    lead = None
    if nxt is not None:
        lead = {"url": url_for("meetings_web.meeting_page", meeting_id=nxt.id),
                "title": nxt.title, "subtitle": " · ".join(filter(None, [_hanoi_time(nxt.starts_at), nxt.location])),
                "badge": label(nxt.status, "meeting_status")}
    rest = [m for m in meetings if m is not nxt]
    if user.is_secretariat:
        waiting = [m for m in rest if str(m.status) in ("draft", "closed")]
        items = [{"url": url_for("meetings_web.meeting_page", meeting_id=m.id), "title": m.title,
                  "subtitle": _hanoi_time(m.starts_at),
                  "badge": _("To publish") if str(m.status) == "draft" else _("Minutes to finish"), "urgent": True}
                 for m in waiting[:8]]
        return {"title": _("Meetings awaiting you"), "lead": lead, "items": items, "order": 5,
                "empty": _("Nothing awaits you."), "actions": actions, "highlight": bool(items)}
    items = [{"url": url_for("meetings_web.meeting_page", meeting_id=m.id), "title": m.title,
              "subtitle": _hanoi_time(m.starts_at), "badge": label(m.status, "meeting_status")} for m in rest[:5]]
    return {"title": _("My next meeting") if lead else _("My meetings"), "lead": lead, "items": items, "order": 5,
            "empty": _("No meeting scheduled."), "actions": actions, "highlight": lead is not None}


@web.get("/meetings")
@login_required
def meetings_page() -> str:
    users = []
    if current_user.is_secretariat:
        users = auth_service.active_users()
    meetings = access.visible_meetings(current_user)
    return render_template("meetings/list.html", meetings=meetings, users=users, shown=shown,
                           postponed=service.postponed(meetings))


@web.get("/meetings/<int:meeting_id>")
@login_required
def meeting_page(meeting_id: int) -> str:
    meeting = access.get_meeting_for(current_user, meeting_id)
    data = dump_meeting(meeting, current_user)
    users: list[User] = []
    paper = None
    checklist = None
    preparing = current_user.is_secretariat and str(meeting.status) in ("draft", "published")
    if current_user.is_secretariat:
        users = [u for u in auth_service.active_users() if not u.has_role(Role.ADMIN)]
        paper = dossiers.paper_saved(meeting)
        if str(meeting.status) == "draft":
            checklist = _publish_checklist(meeting, data, users)
    invited = {p["user_id"] for p in data["participants"]}
    reason = service.status_reason(meeting)
    # people not cleared for the meeting's level are not offered: the server would refuse them
    candidates = [u for u in users if u.id not in invited and u.may_read(meeting.confidentiality)]
    not_cleared = [u for u in users if u.id not in invited and not u.may_read(meeting.confidentiality)
                   and u.has_role(Role.MEMBER)]
    return render_template("meetings/meeting.html", meeting=meeting, data=data, paper=paper, candidates=candidates,
                           member_candidates=[u for u in candidates if u.has_role(Role.MEMBER)],
                           not_cleared=not_cleared, groups=_groups(meeting, invited) if preparing else [],
                           invited_members=[p.user_id for p in meeting.participants
                                            if str(p.role) == "member" and p.user.has_role(Role.MEMBER)],
                           checklist=checklist, preparing=preparing,
                           publishing=_publishing(data, checklist) if checklist is not None else None,
                           room=_room(meeting, reason),
                           votes=service.votes_by_item(meeting)
                           if str(meeting.status) in ("in_session", "closed", "archived") else {},
                           reason=reason, minutes=_minutes_state(meeting),
                           may_position=access.may_take_position(meeting, current_user))


def _groups(meeting: Any, invited: set[int]) -> list[dict[str, Any]]:
    """The saved groups: who inviting each would bring (not yet invited), and who it would leave out, and why."""
    out = []
    for group in service.list_groups(actor=current_user):
        skips = service.group_skips(meeting, group)
        people = [m.user for m in group.members if m.user.active]
        out.append({"id": group.id, "name": group.name, "people": people,
                    "pending": sum(1 for u in people if u.id not in invited and u.id not in skips),
                    "not_cleared": [m.user for m in group.members if skips.get(m.user_id) == "not_cleared"]})
    return out


def _publish_checklist(meeting: Any, data: dict[str, Any], users: list[User]) -> list[dict[str, Any]]:
    """What should hold before invitations go out: each item has its dossier, the invited members can reach
    the quorum (two thirds of ALL Government members), the chair is set and invited. An open item also
    says, as a warning, what is missing."""
    government = sum(1 for u in users if u.has_role(Role.MEMBER))
    members = sum(1 for p in data["participants"] if p["role"] == "member")
    required = rules.quorum_required(government)
    bare = [item["title"] for item in data["agenda"] if not item["documents"]]
    chair_invited = any(p["user_id"] == meeting.chair_id for p in data["participants"])
    quorum_detail = _("%(invited)s members invited; the quorum is %(required)s of %(total)s Government members",
                      invited=members, required=required, total=government)
    return [
        {"ok": bool(data["agenda"]) and not bare,
         "text": _("Each agenda item has its dossier") if data["agenda"] else _("The agenda has at least one item"),
         "detail": _("Without a dossier: %(items)s", items="; ".join(bare)) if bare else "",
         "warning": _("No dossier yet for: %(items)s", items="; ".join(bare)) if bare
         else _("The agenda has no item yet.")},
        {"ok": members >= required,
         "text": _("The invited members can reach the quorum"),
         "detail": quorum_detail,
         "warning": _("Too few members invited to reach the quorum: %(detail)s.", detail=quorum_detail)},
        {"ok": meeting.chair_id is not None and chair_invited,
         "text": _("The chair is set and invited"),
         "detail": meeting.chair.full_name if meeting.chair else "",
         "warning": _("%(name)s chairs the meeting but is not invited.", name=meeting.chair.full_name)
         if meeting.chair else _("No chair is set.")},
    ]


def _publishing(data: dict[str, Any], checklist: list[dict[str, Any]]) -> dict[str, Any]:
    """What publishing does, for its confirmation: who is notified (by role), what they receive, and the
    checklist's open warnings. None of them forbids publishing: the quorum rules the session, not the invitation,
    and items, dossiers and people can still be added to a published meeting; the secretariat publishes knowingly."""
    counted = {role: sum(1 for p in data["participants"] if p["role"] == role)
               for role in ("member", "delegate", "guest")}
    words = {"member": _("%(n)s members", n=counted["member"]),
             "delegate": _("%(n)s delegates", n=counted["delegate"]), "guest": _("%(n)s guests", n=counted["guest"])}
    return {"people": len(data["participants"]), "roles": [words[role] for role, n in counted.items() if n],
            "agenda_items": len(data["agenda"]),
            "documents": sum(len(item["documents"]) for item in data["agenda"]),
            "warnings": [c for c in checklist if not c["ok"]]}


def _room(meeting: Any, reason: dict[str, Any] | None) -> dict[str, Any]:
    """Whether the page offers to enter the session room and, when it does not, why (said with the state).
    A postponed meeting keeps the status "published": its room opens on the new day (Hà Nội time)."""
    status = str(meeting.status)
    if status == "cancelled":
        return {"open": False, "why": _("The session will not take place.")}
    if status == "published" and reason and reason["action"] == "meeting.postponed":
        if to_vn_time(utcnow()).date() < to_vn_time(meeting.starts_at).date():
            return {"open": False, "why": _("The session can be entered from %(day)s.",
                                            day=hanoi_date(meeting.starts_at))}
    return {"open": status in ("published", "in_session"), "why": None}


def _minutes_state(meeting: Any) -> Any:
    return minutes_service.minutes_of(meeting) if str(meeting.status) in ("closed", "archived") else None


def _changes(before: str, after: str) -> list[tuple[str, str]]:
    """The narrative's changed lines between two versions: ("+"|"-", line)."""
    return [(line[0], line[2:]) for line in difflib.ndiff(before.splitlines(), after.splitlines())
            if line[:1] in "+-" and line[2:].strip()]


def _how_to_sign(user: User) -> dict[str, bool]:
    """Whether the signer is asked for the PIN (the server holds or reaches the key), or shown first the
    download–sign–upload path (a certificate whose key stays on their token, or none)."""
    credential = keystore.active_credential(user)
    return {"has_credential": credential is not None and credential.server_signs,
            "token_only": credential is not None and not credential.server_signs}


@web.get("/meetings/<int:meeting_id>/minutes")
@login_required
def minutes_page(meeting_id: int) -> str:
    """Minutes: draw up from the record, edit the narrative (versions and changes), sign, the archive."""
    meeting = access.get_meeting_for(current_user, meeting_id)
    minutes = minutes_service.minutes_of(meeting)
    may_drafts = current_user.is_secretariat or meeting.chair_id == current_user.id
    if minutes is not None and minutes.status != MinutesStatus.SIGNED and not may_drafts:
        minutes = None
    versions: list[dict[str, Any]] = []
    if minutes is not None:
        previous = None
        for version in minutes.versions:
            versions.append({"version": version, "author": auth_service.user_by_id(version.created_by_id),
                             "changes": _changes(previous.narrative, version.narrative) if previous else [],
                             "redrawn": previous is not None and previous.content != version.content})
            previous = version
        versions.reverse()
    sign_as = None
    if minutes is not None and str(meeting.status) == "closed":
        if minutes.status == MinutesStatus.DRAFT and current_user.id == minutes.secretary_id:
            sign_as = "secretary"
        elif minutes.status == MinutesStatus.SIGNED_BY_SECRETARY and current_user.id == meeting.chair_id:
            sign_as = "chair"
    verification = None
    if request.args.get("verify") and str(meeting.status) == "archived" and may_drafts:
        verification = _verify_archive(meeting)
    return render_template("minutes/minutes.html", meeting=meeting, minutes=minutes, versions=versions,
                           may_drafts=may_drafts, sign_as=sign_as, verification=verification,
                           **_how_to_sign(current_user),
                           secretary=auth_service.user_by_id(minutes.secretary_id) if minutes else None)


@web.get("/meetings/<int:meeting_id>/minutes/view")
@login_required
def minutes_viewer(meeting_id: int) -> str:
    """The minutes in our own viewer, not the browser's PDF reader; read under the same rule as minutes.pdf
    (the signed state for members, drafts for the secretariat and the chair, never guests)."""
    version = request.args.get("version", type=int)
    meeting, minutes = readable_minutes(current_user, meeting_id, draft_version=version is not None)
    title = _("Minutes of the session") + f" · {meeting.title}"
    if version is not None:
        title = _("Version %(n)s", n=version) + f" · {title}"
    # a negative id: the viewer keeps its last-read page per meeting's minutes, apart from any dossier's
    shown_as = SimpleNamespace(id=-meeting.id, meeting_id=meeting.id, title=title,
                               current_version=SimpleNamespace(pages="", changed_pages=[]))
    return render_template("documents/viewer.html", document=shown_as, no_notes=True,
                           content_url=url_for("minutes_api.minutes_pdf", meeting_id=meeting.id, version=version),
                           back_url=url_for("meetings_web.minutes_page", meeting_id=meeting.id),
                           back_label=_("Back to the minutes"))


def _verify_archive(meeting: Any) -> Any:
    """What `archive verify` says of the bag this user's download gives, checked against the pinned office."""
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"meeting-{meeting.id}.zip"
        path.write_bytes(archive.export_bag_zip(meeting, reader=current_user))
        return archive.verify_bag(path)
