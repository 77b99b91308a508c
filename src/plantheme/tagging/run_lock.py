"""One ``plantheme tag`` run per output folder at a time: the lock ``OUTDIR/.plantheme.lock``.

Two runs into one folder would prune each other's cache entries and replace
each other's outputs. The lock is an advisory ``flock`` on the file, which
holds the holder's process id for the message of a run that finds it taken.
The kernel drops the lock when its process ends, however it ends (``kill
-9`` too), so a lock left by a dead process is simply taken over; the file
itself stays (deleting it could let two runs lock two different files).
"""

from __future__ import annotations

import errno
import fcntl
import os
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Callable

from ..errors import PlanthemeError

__all__ = ["LOCK_FILE", "OutputLocked", "RunLock", "lock_output_folder"]

LOCK_FILE = ".plantheme.lock"


class OutputLocked(PlanthemeError):
    """Another live process holds the output folder's lock."""

    def __init__(self, folder: Path, pid: int | None) -> None:
        holder = f"process {pid}" if pid else "another process"
        super().__init__(
            f"{folder}: another `plantheme tag` run ({holder}) is writing to this output"
            " folder; wait for it to finish, or give --wait"
        )
        self.pid = pid


@dataclass
class RunLock:
    """A held lock; :meth:`release` (or the end of the process) frees it."""

    path: Path
    fd: int

    def release(self) -> None:
        """Free the lock (idempotent)."""
        if self.fd >= 0:
            os.close(self.fd)  # closing the descriptor drops the flock
            self.fd = -1

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _holder(fd: int) -> int | None:
    try:
        text = os.pread(fd, 64, 0).decode("ascii", "replace").strip()
        return int(text) if text else None
    except (OSError, ValueError):
        return None


def lock_output_folder(
    folder: Path, *, wait: bool = False, on_wait: Callable[[int | None], None] | None = None
) -> RunLock:
    """Take the lock of output folder ``folder`` (which must exist).

    Raises :class:`OutputLocked` naming the holder's pid when another process
    holds it, unless ``wait``: then ``on_wait(pid)`` is called once and the
    call blocks until the lock is free.
    """
    path = Path(folder) / LOCK_FILE
    # O_CLOEXEC (Python's default): worker processes must not inherit the lock.
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise
            pid = _holder(fd)
            if not wait:
                raise OutputLocked(Path(folder), pid) from None
            if on_wait is not None:
                on_wait(pid)
            fcntl.flock(fd, fcntl.LOCK_EX)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
    except BaseException:
        os.close(fd)
        raise
    return RunLock(path, fd)
