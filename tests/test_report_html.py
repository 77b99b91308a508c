"""report.html: the embedded data (escaping, limits, size), and the page at work in headless Chromium."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from plantheme.analysis.records import CorpusAnalysis, Interval, ThemeShares
from plantheme.cli import main
from plantheme.readers.folder_scan import SkippedFolder
from plantheme.tagging.report_html import FLAG_BITS, ReportWriter, embed_json, pack_block, unpack_block
from plantheme.tagging.tag_records import DocumentOutcome, RunTotals, SentenceRecord
from plantheme.themes import THEME_IDS

HOSTILE = '<img src="https://evil.example/x.png" onerror="alert(1)">'
SCRIPT_END = "</script><script>alert(2)</script><!--"


def _outcome(path: str, themes: list[str], **fields: object) -> DocumentOutcome:
    counts = {theme: themes.count(theme) for theme in THEME_IDS}
    dominant = max(THEME_IDS, key=lambda t: (counts[t], -THEME_IDS.index(t))) if themes else ""
    return DocumentOutcome(
        path=path,
        status="tagged",
        format="text",
        encoding="utf-8",
        sentences=len(themes),
        counts=counts,
        dominant=dominant,
        **fields,
    )  # type: ignore[arg-type]


def _records(
    texts: list[str], themes: list[str], confidence: float = 0.42, flags: tuple[str, ...] = ("low_confidence",)
) -> list[SentenceRecord]:
    return [
        SentenceRecord(index=i, start=0, end=len(t), text=t, theme=theme, confidence=confidence, flags=flags)
        for i, (t, theme) in enumerate(zip(texts, themes))
    ]


def render(
    documents: list[tuple[DocumentOutcome, list[SentenceRecord]]],
    tmp_path: Path,
    others: list[DocumentOutcome] = (),
    folders: list[SkippedFolder] = (),  # type: ignore[assignment]
    max_sentences: int = 100,
    analysis: CorpusAnalysis | None = None,
    evidence: dict[str, tuple[tuple[str, float], ...]] | None = None,
) -> str:
    sections_path = tmp_path / "sections.html"
    totals = RunTotals()
    with sections_path.open("w", encoding="utf-8") as sections:
        writer = ReportWriter(sections, max_sentences=max_sentences)
        for outcome, records in documents:
            totals.add(outcome)
            writer.add_document(outcome, iter(records))
    for outcome in others:
        totals.add(outcome)
    page = io.StringIO()
    writer.write(
        page,
        sections_path,
        title="标题 " + HOSTILE,
        model_id="m-1",
        totals=totals,
        outcomes=[o for o, _ in documents] + list(others),
        folders=folders,
        analysis=analysis,
        evidence=evidence,
    )
    return page.getvalue()


def embedded(page: str, element_id: str) -> dict:
    """The data of the page's element ``element_id``: the summary's JSON, or a sentence block unpacked."""
    found = re.search(rf'<script type="application/(json|gzip)" id="{element_id}">(.*?)</script>', page, re.S)
    assert found, element_id
    kind, text = found.groups()
    return json.loads(text) if kind == "json" else unpack_block(text)


def test_everything_from_documents_is_escaped(tmp_path: Path) -> None:
    themes = ["industry", "ecology"]
    documents = [
        (
            _outcome(f"dir/{HOSTILE}{SCRIPT_END}.txt", themes, meta={"year": SCRIPT_END}),
            _records([HOSTILE, SCRIPT_END], themes),
        )
    ]
    others = [DocumentOutcome(path=f"bad{HOSTILE}.txt", status="failed", reason=f"reason {HOSTILE}")]
    folders = [SkippedFolder(path=f".{HOSTILE}/", status="skipped", reason="hidden folder")]
    page = render(documents, tmp_path, others, folders)
    assert "<img" not in page and "alert(2)</script>" not in page and "<!--" not in page
    assert "&lt;img src=&quot;https://evil.example/x.png&quot;" in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    # The data still says exactly what the documents said.
    assert embedded(page, "s-0")["x"] == [HOSTILE, SCRIPT_END]
    summary = embedded(page, "summary")
    assert summary["docs"]["path"] == [f"dir/{HOSTILE}{SCRIPT_END}.txt"]
    assert summary["values"]["year"] == [SCRIPT_END]


@settings(max_examples=50, deadline=None)
@given(st.recursive(st.text(max_size=30) | st.integers(), lambda inner: st.lists(inner, max_size=4)))
def test_embedded_json_round_trips_and_never_holds_a_tag(value: object) -> None:
    text = embed_json(value)
    assert "<" not in text and json.loads(text) == value
    packed = pack_block(value)
    assert re.fullmatch(r"[A-Za-z0-9+/=]*", packed) and unpack_block(packed) == value


def test_sentence_blocks_are_compressed_and_hold_no_markup(tmp_path: Path) -> None:
    text = "全面落实河长制，推进流域水环境综合治理，加快长者食堂和居家养老服务中心建设。"
    themes = ["ecology"] * 200
    page = render(
        [(_outcome("a.txt", themes), _records([text] * 200 + [SCRIPT_END], themes + ["other"]))],
        tmp_path,
        max_sentences=1000,
    )
    block = re.search(r'<script type="application/gzip" id="s-0">(.*?)</script>', page, re.S)
    assert block and re.fullmatch(r"[A-Za-z0-9+/=]+", block.group(1))
    assert len(block.group(1)) < len(text.encode("utf-8")) * 10  # 200 copies: gzip must have found them
    assert embedded(page, "s-0")["x"][-1] == SCRIPT_END and "alert(2)" not in page


def test_sentences_are_embedded_column_by_column(tmp_path: Path) -> None:
    themes = ["industry", "other", "welfare"]
    records = [
        SentenceRecord(0, 0, 2, "甲。", "industry", 0.91, ()),
        SentenceRecord(1, 2, 4, "乙。", "other", 0.334, ("boilerplate", "low_confidence")),
        SentenceRecord(2, 4, 6, "丙。", "welfare", 0.5, ("garbled",)),
    ]
    blob = embedded(render([(_outcome("a.txt", themes), records)], tmp_path), "s-0")
    assert blob["x"] == ["甲。", "乙。", "丙。"]
    assert [THEME_IDS[int(d)] for d in blob["t"]] == themes
    assert blob["c"] == [91, 33, 50]
    assert [int(d, 16) for d in blob["f"]] == [
        0,
        FLAG_BITS["boilerplate"] | FLAG_BITS["low_confidence"],
        FLAG_BITS["garbled"],
    ]
    assert blob["cut"] == 0


@pytest.mark.parametrize(
    ("limit", "embedded_counts", "cut"), [(0, [0, 0], [1, 2]), (2, [1, 1], [0, 1]), (5, [1, 2], [0, 0])]
)
def test_limit_is_shared_across_documents_and_every_document_stays_listed(
    tmp_path: Path, limit: int, embedded_counts: list[int], cut: list[int]
) -> None:
    documents = [
        (_outcome(f"{name}.txt", ["other"] * n), _records(["句。"] * n, ["other"] * n))
        for name, n in (("a", 1), ("b", 2))
    ]
    page = render(documents, tmp_path, max_sentences=limit)
    assert embedded(page, "summary")["docs"]["path"] == ["a.txt", "b.txt"]
    assert [len(embedded(page, f"s-{k}")["x"]) for k in (0, 1)] == embedded_counts
    assert [embedded(page, f"s-{k}")["cut"] for k in (0, 1)] == cut
    assert ("PLANTHEME_REPORT_MAX_SENTENCES" in page) is (sum(cut) > 0)


def test_limit_reads_no_further_than_needed(tmp_path: Path) -> None:
    read = []

    def lazy():  # type: ignore[no-untyped-def]
        for record in _records(["句。"] * 5, ["other"] * 5):
            read.append(record.index)
            yield record

    with (tmp_path / "s.html").open("w", encoding="utf-8") as sections:
        ReportWriter(sections, max_sentences=2).add_document(_outcome("a.txt", ["other"] * 5), lazy())
    assert read == [0, 1]


def test_shares_and_groups_come_from_the_analysis_as_they_are(tmp_path: Path) -> None:
    def shares(key: str, documents: int, content: int, industry: Interval) -> ThemeShares:
        rest = Interval(0.0, 0.0, 0.1)
        return ThemeShares(key, documents, content, {t: industry if t == "industry" else rest for t in THEME_IDS})

    analysis = CorpusAnalysis(
        meta_fields=("year",),
        meta={"a.txt": {"year": "2024"}},
        documents={"a.txt": shares("a.txt", 1, 2, Interval(0.6123, 0.4, 0.81))},
        groups={"year": (shares("year=2024", 1, 2, Interval(0.6123, 0.3, 0.9)),)},
    )
    themes = ["industry", "welfare"]  # predicted: 50% industry; the estimate (61.23%) must win
    page = render(
        [(_outcome("a.txt", themes, meta={"year": "2024"}), _records(["甲。", "乙。"], themes))],
        tmp_path,
        analysis=analysis,
    )
    summary = embedded(page, "summary")
    industry = THEME_IDS.index("industry")
    assert (
        summary["docs"]["share"][0][industry],
        summary["docs"]["lo"][0][industry],
        summary["docs"]["hi"][0][industry],
    ) == (6123, 4000, 8100)
    group = summary["groups"]["year"][0]
    assert group["value"] == "2024" and group["documents"] == 1 and group["share"][2][industry] == 9000
    assert summary["fields"] == ["year"] and summary["values"]["year"] == ["2024"]


def test_examples_are_the_most_confident_unflagged_sentences(tmp_path: Path) -> None:
    texts = [f"句{n}。" for n in range(6)]
    records = [SentenceRecord(n, 0, 3, text, "ecology", 0.5 + n / 20, ()) for n, text in enumerate(texts)]
    records.append(SentenceRecord(6, 0, 3, "页眉。", "ecology", 0.99, ("boilerplate",)))
    page = render([(_outcome("a.txt", ["ecology"] * 7), records)], tmp_path)
    examples = embedded(page, "summary")["examples"]
    assert [e["text"] for e in examples["ecology"]] == ["句5。", "句4。", "句3。"]
    assert examples["industry"] == []
    assert all(e["evidence"] == [] for e in examples["ecology"])  # no evidence given: none shown


def test_examples_carry_the_evidence_words_they_were_given(tmp_path: Path) -> None:
    records = [SentenceRecord(0, 0, 6, "推进河长制。", "ecology", 0.9, ())]
    page = render(
        [(_outcome("a.txt", ["ecology"]), records)],
        tmp_path,
        evidence={"推进河长制。": (("河长制", 3.14159), ("推进", 0.2))},
    )
    assert embedded(page, "summary")["examples"]["ecology"][0]["evidence"] == [["河长制", 3.14], ["推进", 0.2]]


def test_tag_gives_the_report_examples_their_evidence(tagged_report: Path) -> None:
    examples = embedded(tagged_report.read_text(encoding="utf-8"), "summary")["examples"]
    shown = [e for theme in examples.values() for e in theme]
    assert shown and any(e["evidence"] for e in shown)
    for e in shown:  # the words are the sentence's own
        assert all(token in e["text"] for token, _ in e["evidence"])


def test_a_corpus_of_100000_sentences_makes_a_page_under_10_mb(tmp_path: Path) -> None:
    sentence = "推进河长制，加强流域治理。"  # 13 characters, a short real sentence
    documents = []
    for number in range(1_000):
        themes = [THEME_IDS[(number + k) % len(THEME_IDS)] for k in range(100)]
        documents.append(
            (
                _outcome(f"县/report_{2000 + number % 25}_{number}.txt", themes),
                _records([sentence] * 100, themes, confidence=0.8765, flags=()),
            )
        )
    page = render(documents, tmp_path, max_sentences=250_000)
    size = len(page.encode("utf-8"))
    assert size < 10_000_000, size
    assert len(embedded(page, "s-999")["x"]) == 100


# --- the page at work, in headless Chromium ----------------------------------------------

DOCUMENTS = {
    "county/report_2019.txt": "全面落实河长制，推进流域水环境综合治理。\n新建幼儿园2所，改善义务教育办学条件。\n",
    "county/report_2024.txt": (
        "力争新培育专精特新企业3家、高新技术企业5家。深入开展招商引资，力争全年签约项目18个。\n"
        "全面落实河长制，推进流域水环境综合治理。加快长者食堂和居家养老服务中心建设。\n"
    ),
    "town/plan_2024_" + "很长的文件名" * 12 + ".txt": "压实安全生产责任，开展燃气和消防隐患排查整治。\n",
}


@pytest.fixture
def tagged_report(tiny_model_dir: Path, tmp_path: Path) -> Path:
    root = tmp_path / "docs"
    for name, text in DOCUMENTS.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    assert (
        main(
            [
                "tag",
                str(root),
                "--out",
                str(out),
                "--model",
                str(tiny_model_dir),
                "--jobs",
                "1",
                "--quiet",
                "--meta-pattern",
                r"year=20\d\d",
            ]
        )
        == 0
    )
    return (out / "report.html").resolve()


def test_report_in_a_browser_searches_filters_opens_documents_offline(browser, tagged_report: Path) -> None:  # type: ignore[no-untyped-def]
    requested: list[str] = []

    def route(request_route) -> None:  # type: ignore[no-untyped-def]
        url = request_route.request.url
        requested.append(url)
        if url.startswith(("file:", "data:")):
            request_route.continue_()
        else:
            request_route.abort()

    context = browser.new_context(viewport={"width": 390, "height": 844})
    errors: list[str] = []
    try:
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.route("**/*", route)
        page.goto(tagged_report.as_uri())
        docs = page.locator("#docs .doc")
        assert docs.count() == 3
        assert page.locator("#chart svg circle").count() == 2  # the groups year=2019 and year=2024

        # Sentences are decoded on demand (asynchronously): each step waits for the page's own event.
        def then_rendered(action) -> None:  # type: ignore[no-untyped-def]
            with page.expect_event("console", lambda m: m.text == "rendered"):
                action()

        page.evaluate("document.addEventListener('plantheme:rendered', () => console.log('rendered'))")
        page.fill("#q", "河长制")
        then_rendered(lambda: page.press("#q", "Enter"))
        assert docs.count() == 2
        assert "2 sentences match" in page.inner_text("#status")

        page.fill("#q", "")
        then_rendered(lambda: page.press("#q", "Enter"))
        then_rendered(lambda: page.select_option("#ftheme", str(THEME_IDS.index("governance"))))
        assert docs.count() == 1 and "plan_2024" in docs.first.inner_text()

        then_rendered(lambda: page.select_option("#ftheme", "-1"))
        then_rendered(lambda: page.select_option("#meta-0", "2024"))
        assert docs.count() == 2

        then_rendered(lambda: page.click("#reset"))
        report_2024 = page.locator(".doc", has_text="report_2024")
        report_2024.locator(".dh").click()
        sentences = report_2024.locator("li.s")
        sentences.first.wait_for()
        assert sentences.count() == 4
        assert "专精特新" in sentences.first.inner_text()

        page.locator(".doc", has_text="plan_2024").locator(".dh").click()
        page.click("#examples-box summary")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        assert not errors
        assert requested and all(url.startswith(("file:", "data:")) for url in requested), requested
    finally:
        context.close()


def test_report_in_a_browser_without_decompression_says_so_in_one_line(browser, tagged_report: Path) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context()
    errors: list[str] = []
    try:
        page = context.new_page()
        page.add_init_script("delete window.DecompressionStream")
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(tagged_report.as_uri())
        assert page.locator("#docs .doc").count() == 3  # documents and shares need no decoding
        page.fill("#q", "河长制")
        page.press("#q", "Enter")
        page.wait_for_function("document.getElementById('status').textContent.includes('cannot decode')")
        assert "sentences.csv" in page.inner_text("#status") and not errors
    finally:
        context.close()
