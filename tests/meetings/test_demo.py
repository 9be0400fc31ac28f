"""The demo Government has what a person needs to try every page: a published meeting, a closed one whose
minutes are still to be drawn up and signed, and a signing certificate for the secretariat."""

from __future__ import annotations

from sqlalchemy import select

from ecabinet import keystore
from ecabinet.auth.models import User
from ecabinet.database import db
from ecabinet.demo import load_demo
from meetings.demo import CLOSED_TITLE, DEMO_TITLE
from meetings.minutes.service import minutes_of
from meetings.models import Meeting


def test_the_demo_has_a_closed_meeting_and_a_secretariat_certificate(app):
    app.config["PIN_KDF_ROUNDS"] = 1000  # the production cost only slows the test; the format is the same
    load_demo()
    published = db.session.scalar(select(Meeting).where(Meeting.title == DEMO_TITLE))
    closed = db.session.scalar(select(Meeting).where(Meeting.title == CLOSED_TITLE))
    assert published.status == "published" and closed.status == "closed"
    assert closed.agenda[0].conclusion and minutes_of(closed) is None
    secretary = db.session.scalar(select(User).where(User.username == "vpcp.thuky"))
    assert keystore.active_credential(secretary) is not None
    load_demo()  # idempotent: nothing twice
    assert db.session.query(Meeting).filter(Meeting.title == CLOSED_TITLE).count() == 1
