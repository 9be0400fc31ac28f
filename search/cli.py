"""``flask --app wsgi ecabinet search reindex``."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from search.service import reindex, reindex_if_empty

search_group = AppGroup("search", help="The search index.")


@search_group.command("reindex")
def reindex_command() -> None:
    """Rebuild the search index from every meeting, agenda item, dossier and ballot."""
    click.echo(f"Search index rebuilt: {reindex(actor=None)} entries.")


def fill_if_empty() -> None:
    """``init`` step: an existing database that gains the search tables gets its index filled once."""
    count = reindex_if_empty()
    if count:
        click.echo(f"Search index filled: {count} entries.")
