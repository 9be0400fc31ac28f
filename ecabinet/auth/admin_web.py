"""The administration page: accounts and their signing certificates (server-rendered forms)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from ecabinet import certificates, revocation
from ecabinet.auth import approvals, mfa, service
from ecabinet.auth.models import Confidentiality, Role
from ecabinet.auth.views import require_admin, user_for_admin
from ecabinet.errors import AppError

admin_web = Blueprint("admin_web", __name__, url_prefix="/admin")

ROLE_LABELS = {Role.ADMIN: _l("Role: administrator"), Role.SECRETARY: _l("Role: secretariat"),
               Role.CHAIR: _l("Role: chair"), Role.MEMBER: _l("Role: member of the Government"),
               Role.GUEST: _l("Role: invited guest")}
LEVEL_LABELS = {Confidentiality.NORMAL: _l("Level: normal"), Confidentiality.CONFIDENTIAL: _l("Level: confidential"),
                Confidentiality.SECRET: _l("Level: secret"), Confidentiality.TOP_SECRET: _l("Level: top secret")}


@admin_web.context_processor
def _labels() -> dict[str, Any]:
    return {"role_labels": {str(k): v for k, v in ROLE_LABELS.items()},
            "level_labels": {str(k): v for k, v in LEVEL_LABELS.items()}}


@admin_web.get("/users")
@login_required
def users_page() -> str:
    require_admin(current_user)
    users = service.all_users()
    return render_template("admin/users.html", users=users, roles=list(Role), levels=list(Confidentiality),
                           crls=revocation.revocation_lists(),
                           pending=approvals.pending(current_user), names={user.id: user.username for user in users})


@admin_web.get("/users/<int:user_id>")
@login_required
def user_page(user_id: int) -> str:
    require_admin(current_user)
    user = user_for_admin(user_id)
    return render_template("admin/user.html", user=user, roles=list(Role), levels=list(Confidentiality),
                           credentials=[c for c, _ in certificates.credentials_of(user)])


def _done(user_id: int | None, message: str) -> Response:
    flash(message)
    return redirect(url_for("admin_web.user_page", user_id=user_id) if user_id else url_for("admin_web.users_page"))


def _refused(user_id: int | None, error: AppError) -> Response:
    flash(error.message, "error")
    return redirect(url_for("admin_web.user_page", user_id=user_id) if user_id else url_for("admin_web.users_page"))


@admin_web.post("/users")
@login_required
def create_user() -> Any:
    require_admin(current_user)
    form = request.form
    try:
        roles = [Role(r) for r in form.getlist("roles")]
        clearance = Confidentiality(form.get("clearance", "normal"))
    except ValueError:
        return _refused(None, AppError("validation_error", status=422))
    try:
        user, request_ = approvals.create_account(
            username=form.get("username", ""), full_name=form.get("full_name", ""), password=form.get("password", ""),
            title=form.get("title", ""), roles=roles, clearance=clearance, email=form.get("email", ""),
            actor=current_user)
    except AppError as error:
        return _refused(None, error)
    if request_ is not None:
        return _done(user.id, _("Account created. Its role or clearance waits for another administrator's "
                                "approval."))
    return _done(user.id, _("Account created."))


@admin_web.post("/users/<int:user_id>")
@login_required
def update_user(user_id: int) -> Response:
    require_admin(current_user)
    user = user_for_admin(user_id)
    form = request.form
    try:
        roles = [Role(r) for r in form.getlist("roles")]
        clearance = Confidentiality(form.get("clearance", str(user.clearance)))
    except ValueError:
        return _refused(user_id, AppError("validation_error", status=422))
    active = form.get("active") == "on"
    kinds = approvals.account_kinds(user, roles=roles or None, clearance=clearance)
    if kinds:
        payload: dict[str, Any] = {"clearance": str(clearance), "email": form.get("email", ""), "active": active}
        if roles:
            payload["roles"] = [str(role) for role in roles]
        approvals.request_approval("user.update", target_id=user.id, payload=payload, kinds=kinds,
                                   actor=current_user)
        return _done(user_id, _("Sent for approval: another administrator must approve this change."))
    try:
        service.update_user(user, actor=current_user, roles=roles or None, clearance=clearance,
                            email=form.get("email"), active=active)
    except AppError as error:
        return _refused(user_id, error)
    return _done(user_id, _("Account saved."))


@admin_web.post("/approvals/<int:request_id>/<any(approve, reject):decision>")
@login_required
def decide(request_id: int, decision: str) -> Response:
    require_admin(current_user)
    request_ = approvals.get_request(request_id)
    try:
        if decision == "approve":
            approvals.approve(request_, actor=current_user)
        else:
            approvals.reject(request_, actor=current_user)
    except AppError as error:
        return _refused(None, error)
    return _done(None, _("Request approved and carried out.") if decision == "approve" else _("Request refused."))


@admin_web.post("/users/<int:user_id>/password")
@login_required
def reset_password(user_id: int) -> Response:
    require_admin(current_user)
    try:
        service.reset_password(user_for_admin(user_id), request.form.get("password", ""), actor=current_user)
    except AppError as error:
        return _refused(user_id, error)
    return _done(user_id, _("Password reset: the member chooses a new one at the next login."))


@admin_web.post("/users/<int:user_id>/mfa/remove")
@login_required
def remove_mfa(user_id: int) -> Response:
    require_admin(current_user)
    mfa.remove_totp(user_for_admin(user_id), actor=current_user)
    return _done(user_id, _("Second factor removed."))


@admin_web.post("/users/<int:user_id>/certs")
@login_required
def import_cert(user_id: int) -> Response:
    require_admin(current_user)
    upload = request.files.get("cert")
    try:
        certificates.import_token_certificate(user_for_admin(user_id), upload.read() if upload else b"",
                                              actor=current_user)
    except AppError as error:
        return _refused(user_id, error)
    return _done(user_id, _("Certificate registered."))


@admin_web.post("/certs/<int:credential_id>/revoke")
@login_required
def revoke_cert(credential_id: int) -> Response:
    require_admin(current_user)
    credential = certificates.credential_by_id(credential_id)
    try:
        certificates.revoke(credential, reason=request.form.get("reason", ""), actor=current_user)
    except AppError as error:
        return _refused(credential.user_id, error)
    return _done(credential.user_id, _("Certificate revoked."))


@admin_web.post("/certs/<int:credential_id>/unlock")
@login_required
def unlock_cert(credential_id: int) -> Response:
    require_admin(current_user)
    credential = certificates.credential_by_id(credential_id)
    try:
        certificates.unlock(credential, actor=current_user)
    except AppError as error:
        return _refused(credential.user_id, error)
    return _done(credential.user_id, _("Signing unlocked."))


@admin_web.post("/crls")
@login_required
def import_crl() -> Response:
    require_admin(current_user)
    upload = request.files.get("crl")
    try:
        revocation.import_crl(upload.read() if upload else b"", actor=current_user)
    except AppError as error:
        return _refused(None, error)
    return _done(None, _("Revocation list imported."))
