"""Search through the API on a real database: diacritics, kinds, ranking, visibility, updates, safety."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest

from ecabinet.database import db, utcnow
from search.models import SearchEntry
from tests.conftest import assert_error
from tests.documents import corpus
from tests.meetings.factories import create_meeting, upload


def _pdf(line: str) -> bytes:
    return corpus.valid_pdf(2, text=line)


@pytest.fixture
def world(api: Any, cast: Any) -> dict[str, Any]:
    """A published meeting (chair, member_a, member_b with normal clearance, an approved delegate, a guest
    invited to item 2), a draft meeting, three dossiers (one confidential), a conclusion and an issued ballot."""
    sec = api(cast.secretary)
    meeting = create_meeting(sec, cast, title="Phiên họp chuyên đề về Nghị định thu phí")
    mid = meeting["id"]
    items = [sec.post(f"/meetings/{mid}/agenda", json={"title": title, "presenter": "Bộ Tài chính"}).get_json()
             for title in ("Dự thảo Nghị định về đầu tư công", "Báo cáo tình hình kinh tế - xã hội")]
    # the chair is a member from the meeting's creation
    for user in (cast.member_a, cast.member_b):
        assert sec.post(f"/meetings/{mid}/participants", json={"user_id": user.id, "role": "member"}).status_code == 201
    delegate = sec.post(f"/meetings/{mid}/participants", json={"user_id": cast.delegate.id, "role": "delegate",
                                                                "represents_user_id": cast.member_b.id}).get_json()
    assert sec.post(f"/meetings/{mid}/participants", json={"user_id": cast.guest.id, "role": "guest",
                                                            "agenda_item_ids": [items[1]["id"]]}).status_code == 201
    docs = {
        "doc1": upload(sec, mid, items[0]["id"], _pdf("Căn cứ Luật Giao thông, Nghị định quy định chi tiết"),
                       title="Tờ trình Chính phủ").get_json(),
        "doc2": upload(sec, mid, items[1]["id"], _pdf("Nghị định về phí sử dụng đường cao tốc"),
                       title="Báo cáo đánh giá tác động").get_json(),
        "doc3": upload(sec, mid, items[0]["id"], _pdf("Phương án mật kèm theo Nghị định"),
                       title="Phụ lục", confidentiality="confidential").get_json(),
    }
    assert sec.post(f"/meetings/{mid}/publish").status_code == 200
    assert api(cast.chair).post(f"/meetings/{mid}/participants/{delegate['id']}/approve").status_code == 200
    conclusion = sec.put(f"/meetings/{mid}/agenda/{items[1]['id']}/conclusion",
                         json={"text": "Giao Bộ Tài chính hoàn thiện Nghị định, trình Chính phủ trước ngày 15."})
    assert conclusion.status_code == 200, conclusion.get_json()
    draft = create_meeting(sec, cast, title="Nghị định chưa phát hành")
    assert sec.post(f"/meetings/{draft['id']}/participants",
                    json={"user_id": cast.member_a.id, "role": "member"}).status_code == 201
    ballot = sec.post("/ballots", json={
        "title": "Xin ý kiến thành viên Chính phủ về dự thảo Nghị định", "summary": "Văn phòng Chính phủ xin ý kiến.",
        "questions": ["Đồng ý ban hành Nghị định?"], "recipient_ids": [cast.member_a.id, cast.member_b.id],
        "deadline": (utcnow() + timedelta(days=2)).isoformat()}).get_json()
    assert sec.post(f"/ballots/{ballot['id']}/issue").status_code == 200
    return {"meeting": mid, "items": [i["id"] for i in items], "draft": draft["id"], "ballot": ballot["id"],
            **{name: doc["id"] for name, doc in docs.items()}}


def _search(client: Any, q: str, **params: Any) -> list[dict[str, Any]]:
    response = client.get("/search", query_string={"q": q, **params})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["results"]


def _keys(results: list[dict[str, Any]]) -> set[tuple[str, int]]:
    return {(r["kind"], r["id"]) for r in results}


@pytest.mark.parametrize("query", ["nghi dinh", "Nghị định", "NGHI DINH", "nghị đinh", "nghi din"])
def test_every_spelling_finds_each_kind(api, cast, world, query):
    found = _keys(_search(api(cast.secretary), query, limit=50))
    assert {("meeting", world["meeting"]), ("agenda_item", world["items"][0]), ("document", world["doc1"]),
            ("document", world["doc2"]), ("conclusion", world["items"][1]), ("ballot", world["ballot"])} <= found


@pytest.mark.parametrize(("kind", "expected"), [
    ("meeting", lambda w: {("meeting", w["meeting"]), ("meeting", w["draft"])}),
    ("document", lambda w: {("document", w["doc1"]), ("document", w["doc2"]), ("document", w["doc3"])}),
    ("conclusion", lambda w: {("conclusion", w["items"][1])}),
    ("ballot", lambda w: {("ballot", w["ballot"])}),
    ("agenda_item", lambda w: {("agenda_item", w["items"][0])}),
])
def test_kind_filter(api, cast, world, kind, expected):
    assert _keys(_search(api(cast.secretary), "nghi dinh", kind=kind)) == expected(world)


def test_document_text_is_searched_and_the_snippet_has_diacritics(api, cast, world):
    results = _search(api(cast.member_a), "duong cao toc")
    assert [(r["kind"], r["id"]) for r in results] == [("document", world["doc2"])]
    result = results[0]
    assert "Nghị định về phí sử dụng đường cao tốc" in result["snippet"]
    assert result["meeting_id"] == world["meeting"]
    assert result["url"] == f"/documents/{world['doc2']}/view"


def test_title_matches_rank_above_text_matches(api, cast, world):
    results = _search(api(cast.secretary), "to trinh", kind="document")
    assert results[0]["id"] == world["doc1"]  # "Tờ trình" in its title; the others only have it nowhere or in text
    results = _search(api(cast.secretary), "nghi dinh thu phi")
    assert (results[0]["kind"], results[0]["id"]) == ("meeting", world["meeting"])


EVERYTHING = {"meeting", "draft", "item1", "doc1", "doc2", "doc3", "conclusion", "ballot"}
VISIBLE = {
    "secretary": EVERYTHING,
    "chair": EVERYTHING - {"ballot"},  # the chair of the draft too; not a recipient of the ballot
    "member_a": EVERYTHING - {"draft"},
    "member_b": EVERYTHING - {"draft", "doc3"},  # normal clearance: no confidential dossier
    "delegate": EVERYTHING - {"draft", "ballot"},
    "guest": {"meeting", "doc2", "conclusion"},  # invited to item 2 only
    "admin": set(),  # sees no content of meetings it is not part of
    "outsider": set(),
}


@pytest.mark.parametrize("who", sorted(VISIBLE))
def test_visibility_matrix(api, cast, world, who):
    names = {("meeting", world["meeting"]): "meeting", ("meeting", world["draft"]): "draft",
             ("agenda_item", world["items"][0]): "item1", ("document", world["doc1"]): "doc1",
             ("document", world["doc2"]): "doc2", ("document", world["doc3"]): "doc3",
             ("conclusion", world["items"][1]): "conclusion", ("ballot", world["ballot"]): "ballot"}
    client = api(getattr(cast, who))
    found = _keys(_search(client, "nghi dinh", limit=50))
    assert found <= set(names), found
    assert {names[key] for key in found} == VISIBLE[who]
    # words only the hidden things contain find nothing either
    assert bool(_search(client, "phuong an mat")) == ("doc3" in VISIBLE[who])
    assert bool(_search(client, "chua phat hanh")) == ("draft" in VISIBLE[who])


def test_an_unapproved_delegate_finds_no_dossier_text(api, cast, world):
    from meetings.models import Participant

    participant = db.session.scalar(db.select(Participant).where(Participant.user_id == cast.delegate.id))
    participant.approved_at = None
    db.session.commit()
    kinds = {r["kind"] for r in _search(api(cast.delegate), "nghi dinh", limit=50)}
    assert "document" not in kinds
    assert "meeting" in kinds


def test_renamed_item_and_new_version_are_reflected(api, cast, world):
    sec = api(cast.secretary)
    item = world["items"][0]
    response = sec.patch(f"/meetings/{world['meeting']}/agenda/{item}", json={"title": "Dự án Luật Thủ đô"})
    assert response.status_code == 200, response.get_json()
    assert ("agenda_item", item) not in _keys(_search(sec, "dau tu cong"))
    assert ("agenda_item", item) in _keys(_search(sec, "luat thu do"))

    files = {"file": (io.BytesIO(_pdf("Quyết định phê duyệt quy hoạch vùng Đồng bằng")), "v2.pdf")}
    assert sec.post(f"/documents/{world['doc1']}/versions", data=files,
                    content_type="multipart/form-data").status_code == 201
    assert ("document", world["doc1"]) in _keys(_search(sec, "quy hoach vung dong bang"))
    assert ("document", world["doc1"]) not in _keys(_search(sec, "luat giao thong"))


def test_conclusion_update_replaces_the_old_text(api, cast, world):
    sec = api(cast.secretary)
    item = world["items"][1]
    sec.put(f"/meetings/{world['meeting']}/agenda/{item}/conclusion", json={"text": "Thống nhất thông qua báo cáo."})
    assert ("conclusion", item) not in _keys(_search(sec, "hoan thien"))
    assert ("conclusion", item) in _keys(_search(sec, "thong nhat thong qua"))


def test_a_rolled_back_change_leaves_the_index_unchanged(app, api, cast, world):
    from ecabinet.database import write_transaction
    from meetings.models import Meeting

    def rename_then_fail() -> None:
        with write_transaction():
            db.session.get(Meeting, world["meeting"]).title = "Tiêu đề bị hủy"
            db.session.flush()
            assert ("meeting", world["meeting"]) in {(e.kind, e.object_id) for e in db.session.scalars(
                db.select(SearchEntry).where(SearchEntry.title == "Tiêu đề bị hủy"))}
            raise RuntimeError("abort")

    with pytest.raises(RuntimeError):
        rename_then_fail()
    db.session.expire_all()
    sec = api(cast.secretary)
    assert _search(sec, "tieu de bi huy") == []
    assert ("meeting", world["meeting"]) in _keys(_search(sec, "thu phi"))


@pytest.mark.parametrize("query", ['"', "*", "   ", "-", "()", "''"])
def test_a_query_without_words_is_refused(api, cast, query):
    error = assert_error(api(cast.member_a).get("/search", query_string={"q": query}), 422, "search_query_empty")
    assert error["message"] == "Vui lòng nhập ít nhất một từ cần tìm."


def test_a_missing_or_too_long_query_is_refused(api, cast):
    client = api(cast.member_a)
    assert_error(client.get("/search"), 422, "search_query_empty")
    error = assert_error(client.get("/search", query_string={"q": "a" * 201}), 422, "search_query_too_long")
    assert error["message"] == "Nội dung tìm kiếm quá dài (tối đa 200 ký tự)."
    assert_error(client.get("/search", query_string={"q": "nghi", "kind": "user"}), 422, "validation_error")


@pytest.mark.parametrize("query", ['AND', 'nghi -dinh', 'nghi AND OR NOT dinh', '"nghi dinh', 'nghi*',
                                   'NEAR(nghi dinh)', "nghi' OR 1=1 --", "dinh:*", "!nghi | dinh", "漢字 Москва ☃",
                                   "n", "đ"])
def test_any_input_is_safe(api, cast, world, query):
    response = api(cast.secretary).get("/search", query_string={"q": query})
    assert response.status_code == 200, response.get_json()
    if query in ("nghi -dinh", "nghi*"):
        assert ("meeting", world["meeting"]) in _keys(response.get_json()["results"])


def test_a_nul_in_the_query_is_refused_like_any_query_strings(api, cast, world):
    """No query string may carry a NUL (ecabinet.security refuses it for every route)."""
    response = api(cast.secretary).get("/search", query_string={"q": "\x00nghi"})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_characters"


def test_prefix_of_the_last_word(api, cast, world):
    assert ("ballot", world["ballot"]) in _keys(_search(api(cast.member_a), "xin y kien thanh vi"))
    assert _search(api(cast.member_a), "thanh vi kien") == []  # only the last word is a prefix


def test_not_logged_in(client):
    assert_error(client.get("/api/v1/search?q=nghi"), 401, "not_authenticated")


def test_openapi_documents_the_endpoint(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/search"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"q", "kind", "limit"}
    assert "422" in operation["responses"]


def test_reindex_command_rebuilds_the_same_index(app, api, cast, world):
    before = sorted((e.kind, e.object_id, e.title, e.body) for e in db.session.scalars(db.select(SearchEntry)))
    result = app.test_cli_runner().invoke(args=["ecabinet", "search", "reindex"])
    assert result.exit_code == 0, result.output
    assert f"{len(before)} entries" in result.output
    db.session.expire_all()
    after = sorted((e.kind, e.object_id, e.title, e.body) for e in db.session.scalars(db.select(SearchEntry)))
    assert after == before
    assert ("document", world["doc2"]) in _keys(_search(api(cast.member_a), "duong cao toc"))


def test_init_fills_an_empty_index(app, api, cast, world):
    from search import index

    db.session.execute(SearchEntry.__table__.delete())
    if db.engine.dialect.name == "sqlite":
        db.session.execute(db.text("DELETE FROM search_fts"))
    db.session.commit()
    assert _search(api(cast.secretary), "nghi dinh") == []
    result = app.test_cli_runner().invoke(args=["ecabinet", "init"])
    assert result.exit_code == 0, result.output
    assert "Search index filled" in result.output
    assert ("meeting", world["meeting"]) in _keys(_search(api(cast.secretary), "nghi dinh"))
    assert index.is_empty(db.session) is False


def test_search_page(client, api, cast, world):
    from tests.core.test_browser_session import browser_login

    browser_login(client, "guest")
    page = client.get("/search", query_string={"q": "nghi dinh"}).get_data(as_text=True)
    assert "<mark>Nghị định</mark>" in page
    assert "Báo cáo đánh giá tác động" in page
    assert "Tờ trình Chính phủ" not in page
    assert client.get("/search", query_string={"q": "a" * 300}).status_code == 200
    assert "quá dài" in client.get("/search", query_string={"q": "a" * 300}).get_data(as_text=True)
    assert "Tìm kiếm" in client.get("/search").get_data(as_text=True)
