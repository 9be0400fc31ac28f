"""E-mail: the SMTP address from ``ECABINET_SMTP_URL`` and the message, rendered from templates/mail/
in the recipient's language (HTML and plain text, one multipart message)."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from flask import current_app, render_template
from flask_babel import force_locale, gettext

from ecabinet.notifications.kinds import DETAILS, headline
from ecabinet.notifications.models import Notification

LANGUAGES = ("vi", "en")


@dataclass(frozen=True)
class SmtpServer:
    """Where mail goes: ``smtp://[user:password@]host[:port][?starttls=true]`` or ``smtps://...`` (TLS)."""

    host: str
    port: int
    tls: bool
    starttls: bool
    username: str | None
    password: str | None
    #: the CA certificates (PEM) that vouch for the server's certificate; None: the system's
    ca_file: str | None = None

    @classmethod
    def parse(cls, url: str, ca_file: str | None = None) -> SmtpServer:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("ECABINET_SMTP_URL must be smtp://host[:port] or smtps://host[:port]")
        tls = parts.scheme == "smtps"
        query = parse_qs(parts.query)
        return cls(host=parts.hostname, port=parts.port or (465 if tls else 25), tls=tls,
                   starttls=not tls and query.get("starttls", ["false"])[0].lower() in ("1", "true", "yes"),
                   username=unquote(parts.username) if parts.username else None,
                   password=unquote(parts.password) if parts.password else None, ca_file=ca_file)

    def connect(self, timeout: float) -> smtplib.SMTP:
        """An open, logged-in connection (the caller quits it)."""
        context = ssl.create_default_context(cafile=self.ca_file)
        client: smtplib.SMTP
        if self.tls:
            client = smtplib.SMTP_SSL(self.host, self.port, timeout=timeout, context=context)
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=timeout)
        try:
            if self.starttls:
                client.starttls(context=context)
            if self.username:
                client.login(self.username, self.password or "")
        except BaseException:
            client.close()
            raise
        return client


def configured_server() -> SmtpServer | None:
    """The configured SMTP server, or None: without ``ECABINET_SMTP_URL`` nothing is mailed."""
    url = current_app.config.get("SMTP_URL")
    return SmtpServer.parse(url, current_app.config.get("SMTP_CA_FILE")) if url else None


def link(path: str) -> str:
    """The page's absolute address, from the address users open (``ECABINET_PUBLIC_URL``)."""
    return current_app.config["PUBLIC_URL"].rstrip("/") + path


def details(notification: Notification) -> list[tuple[str, str]]:
    """(label, value) lines a mail or the list shows under the headline; none for a classified subject."""
    from ecabinet.web import hanoi  # deferred: ecabinet.web imports the ecabinet package, which imports this one

    if notification.classified:
        return []
    lines = []
    for field, (label, is_time) in DETAILS.items():
        value = (notification.data or {}).get(field)
        if value:
            lines.append((str(label), hanoi(value) if is_time else str(value)))
    return lines


def build_message(notification: Notification, to_address: str) -> EmailMessage:
    """The multipart mail about one notification, in its recipient's language.

    A subject at Mật or above is never named: the mail says there is something new, with the link.
    """
    language = notification.user.language if notification.user.language in LANGUAGES else "vi"
    with force_locale(language):
        context: dict[str, Any] = {"notification": notification, "headline": headline(notification),
                                   "details": details(notification), "url": link(notification.path),
                                   "name": notification.user.full_name, "language": language}
        subject = context["headline"] if not notification.classified else gettext(
            "Government e-Cabinet: something new for you")
        text = render_template("mail/notification.txt", **context)
        html = render_template("mail/notification.html", **context)
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = to_address
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=current_app.config["MAIL_FROM"].rpartition("@")[2].strip("> ") or None)
    message["Content-Language"] = language
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message


def send_all(server: SmtpServer, messages: Sequence[EmailMessage], timeout: float) -> list[str | None]:
    """Send over one connection; per message None when accepted, else why not.

    A connection that cannot be made (or drops) fails every message not yet sent with that reason.
    ValueError covers what smtplib cannot encode (a non-ASCII password or address): a reason, not a crash.
    """
    results: list[str | None] = []
    try:
        client = server.connect(timeout)
    except (OSError, smtplib.SMTPException, ValueError) as error:
        return [_reason(error)] * len(messages)
    try:
        for message in messages:
            try:
                client.send_message(message)
                results.append(None)
            except smtplib.SMTPServerDisconnected as error:
                results.extend([_reason(error)] * (len(messages) - len(results)))
                return results
            except (OSError, smtplib.SMTPException, ValueError) as error:
                results.append(_reason(error))
    finally:
        try:
            client.quit()
        except (OSError, smtplib.SMTPException):
            client.close()
    return results


def _reason(error: BaseException) -> str:
    """What the secretariat reads: the error's kind and the server's answer (never a password)."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        answers = "; ".join(f"{code} {text.decode(errors='replace')}" for code, text in error.recipients.values())
        return f"recipient refused: {answers}"
    if isinstance(error, smtplib.SMTPResponseException):
        message = error.smtp_error.decode(errors="replace") if isinstance(error.smtp_error, bytes) else error.smtp_error
        return f"{type(error).__name__}: {error.smtp_code} {message}"
    return f"{type(error).__name__}: {error}"[:500]


def cause_of(reason: str) -> str:
    """The kind of failure a stored reason (``_reason``) records: the outbox shows it in the reader's language,
    with the server's own words beneath for whoever fixes it; "" for a reason of our own or none."""
    kind = reason.split(":", 1)[0]
    if kind == "recipient refused":
        return "recipient_refused"
    if kind == "SMTPAuthenticationError":
        return "login_refused"
    if kind == "SMTPServerDisconnected":
        return "disconnected"
    if kind.startswith("SMTP"):
        return "server_refused"
    if kind.startswith("SSL"):
        return "tls"
    if kind in ("ValueError", "UnicodeEncodeError"):
        return "invalid"
    if kind.endswith(("Error", "timeout")) or kind in ("gaierror", "herror"):
        return "unreachable"  # connection refused or reset, no route, a name that does not resolve, a timeout
    return ""
