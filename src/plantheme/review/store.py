"""The answers of a review, on disk as they are given: an append-only labels file and a set-aside file.

Folder layout (``plantheme review OUT --labels DIR``)::

    DIR/review-labels.csv      the labels, in the labels/ format: text, theme, source, group, genre,
                               then who, when, guess, doc, start, end (plantheme train reads the
                               first five and ignores the rest)
    DIR/review-set-aside.tsv   sentences skipped or marked unsure: not labels, never shown again
    DIR/review-queue.json      the chosen queue, so a restart offers the same sentences

Only ``review-labels.csv`` ends in ``.csv``: ``plantheme train --data DIR`` reads every
``.csv``/``.jsonl`` under DIR, and skips or the queue are not training rows.

Every answer is one ``write`` of a whole row to a file opened for appending,
then ``fsync``: once the page shows the next sentence, the answer is on disk,
whatever happens to the browser or the server. A crash in the middle of a
write can leave a partial last row; opening the store drops it (rewriting the
file atomically). Undo removes the newest answer by rewriting its file
atomically (a temporary file renamed over it) rather than appending a
retraction: the labels file then stays a plain labels file that any tool, and
``plantheme train``, reads as it is.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from ..errors import PlanthemeError
from ..tagging.tag_outputs import atomic_file
from ..themes import THEME_IDS, is_theme
from .queue import answer_key

__all__ = [
    "LABELS_FILE",
    "SET_ASIDE_FILE",
    "QUEUE_FILE",
    "LABEL_FIELDS",
    "SET_ASIDE_FIELDS",
    "SKIP",
    "UNSURE",
    "Answer",
    "LabelStore",
    "now_utc",
]

LABELS_FILE = "review-labels.csv"
SET_ASIDE_FILE = "review-set-aside.tsv"
QUEUE_FILE = "review-queue.json"
LABEL_FIELDS = ("text", "theme", "source", "group", "genre", "who", "when", "guess", "doc", "start", "end")
SET_ASIDE_FIELDS = ("when", "who", "answer", "doc", "start", "end", "guess", "text")
SKIP = "skip"
UNSURE = "unsure"


def now_utc() -> str:
    """The time of an answer: ISO 8601 in UTC to the microsecond (answers sort by it)."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class Answer:
    """One answer to one sentence: a theme id (a label), ``skip`` or ``unsure``."""

    doc: str
    start: int
    end: int
    text: str
    answer: str
    guess: str
    who: str
    when: str
    genre: str = ""

    @property
    def key(self) -> str:
        """The sentence's identity (see :func:`plantheme.review.queue.answer_key`)."""
        return answer_key(self.doc, self.start, self.end)

    @property
    def is_label(self) -> bool:
        """True for a theme, False for a skip or an unsure."""
        return is_theme(self.answer)


def _label_row(a: Answer) -> list[str]:
    # source and group are the document: its sentences stay on one side of every CV fold.
    return [a.text, a.answer, a.doc, a.doc, a.genre, a.who, a.when, a.guess, a.doc, str(a.start), str(a.end)]


def _set_aside_row(a: Answer) -> list[str]:
    return [a.when, a.who, a.answer, a.doc, str(a.start), str(a.end), a.guess, a.text]


def _encode_row(row: list[str], delimiter: str) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerow(row)
    return buffer.getvalue().encode("utf-8")


class _AnswerFile:
    """One append-only CSV (or TSV) file of answers."""

    def __init__(self, path: Path, fields: tuple[str, ...], delimiter: str) -> None:
        self.path, self.fields, self.delimiter = path, fields, delimiter

    def read(self) -> list[dict[str, str]]:
        """The complete rows; a partial last row (a crash mid-write) is dropped from the file."""
        if not self.path.exists():
            return []
        data = self.path.read_bytes()
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise PlanthemeError(
                f"{self.path}: not UTF-8 ({exc.reason} at byte {exc.start}); move it away to start a new one"
            ) from None
        rows = self._parse(text)
        header, body = (rows[0], rows[1:]) if rows else ([], [])
        if header and tuple(name.strip() for name in header[: len(self.fields)]) != self.fields:
            raise PlanthemeError(
                f"{self.path}:1: header is not {','.join(self.fields)}; this file was not written by plantheme review"
            )
        complete = data.endswith(b"\n")
        if body and (not complete or len(body[-1]) < len(self.fields)):
            body = body[:-1]
            self._rewrite(body)
        elif not header and data:
            self._rewrite([])
        return [dict(zip(self.fields, row)) for row in body]

    def _parse(self, text: str) -> list[list[str]]:
        rows: list[list[str]] = []
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=self.delimiter)
        try:
            for row in reader:
                if row:
                    rows.append(row)
        except csv.Error:
            pass  # a quoted field cut off by a crash: the rows before it are kept
        return rows

    def append(self, row: list[str]) -> None:
        """Append one row with one write, then flush it to disk."""
        new = not self.path.exists() or self.path.stat().st_size == 0
        data = _encode_row(row, self.delimiter)
        if new:  # the BOM lets spreadsheet programs show the Chinese; plantheme reads either way
            data = codecs.BOM_UTF8 + _encode_row(list(self.fields), self.delimiter) + data
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            written = 0
            while written < len(data):
                written += os.write(fd, data[written:])
            os.fsync(fd)
        finally:
            os.close(fd)

    def _rewrite(self, rows: list[list[str]]) -> None:
        with atomic_file(self.path, binary=True) as handle:
            handle.write(codecs.BOM_UTF8 + _encode_row(list(self.fields), self.delimiter))
            for row in rows:
                handle.write(_encode_row(row, self.delimiter))

    def remove(self, keep: list[list[str]]) -> None:
        """Replace the file's rows with ``keep``, atomically."""
        self._rewrite(keep)


def _answer_from(row: dict[str, str], path: Path, line: int) -> Answer:
    try:
        start, end = int(row["start"]), int(row["end"])
    except (KeyError, ValueError):
        raise PlanthemeError(f"{path}:{line}: fields 'start' and 'end' must be integers") from None
    answer = row.get("theme") or row.get("answer") or ""
    return Answer(
        doc=row["doc"],
        start=start,
        end=end,
        text=row["text"],
        answer=answer.strip(),
        guess=row.get("guess", ""),
        who=row.get("who", ""),
        when=row.get("when", ""),
        genre=row.get("genre", ""),
    )


class LabelStore:
    """The answers of a labels folder: read once when opened, then appended to as they come.

    Safe to use from the labelling server's threads (one lock around every change).
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        if self.folder.exists() and not self.folder.is_dir():
            raise PlanthemeError(f"--labels {self.folder}: a file is in the way; give a folder")
        self.folder.mkdir(parents=True, exist_ok=True)
        self._labels = _AnswerFile(self.folder / LABELS_FILE, LABEL_FIELDS, ",")
        self._set_aside = _AnswerFile(self.folder / SET_ASIDE_FILE, SET_ASIDE_FIELDS, "\t")
        self._lock = threading.Lock()
        answers = [_answer_from(row, self._labels.path, n) for n, row in enumerate(self._labels.read(), 2)]
        answers += [_answer_from(row, self._set_aside.path, n) for n, row in enumerate(self._set_aside.read(), 2)]
        for answer in answers:
            if not (answer.is_label or answer.answer in (SKIP, UNSURE)):
                raise PlanthemeError(
                    f"{self.folder}: answer '{answer.answer}' for {answer.doc}"
                    f" {answer.start}-{answer.end} is no theme, skip or unsure"
                )
        # Newest last, whichever file it is in: undo takes the newest.
        self._answers = sorted(answers, key=lambda a: a.when)

    @property
    def answers(self) -> tuple[Answer, ...]:
        """Every answer, oldest first."""
        with self._lock:
            return tuple(self._answers)

    def answered(self) -> set[str]:
        """Keys of every answered sentence (labelled, skipped or unsure)."""
        with self._lock:
            return {a.key for a in self._answers}

    def labelled_texts(self) -> list[str]:
        """The texts of the labels (for finding duplicates)."""
        with self._lock:
            return [a.text for a in self._answers if a.is_label]

    def counts(self) -> dict[str, int]:
        """Labels per theme, every theme present (0 for none)."""
        with self._lock:
            counts = {theme: 0 for theme in THEME_IDS}
            for a in self._answers:
                if a.is_label:
                    counts[a.answer] += 1
            return counts

    def add(self, answer: Answer) -> bool:
        """Write ``answer`` to disk (synced) and remember it; False when the sentence was answered already."""
        if not (answer.is_label or answer.answer in (SKIP, UNSURE)):
            raise PlanthemeError(
                f"answer '{answer.answer}': expected a theme id ({', '.join(THEME_IDS)}), {SKIP} or {UNSURE}"
            )
        with self._lock:
            if any(a.key == answer.key for a in self._answers):
                return False
            if answer.is_label:
                self._labels.append(_label_row(answer))
            else:
                self._set_aside.append(_set_aside_row(answer))
            self._answers.append(answer)
            return True

    def undo(self) -> Answer | None:
        """Remove the newest answer from memory and disk; None when there is none."""
        with self._lock:
            if not self._answers:
                return None
            last = self._answers.pop()
            if last.is_label:
                self._labels.remove([_label_row(a) for a in self._answers if a.is_label])
            else:
                self._set_aside.remove([_set_aside_row(a) for a in self._answers if not a.is_label])
            return last
