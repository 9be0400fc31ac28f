"""Dossiers: vetted PDF uploads, versions, stamped reader copies, private page notes."""

from flask import Flask

from documents import (
    models,  # noqa: F401  (tables register with the metadata)
    views,
    web,
)
from ecabinet import (
    idempotency,  # noqa: F401  (its table registers with the metadata)
    security,
)


def init_app(app: Flask) -> None:
    """Register the document routes and the files the viewer needs."""
    app.register_blueprint(views.api)
    app.register_blueprint(web.web)
    security.guard_upload("documents_api.upload_document", views.may_upload_to_item)
    security.guard_upload("documents_api.add_version", views.may_add_version)

