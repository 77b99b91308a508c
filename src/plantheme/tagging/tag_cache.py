"""The cache of tagged documents under ``OUTDIR/.cache/`` that makes reruns incremental.

An entry holds one document's lines of ``sentences.jsonl`` and rows of
``sentences.csv``, ready to append, plus a summary. Its key covers the
content's sha256, the document's path, the model id, the low-confidence
threshold and the plantheme version: a document is tagged again only when one
of those changes. (The path is in the key because the rendered lines carry it;
a renamed document is tagged again.)

An entry is one file, ``KEY.entry``: a first line with the summary (JSON,
including the byte sizes of the two blocks), then the sentence lines, then the
CSV rows. It is written to a temporary name and renamed into place, and counts
only when its size matches its summary: an interrupted run leaves whole entries
or none, and the next run resumes from them. A file of records (JSONL/CSV) is
one entry: its sentences in record order and, in the summary, one small record
per document (``records``), written as a stream (:class:`EntryWriter`) so that
a large file never sits in memory. (One file rather than three: on
the file systems tested, opening and renaming files cost more than the bytes.)

The workers write entries; the main process only copies their bytes into the
outputs, so it stays light however many workers there are.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import secrets
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, BinaryIO
from collections.abc import Iterator

from .._version import __version__
from .tag_outputs import RenderedSentences, atomic_file
from .tag_records import SentenceRecord

__all__ = ["CachedSummary", "TagCache", "EntryWriter", "CACHE_FORMAT"]

CACHE_FORMAT = 5
_SUFFIX = ".entry"


@dataclass(frozen=True)
class CachedSummary:
    """What a cache entry records about its document besides the sentences."""

    format: str
    encoding: str
    sentences: int
    counts: dict[str, int]
    dominant: str
    garbled: int
    low_confidence: int
    boilerplate: int = 0
    jsonl_bytes: int = 0
    csv_bytes: int = 0
    records: list[dict[str, Any]] | None = None


def _read_header(handle: BinaryIO) -> tuple[CachedSummary, int]:
    """The summary on an entry's first line, and that line's length in bytes.

    Raises ValueError for an entry of another cache format.
    """
    header = handle.readline()
    raw = json.loads(header)
    if raw.pop("cache_format") != CACHE_FORMAT:
        raise ValueError("another cache format")
    return CachedSummary(**raw), len(header)


class TagCache:
    """Cache entries in one folder, keyed by :meth:`key`."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    @staticmethod
    def key(sha256: str, path: str, model_id: str, low_confidence: float, variant: str = "") -> str:
        """The cache key of a document's content at ``path``, tagged by one model with one threshold.

        ``path`` may hold any bytes of a file name (surrogate-escaped, as
        ``os.scandir`` gives them); ``variant`` covers the options that change
        the output of a file of records.
        """
        material = f"{CACHE_FORMAT}|{__version__}|{sha256}|{path}|{model_id}|{low_confidence!r}|{variant}"
        return hashlib.sha256(material.encode("utf-8", "surrogateescape")).hexdigest()

    def _file(self, key: str) -> Path:
        return self.folder / f"{key}{_SUFFIX}"

    def has_entries(self) -> bool:
        """True when the folder holds at least one entry (a first run has nothing to look up)."""
        return self.folder.is_dir() and any(self.folder.glob(f"*{_SUFFIX}"))

    def summary(self, key: str) -> CachedSummary | None:
        """The summary of the entry for ``key``, or None when there is no complete entry."""
        try:
            path = self._file(key)
            with path.open("rb") as handle:
                summary, header_bytes = _read_header(handle)
                size = path.stat().st_size
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None
        complete = size == header_bytes + summary.jsonl_bytes + summary.csv_bytes
        return summary if complete else None

    def write(self, key: str, summary: CachedSummary, rendered: RenderedSentences) -> CachedSummary:
        """Store an entry; return the summary with the sizes."""
        self.folder.mkdir(parents=True, exist_ok=True)
        jsonl = rendered.jsonl.encode("utf-8")
        rows = rendered.csv.encode("utf-8")
        summary = CachedSummary(**{**asdict(summary), "jsonl_bytes": len(jsonl), "csv_bytes": len(rows)})
        header = json.dumps({"cache_format": CACHE_FORMAT, **asdict(summary)}, ensure_ascii=False)
        with atomic_file(self._file(key), binary=True, durable=False) as handle:
            handle.write(header.encode("utf-8") + b"\n" + jsonl + rows)
        return summary

    def entry_bytes(self, key: str) -> bytes:
        """The whole entry for ``key``, as stored (to hand it to another cache, see :meth:`store_entry`)."""
        return self._file(key).read_bytes()

    def store_entry(self, key: str, data: bytes) -> None:
        """Store an entry made by another cache (a Dask worker's), byte for byte.

        Checked as :meth:`summary` checks entries: a truncated one raises
        ValueError and is not stored.
        """
        self.folder.mkdir(parents=True, exist_ok=True)
        header_end = data.find(b"\n") + 1
        try:
            summary, _ = _read_header(io.BytesIO(data[:header_end]))
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"not a cache entry ({exc})") from None
        if len(data) != header_end + summary.jsonl_bytes + summary.csv_bytes:
            raise ValueError("a cache entry of the wrong size")
        with atomic_file(self._file(key), binary=True, durable=False) as handle:
            handle.write(data)

    def writer(self) -> EntryWriter:
        """A streamed entry: add the sentences of one document after another, then :meth:`EntryWriter.finish`."""
        return EntryWriter(self)

    def copy_sentences(self, key: str, jsonl: BinaryIO, csv_rows: BinaryIO) -> None:
        """Append the entry's sentence lines and CSV rows to the outputs, byte for byte."""
        with self._file(key).open("rb") as handle:
            summary, _ = _read_header(handle)
            jsonl.write(handle.read(summary.jsonl_bytes))
            shutil.copyfileobj(handle, csv_rows, 1 << 20)

    def sentences(self, key: str) -> Iterator[SentenceRecord]:
        """The entry's sentences, in order, parsed lazily."""
        with self._file(key).open("rb") as handle:
            summary, _ = _read_header(handle)
            block = handle.read(summary.jsonl_bytes).decode("utf-8")
        # split("\n"), not splitlines(): a sentence's text may hold U+2028 or
        # U+0085, which JSON leaves unescaped and splitlines() would cut at.
        for line in block.split("\n")[:-1]:
            yield SentenceRecord.from_json(line)

    def prune(self, keep: set[str]) -> int:
        """Delete the files of entries not in ``keep`` and stale temporary files; return how many."""
        removed = 0
        if not self.folder.is_dir():
            return 0
        for entry in self.folder.iterdir():
            name = entry.name
            stale_tmp = name.startswith(".") and name.endswith(".tmp")
            unused = not name.startswith(".") and name.split(".", 1)[0] not in keep
            if stale_tmp or unused:
                entry.unlink(missing_ok=True)
                removed += 1
        return removed

    def remove_temporary(self) -> int:
        """Delete temporary files (of entries being written when a run stopped); return how many.

        Only for a run holding the output folder's lock, after its workers ended.
        """
        if not self.folder.is_dir():
            return 0
        removed = 0
        for entry in self.folder.iterdir():
            if entry.name.startswith(".") and entry.name.endswith(".tmp"):
                entry.unlink(missing_ok=True)
                removed += 1
        return removed


class EntryWriter:
    """Writes one cache entry document by document, holding at most one document in memory.

    The two blocks go to temporary files in the cache folder and are joined
    behind the summary line by :meth:`finish`; :meth:`discard` (or an
    exception inside ``with``) removes them.
    """

    def __init__(self, cache: TagCache) -> None:
        cache.folder.mkdir(parents=True, exist_ok=True)
        self.cache = cache
        stem = f".{os.getpid()}.{secrets.token_hex(4)}"
        self._jsonl = tempfile.NamedTemporaryFile(
            "wb", dir=cache.folder, prefix=stem, suffix=".jsonl.tmp", delete=False
        )
        self._csv = tempfile.NamedTemporaryFile("wb", dir=cache.folder, prefix=stem, suffix=".csv.tmp", delete=False)
        self.jsonl_bytes = 0
        self.csv_bytes = 0

    def add(self, rendered: RenderedSentences) -> None:
        """Append one document's rendered sentences."""
        jsonl = rendered.jsonl.encode("utf-8")
        rows = rendered.csv.encode("utf-8")
        self._jsonl.write(jsonl)
        self._csv.write(rows)
        self.jsonl_bytes += len(jsonl)
        self.csv_bytes += len(rows)

    def finish(self, key: str, summary: CachedSummary) -> CachedSummary:
        """Store the entry under ``key`` with ``summary`` (sizes filled in); return that summary."""
        summary = CachedSummary(**{**asdict(summary), "jsonl_bytes": self.jsonl_bytes, "csv_bytes": self.csv_bytes})
        header = json.dumps({"cache_format": CACHE_FORMAT, **asdict(summary)}, ensure_ascii=False)
        try:
            self._jsonl.close()
            self._csv.close()
            with atomic_file(self.cache._file(key), binary=True, durable=False) as handle:
                handle.write(header.encode("utf-8") + b"\n")
                for part in (self._jsonl.name, self._csv.name):
                    with open(part, "rb") as block:
                        shutil.copyfileobj(block, handle, 1 << 20)
        finally:
            self.discard()
        return summary

    def discard(self) -> None:
        """Remove the temporary files."""
        for part in (self._jsonl, self._csv):
            part.close()
            Path(part.name).unlink(missing_ok=True)

    def __enter__(self) -> EntryWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.discard()
