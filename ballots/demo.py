"""Demo data: members get certificates (PIN 123456) and an issued ballot with a few signed answers."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from ballots import service
from ballots.models import Ballot
from ecabinet import keystore
from ecabinet.auth.models import Role, User
from ecabinet.database import db, utcnow

DEMO_PIN = "123456"
DEMO_TITLE = "Dự thảo Nghị định quy định chi tiết Luật Chuyển đổi số"


def demo_step() -> list[str]:
    members = [u for u in db.session.scalars(select(User).order_by(User.id)) if Role.MEMBER in u.roles]
    secretary = next((u for u in db.session.scalars(select(User)) if u.is_secretariat), None)
    if not members or secretary is None:
        return []
    # the secretariat signs minutes too (first, before the chair): it needs a certificate like the members
    for user in [*members, secretary]:
        if keystore.active_credential(user) is None:
            keystore.issue_credential(user, DEMO_PIN, actor=None)
    if db.session.scalar(select(Ballot).where(Ballot.title == DEMO_TITLE)) is None:
        ballot = service.create_ballot(
            title=DEMO_TITLE, summary="Văn phòng Chính phủ xin ý kiến thành viên Chính phủ về dự thảo Nghị định.",
            questions=["Đồng ý ban hành Nghị định theo dự thảo?", "Đồng ý hiệu lực thi hành từ ngày 01/01/2027?"],
            recipient_ids=[u.id for u in members], deadline=utcnow() + timedelta(days=3), actor=secretary)
        service.issue_ballot(ballot, actor=secretary)
        for user in members[1:4]:
            service.submit_response(ballot, answers=[{"question_id": q.id, "choice": "agree", "comment": ""}
                                                     for q in ballot.questions],
                                    pin=DEMO_PIN, idempotency_key=None, actor=user)
    return [f"Signing PIN for every demo member and the secretariat: {DEMO_PIN}",
            f"Opinion ballot issued: {DEMO_TITLE} (3 answers signed)"]
