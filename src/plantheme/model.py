"""The classifier: a scikit-learn Pipeline from raw sentence to theme probabilities.

``normalize → features → classifier``. Features are TF-IDF over jieba word uni-
and bigrams, over character n-grams, or both in a ``FeatureUnion``; the
classifier is a multinomial logistic regression, which gives calibrated-enough
probabilities for all eight themes and linear weights to explain each decision.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal, Sequence

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline

from .normalize import normalize_sentence
from .themes import THEME_IDS
from .tokenize import tokenize

__all__ = [
    "FeatureSet", "TextNormalizer", "build_pipeline", "Evidence", "Prediction", "ThemeModel",
]

FeatureSet = Literal["word", "char", "union"]
_DIGITS = re.compile(r"[0-9]+(?:\.[0-9]+)?")


def fold_digits(text: str) -> str:
    """Character-feature preprocessor: every number becomes ``0``."""
    return _DIGITS.sub("0", text)


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


def _char_vectorizer(ngram_min: int, ngram_max: int, min_df: int) -> TfidfVectorizer:
    return TfidfVectorizer(
        analyzer="char", preprocessor=fold_digits, lowercase=False,
        ngram_range=(ngram_min, ngram_max), sublinear_tf=True, min_df=min_df,
    )


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
    _feature_names: np.ndarray | None = field(default=None, repr=False)

    @property
    def themes(self) -> tuple[str, ...]:
        return tuple(self.pipeline.named_steps["clf"].classes_)

    def predict(
        self, texts: Sequence[str], *, normalized: bool = False, evidence: int = 5
    ) -> list[Prediction]:
        """Predict the theme of each text, in order.

        ``normalized=True`` skips the normalisation step for text that already
        went through :func:`plantheme.normalize.normalize` (the tagger's sentences).
        """
        if not texts:
            return []
        steps = self.pipeline.named_steps
        clean = list(texts) if normalized else steps["normalize"].transform(texts)
        X = steps["features"].transform(clean)
        clf: LogisticRegression = steps["clf"]
        proba = clf.predict_proba(X)
        classes = list(clf.classes_)
        # A model trained without some theme scores it 0; output always has all eight.
        column = {theme: classes.index(theme) for theme in THEME_IDS if theme in classes}
        winners = proba.argmax(axis=1)
        results = []
        X = X.tocsr()
        for i, k in enumerate(winners):
            row = proba[i]
            results.append(Prediction(
                theme=classes[k],
                confidence=float(row[k]),
                scores={t: float(row[column[t]]) if t in column else 0.0 for t in THEME_IDS},
                evidence=self._evidence(X, i, k, evidence) if evidence else (),
            ))
        return results

    def _names(self) -> np.ndarray:
        if self._feature_names is None:
            names = self.pipeline.named_steps["features"].get_feature_names_out()
            self._feature_names = np.array([n.split("__", 1)[-1] for n in names], dtype=object)
        return self._feature_names

    def _evidence(self, X: Any, row: int, k: int, limit: int) -> tuple[Evidence, ...]:
        """The features of one row with the largest positive push towards class ``k``.

        The push of a feature is its TF-IDF value times the class weight minus
        the mean weight over classes (softmax is invariant to that shift, so
        the difference is what moves the decision).
        """
        clf: LogisticRegression = self.pipeline.named_steps["clf"]
        start, end = X.indptr[row], X.indptr[row + 1]
        if start == end:
            return ()
        cols = X.indices[start:end]
        coef = clf.coef_[:, cols]
        push = X.data[start:end] * (coef[k] - coef.mean(axis=0))
        names = self._names()
        chosen: list[Evidence] = []
        for idx in np.argsort(-push):
            if push[idx] <= 0 or len(chosen) >= limit:
                break
            token = str(names[cols[idx]])
            if token.strip() == "" or any(token in e.token for e in chosen):
                continue
            chosen.append(Evidence(token=token, weight=round(float(push[idx]), 4)))
        return tuple(chosen)
