"""Dossiers: vetted PDF uploads, versions, stamped reader copies, private page notes."""

from flask import Flask

from documents import models  # noqa: F401  (tables register with the metadata)
from ecabinet import idempotency  # noqa: F401  (its table registers with the metadata)


def init_app(app: Flask) -> None:
    """Register the document routes and the files the viewer needs."""
    from documents.views import api
    from documents.web import web

    app.register_blueprint(api)
    app.register_blueprint(web)
