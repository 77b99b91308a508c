"""Shared fixtures: a small model trained in the test session on a handful of sentences.

Tests that need a model use ``tiny_model_dir`` (a saved model folder) or
``tiny_model`` (loaded); they never depend on the shipped default model, so the
suite checks behaviour, not a particular training run.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from plantheme.model.model import ThemeModel, build_pipeline
from plantheme.model.persistence import ModelCard, load_model, save_model

TINY_ROWS: dict[str, list[str]] = {
    "industry": [
        "力争新培育专精特新企业3家、高新技术企业5家。",
        "推动规上工业企业实施技术改造，加快智改数转步伐。",
        "全年规模以上工业产值增长7%，税收收入增长6%。",
        "做强纺织服装产业集群，支持龙头企业上市。",
        "优化营商环境，落实惠企政策，助企纾困解难。",
    ],
    "investment": [
        "深入开展招商引资，力争全年签约项目18个、总投资100亿元。",
        "推动重点项目开工建设，全年开工项目30个、竣工11个。",
        "完成固定资产投资31.6亿元，同比增长8%。",
        "健全项目专班机制，为重点项目提供全生命周期服务。",
        "积极开展以商招商，推动优质项目早日落地投产。",
    ],
    "urban_construction": [
        "全力推动片区征迁，做好安置房建设和净地出让。",
        "加快推进镇区主干道路改造和停车场建设。",
        "实施老旧小区改造，完善供水燃气管网配套。",
        "推进全域土地综合整治和低效用地再开发。",
        "加强城市管理，整治市容市貌和占道经营。",
    ],
    "rural_revitalisation": [
        "发展壮大村集体经济，力争村均收入达65万元以上。",
        "新建高标准农田800亩，严守耕地保护红线。",
        "深化农村人居环境整治，推进裸房整治和美丽庭院创建。",
        "推进移风易俗，培育文明乡风。",
        "发展特色农业，带动农民增收致富。",
    ],
    "ecology": [
        "全面落实河长制，推进流域水环境综合治理。",
        "深入打好蓝天保卫战，加强大气污染防治。",
        "完成环保督察反馈问题整改，强化排污口监管。",
        "推进污水管网建设，提升生活污水收集处理率。",
        "实施矿山生态修复和森林抚育，新增造林500亩。",
    ],
    "welfare": [
        "提高低保和养老保险保障水平，确保医保参保率达到96%。",
        "加快长者食堂和居家养老服务中心建设。",
        "新建幼儿园2所，改善义务教育办学条件。",
        "落实就业帮扶政策，开展职业技能培训。",
        "关心关爱退役军人和困难群众，办好为民实事。",
    ],
    "governance": [
        "压实安全生产责任，开展燃气和消防隐患排查整治。",
        "深化网格化管理，及时化解矛盾纠纷和信访问题。",
        "推进平安建设，常态化开展扫黑除恶和反诈宣传。",
        "坚持依法行政，深化政务公开和政务服务改革。",
        "严格落实中央八项规定精神，加强党风廉政建设。",
    ],
    "other": [
        "2024年是实施十四五规划的攻坚之年。",
        "重点做好以下工作：",
        "让我们紧密团结，奋力谱写高质量发展新篇章！",
        "会议由镇长主持，全体班子成员出席。",
        "坚持以习近平新时代中国特色社会主义思想为指导。",
    ],
}


def tiny_texts_and_themes() -> tuple[list[str], list[str]]:
    """The fixture sentences and their themes, flattened."""
    texts = [text for rows in TINY_ROWS.values() for text in rows]
    themes = [theme for theme, rows in TINY_ROWS.items() for _ in rows]
    return texts, themes


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model folder trained on TINY_ROWS and saved with the real persistence code."""
    return _save_tiny_model(tmp_path_factory, "tiny", features="union")


@pytest.fixture(scope="session")
def tiny_char_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A character n-gram model (the default kind: saved with its arrays, model.npz)."""
    return _save_tiny_model(tmp_path_factory, "tiny-char", features="char", char_ngram_max=2)


def _save_tiny_model(tmp_path_factory: pytest.TempPathFactory, name: str, **params: object) -> Path:
    """Fit a pipeline with ``params`` (and C=10) on TINY_ROWS and save it as folder ``name``."""
    texts, themes = tiny_texts_and_themes()
    pipeline = build_pipeline(C=10.0, **params)  # type: ignore[arg-type]
    pipeline.fit(texts, themes)
    out = tmp_path_factory.mktemp("models") / name
    card = ModelCard(themes=[], training={"rows": len(texts)}, cv={}, params={"features": params["features"]})
    save_model(ThemeModel(pipeline=pipeline), card, out)
    return out


@pytest.fixture(scope="session")
def tiny_model(tiny_model_dir: Path) -> ThemeModel:
    """The tiny model, loaded."""
    model, _ = load_model(tiny_model_dir)
    return model


def tiny_documents() -> list[dict[str, object]]:
    """Six small labelled documents (the ``*.documents.jsonl`` record format) built from TINY_ROWS:
    a title naming the theme, a heading, the theme's sentences, a safeguard line and furniture."""
    names = {
        "industry": "产业发展",
        "investment": "招商引资",
        "urban_construction": "城镇建设",
        "rural_revitalisation": "乡村振兴",
        "ecology": "生态环境保护",
        "welfare": "民生保障",
    }
    documents = []
    for number, (theme, name) in enumerate(names.items(), start=1):
        documents.append(
            {
                "doc": f"tiny-d{number}",
                "genre": "implementation_plan",
                "paragraphs": [
                    [[theme, f"XX县{name}工作方案"]],
                    [["other", "一、重点任务"]],
                    [[theme, text] for text in TINY_ROWS[theme][:3]],
                    [["other", "加强组织领导。"]],
                    [["other", "责任单位：县发改局"]],
                    [[theme, TINY_ROWS[theme][3]]],
                ],
            }
        )
    return documents


CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags Chromium keeps dialling Google's hosts,
# which this closed network refuses; a fresh profile keeps runs independent.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


# Module scope, not session: Playwright's sync API keeps an asyncio event loop running in the main
# thread while it is open, and every later test calling asyncio.run() would fail ("cannot be called
# from a running event loop"); closing it after each module that uses it ends that loop.
@pytest.fixture(scope="module")
def browser():  # type: ignore[no-untyped-def]
    """Headless Debian Chromium driven by Playwright (the README's test command installs it).

    Per module, not per session: while Playwright's sync API runs, its event loop counts as running
    in the main thread, and later tests that call ``asyncio.run`` (the service's) would fail.
    """
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.fail(
            f"browser tests need Debian's chromium at {CHROMIUM}: run the README's test command, "
            "which installs it (apt-get install chromium)"
        )
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


# A sitecustomize.py for the tagging processes of a test (PLANTHEME_TEST_CRASH set): a file whose
# name starts with "crash" kills the process that tags it, as a worker killed for memory would die.
CRASHING_SITECUSTOMIZE = """
import os
if os.environ.get("PLANTHEME_TEST_CRASH"):
    import plantheme.tagging.document_jobs as document_jobs
    real_tag_file = document_jobs.tag_file

    def crashing_tag_file(job, config):
        if job.path.startswith("crash"):
            os._exit(9)  # as a worker killed for memory, or a parser's segfault
        return real_tag_file(job, config)

    document_jobs.tag_file = crashing_tag_file
"""


REVIEW_DOCUMENTS = {
    "a/县政府工作报告.txt": "XX县2024年工作计划\n\n一、产业发展\n"
    + "".join(TINY_ROWS["industry"][:3])
    + "推进重点项目和乡村产业融合发展，带动农民增收。\n二、生态环境\n"
    + "".join(TINY_ROWS["ecology"][:3])
    + "\n责任单位：县发改局\n",
    "b/镇工作要点.txt": "XX镇2024年工作要点\n\n（一）民生保障\n"
    + "".join(TINY_ROWS["welfare"][:3])
    + "加强城市管理和平安建设，整治占道经营。\n（二）基层治理\n"
    + "".join(TINY_ROWS["governance"][:3])
    + "\n",
}


@pytest.fixture(scope="session")
def review_tag_output(tmp_path_factory: pytest.TempPathFactory, tiny_char_model_dir: Path) -> Path:
    """A `plantheme tag` output folder of two small documents, tagged with the tiny character model
    (read-only: tests copy it before changing it)."""
    from plantheme.cli import main

    root = tmp_path_factory.mktemp("review")
    docs = root / "docs"
    for name, text in REVIEW_DOCUMENTS.items():
        (docs / name).parent.mkdir(parents=True, exist_ok=True)
        (docs / name).write_text(text, encoding="utf-8")
    out = root / "docs-tags"
    assert (
        main(["tag", str(docs), "--out", str(out), "--model", str(tiny_char_model_dir), "--jobs", "1", "--quiet"]) == 0
    )
    return out


@pytest.fixture
def forks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The pids of the processes forked during the test (the worker processes of ``--jobs``)."""
    forked: list[int] = []
    real_fork = os.fork

    def fork() -> int:
        pid = real_fork()
        if pid:
            forked.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", fork)
    return forked


def process_gone(pid: int, *, group: bool = False) -> bool:
    """Whether no process has ``pid`` any more (ended and reaped), or none is left in group ``pid``."""
    try:
        (os.killpg if group else os.kill)(pid, 0)
    except ProcessLookupError:
        return True
    return False
