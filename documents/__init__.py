"""Dossiers: vetted PDF uploads, versions, stamped reader copies, private page notes."""

from flask import Flask
from flask_babel import lazy_gettext as _l

from documents import (
    models,  # noqa: F401  (tables register with the metadata)
    views,
    web,
)
from ecabinet import (
    idempotency,  # noqa: F401  (its table registers with the metadata)
    security,
)
from ecabinet.notifications import register_kind


def init_app(app: Flask) -> None:
    """Register the document routes and the files the viewer needs."""
    app.register_blueprint(views.api)
    app.register_blueprint(web.web)
    security.guard_upload("documents_api.upload_document", views.may_upload_to_item)
    security.guard_upload("documents_api.add_version", views.may_add_version)
    register_notification_kinds()


def register_notification_kinds() -> None:
    """What readers are told about dossiers (``ecabinet.notifications``)."""
    register_kind("document.added", label=_l("A dossier is added to a published meeting"),
                  headline=_l("New dossier: %(title)s"), order=20)
    register_kind("document.versioned", label=_l("A dossier I may read has a new version"),
                  headline=_l("New version of the dossier: %(title)s"), order=21)

