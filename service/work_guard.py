"""Run a request's CPU work under a deadline, cancelled when its client goes away: :class:`WorkGuard`.

Classification runs in a small pool of threads (``work_threads``), so at most
that many documents are classified at once, whatever the number of clients;
the rest wait their turn within their own deadline. The work receives a
:class:`threading.Event` and checks it between units of work (texts, sentence
batches): when the deadline passes or the client disconnects, the event is set
and the work stops at its next check. A thread cannot be interrupted in the
middle of a library call, so a single call runs to its end; its result is
dropped.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from starlette.requests import Request

from .errors import ApiError

__all__ = ["Cancelled", "WorkGuard"]

T = TypeVar("T")


class Cancelled(Exception):
    """Raised by work that saw its cancel event set (deadline passed or client gone)."""


class WorkGuard:
    """A bounded thread pool that runs work with a deadline and stops it when the client leaves."""

    def __init__(self, threads: int, deadline_s: float) -> None:
        self.deadline_s = deadline_s
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="plantheme-work")

    def close(self) -> None:
        """Stop taking work; work already queued is cancelled, running work finishes."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    def drain(self, timeout: float | None = None) -> None:
        """Wait until the work taken so far has finished (with one thread: everything before this call)."""
        self._pool.submit(lambda: None).result(timeout)

    async def run(self, request: Request, work: Callable[[threading.Event], T]) -> T:
        """Run ``work(cancel)`` in the pool; 503 when the deadline passes, nothing when the client left."""
        cancel = threading.Event()

        def guarded() -> T:
            if cancel.is_set():  # waited in the queue past its deadline
                raise Cancelled()
            return work(cancel)

        job = asyncio.wrap_future(self._pool.submit(guarded))
        gone = asyncio.ensure_future(_disconnected(request))
        try:
            waiting: set[asyncio.Future[Any]] = {job, gone}
            done, _ = await asyncio.wait(waiting, timeout=self.deadline_s, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not job.done():
                cancel.set()
                job.cancel()
            gone.cancel()
        if job in done:
            return job.result()
        if gone in done:
            # Nobody will read the answer; the status is for the access log only.
            raise ApiError(499, "client_closed_request", "the client disconnected")
        raise ApiError(
            503,
            "deadline_exceeded",
            f"the request took longer than {self.deadline_s:g} s (PLANTHEME_REQUEST_TIMEOUT_S);"
            " send fewer or shorter texts",
        )


async def _disconnected(request: Request) -> None:
    """Return when the client disconnects (the body has been read, so only that message is left)."""
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return
