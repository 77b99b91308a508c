"""Recognise document furniture: lines that carry no policy content of their own.

Web-page copies, DOCX conversions and task-breakdown tables bring lines such as
``责任单位：区生态环境分局``, ``发布日期：2023-05-12 浏览次数：``, ``【字体：大 中 小】``,
``抄送：…``, table-of-contents lines (``一、总体要求……1``) and page numbers
(``- 3 -``). A sentence classifier reads the unit names in them as themes
(``区生态环境分局`` → ecology); they are not policy statements at all. Such units
are labelled ``other``, flagged ``boilerplate`` and left out of theme shares.

The rules work on one normalised sentence unit at a time and look only at its
form (a field label at its start, a page number, dot leaders, a date or an
issuing office standing alone), never at a theme word, so they cannot favour
one theme over another.
"""

from __future__ import annotations

import re

from .sentences import RESPONSIBILITY_NOTE

__all__ = ["is_boilerplate"]

# Field labels that open a line of furniture. After normalisation the colon is
# the full-width "：" (ASCII ":" beside Chinese becomes "："), and spaces between
# Chinese characters are gone ("发 布 日 期" → "发布日期").
_FIELD_LABELS = (
    # task tables and task-breakdown documents
    "责任单位",
    "牵头单位",
    "配合单位",
    "协办单位",
    "参与单位",
    "责任部门",
    "牵头部门",
    "配合部门",
    "主要责任单位",
    "责任领导",
    "牵头领导",
    "责任人",
    "完成时限",
    "完成时间",
    "时间节点",
    "时限要求",
    # document metadata and distribution
    "抄送",
    "抄报",
    "印发",
    "发布日期",
    "发布时间",
    "发布机构",
    "发文日期",
    "发文时间",
    "发文机关",
    "发文单位",
    "发文字号",
    "成文日期",
    "文号",
    "索引号",
    "主题分类",
    "主题词",
    "公开方式",
    "公开范围",
    "有效性",
    "生效日期",
    "废止日期",
    "标题",
    "正文",
    "附件",
    "附表",
    # web-page furniture
    "来源",
    "来源URL",
    "信息来源",
    "文章来源",
    "稿件来源",
    "浏览次数",
    "点击数",
    "阅读次数",
    "访问次数",
    "作者",
    "编辑",
    "责任编辑",
    "审核",
    "校对",
    "字体",
    "字号",
    "分享到",
    "主办单位",
    "承办单位",
    "协办单位",
    "网站标识码",
    "备案号",
    "联系电话",
    "联系人",
    "联系地址",
    "邮编",
    "电子邮箱",
    "传真",
)
# A web page's controls run together ahead of a field ("收藏字号：大中小").
_FIELD = re.compile(
    r"^[【\[(（]?(?:收藏|打印|分享)?(?:"
    + "|".join(sorted(map(re.escape, _FIELD_LABELS), key=len, reverse=True))
    + r")\s*[：:]"
)
# Web-page controls and notices that stand alone.
_CONTROLS = re.compile(
    r"^[【\[]?(?:打印(?:本页|此页|文章)?|关闭(?:窗口|本页)?|返回顶部|收藏|分享|扫一扫|"
    r"字体[：:]?大中小|大中小|视力保护色|网站地图|联系我们|目录|附件[:：]?|"
    r"[（(]此件(?:主动|公开|不)?[^）)]{0,8}[）)])[】\]]?$"
)
# Page numbers: "- 3 -", "—12—", "第 3 页 共 10 页", "3/10".
_PAGE_NUMBER = re.compile(
    r"^(?:[-—–－]\s*\d{1,4}\s*[-—–－]|第\s*\d{1,4}\s*页(?:\s*[，,]?\s*共\s*\d{1,4}\s*页)?|\d{1,4}\s*/\s*\d{1,4}|\d{1,4})$"
)
# Table-of-contents lines: dot leaders (or a run of middle dots) and a page number.
_TOC_LINE = re.compile(r"(?:…{2,}|\.{4,}|·{4,}|．{4,}|-{4,})\s*\d{1,4}$")
# A date or an issuing office alone on its line (a signature block).
# Also in Chinese numerals ("二○○三年六月八日", an official document's signature date) and in
# brackets under a title ("（2020年3月27日）", the date it was adopted).
_DATE_ALONE = re.compile(
    r"^[（(]?(?:[\d〇○零一二三四五六七八九]{4}\s*年\s*[\d一二三四五六七八九十]{1,2}\s*月\s*[\d一二三四五六七八九十]{1,3}\s*日"
    r"|\d{4}[-./]\d{1,2}[-./]\d{1,2})[）)]?$"
)
# Not a numbered heading ("（一）打造区域性医疗中心"), and 局 not of 布局, 格局, 开局 ("优化空间功能布局").
_NOT_HEADING = r"(?![（(][一二三四五六七八九十百\d]{1,3}[）)]|[一二三四五六七八九十百]{1,3}[、.．]|\d{1,3}[、.．])"
_OFFICE_END = r"(?<![布格开大全破变结当时定残败])局"
_OFFICE_ALONE = re.compile(
    rf"^{_NOT_HEADING}[\u4e00-\u9fff（）()]{{2,24}}(?:人民政府|人民政府办公室|人民政府办公厅|办公室|办公厅|委员会|"
    rf"管理局|{_OFFICE_END}|厅|委|办|中心|街道办事处|办事处)$"
)
# Task tables and legislative or project plans in DOCX give every cell its own line: the units
# responsible ("市住房城乡建委、市交通局"), a deadline ("2024年12月底前", "10月") or the item's
# progress ("已报送"). None says what the item is about; read as sentences they became the
# neighbours that pulled the items between them to `other`.
_OFFICE = (
    rf"{_NOT_HEADING}各?[\u4e00-\u9fff（）()]{{1,20}}?(?:人民政府|政府|人大|政协|办公室|办公厅|委员会|管理局|{_OFFICE_END}|厅|委|办|"
    r"中心|街道办事处|办事处|街道|集团|公司|法院|检察院|部|署|会)"
)
_OFFICES_ALONE = re.compile(rf"^{_OFFICE}(?:[、，,和及/]{_OFFICE}){{1,12}}等?$")
_DEADLINE_ALONE = re.compile(
    r"^(?=.*\d)(?:\d{4}\s*年)?(?:\d{1,2}\s*月)?(?:\d{1,2}\s*日)?"
    r"(?:上半年|下半年|年内|年底|月底|底|上旬|中旬|下旬|前|以前|之前|完成|起)*$"
)
_PROGRESS_ALONE = re.compile(
    r"^(?:已报送|已完成|基本完成|未完成|已启动|进行中|推进中|持续推进|长期坚持|持续开展|常态化推进|长期)$"
)
# A document number alone on its line ("穗府办〔2011〕6号", "锡委办发（2020）19号") and a
# letterhead ("无锡市人民政府办公室文件"): the head of an official document, above its title.
_DOC_NUMBER = re.compile(r"^[\u4e00-\u9fff]{1,12}[〔\[（(【]\s*(?:19|20)\d{2}\s*[〕\]）)】]\s*第?\d{1,4}\s*号$")
_LETTERHEAD = re.compile(r"^[\u4e00-\u9fff（）()]{2,24}(?:人民政府|办公厅|办公室|委员会|局|厅|委|部)文件$")
# An addressee line: "各乡镇人民政府，县直各单位：".
_ADDRESSEE = re.compile(r"^各[^。；！？]{1,60}[：:]$")
_URL = re.compile(r"^(?:https?://|www\.)\S+$")
# Table headers and cells so short they say nothing ("序号", "备注", "大").
_MAX_CONTENTLESS = 2
_WORD_CHARS = re.compile(r"[^\W_]", re.UNICODE)


# Every rule but a field label, a table-of-contents line, a URL and an addressee fits a short
# line: longer units skip them (this runs on every sentence of every document).
_MAX_SHORT_LINE = 30
# A unit this short with at most two letters, digits or characters says nothing ("- 3 -").
_MAX_CONTENTLESS_LINE = 8


def is_boilerplate(unit: str) -> bool:
    """True when a normalised sentence unit is document furniture, not policy content."""
    text = unit.strip()
    if not text:
        return True
    if _FIELD.match(text):
        return True
    if text[0] in "（(" and RESPONSIBILITY_NOTE.match(text):
        return True
    if text[-1].isdigit() and _TOC_LINE.search(text):
        return True
    if text.startswith(("http", "www.")) and _URL.match(text):
        return True
    if len(text) <= _MAX_CONTENTLESS_LINE and len(_WORD_CHARS.findall(text)) <= _MAX_CONTENTLESS:
        return True
    compact = text.replace(" ", "")
    if compact[0] == "各":
        return bool(_ADDRESSEE.match(compact))
    if len(compact) > _MAX_SHORT_LINE:
        return False
    return bool(
        _CONTROLS.match(compact)
        or _PAGE_NUMBER.match(compact)
        or _DATE_ALONE.match(compact)
        or _OFFICE_ALONE.match(compact)
        or _OFFICES_ALONE.match(compact)
        or _DEADLINE_ALONE.match(compact)
        or _PROGRESS_ALONE.match(compact)
        or _DOC_NUMBER.match(compact)
        or _LETTERHEAD.match(compact)
    )
