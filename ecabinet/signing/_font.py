"""The signature appearance font, prepared once per process.

pyHanko's ``GlyphAccumulatorFactory`` re-parses the TTF and subsets it with fontTools for
every signature (about 70 ms, several times the rest of the signing). Here the font is cut
once to Latin and Vietnamese with glyph ids kept, and every signature embeds that same
compressed program (about 32 KB). Text outside that repertoire renders as .notdef.

This subclasses pyHanko's ``GlyphAccumulator`` and reuses its internals (pinned 0.38.0).
It also works in PDF glyph space (1/1000 em): pyHanko 0.38.0 writes /W widths and TJ
adjustments in font units, which spreads the letters of a 2048-unit TrueType font to twice
their width.
"""

from __future__ import annotations

import unicodedata
import zlib
from dataclasses import dataclass
from functools import cache
from io import BytesIO
from pathlib import Path

import uharfbuzz as hb
from fontTools import subset, ttLib
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.font.api import FontEngine, FontEngineFactory, ShapeResult
from pyhanko.pdf_utils.font.opentype import CIDFontType2, GlyphAccumulator, _read_ps_name
from pyhanko.pdf_utils.writer import BasePdfFileWriter

_REPERTOIRE = frozenset(
    set(range(0x20, 0x7F))
    | set(range(0xA0, 0x250))  # Latin-1, Latin Extended-A and -B (Ă Đ Ơ Ư)
    | set(range(0x300, 0x370))  # combining marks
    | set(range(0x1E00, 0x1F00))  # Latin Extended Additional (ạ ả ấ ầ … ỹ)
    | set(range(0x2010, 0x2050))  # dashes, quotes, ellipsis
    | {0x20AB, 0x20AC, 0x2116}  # ₫ € №
)
_GLYPH_SPACE = 1000
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
        self.hb_font.scale = (_GLYPH_SPACE, _GLYPH_SPACE)
        self.tt = ttLib.TTFont(BytesIO(data))
        for tag in _TABLES:
            self.tt[tag]
        upem = self.tt["head"].unitsPerEm
        metrics = self.tt["hmtx"].metrics
        self.widths = [
            round(metrics[name][0] * _GLYPH_SPACE / upem) for name in self.tt.getGlyphOrder()
        ]
        self.ps_name = _read_ps_name(self.tt)
        self.reverse_cmap = self.tt["cmap"].buildReversed()


@cache
def prepared_font(path: Path, repertoire: frozenset[int] = _REPERTOIRE) -> PreparedFont:
    """The prepared font for ``path`` (and ``repertoire``), built on first use (about 0.2 s)."""
    return PreparedFont(path, repertoire)


class _PreparedCIDFont(CIDFontType2):
    def __init__(self, font: PreparedFont, subset_prefix: str) -> None:
        super().__init__(font.tt, font.ps_name, subset_prefix)
        self._prepared = font

    def set_font_file(self, writer: BasePdfFileWriter) -> generic.IndirectObject:
        stream = generic.StreamObject(
            {
                generic.pdf_name("/Filter"): generic.pdf_name("/FlateDecode"),
                generic.pdf_name("/Length1"): generic.NumberObject(self._prepared.program_length),
            },
            encoded_data=self._prepared.compressed_program,
        )
        ref = writer.add_object(stream)
        self._font_descriptor[generic.pdf_name("/FontFile2")] = ref
        return ref


class _PreparedGlyphAccumulator(GlyphAccumulator):
    def __init__(
        self, writer: BasePdfFileWriter, font: PreparedFont, font_size: int, obj_stream: object
    ) -> None:
        # GlyphAccumulator.__init__ parses the font file; set up the same state from the cache
        FontEngine.__init__(
            self,
            writer,
            font.ps_name,
            embedded_subset=True,
            obj_stream=obj_stream,
            font_size=font_size,
        )
        self.hb_font = font.hb_font
        self.tt = font.tt
        self._font_ref = writer.allocate_placeholder()
        self.cidfont_obj = _PreparedCIDFont(font, self.subset_prefix)
        self.cff_charset = None
        self.use_raw_gids = True
        self.features = None
        self.units_per_em = _GLYPH_SPACE
        self._glyphs: dict[int, tuple[int, int]] = {}
        self._widths = font.widths
        self._cid_to_unicode: dict[int, str] = {}
        self._GlyphAccumulator__reverse_cmap = font.reverse_cmap
        self.ot_language_tag = self.ot_script_tag = None
        self.writing_direction = None
        self.bcp47_lang_code = "vi"
        # the program is already cut; GlyphAccumulator's subsetting would destroy the cache
        self._subset_created = True
        self._write_prepared = False

    def _get_cid_and_width(self, glyph_id: int) -> tuple[int, int]:
        # identity CID-to-GID map, widths already in glyph space
        result = self._glyphs[glyph_id] = (glyph_id, self._widths[glyph_id])
        return result

    def shape(self, txt: str, with_actual_text: bool = True) -> ShapeResult:
        return super().shape(unicodedata.normalize("NFC", txt), with_actual_text)


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
        return _PreparedGlyphAccumulator(
            writer, prepared_font(self.font_path), self.font_size, obj_stream
        )
