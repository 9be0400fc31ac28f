"""``flask --app wsgi ecabinet archive verify FILE``."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import AppGroup

from ecabinet.bags import local_trust, trust_options
from meetings.minutes.archive import verify_bag

archive_group = AppGroup("archive", help="Meeting archives.")


@archive_group.command("verify")
@click.argument("file", type=click.Path(exists=True, path_type=Path))
@trust_options
def verify_command(file: Path, office_fingerprint: str | None, office_cert: Path | None, roots_file: Path | None,
                   bag_roots: bool) -> None:
    """Check an archived meeting's bag: manifests, the office's signed statement, both minutes signatures by the
    signers it names, ballot signatures, the audit excerpt. On the server the pinned office certificate is the
    anchor; elsewhere give it (--office-fingerprint or --office-cert)."""
    try:
        trust = local_trust(office_fingerprint, office_cert, bag_roots, roots_file)
    except ValueError as error:
        raise click.ClickException(f"unreadable certificate file: {error}") from error
    result = verify_bag(file, trust)
    for line in result.lines:
        click.echo(line)
    if not result.ok:
        click.echo("ARCHIVE REFUSED", err=True)
        sys.exit(1)
    click.echo("Archive verified: manifests, signatures and the audit chain are intact.")
