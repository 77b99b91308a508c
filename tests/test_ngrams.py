"""ngrams: CsrRows (sparse rows whose product with dense weights is scipy's, to the bit) and column lookups."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from plantheme.model import ngrams
from plantheme.model.ngrams import CsrRows, NgramTfidf, _CodeTable, fit_vocabulary, ngram_codes


def _random_rows(n_rows: int, n_columns: int, density: float, seed: int) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    matrix = sp.random(n_rows, n_columns, density=density, format="csr", random_state=rng)
    matrix.data = rng.normal(size=matrix.nnz)
    return matrix


@pytest.mark.parametrize(
    ("n_rows", "n_columns", "density", "n_out"),
    [
        (50, 300, 0.05, 8),  # a batch of sentences over eight themes
        (50, 300, 0.05, 1),  # a binary classifier: one weight column
        (7, 40, 0.0, 3),  # only empty rows
        (0, 40, 0.0, 8),  # no rows
        (200, 1000, 0.001, 8),  # most rows empty, some at the start and the end
        (3000, 1000, 0.02, 8),  # more stored values than one step of the product
    ],
)
def test_product_with_dense_weights_is_scipys_to_the_bit(
    n_rows: int, n_columns: int, density: float, n_out: int
) -> None:
    matrix = _random_rows(n_rows, n_columns, density, seed=n_rows + n_out)
    weights = np.random.default_rng(1).normal(size=(n_columns, n_out)) * 1e3
    rows = CsrRows.of(matrix)
    assert rows.shape == (n_rows, n_columns)
    assert np.array_equal(rows.dot(weights), matrix @ weights)
    assert np.array_equal(rows @ weights, rows.dot(weights))


@pytest.mark.parametrize("density", [0.05, 0.001])
def test_product_in_small_steps_is_scipys_to_the_bit(monkeypatch: pytest.MonkeyPatch, density: float) -> None:
    # Steps of a few stored values: rows longer than a step, and steps ending at empty rows.
    monkeypatch.setattr(ngrams, "_PRODUCT_CHUNK", 5)
    matrix = _random_rows(200, 1000, density, seed=7)
    weights = np.random.default_rng(2).normal(size=(1000, 8)) * 1e3
    assert np.array_equal(CsrRows.of(matrix).dot(weights), matrix @ weights)


def test_rows_of_any_scipy_format_and_back() -> None:
    matrix = _random_rows(20, 30, 0.2, seed=3)
    for form in (matrix, matrix.tocoo(), matrix.tocsc()):
        rows = CsrRows.of(form)
        assert (rows.to_scipy() != matrix).nnz == 0
    rows = CsrRows.of(matrix)
    assert np.shares_memory(rows.to_scipy().data, rows.data)  # the same arrays, not a copy


def test_no_rows() -> None:
    rows = CsrRows.empty(12)
    assert rows.shape == (0, 12) and rows.dot(np.ones((12, 8))).shape == (0, 8)
    assert rows.to_scipy().shape == (0, 12)


def test_lookups_find_the_same_columns_by_search_and_by_hash_table() -> None:
    texts = ["全面落实河长制，推进流域水环境综合治理。", "新建幼儿园2所。", "𠮷野家"]
    vocabulary, idf = fit_vocabulary(texts, (1, 3), 1, True)
    _, every = ngram_codes(texts + ["没见过的字句"], 1, 3, True)
    codes = np.concatenate([every[:8], every[-8:]])  # known n-grams and unknown ones
    truth = {int(code): column for column, code in enumerate(vocabulary.tolist())}
    expected = np.array([truth.get(int(code), -1) for code in codes])
    assert (expected >= 0).any() and (expected == -1).any()
    tfidf = NgramTfidf(vocabulary, idf, (1, 3), True, True)
    first = tfidf.columns(2, codes)  # fewer codes than the vocabulary: a binary search
    assert tfidf._table is None
    for _ in range(len(vocabulary) // len(codes) + 1):
        again = tfidf.columns(2, codes)
    assert tfidf._table is not None  # enough lookups: the hash table
    assert np.array_equal(first, expected) and np.array_equal(again, expected)
    shuffled = NgramTfidf(vocabulary[::-1].copy(), idf[::-1].copy(), (1, 3), True, True)  # unsorted: table only
    assert np.array_equal(shuffled.columns(2, codes), np.where(expected >= 0, len(vocabulary) - 1 - expected, -1))


@pytest.mark.parametrize("home", [7, 254])  # a cluster in the middle, one that wraps past the end
def test_hash_table_finds_every_code_of_a_cluster_of_collisions(home: int) -> None:
    """Codes that all want the same slot probe on, whichever of them is placed first."""
    rng = np.random.default_rng(home)
    pool = rng.integers(0, 2**62, 400_000, dtype=np.int64)
    sizing = _CodeTable(pool[:64])  # 64 codes: a table of 256 slots
    slots = sizing._slots(pool)
    crowd = pool[slots == home][:40]
    others = pool[(slots != home) & (slots != (home + 1) % 256)][:24]
    codes = np.concatenate([crowd, others])
    assert len(crowd) == 40 and len(codes) == 64
    table = _CodeTable(codes)
    assert np.array_equal(table.lookup(codes), np.arange(len(codes)))
    assert np.array_equal(table.lookup(codes[::-1].copy()), np.arange(len(codes))[::-1])
    unknown = np.setdiff1d(pool[100_000:101_000], codes)
    assert (table.lookup(unknown) == -1).all()
