"""Normalisation: each documented decision, the offset map, and garbled-run detection."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plantheme.normalize import normalize, normalize_sentence


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # traditional -> simplified
        ("推動產業發展", "推动产业发展"),
        # pinyin annotations glued to characters are removed
        ("規(guī)劃收官之年", "规划收官之年"),
        ("關（guān）鍵", "关键"),
        ("發(fā)展(zhǎn)", "发展"),
        # real parentheses stay (and become full-width)
        ("（一）加强产业平台建设", "（一）加强产业平台建设"),
        ("(一)加强产业平台建设", "（一）加强产业平台建设"),
        ("提交报告(书面)", "提交报告（书面）"),
        ("引进滑不倒(泉州)科技有限公司", "引进滑不倒（泉州）科技有限公司"),
        ("推进人工智能(AI)应用", "推进人工智能（AI）应用"),
        # spaces between Chinese characters are PDF artefacts
        ("力争新培 育高新技 术企业3家", "力争新培育高新技术企业3家"),
        ("新中国成立 75 周年", "新中国成立75周年"),
        ("Hello   World 项目", "Hello World项目"),
        # width: full-width alphanumerics to ASCII, ASCII punctuation beside Chinese to full-width
        ("增长７％，完成２０２４年目标", "增长7%，完成2024年目标"),
        ("税收收入增长 7%,规模以上工业产值增长 7%;", "税收收入增长7%，规模以上工业产值增长7%；"),
        ("投资1,000万元", "投资1,000万元"),
        ("比例3:1", "比例3:1"),
        # markdown markup
        ("**着力优化社会保障体系。**持续提升", "着力优化社会保障体系。持续提升"),
        ("- 推进河长制\n- 加强林长制", "推进河长制\n加强林长制"),
        ("## 二、重点工作", "二、重点工作"),
        ("详见[通知](https://example.org/a)", "详见通知"),
    ],
)
def test_normalize_decisions(raw: str, expected: str) -> None:
    assert normalize(raw).text == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # a hard-wrapped PDF paragraph is rejoined
        ("推动永信科技等优质企业加快上市步伐，力争新\n培育专精特新企业1家、高新技术企业3家。实施火\n炬企业引进计划，吸引周边潜力型企业到镇落地。\n",
         "推动永信科技等优质企业加快上市步伐，力争新培育专精特新企业1家、高新技术企业3家。实施火炬企业引进计划，吸引周边潜力型企业到镇落地。"),
        # a long line cut mid-sentence, even across a blank line
        ("进一步完善招商体制机制，深入开展全年、全域、全员招商，制定招商图谱，形成储备、在谈、签\n\n约、落地四项清单。",
         "进一步完善招商体制机制，深入开展全年、全域、全员招商，制定招商图谱，形成储备、在谈、签约、落地四项清单。"),
        # titles and headings stay on their own lines
        ("蚶江镇2024年工作计划\n\n石狮市蚶江镇人民政府\n\n2024年是关键之年。",
         "蚶江镇2024年工作计划\n石狮市蚶江镇人民政府\n2024年是关键之年。"),
        ("要实现以上目标，重点抓好以下工作：\n一、推动产业攀高向强\n（一）加强产业平台建设。",
         "要实现以上目标，重点抓好以下工作：\n一、推动产业攀高向强\n（一）加强产业平台建设。"),
        # a numbered heading glued to its first sub-heading by a gap
        ("(一)紧紧抓住实体经济不放松,持续优化产业质量与效益 筑牢实体经济支撑。扎实开展经济普查。",
         "（一）紧紧抓住实体经济不放松，持续优化产业质量与效益\n筑牢实体经济支撑。扎实开展经济普查。"),
    ],
)
def test_line_joining(raw: str, expected: str) -> None:
    assert normalize(raw).text == expected


def test_offsets_map_back_to_original() -> None:
    raw = "2025年是“十四五”規(guī)劃收官之年,\n新培 育企业。"
    doc = normalize(raw)
    start = doc.text.index("规划")
    assert doc.original_text(start, start + 2) == "規(guī)劃"
    start = doc.text.index("新培育")
    assert doc.original_text(start, start + 3) == "新培 育"
    assert len(doc.offsets) == len(doc.text) + 1


@pytest.mark.parametrize(
    "garbled",
    [
        # UTF-8 bytes decoded as GBK, with a lost byte shown as U+FFFD
        "推进高质量发展，建设美丽乡村。".encode("utf-8").decode("gbk", errors="replace"),
        "長者飯?zhí)媒ㄔO(shè)力度",  # the seed document's run: '?', bopomofo
        "加快建设\ufffd\ufffd服务中心",
    ],
)
def test_garbled_runs_are_flagged_not_fatal(garbled: str) -> None:
    doc = normalize("正常的句子。" + garbled + "。后面正常。")
    assert doc.garbled, "garbled run not detected"
    start, end = doc.garbled[0]
    assert doc.is_garbled(start, end)
    first = doc.text.index("正常的句子。")
    assert not doc.is_garbled(first, first + 6)


@pytest.mark.parametrize(
    "clean",
    [
        "2024年是新中国成立75周年，是全面贯彻落实党的二十大精神的关键之年。",
        "2025年是“十四五”規劃收官之年，是“百千萬工程”三年初見成效的關鍵一年。",
        "你知道吗？我们要加快发展！",
        "你知道吗?我们要加快发展!",
    ],
)
def test_clean_text_is_not_flagged(clean: str) -> None:
    assert normalize(clean).garbled == ()


@pytest.mark.parametrize(("raw", "expected"), [
    ("规(guī)(huà)", "规"),  # a run of annotations goes whole
    ("規(guī)劃(huà)", "规划"),
    ("划*(a)", "划"),  # glued by removing markup: removed on the first pass, not the second
    ("规(guī)(AI)", "规（AI）"),  # the run stops at the first bracket that is not pinyin
])
def test_pinyin_annotations_are_removed_in_one_pass(raw: str, expected: str) -> None:
    assert normalize(raw).text == expected
    assert normalize_sentence(expected) == expected


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("规划發展（）()ab 1,。\n？?*-#　：:")), max_size=60))
def test_normalize_is_idempotent_and_maps_every_char(raw: str) -> None:
    doc = normalize(raw)
    assert normalize_sentence(doc.text) == doc.text
    assert len(doc.offsets) == len(doc.text) + 1
    assert all(0 <= o <= len(raw) for o in doc.offsets)
    assert list(doc.offsets) == sorted(doc.offsets)


def test_sentence_fast_path_matches_document_path() -> None:
    """normalize_sentence skips the offset map; it must give the same text."""
    samples = [
        "長者飯?zhí)媒ㄔO(shè)力度,不斷優化。",
        "(一)紧紧抓住实体经济不放松,持续优化产业质量与效益 筑牢实体经济支撑。",
        "- **加强**管理\n# 标题\n签\n\n约、落地。",
        "你知道吗?我们要加快发展!",
    ]
    for raw in samples:
        assert normalize_sentence(raw) == normalize(raw).text


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("规划發展（）()ab 1,。\n？?*-#　：:鏂囦欢\ufffd")), max_size=60))
def test_fast_path_equals_tracked_path(raw: str) -> None:
    assert normalize_sentence(raw) == normalize(raw).text
