"""The pyHanko internals the signature appearance font and the signer's kept attribute rely on.

A font engine: pyHanko's public font API is ``FontEngineFactory``, and its one TrueType engine,
``GlyphAccumulator``, parses the font file in its constructor and subsets it with fontTools on writing
(about 70 ms a signature, several times the rest of the signing); nothing public takes a font already cut.
So the engine here subclasses it and sets up the state its constructor would (``_font_ref``, ``_glyphs``,
``_cid_to_unicode``, the name-mangled ``__reverse_cmap``, ``_subset_created`` and ``_write_prepared``),
overrides ``_get_cid_and_width`` for widths in PDF glyph space (pyHanko 0.38.0 writes /W widths and TJ
adjustments in font units, which spreads the letters of a 2048-unit TrueType font to twice their width),
names the font with ``_read_ps_name`` and embeds the program through ``CIDFontType2._font_descriptor``.

A signer: its signed attributes come from ``Signer._signed_attr_providers`` ("Internal API" in pyHanko);
no public setting replaces one provider by another.
"""

from __future__ import annotations

import unicodedata
from typing import Any, Protocol

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.font.api import FontEngine, ShapeResult
from pyhanko.pdf_utils.font.opentype import CIDFontType2, GlyphAccumulator, _read_ps_name
from pyhanko.pdf_utils.writer import BasePdfFileWriter
from pyhanko.sign import signers
from pyhanko.sign.attributes import CMSAttributeProvider

PINNED = "0.38.0"
GLYPH_SPACE = 1000  # PDF glyph space: 1/1000 em


class PreparedProgram(Protocol):
    """A font cut once (ecabinet.signing._font.PreparedFont): its parsed forms and its program."""

    tt: Any  # fontTools.ttLib.TTFont
    hb_font: Any  # uharfbuzz.Font, scaled to GLYPH_SPACE
    ps_name: str
    widths: list[int]  # by glyph id, in GLYPH_SPACE
    reverse_cmap: dict[str, int]
    compressed_program: bytes
    program_length: int


def postscript_name(tt: Any) -> str:
    """The font's PostScript name as pyHanko names an embedded font."""
    return _read_ps_name(tt)


class _PreparedCIDFont(CIDFontType2):
    def __init__(self, font: PreparedProgram, subset_prefix: str) -> None:
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


class PreparedGlyphAccumulator(GlyphAccumulator):
    """pyHanko's TrueType engine on a font already cut: every signature embeds the same program, with
    glyph ids kept (an identity CID-to-GID map) and widths in glyph space; text is shaped as NFC."""

    def __init__(
        self, writer: BasePdfFileWriter, font: PreparedProgram, font_size: int, obj_stream: object
    ) -> None:
        # GlyphAccumulator.__init__ parses the font file; set up the same state from the prepared font
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
        self.units_per_em = GLYPH_SPACE
        self._glyphs: dict[int, tuple[int, int]] = {}
        self._widths = font.widths
        self._cid_to_unicode: dict[int, str] = {}
        self._GlyphAccumulator__reverse_cmap = font.reverse_cmap
        self.ot_language_tag = self.ot_script_tag = None
        self.writing_direction = None
        self.bcp47_lang_code = "vi"
        # the program is already cut; GlyphAccumulator's subsetting would destroy the shared font
        self._subset_created = True
        self._write_prepared = False

    def _get_cid_and_width(self, glyph_id: int) -> tuple[int, int]:
        result = self._glyphs[glyph_id] = (glyph_id, self._widths[glyph_id])
        return result

    def shape(self, txt: str, with_actual_text: bool = True) -> ShapeResult:
        return super().shape(unicodedata.normalize("NFC", txt), with_actual_text)


class ProviderReplacingSigner(signers.Signer):
    """A pyHanko signer whose standard signed-attribute providers each pass through
    :meth:`replace_attribute_provider` before they build the signature's attributes."""

    def replace_attribute_provider(self, provider: CMSAttributeProvider) -> CMSAttributeProvider:
        """The provider to use in place of ``provider`` (itself unless a subclass says otherwise)."""
        return provider

    def _signed_attr_providers(self, *args: object, **kwargs: object) -> list[CMSAttributeProvider]:
        return [
            self.replace_attribute_provider(provider)
            for provider in super()._signed_attr_providers(*args, **kwargs)  # type: ignore[arg-type]  # passed through as given
        ]
