"""Split normalised text into sentence units with their character spans.

A unit ends after ``。！？；`` (or their ASCII forms, ``……``), together with any
closing quotes or brackets that follow, and at every line end: the normaliser
has already rejoined lines broken inside a sentence, so a line end that is left
ends a unit. That keeps a heading such as ``（三）…`` or ``一、…`` standing alone on
its line as its own unit; inline ``一是…。`` runs to its full stop like any sentence.

Guarantee (property-tested): units do not overlap, are in order, have no
leading or trailing whitespace, and every non-space character of the text lies
in exactly one unit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Sentence", "split_sentences", "MAX_SENTENCE_CHARS"]

# A run-on "sentence" longer than this (a table flattened into one line, a
# document with no punctuation) is cut at commas so one unit stays readable
# and classifiable.
MAX_SENTENCE_CHARS = 400

# ASCII "!?" end a sentence only before a space or line end: the normaliser turns
# them full-width beside Chinese, except the "?" of a garbled run (a lost byte).
_END = re.compile(r"(?:[。！？；;]|[!?](?=\s|$)|…{1,2}|\.{3,})[”’」』）)》】\"']*|\n")
_SOFT_BREAK = re.compile(r"[，、,：:]")
# A unit made only of punctuation or symbols belongs to the sentence before it.
_HAS_CONTENT = re.compile(r"[^\W_]", re.UNICODE)


@dataclass(frozen=True)
class Sentence:
    """One sentence unit: its span ``[start, end)`` in the normalised text and its text."""

    start: int
    end: int
    text: str


def _trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _cut_long(text: str, start: int, end: int, limit: int) -> list[tuple[int, int]]:
    """Cut an over-long span at the last soft break before each ``limit`` characters."""
    pieces = []
    while end - start > limit:
        window = text[start:start + limit]
        breaks = [m.end() for m in _SOFT_BREAK.finditer(window)]
        cut = start + (breaks[-1] if breaks and breaks[-1] > limit // 4 else limit)
        pieces.append((start, cut))
        start = cut
    pieces.append((start, end))
    return pieces


def split_sentences(text: str, max_chars: int = MAX_SENTENCE_CHARS) -> list[Sentence]:
    """Split ``text`` (normalised) into sentence units, in order, covering every non-space character."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _END.finditer(text):
        spans.append((start, match.end()))
        start = match.end()
    spans.append((start, len(text)))

    units: list[tuple[int, int]] = []
    for raw_start, raw_end in spans:
        s, e = _trimmed(text, raw_start, raw_end)
        if s == e:
            continue
        if units and not _HAS_CONTENT.search(text, s, e):
            # Stray closing marks or punctuation: attach to the previous unit
            # (nothing is dropped, and no unit is punctuation alone).
            prev_start, _ = units[-1]
            units[-1] = (prev_start, e)
            continue
        units.extend(_cut_long(text, s, e, max_chars))
    return [Sentence(s, e, text[s:e]) for s, e in units]
