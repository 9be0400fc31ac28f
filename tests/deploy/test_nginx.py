"""The production shape end to end: two `serve` processes with ECABINET_ENV=production on one
PostgreSQL database, one Redis queue and one data directory, behind nginx configured from
deploy/nginx/ecabinet.conf.template by deploy/render_nginx.py (what docs/DEPLOY.md installs),
over TLS with a throwaway certificate authority. Clients are real python-socketio tablets."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis
import requests
import socketio
import sqlalchemy as sa
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from requests.adapters import HTTPAdapter

import config
from ecabinet import create_app
from ecabinet.audit import AuditRecord
from ecabinet.auth.models import AuthSession, User
from ecabinet.database import db
from tests.conftest import PG_ADMIN_URL, TEST_PASSWORD, Cast, require_service
from tests.documents import corpus
from tests.live.harness import ROOT, ServerProcess, Tablet, free_port
from tests.live.scenario import published_meeting

pytestmark = pytest.mark.slow

REDIS_URL = "redis://127.0.0.1:6379/0"
DEPLOY = ROOT / "deploy"
# per request: the Socket.IO routing key and the process(es) that answered, for the assertions
ROUTES_LOG_FORMAT = "$ecabinet_node|$upstream_addr|$status|$request_method|$request_uri"

MAIN_CONF = """\
daemon off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log info;
{user}
events {{ worker_connections 1024; }}
http {{
    log_format routes '{log_format}';
    access_log {dir}/access.log routes;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    include {dir}/ecabinet.conf;
}}
"""


def _reachable(check: Callable[[], object]) -> bool:
    try:
        check()
    except Exception:
        return False
    return True


def _nginx_binary() -> str:
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")  # not on users' PATH
    require_service(found is not None, "nginx (apt-get install nginx-light)")
    return str(found)


def _valid_for_a_day(builder: x509.CertificateBuilder) -> x509.CertificateBuilder:
    now = dt.datetime.now(dt.UTC)
    return (builder.serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1)))


def _certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for 127.0.0.1: (CA, chain, key) PEM files."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "e-Cabinet deployment test CA")])
    ca_usage = x509.KeyUsage(digital_signature=False, content_commitment=False,
                             key_encipherment=False, data_encipherment=False, key_agreement=False,
                             key_cert_sign=True, crl_sign=True, encipher_only=False,
                             decipher_only=False)
    ca = (_valid_for_a_day(x509.CertificateBuilder()).subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key())
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(ca_usage, critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                         critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    loopback = x509.IPAddress(ipaddress.ip_address("127.0.0.1"))
    server = (_valid_for_a_day(x509.CertificateBuilder())
              .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
              .issuer_name(ca_name).public_key(key.public_key())
              .add_extension(x509.SubjectAlternativeName([loopback]), critical=False)
              .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
              .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                             critical=False)
              .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                             critical=False)
              .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    paths = directory / "ca.pem", directory / "fullchain.pem", directory / "privkey.pem"
    paths[0].write_bytes(ca.public_bytes(pem))
    paths[1].write_bytes(server.public_bytes(pem) + ca.public_bytes(pem))
    paths[2].write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return paths


class SourceAddress(HTTPAdapter):
    """Connect from another loopback address, so the client's address differs from nginx's."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, source_address=(self.address, 0), **kwargs)


def random_loopback() -> str:
    """A loopback address other than 127.0.0.1 (Linux answers all of 127/8 on lo); it also keeps
    repeated runs clear of the per-address login limit that Redis remembers."""
    octets = (random.randint(1, 254), random.randint(0, 255), random.randint(1, 254))
    return "127.{}.{}.{}".format(*octets)


class ProxiedTablet(Tablet):
    """A tablet that connects as a browser does: a long-polling handshake, then the WebSocket
    upgrade, both through nginx, which routes them by the ecabinet_node cookie it hands out."""

    routing_keys: set[str]

    def connect(self) -> ProxiedTablet:
        self.routing_keys = set()
        self.client.connect(self.url, auth=self.auth, wait_timeout=10)
        self._remember_routing_key()
        assert self.joined.wait(10), "join was not acknowledged"
        return self

    def _connect(self) -> None:
        super()._connect()
        self._remember_routing_key()

    def _remember_routing_key(self) -> None:
        """Keep every key nginx handed this tablet: the client forgets its cookie jar when the
        transport drops, and a tablet that reconnected was routed by a new key."""
        http = self.client.eio.http
        if http is not None and "ecabinet_node" in http.cookies:
            self.routing_keys.add(http.cookies["ecabinet_node"])


@dataclass
class Deployment:
    public_url: str
    http_url: str
    ca: Path
    backends: list[ServerProcess]
    env: dict[str, str]
    access_log: Path
    app: Any
    cast: Cast
    tablets: list[ProxiedTablet] = field(default_factory=list)

    @staticmethod
    def address(backend: ServerProcess) -> str:
        return f"127.0.0.1:{backend.port}"

    def https(self, source: str | None = None) -> requests.Session:
        session = requests.Session()
        session.verify = str(self.ca)
        session.headers["Connection"] = "close"
        session.mount("https://", SourceAddress(source or random_loopback()))
        return session

    def login(self, username: str, *, source: str | None = None,
              headers: dict[str, str] | None = None) -> str:
        with self.https(source) as session:
            response = session.post(f"{self.public_url}/api/v1/auth/token", headers=headers,
                                    json={"username": username, "password": TEST_PASSWORD},
                                    timeout=30)
        assert response.status_code == 200, response.text
        return response.json()["token"]

    def post(self, token: str, path: str) -> requests.Response:
        with self.https() as session:
            return session.post(f"{self.public_url}/api/v1{path}", timeout=30,
                                headers={"Authorization": f"Bearer {token}"})

    def routes(self) -> list[tuple[str, str, str, str, str]]:
        """(routing key, answering process, status, method, URI) of each request nginx finished."""
        rows = []
        for line in self.access_log.read_text().splitlines():
            key, upstreams, status, method, uri = line.split("|", 4)
            rows.append((key, upstreams.split(", ")[-1], status, method, uri))
        return rows

    def placement(self, tablet: ProxiedTablet) -> set[str]:
        """The processes that answered this tablet's Socket.IO requests."""
        deadline = time.monotonic() + 2  # nginx logs a request just after answering it
        while True:
            answered = {upstream for key, upstream, status, _, uri in self.routes()
                        if key in tablet.routing_keys and uri.startswith("/socket.io/")
                        and status == "200"}
            if answered or time.monotonic() > deadline:
                return answered
            time.sleep(0.05)

    def tablet(self, token: str, meeting_id: int) -> ProxiedTablet:
        tablet = ProxiedTablet(self.public_url, token, meeting_id)
        self.tablets.append(tablet)
        return tablet.connect()

    def new_meeting(self) -> tuple[int, list[int]]:
        with self.app.app_context():
            db.session.add_all(vars(self.cast).values())  # the cast outlived its first session
            scenario = published_meeting(self.cast)
            return scenario.meeting.id, [item.id for item in scenario.items]


@pytest.fixture(scope="module")
def production_database() -> Iterator[str]:
    """A PostgreSQL database for this module: production runs on PostgreSQL whatever the suite
    runs on (the server of ECABINET_TEST_DATABASE_URL when given)."""
    admin_url = os.environ.get("ECABINET_TEST_DATABASE_URL") or PG_ADMIN_URL
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT",
                             connect_args={"connect_timeout": 3})
    require_service(_reachable(lambda: admin.connect().close()), f"PostgreSQL at {admin.url.host}")
    name = f"ecabinet_deploy_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield admin.url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _start_nginx(nginx: str, directory: Path, rendered: str, port: int) -> subprocess.Popen[bytes]:
    """nginx in the foreground with its own prefix, pid, logs and temp dirs: nothing in /etc."""
    (directory / "ecabinet.conf").write_text(rendered)
    # as root nginx would run its worker as nobody, who cannot enter pytest's private temp dirs
    user = "user root;" if os.geteuid() == 0 else ""
    (directory / "nginx.conf").write_text(
        MAIN_CONF.format(dir=directory, log_format=ROUTES_LOG_FORMAT, user=user))
    command = [nginx, "-p", str(directory), "-c", str(directory / "nginx.conf"),
               "-e", str(directory / "error.log")]
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr
    with (directory / "nginx.out").open("wb") as out:
        proxy = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10
    while not _reachable(lambda: socket.create_connection(("127.0.0.1", port), timeout=1).close()):
        assert proxy.poll() is None, (directory / "error.log").read_text()
        assert time.monotonic() < deadline, "nginx did not listen"
        time.sleep(0.05)
    return proxy


@pytest.fixture(scope="module")
def deployment(production_database: str,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    nginx = _nginx_binary()
    def ping_redis() -> None:
        with redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1) as client:
            client.ping()

    require_service(_reachable(ping_redis), f"Redis at {REDIS_URL}")
    data_dir = tmp_path_factory.mktemp("shared-data")
    proxy_dir = tmp_path_factory.mktemp("nginx")
    ca, chain, private_key = _certificates(proxy_dir)
    https_port, http_port = free_port(), free_port()
    public_url = f"https://127.0.0.1:{https_port}"
    # the second factor and four eyes have their own tests; here the secretariat acts alone
    env = {"ECABINET_ENV": "production", "ECABINET_MFA_REQUIRED_ROLES": "", "ECABINET_FOUR_EYES": "",
           "ECABINET_SECRET_KEY": secrets.token_urlsafe(48),
           "ECABINET_DATABASE_URL": production_database, "ECABINET_MESSAGE_QUEUE": REDIS_URL,
           "ECABINET_DATA_DIR": str(data_dir), "ECABINET_PUBLIC_URL": public_url,
           "ECABINET_ALLOWED_ORIGINS": public_url, "ECABINET_PROXY_COUNT": "1"}

    # docs/DEPLOY.md, "Processes": init once, then one serve per core
    init = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "ecabinet", "init"], cwd=ROOT,
        env={**os.environ, **env}, capture_output=True, text=True, timeout=300, check=False)
    assert init.returncode == 0, init.stderr[-3000:]
    backends = [ServerProcess(data_dir, production_database, message_queue=REDIS_URL,
                              origins=[public_url]) for _ in range(2)]
    for backend in backends:  # one at a time: two imports at once can outlast the start timeout
        backend.env.update(env)
        backend.start()

    # docs/DEPLOY.md, "nginx": render the template with this deployment's values
    values = {"ECABINET_BACKENDS": " ".join(map(Deployment.address, backends)),
              "ECABINET_SERVER_NAME": "127.0.0.1", "ECABINET_PUBLIC_URL": public_url,
              "ECABINET_HTTPS_LISTEN": f"127.0.0.1:{https_port}",
              "ECABINET_HTTP_LISTEN": f"127.0.0.1:{http_port}",
              "ECABINET_TLS_CERT": str(chain), "ECABINET_TLS_KEY": str(private_key)}
    rendered = subprocess.run([sys.executable, str(DEPLOY / "render_nginx.py")],
                              env={**os.environ, **values}, capture_output=True, text=True,
                              check=True)
    proxy = _start_nginx(nginx, proxy_dir, rendered.stdout, https_port)

    app = create_app(config.TestingConfig(tmp_path_factory.mktemp("test-app"), production_database),
                     async_mode="threading")
    with app.app_context():
        cast = Cast()
        # Redis pub/sub ignores the database number and every e-Cabinet publishes on "ecabinet":
        # keep this run's meeting rooms clear of other runs' meetings 1, 2, ...
        db.session.execute(sa.text("SELECT setval(pg_get_serial_sequence('meetings', 'id'), :n)"),
                           {"n": random.randint(10**6, 10**9)})
        db.session.commit()
    with pytest.MonkeyPatch.context() as patch:
        # python-socketio's polling (requests) and WebSocket (websocket-client) trust the test CA
        patch.setenv("REQUESTS_CA_BUNDLE", str(ca))
        patch.setenv("WEBSOCKET_CLIENT_CA_BUNDLE", str(ca))
        yield Deployment(public_url, f"http://127.0.0.1:{http_port}", ca, backends, env,
                         proxy_dir / "access.log", app, cast)
    proxy.terminate()
    proxy.wait(10)
    for backend in backends:
        backend.stop(signal.SIGKILL)
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def live(deployment: Deployment) -> Iterator[Deployment]:
    """The deployment with both processes up; this test's tablets are closed afterwards."""
    for backend in deployment.backends:
        if backend.process is None or backend.process.poll() is not None:
            backend.start()
    yield deployment
    for tablet in deployment.tablets:
        tablet.close()
    deployment.tablets.clear()


def test_the_documented_environment_is_the_one_under_test(live):
    lines = (DEPLOY / "ecabinet.env.example").read_text().splitlines()
    example = [line.split("=", 1) for line in lines if line.strip() and not line.startswith("#")]
    required = {name for name, value in example if value}
    assert required <= set(live.env), required - set(live.env)
    for backend in live.backends:
        assert {name: backend.env[name] for name in live.env} == live.env


def test_plain_http_is_redirected_and_https_answers_are_hardened(live):
    with requests.Session() as plain:
        redirected = plain.get(f"{live.http_url}/login?next=/meetings", allow_redirects=False,
                               headers={"Connection": "close"}, timeout=10)
    assert redirected.status_code == 301
    assert redirected.headers["Location"] == f"{live.public_url}/login?next=/meetings"
    with live.https() as session:
        page = session.get(f"{live.public_url}/login", timeout=10)
    assert page.status_code == 200
    assert page.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    cookie = page.headers["Set-Cookie"]
    assert cookie.startswith("__Host-ecabinet=")
    attributes = {part.strip() for part in cookie.split(";")}
    assert {"Secure", "HttpOnly", "SameSite=Lax", "Path=/"} <= attributes


def test_audit_records_the_tablets_address_not_the_proxys(live):
    address = random_loopback()
    # a client cannot plant an address: only the entry nginx appends is trusted (proxy count 1)
    live.login("delegate", source=address, headers={"X-Forwarded-For": "203.0.113.7"})
    with live.app.app_context():
        user_id = db.session.scalar(sa.select(User.id).filter_by(username="delegate"))
        record = db.session.scalars(sa.select(AuditRecord)
                                    .filter_by(action="auth.login", actor_id=user_id)
                                    .order_by(AuditRecord.id.desc())).first()
        opened = db.session.scalars(sa.select(AuthSession).filter_by(user_id=user_id)
                                    .order_by(AuthSession.id.desc())).first()
        assert record is not None
        assert opened is not None
        assert (record.ip, opened.ip) == (address, address)


def test_a_foreign_origin_is_refused_through_the_proxy(live):
    token = live.login("member_a")

    def connect_from(origin: str, transport: str) -> socketio.Client:
        # websocket-client sends its own Origin unless told which one: one header, never two
        client = socketio.Client(reconnection=False, websocket_extra_options={"origin": origin})
        client.connect(live.public_url, auth={"token": token}, transports=[transport],
                       headers={"Origin": origin} if transport == "polling" else {},
                       wait_timeout=5)
        return client

    for transport in ("polling", "websocket"):
        with pytest.raises(socketio.exceptions.ConnectionError):
            connect_from("https://evil.example", transport)
        own = connect_from(live.public_url, transport)
        assert own.connected
        assert own.transport() == transport
        own.disconnect()


def test_a_dossier_stored_through_one_process_is_served_by_every_process(live):
    meeting_id, items = live.new_meeting()
    secretary, member = live.login("secretary"), live.login("member_a")
    with live.https() as session:
        uploaded = session.post(
            f"{live.public_url}/api/v1/meetings/{meeting_id}/agenda/{items[0]}/documents",
            headers={"Authorization": f"Bearer {secretary}"}, timeout=60,
            files={"file": ("to-trinh.pdf", corpus.valid_pdf(), "application/pdf")},
            data={"title": "Tờ trình Dự án Luật Đất đai", "doc_type": "Tờ trình"})
    assert uploaded.status_code == 201, uploaded.text
    path = f"/api/v1/documents/{uploaded.json()['id']}/content"
    headers = {"Authorization": f"Bearer {member}", "Connection": "close"}
    for backend in live.backends:  # each process directly: the file is only in the shared dir
        with requests.Session() as direct:
            served = direct.get(f"{backend.url}{path}", headers=headers, timeout=60)
        assert served.status_code == 200, served.text[:300]
        assert served.content.startswith(b"%PDF")


def test_tablets_on_both_processes_share_the_session_and_a_killed_process_loses_nothing(live):
    meeting_id, items = live.new_meeting()
    chair = live.login("chair")
    members = [live.login("member_a"), live.login("member_b")]
    on: dict[str, list[ProxiedTablet]] = {live.address(backend): [] for backend in live.backends}
    for attempt in range(24):  # routing keys are random: connect until each process holds two
        tablet = live.tablet(members[attempt % 2], meeting_id)
        placed = live.placement(tablet)
        assert len(placed) == 1, placed  # every request of one tablet reached one process
        # the upgrade reached the process that made the handshake, or it would have failed
        assert tablet.client.transport() == "websocket"
        on[placed.pop()].append(tablet)
        if all(len(tablets) >= 2 for tablets in on.values()):
            break
    assert all(len(tablets) >= 2 for tablets in on.values()), {a: len(t) for a, t in on.items()}
    tablets = [tablet for group in on.values() for tablet in group]
    seq = 0

    def command(path: str) -> None:
        nonlocal seq
        response = live.post(chair, f"/meetings/{meeting_id}{path}")
        assert response.status_code == 200, response.text
        seq += 1

    def activate(count: int) -> None:
        for step in range(count):
            command(f"/agenda/{items[step % 2]}/activate")

    def everyone_has_everything(group: list[ProxiedTablet]) -> None:
        for tablet in group:
            assert tablet.wait_for_seq(seq, timeout=30), (tablet.applied, tablet.received[-3:])
        time.sleep(0.3)
        for tablet in group:
            assert tablet.applied == list(range(1, seq + 1))
            assert tablet.duplicates == 0

    command("/session/start")
    activate(9)
    everyone_has_everything(tablets)
    served = {upstream for _, upstream, status, method, uri in live.routes()
              if method == "POST" and f"/meetings/{meeting_id}/" in uri and status == "200"}
    assert served == set(on)  # events published by either process reached tablets on both

    victim = live.backends[0]
    victims = on[live.address(victim)]
    joins_before = [len(tablet.acks) for tablet in victims]
    victim.stop(signal.SIGKILL)
    activate(5)  # nginx passes the chair's commands to the surviving process
    victim.start()
    activate(5)
    everyone_has_everything(tablets)
    # the victim's tablets did lose their process: each joined again
    assert all(len(t.acks) > before for t, before in zip(victims, joins_before, strict=True))

    # the restarted process serves again: a tablet placed on it replays the whole session
    deadline = time.monotonic() + 30
    refused = 0
    while True:
        try:
            late = live.tablet(members[0], meeting_id)
        except socketio.exceptions.ConnectionError:
            # nginx may still hold the returning process as failed for the handshake (passed to the other
            # process) and not for the next request (the returning one: "400 Session ID unknown"); a browser's
            # client reconnects, as docs/DEPLOY.md says, and so does this tablet
            refused += 1
            assert refused <= 3 and time.monotonic() < deadline, f"{refused} handshakes refused in a row"
            continue
        refused = 0
        if live.placement(late) == {live.address(victim)}:
            break
        assert time.monotonic() < deadline, "nginx never routed a tablet to the restarted process"
    activate(1)
    everyone_has_everything([*tablets, late])
