"""The vectorised char n-gram TF-IDF gives scikit-learn's numbers."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.feature_extraction.text import TfidfVectorizer

from plantheme.model.features import CharNgramTfidf


def fold_digits(text: str) -> str:
    """What CharNgramTfidf(fold_digits=True) does to each character."""
    return re.sub("[0-9]", "0", text)


TEXTS = [
    "全年开工项目30个、竣工11个，完成年度投资31.6亿元。",
    "全面落实河长制，推进流域水环境综合治理。",
    "新建幼儿园2所。",
    "推进𠮷字和emoji😀的处理。",
    "",
]


def _as_dict(matrix, names) -> list[dict[str, float]]:  # type: ignore[no-untyped-def]
    dense = matrix.toarray()
    return [{names[j]: round(float(v), 10) for j, v in enumerate(row) if v} for row in dense]


@pytest.mark.parametrize("ngram_range", [(1, 1), (1, 3), (2, 3)])
@pytest.mark.parametrize("sublinear_tf", [True, False])
def test_matches_sklearn(ngram_range: tuple[int, int], sublinear_tf: bool) -> None:
    ours = CharNgramTfidf(ngram_range=ngram_range, sublinear_tf=sublinear_tf).fit(TEXTS[:3])
    ref = TfidfVectorizer(
        analyzer="char", preprocessor=fold_digits, lowercase=False, ngram_range=ngram_range, sublinear_tf=sublinear_tf
    ).fit(TEXTS[:3])
    assert sorted(ours.get_feature_names_out()) == sorted(ref.get_feature_names_out())
    got = _as_dict(ours.transform(TEXTS), ours.get_feature_names_out())
    want = _as_dict(ref.transform(TEXTS), ref.get_feature_names_out())
    assert got == want


def test_min_df_and_unknown_ngrams() -> None:
    model = CharNgramTfidf(ngram_range=(1, 1), min_df=2).fit(["甲乙", "甲丙", "丁"])
    assert list(model.get_feature_names_out()) == ["甲"]
    X = model.transform(["戊己", "甲"])
    assert X.shape == (2, 1)
    assert X[0].nnz == 0 and X[1, 0] == pytest.approx(1.0)


def test_bad_ngram_range() -> None:
    with pytest.raises(ValueError, match="ngram_range"):
        CharNgramTfidf(ngram_range=(1, 4)).fit(["甲"])


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=20), min_size=2, max_size=6))
def test_matches_sklearn_on_arbitrary_text(texts: list[str]) -> None:
    texts = [t.replace("\x00", "") or "甲" for t in texts]
    ours = CharNgramTfidf().fit(texts)
    ref = TfidfVectorizer(
        analyzer="char", preprocessor=fold_digits, lowercase=False, ngram_range=(1, 3), sublinear_tf=True
    )
    # sklearn's char analyzer folds whitespace runs to one space; compare on text without them
    if any(any(c.isspace() for c in t) for t in texts):
        return
    ref.fit(texts)
    got = _as_dict(ours.transform(texts), ours.get_feature_names_out())
    want = _as_dict(ref.transform(texts), ref.get_feature_names_out())
    assert got == want
    assert np.allclose(np.asarray(ours.transform(texts).multiply(ours.transform(texts)).sum(axis=1)).ravel(), 1.0)
