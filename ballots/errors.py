"""The ballots' own error codes; Vietnamese for every message is in ``messages_vi``."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from ecabinet.errors import AppError, Conflict, Forbidden, Invalid, NotFound

MESSAGES = {
    "ballot_not_draft": _l("Only a draft ballot can be changed or issued."),
    "ballot_not_issued": _l("The ballot is not open for answers."),
    "ballot_closed": _l("The ballot is closed; answers are no longer accepted."),
    "ballot_not_closed": _l("The ballot is not closed yet."),
    "secretariat_only": _l("Only the secretariat can do this."),
    "ballots_not_for_role": _l("Opinion ballots are sent by the Government Office to the members of the Government; "
                               "this account takes no part in them."),
    "invalid_answers": _l("Answer every question once with agree, disagree or other."),
    "unknown_recipient": _l("Every recipient must be an active member."),
    "recipient_not_cleared": _l("Some recipients are not cleared for the level of the attached dossiers."),
    "unknown_document": _l("An attached document does not exist."),
    "deadline_passed": _l("The deadline must be in the future."),
    "slip_rejected": _l("The signed slip was refused."),
    "slip_not_ours": _l("The signed slip is not the slip this server prepared for you."),
    "slip_superseded": _l("This slip was prepared before your current answer; get a new slip for the answer you "
                          "want to give and sign it."),
    "slip_signing_failed": _l("The signed slip did not pass validation; nothing was recorded."),
    "not_a_pdf": _l("Upload the signed slip as a PDF file."),
    "timestamp_unavailable": _l("The timestamp service cannot be reached right now; your answer was not recorded. "
                                "Please try again in a few minutes."),
    "report_not_timestamped": _l("The timestamp service could not be reached: the summary report was signed "
                                 "without a timestamp (PAdES B-B)."),
}


def _message(code: str) -> str:
    return str(MESSAGES[code])


class BallotError(AppError):
    @property
    def message(self) -> str:
        if self._message is not None:
            return str(self._message)
        return _message(self.code) if self.code in MESSAGES else super().message


class BallotConflict(BallotError, Conflict):
    pass


class BallotForbidden(BallotError, Forbidden):
    pass


class BallotInvalid(BallotError, Invalid):
    pass


class BallotNotFound(BallotError, NotFound):
    pass


class SigningFailed(BallotError):
    status = 500
    default_code = "slip_signing_failed"


class TimestampUnavailable(BallotError):
    """The configured timestamp authority gave no usable timestamp; nothing was recorded."""

    status = 503
    default_code = "timestamp_unavailable"
