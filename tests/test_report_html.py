"""report.html on its own: escaping of everything that comes from documents, self-containment, limits."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from plantheme.readers.folder_scan import SkippedFolder
from plantheme.tagging.report_html import ReportWriter
from plantheme.tagging.tag_records import DocumentOutcome, RunTotals, SentenceRecord
from plantheme.themes import THEME_IDS

HOSTILE = '<img src="https://evil.example/x.png" onerror="alert(1)">'


def _outcome(path: str, themes: list[str], **fields: object) -> DocumentOutcome:
    counts = {theme: themes.count(theme) for theme in THEME_IDS}
    dominant = max(THEME_IDS, key=lambda t: (counts[t], -THEME_IDS.index(t))) if themes else ""
    return DocumentOutcome(path=path, status="tagged", format="text", encoding="utf-8",
                           sentences=len(themes), counts=counts, dominant=dominant, **fields)  # type: ignore[arg-type]


def _records(texts: list[str], themes: list[str]) -> list[SentenceRecord]:
    return [SentenceRecord(index=i, start=0, end=len(t), text=t, theme=theme, confidence=0.42,
                           flags=("low_confidence",)) for i, (t, theme) in enumerate(zip(texts, themes))]


def render(documents: list[tuple[DocumentOutcome, list[SentenceRecord]]], tmp_path: Path,
           others: list[DocumentOutcome] = (), folders: list[SkippedFolder] = (),  # type: ignore[assignment]
           max_sentences: int = 100) -> str:
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
    writer.write(page, sections_path, title="标题 " + HOSTILE, model_id="m-1", totals=totals,
                 outcomes=[o for o, _ in documents] + list(others), folders=folders)
    return page.getvalue()


def test_everything_from_documents_is_escaped(tmp_path: Path) -> None:
    themes = ["industry", "ecology"]
    documents = [(_outcome(f"dir/{HOSTILE}.txt", themes), _records([HOSTILE, "</li></ol><script>x()</script>"], themes))]
    others = [DocumentOutcome(path=f"bad{HOSTILE}.txt", status="failed", reason=f"reason {HOSTILE}")]
    folders = [SkippedFolder(path=f".{HOSTILE}/", status="skipped", reason="hidden folder")]
    page = render(documents, tmp_path, others, folders)
    assert "<img" not in page and "<script" not in page and "</ol><" not in page
    assert "&lt;img src=&quot;https://evil.example/x.png&quot;" in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)


def test_page_shows_charts_and_flags(tmp_path: Path) -> None:
    themes = ["industry", "industry", "welfare"]
    page = render([(_outcome("a.txt", themes), _records(["甲。", "乙。", "丙。"], themes))], tmp_path)
    assert 'style="width:66.67%"' in page  # the document's and the corpus's industry share
    assert page.count('<li class="s t-') == 3
    assert "low confidence" in page
    assert "产业发展" in page


@pytest.mark.parametrize(("limit", "shown"), [(0, 0), (2, 2), (5, 3)])
def test_sentence_limit_is_shared_across_documents(tmp_path: Path, limit: int, shown: int) -> None:
    documents = [(_outcome(f"{name}.txt", ["other"] * n), _records(["句。"] * n, ["other"] * n))
                 for name, n in (("a", 1), ("b", 2))]
    page = render(documents, tmp_path, max_sentences=limit)
    assert page.count('<li class="s t-') == shown
    assert ("more sentences of this document are not shown" in page) is (shown < 3)


def test_limit_reads_no_further_than_needed(tmp_path: Path) -> None:
    read = []

    def lazy():  # type: ignore[no-untyped-def]
        for record in _records(["句。"] * 5, ["other"] * 5):
            read.append(record.index)
            yield record

    with (tmp_path / "s.html").open("w", encoding="utf-8") as sections:
        ReportWriter(sections, max_sentences=2).add_document(_outcome("a.txt", ["other"] * 5), lazy())
    assert read == [0, 1]


@settings(max_examples=50, deadline=None)
@given(st.text(min_size=1, max_size=40))
def test_any_sentence_text_is_escaped(text: str) -> None:
    html = ReportWriter._sentence_html(SentenceRecord(0, 0, 1, text, "other", 0.9))
    assert "<" not in html.split('<span class="x">', 1)[1].split("</span>", 1)[0]
