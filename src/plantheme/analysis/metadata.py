"""Document metadata (year, place, level …) from a CSV table, from the file names, or from records.

Three sources, later ones overriding earlier ones for the same field of the same document:

1. a JSONL/CSV corpus's own fields (``--meta-fields``, already in each record's outcome);
2. patterns over the document's path (``--meta-pattern``): ``NAME=REGEX`` (the value is the
   regex's first group, or its whole match without groups) or a regex with named groups
   ``(?P<year>20\\d\\d)``; searched anywhere in the path relative to the tagged folder
   (``FILE#ID`` for a record); a path that does not match gets no value;
3. a metadata table (``--meta FILE.csv``): a ``path`` column (relative to the tagged folder, as
   in ``documents.csv``; ``FILE#ID`` for a record) and one column per field.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path

from ..errors import PlanthemeError

__all__ = [
    "PATH_COLUMN",
    "MetaPattern",
    "MetaSources",
    "MetaTable",
    "check_table_paths",
    "describe_sources",
    "parse_meta_pattern",
    "read_meta_table",
]

PATH_COLUMN = "path"
_FIELD_FORM = re.compile(r"([^\W\d]\w*)=(.+)", re.DOTALL)


@dataclass(frozen=True)
class MetaPattern:
    """A regular expression over document paths and the fields its groups fill.

    ``field`` is set for the ``NAME=REGEX`` form; otherwise the named groups are the fields.
    """

    regex: re.Pattern[str]
    field: str | None = None

    @property
    def fields(self) -> tuple[str, ...]:
        """The metadata fields this pattern gives values to."""
        return (self.field,) if self.field else tuple(self.regex.groupindex)

    def values(self, path: str) -> dict[str, str]:
        """The fields' values found in ``path`` (none when it does not match)."""
        match = self.regex.search(path)
        if match is None:
            return {}
        if self.field:
            value = match.group(1) if self.regex.groups else match.group(0)
            return {self.field: value} if value else {}
        return {name: value for name, value in match.groupdict().items() if value}


def parse_meta_pattern(text: str) -> MetaPattern:
    """Parse a ``--meta-pattern``: ``NAME=REGEX`` or a regex with named groups; ValueError says what is wrong."""
    form = _FIELD_FORM.fullmatch(text)
    source, name = (form.group(2), form.group(1)) if form else (text, None)
    try:
        regex = re.compile(source)
    except re.error as exc:
        raise ValueError(f"{text!r}: not a regular expression ({exc})") from None
    if name is None and not regex.groupindex:
        raise ValueError(f"{text!r}: name the field, as year=(20\\d\\d), or use a named group, as (?P<year>20\\d\\d)")
    return MetaPattern(regex=regex, field=name)


@dataclass(frozen=True)
class MetaTable:
    """A metadata table: each path's values and the line it is on (for messages)."""

    source: str
    fields: tuple[str, ...]
    rows: Mapping[str, Mapping[str, str]]
    lines: Mapping[str, int]


def _normalise_path(path: str) -> str:
    # Tables made on Windows write backslashes; "./a.txt" is the same file as "a.txt".
    path = path.strip().replace("\\", "/")
    while path.startswith("./"):
        path = path[2:]
    return path


def _decode_table(path: Path, data: bytes) -> str:
    # Excel in a Chinese locale saves CSV as GBK: tried after UTF-8 (strictly, so one is right).
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise PlanthemeError(f"{path}: neither UTF-8 nor GB18030; save the table as UTF-8 CSV")


def read_meta_table(path: Path, reserved: Collection[str] = ()) -> MetaTable:
    """Read a metadata CSV; a bad table raises :class:`PlanthemeError` naming the file and line.

    ``reserved`` are column names of ``documents.csv`` a field may not take.
    """
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise PlanthemeError(f"{path}: cannot read the metadata table: {exc.strerror or exc}") from None
    reader = csv.reader(io.StringIO(_decode_table(path, data), newline=""))
    try:
        header = [name.strip() for name in next(reader, [])]
        if PATH_COLUMN not in header:
            found = ", ".join(header) or "nothing"
            raise PlanthemeError(f"{path}:1: no '{PATH_COLUMN}' column (the header has {found})")
        fields = [name for name in header if name != PATH_COLUMN]
        _check_fields(path, header, fields, reserved)
        where = header.index(PATH_COLUMN)
        rows: dict[str, dict[str, str]] = {}
        lines: dict[str, int] = {}
        start = reader.line_num + 1
        for row in reader:
            line = start
            start = reader.line_num + 1
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise PlanthemeError(f"{path}:{line}: {len(row)} fields, the header has {len(header)}")
            doc = _normalise_path(row[where])
            if not doc:
                raise PlanthemeError(f"{path}:{line}: the '{PATH_COLUMN}' field is empty")
            if doc in rows:
                raise PlanthemeError(f"{path}:{line}: '{doc}' again (first on line {lines[doc]})")
            rows[doc] = {name: cell.strip() for name, cell in zip(header, row) if name != PATH_COLUMN and cell.strip()}
            lines[doc] = line
    except csv.Error as exc:
        raise PlanthemeError(f"{path}:{reader.line_num}: not valid CSV ({exc})") from None
    return MetaTable(source=str(path), fields=tuple(fields), rows=rows, lines=lines)


def _check_fields(path: Path, header: list[str], fields: list[str], reserved: Collection[str]) -> None:
    if header.count(PATH_COLUMN) > 1:
        raise PlanthemeError(f"{path}:1: the '{PATH_COLUMN}' column is there twice")
    for name in fields:
        if not name:
            raise PlanthemeError(f"{path}:1: a column has no name")
        if fields.count(name) > 1:
            raise PlanthemeError(f"{path}:1: the column '{name}' is there twice")
        if "=" in name:
            raise PlanthemeError(f"{path}:1: '{name}': a field name may not hold '=' (groups are field=value)")
        if name in reserved:
            raise PlanthemeError(f"{path}:1: '{name}' is already a column of documents.csv; rename it")


def check_table_paths(table: MetaTable, documents: Collection[str], folder: str) -> None:
    """Raise :class:`PlanthemeError` naming the first row whose path is not one of ``documents``."""
    for doc, line in sorted(table.lines.items(), key=lambda item: item[1]):
        if doc not in documents:
            raise PlanthemeError(f"{table.source}:{line}: '{doc}' is not a document of {folder}")


@dataclass(frozen=True)
class MetaSources:
    """Where documents' metadata comes from besides their own fields: patterns and a table."""

    patterns: tuple[MetaPattern, ...] = ()
    table: MetaTable | None = None

    def fields(self, record_fields: tuple[str, ...] = ()) -> tuple[str, ...]:
        """Every field, in output order: the records' own, the patterns', the table's (each once)."""
        names: list[str] = list(record_fields)
        for pattern in self.patterns:
            names.extend(pattern.fields)
        if self.table is not None:
            names.extend(self.table.fields)
        return tuple(dict.fromkeys(names))

    def meta_for(self, path: str, own: Mapping[str, str]) -> dict[str, str]:
        """A document's metadata: its own fields, then the patterns', then the table's row.

        A field a document has no value for is absent (an empty cell in the outputs).
        """
        meta = {name: value for name, value in own.items() if value}
        for pattern in self.patterns:
            meta.update(pattern.values(path))
        if self.table is not None:
            meta.update(self.table.rows.get(path, {}))
        return meta


def describe_sources(sources: MetaSources) -> dict[str, object]:
    """The manifest's account of the metadata sources: patterns and table."""
    return {
        "patterns": [
            pattern.regex.pattern if not pattern.field else f"{pattern.field}={pattern.regex.pattern}"
            for pattern in sources.patterns
        ],
        "table": sources.table.source if sources.table else None,
    }
