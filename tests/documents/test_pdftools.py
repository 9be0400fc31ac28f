"""Upload vetting, page fingerprints and reader's-copy stamps over a corpus of good and bad PDFs."""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import time
import unicodedata
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject

from documents import pdftools
from documents.pdftools import (
    PdfRejected,
    changed_pages,
    inspect_upload,
    page_fingerprints,
    prepare_stamp_base,
    stamp_copy,
)
from tests.documents import corpus

MAX_BYTES = 50 * 1024 * 1024
READER = "Nguyễn Thị Thanh Hằng"
WHEN = datetime(2026, 11, 23, 7, 5, tzinfo=UTC)  # 14:05 in Hanoi
ROOT = Path(__file__).resolve().parents[2]
PDFTOTEXT = shutil.which("pdftotext") or "pdftotext"
ACTIVE_NAMES = {"/JavaScript", "/JS", "/Launch", "/GoToR", "/EmbeddedFiles", "/XFA",
                "/RichMedia", "/AA", "/NeedsRendering"}


@pytest.mark.parametrize(("build", "code", "status"), [
    (corpus.empty, "empty_file", 422),
    (corpus.random_bytes, "not_a_pdf", 415),
    (corpus.windows_executable, "not_a_pdf", 415),
    (corpus.html, "not_a_pdf", 415),
    (corpus.zip_archive, "not_a_pdf", 415),
    (corpus.polyglot, "not_a_pdf", 415),
    (corpus.truncated, "pdf_damaged", 422),
    (corpus.encrypted, "pdf_encrypted", 422),
    (corpus.no_pages, "pdf_damaged", 422),
    (corpus.deep_nesting, "pdf_damaged", 422),
    (corpus.flate_bomb, "pdf_damaged", 422),
    (corpus.direct_page, "pdf_damaged", 422),
])
@pytest.mark.parametrize("isolate", [False, True], ids=["in-process", "isolated"])
def test_refused_uploads(build, code: str, status: int, isolate: bool) -> None:
    with pytest.raises(PdfRejected) as caught:
        inspect_upload(build(), max_bytes=MAX_BYTES, isolate=isolate)
    assert (caught.value.code, caught.value.http_status) == (code, status)


def test_long_documents_are_listed_in_the_isolated_child() -> None:
    assert inspect_upload(corpus.many_pages(2500), max_bytes=MAX_BYTES).pages == 2500


def test_page_tree_larger_than_its_declared_count_is_damaged() -> None:
    with pytest.raises(PdfRejected, match="pdf_damaged"):
        inspect_upload(corpus.many_pages(9000, declared=5), max_bytes=MAX_BYTES)


def test_too_large_is_refused_before_parsing() -> None:
    data = corpus.valid_pdf(1)
    with pytest.raises(PdfRejected) as caught:
        inspect_upload(data, max_bytes=len(data) - 1)
    assert (caught.value.code, caught.value.http_status) == ("file_too_large", 413)


@pytest.mark.parametrize("isolate", [False, True], ids=["in-process", "isolated"])
def test_valid_pdf_is_kept_byte_for_byte(isolate: bool) -> None:
    data = corpus.valid_pdf(3)
    info = inspect_upload(data, max_bytes=MAX_BYTES, isolate=isolate)
    assert (info.pages, info.removed, info.size) == (3, [], len(data))
    assert info.data == data
    assert info.sha256 == info.original_sha256 == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("build", [corpus.xref_stream_pdf, corpus.rotated_pdf,
                                   corpus.open_at_destination])
def test_other_valid_structures_pass(build) -> None:
    data = build()
    info = inspect_upload(data, max_bytes=MAX_BYTES)
    assert info.removed == []
    assert info.data == data


def _active_entries(data: bytes) -> list[str]:
    """Every active-content name reachable anywhere in the file, by walking all objects."""
    reader = PdfReader(io.BytesIO(data))
    found, seen = [], set()
    stack = [reader.trailer.raw_get("/Root")]
    stack += [IndirectObject(num, gen, reader) for gen, ids in reader.xref.items() for num in ids]
    while stack:
        obj = stack.pop()
        if isinstance(obj, IndirectObject):
            if (obj.idnum, obj.generation) in seen:
                continue
            seen.add((obj.idnum, obj.generation))
            obj = obj.get_object()
        if isinstance(obj, DictionaryObject):
            found += [str(k) for k in obj if k in ACTIVE_NAMES]
            found += [str(v) for v in obj.values() if isinstance(v, NameObject)
                      and v in ACTIVE_NAMES]
            stack.extend(obj.values())
        elif isinstance(obj, ArrayObject):
            stack.extend(obj)
    return found


@pytest.mark.parametrize(("build", "removed"), [
    (corpus.open_action_javascript, ["/OpenAction /JavaScript"]),
    (corpus.names_javascript, ["/Names /JavaScript"]),
    (corpus.launch_action, ["/OpenAction /Launch"]),
    (corpus.embedded_file, ["/Names /EmbeddedFiles"]),
    (corpus.page_additional_actions, ["page 2 /AA"]),
    (corpus.link_javascript, ["page 1 /Link annotation /JavaScript"]),
    (corpus.xfa_form, ["catalog /NeedsRendering", "/AcroForm /XFA"]),
    (corpus.rich_media, ["page 3 /RichMedia annotation"]),
    (corpus.form_field_scripts, ["form field /AA", "form field /JavaScript"]),
    (corpus.outline_script, ["outline item /GoToR"]),
])
@pytest.mark.parametrize("isolate", [False, True], ids=["in-process", "isolated"])
def test_active_content_is_neutralised(build, removed: list[str], isolate: bool) -> None:
    original = build()
    assert _active_entries(original)
    info = inspect_upload(original, max_bytes=MAX_BYTES, isolate=isolate)
    assert info.removed == removed
    assert info.pages == 3
    assert info.data != original
    assert info.sha256 == hashlib.sha256(info.data).hexdigest() != info.original_sha256
    assert _active_entries(info.data) == []
    assert len(PdfReader(io.BytesIO(info.data), strict=True).pages) == 3
    assert b"payload.exe" not in info.data
    assert b"app.alert" not in info.data
    assert inspect_upload(info.data, max_bytes=MAX_BYTES).removed == []


def test_neutralising_document_entries_leaves_every_page_as_it_was() -> None:
    original = corpus.open_action_javascript()
    info = inspect_upload(original, max_bytes=MAX_BYTES)
    assert page_fingerprints(info.data) == page_fingerprints(original)


def test_safe_link_survives_next_to_the_removed_script() -> None:
    info = inspect_upload(corpus.link_javascript(), max_bytes=MAX_BYTES)
    annots = PdfReader(io.BytesIO(info.data)).pages[0]["/Annots"]
    kept = [a.get_object() for a in annots]
    assert [a["/A"]["/URI"] for a in kept if "/A" in a] == ["https://chinhphu.vn/"]


def test_flate_bomb_bounded_in_time_and_memory_in_process() -> None:
    """A 1 KB stream inflating to 512 MB, parsed in-process under a 512 MB address-space limit."""
    bomb = corpus.flate_bomb()
    assert len(bomb) < 2048
    script = (
        "import resource, sys\n"
        "from documents.pdftools import PdfRejected, inspect_upload\n"
        "data = sys.stdin.buffer.read()\n"
        "resource.setrlimit(resource.RLIMIT_AS, (512 << 20, 512 << 20))\n"
        "try:\n"
        "    inspect_upload(data, max_bytes=1 << 20, isolate=False)\n"
        "except PdfRejected as exc:\n"
        "    print(exc.code)\n"
    )
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", script], input=bomb,
                          capture_output=True,
                          timeout=20, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                          check=False)
    assert proc.stdout.decode().strip() == "pdf_damaged", proc.stderr.decode()[-500:]
    assert time.monotonic() - start < 10


def test_flate_bomb_bounded_when_isolated() -> None:
    start = time.monotonic()
    with pytest.raises(PdfRejected, match="pdf_damaged"):
        inspect_upload(corpus.flate_bomb(), max_bytes=MAX_BYTES, isolate=True)
    assert time.monotonic() - start < 10


# --- fingerprints ---------------------------------------------------------------------------

def _three_pages(second_page_text: str = "Trang hai") -> bytes:
    writer = PdfWriter()
    for text in ("Trang một", second_page_text, "Trang ba"):
        writer.append(PdfReader(io.BytesIO(corpus.valid_pdf(1, text=text))))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_fingerprints_name_the_changed_page() -> None:
    old = page_fingerprints(_three_pages())
    assert len(old) == 3
    assert len(set(old)) == 3
    assert page_fingerprints(_three_pages()) == old
    assert changed_pages(old, page_fingerprints(_three_pages("Trang hai, đã sửa"))) == [2]


def test_fingerprints_ignore_a_rewrite_of_the_same_content() -> None:
    data = corpus.valid_pdf(3)
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    out = io.BytesIO()
    writer.write(out)
    assert out.getvalue() != data
    assert page_fingerprints(out.getvalue()) == page_fingerprints(data)


def test_fingerprint_of_a_damaged_file_is_refused() -> None:
    with pytest.raises(PdfRejected, match="pdf_damaged"):
        page_fingerprints(corpus.truncated()[:200])


@pytest.mark.parametrize(("old", "new", "changed"), [
    (["a", "b", "c"], ["a", "b", "c"], []),
    (["a", "b", "c"], ["a", "x", "c"], [2]),
    (["a", "b"], ["a", "b", "c"], [3]),
    (["a", "b", "c"], ["a"], [2, 3]),
    ([], ["a"], [1]),
    (["a", "b"], ["b", "a"], [1, 2]),
])
def test_changed_pages(old: list[str], new: list[str], changed: list[int]) -> None:
    assert changed_pages(old, new) == changed


# --- reader's copy ---------------------------------------------------------------------------

def _pdftotext(data: bytes, *args: str) -> str:
    proc = subprocess.run([PDFTOTEXT, *args, "-", "-"], input=data,
                          capture_output=True, check=True)
    return unicodedata.normalize("NFC", proc.stdout.decode())


def _page_texts(data: bytes) -> list[str]:
    return _pdftotext(data).split("\f")[:-1]


def _expected_stamp(name: str = READER) -> str:
    return f"Bản của: {name} — 23/11/2026 14:05 (giờ Hà Nội)"


@pytest.fixture(scope="module")
def dossier() -> bytes:
    return corpus.valid_pdf(200)


def test_stamp_on_every_page_of_a_200_page_dossier(dossier: bytes) -> None:
    start = time.perf_counter()
    prepared = prepare_stamp_base(dossier)
    prepared_at = time.perf_counter()
    stamped = prepared.stamp(READER, WHEN)
    done = time.perf_counter()
    one_call = stamp_copy(dossier, reader_name=READER, when=WHEN)
    print(f"\nstamp 200 pages ({len(dossier):,} bytes): prepare {1000 * (prepared_at - start):.0f}"
          f" ms, per reader {1000 * (done - prepared_at):.1f} ms, "
          f"stamp_copy {1000 * (time.perf_counter() - done):.0f} ms")

    assert stamped.startswith(dossier)
    assert prepared.appends_to_original
    assert one_call == stamped
    assert len(PdfReader(io.BytesIO(stamped), strict=True).pages) == 200
    texts = _page_texts(stamped)
    assert len(texts) == 200
    assert [n for n, text in enumerate(texts, 1) if _expected_stamp() not in text] == []
    assert all(corpus.VIETNAMESE_LINE in text for text in texts)  # the page itself is intact


def test_each_reader_gets_only_their_own_name(dossier: bytes) -> None:
    prepared = prepare_stamp_base(dossier)
    first = prepared.stamp(READER, WHEN)
    second = prepared.stamp("Trần Văn Đức", WHEN)
    assert first[:len(dossier)] == second[:len(dossier)] == dossier
    texts = _page_texts(second)
    assert all(_expected_stamp("Trần Văn Đức") in t and READER not in t for t in texts)


def test_decomposed_name_is_stamped_precomposed() -> None:
    data = corpus.valid_pdf(1)
    stamped = stamp_copy(data, reader_name=unicodedata.normalize("NFD", "  Lê  Thị Ánh "),
                         when=WHEN)
    assert _expected_stamp("Lê Thị Ánh") in _page_texts(stamped)[0]


def _stamp_word_box(data: bytes, page: int) -> tuple[float, float, float, float]:
    out = _pdftotext(data, "-bbox", "-f", str(page), "-l", str(page))
    size = re.search(r'<page width="([\d.]+)" height="([\d.]+)"', out)
    word = re.search(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)">Bản',
                     out)
    assert size
    assert word
    return float(size[1]), float(size[2]), float(word[2]), float(word[3])


@pytest.mark.parametrize(("build", "pages"), [
    (corpus.xref_stream_pdf, 2),  # cross-reference stream, inherited resources, contents array
    (corpus.rotated_pdf, 3),  # /Rotate 90 and a landscape page
])
def test_stamp_other_structures_at_the_visible_bottom(build, pages: int) -> None:
    data = build()
    stamped = stamp_copy(data, reader_name=READER, when=WHEN)
    assert stamped.startswith(data)
    reader = PdfReader(io.BytesIO(stamped), strict=True)
    assert len(reader.pages) == pages
    assert all(_expected_stamp() in text for text in _page_texts(stamped))
    for number, page in enumerate(reader.pages, 1):
        width, height, _, y_max = _stamp_word_box(stamped, number)
        shown_height = width if page.rotation % 180 else height  # poppler reports unrotated size
        assert shown_height - 30 < y_max <= shown_height


def test_stamp_keeps_original_page_content_and_resources() -> None:
    data = corpus.xref_stream_pdf()
    stamped = stamp_copy(data, reader_name=READER, when=WHEN)
    texts = _page_texts(stamped)
    assert "Page one" in texts[0]
    assert "Page two" in texts[1]


def _stamp_words(data: bytes) -> list[tuple[str, float, float, float]]:
    """The stamp's words on page 1: text, left, right and top (the glyphs' placement; the bottom
    depends on the font's declared descent)."""
    out = _pdftotext(data, "-bbox", "-f", "1", "-l", "1")
    words = re.findall(r'<word xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>', out)
    start = next(i for i, w in enumerate(words) if w[3] == "Bản")
    return [(text, float(x0), float(x1), float(top)) for x0, x1, top, text in words[start:]]


def test_direct_stamp_is_placed_as_reportlab_draws_it(monkeypatch) -> None:
    data = corpus.rotated_pdf()
    direct = stamp_copy(data, reader_name=READER, when=WHEN)
    assert b"/ECSTRE+LiberationSerif" in direct[len(data):]  # the face prepared once per process
    assert stamp_copy(data, reader_name=READER, when=WHEN) == direct
    monkeypatch.setattr(pdftools, "_direct_stamp", lambda text: None)
    drawn = stamp_copy(data, reader_name=READER, when=WHEN)
    assert b"/ECSTRE+" not in drawn
    assert _page_texts(direct) == _page_texts(drawn)
    words, expected = _stamp_words(direct), _stamp_words(drawn)
    assert [w[0] for w in words] == [w[0] for w in expected]
    assert all(abs(a - b) < 0.05 for word, other in zip(words, expected, strict=True)
               for a, b in zip(word[1:], other[1:], strict=True))


def test_direct_stamp_font_carries_no_time_of_its_own() -> None:
    # fontTools dates a cut font with the time of the cut: each process would embed other bytes,
    # and a reader's copy served again after a restart or a restore would differ
    from fontTools.ttLib import TTFont

    data = corpus.valid_pdf(1)
    stamped = PdfReader(io.BytesIO(stamp_copy(data, reader_name=READER, when=WHEN)))
    form = stamped.pages[0]["/Resources"]["/XObject"]["/ECabStamp"].get_object()
    font = form["/Resources"]["/Font"]["/F1"].get_object()
    descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
    head = TTFont(io.BytesIO(descriptor["/FontFile2"].get_object().get_data()))["head"]
    assert head.modified == head.created


def test_name_outside_the_prepared_face_is_drawn_by_reportlab() -> None:
    data = corpus.valid_pdf(2)
    stamped = stamp_copy(data, reader_name="Иван Петров", when=WHEN)
    assert b"/ECSTRE+" not in stamped
    assert len(PdfReader(io.BytesIO(stamped), strict=True).pages) == 2
    assert all(_expected_stamp("Иван Петров") in text for text in _page_texts(stamped))
    assert stamp_copy(data, reader_name="Иван Петров", when=WHEN) == stamped


def _broken_startxref() -> bytes:
    return re.sub(rb"startxref\s+\d+", b"startxref\n12", corpus.valid_pdf(2))


def test_stamp_appends_to_a_repaired_copy_when_the_xref_is_broken() -> None:
    prepared = prepare_stamp_base(_broken_startxref())
    assert not prepared.appends_to_original
    stamped = prepared.stamp(READER, WHEN)
    assert stamped.startswith(prepared.base)
    texts = _page_texts(stamped)
    assert len(texts) == prepared.page_count
    assert all(_expected_stamp() in text for text in texts)


def test_stamp_of_a_neutralised_upload(dossier: bytes) -> None:
    info = inspect_upload(corpus.open_action_javascript(), max_bytes=MAX_BYTES)
    stamped = stamp_copy(info.data, reader_name=READER, when=WHEN)
    assert all(_expected_stamp() in text for text in _page_texts(stamped))
    assert _active_entries(stamped) == []
