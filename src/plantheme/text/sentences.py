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
from typing import NamedTuple

__all__ = ["MAX_SENTENCE_CHARS", "RESPONSIBILITY_NOTE", "Sentence", "split_sentences"]

# A run-on "sentence" longer than this (a table flattened into one line, a
# document with no punctuation) is cut at commas so one unit stays readable
# and classifiable.
MAX_SENTENCE_CHARS = 400

# ASCII "!?" end a sentence only before a space or line end, and "?" only after
# an ASCII character: the normaliser turns them full-width beside Chinese, so
# an ASCII "?" after a Chinese character is a lost byte of a garbled run.
_END = r"(?:[。！？；;]|!(?=\s|$)|\?(?<=[\x00-\x7f]\?)(?=\s|$)|…{1,2}|\.{3,})[”’」』）)》】\"']*|\n"
# One unit candidate: from a non-space character up to and including the
# first sentence end (a line end at the latest), or to the end of the text.
# The body is a run of characters that cannot start an end, plus the marks
# that start one only in company ("!" before a letter, one or two dots): a
# negated class scans several times faster than trying _END at every position.
# Every non-space character starts a body or an end, so no match is empty.
_BODY = r"(?:[^。！？；;!?….\n]+|!(?!\s|$)|\?(?:(?!\s|$)|(?<![\x00-\x7f]\?))|\.{1,2}(?!\.))*"
_UNIT = re.compile(f"(?=\\S){_BODY}(?:{_END})?")
_SOFT_BREAK = re.compile(r"[，、,：:]")
# A unit made only of punctuation or symbols belongs to the sentence before it.
_HAS_CONTENT = re.compile(r"[^\W_]", re.UNICODE)
# A responsibility note closing a task ("…新增停车位2000个（区发改局牵头，各街道办具体负责）。"):
# a unit of its own, so the task is classified by what it says, not by the offices named in
# the note (区生态环境分局 reads as ecology), and the note is furniture. It must carry a role
# label ("牵头单位：") or a named office in a role ("区城管局牵头"), and follow a task of at
# least four characters. (The normaliser keeps a line that ends in a note from the next line:
# _RESPONSIBILITY_TAIL, the labelled form, and _NOTE_TAIL, any bracket after a full stop.)
# A note's characters: anything but brackets, or one short bracketed aside ("各市（县）区人民政府").
_NOTE_CHAR = r"(?:[^（）()]|[（(][^（）()]{1,8}[）)])"
RESPONSIBILITY_NOTE = re.compile(
    rf"[（(](?={_NOTE_CHAR}*?(?:(?:牵头|责任|配合|协办|主办)(?:单位|部门|领导)?[：:]"
    r"|[区县市镇省州乡旗][^（）()，、；：:]{1,12}?(?:局|委|办|厅|部|中心|政府|公司|小组)(?:牵头|负责|配合)"
    # A leader in charge ("陈家宝同志牵头"), or offices named and then their role at the close
    # ("…、各区政府负责）", "…市劳动局具体实施）", "…供销合作社等参与）").
    r"|同志(?:牵头|负责)"
    r"|(?:局|委|办|厅|部|中心|政府|管委会|小组|单位|社)等?(?:按职责分工)?(?:负责|具体实施|参与|配合)[）)]))"
    rf"{_NOTE_CHAR}{{2,120}}[）)]\s*[。；;.]?$"
)
# The same note opening a unit, with a task after it: a task list that runs its items on one
# line ("…全国人口普查。（市统计局牵头，年内持续推进）推动社会治安防控……") leaves each note at the head
# of the next item's unit, whose offices it would lend their themes.
_LEADING_NOTE = re.compile(RESPONSIBILITY_NOTE.pattern.removesuffix(r"\s*[。；;.]?$"))
_MIN_TASK_CHARS = 4


class Sentence(NamedTuple):
    """One sentence unit: its span ``[start, end)`` in the normalised text and its text."""

    # A NamedTuple: one is made per sentence, several times faster than a frozen dataclass.

    start: int
    end: int
    text: str


def _cut_long(text: str, start: int, end: int, limit: int) -> list[tuple[int, int]]:
    """Cut an over-long span at the last soft break before each ``limit`` characters."""
    pieces = []
    while end - start > limit:
        window = text[start : start + limit]
        breaks = [m.end() for m in _SOFT_BREAK.finditer(window)]
        cut = start + (breaks[-1] if breaks and breaks[-1] > limit // 4 else limit)
        pieces.append((start, cut))
        start = cut
    pieces.append((start, end))
    return pieces


def _split_note(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """``[start, end)``, or the task and its closing responsibility note as two spans."""
    if text[end - 1] not in "）)。；;." or end - start < _MIN_TASK_CHARS + 6:
        return [(start, end)]
    # Only the last bracket can close the unit: one match attempt, not a scan (every unit passes here).
    opening = max(text.rfind("（", start, end), text.rfind("(", start, end))
    note = RESPONSIBILITY_NOTE.match(text, opening, end) if opening > start else None
    if note is None and opening > start:  # the last bracket may be an aside inside the note
        opening = max(text.rfind("（", start, opening), text.rfind("(", start, opening))
        note = RESPONSIBILITY_NOTE.match(text, opening, end) if opening > start else None
    if note is None:
        return [(start, end)]
    task_end = start + len(text[start : note.start()].rstrip())
    if task_end - start < _MIN_TASK_CHARS:
        return [(start, end)]
    return [(start, task_end), (note.start(), end)]


def _split_leading_note(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """``[start, end)``, or a responsibility note opening it and the task after the note as two spans."""
    if text[start] not in "（(":
        return [(start, end)]
    note = _LEADING_NOTE.match(text, start, end)
    if note is None:
        return [(start, end)]
    rest = note.end()
    while rest < end and text[rest].isspace():
        rest += 1
    if end - rest < _MIN_TASK_CHARS:
        return [(start, end)]
    return [(start, note.end()), (rest, end)]


def split_sentences(text: str, max_chars: int = MAX_SENTENCE_CHARS) -> list[Sentence]:
    """Split ``text`` (normalised) into sentence units, in order, covering every non-space character."""
    units: list[tuple[int, int]] = []
    for match in _UNIT.finditer(text):
        s, e = match.span()
        if text[e - 1].isspace():  # ended by a line end, or the text's trailing blanks
            e = s + len(text[s:e].rstrip())
        if units and not _HAS_CONTENT.search(text, s, e):
            # Stray closing marks or punctuation: attach to the previous unit
            # (nothing is dropped, and no unit is punctuation alone).
            units[-1] = (units[-1][0], e)
        elif e - s > max_chars:
            units.extend(_cut_long(text, s, e, max_chars))
        else:
            for head, tail in _split_leading_note(text, s, e):
                units.extend(_split_note(text, head, tail))
    return [Sentence(s, e, text[s:e]) for s, e in units]
