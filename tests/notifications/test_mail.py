"""Mail through a real SMTP server: one per participant in their language, classified meetings not named,
retries with backoff then failure with the reason, nothing without a server."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa

from ecabinet.database import db, utcnow
from ecabinet.notifications.mail import cause_of
from ecabinet.notifications.models import MailState, Notification, OutboxMail
from tests.conftest import assert_error, audit_actions
from tests.meetings.factories import create_meeting, prepared_meeting
from tests.notifications.conftest import Inbox, SmtpServer, deliver, free_port, text_of, tls_pki, with_addresses

TITLE = "Phiên họp Chính phủ thường kỳ tháng 12"


def test_publishing_mails_each_participant_once_in_their_language_with_the_link(mailing_app: Any, smtp: Any,
                                                                                cast: Any, api: Any) -> None:
    with_addresses(cast)
    meeting = prepared_meeting(api, cast)
    assert smtp.inbox.messages == []  # nothing leaves before the worker runs (after the commit)
    assert deliver(mailing_app) == 5
    link = f"https://ecabinet.example.vn/meetings/{meeting['id']}"
    for user in (cast.chair, cast.member_a, cast.member_b, cast.delegate, cast.guest):
        received = smtp.inbox.to(user.email)
        assert len(received) == 1, user.username
        message = received[0]
        plain, html = text_of(message)
        assert TITLE in message["Subject"] and TITLE in plain and TITLE in html
        assert link in plain and f'href="{link}"' in html
        assert message["From"] == "Văn phòng Chính phủ <ecabinet@vpcp.test>"
        if user is cast.chair:
            assert message["Subject"].startswith("Invitation to the meeting") and "Dear " in plain
        else:
            assert message["Subject"].startswith("Giấy mời họp") and "Kính gửi" in plain
    for outsider in (cast.secretary, cast.admin, cast.outsider):
        assert smtp.inbox.to(outsider.email) == []
    assert deliver(mailing_app) == 0
    assert len(smtp.inbox.messages) == 5  # a second pass sends nothing again
    states = db.session.scalars(sa.select(OutboxMail.state)).all()
    assert states == [MailState.SENT] * 5


def test_a_classified_meeting_is_never_named_in_the_mail(mailing_app: Any, smtp: Any, cast: Any, api: Any) -> None:
    with_addresses(cast)
    sec = api(cast.secretary)
    title = "Phương án bảo vệ chủ quyền biển đảo"
    meeting = create_meeting(sec, cast, title=title, location="Phòng họp số 1", confidentiality="secret")
    assert sec.post(f"/meetings/{meeting['id']}/participants",
                    json={"user_id": cast.member_a.id, "role": "member"}).status_code == 201
    assert sec.post(f"/meetings/{meeting['id']}/publish").status_code == 200
    deliver(mailing_app)
    for user in (cast.chair, cast.member_a):
        [message] = smtp.inbox.to(user.email)
        raw = message.as_string()
        plain, html = text_of(message)
        for secret in (title, "biển đảo", "Phòng họp số 1"):
            assert secret not in message["Subject"] and secret not in plain and secret not in html, secret
        assert f"https://ecabinet.example.vn/meetings/{meeting['id']}" in plain
        assert "chủ quyền" not in raw
    [member_mail] = smtp.inbox.to(cast.member_a.email)
    assert member_mail["Subject"] == "Hệ thống họp Chính phủ điện tử: có thông tin mới dành cho đồng chí"
    # the list in the app and the secretariat's outbox do not name it either
    listed = api(cast.member_a).get("/me/notifications").get_json()["notifications"]
    assert listed[0]["title"] == "" and listed[0]["classified"] and title not in str(listed)
    outbox = api(cast.secretary).get("/outbox").get_json()
    assert title not in str(outbox)


def test_smtp_down_is_retried_with_backoff_then_failed_with_the_reason(mailing_app: Any, smtp: Any, cast: Any,
                                                                       api: Any) -> None:
    with_addresses(cast)
    mailing_app.config["SMTP_URL"] = f"smtp://127.0.0.1:{free_port()}"  # nobody listens there
    sec = api(cast.secretary)
    meeting = create_meeting(sec, cast)
    assert sec.post(f"/meetings/{meeting['id']}/publish").status_code == 200  # the change never fails
    start = utcnow()
    deliver(mailing_app, start)
    row = db.session.scalars(sa.select(OutboxMail)).one()
    assert (row.state, row.attempts) == (MailState.PENDING, 1)
    assert "ConnectionRefusedError" in row.last_error
    assert timedelta(seconds=59) < row.next_attempt_at - start <= timedelta(seconds=61)
    assert deliver(mailing_app, start + timedelta(seconds=30)) == 0  # not due yet
    deliver(mailing_app, start + timedelta(seconds=61))
    db.session.refresh(row)
    assert (row.state, row.attempts) == (MailState.PENDING, 2)
    assert timedelta(seconds=119) < row.next_attempt_at - (start + timedelta(seconds=61))  # doubled
    deliver(mailing_app, start + timedelta(hours=1))
    db.session.refresh(row)
    assert (row.state, row.attempts) == (MailState.FAILED, 3)
    seen = sec.get("/outbox?state=failed").get_json()
    assert seen["counts"]["failed"] == 1 and seen["smtp_configured"] is True
    [failed] = seen["mails"]
    assert failed["to"] == cast.chair.email and "ConnectionRefusedError" in failed["error"]
    assert failed["cause"] == "unreachable"
    assert failed["kind"] == "meeting.published" and failed["attempts"] == 3
    page = sec.client.get("/outbox", headers={"Authorization": f"Bearer {sec.token}"})
    shown = page.get_data(as_text=True)
    # the secretariat reads what went wrong in Vietnamese; the library's words stay beneath for whoever fixes it
    assert "Không kết nối được máy chủ thư" in shown and "ConnectionRefusedError" in shown
    assert_error(api(cast.member_a).get("/outbox"), 403, "secretariat_only")
    assert smtp.inbox.messages == []


def test_a_mail_that_failed_once_is_sent_when_the_server_is_back(mailing_app: Any, smtp: Any, cast: Any,
                                                                 api: Any) -> None:
    with_addresses(cast)
    working = mailing_app.config["SMTP_URL"]
    mailing_app.config["SMTP_URL"] = f"smtp://127.0.0.1:{free_port()}"
    sec = api(cast.secretary)
    meeting = create_meeting(sec, cast)
    sec.post(f"/meetings/{meeting['id']}/publish")
    start = utcnow()
    deliver(mailing_app, start)
    mailing_app.config["SMTP_URL"] = working
    deliver(mailing_app, start + timedelta(seconds=61))
    row = db.session.scalars(sa.select(OutboxMail)).one()
    assert (row.state, row.attempts, row.last_error) == (MailState.SENT, 2, "")
    assert len(smtp.inbox.to(cast.chair.email)) == 1


def test_without_an_smtp_server_nothing_is_mailed_and_nothing_fails(app: Any, cast: Any, api: Any) -> None:
    with_addresses(cast)
    assert app.config["SMTP_URL"] is None
    meeting = prepared_meeting(api, cast)
    assert deliver(app) == 0
    assert db.session.scalar(sa.select(sa.func.count(OutboxMail.id))) == 0
    shown = api(cast.member_a).get("/me/notifications").get_json()
    assert shown["unread"] == 1 and shown["notifications"][0]["url"] == f"/meetings/{meeting['id']}"
    assert api(cast.secretary).get("/outbox").get_json()["smtp_configured"] is False


def test_a_member_without_an_address_is_listed_as_failed_for_the_secretariat(mailing_app: Any, smtp: Any,
                                                                           cast: Any, api: Any) -> None:
    sec = api(cast.secretary)
    meeting = create_meeting(sec, cast)
    sec.post(f"/meetings/{meeting['id']}/publish")
    deliver(mailing_app)
    [row] = sec.get("/outbox").get_json()["mails"]
    assert row["state"] == "failed" and row["error"] == "no e-mail address on the account"
    assert smtp.inbox.messages == []


def test_a_rolled_back_change_mails_nobody(mailing_app: Any, smtp: Any, cast: Any, api: Any) -> None:
    with_addresses(cast)
    sec = api(cast.secretary)
    meeting = create_meeting(sec, cast)
    assert sec.post(f"/meetings/{meeting['id']}/publish").status_code == 200
    assert_error(sec.post(f"/meetings/{meeting['id']}/publish"), 409, "meeting_already_published")
    deliver(mailing_app)
    assert len(smtp.inbox.messages) == 1
    assert db.session.scalar(sa.select(sa.func.count(Notification.id))) == 1
    assert "meeting.published" in audit_actions()


def test_an_account_deactivated_before_the_mail_leaves_is_mailed_nothing(mailing_app: Any, smtp: Any, cast: Any,
                                                                         api: Any) -> None:
    with_addresses(cast)
    sec = api(cast.secretary)
    meeting = create_meeting(sec, cast)
    assert sec.post(f"/meetings/{meeting['id']}/participants",
                    json={"user_id": cast.member_a.id, "role": "member"}).status_code == 201
    sec.post(f"/meetings/{meeting['id']}/publish")
    cast.member_a.active = False
    db.session.commit()
    deliver(mailing_app)
    assert smtp.inbox.to(cast.member_a.email) == [] and len(smtp.inbox.to(cast.chair.email)) == 1
    failed = db.session.scalars(sa.select(OutboxMail).where(OutboxMail.state == MailState.FAILED)).one()
    assert (failed.to_address, failed.last_error, failed.attempts) == (cast.member_a.email, "account deactivated", 1)


def test_an_address_the_server_refuses_for_good_is_failed_at_once(mailing_app: Any, smtp: Any, cast: Any,
                                                                 api: Any) -> None:
    with_addresses(cast)
    cast.member_a.email = "unknown.member@gov.test"
    db.session.commit()
    sec = api(cast.secretary)
    meeting = create_meeting(sec, cast)
    sec.post(f"/meetings/{meeting['id']}/participants", json={"user_id": cast.member_a.id, "role": "member"})
    sec.post(f"/meetings/{meeting['id']}/publish")
    deliver(mailing_app)
    failed = db.session.scalars(sa.select(OutboxMail).where(OutboxMail.state == MailState.FAILED)).one()
    assert failed.attempts == 1 and failed.last_error.startswith("recipient refused: 550")
    assert cause_of(failed.last_error) == "recipient_refused"
    assert len(smtp.inbox.to(cast.chair.email)) == 1  # the others' mail went out over the same connection


def test_a_server_that_requires_a_login_gets_the_one_in_the_url(app: Any, cast: Any, api: Any) -> None:
    server = SmtpServer(Inbox(), login=("vpcp", "p@ss:w/rd#1"))
    server.controller.start()
    try:
        with_addresses(cast)
        app.config["SMTP_URL"] = f"smtp://vpcp:{quote('p@ss:w/rd#1', safe='')}@127.0.0.1:{server.port}"
        sec = api(cast.secretary)
        meeting = create_meeting(sec, cast)
        sec.post(f"/meetings/{meeting['id']}/publish")
        deliver(app)
        assert len(server.inbox.to(cast.chair.email)) == 1
        app.config["SMTP_URL"] = f"smtp://vpcp:wrong@127.0.0.1:{server.port}"
        sec.post(f"/meetings/{create_meeting(sec, cast)['id']}/publish")
        deliver(app)
        row = db.session.scalars(sa.select(OutboxMail).order_by(OutboxMail.id.desc())).first()
        assert row is not None and row.state == MailState.PENDING and "SMTPAuthenticationError: 535" in row.last_error
        assert "wrong" not in row.last_error  # the password never reaches what the secretariat reads
        assert cause_of(row.last_error) == "login_refused"
        # smtplib cannot send a password outside ASCII: a reason to read, not a crashed worker
        app.config["SMTP_URL"] = f"smtp://vpcp:{quote('mật khẩu', safe='')}@127.0.0.1:{server.port}"
        deliver(app, utcnow() + timedelta(minutes=5))
        db.session.refresh(row)
        assert row.state == MailState.PENDING and row.attempts == 2 and "UnicodeEncodeError" in row.last_error
        assert cause_of(row.last_error) == "invalid"
    finally:
        server.controller.stop()


def test_smtps_to_a_server_certified_by_the_governments_own_ca(app: Any, cast: Any, api: Any, tmp_path: Any) -> None:
    context, ca_file = tls_pki(tmp_path)
    server = SmtpServer(Inbox(), tls=context)
    server.controller.start()
    try:
        with_addresses(cast)
        sec = api(cast.secretary)
        # without the CA, the certificate is not trusted: nothing is sent in clear, the reason says TLS
        app.config.update(SMTP_URL=f"smtps://127.0.0.1:{server.port}", SMTP_CA_FILE=None)
        sec.post(f"/meetings/{create_meeting(sec, cast)['id']}/publish")
        deliver(app)
        row = db.session.scalars(sa.select(OutboxMail)).one()
        assert row.state == MailState.PENDING and cause_of(row.last_error) == "tls", row.last_error
        assert server.inbox.messages == []
        # with the government's CA named in ECABINET_SMTP_CA_FILE, the mail goes over TLS
        app.config["SMTP_CA_FILE"] = str(ca_file)
        deliver(app, utcnow() + timedelta(hours=1))
        db.session.refresh(row)
        assert row.state == MailState.SENT and len(server.inbox.to(cast.chair.email)) == 1
    finally:
        server.controller.stop()


def test_the_outbox_page_counts_calmly_red_only_for_failures_and_says_what_an_empty_view_means(
        mailing_app: Any, smtp: Any, cast: Any, api: Any) -> None:
    sec = api(cast.secretary)
    headers = {"Authorization": f"Bearer {sec.token}"}
    empty = sec.client.get("/outbox", headers=headers).get_data(as_text=True)
    assert "Chưa có thư nào. Mỗi thông báo gửi qua thư điện tử được liệt kê ở đây" in empty
    assert 'class="count alert"' not in empty  # no failure, no red
    sec.post(f"/meetings/{create_meeting(sec, cast)['id']}/publish")  # the chair has no address: it fails
    deliver(mailing_app)
    failed = sec.client.get("/outbox", headers=headers).get_data(as_text=True)
    assert failed.count('class="count alert"') == 1 and '<span class="count">0</span>' in failed
    filtered = sec.client.get("/outbox?state=sent", headers=headers).get_data(as_text=True)
    row = filtered[filtered.index('id="outbox-empty"'):filtered.index("</tr>", filtered.index('id="outbox-empty"'))]
    assert "Không có thư nào ở trạng thái “Đã gửi”." in row and '<a href="/outbox">Xem tất cả thư</a>' in row
