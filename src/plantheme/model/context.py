"""The context stage: a sentence's theme read together with its title, headings and neighbours.

The sentence model classifies each sentence alone. In a whole document the
title and the heading a sentence sits under usually settle a vague sentence
("三是强化督导考核。" under a welfare chapter, every line of a single-topic
departmental plan). This stage is a multinomial logistic regression stacked on
the sentence model's probabilities: its inputs, per sentence, are

* the log-probabilities of the sentence itself,
* the probabilities of the document's title, of the nearest heading above the
  sentence and of the top-level heading above it (zeros and an indicator when
  there is none),
* the probabilities of the previous and the next content sentence,
* the mean probabilities of the document's content sentences,
* whether the sentence is itself a heading.

All of them are TF-IDF-derived (the sentence model's outputs), so the stage
stays a small linear model: 8 × 60 weights. It is trained on out-of-fold
probabilities of labelled whole documents (:mod:`plantheme.training.train`) and used
wherever a whole document is tagged; a sentence classified alone keeps the
sentence model. Inference is NumPy only (no scikit-learn), so the compiled
model path stays light.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..text.structure import Outline
from ..themes import THEME_IDS

__all__ = ["N_CONTEXT_FEATURES", "ContextModel", "context_features"]

_N = len(THEME_IDS)
_EPS = 1e-4
# self (log) + title + nearest heading + top heading + previous + next + document mean,
# each eight wide, then four indicators (title, nearest, top heading present; is a heading).
N_CONTEXT_FEATURES = 7 * _N + 4


def _rows(proba: np.ndarray, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``proba[index]`` with zero rows where ``index`` is -1, and the presence indicator."""
    present = index >= 0
    rows = np.zeros((len(index), proba.shape[1]))
    rows[present] = proba[index[present]]
    return rows, present.astype(float)


def _neighbours(content: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of the previous and of the next content unit for every unit (-1: none)."""
    n = len(content)
    positions = np.flatnonzero(content)
    idx = np.arange(n)
    # Previous content unit strictly before i; next strictly after i.
    before = np.searchsorted(positions, idx, side="left") - 1
    after = np.searchsorted(positions, idx, side="right")
    prev = (
        np.where(before >= 0, positions[np.clip(before, 0, max(len(positions) - 1, 0))], -1)
        if len(positions)
        else np.full(n, -1)
    )
    nxt = (
        np.where(after < len(positions), positions[np.clip(after, 0, max(len(positions) - 1, 0))], -1)
        if len(positions)
        else np.full(n, -1)
    )
    return prev, nxt


def context_features(proba: np.ndarray, outline: Outline, skip: Sequence[bool]) -> np.ndarray:
    """The context stage's input rows for one document's units.

    ``proba`` holds the sentence model's probabilities (one row per unit,
    columns in taxonomy order); ``skip`` marks furniture units, which are no
    one's neighbour and do not count in the document mean.
    """
    n = len(proba)
    if n == 0:
        return np.zeros((0, N_CONTEXT_FEATURES))
    content = ~np.asarray(skip, dtype=bool)
    title, has_title = _rows(proba, np.full(n, outline.title))
    if len(outline.title_units) > 1:  # a title wrapped over lines reads as one
        title = np.broadcast_to(proba[list(outline.title_units)].mean(axis=0), proba.shape)
    nearest, has_nearest = _rows(proba, np.asarray(outline.nearest_heading))
    top, has_top = _rows(proba, np.asarray(outline.top_heading))
    prev_index, next_index = _neighbours(content)
    prev, _ = _rows(proba, prev_index)
    nxt, _ = _rows(proba, next_index)
    mean = proba[content].mean(axis=0) if content.any() else np.full(proba.shape[1], 1.0 / proba.shape[1])
    is_heading = np.array([level is not None for level in outline.levels], dtype=float)
    return np.hstack(
        [
            np.log(proba + _EPS),
            title,
            nearest,
            top,
            prev,
            nxt,
            np.broadcast_to(mean, proba.shape),
            has_title[:, None],
            has_nearest[:, None],
            has_top[:, None],
            is_heading[:, None],
        ]
    )


@dataclass
class ContextModel:
    """Multinomial logistic regression over :func:`context_features` rows.

    ``C`` is the inverse regularisation strength and ``class_weight`` the weighting
    (None or ``"balanced"``) used by :meth:`fit`. Columns of the probabilities are in
    taxonomy order (all eight themes, always).
    """

    C: float = 1.0
    coef: np.ndarray | None = None  # (N_CONTEXT_FEATURES, 8)
    intercept: np.ndarray | None = None  # (8,)
    # No reweighting by default: the sentence model's probabilities are already balanced
    # (it is trained with balanced weights); reweighting again scored lower in grouped CV
    # over documents (0.873 against 0.879 macro-F1 on the round-3 documents).
    class_weight: str | None = None

    def fit(self, X: np.ndarray, y: Sequence[str], sample_weight: np.ndarray | None = None) -> ContextModel:
        """Fit on feature rows ``X`` and their theme ids ``y`` (rows weighted by ``sample_weight``, if given)."""
        from sklearn.linear_model import LogisticRegression
        from threadpoolctl import threadpool_limits

        classifier = LogisticRegression(C=self.C, max_iter=5000, class_weight=self.class_weight)
        # One BLAS thread: the problem is tiny (60 inputs), and BLAS threads spinning against each
        # other made one fit 100x slower on a busy 2-core machine (0.44 s against 44 s, measured).
        with threadpool_limits(limits=1, user_api="blas"):
            classifier.fit(X, list(y), sample_weight=sample_weight)
        coef = np.zeros((X.shape[1], _N))
        # A theme never seen in training keeps a very low intercept: never predicted.
        intercept = np.full(_N, -30.0)
        for j, theme in enumerate(classifier.classes_):
            column = THEME_IDS.index(str(theme))
            if len(classifier.classes_) == 2:
                # Binary: scikit-learn keeps one row; the softmax of (0, d) is the same model.
                if j == 1:
                    coef[:, column] = classifier.coef_[0]
                    intercept[column] = classifier.intercept_[0]
                else:
                    intercept[column] = 0.0
            else:
                coef[:, column] = classifier.coef_[j]
                intercept[column] = classifier.intercept_[j]
        self.coef, self.intercept = coef, intercept
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Theme probabilities per row, columns in taxonomy order."""
        if self.coef is None or self.intercept is None:
            raise ValueError("ContextModel is not fitted")
        decision = X @ self.coef + self.intercept
        decision -= decision.max(axis=1, keepdims=True)
        np.exp(decision, out=decision)
        decision /= decision.sum(axis=1, keepdims=True)
        return decision

    def predict(self, X: np.ndarray) -> list[str]:
        """The theme id of each row."""
        return [THEME_IDS[j] for j in self.predict_proba(X).argmax(axis=1).tolist()]

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The fitted stage as named arrays (saved in the model folder)."""
        if self.coef is None or self.intercept is None:
            raise ValueError("ContextModel is not fitted")
        return {"context_coef": self.coef, "context_intercept": self.intercept, "context_C": np.array([self.C])}

    @classmethod
    def from_arrays(cls, arrays: Any) -> ContextModel:
        """The stage :meth:`to_arrays` described; checks the feature layout."""
        coef = np.asarray(arrays["context_coef"], dtype=float)
        intercept = np.asarray(arrays["context_intercept"], dtype=float)
        if coef.shape != (N_CONTEXT_FEATURES, _N) or intercept.shape != (_N,):
            raise ValueError(f"context stage has shape {coef.shape}, expected {(N_CONTEXT_FEATURES, _N)}")
        return cls(C=float(np.asarray(arrays["context_C"])[0]), coef=coef, intercept=intercept)
