"""Theme probabilities from TF-IDF rows and linear weights, in NumPy: the arithmetic every path shares.

:class:`ThemeModel` (the scikit-learn pipeline, for training, and for word or
union features) and :class:`CompiledModel` (the same fitted character n-gram
model as plain arrays, for tagging, prediction, evaluation and the service)
both end in :func:`classify_rows`.
A compiled model needs no scikit-learn at all, which takes about a second off
the start of every tagging process (the main one and each worker).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from .context import ContextModel
from .evidence import Evidence, Prediction, WordEvidence, predictions_of
from .ngrams import CsrRows, NgramTfidf
from ..text.normalize import normalize_sentences
from ..themes import THEME_IDS

__all__ = ["Classification", "CompiledModel", "Predictor", "class_probabilities", "classify_rows"]


@dataclass(frozen=True)
class Classification:
    """The themes of a batch of texts as arrays, without a Python object per text.

    ``proba`` has one row per text and one column per theme in taxonomy
    order; ``winners`` is each row's predicted column. ``class_winners`` is the
    same choice as a row of the classifier's weights and ``features`` the
    TF-IDF rows the classifier read (both for explaining a decision), as plain
    arrays (``features.to_scipy()`` for a ``scipy.sparse`` matrix).
    """

    texts: list[str]
    features: CsrRows
    proba: np.ndarray
    winners: np.ndarray
    class_winners: np.ndarray

    def themes(self) -> list[str]:
        """The predicted theme id of each text."""
        return [THEME_IDS[j] for j in self.winners.tolist()]

    def confidences(self) -> list[float]:
        """The probability of each text's predicted theme."""
        return self.proba[np.arange(len(self.winners)), self.winners].tolist()


def class_probabilities(X: CsrRows, coef_t: np.ndarray, intercept: np.ndarray) -> np.ndarray:
    """``LogisticRegression.predict_proba`` on rows ``X``, columns in the classifier's class order.

    Without scikit-learn's per-call input validation, which cost about 1 ms
    per call, three times the arithmetic for a document's sentences
    (``tests/test_model.py`` checks the numbers equal scikit-learn's).
    """
    decision = X.dot(coef_t) + intercept
    if decision.shape[1] == 1:
        # Binary: the logistic function of the one decision value, which is
        # the softmax of (0, value).
        decision = np.hstack([np.zeros_like(decision), decision])
    decision -= decision.max(axis=1, keepdims=True)
    np.exp(decision, out=decision)
    decision /= decision.sum(axis=1, keepdims=True)
    return decision


def classify_rows(
    texts: list[str], X: CsrRows, coef_t: np.ndarray, intercept: np.ndarray, classes: Sequence[str]
) -> Classification:
    """Classify TF-IDF rows ``X`` (of ``texts``) with a linear model over ``classes``."""
    proba = class_probabilities(X, coef_t, intercept)
    class_winners = proba.argmax(axis=1)
    classes = list(classes)
    # Columns in taxonomy order; a model trained without some theme scores it
    # 0, so output always has all eight.
    ordered = np.zeros((len(texts), len(THEME_IDS)))
    for j, theme in enumerate(THEME_IDS):
        if theme in classes:
            ordered[:, j] = proba[:, classes.index(theme)]
    to_taxonomy = np.array([THEME_IDS.index(theme) for theme in classes], dtype=np.int64)
    return Classification(
        texts=texts, features=X, proba=ordered, winners=to_taxonomy[class_winners], class_winners=class_winners
    )


def empty_classification(n_features: int = 0) -> Classification:
    """The classification of no texts (over ``n_features`` TF-IDF columns)."""
    none = np.zeros(0, dtype=np.int64)
    return Classification(
        texts=[],
        features=CsrRows.empty(n_features),
        proba=np.zeros((0, len(THEME_IDS))),
        winners=none,
        class_winners=none,
    )


class Predictor:
    """What the pipeline (:class:`~plantheme.model.model.ThemeModel`) and the arrays
    (:class:`CompiledModel`) share: predictions are a classification, explained."""

    # The id of the model folder it was loaded from ("unsaved" otherwise), and the
    # document context stage when the model has one (fields of the subclasses).
    model_id: str
    context: ContextModel | None

    def classify(self, texts: Sequence[str], *, normalized: bool = False) -> Classification:
        raise NotImplementedError

    def explain(self, result: Classification, *, evidence: int = 5) -> list[Prediction]:
        raise NotImplementedError

    def predict(self, texts: Sequence[str], *, normalized: bool = False, evidence: int = 5) -> list[Prediction]:
        """Predict the theme of each text, in order, with all eight scores and evidence.

        ``normalized=True`` skips the normalisation step for text that already
        went through :func:`plantheme.normalize.normalize` (the tagger's sentences).
        ``evidence`` is how many tokens of evidence to give per prediction.
        """
        if not len(texts):
            return []
        return self.explain(self.classify(texts, normalized=normalized), evidence=evidence)


@dataclass
class CompiledModel(Predictor):
    """A fitted character n-gram model as arrays: classifies exactly as its pipeline, without scikit-learn.

    Made by :meth:`plantheme.model.model.ThemeModel.compile`, saved and loaded by
    :mod:`plantheme.model.persistence`. It classifies and explains (evidence words
    in bulk, :mod:`plantheme.model.evidence`) with the same results as the pipeline.
    """

    tfidf: NgramTfidf
    coef_t: np.ndarray
    intercept: np.ndarray
    classes: tuple[str, ...]
    model_id: str = "unsaved"
    # The document context stage (tag_text uses it), when the model has one.
    context: ContextModel | None = None
    _evidence: WordEvidence | None = field(default=None, repr=False, compare=False)

    @property
    def themes(self) -> tuple[str, ...]:
        """The classifier's classes, in its order."""
        return self.classes

    def classify(self, texts: Sequence[str], *, normalized: bool = False) -> Classification:
        """Theme probabilities of each text (see :meth:`plantheme.model.model.ThemeModel.classify`)."""
        if not len(texts):
            return empty_classification(len(self.tfidf.vocabulary_codes))
        clean = list(texts) if normalized else normalize_sentences(texts)
        X = self.tfidf.transform(clean)
        return classify_rows(clean, X, self.coef_t, self.intercept, self.classes)

    def explain(self, result: Classification, *, evidence: int = 5) -> list[Prediction]:
        """One :class:`Prediction` per text of ``result``: all eight scores and ``evidence`` words."""
        if not result.texts:
            return []
        if self._evidence is None and evidence:
            from ..text.tokenize import fast_cut

            # lookup(n, codes) of the vocabulary; the weights one row per feature, as classify reads them.
            self._evidence = WordEvidence(self.tfidf.columns, self.tfidf.ngram_range[1], self.coef_t, fast_cut())
        words: list[tuple[Evidence, ...]] = [()] * len(result.texts)
        if self._evidence is not None and evidence:
            words = self._evidence.evidence(result.texts, result.features, result.class_winners, evidence)
        return predictions_of(result.proba, result.winners, words)

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Everything the model is, as named arrays (for ``np.savez``)."""
        t = self.tfidf
        return {
            "vocabulary_codes": t.vocabulary_codes,
            "idf": t.idf,
            "ngram_range": np.array(t.ngram_range, dtype=np.int64),
            "flags": np.array([t.sublinear_tf, t.fold_digits]),
            "coef_t": self.coef_t,
            "intercept": self.intercept,
            "classes": np.array(self.classes),
        }

    @classmethod
    def from_arrays(cls, arrays: Any, model_id: str = "unsaved") -> "CompiledModel":
        """The model :meth:`to_arrays` described."""
        sublinear_tf, fold_digits = (bool(flag) for flag in arrays["flags"])
        n_min, n_max = (int(n) for n in arrays["ngram_range"])
        tfidf = NgramTfidf(arrays["vocabulary_codes"], arrays["idf"], (n_min, n_max), sublinear_tf, fold_digits)
        return cls(
            tfidf=tfidf,
            coef_t=np.ascontiguousarray(arrays["coef_t"]),
            intercept=arrays["intercept"],
            classes=tuple(str(c) for c in arrays["classes"]),
            model_id=model_id,
        )
