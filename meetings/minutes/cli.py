"""``flask --app wsgi ecabinet archive verify FILE``."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import AppGroup

archive_group = AppGroup("archive", help="Meeting archives.")


@archive_group.command("verify")
@click.argument("file", type=click.Path(exists=True, path_type=Path))
@click.option("--bag-roots", is_flag=True,
              help="Trust the CA certificates carried in the bag instead of this deployment's built-in CA.")
def verify_command(file: Path, bag_roots: bool) -> None:
    """Check an archived meeting's bag: manifests, both minutes signatures, ballot signatures, the audit chain."""
    from ecabinet import keystore
    from meetings.minutes.archive import verify_bag

    roots = None if bag_roots or not keystore.ca_directory().is_dir() else keystore.trust_roots()
    result = verify_bag(file, roots)
    for line in result.lines:
        click.echo(line)
    if not result.ok:
        click.echo("ARCHIVE REFUSED", err=True)
        sys.exit(1)
    click.echo("Archive verified: manifests, signatures and the audit chain are intact.")
