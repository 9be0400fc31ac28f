"""The installable shell: the service worker, and the two offline pages it keeps (agenda and viewer).

Both pages carry no one's data: the service worker fetches them without cookies, and they read the
meeting from the encrypted briefcase in the browser. Nothing a login sees is ever put in its cache.
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path
from types import SimpleNamespace

from flask import Blueprint, Response, current_app, render_template

from documents.web import VENDOR

web = Blueprint("briefcase_web", __name__)

STATIC = Path(__file__).resolve().parents[2] / "ecabinet" / "static"
#: what the offline pages need, fetched once when the service worker installs: every script and style
#: of the app (a module the viewer imports tomorrow is then kept too), the icons and the manifest
SHELL_FILES = tuple(sorted(
    path.relative_to(STATIC).as_posix() for path in STATIC.rglob("*")
    if path.is_file() and path.suffix in {".js", ".css", ".svg", ".png", ".webmanifest"} and path.name != "sw.js"))
SHELL_PAGES = ("/briefcase", "/briefcase/view")


@functools.cache
def _worker_config() -> str:
    """The service worker's settings; its version changes with any file it keeps, so a new release
    installs a new worker that fetches the new files and drops the old cache."""
    assets = [f"/static/{name}" for name in SHELL_FILES] + [f"/static/vendor/{name}" for name in sorted(VENDOR)]
    digest = hashlib.sha256()
    for path in [STATIC / name for name in SHELL_FILES] + [VENDOR[name] for name in sorted(VENDOR)]:
        digest.update(path.read_bytes() if path.is_file() else b"")
    for template in ("briefcase/offline.html", "documents/viewer.html", "base.html"):
        digest.update(Path(current_app.template_folder or "", template).read_bytes())
    return json.dumps({"version": digest.hexdigest()[:16], "assets": assets, "pages": list(SHELL_PAGES)})


@web.get("/sw.js")
def service_worker() -> Response:
    """At the root, so its scope covers every page of the app."""
    source = (STATIC / "js" / "sw.js").read_text(encoding="utf-8")
    response = Response(f"const CONFIG = {_worker_config()};\n{source}", mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = "/"
    return response


@web.get("/briefcase")
def offline_agenda() -> str:
    """The briefcase: the meetings taken offline on this browser and their agendas, read from the device."""
    return render_template("briefcase/offline.html")


@web.get("/briefcase/view")
def offline_viewer() -> str:
    """The viewer's own page with no document: the briefcase fills it in (documents/viewer.html unchanged)."""
    blank = SimpleNamespace(id=0, meeting_id=0, title="", current_version=SimpleNamespace(pages=0, changed_pages=[]))
    return render_template("documents/viewer.html", document=blank, offline_shell=True)
