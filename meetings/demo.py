"""The demo's regular Government session: a realistic agenda with Decree-30 dossiers made by ReportLab."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from documents import service as documents
from ecabinet import pdf
from ecabinet.auth.models import User
from ecabinet.database import db, utcnow
from ecabinet.demo import CABINET
from meetings import service
from meetings.live import service as live
from meetings.models import Meeting

DEMO_TITLE = "Phiên họp Chính phủ thường kỳ tháng 12 năm 2026"

# (title, presenting ministry, minutes, [(document title, type, number/symbol, issuing body, confidentiality)])
AGENDA = [
    ("Tình hình kinh tế - xã hội tháng 11 và 11 tháng năm 2026; nhiệm vụ, giải pháp trọng tâm thời gian tới",
     "Bộ Tài chính", 60,
     [("Báo cáo tình hình kinh tế - xã hội tháng 11 năm 2026", "Báo cáo", "412/BC-BTC", "BỘ TÀI CHÍNH", "normal")]),
    ("Dự thảo Nghị quyết phiên họp Chính phủ thường kỳ tháng 11 năm 2026", "Văn phòng Chính phủ", 20,
     [("Dự thảo Nghị quyết phiên họp Chính phủ thường kỳ", "Dự thảo", "…/NQ-CP", "VĂN PHÒNG CHÍNH PHỦ", "normal")]),
    ("Tờ trình dự án Luật sửa đổi, bổ sung một số điều của Luật Đầu tư công", "Bộ Tài chính", 45,
     [("Tờ trình dự án Luật sửa đổi, bổ sung Luật Đầu tư công", "Tờ trình", "398/TTr-BTC", "BỘ TÀI CHÍNH",
       "confidential")]),
    ("Đề án phát triển hạ tầng số quốc gia giai đoạn 2026 - 2030", "Bộ Khoa học và Công nghệ", 30,
     [("Đề án phát triển hạ tầng số quốc gia", "Đề án", "155/TTr-BKHCN", "BỘ KHOA HỌC VÀ CÔNG NGHỆ", "normal")]),
]

BODY = [
    "Thực hiện Quy chế làm việc của Chính phủ, cơ quan chủ trì kính trình Chính phủ xem xét, cho ý kiến về nội dung "
    "nêu trên. Hồ sơ gồm báo cáo tổng hợp, dự thảo văn bản và bảng tổng hợp ý kiến của các bộ, cơ quan ngang bộ.",
    "Về bối cảnh: kinh tế vĩ mô cơ bản ổn định, lạm phát được kiểm soát, các cân đối lớn được bảo đảm; giải ngân vốn "
    "đầu tư công có chuyển biến tích cực nhưng còn chậm ở một số bộ, ngành và địa phương.",
    "Về nội dung đề xuất: hoàn thiện thể chế, đẩy mạnh phân cấp, phân quyền; cắt giảm thủ tục hành chính; "
    "tăng cường chuyển đổi số trong hoạt động của các cơ quan nhà nước.",
    "Đề nghị các thành viên Chính phủ nghiên cứu, cho ý kiến trước phiên họp trên Hệ thống thông tin phục vụ họp "
    "và xử lý công việc của Chính phủ (e-Cabinet).",
]


def dossier_pdf(title: str, number: str, body: str, when: datetime) -> bytes:
    """A Decree-30 dossier with Vietnamese text over a few pages."""
    story = [*pdf.decree30_header([body], number, pdf.place_date("Hà Nội", when)), *pdf.title_block(title)]
    for round_ in range(3):
        story.append(pdf.paragraph(f"{['I', 'II', 'III'][round_]}. NỘI DUNG {round_ + 1}"))
        story.extend(pdf.paragraph(text) for text in BODY * 3)
    return pdf.build_document(story, title=title, author=body).pdf


def demo_step() -> list[str]:
    """Create the published regular session once (idempotent), through the services."""
    if db.session.scalar(select(Meeting).where(Meeting.title == DEMO_TITLE)) is not None:
        return [f"Demo meeting already present: {DEMO_TITLE}"]
    secretary = db.session.scalar(select(User).where(User.username == "vpcp.thuky"))
    chair = db.session.scalar(select(User).where(User.username == "thutuong"))
    if secretary is None or chair is None:
        return []
    starts = (utcnow() + timedelta(days=3)).replace(hour=1, minute=30, second=0, microsecond=0, tzinfo=UTC)
    meeting = service.create_meeting(title=DEMO_TITLE, kind="regular", starts_at=starts,
                                     location="Phòng họp Chính phủ, Trụ sở Chính phủ, số 1 Hoàng Hoa Thám, Hà Nội",
                                     chair_id=chair.id, actor=secretary)
    items = []
    for title, presenter, minutes, _docs in AGENDA:
        # the session's draft resolution goes to the consent block: adopted without discussion unless a member objects
        items.append(service.add_agenda_item(meeting, title=title, presenter=presenter, duration_minutes=minutes,
                                             consent_block=presenter == "Văn phòng Chính phủ", actor=secretary))
    for username, *_rest in CABINET:
        user = db.session.scalar(select(User).where(User.username == username))
        if user is not None and user.id != meeting.chair_id:  # the chair is a member from the meeting's creation
            service.add_participant(meeting, user_id=user.id, role="member", actor=secretary)
    guest = db.session.scalar(select(User).where(User.username == "khach.vcci"))
    if guest is not None:
        service.add_participant(meeting, user_id=guest.id, role="guest", agenda_item_ids=[items[0].id],
                                actor=secretary)
    now = utcnow()
    for item, (_title, _presenter, _minutes, docs) in zip(items, AGENDA, strict=True):
        for doc_title, doc_type, number, body, level in docs:
            data = dossier_pdf(doc_title, number, body, now)
            documents.upload_document(meeting.id, item.id, data=data, filename=f"{number.replace('/', '-')}.pdf",
                                      title=doc_title, doc_type=doc_type, confidentiality=level, actor=secretary)
    service.publish_meeting(meeting, actor=secretary)
    return [f"Demo meeting (published): {DEMO_TITLE} — {len(items)} agenda items with PDF dossiers",
            *_closed_meeting(secretary, chair)]


CLOSED_TITLE = "Phiên họp Chính phủ thường kỳ tháng 11 năm 2026"


def _closed_meeting(secretary: User, chair: User) -> list[str]:
    """Last month's session, held and closed through the same services: its minutes and conclusion notice
    are still to be drawn up and signed, so the secretariat and the chair can do it from the pages."""
    starts = (utcnow() - timedelta(days=30)).replace(hour=1, minute=30, second=0, microsecond=0, tzinfo=UTC)
    meeting = service.create_meeting(title=CLOSED_TITLE, kind="regular", starts_at=starts,
                                     location="Phòng họp Chính phủ, Trụ sở Chính phủ, số 1 Hoàng Hoa Thám, Hà Nội",
                                     chair_id=chair.id, actor=secretary)
    title, presenter, minutes, docs = AGENDA[0]
    item = service.add_agenda_item(meeting, title=title, presenter=presenter, duration_minutes=minutes,
                                   actor=secretary)
    members = [u for u in (db.session.scalar(select(User).where(User.username == name)) for name, *_ in CABINET)
               if u is not None]
    service.add_members(meeting, [u.id for u in members], actor=secretary)
    doc_title, doc_type, number, body, level = docs[0]
    documents.upload_document(meeting.id, item.id, data=dossier_pdf(doc_title, number, body, starts),
                              filename=f"{number.replace('/', '-')}.pdf", title=doc_title, doc_type=doc_type,
                              confidentiality=level, actor=secretary)
    service.publish_meeting(meeting, actor=secretary)
    live.start_session(meeting, actor=chair)
    for user in members[:18]:
        live.check_in(meeting, actor=user)
    live.activate_item(meeting, item.id, actor=chair)
    vote, _view = live.open_vote(meeting, question="Thông qua báo cáo tình hình kinh tế - xã hội?", secret=False,
                                 agenda_item_id=item.id, actor=chair)
    for user in members[:16]:
        live.cast_vote(vote, "agree", actor=user)
    live.close_vote(vote, actor=chair)
    live.set_conclusion(meeting, item.id, "Chính phủ thống nhất đánh giá tình hình kinh tế - xã hội tháng 11 "
                        "tiếp tục chuyển biến tích cực; giao các bộ, ngành tập trung giải ngân vốn đầu tư công.",
                        actor=secretary)
    live.close_session(meeting, actor=chair)
    return [f"Demo meeting (closed, minutes to draw up and sign): {CLOSED_TITLE}"]
