"""The classifier: a scikit-learn Pipeline from raw sentence to theme probabilities.

``normalize → features → classifier``. Features are TF-IDF over jieba word uni-
and bigrams, over character n-grams, or both in a ``FeatureUnion``; the
classifier is a multinomial logistic regression, which gives calibrated-enough
probabilities for all eight themes and linear weights to explain each decision.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Sequence

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline

from .features import CharNgramTfidf
from .normalize import normalize_sentence
from .themes import THEME_IDS
from .tokenize import tokenize

__all__ = [
    "FeatureSet", "TextNormalizer", "build_pipeline", "Evidence", "Prediction", "ThemeModel",
]

FeatureSet = Literal["word", "char", "union"]
class TextNormalizer(TransformerMixin, BaseEstimator):
    """Pipeline step that normalises each raw sentence (stateless)."""

    def fit(self, X: Sequence[str], y: Any = None) -> "TextNormalizer":
        return self

    def transform(self, X: Sequence[str]) -> list[str]:
        return [normalize_sentence(text) for text in X]


def _word_vectorizer(ngram_max: int, min_df: int) -> TfidfVectorizer:
    return TfidfVectorizer(
        tokenizer=tokenize, token_pattern=None, lowercase=False,
        ngram_range=(1, ngram_max), sublinear_tf=True, min_df=min_df,
    )


def _char_vectorizer(ngram_min: int, ngram_max: int, min_df: int) -> CharNgramTfidf:
    return CharNgramTfidf(ngram_range=(ngram_min, ngram_max), min_df=min_df, sublinear_tf=True)


def build_pipeline(
    features: FeatureSet = "union",
    C: float = 10.0,
    word_ngram_max: int = 2,
    char_ngram_min: int = 1,
    char_ngram_max: int = 3,
    min_df: int = 1,
    class_weight: str | None = "balanced",
) -> Pipeline:
    """The untrained pipeline ``normalize → features → clf`` for one configuration."""
    if features == "word":
        vectorizer: Any = _word_vectorizer(word_ngram_max, min_df)
    elif features == "char":
        vectorizer = _char_vectorizer(char_ngram_min, char_ngram_max, min_df)
    elif features == "union":
        vectorizer = FeatureUnion([
            ("word", _word_vectorizer(word_ngram_max, min_df)),
            ("char", _char_vectorizer(char_ngram_min, char_ngram_max, min_df)),
        ])
    else:
        raise ValueError(f"features must be 'word', 'char' or 'union', not {features!r}")
    classifier = LogisticRegression(C=C, max_iter=3000, class_weight=class_weight)
    return Pipeline([("normalize", TextNormalizer()), ("features", vectorizer), ("clf", classifier)])


@dataclass(frozen=True)
class Evidence:
    """A feature that pushed the predicted theme: the token and its contribution."""

    token: str
    weight: float


@dataclass(frozen=True)
class Prediction:
    """The theme of one sentence, its probability, all eight scores and why."""

    theme: str
    confidence: float
    scores: dict[str, float]
    evidence: tuple[Evidence, ...] = ()

    def to_dict(self, digits: int = 4) -> dict[str, Any]:
        """JSON-ready form, the same for the CLI and the service."""
        return {
            "theme": self.theme,
            "confidence": round(self.confidence, digits),
            "scores": {theme: round(value, digits) for theme, value in self.scores.items()},
            "evidence": [{"token": e.token, "weight": e.weight} for e in self.evidence],
        }


@dataclass
class ThemeModel:
    """A fitted pipeline plus the id of the model it was loaded as."""

    pipeline: Pipeline
    model_id: str = "unsaved"
    _feature_names: list[str] | None = field(default=None, repr=False)
    _centered_coef: np.ndarray | None = field(default=None, repr=False)
    _readable: np.ndarray | None = field(default=None, repr=False)

    @property
    def themes(self) -> tuple[str, ...]:
        return tuple(self.pipeline.named_steps["clf"].classes_)

    def predict(
        self, texts: Sequence[str], *, normalized: bool = False, evidence: int = 5
    ) -> list[Prediction]:
        """Predict the theme of each text, in order.

        ``normalized=True`` skips the normalisation step for text that already
        went through :func:`plantheme.normalize.normalize` (the tagger's sentences).
        ``evidence`` is how many tokens of evidence to give per prediction.
        """
        if not len(texts):
            return []
        steps = self.pipeline.named_steps
        clean = list(texts) if normalized else steps["normalize"].transform(texts)
        X = steps["features"].transform(clean).tocsr()
        clf: LogisticRegression = steps["clf"]
        proba = clf.predict_proba(X)
        classes = list(clf.classes_)
        # A model trained without some theme scores it 0; output always has all eight.
        column = [classes.index(t) if t in classes else -1 for t in THEME_IDS]
        winners = proba.argmax(axis=1)
        ranked = self._ranked_evidence(X, winners) if evidence else None
        names = self._names() if evidence else []
        results = []
        for i, k in enumerate(winners):
            row = proba[i]
            results.append(Prediction(
                theme=classes[k],
                confidence=float(row[k]),
                scores={t: float(row[c]) if c >= 0 else 0.0 for t, c in zip(THEME_IDS, column)},
                evidence=_pick_evidence(ranked, i, names, evidence)
                if ranked is not None else (),
            ))
        return results

    def _names(self) -> list[str]:
        if self._feature_names is None:
            names = self.pipeline.named_steps["features"].get_feature_names_out()
            self._feature_names = [str(n).split("__", 1)[-1].strip() for n in names]
        return self._feature_names

    def _ranked_evidence(
        self, X: Any, winners: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Readable features with a positive push, as (column, push) sorted by row then
        push descending, and each row's bounds in them.

        The push of a feature is its TF-IDF value times the class weight minus
        the mean weight over classes (softmax is invariant to that shift, so
        the difference is what moves the decision). One sort for the batch.
        """
        if self._centered_coef is None:
            coef = self.pipeline.named_steps["clf"].coef_
            self._centered_coef = coef - coef.mean(axis=0) if coef.shape[0] > 1 else coef
        if self._readable is None:
            # A single character ("是", "年") explains nothing to a reader.
            self._readable = np.array([len(name) >= 2 for name in self._names()])
        row_of = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
        if self._centered_coef.shape[0] == 1:  # binary: one weight row, sign gives the class
            sign = np.where(winners[row_of] == 1, 1.0, -1.0)
            pushes = X.data * self._centered_coef[0, X.indices] * sign
        else:
            pushes = X.data * self._centered_coef[winners[row_of], X.indices]
        keep = (pushes > 0) & self._readable[X.indices]
        rows, cols, pushes = row_of[keep], X.indices[keep], pushes[keep]
        order = np.lexsort((-pushes, rows))
        bounds = np.searchsorted(rows[order], np.arange(X.shape[0] + 1))
        return cols[order], pushes[order], bounds


def _pick_evidence(
    ranked: tuple[np.ndarray, np.ndarray, np.ndarray], row: int, names: list[str], limit: int
) -> tuple[Evidence, ...]:
    """The first ``limit`` features of one row's ranked slice, skipping repeats."""
    cols, pushes, bounds = ranked
    start, end = bounds[row], bounds[row + 1]
    chosen: list[Evidence] = []
    for col, push in zip(cols[start:end].tolist(), pushes[start:end].tolist()):
        if len(chosen) >= limit:
            break
        token = names[col]
        if any(token in e.token for e in chosen):
            continue
        chosen.append(Evidence(token=token, weight=round(push, 4)))
    return tuple(chosen)
