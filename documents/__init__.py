"""Dossiers: vetted PDF uploads, versions, stamped reader copies, private page notes."""

from flask import Flask

from documents import models  # noqa: F401  (tables register with the metadata)
from ecabinet import idempotency  # noqa: F401  (its table registers with the metadata)


def init_app(app: Flask) -> None:
    """Register the document routes and the files the viewer needs."""
    from documents import views
    from documents.views import api
    from documents.web import web
    from ecabinet import security

    app.register_blueprint(api)
    app.register_blueprint(web)
    security.guard_upload("documents_api.upload_document", views.may_upload_to_item)
    security.guard_upload("documents_api.add_version", views.may_add_version)

