"""Merge concurrent prediction requests into one ``ThemeModel.predict`` call, off the event loop.

A predict call costs a few milliseconds of fixed scikit-learn overhead (input
checks, the feature union, the sparse stacking) and then a fraction of a
millisecond per sentence. Eight single-sentence requests served one by one pay
the overhead eight times; served as one call they pay it once. The batcher has
one worker thread: requests that arrive while a call runs wait in the queue and
form the next call together.

Taking just what is queued is not enough under load: the event loop answers
the finished requests and parses their clients' next ones one by one, so the
worker would find one request, start a call with it, and leave the other seven
for the call after (measured: calls of 1 and 7, alternating). So the worker
lingers, up to ``linger`` seconds, until as many requests wait as its previous
call merged. A lone client (previous call: one request) never waits.

Predictions are row-independent, so a text's result does not depend on what it
was merged with (tested).
"""

from __future__ import annotations

import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from collections.abc import Sequence
from typing import TYPE_CHECKING

from plantheme.model.evidence import Prediction
from plantheme.model.scoring import CompiledModel

if TYPE_CHECKING:  # the pickled pipeline, for word or union models only: scikit-learn is imported when one loads
    from plantheme.model.model import ThemeModel

__all__ = ["PredictionBatcher"]


@dataclass
class _Job:
    texts: list[str]
    future: Future[list[Prediction]] = field(default_factory=Future)


class PredictionBatcher:
    """One worker thread that runs ``model.predict`` over whatever requests are waiting.

    ``max_texts`` bounds how many texts one merged call takes (a single request
    larger than that still runs whole, on its own); ``linger`` is the longest
    wait, in seconds, for the requests expected to join a call.
    """

    def __init__(self, model: CompiledModel | ThemeModel, *, max_texts: int = 256, linger: float = 0.0) -> None:
        self.model = model
        self.max_texts = max_texts
        self.linger = linger
        self._expected = 1  # requests merged by the previous call: the concurrency seen
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._work, name="plantheme-predict", daemon=True)
        self._closed = False
        self._lock = threading.Lock()

    def start(self) -> PredictionBatcher:
        """Start the worker thread; returns self."""
        self._thread.start()
        return self

    def submit(self, texts: Sequence[str]) -> Future[list[Prediction]]:
        """Queue ``texts``; the future resolves to their predictions, in order."""
        job = _Job(list(texts))
        with self._lock:
            if self._closed:
                raise RuntimeError("the prediction batcher is closed")
            self._queue.put(job)
        return job.future

    def close(self, timeout: float = 10.0) -> None:
        """Finish the queued requests, then stop the worker thread."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(None)
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _work(self) -> None:
        # scikit-learn's configuration is per thread: in this thread only, skip the
        # input checks that cost ~0.4 ms per call. The inputs are the pipeline's
        # own TF-IDF matrices, finite by construction, and the parameters are fixed.
        # The arrays of a compiled model need no scikit-learn at all.
        if isinstance(self.model, CompiledModel):
            self._serve_queue()
            return
        import sklearn

        with sklearn.config_context(assume_finite=True, skip_parameter_validation=True):
            self._serve_queue()

    def _serve_queue(self) -> None:
        stop = False
        while not stop:
            job = self._queue.get()
            if job is None:
                break
            jobs = [job]
            count = len(job.texts)
            deadline: float | None = None
            while count < self.max_texts:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    if len(jobs) >= self._expected or self.linger <= 0:
                        break
                    if deadline is None:
                        deadline = time.monotonic() + self.linger
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    try:
                        more = self._queue.get(timeout=remaining)
                    except queue.Empty:
                        break
                if more is None:
                    stop = True  # run what was taken, then stop
                    break
                jobs.append(more)
                count += len(more.texts)
            self._expected = len(jobs)
            self._run(jobs)

    def _run(self, jobs: list[_Job]) -> None:
        live = [job for job in jobs if job.future.set_running_or_notify_cancel()]
        if not live:
            return
        try:
            predictions = self.model.predict([text for job in live for text in job.texts])
        except BaseException as exc:  # noqa: BLE001 - every waiting request must hear of it
            if len(live) == 1:
                live[0].future.set_exception(exc)
                return
            # One bad text must not fail the requests it happened to be merged with.
            for job in live:
                try:
                    job.future.set_result(self.model.predict(job.texts))
                except BaseException as alone:  # noqa: BLE001
                    job.future.set_exception(alone)
            return
        start = 0
        for job in live:
            end = start + len(job.texts)
            job.future.set_result(predictions[start:end])
            start = end
