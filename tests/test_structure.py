"""The outline: heading levels, the heading each sentence sits under, the title."""

from __future__ import annotations

import pytest

from plantheme.text.sentences import split_sentences
from plantheme.text.structure import heading_level, outline_of


@pytest.mark.parametrize(
    "unit, alone, level",
    [
        ("第一章 总体要求", True, 0),
        ("一、总体要求", True, 1),
        ("（二）健全医疗保障体系", True, 2),
        ("3.推进智慧医保", True, 3),
        ("（4）强化基金监管", True, 4),
        ("①完善制度", True, 5),
        ("保障措施", True, 3),  # unnumbered, alone on its line
        ("保障措施", False, None),  # the same words inside a paragraph
        ("持续扩大覆盖面。", True, None),  # a sentence, not a heading
        ("1.5万亩高标准农田全部建成。", True, None),
        ("一、" + "很长的句子" * 12, True, None),
    ],
)
def test_heading_level(unit: str, alone: bool, level: int | None) -> None:
    assert heading_level(unit, alone) == level


DOCUMENT = "\n".join(
    [
        "XX县医疗保障局2024年工作要点",
        "一、完善医保制度",
        "（一）扩大参保",
        "持续扩大覆盖面。",
        "（二）强化监管",
        "严厉打击欺诈骗保。",
        "二、保障措施",
        "加强组织领导。",
    ]
)


def test_outline_nearest_and_top_heading_and_title() -> None:
    units = split_sentences(DOCUMENT)
    texts = [u.text for u in units]
    outline = outline_of(DOCUMENT, [(u.start, u.end) for u in units], [False] * len(units))
    assert outline.title == 0 and outline.levels[0] is None
    i = texts.index("持续扩大覆盖面。")
    assert texts[outline.nearest_heading[i]] == "（一）扩大参保"
    assert texts[outline.top_heading[i]] == "一、完善医保制度"
    j = texts.index("严厉打击欺诈骗保。")
    assert texts[outline.nearest_heading[j]] == "（二）强化监管"  # a sibling closes the previous one
    k = texts.index("加强组织领导。")
    # A new top-level heading closes every deeper one.
    assert texts[outline.nearest_heading[k]] == texts[outline.top_heading[k]] == "二、保障措施"


def test_furniture_is_never_title_or_heading() -> None:
    text = "发布日期：2024-01-02\n关于印发养老服务方案的通知\n保障措施\n新增床位300张。"
    units = split_sentences(text)
    skip = [u.text.startswith("发布日期") for u in units]
    outline = outline_of(text, [(u.start, u.end) for u in units], skip)
    assert outline.title == 1
    assert outline.levels[0] is None and outline.levels[2] == 3


@pytest.mark.parametrize(
    "head, title",
    [
        # A title wrapped over two and three lines (DOCX conversions keep the author's breaks).
        (
            "重庆市人民政府关于\n促进儿童事业持续健康发展若干政策的意见\n",
            ["重庆市人民政府关于", "促进儿童事业持续健康发展若干政策的意见"],
        ),
        (
            "市政府办公厅关于印发\n降低实体经济企业成本\n第二批政策措施的通知\n",
            ["市政府办公厅关于印发", "降低实体经济企业成本", "第二批政策措施的通知"],
        ),
        # A line that ends with the kind of document is the whole title.
        ("关于印发养老服务方案的通知\n保障措施\n", ["关于印发养老服务方案的通知"]),
        # Lines that never name a kind are not joined: the first line alone.
        ("重庆市人民政府关于\n促进儿童事业持续健康发展\n", ["重庆市人民政府关于"]),
        # A numbered heading ends the title.
        ("重庆市人民政府关于\n一、总体要求的通知\n", ["重庆市人民政府关于"]),
    ],
)
def test_a_wrapped_title_is_one_title(head: str, title: list[str]) -> None:
    text = head + "新增床位300张。"
    units = split_sentences(text)
    outline = outline_of(text, [(u.start, u.end) for u in units], [False] * len(units))
    assert [units[i].text for i in outline.title_units] == title
    assert outline.title == outline.title_units[0]
    assert all(outline.levels[i] is None for i in outline.title_units)  # no part of it heads the body


def test_no_units() -> None:
    outline = outline_of("", [], [])
    assert outline.title == -1 and outline.levels == ()


def _outline(text: str) -> tuple[list[str], list[int | None], list[int]]:
    units = split_sentences(text)
    outline = outline_of(text, [(u.start, u.end) for u in units], [False] * len(units))
    return [u.text for u in units], list(outline.levels), list(outline.nearest_heading)


def test_a_table_of_short_cells_gives_no_headings() -> None:
    # A legislative plan's table, a cell per line: the cells are not headings, so every bill
    # sits under the section heading, not under the cell before it.
    text = "\n".join(
        ["某市人民政府2020年立法工作计划", "一、地方性法规草案", "项目名称", "起草单位", "送审时间"]
        + ["某市人力资源市场条例（制定）", "某市社会信用条例（制定）", "某市特种设备安全条例（制定）"]
    )
    units, levels, nearest = _outline(text)
    section = units.index("一、地方性法规草案")
    assert levels[section] == 1
    assert all(level is None for level in levels[section + 1 :])
    assert nearest[-1] == section


def test_two_unnumbered_headings_in_a_row_stay_headings() -> None:
    units, levels, nearest = _outline("某县2024年工作要点\n保障措施\n加强组织领导\n各单位要明确分工，压实责任。")
    assert levels[1:3] == [3, 3]
    assert nearest[3] == 2
