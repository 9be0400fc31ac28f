"""Every meeting event type the code publishes has its audience written down in meetings/events.py (a new
type would otherwise go to the chair and the secretariat only, by the fail-closed default)."""

from __future__ import annotations

import re
from pathlib import Path

from meetings import events

ROOT = Path(__file__).resolve().parents[2]
PUBLISHED = re.compile(r'(?:realtime\.publish|_publish_if_distributed)\(\s*[\w.]+,\s*"([a-z_.]+)"', re.S)
LOOKED_UP = {"vote.cast", "presentation.moved", "attendance.changed"}


def test_every_published_type_has_a_written_audience():
    published = set()
    for package in ("meetings", "documents"):
        for path in (ROOT / package).rglob("*.py"):
            published |= set(PUBLISHED.findall(path.read_text(encoding="utf-8")))
    assert {"session.started", "vote.cast", "conclusion.set", "document.added", "minutes.signed"} <= published
    written = (events.MEETING_WIDE | set(events.ITEM_KEYS) | events.SPEAKER_EVENTS | events.MEMBERS_ONLY
               | events.ABOUT_A_PARTICIPANT | LOOKED_UP)
    assert published - written == set()


def test_an_unknown_type_goes_to_the_staff_only():
    assert events.audience_of(1, "something.new", {}) == frozenset({"staff"})
    assert events.audience_of(1, "conclusion.set", {"agenda_item_id": 7}) == frozenset({"members", "item:7"})
    assert events.audience_of(1, "session.started", {}) is None
