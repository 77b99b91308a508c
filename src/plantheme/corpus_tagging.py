"""``plantheme tag``: tag every document of a folder, in parallel and incrementally.

The run, step by step:

1. :func:`~plantheme.folder_scan.scan_folder` lists every file (and every
   folder it does not search) with the reason when a file is not read.
2. Files whose content (sha256) at the same path was tagged before by the same
   model are taken from the cache under ``OUTDIR/.cache/``
   (:mod:`plantheme.tag_cache`).
3. The others are tagged by joblib worker processes, one document per task:
   a worker reads and decodes the file (:mod:`plantheme.documents`), runs
   :func:`~plantheme.tagging.tag_text` (the same computation as the service),
   renders the document's lines of ``sentences.jsonl`` and rows of
   ``sentences.csv`` into a cache entry and returns only a small
   :class:`~plantheme.tag_records.DocumentOutcome`. Each worker loads the
   model once.
4. The main process takes the outcomes in path order as they arrive and
   copies each document's cache entry, byte for byte, into the sentence
   outputs and (up to its limit) the report: it holds one document at a time,
   never the corpus, it has little to do however many workers run, and the
   output does not depend on ``--jobs``.
5. ``documents.csv``, ``report.html`` and ``manifest.json`` are written, every
   output atomically, and cache entries no file uses any more are removed.

An interrupted run keeps the cache entries of the documents it finished; the
next run reuses them and tags only the rest.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Iterator

from joblib import Parallel, cpu_count, delayed
from joblib.externals.loky.process_executor import TerminatedWorkerError

from . import __version__
from .documents import UnreadableDocument, document_format, extract_text, read_file_bytes
from .errors import PlanthemeError
from .folder_scan import FoundFile, FolderScan, scan_folder
from .persistence import file_sha256, load_card, load_compiled, load_model
from .progress import ProgressBar
from .report_html import ReportWriter
from .tag_cache import CachedSummary, TagCache
from .tag_outputs import (
    DOCUMENTS_CSV, MANIFEST_JSON, REPORT_HTML, SENTENCES_CSV, SENTENCES_JSONL, atomic_file,
    render_sentences, write_documents_csv, write_manifest, write_sentences_csv_header,
)
from .tag_records import FAILED, TAGGED, DocumentOutcome, RunTotals
from .tagging import GARBLED, LOW_CONFIDENCE, tag_text

if TYPE_CHECKING:  # loaded in the process that tags (the main one only with one job)
    from .model import ThemeModel
    from .scoring import CompiledModel

__all__ = ["TagOptions", "TagRunResult", "default_out_dir", "tag_folder", "tag_file",
           "run_tag_command", "CACHE_FOLDER"]

CACHE_FOLDER = ".cache"


@dataclass(frozen=True)
class TagOptions:
    """Everything one ``plantheme tag`` run needs to know."""

    folder: Path
    out_dir: Path
    model_dir: Path
    jobs: int = 1
    pattern: str | None = None
    low_confidence: float = 0.5
    max_document_chars: int = 2_000_000
    report_max_sentences: int = 20_000
    progress: bool = False


@dataclass(frozen=True)
class TagRunResult:
    """What a run did: totals, the output folder and the time it took."""

    totals: RunTotals
    out_dir: Path
    seconds: float
    folders_failed: int = 0

    @property
    def exit_status(self) -> int:
        """0 when every file was tagged or deliberately skipped, 1 when any failed."""
        return 1 if self.totals.failed or self.folders_failed else 0


@dataclass(frozen=True)
class WorkerConfig:
    """What a worker needs besides the file: the model, the threshold, the limits, the cache."""

    model_dir: str
    model_id: str
    low_confidence: float
    max_document_chars: int
    cache_dir: str


@dataclass(frozen=True)
class DocumentJob:
    """One file for a worker to read and tag."""

    path: str
    absolute: str
    size: int


@dataclass(frozen=True)
class WorkerResult:
    """A worker's outcome for one file and, if tagged, the cache entry holding its sentences."""

    outcome: DocumentOutcome
    cache_key: str = ""


@dataclass(frozen=True)
class _Planned:
    """A file in path order: decided already (outcome) or to be tagged (job).

    ``is_document`` is False for a file the scan passed over by its name
    (hidden, unsupported, not matched by ``--glob``): it has no row in
    documents.csv and does not count in the progress bar.
    """

    outcome: DocumentOutcome | None = None
    job: DocumentJob | None = None
    cache_key: str = ""
    is_document: bool = True


def default_out_dir(folder: Path) -> Path:
    """``DIR-tags`` beside ``DIR``."""
    folder = Path(folder).resolve()
    return folder.with_name(folder.name + "-tags")


# --- the worker side -------------------------------------------------------------


@lru_cache(maxsize=1)
def _model_once(model_dir: str, model_id: str) -> ThemeModel | CompiledModel:
    """The model, loaded once per process (each worker, or the main process with one job).

    Its arrays when the folder has them: loading them imports no scikit-learn,
    about a second less per process. Word and union models load whole.
    """
    compiled = load_compiled(Path(model_dir))
    model: ThemeModel | CompiledModel
    if compiled is not None:
        model, card = compiled
    else:
        model, card = load_model(Path(model_dir))
    if card.model_id != model_id:
        raise PlanthemeError(f"{model_dir}: the model changed during the run"
                             f" ({model_id} → {card.model_id}); run the command again")
    return model


def tag_file(job: DocumentJob, config: WorkerConfig) -> WorkerResult:
    """Read, decode and tag one file; store its sentences in the cache; return its outcome.

    Any problem with the file becomes a ``failed`` (or ``skipped``) outcome
    naming the reason, so that one bad file never stops the others. Only a
    model that cannot be loaded raises (:class:`PlanthemeError`): then no file
    can be tagged.
    """
    started = time.perf_counter()
    kind = document_format(Path(job.path)) or ""
    sha256 = ""
    try:
        data = read_file_bytes(Path(job.absolute), max_chars=config.max_document_chars)
        # The key is the hash of the bytes actually tagged, even if the file changed since the scan.
        sha256 = hashlib.sha256(data).hexdigest()
        document = extract_text(data, kind, max_chars=config.max_document_chars)
        del data
    except UnreadableDocument as problem:
        return WorkerResult(DocumentOutcome(
            path=job.path, status=problem.status, reason=problem.reason, format=kind,
            bytes=job.size, sha256=sha256, seconds=time.perf_counter() - started,
        ))
    model = _model_once(config.model_dir, config.model_id)
    try:
        # Evidence is for explaining single predictions; the folder outputs do not carry it.
        tagged = tag_text(model, document.text, low_confidence=config.low_confidence, details=False)
    except Exception as exc:  # a defect on one pathological text must not stop the run
        return WorkerResult(DocumentOutcome(
            path=job.path, status=FAILED, reason=f"tagging failed ({type(exc).__name__}: {exc})",
            format=kind, encoding=document.encoding, bytes=job.size, sha256=sha256,
            seconds=time.perf_counter() - started,
        ))
    sentences = tagged.sentences
    summary = CachedSummary(
        format=kind, encoding=document.encoding, sentences=len(sentences), counts=dict(tagged.counts),
        dominant=tagged.dominant or "",
        garbled=sum(GARBLED in s.flags for s in sentences),
        low_confidence=sum(LOW_CONFIDENCE in s.flags for s in sentences),
        boilerplate=tagged.boilerplate,
    )
    key = TagCache.key(sha256, job.path, config.model_id, config.low_confidence)
    # Rendered and stored here, in parallel, so that the main process only copies bytes.
    TagCache(Path(config.cache_dir)).write(key, summary, render_sentences(job.path, sentences))
    outcome = _outcome_from_summary(job.path, job.size, sha256, summary, reused=False,
                                    seconds=time.perf_counter() - started)
    return WorkerResult(outcome, key)


def _outcome_from_summary(path: str, size: int, sha256: str, summary: CachedSummary, *,
                          reused: bool, seconds: float = 0.0) -> DocumentOutcome:
    return DocumentOutcome(
        path=path, status=TAGGED, format=summary.format, encoding=summary.encoding, bytes=size,
        sha256=sha256, sentences=summary.sentences, counts=dict(summary.counts),
        dominant=summary.dominant, garbled=summary.garbled, low_confidence=summary.low_confidence,
        boilerplate=summary.boilerplate, reused=reused, seconds=seconds,
    )


# --- the main side ---------------------------------------------------------------


def _plan(scan: FolderScan, cache: TagCache, model_id: str, low_confidence: float) -> list[_Planned]:
    """Decide each file's fate: already decided by the scan, reused from the cache, or to tag."""
    # Hashing only pays when there is a cache to find things in (not on a first run).
    use_cache = cache.has_entries()
    plan: list[_Planned] = []
    for found in scan.files:
        if found.status:
            plan.append(_Planned(outcome=_decided(found), is_document=False))
            continue
        job = DocumentJob(path=found.path, absolute=str(found.absolute), size=found.size)
        if not use_cache:
            plan.append(_Planned(job=job))
            continue
        try:
            sha256 = file_sha256(found.absolute)
        except OSError as exc:
            plan.append(_Planned(outcome=DocumentOutcome(
                path=found.path, status=FAILED, reason=f"cannot read: {exc.strerror or exc}",
                format=document_format(found.absolute) or "", bytes=found.size)))
            continue
        key = TagCache.key(sha256, found.path, model_id, low_confidence)
        summary = cache.summary(key)
        if summary is None:
            plan.append(_Planned(job=job))
        else:
            plan.append(_Planned(
                outcome=_outcome_from_summary(found.path, found.size, sha256, summary, reused=True),
                cache_key=key))
    return plan


def _decided(found: FoundFile) -> DocumentOutcome:
    return DocumentOutcome(path=found.path, status=found.status, reason=found.reason,
                           format=document_format(found.absolute) or "", bytes=found.size)


def _run_jobs(jobs: list[DocumentJob], config: WorkerConfig, n_jobs: int) -> Iterator[WorkerResult]:
    """Tag the jobs on ``n_jobs`` processes; yield the results in the order of ``jobs``."""
    if not jobs:
        return iter(())
    if n_jobs == 1:
        # In this process: no worker start-up, and the model cache serves later runs too.
        return (tag_file(job, config) for job in jobs)
    # joblib groups documents into tasks of a few tenths of a second: one task
    # per document cost the main process a third more CPU (sending tasks,
    # receiving results), taken from the workers on a small machine.
    parallel = Parallel(n_jobs=n_jobs, return_as="generator", batch_size="auto")
    return iter(parallel(delayed(tag_file)(job, config) for job in jobs))


@dataclass
class _Collected:
    """What the main process keeps while documents stream past: small per-file records only."""

    outcomes: list[DocumentOutcome] = field(default_factory=list)
    documents: list[DocumentOutcome] = field(default_factory=list)
    totals: RunTotals = field(default_factory=RunTotals)
    used_keys: set[str] = field(default_factory=set)


def tag_folder(options: TagOptions) -> TagRunResult:
    """Tag every document under ``options.folder`` and write the outputs to ``options.out_dir``.

    Failed files are named on stderr as they happen. Raises
    :class:`PlanthemeError` when the model cannot be loaded.
    """
    started_at = datetime.now(timezone.utc)
    t0 = time.perf_counter()
    card = load_card(options.model_dir)
    out_dir = Path(options.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    scan = scan_folder(options.folder, out_dir=out_dir, pattern=options.pattern)
    cache = TagCache(out_dir / CACHE_FOLDER)
    plan = _plan(scan, cache, card.model_id, options.low_confidence)
    jobs = [p.job for p in plan if p.job is not None]
    n_jobs = max(1, min(options.jobs, len(jobs)))
    config = WorkerConfig(
        model_dir=str(Path(options.model_dir).resolve()), model_id=card.model_id,
        low_confidence=options.low_confidence, max_document_chars=options.max_document_chars,
        cache_dir=str(cache.folder),
    )
    progress = ProgressBar(sum(p.is_document for p in plan), enabled=options.progress)
    for folder in scan.folders:
        if folder.status == FAILED:
            progress.say(f"plantheme: {folder.path}: failed: {folder.reason}")
    t_scanned = time.perf_counter()

    with ExitStack() as stack:
        jsonl = stack.enter_context(atomic_file(out_dir / SENTENCES_JSONL, binary=True))
        csv_handle = stack.enter_context(atomic_file(out_dir / SENTENCES_CSV, binary=True))
        sections = stack.enter_context(tempfile.NamedTemporaryFile(
            "w+", encoding="utf-8", prefix=".report-sections.", suffix=".tmp", dir=out_dir))
        write_sentences_csv_header(csv_handle)
        report = ReportWriter(sections, max_sentences=options.report_max_sentences)
        collected = _stream_documents(plan, _run_jobs(jobs, config, n_jobs), cache,
                                      jsonl, csv_handle, report, progress)
        t_tagged = time.perf_counter()
        sections.flush()
        write_documents_csv(out_dir / DOCUMENTS_CSV, collected.documents)
        with atomic_file(out_dir / REPORT_HTML, newline="\n") as handle:
            report.write(handle, Path(sections.name), title=Path(options.folder).resolve().name,
                         model_id=card.model_id, totals=collected.totals, outcomes=collected.outcomes,
                         folders=scan.folders)
        # sentences.jsonl and .csv are renamed into place as the stack closes, before the manifest.
    t_written = time.perf_counter()
    cache.prune(collected.used_keys)
    seconds = time.perf_counter() - t0
    timings = {
        "started": started_at.isoformat(timespec="seconds"),
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "seconds": {"scan": round(t_scanned - t0, 3), "tagging": round(t_tagged - t_scanned, 3),
                    "writing": round(t_written - t_tagged, 3), "total": round(seconds, 3)},
        **_rates(collected.totals, seconds),
    }
    write_manifest(out_dir / MANIFEST_JSON, run=_describe_run(options, card.model_id, n_jobs),
                   totals=collected.totals, timings=timings, outcomes=collected.outcomes,
                   folders=scan.folders)
    folders_failed = sum(folder.status == FAILED for folder in scan.folders)
    return TagRunResult(totals=collected.totals, out_dir=out_dir, seconds=seconds,
                        folders_failed=folders_failed)


def _stream_documents(
    plan: list[_Planned],
    results: Iterator[WorkerResult],
    cache: TagCache,
    jsonl: BinaryIO,
    csv_handle: BinaryIO,
    report: ReportWriter,
    progress: ProgressBar,
) -> _Collected:
    """Take every file's outcome in path order and append its sentences to the outputs."""
    collected = _Collected()
    for planned in plan:
        outcome, key = _next_outcome(planned, results)
        collected.outcomes.append(outcome)
        collected.totals.add(outcome)
        if planned.is_document:
            collected.documents.append(outcome)
            progress.advance(sentences=outcome.sentences, reused=outcome.reused,
                             failed=outcome.status == FAILED)
        if outcome.status == TAGGED:
            collected.used_keys.add(key)
            cache.copy_sentences(key, jsonl, csv_handle)
            # Lazy: the report reads only the sentences it still has room for.
            report.add_document(outcome, cache.sentences(key))
        elif outcome.status == FAILED:
            progress.say(f"plantheme: {outcome.path}: failed: {outcome.reason}")
    progress.clear()
    return collected


def _rates(totals: RunTotals, seconds: float) -> dict[str, float | None]:
    if not seconds:
        return {"documents_per_second": None, "sentences_per_second": None, "megabytes_per_second": None}
    return {
        "documents_per_second": round(totals.tagged / seconds, 2),
        "sentences_per_second": round(totals.sentences / seconds, 1),
        "megabytes_per_second": round(totals.bytes_tagged / 1e6 / seconds, 3),
    }


def _describe_run(options: TagOptions, model_id: str, n_jobs: int) -> dict[str, object]:
    """The manifest's description of the run: folders, model, settings, processes."""
    return {
        "plantheme_version": __version__,
        "folder": str(Path(options.folder).resolve()),
        "output": str(Path(options.out_dir).resolve()),
        "glob": options.pattern,
        "model": {"id": model_id, "dir": str(Path(options.model_dir).resolve())},
        "settings": {"low_confidence": options.low_confidence,
                     "max_document_chars": options.max_document_chars,
                     "report_max_sentences": options.report_max_sentences},
        "jobs": n_jobs,
    }


def _next_outcome(planned: _Planned, results: Iterator[WorkerResult]) -> tuple[DocumentOutcome, str]:
    """A planned file's outcome and cache key: decided already, or the next worker result."""
    if planned.job is None:
        assert planned.outcome is not None
        return planned.outcome, planned.cache_key
    try:
        result = next(results)
    except TerminatedWorkerError:
        raise PlanthemeError(
            "a worker process died while tagging (out of memory?); run the command again to resume"
            " (finished documents are cached), with fewer --jobs or a lower"
            " PLANTHEME_MAX_DOCUMENT_CHARS"
        ) from None
    return result.outcome, result.cache_key


# --- the command -----------------------------------------------------------------


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _options_from_args(args: argparse.Namespace) -> TagOptions | str:
    """The run's options from the command line, or the message saying which argument is wrong."""
    folder = Path(args.dir)
    if not folder.exists():
        return f"{folder}: no such folder"
    if not folder.is_dir():
        return f"{folder}: not a folder; give the folder of documents to tag"
    jobs = cpu_count() if args.jobs is None else args.jobs
    if jobs < 1:
        return f"--jobs {args.jobs}: give a number of processes of at least 1"
    if args.out is None and not folder.resolve().name:
        return f"{folder}: give --out: the default output folder is beside the tagged one"
    out_dir = Path(args.out) if args.out is not None else default_out_dir(folder)
    if out_dir.exists() and not out_dir.is_dir():
        return f"--out {out_dir}: a file is in the way; give a folder"
    if out_dir.resolve() == folder.resolve():
        return f"--out {out_dir}: the output folder must not be the folder being tagged"
    if args.glob is not None and not args.glob.strip():
        return "--glob: the pattern is empty"
    # Imported here, not at the top: workers import this module for tag_file,
    # and pydantic-settings would add a sixth to their start-up.
    from .settings import load_settings

    settings = load_settings(model_dir=args.model)
    return TagOptions(
        folder=folder, out_dir=out_dir, model_dir=settings.model_dir, jobs=jobs, pattern=args.glob,
        low_confidence=settings.low_confidence, max_document_chars=settings.max_document_chars,
        report_max_sentences=settings.report_max_sentences,
        progress=not args.quiet and sys.stderr.isatty(),
    )


def _summary(result: TagRunResult) -> str:
    totals = result.totals
    reused = f" ({totals.reused:,} reused)" if totals.reused else ""
    return (f"tagged {totals.tagged:,} documents{reused}, skipped {totals.skipped:,},"
            f" failed {totals.failed:,}: {totals.sentences:,} sentences in {result.seconds:.1f} s"
            f" -> {result.out_dir}")


def run_tag_command(args: argparse.Namespace) -> int:
    """``plantheme tag DIR``: exit status 0 (all tagged or skipped), 1 (any failed), 2 (bad arguments)."""
    options = _options_from_args(args)
    if isinstance(options, str):
        _say(f"plantheme: error: {options}")
        return 2
    result = tag_folder(options)
    if not args.quiet:
        _say(_summary(result))
    return result.exit_status
