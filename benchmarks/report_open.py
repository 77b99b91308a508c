"""Size of report.html and the time headless Chromium takes to open it, for a large corpus.

Two corpora: generated (``--sentences`` short sentences, 100 per document, written through the
report writer directly, with years for the chart), and optionally a folder tagged for real
(``--folder``, tagged with the shipped model into a temporary folder). For each: the file size,
the first render (``performance.now()`` around the page script's first drawing, set by the page
in ``data-first-render-ms``), the time from navigation to the end of that drawing
(``data-ready-ms``: parsing the HTML and the summary included), opening the document with the most
sentences (its block decoded), a first search over every sentence (every block decoded) and a
second search (blocks already decoded), each timed from the user's action to the page's event
that the drawing is done. Median of ``--repeats`` page loads in a fresh page each.

    python benchmarks/report_open.py [--sentences 100000] [--folder ../shared/corpus/gov-reports] [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))

from conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from plantheme.cli import main as plantheme  # noqa: E402
from plantheme.tagging.report_html import ReportWriter  # noqa: E402
from plantheme.tagging.tag_records import DocumentOutcome, RunTotals, SentenceRecord  # noqa: E402
from plantheme.themes import THEME_IDS  # noqa: E402

SENTENCE = "推进河长制，加强流域治理。"


def generated_report(folder: Path, sentences: int) -> Path:
    """A report of ``sentences`` short sentences, 100 per document, years 2000-2024 as metadata."""
    sections_path = folder / "sections.tmp"
    totals = RunTotals()
    outcomes = []
    with sections_path.open("w", encoding="utf-8") as sections:
        writer = ReportWriter(sections, max_sentences=sentences)
        for number in range(sentences // 100):
            themes = [THEME_IDS[(number + k) % len(THEME_IDS)] for k in range(100)]
            outcome = DocumentOutcome(
                path=f"县/report_{2000 + number % 25}_{number}.txt",
                status="tagged",
                sentences=100,
                counts={t: themes.count(t) for t in THEME_IDS},
                meta={"year": str(2000 + number % 25)},
            )
            records = [
                SentenceRecord(k, 0, len(SENTENCE), f"{SENTENCE}{number}-{k}", theme, 0.8765, ())
                for k, theme in enumerate(themes)
            ]
            writer.add_document(outcome, iter(records))
            totals.add(outcome)
            outcomes.append(outcome)
    report = folder / "report.html"
    with report.open("w", encoding="utf-8") as out:
        writer.write(
            out, sections_path, title="generated", model_id="none", totals=totals, outcomes=outcomes, folders=[]
        )
    return report


def tagged_report(folder: Path, corpus: Path) -> Path:
    out = folder / "tagged"
    plantheme(["tag", str(corpus), "--out", str(out), "--quiet", "--meta-pattern", r"year=20\d\d"])
    return (out / "report.html").resolve()


# Milliseconds from running ACTION to the page's EVENT (the page draws asynchronously once blocks are decoded).
_TIMED = """([event, action]) => new Promise((resolve) => {
    const t = performance.now();
    document.addEventListener(event, () => resolve(performance.now() - t), {once: true});
    (0, eval)(action);
})"""
_SEARCH = (
    "(() => { const q = document.getElementById('q'); q.value = 'WORD';"
    " q.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter'})); })()"
)


def measure(report: Path, repeats: int) -> None:
    from playwright.sync_api import sync_playwright

    first, ready, opened, search, again = [], [], [], [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        for _ in range(repeats):
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(report.as_uri())
            first.append(float(page.evaluate("document.body.dataset.firstRenderMs")))
            ready.append(float(page.evaluate("document.body.dataset.readyMs")))
            page.select_option("#sort", "sentences")  # the largest document first
            opened.append(page.evaluate(_TIMED, ["plantheme:opened", "document.querySelector('#docs .dh').click()"]))
            page.click("#reset")
            search.append(page.evaluate(_TIMED, ["plantheme:rendered", _SEARCH.replace("WORD", "河长制")]))
            again.append(page.evaluate(_TIMED, ["plantheme:rendered", _SEARCH.replace("WORD", "幼儿园")]))
            page.close()
        browser.close()
    print(
        f"{report}: {report.stat().st_size / 1e6:.2f} MB; median of {repeats}: first render "
        f"{statistics.median(first):.0f} ms, navigation to rendered {statistics.median(ready):.0f} ms, "
        f"opening the largest document {statistics.median(opened):.0f} ms, "
        f"first search of every sentence {statistics.median(search):.0f} ms, "
        f"second search {statistics.median(again):.0f} ms"
    )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=100_000)
    parser.add_argument("--folder", type=Path)
    parser.add_argument("--repeats", type=int, default=5)
    return parser.parse_args()


if __name__ == "__main__":
    args = parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        measure(generated_report(Path(scratch), args.sentences), args.repeats)
        if args.folder is not None:
            measure(tagged_report(Path(scratch), args.folder), args.repeats)
