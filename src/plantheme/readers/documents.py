"""Reading documents for tagging: file formats and text encodings.

:func:`read_document` turns one file into its text, or raises
:class:`UnreadableDocument` with the status (``skipped`` or ``failed``) and a
one-line reason. Formats, by file name suffix:

* ``.txt``, ``.md``: text (markdown is cleaned up later by the normaliser).
* ``.html``, ``.htm``: the text of the page, without ``script``/``style``;
  block elements (paragraphs, headings, list items, table cells, ``<br>``)
  end a line, other whitespace collapses as a browser shows it.
* ``.docx``: body paragraphs, tables (each cell's paragraphs, merged cells
  once) and text boxes in document order, then footnotes and endnotes, one
  paragraph per line, automatic list numbers before their paragraphs
  (:mod:`plantheme.readers.docx_text`). Headers and footers are not
  read. The XML a file inflates to is bounded by the document limit.
* ``.pdf``: the text layer, page by page, read with PDFium, without control
  characters (:mod:`plantheme.readers.pdf_text`). A PDF without one (a scan) fails
  with "no text layer (scanned PDF?)": it needs OCR, not tagging.

Encodings of text and HTML files are detected, never guessed silently
(:func:`decode_text`), and the one used is recorded. Decisions:

* An empty file (0 bytes) is skipped with reason "empty file"; a file with
  content but no sentence (only whitespace, a DOCX without text) is tagged with
  0 sentences.
* NUL bytes in a file without a UTF-16/32 BOM mean binary content: failed (a
  ``.txt`` that is really something else should not pass unnoticed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path

import numpy as np

from .docx_text import DocxError, docx_text
from ..text.normalize import HAN, to_simplified
from .pdf_text import PdfError, pdf_text

__all__ = [
    "SUPPORTED_SUFFIXES",
    "BYTE_ORDER_MARKS",
    "DocumentText",
    "DecodedText",
    "UnreadableDocument",
    "document_format",
    "unsupported_reason",
    "decode_text",
    "html_to_text",
    "docx_to_text",
    "pdf_to_text",
    "read_file_bytes",
    "extract_text",
    "read_document",
    "NO_TEXT_LAYER",
    "EMPTY_FILE",
    "DEFAULT_MAX_CHARS",
]

SUPPORTED_SUFFIXES: dict[str, str] = {
    ".txt": "text",
    ".md": "text",
    ".html": "html",
    ".htm": "html",
    ".docx": "docx",
    ".pdf": "pdf",
}
NO_TEXT_LAYER = "no text layer (scanned PDF?)"
EMPTY_FILE = "empty file"

# Byte-order marks, longest first: the UTF-32 LE mark starts with the UTF-16 LE one.
BYTE_ORDER_MARKS: tuple[tuple[bytes, str], ...] = (
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xfe\xff", "utf-16-be"),
    (b"\xff\xfe", "utf-16-le"),
)
# Legacy Chinese encodings, in the order a tie is decided (mainland sites first).
# cp950 (Microsoft's Big5) only when strict Big5 fails: it adds a few characters.
_LEGACY_CANDIDATES: tuple[str, ...] = ("gb18030", "big5", "cp950")
# Share of Han characters that must be common (see _han_kinds) for a legacy
# decoding to count as Chinese. Right decodings of the seed and corpus texts
# score 0.99-1.00; Big5 bytes read as GB18030 score 0.5-0.6.
PLAUSIBLE_SHARE = 0.8


@dataclass(frozen=True)
class DecodedText:
    """Text decoded from bytes and the codec that decoded it strictly."""

    text: str
    encoding: str


@dataclass(frozen=True)
class DocumentText:
    """The text of one document, its format and (text and HTML only) its encoding."""

    text: str
    format: str
    encoding: str = ""


class UnreadableDocument(Exception):
    """A file that is not tagged: ``status`` is ``skipped`` or ``failed``, ``reason`` says why."""

    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def document_format(path: Path) -> str | None:
    """The format read for ``path`` by its suffix (``text``, ``html``, ``docx``, ``pdf``), or None."""
    return SUPPORTED_SUFFIXES.get(Path(path).suffix.lower())


def unsupported_reason(path: Path) -> str:
    """The reason a file of an unsupported format is skipped."""
    suffix = Path(path).suffix.lower()
    return f"unsupported file type {suffix}" if suffix else "unsupported file type (no suffix)"


# --- encodings -------------------------------------------------------------------


_UNCOMMON_HAN, _COMMON_HAN = 1, 2


@lru_cache(maxsize=1)
def _han_kinds() -> np.ndarray:
    """For every BMP code point: 0 (not Han), 1 (Han), 2 (one of the 3,755 level-1
    characters of GB 2312, the common simplified characters)."""
    kinds = np.zeros(0x10000, dtype=np.uint8)
    # Han as normalize.HAN defines it (all of it lies in the BMP).
    # One scan of a string of all of them, faster than a match per code point
    # (33 vs 53 ms here, once per process).
    bmp = "".join(map(chr, range(0x10000)))
    kinds[[match.start() for match in HAN.finditer(bmp)]] = _UNCOMMON_HAN
    common = []
    for lead in range(0xB0, 0xD8):
        for trail in range(0xA1, 0xFF):
            try:
                common.append(ord(bytes([lead, trail]).decode("gb2312")))
            except UnicodeDecodeError:
                pass
    kinds[common] = _COMMON_HAN
    return kinds


def common_han_share(text: str) -> tuple[float, int]:
    """Share of the Han characters of ``text`` that are common ones, and how many Han characters it has.

    Traditional text is converted to simplified first, so Big5 documents are
    measured on the same scale as GB ones. The share is 0 without Han characters.
    """
    # Counted on an array of code points: a regex match per character took
    # longer than decoding the file.
    points = np.frombuffer(to_simplified(text).encode("utf-32-le"), dtype=np.uint32)
    kinds = _han_kinds()[np.minimum(points, 0xFFFF)]  # 0xFFFF is not Han
    han = int(np.count_nonzero(kinds))
    if not han:
        return 0.0, 0
    return int(np.count_nonzero(kinds == _COMMON_HAN)) / han, han


def _describe_error(codec: str, exc: UnicodeDecodeError) -> str:
    return f"{codec}: invalid byte 0x{exc.object[exc.start]:02x} at offset {exc.start}"


def decode_text(data: bytes) -> DecodedText:
    """Decode a text file's bytes, choosing the encoding by strict decoding in a fixed order.

    1. A byte-order mark decides (UTF-8, UTF-16, UTF-32); the rest must decode strictly.
    2. NUL bytes without a BOM: binary content, failed.
    3. Strict UTF-8.
    4. GB18030 and Big5 (cp950 if Big5 fails): among those that decode strictly,
       the one whose Han characters are most often common ones, provided that
       share reaches :data:`PLAUSIBLE_SHARE`; a tie goes to GB18030.

    Raises :class:`UnreadableDocument` (failed) naming why no candidate fits.
    """
    for bom, codec in BYTE_ORDER_MARKS:
        if data.startswith(bom):
            try:
                text = data[len(bom) :].decode(codec.replace("-sig", ""))
            except UnicodeDecodeError as exc:
                raise UnreadableDocument(
                    "failed",
                    f"starts with a {codec} byte-order mark but is not valid {codec}"
                    f" (invalid bytes at offset {exc.start + len(bom)})",
                ) from None
            return DecodedText(text, codec)
    if b"\x00" in data:
        raise UnreadableDocument(
            "failed",
            "binary content (NUL bytes), not a text document (UTF-16 without a byte-order mark is not supported)",
        )
    try:
        return DecodedText(data.decode("utf-8"), "utf-8")
    except UnicodeDecodeError as exc:
        problems = [_describe_error("utf-8", exc)]
    best: tuple[float, DecodedText] | None = None
    for codec in _LEGACY_CANDIDATES:
        if codec == "cp950" and best is not None and best[1].encoding == "big5":
            continue
        try:
            text = data.decode(codec)
        except UnicodeDecodeError as exc:
            problems.append(_describe_error(codec, exc))
            continue
        share, han = common_han_share(text)
        if han == 0:
            problems.append(f"{codec}: decodes, but to no Chinese characters")
            continue
        if share < PLAUSIBLE_SHARE:
            problems.append(
                f"{codec}: decodes, but only {share:.0%} of its Chinese characters are"
                " common ones (not plausible Chinese)"
            )
            continue
        if best is None or share > best[0]:
            best = (share, DecodedText(text, codec))
    if best is None:
        raise UnreadableDocument("failed", "no encoding fits: " + "; ".join(problems))
    return best[1]


# --- HTML ----------------------------------------------------------------------

# Elements whose content is no text a reader sees (<head> holds only the title as text).
_SKIPPED_ELEMENTS = frozenset({"script", "style", "noscript", "template"})
_BLOCK_ELEMENTS = frozenset(
    {
        "address",
        "article",
        "aside",
        "blockquote",
        "br",
        "caption",
        "dd",
        "div",
        "dl",
        "dt",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "title",
        "tr",
        "ul",
    }
)
_HTML_SPACE = re.compile(r"[ \t\r\n\f]+")


class _TextExtractor(HTMLParser):
    """Collects the visible text of a page, one line per block element."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping: list[str] = []  # open skipped elements (script, style, …)
        self._pre_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED_ELEMENTS:
            self._skipping.append(tag)
        elif tag == "pre":
            self._pre_depth += 1
        if tag in _BLOCK_ELEMENTS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._skipping:
            # Close up to the matching element: pages often leave tags unclosed.
            while self._skipping.pop() != tag:
                pass
        elif tag == "pre" and self._pre_depth:
            self._pre_depth -= 1
        if tag in _BLOCK_ELEMENTS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data if self._pre_depth else _HTML_SPACE.sub(" ", data))


def html_to_text(markup: str) -> str:
    """The visible text of an HTML page: one line per block, no scripts or styles."""
    parser = _TextExtractor()
    parser.feed(markup)
    parser.close()
    lines = (line.strip(" ") for line in "".join(parser.parts).split("\n"))
    return "\n".join(line for line in lines if line)


# --- DOCX ----------------------------------------------------------------------

# The document limit docx_to_text applies when called without one (the setting's default).
DEFAULT_MAX_CHARS = 2_000_000


def docx_to_text(data: bytes, *, max_chars: int = DEFAULT_MAX_CHARS) -> str:
    """The text of a .docx: body paragraphs, tables, text boxes, then foot- and endnotes, one per line.

    See :mod:`plantheme.readers.docx_text` for what is read and the limits; a damaged
    or hostile file fails with a one-line reason.
    """
    try:
        return docx_text(data, max_chars=max_chars)
    except DocxError as exc:
        raise UnreadableDocument("failed", exc.reason) from None


# --- PDF -----------------------------------------------------------------------


def pdf_to_text(data: bytes, *, max_chars: int = DEFAULT_MAX_CHARS) -> str:
    """The text layer of a PDF, page by page; fails with :data:`NO_TEXT_LAYER` when it has none.

    Control characters other than ``\\n`` and ``\\t`` (NULs among them) are
    removed; see :mod:`plantheme.readers.pdf_text`.
    """
    try:
        text = pdf_text(data, max_chars=max_chars)
    except PdfError as exc:
        raise UnreadableDocument("failed", exc.reason) from None
    if not text.strip():
        raise UnreadableDocument("failed", NO_TEXT_LAYER)
    return text


# --- any document ----------------------------------------------------------------


def read_file_bytes(path: Path, *, max_chars: int) -> bytes:
    """The bytes of a file of a supported format, or :class:`UnreadableDocument` explaining why not.

    A text or HTML file larger than ``4 * max_chars`` bytes fails before it is read.
    """
    path = Path(path)
    kind = document_format(path)
    if kind is None:
        raise UnreadableDocument("skipped", unsupported_reason(path))
    try:
        size = path.stat().st_size
        # Text takes at least one byte per character: refuse a huge file before reading it.
        if kind in ("text", "html") and size > 4 * max_chars:
            raise UnreadableDocument(
                "failed",
                f"too large: {size:,} bytes; the limit is {max_chars:,} characters (PLANTHEME_MAX_DOCUMENT_CHARS)",
            )
        return path.read_bytes()
    except OSError as exc:
        raise UnreadableDocument("failed", f"cannot read: {exc.strerror or exc}") from None


def extract_text(data: bytes, kind: str, *, max_chars: int) -> DocumentText:
    """The text of a document's bytes in format ``kind``; :class:`UnreadableDocument` when there is none.

    ``max_chars`` bounds the memory one document may take: a longer text fails
    with a reason naming the limit (``PLANTHEME_MAX_DOCUMENT_CHARS``).
    """
    if not data:
        raise UnreadableDocument("skipped", EMPTY_FILE)
    encoding = ""
    try:
        if kind == "docx":
            text = docx_to_text(data, max_chars=max_chars)
        elif kind == "pdf":
            text = pdf_to_text(data, max_chars=max_chars)
        else:
            decoded = decode_text(data)
            encoding = decoded.encoding
            text = html_to_text(decoded.text) if kind == "html" else decoded.text
    except UnreadableDocument:
        raise
    except Exception as exc:  # noqa: BLE001 - one bad file must not take down the run
        # A bug or an unforeseen oddity of one file becomes that file's failure, with its reason.
        message = " ".join(str(exc).split())[:200]
        raise UnreadableDocument("failed", f"could not extract the text ({type(exc).__name__}: {message})") from None
    if len(text) > max_chars:
        raise UnreadableDocument(
            "failed", f"too long: {len(text):,} characters; the limit is {max_chars:,} (PLANTHEME_MAX_DOCUMENT_CHARS)"
        )
    return DocumentText(text=text, format=kind, encoding=encoding)


def read_document(path: Path, *, max_chars: int) -> DocumentText:
    """Read one file's text by its format; raise :class:`UnreadableDocument` when it cannot be tagged."""
    data = read_file_bytes(path, max_chars=max_chars)
    return extract_text(data, document_format(Path(path)) or "text", max_chars=max_chars)
