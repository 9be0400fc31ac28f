"""pypdf internals: a stream's bytes as stored, and a new indirect object in a writer.

pypdf's public API gives a stream's data only decoded (``get_data``), and copying a page's streams
as stored is what keeps a reader's copy fast; ``PdfWriter`` has no public way to add an object and
get its indirect reference, which a signature field needs (``_add_object``).
"""

from __future__ import annotations

from pypdf import PdfWriter
from pypdf.generic import IndirectObject, PdfObject, StreamObject

PINNED = "7.1.0"


def raw_stream_data(stream: StreamObject) -> bytes:
    """The stream's bytes as stored in the file (still encoded by its filters)."""
    data: bytes = stream._data
    return data


def add_object(writer: PdfWriter, obj: PdfObject) -> IndirectObject:
    """Add ``obj`` to ``writer`` as a new indirect object; its reference."""
    return writer._add_object(obj)
