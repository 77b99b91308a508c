"""Reading documents for `plantheme tag`: encodings, formats, and finding files in a folder.

The DOCX and PDF builders here are also used by tests/test_tagging.py to build
its fixture folder. DOCX files are built from their XML (the cases python-docx
cannot write or read); PDFs with fpdf2 and the font subset in tests/data.
"""

from __future__ import annotations

import io
import tracemalloc
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from plantheme.readers import documents
from plantheme.readers.documents import (
    EMPTY_FILE,
    NO_TEXT_LAYER,
    UnreadableDocument,
    decode_text,
    docx_to_text,
    extract_text,
    html_to_text,
    pdf_to_text,
    read_document,
)
from plantheme.readers.docx_text import xml_byte_limit
from plantheme.readers.pdf_text import strip_controls
from plantheme.readers.folder_scan import compile_glob, scan_folder

SIMPLIFIED = "全面落实河长制，推进流域水环境综合治理。新建幼儿园2所，改善义务教育办学条件。"
TRADITIONAL = "全面落實河長制，推進流域水環境綜合治理。新建幼兒園2所，改善義務教育辦學條件。"


# --- builders shared with test_tagging -------------------------------------------


W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_PACKAGE_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'officeDocument" Target="word/document.xml"/></Relationships>'
)
_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument'
    '.wordprocessingml.document.main+xml"/></Types>'
)
# Namespaces a Word 2010+ document.xml declares for text boxes and their VML fallback.
_DOCUMENT_NAMESPACES = (
    f'xmlns:w="{W_NS}" '
    'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
    'xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape" '
    'xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing" '
    'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
    'xmlns:v="urn:schemas-microsoft-com:vml" mc:Ignorable="wps"'
)


def docx_paragraph(*runs: str) -> str:
    """A ``w:p`` of runs; each run is text, or raw run content when it starts with ``<``."""
    body = "".join(
        run if run.startswith("<") else f'<w:r><w:t xml:space="preserve">{escape(run)}</w:t></w:r>' for run in runs
    )
    return f"<w:p>{body}</w:p>"


def docx_cell(*paragraphs: str, properties: str = "") -> str:
    """A ``w:tc`` holding paragraphs (texts) with optional ``w:tcPr`` content."""
    return f"<w:tc><w:tcPr>{properties}</w:tcPr>{''.join(docx_paragraph(p) for p in paragraphs)}</w:tc>"


def docx_package(body: str, parts: dict[str, str] | None = None, document_rels: str = "") -> bytes:
    """A .docx zip whose document.xml body is ``body`` (raw WordprocessingML), plus extra ``parts``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("[Content_Types].xml", _CONTENT_TYPES)
        package.writestr("_rels/.rels", _PACKAGE_RELS)
        package.writestr(
            "word/document.xml",
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            f"<w:document {_DOCUMENT_NAMESPACES}><w:body>{body}<w:sectPr/></w:body></w:document>",
        )
        if document_rels:
            package.writestr("word/_rels/document.xml.rels", document_rels)
        for name, xml in (parts or {}).items():
            package.writestr(name, xml)
    return buffer.getvalue()


def build_docx(paragraphs: list[str], table: list[list[str]] | None = None, merge_first_row: bool = False) -> bytes:
    """A .docx with ``paragraphs``, then a table of ``table`` rows (first row merged if asked)."""
    body = "".join(docx_paragraph(text) for text in paragraphs)
    if table:
        rows = []
        for r, row in enumerate(table):
            if r == 0 and merge_first_row:
                cells = docx_cell(row[0], properties=f'<w:gridSpan w:val="{len(row)}"/>')
            else:
                cells = "".join(docx_cell(text) for text in row)
            rows.append(f"<w:tr>{cells}</w:tr>")
        grid = "<w:gridCol/>" * len(table[0])
        body += f"<w:tbl><w:tblPr/><w:tblGrid>{grid}</w:tblGrid>{''.join(rows)}</w:tbl>"
    return docx_package(body)


# Noto Sans CJK SC cut to the characters of these tests (tests/data/make_font_subset.py), as
# published (CFF outlines) and converted to TrueType outlines: the PDF tests pass the same
# on machines without Chinese fonts, and PDF readers treat the two kinds of font differently.
DATA = Path(__file__).resolve().parent / "data"
CJK_FONTS = {"truetype": DATA / "NotoSansSC-subset.ttf", "cff": DATA / "NotoSansSC-subset.otf"}


def build_pdf(lines: list[str], font: str = "truetype", pages: int = 1) -> tuple[bytes, list[str]]:
    """A PDF with a text layer holding ``lines`` on each of ``pages`` pages, and the lines.

    The characters must be in the shipped font subset (rebuild it after adding new ones).
    """
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_font("cjk", fname=str(CJK_FONTS[font]))
    pdf.set_font("cjk", size=12)
    for _ in range(pages):
        pdf.add_page()
        for line in lines:
            pdf.multi_cell(0, 8, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output()), lines


def build_scanned_pdf() -> bytes:
    """A PDF page with a drawn rectangle and no text: what a scan looks like to a text extractor."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 120, 80, style="F")
    return bytes(pdf.output())


# --- encodings -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "codec", "expected"),
    [
        (SIMPLIFIED, "utf-8", "utf-8"),
        (SIMPLIFIED, "utf-8-sig", "utf-8-sig"),
        (SIMPLIFIED, "utf-16", "utf-16-le"),  # Python writes a little-endian BOM
        (SIMPLIFIED, "utf-16-be-bom", "utf-16-be"),
        (SIMPLIFIED, "gbk", "gb18030"),
        (SIMPLIFIED, "gb18030", "gb18030"),
        (TRADITIONAL, "gbk", "gb18030"),  # GBK holds traditional characters too
        (TRADITIONAL, "big5", "big5"),
        ("規(gui1)劃建設，推進城鄉融合發展。", "big5", "big5"),
        ("plain ASCII text", "ascii", "utf-8"),
    ],
)
def test_decode_text_detects_and_records_the_encoding(text: str, codec: str, expected: str) -> None:
    data = b"\xfe\xff" + text.encode("utf-16-be") if codec == "utf-16-be-bom" else text.encode(codec)
    decoded = decode_text(data)
    assert decoded.text == text
    assert decoded.encoding == expected


def test_big5_bytes_also_decode_as_gb18030_but_are_read_as_big5() -> None:
    data = TRADITIONAL.encode("big5")
    data.decode("gb18030")  # decodes without error: strictness alone cannot decide
    assert decode_text(data).encoding == "big5"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"abc\x80\x80\xff\xfe\x80", "no encoding fits"),
        ("Ça coûte très cher, évidemment".encode("latin-1"), "no encoding fits"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary content"),
        (b"\xef\xbb\xbf\xff\xfe\xfd", "utf-8-sig byte-order mark"),
    ],
)
def test_decode_text_fails_with_a_reason_rather_than_guessing(data: bytes, reason: str) -> None:
    with pytest.raises(UnreadableDocument) as caught:
        decode_text(data)
    assert caught.value.status == "failed"
    assert reason in caught.value.reason


def test_the_failure_reason_names_every_candidate() -> None:
    with pytest.raises(UnreadableDocument) as caught:
        decode_text(b"abc\x80\x80\xff")
    for codec in ("utf-8", "gb18030", "big5"):
        assert codec in caught.value.reason


# --- formats ---------------------------------------------------------------------


def test_html_text_skips_scripts_and_styles_and_breaks_lines_at_blocks() -> None:
    page = """<!DOCTYPE html><html><head><title>标题</title>
    <style>p { color: red }</style><script>var s = "<p>脚本里的字</p>";</script></head>
    <body><div>第一段
       文字 &amp; <b>粗体</b></div><p>第二段<br>换行</p>
    <table><tr><td>甲</td><td>乙</td></tr></table><noscript>请启用脚本</noscript></body></html>"""
    assert html_to_text(page).split("\n") == ["标题", "第一段 文字 & 粗体", "第二段", "换行", "甲", "乙"]


def test_docx_text_reads_paragraphs_and_tables_in_order_with_merged_cells_once() -> None:
    data = build_docx(["第一段。", "第二段。"], [["合并的标题", "x", "y"], ["甲", "乙", "丙"]], merge_first_row=True)
    assert docx_to_text(data).split("\n") == ["第一段。", "第二段。", "合并的标题", "甲", "乙", "丙"]


# --- DOCX ------------------------------------------------------------------------

_TEXT_BOX = (
    # A Word 2010+ text box: DrawingML in mc:Choice, the same text as VML in mc:Fallback.
    '<w:r><mc:AlternateContent><mc:Choice Requires="wps"><w:drawing><wp:anchor><a:graphic><a:graphicData>'
    "<wps:wsp><wps:txbx><w:txbxContent>{content}</w:txbxContent></wps:txbx></wps:wsp>"
    "</a:graphicData></a:graphic></wp:anchor></w:drawing></mc:Choice>"
    "<mc:Fallback><w:pict><v:shape><v:textbox><w:txbxContent>{content}</w:txbxContent></v:textbox>"
    "</v:shape></w:pict></mc:Fallback></mc:AlternateContent></w:r>"
)
_NOTES = (
    '<?xml version="1.0" encoding="UTF-8"?><w:{kind}s xmlns:w="' + W_NS + '">'
    '<w:{kind} w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p></w:{kind}>'
    '<w:{kind} w:type="continuationSeparator" w:id="0"><w:p><w:r><w:continuationSeparator/></w:r></w:p></w:{kind}>'
    "{notes}</w:{kind}s>"
)
_NOTE_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId8" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'footnotes" Target="footnotes.xml"/>'
    '<Relationship Id="rId9" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'endnotes" Target="endnotes.xml"/></Relationships>'
)


def _note(kind: str, note_id: int, text: str) -> str:
    return (
        f'<w:{kind} w:id="{note_id}"><w:p><w:r><w:rPr><w:vertAlign w:val="superscript"/></w:rPr>'
        f'<w:{kind}Ref/></w:r><w:r><w:t xml:space="preserve"> {text}</w:t></w:r></w:p></w:{kind}>'
    )


def test_docx_reads_body_tables_text_boxes_and_notes_in_order_each_once() -> None:
    table = (
        "<w:tbl><w:tblPr/><w:tblGrid><w:gridCol/><w:gridCol/><w:gridCol/></w:tblGrid>"
        # python-docx raises on both of these cells (a continuation in the first row; a bad span).
        "<w:tr>"
        + docx_cell("续表", properties='<w:vMerge w:val="continue"/>')
        + docx_cell("跨列", properties='<w:gridSpan w:val="abc"/>')
        + "</w:tr>"
        "<w:tr>"
        + docx_cell("责任单位", properties='<w:vMerge w:val="restart"/>')
        + docx_cell("县发改局", "县财政局", properties='<w:gridSpan w:val="2"/>')
        + "</w:tr>"
        "<w:tr>" + docx_cell("", properties="<w:vMerge/>") + docx_cell("牵头") + docx_cell("配合") + "</w:tr>"
        "</w:tbl>"
    )
    box = _TEXT_BOX.format(
        content=docx_paragraph("框内第一段。") + docx_paragraph("框内", "<w:r><w:tab/></w:r>", "第二段。")
    )
    body = (
        docx_paragraph("一、总体要求", '<w:r><w:footnoteReference w:id="2"/></w:r>')
        + docx_paragraph(
            "全面落实河长制，", "<w:r><w:br/></w:r>", "推进流域治理。", '<w:r><w:endnoteReference w:id="1"/></w:r>'
        )
        + docx_paragraph(
            '<w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText> PAGE </w:instrText>'
            '</w:r><w:r><w:fldChar w:fldCharType="separate"/></w:r>',
            "3",
            '<w:r><w:fldChar w:fldCharType="end"/></w:r>',
            "<w:del><w:r><w:delText>删去的字</w:delText></w:r></w:del>",
        )
        + docx_paragraph("锚定段落", box)
        + table
        + '<w:sdt><w:sdtPr><w:alias w:val="x"/></w:sdtPr><w:sdtContent>'
        + docx_paragraph("内容控件里的段落。")
        + "</w:sdtContent></w:sdt>"
        + docx_paragraph("   ")
        + docx_paragraph("新建幼儿园2所。", '<w:r><w:footnoteReference w:id="1"/></w:r>')
    )
    parts = {
        "word/footnotes.xml": _NOTES.format(
            kind="footnote",
            notes=_note("footnote", 1, "脚注一。")
            + _note("footnote", 2, "脚注二。")
            + _note("footnote", 3, "未引用的脚注。"),
        ),
        "word/endnotes.xml": _NOTES.format(kind="endnote", notes=_note("endnote", 1, "尾注。")),
    }
    data = docx_package(body, parts, document_rels=_NOTE_RELS)

    assert extract_text(data, "docx", max_chars=10_000).text.split("\n") == [
        "一、总体要求",
        "全面落实河长制，",
        "推进流域治理。",
        "3",
        "锚定段落",
        "框内第一段。",
        "框内\t第二段。",
        "续表",
        "跨列",
        "责任单位",
        "县发改局",
        "县财政局",
        "牵头",
        "配合",
        "内容控件里的段落。",
        "新建幼儿园2所。",
        # Footnotes in the order the body refers to them, then the unreferenced one; then endnotes.
        " 脚注二。",
        " 脚注一。",
        " 未引用的脚注。",
        " 尾注。",
    ]


@pytest.mark.parametrize(
    ("properties", "expected"),
    [
        ("<w:vanish/>", "全面落实河长制，推进流域治理。"),
        ('<w:vanish w:val="1"/>', "全面落实河长制，推进流域治理。"),
        ('<w:vanish w:val="false"/>', "全面落实河长制，删去的字推进流域治理。"),
        ("<w:b/>", "全面落实河长制，删去的字推进流域治理。"),
    ],
)
def test_docx_hidden_text_is_left_out_as_word_hides_it(properties: str, expected: str) -> None:
    hidden = f"<w:r><w:rPr>{properties}</w:rPr><w:t>删去的字</w:t></w:r>"
    assert docx_to_text(docx_package(docx_paragraph("全面落实河长制，", hidden, "推进流域治理。"))) == expected


def test_docx_text_box_without_alternate_content_is_read_once() -> None:
    vml_only = (
        "<w:r><w:pict><v:shape><v:textbox><w:txbxContent>"
        + docx_paragraph("旧式文本框。")
        + "</w:txbxContent></v:textbox></v:shape></w:pict></w:r>"
    )
    data = docx_package(docx_paragraph(vml_only) + docx_paragraph("正文。"))
    assert docx_to_text(data).split("\n") == ["旧式文本框。", "正文。"]


def test_docx_main_part_is_found_through_the_package_relationships() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        package.writestr("_rels/.rels", _PACKAGE_RELS_TO.format(target="/word/document2.xml"))
        package.writestr(
            "word/document2.xml",
            f'<w:document xmlns:w="{W_NS}"><w:body>'
            + docx_paragraph("另一个文件名的正文。")
            + "</w:body></w:document>",
        )
    assert docx_to_text(buffer.getvalue()) == "另一个文件名的正文。"


_PACKAGE_RELS_TO = (
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'officeDocument" Target="{target}"/></Relationships>'
)


def _zip(members: dict[str, bytes | str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as package:
        for name, content in members.items():
            package.writestr(name, content)
    return buffer.getvalue()


def _zip_bomb(inflated: int, part: str = "word/document.xml") -> bytes:
    """A .docx whose ``part`` is ``inflated`` bytes of spaces, compressed to a few kilobytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as package:
        package.writestr("_rels/.rels", _PACKAGE_RELS)
        with package.open(part, "w") as stream:
            stream.write(f'<w:document xmlns:w="{W_NS}"><w:body>'.encode())
            block = b" " * (1 << 20)
            for _ in range(inflated >> 20):
                stream.write(block)
            stream.write(b"</w:body></w:document>")
    return buffer.getvalue()


_BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE w:document [<!ENTITY a "哈哈哈哈哈哈哈哈哈哈">'
    '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
    f'<w:document xmlns:w="{W_NS}"><w:body><w:p><w:r><w:t>&c;</w:t></w:r></w:p></w:body></w:document>'
)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"PK\x03\x04 truncated", "not a readable .docx file (not a zip archive"),
        (b"not a zip file", "not a zip archive"),
        (_zip({"_rels/.rels": _PACKAGE_RELS, "word/styles.xml": "<x/>"}), "no word/document.xml"),
        (_zip({"word/document.xml": "<w:document><w:body>"}), "word/document.xml is not well-formed XML"),
        (_zip({"word/document.xml": _BILLION_LAUGHS}), "word/document.xml declares a DTD"),
        (_zip({f"word/media/{i}.bin": b"" for i in range(10_001)}), "zip of 10,001 members"),
        # lxml refuses XML nested deeper than 256 levels without huge_tree (left off on purpose).
        (
            docx_package("<w:sdt><w:sdtContent>" * 200 + "</w:sdtContent></w:sdt>" * 200),
            "word/document.xml is not well-formed XML",
        ),
    ],
)
def test_broken_and_hostile_docx_files_fail_with_a_reason(data: bytes, reason: str) -> None:
    with pytest.raises(UnreadableDocument) as caught:
        extract_text(data, "docx", max_chars=1000)
    assert caught.value.status == "failed"
    assert reason in caught.value.reason


def test_docx_zip_bomb_fails_fast_naming_the_part_and_the_limit() -> None:
    data = _zip_bomb(64 << 20)  # 64 MB of XML in a zip of about 64 KB
    assert len(data) < 1 << 20
    tracemalloc.start()
    try:
        with pytest.raises(UnreadableDocument) as caught:
            extract_text(data, "docx", max_chars=1000)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    limit = xml_byte_limit(1000)
    assert caught.value.reason.startswith(f"word/document.xml inflates past {limit:,} bytes")
    assert peak < 2 * limit  # never the whole 64 MB


def test_docx_xml_budget_is_shared_by_the_parts() -> None:
    # document.xml and footnotes.xml are each under the limit, together over it.
    half = xml_byte_limit(1000) // 2 + (1 << 20)
    body = f"<w:p><w:r><w:t>正文。</w:t></w:r></w:p>{' ' * half}"
    notes = f'<w:footnotes xmlns:w="{W_NS}">{" " * half}</w:footnotes>'
    data = docx_package(body, {"word/footnotes.xml": notes})
    assert "正文。" in extract_text(data, "docx", max_chars=half).text  # a larger limit reads both
    with pytest.raises(UnreadableDocument) as caught:
        extract_text(data, "docx", max_chars=1000)
    assert caught.value.reason.startswith("word/footnotes.xml inflates past")


def test_docx_part_with_a_lying_size_header_fails() -> None:
    # zipfile inflates no more than the declared size and then fails the CRC check, so a
    # header that understates the size cannot get past the budget either.
    data = bytearray(build_docx(["正文。"]))
    # Declare a smaller size for document.xml in its local and central headers.
    member = b"word/document.xml"
    for header, size_offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = data.find(header)
        while data[start + (30 if header == b"PK\x03\x04" else 46) :][: len(member)] != member:
            start = data.find(header, start + 1)
        data[start + size_offset : start + size_offset + 4] = (10).to_bytes(4, "little")
    with pytest.raises(UnreadableDocument) as caught:
        extract_text(bytes(data), "docx", max_chars=1000)
    assert caught.value.status == "failed"
    assert "Bad CRC-32" in caught.value.reason


def test_an_unexpected_error_inside_extraction_becomes_a_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(data: bytes, *, max_chars: int) -> str:
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(documents, "docx_text", broken)
    with pytest.raises(UnreadableDocument) as caught:
        extract_text(build_docx(["正文。"]), "docx", max_chars=1000)
    assert (caught.value.status, caught.value.reason) == (
        "failed",
        "could not extract the text (RuntimeError: boom second line)",
    )


# --- PDF -------------------------------------------------------------------------


def test_the_shipped_font_subset_holds_every_character_the_pdf_tests_write() -> None:
    from fontTools.ttLib import TTFont

    # This module's texts and test_tagging's PLAN, which it writes into its fixture PDF.
    tagging = (Path(__file__).parent / "test_tagging.py").read_text(encoding="utf-8")
    plan = tagging[tagging.index("\nPLAN = (") : tagging.index("\n)\n", tagging.index("\nPLAN = ("))]
    texts = [Path(__file__).read_text(encoding="utf-8"), plan]
    needed = {c for c in "".join(texts) if ord(c) >= 0x2E80}
    for path in CJK_FONTS.values():
        missing = needed - {chr(code) for code in TTFont(str(path)).getBestCmap()}
        assert not missing, f"{path.name} lacks {''.join(sorted(missing))}: run tests/data/make_font_subset.py"


PDF_LINES = [SIMPLIFIED[:20], SIMPLIFIED[20:], "全年地区生产总值（GDP）增长5.5%，PM2.5浓度下降。", "一、坚守实体经济"]


@pytest.mark.parametrize("font", sorted(CJK_FONTS))
def test_pdf_text_is_exactly_the_lines_written(font: str) -> None:
    # pypdf put a NUL before every character of the CFF font; PDFium reads both kinds exactly.
    data, lines = build_pdf(PDF_LINES, font=font)
    assert pdf_to_text(data) == "\n".join(lines)


@pytest.mark.parametrize("font", sorted(CJK_FONTS))
def test_pdf_pages_come_out_in_order_one_line_break_apart(font: str) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_font("cjk", fname=str(CJK_FONTS[font]))
    pdf.set_font("cjk", size=12)
    for line in PDF_LINES:
        pdf.add_page()
        pdf.multi_cell(0, 8, line)
    assert extract_text(bytes(pdf.output()), "pdf", max_chars=1000).text == "\n".join(PDF_LINES)


def test_pdf_kangxi_radicals_stay_as_the_file_has_them() -> None:
    # U+2F8F KANGXI RADICAL WALK and U+884C 行 share a glyph; the normaliser maps radicals, not extraction.
    line = "\u2f8f政执法\u2f00 行政执法一"
    data, _ = build_pdf([line])
    assert pdf_to_text(data) == line


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("\x00全\x00面\x00落\x00实", "全面落实"),
        ("第一行\r\n第二行\r第三行", "第一行\n第二行\n第三行"),
        ("项目\t投资\n", "项目\t投资\n"),
        ("infor\x02\nmation\x0c\x1f\x7f\x85", "infor\nmation"),
        ("⾏政 ｆｕｌｌ　width", "⾏政 ｆｕｌｌ　width"),  # no normalisation here
    ],
)
def test_pdf_text_keeps_no_control_characters_but_newline_and_tab(raw: str, clean: str) -> None:
    assert strip_controls(raw) == clean


def test_pdf_over_the_limit_stops_at_the_page_that_passes_it() -> None:
    data, _ = build_pdf(PDF_LINES, pages=5)
    page = len("\n".join(PDF_LINES)) + 1  # 79 characters with the line break after it
    limit = 3 * page - 1  # the third page passes it
    with pytest.raises(UnreadableDocument) as caught:
        extract_text(data, "pdf", max_chars=limit)
    assert caught.value.status == "failed"
    assert caught.value.reason.startswith(f"too long: more than {limit} characters by page 3 of 5")
    assert "PLANTHEME_MAX_DOCUMENT_CHARS" in caught.value.reason


def test_pdf_with_a_user_password_fails_as_encrypted() -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_encryption(owner_password="owner", user_password="user")
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.cell(text="secret")
    with pytest.raises(UnreadableDocument) as caught:
        extract_text(bytes(pdf.output()), "pdf", max_chars=1000)
    assert (caught.value.status, caught.value.reason) == ("failed", "encrypted PDF (needs a password)")


def test_pdf_without_text_layer_fails_as_scanned() -> None:
    with pytest.raises(UnreadableDocument) as caught:
        pdf_to_text(build_scanned_pdf())
    assert (caught.value.status, caught.value.reason) == ("failed", NO_TEXT_LAYER)


@pytest.mark.parametrize(
    ("kind", "data", "status", "reason"),
    [
        ("docx", b"not a zip file", "failed", "not a readable .docx"),
        ("pdf", b"%PDF-1.4 garbage", "failed", "not a readable PDF"),
        ("pdf", b"%PDF-1.7\n" + b"\x00" * 100, "failed", "not a readable PDF"),
        ("text", b"", "skipped", EMPTY_FILE),
    ],
)
def test_broken_or_empty_documents_are_reported(kind: str, data: bytes, status: str, reason: str) -> None:
    with pytest.raises(UnreadableDocument) as caught:
        extract_text(data, kind, max_chars=1000)
    assert caught.value.status == status
    assert reason in caught.value.reason


def test_documents_over_the_limit_fail_naming_the_setting(tmp_path: Path) -> None:
    path = tmp_path / "long.txt"
    path.write_text(SIMPLIFIED * 10, encoding="utf-8")
    with pytest.raises(UnreadableDocument) as caught:
        read_document(path, max_chars=100)
    assert caught.value.status == "failed"
    assert "PLANTHEME_MAX_DOCUMENT_CHARS" in caught.value.reason


def test_whitespace_only_file_is_read_as_empty_text(tmp_path: Path) -> None:
    path = tmp_path / "blank.md"
    path.write_text(" \n\n ", encoding="utf-8")
    document = read_document(path, max_chars=1000)
    assert (document.text.strip(), document.format, document.encoding) == ("", "text", "utf-8")


# --- finding files -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("**/*.txt", "a.txt", True),
        ("**/*.txt", "x/y/a.txt", True),
        ("**/*.txt", "x/a.pdf", False),
        ("*.txt", "x/y/a.txt", True),  # no slash: the file name alone
        ("x/*.txt", "x/a.txt", True),
        ("x/*.txt", "x/y/a.txt", False),
        ("x/**", "x/y/a.txt", True),
        ("report_20[12]?.docx", "report_2023.docx", True),
        ("report_20[!12]?.docx", "report_2023.docx", False),
        ("a+b.txt", "a+b.txt", True),
    ],
)
def test_compile_glob(pattern: str, path: str, matches: bool) -> None:
    target = path if "/" in pattern else path.rsplit("/", 1)[-1]
    assert (compile_glob(pattern).match(target) is not None) is matches


def test_scan_lists_every_file_once_and_the_folders_it_does_not_search(tmp_path: Path) -> None:
    root = tmp_path / "docs"
    (root / "sub").mkdir(parents=True)
    (root / ".git").mkdir()
    (root / "tags").mkdir()
    (root / "old-tags").mkdir()
    for name in (
        "a.txt",
        "sub/b.md",
        "sub/c.png",
        ".hidden.txt",
        "README",
        ".git/config",
        "tags/sentences.csv",
        "old-tags/report.html",
    ):
        (root / name).write_text("内容", encoding="utf-8")
    (root / "old-tags" / "manifest.json").write_text('{\n  "generator": "plantheme tag"\n}', encoding="utf-8")

    scan = scan_folder(root, out_dir=root / "tags")

    fates = {f.path: (f.status, f.reason) for f in scan.files}
    assert fates == {
        ".hidden.txt": ("skipped", "hidden file"),
        "README": ("skipped", "unsupported file type (no suffix)"),
        "a.txt": ("", ""),
        "sub/b.md": ("", ""),
        "sub/c.png": ("skipped", "unsupported file type .png"),
    }
    folders = {f.path: f.reason for f in scan.folders}
    assert set(folders) == {".git/", "old-tags/", "tags/"}
    assert "hidden" in folders[".git/"]
    assert "this run" in folders["tags/"]
    assert "earlier" in folders["old-tags/"]


def test_scan_with_a_glob_skips_the_rest_with_the_reason(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "a.txt").write_text("内容", encoding="utf-8")
    (tmp_path / "b.md").write_text("内容", encoding="utf-8")
    scan = scan_folder(tmp_path, pattern="x/*.txt")
    assert [(f.path, f.status) for f in scan.files] == [("b.md", "skipped"), ("x/a.txt", "")]
    assert "--glob" in scan.files[0].reason
