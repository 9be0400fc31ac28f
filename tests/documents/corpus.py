"""Good, bad and hostile PDFs for the upload tests, built in code (no binary fixtures)."""

from __future__ import annotations

import functools
import io
import zipfile
import zlib

from pypdf import PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    FloatObject,
    NameObject,
    NumberObject,
    TextStringObject,
)
from reportlab.pdfgen.canvas import Canvas

from ecabinet.pdf import FONT

VIETNAMESE_LINE = "Tờ trình về việc điều chỉnh quy hoạch — Ủy ban nhân dân thành phố Hà Nội"


def valid_pdf(pages: int = 3, *, text: str = VIETNAMESE_LINE) -> bytes:
    """A ReportLab PDF with Vietnamese text on every page (classic cross-reference table)."""
    buf = io.BytesIO()
    canvas = Canvas(buf, pageCompression=1)
    for number in range(1, pages + 1):
        canvas.setFont(FONT, 12)
        canvas.drawString(72, 760, f"Trang {number}")
        for line in range(30):
            canvas.drawString(72, 730 - 20 * line, f"{text} ({line + 1})")
        canvas.showPage()
    canvas.save()
    return buf.getvalue()


def _rewrite(data: bytes, change) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    change(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _action(writer: PdfWriter, kind: str, **entries) -> object:
    action = DictionaryObject({NameObject("/Type"): NameObject("/Action"),
                               NameObject("/S"): NameObject(kind)})
    for key, value in entries.items():
        action[NameObject(f"/{key}")] = value
    return writer._add_object(action)


def open_action_javascript() -> bytes:
    def change(w: PdfWriter) -> None:
        w.root_object[NameObject("/OpenAction")] = _action(
            w, "/JavaScript", JS=TextStringObject("app.alert('x')"))
    return _rewrite(valid_pdf(), change)


def names_javascript() -> bytes:
    def change(w: PdfWriter) -> None:
        script = _action(w, "/JavaScript", JS=TextStringObject("app.alert('names')"))
        tree = DictionaryObject({NameObject("/Names"): ArrayObject(
            [TextStringObject("startup"), script])})
        w.root_object[NameObject("/Names")] = DictionaryObject(
            {NameObject("/JavaScript"): w._add_object(tree)})
    return _rewrite(valid_pdf(), change)


def launch_action() -> bytes:
    def change(w: PdfWriter) -> None:
        w.root_object[NameObject("/OpenAction")] = _action(
            w, "/Launch", F=TextStringObject("cmd.exe"))
    return _rewrite(valid_pdf(), change)


def embedded_file() -> bytes:
    def change(w: PdfWriter) -> None:
        w.add_attachment("payload.exe", b"MZ\x90\x00 not really")
    return _rewrite(valid_pdf(), change)


def page_additional_actions() -> bytes:
    def change(w: PdfWriter) -> None:
        page = w.pages[1]
        page[NameObject("/AA")] = DictionaryObject({
            NameObject("/O"): _action(w, "/JavaScript", JS=TextStringObject("app.alert(1)"))})
    return _rewrite(valid_pdf(), change)


def _link(w: PdfWriter, action: object) -> object:
    return w._add_object(DictionaryObject({
        NameObject("/Type"): NameObject("/Annot"),
        NameObject("/Subtype"): NameObject("/Link"),
        NameObject("/Rect"): ArrayObject([FloatObject(72), FloatObject(72), FloatObject(200),
                                          FloatObject(90)]),
        NameObject("/Border"): ArrayObject([NumberObject(0)] * 3),
        NameObject("/A"): action,
    }))


def link_javascript() -> bytes:
    """Page 1 has a harmless web link and a link running JavaScript; only the latter goes."""
    def change(w: PdfWriter) -> None:
        safe = _link(w, _action(w, "/URI", URI=TextStringObject("https://chinhphu.vn/")))
        bad = _link(w, _action(w, "/GoTo", D=ArrayObject([NumberObject(0)]),
                               Next=_action(w, "/JavaScript", JS=TextStringObject("x()"))))
        w.pages[0][NameObject("/Annots")] = ArrayObject([safe, bad])
    return _rewrite(valid_pdf(), change)


def xfa_form() -> bytes:
    def change(w: PdfWriter) -> None:
        xdp = DecodedStreamObject()
        xdp.set_data(b"<xdp:xdp xmlns:xdp='http://ns.adobe.com/xdp/'><script>x()</script>"
                     b"</xdp:xdp>")
        w.root_object[NameObject("/AcroForm")] = DictionaryObject({
            NameObject("/Fields"): ArrayObject(),
            NameObject("/XFA"): w._add_object(xdp),
        })
        w.root_object[NameObject("/NeedsRendering")] = NameObject("/true")
    return _rewrite(valid_pdf(), change)


def rich_media() -> bytes:
    def change(w: PdfWriter) -> None:
        annot = w._add_object(DictionaryObject({
            NameObject("/Type"): NameObject("/Annot"),
            NameObject("/Subtype"): NameObject("/RichMedia"),
            NameObject("/Rect"): ArrayObject([NumberObject(0)] * 4),
        }))
        w.pages[2][NameObject("/Annots")] = ArrayObject([annot])
    return _rewrite(valid_pdf(), change)


def encrypted() -> bytes:
    return _rewrite(valid_pdf(), lambda w: w.encrypt("secret", algorithm="AES-128"))


def truncated() -> bytes:
    data = valid_pdf(5)
    return data[: len(data) * 3 // 5]


def empty() -> bytes:
    return b""


def random_bytes() -> bytes:
    return bytes((i * 7919 + 13) % 251 for i in range(4096))


def windows_executable() -> bytes:
    return b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 48 + \
        b"This program cannot be run in DOS mode.\r\r\n$" + b"\x00" * 512


def html() -> bytes:
    return b"<!DOCTYPE html><html><body><script>alert(1)</script>%PDF-1.7?</body></html>"


def zip_archive() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("report.pdf", valid_pdf(1))
    return buf.getvalue()


def polyglot() -> bytes:
    """A PDF behind an HTML prefix longer than the 1024-byte sniff window."""
    return b"<html><body>" + b"<p>padding</p>" * 100 + b"</body></html>\n" + valid_pdf(1)


def _hand_made(objects: list[bytes], *, root: int = 1) -> bytes:
    """A PDF from numbered object bodies (object i+1 is objects[i]) with a correct xref."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f\r\n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n\r\n" % off for off in offsets)
    out += b"trailer\n<</Size %d /Root %d 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, root, xref)
    return bytes(out)


@functools.cache
def flate_bomb() -> bytes:
    """A page whose 1 KB content stream (Flate twice) inflates to 512 MB of spaces."""
    comp = zlib.compressobj(6)
    chunk = b" " * (1 << 20)
    body = zlib.compress(b"".join(comp.compress(chunk) for _ in range(512)) + comp.flush(), 9)
    return _hand_made([
        b"<</Type/Catalog/Pages 2 0 R>>",
        b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
        b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Contents 4 0 R>>",
        b"<</Length %d/Filter[/FlateDecode/FlateDecode]>>\nstream\n" % len(body) + body
        + b"\nendstream",
    ])


def deep_nesting(depth: int = 50_000) -> bytes:
    nested = b"[" * depth + b"]" * depth
    return _hand_made([
        b"<</Type/Catalog/Pages 2 0 R>>",
        b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
        b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Nested " + nested + b">>",
    ])


def no_pages() -> bytes:
    return _hand_made([b"<</Type/Catalog/Pages 2 0 R>>", b"<</Type/Pages/Kids[]/Count 0>>"])


def xref_stream_pdf() -> bytes:
    """Two pages with inherited resources, an indirect contents array, a /Rotate 90 page and a
    cross-reference stream (PDF 1.5 style) instead of a table."""
    font = b"<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>"
    page_text = b"BT /F1 18 Tf 72 700 Td (Page one) Tj ET"
    second = b"BT /F1 18 Tf 72 700 Td (Page two) Tj ET"
    objects = [
        b"<</Type/Catalog/Pages 2 0 R>>",
        b"<</Type/Pages/Kids[3 0 R 4 0 R]/Count 2/Resources<</Font<</F1 5 0 R>>>>"
        b"/MediaBox[0 0 595 842]>>",
        b"<</Type/Page/Parent 2 0 R/Contents 6 0 R>>",
        b"<</Type/Page/Parent 2 0 R/Contents 9 0 R/Rotate 90>>",
        font,
        b"[7 0 R 8 0 R]",
        b"<</Length %d>>\nstream\n" % len(page_text) + page_text + b"\nendstream",
        b"<</Length 1>>\nstream\n \nendstream",
        b"<</Length %d>>\nstream\n" % len(second) + second + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref_num = len(objects) + 1
    xref_offset = len(out)
    rows = b"\x00" + b"\x00" * 4 + b"\xff\xff"
    rows += b"".join(b"\x01" + off.to_bytes(4, "big") + b"\x00\x00"
                     for off in [*offsets, xref_offset])
    data = zlib.compress(rows)
    out += (b"%d 0 obj\n<</Type/XRef/Size %d/W[1 4 2]/Root 1 0 R/Filter/FlateDecode/Length %d>>"
            b"\nstream\n" % (xref_num, xref_num + 1, len(data)) + data + b"\nendstream\nendobj\n")
    out += b"startxref\n%d\n%%%%EOF\n" % xref_offset
    return bytes(out)


def rotated_pdf() -> bytes:
    """Three ReportLab pages; the second shown with /Rotate 90, the third landscape."""
    def change(w: PdfWriter) -> None:
        w.pages[1].rotate(90)
        w.pages[2].mediabox.upper_right = (842, 595)
    return _rewrite(valid_pdf(3), change)


def form_field_scripts() -> bytes:
    """A text field whose parent runs a keystroke script and whose widget runs one on click."""
    def change(w: PdfWriter) -> None:
        parent = w._add_object(DictionaryObject({
            NameObject("/FT"): NameObject("/Tx"),
            NameObject("/T"): TextStringObject("ykien"),
            NameObject("/AA"): DictionaryObject({NameObject("/K"): _action(
                w, "/JavaScript", JS=TextStringObject("event.rc = true"))}),
        }))
        widget = w._add_object(DictionaryObject({
            NameObject("/Type"): NameObject("/Annot"),
            NameObject("/Subtype"): NameObject("/Widget"),
            NameObject("/Parent"): parent,
            NameObject("/Rect"): ArrayObject([NumberObject(72), NumberObject(72),
                                              NumberObject(300), NumberObject(96)]),
            NameObject("/A"): _action(w, "/JavaScript", JS=TextStringObject("submit()")),
        }))
        parent.get_object()[NameObject("/Kids")] = ArrayObject([widget])
        w.pages[0][NameObject("/Annots")] = ArrayObject([widget])
        w.root_object[NameObject("/AcroForm")] = DictionaryObject(
            {NameObject("/Fields"): ArrayObject([parent])})
    return _rewrite(valid_pdf(), change)


def outline_script() -> bytes:
    """Two bookmarks: one opens page 2, the other launches a remote file (GoToR)."""
    def change(w: PdfWriter) -> None:
        w.add_outline_item(title="Trang 2", page_number=1)
        bad = w.add_outline_item(title="Tài liệu khác", page_number=0)
        bad.get_object()[NameObject("/A")] = _action(
            w, "/GoToR", F=TextStringObject("\\\\server\\share\\x.pdf"),
            D=ArrayObject([NumberObject(0), NameObject("/Fit")]))
    return _rewrite(valid_pdf(), change)


def open_at_destination() -> bytes:
    """A harmless /OpenAction: a destination array, not an action."""
    def change(w: PdfWriter) -> None:
        w.root_object[NameObject("/OpenAction")] = ArrayObject(
            [w.pages[1].indirect_reference, NameObject("/Fit")])
    return _rewrite(valid_pdf(), change)


def many_pages(pages: int, *, declared: int | None = None) -> bytes:
    """Minimal pages sharing one content stream; ``declared`` sets a (false) /Count."""
    count = b"%d" % (pages if declared is None else declared)
    count = count.rjust(len(b"%d" % pages), b"0")
    return _hand_made([
        b"<</Type/Catalog/Pages 2 0 R>>",
        b"<</Type/Pages/Kids[" + b" ".join(b"%d 0 R" % (i + 4) for i in range(pages))
        + b"]/Count " + count + b">>",
        b"<</Length 5>>\nstream\nBT ET\nendstream",
        *[b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Contents 3 0 R>>"] * pages,
    ])


def direct_page() -> bytes:
    """A page written inline in /Kids instead of as an object of its own."""
    return _hand_made([
        b"<</Type/Catalog/Pages 2 0 R>>",
        b"<</Type/Pages/Kids[<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Contents 3 0 R"
        b"/Resources<</Font<</F1 4 0 R>>>>>>]/Count 1>>",
        b"<</Length 39>>\nstream\nBT /F1 18 Tf 72 700 Td (Page one) Tj ET\nendstream",
        b"<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>",
    ])
