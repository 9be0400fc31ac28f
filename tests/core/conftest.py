"""Fixtures of the core's tests that several files share."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa


@pytest.fixture
def restore_target(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str | None]]:
    """A fresh data directory (outside the live one) and, on PostgreSQL, a fresh empty database."""
    data_dir = tmp_path_factory.mktemp("restored") / "data"
    if database_url == "sqlite":
        yield data_dir, None
        return
    name = f"ecabinet_restore_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield data_dir, sa.engine.make_url(database_url).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
