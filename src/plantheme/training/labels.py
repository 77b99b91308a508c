"""Reading labelled sentences: CSV, JSONL or ``.xlsx`` files with ``text`` and ``theme``.

Used by ``plantheme train`` (``labels/``) and ``plantheme evaluate FILE``. Every
problem is reported with the file and line it is on; nothing is skipped silently.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from ..errors import PlanthemeError
from ..readers.documents import BYTE_ORDER_MARKS, UnreadableDocument, decode_text, read_document
from ..themes import THEME_IDS, is_theme

__all__ = [
    "DOCUMENTS_SUFFIX",
    "LABEL_SUFFIXES",
    "SPANS_SUFFIX",
    "OPTIONAL_COLUMNS",
    "read_jsonl_records",
    "REQUIRED_COLUMNS",
    "LabelledDocument",
    "LabelledSentence",
    "SpanLabel",
    "SpanRow",
    "iter_labelled_file",
    "document_rows",
    "read_documents_dir",
    "read_labelled_dir",
    "read_labelled_documents",
    "read_columns",
    "read_labelled_file",
    "read_span_documents",
    "read_span_labels",
    "span_files",
    "span_moved",
    "span_sha",
]

LABEL_SUFFIXES = (".csv", ".jsonl", ".xlsx")
# Whole labelled documents (for the context stage): one JSON object per line,
# {"doc", "genre", "paragraphs": [[[theme, sentence], ...], ...]}.
DOCUMENTS_SUFFIX = ".documents.jsonl"
# Span labels of documents kept outside the labels folder (path, start, end, theme, genre, sha):
# training reads them only when told the folder their paths are relative to.
SPANS_SUFFIX = ".spans.csv"
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
    # Where the document comes from: "written" for the project's written documents,
    # "spans" for a real document under a folder that span labels point into.
    source: str = "written"


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


# Columns a file of labelled sentences must have, and those it may have.
REQUIRED_COLUMNS = ("text", "theme")
OPTIONAL_COLUMNS = ("source", "group", "genre")
# A UTF-8 file is checked in pieces of this size before it is streamed.
_CHECK_CHUNK = 1 << 20


def _open_text(path: Path) -> TextIO:
    """The file as text, decoded as ``plantheme tag`` decodes documents.

    UTF-8 (checked in pieces) and files with a byte-order mark (UTF-16, UTF-32)
    are streamed, so a file of any size is read with bounded memory; other bytes
    are decoded whole by :func:`~plantheme.readers.documents.decode_text`
    (GB18030 or Big5, whichever reads as common Chinese), because choosing
    between those needs the whole text. Raises :class:`PlanthemeError` naming the
    file when no encoding fits.
    """
    with path.open("rb") as handle:
        head = handle.read(4)
        handle.seek(0)
        bom_codec = next((codec for bom, codec in BYTE_ORDER_MARKS if head.startswith(bom)), None)
        if bom_codec is None:
            decoder = codecs.getincrementaldecoder("utf-8")()
            try:
                while chunk := handle.read(_CHECK_CHUNK):
                    decoder.decode(chunk)
                decoder.decode(b"", final=True)
                bom_codec = "utf-8"
            except UnicodeDecodeError:
                pass
    if bom_codec is not None:
        # Python's utf-16/utf-32 codecs read the mark themselves; utf-8-sig drops it.
        codec = {"utf-16-le": "utf-16", "utf-16-be": "utf-16", "utf-32-le": "utf-32", "utf-32-be": "utf-32"}.get(
            bom_codec, bom_codec
        )
        return path.open(encoding=codec, newline="")
    try:
        return io.StringIO(decode_text(path.read_bytes()).text, newline="")
    except UnreadableDocument as problem:
        raise PlanthemeError(f"{path}: {problem.reason}") from None


def _cell_text(value: object) -> str:
    """A spreadsheet cell as text: empty for an empty cell, integers without ``.0``."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _xlsx_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells) of the first worksheet of an ``.xlsx`` workbook, streamed."""
    from openpyxl import load_workbook  # only for .xlsx files: it costs start-up time

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zip, XML and its own errors for a bad workbook
        raise PlanthemeError(f"{path}: not a readable .xlsx workbook ({type(exc).__name__}: {exc})") from None
    try:
        sheet = workbook.worksheets[0]
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, [_cell_text(value) for value in values]
    finally:
        workbook.close()


def _csv_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) of every row of a CSV file, the header included."""
    with _open_text(path) as handle:
        reader = csv.reader(handle)
        while True:
            line = reader.line_num + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise PlanthemeError(f"{path}:{line}: not valid CSV ({exc})") from None
            yield line, row


def _table_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    return _xlsx_rows(path) if path.suffix.lower() == ".xlsx" else _csv_rows(path)


def read_columns(path: Path) -> tuple[str, ...]:
    """The column names of a CSV or ``.xlsx`` file's header (empty for an empty file)."""
    for _, header in _table_rows(Path(path)):
        return tuple(name.strip() for name in header)
    return ()


def _table_records(path: Path) -> Iterator[tuple[int, dict[str, object]]]:
    rows = _table_rows(path)
    first = next(rows, None)
    if first is None:
        return
    header = [name.strip() for name in first[1]]
    for line, row in rows:
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(header):
            # A spreadsheet's trailing empty cells are not extra fields.
            if any(cell.strip() for cell in row[len(header) :]):
                yield line, {"__error__": f"{len(row)} fields, but the header has {len(header)}"}
                continue
            row = row[: len(header)]
        yield line, dict(zip(header, row))


def read_jsonl_records(path: Path) -> Iterator[tuple[int, dict[str, object]]]:
    """Each non-blank line's number and JSON object, decoded as ``plantheme tag`` decodes documents;
    a line that is not a JSON object comes as ``{"__error__": reason}``, so one bad line is named, not fatal."""
    with _open_text(path) as handle:
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


def _check(record: dict[str, object], default_source: str) -> tuple[str, str, str, str] | str:
    """The row's (text, theme, source, group), or the reason it is invalid."""
    if "__error__" in record:
        return str(record["__error__"])
    for name in REQUIRED_COLUMNS:
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
    # Without a source the file is the source: its rows stay on one side of a CV fold.
    source = str(record.get("source") or "").strip() or default_source
    group = str(record.get("group") or "").strip() or source
    return text, theme, source, group


def _missing_columns(path: Path, found: Sequence[str], where: str) -> PlanthemeError | None:
    """The one error for a file whose header (or first record) lacks a required column."""
    missing = [name for name in REQUIRED_COLUMNS if name not in found]
    if not missing:
        return None
    return PlanthemeError(
        f"{path}: {where} has no {' or '.join(repr(name) for name in missing)};"
        f" found {', '.join(repr(name) for name in found) or 'nothing'},"
        f" expected {', '.join(REQUIRED_COLUMNS)} (optionally {', '.join(OPTIONAL_COLUMNS)})"
    )


def iter_labelled_file(path: Path) -> Iterator[LabelledSentence | str]:
    """The rows of one CSV, JSONL or ``.xlsx`` file as they are read: a row, or ``file:line: reason``.

    For files too large to hold (``plantheme evaluate`` streams them). A row
    without ``source`` takes the file's name. Raises :class:`PlanthemeError` for a
    file that is missing, of another type, in no readable encoding, not valid
    CSV, or whose header (a JSONL file's first record) lacks ``text`` or
    ``theme``: one error for the file, not one per row.
    """
    path = Path(path)
    if not path.is_file():
        raise PlanthemeError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix not in LABEL_SUFFIXES:
        raise PlanthemeError(f"{path}: expected a {', '.join(LABEL_SUFFIXES)} file")
    if suffix == ".jsonl":
        records = read_jsonl_records(path)
    else:
        problem = _missing_columns(path, read_columns(path), "the header")
        if problem is not None:
            raise problem
        records = _table_records(path)
    first = True
    try:
        for line, record in records:
            if first and "__error__" not in record:
                first = False
                problem = _missing_columns(path, list(record), f"the first record (line {line})")
                if problem is not None:
                    raise problem
            checked = _check(record, path.name)
            if isinstance(checked, str):
                yield f"{path}:{line}: {checked}"
                continue
            text, theme, source, group = checked
            genre = str(record.get("genre") or "").strip()
            yield LabelledSentence(text, theme, source, group, str(path), line, genre)
    except UnicodeDecodeError as exc:
        raise PlanthemeError(f"{path}: not valid text ({exc.reason} at byte {exc.start})") from None


def read_labelled_file(path: Path) -> list[LabelledSentence]:
    """Read one CSV, JSONL or ``.xlsx`` file of labelled sentences, checking every row.

    Raises :class:`PlanthemeError` listing each bad row as ``file:line: reason``.
    """
    rows: list[LabelledSentence] = []
    problems: list[str] = []
    for item in iter_labelled_file(path):
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
    """Read every ``.csv`` / ``.jsonl`` / ``.xlsx`` file under ``path`` (or the one file ``path`` names)."""
    path = Path(path)
    if path.is_file():
        return read_labelled_file(path)
    if not path.is_dir():
        raise PlanthemeError(f"{path}: no such file or folder")
    files = sorted(
        p
        for p in path.rglob("*")
        if p.suffix.lower() in LABEL_SUFFIXES and p.is_file() and not p.name.endswith(SPANS_SUFFIX)
    )
    if not files:
        raise PlanthemeError(f"{path}: no {', '.join(LABEL_SUFFIXES)} files of labelled sentences")
    rows: list[LabelledSentence] = []
    for file in files:
        if file.name.endswith(DOCUMENTS_SUFFIX):
            rows.extend(document_rows(read_labelled_documents(file)))
        else:
            rows.extend(read_labelled_file(file))
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


def document_rows(documents: Sequence[LabelledDocument]) -> list[LabelledSentence]:
    """Each labelled sentence of the documents as a row (its source the document's); a document is one CV group."""
    return [
        LabelledSentence(
            doc.text[span.start : span.end], span.theme, doc.source, doc.doc, doc.file, doc.line, doc.genre
        )
        for doc in documents
        for span in doc.spans
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
        for line, record in read_jsonl_records(path):
            error = record.get("__error__")
            parsed = str(error) if error else _parse_document(record)
            if isinstance(parsed, str):
                problems.append(f"{path}:{line}: {parsed}")
                continue
            text, genre, spans = parsed
            documents.append(LabelledDocument(str(record["doc"]), text, tuple(spans), genre, str(path), line))
    except UnicodeDecodeError as exc:
        raise PlanthemeError(f"{path}: not valid text ({exc.reason} at byte {exc.start})") from None
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
        for line, record in _table_records(path):
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
                problems.append(
                    f"{path}:{line}: field 'theme': unknown theme '{theme}' (expected one of {', '.join(THEME_IDS)})"
                )
            else:
                rows.append(
                    SpanRow(
                        str(record["path"]),
                        start,
                        end,
                        theme,
                        str(record.get("genre") or ""),
                        str(record.get("sha") or ""),
                        str(path),
                        line,
                    )
                )
    except UnicodeDecodeError as exc:
        raise PlanthemeError(f"{path}: not valid text ({exc.reason} at byte {exc.start})") from None
    if problems:
        raise PlanthemeError("\n".join(problems[:_MAX_REPORTED]))
    if not rows:
        raise PlanthemeError(f"{path}: no span labels")
    return rows


def span_sha(text: str) -> str:
    """The full hex SHA-256 of a span's text; a label's ``sha`` is a prefix of it."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def span_moved(row: SpanRow, text: str) -> bool:
    """True when ``row``'s span is not in ``text`` or no longer covers the text it was labelled on."""
    return row.end > len(text) or bool(row.sha and not span_sha(text[row.start : row.end]).startswith(row.sha))


def span_files(path: Path) -> list[Path]:
    """The span-label files (``*.spans.csv``) under ``path``, or ``path`` itself when it is one."""
    path = Path(path)
    if path.is_file():
        return [path] if path.name.endswith(SPANS_SUFFIX) else []
    return sorted(p for p in path.rglob(f"*{SPANS_SUFFIX}") if p.is_file()) if path.is_dir() else []


def read_span_documents(files: Sequence[Path], root: Path, *, max_chars: int) -> list[LabelledDocument]:
    """The documents under ``root`` that span-label ``files`` point into, each with its labelled spans.

    Each document is read as ``plantheme tag`` reads it (spans index that
    text; at most ``max_chars`` characters). A document is one CV group, named by its path; its
    genre is the one its rows give most often. Raises :class:`PlanthemeError`
    naming every label (file and line) whose document cannot be read, whose span
    is not in the text, or whose ``sha`` no longer matches (the extractor
    changed): training never learns a theme for text it was not labelled on.
    """
    by_path: dict[str, list[SpanRow]] = {}
    for file in files:
        for row in read_span_labels(file):
            by_path.setdefault(row.path, []).append(row)
    documents: list[LabelledDocument] = []
    problems: list[str] = []
    for path, rows in sorted(by_path.items()):
        first = min(rows, key=lambda r: (r.file, r.line))
        try:
            text = read_document(Path(root) / path, max_chars=max_chars).text
        except (OSError, UnreadableDocument) as exc:
            problems.append(f"{first.file}:{first.line}: {path}: cannot read the document ({exc})")
            continue
        spans: list[SpanLabel] = []
        for row in sorted(rows, key=lambda r: (r.start, r.end)):
            if span_moved(row, text):
                problems.append(f"{row.file}:{row.line}: {path} {row.start}-{row.end}: the span's text changed")
            else:
                spans.append(SpanLabel(row.start, row.end, row.theme))
        genres = [row.genre for row in rows if row.genre]
        genre = max(sorted(set(genres)), key=genres.count) if genres else ""
        documents.append(LabelledDocument(path, text, tuple(spans), genre, first.file, first.line, source="spans"))
    if problems:
        more = len(problems) - _MAX_REPORTED
        raise PlanthemeError("\n".join(problems[:_MAX_REPORTED]) + (f"\n… and {more} more" if more > 0 else ""))
    return documents
