"""Dossiers: vetted PDF uploads, versions, stamped reader copies, private page notes."""

from flask import Flask
from flask_babel import lazy_gettext as _l

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
    register_notification_kinds()


def register_notification_kinds() -> None:
    """What readers are told about dossiers (``ecabinet.notifications``)."""
    from ecabinet.notifications import register_kind

    register_kind("document.added", label=_l("A dossier is added to a published meeting"),
                  headline=_l("New dossier: %(title)s"), order=20)
    register_kind("document.versioned", label=_l("A dossier I may read has a new version"),
                  headline=_l("New version of the dossier: %(title)s"), order=21)

