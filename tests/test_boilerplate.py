"""Document furniture is recognised by its form; policy sentences never are."""

from __future__ import annotations

import pytest

from plantheme.text.boilerplate import is_boilerplate
from plantheme.text.normalize import normalize_sentence


@pytest.mark.parametrize(
    "line",
    [
        "责任单位：区生态环境分局、区住建局",
        "（牵头单位：县农业农村局；配合单位：各乡镇）",
        "（区城管局牵头，各街道办具体负责）。",
        "（主办：区民政局，协办：区老龄委成员单位）",
        "发布日期：2023-05-12 浏览次数：1024",
        "【字体：大 中 小】",
        "收藏字号：\xa0\xa0大\xa0\xa0中\xa0\xa0小",  # a web page's controls run together
        "打印本页",
        "关闭",
        "来源URL：http://www.example.gov.cn/art/2024/1/2/art_1.html",
        "正文：",
        "抄送：县委办公室，县人大常委会办公室。",
        "附件：1. 重点任务清单",
        "一、总体要求……………………………1",
        "- 3 -",
        "第 2 页 共 10 页",
        "2024年3月5日",
        "赣州市人民政府办公厅",
        "（此件主动公开）",
        "各乡镇人民政府，县直各单位：",
        "序号",
        "大",
        "穗府办〔2011〕6号",
        "锡委办发（2020）19号",
        "京政发[2000]21号",
        "无锡市人民政府办公室文件",
        # cells of task tables and legislative plans, each on its own line in a DOCX
        "市住房城乡建委、市交通局",
        "银监会、发展改革委、工业和信息化部、财政部等",
        "教育局、公安分局、企服中心、各街道办",
        "2024年12月底前",
        "10月",
        "2025年",
        "已报送",
        "持续推进",
        # responsibility notes standing alone, as a paragraph's last line leaves them
        "（核准类+审计，牵头责任部门：商务局）",
        "（陈家宝同志牵头，市劳动局具体实施）",
        "（市财政局、市人力资源保障局、各区政府负责）",
        "（各市（县）区人民政府、无锡经济开发区管委会，市发展改革委负责）",
        # a signature date in Chinese numerals, an adoption date in brackets
        "二○○三年六月八日",
        "二〇〇〇年七月六日",
        "（2020年3月27日）",
    ],
)
def test_furniture_is_boilerplate(line: str) -> None:
    assert is_boilerplate(normalize_sentence(line))


@pytest.mark.parametrize(
    "line",
    [
        "新建高标准农田1.2万亩。",
        "一、总体要求",
        "（三）加快推进生态环境保护",
        "加强组织领导。",
        "全面落实河长制，责任单位要压实责任。",
        "发布实施《XX县养老服务提升行动方案》，新增养老床位300张。",
        "各级各部门要加强协调配合，形成工作合力。",
        "来年力争引进亿元以上项目10个。",
        "（区城管局牵头）推进市容整治，新增绿地5公顷。",
        "认真学习中央文件",
        "全年完成120号任务",
        "市委、市政府高度重视乡村振兴工作。",
        "2024年12月底前完成全部改造任务。",
        "2025年目标",
        "已完成投资12亿元",
        "持续推进河道整治",
        "重庆市学前教育条例（制定）",
        # headings that end like an office's name
        "（一）打造区域性医疗中心",
        "（一）优化空间功能布局",
        "加快构建经济发展新格局",
        "实现十四五良好开局",
        "2020年3月27日召开会议",
    ],
)
def test_policy_sentences_and_headings_are_not(line: str) -> None:
    assert not is_boilerplate(normalize_sentence(line))
