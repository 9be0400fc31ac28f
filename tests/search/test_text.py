"""Folding, query parsing and snippets: pure functions, no database."""

from __future__ import annotations

import pytest

from search import text


@pytest.mark.parametrize(("raw", "folded"), [
    ("Nghị định", "nghi dinh"),
    ("NGHỊ ĐỊNH", "nghi dinh"),
    ("Đà Nẵng", "da nang"),
    ("nghi dinh", "nghi dinh"),
    ("Thủ tướng Chính phủ", "thu tuong chinh phu"),
    ("Nghi\u0323 đi\u0323nh", "nghi dinh"),  # decomposed input folds the same as precomposed
    ("Ủy ban nhân dân", "uy ban nhan dan"),
])
def test_fold(raw, folded):
    assert text.fold(raw) == folded


@pytest.mark.parametrize(("query", "words"), [
    ("Nghị định 30/2020/NĐ-CP", ("nghi", "dinh", "30", "2020", "nd", "cp")),
    ('"', ()),
    ("*", ()),
    ("   ", ()),
    ("AND", ("and",)),
    ("nghi -dinh", ("nghi", "dinh")),
    ("NEAR(nghi dinh)", ("near", "nghi", "dinh")),
    ("nghi nghi dinh", ("nghi", "dinh")),
    ("x_y", ("x", "y")),
    ("a'b:*|!&", ("a", "b")),
])
def test_query_words(query, words):
    assert text.Terms.parse(query).words == words


def test_query_expressions_quote_every_word_and_prefix_the_last():
    terms = text.Terms.parse("and nghi dinh")
    assert terms.fts5() == '"and" "nghi" "dinh"*'
    assert terms.tsquery() == "and & nghi & dinh:*"


def test_query_word_count_is_bounded():
    assert len(text.Terms.parse(" ".join(f"w{i}" for i in range(50))).words) == 12


def test_snippet_keeps_the_diacritics_and_marks_the_matches():
    body = ("Căn cứ Luật Tổ chức Chính phủ; " * 20) + "Dự thảo Nghị định quy định chi tiết thi hành Luật Đầu tư công."
    pieces = text.highlight(body, text.Terms.parse("nghi dinh"))
    assert [p for p, hit in pieces if hit] == ["Nghị định"]  # the phrase, not the "định" of "quy định"
    assert "Dự thảo Nghị định quy định chi tiết" in text.plain(pieces)
    assert text.plain(pieces).startswith("…")
    assert len(text.plain(pieces)) <= text.SNIPPET_CHARS + 2


def test_snippet_matches_whole_words_except_the_last_which_is_a_prefix():
    pieces = text.highlight("Nghìn nghị quyết, nghị định", text.Terms.parse("nghi đi"))
    assert [p for p, hit in pieces if hit] == ["nghị", "nghị", "định"]


def test_snippet_without_a_match_is_the_start_of_the_text():
    title = "Báo cáo tình hình kinh tế"
    assert text.plain(text.highlight(title, text.Terms.parse("xyz"))) == title


def test_index_text_fits_a_tsvector():
    hostile = " ".join(f"w{i:07d}" for i in range(400_000))  # distinct words: the worst case for a tsvector
    indexed = text.index_text(hostile)
    assert 0 < len(indexed.split()) < 400_000
    assert len(indexed.split()) * 16 < 1_048_575
    assert text.index_text("Nghị định số 15/2026/NĐ-CP") == "nghi dinh so 15 2026 nd cp"


def test_pdf_text_extracts_vietnamese(pdftotext):
    from tests.documents import corpus

    assert "Nghị định về phí" in text.pdf_text(corpus.valid_pdf(1, text="Nghị định về phí"))
    assert text.pdf_text(b"%PDF-1.7 not really") == ""
