"""``flask --app wsgi ecabinet certs ...`` and ``... ballots verify FILE``."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import select

from ballots.export import verify_bag
from ecabinet import certificates, keystore, revocation
from ecabinet.auth.models import User
from ecabinet.bags import local_trust, trust_options
from ecabinet.cli import INIT_STEPS, cli
from ecabinet.database import db
from ecabinet.errors import AppError
from ecabinet.signing.ca import KeyType

certs = AppGroup("certs", help="Signing certificates.")
ballots_group = AppGroup("ballots", help="Opinion ballots.")
_registered = False


def register() -> None:
    global _registered
    if _registered:
        return
    _registered = True
    cli.add_command(certs)
    cli.add_command(ballots_group)
    INIT_STEPS.append(keystore.init_ca_step)


def _user(username: str) -> User:
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
def issue_command(username: str, pin_stdin: bool, key_type: KeyType) -> None:
    """Give a user a signing certificate from the built-in authority, its key under the PIN."""
    try:
        credential = keystore.issue_credential(_user(username), _read_pin(pin_stdin), actor=None, key_type=key_type)
    except AppError as error:
        raise click.ClickException(f"{error.code}: {error.message}") from error
    click.echo(f"Issued certificate {credential.serial} to {username}")


@certs.command("import")
@click.option("--username", required=True)
@click.option("--p12", "p12", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A PKCS#12 with the key: it is re-encrypted under the member's PIN.")
@click.option("--cert", "cert", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A certificate alone (PEM or DER, CA certificates may follow in PEM): its key stays on the "
                   "member's token.")
@click.option("--pin-stdin", is_flag=True, help="Read the file's password, then the new PIN, from stdin.")
def import_command(username: str, p12: Path | None, cert: Path | None, pin_stdin: bool) -> None:
    """Take an existing PKCS#12, or register the certificate of a member's token."""
    if (p12 is None) == (cert is None):
        raise click.UsageError("give either --p12 FILE or --cert FILE")
    try:
        if cert is not None:
            credential = certificates.import_token_certificate(_user(username), cert.read_bytes(), actor=None)
            click.echo(f"Registered certificate {credential.serial} for {username} (key on the member's token)")
            return
        if pin_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
            pin = sys.stdin.readline().rstrip("\r\n")
        else:
            password = click.prompt("PKCS#12 password", hide_input=True, default="", show_default=False)
            pin = click.prompt("New PIN", hide_input=True, confirmation_prompt=True)
        assert p12 is not None
        credential = keystore.import_credential(_user(username), p12.read_bytes(), password or None, pin, actor=None)
    except AppError as error:
        raise click.ClickException(f"{error.code}: {error.message}") from error
    click.echo(f"Imported certificate {credential.serial} for {username}")


@certs.command("list")
@click.option("--username", default=None)
def list_command(username: str | None) -> None:
    """One line per certificate: username, serial, kind, subject, valid until, state."""
    for credential, owner in certificates.credentials_of(_user(username) if username else None):
        cert = credential.certificate
        state = ("revoked" if credential.revoked_at else "locked" if credential.locked
                 else "active" if credential.active else "replaced")
        click.echo("\t".join([owner.username, credential.serial, credential.kind, cert.subject.rfc4514_string(),
                              cert.not_valid_after_utc.isoformat(), state]))


@certs.command("revoke")
@click.option("--username", required=True)
@click.option("--reason", default="")
def revoke_command(username: str, reason: str) -> None:
    """Revoke the member's current certificate: it signs nothing from now on."""
    try:
        credential = certificates.current_credential(_user(username))
        certificates.revoke(credential, reason=reason, actor=None)
    except AppError as error:
        raise click.ClickException(f"{error.code}: {error.message}") from error
    click.echo(f"Revoked certificate {credential.serial} of {username}")


@certs.command("unlock")
@click.option("--username", required=True)
def unlock_command(username: str) -> None:
    """Clear the wrong-PIN lock of the member's current certificate."""
    try:
        credential = certificates.current_credential(_user(username))
        certificates.unlock(credential, actor=None)
    except AppError as error:
        raise click.ClickException(f"{error.code}: {error.message}") from error
    click.echo(f"Unlocked signing for {username} (certificate {credential.serial})")


@certs.command("crl-import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def crl_import_command(file: Path) -> None:
    """Import a CRL (PEM or DER) of a trusted authority; certificates it lists sign nothing from now on."""
    try:
        imported = revocation.import_crl(file.read_bytes(), actor=None)
    except AppError as error:
        raise click.ClickException(f"{error.code}: {error.message}") from error
    stored = imported.revocation_list
    click.echo(f"Imported the CRL of {stored.issuer} ({len(stored.crl)} entries, "
               f"next update {stored.next_update.isoformat() if stored.next_update else '-'})")
    if imported.revoked_credentials:
        click.echo(f"Revoked {len(imported.revoked_credentials)} registered certificate(s) it lists")


@ballots_group.command("verify")
@click.argument("file", type=click.Path(exists=True, path_type=Path))
@trust_options
def verify_command(file: Path, office_fingerprint: str | None, office_cert: Path | None, roots_file: Path | None,
                   bag_roots: bool) -> None:
    """Check an exported bag: manifest, the office's signed statement, every signature, and the tally recomputed
    from the slips. On the server the pinned office certificate is the anchor; elsewhere give it."""
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
