"""The messages of the account and login codes (added to the core's table on import)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from ecabinet.auth.passwords import PASSWORD_MESSAGES
from ecabinet.errors import MESSAGES

MESSAGES.update(PASSWORD_MESSAGES)
MESSAGES.update({
    "mfa_required": _l("Enter the code from your authenticator app."),
    "mfa_invalid": _l("The code is wrong or has expired."),
    "mfa_enrolment_required": _l("Your role needs a second factor: set up an authenticator app first."),
    "mfa_already_enrolled": _l("A second factor is already set up for this account."),
    "mfa_not_started": _l("Start setting up the authenticator app first."),
    "password_change_required": _l("Choose a new password before you continue."),
    "password_wrong": _l("The current password is wrong."),
    "password_unchanged": _l("The new password must differ from the current one."),
    "cannot_lock_out_self": _l("You cannot deactivate your own account or remove your own administrator role."),
    "last_admin": _l("This is the last active administrator account."),
    "invalid_role": _l("Unknown role."),
    "invalid_clearance": _l("Unknown clearance level."),
    "admin_only": _l("Only an administrator can do this."),
    "invalid_email": _l("The e-mail address is not valid."),
    "sso_unavailable": _l("The single sign-on service cannot be reached. "
                          "Try again later or log in with your password."),
    "sso_cancelled": _l("Single sign-on was cancelled."),
    "sso_failed": _l("Single sign-on did not succeed. Start again."),
    "sso_no_username": _l("The single sign-on service did not say which account is yours. Ask the administrator."),
    "sso_unknown_account": _l("No active account here matches your single sign-on identity. Ask the administrator."),
})
