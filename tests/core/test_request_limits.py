"""What a request may cost: a write from a caller who is not logged in is refused before its body is read,
a JSON body has its own small limit, and a real `serve` process gives its memory back after large requests.
"""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import sqlalchemy as sa
from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject, NumberObject

from ecabinet.audit import AuditRecord
from ecabinet.database import db
from tests.conftest import assert_error, issue_token
from tests.live.harness import ServerProcess
from tests.meetings.factories import create_meeting

MB = 1024 * 1024


class CountingBody(io.RawIOBase):
    """A request body of ``size`` bytes, made only as it is read; ``read_bytes`` says how much was."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.position = 0
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True  # the test client measures the body by seeking to its end (reading nothing)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self.position = self.size + offset if whence == io.SEEK_END else offset
        return self.position

    def tell(self) -> int:
        return self.position

    def readinto(self, buffer: Any) -> int:
        n = min(len(buffer), self.size - self.position)
        buffer[:n] = b" " * n
        self.position += n
        self.read_bytes += n
        return n


def audit_count() -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count()).select_from(AuditRecord)) or 0


# --- in the app -----------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/api/v1/meetings", "/api/v1/meetings/1/agenda", "/api/v1/ballots",
                                  "/api/v1/documents/1/notes", "/logout"])
def test_an_anonymous_90_mb_body_is_refused_without_reading_a_byte(client: Any, path: str) -> None:
    body = CountingBody(90 * MB)
    method = client.put if path.endswith("/notes") else client.post
    response = method(path, input_stream=body, content_length=body.size, content_type="application/json")
    if path.startswith("/api/"):
        assert_error(response, 401, "not_authenticated")
    else:  # a page: the error page, in Vietnamese
        assert response.status_code == 401 and "Vui lòng đăng nhập." in response.get_data(as_text=True)
    assert body.read_bytes == 0


def test_a_forged_token_is_no_better_than_none(client: Any) -> None:
    body = CountingBody(90 * MB)
    response = client.post("/api/v1/meetings", input_stream=body, content_length=body.size,
                           content_type="application/json", headers={"Authorization": "Bearer forged-token"})
    assert_error(response, 401, "not_authenticated")
    assert body.read_bytes == 0


def test_a_logged_in_callers_json_past_the_limit_is_413_before_it_is_read(app: Any, api: Any, cast: Any) -> None:
    sec = api(cast.secretary)
    before = audit_count()
    body = CountingBody(app.config["MAX_JSON_BYTES"] + 1)
    response = sec.post("/meetings", input_stream=body, content_length=body.size, content_type="application/json")
    error = assert_error(response, 413, "request_too_large")
    assert error["message"] == "Yêu cầu quá lớn."
    assert body.read_bytes == 0
    assert audit_count() == before


def test_a_json_body_without_a_length_is_cut_at_the_limit(app: Any, api: Any, cast: Any) -> None:
    sec = api(cast.secretary)
    body = CountingBody(50 * MB)
    response = sec.client.post("/api/v1/meetings", input_stream=body, content_type="application/json",
                               headers={"Authorization": f"Bearer {sec.token}", "Transfer-Encoding": "chunked"},
                               environ_overrides={"wsgi.input_terminated": True})  # as gevent serves chunked
    assert_error(response, 413, "request_too_large")
    assert body.read_bytes <= app.config["MAX_JSON_BYTES"] + 64 * 1024


def test_a_json_body_just_under_the_limit_is_read(app: Any, api: Any, cast: Any) -> None:
    limit = app.config["MAX_JSON_BYTES"]
    padding = " " * (limit - 300)
    body = json.dumps({"title": "Phiên họp", "kind": "regular", "starts_at": "2026-12-03T08:30:00+07:00",
                       "chair_id": cast.chair.id}) + padding
    assert len(body.encode()) <= limit
    response = api(cast.secretary).post("/meetings", data=body, content_type="application/json")
    assert response.status_code == 201, response.get_json()


def test_the_json_limit_is_configurable(app: Any, api: Any, cast: Any) -> None:
    app.config["MAX_JSON_BYTES"] = 1024
    body = {"title": "x" * 2000, "kind": "regular", "starts_at": "2026-12-03T08:30:00+07:00",
            "chair_id": cast.chair.id}
    assert_error(api(cast.secretary).post("/meetings", json=body), 413, "request_too_large")


def test_an_upload_keeps_the_upload_limit(app: Any, api: Any, cast: Any) -> None:
    """A dossier larger than the JSON limit is accepted; one past ECABINET_MAX_UPLOAD_MB is 413 too_large."""
    from tests.documents import corpus

    sec = api(cast.secretary)
    meeting = create_meeting(sec, cast)
    item = sec.post(f"/meetings/{meeting['id']}/agenda", json={"title": "Tờ trình"}).get_json()
    app.config["MAX_JSON_BYTES"] = 1024
    form = {"file": (io.BytesIO(corpus.valid_pdf(pages=5)), "a.pdf"), "title": "Tờ trình"}
    response = sec.post(f"/meetings/{meeting['id']}/agenda/{item['id']}/documents", data=form,
                        content_type="multipart/form-data")
    assert response.status_code == 201, response.get_json()
    body = CountingBody(app.config["MAX_CONTENT_LENGTH"] + 1)
    response = sec.post(f"/meetings/{meeting['id']}/agenda/{item['id']}/documents", input_stream=body,
                        content_length=body.size, content_type="multipart/form-data; boundary=x")
    error = assert_error(response, 413, "too_large")
    assert error["message"] == "Tệp quá lớn."
    assert body.read_bytes == 0


@pytest.mark.parametrize(("who", "status", "code"), [("member_a", 403, "secretariat_only"),
                                                     ("outsider", 404, "not_found")])
def test_an_upload_by_someone_who_may_not_upload_is_refused_before_it_is_read(
        app: Any, api: Any, cast: Any, who: str, status: int, code: str) -> None:
    """Authorisation, not only the login, is decided from the URL before a byte of the file is read."""
    sec = api(cast.secretary)
    meeting = create_meeting(sec, cast)
    item = sec.post(f"/meetings/{meeting['id']}/agenda", json={"title": "Tờ trình"}).get_json()
    sec.post(f"/meetings/{meeting['id']}/participants", json={"user_id": cast.member_a.id, "role": "member"})
    sec.post(f"/meetings/{meeting['id']}/publish")
    body = CountingBody(50 * MB)
    response = api(getattr(cast, who)).post(f"/meetings/{meeting['id']}/agenda/{item['id']}/documents",
                                            input_stream=body, content_length=body.size,
                                            content_type="multipart/form-data; boundary=x")
    assert_error(response, status, code)
    assert body.read_bytes == 0


def test_a_file_sent_where_no_file_is_taken_has_the_small_limit(app: Any, api: Any, cast: Any) -> None:
    body = CountingBody(app.config["MAX_JSON_BYTES"] + 1)
    response = api(cast.secretary).post("/meetings", input_stream=body, content_length=body.size,
                                        content_type="multipart/form-data; boundary=x")
    assert_error(response, 413, "request_too_large")
    assert body.read_bytes == 0


# --- against a real server ------------------------------------------------------------------------

def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def raw_request(url: str, head: str, body_sent: int, *, timeout: float = 10) -> tuple[str, socket.socket]:
    """Send a request line and headers, then ``body_sent`` bytes of its body, and read the answer's head."""
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=timeout)
    sock.sendall(head.encode())
    if body_sent:
        sock.sendall(b" " * body_sent)
    answer = b""
    while b"\r\n\r\n" not in answer:
        chunk = sock.recv(65536)
        if not chunk:
            break
        answer += chunk
    return answer.decode("latin-1"), sock


@pytest.fixture
def server(app: Any, cast: Any, database_url: str, tmp_path: Any) -> Iterator[tuple[ServerProcess, str]]:
    token = issue_token(cast.secretary)
    os.environ["ECABINET_MAX_UPLOAD_MB"] = "40"
    try:
        process = ServerProcess(tmp_path, database_url).start()
    finally:
        del os.environ["ECABINET_MAX_UPLOAD_MB"]
    try:
        yield process, token
    finally:
        process.stop(signal.SIGKILL)


@pytest.mark.slow
def test_an_anonymous_90_mb_body_is_answered_before_it_is_sent(server: Any) -> None:
    process, _ = server
    head = ("POST /api/v1/meetings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {90 * MB}\r\n\r\n")
    started = time.monotonic()
    answer, sock = raw_request(process.url, head, body_sent=64 * 1024)
    sock.close()
    assert answer.startswith("HTTP/1.1 401"), answer
    assert time.monotonic() - started < 5


@pytest.mark.slow
def test_a_body_past_what_the_server_drains_closes_the_connection(server: Any) -> None:
    """After refusing, the server reads at most ECABINET_MAX_UPLOAD_MB (+1 MB) of the rest, then hangs up."""
    process, _ = server
    head = ("POST /api/v1/meetings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {10 * 1024 * MB}\r\n\r\n")
    answer, sock = raw_request(process.url, head, body_sent=0)
    assert answer.startswith("HTTP/1.1 401"), answer
    sent, closed = 0, False
    chunk = b" " * MB
    try:
        while sent < 200 * MB:
            sock.sendall(chunk)
            sent += MB
    except OSError:  # broken pipe or reset: the server hung up
        closed = True
    sock.close()
    assert closed
    assert sent <= 45 * MB + 16 * MB  # the drain limit plus what the kernel buffers held


@pytest.mark.slow
def test_a_slow_anonymous_upload_stalls_nobody(server: Any, cast: Any) -> None:
    process, token = server
    head = ("POST /api/v1/meetings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {90 * MB}\r\n\r\n")
    answer, slow = raw_request(process.url, head, body_sent=0)
    assert answer.startswith("HTTP/1.1 401")
    stop = threading.Event()

    def trickle() -> None:
        while not stop.is_set():
            try:
                slow.sendall(b" " * 1024)
            except OSError:
                return
            time.sleep(0.01)

    sender = threading.Thread(target=trickle)
    sender.start()
    try:
        for _ in range(10):
            started = time.monotonic()
            response = requests.get(f"{process.url}/api/v1/me", headers={"Authorization": f"Bearer {token}"},
                                    timeout=10)
            assert response.status_code == 200
            assert time.monotonic() - started < 1.0
    finally:
        stop.set()
        sender.join()
        slow.close()


def big_pdf(size: int) -> bytes:
    """A valid one-page PDF of about ``size`` bytes: an uncompressible image on its page."""
    writer = PdfWriter()
    page = writer.add_blank_page(595, 842)
    side = int((size / 3) ** 0.5)
    image = DecodedStreamObject()
    image.set_data(os.urandom(side * side * 3))
    image.update({NameObject("/Type"): NameObject("/XObject"), NameObject("/Subtype"): NameObject("/Image"),
                  NameObject("/Width"): NumberObject(side), NameObject("/Height"): NumberObject(side),
                  NameObject("/ColorSpace"): NameObject("/DeviceRGB"),
                  NameObject("/BitsPerComponent"): NumberObject(8)})
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/XObject"): DictionaryObject({NameObject("/Im0"): writer._add_object(image)})})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.mark.slow
def test_the_servers_memory_comes_back_after_large_requests(server: Any, app: Any, cast: Any) -> None:
    """Anonymous 90 MB bodies, a logged-in caller's 90 MB JSON and 30 MB dossier uploads, three of each:
    the process ends within 40 MB of where it started (a parsed 90 MB JSON alone kept ~450 MB)."""
    process, token = server
    auth = {"Authorization": f"Bearer {token}"}
    http = requests.Session()
    meeting = http.post(f"{process.url}/api/v1/meetings", headers=auth, timeout=30, json={
        "title": "Phiên họp", "kind": "regular", "starts_at": "2026-12-03T08:30:00+07:00",
        "chair_id": cast.chair.id}).json()
    item = http.post(f"{process.url}/api/v1/meetings/{meeting['id']}/agenda", headers=auth, timeout=30,
                     json={"title": "Tờ trình"}).json()
    dossier = big_pdf(30 * MB)
    upload_url = f"{process.url}/api/v1/meetings/{meeting['id']}/agenda/{item['id']}/documents"

    def upload(n: int) -> None:
        response = http.post(upload_url, headers=auth, timeout=120, files={"file": (f"hs-{n}.pdf", dossier)},
                             data={"title": f"Hồ sơ {n}"})
        assert response.status_code == 201, response.text[:300]

    upload(0)  # the first upload loads what every later one shares (the PDF tools, the storage)
    baseline = rss_mb(process.process.pid)
    big_json = b'{"title": "' + b"x" * (90 * MB) + b'"}'
    for n in range(1, 4):
        response = requests.post(f"{process.url}/api/v1/meetings", data=big_json, timeout=60,
                                 headers={"Content-Type": "application/json", "Connection": "close"})
        assert response.status_code == 401
        response = requests.post(f"{process.url}/api/v1/meetings", data=big_json, timeout=60,
                                 headers={**auth, "Content-Type": "application/json", "Connection": "close"})
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "request_too_large"
        upload(n)
    time.sleep(1)
    after = rss_mb(process.process.pid)
    print(f"serve RSS: {baseline:.0f} MB after the first upload, {after:.0f} MB after nine large requests")
    assert after - baseline < 40, (baseline, after)
