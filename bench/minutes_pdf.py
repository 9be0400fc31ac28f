"""Minutes PDF: the app's path from a closed meeting's record to PDF bytes, against bare ReportLab
drawing the same story with the same Liberation Serif TTF, interleaved (bare, render, service, ...).

    python -m bench.minutes_pdf [--pages 10 100] [--pairs N] [--quick]

Subjects, for a meeting sized to about 10 and 100 pages (27 members; per agenda item a presenter,
four speakers, a named vote with every member's choice and a conclusion; a secretary's narrative):
- ``render``: ``meetings.minutes.pdf.render_minutes`` from the session record (the app's story,
  the Decree 30 styles, signature-box placement);
- ``service``: ``meetings.minutes.service.generate_minutes``: reads the record from the database,
  renders, stores the PDF, writes the version and the audit record in one transaction.
Baseline ``bare``: SimpleDocTemplate + Paragraph/Table/KeepTogether of the same texts, styles and
page-number footer, the fonts registered under other names from the same TTF files.

Writes bench/results/minutes_pdf.json. Goal: app ≤ 1.5× bare (median of per-pair ratios).
"""

from __future__ import annotations

import argparse
import io
import json
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)
from reportlab.platypus.flowables import HRFlowable

from bench.common import (
    add_cabinet,
    interleave,
    migrated_app,
    pair_ratios,
    speed_probe,
    summary,
    write_result,
)

GOAL = 1.5
MEMBERS = 27
# agenda items per requested page count, from a calibration run (the real count is reported)
ITEMS_PER_PAGE = 0.715
NARRATIVE = ("Phiên họp diễn ra trong không khí dân chủ, thẳng thắn. Các thành viên Chính phủ đã thảo luận kỹ "
             "từng nội dung, phân tích những khó khăn, vướng mắc và đề xuất giải pháp tháo gỡ cho sản xuất, "
             "kinh doanh, bảo đảm an sinh xã hội và quốc phòng, an ninh.")

# ---- the bare baseline: the same flowables rebuilt from plain ReportLab classes --------------------

BARE_FONTS = {"TimesVN": "BareSerif", "TimesVN-Bold": "BareSerif-Bold", "TimesVN-Italic": "BareSerif-Italic",
              "TimesVN-BoldItalic": "BareSerif-BoldItalic"}


def register_bare_fonts() -> None:
    from ecabinet.pdf import FONT_DIR

    for app_name, bare_name in BARE_FONTS.items():
        face = {"TimesVN": "Regular"}.get(app_name, app_name.removeprefix("TimesVN-"))
        pdfmetrics.registerFont(TTFont(bare_name, str(FONT_DIR / f"LiberationSerif-{face}.ttf")))
    pdfmetrics.registerFontFamily("BareSerif", normal="BareSerif", bold="BareSerif-Bold",
                                  italic="BareSerif-Italic", boldItalic="BareSerif-BoldItalic")


def describe(flowable: Flowable) -> Any:
    """The app's story as plain data (texts, style parameters, table columns), read once before timing."""
    from ecabinet.pdf import Rule, SignatureBox

    if isinstance(flowable, Paragraph):
        s = flowable.style
        return ("p", flowable.text, {"fontName": BARE_FONTS[s.fontName], "fontSize": s.fontSize,
                                     "leading": s.leading, "alignment": s.alignment,
                                     "firstLineIndent": s.firstLineIndent, "spaceBefore": s.spaceBefore,
                                     "spaceAfter": s.spaceAfter})
    if isinstance(flowable, Rule):
        return ("rule", flowable.length, flowable.space_before, flowable.space_after)
    if isinstance(flowable, SignatureBox):
        return ("space", flowable.box_height)
    if isinstance(flowable, Spacer):
        return ("space", flowable.height)
    if isinstance(flowable, KeepTogether):
        return ("keep", [describe(f) for f in flowable._content])
    if isinstance(flowable, Table):
        rows = [[[describe(f) for f in cell] if isinstance(cell, list) else
                 ([describe(cell)] if isinstance(cell, Flowable) else []) for cell in row]
                for row in flowable._cellvalues]
        return ("table", rows, list(flowable._colWidths))
    raise TypeError(f"no bare equivalent for {type(flowable).__name__}")


_TABLE_STYLE = TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
                           ("RIGHTPADDING", (0, 0), (-1, -1), 0)])


def bare_flowable(item: Any, styles: dict[str, ParagraphStyle]) -> Flowable:
    kind = item[0]
    if kind == "p":
        key = json.dumps(item[2], sort_keys=True)
        if key not in styles:
            styles[key] = ParagraphStyle(f"s{len(styles)}", **item[2])
        return Paragraph(item[1], styles[key])
    if kind == "rule":
        return HRFlowable(width=item[1], thickness=0.6, spaceBefore=item[2], spaceAfter=item[3])
    if kind == "space":
        return Spacer(1, item[1])
    if kind == "keep":
        return KeepTogether([bare_flowable(f, styles) for f in item[1]])
    return Table([[[bare_flowable(f, styles) for f in cell] for cell in row] for row in item[1]],
                 colWidths=item[2], style=_TABLE_STYLE)


def bare_build(described: list[Any]) -> tuple[bytes, int]:
    from ecabinet.pdf import MARGIN_BOTTOM, MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, PAGE_SIZE

    def page_number(canvas: Any, doc: Any) -> None:
        canvas.setFont("BareSerif", 14)
        canvas.drawCentredString(PAGE_SIZE[0] / 2, PAGE_SIZE[1] - MARGIN_TOP / 2 - 4, str(doc.page))

    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=PAGE_SIZE, leftMargin=MARGIN_LEFT, rightMargin=MARGIN_RIGHT,
                            topMargin=MARGIN_TOP, bottomMargin=MARGIN_BOTTOM, title="Biên bản", lang="vi-VN")
    styles: dict[str, ParagraphStyle] = {}
    doc.build([bare_flowable(f, styles) for f in described], onLaterPages=page_number)
    return out.getvalue(), doc.page


# ---- the meeting ---------------------------------------------------------------------------------------

def closed_meeting(items: int) -> tuple[int, int]:
    """A closed meeting with ``items`` agenda items, played out in rows; returns (meeting id, secretary id)."""
    from ecabinet.database import db, utcnow
    from meetings.live.models import (
        SpeakerRequest,
        SpeakerStatus,
        Vote,
        VoteParticipation,
        VoteStatus,
    )
    from meetings.models import (
        AgendaItem,
        Meeting,
        MeetingKind,
        MeetingStatus,
        Participant,
        ParticipantRole,
    )

    stamp = f"{items}-{time.monotonic_ns()}"
    people = add_cabinet(MEMBERS - 1, prefix=f"{stamp}-")
    secretary, chair = people[0][0], people[1][0]
    members = [u for u, _ in people[1:]]
    start = utcnow() - timedelta(hours=6)
    meeting = Meeting(title="Phiên họp Chính phủ thường kỳ tháng 11 năm 2026", kind=MeetingKind.REGULAR,
                      starts_at=start, started_at=start, closed_at=start + timedelta(hours=5),
                      location="Trụ sở Chính phủ, số 1 Hoàng Hoa Thám, Hà Nội", chair_id=chair.id,
                      status=MeetingStatus.CLOSED, created_by_id=secretary.id)
    db.session.add(meeting)
    db.session.flush()
    db.session.add_all(Participant(meeting_id=meeting.id, user_id=u.id, role=ParticipantRole.MEMBER,
                                   checked_in_at=start if i % 9 else None,
                                   absence_reason=None if i % 9 else "Đi công tác nước ngoài")
                       for i, u in enumerate(members))
    for n in range(items):
        item = AgendaItem(meeting_id=meeting.id, position=n + 1, presenter="Bộ Kế hoạch và Đầu tư",
                          title=f"Tờ trình số {n + 1} về dự án Luật sửa đổi, bổ sung một số điều của các luật",
                          conclusion="Chính phủ thống nhất thông qua; giao Bộ chủ trì tiếp thu ý kiến, hoàn thiện "
                                     "hồ sơ, trình Quốc hội tại kỳ họp gần nhất.")
        db.session.add(item)
        db.session.flush()
        at = start + timedelta(minutes=4 * n)
        db.session.add_all(SpeakerRequest(meeting_id=meeting.id, agenda_item_id=item.id, user_id=members[1 + s].id,
                                          status=SpeakerStatus.FINISHED, requested_at=at,
                                          granted_at=at + timedelta(seconds=30 * s),
                                          finished_at=at + timedelta(seconds=30 * s + 25)) for s in range(4))
        vote = Vote(meeting_id=meeting.id, agenda_item_id=item.id, question=f"Thông qua Tờ trình số {n + 1}?",
                    secret=False, status=VoteStatus.CLOSED, opened_at=at, closed_at=at + timedelta(minutes=2),
                    agree=MEMBERS - 2, disagree=1, abstain=1,
                    result={"agree": MEMBERS - 2, "disagree": 1, "abstain": 1, "not_voted": 0,
                            "total_members": MEMBERS, "passed": True})
        db.session.add(vote)
        db.session.flush()
        db.session.add_all(VoteParticipation(vote_id=vote.id, user_id=u.id, cast_at=at,
                                             choice="disagree" if i == 1 else "abstain" if i == 2 else "agree")
                           for i, u in enumerate(members))
    db.session.commit()
    return meeting.id, secretary.id


def measure(pages: int, pairs: int) -> dict[str, Any]:
    from ecabinet.auth.models import User
    from ecabinet.database import db
    from meetings.minutes import pdf, service
    from meetings.minutes.models import Minutes
    from meetings.models import Meeting

    meeting_id, secretary_id = closed_meeting(max(1, round((pages - 1) * ITEMS_PER_PAGE)))
    meeting = db.session.get(Meeting, meeting_id)
    secretary = db.session.get(User, secretary_id)
    assert meeting is not None
    assert secretary is not None
    narrative = "\n".join([NARRATIVE] * max(1, pages // 5))
    record = service.session_record(meeting, secretary)
    # the service keeps the narrative of the previous draft: give the first draft the same one
    minutes_id = service.generate_minutes(meeting, actor=secretary).id
    service.edit_narrative(meeting, narrative, actor=secretary)
    described = [describe(f) for f in pdf.story(record, narrative, version=1)]
    sizes: dict[str, tuple[int, int]] = {}

    def bare() -> float:
        t0 = time.perf_counter()
        data, count = bare_build(described)
        elapsed = time.perf_counter() - t0
        sizes["bare"] = (len(data), count)
        return elapsed

    def render() -> float:
        t0 = time.perf_counter()
        built = pdf.render_minutes(record, narrative, version=1)
        elapsed = time.perf_counter() - t0
        sizes["render"] = (len(built.pdf), built.page_count)
        return elapsed

    def generate() -> float:
        db.session.remove()  # a fresh session, as each request has
        t0 = time.perf_counter()
        actor, subject = db.session.get(User, secretary_id), db.session.get(Meeting, meeting_id)
        assert actor is not None
        assert subject is not None
        service.generate_minutes(subject, actor=actor)
        elapsed = time.perf_counter() - t0
        fresh = db.session.get(Minutes, minutes_id)
        assert fresh is not None
        sizes["service"] = (len(service.current_pdf(fresh)), sizes["render"][1])
        return elapsed

    values = interleave({"bare": bare, "render": render, "service": generate}, pairs)
    result: dict[str, Any] = {
        "requested_pages": pages, "pages": {k: v[1] for k, v in sizes.items()},
        "pdf_bytes": {k: v[0] for k, v in sizes.items()}, "members": MEMBERS, "agenda_items": len(record["items"]),
        "bare_reportlab": summary(values["bare"]), "app_render": summary(values["render"]),
        "app_service": summary(values["service"]),
        "ratio_render_to_bare": pair_ratios(values["render"], values["bare"]),
        "ratio_service_to_bare": pair_ratios(values["service"], values["bare"]),
    }
    result["app_pages_per_s"] = round(sizes["render"][1] / (result["app_service"]["p50_ms"] / 1000), 1)
    result["bare_pages_per_s"] = round(sizes["bare"][1] / (result["bare_reportlab"]["p50_ms"] / 1000), 1)
    result["goal_met"] = result["ratio_service_to_bare"]["median"] <= GOAL
    return result


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, nargs="+", default=[10, 100])
    parser.add_argument("--pairs", type=int, default=None, help="default 15 (10-page) and 8 (100-page); --quick 3")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    probe = speed_probe()
    app = migrated_app(Path(tempfile.mkdtemp(prefix="bench-minutes-")))
    register_bare_fonts()
    results = []
    with app.app_context():
        for pages in args.pages:
            pairs = args.pairs or (3 if args.quick else (15 if pages <= 20 else 8))
            result = measure(pages, pairs)
            print(json.dumps(result, ensure_ascii=False), flush=True)
            results.append(result)
    write_result("minutes_pdf", results, settings={"pages": args.pages, "quick": args.quick, "goal": GOAL},
                 probe_start=probe)
    return 0 if all(r["goal_met"] for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
