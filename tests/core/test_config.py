"""Configuration: production refuses unsafe defaults; SQLite connections are durable."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from config import Config, ConfigError
from ecabinet.database import db


def test_production_refuses_a_generated_secret_key(monkeypatch, tmp_path):
    monkeypatch.setenv("ECABINET_ENV", "production")
    monkeypatch.setenv("ECABINET_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("ECABINET_SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="ECABINET_SECRET_KEY"):
        Config().validate()


def test_production_refuses_debug(monkeypatch, tmp_path):
    monkeypatch.setenv("ECABINET_ENV", "production")
    monkeypatch.setenv("ECABINET_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ECABINET_SECRET_KEY", "x" * 40)
    monkeypatch.setenv("ECABINET_DEBUG", "1")
    with pytest.raises(ConfigError, match="DEBUG"):
        Config().validate()


def test_production_with_safe_settings_uses_secure_cookies(monkeypatch, tmp_path):
    monkeypatch.setenv("ECABINET_ENV", "production")
    monkeypatch.setenv("ECABINET_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ECABINET_SECRET_KEY", "x" * 40)
    monkeypatch.delenv("ECABINET_DEBUG", raising=False)
    config = Config()
    config.validate()
    assert config.SESSION_COOKIE_SECURE and config.SESSION_COOKIE_NAME.startswith("__Host-")
    assert "*" not in config.ALLOWED_ORIGINS


def test_generated_secret_key_is_kept_in_the_data_dir(monkeypatch, tmp_path):
    monkeypatch.delenv("ECABINET_ENV", raising=False)
    monkeypatch.delenv("ECABINET_SECRET_KEY", raising=False)
    monkeypatch.setenv("ECABINET_DATA_DIR", str(tmp_path))
    assert Config().SECRET_KEY == Config().SECRET_KEY
    assert oct((tmp_path / "secret_key").stat().st_mode)[-3:] == "600"


def test_database_connections_are_durable(app):
    with db.engine.connect() as conn:
        if db.engine.dialect.name == "postgresql":
            assert conn.exec_driver_sql("SHOW fsync").scalar() == "on"
            assert conn.exec_driver_sql("SHOW synchronous_commit").scalar() == "on"
            return
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000


def test_migrations_match_the_models(app):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
    assert diff == [], diff


def test_init_is_idempotent(app):
    runner = app.test_cli_runner()
    for _ in range(2):
        result = runner.invoke(args=["ecabinet", "init"])
        assert result.exit_code == 0, result.output
    assert db.session.execute(sa.text("SELECT 1")).scalar() == 1


def test_each_deployment_can_have_its_own_redis_channel(monkeypatch, tmp_path):
    from ecabinet import create_app
    from ecabinet.extensions import socketio

    monkeypatch.setenv("ECABINET_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ECABINET_MESSAGE_QUEUE", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("ECABINET_MESSAGE_QUEUE_CHANNEL", "ecabinet-tinh-bac-ninh")
    create_app(Config(), async_mode="threading")
    assert socketio.server.manager.channel == "ecabinet-tinh-bac-ninh"
