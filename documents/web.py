"""The document viewer page and the browser libraries it needs, served from node_modules (never a CDN)."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, render_template, send_file
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from documents import access as doc_access

web = Blueprint("documents_web", __name__)

NODE_MODULES = Path(__file__).resolve().parent.parent / "node_modules"
# The only files served from node_modules, installed by `npm ci` from package-lock.json.
VENDOR = {
    "pdf.min.mjs": NODE_MODULES / "pdfjs-dist/build/pdf.min.mjs",
    "pdf.worker.min.mjs": NODE_MODULES / "pdfjs-dist/build/pdf.worker.min.mjs",
    "socket.io.min.js": NODE_MODULES / "socket.io-client/dist/socket.io.min.js",
}


@web.get("/static/vendor/<name>")
def vendor(name: str) -> Response:
    path = VENDOR.get(name)
    if path is None or not path.is_file():
        abort(404)
    return send_file(path, mimetype="text/javascript", max_age=3600)


@web.get("/documents/<int:document_id>/view")
@login_required
def viewer(document_id: int) -> str:
    document = doc_access.get_readable_document_for(current_user, document_id)
    return render_template("documents/viewer.html", document=document)
