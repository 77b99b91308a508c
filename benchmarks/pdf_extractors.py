"""PDF text extractors compared: pypdf, pypdfium2, pdfminer.six on generated Chinese PDFs.

PDFs are made here with fpdf2 and the shipped font subset (``tests/data``: Noto
Sans CJK SC cut to the test characters, once with its CFF outlines as
published, once converted to TrueType outlines as PDFs written by Word embed
them). For every extractor and font kind it prints, per case:

* ``lines``: the lines as written, exactly (after ``\\r\\n`` -> ``\\n``, lines trimmed);
* ``chars``: the same characters in the same order, whitespace ignored;
* ``NUL`` / ``ctrl``: NUL characters and other control characters (not ``\\n \\t \\r``);
* ``+sp``: spaces beyond those written;
* ``order``: lines come out top to bottom even when the page draws them in another order;
* ``kangxi``: Kangxi radicals (U+2F00-U+2FDF) come out as the file has them (as radicals,
  and ordinary characters as ordinary ones);

then the time per page (best of 3) on a multi-page document. Extractors not
installed are reported as such: ``pip install pypdfium2 pdfminer.six``.

    .venv/bin/python benchmarks/pdf_extractors.py [--pages N]
"""

from __future__ import annotations

import argparse
import io
import logging
import re
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fpdf import FPDF

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
FONTS = {"truetype": DATA / "NotoSansSC-subset.ttf", "cff": DATA / "NotoSansSC-subset.otf"}
SAMPLE = [line for line in (DATA / "pdf_sample.txt").read_text(encoding="utf-8").splitlines() if line.strip()]
KANGXI = re.compile("[\u2f00-\u2fdf]")


# --- building the PDFs ---------------------------------------------------------


def _pdf(font: Path) -> FPDF:
    pdf = FPDF()
    pdf.add_font("cjk", fname=str(font))
    pdf.set_font("cjk", size=12)
    pdf.add_page()
    return pdf


def lines_pdf(font: Path, lines: list[str], *, char_spacing: float = 0) -> bytes:
    pdf = _pdf(font)
    pdf.set_char_spacing(char_spacing)
    for line in lines:
        pdf.multi_cell(0, 8, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def wrapped_pdf(font: Path, paragraph: str) -> bytes:
    """One paragraph, justified, wrapped by fpdf2 into lines of 90 mm."""
    pdf = _pdf(font)
    pdf.multi_cell(90, 8, paragraph, align="J", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def reversed_pdf(font: Path, lines: list[str]) -> bytes:
    """Lines placed top to bottom but drawn bottom line first (content order is not reading order)."""
    pdf = _pdf(font)
    for number in reversed(range(len(lines))):
        pdf.text(20, 30 + 10 * number, lines[number])
    return bytes(pdf.output())


def pages_pdf(font: Path, pages: int) -> bytes:
    pdf = _pdf(font)
    for page in range(pages):
        if page:
            pdf.add_page()
        for line in SAMPLE:
            pdf.multi_cell(0, 8, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[Path], bytes]
    lines: list[str]


MIXED = ["GDP增长5.5% PM2.5 新建5G基站120个", "2024年 1,000 亩 (AI) A-B"]
RADICALS = ["\u2f00\u2f8f\u2f2f\u2f54 一行工水", "⾏政执法 行政执法"]
CASES = [
    Case("plain", lambda f: lines_pdf(f, SAMPLE[:6]), SAMPLE[:6]),
    Case("wrapped", lambda f: wrapped_pdf(f, "".join(SAMPLE[2:5])), ["".join(SAMPLE[2:5])]),
    Case("spaced", lambda f: lines_pdf(f, SAMPLE[:2], char_spacing=4), SAMPLE[:2]),
    Case("mixed", lambda f: lines_pdf(f, MIXED), MIXED),
    Case("reordered", lambda f: reversed_pdf(f, SAMPLE[:4]), SAMPLE[:4]),
    Case("kangxi", lambda f: lines_pdf(f, RADICALS), RADICALS),
]


# --- the extractors --------------------------------------------------------------


def with_pypdf(data: bytes) -> list[str]:
    from pypdf import PdfReader

    return [page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages]


def with_pypdfium2(data: bytes) -> list[str]:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(data)
    try:
        texts = []
        for page in document:
            textpage = page.get_textpage()
            texts.append(textpage.get_text_bounded())
            textpage.close()
            page.close()
        return texts
    finally:
        document.close()


def with_pypdf_cleaned(data: bytes) -> list[str]:
    """pypdf with plantheme's clean-up of control characters (what keeping pypdf would give)."""
    from plantheme.readers.pdf_text import strip_controls

    return [strip_controls(text) for text in with_pypdf(data)]


def with_pdfminer(data: bytes) -> list[str]:
    from pdfminer.high_level import extract_text

    return extract_text(io.BytesIO(data)).split("\f")


def with_plantheme(data: bytes) -> list[str]:
    """What plantheme's pdf_to_text returns (the chosen extractor with its clean-up)."""
    from plantheme.readers.documents import pdf_to_text

    return [pdf_to_text(data)]


EXTRACTORS: dict[str, Callable[[bytes], list[str]]] = {
    "pypdf": with_pypdf,
    "pypdf+clean": with_pypdf_cleaned,
    "pypdfium2": with_pypdfium2,
    "pdfminer.six": with_pdfminer,
    "plantheme": with_plantheme,
}


# --- measuring -------------------------------------------------------------------


def _controls(text: str) -> int:
    return sum(1 for c in text if unicodedata.category(c) == "Cc" and c not in "\n\t\r\x00")


def score(case: Case, text: str) -> dict[str, object]:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    got_lines = [line.strip() for line in text.replace("\f", "\n").split("\n") if line.strip()]
    expected = "\n".join(case.lines)
    squeeze = re.compile(r"[\s\x00-\x1f]+")
    first_chars = [squeeze.sub("", line)[:6] for line in case.lines]
    positions = [squeeze.sub("", text).find(prefix) for prefix in first_chars]
    return {
        "lines": got_lines == case.lines,
        "chars": squeeze.sub("", text) == squeeze.sub("", expected),
        "NUL": text.count("\x00"),
        "ctrl": _controls(text.replace("\f", "")),  # a form feed between pages is a page break
        "+sp": max(0, text.count(" ") - expected.count(" ")),
        "order": -1 not in positions and positions == sorted(positions),
        "kangxi": KANGXI.findall(text) == KANGXI.findall(expected),
    }


def available(name: str) -> bool:
    module = {
        "pypdf": "pypdf",
        "pypdf+clean": "pypdf",
        "pypdfium2": "pypdfium2",
        "pdfminer.six": "pdfminer",
        "plantheme": "plantheme",
    }[name]
    try:
        __import__(module)
    except ImportError:
        return False
    return True


def fidelity_table() -> None:
    print("== fidelity: lines exact / chars exact / NUL / other control / extra spaces / order / kangxi ==")
    print(
        "   (each cell: L=lines exact, C=characters exact, o=order right, k=radicals as written;"
        " '-' where not; then NUL, ctrl, +spaces counts when non-zero)"
    )
    header = f"{'font':9} {'extractor':13}" + "".join(f" {case.name:>22}" for case in CASES)
    print(header)
    for font_kind, font in FONTS.items():
        built = {case.name: case.build(font) for case in CASES}
        for name, extract in EXTRACTORS.items():
            if not available(name):
                print(f"{font_kind:9} {name:13} not installed")
                continue
            cells = []
            for case in CASES:
                try:
                    result = score(case, "\f".join(extract(built[case.name])))
                except Exception as exc:  # noqa: BLE001 - a failing extractor is a result here
                    cells.append(f"{type(exc).__name__[:22]:>22}")
                    continue
                flags = "".join(
                    flag if result[key] else "-"
                    for flag, key in (("L", "lines"), ("C", "chars"), ("o", "order"), ("k", "kangxi"))
                )
                counts = " ".join(f"{key}{result[key]}" for key in ("NUL", "ctrl", "+sp") if result[key])
                cells.append(f"{(flags + ' ' + counts).strip():>22}")
            print(f"{font_kind:9} {name:13}" + "".join(f" {cell}" for cell in cells))


def speed_table(pages: int) -> None:
    print(f"\n== speed: {pages}-page document, {len(SAMPLE)} lines a page; milliseconds per page, best of 3 ==")
    for font_kind, font in FONTS.items():
        data = pages_pdf(font, pages)
        row = []
        for name, extract in EXTRACTORS.items():
            if not available(name):
                continue
            best = float("inf")
            for _ in range(3):
                start = time.perf_counter()
                try:
                    extract(data)
                except Exception:  # noqa: BLE001, S110 - timed regardless of the outcome
                    pass
                best = min(best, time.perf_counter() - start)
            row.append(f"{name} {best / pages * 1000:.2f}")
        print(f"{font_kind:9} " + "; ".join(row) + f"  ({len(data):,} bytes)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=30)
    args = parser.parse_args()
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    logging.getLogger("pdfminer").setLevel(logging.ERROR)
    fidelity_table()
    speed_table(args.pages)


if __name__ == "__main__":
    main()
