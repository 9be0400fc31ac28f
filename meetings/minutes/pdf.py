"""The minutes as a Decree 30 "BIÊN BẢN", drawn from a session record (see service.session_record)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from reportlab.platypus import Flowable

from ecabinet import audit
from ecabinet.pdf import (
    BuiltDocument,
    SignatureBlockSpec,
    build_document,
    decree30_header,
    format_vn_datetime,
    paragraph,
    place_date,
    secrecy_mark,
    signature_blocks,
    title_block,
    with_signature_fields,
)

ISSUING_BODY = ["CHÍNH PHỦ"]
PLACE = "Hà Nội"
FIELD_NAMES = {"secretary": "ThuKy", "chair": "ChuToa"}
CHOICES = {"agree": "Tán thành", "disagree": "Không tán thành", "abstain": "Không biểu quyết"}


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _person(row: dict[str, Any]) -> str:
    return f"{row['full_name']}, {row['title']}" if row.get("title") else row["full_name"]


def _duration(seconds: int | None) -> str:
    if seconds is None:
        return ""
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes} phút {rest} giây" if minutes else f"{rest} giây"


def _time(value: str | None) -> str:
    when = _when(value)
    return format_vn_datetime(when, seconds=True)[-8:] if when else ""


def _speakers(rows: list[dict[str, Any]]) -> list[Flowable]:
    out: list[Flowable] = []
    for n, row in enumerate(rows, 1):
        span = f"từ {_time(row['granted_at'])} đến {_time(row['finished_at'])}" if row["finished_at"] else \
            f"từ {_time(row['granted_at'])}"
        out.append(paragraph(f"{n}. {_person(row)} phát biểu {span} ({_duration(row['seconds_spoken'])}).",
                             "body_plain"))
    return out


def _votes(rows: list[dict[str, Any]]) -> list[Flowable]:
    out: list[Flowable] = []
    for vote in rows:
        kind = "bỏ phiếu kín" if vote["secret"] else "biểu quyết công khai"
        result = vote.get("result")
        if not result:
            out.append(paragraph(f"Biểu quyết ({kind}): {vote['question']} – chưa kết thúc.", "body_plain"))
            continue
        outcome = "THÔNG QUA" if result["passed"] else "KHÔNG THÔNG QUA"
        out.append(paragraph(
            f"Biểu quyết ({kind}): {vote['question']} – Tán thành: {result['agree']}; Không tán thành: "
            f"{result['disagree']}; Không biểu quyết: {result['abstain']}; Chưa biểu quyết: {result['not_voted']}; "
            f"trên tổng số {result['total_members']} thành viên. Kết quả: {outcome}"
            + (" (theo ý kiến của Chủ tọa khi số phiếu ngang nhau)." if result.get("decided_by_chair") else "."),
            "body_plain"))
        for row in vote["names"]:
            out.append(paragraph(f"– {row['full_name']}: {CHOICES.get(row['choice'] or '', '')}", "body_plain"))
    return out


def story(record: dict[str, Any], narrative: str, *, version: int) -> list[Flowable]:
    meeting = record["meeting"]
    starts = _when(meeting["started_at"]) or _when(meeting["starts_at"])
    closed = _when(meeting["closed_at"])
    assert starts is not None
    out: list[Flowable] = []
    out += decree30_header(ISSUING_BODY, f"{meeting['id']}/BB-CP", place_date(PLACE, closed or starts))
    out += secrecy_mark(meeting.get("confidentiality"))
    out += title_block("BIÊN BẢN", meeting["title"])
    out.append(paragraph("I. THỜI GIAN, ĐỊA ĐIỂM, THÀNH PHẦN", "heading"))
    span = f"từ {format_vn_datetime(starts)}" + (f" đến {format_vn_datetime(closed)}" if closed else "")
    out.append(paragraph(f"1. Thời gian: {span}.", "body_plain"))
    out.append(paragraph(f"2. Địa điểm: {meeting['location'] or PLACE}.", "body_plain"))
    out.append(paragraph(f"3. Chủ tọa: {_person(record['chair'])}.", "body_plain"))
    out.append(paragraph(f"4. Thư ký: {_person(record['secretary'])}.", "body_plain"))
    out.append(paragraph(f"5. Thành viên có mặt ({len(record['present'])}):", "body_plain"))
    out += [paragraph(f"– {_person(p)}" + (f" (vắng mặt một phần phiên họp; lý do: {p['left_reason']})"
                                            if p.get("left_reason") else ""), "body_plain") for p in record["present"]]
    out.append(paragraph(f"6. Thành viên vắng mặt ({len(record['absent'])}):", "body_plain"))
    for p in record["absent"]:
        line = f"– {_person(p)}"
        if p["reason"]:
            line += f"; lý do: {p['reason']}"
        if p["represented_by"]:
            line += f"; ủy quyền cho {_person(p['represented_by'])} dự họp"
        out.append(paragraph(line, "body_plain"))
    if record["guests"]:
        out.append(paragraph("7. Khách mời:", "body_plain"))
        out += [paragraph(f"– {_person(p)}", "body_plain") for p in record["guests"]]
    out.append(paragraph("II. NỘI DUNG PHIÊN HỌP", "heading"))
    for n, item in enumerate(record["items"], 1):
        out.append(paragraph(f"{n}. {item['title']}", "heading"))
        if item["presenter"]:
            out.append(paragraph(f"Cơ quan trình: {item['presenter']}.", "body_plain"))
        if item["documents"]:
            out.append(paragraph("Tài liệu xem xét:", "body_plain"))
            out += [paragraph(f"– {d['title']}" + (f" ({d['doc_type']})" if d["doc_type"] else "")
                              + (f", phiên bản {d['version']}" if d["version"] else ""), "body_plain")
                    for d in item["documents"]]
        if item["adopted_without_discussion"]:
            out.append(paragraph("Nội dung được thông qua không thảo luận (không có ý kiến khác trước phiên họp).",
                                 "body_plain"))
        if item["speakers"]:
            out.append(paragraph("Ý kiến phát biểu:", "body_plain"))
            out += _speakers(item["speakers"])
        out += _votes(item["votes"])
        if item["conclusion"]:
            out.append(paragraph(f"Kết luận: {item['conclusion']}", "body_plain"))
    if record["other_speakers"] or record["other_votes"]:
        out.append(paragraph("Nội dung khác:", "heading"))
        out += _speakers(record["other_speakers"])
        out += _votes(record["other_votes"])
    if narrative.strip():
        out.append(paragraph("III. DIỄN BIẾN VÀ GHI CHÚ CỦA THƯ KÝ", "heading"))
        out += [paragraph(part.strip()) for part in narrative.split("\n") if part.strip()]
    ending = f"Phiên họp kết thúc lúc {format_vn_datetime(closed)}." if closed else ""
    out.append(paragraph(f"{ending} Biên bản (dự thảo lần {version}) được lập từ nhật ký phiên họp.".strip(),
                         "body"))
    out += signature_blocks([
        SignatureBlockSpec("secretary", "THƯ KÝ", record["secretary"]["full_name"]),
        SignatureBlockSpec("chair", "CHỦ TỌA", record["chair"]["full_name"]),
    ])
    return out


def render_minutes(record: dict[str, Any], narrative: str, *, version: int) -> BuiltDocument:
    """The PDF of one draft and where the THƯ KÝ and CHỦ TỌA signature boxes landed.

    Each box carries its empty signature field (``FIELD_NAMES``): a signer whose key stays on their
    own token signs into it with their own tool, and the server signs into it with a PIN.
    """
    built = build_document(story(record, narrative, version=version), title=f"Biên bản: {record['meeting']['title']}",
                           author="Văn phòng Chính phủ", subject="Biên bản phiên họp Chính phủ",
                           metadata_attachments=audit.head_attachment())
    fields = {FIELD_NAMES[role]: box for role, box in built.signature_boxes.items()}
    return replace(built, pdf=with_signature_fields(built.pdf, fields))
