"""``report.html``: one self-contained page to work in with what ``plantheme tag`` found.

The page loads nothing (no fonts, images, scripts or styles from the network): it is one
file a person can open offline on a phone or a laptop. Its script (inline, below) offers
search, filters by theme, confidence, flags and metadata, documents sorted by any share, each
document's sentences, example sentences per theme, a chart of shares by a metadata field with
their 95% intervals and links to the other outputs beside it.

Data is embedded compactly and rendered on demand, so that a corpus of 100,000 real sentences stays
under 10 MB and opens fast: each document's sentences are one JSON blob of columnar arrays (texts;
themes as a string of digits; confidences in percent; flags as a string of hex digits), gzipped
and base64-encoded in a ``<script type="application/gzip">`` element that the page decodes (with
the browser's own ``DecompressionStream``, no library) only when it needs it: the document opened,
or a search, which decodes every block once and keeps them. Real sentences are long Chinese text,
so gzip is what keeps the page small (``benchmarks/report_open.py``). The documents' summaries and
shares are one more blob, plain JSON, small (one entry per document). The
shares and intervals are the estimator's (:mod:`plantheme.analysis.shares`), as in
``documents.csv`` and ``groups.csv``; the page never recomputes them.

Document blobs are written to a part file while documents finish (so the report never holds the
corpus in memory) and joined with the summary at the end. At most ``max_sentences`` sentences are
embedded in all; every document is listed whatever the limit, and one whose sentences did not fit
says so and points to ``sentences.csv``. All text from documents reaches the page through JSON
(``<`` escaped; base64, which holds no ``<`` at all) and ``textContent``, never as markup.
"""

from __future__ import annotations

import base64
import gzip
import heapq
import itertools
import json
import shutil
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any, TextIO

from ..analysis.records import CorpusAnalysis, ThemeShares
from ..readers.folder_scan import SkippedFolder
from ..themes import THEME_IDS, THEMES_BY_ID
from .tag_records import FAILED, TAGGED, DocumentOutcome, RunTotals, SentenceRecord
from .tagging import BOILERPLATE, GARBLED, LOW_CONFIDENCE, REPAIRED

__all__ = ["THEME_COLOURS", "FLAG_BITS", "ReportWriter", "embed_json", "pack_block", "unpack_block"]

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
# A sentence's flags as one hex digit in the embedded data (the page's script reads the same bits).
FLAG_BITS: dict[str, int] = {BOILERPLATE: 1, LOW_CONFIDENCE: 2, GARBLED: 4, REPAIRED: 8}
_THEME_DIGITS = {theme: str(number) for number, theme in enumerate(THEME_IDS)}
# Segments narrower than this carry no percentage label (it would not fit).
_LABEL_MIN_SHARE = 0.08
_MAX_LISTED_FILES = 1000
# Example sentences kept per theme: the most confident content sentences of the corpus.
_EXAMPLES_PER_THEME = 3
# The files written beside report.html that the page links to.
# zlib's default level. On the 285 gov-reports (15.2 MB of block JSON) level 9 gave 6.17 MB against
# 6.20 MB for 1.4x the CPU (0.64 against 0.47 s); level 1 gave 6.96 MB (measured 2026-12-02).
_GZIP_LEVEL = 6
_LINKED_OUTPUTS = ("documents.csv", "groups.csv", "documents.xlsx", "sentences.csv", "sentences.jsonl", "manifest.json")


def embed_json(value: object) -> str:
    """``value`` as compact JSON safe inside ``<script type="application/json">``.

    ``<`` only occurs inside JSON strings, where ``\\u003c`` means the same, so no ``</script>``
    or ``<!--`` from a document can end the element.
    """
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")


def pack_block(value: object) -> str:
    """``value`` as the page's compressed blocks hold it: :func:`embed_json`, gzipped, base64.

    The gzip header's time is zero so that the same corpus always gives the same page.
    """
    packed = gzip.compress(embed_json(value).encode("utf-8"), compresslevel=_GZIP_LEVEL, mtime=0)
    return base64.b64encode(packed).decode("ascii")


def unpack_block(text: str) -> Any:
    """What :func:`pack_block` packed (the page's script does the same with ``DecompressionStream``)."""
    return json.loads(gzip.decompress(base64.b64decode(text)).decode("utf-8"))


def _theme_css() -> str:
    # The tint behind a sentence is its theme colour at 12% opacity (8-digit hex).
    return "".join(f".t-{theme}{{--c:{colour};--bg:{colour}1f}}" for theme, colour in THEME_COLOURS.items())


def _name(theme: str) -> str:
    return THEMES_BY_ID[theme].name_zh if theme in THEMES_BY_ID else theme


def _share_bar(counts: Mapping[str, int], total: int) -> str:
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
        segments.append(
            f'<span class="seg t-{theme}" style="width:{share * 100:.2f}%" title="{escape(tip)}">{label}</span>'
        )
    return f'<div class="bar" role="img" aria-label="{escape("; ".join(described))}">{"".join(segments)}</div>'


def _flag_digit(flags: tuple[str, ...]) -> str:
    bits = 0
    for flag in flags:
        bits |= FLAG_BITS.get(flag, 0)
    return format(bits, "x")


def _basis_points(shares: ThemeShares | None) -> list[list[int] | None]:
    """Estimate, lo and hi of every theme in 1/10,000 (None without content sentences)."""
    if shares is None or not shares.content_sentences:
        return [None, None, None]
    return [
        [round(shares.shares[t].estimate * 10_000) for t in THEME_IDS],
        [round(shares.shares[t].lo * 10_000) for t in THEME_IDS],
        [round(shares.shares[t].hi * 10_000) for t in THEME_IDS],
    ]


class ReportWriter:
    """Writes each document's sentences to ``sections`` as documents finish, then the whole report."""

    def __init__(self, sections: TextIO, *, max_sentences: int) -> None:
        self._sections = sections
        self._budget = max_sentences
        self.max_sentences = max_sentences
        self.shown = 0
        self.hidden = 0
        self._numbers: dict[str, int] = {}
        # Per theme a min-heap of (confidence, order, text, document number): bounded, whatever the corpus.
        self._examples: dict[str, list[tuple[float, int, str, int]]] = {t: [] for t in THEME_IDS}
        self._seen = 0

    @property
    def room(self) -> int:
        """How many more sentences the report embeds."""
        return max(self._budget, 0)

    def add_document(self, outcome: DocumentOutcome, sentences: Iterable[SentenceRecord]) -> None:
        """Write one tagged document's sentence data, with as many of ``sentences`` as the limit leaves.

        ``sentences`` is read only that far (it may be a lazy reader).
        """
        number = len(self._numbers)
        self._numbers.setdefault(outcome.path, number)
        texts: list[str] = []
        themes: list[str] = []
        confidences: list[int] = []
        flags: list[str] = []
        for record in itertools.islice(sentences, max(self._budget, 0)):
            texts.append(record.text)
            themes.append(_THEME_DIGITS.get(record.theme, _THEME_DIGITS["other"]))
            confidences.append(round(record.confidence * 100))
            flags.append(_flag_digit(record.flags))
            self._keep_example(record, number)
        shown = len(texts)
        self._budget -= shown
        self.shown += shown
        left_out = max(outcome.sentences - shown, 0)
        self.hidden += left_out
        blob = {"x": texts, "t": "".join(themes), "c": confidences, "f": "".join(flags), "cut": left_out}
        self._sections.write(f'<script type="application/gzip" id="s-{number}">{pack_block(blob)}</script>\n')

    def _keep_example(self, record: SentenceRecord, number: int) -> None:
        if record.flags or record.theme not in self._examples:
            return  # furniture, low-confidence and garbled sentences make poor examples
        self._seen += 1
        heap = self._examples[record.theme]
        item = (record.confidence, -self._seen, record.text, number)
        if len(heap) < _EXAMPLES_PER_THEME:
            heapq.heappush(heap, item)
        elif item > heap[0]:
            heapq.heapreplace(heap, item)

    def example_texts(self) -> list[str]:
        """The example sentences kept so far (a few per theme), for their evidence words."""
        return [text for heap in self._examples.values() for _, _, text, _ in heap]

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
        analysis: CorpusAnalysis | None = None,
        evidence: Mapping[str, Sequence[tuple[str, float]]] | None = None,
    ) -> None:
        """Write the complete report to ``out``: summary, links, the working area, the data, the script."""
        out.write(
            '<!DOCTYPE html>\n<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{escape(title)} · plantheme</title>\n"
            f"<style>{_CSS}{_theme_css()}</style>\n</head>\n<body>\n"
        )
        links = " · ".join(f'<a href="{name}">{name}</a>' for name in _LINKED_OUTPUTS)
        out.write(
            f'<header id="top"><h1>Policy themes: {escape(title)}</h1>\n'
            f'<p class="meta">{totals.tagged:,} documents tagged · {totals.sentences:,} sentences'
            f" · {totals.skipped:,} files skipped · {totals.failed:,} failed"
            f' · model {escape(model_id)}</p>\n<p class="meta links">Beside this page: {links}</p>'
            "</header>\n"
        )
        self._write_corpus(out, totals)
        out.write(_WORKSPACE)
        if self.hidden:
            out.write(
                f'<p class="more">The page holds the sentences of the first {self.shown:,};'
                f" {self.hidden:,} more are in sentences.csv and sentences.jsonl"
                " (limit: PLANTHEME_REPORT_MAX_SENTENCES). Every document is listed.</p>\n"
            )
        self._write_not_tagged(out, outcomes, list(folders))
        out.write(
            '<footer><p class="meta">Generated by plantheme tag. Shares: estimated true shares of'
            " content sentences (boilerplate excluded), corrected for the classifier's confusions, with"
            " 95% intervals, as in documents.csv and groups.csv. Colours: theme; dashed edge: confidence"
            " below the threshold.</p></footer>\n"
        )
        out.write(
            f'<script type="application/json" id="summary">'
            f"{embed_json(self._summary(title, model_id, totals, outcomes, analysis, evidence or {}))}</script>\n"
        )
        with sections_path.open(encoding="utf-8") as sections:
            shutil.copyfileobj(sections, out)
        out.write(f"<script>{_SCRIPT}</script>\n</body>\n</html>\n")

    def _summary(
        self,
        title: str,
        model_id: str,
        totals: RunTotals,
        outcomes: list[DocumentOutcome],
        analysis: CorpusAnalysis | None,
        evidence: Mapping[str, Sequence[tuple[str, float]]],
    ) -> dict[str, Any]:
        """The documents, groups and examples as one columnar object (the page's script reads it)."""
        documents = [o for o in outcomes if o.status == TAGGED and o.path in self._numbers]
        fields = list(analysis.meta_fields) if analysis is not None else []
        for outcome in documents:
            fields += [name for name in outcome.meta if name not in fields]
        values: dict[str, list[str]] = {name: [] for name in fields}
        codes: dict[str, dict[str, int]] = {name: {} for name in fields}
        meta_columns: dict[str, list[int]] = {name: [] for name in fields}
        for outcome in documents:
            for name in fields:
                value = outcome.meta.get(name, "")
                if value not in codes[name]:
                    codes[name][value] = len(values[name])
                    values[name].append(value)
                meta_columns[name].append(codes[name][value])
        shares = [_basis_points(analysis.documents.get(o.path) if analysis is not None else None) for o in documents]
        groups = {}
        if analysis is not None:
            groups = {
                name: [
                    {
                        "value": g.key.split("=", 1)[1],
                        "documents": g.documents,
                        "content": g.content_sentences,
                        "share": _basis_points(g),
                    }
                    for g in rows
                ]
                for name, rows in analysis.groups.items()
            }
        examples = {
            theme: [
                {
                    "text": text,
                    "confidence": round(confidence, 2),
                    "doc": number,
                    "evidence": [[token, round(weight, 2)] for token, weight in evidence.get(text, ())],
                }
                for confidence, _, text, number in sorted(heap, reverse=True)
            ]
            for theme, heap in self._examples.items()
        }
        return {
            "title": title,
            "model": model_id,
            "themes": [{"id": t, "name": _name(t), "colour": THEME_COLOURS.get(t, "#777")} for t in THEME_IDS],
            "flags": FLAG_BITS,
            "docs": {
                "path": [o.path for o in documents],
                "blob": [self._numbers[o.path] for o in documents],
                "sentences": [o.sentences for o in documents],
                "boilerplate": [o.boilerplate for o in documents],
                "counts": [[o.counts.get(t, 0) for t in THEME_IDS] for o in documents],
                "share": [s[0] for s in shares],
                "lo": [s[1] for s in shares],
                "hi": [s[2] for s in shares],
            },
            "fields": fields,
            "values": values,
            "meta": meta_columns,
            "groups": groups,
            "examples": examples,
        }

    @staticmethod
    def _write_corpus(out: TextIO, totals: RunTotals) -> None:
        out.write('<h2 id="corpus">All documents, as predicted</h2>\n')
        out.write(_share_bar(totals.counts, sum(totals.counts.values())) + "\n")

    @staticmethod
    def _write_not_tagged(out: TextIO, outcomes: list[DocumentOutcome], folders: list[SkippedFolder]) -> None:
        rows = [(o.path, o.status, o.reason) for o in outcomes if o.status != TAGGED]
        rows += [(f.path, f.status, f.reason) for f in folders]
        if not rows:
            return
        # Failures first: they are what needs attention.
        rows.sort(key=lambda row: (row[1] != FAILED, row[0]))
        out.write(
            f'<h2 id="not-tagged">Not tagged ({len(rows):,})</h2>\n'
            '<div class="wide"><table><thead><tr><th>file</th><th>status</th><th>reason</th></tr></thead>'
            "<tbody>\n"
        )
        for path, status, reason in rows[:_MAX_LISTED_FILES]:
            css = ' class="failed"' if status == FAILED else ""
            out.write(f"<tr><td>{escape(path)}</td><td{css}>{status}</td><td>{escape(reason)}</td></tr>\n")
        out.write("</tbody></table></div>\n")
        if len(rows) > _MAX_LISTED_FILES:
            out.write(f'<p class="more">{len(rows) - _MAX_LISTED_FILES:,} more are listed in manifest.json.</p>\n')


_CSS = """
*{box-sizing:border-box}
body{margin:0 auto;max-width:72rem;padding:1rem;line-height:1.55;color:#1b1b1b;background:#fbfbfa;
font-family:system-ui,-apple-system,"Segoe UI","PingFang SC","Hiragino Sans GB","Microsoft YaHei",
"Noto Sans CJK SC","Source Han Sans SC","WenQuanYi Micro Hei",sans-serif;overflow-wrap:anywhere}
h1{font-size:1.5rem;margin:.5rem 0 .25rem}h2{font-size:1.2rem;margin:1.75rem 0 .75rem;
border-bottom:1px solid #ddd;padding-bottom:.25rem}
a{color:#0b5cad}.meta{color:#555;font-size:.9rem;margin:.25rem 0}
.bar{display:flex;height:1.4rem;border-radius:4px;overflow:hidden;background:#e4e4e4;min-width:4rem;width:100%}
.seg{display:block;height:100%;background:var(--c);color:#fff;font-size:.75rem;line-height:1.4rem;
text-align:center;overflow:hidden;white-space:nowrap}
.chip{display:inline-block;width:.8rem;height:.8rem;border-radius:2px;background:var(--c);
margin-right:.35rem;vertical-align:-.05rem}
.controls{display:flex;flex-wrap:wrap;gap:.5rem .9rem;align-items:center;margin:.5rem 0}
.controls label{display:flex;gap:.35rem;align-items:center;flex-wrap:wrap;min-width:0}
.controls input,.controls select,button{font:inherit;font-size:.9rem;max-width:100%}
.controls input[type=search]{flex:1 1 14rem;min-width:0;padding:.3rem .5rem}
.controls input[type=number]{width:4.2rem}
.wide{overflow-x:auto;max-width:100%}
.doc{border-top:1px solid #ddd;padding:.4rem 0}
.dh{display:block;width:100%;text-align:left;background:none;border:0;padding:.25rem 0;cursor:pointer;color:inherit}
.dh .p{font-weight:600;color:#0b5cad}.dh .bar{margin-top:.3rem}
.body{padding:.25rem 0 .75rem}
table{border-collapse:collapse;width:100%;font-size:.9rem}td,th{text-align:left;padding:.25rem .5rem;
border-bottom:1px solid #e3e3e3;vertical-align:top}
.num{font-variant-numeric:tabular-nums;white-space:nowrap}
.failed{color:#b00020;font-weight:600}
.sents{list-style:none;margin:.5rem 0 0;padding:0}
.s{display:flex;flex-wrap:wrap;gap:.1rem .75rem;justify-content:space-between;margin:.3rem 0;
padding:.35rem .6rem;border-left:5px solid var(--c);background:var(--bg);border-radius:0 4px 4px 0}
.s .x{flex:1 1 18rem;min-width:0}
.s .m{flex:0 1 auto;font-size:.8rem;color:#444;align-self:center}
.s.lc{border-left-style:dashed}.s.lc .m{color:#8a5300}.flag{font-weight:600}
mark{background:#ffe066;color:inherit}
.more{color:#555;font-style:italic}
.ex{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,20rem),1fr));gap:.75rem}
.ex>div{border-left:5px solid var(--c);padding:.25rem .6rem;background:var(--bg)}
.ex ul{margin:.25rem 0;padding-left:1.1rem}.ex li{margin:.2rem 0}
.link{background:none;border:0;padding:0;color:#0b5cad;text-decoration:underline;cursor:pointer;font-size:.85rem}
svg text{font-size:13px;fill:#333}
summary{cursor:pointer}summary h2{display:inline-block;border:0}
@media (max-width:40rem){body{padding:.6rem}h1{font-size:1.25rem}}
"""

# The working area; the script fills it from the embedded data.
_WORKSPACE = """
<h2 id="chart-title">Shares by group, with 95% intervals</h2>
<div class="controls"><label>group by <select id="cfield"></select></label>
<label>theme <select id="ctheme"></select></label></div>
<div id="chart"></div>
<h2 id="documents">Documents</h2>
<div class="controls" id="filters">
<input id="q" type="search" placeholder="search sentences…" aria-label="search sentences">
<label>theme <select id="ftheme"></select></label>
<label>confidence <input id="cmin" type="number" min="0" max="100" value="0" aria-label="minimum confidence">–
<input id="cmax" type="number" min="0" max="100" value="100" aria-label="maximum confidence">%</label>
<label>flag <select id="fflag"><option value="">any</option><option value="none">no flag</option>
<option value="1">boilerplate</option><option value="2">low_confidence</option><option value="4">garbled</option>
</select></label>
<span id="metafilters" class="controls"></span>
<label>sort <select id="sort"></select></label>
<button id="reset" type="button">clear</button>
</div>
<p id="status" class="meta" aria-live="polite"></p>
<div id="docs"></div>
<details id="examples-box"><summary><h2 id="examples-title">Example sentences per theme</h2></summary>
<p class="meta">The most confident content sentences of each theme. The tag outputs hold no evidence words;
<code>plantheme predict "…"</code> prints the words that decided a sentence.</p>
<div id="examples" class="ex"></div></details>
<noscript><p class="more">The document list needs JavaScript; documents.csv and sentences.csv hold the same.</p>
</noscript>
"""

# The page's script: filters, sorting, the chart and the documents, drawn from the embedded data.
_SCRIPT = """
"use strict";
(() => {
const $ = (id) => document.getElementById(id);
const S = JSON.parse($("summary").textContent);
const D = S.docs, T = S.themes, NT = T.length, N = D.path.length;
const PAGE_DOCS = 200, PAGE_SENTS = 300;
const cache = new Map(), loading = new Map();
let renders = 0, generation = 0;
const state = {q: "", theme: -1, cmin: 0, cmax: 100, flag: "", meta: {}, sort: "path", open: new Set(),
  docs: PAGE_DOCS, focus: -1};

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.textContent = text;
  return e;
}
function svg(tag, attrs) {
  const e = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  return e;
}
const pct = (bp) => (bp / 100).toFixed(1) + "%";
// A block's JSON from its base64 gzip text, inflated by the browser itself (no library).
async function inflate(text) {
  if (typeof DecompressionStream === "undefined") throw new Error("no DecompressionStream");
  const raw = atob(text.trim()), bytes = new Uint8Array(raw.length);
  for (let j = 0; j < raw.length; j++) bytes[j] = raw.charCodeAt(j);
  // A stream made here, not a Blob's: a Blob goes through the browser's blob registry, which cost
  // about 1 ms a block (benchmarks/report_open.py).
  const source = new ReadableStream({start(c) { c.enqueue(bytes); c.close(); }});
  const stream = source.pipeThrough(new DecompressionStream("gzip"));
  return JSON.parse(await new Response(stream).text());
}
// Block k decoded once, the first time it is needed; null when the page holds no such block.
function load(k) {
  if (!loading.has(k)) {
    const node = $("s-" + k);
    loading.set(k, (node ? inflate(node.textContent) : Promise.resolve(null)).then((b) => { cache.set(k, b); return b; }));
  }
  return loading.get(k);
}
// The blocks what is about to be drawn reads: every one under a sentence filter (a search reads all
// sentences), else those of the open documents.
function loadNeeded() {
  const needed = sentenceFilter() ? D.blob : [...state.open].map((i) => D.blob[i]);
  return Promise.all(needed.map(load));
}
// A document's sentences, once its block is loaded (empty until then; `cut` says what the page lacks).
function blob(i) {
  const b = cache.get(D.blob[i]);
  if (b) return b;
  return {x: [], t: "", c: [], f: "", cut: cache.has(D.blob[i]) ? D.sentences[i] : 0};
}
// Draw once the blocks are there; a newer call wins, so fast typing never draws an old search.
async function refresh() {
  const mine = ++generation;
  try {
    await loadNeeded();
  } catch (error) {
    cannotDecode(error);
    return;
  }
  if (mine === generation) render();
}
// Sentences are gzipped: a browser without DecompressionStream (before Chrome 80, Firefox 113,
// Safari 16.4) can list documents and shares but not sentences; say so in one line.
function cannotDecode(error) {
  $("status").textContent = "This browser cannot decode the sentences (" + error.message +
    "); sentences.csv beside this page has every one.";
}
const sentenceFilter = () => state.q !== "" || state.theme >= 0 || state.cmin > 0 || state.cmax < 100 ||
  state.flag !== "";
function matches(b, j) {
  if (state.theme >= 0 && b.t.charCodeAt(j) - 48 !== state.theme) return false;
  const c = b.c[j];
  if (c < state.cmin || c > state.cmax) return false;
  const f = parseInt(b.f[j], 16);
  if (state.flag === "none" ? f !== 0 : state.flag !== "" && !(f & +state.flag)) return false;
  return state.q === "" || b.x[j].includes(state.q);
}
// Matching sentences of document i (all when no sentence filter), or -1 when its metadata is filtered out.
function matchCount(i) {
  for (const field in state.meta) {
    if (state.meta[field] !== "" && S.values[field][S.meta[field][i]] !== state.meta[field]) return -1;
  }
  if (!sentenceFilter()) return D.sentences[i];
  const b = blob(i);
  let n = 0;
  for (let j = 0; j < b.x.length; j++) if (matches(b, j)) n++;
  return n;
}
function predictedShare(i, t) {
  const counts = D.counts[i];
  const total = counts.reduce((a, b) => a + b, 0);
  return total ? counts[t] / total * 10000 : -1;
}
function sortKey(i) {
  const [kind, arg] = state.sort.split(":");
  if (kind === "share") return D.share[i] ? D.share[i][+arg] : predictedShare(i, +arg);
  if (kind === "sentences") return D.sentences[i];
  if (kind === "meta") return S.values[arg][S.meta[arg][i]];
  return D.path[i];
}
function compare(a, b) {
  const ka = sortKey(a), kb = sortKey(b);
  const descending = !state.sort.startsWith("path") && !state.sort.startsWith("meta");
  if (ka === kb) return D.path[a] < D.path[b] ? -1 : 1;
  return (ka < kb ? -1 : 1) * (descending ? -1 : 1);
}
function bar(i) {
  const div = el("div", "bar");
  const est = D.share[i];
  const parts = est ? est : D.counts[i];
  const total = parts.reduce((a, b) => a + b, 0);
  const told = [];
  parts.forEach((v, t) => {
    if (!v || !total) return;
    const seg = el("span", "seg t-" + T[t].id);
    const share = v / total;
    seg.style.width = (share * 100).toFixed(2) + "%";
    if (share >= 0.08) seg.textContent = Math.round(share * 100) + "%";
    seg.title = T[t].name + " (" + T[t].id + "): " + (share * 100).toFixed(1) + "%";
    told.push(seg.title);
    div.appendChild(seg);
  });
  div.setAttribute("role", "img");
  div.setAttribute("aria-label", told.join("; ") || "no content sentences");
  return div;
}
function highlighted(text) {
  const span = el("span", "x");
  if (!state.q) { span.textContent = text; return span; }
  let at = 0, k;
  while ((k = text.indexOf(state.q, at)) >= 0) {
    span.appendChild(document.createTextNode(text.slice(at, k)));
    span.appendChild(el("mark", "", state.q));
    at = k + state.q.length;
  }
  span.appendChild(document.createTextNode(text.slice(at)));
  return span;
}
function sharesTable(i) {
  const wrap = el("div", "wide");
  const table = el("table");
  const head = el("tr");
  ["theme", "estimated share", "95% interval", "predicted sentences"].forEach((h) => head.appendChild(el("th", "", h)));
  table.appendChild(el("thead")).appendChild(head);
  const body = el("tbody");
  T.forEach((theme, t) => {
    const tr = el("tr");
    const name = el("td");
    name.appendChild(el("span", "chip t-" + theme.id));
    name.appendChild(document.createTextNode(theme.name + " " + theme.id));
    tr.appendChild(name);
    tr.appendChild(el("td", "num", D.share[i] ? pct(D.share[i][t]) : "–"));
    tr.appendChild(el("td", "num", D.share[i] ? pct(D.lo[i][t]) + " – " + pct(D.hi[i][t]) : "–"));
    tr.appendChild(el("td", "num", String(D.counts[i][t])));
    body.appendChild(tr);
  });
  table.appendChild(body);
  wrap.appendChild(table);
  return wrap;
}
function sentenceItem(b, j) {
  const t = b.t.charCodeAt(j) - 48, f = parseInt(b.f[j], 16), theme = T[t] || T[NT - 1];
  const li = el("li", "s t-" + theme.id + (f & S.flags.low_confidence ? " lc" : ""));
  li.appendChild(highlighted(b.x[j]));
  const m = el("span", "m", "#" + j + " · " + theme.name + " " + (b.c[j] / 100).toFixed(2));
  for (const name in S.flags) if (f & S.flags[name]) m.appendChild(el("span", "flag", " · " + name.replace("_", " ")));
  li.appendChild(m);
  return li;
}
function fillBody(i, body) {
  body.textContent = "";
  body.appendChild(sharesTable(i));
  const b = blob(i), list = el("ol", "sents"), chosen = [];
  for (let j = 0; j < b.x.length; j++) if (matches(b, j)) chosen.push(j);
  if (sentenceFilter()) body.appendChild(el("p", "meta", chosen.length + " of " + b.x.length + " sentences match the filters"));
  body.appendChild(list);
  let shown = 0;
  const more = el("button", "", "");
  const page = () => {
    const end = Math.min(shown + PAGE_SENTS, chosen.length);
    for (; shown < end; shown++) list.appendChild(sentenceItem(b, chosen[shown]));
    more.textContent = "show " + Math.min(PAGE_SENTS, chosen.length - shown) + " more sentences";
    more.hidden = shown >= chosen.length;
  };
  more.type = "button";
  more.addEventListener("click", page);
  page();
  body.appendChild(more);
  if (b.cut) body.appendChild(el("p", "more", b.cut + " more sentences of this document are not in this page;" +
    " sentences.csv has every one."));
  document.dispatchEvent(new CustomEvent("plantheme:opened", {detail: i}));
}
// Fill an open document's body as soon as its block is decoded (at once when it already is).
function fillLoaded(i, body) {
  if (cache.has(D.blob[i])) { fillBody(i, body); return; }
  body.textContent = "…";
  load(D.blob[i]).then(() => { if (state.open.has(i)) fillBody(i, body); }, cannotDecode);
}
function docRow(i, n) {
  const row = el("div", "doc");
  row.id = "doc-" + i;
  const head = el("button", "dh");
  head.type = "button";
  head.appendChild(el("span", "p", D.path[i]));
  const meta = S.fields.map((f) => S.values[f][S.meta[f][i]]).filter((v) => v);
  let info = (meta.length ? meta.join(" · ") + " · " : "") + D.sentences[i] + " sentences";
  if (sentenceFilter()) info += " · " + n + " match";
  head.appendChild(el("div", "meta", info));
  head.appendChild(bar(i));
  const body = el("div", "body");
  const open = state.open.has(i);
  body.hidden = !open;
  head.setAttribute("aria-expanded", String(open));
  if (open) fillLoaded(i, body);
  head.addEventListener("click", () => {
    const opening = body.hidden;
    body.hidden = !opening;
    head.setAttribute("aria-expanded", String(opening));
    if (!opening) { state.open.delete(i); body.textContent = ""; return; }
    state.open.add(i);
    fillLoaded(i, body);
  });
  row.appendChild(head);
  row.appendChild(body);
  return row;
}
function render() {
  const rows = [];
  let sentences = 0;
  for (let i = 0; i < N; i++) {
    const n = matchCount(i);
    if (n < 0 || (n === 0 && sentenceFilter() && i !== state.focus)) continue;
    rows.push(i);
    sentences += n;
  }
  rows.sort(compare);
  if (state.focus >= 0 && rows.includes(state.focus)) rows.splice(rows.indexOf(state.focus), 1), rows.unshift(state.focus);
  const box = $("docs");
  box.textContent = "";
  rows.slice(0, state.docs).forEach((i) => box.appendChild(docRow(i, matchCount(i))));
  $("status").textContent = rows.length + " of " + N + " documents" +
    (sentenceFilter() ? " · " + sentences + " sentences match" : "") +
    (rows.length > state.docs ? " · showing the first " + state.docs : "");
  if (rows.length > state.docs) {
    const more = el("button", "", "show more documents");
    more.type = "button";
    more.addEventListener("click", () => { state.docs += PAGE_DOCS; refresh(); });
    box.appendChild(more);
  }
  // Tests and benchmarks/report_open.py wait for this event rather than for time to pass.
  document.body.dataset.renders = String(++renders);
  document.dispatchEvent(new CustomEvent("plantheme:rendered"));
}
function option(select, value, text) {
  const o = el("option", "", text);
  o.value = value;
  select.appendChild(o);
}
function drawChart() {
  const box = $("chart"), field = $("cfield").value, t = +$("ctheme").value;
  box.textContent = "";
  if (!field) {
    box.appendChild(el("p", "more", "No metadata to group by: tag with --meta-pattern 'year=20\\\\d\\\\d' or --meta FILE.csv" +
      " to see shares by year or place."));
    return;
  }
  const groups = S.groups[field].filter((g) => g.share[0]);
  const numeric = groups.every((g) => g.value !== "" && !isNaN(+g.value));
  if (numeric) groups.sort((a, b) => a.value - b.value);
  if (!groups.length) { box.appendChild(el("p", "more", "No group of " + field + " has content sentences.")); return; }
  const top = Math.min(1, Math.ceil(Math.max(...groups.map((g) => g.share[2][t])) / 1000 + 0.5) / 10) || 0.1;
  const L = 44, R = 12, TOP = 12, B = 58, step = 44, W = Math.max(340, L + R + step * groups.length), H = 250;
  const y = (bp) => TOP + (H - TOP - B) * (1 - bp / 10000 / top), x = (k) => L + step * (k + 0.5);
  const chart = svg("svg", {viewBox: "0 0 " + W + " " + H, role: "img",
    "aria-label": T[t].name + " share by " + field});
  // As wide as the page; with many groups no narrower than 24 px a group (then it scrolls on its own).
  chart.style.width = "100%";
  chart.style.minWidth = Math.min(W, 24 * groups.length + L + R) + "px";
  chart.style.maxWidth = W * 1.6 + "px";
  const tick = top > 0.5 ? 2000 : 1000;
  for (let v = 0; v <= top * 10000 + 1; v += tick) {
    chart.appendChild(svg("line", {x1: L, x2: W - R, y1: y(v), y2: y(v), stroke: "#e3e3e3"}));
    const label = svg("text", {x: L - 4, y: y(v) + 4, "text-anchor": "end"});
    label.textContent = v / 100 + "%";
    chart.appendChild(label);
  }
  const colour = T[t].colour;
  if (numeric && groups.length > 1) {
    chart.appendChild(svg("polyline", {points: groups.map((g, k) => x(k) + "," + y(g.share[0][t])).join(" "),
      fill: "none", stroke: colour, "stroke-opacity": 0.5}));
  }
  groups.forEach((g, k) => {
    const [est, lo, hi] = [g.share[0][t], g.share[1][t], g.share[2][t]];
    const item = svg("g", {});
    const tip = svg("title", {});
    tip.textContent = field + " " + g.value + ": " + pct(est) + " (95% interval " + pct(lo) + " – " + pct(hi) + "; " +
      g.documents + " documents, " + g.content + " content sentences)";
    item.appendChild(tip);
    item.appendChild(svg("line", {x1: x(k), x2: x(k), y1: y(lo), y2: y(hi), stroke: colour, "stroke-width": 2}));
    for (const v of [lo, hi]) item.appendChild(svg("line", {x1: x(k) - 6, x2: x(k) + 6, y1: y(v), y2: y(v), stroke: colour, "stroke-width": 2}));
    item.appendChild(svg("circle", {cx: x(k), cy: y(est), r: 4.5, fill: colour}));
    const label = svg("text", {x: x(k), y: H - B + 14, "text-anchor": "end",
      transform: "rotate(-35 " + x(k) + " " + (H - B + 14) + ")"});
    label.textContent = g.value.length > 12 ? g.value.slice(0, 11) + "…" : g.value;
    item.appendChild(label);
    chart.appendChild(item);
  });
  const wrap = el("div", "wide");
  wrap.appendChild(chart);
  box.appendChild(wrap);
  box.appendChild(el("p", "meta", "Dots: estimated share of " + T[t].name + " (" + T[t].id + ") among content sentences; bars: 95% interval" +
    " (groups.csv). Hover or tap a group for its numbers."));
}
function openDocument(i) {
  resetFilters();
  state.open.add(i);
  state.focus = i;
  refresh().then(() => $("doc-" + i).scrollIntoView());
}
function drawExamples() {
  const box = $("examples");
  const where = new Map(D.blob.map((b, i) => [b, i]));
  T.forEach((theme) => {
    const card = el("div", "t-" + theme.id);
    const h = el("strong");
    h.appendChild(el("span", "chip t-" + theme.id));
    h.appendChild(document.createTextNode(theme.name + " " + theme.id));
    card.appendChild(h);
    const list = el("ul");
    (S.examples[theme.id] || []).forEach((ex) => {
      const li = el("li", "", ex.text + " ");
      li.appendChild(el("span", "meta", ex.confidence.toFixed(2) + " · "));
      if (ex.evidence && ex.evidence.length) {
        li.appendChild(el("span", "meta", "evidence: " + ex.evidence.map((e) => e[0] + " " + e[1]).join(", ") + " · "));
      }
      const i = where.get(ex.doc);
      if (i !== undefined) {
        const go = el("button", "link", D.path[i]);
        go.type = "button";
        go.addEventListener("click", () => openDocument(i));
        li.appendChild(go);
      }
      list.appendChild(li);
    });
    if (!list.children.length) list.appendChild(el("li", "more", "none"));
    card.appendChild(list);
    box.appendChild(card);
  });
}
function resetFilters() {
  $("q").value = ""; $("ftheme").value = "-1"; $("cmin").value = "0"; $("cmax").value = "100"; $("fflag").value = "";
  for (const field of S.fields) $("meta-" + S.fields.indexOf(field)).value = "";
  readFilters();
}
function readFilters() {
  state.q = $("q").value.trim();
  state.theme = +$("ftheme").value;
  state.cmin = +$("cmin").value || 0;
  state.cmax = $("cmax").value === "" ? 100 : +$("cmax").value;
  state.flag = $("fflag").value;
  S.fields.forEach((field, k) => { state.meta[field] = $("meta-" + k).value; });
  state.sort = $("sort").value;
  state.docs = PAGE_DOCS;
  state.focus = -1;
}
function setUp() {
  option($("ftheme"), "-1", "all");
  T.forEach((theme, t) => { option($("ftheme"), t, theme.name + " " + theme.id); option($("ctheme"), t, theme.name + " " + theme.id); });
  option($("sort"), "path", "path");
  option($("sort"), "sentences", "sentences");
  T.forEach((theme, t) => option($("sort"), "share:" + t, "share " + theme.name + " ↓"));
  S.fields.forEach((field, k) => {
    option($("sort"), "meta:" + field, field);
    const label = el("label", "", field + " ");
    const select = el("select");
    select.id = "meta-" + k;
    option(select, "", "all");
    [...S.values[field]].filter((v) => v).sort().forEach((v) => option(select, v, v));
    label.appendChild(select);
    $("metafilters").appendChild(label);
  });
  const grouped = S.fields.filter((f) => (S.groups[f] || []).length);
  grouped.forEach((f) => option($("cfield"), f, f));
  if (!grouped.length) option($("cfield"), "", "(no metadata)");
  if (grouped.includes("year")) $("cfield").value = "year";
  const content = T.map((_, t) => D.counts.reduce((a, c) => a + c[t], 0));
  $("ctheme").value = String(content.indexOf(Math.max(...content.slice(0, NT - 1))));
  $("cfield").addEventListener("change", drawChart);
  $("ctheme").addEventListener("change", drawChart);
  let timer = 0;
  const update = () => { readFilters(); refresh(); };
  $("q").addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(update, 150); });
  $("q").addEventListener("keydown", (e) => { if (e.key === "Enter") { clearTimeout(timer); update(); } });
  for (const node of $("filters").querySelectorAll("select,input[type=number]")) node.addEventListener("change", update);
  $("reset").addEventListener("click", () => { resetFilters(); refresh(); });
}
const t0 = performance.now();
setUp();
drawChart();
drawExamples();
render();
// Measured by tests and benchmarks/report_open.py: the first render, and the time since navigation began.
document.body.dataset.firstRenderMs = (performance.now() - t0).toFixed(1);
document.body.dataset.readyMs = performance.now().toFixed(1);
})();
"""
