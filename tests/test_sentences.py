"""Sentence splitting: units, headings, spans, and the nothing-is-lost property."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plantheme.text.normalize import normalize
from plantheme.text.sentences import split_sentences


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("加快发展。推进改革！是否可行？完善机制；", ["加快发展。", "推进改革！", "是否可行？", "完善机制；"]),
        ("他说：“要加快发展。”然后推进。", ["他说：“要加快发展。”", "然后推进。"]),
        (
            "一、推动产业攀高向强\n（一）加强产业平台建设。按照整体布局推进。",
            ["一、推动产业攀高向强", "（一）加强产业平台建设。", "按照整体布局推进。"],
        ),
        (
            "一是全力抓指标强经济。对照目标细化分解。二是全力抓招商。",
            ["一是全力抓指标强经济。", "对照目标细化分解。", "二是全力抓招商。"],
        ),
        ("主要预期目标是：税收增长7%，产值增长7%。", ["主要预期目标是：税收增长7%，产值增长7%。"]),
        ("没有结尾标点的最后一句", ["没有结尾标点的最后一句"]),
        ("加快发展。。。", ["加快发展。。。"]),
        ("", []),
        ("   \n  ", []),
        # ASCII marks end a sentence only where they cannot be part of a word or number
        ("增长3.5%，达到1.2亿元。下一步...继续推进", ["增长3.5%，达到1.2亿元。", "下一步...", "继续推进"]),
        ("Made in China!很好 who?是的", ["Made in China!很好 who?是的"]),
        ("推进改革! 加快发展", ["推进改革!", "加快发展"]),
        ("任重道远……我们要努力。", ["任重道远……", "我们要努力。"]),
        ("任重道远………", ["任重道远………"]),
        ("首行  \n  次行  ", ["首行", "次行"]),
        # a task's closing responsibility note is a unit of its own (furniture), the task another
        (
            "新增停车位2000个（区发改局牵头，各街道办具体负责）。下一项。",
            ["新增停车位2000个", "（区发改局牵头，各街道办具体负责）。", "下一项。"],
        ),
        (
            "开展为老活动160场（主办：区民政局，协办：各街道办）；",
            ["开展为老活动160场", "（主办：区民政局，协办：各街道办）；"],
        ),
        ("建设停车场（牵头单位：区交通局）\n下一行", ["建设停车场", "（牵头单位：区交通局）", "下一行"]),
        # a leader in charge, or offices and their role at the close; a bracketed aside inside
        (
            "新辟公交线路10条（陈维健、李琦同志牵头，市商贸局具体实施）。",
            ["新辟公交线路10条", "（陈维健、李琦同志牵头，市商贸局具体实施）。"],
        ),
        (
            "加强回收处理利用（市农委牵头，市发改委、环保局、供销合作社等参与）",
            ["加强回收处理利用", "（市农委牵头，市发改委、环保局、供销合作社等参与）"],
        ),
        (
            "用于稳就业支出（市财政局、市人力资源保障局、各区政府负责）",
            ["用于稳就业支出", "（市财政局、市人力资源保障局、各区政府负责）"],
        ),
        (
            "新增上市企业2家（各市（县）区人民政府，市发展改革委按职责分工负责）",
            ["新增上市企业2家", "（各市（县）区人民政府，市发展改革委按职责分工负责）"],
        ),
        # a task list run on one line leaves each note at the head of the next item: split off
        (
            "开展全国人口普查。（市统计局牵头，年内持续推进）推动社会治安防控体系建设。",
            ["开展全国人口普查。", "（市统计局牵头，年内持续推进）", "推动社会治安防控体系建设。"],
        ),
        ("（区城管局牵头）推进市容整治，新增绿地5公顷。", ["（区城管局牵头）", "推进市容整治，新增绿地5公顷。"]),
        ("（含配套资金）完成投资5亿元。", ["（含配套资金）完成投资5亿元。"]),
        ("（区发改局牵头）完成。", ["（区发改局牵头）完成。"]),
        # brackets that name no role and office, or follow too short a task, stay in the sentence
        ("完成投资5亿元（含配套资金）。", ["完成投资5亿元（含配套资金）。"]),
        ("由村委会负责（具体负责人：张三）。", ["由村委会负责（具体负责人：张三）。"]),
        ("任务（区发改局牵头）。", ["任务（区发改局牵头）。"]),
        ("加强协调（各部门密切配合）", ["加强协调（各部门密切配合）"]),
        ("免征进口税收（以下简称五类企业）。", ["免征进口税收（以下简称五类企业）。"]),
        ("由市政府统一部署（2020年起实施）。", ["由市政府统一部署（2020年起实施）。"]),
    ],
)
def test_split(text: str, expected: list[str]) -> None:
    assert [s.text for s in split_sentences(text)] == expected


def test_spans_index_the_text() -> None:
    text = "推进河长制。\n加强林长制；完善机制"
    for sentence in split_sentences(text):
        assert text[sentence.start : sentence.end] == sentence.text


def test_run_on_text_is_cut_at_commas() -> None:
    text = "，".join(["推进产业发展"] * 200)
    units = split_sentences(text, max_chars=100)
    assert len(units) > 1
    assert all(len(u.text) <= 100 for u in units)
    assert "".join(u.text for u in units) == text


def _check_cover(text: str) -> None:
    units = split_sentences(text)
    covered = [0] * len(text)
    last_end = 0
    for unit in units:
        assert last_end <= unit.start < unit.end <= len(text)
        assert text[unit.start : unit.end] == unit.text == unit.text.strip()
        for i in range(unit.start, unit.end):
            covered[i] += 1
        last_end = unit.end
    for i, char in enumerate(text):
        if not char.isspace():
            assert covered[i] == 1, f"character {char!r} at {i} is in {covered[i]} units"


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_every_character_in_exactly_one_unit(text: str) -> None:
    _check_cover(text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("推进发展一二（）、。！？；;!?…”“\n 　ab1，"))))
def test_every_character_in_exactly_one_unit_plan_alphabet(text: str) -> None:
    _check_cover(text)
    _check_cover(normalize(text).text)


_MOJIBAKE_ALPHABET = list("推进发展。！？；;!?…\n 鏂囦欢涘害銆傛帹ㄔ\ufffd?ÃâæŽ¨€™(t)zh铆")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(_MOJIBAKE_ALPHABET)))
def test_every_character_in_exactly_one_unit_with_garbled_runs(text: str) -> None:
    _check_cover(text)
    doc = normalize(text)
    _check_cover(doc.text)
    # No unit ends inside a garbled run (a run may still be cut at MAX_SENTENCE_CHARS).
    ends = {u.end for u in split_sentences(doc.text)[:-1]}
    for start, end in doc.garbled:
        if end - start < 300:
            assert not any(start < e < end for e in ends), (doc.text, doc.garbled)
