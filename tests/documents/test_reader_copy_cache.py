"""Readers' stamped copies are stamped once per (reader, version) for a whole session's dossiers,
and every fetch of a copy is byte-identical whether it came from the cache or was stamped again."""

from __future__ import annotations

import hashlib
from collections import OrderedDict

import pytest

from documents import pdftools, service
from tests.documents import corpus
from tests.meetings.factories import create_meeting, upload

DOSSIERS = 20  # more than a count-bounded cache of 16 copies held


@pytest.fixture
def session_dossiers(api, cast, monkeypatch):
    monkeypatch.setattr(service, "_STAMPED", OrderedDict())
    monkeypatch.setattr(service, "_STAMPED_BYTES", 0)
    stamps: list[str] = []
    real = pdftools.stamp_copy

    def counting(prepared, *, reader_name, when):
        stamps.append(reader_name)
        return real(prepared, reader_name=reader_name, when=when)

    monkeypatch.setattr(pdftools, "stamp_copy", counting)
    sec = api(cast.secretary)
    mid = create_meeting(sec, cast)["id"]
    item = sec.post(f"/meetings/{mid}/agenda", json={"title": "Tờ trình", "presenter": "Bộ Tư pháp",
                                                     "duration_minutes": 15}).get_json()["id"]
    for user in (cast.member_a, cast.member_b):
        member = {"user_id": user.id, "role": "member"}
        assert sec.post(f"/meetings/{mid}/participants", json=member).status_code == 201
    docs = [upload(sec, mid, item, corpus.valid_pdf(1, text=f"Hồ sơ số {n}"), title=f"Hồ sơ {n}")
            .get_json()["id"] for n in range(DOSSIERS)]
    assert sec.post(f"/meetings/{mid}/publish").status_code == 200
    return docs, stamps


def fetch_all(api, users, docs) -> dict[tuple[int, int], str]:
    seen = {}
    for user in users:
        client = api(user)
        for doc in docs:
            response = client.get(f"/documents/{doc}/content")
            assert response.status_code == 200
            seen[(user.id, doc)] = hashlib.sha256(response.data).hexdigest()
    return seen


def test_each_reader_copy_is_stamped_once_for_a_whole_session(api, cast, session_dossiers):
    docs, stamps = session_dossiers
    readers = [cast.member_a, cast.member_b]
    first = fetch_all(api, readers, docs)
    assert len(stamps) == len(readers) * DOSSIERS
    again = fetch_all(api, readers, docs)
    assert again == first
    assert len(stamps) == len(readers) * DOSSIERS  # the repeats were served from the cache
    assert len(set(first.values())) == len(first)  # and every reader's copy is their own


def test_a_copy_stamped_again_after_eviction_is_byte_identical(api, app, cast, session_dossiers):
    docs, stamps = session_dossiers
    app.config["STAMPED_CACHE_MB"] = 0  # nothing fits: every fetch stamps again
    first = fetch_all(api, [cast.member_a], docs[:3])
    again = fetch_all(api, [cast.member_a], docs[:3])
    assert again == first
    assert len(stamps) == 6
    assert len(service._STAMPED) == 0
