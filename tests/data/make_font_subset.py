"""Rebuild ``NotoSansSC-subset.otf``: Noto Sans CJK SC cut down to the characters the tests use.

The tests build PDFs with Chinese text (fpdf2 + this font) so that they pass the
same on machines with and without CJK fonts. The subset holds printable ASCII,
common Chinese punctuation, every character of the test modules that build
PDFs and of ``pdf_sample.txt``, and the Kangxi radicals listed below (they share
glyphs with ordinary characters, which is how real PDFs come to extract as
radicals). Run it after adding characters to those files:

    apt-get install fonts-noto-cjk
    .venv/bin/python tests/data/make_font_subset.py

Noto Sans CJK is under the SIL Open Font License 1.1 (``OFL.txt`` here): a
subset may be shipped with the licence and under another name than the
Reserved Font Name.
"""

from __future__ import annotations

from pathlib import Path

from fontTools import subset
from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTCollection, TTFont, newTable

SOURCE = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
SOURCE_INDEX_SC = 2  # Noto Sans CJK SC in the collection
HERE = Path(__file__).resolve().parent
TARGET = HERE / "NotoSansSC-subset.otf"  # CFF outlines, as the source
TARGET_TRUETYPE = HERE / "NotoSansSC-subset.ttf"  # the same glyphs as TrueType (quadratic) outlines
FAMILY = "PlanthemeTestSans"  # not "Noto": the OFL reserves the name for unmodified fonts
TEXT_SOURCES = [HERE / "pdf_sample.txt", HERE.parent / "test_documents.py", HERE.parent / "test_tagging.py"]
# Kangxi radicals of characters in the test texts: 一 (U+2F00), 行 (U+2F8F), 工 (U+2F2F), 水 (U+2F54).
KANGXI = "\u2f00\u2f8f\u2f2f\u2f54"
PUNCTUATION = "，。、；：？！（）《》“”‘’【】—…·　％"


def characters() -> str:
    """Every character the subset must hold, sorted."""
    wanted = {chr(c) for c in range(0x20, 0x7F)} | set(KANGXI) | set(PUNCTUATION)
    for path in TEXT_SOURCES:
        wanted |= {c for c in path.read_text(encoding="utf-8") if ord(c) >= 0x2E80}
    return "".join(sorted(wanted))


def main() -> None:
    font = TTCollection(str(SOURCE)).fonts[SOURCE_INDEX_SC]
    text = characters()
    options = subset.Options()
    options.name_IDs = ["*"]
    options.layout_features = []  # no vertical forms, ligatures: only the plain glyphs
    options.hinting = False
    options.desubroutinize = True
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=text)
    subsetter.subset(font)
    names = font["name"]
    for record in names.names:
        if record.nameID in (1, 3, 4, 6, 16):
            value = FAMILY if record.nameID in (1, 16) else f"{FAMILY}-Regular"
            names.setName(value, record.nameID, record.platformID, record.platEncID, record.langID)
    font["CFF "].cff.fontNames = [f"{FAMILY}-Regular"]
    font.save(str(TARGET))
    print(f"{TARGET.name}: {len(text)} characters, {TARGET.stat().st_size:,} bytes")
    truetype = to_truetype(TTFont(str(TARGET)))
    truetype.save(str(TARGET_TRUETYPE))
    print(f"{TARGET_TRUETYPE.name}: {TARGET_TRUETYPE.stat().st_size:,} bytes")


def to_truetype(font: TTFont) -> TTFont:
    """The font with its CFF outlines converted to TrueType ``glyf`` outlines (cubic to quadratic)
    - PDFs made from Word embed TrueType fonts, and PDF readers treat the two kinds differently."""
    glyph_order = font.getGlyphOrder()
    glyph_set = font.getGlyphSet()
    glyf = newTable("glyf")
    glyf.glyphOrder = glyph_order
    glyf.glyphs = {}
    for name in glyph_order:
        pen = TTGlyphPen(glyph_set)
        glyph_set[name].draw(Cu2QuPen(pen, max_err=1.0, reverse_direction=True))
        glyf.glyphs[name] = pen.glyph()
    font["glyf"] = glyf
    font["loca"] = newTable("loca")
    maxp = font["maxp"]
    maxp.tableVersion = 0x00010000
    for field in (
        "maxZones",
        "maxTwilightPoints",
        "maxStorage",
        "maxFunctionDefs",
        "maxInstructionDefs",
        "maxStackElements",
        "maxSizeOfInstructions",
        "maxComponentElements",
    ):
        setattr(maxp, field, 0)
    maxp.maxZones = 1
    maxp.maxComponentDepth = 0
    del font["CFF "]
    if "VORG" in font:
        del font["VORG"]
    font["head"].glyphDataFormat = 0
    post = font["post"]
    post.formatType = 2.0  # keep glyph names
    post.extraNames = []
    post.mapping = {}
    font.sfntVersion = "\x00\x01\x00\x00"
    return font


if __name__ == "__main__":
    main()
