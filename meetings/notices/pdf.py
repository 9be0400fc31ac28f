"""The conclusion notice as a Decree 30 "THÔNG BÁO KẾT LUẬN", drawn from its record (schemas.dump_notice_record)."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Table, TableStyle

from ecabinet import audit
from ecabinet.pdf import (
    FONT_BOLD,
    FRAME_WIDTH,
    STYLES,
    BuiltDocument,
    SignatureBlockSpec,
    build_document,
    decree30_header,
    paragraph,
    place_date,
    secrecy_mark,
    signature_blocks,
    title_block,
    vietnamese_date,
)

ISSUING_BODY = ["CHÍNH PHỦ", "VĂN PHÒNG CHÍNH PHỦ"]
PLACE = "Hà Nội"
SYMBOL = "TB-VPCP"
RECORD_FILE = "notice.json"
FIELD_NAME = "VanPhongChinhPhu"
# the task table's cells: Decree 30 allows a smaller size inside tables
_CELL = ParagraphStyle("notice_cell", parent=STYLES["body_plain"], fontSize=12, leading=14, spaceAfter=0)
_HEAD = ParagraphStyle("notice_head", parent=_CELL, fontName=FONT_BOLD, alignment=1)


def deadline_text(value: str) -> str:
    return date.fromisoformat(value).strftime("%d/%m/%Y")


def _person(row: dict[str, Any]) -> str:
    return f"{row['title']} {row['full_name']}" if row.get("title") else row["full_name"]


def owner_body(owner: dict[str, Any]) -> str:
    """The ministry answering for a task: the owner's organisation, else their title."""
    return owner.get("organisation") or owner.get("title") or owner["full_name"]


def _task_table(record: dict[str, Any]) -> Table:
    positions = {item["id"]: item["position"] for item in record["items"]}
    rows: list[list[Any]] = [[paragraph(h, _HEAD) for h in ("TT", "Nhiệm vụ", "Cơ quan chủ trì", "Thời hạn")]]
    for n, task in enumerate(record["tasks"], 1):
        ref = positions.get(task["agenda_item_id"])
        what = f"{task['description']}" + (f" (nội dung {ref})" if ref is not None else "")
        owner = task["owner"]
        rows.append([paragraph(str(n), _CELL), paragraph(what, _CELL),
                     [paragraph(owner_body(owner), _CELL), paragraph(owner["full_name"], _CELL)],
                     paragraph(deadline_text(task["deadline"]), _CELL)])
    table = Table(rows, colWidths=[FRAME_WIDTH * w for w in (0.07, 0.5, 0.27, 0.16)], repeatRows=1)
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, "black"), ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    return table


def story(record: dict[str, Any], *, number_symbol: str | None, at: datetime) -> list[Flowable]:
    meeting, chair = record["meeting"], record["chair"]
    held = datetime.fromisoformat(meeting["started_at"] or meeting["starts_at"])
    out: list[Flowable] = []
    # an unnumbered draft keeps the blank before the symbol, as on paper
    out += decree30_header(ISSUING_BODY, number_symbol or f"     /{SYMBOL}", place_date(PLACE, at))
    out += secrecy_mark(meeting.get("confidentiality"))
    out += title_block("THÔNG BÁO KẾT LUẬN", f"của {_person(chair)} tại {meeting['title']}")
    if number_symbol is None:
        out.append(paragraph("(DỰ THẢO)", "subtitle"))
    where = f", tại {meeting['location']}" if meeting["location"] else ""
    out.append(paragraph(f"{vietnamese_date(held).capitalize()}{where}, {_person(chair)} chủ trì "
                         f"{meeting['title']}. Sau khi nghe báo cáo và ý kiến của các thành viên Chính phủ, "
                         f"{_person(chair)} kết luận như sau:", "body"))
    out += [paragraph(part.strip()) for part in record["intro"].split("\n") if part.strip()]
    out.append(paragraph("I. KẾT LUẬN", "heading"))
    for n, item in enumerate((i for i in record["items"] if i["conclusion"]), 1):
        out.append(paragraph(f"{n}. {item['title']}", "heading"))
        if item["presenter"]:
            out.append(paragraph(f"Cơ quan trình: {item['presenter']}.", "body_plain"))
        out += [paragraph(part.strip()) for part in item["conclusion"].split("\n") if part.strip()]
    if record["tasks"]:
        out.append(paragraph("II. TỔ CHỨC THỰC HIỆN", "heading"))
        out.append(paragraph("Các Bộ, cơ quan được giao chủ trì thực hiện các nhiệm vụ sau và báo cáo tiến độ "
                             "trên Hệ thống thông tin phục vụ họp và xử lý công việc của Chính phủ:", "body"))
        out.append(_task_table(record))
    out.append(paragraph("Văn phòng Chính phủ thông báo để các Bộ, cơ quan liên quan biết, thực hiện./.", "body"))
    out += signature_blocks([SignatureBlockSpec("office", "Văn phòng Chính phủ", "Văn phòng Chính phủ",
                                                box_width=70 * mm, box_height=26 * mm)])
    out.append(paragraph("Nơi nhận:", "heading"))
    out.append(paragraph("- Các thành viên Chính phủ;", "body_plain"))
    for body in sorted({owner_body(t["owner"]) for t in record["tasks"]}):
        out.append(paragraph(f"- {body} (thực hiện);", "body_plain"))
    out.append(paragraph("- Lưu: VT.", "body_plain"))
    return out


def render_notice(record: dict[str, Any], *, number_symbol: str | None, at: datetime) -> BuiltDocument:
    """The PDF (a draft preview when unnumbered) with the record embedded as JSON, and the office signature box."""
    payload = {**record, "number": number_symbol, "at": at.isoformat()}
    return build_document(story(record, number_symbol=number_symbol, at=at),
                          title=f"Thông báo kết luận {number_symbol or ''}".strip(), author="Văn phòng Chính phủ",
                          subject=record["meeting"]["title"], metadata_attachments={
                              RECORD_FILE: json.dumps(payload, ensure_ascii=False, sort_keys=True).encode(),
                              **audit.head_attachment()})
