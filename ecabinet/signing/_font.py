"""The signature appearance font, prepared once per process.

pyHanko's own TrueType engine re-parses the TTF and subsets it with fontTools for every signature
(about 70 ms, several times the rest of the signing). Here the font is cut once to Latin and
Vietnamese with glyph ids kept, and every signature embeds that same compressed program (about
32 KB) through the engine in ecabinet.adapters.pyhanko_signing. Text outside that repertoire
renders as .notdef.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from functools import cache
from io import BytesIO
from pathlib import Path

import uharfbuzz as hb
from fontTools import subset, ttLib
from pyhanko.pdf_utils.font.api import FontEngineFactory
from pyhanko.pdf_utils.font.opentype import GlyphAccumulator
from pyhanko.pdf_utils.writer import BasePdfFileWriter

from ecabinet.adapters.pyhanko_signing import GLYPH_SPACE, PreparedGlyphAccumulator, postscript_name

_REPERTOIRE = frozenset(
    set(range(0x20, 0x7F))
    | set(range(0xA0, 0x250))  # Latin-1, Latin Extended-A and -B (Ă Đ Ơ Ư)
    | set(range(0x300, 0x370))  # combining marks
    | set(range(0x1E00, 0x1F00))  # Latin Extended Additional (ạ ả ấ ầ … ỹ)
    | set(range(0x2010, 0x2050))  # dashes, quotes, ellipsis
    | {0x20AB, 0x20AC, 0x2116}  # ₫ € №
)
# tables read while shaping and embedding; loaded up front so threads only ever read
_TABLES = ("head", "hhea", "OS/2", "post", "hmtx", "cmap", "maxp", "name", "loca", "glyf")


class PreparedFont:
    """A subset font program and its parsed forms, shared read-only by all signatures."""

    def __init__(self, path: Path, repertoire: frozenset[int] = _REPERTOIRE) -> None:
        # the head table keeps the font's own dates: saved with today's, every process embedded a
        # different program, and the same slip signed twice differed in more than its signature
        tt = ttLib.TTFont(BytesIO(path.read_bytes()), recalcTimestamp=False)
        options = subset.Options(layout_closure=False, retain_gids=True, hinting=False)
        # no GSUB/GPOS: NFC text needs no shaping beyond the cmap, and no ligature
        # may point at a glyph outside the subset; FFTM is FontForge metadata
        options.drop_tables += ["GPOS", "GDEF", "GSUB", "FFTM"]
        subsetter = subset.Subsetter(options=options)
        subsetter.populate(unicodes=repertoire)
        subsetter.subset(tt)
        program = BytesIO()
        tt.save(program)
        data = program.getvalue()
        self.compressed_program = zlib.compress(data)
        self.program_length = len(data)
        self.hb_font = hb.Font(hb.Face(data))
        self.hb_font.scale = (GLYPH_SPACE, GLYPH_SPACE)
        self.tt = ttLib.TTFont(BytesIO(data))
        for tag in _TABLES:
            self.tt[tag]
        upem = self.tt["head"].unitsPerEm
        metrics = self.tt["hmtx"].metrics
        self.widths = [
            round(metrics[name][0] * GLYPH_SPACE / upem) for name in self.tt.getGlyphOrder()
        ]
        self.ps_name = postscript_name(self.tt)
        self.reverse_cmap = self.tt["cmap"].buildReversed()


@cache
def prepared_font(path: Path, repertoire: frozenset[int] = _REPERTOIRE) -> PreparedFont:
    """The prepared font for ``path`` (and ``repertoire``), built on first use (about 0.2 s)."""
    return PreparedFont(path, repertoire)


@dataclass(frozen=True)
class PreparedFontFactory(FontEngineFactory):
    """A pyHanko font engine factory backed by :func:`prepared_font`."""

    font_path: Path
    font_size: int

    def create_font_engine(
        self, writer: BasePdfFileWriter, obj_stream: object = None
    ) -> GlyphAccumulator:
        if obj_stream is None and writer.stream_xrefs:
            obj_stream = writer.prepare_object_stream()
        return PreparedGlyphAccumulator(
            writer, prepared_font(self.font_path), self.font_size, obj_stream
        )
