"""``plantheme tag``: tag every document of a folder, in parallel and incrementally.

The run, step by step:

1. :func:`~plantheme.readers.folder_scan.scan_folder` lists every file (and every
   folder it does not search) with the reason when a file is not read.
2. Files whose content (sha256) at the same path was tagged before by the same
   model are taken from the cache under ``OUTDIR/.cache/``
   (:mod:`plantheme.tagging.tag_cache`).
3. The others are tagged by joblib worker processes, one document per task:
   a worker reads and decodes the file (:mod:`plantheme.readers.documents`), runs
   :func:`~plantheme.tagging.tagging.tag_text` (the same computation as the service),
   renders the document's lines of ``sentences.jsonl`` and rows of
   ``sentences.csv`` into a cache entry and returns only a small
   :class:`~plantheme.tagging.tag_records.DocumentOutcome`. Each worker loads the
   model once. With ``options.cluster`` the workers are a Dask cluster's instead
   (:mod:`plantheme.tagging.dask_workers`, the same interface): they run the same
   :func:`tag_file` on bytes the main process sends, and it stores their cache entries.
4. The main process takes the outcomes in path order as they arrive and
   copies each document's cache entry, byte for byte, into the sentence
   outputs and (up to its limit) the report: it holds one document at a time,
   never the corpus, it has little to do however many workers run, and the
   output does not depend on ``--jobs``.
5. The documents' metadata is gathered (their own fields, ``--meta-pattern``,
   ``--meta``; :mod:`plantheme.analysis.metadata`) and their theme shares and
   those of every metadata group are estimated from the predicted counts
   (:mod:`plantheme.analysis.shares`).
6. ``documents.csv``, ``groups.csv``, ``documents.xlsx``, ``report.html`` and
   ``manifest.json`` are written into the same new generation folder as the
   sentence outputs, which then replaces the previous outputs as a whole
   (:func:`~plantheme.tagging.tag_outputs.publish_generation`), and cache
   entries no file uses any more are removed.

The run holds the output folder's lock throughout (:mod:`plantheme.tagging.run_lock`),
so two runs never prune each other's cache. An interrupted run keeps the cache
entries of the documents it finished; the next run reuses them and tags only
the rest. When a run fails or is interrupted (an exception, Ctrl-C, a
SIGTERM turned into an exception by the caller) the worker processes are
stopped; the temporary files are removed on every exit; after ``kill -9`` the
next run removes them.

One file never stops the run: whatever goes wrong while reading or tagging
it (its name, its size, a parser's exception, a worker process dying on it,
anything unexpected) becomes a ``failed`` entry with the reason. What stops a run is what no file could get
past: a model that cannot be loaded, an output folder that cannot be written
(one :class:`~plantheme.errors.PlanthemeError` naming it).

Files of records (``.jsonl``, ``.csv``; :mod:`plantheme.readers.record_files`) are
tagged record by record in one task; each record is a document ``FILE#ID``
of its own, and the file is one cache entry.
"""

from __future__ import annotations

import itertools
import os
import shutil
import stat
import time
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO
from collections.abc import Callable, Iterator

from joblib import Parallel, delayed
from joblib.externals.loky.process_executor import TerminatedWorkerError

from .._version import __version__
from ..analysis.metadata import MetaSources, check_table_paths, describe_sources
from ..analysis.records import CorpusAnalysis
from ..analysis.shares import Confusion, DocumentCounts, analyse_corpus, confusion_from_card
from ..errors import PlanthemeError
from ..readers.folder_scan import FoundFile, FolderScan, display_path, file_format, scan_folder
from ..model.persistence import file_sha256, load_card
from .progress import ProgressBar
from ..readers.record_files import RecordOptions
from .report_html import ReportWriter
from .run_lock import lock_output_folder
from .tag_cache import TagCache
from .tag_outputs import (
    DOCUMENTS_CSV,
    DOCUMENTS_XLSX,
    GROUPS_CSV,
    MANIFEST_JSON,
    REPORT_HTML,
    SENTENCES_CSV,
    SENTENCES_JSONL,
    new_generation,
    publish_generation,
    remove_stale_generations,
    write_documents_csv,
    write_groups_csv,
    write_manifest,
    write_sentences_csv_header,
)
from .tag_records import FAILED, TAGGED, DocumentOutcome, RunTotals
from .xlsx_output import write_documents_xlsx
from .document_jobs import (
    RECORD_KINDS,
    ClusterOptions,
    DocumentJob,
    OutputWriteError,
    WorkerConfig,
    WorkerResult,
    load_model_once,
    _write_error,
    outcomes_from_summary,
    records_variant,
    tag_file,
)
from ..themes import THEME_IDS

if TYPE_CHECKING:  # loaded in the process that tags (the main one only with one job)
    from .dask_workers import DaskWorkers

__all__ = [
    "TagOptions",
    "ClusterOptions",
    "TagRunResult",
    "OutputWriteError",
    "default_out_dir",
    "tag_folder",
    "CACHE_FOLDER",
]

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
    report_max_sentences: int = 250_000
    progress: bool = False
    follow_links: bool = False
    records: RecordOptions = field(default_factory=RecordOptions)
    wait: bool = False
    meta: MetaSources = field(default_factory=MetaSources)
    share_replicates: int = 1000
    share_seed: int = 0
    xlsx_max_sentences: int = 5_000

    @property
    def meta_fields(self) -> tuple[str, ...]:
        """The metadata columns of the outputs: the records' own fields, the patterns', the table's."""
        return self.meta.fields(self.records.meta_fields)

    cluster: ClusterOptions | None = None


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
class _Planned:
    """A file in path order: decided already (outcomes) or to be tagged (job).

    ``is_document`` is False for a file the scan passed over by its name
    (hidden, unsupported, not matched by ``--glob``): it has no row in
    documents.csv and does not count in the progress bar.
    """

    outcomes: tuple[DocumentOutcome, ...] = ()
    job: DocumentJob | None = None
    cache_key: str = ""
    is_document: bool = True


def default_out_dir(folder: Path) -> Path:
    """``DIR-tags`` beside ``DIR``."""
    folder = Path(folder).resolve()
    return folder.with_name(folder.name + "-tags")


# --- the main side ---------------------------------------------------------------


def _job(found: FoundFile) -> DocumentJob:
    return DocumentJob(
        path=found.path,
        absolute=str(found.absolute),
        size=found.size,
        raw=found.raw,
        kind=file_format(found.key_path) or "",
        path_hex=found.path_hex,
    )


def _plan(
    scan: FolderScan, cache: TagCache, model_id: str, low_confidence: float, records: RecordOptions
) -> list[_Planned]:
    """Decide each file's fate: already decided by the scan, reused from the cache, or to tag."""
    # Hashing only pays when there is a cache to find things in (not on a first run).
    use_cache = cache.has_entries()
    plan: list[_Planned] = []
    for found in scan.files:
        if found.status:
            plan.append(_Planned(outcomes=(_decided(found),), is_document=False))
            continue
        job = _job(found)
        if not use_cache:
            plan.append(_Planned(job=job))
            continue
        try:
            sha256 = file_sha256(found.absolute) if _is_regular(found.absolute) else ""
        except OSError as exc:
            plan.append(
                _Planned(
                    outcomes=(
                        DocumentOutcome(
                            path=found.path,
                            status=FAILED,
                            reason=f"cannot read: {exc.strerror or exc}",
                            format=job.kind,
                            bytes=found.size,
                            path_hex=found.path_hex,
                        ),
                    )
                )
            )
            continue
        variant = records_variant(job.kind, records) if job.kind in RECORD_KINDS else ""
        key = TagCache.key(sha256, found.key_path, model_id, low_confidence, variant)
        summary = cache.summary(key) if sha256 else None
        if summary is None:
            plan.append(_Planned(job=job))
        else:
            plan.append(_Planned(outcomes=outcomes_from_summary(job, sha256, summary, reused=True), cache_key=key))
    return plan


def _is_regular(path: Path) -> bool:
    # The cache lookup hashes the file: never open a FIFO or device swapped in since the scan.
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def _decided(found: FoundFile) -> DocumentOutcome:
    return DocumentOutcome(
        path=found.path,
        status=found.status,
        reason=found.reason,
        format=file_format(found.key_path) or "",
        bytes=found.size,
        path_hex=found.path_hex,
    )


class _Workers:
    """The worker processes of a run, stopped on any exit (see :meth:`stop`)."""

    def __init__(self, n_jobs: int) -> None:
        self.n_jobs = n_jobs
        self.started = False

    def size_for(self, count: int) -> None:
        """Use no more processes than there are files to tag (and at least one)."""
        self.n_jobs = max(1, min(self.n_jobs, count))

    def describe(self) -> dict[str, object]:
        """The manifest's account of the processes that tagged."""
        return {"jobs": self.n_jobs}

    def run(self, jobs: list[DocumentJob], config: WorkerConfig) -> Iterator[WorkerResult]:
        """Tag the jobs on ``n_jobs`` processes; yield the results in the order of ``jobs``.

        A worker process that dies (killed for memory, a crash in a parser)
        takes only its file down: the file awaited then is tagged again alone
        in a fresh process; if that dies too, the file is ``failed`` and the
        rest goes on in parallel.
        """
        if not jobs:
            return
        if self.n_jobs == 1:
            # In this process: no worker start-up, and the model cache serves later runs too.
            for job in jobs:
                yield tag_file(job, config)
            return
        self.started = True
        done = 0
        while done < len(jobs):
            try:
                for result in self._parallel(jobs[done:], config):
                    done += 1
                    yield result
                return
            except TerminatedWorkerError:
                pass
            job = jobs[done]
            try:
                (result,) = self._parallel([job], config)
            except TerminatedWorkerError:
                result = WorkerResult(
                    (
                        DocumentOutcome(
                            path=job.path,
                            status=FAILED,
                            format=job.kind,
                            bytes=job.size,
                            path_hex=job.path_hex,
                            reason="the worker process died while tagging this file (out of memory, or a crash"
                            " in a parser)",
                        ),
                    )
                )
            done += 1
            yield result

    def _parallel(self, jobs: list[DocumentJob], config: WorkerConfig) -> Iterator[WorkerResult]:
        # joblib groups documents into tasks of a few tenths of a second: one task
        # per document cost the main process a third more CPU (sending tasks,
        # receiving results), taken from the workers on a small machine.
        parallel = Parallel(n_jobs=self.n_jobs, return_as="generator", batch_size="auto")
        return iter(parallel(delayed(tag_file)(job, config) for job in jobs))

    def stop(self) -> None:
        """Kill the workers of an interrupted or failed run (they would go on tagging otherwise).

        joblib keeps its loky workers for reuse; after a finished run that is
        harmless (they are idle and exit with this process), after an
        interrupted one they may still hold tasks. joblib aborts its workers
        on an exception too; this makes sure before the temporary files go.
        """
        if not self.started:
            return
        from joblib.externals.loky import reusable_executor

        executor = getattr(reusable_executor, "_executor", None)
        if executor is not None:
            executor.shutdown(wait=True, kill_workers=True)


@dataclass
class _Collected:
    """What the main process keeps while documents stream past: small per-file records only."""

    outcomes: list[DocumentOutcome] = field(default_factory=list)
    documents: list[DocumentOutcome] = field(default_factory=list)
    totals: RunTotals = field(default_factory=RunTotals)
    used_keys: set[str] = field(default_factory=set)


def tag_folder(options: TagOptions, *, on_wait: Callable[[int | None], None] | None = None) -> TagRunResult:
    """Tag every document under ``options.folder`` and write the outputs to ``options.out_dir``.

    Failed files are named on stderr as they happen. Raises
    :class:`PlanthemeError` when the model cannot be loaded,
    :class:`~plantheme.tagging.run_lock.OutputLocked` when another run holds the
    output folder (``on_wait(pid)`` is called before waiting with
    ``options.wait``) and :class:`OutputWriteError` when the outputs cannot be
    written.
    """
    card = load_card(options.model_dir)
    out_dir = Path(options.out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        lock = lock_output_folder(out_dir, wait=options.wait, on_wait=on_wait)
    except OSError as exc:
        raise _write_error(out_dir, exc) from None
    with lock:
        cache = TagCache(out_dir / CACHE_FOLDER)
        workers = _worker_pool(options)
        try:
            # Left by a run that was killed: only one run holds the lock, so nothing else uses them.
            remove_stale_generations(out_dir)
            cache.remove_temporary()
            return _tag_locked(options, card.model_id, card.cv, out_dir, cache, workers)
        except OSError as exc:
            workers.stop()
            raise _write_error(out_dir, exc) from None
        except BaseException:
            # Interrupted or failed: no worker may go on tagging (or writing to the cache) after us.
            workers.stop()
            raise
        finally:
            try:
                cache.remove_temporary()
            except OSError:
                pass


def _worker_pool(options: TagOptions) -> _Workers | DaskWorkers:
    """Local worker processes, or a Dask cluster's workers when ``options.cluster`` names one."""
    if options.cluster is None:
        return _Workers(options.jobs)
    try:
        # Imported here: Dask is an optional extra, and a local run never loads it.
        from .dask_workers import DaskWorkers
    except ImportError as exc:
        raise PlanthemeError(
            f"{options.cluster.scheduler}: tagging on a Dask cluster needs Dask"
            f" ({exc}); install it with: pip install 'plantheme[dask]'"
        ) from None
    return DaskWorkers(options.cluster)


def _tag_locked(
    options: TagOptions,
    model_id: str,
    cv: dict[str, Any],
    out_dir: Path,
    cache: TagCache,
    workers: _Workers | DaskWorkers,
) -> TagRunResult:
    started_at = datetime.now(timezone.utc)
    t0 = time.perf_counter()
    scan = scan_folder(options.folder, out_dir=out_dir, pattern=options.pattern, follow_links=options.follow_links)
    _check_meta_files(options, scan)
    plan = _plan(scan, cache, model_id, options.low_confidence, options.records)
    jobs = [p.job for p in plan if p.job is not None]
    workers.size_for(len(jobs))
    config = WorkerConfig(
        model_dir=str(Path(options.model_dir).resolve()),
        model_id=model_id,
        low_confidence=options.low_confidence,
        max_document_chars=options.max_document_chars,
        cache_dir=str(cache.folder),
        records=options.records,
    )
    progress = ProgressBar(sum(p.is_document for p in plan), enabled=options.progress)
    for folder in scan.folders:
        if folder.status == FAILED:
            progress.say(f"plantheme: {folder.path}: failed: {folder.reason}")
    t_scanned = time.perf_counter()

    generation = new_generation(out_dir)
    try:
        with ExitStack() as stack:
            jsonl = stack.enter_context(open(generation / SENTENCES_JSONL, "xb"))
            csv_handle = stack.enter_context(open(generation / SENTENCES_CSV, "xb"))
            sections_path = generation / ".report-sections.tmp"
            sections = stack.enter_context(open(sections_path, "w+", encoding="utf-8"))
            write_sentences_csv_header(csv_handle)
            report = ReportWriter(sections, max_sentences=options.report_max_sentences)
            collected = _stream_documents(plan, workers.run(jobs, config), cache, jsonl, csv_handle, report, progress)
            t_tagged = time.perf_counter()
            sections.flush()
            _add_meta(collected, options)
            confusion = confusion_from_card(cv)
            analysis = _analyse(collected, options, confusion)
            t_analysed = time.perf_counter()
            write_documents_csv(generation / DOCUMENTS_CSV, collected.documents, options.meta_fields, analysis)
            write_groups_csv(generation / GROUPS_CSV, analysis)
            with open(
                generation / REPORT_HTML, "x", encoding="utf-8", newline="\n", errors="backslashreplace"
            ) as handle:
                report.write(
                    handle,
                    sections_path,
                    title=display_path(Path(options.folder).resolve().name)[0],
                    model_id=model_id,
                    totals=collected.totals,
                    outcomes=collected.outcomes,
                    folders=scan.folders,
                    analysis=analysis,
                    evidence=_example_evidence(report.example_texts(), options.model_dir, model_id),
                )
        sections_path.unlink()
        write_documents_xlsx(
            generation / DOCUMENTS_XLSX,
            outcomes=collected.documents,
            meta_fields=options.meta_fields,
            analysis=analysis,
            sentences_jsonl=generation / SENTENCES_JSONL,
            total_sentences=collected.totals.sentences,
            max_sentences=options.xlsx_max_sentences,
            about=[
                ("model", model_id),
                ("folder", display_path(str(Path(options.folder).resolve()))[0]),
                (
                    "shares",
                    "estimated true shares of content sentences with 95% bootstrap intervals;"
                    " see the README, Theme shares and their intervals",
                ),
                (
                    "confusions corrected with",
                    confusion.source if confusion is not None else "none: the model card has no confusion matrix",
                ),
            ],
        )
        t_written = time.perf_counter()
        seconds = time.perf_counter() - t0
        timings = {
            "started": started_at.isoformat(timespec="seconds"),
            "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "seconds": {
                "scan": round(t_scanned - t0, 3),
                "tagging": round(t_tagged - t_scanned, 3),
                "shares": round(t_analysed - t_tagged, 3),
                "writing": round(t_written - t_analysed, 3),
                "total": round(seconds, 3),
            },
            **_rates(collected.totals, seconds),
        }
        write_manifest(
            generation / MANIFEST_JSON,
            run=_describe_run(options, model_id, workers.describe()),
            totals=collected.totals,
            timings=timings,
            outcomes=collected.outcomes,
            folders=scan.folders,
            shares=_describe_shares(options, confusion),
        )
        publish_generation(out_dir, generation)
    except BaseException:
        shutil.rmtree(generation, ignore_errors=True)
        raise
    cache.prune(collected.used_keys)
    folders_failed = sum(folder.status == FAILED for folder in scan.folders)
    return TagRunResult(totals=collected.totals, out_dir=out_dir, seconds=seconds, folders_failed=folders_failed)


def _example_evidence(texts: list[str], model_dir: Path, model_id: str) -> dict[str, tuple[tuple[str, float], ...]]:
    """The evidence words of the report's example sentences (a few per theme): the words that
    pushed the sentence model to its theme, as ``plantheme predict`` prints them."""
    if not texts:
        return {}
    model = load_model_once(str(model_dir), model_id)
    predictions = model.predict(texts)
    return {text: tuple((e.token, e.weight) for e in p.evidence) for text, p in zip(texts, predictions)}


def _check_meta_files(options: TagOptions, scan: FolderScan) -> None:
    """Before tagging: every row of the metadata table names a file found (``FILE#ID``: a file of records)."""
    table = options.meta.table
    if table is None:
        return
    files = {found.path for found in scan.files}
    # A record's row is checked against its file now, against its id once the file is read.
    keys = files | {doc for doc in table.rows if doc.partition("#")[0] in files and "#" in doc}
    check_table_paths(table, keys, display_path(str(options.folder))[0])


def _add_meta(collected: _Collected, options: TagOptions) -> None:
    """Give every document its metadata from all sources; a table row naming no document is an error."""
    table = options.meta.table
    if table is not None:
        check_table_paths(table, {outcome.path for outcome in collected.outcomes}, display_path(str(options.folder))[0])
    if not options.meta.patterns and table is None:
        return
    merged = {
        id(outcome): replace(outcome, meta=options.meta.meta_for(outcome.path, outcome.meta))
        for outcome in collected.documents
    }
    collected.documents = [merged[id(outcome)] for outcome in collected.documents]
    collected.outcomes = [merged.get(id(outcome), outcome) for outcome in collected.outcomes]


def _analyse(collected: _Collected, options: TagOptions, confusion: Confusion | None) -> CorpusAnalysis:
    """Shares with intervals of the tagged documents and of their metadata groups."""
    tagged = [
        DocumentCounts(key=outcome.path, counts=tuple(outcome.counts.get(t, 0) for t in THEME_IDS), meta=outcome.meta)
        for outcome in collected.documents
        if outcome.status == TAGGED
    ]
    return analyse_corpus(
        tagged, options.meta_fields, confusion, replicates=options.share_replicates, seed=options.share_seed
    )


def _describe_shares(options: TagOptions, confusion: Confusion | None) -> dict[str, Any]:
    """The manifest's account of the shares: what ``plantheme compare`` needs to re-estimate them."""
    return {
        "method": "maximum-likelihood true shares given the confusion matrix (EM); 95% percentile"
        " bootstrap over documents (one document: its sentences) and the confusion matrix",
        "confusion_source": confusion.source
        if confusion is not None
        else "none: the model card has no confusion matrix, so shares are not corrected",
        "confusion": [list(row) for row in confusion.counts] if confusion is not None else None,
        "replicates": options.share_replicates,
        "seed": options.share_seed,
        "meta_fields": list(options.meta_fields),
        "meta_sources": describe_sources(options.meta),
    }


def _stream_documents(
    plan: list[_Planned],
    results: Iterator[WorkerResult],
    cache: TagCache,
    jsonl: BinaryIO,
    csv_handle: BinaryIO,
    report: ReportWriter,
    progress: ProgressBar,
) -> _Collected:
    """Take every file's outcomes in path order and append their sentences to the outputs."""
    collected = _Collected()
    for planned in plan:
        outcomes, key = _next_outcomes(planned, results)
        copied = False
        if key and any(outcome.status == TAGGED for outcome in outcomes):
            try:
                cache.copy_sentences(key, jsonl, csv_handle)
                copied = True
            except (FileNotFoundError, ValueError, KeyError):
                # The entry went away (deleted by hand) before its bytes were copied: nothing was written.
                outcomes = tuple(
                    replace(
                        o,
                        status=FAILED,
                        reason="its cache entry disappeared during the run; run again",
                        sentences=0,
                        reused=False,
                    )
                    if o.status == TAGGED
                    else o
                    for o in outcomes
                )
        tagged = [outcome for outcome in outcomes if outcome.status == TAGGED]
        for outcome in outcomes:
            collected.outcomes.append(outcome)
            collected.totals.add(outcome)
            if planned.is_document:
                collected.documents.append(outcome)
            if outcome.status == FAILED:
                progress.say(f"plantheme: {outcome.path}: failed: {outcome.reason}")
        if planned.is_document:
            progress.advance(
                sentences=sum(o.sentences for o in tagged),
                reused=any(o.reused for o in tagged),
                failed=any(o.status == FAILED for o in outcomes),
            )
        if copied:
            collected.used_keys.add(key)
            if len(outcomes) == 1:
                # Lazy: the report reads only the sentences it still has room for.
                report.add_document(tagged[0], cache.sentences(key))
            else:
                _report_records(report, tagged, cache.sentences(key))
    progress.clear()
    return collected


def _report_records(report: ReportWriter, tagged: list[DocumentOutcome], sentences: Iterator[Any]) -> None:
    """Report sections of the tagged records of one file, whose sentences follow each other in the entry."""
    for outcome in tagged:
        if report.room:
            part = list(itertools.islice(sentences, outcome.sentences))
        else:
            part = []  # the report is full: the rest need not be parsed
        report.add_document(outcome, part)


def _rates(totals: RunTotals, seconds: float) -> dict[str, float | None]:
    if not seconds:
        return {"documents_per_second": None, "sentences_per_second": None, "megabytes_per_second": None}
    return {
        "documents_per_second": round(totals.tagged / seconds, 2),
        "sentences_per_second": round(totals.sentences / seconds, 1),
        "megabytes_per_second": round(totals.bytes_tagged / 1e6 / seconds, 3),
    }


def _describe_run(options: TagOptions, model_id: str, workers: dict[str, object]) -> dict[str, object]:
    """The manifest's description of the run: folders, model, settings, processes."""
    records = options.records
    return {
        "plantheme_version": __version__,
        "folder": display_path(str(Path(options.folder).resolve()))[0],
        "output": display_path(str(Path(options.out_dir).resolve()))[0],
        "glob": options.pattern,
        "model": {"id": model_id, "dir": display_path(str(Path(options.model_dir).resolve()))[0]},
        "settings": {
            "low_confidence": options.low_confidence,
            "max_document_chars": options.max_document_chars,
            "report_max_sentences": options.report_max_sentences,
            "follow_links": options.follow_links,
            "text_field": records.text_field,
            "id_field": records.id_field,
            "meta_fields": list(records.meta_fields),
        },
        **workers,
    }


def _next_outcomes(planned: _Planned, results: Iterator[WorkerResult]) -> tuple[tuple[DocumentOutcome, ...], str]:
    """A planned file's outcomes and cache key: decided already, or the next worker result."""
    if planned.job is None:
        return planned.outcomes, planned.cache_key
    result = next(results)
    return result.outcomes, result.cache_key
