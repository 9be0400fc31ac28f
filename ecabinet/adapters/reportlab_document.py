"""ReportLab's document object behind a canvas, to add entries to the catalog it is about to write.

ReportLab's public API has no way to put our attachments in the catalog of the document it renders;
its ``PDFDocument`` (with ``Catalog`` and ``Reference``) is reachable only as the canvas's ``_doc``.
"""

from __future__ import annotations

from typing import Any

from reportlab.pdfgen.canvas import Canvas

PINNED = "5.1.0"


def pdf_document(canvas: Canvas) -> Any:
    """The ``reportlab.pdfbase.pdfdoc.PDFDocument`` ``canvas`` writes into."""
    return canvas._doc  # type: ignore[attr-defined]  # private, and not in ReportLab's stubs
