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
or none, and the next run resumes from them. (One file rather than three: on
the file systems tested, opening and renaming files cost more than the bytes.)

The workers write entries; the main process only copies their bytes into the
outputs, so it stays light however many workers there are.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import BinaryIO, Iterator

from . import __version__
from .tag_outputs import RenderedSentences, atomic_file
from .tag_records import SentenceRecord

__all__ = ["CachedSummary", "TagCache", "CACHE_FORMAT"]

CACHE_FORMAT = 4
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
    def key(sha256: str, path: str, model_id: str, low_confidence: float) -> str:
        """The cache key of a document's content at ``path``, tagged by one model with one threshold."""
        material = f"{CACHE_FORMAT}|{__version__}|{sha256}|{path}|{model_id}|{low_confidence!r}"
        return hashlib.sha256(material.encode("utf-8")).hexdigest()

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
