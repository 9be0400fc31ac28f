"""The answer slip ("phiếu lấy ý kiến") and the summary report ("báo cáo tổng hợp ý kiến")."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from reportlab.lib.units import mm
from reportlab.platypus import Table, TableStyle

from ecabinet.pdf import (
    FONT,
    FONT_BOLD,
    FRAME_WIDTH,
    BuiltDocument,
    SignatureBlockSpec,
    build_document,
    decree30_header,
    paragraph,
    place_date,
    read_attachment,
    signature_blocks,
    title_block,
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


def slip_payload(ballot: Any, user: Any, answers: Sequence[dict[str, Any]], at: datetime) -> dict[str, Any]:
    """The machine-readable answers embedded in the slip (the tally is recomputed from these)."""
    return {"ballot_id": ballot.id, "ballot_number": ballot.number, "title": ballot.title,
            "member": {"id": user.id, "username": user.username, "full_name": user.full_name, "title": user.title},
            "answers": [{"question_id": a["question_id"], "choice": a["choice"], "comment": a.get("comment") or ""}
                        for a in answers],
            "total_members": len(ballot.recipients), "prepared_at": at.isoformat()}


def render_slip(ballot: Any, user: Any, answers: Sequence[dict[str, Any]], at: datetime) -> BuiltDocument:
    """The member's answer slip in the State format, with the answers embedded as JSON."""
    by_question = {a["question_id"]: a for a in answers}
    story = [*decree30_header(ISSUING_BODY, ballot.number, place_date(PLACE, at)),
             *title_block("Phiếu lấy ý kiến thành viên Chính phủ", ballot.title)]
    if ballot.summary:
        story.append(paragraph(ballot.summary, "body"))
    story.append(paragraph(f"Thành viên Chính phủ: {user.full_name} — {user.title}".rstrip(" —"), "body_plain"))
    for index, question in enumerate(ballot.questions, start=1):
        answer = by_question[question.id]
        story.append(paragraph(f"Câu {index}. {question.text}", "heading"))
        story.append(paragraph(f"Ý kiến: {CHOICE_VI[answer['choice']]}", "body_plain"))
        if answer.get("comment"):
            story.append(paragraph(f"Ý kiến cụ thể: {answer['comment']}", "body_plain"))
    story.extend(signature_blocks([SignatureBlockSpec("member", user.title or "Thành viên Chính phủ",
                                                      user.full_name, box_width=70 * mm, box_height=26 * mm)]))
    payload = slip_payload(ballot, user, answers, at)
    return build_document(story, title=f"Phiếu lấy ý kiến {ballot.number}", author=user.full_name,
                          subject=ballot.title, metadata_attachments={
                              ANSWERS_FILE: json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()})


def read_slip_answers(pdf_bytes: bytes) -> dict[str, Any] | None:
    data = read_attachment(pdf_bytes, ANSWERS_FILE)
    return json.loads(data) if data else None


def read_report_tally(pdf_bytes: bytes) -> dict[str, Any] | None:
    data = read_attachment(pdf_bytes, TALLY_FILE)
    return json.loads(data) if data else None


def render_report(ballot: Any, tally: list[dict[str, Any]], answered: int, at: datetime,
                  slips: Sequence[dict[str, str]]) -> BuiltDocument:
    """The summary report, with the tally and the slip hashes embedded for ``ballots verify``."""
    story = [*decree30_header(ISSUING_BODY, f"{ballot.id}/BC-VPCP", place_date(PLACE, at)),
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
    story.extend(signature_blocks([SignatureBlockSpec("office", "Văn phòng Chính phủ", "Văn phòng Chính phủ",
                                                      box_width=70 * mm, box_height=26 * mm)]))
    payload = {"ballot_id": ballot.id, "ballot_number": ballot.number, "policy": ballot.non_answer_policy,
               "total_members": len(ballot.recipients), "question_ids": [q.id for q in ballot.questions],
               "tally": tally, "slips": list(slips)}
    return build_document(story, title=f"Báo cáo tổng hợp ý kiến {ballot.number}",
                          author="Văn phòng Chính phủ", subject=ballot.title, metadata_attachments={
                              TALLY_FILE: json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()})
