"""The error family services raise, rendered as ``{"error": {"code", "message"}}``.

Messages are looked up from the code and translated per request (Vietnamese by default).
"""

from __future__ import annotations

from typing import Any

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

MESSAGES: dict[str, LazyString] = {
    "bad_request": _l("The request is malformed."),
    "invalid_json": _l("The request body is not valid JSON."),
    "validation_error": _l("Some values are invalid."),
    "not_authenticated": _l("Please log in."),
    "invalid_credentials": _l("Wrong username or password."),
    "token_invalid": _l("Your session has ended. Please log in again."),
    "forbidden": _l("You are not allowed to do this."),
    "csrf_failed": _l("The form has expired. Reload the page and try again."),
    "not_found": _l("Not found."),
    "method_not_allowed": _l("This method is not allowed here."),
    "conflict": _l("This conflicts with the current state."),
    "too_large": _l("The file is too large."),
    "request_too_large": _l("The request is too large."),
    "invalid_characters": _l("The text contains characters that are not allowed."),
    "json_too_deep": _l("The request body is nested too deeply."),
    "unsupported_media_type": _l("This file type is not accepted."),
    "rate_limited": _l("Too many attempts. Please wait a moment and try again."),
    "internal_error": _l("Something went wrong on our side. The error has been logged."),
    "password_too_short": _l("The password must have at least 12 characters."),
    "username_taken": _l("This username is already in use."),
    "chair_only": _l("Only the chair can do this."),
    "chair_or_secretariat_only": _l("Only the chair or the secretariat can do this."),
    "secretariat_only": _l("Only the secretariat can do this."),
    "session_not_in_progress": _l("The session is not in progress."),
    "meeting_not_published": _l("The meeting must be published before the session starts."),
    "votes_still_open": _l("Close the open votes first."),
    "meeting_closed": _l("The meeting is closed."),
    "meeting_archived": _l("The meeting is archived and can no longer change."),
    "delegate_not_approved": _l("The chair has not approved this delegate."),
    "already_requested_floor": _l("You have already asked for the floor."),
    "speaker_not_waiting": _l("This request is not waiting for the floor."),
    "speaker_not_speaking": _l("This speaker does not have the floor."),
    "vote_already_open": _l("A vote is already open."),
    "vote_closed": _l("The vote is closed."),
    "not_entitled_to_vote": _l("You are not entitled to vote."),
    "already_voted": _l("You have already voted."),
    "invalid_choice": _l("Choose agree, disagree or abstain."),
    "idempotency_key_reused": _l("This Idempotency-Key was already used for a different request."),
}


class AppError(Exception):
    """Base of every error a user may see; ``code`` picks the translated message."""

    status = 400
    default_code = "bad_request"

    def __init__(self, code: str | None = None, message: str | LazyString | None = None,
                 *, fields: dict[str, Any] | None = None, status: int | None = None) -> None:
        self.code = code or self.default_code
        self._message = message
        self.fields = fields
        if status is not None:
            self.status = status
        super().__init__(self.code)

    @property
    def message(self) -> str:
        if self._message is not None:
            return str(self._message)
        return str(MESSAGES.get(self.code, MESSAGES[self.default_code]))

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.fields:
            error["fields"] = self.fields
        return {"error": error}


class BadRequest(AppError):
    status = 400
    default_code = "bad_request"


class NotAuthenticated(AppError):
    status = 401
    default_code = "not_authenticated"


class Forbidden(AppError):
    status = 403
    default_code = "forbidden"


class NotFound(AppError):
    status = 404
    default_code = "not_found"


class Conflict(AppError):
    status = 409
    default_code = "conflict"


class TooLarge(AppError):
    status = 413
    default_code = "too_large"


class UnsupportedType(AppError):
    status = 415
    default_code = "unsupported_media_type"


class Invalid(AppError):
    status = 422
    default_code = "validation_error"


class RateLimited(AppError):
    status = 429
    default_code = "rate_limited"


STATUS_CODES = {
    400: "bad_request", 401: "not_authenticated", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 409: "conflict", 413: "too_large", 415: "unsupported_media_type",
    422: "validation_error", 429: "rate_limited", 500: "internal_error",
}
