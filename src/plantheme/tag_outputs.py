"""Writing the outputs of ``plantheme tag``: sentences (JSONL, CSV), documents.csv, manifest.json.

Every output goes to a temporary file in the output folder and is renamed into
place when complete (:func:`atomic_file`), so a reader never sees half a file
and an interrupted run leaves the previous outputs intact.

Formats:

* ``sentences.jsonl``: one object per sentence: ``doc`` (path relative to the
  tagged folder), ``index``, ``start``, ``end`` (span in the extracted text),
  ``text`` (as in the document), ``theme``, ``confidence``, ``flags``.
* ``sentences.csv``: the same columns (``flags`` joined by ``;``), UTF-8 with
  a BOM so that spreadsheet programs show Chinese.
* ``documents.csv``: one row per file that was read (tagged, or failed or
  skipped for its content): status, reason, format, encoding, bytes, sentences,
  dominant theme, flag counts (furniture units in ``boilerplate``), whether the
  result was reused, then the count and the share of each theme over the
  content sentences (furniture excluded). UTF-8 with a BOM.
* ``manifest.json``: every file found, exactly once, with its status and
  reason; the folders not searched; totals, model, settings and timings.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import os
import secrets
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Iterable, Iterator, Sequence

from .folder_scan import OUTPUT_MARKER, SkippedFolder
from .tag_records import DocumentOutcome, RunTotals, SentenceFields, confidence_text, sentence_csv, sentence_json
from .themes import THEME_IDS

__all__ = [
    "SENTENCES_JSONL", "SENTENCES_CSV", "DOCUMENTS_CSV", "MANIFEST_JSON", "REPORT_HTML",
    "SENTENCE_CSV_FIELDS", "DOCUMENT_CSV_FIELDS", "atomic_file", "RenderedSentences",
    "render_sentences", "write_sentences_csv_header",
    "write_documents_csv", "write_manifest",
]

SENTENCES_JSONL = "sentences.jsonl"
SENTENCES_CSV = "sentences.csv"
DOCUMENTS_CSV = "documents.csv"
MANIFEST_JSON = "manifest.json"
REPORT_HTML = "report.html"

SENTENCE_CSV_FIELDS = ("doc", "index", "start", "end", "theme", "confidence", "flags", "text")
DOCUMENT_CSV_FIELDS = (
    ("path", "status", "reason", "format", "encoding", "bytes", "sentences", "dominant",
     "garbled", "low_confidence", "boilerplate", "reused")
    + tuple(f"{theme}_count" for theme in THEME_IDS)
    + tuple(f"{theme}_share" for theme in THEME_IDS)
)


@contextmanager
def atomic_file(
    path: Path, *, encoding: str = "utf-8", newline: str | None = "", durable: bool = True,
    binary: bool = False,
) -> Iterator[Any]:
    """Open a temporary file beside ``path`` for writing; rename it to ``path`` on success.

    Yields a text file (``encoding``, ``newline``), or a binary one when
    ``binary``. On an exception the temporary file is removed and ``path`` is
    untouched. ``durable`` syncs the data to disk before the rename (for the
    final outputs; cache entries are checked when read instead).
    """
    path = Path(path)
    # Not mkstemp: its files are private (0600); outputs get the user's usual permissions.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        opened = open(tmp, "xb") if binary else open(tmp, "x", encoding=encoding, newline=newline)
        with opened as handle:
            yield handle
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@dataclass(frozen=True)
class RenderedSentences:
    """One document's lines of ``sentences.jsonl`` and rows of ``sentences.csv``, ready to append."""

    jsonl: str
    csv: str


def render_sentences(doc: str, sentences: Sequence[SentenceFields]) -> RenderedSentences:
    """Render the sentences of document ``doc`` for both sentence outputs.

    Workers call this right after tagging and store the result in the cache,
    so that the main process only copies bytes.
    """
    # Splice the document path in front of each sentence's keys rather than
    # building a dict per sentence.
    opening = '{"doc": ' + json.dumps(doc, ensure_ascii=False) + ", "
    doc_field = _csv_field(doc)
    lines, rows = [], []
    for sentence in sentences:
        confidence = confidence_text(sentence.confidence)  # written once for both
        lines.append(sentence_json(sentence, opening, confidence))
        rows.append(sentence_csv(sentence, doc_field, confidence))
    lines.append("")  # every line ends with a newline
    return RenderedSentences(jsonl="\n".join(lines) if sentences else "", csv="".join(rows))


def _csv_field(value: str) -> str:
    """``value`` as one CSV field, quoted when it needs to be."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow([value])
    return buffer.getvalue()


def write_sentences_csv_header(csv_handle: BinaryIO) -> None:
    """Start ``sentences.csv`` (opened binary) with the UTF-8 BOM and its header row."""
    header = io.StringIO()
    csv.writer(header).writerow(SENTENCE_CSV_FIELDS)
    csv_handle.write(codecs.BOM_UTF8 + header.getvalue().encode("utf-8"))


def _document_row(outcome: DocumentOutcome) -> list[Any]:
    shares = outcome.shares
    return (
        [outcome.path, outcome.status, outcome.reason, outcome.format, outcome.encoding,
         outcome.bytes, outcome.sentences, outcome.dominant, outcome.garbled,
         outcome.low_confidence, outcome.boilerplate, "yes" if outcome.reused else "no"]
        + [outcome.counts.get(theme, 0) for theme in THEME_IDS]
        + [f"{shares[theme]:.4f}" for theme in THEME_IDS]
    )


def write_documents_csv(path: Path, outcomes: Iterable[DocumentOutcome]) -> None:
    """Write ``documents.csv`` (UTF-8 with BOM) atomically: one row per outcome given."""
    with atomic_file(path, encoding="utf-8-sig") as handle:
        writer = csv.writer(handle)
        writer.writerow(DOCUMENT_CSV_FIELDS)
        for outcome in outcomes:
            writer.writerow(_document_row(outcome))


def _file_entry(outcome: DocumentOutcome) -> dict[str, Any]:
    entry: dict[str, Any] = {"path": outcome.path, "status": outcome.status}
    if outcome.reason:
        entry["reason"] = outcome.reason
    if outcome.format:
        entry["format"] = outcome.format
    if outcome.encoding:
        entry["encoding"] = outcome.encoding
    entry["bytes"] = outcome.bytes
    if outcome.sha256:
        entry["sha256"] = outcome.sha256
    if outcome.status == "tagged":
        entry.update(sentences=outcome.sentences, dominant=outcome.dominant or None,
                     reused=outcome.reused)
    return entry


def write_manifest(
    path: Path,
    *,
    run: dict[str, Any],
    totals: RunTotals,
    timings: dict[str, Any],
    outcomes: Iterable[DocumentOutcome],
    folders: Iterable[SkippedFolder],
) -> None:
    """Write ``manifest.json`` atomically: run description, totals, timings, every file and folder.

    ``run`` holds the folder, output, model, settings and jobs of the run.
    """
    manifest = {
        # First key: scan_folder recognises output folders by it.
        "generator": OUTPUT_MARKER,
        **run,
        "totals": {
            "files": totals.files, "tagged": totals.tagged, "reused": totals.reused,
            "skipped": totals.skipped, "failed": totals.failed, "sentences": totals.sentences,
            "boilerplate": totals.boilerplate, "bytes_tagged": totals.bytes_tagged,
            "themes": dict(totals.counts),
        },
        "timings": timings,
        "files": [_file_entry(outcome) for outcome in outcomes],
        "folders_not_searched": [
            {"path": folder.path, "status": folder.status, "reason": folder.reason} for folder in folders
        ],
    }
    with atomic_file(path, newline="\n") as handle:
        json.dump(manifest, handle, ensure_ascii=False, indent=2)
        handle.write("\n")
