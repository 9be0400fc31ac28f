"""Search across meetings, dossiers, conclusions and ballots, insensitive to Vietnamese diacritics."""

from flask import Flask
from flask_babel import lazy_gettext as _l

from ecabinet import errors
from ecabinet.cli import INIT_STEPS
from ecabinet.cli import cli as ecabinet_cli
from search import (
    index,
    models,  # noqa: F401  (tables register with the metadata)
    views,
    web,
)
from search.cli import fill_if_empty, search_group

#: the error codes of this package, given to ecabinet.errors by init_app
MESSAGES = {
    "search_query_empty": _l("Enter at least one word to search for."),
    "search_query_too_long": _l("The search text is too long (at most 200 characters)."),
}

_registered = False


def init_app(app: Flask) -> None:
    """Register the search API and page, the index listener, and the ``search`` command group."""
    global _registered
    errors.MESSAGES.update(MESSAGES)
    app.register_blueprint(views.api)
    app.register_blueprint(web.web)
    index.install()
    if not _registered:
        ecabinet_cli.add_command(search_group)
        INIT_STEPS.append(fill_if_empty)
        _registered = True
