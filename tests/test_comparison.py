"""Comparing two documents or groups: differences, their intervals, which are clear; reading a tagged folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from plantheme.analysis.comparison import (
    TaggedCorpus,
    compare_selections,
    comparison_as_json,
    format_comparison,
    read_tagged_corpus,
)
from plantheme.analysis.shares import Confusion, DocumentCounts, analyse_corpus
from plantheme.errors import PlanthemeError
from plantheme.themes import THEME_IDS

N = len(THEME_IDS)
CONFUSION = Confusion(tuple(tuple(180 if i == j else 5 for j in range(N)) for i in range(N)), "test matrix")


def _corpus(documents: list[DocumentCounts]) -> TaggedCorpus:
    return TaggedCorpus(
        source="out/manifest.json",
        documents=tuple(documents),
        meta_fields=("year",),
        confusion=CONFUSION,
        confusion_source=CONFUSION.source,
        replicates=500,
        seed=0,
    )


def _docs() -> list[DocumentCounts]:
    # 2019: ecology about 30% of predicted sentences; 2024: about 5%. Industry alike in both.
    docs = []
    for i in range(6):
        docs.append(DocumentCounts(f"a{i}.txt", (20 + i, 5, 5, 5, 30 + i, 10, 10, 10), {"year": "2019"}))
        docs.append(DocumentCounts(f"b{i}.txt", (22 - i, 5, 5, 5, 5, 30 + i, 10, 10), {"year": "2024"}))
    return docs


def test_a_large_difference_is_clear_and_a_small_one_is_not() -> None:
    comparison = compare_selections(_corpus(_docs()), "year=2019", "year=2024")
    ecology, industry = comparison.differences["ecology"], comparison.differences["industry"]
    assert ecology.clear and ecology.lo > 0.1
    assert not industry.clear and industry.lo < 0 < industry.hi
    assert comparison.differences["welfare"].clear and comparison.differences["welfare"].hi < 0
    for theme in THEME_IDS:
        d = comparison.differences[theme]
        assert d.lo <= d.estimate <= d.hi
        assert d.estimate == pytest.approx(comparison.a.shares[theme].estimate - comparison.b.shares[theme].estimate)
    assert (comparison.a.documents, comparison.a.content_sentences) == (6, sum(sum(d.counts) for d in _docs()[::2]))


def test_a_selection_compared_with_itself_has_no_clear_difference() -> None:
    comparison = compare_selections(_corpus(_docs()), "a0.txt", "a0.txt")
    assert not any(d.clear for d in comparison.differences.values())
    assert all(d.estimate == 0 for d in comparison.differences.values())


def test_compare_gives_the_shares_of_groups_csv() -> None:
    corpus = _corpus(_docs())
    analysis = analyse_corpus(corpus.documents, ("year",), CONFUSION, replicates=500, seed=0)
    comparison = compare_selections(corpus, "year=2019", "a3.txt")
    assert comparison.a == analysis.groups["year"][0]
    assert comparison.b == analysis.documents["a3.txt"]


@pytest.mark.parametrize(
    ("a", "message"),
    [
        ("year=1999", "no document or group 'year=1999'"),
        ("nothing.txt", "fields: year"),
    ],
)
def test_an_unknown_selection_is_named(a: str, message: str) -> None:
    with pytest.raises(PlanthemeError, match=message):
        compare_selections(_corpus(_docs()), a, "year=2019")


def test_a_selection_without_content_sentences_is_refused() -> None:
    docs = [*_docs(), DocumentCounts("empty.txt", (0,) * N, {})]
    with pytest.raises(PlanthemeError, match="'empty.txt' has no content sentences"):
        compare_selections(_corpus(docs), "empty.txt", "a0.txt")


def test_text_and_json_say_the_same() -> None:
    comparison = compare_selections(_corpus(_docs()), "year=2019", "year=2024")
    text = format_comparison(comparison)
    data = comparison_as_json(comparison)
    assert [t["theme"] for t in data["themes"] if t["clear"]] == [
        line.split()[0] for line in text.splitlines()[4 : 4 + N] if line.rstrip().endswith("yes")
    ]
    assert "A  year=2019: 6 documents" in text and "test matrix" in text
    assert data["a"]["selector"] == "year=2019" and data["replicates"] == 500


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "not there; give the output folder"),
        ("{}", "written without theme shares"),
        ('{"shares": {}, "files": []}', "damaged manifest"),
    ],
)
def test_a_missing_or_old_manifest_is_one_clear_error(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "manifest.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(PlanthemeError, match=message):
        read_tagged_corpus(path)


def test_the_manifest_gives_back_documents_and_settings(tmp_path: Path) -> None:
    manifest = {
        "shares": {
            "confusion": [list(row) for row in CONFUSION.counts],
            "confusion_source": "m",
            "replicates": 300,
            "seed": 4,
            "meta_fields": ["year"],
        },
        "files": [
            {"path": "a.txt", "status": "tagged", "counts": dict.fromkeys(THEME_IDS, 1), "meta": {"year": "2024"}},
            {"path": "b.txt", "status": "failed"},
        ],
    }
    (tmp_path / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    corpus = read_tagged_corpus(tmp_path / "manifest.json")
    assert corpus.documents == (DocumentCounts("a.txt", (1,) * N, {"year": "2024"}),)
    assert (corpus.replicates, corpus.seed, corpus.confusion) == (300, 4, Confusion(CONFUSION.counts, "m"))
