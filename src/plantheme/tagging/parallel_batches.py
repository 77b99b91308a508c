"""Consecutive batches of items mapped through forked worker processes, the answers in input order.

Behind ``plantheme predict`` reading stdin: the caller loads its model, then
:func:`map_batches` forks the workers, so the model's arrays are shared
copy-on-write and each task carries only its batch and its answer (the function
itself is inherited through ``fork``, never pickled). The first batch is
answered in the calling process before more input is read, so an input that
ends within one batch never starts a pool, and the first answer comes as soon as
without one. Memory stays bounded: at most ``1 + AHEAD_PER_WORKER`` batches per
worker are in flight. An answer already computed is never held back waiting for
slow input (see ``ready``). Stopping early (Ctrl-C, a closed output pipe, an
error, or the caller closing the generator) cancels the batches not yet handed
out, lets each worker finish the few it holds, and reaps them all. Workers are
not killed mid-batch: one killed while it reads a batch or writes an answer
leaves half a message in a pipe, and the pool's threads then wait for the rest
for ever (seen: ``plantheme predict < 40,000 lines | head -2`` hung in half the
runs when the workers were terminated).

Where ``fork`` is missing (Windows) or unsafe (macOS, whose system libraries may
abort in a forked child), everything runs in the calling process.
"""

from __future__ import annotations

import gc
import math
import os
import signal
import sys
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from itertools import chain, islice
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import PlanthemeError

if TYPE_CHECKING:
    from concurrent.futures import Future

__all__ = ["AHEAD_PER_WORKER", "available_cpus", "can_fork", "input_ready", "map_batches"]

T = TypeVar("T")
R = TypeVar("R")

# Batches queued for each worker beyond the one it works on: one is enough for a
# worker never to wait for the parent between batches (the parent reads the input
# and writes the answers meanwhile); a second absorbs an uneven batch.
AHEAD_PER_WORKER = 2

# In a worker: the function it applies, set by the pool's initializer from the
# parent's memory as inherited through fork.
_work: Callable[[Any], Any] | None = None
# The end of the items (None may be an item).
_END: Any = object()


def available_cpus() -> int:
    """The processors this process may use: its CPU affinity, capped by a cgroup v2 CPU quota.

    A container limited to two CPUs' time on a larger host sees every processor
    in its affinity; ``/sys/fs/cgroup/cpu.max`` holds its quota. (``tag`` asks
    ``joblib.cpu_count``, which it imports anyway; importing joblib here would add
    0.13–0.26 s to every ``plantheme predict``, measured, on a path kept free of it.)
    """
    try:
        count = len(os.sched_getaffinity(0))
    except AttributeError:  # not on every platform
        count = os.cpu_count() or 1
    try:
        with open("/sys/fs/cgroup/cpu.max", encoding="ascii") as handle:
            quota, period = handle.read().split()[:2]
        if quota != "max":
            count = min(count, math.ceil(int(quota) / int(period)))
    except (OSError, ValueError):
        pass
    return max(1, count)


def can_fork() -> bool:
    """Whether worker processes can be forked here (Linux and the BSDs; not Windows, not macOS)."""
    if sys.platform == "darwin":  # fork exists, but Apple's frameworks may crash in the child
        return False
    import multiprocessing

    return "fork" in multiprocessing.get_all_start_methods()


def input_ready(stream: object) -> Callable[[], bool] | None:
    """A check that reading ``stream`` would not wait (data or its end is there), or None if it
    cannot tell or need not: a regular file (``plantheme predict < file``) never waits for input.

    For :func:`map_batches`'s ``ready``: ``poll`` on the stream's file descriptor.
    Bytes the stream object itself has buffered are not seen; then the check says
    "wait" while reading would not, which only makes the answers pending be yielded first.
    """
    import select
    import stat

    fileno = getattr(stream, "fileno", None)
    if fileno is None or not hasattr(select, "poll"):
        return None
    try:
        descriptor = fileno()
        if stat.S_ISREG(os.fstat(descriptor).st_mode):
            # Always readable: a poll before every line (40,000 system calls for as
            # many lines) would tell nothing.
            return None
    except (OSError, ValueError):  # io.UnsupportedOperation: a stream in memory
        return None
    poller = select.poll()
    poller.register(descriptor, select.POLLIN)
    return lambda: bool(poller.poll(0))


def map_batches(
    work: Callable[[list[T]], R],
    items: Iterable[T],
    *,
    size: int,
    jobs: int,
    ready: Callable[[], bool] | None = None,
    warm_up: Callable[[list[T]], object] | None = None,
) -> Generator[R, None, None]:
    """``work(batch)`` for each run of ``size`` consecutive ``items`` (the last may be shorter), in order.

    ``items`` is read lazily, in this process. The first batch is answered here;
    only when more items follow (and ``jobs`` > 1 and fork is available) are
    ``jobs`` workers forked, with ``work`` and everything it refers to inherited
    as it is then, and each later batch is answered by one of them. The batches
    are pickled to the workers and the answers back, so both must pickle.

    With ``warm_up``, when more items follow the first batch and are there
    already (``ready``), the first batch goes to the workers too: ``warm_up(batch)``
    runs here first, to build what ``work`` builds on first use (the workers then
    inherit it), and the two cores share the first batch instead of one
    answering it while the other waits for the fork. When the next item is not
    there yet, the first batch is answered here as without it.

    ``ready`` says whether the next item can be read without waiting for input
    (:func:`input_ready`); while it says no, the answers pending are waited for
    and yielded first, so a slow producer never holds back answers already
    computed. Finished answers are also yielded whenever a batch has been handed
    out (not after every item: asking a future whether it is done takes a lock).

    An exception of ``work`` in a worker is raised here, at its batch; a worker
    that dies (killed, out of memory) raises :class:`~plantheme.errors.PlanthemeError`.
    Close the generator (``contextlib.closing``) when stopping early: that
    stops the workers then (after the batches they hold), not whenever it is garbage-collected.
    """
    if size < 1 or jobs < 1:
        raise ValueError(f"size and jobs must be at least 1, not {size} and {jobs}")
    source = iter(items)
    batch = list(islice(source, size))
    if not batch:
        return
    if warm_up is not None and jobs > 1 and (ready is None or ready()):
        for item in islice(source, 1):  # more input, there already
            rest = chain(batch, [item], source)
            if can_fork():
                warm_up(batch)
                yield from _forked(work, rest, size, jobs, ready)
            else:
                while batch := list(islice(rest, size)):
                    yield work(batch)
            return
        yield work(batch)  # the input ended within one batch
        return
    yield work(batch)
    for item in islice(source, 1):  # more input
        rest = chain([item], source)
        if jobs > 1 and can_fork():
            yield from _forked(work, rest, size, jobs, ready)
        else:
            while batch := list(islice(rest, size)):
                yield work(batch)


def _forked(
    work: Callable[[list[T]], R], source: Iterator[T], size: int, jobs: int, ready: Callable[[], bool] | None
) -> Iterator[R]:
    """The answers to the batches of ``source``, from a pool of ``jobs`` processes forked at its first batch."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    # A child flushes the stdio buffers it inherited when it ends: what this
    # process had not written yet would be written again by every worker.
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:
            stream.flush()
    pool = ProcessPoolExecutor(
        max_workers=jobs,
        mp_context=multiprocessing.get_context("fork"),
        initializer=_start_worker,
        initargs=(work, os.getpid()),
    )
    window = jobs * (1 + AHEAD_PER_WORKER)
    pending: deque[Future[R]] = deque()
    batch: list[T] = []
    ended = forked = done = False
    try:
        while True:
            # An answer first when the window is full, the input has ended, reading on
            # would wait for the input, or, between batches, the oldest is finished.
            if pending and (
                ended
                or len(pending) >= window
                or (ready is not None and not ready())
                or (not batch and pending[0].done())
            ):
                try:
                    answer = pending.popleft().result()
                except BrokenProcessPool:
                    raise PlanthemeError(
                        "a worker process ended abruptly (killed, or out of memory?); try --jobs 1"
                    ) from None
                yield answer
                continue
            if ended:
                break
            item = next(source, _END)
            if item is _END:
                ended = True
            else:
                batch.append(item)
            if batch and (ended or len(batch) == size):
                if forked:
                    pending.append(pool.submit(_run, batch))
                else:
                    # The first submit forks every worker. Around it:
                    # - SIGINT is blocked, so that a Ctrl-C then reaches this process after the
                    #   fork, not a child before its initializer has made it ignore SIGINT;
                    # - the objects that exist are frozen for the children's garbage collector,
                    #   whose collections write to the header of every object they scan and so
                    #   would copy every page of the inherited model into each worker (their CPU
                    #   time was about 4% lower frozen, measured); this process unfreezes them.
                    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
                    gc.freeze()
                    try:
                        pending.append(pool.submit(_run, batch))
                    finally:
                        gc.unfreeze()
                        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
                    forked = True
                batch = []
        done = True
    finally:
        if not done:
            for future in pending:
                future.cancel()
        # The batches a worker already holds are finished (a batch is a few hundredths of a
        # second of work), never cut short: see the module's docstring.
        pool.shutdown(wait=True, cancel_futures=True)


def _start_worker(work: Callable[[Any], Any], parent: int) -> None:
    """In a new worker: keep ``work``, leave Ctrl-C and SIGTERM to the parent's handling, die with the parent."""
    global _work
    _work = work
    # Ctrl-C at a terminal signals the whole process group; the parent answers it
    # by terminating the workers, so a worker must not raise KeyboardInterrupt itself.
    # (SIGINT was blocked while forking; ignored now, a pending one is discarded.)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    # The parent's own SIGTERM handler (the command line turns SIGTERM into SystemExit)
    # is inherited; the pool would catch that exception as a task's, and the worker live on.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _die_with_parent(parent)


def _die_with_parent(parent: int) -> None:
    """Ask Linux to send SIGTERM to this process when its parent dies (a SIGKILL leaves no cleanup)."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    PR_SET_PDEATHSIG = 1
    try:
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before the request was made
        os._exit(1)


def _run(batch: Any) -> Any:
    """In a worker: one task (what the pool pickles for a batch is this function's name and the batch)."""
    assert _work is not None, "not in a worker started by map_batches"
    return _work(batch)
