"""Predictions with their evidence words, computed in bulk from a compiled model's arrays.

The evidence of a prediction is the words of the sentence (rjieba) whose
character n-grams pushed the predicted theme most: a word's weight is the sum,
over the n-grams inside it, of TF-IDF value times the centred class weight.
:class:`~plantheme.model.model.ThemeModel` computes it with a Python loop per
sentence (the reference, kept for word and union features); here one batch is
one sparse product, pushes × (word × column map), which gives the same words
and weights (``tests/test_evidence.py``) at a fraction of the cost. No
scikit-learn and no scipy: the rows are :class:`~plantheme.model.ngrams.CsrRows`
and the n-gram codes of the compiled vocabulary name the columns. A batch is
segmented in one rjieba call and its words are looked up and ranked in NumPy;
:func:`json_lines` writes the predictions as ``plantheme predict`` prints them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from json.encoder import encode_basestring as _quoted  # json.dumps(ensure_ascii=False)'s escaper
from collections import deque
from itertools import chain, repeat
from typing import Any, Callable, TypeVar

import numpy as np

from .ngrams import MAX_N, CsrRows, ngram_blocks
from ..text.normalize import HAN
from ..themes import THEME_IDS

__all__ = [
    "Evidence",
    "Prediction",
    "WordEvidence",
    "class_means",
    "centred_weights",
    "feature_pushes",
    "json_lines",
    "round_4",
]

# Joins the texts of a batch for one segmenter call; its id in the word table.
_SEPARATOR = "\x00"
_SEPARATOR_ID = -2
# The id of a word not in the table yet (while looking words up).
_NEW = -3
# Words of 2 to 4 characters of the Basic Multilingual Plane are found by their code
# points packed into one integer, 16 bits each.
_CODED_MAX = 4
_CODE_BITS = 16
# In front of their sorted search, a direct-mapped cache of 2^18 slots (4 MB) by Fibonacci hash.
_CACHE_BITS = 18
_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)


def _field_dict(self: Any) -> dict[str, Any]:
    """The pickled state of a slotted dataclass below: its fields by name, as before they had slots."""
    return {field.name: getattr(self, field.name) for field in fields(self)}


def _set_fields(self: Any, state: dict[str, Any]) -> None:
    """Restore :func:`_field_dict`'s state (and so the pickles of the versions without slots)."""
    for name, value in state.items():
        object.__setattr__(self, name, value)


# Slots: instances can be filled field by field in C (:func:`_instances`). Pickled as
# their fields' dict, as without slots, so that pickles load across versions.
@dataclass(frozen=True, slots=True)
class Evidence:
    """A feature that pushed the predicted theme: the token and its contribution."""

    token: str
    weight: float

    __getstate__ = _field_dict
    __setstate__ = _set_fields


@dataclass(frozen=True, slots=True)
class Prediction:
    """The theme of one sentence, its probability, all eight scores and why."""

    theme: str
    confidence: float
    scores: dict[str, float]
    evidence: tuple[Evidence, ...] = ()

    __getstate__ = _field_dict
    __setstate__ = _set_fields

    def to_dict(self, digits: int = 4) -> dict[str, Any]:
        """JSON-ready form, the same for the CLI and the service."""
        return {
            "theme": self.theme,
            "confidence": round(self.confidence, digits),
            "scores": {theme: round(value, digits) for theme, value in self.scores.items()},
            "evidence": [{"token": e.token, "weight": e.weight} for e in self.evidence],
        }


_Frozen = TypeVar("_Frozen")


def _instances(cls: type[_Frozen], **columns: list[Any]) -> list[_Frozen]:
    """Instances of the slotted dataclass ``cls``: instance ``i`` has ``columns[name][i]`` for each name.

    What ``list(map(cls, ...))`` gives, in half the time: the generated ``__init__`` of
    a frozen dataclass is Python that sets each field through ``object.__setattr__``,
    about 0.5 µs an instance, and a batch has about six of them a sentence. Here
    each field is set on every instance by its slot's descriptor, mapped in C.
    Every field must be given (defaults are not applied).
    """
    count = len(next(iter(columns.values()), []))
    made = list(map(object.__new__, repeat(cls, count)))
    for name, values in columns.items():
        deque(map(cls.__dict__[name].__set__, made, values), maxlen=0)
    return made


def centred_weights(coef: np.ndarray) -> np.ndarray:
    """Class weights minus their mean over classes (softmax ignores that shift); binary: as is."""
    return coef - coef.mean(axis=0) if coef.shape[0] > 1 else coef


def class_means(coef_t: np.ndarray) -> np.ndarray | None:
    """Each feature's mean weight over the classes, for weights laid out one row per feature; binary: None.

    ``coef_t[:, k] - class_means(coef_t)`` is row ``k`` of :func:`centred_weights` of
    ``coef_t.T`` to the bit: the classes are added one after the other, as
    ``coef.mean(axis=0)`` adds the rows of ``coef`` (``coef_t.mean(axis=1)`` adds
    them pairwise, which can differ in the last bit). Transposing the compiled
    model's 218,217 × 8 weights into one row per class and centring them all cost
    0.01-0.04 s of every ``plantheme predict`` (two fresh 14 MB arrays); the
    evidence centres only the weights it reads.
    """
    n_classes = coef_t.shape[1]
    if n_classes == 1:
        return None
    total = coef_t[:, 0].copy()
    for k in range(1, n_classes):
        total += coef_t[:, k]
    total /= n_classes
    return total


def feature_pushes(
    X: CsrRows, weights_t: np.ndarray, winners: np.ndarray, means: np.ndarray | None = None
) -> np.ndarray:
    """For every stored value of CSR ``X``, its push towards its row's predicted class.

    ``weights_t`` holds the class weights one row per feature (column of ``X``), one
    column per class: centred already (the transpose of :func:`centred_weights`), or
    centred here by subtracting ``means`` (:func:`class_means`). Binary: one column.
    """
    row_of = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
    return _pushes(X.data, X.indices, winners[row_of], weights_t, means)


def _pushes(
    values: np.ndarray, columns: np.ndarray, winners: np.ndarray, weights_t: np.ndarray, means: np.ndarray | None
) -> np.ndarray:
    """The push of each TF-IDF value (in column ``columns[i]``, of a row whose class is ``winners[i]``)."""
    if weights_t.shape[1] == 1:  # binary: one weight column, sign gives the class
        sign = np.where(winners == 1, 1.0, -1.0)
        return values * weights_t[columns, 0] * sign
    if weights_t.flags.c_contiguous:  # one gather from the flat weights: 2-D indexing was slower
        weights = np.take(weights_t.reshape(-1), columns * weights_t.shape[1] + winners)
    else:
        weights = weights_t[columns, winners]
    if means is not None:
        weights -= np.take(means, columns)
    return values * weights


class WordEvidence:
    """Evidence words for whole batches of a compiled character n-gram model.

    ``lookup`` maps n-gram codes (by length) to columns, -1 when unknown;
    ``coef_t`` is the classifier's weights, one row per feature (column of the rows).
    """

    def __init__(
        self,
        lookup: Callable[[int, np.ndarray], np.ndarray],
        n_max: int,
        coef_t: np.ndarray,
        cut: Callable[[str], list[str]],
    ) -> None:
        self._lookup = lookup
        self._n_max = n_max
        self._coef_t = coef_t
        self._means = class_means(coef_t)
        self._cut = cut
        # Every word met so far: its id (-1: no column, not evidence); the columns of
        # word ``i`` are ``_flat[_starts[i]:_starts[i] + _lengths[i]]``. Plan text
        # repeats its words, so the table stops growing early.
        self._ids: dict[str, int] = {_SEPARATOR: _SEPARATOR_ID}
        # The same ids for the words of 2-4 BMP characters (99 % of the words of 2+ characters
        # in plan text), by code (:func:`_word_code`), sorted: a batch's words are found by one
        # search in NumPy, not a dict look-up of each fresh string (hashing them cost 2 µs a sentence).
        # Codes and ids in one attribute, replaced together.
        self._sorted: tuple[np.ndarray, np.ndarray] = (np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64))
        # One word per slot, the first to take it (code 0: empty, no word has it). Binary search
        # of the sorted codes cost 1.4 µs a sentence; the cache answers 98 % of the words of the
        # corpus at once, which with the search of the rest is 0.3 µs.
        self._cached_codes = np.zeros(1 << _CACHE_BITS, dtype=np.uint64)
        self._cached_ids = np.zeros(1 << _CACHE_BITS, dtype=np.int64)
        self._words: list[str] = []
        self._flat = np.zeros(0, dtype=np.int64)
        self._starts = np.zeros(0, dtype=np.int64)
        self._lengths = np.zeros(0, dtype=np.int64)

    def _learn(self, words: list[str]) -> None:
        """Find the columns of the n-grams inside each new word, in one lookup per n-gram length.

        The pieces are ThemeModel._word_columns's: the word's 1–3-grams and the word
        itself, those the model has (at most ``n_max`` characters; n-gram codes hold
        at most ``MAX_N`` = 3, so the word itself only as one of its 1–3-grams).
        Their codes (literal: no digit folding) come from
        :func:`~plantheme.model.ngrams.ngram_blocks` for all new words at once: a
        ``plantheme predict`` process meets thousands of new words per batch at
        first, and a Python loop over their pieces cost about 10 µs per sentence.
        """
        known = self._ids
        eligible = []
        for word in words:
            known[word] = -1
            if len(word) >= 2 and HAN.search(word):  # a reader would not take the others as evidence
                eligible.append(word)
        if not eligible:
            return
        owners, columns = [], []
        for n, rows, codes in ngram_blocks(eligible, 1, min(MAX_N, self._n_max), fold_digits=False):
            owners.append(rows)
            columns.append(self._lookup(n, codes))
        owner, column = np.concatenate(owners), np.concatenate(columns)
        hit = column >= 0
        if not hit.any():
            return
        # Each word's distinct columns in increasing order: one sort of (word, column) keys.
        width = column.max() + 1
        keys = np.sort(owner[hit] * width + column[hit])
        # Distinct keys by hand: np.unique without counts imports numpy.ma (NumPy 2.4 checks
        # for a masked array), 0.012-0.014 s of every `plantheme predict` (python -X importtime).
        distinct = np.ones(len(keys), dtype=bool)
        np.not_equal(keys[1:], keys[:-1], out=distinct[1:])
        keys = keys[distinct]
        owner, column = keys // width, keys % width
        found, lengths = np.unique(owner, return_counts=True)
        self._starts = np.concatenate((self._starts, len(self._flat) + np.cumsum(lengths) - lengths))
        self._lengths = np.concatenate((self._lengths, lengths))
        self._flat = np.concatenate((self._flat, column))
        for i in found.tolist():
            word = eligible[i]
            known[word] = len(self._words)
            self._words.append(word)

    def _pair_sums(self, X: CsrRows, class_winners: np.ndarray, rows: np.ndarray, words: np.ndarray) -> np.ndarray:
        """For each (sentence ``rows[p]``, word ``words[p]``) pair, the sum of the pushes of the word's columns.

        Every (pair, column) cell is looked up among the stored values of ``X``
        by one integer key (row, column): a search over the batch's sorted keys
        instead of a dict per sentence. Each pair sums its cells in the order of
        its word's columns, whatever order they were searched in. Only the cells
        get a push (:func:`feature_pushes`' arithmetic, value by value): a batch
        stores about half as many values again as its words have cells.
        """
        if not len(X.data):
            return np.zeros(len(words))
        width = np.int64(X.shape[1])
        stored = np.repeat(np.arange(X.shape[0], dtype=np.int64), np.diff(X.indptr)) * width + X.indices
        data = X.data
        if len(stored) > 1 and not bool(np.all(stored[1:] > stored[:-1])):
            order = np.argsort(stored, kind="stable")
            stored, data = stored[order], data[order]
        # np.take rather than indexing throughout: the same values, sooner (about 0.5 µs a sentence).
        per_pair = np.take(self._lengths, words)
        pair_of = np.repeat(np.arange(len(words)), per_pair)
        # Position of each cell's column inside its word's slice of the flat table.
        offsets = np.arange(len(pair_of)) - np.repeat(np.cumsum(per_pair) - per_pair, per_pair)
        cell_rows = np.take(rows, pair_of)
        columns = np.take(self._flat, np.take(self._starts, words)[pair_of] + offsets)
        keys = cell_rows * width + columns
        # Searched in increasing order (NumPy starts each search where the last ended, and the
        # stored keys it reads stay in cache): the sort costs less than it saves. The keys come
        # in increasing rows, which a stable sort (timsort) exploits: 2.3 → 1.0 µs a sentence.
        order = np.argsort(keys, kind="stable")
        at = np.empty(len(keys), dtype=np.int64)
        at[order] = np.searchsorted(stored, np.take(keys, order))
        np.minimum(at, len(stored) - 1, out=at)
        values = _pushes(np.take(data, at), columns, np.take(class_winners, cell_rows), self._coef_t, self._means)
        values[np.take(stored, at) != keys] = 0.0
        return np.bincount(pair_of, weights=values, minlength=len(words))

    def _rows_and_ids(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """The text (row) and the word-table id of every word of ``texts``, in order, learning new words.

        One rjieba call for the whole batch, the texts joined by a NUL, costs
        about half of one call per text: the segmenter cuts its runs of Chinese
        and alphanumeric characters independently and gives every other
        character alone, so a NUL is its own word and the words of each text are
        those of cutting it alone (``tests/test_evidence.py``); a word's row is
        the number of NULs before it. (A newline would not do: normalised
        sentences hold some.) A batch with a NUL in a text is cut text by text.
        """
        joined = _SEPARATOR.join(texts)
        if joined.count(_SEPARATOR) == len(texts) - 1:
            tokens = self._cut(joined)
            lengths = _lengths(tokens, joined)
            starts = np.cumsum(lengths) - lengths
            # The words are consecutive pieces of the joined text, so their lengths place them.
            if len(tokens) and starts[-1] + lengths[-1] == len(joined):
                points = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
                ids = self._ids_at(tokens, points, starts, lengths)
                return np.searchsorted(np.flatnonzero(points == 0), starts), ids
            ids = self._ids_of(tokens)
            return np.cumsum(ids == _SEPARATOR_ID), ids
        cuts = [self._cut(text) for text in texts]
        counts = np.fromiter(map(len, cuts), dtype=np.int64, count=len(cuts))
        rows = np.repeat(np.arange(len(texts), dtype=np.int64), counts)
        return rows, self._ids_of(list(chain.from_iterable(cuts)))

    def _ids_at(self, tokens: list[str], points: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """The word-table id of each token, which starts at ``starts`` in the code points ``points``.

        A single character is never evidence (-1, as :meth:`_learn` decides); words
        of 2-4 BMP characters are searched by code; the others, and the words met
        for the first time, by the dict (:meth:`_ids_of`).
        """
        ids = np.full(len(tokens), -1, dtype=np.int64)
        coded = np.flatnonzero((lengths >= 2) & (lengths <= _CODED_MAX))
        by_dict = np.flatnonzero(lengths > _CODED_MAX)
        if len(points) and points.max() >> _CODE_BITS:  # a character beyond the BMP: its words by dict
            beyond = np.concatenate(([0], np.cumsum(points >> _CODE_BITS != 0)))
            wide = beyond[starts[coded] + lengths[coded]] > beyond[starts[coded]]
            by_dict = np.concatenate((by_dict, coded[wide]))
            coded = coded[~wide]
        if len(coded):
            first, size = starts[coded], lengths[coded]
            codes = points[first].astype(np.uint64)
            for k in range(1, _CODED_MAX):
                following = np.take(points, np.minimum(first + k, len(points) - 1)).astype(np.uint64)
                codes = np.where(size > k, (codes << np.uint64(_CODE_BITS)) | following, codes)
            slots = _cache_slots(codes)
            cached = np.take(self._cached_codes, slots) == codes
            found = np.where(cached, np.take(self._cached_ids, slots), _NEW)
            missed = np.flatnonzero(~cached)
            known_codes, known_ids = self._sorted
            if len(missed) and len(known_codes):
                codes = codes[missed]
                at = np.minimum(np.searchsorted(known_codes, codes), len(known_codes) - 1)
                found[missed] = np.where(np.take(known_codes, at) == codes, np.take(known_ids, at), _NEW)
            ids[coded] = found
            by_dict = np.concatenate((by_dict, coded[found == _NEW]))
        if len(by_dict):
            ids[by_dict] = self._ids_of(list(map(tokens.__getitem__, by_dict.tolist())))
        return ids

    def _ids_of(self, tokens: list[str]) -> np.ndarray:
        """The word-table id of each token, learning the new ones (one dict look-up per token, in C)."""
        known = self._ids
        ids = np.fromiter(map(known.get, tokens, repeat(_NEW)), dtype=np.int64, count=len(tokens))
        unseen = np.flatnonzero(ids == _NEW)
        if len(unseen):
            new = sorted({tokens[i] for i in unseen.tolist()})
            self._learn(new)
            ids[unseen] = [known[tokens[i]] for i in unseen.tolist()]
            self._index(new)
        return ids

    def _index(self, words: list[str]) -> None:
        """Add the words of 2-4 BMP characters among newly learned ``words`` to the search by code."""
        coded = [word for word in words if 2 <= len(word) <= _CODED_MAX and ord(max(word)) >> _CODE_BITS == 0]
        if not coded:
            return
        codes = np.array(list(map(_word_code, coded)), dtype=np.uint64)
        ids = np.array(list(map(self._ids.__getitem__, coded)), dtype=np.int64)
        order = np.argsort(codes)
        codes, ids = codes[order], ids[order]
        known_codes, known_ids = self._sorted
        at = np.searchsorted(known_codes, codes)
        self._sorted = (np.insert(known_codes, at, codes), np.insert(known_ids, at, ids))
        # Into the cache where their slot is free, the first of those that share one.
        slots = _cache_slots(codes)
        free = np.take(self._cached_codes, slots) == 0
        slots, codes, ids = slots[free], codes[free], ids[free]
        order = np.argsort(slots, kind="stable")
        slots, codes, ids = slots[order], codes[order], ids[order]
        first = np.ones(len(slots), dtype=bool)
        first[1:] = slots[1:] != slots[:-1]
        # Ids before codes: a search meanwhile (another thread) matches a slot only once it is whole.
        self._cached_ids[slots[first]] = ids[first]
        self._cached_codes[slots[first]] = codes[first]

    def evidence(
        self, texts: list[str], X: CsrRows, class_winners: np.ndarray, limit: int
    ) -> list[tuple[Evidence, ...]]:
        """The ``limit`` words of each text with the largest positive push, heaviest first."""
        n = len(texts)
        if not limit or not n:
            return [()] * n
        all_rows, ids = self._rows_and_ids(texts)
        keep = np.flatnonzero(ids >= 0)
        rows, words = all_rows[keep], ids[keep]
        # Each sentence's distinct words in order of first appearance (ties keep that order):
        # the first of each (row, word) pair, found by sorting one integer key.
        pair_keys = rows * np.int64(len(self._words)) + words
        order = np.argsort(pair_keys, kind="stable")
        sorted_keys = pair_keys[order]
        first = np.ones(len(order), dtype=bool)
        first[1:] = sorted_keys[1:] != sorted_keys[:-1]
        firsts = np.sort(order[first])
        rows, words = rows[firsts], words[firsts]
        scores = self._pair_sums(X, class_winners, rows, words)
        positive = np.flatnonzero(scores > 0)
        # Heaviest first within each sentence, ties in order of first appearance: two stable
        # sorts, by weight then by row, half of np.lexsort's time. A positive float's bits, as
        # an integer, order as the floats do (timsort on integers beats it on floats), and rows
        # that fit 16 bits are radix sorted.
        by_weight = np.argsort(-scores[positive].view(np.int64), kind="stable")
        row_keys = rows[positive][by_weight]
        if n <= np.iinfo(np.int16).max:
            row_keys = row_keys.astype(np.int16)
        ranked = positive[by_weight[np.argsort(row_keys, kind="stable")]]
        ranked_rows = rows[ranked]
        starts = np.searchsorted(ranked_rows, np.arange(n + 1))
        rank = np.arange(len(ranked)) - starts[ranked_rows]
        kept = ranked[rank < limit]
        bounds = np.searchsorted(rows[kept], np.arange(n + 1)).tolist()
        tokens = list(map(self._words.__getitem__, words[kept].tolist()))
        weights = round_4(scores[kept])
        found = tuple(_instances(Evidence, token=tokens, weight=weights))
        return list(map(found.__getitem__, map(slice, bounds[:-1], bounds[1:])))


# Glues the words of a batch to measure them (see _lengths); normalised text has no C0 control.
_GLUE = "\x01"


def _lengths(tokens: list[str], joined: str) -> np.ndarray:
    """``len`` of each of ``tokens`` (the words rjieba cut ``joined`` into), as an array.

    Glued by a character ``joined`` lacks, the words are measured by where the glue
    lands in the code points: one join and one encoding in C instead of a ``len``
    call per word, which cost about 1.2 µs a sentence (20 words) of a fresh batch.
    The lengths are the words' own whatever they are (the glue is in no word).
    """
    if _GLUE in joined or not tokens:
        return np.fromiter(map(len, tokens), dtype=np.int64, count=len(tokens))
    points = np.frombuffer(_GLUE.join(tokens).encode("utf-32-le"), dtype=np.uint32)
    ends = np.append(np.flatnonzero(points == ord(_GLUE)), len(points))
    if len(ends) != len(tokens):  # a word holding the glue though the text has none: measure each
        return np.fromiter(map(len, tokens), dtype=np.int64, count=len(tokens))
    # Each word lies between the glue before it (or the start) and its own (or the end).
    lengths = np.diff(ends, prepend=-1) - 1
    return lengths.astype(np.int64, copy=False)


def _cache_slots(codes: np.ndarray) -> np.ndarray:
    """The slot of each word code in the cache of :class:`WordEvidence`: the top bits of a Fibonacci hash."""
    return ((codes * _MULTIPLIER) >> np.uint64(64 - _CACHE_BITS)).astype(np.intp)


def _word_code(word: str) -> int:
    """The code points of a word of 2-4 BMP characters in one integer, as :meth:`WordEvidence._ids_at` packs them.

    The first character is never NUL (the separator is a word alone), so words of
    different lengths never share a code.
    """
    code = 0
    for char in word:
        code = code << _CODE_BITS | ord(char)
    return code


def round_4(values: np.ndarray) -> list[float]:
    """``[round(x, 4) for x in values]``, in NumPy but for the few values it could round otherwise.

    ``round`` rounds the exact value half to even, then gives the float nearest
    that decimal; ``np.rint`` of ``x * 10_000`` (one rounding error) then ``/
    10_000`` (correctly rounded) gives the same float unless the product lies
    within its error of a half: those values, and any huge or not finite, go
    through ``round`` itself.
    """
    scaled = values * 10_000.0
    out = (np.rint(scaled) / 10_000.0).tolist()
    with np.errstate(invalid="ignore"):  # nan and inf are doubtful: round() says what they give
        doubtful = np.flatnonzero(~((np.abs(scaled - np.floor(scaled) - 0.5) > 1e-6) & (np.abs(scaled) < 2.0**30)))
    for i in doubtful.tolist():
        out[i] = round(float(values[i]), 4)
    return out


def predictions_of(proba: np.ndarray, winners: np.ndarray, evidence: list[tuple[Evidence, ...]]) -> list[Prediction]:
    """One :class:`Prediction` per row of taxonomy-ordered ``proba``."""
    # The same floats as row[j] of each row, fetched in one call; the loop runs in C.
    confidences = proba[np.arange(len(proba)), winners].tolist()
    # No eval-built dict display here, though it built each dict in half the time (0.49 → 0.24 µs
    # for eight scores, measured 2026-12-03): generated code is not worth 1% of a sentence.
    scores = list(map(dict, map(zip, repeat(THEME_IDS), proba.tolist())))
    themes = list(map(THEME_IDS.__getitem__, winners.tolist()))
    return _instances(Prediction, theme=themes, confidence=confidences, scores=scores, evidence=evidence)


# The JSON text of round(p, 4) for every probability p: k / 10_000 is the float round gives.
_PROBABILITY_JSON = [float.__repr__(k / 10_000) for k in range(10_001)]
# The "scores" object of a line whose scores are the eight themes in taxonomy order (all of them).
_SCORES_JSON = ", ".join(f"{_quoted(theme)}: {{}}" for theme in THEME_IDS)


def _rounded_json(values: list[float]) -> list[str]:
    """``json.dumps(round(x, 4))`` of each of ``values``: by table for floats in [0, 1], as :func:`round_4` rounds."""
    array = np.array(values, dtype=np.float64)
    scaled = array * 10_000.0
    with np.errstate(invalid="ignore"):  # nan and inf: doubtful, below
        k = np.clip(np.nan_to_num(np.rint(scaled)), 0, 10_000).astype(np.int64)
        # Near a half (see round_4), outside [0, 1], not finite or not a float: as json.dumps does it.
        doubtful = ~((np.abs(scaled - np.floor(scaled) - 0.5) > 1e-6) & (array >= 0.0) & (array <= 1.0))
    out = list(map(_PROBABILITY_JSON.__getitem__, k.tolist()))
    if set(map(type, values)) != {float}:
        doubtful[[type(x) is not float for x in values]] = True
    for i in np.flatnonzero(doubtful).tolist():
        out[i] = json.dumps(round(values[i], 4))
    return out


def json_lines(texts: list[str], predictions: list[Prediction]) -> list[str]:
    """``json.dumps({"text": text, **p.to_dict()}, ensure_ascii=False)`` for each (text, prediction), formatted directly.

    The same strings (``tests/test_evidence.py``) in less than half the time:
    no dictionaries from ``to_dict`` for the encoder to walk, and the rounded
    probabilities of the whole batch written by table (``round`` and ``repr``
    of nine floats per line were about 5 µs). What ``plantheme predict`` writes.
    """
    numbers = _rounded_json([x for p in predictions for x in (p.confidence, *p.scores.values())])
    lines = []
    at = 0
    for text, p in zip(texts, predictions):
        themes = tuple(p.scores)
        end = at + 1 + len(themes)
        if themes == THEME_IDS:
            scores = _SCORES_JSON.format(*numbers[at + 1 : end])
        else:
            scores = ", ".join([f"{_quoted(theme)}: {number}" for theme, number in zip(themes, numbers[at + 1 : end])])
        try:
            weights = list(map(float.__repr__, [e.weight for e in p.evidence]))
        except TypeError:  # not a float: json.dumps writes it
            weights = ["n"]
        if "n" in "".join(weights):  # nan, inf (JSON's NaN, Infinity) or not a float
            evidence = ", ".join([json.dumps(item, ensure_ascii=False) for item in p.to_dict()["evidence"]])
        else:
            evidence = ", ".join(
                [f'{{"token": {_quoted(e.token)}, "weight": {weight}}}' for e, weight in zip(p.evidence, weights)]
            )
        lines.append(
            f'{{"text": {_quoted(text)}, "theme": {_quoted(p.theme)}, "confidence": {numbers[at]},'
            f' "scores": {{{scores}}}, "evidence": [{evidence}]}}'
        )
        at = end
    return lines
