"""Writing the outputs of ``plantheme tag``: sentences (JSONL, CSV), documents.csv, manifest.json.

The output folder switches from one run's outputs to the next as a whole
(never a new ``documents.csv`` beside an old ``sentences.jsonl``). Layout::

    OUTDIR/.generations/<id>/   one run's seven outputs (``<id>.partial`` while written)
    OUTDIR/.current             link to the published generation
    OUTDIR/manifest.json        link to .current/manifest.json (likewise the other six)

A run writes every output into ``.generations/<id>.partial/`` (each file
synced to disk), renames that folder to ``<id>`` (complete), then switches
the ``.current`` link with one ``rename`` of a new link over it: that rename
is the moment the folder changes from the old run's outputs to the new ones,
all seven at once (:func:`publish_generation`). The seven top-level names are
links through ``.current`` and are created once; older generations are
removed after the switch. A crash before the switch leaves the previous
outputs in place (and a ``.partial`` folder that the next run removes); a
crash after it leaves the new ones. A folder written by an older plantheme
(regular files, no ``.current``) is converted the first time: its files are
replaced by links one by one after the switch.

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
  Then, per theme, the estimated true share corrected for the classifier's
  confusions and its 95% interval (``share_<theme>``, ``share_<theme>_lo``,
  ``share_<theme>_hi``; :mod:`plantheme.analysis.shares`; empty without content
  sentences), then the metadata fields.
* ``groups.csv``: one row per (metadata field, value): ``field``, ``value``,
  ``documents``, ``content_sentences`` and the same share columns, over the
  pooled content sentences of the group's tagged documents. UTF-8 with a BOM.
* ``documents.xlsx``: documents, groups and the first sentences as a workbook
  (:mod:`plantheme.tagging.xlsx_output`).
* ``manifest.json``: every file found, exactly once, with its status and
  reason (a tagged one with its theme counts and metadata); the folders not
  searched; totals, model, settings, timings, and how the shares were estimated.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import os
import secrets
import shutil
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO
from collections.abc import Iterable, Iterator, Sequence

from ..analysis.records import CorpusAnalysis, ThemeShares
from ..readers.folder_scan import OUTPUT_MARKER, SkippedFolder
from .tag_records import DocumentOutcome, RunTotals, SentenceFields, confidence_text, sentence_csv, sentence_json
from ..themes import THEME_IDS

__all__ = [
    "SENTENCES_JSONL",
    "SENTENCES_CSV",
    "DOCUMENTS_CSV",
    "MANIFEST_JSON",
    "REPORT_HTML",
    "SENTENCE_CSV_FIELDS",
    "DOCUMENT_CSV_FIELDS",
    "GROUPS_CSV",
    "GROUP_CSV_FIELDS",
    "DOCUMENTS_XLSX",
    "SHARE_CSV_FIELDS",
    "write_groups_csv",
    "atomic_file",
    "RenderedSentences",
    "render_sentences",
    "write_sentences_csv_header",
    "write_documents_csv",
    "write_manifest",
    "OUTPUT_NAMES",
    "GENERATIONS",
    "CURRENT",
    "new_generation",
    "publish_generation",
    "remove_stale_generations",
    "sync_file",
]

SENTENCES_JSONL = "sentences.jsonl"
SENTENCES_CSV = "sentences.csv"
DOCUMENTS_CSV = "documents.csv"
MANIFEST_JSON = "manifest.json"
REPORT_HTML = "report.html"
GROUPS_CSV = "groups.csv"
DOCUMENTS_XLSX = "documents.xlsx"
OUTPUT_NAMES = (SENTENCES_JSONL, SENTENCES_CSV, DOCUMENTS_CSV, GROUPS_CSV, DOCUMENTS_XLSX, REPORT_HTML, MANIFEST_JSON)
GENERATIONS = ".generations"
CURRENT = ".current"
_PARTIAL = ".partial"

SENTENCE_CSV_FIELDS = ("doc", "index", "start", "end", "theme", "confidence", "flags", "text")
# The estimated true shares and their 95% intervals, three columns per theme.
SHARE_CSV_FIELDS = tuple(
    column for theme in THEME_IDS for column in (f"share_{theme}", f"share_{theme}_lo", f"share_{theme}_hi")
)
DOCUMENT_CSV_FIELDS = (
    (
        "path",
        "status",
        "reason",
        "format",
        "encoding",
        "bytes",
        "sentences",
        "dominant",
        "garbled",
        "low_confidence",
        "boilerplate",
        "reused",
    )
    + tuple(f"{theme}_count" for theme in THEME_IDS)
    + tuple(f"{theme}_share" for theme in THEME_IDS)
    + SHARE_CSV_FIELDS
)
GROUP_CSV_FIELDS = ("field", "value", "documents", "content_sentences") + SHARE_CSV_FIELDS


@contextmanager
def atomic_file(
    path: Path,
    *,
    encoding: str = "utf-8",
    newline: str | None = "",
    durable: bool = True,
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
        # backslashreplace: a lone surrogate (a file name's stray byte inside an
        # error message) is written visibly instead of failing the whole output.
        opened = (
            open(tmp, "xb") if binary else open(tmp, "x", encoding=encoding, newline=newline, errors="backslashreplace")
        )
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
    """``value`` as one CSV field, quoted when it needs to be (also for a line break in it)."""
    buffer = io.StringIO()
    # The writer quotes a field holding a character of its line terminator, so
    # the terminator must be a real one (an empty one let "\n" pass unquoted).
    csv.writer(buffer, lineterminator="\r\n").writerow([value])
    return buffer.getvalue()[:-2]


def write_sentences_csv_header(csv_handle: BinaryIO) -> None:
    """Start ``sentences.csv`` (opened binary) with the UTF-8 BOM and its header row."""
    header = io.StringIO()
    csv.writer(header).writerow(SENTENCE_CSV_FIELDS)
    csv_handle.write(codecs.BOM_UTF8 + header.getvalue().encode("utf-8"))


def _share_cells(shares: ThemeShares | None) -> list[str]:
    """The three share columns of every theme; empty cells when there is no estimate."""
    if shares is None or not shares.shares:
        return [""] * len(SHARE_CSV_FIELDS)
    cells = []
    for theme in THEME_IDS:
        interval = shares.shares[theme]
        cells += [f"{interval.estimate:.4f}", f"{interval.lo:.4f}", f"{interval.hi:.4f}"]
    return cells


def _document_row(outcome: DocumentOutcome, meta_fields: Sequence[str], shares: ThemeShares | None) -> list[Any]:
    predicted = outcome.shares
    return (
        [
            outcome.path,
            outcome.status,
            outcome.reason,
            outcome.format,
            outcome.encoding,
            outcome.bytes,
            outcome.sentences,
            outcome.dominant,
            outcome.garbled,
            outcome.low_confidence,
            outcome.boilerplate,
            "yes" if outcome.reused else "no",
        ]
        + [outcome.counts.get(theme, 0) for theme in THEME_IDS]
        + [f"{predicted[theme]:.4f}" for theme in THEME_IDS]
        + _share_cells(shares)
        + [outcome.meta.get(name, "") for name in meta_fields]
    )


def write_documents_csv(
    path: Path,
    outcomes: Iterable[DocumentOutcome],
    meta_fields: Sequence[str] = (),
    analysis: CorpusAnalysis | None = None,
) -> None:
    """Write ``documents.csv`` (UTF-8 with BOM) atomically: one row per outcome given.

    ``analysis`` gives the estimated shares of the tagged documents (empty
    share cells for the others, or without it). ``meta_fields`` add one column
    each, after the shares, with the document's value of that field (empty
    when it has none). Every field that needs it is quoted (the default of the
    csv module with a ``\r\n`` terminator: commas, quotes and line breaks).
    """
    estimated = analysis.documents if analysis is not None else {}
    with atomic_file(path, encoding="utf-8-sig") as handle:
        writer = csv.writer(handle)
        writer.writerow(DOCUMENT_CSV_FIELDS + tuple(meta_fields))
        for outcome in outcomes:
            writer.writerow(_document_row(outcome, meta_fields, estimated.get(outcome.path)))


def write_groups_csv(path: Path, analysis: CorpusAnalysis) -> None:
    """Write ``groups.csv`` (UTF-8 with BOM) atomically: one row per (metadata field, value).

    Only the header when the corpus has no metadata.
    """
    with atomic_file(path, encoding="utf-8-sig") as handle:
        writer = csv.writer(handle)
        writer.writerow(GROUP_CSV_FIELDS)
        for field in analysis.meta_fields:
            for group in analysis.groups.get(field, ()):
                value = group.key.split("=", 1)[1]
                writer.writerow([field, value, group.documents, group.content_sentences] + _share_cells(group))


def _file_entry(outcome: DocumentOutcome) -> dict[str, Any]:
    entry: dict[str, Any] = {"path": outcome.path, "status": outcome.status}
    if outcome.path_hex:
        entry["path_hex"] = outcome.path_hex
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
        entry.update(
            sentences=outcome.sentences,
            dominant=outcome.dominant or None,
            reused=outcome.reused,
            # compare re-estimates shares from these (content sentences per predicted theme).
            counts={theme: outcome.counts.get(theme, 0) for theme in THEME_IDS},
        )
    if outcome.meta:
        entry["meta"] = dict(outcome.meta)
    return entry


def write_manifest(
    path: Path,
    *,
    run: dict[str, Any],
    totals: RunTotals,
    timings: dict[str, Any],
    outcomes: Iterable[DocumentOutcome],
    folders: Iterable[SkippedFolder],
    shares: dict[str, Any] | None = None,
) -> None:
    """Write ``manifest.json`` atomically: run description, totals, timings, every file and folder.

    ``run`` holds the folder, output, model, settings and jobs of the run;
    ``shares`` how the shares were estimated (confusion matrix, replicates,
    seed, metadata fields), what ``plantheme compare`` needs besides the files.
    """
    manifest = {
        # First key: scan_folder recognises output folders by it.
        "generator": OUTPUT_MARKER,
        **run,
        "totals": {
            "files": totals.files,
            "tagged": totals.tagged,
            "reused": totals.reused,
            "skipped": totals.skipped,
            "failed": totals.failed,
            "sentences": totals.sentences,
            "boilerplate": totals.boilerplate,
            "bytes_tagged": totals.bytes_tagged,
            "themes": dict(totals.counts),
        },
        "timings": timings,
        **({"shares": shares} if shares is not None else {}),
        "files": [_file_entry(outcome) for outcome in outcomes],
        "folders_not_searched": [
            {"path": folder.path, "status": folder.status, "reason": folder.reason} for folder in folders
        ],
    }
    with atomic_file(path, newline="\n") as handle:
        json.dump(manifest, handle, ensure_ascii=False, indent=2)
        handle.write("\n")


# --- generations: switching the output folder as a whole ------------------------------


def sync_file(path: Path) -> None:
    """Flush a written file to disk (before the rename that publishes it)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sync_folder(folder: Path) -> None:
    # Makes renames inside the folder durable; some file systems cannot open folders.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def new_generation(out_dir: Path) -> Path:
    """Create and return the folder a run writes its outputs into: ``.generations/<id>.partial``."""
    generations = Path(out_dir) / GENERATIONS
    generations.mkdir(parents=True, exist_ok=True)
    while True:
        folder = generations / f"{secrets.token_hex(6)}{_PARTIAL}"
        try:
            folder.mkdir()
            return folder
        except FileExistsError:  # pragma: no cover - 48 random bits
            continue


def _replace_link(link: Path, target: str) -> None:
    """Point ``link`` at ``target`` with one rename (a reader sees the old or the new link)."""
    if link.is_dir() and not link.is_symlink():
        # A copy of an output folder made by following links: a real folder cannot be renamed over.
        shutil.rmtree(link)
    tmp = link.with_name(f".{link.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    os.symlink(target, tmp)
    try:
        os.replace(tmp, link)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def publish_generation(out_dir: Path, partial: Path) -> Path:
    """Make the outputs in ``partial`` the output folder's contents, all at once.

    Steps (a crash between any two leaves either the old outputs or the new
    ones, never a mix; see the module docstring): sync the files, rename the
    folder to its final name, switch ``.current`` to it, create the top-level
    links that are missing, remove the older generations. Returns the
    published generation's folder.
    """
    out_dir = Path(out_dir)
    for name in OUTPUT_NAMES:
        sync_file(partial / name)
    final = partial.with_name(partial.name[: -len(_PARTIAL)])
    os.rename(partial, final)
    _sync_folder(final.parent)
    _replace_link(out_dir / CURRENT, f"{GENERATIONS}/{final.name}")  # the switch
    for name in OUTPUT_NAMES:
        link = out_dir / name
        target = f"{CURRENT}/{name}"
        if not (link.is_symlink() and os.readlink(link) == target):
            _replace_link(link, target)
    _sync_folder(out_dir)
    remove_stale_generations(out_dir, keep=final.name)
    return final


def remove_stale_generations(out_dir: Path, keep: str | None = None) -> int:
    """Remove generation folders other than the published one (and ``keep``); return how many.

    Called by a run holding the output folder's lock: partial folders of
    crashed runs and generations replaced since.
    """
    generations = Path(out_dir) / GENERATIONS
    if not generations.is_dir():
        return 0
    current = Path(out_dir) / CURRENT
    published = os.path.basename(os.readlink(current)) if current.is_symlink() else None
    removed = 0
    for folder in generations.iterdir():
        if folder.name in (published, keep):
            continue
        if folder.is_dir() and not folder.is_symlink():
            shutil.rmtree(folder, ignore_errors=True)
        else:
            folder.unlink(missing_ok=True)
        removed += 1
    return removed
