"""Cache entries: written whole, read back byte for byte, incomplete ones ignored."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from plantheme.tagging.tag_cache import CachedSummary, TagCache
from plantheme.tagging.tag_outputs import render_sentences
from plantheme.tagging.tag_records import SentenceRecord

RECORDS = [
    SentenceRecord(0, 0, 5, "加快发展。", "industry", 0.91),
    # characters that str.splitlines() would cut at, inside one sentence's text
    SentenceRecord(1, 6, 14, "推进\u2028河长制\x85和\x1c林长制。", "ecology", 0.4321, ("low_confidence",)),
    SentenceRecord(2, 15, 18, '他说"好"', "other", 0.5),
]
SUMMARY = CachedSummary(
    format="text",
    encoding="utf-8",
    sentences=3,
    counts={"industry": 1, "ecology": 1, "other": 1},
    dominant="industry",
    garbled=0,
    low_confidence=1,
)


@pytest.fixture
def cache(tmp_path: Path) -> TagCache:
    return TagCache(tmp_path / "cache")


def test_entry_round_trip(cache: TagCache) -> None:
    rendered = render_sentences("a/b.txt", RECORDS)
    key = TagCache.key("0" * 64, "a/b.txt", "model-1", 0.5)
    assert not cache.has_entries()
    written = cache.write(key, SUMMARY, rendered)
    assert cache.has_entries()
    assert cache.summary(key) == written
    assert (written.jsonl_bytes, written.csv_bytes) == (len(rendered.jsonl.encode()), len(rendered.csv.encode()))
    jsonl, rows = io.BytesIO(), io.BytesIO()
    cache.copy_sentences(key, jsonl, rows)
    assert jsonl.getvalue().decode() == rendered.jsonl
    assert rows.getvalue().decode() == rendered.csv
    assert list(cache.sentences(key)) == RECORDS


def test_truncated_or_foreign_entries_do_not_count(cache: TagCache) -> None:
    key = TagCache.key("1" * 64, "x.txt", "model-1", 0.5)
    cache.write(key, SUMMARY, render_sentences("x.txt", RECORDS))
    path = next(cache.folder.iterdir())
    data = path.read_bytes()
    path.write_bytes(data[:-3])  # an interrupted copy
    assert cache.summary(key) is None
    path.write_bytes(b"not json\n" + data)
    assert cache.summary(key) is None
    assert cache.summary(TagCache.key("2" * 64, "x.txt", "model-1", 0.5)) is None  # no entry at all


@pytest.mark.parametrize(
    "field,value",
    [
        ("sha256", "3" * 64),
        ("path", "y.txt"),
        ("model_id", "model-2"),
        ("low_confidence", 0.6),
    ],
)
def test_key_changes_with_each_input(field: str, value: object) -> None:
    base = {"sha256": "0" * 64, "path": "x.txt", "model_id": "model-1", "low_confidence": 0.5}
    assert TagCache.key(**base) != TagCache.key(**{**base, field: value})  # type: ignore[arg-type]


def test_prune_keeps_only_used_entries(cache: TagCache) -> None:
    keys = [TagCache.key(str(i) * 64, f"{i}.txt", "m", 0.5) for i in range(3)]
    for key in keys:
        cache.write(key, SUMMARY, render_sentences("x.txt", RECORDS[:1]))
    (cache.folder / ".stale.123.abcd.tmp").write_bytes(b"half")
    assert cache.prune({keys[0]}) == 3
    assert [p.name for p in cache.folder.iterdir()] == [f"{keys[0]}.entry"]


def test_a_streamed_entry_reads_back_like_a_written_one(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from plantheme.tagging.tag_cache import CachedSummary, TagCache
    from plantheme.tagging.tag_outputs import render_sentences
    from plantheme.tagging.tag_records import SentenceRecord

    cache = TagCache(tmp_path / "cache")
    first = [SentenceRecord(0, 0, 3, "推进。", "ecology", 0.9)]
    second = [SentenceRecord(0, 0, 4, "新建。\u2028", "welfare", 0.8), SentenceRecord(1, 4, 6, "好", "other", 0.4)]
    summary = CachedSummary(
        format="jsonl",
        encoding="utf-8",
        sentences=3,
        counts={},
        dominant="",
        garbled=0,
        low_confidence=0,
        records=[{"doc": "a.jsonl#1"}, {"doc": "a.jsonl#2"}],
    )
    with cache.writer() as writer:
        writer.add(render_sentences("a.jsonl#1", first))
        writer.add(render_sentences("a.jsonl#2", second))
        writer.finish("k", summary)
    assert cache.summary("k").records == summary.records
    assert list(cache.sentences("k")) == first + second
    assert not [p for p in cache.folder.iterdir() if p.name.endswith(".tmp")]
