"""Reading labelled sentences: CSV or JSONL files with ``text`` and ``theme``.

Used by ``plantheme train`` (``labels/``) and ``plantheme evaluate FILE``. Every
problem is reported with the file and line it is on; nothing is skipped silently.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from .errors import PlanthemeError
from .themes import THEME_IDS, is_theme

__all__ = ["LabelledSentence", "read_labelled_file", "read_labelled_dir", "iter_labelled_file", "LABEL_SUFFIXES"]

LABEL_SUFFIXES = (".csv", ".jsonl")
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
            yield LabelledSentence(text, theme, source, group, str(path), line)
    except UnicodeDecodeError as exc:
        raise PlanthemeError(f"{path}: not UTF-8 ({exc.reason} at byte {exc.start})") from None


def read_labelled_file(path: Path, require_group: bool = False) -> list[LabelledSentence]:
    """Read one CSV or JSONL file of labelled sentences, checking every row.

    Raises :class:`PlanthemeError` listing each bad row as ``file:line: reason``.
    """
    path = Path(path)
    if not path.is_file():
        raise PlanthemeError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix not in LABEL_SUFFIXES:
        raise PlanthemeError(f"{path}: expected a .csv or .jsonl file")
    records = _csv_records(path) if suffix == ".csv" else _jsonl_records(path)
    rows: list[LabelledSentence] = []
    problems: list[str] = []
    try:
        for line, record in records:
            checked = _check(record, require_group)
            if isinstance(checked, str):
                problems.append(f"{path}:{line}: {checked}")
                continue
            text, theme, source, group = checked
            rows.append(LabelledSentence(text, theme, source, group, str(path), line))
    except UnicodeDecodeError as exc:
        raise PlanthemeError(f"{path}: not UTF-8 ({exc.reason} at byte {exc.start})") from None
    if problems:
        shown = "\n".join(problems[:_MAX_REPORTED])
        more = len(problems) - _MAX_REPORTED
        raise PlanthemeError(shown + (f"\n… and {more} more bad rows" if more > 0 else ""))
    if not rows:
        raise PlanthemeError(f"{path}: no labelled rows")
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
        rows.extend(read_labelled_file(file, require_group=True))
    return rows
