"""A one-line progress bar on stderr for long runs: documents and sentences done, and the rate.

It draws only when enabled (an interactive terminal and no ``--quiet``), at
most a few times a second, and always ends its line before anything else is
printed.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["ProgressBar"]

_WIDTH = 24
_INTERVAL = 0.2  # seconds between redraws


class ProgressBar:
    """Counts documents and sentences and redraws one status line in place."""

    def __init__(self, total: int, *, enabled: bool, stream: TextIO | None = None) -> None:
        self.total = total
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.documents = 0
        self.sentences = 0
        self.reused = 0
        self.failed = 0
        self._start = time.monotonic()
        self._drawn = 0.0
        self._visible = False

    def advance(self, *, sentences: int, reused: bool = False, failed: bool = False) -> None:
        """Count one finished document and redraw if it is time."""
        self.documents += 1
        self.sentences += sentences
        self.reused += reused
        self.failed += failed
        now = time.monotonic()
        if self.enabled and (now - self._drawn >= _INTERVAL or self.documents == self.total):
            self._draw(now)

    def _draw(self, now: float) -> None:
        self._drawn = now
        elapsed = max(now - self._start, 1e-9)
        done = self.documents / self.total if self.total else 1.0
        filled = int(done * _WIDTH)
        bar = "#" * filled + "." * (_WIDTH - filled)
        line = (
            f"tagging [{bar}] {self.documents:,}/{self.total:,} documents"
            f" · {self.sentences:,} sentences · {self.sentences / elapsed:,.0f} sentences/s"
        )
        if self.reused:
            line += f" · {self.reused:,} reused"
        if self.failed:
            line += f" · {self.failed:,} failed"
        self.stream.write("\r" + line + "\x1b[K")
        self.stream.flush()
        self._visible = True

    def clear(self) -> None:
        """End the bar's line so that the next message starts on a line of its own."""
        if self._visible:
            self.stream.write("\n")
            self.stream.flush()
            self._visible = False

    def say(self, message: str) -> None:
        """Print a message on a line of its own, above the bar."""
        if self._visible:
            self.stream.write("\r\x1b[K")
            self._visible = False
        self.stream.write(message + "\n")
        self.stream.flush()
