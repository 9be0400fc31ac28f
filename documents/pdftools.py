"""Uploaded dossiers: vet an upload, fingerprint its pages, stamp each reader's copy.

Pure functions over bytes; the documents service decides what to store, audit and serve.
This module imports only the standard library and pypdf at load time, because it also runs
as the resource-limited child that parses large uploads (``_inspect_isolated``).
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import re
import subprocess
import sys
import unicodedata
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pypdf import PageObject, PdfReader, PdfWriter, apply_configuration
from pypdf.filters import decode_stream_data
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    IndirectObject,
    NameObject,
    NullObject,
    StreamObject,
)

STATUS = {
    "empty_file": 422,
    "file_too_large": 413,
    "not_a_pdf": 415,
    "pdf_encrypted": 422,
    "pdf_damaged": 422,
    "pdf_active_content": 422,
}
SNIFF_WINDOW = 1024
ISOLATE_ABOVE = 8 * 1024 * 1024  # larger uploads are parsed in a resource-limited child
IN_PROCESS_PAGES = 2_000  # and so are longer ones: pypdf lists pages at ~10k per second
ISOLATED_TIMEOUT_S = 10
ISOLATED_MEMORY = 512 * 1024 * 1024
STREAM_LIMIT = 64 * 1024 * 1024  # decoded bytes of one stream; a content stream is never this big
DECODE_BUDGET = 256 * 1024 * 1024  # decoded content bytes per document
MAX_DEPTH = 64
MAX_WALK = 100_000
_PYPDF_LIMITS: dict[str, Any] = {
    "zlib_maximum_output_length": STREAM_LIMIT,
    "lzw_maximum_output_length": STREAM_LIMIT,
    "run_length_maximum_output_length": STREAM_LIMIT,
    "brotli_maximum_output_length": STREAM_LIMIT,
    "jbig2_maximum_output_length": STREAM_LIMIT,
    "array_based_stream_maximum_output_length": STREAM_LIMIT,
    "stream_decoding_work_maximum_length": 2 * STREAM_LIMIT,
}
_CHILD_FLAG = "--inspect-isolated"
# Viewers accept junk before %PDF-; a file that opens as another format is a polyglot.
_OTHER_FORMAT = re.compile(
    rb"(\xef\xbb\xbf)?\s*(<!doctype|<html|<\?xml|<svg|<script)"
    rb"|MZ|PK\x03\x04|\x7fELF|\x1f\x8b|Rar!|7z\xbc\xaf|\xd0\xcf\x11\xe0|\x89PNG|GIF8|\xff\xd8\xff",
    re.IGNORECASE)

# Actions a viewer may follow without running code or opening other files.
_SAFE_ACTIONS = frozenset({"/GoTo", "/Named", "/Thread", "/URI"})
_SAFE_URI = re.compile(rb"^\s*(https?://|mailto:)", re.IGNORECASE)
_ACTIVE_ANNOTATIONS = frozenset({"/RichMedia", "/Screen", "/Movie", "/Sound", "/3D",
                                 "/FileAttachment"})


class PdfRejected(Exception):
    """An upload the system will not store; ``code`` and ``http_status`` map to the API error."""

    def __init__(self, code: str, detail: str = "") -> None:
        self.code = code
        self.http_status = STATUS[code]
        self.detail = detail
        super().__init__(f"{code}: {detail}" if detail else code)


@dataclass(frozen=True)
class PdfInfo:
    pages: int
    sha256: str  # of ``data``
    size: int  # of ``data``
    data: bytes  # the neutralised PDF, or the original bytes when nothing was removed
    removed: list[str] = field(default_factory=list)  # what was neutralised, for the audit record
    original_sha256: str = ""


class _NeedsIsolation(Exception):
    """The declared page count is too high to list the pages in the server process."""


@contextmanager
def _bounded(page_limit: int | None = None) -> Iterator[None]:
    """pypdf with tighter decompression limits; any parser failure means the file is damaged.

    With ``page_limit``, a page tree much larger than that is refused as damaged: its declared
    /Count was checked first, so the file lied about it.
    """
    limits = dict(_PYPDF_LIMITS)
    if page_limit is not None:
        limits["page_tree_maximum_entries"] = 4 * page_limit
        limits["page_tree_maximum_page_entries"] = 64 * page_limit  # keys copied into pages
    with apply_configuration(**limits):
        try:
            yield
        except (PdfRejected, _NeedsIsolation):
            raise
        except Exception as exc:  # hostile input: RecursionError, MemoryError, parser errors alike
            raise PdfRejected("pdf_damaged", f"{type(exc).__name__}: {exc}"[:200]) from exc


def _open(data: bytes) -> PdfReader:
    reader = PdfReader(io.BytesIO(data), strict=False)
    if reader.is_encrypted:
        raise PdfRejected("pdf_encrypted")
    return reader


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def inspect_upload(data: bytes, *, max_bytes: int, isolate: bool | None = None) -> PdfInfo:
    """Vet an uploaded PDF; neutralise active content (scripts, launch actions, embedded files).

    Raises ``PdfRejected``. ``isolate`` parses in a child process limited to
    ``ISOLATED_TIMEOUT_S`` and ``ISOLATED_MEMORY``; by default only uploads above
    ``ISOLATE_ABOVE`` bytes, since in-process parsing already bounds decompression.
    """
    if not data:
        raise PdfRejected("empty_file")
    if len(data) > max_bytes:
        raise PdfRejected("file_too_large", f"{len(data)} > {max_bytes} bytes")
    head = data[:SNIFF_WINDOW]
    if b"%PDF-" not in head or _OTHER_FORMAT.match(head):
        raise PdfRejected("not_a_pdf")
    if isolate is None:
        isolate = len(data) > ISOLATE_ABOVE
    try:
        result = _inspect_isolated(data) if isolate else _inspect(data, page_limit=IN_PROCESS_PAGES)
    except _NeedsIsolation:
        result = _inspect_isolated(data)
    pages, rewritten, removed = result
    out = rewritten if rewritten is not None else data
    original = _sha256(data)
    return PdfInfo(pages=pages, sha256=_sha256(out) if rewritten is not None else original,
                   size=len(out), data=out, removed=removed, original_sha256=original)


def _inspect(data: bytes, *, page_limit: int | None = None) -> tuple[int, bytes | None, list[str]]:
    with _bounded(page_limit):
        reader = _open(data)
        if page_limit is not None and _declared_pages(reader) > page_limit:
            raise _NeedsIsolation
        if b"%%EOF" not in data[-SNIFF_WINDOW:]:
            raise PdfRejected("pdf_damaged", "truncated: no %%EOF at the end")
        pages = _check_pages(reader)
        removed = _neutralise(reader.trailer["/Root"], reader.pages)
        if not removed:
            return pages, None, []
        try:
            out = _rewrite(reader)
            check = _open(out)
            clean = len(check.pages) == pages and not _neutralise(
                check.trailer["/Root"], check.pages, dry_run=True)
        except PdfRejected:
            raise
        except Exception as exc:  # rewriting failed: the active content stays in
            raise PdfRejected("pdf_active_content", type(exc).__name__) from exc
        if not clean:
            raise PdfRejected("pdf_active_content", "still present after rewriting")
        return pages, out, removed


def _declared_pages(reader: PdfReader) -> int:
    pages = _as_dict(reader.root_object.get("/Pages"))
    count = pages.get("/Count") if pages is not None else None
    return int(count.get_object()) if count is not None else 0


def _check_pages(reader: PdfReader) -> int:
    count = len(reader.pages)
    if count == 0:
        raise PdfRejected("pdf_damaged", "no pages")
    budget = DECODE_BUDGET
    _require_indirect_pages(reader)
    for number, page in enumerate(reader.pages, 1):
        box = page.mediabox
        if box.width <= 0 or box.height <= 0:
            raise PdfRejected("pdf_damaged", f"page {number} has no area")
        resources = page.get("/Resources")
        if resources is not None and not isinstance(resources.get_object(),
                                                    DictionaryObject | NullObject):
            raise PdfRejected("pdf_damaged", f"page {number} resources are not a dictionary")
        for stream in _content_streams(page):
            budget -= len(_decoded(stream))
            if budget < 0:
                raise PdfRejected("pdf_damaged", "decoded page content exceeds the budget")
    return count


def _require_indirect_pages(reader: PdfReader) -> None:
    # /Kids holds references only (ISO 32000-1, 7.7.3.2); pypdf cannot rewrite inline pages
    for number, page in enumerate(reader.pages, 1):
        if page.indirect_reference is None:
            raise PdfRejected("pdf_damaged", f"page {number} is not an indirect object")


def _decoded(stream: StreamObject) -> bytes:
    # pypdf's decode_stream_data fails on a stream without /Filter; get_data() would cache
    return decode_stream_data(stream) if "/Filter" in stream else _raw_stream_data(stream)


def _content_streams(page: DictionaryObject) -> list[StreamObject]:
    contents = page.get("/Contents")
    if contents is None:
        return []
    contents = contents.get_object()
    items = contents if isinstance(contents, ArrayObject) else [contents]
    streams = []
    for item in items:
        obj = item.get_object()
        if isinstance(obj, NullObject):
            continue
        if not isinstance(obj, StreamObject):
            raise PdfRejected("pdf_damaged", "page content is not a stream")
        streams.append(obj)
    return streams


def _unsafe_action(action: Any, depth: int = 0) -> str | None:
    """The first action in a chain that runs code or opens anything but a link or a page."""
    if depth > MAX_DEPTH:
        return "nested actions"
    action = action.get_object()
    if not isinstance(action, DictionaryObject):
        return None  # a destination such as [page /Fit], not an action
    kind = action.get("/S")
    if "/JS" in action:
        return "/JavaScript"
    if kind not in _SAFE_ACTIONS:
        return str(kind) if kind else "action without /S"
    if kind == "/URI":
        uri = action.get("/URI")
        raw = uri.get_object() if uri is not None else b""
        raw = raw.encode("latin-1", "replace") if isinstance(raw, str) else bytes(raw)
        if not _SAFE_URI.match(raw):
            return "/URI with a scheme other than http(s) or mailto"
    following = action.get("/Next")
    following = following.get_object() if following is not None else ArrayObject()
    for item in following if isinstance(following, ArrayObject) else [following]:
        if bad := _unsafe_action(item, depth + 1):
            return bad
    return None


def _as_dict(value: Any) -> DictionaryObject | None:
    value = value.get_object() if value is not None else None
    return value if isinstance(value, DictionaryObject) else None


def _linked(first: Any, link_keys: tuple[str, ...]) -> Iterator[DictionaryObject]:
    """Walk an outline or field tree iteratively, each object once, at most MAX_WALK steps."""
    stack, seen, steps = [first], set(), 0
    while stack and steps < MAX_WALK:
        steps += 1
        item = stack.pop()
        if isinstance(item, IndirectObject):
            if (item.idnum, item.generation) in seen:
                continue
            seen.add((item.idnum, item.generation))
        node = item.get_object()
        if isinstance(node, ArrayObject):
            stack.extend(node)
        elif isinstance(node, DictionaryObject):
            yield node
            stack.extend(node.raw_get(key) for key in link_keys if key in node)


def _neutralise(root: Any, pages: Iterable[DictionaryObject], *,
                dry_run: bool = False) -> list[str]:
    """Remove scripts, launch actions, embedded files, XFA and multimedia; return what went."""
    removed: list[str] = []

    def drop(container: DictionaryObject, key: str, label: str) -> None:
        removed.append(label)
        if not dry_run:
            del container[key]

    root = root.get_object()
    open_action = root.get("/OpenAction")
    if open_action is not None and (bad := _unsafe_action(open_action)):
        drop(root, "/OpenAction", f"/OpenAction {bad}")
    if "/AA" in root:
        drop(root, "/AA", "document /AA")
    names = _as_dict(root.get("/Names"))
    if names is not None:
        for key in ("/JavaScript", "/EmbeddedFiles"):
            if key in names:
                drop(names, key, f"/Names {key}")
    for key in ("/NeedsRendering", "/Collection"):
        if key in root:
            drop(root, key, f"catalog {key}")
    form = _as_dict(root.get("/AcroForm"))
    if form is not None:
        if "/XFA" in form:
            drop(form, "/XFA", "/AcroForm /XFA")
        if "/Fields" in form:
            for node in _linked(form.raw_get("/Fields"), ("/Kids",)):
                _neutralise_node(node, "form field", drop)
    outlines = _as_dict(root.get("/Outlines"))
    if outlines is not None and "/First" in outlines:
        for node in _linked(outlines.raw_get("/First"), ("/First", "/Next")):
            _neutralise_node(node, "outline item", drop)
    for number, flattened in enumerate(pages, 1):
        # pypdf's page list holds copies; edit the objects the catalog really points to
        ref = flattened.indirect_reference
        page = _as_dict(ref) if ref is not None else flattened
        if page is None:
            continue
        if "/AA" in page:
            drop(page, "/AA", f"page {number} /AA")
        annots = page.get("/Annots")
        annots = annots.get_object() if annots is not None else None
        if not isinstance(annots, ArrayObject):
            continue
        keep = ArrayObject()
        for ref in annots:
            annot = _as_dict(ref)
            subtype = annot.get("/Subtype") if annot is not None else None
            if subtype in _ACTIVE_ANNOTATIONS:
                removed.append(f"page {number} {subtype} annotation")
                continue
            if annot is not None:
                _neutralise_node(annot, f"page {number} {subtype or ''} annotation", drop)
            keep.append(ref)
        if len(keep) != len(annots) and not dry_run:
            page[NameObject("/Annots")] = keep
    return removed


def _neutralise_node(node: DictionaryObject, label: str,
                     drop: Callable[[DictionaryObject, str, str], None]) -> None:
    if "/AA" in node:
        drop(node, "/AA", f"{label} /AA")
    action = node.get("/A")
    if action is not None and (bad := _unsafe_action(action)):
        drop(node, "/A", f"{label} {bad}")


def _rewrite(reader: PdfReader) -> bytes:
    # cloning from the catalog copies only what is still reachable: what _neutralise cut off
    # (scripts, embedded files) does not stay behind as orphan objects
    writer = PdfWriter(clone_from=reader)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _inspect_isolated(data: bytes) -> tuple[int, bytes | None, list[str]]:
    """``_inspect`` in a child with CPU, memory and wall-clock limits; a crash means damaged."""
    command = [sys.executable, "-E", "-s", "-P", str(Path(__file__).resolve()), _CHILD_FLAG]
    try:
        proc = subprocess.run(command, input=data, capture_output=True,  # noqa: S603 (our argv)
                              timeout=ISOLATED_TIMEOUT_S, check=False, cwd="/")
    except subprocess.TimeoutExpired as exc:
        raise PdfRejected("pdf_damaged", "parsing timed out") from exc
    header, _, body = proc.stdout.partition(b"\n")
    try:
        result = json.loads(header)
    except ValueError as exc:
        raise PdfRejected("pdf_damaged", f"parser exited with {proc.returncode}") from exc
    if "code" in result:
        raise PdfRejected(result["code"], result.get("detail", ""))
    return result["pages"], body if result["rewritten"] else None, result["removed"]


def _child_main() -> None:
    import resource

    data = sys.stdin.buffer.read()
    memory = ISOLATED_MEMORY + 4 * len(data)
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (ISOLATED_TIMEOUT_S, ISOLATED_TIMEOUT_S + 1))
    out = None
    try:
        pages, out, removed = _inspect(data)
        header: dict[str, Any] = {"pages": pages, "rewritten": out is not None, "removed": removed}
    except PdfRejected as exc:
        header = {"code": exc.code, "detail": exc.detail}
    sys.stdout.buffer.write(json.dumps(header).encode() + b"\n" + (out or b""))
    sys.stdout.buffer.flush()


# --- page fingerprints -------------------------------------------------------------------------

def page_fingerprints(data: bytes) -> list[str]:
    """One hash per page over its decoded content, resources, boxes, rotation and annotations."""
    with _bounded():
        reader = _open(data)
        memo: dict[tuple[int, int], bytes] = {}
        prints = []
        for page in reader.pages:
            h = hashlib.sha256()
            for stream in _content_streams(page):
                h.update(b"C" + hashlib.sha256(_decoded(stream)).digest())
            for key in ("/Resources", "/MediaBox", "/CropBox", "/Annots"):
                if key in page:
                    h.update(key.encode() + _digest(page.raw_get(key), memo, set(), 0))
            h.update(b"R%d" % (page.rotation % 360))
            prints.append(h.hexdigest())
        return prints


# Back-references would make every page depend on the whole document.
_SKIP_KEYS = frozenset({"/Parent", "/P", "/Popup", "/Length"})


def _digest(obj: Any, memo: dict[tuple[int, int], bytes], stack: set[tuple[int, int]],
            depth: int) -> bytes:
    if depth > MAX_DEPTH:
        raise PdfRejected("pdf_damaged", "objects nested too deeply")
    if isinstance(obj, IndirectObject):
        key = (obj.idnum, obj.generation)
        if key in memo:
            return memo[key]
        if key in stack:
            return b"cycle"
        stack.add(key)
        digest = _digest(obj.get_object(), memo, stack, depth + 1)
        stack.discard(key)
        memo[key] = digest
        return digest
    h = hashlib.sha256()
    if isinstance(obj, DictionaryObject):
        h.update(b"S" if isinstance(obj, StreamObject) else b"D")
        for key in sorted(obj):
            if key not in _SKIP_KEYS:
                h.update(str(key).encode() + _digest(obj.raw_get(key), memo, stack, depth + 1))
        if isinstance(obj, StreamObject):
            h.update(hashlib.sha256(_raw_stream_data(obj)).digest())
    elif isinstance(obj, ArrayObject):
        h.update(b"A")
        for item in obj:
            h.update(_digest(item, memo, stack, depth + 1))
    else:
        h.update(type(obj).__name__.encode() + b":" + _serialize(obj))
    return h.digest()


def changed_pages(old_fps: list[str], new_fps: list[str]) -> list[int]:
    """1-based page numbers that differ position by position, including added or removed pages."""
    return [i + 1 for i in range(max(len(old_fps), len(new_fps)))
            if i >= len(old_fps) or i >= len(new_fps) or old_fps[i] != new_fps[i]]


# --- reader's copy: a watermark appended as an incremental update ------------------------------

STAMP_FONT_SIZE = 8
STAMP_GREY = 0.45
STAMP_BOTTOM = 12.0  # points between the visible page edge and the stamp
STAMP_SIDE = 18.0
_STARTXREF = re.compile(rb"startxref\s+(\d+)\s+%%EOF")
_OBJ_HEADER = re.compile(rb"\s*(\d+)\s+(\d+)\s+obj\b")


def _serialize(obj: Any, ref: Callable[[IndirectObject], bytes] | None = None) -> bytes:
    """PDF syntax for a direct object; ``ref`` renders (or renumbers) indirect references."""
    if isinstance(obj, IndirectObject):
        return ref(obj) if ref is not None else b"%d %d R" % (obj.idnum, obj.generation)
    if isinstance(obj, StreamObject):
        raise ValueError("a stream must be an indirect object")
    if isinstance(obj, DictionaryObject):
        return b"<<" + b"".join(_serialize(k) + b" " + _serialize(v, ref)
                                for k, v in obj.items()) + b">>"
    if isinstance(obj, ArrayObject):
        return b"[" + b" ".join(_serialize(v, ref) for v in obj) + b"]"
    buf = io.BytesIO()
    obj.write_to_stream(buf)
    return buf.getvalue()


def _raw_stream_data(stream: StreamObject) -> bytes:
    """The stream's bytes as stored (still encoded): pypdf's ``_data``. The one pypdf internal of the
    parser child, which runs this file alone and so cannot import ``ecabinet.adapters.pypdf_objects``
    (the same internal there, pinned by tests/core/test_adapters.py)."""
    return stream._data


def _stream_object(head: bytes, data: bytes) -> bytes:
    """``head`` is a dictionary body without the delimiters and without /Length."""
    return b"<<%s/Length %d>>\nstream\n%s\nendstream" % (head, len(data), data)


@dataclass(frozen=True)
class _PageGroup:
    box: tuple[float, float, float, float]  # the visible box (CropBox)
    rotate: int

    @classmethod
    def of(cls, page: PageObject) -> _PageGroup:
        box = page.cropbox
        return cls((float(box.left), float(box.bottom), float(box.right), float(box.top)),
                   page.rotation % 360)


@dataclass(frozen=True)
class PreparedDoc:
    """What a reader's copy needs from a document, computed once per document version.

    The update appended for each reader has a fixed part (the page objects, with the stamp's
    object numbers already assigned) and a small per-reader part (the stamp form and its font).
    """

    base: bytes  # the update is appended to these bytes (the original unless it was repaired)
    appends_to_original: bool
    page_count: int
    first_new: int  # object number of the stamp form XObject
    groups: tuple[_PageGroup, ...]  # one placement stream per distinct page box and rotation
    fixed: bytes
    fixed_entries: tuple[tuple[int, int, int], ...]  # (object number, generation, offset in fixed)
    trailer_refs: bytes  # /Root and /Info entries for the new trailer
    first_id: bytes
    prev: int
    xref_stream: bool
    xobject_name: str

    def stamp(self, reader_name: str, when: datetime) -> bytes:
        return _write_stamped(self, reader_name, when)


def _xref_kind(data: bytes, offset: int) -> str | None:
    if data.startswith(b"xref", offset):
        return "table"
    match = _OBJ_HEADER.match(data, offset)
    if match and b"/XRef" in data[match.end():match.end() + 512]:
        return "stream"
    return None


def prepare_stamp_base(data: bytes) -> PreparedDoc:
    """Parse once what every reader's copy of this document shares; cache it per version."""
    with _bounded():
        base, reader = data, _open(data)
        tail = list(_STARTXREF.finditer(data[-SNIFF_WINDOW:]))
        prev = int(tail[-1].group(1)) if tail else -1
        kind = _xref_kind(data, prev) if 0 <= prev < len(data) else None
        _require_indirect_pages(reader)
        if kind is None:  # a broken cross-reference: append to a repaired copy instead
            base = _rewrite(reader)
            reader = _open(base)
            prev = int(list(_STARTXREF.finditer(base[-SNIFF_WINDOW:]))[-1].group(1))
            kind = _xref_kind(base, prev)
        return _prepare(base, reader, prev, kind == "stream", appends_to_original=base is data)


def _prepare(base: bytes, reader: PdfReader, prev: int, xref_stream: bool, *,
             appends_to_original: bool) -> PreparedDoc:
    known = [int(reader.trailer.get("/Size", 0)) - 1]
    known += [max(ids, default=0) for ids in reader.xref.values()]
    known.append(max(reader.xref_objStm, default=0))
    first_new = max(known) + 1
    pages = list(reader.pages)
    names: set[str] = set()
    for page in pages:
        resources = _as_dict(page.get("/Resources"))
        if resources is not None:
            names.update(str(k) for k in _as_dict(resources.get("/XObject")) or {})
    xobject_name, n = "/ECabStamp", 0
    while xobject_name in names:
        n += 1
        xobject_name = f"/ECabStamp{n}"

    groups: dict[_PageGroup, int] = {}
    for page in pages:
        groups.setdefault(_PageGroup.of(page), first_new + 2 + len(groups))

    fixed = io.BytesIO()
    if not base.endswith((b"\n", b"\r")):
        fixed.write(b"\n")
    entries: list[tuple[int, int, int]] = []
    seen: set[int] = set()
    q_ref = b"%d 0 R" % (first_new + 1)
    stamp_ref = b"%d 0 R" % first_new
    for page in pages:
        ref = page.indirect_reference
        if ref is None or ref.idnum in seen:
            continue
        seen.add(ref.idnum)
        body = [b"<<"]
        for key, value in page.items():
            if key not in ("/Contents", "/Resources"):
                body.append(_serialize(key) + b" " + _serialize(value))
        contents = [_serialize(s.indirect_reference) for s in _content_streams(page)
                    if s.indirect_reference is not None]
        group_ref = b"%d 0 R" % groups[_PageGroup.of(page)]
        body.append(b"/Contents [" + b" ".join([q_ref, *contents, group_ref]) + b"]")
        body.append(b"/Resources " + _stamped_resources(page, xobject_name, stamp_ref))
        body.append(b">>")
        entries.append((ref.idnum, ref.generation, fixed.tell()))
        fixed.write(b"%d %d obj\n" % (ref.idnum, ref.generation) + b"\n".join(body)
                    + b"\nendobj\n")
    entries.append((first_new + 1, 0, fixed.tell()))
    fixed.write(b"%d 0 obj\n%s\nendobj\n" % (first_new + 1, _stream_object(b"", b"q\n")))

    trailer_refs = b"/Root " + _serialize(reader.trailer.raw_get("/Root"))
    if "/Info" in reader.trailer:
        trailer_refs += b"/Info " + _serialize(reader.trailer.raw_get("/Info"))
    ids = reader.trailer.get("/ID")
    ids = ids.get_object() if ids is not None else None
    first_id = _id_bytes(ids[0]) if isinstance(ids, ArrayObject) and ids else b""
    return PreparedDoc(
        base=base, appends_to_original=appends_to_original, page_count=len(pages),
        first_new=first_new, groups=tuple(groups), fixed=fixed.getvalue(),
        fixed_entries=tuple(entries), trailer_refs=trailer_refs, first_id=first_id, prev=prev,
        xref_stream=xref_stream, xobject_name=xobject_name,
    )


def _id_bytes(value: Any) -> bytes:
    value = value.get_object()
    if isinstance(value, bytes):
        return bytes(value)
    original = getattr(value, "original_bytes", None)
    return bytes(original) if original is not None else str(value).encode("latin-1", "replace")


def _stamped_resources(page: DictionaryObject, name: str, stamp_ref: bytes) -> bytes:
    resources = _as_dict(page.get("/Resources"))
    parts = [b"<<"]
    xobjects = None
    for key, value in (resources or {}).items():
        if key == "/XObject":
            xobjects = _as_dict(value)
        else:
            parts.append(_serialize(key) + b" " + _serialize(value))
    entries = [_serialize(k) + b" " + _serialize(v) for k, v in (xobjects or {}).items()]
    entries.append(name.encode() + b" " + stamp_ref)
    parts.append(b"/XObject <<" + b" ".join(entries) + b">>")
    parts.append(b">>")
    return b" ".join(parts)


def stamp_text(reader_name: str, when: datetime) -> str:
    from ecabinet.pdf import format_vn_datetime  # deferred: the parser child runs this file alone

    name = " ".join(unicodedata.normalize("NFC", reader_name).split())
    return f"Bản của: {name} — {format_vn_datetime(when)} (giờ Hà Nội)"


_STAMP_PAD = 2.0
_STAMP_HEIGHT = STAMP_FONT_SIZE * 1.4
_STAMP_BASELINE = STAMP_FONT_SIZE * 0.35
_STAMP_FONT_TAG = "ECST"  # the embedded face's subset name: ECSTRE+LiberationSerif


def _direct_stamp(text: str) -> tuple[bytes, float] | None:
    """The stamp as ``_stamp_form`` draws it, written directly with the face prepared once per process
    (ReportLab's canvas subsets the font again for every copy): its content and width, or None when
    ``text`` has a letter outside the face."""
    from ecabinet.pdf import UnsupportedText, prepared_face  # deferred: the parser child runs this file alone

    try:
        glyphs, advance = prepared_face().encode(text)
    except UnsupportedText:
        return None
    content = b"%s g BT /F1 %d Tf %s %s Td <%s> Tj ET" % (
        _num(STAMP_GREY), STAMP_FONT_SIZE, _num(_STAMP_PAD), _num(_STAMP_BASELINE), glyphs)
    return content, advance * STAMP_FONT_SIZE / 1000 + 2 * _STAMP_PAD


@functools.lru_cache(maxsize=256)
def _stamp_font_objects(first: int) -> list[bytes]:
    from ecabinet.pdf import prepared_face  # deferred: the parser child runs this file alone

    return prepared_face().objects(first, _STAMP_FONT_TAG)


def _stamp_form(text: str) -> tuple[bytes, Any, float, float]:
    """The stamp drawn by ReportLab on a page of its own size (a Liberation Serif subset with a
    ToUnicode map, so the text can be extracted): its content, resources, width and height. For a
    name with a letter the prepared face lacks (``_direct_stamp``)."""
    from reportlab.pdfbase.pdfmetrics import stringWidth
    from reportlab.pdfgen.canvas import Canvas

    from ecabinet.pdf import FONT  # deferred: the parser child runs this file alone

    width = stringWidth(text, FONT, STAMP_FONT_SIZE) + 2 * _STAMP_PAD
    buf = io.BytesIO()
    canvas = Canvas(buf, pagesize=(width, _STAMP_HEIGHT), pageCompression=1, invariant=1)
    canvas.setFillGray(STAMP_GREY)
    canvas.setFont(FONT, STAMP_FONT_SIZE)
    canvas.drawString(_STAMP_PAD, _STAMP_BASELINE, text)
    canvas.showPage()
    canvas.save()
    page = PdfReader(io.BytesIO(buf.getvalue())).pages[0]
    content = b"\n".join(_decoded(s) for s in _content_streams(page))
    return content, page.raw_get("/Resources"), width, _STAMP_HEIGHT


def _write_stamped(doc: PreparedDoc, reader_name: str, when: datetime) -> bytes:
    text = stamp_text(reader_name, when)
    next_num = doc.first_new + 2 + len(doc.groups)
    direct = _direct_stamp(text)
    font_objects: list[bytes] = []
    if direct is not None:
        (content, width), height = direct, _STAMP_HEIGHT
        font_objects = _stamp_font_objects(next_num)
        resources = b"<</Font <</F1 %d 0 R>>>>" % next_num
        next_num += len(font_objects)
    else:
        content, resource_dict, width, height = _stamp_form(text)
    numbers: dict[tuple[int, int], int] = {}
    pending: list[IndirectObject] = []

    def renumber(ref: IndirectObject) -> bytes:
        nonlocal next_num
        key = (ref.idnum, ref.generation)
        if key not in numbers:
            numbers[key] = next_num
            next_num += 1
            pending.append(ref)
        return b"%d 0 R" % numbers[key]

    parts = [doc.base, doc.fixed]
    offset = len(doc.base)
    entries = [(num, gen, offset + off) for num, gen, off in doc.fixed_entries]
    offset += len(doc.fixed)

    def emit(num: int, body: bytes) -> None:
        nonlocal offset
        chunk = b"%d 0 obj\n%s\nendobj\n" % (num, body)
        entries.append((num, 0, offset))
        parts.append(chunk)
        offset += len(chunk)

    if direct is None:
        resources = _serialize(resource_dict, renumber)
    form_head = (b"/Type/XObject/Subtype/Form/BBox[0 0 %s %s]/Resources %s/Filter/FlateDecode"
                 % (_num(width), _num(height), resources))
    emit(doc.first_new, _stream_object(form_head, zlib.compress(content)))
    for index, group in enumerate(doc.groups):
        emit(doc.first_new + 2 + index,
             _stream_object(b"", _placement(group, width, doc.xobject_name)))
    for index, body in enumerate(font_objects):
        emit(doc.first_new + 2 + len(doc.groups) + index, body)
    while pending:
        ref = pending.pop(0)
        obj = ref.get_object()
        if isinstance(obj, StreamObject):
            head = b"".join(_serialize(k) + b" " + _serialize(v, renumber)
                            for k, v in obj.items() if k != "/Length")
            body = _stream_object(head, _raw_stream_data(obj))
        else:
            body = _serialize(obj, renumber)
        emit(numbers[(ref.idnum, ref.generation)], body)

    new_id = hashlib.sha256(doc.first_id + _text_key(reader_name, when)).hexdigest()[:32].encode()
    first_id = doc.first_id.hex().encode() if doc.first_id else new_id
    ids = b"/ID [<%s> <%s>]" % (first_id, new_id)
    if doc.xref_stream:
        parts.append(_xref_stream(entries, next_num, offset, doc, ids))
    else:
        parts.append(_xref_table(entries) + b"trailer\n<</Size %d %s %s /Prev %d>>\n"
                     b"startxref\n%d\n%%%%EOF\n" % (next_num, doc.trailer_refs, ids, doc.prev,
                                                   offset))
    return b"".join(parts)


def _text_key(reader_name: str, when: datetime) -> bytes:
    return f"{reader_name}|{when.isoformat()}".encode()


def _num(value: float) -> bytes:
    return (b"%.3f" % value).rstrip(b"0").rstrip(b".")


def _placement(group: _PageGroup, width: float, name: str) -> bytes:
    """Bottom centre of the page as displayed, whatever its /Rotate."""
    llx, lly, urx, ury = group.box
    along = (urx - llx) if group.rotate in (0, 180) else (ury - lly)
    scale = min(1.0, max(along - 2 * STAMP_SIDE, 1.0) / width)
    run = width * scale
    matrix: tuple[float, ...]
    if group.rotate == 90:
        matrix = (0, scale, -scale, 0, urx - STAMP_BOTTOM, lly + (ury - lly - run) / 2)
    elif group.rotate == 180:
        matrix = (-scale, 0, 0, -scale, urx - (urx - llx - run) / 2, ury - STAMP_BOTTOM)
    elif group.rotate == 270:
        matrix = (0, -scale, scale, 0, llx + STAMP_BOTTOM, ury - (ury - lly - run) / 2)
    else:
        matrix = (scale, 0, 0, scale, llx + (urx - llx - run) / 2, lly + STAMP_BOTTOM)
    return b"Q q %s cm %s Do Q\n" % (b" ".join(_num(v) for v in matrix), name.encode())


def _runs(entries: list[tuple[int, int, int]]) -> list[list[tuple[int, int, int]]]:
    runs: list[list[tuple[int, int, int]]] = []
    for entry in sorted(entries):
        if runs and runs[-1][-1][0] + 1 == entry[0]:
            runs[-1].append(entry)
        else:
            runs.append([entry])
    return runs


def _xref_table(entries: list[tuple[int, int, int]]) -> bytes:
    # the free-list head first: some readers take a table not starting at 0 for a broken one
    out = [b"xref\n0 1\n0000000000 65535 f\r\n"]
    for run in _runs(entries):
        out.append(b"%d %d\n" % (run[0][0], len(run)))
        out.extend(b"%010d %05d n\r\n" % (off, gen) for _, gen, off in run)
    return b"".join(out)


def _xref_stream(entries: list[tuple[int, int, int]], num: int, offset: int, doc: PreparedDoc,
                 ids: bytes) -> bytes:
    entries = [*entries, (num, 0, offset)]
    width = max(4, (offset.bit_length() + 7) // 8)
    index: list[int] = []
    rows: list[bytes] = []
    for run in _runs(entries):
        index += [run[0][0], len(run)]
        rows.extend(b"\x01" + off.to_bytes(width, "big") + gen.to_bytes(2, "big")
                    for _, gen, off in run)
    head = (b"/Type/XRef/Size %d/Index[%s]/W[1 %d 2]%s %s/Prev %d/Filter/FlateDecode"
            % (num + 1, b" ".join(b"%d" % i for i in index), width, doc.trailer_refs, ids,
               doc.prev))
    return b"%d 0 obj\n%s\nendobj\nstartxref\n%d\n%%%%EOF\n" % (
        num, _stream_object(head, zlib.compress(b"".join(rows))), offset)


def stamp_copy(data: bytes | PreparedDoc, *, reader_name: str, when: datetime) -> bytes:
    """The document with "Bản của: {name} — {time} (giờ Hà Nội)" at the bottom of every page.

    Appended as an incremental update, so the original bytes stay a prefix (and any signature
    in them still validates). Pass a cached ``prepare_stamp_base(data)`` to skip the parse.
    """
    doc = data if isinstance(data, PreparedDoc) else prepare_stamp_base(data)
    return doc.stamp(reader_name, when)


if __name__ == "__main__" and sys.argv[1:] == [_CHILD_FLAG]:
    _child_main()
