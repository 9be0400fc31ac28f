"""``flask --app wsgi ecabinet certs ...`` and ``... ballots verify FILE``."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import select

from ecabinet.bags import local_trust, trust_options

certs = AppGroup("certs", help="Signing certificates.")
ballots_group = AppGroup("ballots", help="Opinion ballots.")
_registered = False


def register() -> None:
    global _registered
    if _registered:
        return
    _registered = True
    from ecabinet import keystore
    from ecabinet.cli import INIT_STEPS, cli

    cli.add_command(certs)
    cli.add_command(ballots_group)
    INIT_STEPS.append(keystore.init_ca_step)


def _user(username: str):  # type: ignore[no-untyped-def]
    from ecabinet.auth.models import User
    from ecabinet.database import db

    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise click.ClickException(f"no user {username!r}")
    return user


def _read_pin(pin_stdin: bool) -> str:
    if pin_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("PIN", hide_input=True, confirmation_prompt=True)


@certs.command("issue")
@click.option("--username", required=True)
@click.option("--pin-stdin", is_flag=True, help="Read the PIN from standard input.")
@click.option("--key-type", default="p256", type=click.Choice(["p256", "rsa2048"]))
def issue_command(username: str, pin_stdin: bool, key_type: str) -> None:
    """Give a user a signing certificate from the built-in authority, its key under the PIN."""
    from ecabinet import keystore
    from ecabinet.errors import AppError

    try:
        credential = keystore.issue_credential(_user(username), _read_pin(pin_stdin), actor=None, key_type=key_type)
    except AppError as error:
        raise click.ClickException(f"{error.code}: {error.message}") from error
    click.echo(f"Issued certificate {credential.serial} to {username}")


@certs.command("import")
@click.option("--username", required=True)
@click.option("--p12", "p12", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--pin-stdin", is_flag=True, help="Read the file's password, then the new PIN, from stdin.")
def import_command(username: str, p12: Path, pin_stdin: bool) -> None:
    """Take an existing PKCS#12; its key is re-encrypted under the member's PIN."""
    from ecabinet import keystore
    from ecabinet.errors import AppError

    if pin_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        pin = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("PKCS#12 password", hide_input=True, default="", show_default=False)
        pin = click.prompt("New PIN", hide_input=True, confirmation_prompt=True)
    try:
        credential = keystore.import_credential(_user(username), p12.read_bytes(), password or None, pin, actor=None)
    except AppError as error:
        raise click.ClickException(f"{error.code}: {error.message}") from error
    click.echo(f"Imported certificate {credential.serial} for {username}")


@ballots_group.command("verify")
@click.argument("file", type=click.Path(exists=True, path_type=Path))
@trust_options
def verify_command(file: Path, office_fingerprint: str | None, office_cert: Path | None, roots_file: Path | None,
                   bag_roots: bool) -> None:
    """Check an exported bag: manifest, the office's signed statement, every signature, and the tally recomputed
    from the slips. On the server the pinned office certificate is the anchor; elsewhere give it."""
    from ballots.export import verify_bag

    try:
        trust = local_trust(office_fingerprint, office_cert, bag_roots, roots_file)
    except ValueError as error:
        raise click.ClickException(f"unreadable certificate file: {error}") from error
    result = verify_bag(file, trust)
    for line in result.lines:
        click.echo(line)
    if not result.ok:
        click.echo("BAG REFUSED", err=True)
        sys.exit(1)
    click.echo("Bag verified: signatures valid and the tally matches the report.")
