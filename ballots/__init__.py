"""Opinion ballots ("phiếu lấy ý kiến"): issue, signed answers, tally, signed report, export."""

from flask import Flask
from flask_babel import lazy_gettext as _l

from ballots import (
    cli,
    models,  # noqa: F401  (tables register with the metadata)
    pdf,
    views,
    web,
)
from ballots.demo import demo_step
from ballots.searchable import BallotSearch
from ballots.service import start_ballot_scheduler
from ecabinet import add_background_task, keystore, security
from ecabinet.demo import DEMO_STEPS
from ecabinet.notifications import register_kind
from ecabinet.signing._font import prepared_font
from ecabinet.signing.signer import FONT_PATH
from search import sources


def init_app(app: Flask) -> None:
    app.register_blueprint(views.api)
    app.register_blueprint(web.web)
    security.guard_upload("ballots_api.upload_signed_slip", views.may_upload_a_slip)
    sources.register(app, BallotSearch())
    web.register_page_labels()
    web.register_home_section()
    cli.register()
    if demo_step not in DEMO_STEPS:
        DEMO_STEPS.append(demo_step)
    add_background_task(app, start_ballot_scheduler)
    add_background_task(app, prepare_signing)
    register_notification_kinds()


def register_notification_kinds() -> None:
    """What recipients are told about a ballot (``ecabinet.notifications``)."""
    register_kind("ballot.issued", label=_l("An opinion ballot is sent to me"),
                  headline=_l("Opinion ballot for you: %(title)s"), order=30)
    register_kind("ballot.reminder", label=_l("An opinion ballot I have not answered closes soon"),
                  headline=_l("Reminder: the opinion ballot closes soon: %(title)s"), order=31)
    register_kind("ballot.closed", label=_l("An opinion ballot sent to me is closed"),
                  headline=_l("Opinion ballot closed: %(title)s"), order=32)


def prepare_signing(app: Flask) -> None:
    """What every answer shares, made once as the server starts rather than in the first answers:
    the slip's three faces and the signature font cut (0.8 s), the office's key unlocked."""
    pdf.font_objects()
    prepared_font(FONT_PATH)
    with app.app_context():
        keystore.office_signer()

