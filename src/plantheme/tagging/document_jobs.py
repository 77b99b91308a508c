"""What a worker does with one file: read it, tag it, store its sentences in the cache.

The same for every kind of worker (:mod:`plantheme.tagging.corpus_tagging`'s local
processes, or a Dask cluster's, :mod:`plantheme.tagging.dask_workers`): the jobs,
their configuration and results are plain frozen dataclasses that pickle, and
:func:`tag_file` is the one entry point, so a run's outputs never depend on where
its documents were tagged.
"""

from __future__ import annotations

import hashlib
import os
import stat
import time
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any


from ..readers.documents import UnreadableDocument, extract_text
from ..errors import PlanthemeError
from ..readers.folder_scan import NOT_REGULAR, display_path
from ..model.persistence import file_sha256, load_card, load_compiled, load_model
from ..readers.record_files import RecordOptions, read_records
from .tag_cache import CachedSummary, TagCache
from .tag_outputs import (
    render_sentences,
)
from .tag_records import FAILED, SKIPPED, TAGGED, DocumentOutcome
from .tagging import GARBLED, LOW_CONFIDENCE, tag_text

if TYPE_CHECKING:  # loaded in the process that tags (the main one only with one job)
    from ..model.model import ThemeModel
    from ..model.scoring import CompiledModel

__all__ = [
    "ClusterOptions",
    "DocumentJob",
    "OutputWriteError",
    "RECORD_KINDS",
    "WorkerConfig",
    "WorkerResult",
    "outcomes_from_summary",
    "parse_scheduler",
    "records_variant",
    "read_document_bytes",
    "tag_file",
]

# Files of records: tagged record by record, in one task (plantheme.readers.record_files).
RECORD_KINDS = ("jsonl", "csv")


class OutputWriteError(PlanthemeError):
    """The output folder (or its cache) cannot be written: disk full, read-only, no permission."""


def _write_error(where: Path | str, exc: OSError) -> OutputWriteError:
    name = display_path(str(exc.filename))[0] if exc.filename else str(where)
    return OutputWriteError(f"{name}: cannot write the outputs: {exc.strerror or exc}")


@dataclass(frozen=True)
class ClusterOptions:
    """Where and how to tag on a Dask cluster instead of local processes (:mod:`.dask_workers`).

    ``scheduler`` is ``tcp://HOST:PORT`` (a running ``dask scheduler``) or
    ``local:N`` (a LocalCluster of N one-thread worker processes started for the run).
    """

    scheduler: str
    batch_bytes: int = 262_144
    connect_timeout_s: float = 30.0


def parse_scheduler(value: str) -> tuple[str, int | None]:
    """``("tcp://HOST:PORT", None)`` or ``("local", N)``; ValueError naming what is wrong."""
    if value.startswith("local:"):
        count = value[len("local:") :]
        if not (count.isascii() and count.isdigit()) or int(count) < 1:
            raise ValueError(f"{value}: give local:N with N worker processes, at least 1")
        return "local", int(count)
    if value.startswith("tcp://"):
        host, _, port = value[len("tcp://") :].rpartition(":")
        if not host or not (port.isascii() and port.isdigit()) or not 0 < int(port) < 65536:
            raise ValueError(f"{value}: give the scheduler as tcp://HOST:PORT")
        return value, None
    raise ValueError(f"{value}: give tcp://HOST:PORT (a running dask scheduler) or local:N")


@dataclass(frozen=True)
class WorkerConfig:
    """What a worker needs besides the file: the model, the threshold, the limits, the cache."""

    model_dir: str
    model_id: str
    low_confidence: float
    max_document_chars: int
    cache_dir: str
    records: RecordOptions = field(default_factory=RecordOptions)


@dataclass(frozen=True)
class DocumentJob:
    """One file for a worker to read and tag.

    ``path`` is readable text for the outputs, ``raw`` the relative path as the
    file system has it (for the cache key), ``kind`` the format read.
    """

    path: str
    absolute: str
    size: int
    raw: str = ""
    kind: str = ""
    path_hex: str = ""


@dataclass(frozen=True)
class WorkerResult:
    """A worker's outcomes for one file (one per record for a file of records) and,
    if anything was tagged, the cache entry holding the sentences."""

    outcomes: tuple[DocumentOutcome, ...]
    cache_key: str = ""


@lru_cache(maxsize=1)
def load_model_once(model_dir: str, model_id: str) -> ThemeModel | CompiledModel:
    """The model, loaded once per process (each worker, or the main process with one job).

    Its arrays when the folder has them: loading them imports no scikit-learn,
    about a second less per process. Word and union models load whole.
    """
    compiled = load_compiled(Path(model_dir))
    model: ThemeModel | CompiledModel
    if compiled is not None:
        model, card = compiled
    else:
        card = load_card(Path(model_dir))
        if card.params.get("features") == "char":
            # A character n-gram model always has its arrays: a card without their checksum
            # was altered (or predates them). No silent fallback to unpickling.
            raise PlanthemeError(
                f"{Path(model_dir) / 'model.json'}: a character n-gram model without"
                " the checksum of model.npz; retrain it with `plantheme train`"
            )
        model, card = load_model(Path(model_dir))
    if card.model_id != model_id:
        raise PlanthemeError(
            f"{model_dir}: the model changed during the run ({model_id} → {card.model_id}); run the command again"
        )
    return model


def _read_regular_file(path: Path, kind: str, max_chars: int) -> bytes:
    """The bytes of a regular file; never waits on a FIFO or reads a device.

    A text or HTML file larger than ``4 * max_chars`` bytes fails before it is read.
    """
    try:
        # O_NONBLOCK: opening a FIFO swapped in since the scan returns at once.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise UnreadableDocument(FAILED, f"cannot read: {exc.strerror or exc}") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UnreadableDocument(SKIPPED, NOT_REGULAR)
        if kind in ("text", "html") and info.st_size > 4 * max_chars:
            raise UnreadableDocument(
                FAILED,
                f"too large: {info.st_size:,} bytes; the limit is {max_chars:,}"
                " characters (PLANTHEME_MAX_DOCUMENT_CHARS)",
            )
        try:
            return handle.read()
        except OSError as exc:
            raise UnreadableDocument(FAILED, f"cannot read: {exc.strerror or exc}") from None


def read_document_bytes(job: DocumentJob, max_chars: int) -> bytes:
    """The bytes of a job's file, read as a worker reads it (for a pool that ships bytes to its workers).

    Raises :class:`UnreadableDocument` with the reason a local worker would give.
    """
    return _read_regular_file(Path(job.absolute), job.kind, max_chars)


def _check_regular_file(path: Path) -> None:
    try:
        info = os.stat(path)
    except OSError as exc:
        raise UnreadableDocument(FAILED, f"cannot read: {exc.strerror or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        raise UnreadableDocument(SKIPPED, NOT_REGULAR)


def _unexpected(exc: BaseException) -> str:
    return f"unexpected error ({type(exc).__name__}: {exc})"


def tag_file(job: DocumentJob, config: WorkerConfig) -> WorkerResult:
    """Read, decode and tag one file; store its sentences in the cache; return its outcomes.

    Any problem with the file becomes a ``failed`` (or ``skipped``) outcome
    naming the reason, so that one bad file never stops the others. Only what
    stops every file raises: a model that cannot be loaded
    (:class:`PlanthemeError`), a cache that cannot be written
    (:class:`OutputWriteError`).
    """
    started = time.perf_counter()
    try:
        if job.kind in RECORD_KINDS:
            return _tag_records(job, config, started)
        return _tag_document(job, config, started)
    except PlanthemeError:
        raise
    except Exception as exc:  # a defect on one pathological file must not stop the run
        return WorkerResult(
            (
                DocumentOutcome(
                    path=job.path,
                    status=FAILED,
                    reason=_unexpected(exc),
                    format=job.kind,
                    bytes=job.size,
                    seconds=time.perf_counter() - started,
                    path_hex=job.path_hex,
                ),
            )
        )


def _tag_document(job: DocumentJob, config: WorkerConfig, started: float) -> WorkerResult:
    kind = job.kind
    sha256 = ""
    try:
        data = _read_regular_file(Path(job.absolute), kind, config.max_document_chars)
        # The key is the hash of the bytes actually tagged, even if the file changed since the scan.
        sha256 = hashlib.sha256(data).hexdigest()
        document = extract_text(data, kind, max_chars=config.max_document_chars)
        del data
    except UnreadableDocument as problem:
        return WorkerResult(
            (
                DocumentOutcome(
                    path=job.path,
                    status=problem.status,
                    reason=problem.reason,
                    format=kind,
                    bytes=job.size,
                    sha256=sha256,
                    seconds=time.perf_counter() - started,
                    path_hex=job.path_hex,
                ),
            )
        )
    except Exception as exc:  # parsers raise many types on damaged files
        return WorkerResult(
            (
                DocumentOutcome(
                    path=job.path,
                    status=FAILED,
                    reason=f"cannot extract the text ({type(exc).__name__}: {exc})",
                    format=kind,
                    bytes=job.size,
                    sha256=sha256,
                    seconds=time.perf_counter() - started,
                    path_hex=job.path_hex,
                ),
            )
        )
    model = load_model_once(config.model_dir, config.model_id)
    try:
        # Evidence is for explaining single predictions; the folder outputs do not carry it.
        tagged = tag_text(model, document.text, low_confidence=config.low_confidence, details=False)
        rendered = render_sentences(job.path, tagged.sentences)
    except Exception as exc:  # a defect on one pathological text must not stop the run
        return WorkerResult(
            (
                DocumentOutcome(
                    path=job.path,
                    status=FAILED,
                    reason=f"tagging failed ({type(exc).__name__}: {exc})",
                    format=kind,
                    encoding=document.encoding,
                    bytes=job.size,
                    sha256=sha256,
                    seconds=time.perf_counter() - started,
                    path_hex=job.path_hex,
                ),
            )
        )
    sentences = tagged.sentences
    summary = CachedSummary(
        format=kind,
        encoding=document.encoding,
        sentences=len(sentences),
        counts=dict(tagged.counts),
        dominant=tagged.dominant or "",
        garbled=sum(GARBLED in s.flags for s in sentences),
        low_confidence=sum(LOW_CONFIDENCE in s.flags for s in sentences),
        boilerplate=tagged.boilerplate,
    )
    key = TagCache.key(sha256, job.raw or job.path, config.model_id, config.low_confidence)
    # Rendered and stored here, in parallel, so that the main process only copies bytes.
    cache = TagCache(Path(config.cache_dir))
    try:
        cache.write(key, summary, rendered)
    except OSError as exc:
        raise _write_error(cache.folder, exc) from None
    outcomes = outcomes_from_summary(job, sha256, summary, reused=False, seconds=time.perf_counter() - started)
    return WorkerResult(outcomes, key)


def records_variant(kind: str, records: RecordOptions) -> str:
    return f"{kind}|{records.describe()}"


def _tag_records(job: DocumentJob, config: WorkerConfig, started: float) -> WorkerResult:
    """Tag a file of records, each record a document ``FILE#ID``; one cache entry for the file."""
    path = Path(job.absolute)
    try:
        _check_regular_file(path)
        sha256 = file_sha256(path)
    except UnreadableDocument as problem:
        return WorkerResult(
            (
                DocumentOutcome(
                    path=job.path,
                    status=problem.status,
                    reason=problem.reason,
                    format=job.kind,
                    bytes=job.size,
                    path_hex=job.path_hex,
                ),
            )
        )
    except OSError as exc:
        return WorkerResult(
            (
                DocumentOutcome(
                    path=job.path,
                    status=FAILED,
                    format=job.kind,
                    bytes=job.size,
                    reason=f"cannot read: {exc.strerror or exc}",
                    path_hex=job.path_hex,
                ),
            )
        )
    cache = TagCache(Path(config.cache_dir))
    try:
        writer = cache.writer()
    except OSError as exc:
        raise _write_error(cache.folder, exc) from None
    entries: list[dict[str, Any]] = []
    try:
        records = read_records(path, job.kind, config.records, max_chars=config.max_document_chars)
        model = load_model_once(config.model_dir, config.model_id)
        for record in records:
            doc = f"{job.path}#{record.id}"
            entry: dict[str, Any] = {
                "doc": doc,
                "status": record.status,
                "reason": record.reason,
                "meta": record.meta,
                "sentences": 0,
            }
            if not record.status:
                try:
                    tagged = tag_text(model, record.text, low_confidence=config.low_confidence, details=False)
                    writer.add(render_sentences(doc, tagged.sentences))
                except OSError as exc:  # the cache folder, not the record
                    raise _write_error(cache.folder, exc) from None
                except Exception as exc:  # one record's defect must not stop the others
                    entry.update(
                        status=FAILED, reason=f"line {record.line}: tagging failed ({type(exc).__name__}: {exc})"
                    )
                else:
                    sentences = tagged.sentences
                    entry.update(
                        status=TAGGED,
                        sentences=len(sentences),
                        counts=dict(tagged.counts),
                        dominant=tagged.dominant or "",
                        garbled=sum(GARBLED in s.flags for s in sentences),
                        low_confidence=sum(LOW_CONFIDENCE in s.flags for s in sentences),
                        boilerplate=tagged.boilerplate,
                    )
            entries.append(entry)
    except UnreadableDocument as problem:
        writer.discard()
        return WorkerResult(
            (
                DocumentOutcome(
                    path=job.path,
                    status=problem.status,
                    reason=problem.reason,
                    format=job.kind,
                    bytes=job.size,
                    sha256=sha256,
                    path_hex=job.path_hex,
                ),
            )
        )
    except OSError as exc:
        writer.discard()
        return WorkerResult(
            (
                DocumentOutcome(
                    path=job.path,
                    status=FAILED,
                    format=job.kind,
                    bytes=job.size,
                    sha256=sha256,
                    reason=f"cannot read: {exc.strerror or exc}",
                    path_hex=job.path_hex,
                ),
            )
        )
    except BaseException:
        writer.discard()
        raise
    summary = CachedSummary(
        format=job.kind,
        encoding="utf-8",
        sentences=sum(e["sentences"] for e in entries),
        counts={},
        dominant="",
        garbled=0,
        low_confidence=0,
        records=entries,
    )
    key = TagCache.key(
        sha256, job.raw or job.path, config.model_id, config.low_confidence, records_variant(job.kind, config.records)
    )
    try:
        summary = writer.finish(key, summary)
    except OSError as exc:
        raise _write_error(cache.folder, exc) from None
    outcomes = outcomes_from_summary(job, sha256, summary, reused=False, seconds=time.perf_counter() - started)
    return WorkerResult(outcomes, key)


def _counts_of(entry: dict[str, Any]) -> dict[str, Any]:
    """The ``counts`` argument of a record's outcome: only a tagged record has counts."""
    return {"counts": dict(entry["counts"])} if "counts" in entry else {}


def outcomes_from_summary(
    job: DocumentJob, sha256: str, summary: CachedSummary, *, reused: bool, seconds: float = 0.0
) -> tuple[DocumentOutcome, ...]:
    """The outcomes a cache entry stands for: one document, or one per record of a file of records."""
    if summary.records is None:
        return (
            DocumentOutcome(
                path=job.path,
                status=TAGGED,
                format=summary.format,
                encoding=summary.encoding,
                bytes=job.size,
                sha256=sha256,
                sentences=summary.sentences,
                counts=dict(summary.counts),
                dominant=summary.dominant,
                garbled=summary.garbled,
                low_confidence=summary.low_confidence,
                boilerplate=summary.boilerplate,
                reused=reused,
                seconds=seconds,
                path_hex=job.path_hex,
            ),
        )
    outcomes = []
    for entry in summary.records:
        status = entry["status"]
        outcomes.append(
            DocumentOutcome(
                path=entry["doc"],
                status=status,
                reason=entry.get("reason", ""),
                format=summary.format,
                encoding=summary.encoding if status == TAGGED else "",
                sha256=sha256 if status == TAGGED else "",
                sentences=entry.get("sentences", 0),
                **_counts_of(entry),
                dominant=entry.get("dominant", ""),
                garbled=entry.get("garbled", 0),
                low_confidence=entry.get("low_confidence", 0),
                boilerplate=entry.get("boilerplate", 0),
                reused=reused and status == TAGGED,
                meta=dict(entry.get("meta") or {}),
                path_hex=job.path_hex,
            )
        )
    # The file's time and bytes are counted once, on its first record.
    if outcomes:
        outcomes[0] = DocumentOutcome(**{**asdict(outcomes[0]), "seconds": seconds, "bytes": job.size})
    else:
        outcomes.append(
            DocumentOutcome(
                path=job.path,
                status=SKIPPED,
                reason="no records",
                format=summary.format,
                bytes=job.size,
                path_hex=job.path_hex,
            )
        )
    return tuple(outcomes)
