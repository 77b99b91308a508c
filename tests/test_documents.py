"""Reading documents for `plantheme tag`: encodings, formats, and finding files in a folder.

The DOCX and PDF builders here are also used by tests/test_tagging.py to build
its fixture folder.
"""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest

from plantheme.documents import (
    EMPTY_FILE, NO_TEXT_LAYER, UnreadableDocument, decode_text, docx_to_text, extract_text,
    html_to_text, pdf_to_text, read_document,
)
from plantheme.folder_scan import compile_glob, scan_folder

SIMPLIFIED = "全面落实河长制，推进流域水环境综合治理。新建幼儿园2所，改善义务教育办学条件。"
TRADITIONAL = "全面落實河長制，推進流域水環境綜合治理。新建幼兒園2所，改善義務教育辦學條件。"


# --- builders shared with test_tagging -------------------------------------------


def build_docx(paragraphs: list[str], table: list[list[str]] | None = None, merge_first_row: bool = False) -> bytes:
    """A .docx with ``paragraphs``, then a table of ``table`` rows (first row merged if asked)."""
    import docx

    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, text in enumerate(row):
                grid.cell(r, c).text = text
        if merge_first_row:
            merged = grid.cell(0, 0).merge(grid.cell(0, len(table[0]) - 1))
            merged.text = table[0][0]
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def cjk_font() -> str | None:
    """A font file with Chinese glyphs on this machine, if there is one."""
    try:
        listed = subprocess.run(["fc-list", ":lang=zh", "file"], capture_output=True, text=True,
                                timeout=10, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    files = [line.split(":")[0].strip() for line in listed.splitlines() if line.strip()]
    files = [f for f in files if f.lower().endswith((".ttf", ".ttc", ".otf"))]
    return sorted(files)[0] if files else None


def build_pdf(lines: list[str]) -> tuple[bytes, list[str]]:
    """A one-page PDF with a text layer, and the lines it holds.

    Chinese needs a font with CJK glyphs; without one on the machine the PDF
    holds pinyin (ASCII) lines instead, which still tests the text layer.
    """
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    font = cjk_font()
    if font:
        pdf.add_font("cjk", fname=font)
        pdf.set_font("cjk", size=12)
    else:
        pdf.set_font("helvetica", size=12)
        lines = ["Quanmian luoshi hezhangzhi, tuijin liuyu shuihuanjing zonghe zhili.",
                 "Xinjian youeryuan 2 suo, gaishan yiwu jiaoyu banxue tiaojian."]
    for line in lines:
        pdf.multi_cell(0, 8, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output()), lines


def build_scanned_pdf() -> bytes:
    """A PDF page with a drawn rectangle and no text: what a scan looks like to pypdf."""
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
    data = build_docx(["第一段。", "第二段。"], [["合并的标题", "x", "y"], ["甲", "乙", "丙"]],
                      merge_first_row=True)
    assert docx_to_text(data).split("\n") == ["第一段。", "第二段。", "合并的标题", "甲", "乙", "丙"]


def test_pdf_text_layer_is_read() -> None:
    data, lines = build_pdf([SIMPLIFIED[:20], SIMPLIFIED[20:]])
    text = pdf_to_text(data)
    for line in lines:
        assert line.replace(" ", "") in text.replace(" ", "").replace("\n", "")


def test_pdf_without_text_layer_fails_as_scanned() -> None:
    with pytest.raises(UnreadableDocument) as caught:
        pdf_to_text(build_scanned_pdf())
    assert (caught.value.status, caught.value.reason) == ("failed", NO_TEXT_LAYER)


@pytest.mark.parametrize(
    ("kind", "data", "status", "reason"),
    [
        ("docx", b"not a zip file", "failed", "not a readable .docx"),
        ("pdf", b"%PDF-1.4 garbage", "failed", "PDF"),
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
    for name in ("a.txt", "sub/b.md", "sub/c.png", ".hidden.txt", "README", ".git/config",
                 "tags/sentences.csv", "old-tags/report.html"):
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
