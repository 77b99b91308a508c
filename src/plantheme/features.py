"""Character n-gram TF-IDF, vectorised with NumPy.

scikit-learn's ``TfidfVectorizer(analyzer="char")`` builds every n-gram as a
Python string and looks it up in a dict: about 2 µs per n-gram, which made it
the bottleneck of prediction. Here each n-gram of up to three characters is a
single 63-bit integer (21 bits per code point), computed for a whole batch at
once; the vocabulary is a sorted array of those codes and lookup is one
``np.searchsorted``. The weights are scikit-learn's: raw or sublinear term
frequency, smoothed idf ``ln((1 + n) / (1 + df)) + 1``, rows scaled to unit
length (``tests/test_features.py`` checks equality with ``TfidfVectorizer``).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

__all__ = ["CharNgramTfidf"]

_BITS = 21  # every Unicode code point, plus one, fits in 21 bits
_MAX_N = 3  # 3 x 21 = 63 bits: one n-gram per int64
_DIGITS = np.arange(ord("0"), ord("9") + 1)


def _code_points(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """All texts' code points (plus one; 0 marks a boundary) and each text's start offset."""
    joined = "\x00".join(texts)
    points = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
    points += 1
    points[points == 1] = 0  # the "\x00" separators
    lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
    starts = np.concatenate(([0], np.cumsum(lengths + 1)[:-1]))
    return points, starts


def _ngram_codes(texts: Sequence[str], n_min: int, n_max: int, fold_digits: bool) -> tuple[np.ndarray, np.ndarray]:
    """(row, code) of every character n-gram of every text, n in [n_min, n_max]."""
    points, starts = _code_points(texts)
    if fold_digits:
        # Every digit counts as "0": numbers say "a target", not which one.
        points[np.isin(points, _DIGITS + 1)] = ord("0") + 1
    row_of = np.zeros(len(points), dtype=np.int64)
    if len(texts) > 1:
        row_of[starts[1:] - 1] = 1
        row_of = np.cumsum(row_of)
    rows_out, codes_out = [], []
    for n in range(n_min, n_max + 1):
        if len(points) < n:
            continue
        count = len(points) - n + 1
        code = np.zeros(count, dtype=np.int64)
        valid = np.ones(count, dtype=bool)
        for k in range(n):
            window = points[k:k + count]
            code = (code << _BITS) | window
            valid &= window != 0
        rows_out.append(row_of[:count][valid])
        codes_out.append(code[valid])
    if not codes_out:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(rows_out), np.concatenate(codes_out)


def _decode(code: int) -> str:
    chars = []
    while code:
        chars.append(chr((code & ((1 << _BITS) - 1)) - 1))
        code >>= _BITS
    return "".join(reversed(chars))


class CharNgramTfidf(TransformerMixin, BaseEstimator):
    """TF-IDF over character n-grams (n up to 3), as scikit-learn computes it, vectorised."""

    def __init__(self, ngram_range: tuple[int, int] = (1, 3), min_df: int = 1,
                 sublinear_tf: bool = True, fold_digits: bool = True) -> None:
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.sublinear_tf = sublinear_tf
        self.fold_digits = fold_digits

    def _check_params(self) -> tuple[int, int]:
        n_min, n_max = self.ngram_range
        if not 1 <= n_min <= n_max <= _MAX_N:
            raise ValueError(f"ngram_range must lie within (1, {_MAX_N}), not {self.ngram_range}")
        return n_min, n_max

    def fit(self, X: Sequence[str], y: Any = None) -> "CharNgramTfidf":
        """Learn the vocabulary (n-grams in at least ``min_df`` texts) and their idf."""
        n_min, n_max = self._check_params()
        texts = list(X)
        rows, codes = _ngram_codes(texts, n_min, n_max, self.fold_digits)
        pairs = np.unique(np.stack([codes, rows]), axis=1)  # one (code, row) per document
        vocab, df = np.unique(pairs[0], return_counts=True)
        keep = df >= self.min_df
        self.vocabulary_codes_ = vocab[keep]
        n_docs = len(texts)
        self.idf_ = np.log((1.0 + n_docs) / (1.0 + df[keep])) + 1.0
        return self

    def transform(self, X: Sequence[str]) -> sp.csr_matrix:
        """TF-IDF rows for ``X`` over the fitted vocabulary (unknown n-grams ignored)."""
        check_is_fitted(self, "vocabulary_codes_")
        n_min, n_max = self._check_params()
        texts = list(X)
        n_features = len(self.vocabulary_codes_)
        if not texts:
            return sp.csr_matrix((0, n_features))
        rows, codes = _ngram_codes(texts, n_min, n_max, self.fold_digits)
        # Look up each distinct n-gram once: a batch repeats most of them, and
        # searching sorted keys is cache-friendly (2x faster than direct).
        distinct, inverse = np.unique(codes, return_inverse=True)
        found = np.searchsorted(self.vocabulary_codes_, distinct)
        found[found == n_features] = 0
        cols = found[inverse]
        known = self.vocabulary_codes_[cols] == codes if n_features else np.zeros(len(codes), bool)
        counts = sp.csr_matrix(
            (np.ones(int(known.sum())), (rows[known], cols[known])),
            shape=(len(texts), n_features),
        )
        counts.sum_duplicates()
        if self.sublinear_tf:
            counts.data = np.log(counts.data) + 1.0
        counts = counts @ sp.diags(self.idf_)
        norms = np.sqrt(np.asarray(counts.multiply(counts).sum(axis=1)).ravel())
        norms[norms == 0] = 1.0
        return sp.csr_matrix(sp.diags(1.0 / norms) @ counts)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """The n-gram of each column."""
        check_is_fitted(self, "vocabulary_codes_")
        return np.array([_decode(int(c)) for c in self.vocabulary_codes_], dtype=object)
