"""The second factor: TOTP (RFC 6238) with an authenticator app, and single-use recovery codes."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

import pyotp
import segno
from flask import current_app

from ecabinet import audit
from ecabinet.auth.models import User
from ecabinet.database import db, utcnow, write_transaction
from ecabinet.errors import Conflict, Invalid

ISSUER = "e-Cabinet"
RECOVERY_CODES = 10
# one step either side: a phone's clock a little off still works (RFC 6238 section 5.2)
_WINDOW = 1


def start_totp(user: User) -> tuple[str, str]:
    """A new secret for the user (pending until confirmed): (secret, otpauth URI)."""
    if user.has_totp:
        raise Conflict("mfa_already_enrolled")
    secret = pyotp.random_base32()
    with write_transaction():
        user.totp_secret = secret
        user.totp_last_step = None
        audit.record(user, "mfa.totp_started", user, {"username": user.username})
    return secret, otpauth_uri(user)


def otpauth_uri(user: User) -> str:
    return pyotp.TOTP(user.totp_secret or "").provisioning_uri(name=user.username, issuer_name=ISSUER)


def qr_svg(user: User) -> str:
    """The otpauth URI as an SVG QR code in a data: URI, made here (the secret never goes to an outside
    service; an image, so the page's Content-Security-Policy needs no inline style)."""
    return str(segno.make(otpauth_uri(user), error="m").svg_data_uri(scale=5, dark="#111", light="#fff"))


def confirm_totp(user: User, otp: str) -> list[str]:
    """Finish enrolment with a code from the app; answers fresh recovery codes (shown once)."""
    if user.has_totp:
        raise Conflict("mfa_already_enrolled")
    if not user.totp_secret:
        raise Conflict("mfa_not_started")
    step = _matching_step(user, otp)
    if step is None:
        raise Invalid("mfa_invalid", fields={"otp": "mfa_invalid"})
    codes = _new_recovery_codes()
    with write_transaction():
        user.totp_confirmed_at = utcnow()
        user.totp_last_step = step
        user.recovery_codes = [_digest(code) for code in codes]
        audit.record(user, "mfa.totp_enrolled", user, {"username": user.username})
    return codes


def regenerate_recovery_codes(user: User) -> list[str]:
    """Replace the recovery codes (the old ones stop working)."""
    if not user.has_totp:
        raise Conflict("mfa_not_started")
    codes = _new_recovery_codes()
    with write_transaction():
        user.recovery_codes = [_digest(code) for code in codes]
        audit.record(user, "mfa.recovery_codes_issued", user, {"username": user.username})
    return codes


def remove_totp(user: User, *, actor: User | None) -> None:
    """An administrator removes a lost second factor; the member enrols again."""
    with write_transaction():
        user.totp_secret = None
        user.totp_confirmed_at = None
        user.totp_last_step = None
        user.recovery_codes = None
        audit.record(actor, "mfa.removed", user, {"username": user.username}, actor_label=None if actor else "cli")


def accept_code(user: User, code: str) -> bool:
    """Whether ``code`` is a current TOTP code not used before, or an unused recovery code (then spent).

    Locks the user's row: two logins racing with one code accept it once.
    """
    code = "".join(code.split())
    with write_transaction():
        db.session.refresh(user, with_for_update=True)
        step = _matching_step(user, code)
        if step is not None and (user.totp_last_step is None or step > user.totp_last_step):
            user.totp_last_step = step
            return True
        digest = _digest(code.lower().replace("-", ""))
        remaining = list(user.recovery_codes or [])
        for stored in remaining:
            if hmac.compare_digest(stored, digest):
                remaining.remove(stored)
                user.recovery_codes = remaining
                audit.record(user, "mfa.recovery_code_used", user, {"remaining": len(remaining)})
                return True
    return False


def required_for(user: User) -> bool:
    """Whether the user's roles need a second factor (``ECABINET_MFA_REQUIRED_ROLES``) not yet set up."""
    required = current_app.config.get("MFA_REQUIRED_ROLES") or ()
    return not user.has_totp and any(role in user.roles for role in required)


def _matching_step(user: User, otp: str) -> int | None:
    if not user.totp_secret or not (otp.isascii() and otp.isdigit()) or len(otp) != 6:
        return None
    totp = pyotp.TOTP(user.totp_secret)
    now = int(time.time())
    for offset in range(-_WINDOW, _WINDOW + 1):
        at = now + offset * totp.interval
        if hmac.compare_digest(totp.at(at), otp):
            return totp.timecode(at)
    return None


def _new_recovery_codes() -> list[str]:
    return [f"{secrets.token_hex(3)}-{secrets.token_hex(3)}" for _ in range(RECOVERY_CODES)]


def _digest(code: str) -> str:
    return hashlib.sha256(code.replace("-", "").lower().encode()).hexdigest()
