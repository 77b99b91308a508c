"""``report.html``: one self-contained page showing what ``plantheme tag`` found.

The page has no script and loads nothing (no fonts, images or styles from the
network): it is one file a person can open offline on a phone or a laptop. It
shows the theme shares of the whole corpus, a bar of theme shares per document,
the files that were not tagged and why, and each document's sentences coloured
by theme with their confidence. Every piece of document text, path and reason
is HTML-escaped.

Document sections are written to a part file while documents finish (so the
report never holds the corpus in memory) and joined with the summary at the
end. At most ``max_sentences`` sentences are shown in all (a browser cannot
open a page of a million sentences); the rest are counted and pointed to
``sentences.csv``.
"""

from __future__ import annotations

import itertools
import shutil
from html import escape
from pathlib import Path
from typing import TextIO
from collections.abc import Iterable

from ..readers.folder_scan import SkippedFolder
from .tag_records import FAILED, TAGGED, DocumentOutcome, RunTotals, SentenceRecord
from .tagging import GARBLED, LOW_CONFIDENCE
from ..themes import THEME_IDS, THEMES_BY_ID

__all__ = ["THEME_COLOURS", "ReportWriter"]

# Tableau 10: distinct hues that stay apart for most colour-vision deficiencies.
THEME_COLOURS: dict[str, str] = {
    "industry": "#1f77b4",
    "investment": "#ff7f0e",
    "urban_construction": "#8c564b",
    "rural_revitalisation": "#2ca02c",
    "ecology": "#17becf",
    "welfare": "#e377c2",
    "governance": "#d62728",
    "other": "#7f7f7f",
}
# Segments narrower than this carry no percentage label (it would not fit).
_LABEL_MIN_SHARE = 0.08
_MAX_LISTED_FILES = 1000

_CSS = """
*{box-sizing:border-box}
body{margin:0 auto;max-width:72rem;padding:1rem;line-height:1.55;color:#1b1b1b;background:#fbfbfa;
font-family:system-ui,-apple-system,"Segoe UI","PingFang SC","Hiragino Sans GB","Microsoft YaHei",
"Noto Sans CJK SC","Source Han Sans SC","WenQuanYi Micro Hei",sans-serif}
h1{font-size:1.5rem;margin:.5rem 0 .25rem}h2{font-size:1.2rem;margin:2rem 0 .75rem;
border-bottom:1px solid #ddd;padding-bottom:.25rem}h3{font-size:1.05rem;margin:0;word-break:break-all}
a{color:#0b5cad}.meta{color:#555;font-size:.9rem;margin:.25rem 0}
.bar{display:flex;height:1.5rem;border-radius:4px;overflow:hidden;background:#e4e4e4;min-width:4rem}
.seg{display:block;height:100%;background:var(--c);color:#fff;font-size:.75rem;line-height:1.5rem;
text-align:center;overflow:hidden;white-space:nowrap}
.themes{margin-top:.75rem}
.trow{display:flex;flex-wrap:wrap;align-items:center;gap:.2rem .75rem;margin:.35rem 0}
.trow .lab{flex:0 0 17rem;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.trow .track{flex:1 1 10rem}.trow .num{flex:0 0 auto;min-width:7rem}
.track{height:1.1rem;background:#e9e9e9;border-radius:3px;overflow:hidden}
.fill{display:block;height:100%;background:var(--c)}.num{font-variant-numeric:tabular-nums;font-size:.9rem;
white-space:nowrap;text-align:right}
.chip{display:inline-block;width:.8rem;height:.8rem;border-radius:2px;background:var(--c);
margin-right:.4rem;vertical-align:-.05rem}
.docs{display:grid;grid-template-columns:minmax(8rem,22rem) auto 1fr;gap:.4rem .75rem;align-items:center}
.docs a{word-break:break-all}.docs .num{color:#555}
table{border-collapse:collapse;width:100%;font-size:.9rem}td,th{text-align:left;padding:.3rem .5rem;
border-bottom:1px solid #e3e3e3;vertical-align:top}td:first-child{width:35%;overflow-wrap:anywhere}
.failed{color:#b00020;font-weight:600}
.doc{margin:1.5rem 0 2rem;padding-top:.5rem;border-top:2px solid #ddd}.doc .bar{margin:.4rem 0 .75rem}
.sents{list-style:none;margin:0;padding:0}
.s{display:flex;flex-wrap:wrap;gap:.1rem .75rem;justify-content:space-between;margin:.3rem 0;
padding:.35rem .6rem;border-left:5px solid var(--c);background:var(--bg);border-radius:0 4px 4px 0}
.s .x{flex:1 1 22rem;min-width:0;overflow-wrap:anywhere}
.s .m{flex:0 0 auto;font-size:.8rem;color:#444;white-space:nowrap;align-self:center}
.s.lc{border-left-style:dashed}.s.lc .m{color:#8a5300}.flag{font-weight:600}
.more{color:#555;font-style:italic}.top{font-size:.85rem}
h2+.doc{border-top:none}
@media (max-width:40rem){body{padding:.75rem}.trow .lab{flex:1 1 0;min-width:0;white-space:normal}
.trow .track{order:3;flex-basis:100%}.docs{grid-template-columns:1fr auto}
.docs .bar{grid-column:1/-1;margin-bottom:.5rem}}
"""


def _theme_css() -> str:
    # The tint behind a sentence is its theme colour at 12% opacity (8-digit hex).
    return "".join(
        f".t-{theme}{{--c:{colour};--bg:{colour}1f}}" for theme, colour in THEME_COLOURS.items()
    )


def _name(theme: str) -> str:
    return THEMES_BY_ID[theme].name_zh if theme in THEMES_BY_ID else theme


def _share_bar(counts: dict[str, int], total: int) -> str:
    """A 100% stacked bar of theme shares, with a percentage on segments wide enough."""
    if not total:
        return '<div class="bar" role="img" aria-label="no sentences"></div>'
    segments = []
    described = []
    for theme in THEME_IDS:
        n = counts.get(theme, 0)
        if not n:
            continue
        share = n / total
        label = f"{share:.0%}" if share >= _LABEL_MIN_SHARE else ""
        tip = f"{_name(theme)} ({theme}): {n} · {share:.1%}"
        described.append(tip)
        segments.append(f'<span class="seg t-{theme}" style="width:{share * 100:.2f}%" '
                        f'title="{escape(tip)}">{label}</span>')
    return f'<div class="bar" role="img" aria-label="{escape("; ".join(described))}">{"".join(segments)}</div>'


def _dominant_text(outcome: DocumentOutcome) -> str:
    if not outcome.dominant:
        return "no sentences"
    return f'dominant: <span class="chip t-{outcome.dominant}"></span>{escape(_name(outcome.dominant))}'


class ReportWriter:
    """Writes document sections to ``sections`` as documents finish, then the whole report."""

    def __init__(self, sections: TextIO, *, max_sentences: int) -> None:
        self._sections = sections
        self._budget = max_sentences
        self.max_sentences = max_sentences
        self.shown = 0
        self.hidden = 0
        self._documents = 0

    @property
    def room(self) -> int:
        """How many more sentences the report shows."""
        return max(self._budget, 0)

    def add_document(self, outcome: DocumentOutcome, sentences: Iterable[SentenceRecord]) -> None:
        """Write one tagged document's section, with as many of ``sentences`` as the limit leaves.

        ``sentences`` is read only that far (it may be a lazy reader).
        """
        number = self._documents
        self._documents += 1
        out = self._sections
        out.write(f'<section class="doc" id="doc-{number}"><h3>{escape(outcome.path)}</h3>\n')
        details = [outcome.format + (f", {outcome.encoding}" if outcome.encoding else ""),
                   f"{outcome.sentences:,} sentences", _dominant_text(outcome)]
        if outcome.low_confidence:
            details.append(f"{outcome.low_confidence:,} low-confidence")
        if outcome.garbled:
            details.append(f"{outcome.garbled:,} garbled")
        out.write(f'<p class="meta">{" · ".join(details)} · <a class="top" href="#top">top ↑</a></p>\n')
        out.write(_share_bar(outcome.counts, outcome.sentences) + "\n")
        out.write('<ol class="sents">\n')
        shown = 0
        for record in itertools.islice(sentences, max(self._budget, 0)):
            out.write(self._sentence_html(record))
            shown += 1
        self._budget -= shown
        self.shown += shown
        left_out = outcome.sentences - shown
        out.write("</ol>\n")
        if left_out:
            self.hidden += left_out
            out.write(f'<p class="more">{left_out:,} more sentences of this document are not shown'
                      f" (the report shows {self.max_sentences:,} sentences in all);"
                      " sentences.csv has every one.</p>\n")
        out.write("</section>\n")

    @staticmethod
    def _sentence_html(record: SentenceRecord) -> str:
        classes = f"s t-{record.theme}" + (" lc" if LOW_CONFIDENCE in record.flags else "")
        meta = f"#{record.index} · {escape(_name(record.theme))} {record.confidence:.2f}"
        if LOW_CONFIDENCE in record.flags:
            meta += ' · <span class="flag">low confidence</span>'
        if GARBLED in record.flags:
            meta += ' · <span class="flag">garbled</span>'
        return (f'<li class="{classes}"><span class="x">{escape(record.text)}</span>'
                f'<span class="m">{meta}</span></li>\n')

    def write(
        self,
        out: TextIO,
        sections_path: Path,
        *,
        title: str,
        model_id: str,
        totals: RunTotals,
        outcomes: list[DocumentOutcome],
        folders: Iterable[SkippedFolder],
    ) -> None:
        """Write the complete report to ``out``: summary, charts, file list, then the sections."""
        out.write('<!DOCTYPE html>\n<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
                  '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
                  f"<title>{escape(title)} · plantheme</title>\n"
                  f"<style>{_CSS}{_theme_css()}</style>\n</head>\n<body>\n")
        out.write(f'<header id="top"><h1>Policy themes: {escape(title)}</h1>\n'
                  f'<p class="meta">{totals.tagged:,} documents tagged · {totals.sentences:,} sentences'
                  f" · {totals.skipped:,} files skipped · {totals.failed:,} failed"
                  f" · model {escape(model_id)}</p></header>\n")
        self._write_corpus(out, totals)
        self._write_documents(out, outcomes)
        self._write_not_tagged(out, outcomes, list(folders))
        out.write('<h2 id="sentences">Sentences by document</h2>\n')
        if self.hidden:
            out.write(f'<p class="more">The report shows the first {self.shown:,} sentences;'
                      f" {self.hidden:,} more are in sentences.csv and sentences.jsonl"
                      " (limit: PLANTHEME_REPORT_MAX_SENTENCES).</p>\n")
        with sections_path.open(encoding="utf-8") as sections:
            shutil.copyfileobj(sections, out)
        out.write("<footer><p class=\"meta\">Generated by plantheme tag. Colours: theme;"
                  " dashed edge: confidence below the threshold.</p></footer>\n</body>\n</html>\n")

    @staticmethod
    def _write_corpus(out: TextIO, totals: RunTotals) -> None:
        out.write('<h2 id="corpus">All documents</h2>\n')
        out.write(_share_bar(totals.counts, totals.sentences) + "\n")
        out.write('<div class="themes">\n')
        for theme in THEME_IDS:
            n = totals.counts.get(theme, 0)
            share = n / totals.sentences if totals.sentences else 0.0
            out.write(f'<div class="trow t-{theme}"><span class="lab"><span class="chip"></span>'
                      f'{escape(_name(theme))} <span class="meta">{theme}</span></span>'
                      f'<span class="track"><span class="fill" style="width:{share * 100:.2f}%">'
                      f'</span></span><span class="num">{n:,} · {share:.1%}</span></div>\n')
        out.write("</div>\n")

    @staticmethod
    def _write_documents(out: TextIO, outcomes: list[DocumentOutcome]) -> None:
        out.write('<h2 id="documents">Theme shares per document</h2>\n<div class="docs">\n')
        number = 0
        for outcome in outcomes:
            if outcome.status != TAGGED:
                continue
            out.write(f'<a href="#doc-{number}">{escape(outcome.path)}</a>'
                      f'<span class="num">{outcome.sentences:,}</span>'
                      f"{_share_bar(outcome.counts, outcome.sentences)}\n")
            number += 1
        out.write("</div>\n")
        if not number:
            out.write('<p class="more">No document was tagged.</p>\n')

    @staticmethod
    def _write_not_tagged(out: TextIO, outcomes: list[DocumentOutcome], folders: list[SkippedFolder]) -> None:
        rows = [(o.path, o.status, o.reason) for o in outcomes if o.status != TAGGED]
        rows += [(f.path, f.status, f.reason) for f in folders]
        if not rows:
            return
        # Failures first: they are what needs attention.
        rows.sort(key=lambda row: (row[1] != FAILED, row[0]))
        out.write(f'<h2 id="not-tagged">Not tagged ({len(rows):,})</h2>\n'
                  "<table><thead><tr><th>file</th><th>status</th><th>reason</th></tr></thead><tbody>\n")
        for path, status, reason in rows[:_MAX_LISTED_FILES]:
            css = ' class="failed"' if status == FAILED else ""
            out.write(f"<tr><td>{escape(path)}</td><td{css}>{status}</td><td>{escape(reason)}</td></tr>\n")
        out.write("</tbody></table>\n")
        if len(rows) > _MAX_LISTED_FILES:
            out.write(f'<p class="more">{len(rows) - _MAX_LISTED_FILES:,} more are listed in'
                      " manifest.json.</p>\n")
