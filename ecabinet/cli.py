"""``flask --app wsgi ecabinet ...``: init, demo, users, serve, audit (domains add their own)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from flask_migrate import upgrade
from sqlalchemy import func, select

from ecabinet import audit, office
from ecabinet.audit import AuditRecord
from ecabinet.auth.mfa import remove_totp
from ecabinet.auth.models import Confidentiality, Role, User
from ecabinet.auth.service import create_user, reset_password, update_user
from ecabinet.backup import BackupError, create_backup, restore_backup, schema_status, verify_backup
from ecabinet.database import db, write_transaction
from ecabinet.demo import load_demo
from ecabinet.errors import AppError
from ecabinet.server import SERVE_COMMAND

cli = AppGroup("ecabinet", help="e-Cabinet operations.")
users = AppGroup("users", help="Accounts.")
audit_group = AppGroup("audit", help="The audit chain.")
cli.add_command(users)
cli.add_command(audit_group)

# Steps that domain packages add to `init` (e.g. the built-in certificate authority).
INIT_STEPS: list = []


@cli.command("init")
def init_command() -> None:
    """Create or upgrade the schema and the built-in certificate authority (safe to run twice)."""
    upgrade(directory=current_app.extensions["migrate"].directory, revision="heads")
    for step in INIT_STEPS:
        step()
    click.echo(f"Database ready: {_safe_url(current_app.config['SQLALCHEMY_DATABASE_URI'])}")
    click.echo(f"Data directory: {current_app.config['DATA_DIR']}")


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@users.command("create")
@click.option("--username", required=True)
@click.option("--full-name", required=True)
@click.option("--title", default="")
@click.option("--organisation", default="")
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice([r.value for r in Role]))
@click.option("--clearance", default="normal", type=click.Choice([c.value for c in Confidentiality]))
@click.option("--email", default="")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create_user_command(username: str, full_name: str, title: str, organisation: str, roles: tuple[str, ...],
                        clearance: str, email: str, password_stdin: bool) -> None:
    """Create an account; the password is read from stdin or prompted, never from the command line."""
    password = _read_password(password_stdin)
    try:
        user = create_user(username=username, full_name=full_name, password=password, title=title,
                           organisation=organisation, roles=[Role(r) for r in roles],
                           clearance=Confidentiality(clearance), email=email, actor=None)
    except AppError as error:
        raise click.ClickException(f"{error.code}: {error.message}") from error
    click.echo(f"Created user #{user.id} {user.username} ({', '.join(user.roles)})")


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


def _account(username: str) -> User:
    from sqlalchemy import select

    user = db.session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        raise click.ClickException(f"not_found: no user {username!r}")
    return user


@users.command("list")
def list_users_command() -> None:
    """One line per account: username, roles, clearance, active or not, second factor or not."""
    from sqlalchemy import select

    for user in db.session.scalars(select(User).order_by(User.username)):
        click.echo("\t".join([user.username, ",".join(user.roles), str(user.clearance),
                              "active" if user.active else "inactive", "mfa" if user.has_totp else "no-mfa"]))


@users.command("set")
@click.option("--username", required=True)
@click.option("--role", "roles", multiple=True, type=click.Choice([r.value for r in Role]),
              help="Given roles replace the old ones.")
@click.option("--clearance", type=click.Choice([c.value for c in Confidentiality]))
@click.option("--email")
@click.option("--active/--inactive", "active", default=None, help="A deactivated account is logged out at once.")
def set_user_command(username: str, roles: tuple[str, ...], clearance: str | None, email: str | None,
                     active: bool | None) -> None:
    """Change an account's roles, clearance, e-mail or activity."""
    user = _account(username)
    try:
        changes = update_user(user, actor=None, roles=[Role(r) for r in roles] if roles else None,
                              clearance=Confidentiality(clearance) if clearance else None, email=email,
                              active=active)
    except AppError as error:
        raise click.ClickException(f"{error.code}: {error.message}") from error
    if not changes:
        click.echo(f"{user.username}: nothing to change")
    for field, (old, new) in changes.items():
        click.echo(f"{user.username}: {field} {_shown(old)} -> {_shown(new)}")


def _shown(value: object) -> str:
    return ",".join(map(str, value)) if isinstance(value, list) else str(value)


@users.command("reset-password")
@click.option("--username", required=True)
@click.option("--password-stdin", is_flag=True, help="Read the temporary password from standard input.")
def reset_password_command(username: str, password_stdin: bool) -> None:
    """Set a temporary password: the member's logins end and they choose a new one at the next login."""
    user = _account(username)
    try:
        reset_password(user, _read_password(password_stdin), actor=None)
    except AppError as error:
        raise click.ClickException(f"{error.code}: {error.message}") from error
    click.echo(f"{user.username}: password reset; a new one must be chosen at the next login")


@users.command("reset-mfa")
@click.option("--username", required=True)
def reset_mfa_command(username: str) -> None:
    """Remove a lost second factor; the member sets up a new one."""
    user = _account(username)
    remove_totp(user, actor=None)
    click.echo(f"{user.username}: second factor removed")


@audit_group.command("verify")
@click.option("--witness", "witness_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A witness exported earlier with `audit witness` and kept elsewhere.")
def audit_verify_command(witness_file: Path | None) -> None:
    """Exit 0 when the chain is intact and holds every checkpoint; otherwise name the first missing or
    wrong record and exit 1."""
    witness = None
    if witness_file is not None:
        try:
            witness = audit.read_witness(witness_file)
        except ValueError as error:
            click.echo(f"Witness REFUSED: {error}", err=True)
            sys.exit(1)
    result = audit.verify_anchored(Path(current_app.config["DATA_DIR"]), witness)
    for line in result.lines:
        click.echo(f"  {line}")
    if result.problem is not None:
        click.echo(f"Audit chain BROKEN at record #{result.problem.record_id}: {result.problem.reason}", err=True)
        sys.exit(1)
    click.echo(f"Audit chain intact ({result.records} records). Head: #{result.head[0]} {result.head[1][:16]}…")


@audit_group.command("witness")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def audit_witness_command(file: Path) -> None:
    """Sign the chain's current head with the Government Office key and write it to FILE, to keep away
    from this server; `audit verify --witness FILE` later proves nothing up to it was removed or rewritten."""
    import json

    try:
        witness = audit.export_witness()
    except LookupError as error:
        raise click.ClickException(str(error)) from error
    file.write_text(json.dumps(witness, indent=1, ensure_ascii=False), encoding="utf-8")
    head = json.loads(witness["statement"])
    click.echo(f"Witness of record #{head['record_id']} (epoch {head['epoch']}) written to {file}.")


office_group = AppGroup("office", help="The Government Office certificate that verifiers trust.")
cli.add_command(office_group)


def pin_office_step() -> None:
    """``init`` step: pin the Government Office certificate (created if missing) once."""
    data_dir = Path(current_app.config["DATA_DIR"])
    signer = office.ensure(data_dir)
    pin = office.read_pin(data_dir)
    if pin is not None:
        if pin.sha256 != signer.fingerprint:
            raise click.ClickException("the office certificate in DATA_DIR/ca is not the pinned one")
        return
    with write_transaction():
        last = db.session.scalar(select(func.max(AuditRecord.id))) or 0
        if office.write_pin(data_dir, signer, last):
            audit.record(None, "office.pinned", None, {"sha256": signer.fingerprint,
                                                        "subject": signer.certificate.subject.rfc4514_string()})
    click.echo(f"Government Office certificate pinned, SHA-256 {signer.fingerprint}: publish it to whoever "
               "verifies archives and ballots (`ecabinet office show`).")


INIT_STEPS.append(pin_office_step)


@office_group.command("show")
@click.option("--pem", is_flag=True, help="Print the certificate itself (PEM), to publish with its fingerprint.")
def office_show_command(pem: bool) -> None:
    """The pinned Government Office certificate: give its SHA-256 to whoever verifies archives and ballots."""
    data_dir = Path(current_app.config["DATA_DIR"])
    try:
        pin = office.read_pin(data_dir)
    except office.PinDamaged as error:
        raise click.ClickException(str(error)) from error
    if pin is None:
        raise click.ClickException("no office certificate is pinned here: run `flask --app wsgi ecabinet init`")
    for key, value in office.describe(pin.certificate).items():
        click.echo(f"{key}: {value}")
    click.echo(f"pinned_at: {pin.pinned_at}")
    for entry in pin.previous:
        click.echo(f"revoked: {entry.sha256} (revoked {entry.revoked_at}; it vouches for audit records up to "
                   f"#{entry.until_record} and for what it signed before)")
    if pem:
        click.echo(office.certificate_pem(pin.certificate), nl=False)


@office_group.command("revoke")
@click.option("--reason", default="", help="Why (kept in the audit trail and the pin's history).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def office_revoke_command(reason: str, yes: bool) -> None:
    """Revoke the Government Office key (it cannot be undone) and pin a new one. The operator's command is
    not under four eyes; through the API one administrator asks and another approves."""
    from ecabinet import office_revocation  # deferred: it imports approvals, whose import reaches this module

    if not yes:
        click.confirm("Revoking the Government Office key cannot be undone. Continue?", abort=True)
    done = office_revocation.revoke(sha256=office_revocation.current_fingerprint(), reason=reason, actor=None)
    click.echo(f"Revoked the office certificate {done['revoked_sha256']} (serial {done['serial']}).")
    click.echo(f"New office certificate pinned, SHA-256 {done['new_sha256']}: publish it to whoever verifies "
               "archives and ballots (`ecabinet office show`).")


@cli.command("serve")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=int)
def serve_command(host: str, port: int) -> None:
    """Run the real-time server (HTTP and Socket.IO on gevent) in the foreground."""
    # A fresh interpreter, so gevent patches the standard library before anything imports it.
    os.execv(sys.executable, [*SERVE_COMMAND, "--host", host, "--port", str(port)])  # noqa: S606 (our own server)


@cli.command("demo")
def demo_command() -> None:
    """Load a demo Government (members, secretariat, a meeting, a ballot) and print the logins."""
    for line in load_demo():
        click.echo(line)


class _BackupGroup(AppGroup):
    """``backup DEST`` is short for ``backup create DEST``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["create", *args]
        return super().parse_args(ctx, args)


backup_group = _BackupGroup("backup", help="Online backups: `backup DEST` writes one, `backup verify SRC` checks one.")
cli.add_command(backup_group)


@backup_group.command("create")
@click.argument("dest", type=click.Path(path_type=Path))
def backup_create_command(dest: Path) -> None:
    """Write a consistent backup (database, then stored files, keys, manifest) to the new directory DEST
    while the app keeps running. It holds secret keys: store it like them."""
    try:
        summary = create_backup(dest)
    except BackupError as error:
        raise click.ClickException(str(error)) from error
    for line in summary.lines():
        click.echo(line)
    if summary.manifest["database"]["audit"]["problem"]:
        sys.exit(1)


@backup_group.command("verify", with_appcontext=False)
@click.argument("src", type=click.Path(path_type=Path))
@click.option("--manifest-sha256", default=None, help="The manifest SHA-256 printed when the backup was made.")
def backup_verify_command(src: Path, manifest_sha256: str | None) -> None:
    """Check every byte of the backup SRC against its manifest; exit 1 on any difference."""
    try:
        summary = verify_backup(src, manifest_sha256=manifest_sha256)
    except BackupError as error:
        click.echo(f"Backup BROKEN: {error}", err=True)
        sys.exit(1)
    for line in summary.lines():
        click.echo(line)
    click.echo("Backup intact.")


@cli.command("restore", with_appcontext=False)
@click.argument("src", type=click.Path(path_type=Path))
@click.option("--data-dir", required=True, type=click.Path(path_type=Path), help="A new, empty data directory.")
@click.option("--database-url", default=None,
              help="An empty target database (PostgreSQL: required); SQLite defaults to DATA_DIR/ecabinet.sqlite.")
@click.option("--manifest-sha256", default=None, help="The manifest SHA-256 printed when the backup was made.")
def restore_command(src: Path, data_dir: Path, database_url: str | None, manifest_sha256: str | None) -> None:
    """Verify the backup SRC, then restore it into an empty data directory and database."""
    try:
        summary, url, chain = restore_backup(src, data_dir=data_dir, database_url=database_url,
                                             manifest_sha256=manifest_sha256)
    except BackupError as error:
        click.echo(f"Restore REFUSED: {error}", err=True)
        sys.exit(1)
    for line in summary.lines():
        click.echo(line)
    click.echo(f"Restored into {data_dir.resolve()} and {url}.")
    schema = schema_status(summary.manifest["database"]["alembic_heads"])
    if schema == "older":
        click.echo("The backup's schema is older than this code: run `flask --app wsgi ecabinet init` next.")
    elif schema == "unknown":
        click.echo("The backup was made by a newer version (unknown migrations): run that version's code on it.",
                   err=True)
    if chain["problem"]:
        click.echo(f"Audit chain BROKEN at record #{chain['problem']['record_id']}: {chain['problem']['reason']}",
                   err=True)
        sys.exit(1)
    click.echo(f"Audit chain intact ({chain['records']} records).")
    click.echo(f"The audit trail begins epoch {chain['epoch']} at record #{chain['last_id']}: records made after "
               "the backup are not in this system, and `audit verify` names this restore.")
    click.echo(f"Start with ECABINET_DATA_DIR={data_dir.resolve()}"
               + ("" if database_url is None else " and ECABINET_DATABASE_URL set to that database") + ".")
