"""The shared Decree 30 document pieces: Vietnamese text, header, page numbers, signature boxes."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import time
import unicodedata
from datetime import UTC, datetime

import pytest
from pypdf import PdfReader
from reportlab.lib.fonts import tt2ps
from reportlab.pdfbase import pdfmetrics
from reportlab.platypus import SimpleDocTemplate

from ecabinet import pdf
from ecabinet.pdf import (
    MOTTO,
    SLOGAN,
    SignatureBlockSpec,
    build_document,
    decree30_header,
    format_vn_datetime,
    paragraph,
    place_date,
    read_attachment,
    signature_blocks,
    title_block,
    vietnamese_date,
)

BASE_VOWELS = "aăâeêioôơuưy"
TONES = ["", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323"]  # none, huyền, sắc, hỏi, ngã, nặng
VIETNAMESE_LETTERS = [
    unicodedata.normalize("NFC", base + tone)
    for vowel in BASE_VOWELS for base in (vowel, vowel.upper()) for tone in TONES
] + ["đ", "Đ"]
ANSWERS = json.dumps({"ballot": 7, "answers": {"1": "đồng ý", "2": "ý kiến khác"}},
                     ensure_ascii=False).encode()
WHEN = datetime(2026, 11, 23, 2, 30, tzinfo=UTC)
A4_WIDTH, A4_HEIGHT = pdf.PAGE_SIZE
PDFTOTEXT = shutil.which("pdftotext") or "pdftotext"


def pdftotext(data: bytes, *args: str) -> str:
    proc = subprocess.run([PDFTOTEXT, *args, "-", "-"], input=data,
                          capture_output=True, check=True)
    return unicodedata.normalize("NFC", proc.stdout.decode("utf-8"))


def minutes_story(paragraphs: int = 40) -> list:
    story = decree30_header(["Văn phòng Chính phủ"], "15/BB-VPCP", place_date("Hà Nội", WHEN))
    story += title_block("Biên bản", "Phiên họp Chính phủ thường kỳ tháng 11 năm 2026")
    story.append(paragraph("Bảng chữ cái: " + " ".join(VIETNAMESE_LETTERS)))
    for n in range(paragraphs):
        story.append(paragraph(
            f"Mục {n + 1}. Thủ tướng Chính phủ đề nghị các thành viên Chính phủ cho ý kiến về "
            "dự thảo Nghị định; Bộ trưởng Bộ Tư pháp đã thẩm định, ý kiến khác được ghi nhận "
            "đầy đủ vào biên bản phiên họp theo Quy chế làm việc của Chính phủ."))
    story += signature_blocks([
        SignatureBlockSpec("secretary", "Thư ký", "Nguyễn Thị Thanh Hằng"),
        SignatureBlockSpec("chair", "Chủ tọa", "Phạm Minh Chính", authority="TM. Chính phủ"),
    ])
    return story


@pytest.fixture(scope="module")
def minutes() -> pdf.BuiltDocument:
    return build_document(minutes_story(), title="Biên bản phiên họp", author="VPCP",
                          metadata_attachments={"answers.json": ANSWERS})


@pytest.fixture(scope="module")
def pages_text(minutes: pdf.BuiltDocument) -> list[str]:
    return pdftotext(minutes.pdf).split("\f")[: minutes.page_count]


def test_letter_table_is_complete() -> None:
    assert len(VIETNAMESE_LETTERS) == 12 * 6 * 2 + 2
    assert all(len(letter) == 1 for letter in VIETNAMESE_LETTERS)  # precomposed after NFC


def test_every_vietnamese_letter_survives_pdftotext(pages_text: list[str]) -> None:
    text = "".join(pages_text)
    assert [letter for letter in VIETNAMESE_LETTERS if letter not in text] == []


def test_header_has_motto_slogan_body_number_and_date(pages_text: list[str]) -> None:
    first = pages_text[0]
    for expected in (MOTTO, SLOGAN, "VĂN PHÒNG CHÍNH PHỦ", "Số: 15/BB-VPCP",
                     "Hà Nội, ngày 23 tháng 11 năm 2026", "BIÊN BẢN"):
        assert expected in first


def test_page_numbers_top_centre_from_page_two(minutes: pdf.BuiltDocument,
                                               pages_text: list[str]) -> None:
    assert minutes.page_count >= 3
    assert pages_text[0].strip().splitlines()[0] != "1"
    for number, text in enumerate(pages_text[1:], 2):
        assert text.strip().splitlines()[0] == str(number)
    reader = PdfReader(io.BytesIO(minutes.pdf))
    assert len(reader.pages) == minutes.page_count
    words = _words(minutes.pdf, page=2)
    number = next(w for w in words if w[4] == "2")
    assert number[1] < pdf.MARGIN_TOP  # in the top margin (bbox y runs downwards)
    centre = (number[0] + number[2]) / 2
    assert abs(centre - (pdf.MARGIN_LEFT + pdf.FRAME_WIDTH / 2)) < 2


def _words(data: bytes, *, page: int) -> list[tuple[float, float, float, float, str]]:
    """Words of one page as (xMin, yMin, xMax, yMax, text), y measured from the top."""
    out = pdftotext(data, "-bbox", "-f", str(page), "-l", str(page))
    words = []
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("<word "):
            attrs = dict(part.split("=") for part in line[6:line.index(">")].split())
            text = line[line.index(">") + 1:line.rindex("</word>")]
            words.append((*(float(attrs[k].strip('"')) for k in ("xMin", "yMin", "xMax", "yMax")),
                          text))
    return words


def test_signature_boxes_on_last_page_inside_the_frame(minutes: pdf.BuiltDocument) -> None:
    boxes = minutes.signature_boxes
    assert set(boxes) == {"secretary", "chair"}
    for page_index, (x1, y1, x2, y2) in boxes.values():
        assert page_index == minutes.page_count - 1
        assert pdf.MARGIN_LEFT - 1 <= x1 < x2 <= A4_WIDTH - pdf.MARGIN_RIGHT + 1
        assert pdf.MARGIN_BOTTOM - 1 <= y1 < y2 <= A4_HEIGHT - pdf.MARGIN_TOP + 1
    secretary, chair = boxes["secretary"].rect, boxes["chair"].rect
    assert secretary[2] <= chair[0]  # side by side, secretary on the left


@pytest.mark.parametrize(("key", "role", "name"), [
    ("secretary", "THƯ KÝ", "Nguyễn Thị Thanh Hằng"),
    ("chair", "CHỦ TỌA", "Phạm Minh Chính"),
])
def test_signature_box_sits_between_role_and_name(minutes: pdf.BuiltDocument, key: str,
                                                  role: str, name: str) -> None:
    _, (x1, y1, x2, y2) = minutes.signature_boxes[key]
    top, bottom = A4_HEIGHT - y2, A4_HEIGHT - y1  # the box in top-down coordinates
    words = [w for w in _words(minutes.pdf, page=minutes.page_count)
             if x1 - 60 < (w[0] + w[2]) / 2 < x2 + 60]
    role_words = [w for w in words if top - 10 < w[3] <= top + 1]
    name_words = [w for w in words if bottom - 1 <= w[1] < bottom + 10]
    assert " ".join(w[4] for w in role_words) == role
    assert " ".join(w[4] for w in name_words) == name
    # Decree 30 Annex I: the signature image is centred between the title and the name (±2 mm)
    box_centre = (x1 + x2) / 2
    for line in (role_words, name_words):
        line_centre = (min(w[0] for w in line) + max(w[2] for w in line)) / 2
        assert abs(line_centre - box_centre) < 2 * 72 / 25.4


def test_attachment_round_trips_and_metadata_is_set(minutes: pdf.BuiltDocument) -> None:
    assert read_attachment(minutes.pdf, "answers.json") == ANSWERS
    assert read_attachment(minutes.pdf, "missing.json") is None
    assert read_attachment(minutes.pdf, "../etc/passwd") is None
    info = PdfReader(io.BytesIO(minutes.pdf)).metadata
    assert info is not None
    assert info.title == "Biên bản phiên họp"
    assert info.author == "VPCP"


def test_document_without_attachments_has_none() -> None:
    built = build_document([paragraph("Một trang.")], page_numbers=False)
    assert built.page_count == 1
    assert built.signature_boxes == {}
    assert read_attachment(built.pdf, "answers.json") is None


def test_invalid_attachment_name_is_refused() -> None:
    with pytest.raises(ValueError, match="invalid attachment name"):
        build_document([paragraph("x")], metadata_attachments={"a b/c": b"{}"})


def test_duplicate_signature_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="unique"):
        signature_blocks([SignatureBlockSpec("a", "Thư ký", "A"),
                          SignatureBlockSpec("a", "Chủ tọa", "B")])


def test_single_signer_sits_on_the_right_half() -> None:
    built = build_document([paragraph("Nội dung."), *signature_blocks(
        [SignatureBlockSpec("org", "Bộ trưởng", "Lê Văn A")])])
    _, (x1, _, x2, _) = built.signature_boxes["org"]
    assert x1 >= pdf.MARGIN_LEFT + pdf.FRAME_WIDTH / 2 - 1


@pytest.mark.parametrize(("moment", "expected"), [
    (datetime(2026, 11, 23, 2, 30, tzinfo=UTC), "ngày 23 tháng 11 năm 2026"),
    (datetime(2026, 2, 4, 17, 0, tzinfo=UTC), "ngày 05 tháng 02 năm 2026"),  # midnight in Hanoi
    (datetime(2026, 1, 9, 3, 0, tzinfo=UTC), "ngày 09 tháng 01 năm 2026"),
    (datetime(2026, 3, 1, 3, 0, tzinfo=UTC), "ngày 01 tháng 3 năm 2026"),
    (datetime(2026, 12, 31, 16, 59, tzinfo=UTC), "ngày 31 tháng 12 năm 2026"),
    (datetime(2026, 12, 31, 17, 0, tzinfo=UTC), "ngày 01 tháng 01 năm 2027"),
])
def test_vietnamese_date_in_hanoi_time(moment: datetime, expected: str) -> None:
    assert vietnamese_date(moment) == expected


def test_format_vn_datetime() -> None:
    assert format_vn_datetime(WHEN) == "23/11/2026 09:30"
    assert format_vn_datetime(WHEN, seconds=True) == "23/11/2026 09:30:00"


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        vietnamese_date(datetime(2026, 11, 23))  # noqa: DTZ001


def test_fonts_are_registered_once_as_a_family() -> None:
    font = pdfmetrics.getFont(pdf.FONT)
    pdf.register_fonts()
    build_document([paragraph("<b>đậm</b> và nghiêng")])
    assert pdfmetrics.getFont(pdf.FONT) is font
    assert tt2ps(pdf.FONT, 1, 1) == pdf.FONT_BOLD_ITALIC


def test_hundred_page_render_stays_close_to_bare_reportlab() -> None:
    body = [f"Đoạn {n}: Chính phủ thảo luận, cho ý kiến về dự án Luật sửa đổi, bổ sung một số "
            "điều; các thành viên Chính phủ phát biểu, Thủ tướng kết luận từng nội dung. " * 3
            for n in range(570)]

    def bare() -> None:
        doc = SimpleDocTemplate(io.BytesIO(), pagesize=pdf.PAGE_SIZE)
        doc.build([paragraph(text) for text in body])

    def ours() -> int:
        return build_document([paragraph(text) for text in body], title="Biên bản").page_count

    bare()
    pages = ours()
    bare_s = min(_timed(bare) for _ in range(3))
    ours_s = min(_timed(ours) for _ in range(3))
    print(f"\n{pages}-page story: bare ReportLab {bare_s * 1000:.0f} ms, "
          f"build_document {ours_s * 1000:.0f} ms ({ours_s / bare_s:.2f}x)")
    assert pages >= 95
    assert ours_s < 2 * bare_s


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start
