"""The slip written without platypus: the same layout as ReportLab's, long answers over pages, and
ReportLab itself for a letter the prepared faces lack."""

from __future__ import annotations

import io
import subprocess
import tempfile
from typing import Any

from pypdf import PdfReader

from ballots import pdf, service
from ecabinet.database import utcnow

from .conftest import PIN, answers_for

# one word in Cyrillic: Liberation Serif has it, the slip's prepared (Latin and Vietnamese) faces do not
CYRILLIC = "Согласен"


def _fonts(data: bytes) -> str:
    with tempfile.NamedTemporaryFile(suffix=".pdf") as file:
        file.write(data)
        file.flush()
        return subprocess.run(["pdffonts", file.name], capture_output=True, text=True, check=True).stdout


def test_the_direct_slip_lands_where_reportlab_puts_it(cast: Any, make_ballot: Any) -> None:
    ballot = make_ballot()
    at = utcnow()
    direct = pdf.render_slip(ballot, cast.member_a, answers_for(ballot, comment="Đồng ý với dự thảo."), at)
    laid_out = pdf.render_slip(ballot, cast.member_a, answers_for(ballot, comment=f"Đồng ý {CYRILLIC}."), at)

    assert "Identity-H" in _fonts(direct.pdf) and "WinAnsi" in _fonts(laid_out.pdf)
    assert direct.page_count == laid_out.page_count == 1
    assert direct.signature_boxes == laid_out.signature_boxes


def test_long_answers_go_on_numbered_pages(cast: Any, make_ballot: Any, pdftotext: Any, pdfsig: Any) -> None:
    ballot = make_ballot()
    comment = " ".join(f"Ý kiến {n}: đề nghị bổ sung quy định về chữ ký số của thành viên." for n in range(60))
    answers = answers_for(ballot, comment=comment)
    built = pdf.render_slip(ballot, cast.member_a, answers, utcnow())

    pages = [page.split() for page in pdftotext(built.pdf).split("\f") if page.strip()]
    assert len(pages) == built.page_count >= 2
    # Decree 30: numbered from the second page on, at the top
    assert [page[0] for page in pages[1:]] == [str(n) for n in range(2, built.page_count + 1)]
    assert built.signature_boxes["member"].page_index == built.page_count - 1
    text = " ".join(pages[0] + [word for page in pages[1:] for word in page[1:]])
    assert text.count("Ý kiến cụ thể: Ý kiến 0: đề nghị") == 2
    assert text.count("đề nghị bổ sung quy định về chữ ký số của thành viên.") == 120
    assert pdf.read_slip_answers(built.pdf)["answers"][0]["comment"] == comment  # type: ignore[index]
    revision, _ = service.submit_response(ballot, answers=answers, pin=PIN, idempotency_key=None,
                                          actor=cast.member_a)
    assert pdfsig(revision.slip_pdf) == ["Signature is Valid."]
    assert len(PdfReader(io.BytesIO(revision.slip_pdf)).pages) == built.page_count


def test_a_letter_outside_the_prepared_faces_still_signs_and_reads(
    cast: Any, make_ballot: Any, pdftotext: Any, pdfsig: Any
) -> None:
    ballot = make_ballot()
    revision, _ = service.submit_response(ballot, answers=answers_for(ballot, comment=CYRILLIC), pin=PIN,
                                          idempotency_key=None, actor=cast.member_a)

    assert CYRILLIC in pdftotext(revision.slip_pdf)
    assert pdfsig(revision.slip_pdf) == ["Signature is Valid."]


def test_the_server_prepares_the_fonts_and_the_office_key_as_it_starts(app: Any) -> None:
    from ballots import prepare_signing
    from ecabinet import BACKGROUND_TASKS, keystore
    from ecabinet.signing._font import prepared_font
    from ecabinet.signing.signer import FONT_PATH

    assert prepare_signing in app.extensions[BACKGROUND_TASKS]
    prepare_signing(app)

    assert pdf.font_objects.cache_info().currsize == 1
    assert prepared_font.cache_info().currsize >= 4  # the slip's three faces and the signature's
    assert prepared_font(FONT_PATH) is prepared_font(FONT_PATH)
    assert keystore.ca_directory() in keystore._office
