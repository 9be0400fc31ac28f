"""Shared ReportLab pieces for State-format documents (Decree 30/2020/NĐ-CP, Annex I).

Fonts are registered once per process; styles are built once at import. ``build_document``
returns the PDF and where each reserved signature area landed, so the signing code can put a
visible signature field exactly there.
"""

from __future__ import annotations

import io
import re
import threading
import unicodedata
import zlib
from collections.abc import Iterable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pypdf import PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    FloatObject,
    NameObject,
    NumberObject,
    StreamObject,
    TextStringObject,
)
from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.pdfdoc import PDFCatalog, PDFDictionary, PDFName, PDFStream, PDFZCompress
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from ecabinet.adapters import pypdf_objects, reportlab_document
from ecabinet.signing._font import prepared_font

FONT_DIR = Path(__file__).parent / "fonts"
FONT = "TimesVN"
FONT_BOLD = "TimesVN-Bold"
FONT_ITALIC = "TimesVN-Italic"
FONT_BOLD_ITALIC = "TimesVN-BoldItalic"

try:
    VN_TZ: Any = ZoneInfo("Asia/Ho_Chi_Minh")
except ZoneInfoNotFoundError:  # no tz database: Vietnam has kept UTC+7 without DST since 1975
    VN_TZ = timezone(timedelta(hours=7), "ICT")

PAGE_SIZE = A4
# Decree 30 Annex I: top and bottom 20-25 mm, left 30-35 mm, right 15-20 mm
MARGIN_TOP = 20 * mm
MARGIN_BOTTOM = 20 * mm
MARGIN_LEFT = 30 * mm
MARGIN_RIGHT = 15 * mm
FRAME_WIDTH = PAGE_SIZE[0] - MARGIN_LEFT - MARGIN_RIGHT

MOTTO = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
SLOGAN = "Độc lập - Tự do - Hạnh phúc"
ATTACHMENT_KEY = "/ECabinetData"
_ATTACHMENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

_registered = False


def register_fonts() -> None:
    """Register the Liberation Serif family as TimesVN once per process (<b>/<i> then work)."""
    global _registered
    if _registered:
        return
    for name, file in ((FONT, "Regular"), (FONT_BOLD, "Bold"), (FONT_ITALIC, "Italic"),
                       (FONT_BOLD_ITALIC, "BoldItalic")):
        pdfmetrics.registerFont(TTFont(name, str(FONT_DIR / f"LiberationSerif-{file}.ttf")))
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=FONT_BOLD, italic=FONT_ITALIC,
                                  boldItalic=FONT_BOLD_ITALIC)
    _registered = True


register_fonts()


def _style(name: str, **kw: Any) -> ParagraphStyle:
    base: dict[str, Any] = {"fontName": FONT, "fontSize": 14, "leading": 17}
    base.update(kw)
    return ParagraphStyle(name, **base)


# Sizes from Decree 30 Annex I: body 13-14, motto 12-13 bold caps, slogan 13-14 bold,
# place/date 13-14 italic, document type 13-14 bold caps, signer title caps bold, name bold.
STYLES: dict[str, ParagraphStyle] = {
    "body": _style("body", alignment=TA_JUSTIFY, firstLineIndent=10 * mm, spaceAfter=6),
    "body_plain": _style("body_plain", alignment=TA_JUSTIFY, spaceAfter=6),
    "heading": _style("heading", fontName=FONT_BOLD, spaceBefore=6, spaceAfter=6),
    "body_parent": _style("body_parent", fontSize=13, leading=15, alignment=TA_CENTER),
    "body_name": _style("body_name", fontName=FONT_BOLD, fontSize=13, leading=15,
                        alignment=TA_CENTER),
    "number": _style("number", fontSize=13, leading=15, alignment=TA_CENTER),
    "motto": _style("motto", fontName=FONT_BOLD, fontSize=12, leading=15, alignment=TA_CENTER),
    "slogan": _style("slogan", fontName=FONT_BOLD, fontSize=13, leading=15, alignment=TA_CENTER),
    "place_date": _style("place_date", fontName=FONT_ITALIC, fontSize=13, leading=15,
                         alignment=TA_CENTER),
    "title": _style("title", fontName=FONT_BOLD, alignment=TA_CENTER, spaceBefore=12),
    "subtitle": _style("subtitle", fontName=FONT_BOLD, alignment=TA_CENTER),
    "sign_authority": _style("sign_authority", fontName=FONT_BOLD, alignment=TA_CENTER),
    "sign_role": _style("sign_role", fontName=FONT_BOLD, alignment=TA_CENTER),
    "sign_name": _style("sign_name", fontName=FONT_BOLD, alignment=TA_CENTER),
    "page_number": _style("page_number", fontSize=13),
}


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def paragraph(text: str, style: str | ParagraphStyle = "body") -> Paragraph:
    """A Paragraph from plain text: NFC-normalised and XML-escaped (no markup interpreted)."""
    return Paragraph(escape(nfc(text)), STYLES[style] if isinstance(style, str) else style)


def to_vn_time(dt: datetime) -> datetime:
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("an aware datetime is required")
    return dt.astimezone(VN_TZ)


def vietnamese_date(dt: datetime) -> str:
    """``ngày 05 tháng 02 năm 2026`` in Hanoi time.

    Decree 30 Annex I: days below 10 and the months 1 and 2 take a leading zero.
    """
    local = to_vn_time(dt)
    day = f"{local.day:02d}"
    month = f"{local.month:02d}" if local.month <= 2 else str(local.month)
    return f"ngày {day} tháng {month} năm {local.year}"


def place_date(place: str, dt: datetime) -> str:
    return f"{nfc(place)}, {vietnamese_date(dt)}"


def format_vn_datetime(dt: datetime, *, seconds: bool = False) -> str:
    """``23/11/2026 14:05`` (or with seconds) in Hanoi time."""
    return to_vn_time(dt).strftime("%d/%m/%Y %H:%M:%S" if seconds else "%d/%m/%Y %H:%M")


class Rule(Flowable):
    """A horizontal line of a given length, centred in the available width."""

    def __init__(self, length: float, *, thickness: float = 0.6, space_before: float = 4,
                 space_after: float = 3) -> None:
        super().__init__()
        self.length = length
        self.thickness = thickness
        self.space_before = space_before
        self.space_after = space_after

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        self.avail_width = avail_width
        return avail_width, self.space_before + self.thickness + self.space_after

    def draw(self) -> None:
        x = (self.avail_width - self.length) / 2
        y = self.space_after + self.thickness / 2
        self.canv.setLineWidth(self.thickness)
        self.canv.line(x, y, x + self.length, y)


def _text_width(text: str, style: ParagraphStyle) -> float:
    return pdfmetrics.stringWidth(text, style.fontName, style.fontSize)


def decree30_header(issuing_body_lines: Sequence[str], number_symbol: str,
                    place_date: str) -> list[Flowable]:
    """The two-column heading: issuing body and number on the left, motto and date on the right.

    ``issuing_body_lines`` runs from the parent body down; the last line is the issuing body
    (bold), any line above it is the parent body (regular). ``number_symbol`` is what follows
    "Số: ", e.g. ``"12/BB-VPCP"``.
    """
    if not issuing_body_lines:
        raise ValueError("issuing_body_lines must not be empty")
    lines = [nfc(line).upper() for line in issuing_body_lines]
    left: list[Flowable] = [paragraph(line, "body_parent") for line in lines[:-1]]
    left.append(paragraph(lines[-1], "body_name"))
    # a rule 1/3 to 1/2 the length of the body's name, centred under it
    left.append(Rule(_text_width(lines[-1], STYLES["body_name"]) * 0.4))
    right: list[Flowable] = [
        paragraph(MOTTO, "motto"),
        paragraph(SLOGAN, "slogan"),
        Rule(_text_width(SLOGAN, STYLES["slogan"])),  # as long as the slogan
    ]
    left_width = FRAME_WIDTH * 0.4
    table = Table(
        [[left, right],
         [paragraph(f"Số: {nfc(number_symbol)}", "number"), paragraph(place_date, "place_date")]],
        colWidths=[left_width, FRAME_WIDTH - left_width],
        style=TableStyle([
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LEFTPADDING", (0, 0), (-1, -1), 0),
            ("RIGHTPADDING", (0, 0), (-1, -1), 0),
            ("TOPPADDING", (0, 0), (-1, -1), 0),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
        ]),
        hAlign="CENTER",
    )
    return [table]


#: the "độ mật" stamp of a classified document (Law on Protection of State Secrets; Circular 24/2020/TT-BCA)
SECRECY_MARKS = {"confidential": "MẬT", "secret": "TỐI MẬT", "top_secret": "TUYỆT MẬT"}


def secrecy_mark(level: str | None) -> list[Flowable]:
    """The level's marking in a red box under the number and symbol; nothing for a normal document."""
    mark = SECRECY_MARKS.get(str(level or "normal"))
    if mark is None:
        return []
    style = ParagraphStyle("secrecy_mark", parent=STYLES["body_name"],
                           textColor="#c00000", alignment=0)  # type: ignore[arg-type]  # ReportLab takes any colour spec
    table = Table([[paragraph(mark, style)]], colWidths=[_text_width(mark, style) + 6 * mm],
                  style=TableStyle([("BOX", (0, 0), (-1, -1), 1.2, "#c00000"), ("ALIGN", (0, 0), (-1, -1), "CENTER"),
                                    ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 3)]),
                  hAlign="LEFT")
    return [Spacer(1, 2 * mm), table]


def title_block(title: str, subtitle: str | None = None) -> list[Flowable]:
    """The document type in bold capitals and, when given, its summary line with a short rule."""
    out: list[Flowable] = [Spacer(1, 6 * mm), paragraph(nfc(title).upper(), "title")]
    if subtitle:
        out.append(paragraph(subtitle, "subtitle"))
        out.append(Rule(min(_text_width(nfc(subtitle), STYLES["subtitle"]) * 0.4, 60 * mm)))
    out.append(Spacer(1, 6 * mm))
    return out


class SignatureBoxPlacement(NamedTuple):
    page_index: int  # 0-based
    rect: tuple[float, float, float, float]  # x1, y1, x2, y2 in PDF points, origin bottom-left


_placements: ContextVar[dict[str, SignatureBoxPlacement] | None] = ContextVar(
    "signature_box_placements", default=None)


class SignatureBox(Flowable):
    """An empty area reserved for a signature appearance; records where it was drawn."""

    def __init__(self, key: str, width: float, height: float) -> None:
        super().__init__()
        self.key = key
        self.box_width = width
        self.box_height = height

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        self.avail_width = avail_width
        return avail_width, self.box_height

    def draw(self) -> None:
        x = max(0.0, (self.avail_width - self.box_width) / 2)
        x1, y1 = self.canv.absolutePosition(x, 0)
        x2, y2 = self.canv.absolutePosition(x + min(self.box_width, self.avail_width),
                                            self.box_height)
        recorded = _placements.get()
        if recorded is not None:
            rect = (round(min(x1, x2), 2), round(min(y1, y2), 2),
                    round(max(x1, x2), 2), round(max(y1, y2), 2))
            recorded[self.key] = SignatureBoxPlacement(self.canv.getPageNumber() - 1, rect)


@dataclass(frozen=True)
class SignatureBlockSpec:
    key: str  # names the box in BuiltDocument.signature_boxes, e.g. "secretary"
    role: str  # e.g. "THƯ KÝ", "CHỦ TỌA"
    full_name: str
    authority: str | None = None  # a line above the role, e.g. "TM. CHÍNH PHỦ"
    box_width: float = 60 * mm
    box_height: float = 28 * mm


def signature_blocks(blocks: Sequence[SignatureBlockSpec]) -> list[Flowable]:
    """Signer columns side by side (one signer sits on the right half), kept on one page."""
    if not blocks:
        return []
    keys = [b.key for b in blocks]
    if len(set(keys)) != len(keys):
        raise ValueError("signature block keys must be unique")
    cells: list[list[Flowable]] = []
    for spec in blocks:
        cell: list[Flowable] = []
        if spec.authority:
            cell.append(paragraph(nfc(spec.authority).upper(), "sign_authority"))
        cell.append(paragraph(nfc(spec.role).upper(), "sign_role"))
        cell.append(SignatureBox(spec.key, spec.box_width, spec.box_height))
        cell.append(paragraph(spec.full_name, "sign_name"))
        cells.append(cell)
    row: list[Any] = list(cells)
    if len(cells) == 1:
        row.insert(0, "")
    widths = [FRAME_WIDTH / len(row)] * len(row)
    table = Table([row], colWidths=widths, style=TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 2),
        ("RIGHTPADDING", (0, 0), (-1, -1), 2),
    ]))
    return [KeepTogether([Spacer(1, 6 * mm), table])]


@dataclass(frozen=True)
class BuiltDocument:
    pdf: bytes
    page_count: int
    signature_boxes: dict[str, SignatureBoxPlacement] = field(default_factory=dict)


def _draw_page_number(canvas: Canvas, doc: SimpleDocTemplate) -> None:
    # Decree 30: page numbers centred in the top margin, none on the first page
    canvas.saveState()
    canvas.setFont(FONT, STYLES["page_number"].fontSize)
    canvas.drawCentredString(MARGIN_LEFT + FRAME_WIDTH / 2, PAGE_SIZE[1] - MARGIN_TOP / 2 - 4,
                             str(doc.page))
    canvas.restoreState()


def _no_decoration(canvas: Canvas, doc: SimpleDocTemplate) -> None:
    return None


# ReportLab's TrueType subsetting shares per-face state between documents: two threads rendering
# at once corrupt each other's subset (IndexError in makeSubset), so renders take turns.
_RENDER_LOCK = threading.Lock()


def with_signature_fields(document: bytes, fields: dict[str, SignatureBoxPlacement]) -> bytes:
    """``document`` rewritten (still one revision) with an empty signature field over each box.

    A document prepared for signing with the signer's own tool carries its fields: the tool signs
    into the named one, and the upload check holds the signature to that field's rectangle.
    """
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(document)))
    made = []
    for name, box in fields.items():
        page = writer.pages[box.page_index]
        field = pypdf_objects.add_object(writer, DictionaryObject({
            NameObject("/Type"): NameObject("/Annot"), NameObject("/Subtype"): NameObject("/Widget"),
            NameObject("/FT"): NameObject("/Sig"), NameObject("/T"): TextStringObject(name),
            NameObject("/F"): NumberObject(132), NameObject("/P"): page.indirect_reference,
            NameObject("/Rect"): ArrayObject([FloatObject(round(value, 2)) for value in box.rect])}))
        annots = page.get("/Annots")
        page[NameObject("/Annots")] = ArrayObject([*(annots.get_object() if annots else []), field])
        made.append(field)
    writer.root_object[NameObject("/AcroForm")] = DictionaryObject({NameObject("/Fields"): ArrayObject(made)})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def build_document(flowables: Iterable[Flowable], *, page_numbers: bool = True, title: str = "",
                   author: str = "", subject: str = "",
                   metadata_attachments: dict[str, bytes] | None = None) -> BuiltDocument:
    """Render an A4 story with Decree 30 margins; report each signature box's page and rectangle.

    ``metadata_attachments`` (name → bytes, names like ``answers.json``) are stored inside the
    PDF under a custom catalog entry, so a later signature covers them; read them back with
    ``read_attachment``. Not an /EmbeddedFiles entry on purpose: uploads have those stripped as
    active content, and a signed document must never need rewriting.
    """
    for name in metadata_attachments or {}:
        if not _ATTACHMENT_NAME.match(name):
            raise ValueError(f"invalid attachment name: {name!r}")
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out, pagesize=PAGE_SIZE, leftMargin=MARGIN_LEFT, rightMargin=MARGIN_RIGHT,
        topMargin=MARGIN_TOP, bottomMargin=MARGIN_BOTTOM, title=nfc(title), author=nfc(author),
        subject=nfc(subject), creator="e-Cabinet", lang="vi-VN",
    )
    recorded: dict[str, SignatureBoxPlacement] = {}
    token = _placements.set(recorded)
    try:
        later = _draw_page_number if page_numbers else _no_decoration
        first = _attaching(metadata_attachments) if metadata_attachments else _no_decoration
        with _RENDER_LOCK:
            doc.build(list(flowables), onFirstPage=first, onLaterPages=later)
    finally:
        _placements.reset(token)
    return BuiltDocument(pdf=out.getvalue(), page_count=doc.page, signature_boxes=recorded)


def _attaching(attachments: dict[str, bytes]) -> Any:
    """A first-page hook that writes ``attachments`` into the catalog ReportLab is about to write.

    The entry is part of the document's only revision (rewriting the whole file with pypdf to add
    it would cost a third of the rendering time): ``/ECabinetData`` is a direct dictionary in
    the catalog, each name an indirect Flate stream of ``/Type /ECabinetAttachment``.
    """
    def first_page(canvas: Canvas, doc: SimpleDocTemplate) -> None:
        document = reportlab_document.pdf_document(canvas)
        catalog = document.Catalog
        entries = {name: document.Reference(PDFStream(
            PDFDictionary({"Type": PDFName("ECabinetAttachment")}), data, filters=[PDFZCompress]))
            for name, data in attachments.items()}
        # PDFCatalog writes only the keys it lists; an instance list adds ours to them
        catalog.__NoDefault__ = [*PDFCatalog.__NoDefault__, ATTACHMENT_KEY[1:]]
        catalog.ECabinetData = PDFDictionary(entries)
    return first_page


def read_attachment(pdf_bytes: bytes, name: str) -> bytes | None:
    """The bytes stored by ``build_document(metadata_attachments=...)`` under ``name``, or None."""
    if not _ATTACHMENT_NAME.match(name):
        return None
    reader = PdfReader(io.BytesIO(pdf_bytes))
    entries = reader.root_object.get(ATTACHMENT_KEY)
    entries = entries.get_object() if entries is not None else None
    stream = entries.get(f"/{name}") if isinstance(entries, DictionaryObject) else None
    stream = stream.get_object() if stream is not None else None
    return stream.get_data() if isinstance(stream, StreamObject) else None


# --- Text written straight into PDF objects, without ReportLab ---------------------------------

#: what a prepared face carries: Vietnamese (NFC), Latin-1 and common punctuation, a third of the
#: signature font's repertoire (the answer slip and the reader's stamp both use these faces)
FACE_REPERTOIRE = frozenset(
    set(range(0x20, 0x7F)) | set(range(0xA0, 0x100))
    | {0x102, 0x103, 0x110, 0x111, 0x128, 0x129, 0x168, 0x169, 0x1A0, 0x1A1, 0x1AF, 0x1B0}  # Ă Đ Ĩ Ũ Ơ Ư
    | set(range(0x1EA0, 0x1EFA))  # Ạ … ỹ
    | set(range(0x2010, 0x2028)) | set(range(0x2030, 0x2040)) | {0x20AB, 0x20AC, 0x2116}  # – “ ” … ‰ ₫ € №
)


class UnsupportedText(Exception):
    """A character the prepared face lacks: the caller lays the text out with ReportLab instead."""


class PreparedFace:
    """A Liberation Serif face cut once per process to ``FACE_REPERTOIRE`` (glyph ids kept), and its
    PDF objects: every document embeds the same program, where ReportLab subsets the font anew for
    each one (for a one-line stamp, most of its time). Text is shown as Identity-H glyph ids."""

    def __init__(self, style: str) -> None:
        self.prepared = prepared_font(FONT_DIR / f"LiberationSerif-{style}.ttf", FACE_REPERTOIRE)
        tt = self.prepared.tt
        self.style = style
        self.gids = {code: tt.getGlyphID(name) for code, name in tt.getBestCmap().items()}
        self.widths = self.prepared.widths  # 1/1000 em, as /W declares them
        self.space = self.gids[0x20]
        scale = 1000 / tt["head"].unitsPerEm
        self.ascent = tt["hhea"].ascent * scale
        head = tt["head"]
        codes = {gid: code for code, gid in sorted(self.gids.items(), reverse=True)}  # the lowest code
        pairs = [f"<{gid:04X}> <{chr(code).encode('utf-16-be').hex().upper()}>" for gid, code in sorted(codes.items())]
        cmap = "\n".join([
            "/CIDInit /ProcSet findresource begin 12 dict begin begincmap",
            "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def",
            "/CMapName /Adobe-Identity-UCS def /CMapType 2 def 1 begincodespacerange <0000> <FFFF> endcodespacerange",
            *(f"{len(pairs[i:i + 100])} beginbfchar\n" + "\n".join(pairs[i:i + 100]) + "\nendbfchar"
              for i in range(0, len(pairs), 100)),
            "endcmap CMapName currentdict /CMap defineresource pop end end"])
        self._to_unicode = pdf_stream(zlib.compress(cmap.encode()))
        program = _dated_as_its_source(zlib.decompress(self.prepared.compressed_program))
        self._program = pdf_stream(zlib.compress(program), f"/Length1 {len(program)} ")
        self._w = " ".join(f"{gid} [{self.widths[gid]}]" for gid in sorted(codes))
        self._bbox = " ".join(str(round(v * scale)) for v in (head.xMin, head.yMin, head.xMax, head.yMax))
        self._metrics = (f"/ItalicAngle {tt['post'].italicAngle} /Ascent {round(self.ascent)} "
                         f"/Descent {round(tt['hhea'].descent * scale)} "
                         f"/CapHeight {round(tt['OS/2'].sCapHeight * scale)} /StemV 80")

    def encode(self, text: str) -> tuple[bytes, float]:
        """``text`` (NFC) as Identity-H glyph ids in hex, and its advance in 1/1000 em."""
        try:
            gids = [self.gids[ord(char)] for char in text]
        except KeyError:
            raise UnsupportedText() from None
        return "".join(f"{gid:04X}" for gid in gids).encode(), float(sum(self.widths[gid] for gid in gids))

    def objects(self, first: int, tag: str) -> list[bytes]:
        """The Type0 font numbered ``first``, then its CIDFont, descriptor, program and ToUnicode map;
        ``tag``: four capitals that, with two of the style, make the subset's name (ISO 32000-1, 9.6.4)."""
        name = f"/{tag}{self.style[:2].upper()}+{self.prepared.ps_name}"
        italic = "Italic" in self.style
        return [
            f"<< /Type /Font /Subtype /Type0 /BaseFont {name} /Encoding /Identity-H "
            f"/DescendantFonts [{first + 1} 0 R] /ToUnicode {first + 4} 0 R >>".encode(),
            f"<< /Type /Font /Subtype /CIDFontType2 /BaseFont {name} /CIDToGIDMap /Identity /CIDSystemInfo "
            f"<< /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /FontDescriptor {first + 2} 0 R "
            f"/DW 1000 /W [{self._w}] >>".encode(),
            # flags: serif, non-symbolic (and italic)
            f"<< /Type /FontDescriptor /FontName {name} /Flags {34 + 64 * italic} /FontBBox [{self._bbox}] "
            f"{self._metrics} /FontFile2 {first + 3} 0 R >>".encode(),
            self._program,
            self._to_unicode,
        ]


def _dated_as_its_source(program: bytes) -> bytes:
    """The cut program with its source's dates: fontTools writes the time of the cut into 'head', and a
    document written twice (a reader's copy, in another process or after a restore) must be the same bytes."""
    from fontTools.ttLib import TTFont as FontToolsFont

    font = FontToolsFont(io.BytesIO(program), recalcTimestamp=False)
    font["head"].modified = font["head"].created
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


@cache
def prepared_face(style: str = "Regular") -> PreparedFace:
    """The face of ``style`` (Regular, Bold, Italic), prepared on first use (about 0.2 s)."""
    return PreparedFace(style)


def pdf_stream(compressed: bytes, extra: str = "", kind: str = "") -> bytes:
    """A Flate stream object's body; ``extra`` and ``kind`` are dictionary entries, each ending in a space."""
    return (f"<< {kind}/Filter /FlateDecode {extra}/Length {len(compressed)} >>\nstream\n".encode()
            + compressed + b"\nendstream")
