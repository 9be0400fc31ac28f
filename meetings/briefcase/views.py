"""/api/v1/briefcase: the per-login key, taking a meeting offline, sync, and the secretariat's remote wipe."""

from __future__ import annotations

import base64
from typing import Any

from apiflask import APIBlueprint, Schema
from apiflask.fields import Integer, List, String
from apiflask.validators import Length, Regexp
from flask import request
from flask_login import current_user, login_required

from ecabinet.auth.devices import device_nonce
from ecabinet.auth.loader import current_auth_session
from ecabinet.auth.models import AuthSession
from ecabinet.errors import NotAuthenticated
from meetings import access
from meetings.briefcase import service

api = APIBlueprint("briefcase_api", __name__, url_prefix="/api/v1", tag="Offline briefcase")

KEY_ID = Regexp(r"^[0-9a-f]{32}$")


class KeyIdIn(Schema):
    key_id = String(required=True, validate=KEY_ID)


class SyncIn(Schema):
    key_id = String(required=True, validate=KEY_ID)
    meeting_ids = List(Integer(), load_default=list, validate=Length(max=500))


def _login() -> AuthSession:
    login = current_auth_session()
    if login is None:
        raise NotAuthenticated()
    return login


@api.post("/briefcase/key")
@api.doc(responses={200: "{key_id, key (base64, AES-256), algorithm}", 401: "not logged in",
                    403: "briefcase_wiped"})
@login_required
def key() -> dict[str, Any]:
    """This browser's briefcase key for the current login (kept in memory by the browser, never stored).

    Refused once the login ended (logout, deactivation, password reset) or the device was wiped; a new
    login after an ended one gets a new key, so what the old key encrypted stays unreadable."""
    issued = service.issue_key(current_user, _login(), nonce=device_nonce(request, current_user.username),
                               label=request.headers.get("User-Agent", ""))
    return {"key_id": issued.device.key_id, "key": base64.b64encode(issued.key).decode(), "algorithm": "AES-GCM-256"}


@api.get("/briefcase/devices/<key_id>/status")
@api.doc(security=[], responses={200: "{state: live|ended}"})
def status(key_id: str) -> dict[str, str]:
    """Whether the briefcase named ``key_id`` is still live: asked by a browser before anyone logs in, so a
    wiped or logged-out tablet deletes its copies at its first contact. The name is a random 128-bit value."""
    return {"state": service.device_state(key_id) if len(key_id) == 32 else "ended"}


@api.post("/briefcase/sync")
@api.input(SyncIn, arg_name="body")
@api.doc(responses={200: "{allowed: [meeting ids], removed: [meeting ids]}", 403: "briefcase_wiped, briefcase_ended"})
@login_required
def sync(body: dict[str, Any]) -> dict[str, list[int]]:
    """Which of the meetings this browser holds it may keep; it deletes the others."""
    device = service.device_for(current_user, _login(), body["key_id"])
    return service.sync(device, body["meeting_ids"], actor=current_user)


@api.post("/briefcase/meetings/<int:meeting_id>")
@api.input(KeyIdIn, arg_name="body")
@api.doc(responses={200: "{meeting, agenda (with readable dossiers and the caller's notes), key_id, taken_at}",
                    403: "briefcase_level_too_high (above Mật), briefcase_wiped, briefcase_ended",
                    409: "briefcase_meeting_not_upcoming"})
@login_required
def take(meeting_id: int, body: dict[str, Any]) -> dict[str, Any]:
    """Take a meeting offline on this browser: what to copy (the dossiers come from their content route)."""
    device = service.device_for(current_user, _login(), body["key_id"])
    return service.take_meeting(device, access.get_meeting_for(current_user, meeting_id), actor=current_user)


@api.delete("/briefcase/meetings/<int:meeting_id>")
@api.input(KeyIdIn, location="query", arg_name="query")
@api.output({}, status_code=204)
@login_required
def drop(meeting_id: int, query: dict[str, Any]) -> tuple[str, int]:
    """Remove a meeting from this browser's briefcase."""
    device = service.device_for(current_user, _login(), query["key_id"])
    service.drop_meeting(device, meeting_id, actor=current_user)
    return "", 204


@api.get("/meetings/<int:meeting_id>/briefcases")
@login_required
def holders(meeting_id: int) -> dict[str, Any]:
    """The devices holding this meeting offline (secretariat and administrators)."""
    meeting = access.get_meeting_for(current_user, meeting_id)
    service.require_wiper(current_user)
    return {"devices": service.holders(meeting)}


@api.post("/briefcase/devices/<int:device_id>/wipe")
@api.doc(responses={200: "the device, wiped", 403: "secretariat_only", 409: "briefcase_already_wiped"})
@login_required
def wipe(device_id: int) -> dict[str, Any]:
    """Remote wipe (secretariat, administrators): the key is refused, the device's login ends and the
    browser deletes every copy at its next contact."""
    device = service.wipe_device(service.get_device(device_id, current_user), actor=current_user)
    return service.dump_device(device)
