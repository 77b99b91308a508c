"""Character n-gram TF-IDF as a scikit-learn estimator, over the NumPy core in :mod:`plantheme.model.ngrams`.

The core's rows are plain arrays (:class:`~plantheme.model.ngrams.CsrRows`); this
estimator hands scikit-learn (the pipeline, ``FeatureUnion``, training) the
``scipy.sparse`` matrix it expects, over the same arrays.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .ngrams import MAX_N, NgramTfidf, decode_ngram, fit_vocabulary

__all__ = ["CharNgramTfidf"]


class CharNgramTfidf(TransformerMixin, BaseEstimator):
    """TF-IDF over character n-grams (n up to 3), as scikit-learn computes it, vectorised."""

    def __init__(
        self,
        ngram_range: tuple[int, int] = (1, 3),
        min_df: int = 1,
        sublinear_tf: bool = True,
        fold_digits: bool = True,
    ) -> None:
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.sublinear_tf = sublinear_tf
        self.fold_digits = fold_digits

    def _check_params(self) -> tuple[int, int]:
        n_min, n_max = self.ngram_range
        if not 1 <= n_min <= n_max <= MAX_N:
            raise ValueError(f"ngram_range must lie within (1, {MAX_N}), not {self.ngram_range}")
        return n_min, n_max

    def fit(self, X: Sequence[str], y: Any = None) -> "CharNgramTfidf":
        """Learn the vocabulary (n-grams in at least ``min_df`` texts) and their idf."""
        self.vocabulary_codes_, self.idf_ = fit_vocabulary(list(X), self._check_params(), self.min_df, self.fold_digits)
        self.__dict__.pop("_weights", None)
        return self

    def transform(self, X: Sequence[str]) -> sp.csr_matrix:
        """TF-IDF rows for ``X`` over the fitted vocabulary (unknown n-grams ignored)."""
        check_is_fitted(self, "vocabulary_codes_")
        self._check_params()
        return self.weights().transform(X).to_scipy()

    def weights(self) -> NgramTfidf:
        """The fitted vocabulary and idf as the NumPy transformer that does the work."""
        # Built on first use, not pickled: the model file stays small and the
        # hash table is a pure function of the vocabulary.
        weights = self.__dict__.get("_weights")
        if weights is None:
            weights = NgramTfidf(
                self.vocabulary_codes_, self.idf_, self._check_params(), self.sublinear_tf, self.fold_digits
            )
            self.__dict__["_weights"] = weights
        return weights

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state.pop("_weights", None)
        return state

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """The n-gram of each column."""
        check_is_fitted(self, "vocabulary_codes_")
        return np.array([decode_ngram(int(c)) for c in self.vocabulary_codes_], dtype=object)
