"""The context stage: its input rows, its probabilities (equal to scikit-learn's), its arrays."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from plantheme.model.context import N_CONTEXT_FEATURES, ContextModel, context_features
from plantheme.text.structure import Outline
from plantheme.themes import THEME_IDS

N = len(THEME_IDS)


def _proba(rows: list[int]) -> np.ndarray:
    """One probability row per unit, most weight on the theme index given."""
    proba = np.full((len(rows), N), 0.02)
    for i, j in enumerate(rows):
        proba[i, j] = 1 - 0.02 * (N - 1)
    return proba


def test_features_read_title_headings_and_neighbours() -> None:
    proba = _proba([0, 1, 2, 3, 4])
    outline = Outline(
        levels=(None, 1, None, None, None), nearest_heading=(-1, -1, 1, 1, 1), top_heading=(-1, -1, 1, 1, 1), title=0
    )
    skip = [False, False, False, True, False]  # unit 3 is furniture
    X = context_features(proba, outline, skip)
    assert X.shape == (5, N_CONTEXT_FEATURES)
    title, nearest, top, prev, nxt, mean = (X[:, N * k : N * (k + 1)] for k in range(1, 7))
    assert np.allclose(title, proba[0])
    assert np.allclose(nearest[2], proba[1]) and np.allclose(nearest[0], 0)
    assert np.allclose(top[4], proba[1])
    # Furniture is no one's neighbour: unit 4's previous content unit is 2, unit 2's next is 4.
    assert np.allclose(prev[4], proba[2]) and np.allclose(nxt[2], proba[4])
    assert np.allclose(prev[0], 0) and np.allclose(nxt[4], 0)
    assert np.allclose(mean[0], proba[[0, 1, 2, 4]].mean(axis=0))
    indicators = X[:, 7 * N :]
    assert indicators[:, 0].tolist() == [1, 1, 1, 1, 1]  # a title
    assert indicators[:, 1].tolist() == [0, 0, 1, 1, 1]  # a heading above
    assert indicators[:, 3].tolist() == [0, 1, 0, 0, 0]  # is a heading


def test_a_title_wrapped_over_lines_reads_as_their_mean() -> None:
    proba = _proba([0, 1, 2, 3])
    outline = Outline(
        levels=(None, None, None, None),
        nearest_heading=(-1, -1, -1, -1),
        top_heading=(-1, -1, -1, -1),
        title=0,
        title_units=(0, 1),
    )
    title = context_features(proba, outline, [False] * 4)[:, N : 2 * N]
    assert np.allclose(title, proba[[0, 1]].mean(axis=0))


def test_empty_document() -> None:
    X = context_features(np.zeros((0, N)), Outline((), (), (), -1), [])
    assert X.shape == (0, N_CONTEXT_FEATURES)


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, list[str]]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(160, N_CONTEXT_FEATURES))
    y = [THEME_IDS[i % 4] for i in range(160)]  # four themes present
    return X, y


@pytest.mark.parametrize("class_weight", [None, "balanced"])
def test_probabilities_equal_scikit_learn(data: tuple[np.ndarray, list[str]], class_weight: str | None) -> None:
    X, y = data
    stage = ContextModel(C=0.5, class_weight=class_weight).fit(X, y)
    reference = LogisticRegression(C=0.5, max_iter=5000, class_weight=class_weight).fit(X, y)
    ours = stage.predict_proba(X)
    for j, theme in enumerate(reference.classes_):
        assert np.allclose(ours[:, THEME_IDS.index(theme)], reference.predict_proba(X)[:, j], atol=1e-6)
    absent = [THEME_IDS.index(t) for t in THEME_IDS if t not in set(y)]
    assert np.all(ours[:, absent] < 1e-9)  # a theme never seen is never predicted
    assert stage.predict(X[:3]) == list(reference.predict(X[:3]))


def test_sample_weights_count_like_repeated_rows(data: tuple[np.ndarray, list[str]]) -> None:
    X, y = data
    weight = np.where(np.arange(len(X)) < 40, 3.0, 1.0)
    weighted = ContextModel(C=0.5).fit(X, y, weight)
    repeated = ContextModel(C=0.5).fit(np.vstack([X, X[:40], X[:40]]), y + y[:40] + y[:40])
    assert np.allclose(weighted.predict_proba(X), repeated.predict_proba(X), atol=1e-4)
    assert not np.allclose(weighted.predict_proba(X), ContextModel(C=0.5).fit(X, y).predict_proba(X), atol=1e-4)


def test_binary_training(data: tuple[np.ndarray, list[str]]) -> None:
    X, _ = data
    y = ["ecology" if i % 2 else "welfare" for i in range(len(X))]
    stage = ContextModel(C=1.0).fit(X, y)
    reference = LogisticRegression(C=1.0, max_iter=5000).fit(X, y)
    assert stage.predict(X) == list(reference.predict(X))


def test_arrays_round_trip(data: tuple[np.ndarray, list[str]]) -> None:
    X, y = data
    stage = ContextModel(C=0.3).fit(X, y)
    again = ContextModel.from_arrays(stage.to_arrays())
    assert again.C == 0.3 and np.array_equal(again.predict_proba(X), stage.predict_proba(X))


def test_wrong_layout_is_refused() -> None:
    arrays = {"context_coef": np.zeros((5, N)), "context_intercept": np.zeros(N), "context_C": np.array([1.0])}
    with pytest.raises(ValueError, match="shape"):
        ContextModel.from_arrays(arrays)


def test_unfitted_stage_refuses_to_predict() -> None:
    with pytest.raises(ValueError, match="not fitted"):
        ContextModel().predict_proba(np.zeros((1, N_CONTEXT_FEATURES)))
