"""Character n-grams as integers, and their TF-IDF rows, in NumPy (no scikit-learn).

scikit-learn's ``TfidfVectorizer(analyzer="char")`` builds every n-gram as a
Python string and looks it up in a dict: about 2 µs per n-gram, which made it
the bottleneck of prediction. Here each n-gram of up to three characters is a
single 63-bit integer (21 bits per code point), computed for a whole batch at
once, and looked up in an open-addressing hash table probed with NumPy. The
weights are scikit-learn's: raw or sublinear term frequency, smoothed idf
``ln((1 + n) / (1 + df)) + 1``, rows scaled to unit length
(``tests/test_features.py`` checks equality with ``TfidfVectorizer``).

This module imports neither scikit-learn nor scipy (the rows are a :class:`CsrRows`,
three NumPy arrays in scipy's CSR layout), so that predicting and tagging with a saved
model (:class:`plantheme.model.scoring.CompiledModel`) start in a fraction of the time;
:class:`plantheme.model.features.CharNgramTfidf` is the estimator around it, and hands
scikit-learn a ``scipy.sparse`` matrix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterator, Sequence

import numpy as np

if TYPE_CHECKING:  # scipy only where scikit-learn needs its matrices (training, review)
    import scipy.sparse as sp

__all__ = ["MAX_N", "CsrRows", "NgramTfidf", "ngram_codes", "decode_ngram", "fit_vocabulary"]

_BITS = 21  # every Unicode code point, plus one, fits in 21 bits
MAX_N = 3  # 3 x 21 = 63 bits: one n-gram per int64
# Stored values per step of CsrRows.dot: its temporaries, 16 bytes per value and output, stay about 1 MB.
_PRODUCT_CHUNK = 1 << 14


@dataclass(frozen=True)
class CsrRows:
    """Sparse rows in compressed sparse row form: scipy's ``csr_matrix`` layout as plain NumPy arrays.

    Row ``i`` holds ``data[indptr[i]:indptr[i + 1]]`` in columns
    ``indices[indptr[i]:indptr[i + 1]]``. Importing ``scipy.sparse`` took
    0.16-0.26 s of every ``plantheme predict`` (cumulative, ``python -X
    importtime``, 2026-12-02); inference only needs the product of these rows
    with dense weights, and their stored values.
    """

    data: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray
    shape: tuple[int, int]

    @classmethod
    def of(cls, matrix: Any) -> CsrRows:
        """The rows of a ``scipy.sparse`` matrix (or of anything with CSR arrays), sharing its arrays."""
        if not hasattr(matrix, "indptr") or getattr(matrix, "format", "csr") != "csr":
            matrix = matrix.tocsr()
        n_rows, n_columns = matrix.shape
        return cls(matrix.data, matrix.indices, matrix.indptr, (int(n_rows), int(n_columns)))

    @classmethod
    def empty(cls, n_columns: int) -> CsrRows:
        """No rows over ``n_columns`` columns."""
        return cls(np.zeros(0), np.zeros(0, dtype=np.int32), np.zeros(1, dtype=np.int32), (0, n_columns))

    def dot(self, dense: np.ndarray) -> np.ndarray:
        """``rows @ dense`` for a 2-D ``dense`` with one row per column of these rows.

        Each row's products are summed one after the other in stored order,
        as scipy's CSR product does (``np.bincount`` adds its weights in that
        order; ``np.add.reduceat`` does not, and differed in the last bit): the
        result is the same to the bit (``tests/test_ngrams.py``), so the
        compiled model's probabilities stay those of the pipeline. One call
        for all the outputs, bin ``row * n_out + k`` for column ``k``, adds
        each bin's terms in that same order and spares a strided copy per
        column (4.1-4.4 → 3.6 µs a sentence for eight themes, 2026-12-03).
        """
        n_rows, n_out = self.shape[0], dense.shape[1]
        out = np.empty((n_rows, n_out))
        indptr = self.indptr
        # Rows a chunk of about _PRODUCT_CHUNK stored values at a time (a row is never split, so
        # each row's sum is the same): for a batch of 1,000 sentences the two temporaries of
        # eight terms a value were 4.4 MB each, which glibc's malloc gave back to the system and
        # faulted in again every batch, 0.3-1.6 page faults a sentence (2026-12-03: sys time of a
        # loop of CompiledModel.predict 0.36 → 0.10 s for 120,000 sentences, the linear model
        # stage of benchmarks/predict_stages.py 4.4 → 3.2 µs a sentence).
        bounds = np.searchsorted(indptr, np.arange(_PRODUCT_CHUNK, indptr[-1], _PRODUCT_CHUNK)).tolist()
        lo = 0
        for hi in (*bounds, n_rows):
            if hi <= lo:
                continue
            first, last = indptr[lo], indptr[hi]
            row_of = np.repeat(np.arange(hi - lo) * n_out, np.diff(indptr[lo : hi + 1]))
            terms = np.take(dense, self.indices[first:last], axis=0)
            terms *= self.data[first:last, None]
            bins = row_of[:, None] + np.arange(n_out)
            sums = np.bincount(bins.ravel(), weights=terms.ravel(), minlength=(hi - lo) * n_out)
            out[lo:hi] = sums.reshape(hi - lo, n_out)
            lo = hi
        return out

    __matmul__ = dot

    def to_scipy(self) -> sp.csr_matrix:
        """The same rows as a ``scipy.sparse.csr_matrix`` (what scikit-learn takes), sharing the arrays."""
        import scipy.sparse as sp

        return sp.csr_matrix((self.data, self.indices, self.indptr), shape=self.shape)


def _code_points(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """All texts' code points (plus one; 0 marks a boundary) and each text's start offset."""
    joined = "\x00".join(texts)
    points = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
    points += 1
    points[points == 1] = 0  # the "\x00" separators
    lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
    starts = np.concatenate(([0], np.cumsum(lengths + 1)[:-1]))
    return points, starts


def ngram_blocks(
    texts: Sequence[str], n_min: int, n_max: int, fold_digits: bool
) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """(n, rows, codes) of the character n-grams of every text, one block per n in [n_min, n_max]."""
    points, starts = _code_points(texts)
    if fold_digits:
        # Every digit counts as "0": numbers say "a target", not which one.
        points[(points > ord("0")) & (points <= ord("9") + 1)] = ord("0") + 1
    row_of = np.zeros(len(points), dtype=np.int64)
    if len(texts) > 1:
        row_of[starts[1:] - 1] = 1
        row_of = np.cumsum(row_of)
    for n in range(n_min, n_max + 1):
        if len(points) < n:
            continue
        count = len(points) - n + 1
        code = np.zeros(count, dtype=np.int64)
        valid = np.ones(count, dtype=bool)
        for k in range(n):
            window = points[k : k + count]
            code = (code << _BITS) | window
            valid &= window != 0
        yield n, row_of[:count][valid], code[valid]


def ngram_codes(texts: Sequence[str], n_min: int, n_max: int, fold_digits: bool) -> tuple[np.ndarray, np.ndarray]:
    """(row, code) of every character n-gram of every text, n in [n_min, n_max]."""
    blocks = list(ngram_blocks(texts, n_min, n_max, fold_digits))
    if not blocks:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate([rows for _, rows, _ in blocks]), np.concatenate([codes for _, _, codes in blocks])


_DENSE_UNIGRAMS = 0x10001  # codes of the BMP's characters: code point + 1
_EMPTY = -1  # no n-gram code is negative (63 bits of a non-negative int64)
_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing: spreads the codes' bits


class _CodeTable:
    """Open-addressing hash table from n-gram code to column, probed with NumPy.

    Replaces a sort of every batch's n-grams (``np.unique`` + ``searchsorted``)
    with two gathers per probe; at a load factor of 1/4 almost every lookup
    ends at its first slot. The gathers miss the cache (8 MB of keys for the
    shipped model): the columns are 32-bit, half the bytes, and ``np.take`` is
    faster than indexing; together they took the lookup of the 2- and 3-grams
    from 2.7 to 1.5 µs per sentence (2026-12-03).
    """

    def __init__(self, codes: np.ndarray) -> None:
        size = 1 << max(4, int(len(codes) * 4 - 1).bit_length())
        self._shift = np.uint64(64 - (size.bit_length() - 1))
        self._mask = size - 1
        self.keys = np.full(size, _EMPTY, dtype=np.int64)
        self.values = np.zeros(size, dtype=np.int32 if len(codes) < 2**31 else np.int64)
        pending = np.arange(len(codes))
        slots = self._slots(codes)
        while len(pending):
            # Place every pending code whose slot is free; of codes that want
            # the same slot, one wins and the rest probe on to the next slot.
            # The winner is whichever write lands last: the codes are distinct, so
            # reading the slots back says which (no sort of the slots, np.unique's,
            # which made building the table 0.05-0.09 s of each process that tags).
            want = pending[self.keys[slots[pending]] == _EMPTY]
            self.keys[slots[want]] = codes[want]
            winners = want[self.keys[slots[want]] == codes[want]]
            self.values[slots[winners]] = winners
            placed = np.zeros(len(codes), dtype=bool)
            placed[winners] = True
            pending = pending[~placed[pending]]
            slots[pending] = (slots[pending] + 1) & self._mask

    def _slots(self, codes: np.ndarray) -> np.ndarray:
        hashed = codes.astype(np.uint64) * _MULTIPLIER
        return (hashed >> self._shift).astype(np.int64)

    def lookup(self, codes: np.ndarray) -> np.ndarray:
        """The column of each code, or -1 for a code not in the vocabulary."""
        slots = self._slots(codes)
        keys = np.take(self.keys, slots)
        hit = keys == codes
        columns = np.where(hit, np.take(self.values, slots), np.int64(-1))
        # Only the few codes that met another key in their slot probe on.
        pending = np.flatnonzero(~hit & (keys != _EMPTY))
        while len(pending):
            slots[pending] = (slots[pending] + 1) & self._mask
            keys = self.keys[slots[pending]]
            hit = keys == codes[pending]
            columns[pending[hit]] = self.values[slots[pending[hit]]]
            pending = pending[~hit & (keys != _EMPTY)]
        return columns


def decode_ngram(code: int) -> str:
    chars = []
    while code:
        chars.append(chr((code & ((1 << _BITS) - 1)) - 1))
        code >>= _BITS
    return "".join(reversed(chars))


def fit_vocabulary(
    texts: Sequence[str], ngram_range: tuple[int, int], min_df: int, fold_digits: bool
) -> tuple[np.ndarray, np.ndarray]:
    """The sorted codes of the n-grams in at least ``min_df`` texts, and their smoothed idf."""
    n_min, n_max = ngram_range
    rows, codes = ngram_codes(texts, n_min, n_max, fold_digits)
    pairs = np.unique(np.stack([codes, rows]), axis=1)  # one (code, row) per document
    vocab, df = np.unique(pairs[0], return_counts=True)
    keep = df >= min_df
    idf = np.log((1.0 + len(texts)) / (1.0 + df[keep])) + 1.0
    return vocab[keep], idf


class NgramTfidf:
    """A fitted n-gram vocabulary with its idf: texts in, TF-IDF rows out."""

    def __init__(
        self,
        vocabulary_codes: np.ndarray,
        idf: np.ndarray,
        ngram_range: tuple[int, int],
        sublinear_tf: bool,
        fold_digits: bool,
    ) -> None:
        self.vocabulary_codes = vocabulary_codes
        self.idf = idf
        self.ngram_range = tuple(ngram_range)
        self.sublinear_tf = sublinear_tf
        self.fold_digits = fold_digits
        # The hash table is built once enough n-grams were looked up to pay for it (about
        # 0.03-0.06 s for the shipped model's 167,830 n-grams, a tenth of `plantheme predict`
        # of one sentence); until then a binary search of the sorted codes finds the same columns.
        self._table: _CodeTable | None = None
        self._searched = 0
        self._sorted = bool(np.all(vocabulary_codes[1:] > vocabulary_codes[:-1]))
        # Single characters of the Basic Multilingual Plane (almost every one in
        # Chinese text) are looked up in a plain array indexed by code, 256 KB
        # that stay in cache: half the n-grams skip the hash table.
        self._unigrams = np.full(_DENSE_UNIGRAMS, -1, dtype=np.int64)
        dense = np.flatnonzero(vocabulary_codes < _DENSE_UNIGRAMS)
        self._unigrams[vocabulary_codes[dense]] = dense

    def _lookup_any(self, codes: np.ndarray) -> np.ndarray:
        """The column of each code (any length), or -1: the hash table, or a search while it does not pay."""
        if self._table is None:
            self._searched += len(codes)
            vocabulary = self.vocabulary_codes
            if self._sorted and len(vocabulary) and self._searched <= len(vocabulary):
                at = np.minimum(np.searchsorted(vocabulary, codes), len(vocabulary) - 1)
                return np.where(vocabulary[at] == codes, at, -1)
            self._table = _CodeTable(self.vocabulary_codes)
        return self._table.lookup(codes)

    def _lookup(self, n: int, codes: np.ndarray) -> np.ndarray:
        if n != 1:
            return self._lookup_any(codes)
        columns = self._unigrams[np.minimum(codes, _DENSE_UNIGRAMS - 1)]
        beyond = np.flatnonzero(codes >= _DENSE_UNIGRAMS - 1)  # outside the BMP (and its last code)
        if len(beyond):
            columns[beyond] = self._lookup_any(codes[beyond])
        return columns

    def columns(self, n: int, codes: np.ndarray) -> np.ndarray:
        """The column of each n-gram code of length ``n``, or -1 for one not in the vocabulary."""
        return self._lookup(n, codes)

    def transform(self, texts: Sequence[str]) -> CsrRows:
        """TF-IDF rows for ``texts`` over the vocabulary (unknown n-grams ignored)."""
        texts = list(texts)
        n_min, n_max = self.ngram_range
        n_features = len(self.vocabulary_codes)
        if not texts:
            return CsrRows.empty(n_features)
        blocks = [
            (rows, self._lookup(n, codes)) for n, rows, codes in ngram_blocks(texts, n_min, n_max, self.fold_digits)
        ]
        rows = np.concatenate([rows for rows, _ in blocks]) if blocks else np.zeros(0, dtype=np.int64)
        cols = np.concatenate([cols for _, cols in blocks]) if blocks else np.zeros(0, dtype=np.int64)
        # Count each (row, column) pair by sorting one integer key per n-gram:
        # half the cost of scipy's COO → CSR conversion with sum_duplicates,
        # and the result comes out in CSR order (rows, then columns, ascending).
        # An unknown n-gram (column -1) makes its key -1: they sort first and
        # are skipped, cheaper than filtering them out beforehand.
        shift = max(1, n_features.bit_length())
        keys = rows << shift
        keys |= cols
        # Stable (timsort): the keys come as one run per n sorted by row, which it merges in
        # less than half of quicksort's time (3.7 → 1.6 µs a sentence, 2026-12-03).
        keys.sort(kind="stable")
        keys = keys[np.searchsorted(keys, 0) :]
        first = np.ones(len(keys), dtype=bool)
        np.not_equal(keys[1:], keys[:-1], out=first[1:])
        starts = np.flatnonzero(first)
        tf = np.diff(np.append(starts, len(keys))).astype(np.float64)
        pairs = keys[starts]
        row_of = pairs >> shift
        columns = pairs & ((1 << shift) - 1)
        # Weight and normalise in place on the stored values (sparse matrix
        # products with diagonal matrices cost five times as much here).
        values = np.log(tf) + 1.0 if self.sublinear_tf else tf
        values *= self.idf[columns]
        norms = np.sqrt(np.bincount(row_of, weights=values * values, minlength=len(texts)))
        values /= norms[row_of]
        # 32-bit indices when they fit, as scipy would convert them anyway (a copy).
        index_type = np.int32 if len(values) < 2**31 and n_features < 2**31 else np.int64
        indptr = np.zeros(len(texts) + 1, dtype=index_type)
        np.cumsum(np.bincount(row_of, minlength=len(texts)), out=indptr[1:])
        return CsrRows(values, columns.astype(index_type), indptr, (len(texts), n_features))
