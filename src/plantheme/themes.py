"""The eight policy themes: the single source of truth for theme ids.

The label set is the contract of the project (labels, API, evaluation); it
follows the project's taxonomy document, whose rules decide every label.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Theme:
    """One policy theme: its id, Chinese name and what it covers."""

    id: str
    name_zh: str
    description: str


THEMES: tuple[Theme, ...] = (
    Theme(
        "industry",
        "产业发展",
        "实体经济与增长：制造业、产业集群与链条、企业培育（专精特新、高新技术企业、小升规、上市）、"
        "技术改造与智改数转、创新研发、产业人才、服务业、商贸、电商、企业金融、作为产业的文旅、"
        "经济指标（税收、规上工业产值、社零总额、财政收入）、营商环境与惠企政策。",
    ),
    Theme(
        "investment",
        "招商引资与项目建设",
        "招商引资、以商招商、项目签约落地（总投资X亿元）、重点项目开工竣工投产与年度投资、"
        "固定资产投资、项目专班与全生命周期服务、为具体项目做的用地与要素保障。",
    ),
    Theme(
        "urban_construction",
        "城镇建设",
        "城镇建成环境：国土空间规划、道路桥梁交通停车、管网与公用设施、片区开发与城市更新、"
        "征地拆迁与安置房、全域土地综合整治与低效用地再开发、老旧小区、市容与城市管理、港口物流基础设施。",
    ),
    Theme(
        "rural_revitalisation",
        "乡村振兴",
        "乡村与农业：乡村振兴、村集体经济、农业与粮食安全、耕地保护与高标准农田、农村人居环境与农房、"
        "农村改革、农民增收、乡风文明、乡村旅游、侨助乡村。",
    ),
    Theme(
        "ecology",
        "生态环境",
        "自然与污染：生态环境保护、大气水土壤污染防治、河长制林长制、污水收集处理、排污口、"
        "环保督察整改、造林与湿地、矿山修复、绿色低碳与节能减排、污染行业监管。",
    ),
    Theme(
        "welfare",
        "民生保障与社会事业",
        "民生与公共服务：社会保障（低保、养老保险、医保）、就业与技能、养老服务、医疗卫生、教育、"
        "面向居民的文化体育服务、困难群体救助、退役军人、妇女儿童、为民办实事。",
    ),
    Theme(
        "governance",
        "社会治理与政府建设",
        "秩序、安全与政府自身：基层治理与网格化、矛盾纠纷化解、信访、平安建设与反诈、"
        "安全生产与应急（消防、燃气、防汛防台）、依法行政、政务公开与政务服务、廉政作风、党建与政治学习。",
    ),
    Theme(
        "other",
        "其他（无具体政策主题）",
        "无具体政策内容：年度定位与口号、指导思想、结束语、会议新闻、无法归类的笼统标题。",
    ),
)

THEME_IDS: tuple[str, ...] = tuple(theme.id for theme in THEMES)
THEMES_BY_ID: dict[str, Theme] = {theme.id: theme for theme in THEMES}
# The theme of sentences with no policy content, and of document furniture.
OTHER = "other"


def is_theme(value: str) -> bool:
    """Return True when ``value`` is one of the eight theme ids."""
    return value in THEMES_BY_ID
