"""Diacritic folding, tokens, snippets and PDF text: the same Python on SQLite and PostgreSQL.

Folding happens here rather than in the database (no ``unaccent``, no FTS5 ``remove_diacritics``) so
that an index row and a query are reduced to the very same tokens on both engines.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import unicodedata
from dataclasses import dataclass

log = logging.getLogger(__name__)

# Combining marks left by NFD: Vietnamese tones and vowel marks live in the first block.
_MARKS = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
_TOKEN = re.compile(r"[^\W_]+")
MAX_TOKEN_CHARS = 64  # longer "words" are hashes or garbage; PostgreSQL refuses lexemes over 2 KB anyway
# PostgreSQL refuses a tsvector over 1 MB; stay well below with the same bound on both engines.
TSVECTOR_BUDGET = 800_000
MAX_TEXT_CHARS = 1_000_000
PDFTOTEXT_TIMEOUT_S = 20
PDFTOTEXT_MAX_PAGES = 2_000


def fold(text: str) -> str:
    """Lowercase, without diacritics: "Nghị định" → "nghi dinh", "Đà Nẵng" → "da nang"."""
    return _MARKS.sub("", unicodedata.normalize("NFD", text)).lower().replace("đ", "d")


def tokens(folded: str) -> list[str]:
    return [t for t in _TOKEN.findall(folded) if len(t) <= MAX_TOKEN_CHARS]


def index_text(text: str) -> str:
    """The folded tokens of ``text`` joined by spaces, bounded so a tsvector of them always fits.

    A tsvector entry costs its bytes, a header and two bytes per position (at most 256 kept).
    """
    kept: list[str] = []
    positions: dict[str, int] = {}
    size = 0
    for token in tokens(fold(text)):
        count = positions.get(token, 0)
        if count == 0:
            size += len(token.encode()) + 8
        elif count < 256:
            size += 2
        if size > TSVECTOR_BUDGET:
            break
        positions[token] = count + 1
        kept.append(token)
    return " ".join(kept)


@dataclass(frozen=True)
class Terms:
    """A query reduced to folded tokens; the last one also matches as a prefix (type-ahead)."""

    words: tuple[str, ...]

    @classmethod
    def parse(cls, query: str, max_words: int = 12) -> Terms:
        return cls(tuple(dict.fromkeys(tokens(fold(query))))[:max_words])

    def fts5(self) -> str:
        """An FTS5 MATCH expression: every word quoted, so AND, NEAR, -, *, ( ) and " are plain text."""
        quoted = ['"' + w.replace('"', '""') + '"' for w in self.words]
        return " ".join(quoted) + "*"

    def tsquery(self) -> str:
        """A to_tsquery('simple', ...) expression; the words hold only letters and digits."""
        return " & ".join([*self.words[:-1], self.words[-1] + ":*"])


class _Aligned(dict[int, str]):
    """str.translate table folding each character to exactly one, so offsets stay those of the original."""

    def __missing__(self, code: int) -> str:
        folded = fold(chr(code))
        value = folded if len(folded) == 1 else chr(code)
        self[code] = value
        return value


_ALIGNED = _Aligned()
SNIPPET_CHARS = 180
_SCAN_CHUNK = 65_536


def _pattern(terms: Terms) -> re.Pattern[str]:
    words = sorted(terms.words[:-1], key=len, reverse=True)
    alternatives = [re.escape(w) + r"(?![^\W_])" for w in words] + [re.escape(terms.words[-1]) + r"[^\W_]*"]
    return re.compile(r"(?<![^\W_])(?:" + "|".join(alternatives) + ")")


def phrase_pattern(terms: Terms) -> re.Pattern[str] | None:
    """The query's words next to each other, in order ("nghi dinh" in "Nghị định", not "ổn định"); None
    for a one-word query."""
    if len(terms.words) < 2:
        return None
    return re.compile(r"(?<![^\W_])" + r"[\W_]+".join(re.escape(w) for w in terms.words) + r"(?![^\W_])")


def has_phrase(text: str, terms: Terms) -> bool:
    pattern = phrase_pattern(terms)
    return pattern is not None and pattern.search(fold(text)) is not None


def highlight(text: str, terms: Terms, width: int = SNIPPET_CHARS) -> list[tuple[str, bool]]:
    """A window of ``text`` around the first match, as (piece, is_match) pairs, with the original diacritics.

    The whole phrase is marked when the text has it; otherwise each word. The text is folded in chunks
    until a match turns up, so a long dossier is not folded whole.
    """
    phrase = phrase_pattern(terms)
    pattern = phrase if phrase is not None and has_phrase(text[:_SCAN_CHUNK * 4], terms) else _pattern(terms)
    start = None
    for offset in range(0, len(text), _SCAN_CHUNK):
        chunk = text[offset:offset + _SCAN_CHUNK + 200].translate(_ALIGNED)
        found = pattern.search(chunk)
        if found:
            start = offset + found.start()
            break
    if start is None:
        window_start, window_end = 0, min(len(text), width)
    else:
        window_start = max(0, start - width // 3)
        window_end = min(len(text), window_start + width)
    # start and end at word boundaries, collapse runs of whitespace
    if window_start > 0:
        space = text.find(" ", window_start, start if start is not None else window_end)
        window_start = space + 1 if space != -1 else window_start
    if window_end < len(text):
        space = text.rfind(" ", window_start, window_end)
        window_end = space if space > window_start else window_end
    window = text[window_start:window_end]
    pieces: list[tuple[str, bool]] = []
    if window_start > 0:
        pieces.append(("…", False))
    position = 0
    for match in pattern.finditer(window.translate(_ALIGNED)):
        if match.start() > position:
            pieces.append((window[position:match.start()], False))
        pieces.append((window[match.start():match.end()], True))
        position = match.end()
    pieces.append((window[position:], False))
    if window_end < len(text):
        pieces.append(("…", False))
    return [(re.sub(r"\s+", " ", piece), hit) for piece, hit in pieces if piece]


def plain(pieces: list[tuple[str, bool]]) -> str:
    return "".join(piece for piece, _ in pieces).strip()


def pdf_text(data: bytes) -> str:
    """The text of a PDF via poppler's pdftotext, bounded in pages, time and length; "" when unreadable.

    Uploads are already vetted by the documents package; a text-less index row is better than a
    refused upload, so failures are logged, not raised.
    """
    executable = shutil.which("pdftotext")
    if executable is None:
        log.warning("pdftotext (poppler-utils) is not installed: documents are indexed by title only")
        return ""
    try:
        result = subprocess.run([executable, "-q", "-enc", "UTF-8", "-l", str(PDFTOTEXT_MAX_PAGES), "-", "-"],  # noqa: S603 (our argv)
                                input=data, capture_output=True, timeout=PDFTOTEXT_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        log.warning("pdftotext took over %ss: document indexed by title only", PDFTOTEXT_TIMEOUT_S)
        return ""
    if result.returncode != 0:
        log.warning("pdftotext failed (%s): document indexed by title only", result.returncode)
        return ""
    text = result.stdout[:MAX_TEXT_CHARS * 4].decode("utf-8", errors="replace")
    return unicodedata.normalize("NFC", text.replace("\f", "\n"))[:MAX_TEXT_CHARS]
