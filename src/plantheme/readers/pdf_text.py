"""The text layer of a PDF, read with PDFium (pypdfium2), cleaned of control characters.

PDFium was chosen over pypdf and pdfminer.six by ``benchmarks/pdf_extractors.py``
on PDFs generated with a real CJK font: it returns the text exactly with both
TrueType and CFF (OpenType) fonts, where pypdf puts a NUL before every character
of a CFF font and pdfminer.six returns nothing for it; pdfminer.six also adds
spaces inside letter-spaced lines; and PDFium is about ten times faster per
page than pypdf.

What comes out: each page's text in the order the page draws it (PDFium does
not re-sort by position), pages joined by a line break, ``\\r\\n`` and ``\\r``
as ``\\n``, and control characters other than ``\\n`` and ``\\t`` removed (NULs,
form feeds, any other C0 or C1 control a file's character map yields). Characters are kept as
the file maps them: a Kangxi radical such as ``⾏`` stays one (the normaliser
maps radicals to ordinary characters, not this module).

PDFium is not safe to call from several threads at once: calls here hold a lock.
"""

from __future__ import annotations

import re
import threading

__all__ = ["PdfError", "pdf_text", "strip_controls"]

# C0 and C1 control characters except tab and line feed (carriage returns are
# turned into line feeds before).
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_PDFIUM_LOCK = threading.Lock()


class PdfError(Exception):
    """A PDF whose text cannot be read; ``reason`` is a one-line explanation."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def strip_controls(text: str) -> str:
    """``text`` with line breaks as ``\\n`` and no control characters but ``\\n`` and ``\\t``."""
    return _CONTROLS.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def pdf_text(data: bytes, *, max_chars: int) -> str:
    """The text layer of a PDF, page by page (empty for a scan: the caller decides).

    Raises :class:`PdfError` for a damaged or password-protected file, and for
    one whose text passes ``max_chars`` (reading stops at that page).
    """
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    with _PDFIUM_LOCK:
        try:
            document = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            if getattr(exc, "err_code", None) == pdfium_c.FPDF_ERR_PASSWORD:
                raise PdfError("encrypted PDF (needs a password)") from None
            raise PdfError(f"not a readable PDF ({exc})") from None
        try:
            pages: list[str] = []
            total = 0
            count = len(document)
            for number in range(count):
                page = document[number]
                try:
                    textpage = page.get_textpage()
                    try:
                        text = strip_controls(textpage.get_text_range())
                    finally:
                        textpage.close()
                finally:
                    page.close()
                total += len(text) + 1
                if total > max_chars:
                    raise PdfError(
                        f"too long: more than {max_chars:,} characters by page {number + 1} of"
                        f" {count:,}; the limit is {max_chars:,} (PLANTHEME_MAX_DOCUMENT_CHARS)"
                    )
                pages.append(text)
        except pdfium.PdfiumError as exc:
            raise PdfError(f"not a readable PDF ({exc})") from None
        finally:
            document.close()
    return "\n".join(pages)
