"""The answer slip ("phiếu lấy ý kiến") and the summary report ("báo cáo tổng hợp ý kiến")."""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from functools import cache
from typing import Any

from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.platypus import Table, TableStyle

from ecabinet import audit
from ecabinet.pdf import (
    ATTACHMENT_KEY,
    FONT,
    FONT_BOLD,
    FONT_ITALIC,
    FRAME_WIDTH,
    MARGIN_BOTTOM,
    MARGIN_LEFT,
    MARGIN_TOP,
    MOTTO,
    PAGE_SIZE,
    SLOGAN,
    STYLES,
    BuiltDocument,
    PreparedFace,
    SignatureBlockSpec,
    SignatureBoxPlacement,
    UnsupportedText,
    build_document,
    decree30_header,
    nfc,
    paragraph,
    pdf_stream,
    place_date,
    prepared_face,
    read_attachment,
    secrecy_mark,
    signature_blocks,
    title_block,
    with_signature_fields,
)

ISSUING_BODY = ["CHÍNH PHỦ", "VĂN PHÒNG CHÍNH PHỦ"]
PLACE = "Hà Nội"
ANSWERS_FILE = "answers.json"
TALLY_FILE = "tally.json"
CHOICE_VI = {"agree": "Đồng ý", "disagree": "Không đồng ý", "other": "Ý kiến khác"}
POLICY_VI = {
    "not_counted": "Thành viên không trả lời được tính là không tán thành.",
    "agree": "Thành viên không trả lời trong thời hạn được coi là đồng ý.",
}


def slip_payload(ballot: Any, user: Any, answers: Sequence[dict[str, Any]], at: datetime,
                 supersedes: int | None = None) -> dict[str, Any]:
    """The machine-readable answers embedded in the slip (the tally is recomputed from these).

    A slip handed out to be signed elsewhere names the answer version it supersedes (0: none).
    """
    payload = {"ballot_id": ballot.id, "ballot_number": ballot.number, "title": ballot.title,
               "member": {"id": user.id, "username": user.username, "full_name": user.full_name,
                          "title": user.title},
               "answers": [{"question_id": a["question_id"], "choice": a["choice"], "comment": a.get("comment") or ""}
                           for a in answers],
               "total_members": len(ballot.recipients), "prepared_at": at.isoformat()}
    if supersedes is not None:
        payload["supersedes_version"] = supersedes
    return payload


SLIP_TITLE = "Phiếu lấy ý kiến thành viên Chính phủ"
SIGNATURE_FIELD = "ThanhVien"
SIGNATURE_BOX = (70 * mm, 26 * mm)


def _slip_body(ballot: Any, user: Any, answers: Sequence[dict[str, Any]]) -> list[tuple[str, str]]:
    """The slip's paragraphs after its title, as (text, style)."""
    by_question = {a["question_id"]: a for a in answers}
    body = [(ballot.summary, "body")] if ballot.summary else []
    body.append((f"Thành viên Chính phủ: {user.full_name} — {user.title}".rstrip(" —"), "body_plain"))
    for index, question in enumerate(ballot.questions, start=1):
        answer = by_question[question.id]
        body.append((f"Câu {index}. {question.text}", "heading"))
        body.append((f"Ý kiến: {CHOICE_VI[answer['choice']]}", "body_plain"))
        if answer.get("comment"):
            body.append((f"Ý kiến cụ thể: {answer['comment']}", "body_plain"))
    return body


def render_slip(ballot: Any, user: Any, answers: Sequence[dict[str, Any]], at: datetime, *,
                supersedes: int | None = None) -> BuiltDocument:
    """The member's answer slip in the State format, with the answers embedded as JSON.

    Written directly (``_Slip``); a text with a letter the prepared faces lack goes through ReportLab.
    """
    payload = json.dumps(slip_payload(ballot, user, answers, at, supersedes), ensure_ascii=False,
                         sort_keys=True).encode()
    meta = {"title": f"Phiếu lấy ý kiến {ballot.number}", "author": user.full_name, "subject": ballot.title}
    role = user.title or "Thành viên Chính phủ"
    try:
        slip = _Slip()
        slip.header(ISSUING_BODY, ballot.number, place_date(PLACE, at))
        slip.space(6 * mm)
        slip.paragraph(nfc(SLIP_TITLE).upper(), "title")
        slip.paragraph(ballot.title, "subtitle")
        subtitle_width = pdfmetrics.stringWidth(nfc(ballot.title), FONT_BOLD, STYLES["subtitle"].fontSize)
        slip.y -= slip.rule(min(subtitle_width * 0.4, 60 * mm), x0=_X0, width=_WIDTH, top=slip.y)
        slip.space(6 * mm)
        for text, style in _slip_body(ballot, user, answers):
            slip.paragraph(text, style)
        slip.signature(role, user.full_name, *SIGNATURE_BOX)
        assert slip.box is not None
        # a slip to sign elsewhere carries its empty signature field: a member's tool signs into it
        field = SIGNATURE_FIELD if supersedes is not None else None
        return BuiltDocument(pdf=slip.document(answers=payload, at=at, signature_field=field, **meta),
                             page_count=len(slip.pages), signature_boxes={"member": slip.box})
    except UnsupportedText:
        story = [*decree30_header(ISSUING_BODY, ballot.number, place_date(PLACE, at)),
                 *title_block(SLIP_TITLE, ballot.title),
                 *(paragraph(text, style) for text, style in _slip_body(ballot, user, answers)),
                 *signature_blocks([SignatureBlockSpec("member", role, user.full_name, box_width=SIGNATURE_BOX[0],
                                                       box_height=SIGNATURE_BOX[1])])]
        built = build_document(story, metadata_attachments={ANSWERS_FILE: payload}, **meta)
        if supersedes is None:
            return built
        boxes = {SIGNATURE_FIELD: built.signature_boxes["member"]}
        return replace(built, pdf=with_signature_fields(built.pdf, boxes))


def read_slip_answers(pdf_bytes: bytes) -> dict[str, Any] | None:
    data = read_attachment(pdf_bytes, ANSWERS_FILE)
    return json.loads(data) if data else None


def read_report_tally(pdf_bytes: bytes) -> dict[str, Any] | None:
    data = read_attachment(pdf_bytes, TALLY_FILE)
    return json.loads(data) if data else None


def render_report(ballot: Any, tally: list[dict[str, Any]], answered: int, at: datetime,
                  slips: Sequence[dict[str, str]], opinions: Sequence[dict[str, Any]] = (),
                  level: str | None = None) -> BuiltDocument:
    """The summary report, with the tally and the slip hashes embedded for ``ballots verify``.

    ``opinions``: every "other opinion" and comment in full ({"question_id", "member", "choice", "comment"}).
    ``level``: the ballot's classification (its dossiers'), marked under the number from Mật up.
    """
    story = [*decree30_header(ISSUING_BODY, f"{ballot.id}/BC-VPCP", place_date(PLACE, at)),
             *secrecy_mark(level),
             *title_block("Báo cáo tổng hợp ý kiến thành viên Chính phủ", ballot.title),
             paragraph(f"Phiếu lấy ý kiến số {ballot.number}, gửi {len(ballot.recipients)} thành viên Chính phủ; "
                       f"{answered} thành viên đã trả lời.", "body"),
             paragraph(f"Cách tính thành viên không trả lời: {POLICY_VI[ballot.non_answer_policy]}", "body"),
             paragraph("Nội dung được thông qua khi có quá nửa tổng số thành viên Chính phủ đồng ý.", "body")]
    rows: list[list[Any]] = [["Câu", "Đồng ý", "Không đồng ý", "Ý kiến khác", "Không trả lời", "Kết quả"]]
    for index, row in enumerate(tally, start=1):
        rows.append([str(index), str(row["agree"]), str(row["disagree"]), str(row["other"]), str(row["no_answer"]),
                     "Thông qua" if row["passed"] else "Không thông qua"])
    table = Table(rows, colWidths=[FRAME_WIDTH * w for w in (0.08, 0.15, 0.19, 0.18, 0.18, 0.22)])
    table.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), FONT), ("FONTNAME", (0, 0), (-1, 0), FONT_BOLD),
                               ("FONTSIZE", (0, 0), (-1, -1), 12), ("GRID", (0, 0), (-1, -1), 0.5, "black"),
                               ("ALIGN", (0, 0), (-1, -1), "CENTER")]))
    story.append(table)
    for index, question in enumerate(ballot.questions, start=1):
        story.append(paragraph(f"Câu {index}. {question.text}", "body_plain"))
    if opinions:
        story.append(paragraph("Ý kiến khác và ý kiến cụ thể của thành viên Chính phủ", "body"))
        for index, question in enumerate(ballot.questions, start=1):
            for opinion in (o for o in opinions if o["question_id"] == question.id):
                story.append(paragraph(f"Câu {index} — {opinion['member']} ({CHOICE_VI[opinion['choice']]}): "
                                       f"{opinion['comment']}", "body_plain"))
    story.extend(signature_blocks([SignatureBlockSpec("office", "Văn phòng Chính phủ", "Văn phòng Chính phủ",
                                                      box_width=70 * mm, box_height=26 * mm)]))
    payload = {"ballot_id": ballot.id, "ballot_number": ballot.number, "policy": ballot.non_answer_policy,
               "total_members": len(ballot.recipients), "question_ids": [q.id for q in ballot.questions],
               "tally": tally, "slips": list(slips)}
    return build_document(story, title=f"Báo cáo tổng hợp ý kiến {ballot.number}",
                          author="Văn phòng Chính phủ", subject=ballot.title, metadata_attachments={
                              TALLY_FILE: json.dumps(payload, ensure_ascii=False, sort_keys=True).encode(),
                              **audit.head_attachment()})


#: resource name and face of each ReportLab font name the slip's styles use
_FACE_STYLES = {FONT: ("F1", "Regular"), FONT_BOLD: ("F2", "Bold"), FONT_ITALIC: ("F3", "Italic")}
_FIRST_FONT_OBJECT = 5  # 1 catalog, 2 pages, 3 info, 4 answers; five objects per face


@cache
def _faces() -> dict[str, PreparedFace]:
    return {font: prepared_face(style) for font, (_, style) in _FACE_STYLES.items()}


@cache
def font_objects() -> list[bytes]:
    # the same bytes in every slip: built once per process
    return [obj for index, font in enumerate(_FACE_STYLES)
            for obj in _faces()[font].objects(_FIRST_FONT_OBJECT + 5 * index, "ECSL")]


# ecabinet.pdf.build_document's frame: Decree 30 margins inside ReportLab's 6 pt frame padding
_PAD = 6.0
_TOP = PAGE_SIZE[1] - MARGIN_TOP - _PAD
_BOTTOM = MARGIN_BOTTOM + _PAD
_X0 = MARGIN_LEFT + _PAD
_WIDTH = FRAME_WIDTH - 2 * _PAD
_RULE = (4.0, 0.6, 3.0)  # ecabinet.pdf.Rule: space before, thickness, space after
_CELL_PADDING = 3.0  # ReportLab's default top and bottom padding of a table cell

Line = list[tuple[bytes, float]]


class _Slip:
    """The slip laid out as ecabinet.pdf lays out its flowables (same styles, sizes and places),
    written straight into content streams: a tenth of platypus's time, fonts shared by every slip."""

    def __init__(self) -> None:
        self.pages: list[list[bytes]] = [[]]
        self.y = _TOP
        self.after = 0.0
        self.box: SignatureBoxPlacement | None = None

    def lines(self, text: str, style: str, width: float) -> list[Line]:
        """Greedy breaking at spaces as ReportLab's Paragraph does: runs of whitespace collapse, and a
        word wider than a line is cut where the line ends (its ``splitLongWords``)."""
        st = STYLES[style]
        face = _faces()[st.fontName]
        scale = st.fontSize / 1000
        space = face.widths[face.space] * scale
        out: list[Line] = [[]]
        used = st.firstLineIndent
        for word in nfc(text).split():
            glyphs, advance = face.encode(word)
            advance *= scale
            if out[-1] and used + space + advance > width and advance <= width:
                out.append([])
                used = 0.0
            while used + (space if out[-1] else 0.0) + advance > width and len(word) > 1:
                start = used + (space if out[-1] else 0.0)
                cut, taken = 0, 0.0
                while cut < len(word) - 1 and start + taken + face.encode(word[cut])[1] * scale <= width:
                    taken += face.encode(word[cut])[1] * scale
                    cut += 1
                if cut == 0 and not out[-1]:  # not even one letter fits: it overflows, as in ReportLab
                    cut, taken = 1, face.encode(word[0])[1] * scale
                if cut:
                    out[-1].append((face.encode(word[:cut])[0], taken))
                    word = word[cut:]
                    glyphs, advance = face.encode(word)
                    advance *= scale
                out.append([])
                used = 0.0
            used += (space if out[-1] else 0.0) + advance
            out[-1].append((glyphs, advance))
        return out

    def draw(self, line: Line, style: str, *, x0: float, width: float, top: float, first: bool, last: bool) -> None:
        st = STYLES[style]
        face, size = _faces()[st.fontName], st.fontSize
        space = face.widths[face.space] * size / 1000
        indent = st.firstLineIndent if first else 0.0
        natural = sum(advance for _, advance in line) + space * (len(line) - 1)
        x, gap = x0 + indent, 0.0
        if st.alignment == TA_CENTER:
            x = x0 + (width - natural) / 2
        elif st.alignment == TA_JUSTIFY and not last and len(line) > 1:
            gap = (width - indent - natural) / (len(line) - 1)
        between = f"<{face.space:04X}>".encode() + (f" {-gap * 1000 / size:.1f} ".encode() if gap else b"")
        runs = between.join(b"<" + glyphs + b">" for glyphs, _ in line)
        baseline = top - face.ascent * size / 1000
        self.pages[-1].append(f"BT /{_FACE_STYLES[st.fontName][0]} {size} Tf {x:.2f} {baseline:.2f} Td [".encode()
                              + runs + b"] TJ ET")

    def cell(self, text: str, style: str, *, x0: float, width: float, top: float) -> float:
        """A paragraph inside a table cell (never split); returns its height."""
        lines = self.lines(text, style, width)
        for number, line in enumerate(lines):
            self.draw(line, style, x0=x0, width=width, top=top - number * STYLES[style].leading,
                      first=number == 0, last=number == len(lines) - 1)
        return len(lines) * STYLES[style].leading

    def rule(self, length: float, *, x0: float, width: float, top: float) -> float:
        before, thickness, after = _RULE
        x, y = x0 + (width - length) / 2, top - before - thickness / 2
        self.pages[-1].append(f"{thickness} w {x:.2f} {y:.2f} m {x + length:.2f} {y:.2f} l S".encode())
        return before + thickness + after

    def paragraph(self, text: str, style: str) -> None:
        """A full-width paragraph; a line that does not fit goes to the next page."""
        st = STYLES[style]
        lines = self.lines(text, style, _WIDTH)
        if self.y < _TOP:
            # platypus overlaps the previous paragraph's space after with this one's space before
            self.y -= max(st.spaceBefore - self.after, 0)
        for number, line in enumerate(lines):
            if self.y - st.leading < _BOTTOM:
                self.new_page()
            self.draw(line, style, x0=_X0, width=_WIDTH, top=self.y, first=number == 0,
                      last=number == len(lines) - 1)
            self.y -= st.leading
        self.y -= st.spaceAfter
        self.after = st.spaceAfter

    def space(self, height: float) -> None:
        self.y -= height
        self.after = 0.0

    def new_page(self) -> None:
        self.pages.append([])
        self.y = _TOP

    def header(self, issuing_body: Sequence[str], number: str, where_when: str) -> None:
        """ecabinet.pdf.decree30_header: issuing body and number left, motto and date right."""
        lines = [nfc(line).upper() for line in issuing_body]
        left_width = FRAME_WIDTH * 0.4
        # the table is wider than the frame's inner width and centred, so it starts at the margin
        left, right = MARGIN_LEFT, MARGIN_LEFT + left_width
        right_width = FRAME_WIDTH - left_width
        top = self.y
        used = 0.0
        for line in lines[:-1]:
            used += self.cell(line, "body_parent", x0=left, width=left_width, top=top - used)
        used += self.cell(lines[-1], "body_name", x0=left, width=left_width, top=top - used)
        name_width = pdfmetrics.stringWidth(lines[-1], FONT_BOLD, STYLES["body_name"].fontSize)
        used += self.rule(name_width * 0.4, x0=left, width=left_width, top=top - used)
        other = self.cell(MOTTO, "motto", x0=right, width=right_width, top=top)
        other += self.cell(SLOGAN, "slogan", x0=right, width=right_width, top=top - other)
        slogan_width = pdfmetrics.stringWidth(SLOGAN, FONT_BOLD, STYLES["slogan"].fontSize)
        other += self.rule(slogan_width, x0=right, width=right_width, top=top - other)
        top -= max(used, other) + 2
        row = max(self.cell(f"Số: {nfc(number)}", "number", x0=left, width=left_width, top=top),
                  self.cell(where_when, "place_date", x0=right, width=right_width, top=top))
        self.y = top - row - 2

    def signature(self, role: str, name: str, box_width: float, box_height: float) -> None:
        """ecabinet.pdf.signature_blocks for one signer: the right half, kept on one page."""
        x0 = MARGIN_LEFT + FRAME_WIDTH / 2 + 2
        width = FRAME_WIDTH / 2 - 4
        text_lines = len(self.lines(nfc(role).upper(), "sign_role", width)) + len(self.lines(name, "sign_name", width))
        height = 6 * mm + 2 * _CELL_PADDING + box_height + text_lines * STYLES["sign_name"].leading
        if self.y - height < _BOTTOM:
            self.new_page()
        top = self.y - 6 * mm - _CELL_PADDING
        top -= self.cell(nfc(role).upper(), "sign_role", x0=x0, width=width, top=top)
        x = x0 + max(0.0, (width - box_width) / 2)
        self.box = SignatureBoxPlacement(len(self.pages) - 1, (round(x, 2), round(top - box_height, 2),
                                                               round(x + min(box_width, width), 2), round(top, 2)))
        top -= box_height
        self.cell(name, "sign_name", x0=x0, width=width, top=top)
        self.y -= height

    def document(self, *, title: str, author: str, subject: str, answers: bytes, at: datetime,
                 signature_field: str | None = None) -> bytes:
        """The PDF file: catalog (with the answers), pages, info, the three faces, one content stream a page,
        and with ``signature_field`` an empty signature field over the signature box (the last object)."""
        size = STYLES["page_number"].fontSize
        for number, page in enumerate(self.pages[1:], start=2):
            # Decree 30: page numbers centred in the top margin, none on the first page
            glyphs, advance = _faces()[FONT].encode(str(number))
            x = MARGIN_LEFT + FRAME_WIDTH / 2 - advance * size / 2000
            page.append(f"BT /F1 {size} Tf {x:.2f} {PAGE_SIZE[1] - MARGIN_TOP / 2 - 4:.2f} Td <".encode()
                        + glyphs + b"> Tj ET")
        first_page = _FIRST_FONT_OBJECT + 5 * len(_FACE_STYLES)
        page_ids = [first_page + 2 * i for i in range(len(self.pages))]
        fonts = " ".join(f"/{res} {_FIRST_FONT_OBJECT + 5 * i} 0 R" for i, (res, _) in enumerate(_FACE_STYLES.values()))
        info = " ".join(f"/{key} <FEFF{nfc(value).encode('utf-16-be').hex().upper()}>" for key, value in
                        (("Title", title), ("Author", author), ("Subject", subject), ("Creator", "e-Cabinet"),
                         ("Producer", "e-Cabinet")))
        stamp = at.astimezone(UTC).strftime("D:%Y%m%d%H%M%S+00'00'")
        field_id = first_page + 2 * len(self.pages)
        form = f"/AcroForm << /Fields [{field_id} 0 R] >> " if signature_field else ""
        objects = [
            f"<< /Type /Catalog /Pages 2 0 R /Lang (vi-VN) {form}{ATTACHMENT_KEY} << /{ANSWERS_FILE} 4 0 R >> >>"
            .encode(),
            f"<< /Type /Pages /Count {len(page_ids)} /Kids [{' '.join(f'{p} 0 R' for p in page_ids)}] >>".encode(),
            f"<< {info} /CreationDate ({stamp}) /ModDate ({stamp}) >>".encode(),
            pdf_stream(zlib.compress(answers), kind="/Type /ECabinetAttachment "),
            *font_objects(),
        ]
        field_page = self.box.page_index if signature_field and self.box is not None else None
        for index, (page_id, page) in enumerate(zip(page_ids, self.pages, strict=True)):
            annots = f"/Annots [{field_id} 0 R] " if index == field_page else ""
            objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_SIZE[0]:.4f} {PAGE_SIZE[1]:.4f}] "
                           f"/Resources << /Font << {fonts} >> >> {annots}/Contents {page_id + 1} 0 R >>".encode())
            objects.append(pdf_stream(zlib.compress(b"\n".join(page))))
        if field_page is not None and self.box is not None:
            rect = " ".join(f"{value:.2f}" for value in self.box.rect)
            objects.append(f"<< /Type /Annot /Subtype /Widget /FT /Sig /T ({signature_field}) /F 132 /Rect [{rect}] "
                           f"/P {page_ids[self.box.page_index]} 0 R >>".encode())
        out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
        offsets = []
        for number, body in enumerate(objects, start=1):
            offsets.append(len(out))
            out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
        xref = len(out)
        out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
        out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
        file_id = hashlib.md5(out, usedforsecurity=False).hexdigest()  # the /ID only names the file
        out += (f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info 3 0 R /ID [<{file_id}> <{file_id}>] >>\n"
                f"startxref\n{xref}\n%%EOF\n").encode()
        return bytes(out)
