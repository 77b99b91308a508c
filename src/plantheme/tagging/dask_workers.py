"""The workers of ``plantheme tag --scheduler``: documents tagged on a Dask cluster.

This is another worker pool behind the interface of the local one
(:class:`~plantheme.tagging.corpus_tagging._Workers`: ``run`` yields one
:class:`~plantheme.tagging.document_jobs.WorkerResult` per job in the order of
the jobs, ``stop`` ends everything), so the planning, the cache, the order of
the outputs and the writers are those of a local run, and so are the outputs.

How the work travels:

- **The client reads the files and sends their bytes**; workers need no view
  of the input folder (no shared file system, no credentials). The client reads
  a file only when its batch is submitted, and keeps a bounded number of batches
  in flight, so its memory does not grow with the corpus. The price is that the
  client's disk and network carry every byte in (and the sentences out); see the
  README for what that means at scale.
- **A task is a batch of documents** of about ``ClusterOptions.batch_bytes``:
  a task's round trip through the scheduler costs milliseconds, and at the 2–3 MB
  of text per CPU second measured for ``plantheme tag`` (README, Speed) the default
  quarter megabyte is about a tenth of a second of work.
- **The model goes to each worker once**, as a worker plugin holding the model
  folder's files and their sha256, checked on arrival; a worker that joins later
  (a replacement for a dead one) gets it from the scheduler the same way. The
  worker runs the very same :func:`~plantheme.tagging.document_jobs.tag_file` as a
  local worker, on a scratch copy of the bytes, and returns the cache entry it
  wrote; **the client stores the entry in its own cache** as the result arrives
  (whatever the order), so an interrupted run resumes like a local one.

Failures: a worker that dies has its tasks re-run elsewhere by the scheduler;
each result is taken once, by job, so nothing is lost or written twice. A batch
whose task keeps killing workers (Dask's ``KilledWorker``) or fails as a whole is
tried again document by document, and a document that still fails is a
``failed`` entry, as locally. A document that fails on a worker is a ``failed``
entry from :func:`tag_file` itself. The scheduler going away ends the run with
a :class:`~plantheme.errors.PlanthemeError`; what finished is in the cache.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from concurrent.futures import CancelledError
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import dask
from distributed import Client, LocalCluster, as_completed, get_worker
from distributed.diagnostics.plugin import WorkerPlugin
from distributed.scheduler import KilledWorker

from ..errors import PlanthemeError
from ..model.persistence import file_sha256
from ..readers.documents import UnreadableDocument
from .document_jobs import (
    ClusterOptions,
    DocumentJob,
    WorkerConfig,
    WorkerResult,
    parse_scheduler,
    read_document_bytes,
    tag_file,
)
from .tag_cache import TagCache
from .tag_records import FAILED, DocumentOutcome

__all__ = ["DaskWorkers", "ModelShipment", "ShippedDocument", "TaggedOnWorker", "tag_batch"]

# Batches in flight per worker thread: one running, one waiting on the worker so it never idles.
TASKS_PER_THREAD = 2
# Loggers of this process quiet during a run, which reports every failure in a line of its own:
# the client logs its failed reconnection as an error, and a connection that drops while the
# client writes to it logs a traceback (distributed.batched, under "distributed"). The client's
# logger has a level of its own in Dask's logging configuration, so it is named too.
_QUIET_LOGGERS = ("distributed", "distributed.client")
# Results taken between two looks at the cluster's size.
WINDOW_REFRESH = 16
# A result lost with its worker before the client fetched it is asked for again this many times.
# Generous: the worker may have died of another document (one that kills every worker it meets
# takes others' finished results down with it up to four times, Dask's allowed-failures + 1).
MAX_RESUBMISSIONS = 10
DIED = "the worker process died while tagging this file (out of memory, or a crash in a parser)"


@dataclass(frozen=True)
class ShippedDocument:
    """One file's job and its bytes, as the client sends them to a worker."""

    job: DocumentJob
    data: bytes


@dataclass(frozen=True)
class TaggedOnWorker:
    """A worker's result for one file and, when something was tagged, its whole cache entry."""

    result: WorkerResult
    entry: bytes = b""


# --- the worker side -------------------------------------------------------------


class ModelShipment(WorkerPlugin):
    """The model folder's files, sent once to every worker of the cluster and checked there.

    ``setup`` runs on each worker (and on workers that join later): it writes
    the files into the worker's local directory after checking each one's
    sha256 against the digest the client computed, then forgets the bytes.
    """

    def __init__(self, model_id: str, files: dict[str, bytes]) -> None:
        self.model_id = model_id
        self.files = files
        self.digests = {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}
        self.root = ""

    def setup(self, worker: Any) -> None:
        root = Path(tempfile.mkdtemp(prefix="plantheme-", dir=worker.local_directory))
        (root / "model").mkdir()
        (root / "scratch").mkdir()
        for name, data in self.files.items():
            path = root / "model" / name
            path.write_bytes(data)
            if file_sha256(path) != self.digests[name]:
                shutil.rmtree(root, ignore_errors=True)
                raise PlanthemeError(f"{name}: the model file arrived damaged on worker {worker.address}")
        self.files = {}
        self.root = str(root)

    def teardown(self, worker: Any) -> None:
        if self.root:
            shutil.rmtree(self.root, ignore_errors=True)


def tag_batch(documents: tuple[ShippedDocument, ...], config: WorkerConfig, plugin: str) -> tuple[TaggedOnWorker, ...]:
    """Tag a batch of shipped documents on a Dask worker (the task function).

    Each file is written to the worker's scratch folder and tagged by
    :func:`tag_file`, exactly as a local worker tags it; its cache entry is
    read back and returned, and both scratch files are removed.
    """
    shipment = get_worker().plugins.get(plugin)
    if not isinstance(shipment, ModelShipment) or not shipment.root:
        raise PlanthemeError(f"the model {config.model_id} was not shipped to this worker")
    root = Path(shipment.root)
    scratch = root / "scratch"
    local = replace(config, model_dir=str(root / "model"), cache_dir=str(scratch))
    return tuple(_tag_shipped(document, local, scratch) for document in documents)


def _tag_shipped(document: ShippedDocument, config: WorkerConfig, scratch: Path) -> TaggedOnWorker:
    try:
        return _tag_on_worker(document, config, scratch)
    except PlanthemeError as exc:
        raise PlanthemeError(str(exc)) from None  # stops the run: sent as a bare message
    except Exception as exc:
        # Caught here rather than left to Dask: an exception that cannot be sent back
        # (unpicklable, or a deep RecursionError) leaves the client's future waiting forever.
        job = document.job
        return TaggedOnWorker(
            WorkerResult(
                (
                    DocumentOutcome(
                        path=job.path,
                        status=FAILED,
                        reason=f"unexpected error on a Dask worker ({type(exc).__name__}: {exc})",
                        format=job.kind,
                        bytes=job.size,
                        path_hex=job.path_hex,
                    ),
                )
            )
        )


def _tag_on_worker(document: ShippedDocument, config: WorkerConfig, scratch: Path) -> TaggedOnWorker:
    handle, name = tempfile.mkstemp(dir=scratch, prefix=".input-")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(document.data)
        result = tag_file(replace(document.job, absolute=name), config)
    finally:
        os.unlink(name)
    if not result.cache_key:
        return TaggedOnWorker(result)
    cache = TagCache(scratch)
    try:
        entry = cache.entry_bytes(result.cache_key)
    finally:
        cache.prune(set())
    return TaggedOnWorker(result, entry)


# --- the client side ---------------------------------------------------------------


class DaskWorkers:
    """The workers of a Dask cluster as the pool of a ``plantheme tag`` run."""

    def __init__(self, options: ClusterOptions) -> None:
        self.options = options
        self.address, self.local_workers = parse_scheduler(options.scheduler)
        self.client: Client | None = None
        self.cluster: LocalCluster | None = None
        self.dispatch: _Dispatch | None = None
        self._log_levels: dict[str, int] = {}
        self.plugin = ""

    def size_for(self, count: int) -> None:
        """Nothing to size: the cluster has the workers it has."""

    def describe(self) -> dict[str, object]:
        """The manifest's account of the cluster: the most worker threads and processes it had, its scheduler."""
        threads, workers = (self.dispatch.threads, self.dispatch.workers) if self.dispatch else (0, 0)
        return {"jobs": threads, "scheduler": self.options.scheduler, "dask_workers": workers}

    def run(self, jobs: list[DocumentJob], config: WorkerConfig) -> Iterator[WorkerResult]:
        """Tag the jobs on the cluster; yield the results in the order of ``jobs``.

        Results are stored in the run's cache as they arrive, whatever their
        order, and handed on in job order.
        """
        if not jobs:
            return
        try:
            client = self._connect()
            plugin = f"plantheme-model-{config.model_id}-{secrets.token_hex(4)}"
            shipment = ModelShipment(config.model_id, _model_files(Path(config.model_dir)))
            client.register_plugin(shipment, name=plugin)
            self.plugin = plugin
            self.dispatch = _Dispatch(client, jobs, config, plugin, self.options)
            yield from self.dispatch.results()
        finally:
            self.stop()

    def _connect(self) -> Client:
        timeout = self.options.connect_timeout_s
        for name in _QUIET_LOGGERS:
            log = logging.getLogger(name)
            self._log_levels.setdefault(name, log.level)
            log.setLevel(logging.CRITICAL)
        if self.local_workers is not None:
            # One thread per process: tagging is Python code that holds the GIL.
            # Its scheduler runs in this process: its warnings (a worker restarted) would
            # interleave with the run's own lines, which already name every failed file.
            self.cluster = LocalCluster(
                n_workers=self.local_workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=logging.CRITICAL,
            )
            self.client = Client(self.cluster)
        else:
            try:
                with dask.config.set({"distributed.comm.timeouts.connect": f"{timeout}s"}):
                    self.client = Client(self.address, timeout=timeout)
            except OSError as exc:
                raise PlanthemeError(f"{self.address}: cannot reach the Dask scheduler ({exc})") from None
        try:
            self.client.wait_for_workers(1, timeout=timeout)
        except TimeoutError:
            raise PlanthemeError(
                f"{self.options.scheduler}: no Dask worker joined the scheduler within {timeout:g} s"
            ) from None
        return self.client

    def stop(self) -> None:
        """Close the connection (its running tasks are released) and a LocalCluster started for the run."""
        client, cluster = self.client, self.cluster
        self.client = self.cluster = None
        if client is not None:
            if self.plugin and client.status == "running":
                try:  # the workers remove their copy of the model (a finished run's scheduler keeps none)
                    client.unregister_worker_plugin(self.plugin)
                except Exception:  # the scheduler went away meanwhile: nothing is left to clean
                    pass
            client.close()
        if cluster is not None:
            cluster.close()
        for name, level in self._log_levels.items():
            logging.getLogger(name).setLevel(level)
        self._log_levels.clear()


def _model_files(model_dir: Path) -> dict[str, bytes]:
    """Every file of the model folder (card, arrays, pickle), by name."""
    return {path.name: path.read_bytes() for path in sorted(model_dir.iterdir()) if path.is_file()}


class _Dispatch:
    """One run's tasks: batches submitted within a window, results stored and put back in job order."""

    def __init__(
        self, client: Client, jobs: list[DocumentJob], config: WorkerConfig, plugin: str, options: ClusterOptions
    ) -> None:
        self.client = client
        self.jobs = jobs
        self.config = config
        self.remote = replace(config, model_dir="", cache_dir="")  # the worker fills in its own folders
        self.plugin = plugin
        self.options = options
        self.window = 0
        self.threads = self.workers = 0
        self.taken = 0
        self.cache = TagCache(Path(config.cache_dir))
        self.done: dict[int, WorkerResult] = {}
        self.stored = 0
        self.tries: dict[int, int] = {}
        self.pending: dict[Any, tuple[int, ...]] = {}
        self.tasks = as_completed()

    def results(self) -> Iterator[WorkerResult]:
        """Every job's result in job order, as soon as it and all before it are in."""
        batches = iter(_batches(self.jobs, self.options.batch_bytes))
        following = 0
        self._size_window()
        while following < len(self.jobs):
            if following in self.done:
                yield self.done.pop(following)
                following += 1
                continue
            # Top up the window; batches whose files were all decided here submit nothing.
            while len(self.pending) < self.window:
                batch = next(batches, None)
                if batch is None:
                    break
                self._submit(batch)
            if following in self.done:
                continue
            if not self.pending:
                raise RuntimeError(f"job {following} was never submitted")  # a defect, not a file's fault
            future = next(self.tasks)
            self._take(future, self.pending.pop(future))
            self.taken += 1
            if self.taken % WINDOW_REFRESH == 0:
                self._size_window()

    def _size_window(self) -> None:
        """Batches in flight for the workers there are now (an adaptive cluster grows and shrinks)."""
        try:
            nthreads = self.client.nthreads()
        except (OSError, CancelledError):
            return  # the scheduler is away: the next result says whether it comes back
        threads = sum(nthreads.values())
        self.window = TASKS_PER_THREAD * max(1, threads)
        self.threads, self.workers = max(self.threads, threads), max(self.workers, len(nthreads))

    def _submit(self, indices: tuple[int, ...]) -> None:
        shipped = []
        for index in indices:
            job = self.jobs[index]
            try:
                shipped.append((index, ShippedDocument(job, read_document_bytes(job, self.config.max_document_chars))))
            except UnreadableDocument as problem:
                self.done[index] = WorkerResult(
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
        if not shipped:
            return
        future = self.client.submit(tag_batch, tuple(doc for _, doc in shipped), self.remote, self.plugin, pure=False)
        self.pending[future] = tuple(index for index, _ in shipped)
        self.tasks.add(future)

    def _take(self, future: Any, indices: tuple[int, ...]) -> None:
        """Store a finished task's results, or decide what its failure means."""
        try:
            status = future.status
            if status == "finished":
                tagged = future.result()
            elif status == "error":
                exc = future.exception()
            elif self.client.status == "running":  # lost with its worker (or cancelled): run it again
                self._again(indices)
                return
            else:  # the client lost the scheduler and gave up reconnecting
                raise self._scheduler_gone()
        except (OSError, CancelledError):
            # The result went away before it was fetched: with its worker, or with the scheduler.
            if self.client.status != "running":
                raise self._scheduler_gone() from None
            self._again(indices)
            return
        if status == "finished":
            for index, result in zip(indices, tagged):
                self._store(index, result)
            return
        if isinstance(exc, PlanthemeError):
            raise PlanthemeError(str(exc)) from None  # what stops a local run (the model) stops this one
        if len(indices) > 1:
            for index in indices:  # find the one document at fault: each alone
                self._submit((index,))
            return
        (index,) = indices
        job = self.jobs[index]
        reason = (
            DIED
            if isinstance(exc, KilledWorker)
            else (f"unexpected error on a Dask worker ({type(exc).__name__}: {exc})")
        )
        self.done[index] = WorkerResult(
            (
                DocumentOutcome(
                    path=job.path, status=FAILED, reason=reason, format=job.kind, bytes=job.size, path_hex=job.path_hex
                ),
            )
        )

    def _again(self, indices: tuple[int, ...]) -> None:
        """Submit a batch whose result was lost again, or fail its files after a few tries."""
        for index in indices:
            self.tries[index] = self.tries.get(index, 0) + 1
        if max(self.tries[index] for index in indices) <= MAX_RESUBMISSIONS:
            self._submit(indices)
            return
        for index in indices:
            job = self.jobs[index]
            self.done[index] = WorkerResult(
                (
                    DocumentOutcome(
                        path=job.path,
                        status=FAILED,
                        reason=DIED,
                        format=job.kind,
                        bytes=job.size,
                        path_hex=job.path_hex,
                    ),
                )
            )

    def _store(self, index: int, tagged: TaggedOnWorker) -> None:
        if tagged.entry:
            try:
                self.cache.store_entry(tagged.result.cache_key, tagged.entry)
            except ValueError as exc:  # damaged on the way: this file fails, the run goes on
                job = self.jobs[index]
                self.done[index] = WorkerResult(
                    (
                        DocumentOutcome(
                            path=job.path,
                            status=FAILED,
                            reason=f"the worker's result arrived damaged ({exc})",
                            format=job.kind,
                            bytes=job.size,
                            path_hex=job.path_hex,
                        ),
                    )
                )
                return
            self.stored += 1
        self.done[index] = tagged.result

    def _scheduler_gone(self) -> PlanthemeError:
        return PlanthemeError(
            f"{self.options.scheduler}: lost the Dask scheduler during the run (no answer for"
            f" {self.options.connect_timeout_s:g} s); the {self.stored:,} files tagged so far are kept in the"
            " cache: run the same command again to resume"
        )


def _batches(jobs: list[DocumentJob], batch_bytes: int) -> Iterator[tuple[int, ...]]:
    """Job indices in order, grouped into batches of at least ``batch_bytes`` (the last may be smaller)."""
    batch: list[int] = []
    size = 0
    for index, job in enumerate(jobs):
        batch.append(index)
        size += job.size
        if size >= batch_bytes:
            yield tuple(batch)
            batch, size = [], 0
    if batch:
        yield tuple(batch)
