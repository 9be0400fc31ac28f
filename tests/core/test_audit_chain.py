"""The audit chain: every change appends one linked record; verify names the first bad one."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from ecabinet.audit import AuditRecord, verify
from ecabinet.auth.models import Role
from ecabinet.auth.service import create_user
from ecabinet.database import db


def _make_records(count: int) -> None:
    for index in range(count):
        create_user(username=f"user{index}", full_name=f"Người dùng {index}", password="long-enough-pass",
                    roles=[Role.MEMBER], actor=None)


def _verify_cli(app):
    return app.test_cli_runner().invoke(args=["ecabinet", "audit", "verify"])


def test_intact_chain_verifies(app):
    _make_records(3)
    assert verify() is None
    result = _verify_cli(app)
    assert result.exit_code == 0, result.output
    assert "3 records" in result.output


def test_edited_record_is_named(app):
    _make_records(3)
    db.session.execute(sa.update(AuditRecord).where(AuditRecord.id == 2).values(data='{"username":"forged"}'))
    db.session.commit()
    result = _verify_cli(app)
    assert result.exit_code == 1
    assert "#2" in result.output and "edited" in result.output


def test_removed_record_is_detected(app):
    _make_records(3)
    db.session.execute(sa.delete(AuditRecord).where(AuditRecord.id == 2))
    db.session.commit()
    problem = verify()
    assert problem is not None and problem.record_id == 3


def test_reordered_records_are_detected(app):
    _make_records(3)
    first, second = db.session.scalars(sa.select(AuditRecord).where(AuditRecord.id.in_([1, 2]))).all()
    first_action, second_action = first.action, second.action
    first_data, second_data = first.data, second.data
    first.data, second.data = second_data, first_data
    first.action, second.action = second_action, first_action
    db.session.commit()
    assert verify() is not None


def test_rolled_back_change_leaves_no_record(app):
    import pytest

    from ecabinet.errors import Conflict

    _make_records(1)
    with pytest.raises(Conflict):
        create_user(username="user0", full_name="Trùng", password="long-enough-pass", roles=[Role.MEMBER], actor=None)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditRecord)) == 1


def test_cli_users_create_reads_password_from_stdin(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["ecabinet", "users", "create", "--username", "bt.yte", "--full-name",
                                 "Đào Hồng Nhung", "--title", "Bộ trưởng Bộ Y tế", "--role", "member",
                                 "--password-stdin"], input="mat-khau-rat-dai-2026\n")
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["ecabinet", "users", "create", "--username", "ngan", "--full-name", "Ngắn",
                                 "--role", "member", "--password-stdin"], input="short\n")
    assert result.exit_code != 0 and "password_too_short" in result.output
    assert _verify_cli(app).exit_code == 0


@pytest.mark.parametrize("append", ["record_many", "append_many"])
def test_record_many_appends_in_order_each_linked_to_the_one_before(app, append):
    from ecabinet import audit
    from ecabinet.database import write_transaction

    _make_records(1)
    entries = [audit.Entry(action="document.read", actor_id=None, actor_label=f"reader{n}", object_type="documents",
                           object_id="7", data={"version": 1, "pin": "1234"}, ip="10.0.0.1") for n in range(3)]
    with pytest.raises(RuntimeError):
        getattr(audit, append)(entries)
    with write_transaction():
        written = getattr(audit, append)(entries)
    rows = db.session.scalars(sa.select(AuditRecord).order_by(AuditRecord.id)).all()
    assert [r.actor_label for r in rows[1:]] == ["reader0", "reader1", "reader2"]
    assert [r.id for r in written or rows[1:]] == [2, 3, 4]
    assert [r.prev_hash for r in rows[1:]] == [r.hash for r in rows[:-1]]
    assert all('"pin":"[redacted]"' in r.data for r in rows[1:])
    assert verify() is None
