"""Reading files of records: one document per line of a ``.jsonl`` file or per row of a ``.csv``.

Scraped corpora come as one file of many documents (``title``, ``content``,
``year`` …). Each record becomes a document of its own named ``FILE#ID``: ID is
the value of ``id_field`` when given, else the record number (1-based; in a
JSONL file the line number, blank lines are no records).

Rules:

* The text is in ``text_field``; without it, the first of ``content``,
  ``text``, ``正文`` that the file's first record has. A JSONL file whose
  first record has none of them is skipped (the reason lists the fields
  found); with an explicit ``text_field`` that the first record lacks, the
  file fails naming the fields found.
* A CSV file is read as documents only when ``text_field`` names one of its
  columns; any other CSV (a metadata table, labelled sentences) is skipped
  with the reason listing its columns. Scraped metadata tables beside their
  documents therefore never become documents by accident.
* A bad record (invalid JSON or UTF-8, not an object, a missing or
  non-string text field, a missing or duplicate id, a text over the length
  limit) fails alone, with its line; the other records are read. An empty
  text is skipped.
* Files are UTF-8 (a BOM is allowed). A JSONL line longer than
  ``4 * max_chars`` bytes fails without being held in memory; the file is
  read as a stream, one record at a time.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Iterator

from .documents import UnreadableDocument
from .lines import bounded_lines

__all__ = ["DEFAULT_TEXT_FIELDS", "RecordOptions", "Record", "bounded_lines", "read_records"]

DEFAULT_TEXT_FIELDS = ("content", "text", "正文")
# Bad lines read before the first good record before the file counts as not JSONL at all.
_MAX_LEADING_BAD = 1000


@dataclass(frozen=True)
class RecordOptions:
    """Which fields of a record hold its text, its id and the metadata carried to documents.csv."""

    text_field: str | None = None
    id_field: str | None = None
    meta_fields: tuple[str, ...] = ()

    def describe(self) -> str:
        """A stable string of the options (part of the cache key of a file of records)."""
        return json.dumps([self.text_field, self.id_field, list(self.meta_fields)], ensure_ascii=False)


@dataclass(frozen=True)
class Record:
    """One record: its number, line, id and text, or ``status``/``reason`` when it is not tagged."""

    number: int
    line: int
    id: str
    text: str = ""
    status: str = ""
    reason: str = ""
    meta: dict[str, str] = field(default_factory=dict)


def _value_text(value: object) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return json.dumps(value, ensure_ascii=False)


def _fields(names: list[str]) -> str:
    return ", ".join(names) if names else "none"


def _pick_text_field(first: dict[str, object], options: RecordOptions, what: str) -> str:
    names = [str(name) for name in first]
    if options.text_field is not None:
        if options.text_field not in first:
            raise UnreadableDocument(
                "failed", f"{what} have no field '{options.text_field}' (fields found: {_fields(names)})"
            )
        return options.text_field
    for name in DEFAULT_TEXT_FIELDS:
        if name in first:
            return name
    raise UnreadableDocument(
        "skipped",
        f"{what} have none of the text fields {', '.join(DEFAULT_TEXT_FIELDS)}"
        f" (fields found: {_fields(names)}); name one with --text-field",
    )


class _Builder:
    """Turns parsed records into :class:`Record` s: text, id, duplicates, limits."""

    def __init__(self, options: RecordOptions, text_field: str, max_chars: int) -> None:
        self.options = options
        self.text_field = text_field
        self.max_chars = max_chars
        self.seen: dict[str, int] = {}

    def build(self, number: int, line: int, raw: dict[str, object]) -> Record:
        record_id = str(number)
        meta = {name: _value_text(raw.get(name)) for name in self.options.meta_fields}
        if self.options.id_field is not None:
            value = _value_text(raw.get(self.options.id_field)).strip()
            if not value:
                return Record(
                    number,
                    line,
                    record_id,
                    status="failed",
                    meta=meta,
                    reason=f"line {line}: missing id field '{self.options.id_field}'",
                )
            if value in self.seen:
                return Record(
                    number,
                    line,
                    record_id,
                    status="failed",
                    meta=meta,
                    reason=f"line {line}: duplicate id '{value}' (first on line {self.seen[value]})",
                )
            self.seen[value] = line
            record_id = value
        if self.text_field not in raw:
            return Record(
                number,
                line,
                record_id,
                status="failed",
                meta=meta,
                reason=f"line {line}: missing field '{self.text_field}'",
            )
        text = raw[self.text_field]
        if not isinstance(text, str):
            return Record(
                number,
                line,
                record_id,
                status="failed",
                meta=meta,
                reason=f"line {line}: field '{self.text_field}' is not a string",
            )
        if not text.strip():
            return Record(
                number,
                line,
                record_id,
                status="skipped",
                meta=meta,
                reason=f"line {line}: field '{self.text_field}' is empty",
            )
        if len(text) > self.max_chars:
            return Record(
                number,
                line,
                record_id,
                status="failed",
                meta=meta,
                reason=f"line {line}: too long: {len(text):,} characters; the limit is"
                f" {self.max_chars:,} (PLANTHEME_MAX_DOCUMENT_CHARS)",
            )
        return Record(number, line, record_id, text=text, meta=meta)


def _jsonl_parsed(path: Path, max_chars: int) -> Iterator[tuple[int, dict[str, object] | str]]:
    """(line, object) for each non-blank line, or (line, reason) when it is not a JSON object."""
    with open(path, "rb") as handle:
        for number, line in bounded_lines(handle, 4 * max_chars):
            if line is None:
                yield number, f"line {number}: longer than {4 * max_chars:,} bytes"
                continue
            if number == 1 and line.startswith(b"\xef\xbb\xbf"):
                line = line[3:]
            if not line.strip():
                continue
            try:
                text = line.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield number, f"line {number}: not valid UTF-8 ({exc.reason} at byte {exc.start})"
                continue
            try:
                raw = json.loads(text)
            except ValueError as exc:
                message = getattr(exc, "msg", None) or str(exc)
                yield number, f"line {number}: not valid JSON ({message})"
                continue
            except RecursionError:
                yield number, f"line {number}: not valid JSON (nested too deeply)"
                continue
            if not isinstance(raw, dict):
                yield number, f"line {number}: not a JSON object"
                continue
            yield number, raw


def _csv_parsed(
    path: Path, options: RecordOptions, max_chars: int
) -> Iterator[tuple[int, int, dict[str, object] | str]]:
    """(record number, line, row as a dict) for each data row, or a reason instead of the row."""
    csv.field_size_limit(max(csv.field_size_limit(), 4 * max_chars))
    # surrogateescape: a bad byte fails its row, not the rest of the file.
    with open(path, encoding="utf-8-sig", errors="surrogateescape", newline="") as handle:
        reader = csv.reader(handle)
        try:
            header = next(reader, None)
        except csv.Error as exc:
            raise UnreadableDocument("failed", f"line 1: not valid CSV ({exc})") from None
        if header is None:
            raise UnreadableDocument("skipped", "CSV file without a header row")
        header = [name.strip() for name in header]
        columns = [name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace") for name in header]
        if options.text_field is None or options.text_field not in header:
            wanted = (
                "CSV files are read as documents only with --text-field naming one of their columns"
                if options.text_field is None
                else f"no column '{options.text_field}'"
            )
            raise UnreadableDocument("skipped", f"{wanted} (columns: {_fields(columns)})")
        number = 0
        while True:
            line = reader.line_num + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                number += 1
                yield number, line, f"line {line}: not valid CSV ({exc})"
                continue
            if not any(cell.strip() for cell in row):
                continue
            number += 1
            if len(row) > len(header):
                yield number, line, f"line {line}: {len(row)} fields, but the header has {len(header)}"
                continue
            try:
                for cell in row:
                    cell.encode("utf-8")
            except UnicodeEncodeError:
                yield number, line, f"line {line}: not valid UTF-8"
                continue
            yield number, line, dict(zip(header, row))


def read_records(path: Path, kind: str, options: RecordOptions, *, max_chars: int) -> Iterator[Record]:
    """The records of a ``jsonl`` or ``csv`` file (``kind``), one at a time.

    Raises :class:`~plantheme.readers.documents.UnreadableDocument` (before the first
    record) when the file as a whole is skipped or failed: see the module
    docstring. ``OSError`` from reading passes through.
    """
    if kind == "csv":
        parsed: Iterator[tuple[int, int, dict[str, object] | str]] = _csv_parsed(path, options, max_chars)
        what = "rows"
    else:
        parsed = ((line, line, raw) for line, raw in _jsonl_parsed(path, max_chars))
        what = "records"
    builder: _Builder | None = None
    leading: list[Record] = []  # bad lines before the first record that decides the text field
    for number, line, raw in parsed:
        if isinstance(raw, str):
            bad = Record(number, line, str(number), status="failed", reason=raw)
            if builder is None:
                leading.append(bad)
                if len(leading) > _MAX_LEADING_BAD:
                    raise UnreadableDocument(
                        "failed", f"no valid record in the first {_MAX_LEADING_BAD:,} lines ({leading[0].reason})"
                    )
                continue
            yield bad
            continue
        if builder is None:
            builder = _Builder(options, _pick_text_field(raw, options, what), max_chars)
            yield from leading
            leading = []
        yield builder.build(number, line, raw)
    if builder is None:
        if leading:
            yield from leading
        else:
            raise UnreadableDocument("skipped", "no records (empty file)")
