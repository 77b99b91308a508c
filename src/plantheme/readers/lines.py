"""Lines of a byte stream with bounded memory, for every reader of line-based input.

Its own module, on the standard library alone: ``plantheme predict`` reads stdin with
it, and importing it from :mod:`plantheme.readers.record_files` pulled in the document
readers (lxml, the HTML parser, the CJK codecs), 0.08 s of every ``plantheme predict``
(measured in-process, 2026-12-02).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

__all__ = ["bounded_lines"]


def bounded_lines(handle: BinaryIO, max_bytes: int) -> Iterator[tuple[int, bytes | None]]:
    """(line number, line) for every line; None for a line longer than ``max_bytes`` (skipped unread).

    Memory stays bounded whatever the input: a long line is read past in 1 MiB pieces.
    """
    number = 0
    while True:
        line = handle.readline(max_bytes + 1)
        if not line:
            return
        number += 1
        if len(line) > max_bytes and not line.endswith(b"\n"):
            while True:  # the rest of the long line, in bounded pieces
                rest = handle.readline(1 << 20)
                if not rest or rest.endswith(b"\n"):
                    break
            yield number, None
            continue
        yield number, line
