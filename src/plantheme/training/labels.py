"""Reading labelled sentences: CSV or JSONL files with ``text`` and ``theme``.

Used by ``plantheme train`` (``labels/``) and ``plantheme evaluate FILE``. Every
problem is reported with the file and line it is on; nothing is skipped silently.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import PlanthemeError
from ..themes import THEME_IDS, is_theme

__all__ = [
    "DOCUMENTS_SUFFIX",
    "LABEL_SUFFIXES",
    "LabelledDocument",
    "LabelledSentence",
    "SpanLabel",
    "SpanRow",
    "iter_labelled_file",
    "read_documents_dir",
    "read_labelled_dir",
    "read_labelled_documents",
    "read_labelled_file",
    "read_span_labels",
]

LABEL_SUFFIXES = (".csv", ".jsonl")
# Whole labelled documents (for the context stage): one JSON object per line,
# {"doc", "genre", "paragraphs": [[[theme, sentence], ...], ...]}.
DOCUMENTS_SUFFIX = ".documents.jsonl"
_MAX_REPORTED = 20


@dataclass(frozen=True)
class LabelledSentence:
    """One labelled row and where it came from."""

    text: str
    theme: str
    source: str
    group: str
    file: str
    line: int
    genre: str = ""


@dataclass(frozen=True)
class SpanLabel:
    """The theme of the characters ``[start, end)`` of a document's text."""

    start: int
    end: int
    theme: str


@dataclass(frozen=True)
class LabelledDocument:
    """A whole document with span labels: what the context stage learns from."""

    doc: str
    text: str
    spans: tuple[SpanLabel, ...]
    genre: str
    file: str
    line: int


@dataclass(frozen=True)
class SpanRow:
    """One row of a span-label file: a labelled span of a document that lives elsewhere.

    ``path`` is relative to the folder the labels point into; ``sha`` (optional)
    is the first hex digits of the span text's SHA-256, which catches a span that
    no longer covers the text it was labelled on.
    """

    path: str
    start: int
    end: int
    theme: str
    genre: str
    sha: str
    file: str
    line: int


def _csv_records(path: Path) -> Iterator[tuple[int, dict[str, object]]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            return
        header = [name.strip() for name in header]
        while True:
            line = reader.line_num + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise PlanthemeError(f"{path}:{line}: not valid CSV ({exc})") from None
            if not any(cell.strip() for cell in row):
                continue
            if len(row) > len(header):
                yield line, {"__error__": f"{len(row)} fields, but the header has {len(header)}"}
                continue
            yield line, dict(zip(header, row))


def _jsonl_records(path: Path) -> Iterator[tuple[int, dict[str, object]]]:
    with path.open(encoding="utf-8-sig") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, {"__error__": f"not valid JSON ({exc.msg})"}
                continue
            if not isinstance(record, dict):
                yield number, {"__error__": "not a JSON object"}
                continue
            yield number, record


def _check(record: dict[str, object], require_group: bool) -> tuple[str, str, str, str] | str:
    """The row's (text, theme, source, group), or the reason it is invalid."""
    if "__error__" in record:
        return str(record["__error__"])
    for name in ("text", "theme"):
        if name not in record:
            return f"missing field '{name}'"
        if not isinstance(record[name], str):
            return f"field '{name}' must be a string"
    text = str(record["text"])
    theme = str(record["theme"]).strip()
    if not text.strip():
        return "field 'text' is empty"
    if not is_theme(theme):
        return f"field 'theme': unknown theme '{theme}' (expected one of {', '.join(THEME_IDS)})"
    source = str(record.get("source") or "").strip()
    group = str(record.get("group") or "").strip() or source
    if require_group and not group:
        return "missing field 'source' (or 'group'): needed to keep a document on one side of a CV fold"
    return text, theme, source, group


def iter_labelled_file(path: Path, require_group: bool = False) -> Iterator[LabelledSentence | str]:
    """The rows of one CSV or JSONL file as they are read: a row, or ``file:line: reason`` for a bad one.

    For files too large to hold (``plantheme evaluate`` streams them). Raises
    :class:`PlanthemeError` for a file that is missing, of another type, not
    UTF-8 or not valid CSV.
    """
    path = Path(path)
    if not path.is_file():
        raise PlanthemeError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix not in LABEL_SUFFIXES:
        raise PlanthemeError(f"{path}: expected a .csv or .jsonl file")
    records = _csv_records(path) if suffix == ".csv" else _jsonl_records(path)
    try:
        for line, record in records:
            checked = _check(record, require_group)
            if isinstance(checked, str):
                yield f"{path}:{line}: {checked}"
                continue
            text, theme, source, group = checked
            genre = str(record.get("genre") or "").strip()
            yield LabelledSentence(text, theme, source, group, str(path), line, genre)
    except UnicodeDecodeError as exc:
        raise PlanthemeError(f"{path}: not UTF-8 ({exc.reason} at byte {exc.start})") from None


def read_labelled_file(path: Path, require_group: bool = False) -> list[LabelledSentence]:
    """Read one CSV or JSONL file of labelled sentences, checking every row.

    Raises :class:`PlanthemeError` listing each bad row as ``file:line: reason``.
    """
    rows: list[LabelledSentence] = []
    problems: list[str] = []
    for item in iter_labelled_file(path, require_group):
        if isinstance(item, str):
            problems.append(item)
        else:
            rows.append(item)
    if problems:
        shown = "\n".join(problems[:_MAX_REPORTED])
        more = len(problems) - _MAX_REPORTED
        raise PlanthemeError(shown + (f"\n… and {more} more bad rows" if more > 0 else ""))
    if not rows:
        raise PlanthemeError(f"{Path(path)}: no labelled rows")
    return rows


def read_labelled_dir(path: Path) -> list[LabelledSentence]:
    """Read every ``.csv`` / ``.jsonl`` file under ``path`` (or the one file ``path`` names)."""
    path = Path(path)
    if path.is_file():
        return read_labelled_file(path, require_group=True)
    if not path.is_dir():
        raise PlanthemeError(f"{path}: no such file or folder")
    files = sorted(p for p in path.rglob("*") if p.suffix.lower() in LABEL_SUFFIXES and p.is_file())
    if not files:
        raise PlanthemeError(f"{path}: no .csv or .jsonl files of labelled sentences")
    rows: list[LabelledSentence] = []
    for file in files:
        if file.name.endswith(DOCUMENTS_SUFFIX):
            rows.extend(_document_rows(read_labelled_documents(file)))
        else:
            rows.extend(read_labelled_file(file, require_group=True))
    return rows


def read_documents_dir(path: Path) -> list[LabelledDocument]:
    """Every labelled document (``*.documents.jsonl``) under ``path``, or in the one file it names."""
    path = Path(path)
    if path.is_file():
        return read_labelled_documents(path) if path.name.endswith(DOCUMENTS_SUFFIX) else []
    files = sorted(p for p in path.rglob(f"*{DOCUMENTS_SUFFIX}") if p.is_file())
    documents: list[LabelledDocument] = []
    for file in files:
        documents.extend(read_labelled_documents(file))
    return documents


def _document_rows(documents: list[LabelledDocument]) -> list[LabelledSentence]:
    """Each labelled sentence of the documents as a row; a document is one CV group."""
    return [
        LabelledSentence(doc.text[span.start:span.end], span.theme, "written", doc.doc, doc.file, doc.line,
                         doc.genre)
        for doc in documents for span in doc.spans
    ]


def _parse_document(record: dict[str, object]) -> tuple[str, str, list[SpanLabel]] | str:
    """A document record's text, genre and spans, or the reason it is invalid."""
    doc = record.get("doc")
    if not isinstance(doc, str) or not doc.strip():
        return "field 'doc' (the document id) is missing or not a string"
    paragraphs = record.get("paragraphs")
    if not isinstance(paragraphs, list) or not paragraphs:
        return "field 'paragraphs' must be a non-empty list of paragraphs"
    pieces: list[str] = []
    spans: list[SpanLabel] = []
    pos = 0
    for p, paragraph in enumerate(paragraphs):
        if not isinstance(paragraph, list) or not paragraph:
            return f"paragraphs[{p}] must be a non-empty list of [theme, sentence] pairs"
        if p:
            pieces.append("\n")
            pos += 1
        for k, pair in enumerate(paragraph):
            where = f"paragraphs[{p}][{k}]"
            if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(x, str) for x in pair)):
                return f"{where} must be a [theme, sentence] pair of strings"
            theme, sentence = pair[0].strip(), pair[1]
            if not is_theme(theme):
                return f"{where}: unknown theme '{theme}' (expected one of {', '.join(THEME_IDS)})"
            if not sentence.strip() or "\n" in sentence:
                return f"{where}: the sentence is empty or holds a line break"
            pieces.append(sentence)
            spans.append(SpanLabel(pos, pos + len(sentence), theme))
            pos += len(sentence)
    return "".join(pieces), str(record.get("genre") or ""), spans


def read_labelled_documents(path: Path) -> list[LabelledDocument]:
    """Read a ``*.documents.jsonl`` file of whole labelled documents, checking every record."""
    path = Path(path)
    documents: list[LabelledDocument] = []
    problems: list[str] = []
    try:
        for line, record in _jsonl_records(path):
            parsed = record.get("__error__") or _parse_document(record)
            if isinstance(parsed, str):
                problems.append(f"{path}:{line}: {parsed}")
                continue
            text, genre, spans = parsed
            documents.append(LabelledDocument(str(record["doc"]), text, tuple(spans), genre, str(path), line))
    except UnicodeDecodeError as exc:
        raise PlanthemeError(f"{path}: not UTF-8 ({exc.reason} at byte {exc.start})") from None
    if problems:
        raise PlanthemeError("\n".join(problems[:_MAX_REPORTED]))
    return documents


_SPAN_FIELDS = ("path", "start", "end", "theme")


def read_span_labels(path: Path) -> list[SpanRow]:
    """Read a CSV of span labels (``path, start, end, theme``, optional ``genre``, ``sha``)."""
    path = Path(path)
    if not path.is_file():
        raise PlanthemeError(f"{path}: no such file")
    rows: list[SpanRow] = []
    problems: list[str] = []
    try:
        for line, record in _csv_records(path):
            if "__error__" in record:
                problems.append(f"{path}:{line}: {record['__error__']}")
                continue
            missing = [name for name in _SPAN_FIELDS if name not in record]
            if missing:
                raise PlanthemeError(
                    f"{path}: the header lacks {', '.join(missing)}; found {', '.join(record)},"
                    f" expected {', '.join(_SPAN_FIELDS)} (and optionally genre, sha)"
                )
            theme = str(record["theme"]).strip()
            try:
                start, end = int(str(record["start"])), int(str(record["end"]))
            except ValueError:
                problems.append(f"{path}:{line}: fields 'start' and 'end' must be integers")
                continue
            if not 0 <= start < end:
                problems.append(f"{path}:{line}: span {start}-{end} is empty or negative")
            elif not is_theme(theme):
                problems.append(f"{path}:{line}: field 'theme': unknown theme '{theme}'"
                                f" (expected one of {', '.join(THEME_IDS)})")
            else:
                rows.append(SpanRow(str(record["path"]), start, end, theme, str(record.get("genre") or ""),
                                    str(record.get("sha") or ""), str(path), line))
    except UnicodeDecodeError as exc:
        raise PlanthemeError(f"{path}: not UTF-8 ({exc.reason} at byte {exc.start})") from None
    if problems:
        raise PlanthemeError("\n".join(problems[:_MAX_REPORTED]))
    if not rows:
        raise PlanthemeError(f"{path}: no span labels")
    return rows
