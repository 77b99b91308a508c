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

from .context import ContextModel
from .evidence import Evidence, Prediction, centred_weights, feature_pushes
from .features import CharNgramTfidf
from .ngrams import CsrRows
from .scoring import Classification, CompiledModel, Predictor, classify_rows, empty_classification
from ..text.normalize import HAN, normalize_sentence
from ..themes import THEME_IDS
from ..text.tokenize import fast_cut, tokenize

__all__ = [
    "FeatureSet",
    "TextNormalizer",
    "build_pipeline",
    "Evidence",
    "Prediction",
    "Classification",
    "ThemeModel",
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
        tokenizer=tokenize,
        token_pattern=None,
        lowercase=False,
        ngram_range=(1, ngram_max),
        sublinear_tf=True,
        min_df=min_df,
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
        vectorizer = FeatureUnion(
            [
                ("word", _word_vectorizer(word_ngram_max, min_df)),
                ("char", _char_vectorizer(char_ngram_min, char_ngram_max, min_df)),
            ]
        )
    else:
        raise ValueError(f"features must be 'word', 'char' or 'union', not {features!r}")
    classifier = LogisticRegression(C=C, max_iter=3000, class_weight=class_weight)
    return Pipeline([("normalize", TextNormalizer()), ("features", vectorizer), ("clf", classifier)])


@dataclass
class ThemeModel(Predictor):
    """A fitted pipeline plus the id of the model it was loaded as."""

    pipeline: Pipeline
    model_id: str = "unsaved"
    # The document context stage (tag_text uses it), when the model has one.
    context: ContextModel | None = None
    _columns: dict[str, tuple[int, ...]] | None = field(default=None, repr=False)
    _by_name: dict[str, list[int]] = field(default_factory=dict, repr=False)
    _centered_coef: np.ndarray | None = field(default=None, repr=False)
    _coef_t: np.ndarray | None = field(default=None, repr=False)

    @property
    def themes(self) -> tuple[str, ...]:
        return tuple(self.pipeline.named_steps["clf"].classes_)

    def classify(self, texts: Sequence[str], *, normalized: bool = False) -> Classification:
        """Theme probabilities of each text, as arrays: what :meth:`predict` and bulk tagging share.

        ``normalized=True`` skips the normalisation step for text that already
        went through :func:`plantheme.normalize.normalize` (the tagger's sentences).
        """
        steps = self.pipeline.named_steps
        clf: LogisticRegression = steps["clf"]
        if not len(texts):  # scikit-learn's vectorizers refuse an empty batch
            return empty_classification(clf.coef_.shape[1])
        clean = list(texts) if normalized else steps["normalize"].transform(texts)
        X = CsrRows.of(steps["features"].transform(clean))
        if self._coef_t is None:
            self._coef_t = np.ascontiguousarray(clf.coef_.T)
        return classify_rows(clean, X, self._coef_t, clf.intercept_, clf.classes_)

    def compile(self) -> CompiledModel | None:
        """The model as plain arrays that classify without scikit-learn, for character n-gram
        features (the default); None for word or union features, which need jieba and
        scikit-learn's vectorizer."""
        features = self.pipeline.named_steps["features"]
        if not isinstance(features, CharNgramTfidf):
            return None
        clf: LogisticRegression = self.pipeline.named_steps["clf"]
        return CompiledModel(
            tfidf=features.weights(),
            coef_t=np.ascontiguousarray(clf.coef_.T),
            intercept=clf.intercept_.copy(),
            classes=tuple(str(c) for c in clf.classes_),
            model_id=self.model_id,
            context=self.context,
        )

    def explain(self, result: Classification, *, evidence: int = 5) -> list[Prediction]:
        """One :class:`Prediction` per text of ``result``: all eight scores and ``evidence`` words."""
        if not result.texts:
            return []
        X = result.features
        pushes = self._pushes(X, result.class_winners) if evidence else None
        predictions = []
        for i, (row, j) in enumerate(zip(result.proba.tolist(), result.winners.tolist())):
            predictions.append(
                Prediction(
                    theme=THEME_IDS[j],
                    confidence=row[j],
                    scores=dict(zip(THEME_IDS, row)),
                    evidence=self._word_evidence(result.texts[i], X, pushes, i, evidence) if pushes is not None else (),
                )
            )
        return predictions

    def _word_columns(self, word: str) -> tuple[int, ...]:
        """Columns of the features inside ``word``: its n-grams, or itself as a word.

        Empty for a word a reader would not take as evidence (one character,
        no Chinese). Cached: plan text repeats its words.
        """
        if self._columns is None:
            names = self.pipeline.named_steps["features"].get_feature_names_out()
            by_name: dict[str, list[int]] = {}
            for col, name in enumerate(names):
                by_name.setdefault(str(name).split("__", 1)[-1], []).append(col)
            self._by_name, self._columns = by_name, {}
        cached = self._columns.get(word)
        if cached is None:
            cached = ()
            if len(word) >= 2 and HAN.search(word):
                pieces = {word[i:j] for i in range(len(word)) for j in range(i + 1, min(i + 3, len(word)) + 1)}
                pieces.add(word)
                cached = tuple(col for piece in pieces for col in self._by_name.get(piece, ()))
            self._columns[word] = cached
        return cached

    def _pushes(self, X: CsrRows, winners: np.ndarray) -> np.ndarray:
        """For every stored value of ``X``, its push towards its row's predicted theme.

        The push of a feature is its TF-IDF value times the class weight minus
        the mean weight over classes (softmax is invariant to that shift, so
        the difference is what moves the decision).
        """
        if self._centered_coef is None:
            self._centered_coef = centred_weights(self.pipeline.named_steps["clf"].coef_)
        return feature_pushes(X, self._centered_coef.T, winners)

    def _word_evidence(self, text: str, X: CsrRows, pushes: np.ndarray, row: int, limit: int) -> tuple[Evidence, ...]:
        """The words of ``text`` whose features pushed the predicted theme most.

        Character n-grams are what the model weighs but not what a reader
        reads ("长制，", "0个"): each word of the sentence (jieba) gets the sum of
        the pushes of the features inside it, its n-grams or itself as a word
        feature, and the words with the largest positive sums are the evidence.
        """
        start, end = X.indptr[row], X.indptr[row + 1]
        push_of = dict(zip(X.indices[start:end].tolist(), pushes[start:end].tolist()))
        scored: dict[str, float] = {}
        for word in fast_cut()(text):
            if word not in scored:
                columns = self._word_columns(word)
                if columns:
                    scored[word] = sum(push_of.get(col, 0.0) for col in columns)
        best = sorted((w for w in scored if scored[w] > 0), key=lambda w: -scored[w])[:limit]
        return tuple(Evidence(token=w, weight=round(scored[w], 4)) for w in best)
