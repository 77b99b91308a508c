"""Automatic list numbers of .docx paragraphs, rendered as Word draws them."""

from __future__ import annotations

import pytest
from test_documents import W_NS, docx_package, docx_paragraph

from plantheme.readers.documents import docx_to_text
from plantheme.readers.docx_numbering import format_number


@pytest.mark.parametrize(
    ("n", "fmt", "expected"),
    [
        (1, "decimal", "1"),
        (12, "decimal", "12"),
        (3, "decimalZero", "03"),
        (1, "chineseCounting", "一"),
        (10, "chineseCounting", "十"),
        (11, "chineseCounting", "十一"),
        (20, "chineseCounting", "二十"),
        (35, "chineseCountingThousand", "三十五"),
        (105, "chineseCountingThousand", "一百〇五"),
        (3200, "chineseCountingThousand", "三千二百"),
        (12, "chineseLegalSimplified", "壹拾贰"),
        (105, "ideographDigital", "一〇五"),
        (3, "ideographTraditional", "丙"),
        (11, "ideographTraditional", "甲"),  # the ten stems go round
        (2, "ideographZodiac", "丑"),
        (3, "decimalEnclosedCircle", "③"),
        (21, "decimalEnclosedCircle", "21"),  # past the circled set: decimal
        (4, "decimalEnclosedParen", "⑷"),
        (12, "decimalFullWidth", "１２"),
        (4, "upperRoman", "IV"),
        (14, "lowerRoman", "xiv"),
        (3, "upperLetter", "C"),
        (28, "lowerLetter", "bb"),
        (7, "bullet", ""),
        (7, "none", ""),
        (5, "hindiNumbers", "5"),  # a format not drawn here: decimal
        (10**9, "lowerLetter", "1000000000"),  # not 38 million letters
    ],
)
def test_numbers_are_written_in_words_formats(n: int, fmt: str, expected: str) -> None:
    assert format_number(n, fmt) == expected


def _lvl(ilvl: int, fmt: str, text: str, start: int = 1, extra: str = "") -> str:
    return (
        f'<w:lvl w:ilvl="{ilvl}"><w:start w:val="{start}"/><w:numFmt w:val="{fmt}"/>'
        f'<w:lvlText w:val="{text}"/>{extra}</w:lvl>'
    )


# An outline list as Chinese plans number it (一、 / （一） / 1.), a bullet list, a list whose
# second level shows the first ("1.1", isLgl) and one that puts nothing after its number.
_NUMBERING = (
    f'<w:numbering xmlns:w="{W_NS}">'
    '<w:abstractNum w:abstractNumId="0">'
    + _lvl(0, "chineseCounting", "%1、")
    + _lvl(1, "chineseCounting", "（%2）")
    + _lvl(2, "decimal", "%3.")
    + '</w:abstractNum><w:abstractNum w:abstractNumId="1">'
    + _lvl(0, "bullet", "\uf0b7")
    + '</w:abstractNum><w:abstractNum w:abstractNumId="2">'
    + _lvl(0, "upperRoman", "%1.", extra='<w:suff w:val="nothing"/>')
    + _lvl(1, "chineseCounting", "%1.%2", extra="<w:isLgl/>")
    + "</w:abstractNum>"
    '<w:num w:numId="1"><w:abstractNumId w:val="0"/></w:num>'
    '<w:num w:numId="2"><w:abstractNumId w:val="1"/></w:num>'
    '<w:num w:numId="3"><w:abstractNumId w:val="2"/></w:num>'
    # the same outline again: continues it
    '<w:num w:numId="4"><w:abstractNumId w:val="0"/></w:num>'
    # the same outline restarted at 1 (Word's "restart numbering")
    '<w:num w:numId="5"><w:abstractNumId w:val="0"/>'
    '<w:lvlOverride w:ilvl="0"><w:startOverride w:val="1"/></w:lvlOverride></w:num>'
    "</w:numbering>"
)
_STYLES = (
    f'<w:styles xmlns:w="{W_NS}">'
    '<w:style w:type="paragraph" w:styleId="Heading1"><w:pPr><w:numPr><w:numId w:val="1"/></w:numPr></w:pPr></w:style>'
    '<w:style w:type="paragraph" w:styleId="MyHeading"><w:basedOn w:val="Heading1"/></w:style>'
    "</w:styles>"
)
_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'numbering" Target="numbering.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'styles" Target="styles.xml"/></Relationships>'
)


def _numbered(text: str, num_id: int | None = None, ilvl: int | None = None, style: str | None = None) -> str:
    """A paragraph with a numbering reference and/or a paragraph style."""
    props = f'<w:pStyle w:val="{style}"/>' if style else ""
    if num_id is not None or ilvl is not None:
        props += "<w:numPr>"
        props += f'<w:ilvl w:val="{ilvl}"/>' if ilvl is not None else ""
        props += f'<w:numId w:val="{num_id}"/>' if num_id is not None else ""
        props += "</w:numPr>"
    return docx_paragraph(f"<w:pPr>{props}</w:pPr>", *([text] if text else []))


def _text(body: str, numbering: str = _NUMBERING, styles: str = _STYLES) -> list[str]:
    parts = {"word/numbering.xml": numbering, "word/styles.xml": styles}
    return docx_to_text(docx_package(body, parts, document_rels=_RELS)).split("\n")


def test_an_outline_numbered_by_word_gets_its_numbers_in_document_order() -> None:
    body = (
        _numbered("总体要求", 1, 0)
        + _numbered("发展目标", 1, 1)
        + _numbered("基本原则", 1, 1)
        + _numbered("坚持创新驱动。", 1, 2)
        + _numbered("", 1, 2)  # an empty item: counted, as Word counts it, but no line
        + _numbered("坚持绿色发展。", 1, 2)
        + docx_paragraph("不编号的段落。")
        + _numbered("重点任务", 1, 0)
        + _numbered("推动产业升级", 1, 1)  # a lower level starts again under a new higher one
        + _numbered("保障措施", 4, 0)  # another num of the same list continues it
        + _numbered("附则", 5, 0)  # ... unless it restarts the list
        + _numbered("不再编号。", 0, 0)  # numId 0: numbering switched off
    )
    assert _text(body) == [
        "一、\t总体要求",
        "（一）\t发展目标",
        "（二）\t基本原则",
        "1.\t坚持创新驱动。",
        "3.\t坚持绿色发展。",
        "不编号的段落。",
        "二、\t重点任务",
        "（一）\t推动产业升级",
        "三、\t保障措施",
        "一、\t附则",
        "不再编号。",
    ]


def test_bullets_legal_numbers_suffixes_and_styles() -> None:
    body = (
        _numbered("要点一。", 2)  # numPr without ilvl: level 0
        + _numbered("要点二。", 2)
        + _numbered("概述", 3, 0)
        + _numbered("范围", 3, 1)  # isLgl: the upper-Roman level shown in decimal
        + _numbered("加强组织领导", style="Heading1")  # numbered through its style
        + _numbered("强化考核", style="MyHeading")  # ... or the style it is based on
        + _numbered("附录", style="Heading1", num_id=0)  # the paragraph's numId 0 wins over the style
    )
    assert _text(body) == [
        "要点一。",
        "要点二。",
        "I.概述",
        "1.1\t范围",
        "一、\t加强组织领导",
        "二、\t强化考核",
        "附录",
    ]


@pytest.mark.parametrize(
    ("numbering", "styles"),
    [
        ("<w:numbering", _STYLES),  # not well-formed
        (_NUMBERING.replace('w:abstractNumId="0"', 'w:abstractNumId="9"', 1), "<oops"),  # a num naming no list
        (f'<w:numbering xmlns:w="{W_NS}"><w:num w:numId="1"/></w:numbering>', _STYLES),  # a num with no list
    ],
)
def test_broken_numbering_costs_the_numbers_not_the_text(numbering: str, styles: str) -> None:
    assert _text(_numbered("总体要求", 1, 0) + docx_paragraph("正文。"), numbering, styles) == ["总体要求", "正文。"]


def test_a_document_without_numbering_reads_as_before() -> None:
    body = _numbered("总体要求", 1, 0) + docx_paragraph("正文。")
    assert docx_to_text(docx_package(body)).split("\n") == ["总体要求", "正文。"]


def test_a_hostile_pattern_cannot_blow_up_the_text() -> None:
    # Every paragraph of a small file would otherwise carry a 10,000-character number.
    numbering = (
        f'<w:numbering xmlns:w="{W_NS}"><w:abstractNum w:abstractNumId="0">'
        + _lvl(0, "lowerLetter", "%1" * 5_000, start=10**9)
        + '</w:abstractNum><w:num w:numId="1"><w:abstractNumId w:val="0"/></w:num></w:numbering>'
    )
    lines = _text(_numbered("正文。", 1, 0) * 100, numbering)
    assert len(lines) == 100
    assert all(len(line) <= 200 and line.endswith("\t正文。") for line in lines)
