"""/api/v1/auth/*, /api/v1/me (with the second factor and the password) and /api/v1/admin/users."""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint
from flask import Response, current_app, jsonify, request
from flask_login import current_user, login_required

from ecabinet import certificates, office, office_revocation, revocation
from ecabinet.auth import approvals, mfa, service
from ecabinet.auth.devices import remember_device
from ecabinet.auth.loader import current_auth_session
from ecabinet.auth.models import Confidentiality, Role, SessionKind, User
from ecabinet.auth.schemas import (
    AdminUserCreate,
    AdminUserOut,
    AdminUserUpdate,
    CertQuery,
    OtpIn,
    PasswordChange,
    PasswordReset,
    RecoveryCodesOut,
    RevokeIn,
    TokenOut,
    TokenRequestWithOtp,
    TotpStartOut,
    UserOut,
    UsersOut,
)
from ecabinet.errors import Forbidden, Invalid, NotAuthenticated, NotFound, TooLarge
from ecabinet.ratelimits import login_limited

api = APIBlueprint("auth_api", __name__, url_prefix="/api/v1", tag="Authentication")
admin_api = APIBlueprint("admin_api", __name__, url_prefix="/api/v1/admin", tag="Administration")


@api.post("/auth/token")
@login_limited
@api.input(TokenRequestWithOtp, arg_name="credentials")
@api.output(TokenOut)
@api.doc(security=[])
def issue_token(credentials: dict[str, str]) -> Response:
    """Exchange a username and password (and the second factor's code once set up) for a bearer token."""
    issued = service.login(username=credentials["username"], password=credentials["password"],
                           otp=credentials.get("otp"), kind=SessionKind.API, ip=request.remote_addr or "")
    response = jsonify({"token": issued.token, "expires_at": issued.session.expires_at.isoformat(),
                        "user": issued.session.user.as_dict()})
    remember_device(response, issued.session.user)
    return response


@api.post("/auth/logout")
@api.output({}, status_code=204)
@login_required
def revoke_token() -> tuple[str, int]:
    """Revoke the bearer token (or end the browser session) used for this request."""
    auth_session = current_auth_session()
    if auth_session is None:
        raise NotAuthenticated()
    service.logout(auth_session, actor=current_user)
    return "", 204


@api.get("/me")
@api.output(UserOut)  # documents the answer; as_dict() is that shape already, so it is sent without a second pass
@login_required
def me() -> Response:
    """The current user."""
    return jsonify(current_user.as_dict())


@api.post("/me/password")
@api.input(PasswordChange, arg_name="body")
@api.output({}, status_code=204)
@login_required
def change_password(body: dict[str, str]) -> tuple[str, int]:
    """Choose a new password (required after an administrator's reset); the caller's other logins end."""
    service.change_password(current_user, current=body["current_password"], new=body["new_password"],
                            keep=current_auth_session())
    return "", 204


@api.post("/me/mfa/totp")
@api.output(TotpStartOut, status_code=201)
@login_required
def start_totp() -> tuple[dict[str, str], int]:
    """Start setting up an authenticator app: its secret and otpauth URI (a QR code on /account/mfa)."""
    secret, uri = mfa.start_totp(current_user)
    return {"secret": secret, "otpauth_uri": uri}, 201


@api.post("/me/mfa/totp/confirm")
@api.input(OtpIn, arg_name="body")
@api.output({}, status_code=204)
@login_required
def confirm_totp(body: dict[str, str]) -> tuple[str, int]:
    """Finish the set-up with a code from the app; from then on logins ask for a code."""
    mfa.confirm_totp(current_user, body["otp"])
    return "", 204


@api.post("/me/mfa/recovery-codes")
@api.output(RecoveryCodesOut, status_code=201)
@login_required
def new_recovery_codes() -> tuple[dict[str, list[str]], int]:
    """Ten new single-use recovery codes (shown once; the old ones stop working)."""
    return {"codes": mfa.regenerate_recovery_codes(current_user)}, 201


# --- administration ------------------------------------------------------------------------------

def require_admin(user: Any) -> None:
    if not user.is_admin:
        raise Forbidden("admin_only")


def user_for_admin(user_id: int) -> User:
    user = service.user_by_id(user_id)
    if user is None:
        raise NotFound()
    return user


@admin_api.get("/users")
@admin_api.output(UsersOut)
@login_required
def list_users() -> Response:
    """Every account (administrators only)."""
    require_admin(current_user)
    return jsonify({"users": [user.admin_dict() for user in service.all_users()]})


@admin_api.post("/users")
@admin_api.input(AdminUserCreate, arg_name="body")
@admin_api.output(AdminUserOut, status_code=201)
@login_required
def create_user(body: dict[str, Any]) -> tuple[dict[str, object], int]:
    """Create an account. Under four eyes the secretariat or administrator role and a clearance above
    normal are asked for in ``approval_request``, granted when another administrator approves."""
    require_admin(current_user)
    user, request_ = approvals.create_account(
        username=body["username"], full_name=body["full_name"], password=body["password"],
        roles=[Role(r) for r in body["roles"]], title=body["title"], organisation=body["organisation"],
        clearance=Confidentiality(body["clearance"]), email=body["email"], actor=current_user)
    answer: dict[str, object] = user.admin_dict()
    if request_ is not None:
        answer["approval_request"] = request_.as_dict()
    return answer, 201


@admin_api.get("/users/<int:user_id>")
@admin_api.output(AdminUserOut)
@login_required
def get_user(user_id: int) -> Response:
    """One account."""
    require_admin(current_user)
    return jsonify(user_for_admin(user_id).admin_dict())


@admin_api.patch("/users/<int:user_id>")
@admin_api.input(AdminUserUpdate, arg_name="body")
@admin_api.doc(responses={200: "The account as changed", 202: "The approval request (four eyes)"})
@login_required
def update_user(user_id: int, body: dict[str, Any]) -> Response | tuple[Response, int]:
    """Change roles (given roles replace the old ones), clearance, e-mail, or activity; a deactivated
    account is logged out everywhere at once. A change under four eyes (raising a clearance, granting the
    secretariat or administrator role) answers 202 with the request another administrator approves."""
    require_admin(current_user)
    user = user_for_admin(user_id)
    roles = [Role(r) for r in body["roles"]] if "roles" in body else None
    clearance = Confidentiality(body["clearance"]) if "clearance" in body else None
    kinds = approvals.account_kinds(user, roles=roles, clearance=clearance)
    if kinds:
        request_ = approvals.request_approval("user.update", target_id=user.id, payload=dict(body), kinds=kinds,
                                              actor=current_user)
        return jsonify({"approval_request": request_.as_dict()}), 202
    service.update_user(user, actor=current_user, roles=roles, clearance=clearance, email=body.get("email"),
                        active=body.get("active"))
    return jsonify(user.admin_dict())


@api.get("/approvals")
@login_required
def list_approvals() -> Response:
    """Requests waiting for a second person that the caller may decide (or asked for)."""
    return jsonify({"approval_requests": [r.as_dict() for r in approvals.pending(current_user)]})


@api.post("/approvals/<int:request_id>/approve")
@login_required
def approve_request(request_id: int) -> Response:
    """Approve and carry out another person's request (administrators for accounts, the secretariat for
    notices)."""
    request_ = approvals.get_request(request_id)
    approvals.approve(request_, actor=current_user)
    return jsonify(request_.as_dict())


@api.post("/approvals/<int:request_id>/reject")
@login_required
def reject_request(request_id: int) -> Response:
    """Refuse a request (or withdraw one's own)."""
    request_ = approvals.get_request(request_id)
    approvals.reject(request_, actor=current_user)
    return jsonify(request_.as_dict())


@admin_api.post("/users/<int:user_id>/reset-password")
@admin_api.input(PasswordReset, arg_name="body")
@admin_api.output({}, status_code=204)
@login_required
def reset_password(user_id: int, body: dict[str, str]) -> tuple[str, int]:
    """Set a temporary password; the member's logins end and they choose a new one at the next login."""
    require_admin(current_user)
    service.reset_password(user_for_admin(user_id), body["password"], actor=current_user)
    return "", 204


@admin_api.delete("/users/<int:user_id>/mfa")
@admin_api.output({}, status_code=204)
@login_required
def remove_mfa(user_id: int) -> tuple[str, int]:
    """Remove a lost second factor; the member sets up a new one."""
    require_admin(current_user)
    mfa.remove_totp(user_for_admin(user_id), actor=current_user)
    return "", 204


# --- certificates ---------------------------------------------------------------------------------

def _uploaded(field: str) -> bytes:
    upload = request.files.get(field)
    if upload is None:
        raise Invalid(fields={field: "required"})
    data = upload.read(_MAX_CERT_BYTES + 1)
    if len(data) > _MAX_CERT_BYTES:
        raise TooLarge()
    return data


_MAX_CERT_BYTES = 5 * 1024 * 1024


@admin_api.get("/certs")
@admin_api.input(CertQuery, location="query", arg_name="query")
@login_required
def list_certs(query: dict[str, str]) -> Response:
    """Signing certificates (newest first), of one account with ``?username=``."""
    require_admin(current_user)
    owner = None
    if query.get("username"):
        owner = service.user_named(query["username"])
        if owner is None:
            raise NotFound()
    return jsonify({"certificates": [certificates.describe(c, u) for c, u in certificates.credentials_of(owner)]})


@admin_api.post("/users/<int:user_id>/certs")
@login_required
def import_cert(user_id: int) -> tuple[Response, int]:
    """Register the certificate (multipart ``cert``, PEM or DER) of a member's token; its key stays there."""
    require_admin(current_user)
    user = user_for_admin(user_id)
    credential = certificates.import_token_certificate(user, _uploaded("cert"), actor=current_user)
    return jsonify(certificates.describe(credential, user)), 201


@admin_api.post("/certs/<int:credential_id>/revoke")
@admin_api.input(RevokeIn, arg_name="body")
@login_required
def revoke_cert(credential_id: int, body: dict[str, str]) -> Response:
    """Revoke a certificate: it signs nothing from now on."""
    require_admin(current_user)
    credential = certificates.credential_by_id(credential_id)
    certificates.revoke(credential, reason=body.get("reason", ""), actor=current_user)
    return jsonify(certificates.describe(credential, user_for_admin(credential.user_id)))


@admin_api.post("/certs/<int:credential_id>/unlock")
@login_required
def unlock_cert(credential_id: int) -> Response:
    """Clear the wrong-PIN lock."""
    require_admin(current_user)
    credential = certificates.credential_by_id(credential_id)
    certificates.unlock(credential, actor=current_user)
    return jsonify(certificates.describe(credential, user_for_admin(credential.user_id)))


@admin_api.get("/office-key")
@login_required
def office_key() -> Response:
    """The Government Office certificate in use, and those revoked before it."""
    require_admin(current_user)
    pin = office.read_pin(current_app.config["DATA_DIR"])
    current = office.load(current_app.config["DATA_DIR"])
    revoked = [{"sha256": entry.sha256, "revoked_at": entry.revoked_at, "reason": entry.reason,
                "trusted_until_record": entry.until_record} for entry in (pin.previous if pin else ())]
    return jsonify({"certificate": office.describe(current.certificate) if current else None, "revoked": revoked})


@admin_api.post("/office-key/revoke")
@admin_api.input(RevokeIn, arg_name="body")
@admin_api.doc(responses={200: "Revoked and replaced", 202: "The approval request (four eyes)"})
@login_required
def revoke_office_key(body: dict[str, str]) -> Response | tuple[Response, int]:
    """Revoke the Government Office key (it cannot be undone) and pin a new one. Under four eyes it answers
    202 with the request another administrator approves (``POST /approvals/{id}/approve``)."""
    require_admin(current_user)
    done = office_revocation.request_revocation(reason=body.get("reason", ""), actor=current_user)
    if isinstance(done, approvals.ApprovalRequest):
        return jsonify({"approval_request": done.as_dict()}), 202
    return jsonify(done)


@admin_api.get("/crls")
@login_required
def list_crls() -> Response:
    """The imported revocation lists, one per issuer."""
    require_admin(current_user)
    return jsonify({"crls": [crl.as_dict() for crl in revocation.revocation_lists()]})


@admin_api.post("/crls")
@login_required
def import_crl() -> tuple[Response, int]:
    """Import a CRL (multipart ``crl``, PEM or DER); registered certificates it lists are revoked."""
    require_admin(current_user)
    imported = revocation.import_crl(_uploaded("crl"), actor=current_user)
    return jsonify({**imported.revocation_list.as_dict(), "revoked_credentials": imported.revoked_credentials}), 201
