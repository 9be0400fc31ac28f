"""The phrase asked for ranks first and is what the snippet marks ("nghi dinh" is "Nghị định", not the
"định" of "ổn định"); the search page names each result's meeting and date and links to it."""

from __future__ import annotations

import re
from typing import Any

from search import text
from tests.meetings.factories import create_meeting


def test_the_phrase_is_marked_whole_and_single_words_are_not() -> None:
    terms = text.Terms.parse("nghi dinh")
    pieces = text.highlight("Giữ ổn định kinh tế vĩ mô; dự thảo Nghị định 30/2020/NĐ-CP về công tác văn thư.", terms)
    assert [piece for piece, hit in pieces if hit] == ["Nghị định"]
    pieces = text.highlight("Nghị quyết về ổn định kinh tế", terms)  # no phrase: each word, as before
    assert [piece for piece, hit in pieces if hit] == ["Nghị", "định"]


def test_results_with_the_phrase_come_first(api: Any, cast: Any) -> None:
    sec = api(cast.secretary)
    mid = create_meeting(sec, cast, title="Phiên họp thường kỳ tháng 12")["id"]
    words = sec.post(f"/meetings/{mid}/agenda", json={
        "title": "Ổn định kinh tế vĩ mô, nghị quyết về định hướng, định mức và nghị sự"}).get_json()
    phrase = sec.post(f"/meetings/{mid}/agenda", json={"title": "Dự thảo Nghị định về đầu tư công"}).get_json()
    results = sec.get("/search", query_string={"q": "nghi dinh", "kind": "agenda_item"}).get_json()["results"]
    ids = [r["id"] for r in results]
    assert ids.index(phrase["id"]) < ids.index(words["id"])
    assert ids[0] == phrase["id"]


def test_the_page_names_the_meeting_and_its_date(app: Any, api: Any, cast: Any) -> None:
    sec = api(cast.secretary)
    mid = create_meeting(sec, cast, title="Phiên họp chuyên đề xây dựng pháp luật")["id"]
    sec.post(f"/meetings/{mid}/agenda", json={"title": "Dự thảo Nghị định về đầu tư công"})
    from tests.meetings.test_pages import browser_login

    page = browser_login(app, "secretary").get("/search?q=nghi+dinh").get_data(as_text=True)
    row = re.search(r'<li data-kind="agenda_item".*?</li>', page, re.S).group(0)  # type: ignore[union-attr]
    assert "Phiên họp chuyên đề xây dựng pháp luật" in row and "03/12/2026 08:30" in row
    assert f'href="/meetings/{mid}#item-' in row and "<mark>Nghị định</mark>" in row
