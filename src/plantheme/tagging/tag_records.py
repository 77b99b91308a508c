"""The records of a folder tagging run: one per sentence, one per file, and the run's totals.

Shared by the cache, the output writers and the HTML report, so each field is
defined once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from typing import NamedTuple, Protocol

from ..themes import THEME_IDS

__all__ = [
    "SentenceRecord",
    "SentenceFields",
    "sentence_json",
    "sentence_csv",
    "confidence_text",
    "DocumentOutcome",
    "RunTotals",
    "TAGGED",
    "SKIPPED",
    "FAILED",
]

TAGGED = "tagged"
SKIPPED = "skipped"
FAILED = "failed"


class SentenceRecord(NamedTuple):
    """One tagged sentence as written to ``sentences.jsonl`` (without the document path).

    ``start``/``end`` index the extracted document text and ``text`` is
    exactly that span; ``confidence`` is rounded to 4 digits.
    """

    # A NamedTuple rather than a frozen dataclass: one is made per sentence, and
    # a frozen dataclass takes eight times as long to build.

    index: int  # type: ignore[assignment]  # the field shadows tuple.index, which no caller uses
    start: int
    end: int
    text: str
    theme: str
    confidence: float
    flags: tuple[str, ...] = ()

    def to_json(self) -> str:
        """The JSON object of the sentence on one line, keys in output order."""
        return sentence_json(self)

    def to_csv(self, doc_field: str) -> str:
        """The row of ``sentences.csv``; ``doc_field`` is the document path as a CSV field."""
        return sentence_csv(self, doc_field)

    @classmethod
    def from_json(cls, line: str) -> "SentenceRecord":
        """Parse a line written by :meth:`to_json`."""
        raw = json.loads(line)
        return cls(
            index=raw["index"],
            start=raw["start"],
            end=raw["end"],
            text=raw["text"],
            theme=raw["theme"],
            confidence=raw["confidence"],
            flags=tuple(raw["flags"]),
        )


class SentenceFields(Protocol):
    """What a sentence output line is made of: a :class:`SentenceRecord`, or a
    tagged sentence straight from :func:`plantheme.tagging.tagging.tag_text`."""

    @property
    def index(self) -> int: ...
    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int: ...
    @property
    def text(self) -> str: ...
    @property
    def theme(self) -> str: ...
    @property
    def confidence(self) -> float: ...
    @property
    def flags(self) -> tuple[str, ...]: ...


_FLAGS_JSON: dict[tuple[str, ...], str] = {}


def _flags_json(flags: tuple[str, ...]) -> str:
    # Flag ids are plain identifiers; the few combinations are formatted once.
    cached = _FLAGS_JSON.get(flags)
    if cached is None:
        cached = _FLAGS_JSON[flags] = "[" + ", ".join(f'"{flag}"' for flag in flags) + "]"
    return cached


def confidence_text(confidence: float) -> str:
    """The confidence as written: ``repr(round(confidence, 4))``, in half the time."""
    # Both round the exact binary value half-to-even to 4 decimals; repr then
    # prints the shortest form, which is this one without trailing zeros.
    text = f"{confidence:.4f}".rstrip("0")
    return text + "0" if text[-1] == "." else text


def sentence_json(sentence: SentenceFields, opening: str = "{", confidence: str | None = None) -> str:
    """One line of ``sentences.jsonl`` (without the newline); ``opening`` may carry leading keys.

    The confidence is rounded to 4 digits (rounding a rounded value changes
    nothing); ``confidence`` passes it already written by :func:`confidence_text`.
    """
    # Formatted directly: json.dumps of a dict per sentence was a tenth of the
    # tagging time. Only the text needs escaping, with the function
    # json.dumps(..., ensure_ascii=False) itself uses; theme ids and flags are
    # plain identifiers, ints and floats print as JSON numbers.
    s = sentence
    if confidence is None:
        confidence = confidence_text(s.confidence)
    return (
        f'{opening}"index": {s.index}, "start": {s.start}, "end": {s.end}, '
        f'"text": {encode_basestring(s.text)}, "theme": "{s.theme}", '
        f'"confidence": {confidence}, "flags": {_flags_json(s.flags)}}}'
    )


def sentence_csv(sentence: SentenceFields, doc_field: str, confidence: str | None = None) -> str:
    """One row of ``sentences.csv``; ``doc_field`` is the document path as a CSV field."""
    # Formatted for speed like sentence_json: the text is always quoted (valid
    # CSV whatever it holds, newlines included); the other fields are numbers
    # and identifiers that need no quoting.
    s = sentence
    if confidence is None:
        confidence = confidence_text(s.confidence)
    text = s.text.replace('"', '""')
    return f'{doc_field},{s.index},{s.start},{s.end},{s.theme},{confidence},{";".join(s.flags)},"{text}"\r\n'


def _zero_counts() -> dict[str, int]:
    return {theme: 0 for theme in THEME_IDS}


@dataclass(frozen=True)
class DocumentOutcome:
    """What became of one file: its manifest entry and its row of ``documents.csv``.

    ``status`` is ``tagged``, ``skipped`` or ``failed`` (then ``reason`` says
    why); ``reused`` marks a document whose sentences came from the cache of an
    earlier run; ``seconds`` is the time spent reading and tagging it. A record
    of a JSONL/CSV file has ``path`` ``file#id`` and its ``--meta-fields`` in
    ``meta``; ``path_hex`` holds the file path's bytes in hex when they are not
    UTF-8 (``path`` is then readable text, see
    :func:`plantheme.readers.folder_scan.display_path`).
    """

    path: str
    status: str
    reason: str = ""
    format: str = ""
    encoding: str = ""
    bytes: int = 0
    sha256: str = ""
    sentences: int = 0
    counts: dict[str, int] = field(default_factory=_zero_counts)
    dominant: str = ""
    garbled: int = 0
    low_confidence: int = 0
    boilerplate: int = 0
    reused: bool = False
    seconds: float = 0.0
    meta: dict[str, str] = field(default_factory=dict)
    path_hex: str = ""

    @property
    def shares(self) -> dict[str, float]:
        """Fraction of the document's content sentences per theme (furniture excluded; all 0 without)."""
        total = sum(self.counts.values())
        return {theme: (self.counts.get(theme, 0) / total if total else 0.0) for theme in THEME_IDS}


@dataclass
class RunTotals:
    """Counts over all files of a run, and the sentences per theme over the corpus."""

    files: int = 0
    tagged: int = 0
    skipped: int = 0
    failed: int = 0
    reused: int = 0
    sentences: int = 0
    boilerplate: int = 0
    bytes_tagged: int = 0
    counts: dict[str, int] = field(default_factory=_zero_counts)

    def add(self, outcome: DocumentOutcome) -> None:
        """Count one file's outcome."""
        self.files += 1
        if outcome.status == TAGGED:
            self.tagged += 1
            self.reused += outcome.reused
            self.sentences += outcome.sentences
            self.boilerplate += outcome.boilerplate
            self.bytes_tagged += outcome.bytes
            for theme, n in outcome.counts.items():
                self.counts[theme] = self.counts.get(theme, 0) + n
        elif outcome.status == SKIPPED:
            self.skipped += 1
        else:
            self.failed += 1

    @property
    def shares(self) -> dict[str, float]:
        """Fraction of all tagged content sentences per theme (furniture excluded)."""
        content = sum(self.counts.values())
        return {theme: (self.counts[theme] / content if content else 0.0) for theme in THEME_IDS}
