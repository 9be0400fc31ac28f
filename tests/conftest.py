"""Shared fixtures: an app on a real database (SQLite by default, PostgreSQL with
ECABINET_TEST_DATABASE_URL), bearer-token API clients and a named cast of users."""

from __future__ import annotations

import atexit
import os
import re
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from config import TestingConfig
from ecabinet import create_app
from ecabinet.auth.models import AuthSession, Confidentiality, Role, SessionKind, User
from ecabinet.auth.passwords import hash_password
from ecabinet.auth.service import token_hash
from ecabinet.database import db, utcnow

TEST_PASSWORD = "correct-horse-battery"


def _softhsm_config() -> None:
    """SoftHSM reads SOFTHSM2_CONF once per process, when the module is first loaded: give the whole
    run one token directory, whichever test loads it first."""
    if os.environ.get("SOFTHSM2_CONF"):
        return
    directory = Path(tempfile.mkdtemp(prefix="ecabinet-softhsm-"))
    (directory / "tokens").mkdir()
    conf = directory / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {directory / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    atexit.register(shutil.rmtree, directory, ignore_errors=True)


_softhsm_config()
_PASSWORD_HASH = hash_password(TEST_PASSWORD)
PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def in_ci() -> bool:
    return bool(os.environ.get("CI"))


def require_service(available: bool, what: str) -> None:
    """Fail in CI when a service the test needs is missing; skip (and say so) elsewhere."""
    if available:
        return
    if in_ci():
        pytest.fail(f"{what} is required in CI but not reachable")
    pytest.skip(f"{what} not reachable (skipped outside CI only)")


REDIS_QUEUE = "redis://127.0.0.1:6379/0"


@pytest.fixture
def redis_queue() -> str:
    """The local Redis as a message queue URL (required in CI)."""
    import redis

    try:
        with redis.Redis.from_url(REDIS_QUEUE, socket_connect_timeout=1) as client:
            client.ping()
        reachable = True
    except redis.ConnectionError:
        reachable = False
    require_service(reachable, "Redis on 127.0.0.1:6379")
    return REDIS_QUEUE


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """SQLite unless ECABINET_TEST_DATABASE_URL asks for PostgreSQL: then a database made for the run."""
    wanted = os.environ.get("ECABINET_TEST_DATABASE_URL")
    if not wanted:
        yield "sqlite"
        return
    name = f"ecabinet_test_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(wanted, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(wanted).set(database=name).render_as_string(hide_password=False)
    yield url
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def migrated_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Run the migrations once; each test copies the resulting SQLite file."""
    directory = tmp_path_factory.mktemp("template")
    app = create_app(TestingConfig(directory), async_mode="threading")
    with app.app_context():
        _upgrade(app)
        db.engine.dispose()
    return directory / "ecabinet.sqlite"


def _upgrade(app: Any) -> None:
    from flask_migrate import upgrade

    upgrade(directory=app.extensions["migrate"].directory, revision="heads")


_pg_migrated: set[str] = set()


@pytest.fixture
def app(tmp_path: Path, database_url: str, request: pytest.FixtureRequest) -> Iterator[Any]:
    if database_url == "sqlite":
        template = request.getfixturevalue("migrated_sqlite_template")
        shutil.copy(template, tmp_path / "ecabinet.sqlite")
        application = create_app(TestingConfig(tmp_path), async_mode="threading")
    else:
        application = create_app(TestingConfig(tmp_path, database_url), async_mode="threading")
        with application.app_context():
            if database_url not in _pg_migrated:
                _upgrade(application)
                _pg_migrated.add(database_url)
            _truncate_all()
    with application.app_context():
        yield application
        db.session.remove()
        db.engine.dispose()


def _truncate_all() -> None:
    tables = ", ".join(f'"{table.name}"' for table in db.metadata.sorted_tables)
    db.session.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    db.session.commit()


@pytest.fixture
def client(app: Any) -> FlaskClient:
    return app.test_client()


def make_user(username: str, *, roles: list[Role], full_name: str | None = None, title: str = "",
              clearance: Confidentiality = Confidentiality.SECRET, organisation: str = "") -> User:
    """A test user inserted directly (a known password hash, so tests stay fast)."""
    user = User(username=username, full_name=full_name or username.replace("_", " ").title(), title=title,
                organisation=organisation, password_hash=_PASSWORD_HASH, roles=[str(r) for r in roles],
                clearance=clearance)
    db.session.add(user)
    db.session.commit()
    return user


class Cast:
    """The named users of a scenario."""

    def __init__(self) -> None:
        self.chair = make_user("chair", roles=[Role.CHAIR, Role.MEMBER], full_name="Phạm Minh Quang",
                               title="Thủ tướng Chính phủ")
        self.secretary = make_user("secretary", roles=[Role.SECRETARY], full_name="Nguyễn Thị Thanh Hằng",
                                   title="Chuyên viên Văn phòng Chính phủ")
        self.member_a = make_user("member_a", roles=[Role.MEMBER], full_name="Trần Đức Long",
                                  title="Bộ trưởng Bộ Tài chính")
        self.member_b = make_user("member_b", roles=[Role.MEMBER], full_name="Lê Thị Hồng",
                                  title="Bộ trưởng Bộ Y tế", clearance=Confidentiality.NORMAL)
        self.delegate = make_user("delegate", roles=[Role.MEMBER], full_name="Đỗ Văn Bình",
                                  title="Thứ trưởng Bộ Tài chính")
        self.guest = make_user("guest", roles=[Role.GUEST], full_name="Hoàng Anh Tú", title="Chủ tịch VCCI",
                               clearance=Confidentiality.NORMAL)
        self.admin = make_user("admin", roles=[Role.ADMIN], full_name="Trương Minh Đức",
                               clearance=Confidentiality.NORMAL)
        self.outsider = make_user("outsider", roles=[Role.MEMBER], full_name="Người Ngoài")


@pytest.fixture
def cast(app: Any) -> Cast:
    return Cast()


def issue_token(user: User) -> str:
    """A bearer token for ``user`` without going through the rate-limited login route."""
    token = f"test-{uuid.uuid4().hex}"
    now = utcnow()
    from datetime import timedelta

    db.session.add(AuthSession(user_id=user.id, kind=SessionKind.API, token_hash=token_hash(token),
                               created_at=now, expires_at=now + timedelta(hours=1), last_seen_at=now))
    db.session.commit()
    return token


class ApiClient:
    """A tablet's view of the API: bearer token, JSON, Vietnamese unless told otherwise."""

    def __init__(self, client: FlaskClient, token: str) -> None:
        self.client = client
        self.token = token

    def _headers(self, headers: dict[str, str] | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", **(headers or {})}

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.client.get(f"/api/v1{path}", headers=self._headers(kwargs.pop("headers", None)), **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        return self.client.post(f"/api/v1{path}", json=json, headers=self._headers(kwargs.pop("headers", None)),
                                **kwargs)

    def put(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        return self.client.put(f"/api/v1{path}", json=json, headers=self._headers(kwargs.pop("headers", None)),
                               **kwargs)

    def patch(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        return self.client.patch(f"/api/v1{path}", json=json, headers=self._headers(kwargs.pop("headers", None)),
                                 **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.client.delete(f"/api/v1{path}", headers=self._headers(kwargs.pop("headers", None)), **kwargs)


@pytest.fixture
def api(app: Any) -> Any:
    """``api(user)`` → an ApiClient acting as that user."""

    def make(user: User) -> ApiClient:
        return ApiClient(app.test_client(), issue_token(user))

    return make


def audit_actions() -> list[str]:
    from ecabinet.audit import AuditRecord

    return list(db.session.scalars(sa.select(AuditRecord.action).order_by(AuditRecord.id)))


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    """The contract's error shape, with a non-empty translated message."""
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    body = response.get_json()
    assert body["error"]["code"] == code, body
    assert body["error"]["message"]
    return body["error"]


def _poppler(name: str) -> str:
    path = shutil.which(name)
    require_service(path is not None, f"{name} (apt-get install poppler-utils)")
    return str(path)


@pytest.fixture(scope="session")
def pdfsig(tmp_path_factory: pytest.TempPathFactory) -> Callable[[bytes], list[str]]:
    """Poppler's pdfsig, an implementation that is not ours: each signature's "Signature Validation"."""
    executable = _poppler("pdfsig")
    directory = tmp_path_factory.mktemp("pdfsig")

    def run(data: bytes) -> list[str]:
        path = directory / "doc.pdf"
        path.write_bytes(data)
        result = subprocess.run([executable, str(path)], capture_output=True, text=True, check=False)
        return re.findall(r"Signature Validation: (.+)", result.stdout)

    return run


@pytest.fixture(scope="session")
def pdftotext(tmp_path_factory: pytest.TempPathFactory) -> Callable[[bytes], str]:
    """The text poppler extracts from a PDF (UTF-8)."""
    executable = _poppler("pdftotext")
    directory = tmp_path_factory.mktemp("pdftotext")

    def run(data: bytes) -> str:
        path = directory / "doc.pdf"
        path.write_bytes(data)
        result = subprocess.run([executable, "-enc", "UTF-8", str(path), "-"],
                                capture_output=True, text=True, check=True)
        return result.stdout

    return run
