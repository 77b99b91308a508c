"""The share estimator: it recovers known shares, its intervals cover at their stated rate, edge cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from plantheme.analysis.shares import (
    Confusion,
    DocumentCounts,
    analyse_corpus,
    confusion_from_card,
    estimate_selections,
    estimate_shares,
    select_documents,
    summarise_draws,
)
from plantheme.themes import THEME_IDS

N = len(THEME_IDS)


def _confusion(accuracy: float, per_theme: int) -> Confusion:
    """A confusion matrix of counts: ``accuracy`` on the diagonal, the rest spread evenly."""
    off = (1 - accuracy) / (N - 1)
    rates = np.full((N, N), off) + np.eye(N) * (accuracy - off)
    return Confusion(tuple(tuple(int(round(x * per_theme)) for x in row) for row in rates), "test")


def _lopsided_confusion() -> Confusion:
    """Errors that are not symmetric: industry and investment swallow much of the rest."""
    counts = np.eye(N) * 800 + 20
    counts[:, 0] += 60  # everything leaks into industry
    counts[3, 0] += 150  # rural_revitalisation read as industry, as on the dev set
    counts[1, 2] += 90
    return Confusion(tuple(tuple(int(x) for x in row) for row in counts), "test")


TRUE_SHARES = [
    (0.30, 0.05, 0.10, 0.15, 0.10, 0.10, 0.10, 0.10),
    (0.0, 0.0, 0.5, 0.0, 0.25, 0.25, 0.0, 0.0),  # several themes absent
    (1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0),  # a single-theme document
]


@pytest.mark.parametrize("truth", TRUE_SHARES)
@pytest.mark.parametrize("confusion", [_confusion(0.85, 1000), _lopsided_confusion()], ids=["even", "lopsided"])
def test_expected_predictions_give_back_the_true_shares(truth: tuple[float, ...], confusion: Confusion) -> None:
    # Predicted counts exactly as the confusion matrix makes them from the true shares.
    predicted = np.asarray(truth) @ confusion.rates() * 100_000
    estimate = estimate_shares(predicted, confusion.rates())
    assert np.allclose(estimate, truth, atol=2e-3)
    assert estimate.min() >= 0 and estimate.sum() == pytest.approx(1)


def test_shares_drawn_through_the_confusion_matrix_are_recovered() -> None:
    rng = np.random.default_rng(3)
    confusion = _lopsided_confusion()
    truth = np.asarray(TRUE_SHARES[0])
    per_true_theme = rng.multinomial(50_000, truth)
    counts = sum(rng.multinomial(n, confusion.rates()[t]) for t, n in enumerate(per_true_theme))
    naive = counts / counts.sum()
    estimate = estimate_shares(counts, confusion.rates())
    # Industry is inflated by the leaks into it; the correction takes them out.
    assert naive[0] - truth[0] > 0.025
    assert np.abs(estimate - truth).max() < 0.01


def test_shares_stay_in_the_simplex_where_inverting_the_matrix_would_not() -> None:
    confusion = _confusion(0.8, 500)
    counts = np.array([0, 0, 0, 0, 0, 0, 30, 1])  # inverting gives negative shares for six themes
    inverted = np.linalg.solve(confusion.rates().T, counts / counts.sum())
    assert inverted.min() < 0
    estimate = estimate_shares(counts, confusion.rates())
    assert estimate.min() >= 0 and estimate.max() <= 1 and estimate.sum() == pytest.approx(1)
    assert estimate[6] > 0.9


def test_identity_confusion_leaves_the_predicted_shares() -> None:
    identity = Confusion(tuple(tuple(500 if i == j else 0 for j in range(N)) for i in range(N)), "identity")
    counts = np.array([5, 0, 3, 0, 0, 2, 0, 10])
    assert np.allclose(estimate_shares(counts, identity.rates()), counts / counts.sum())


def test_a_document_without_content_sentences_has_no_shares() -> None:
    docs = [DocumentCounts("empty.txt", (0,) * N, {}), DocumentCounts("full.txt", (3, 0, 0, 0, 0, 0, 0, 1), {})]
    analysis = analyse_corpus(docs, (), _confusion(0.9, 800), replicates=200, seed=0)
    assert analysis.documents["empty.txt"].shares == {}
    assert analysis.documents["empty.txt"].content_sentences == 0
    assert set(analysis.documents["full.txt"].shares) == set(THEME_IDS)


def test_a_single_theme_document_has_an_interval_inside_zero_one() -> None:
    docs = [DocumentCounts("one.txt", (0, 0, 0, 0, 40, 0, 0, 0), {})]
    shares = analyse_corpus(docs, (), _confusion(0.9, 800), replicates=400, seed=0).documents["one.txt"].shares
    ecology = shares["ecology"]
    assert 0.9 < ecology.estimate <= ecology.hi <= 1 and ecology.lo < ecology.estimate
    assert all(0 <= s.lo <= s.estimate <= s.hi <= 1 for s in shares.values())


def test_the_confusion_matrix_own_uncertainty_widens_the_interval() -> None:
    counts = np.array([[400, 100, 100, 100, 100, 100, 50, 50]])
    widths = []
    for per_theme in (20_000, 50):  # the same error rates, known from many or from few sentences
        (draws,) = estimate_selections([("doc", counts)], _confusion(0.85, per_theme), 1000, 0)
        shares = summarise_draws("doc", 1, 1000, draws).shares
        widths.append(shares["industry"].hi - shares["industry"].lo)
    assert widths[1] > 1.5 * widths[0]


def test_intervals_are_reproducible_and_do_not_depend_on_the_other_documents() -> None:
    confusion = _confusion(0.9, 800)
    a = DocumentCounts("a.txt", (10, 5, 0, 3, 2, 8, 1, 1), {"year": "2024"})
    b = DocumentCounts("b.txt", (1, 2, 30, 3, 2, 8, 1, 1), {"year": "2019"})
    alone = analyse_corpus([a], ("year",), confusion, replicates=300, seed=7)
    both = analyse_corpus([a, b], ("year",), confusion, replicates=300, seed=7)
    assert alone.documents["a.txt"] == both.documents["a.txt"]
    assert both == analyse_corpus([a, b], ("year",), confusion, replicates=300, seed=7)
    reseeded = analyse_corpus([a], ("year",), confusion, replicates=300, seed=8)
    assert reseeded.documents["a.txt"] != alone.documents["a.txt"]


def test_groups_pool_the_documents_of_each_value() -> None:
    docs = [DocumentCounts(f"{i}.txt", (i + 1, 1, 0, 0, 0, 0, 0, 2), {"year": str(2019 + i % 2)}) for i in range(5)]
    docs.append(DocumentCounts("no-year.txt", (1,) * N, {}))
    analysis = analyse_corpus(docs, ("year",), None, replicates=200, seed=0)
    groups = {g.key: g for g in analysis.groups["year"]}
    assert list(groups) == ["year=2019", "year=2020"]
    assert (groups["year=2019"].documents, groups["year=2019"].content_sentences) == (3, 1 + 3 + 5 + 9)
    # Without a confusion matrix the estimate is the pooled predicted share.
    assert groups["year=2019"].shares["industry"].estimate == pytest.approx(9 / 18)


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("a.txt", ["a.txt"]),
        ("year=2024", ["a.txt", "c.txt"]),
        ("year=1999", []),
        ("b.txt=x", []),
    ],
)
def test_selectors_name_a_document_or_a_group(selector: str, expected: list[str]) -> None:
    docs = [
        DocumentCounts("a.txt", (1,) * N, {"year": "2024"}),
        DocumentCounts("b.txt", (1,) * N, {"year": "2019"}),
        DocumentCounts("c.txt", (1,) * N, {"year": "2024"}),
    ]
    assert [doc.key for doc in select_documents(docs, selector)] == expected


def test_a_card_without_a_confusion_matrix_gives_none() -> None:
    assert confusion_from_card({}) is None
    card = {"confusion": [[1] * N] * N, "themes": list(THEME_IDS), "folds": 5}
    assert confusion_from_card(card).counts[0] == (1,) * N  # type: ignore[union-attr]


# --- coverage by simulation ---------------------------------------------------------------------

# The default model's out-of-fold confusion rows (models/default/model.json) have 810-2,078
# sentences; the simulations draw the matrix the estimator sees from a true one with this many.
SIM_ROW_SENTENCES = 1000


def _simulate_coverage(corpora: int, sentences: int, documents: int, replicates: int, seed: int) -> float:
    """Fraction of 95% intervals that hold the true share, over ``corpora`` simulated selections.

    Each: true shares ~ Dirichlet(1); the estimator's confusion matrix is a draw of
    ``SIM_ROW_SENTENCES`` sentences per row from the true one; ``documents`` documents (their
    own shares ~ Dirichlet(20 x the true ones) when several) of ``sentences`` sentences, each
    sentence's prediction drawn through the true confusion matrix.
    """
    rng = np.random.default_rng(seed)
    true_rates = _lopsided_confusion().rates()
    covered = []
    for k in range(corpora):
        seen = np.stack([rng.multinomial(SIM_ROW_SENTENCES, row) for row in true_rates])
        confusion = Confusion(tuple(tuple(int(x) for x in row) for row in seen), "simulated")
        truth = rng.dirichlet(np.ones(N))
        doc_shares = rng.dirichlet(20 * truth + 1e-3, size=documents) if documents > 1 else truth[None]
        counts = np.stack([rng.multinomial(sentences, shares @ true_rates) for shares in doc_shares])
        (draws,) = estimate_selections([(f"sim{k}", counts)], confusion, replicates, seed + k)
        shares = summarise_draws("sim", documents, int(counts.sum()), draws).shares
        covered.append([shares[t].lo <= p <= shares[t].hi for t, p in zip(THEME_IDS, truth)])
    return float(np.mean(covered))


def test_intervals_of_documents_cover_the_true_shares_at_their_stated_rate() -> None:
    corpora = 200
    coverage = _simulate_coverage(corpora, sentences=200, documents=1, replicates=400, seed=11)
    # Each theme's coverage over 200 corpora is binomial with sd sqrt(.95 * .05 / 200) = 0.015;
    # the mean over eight themes varies less. Three of those sds either way.
    sd = math.sqrt(0.95 * 0.05 / corpora)
    assert 0.95 - 3 * sd <= coverage <= 0.95 + 3 * sd, coverage


@pytest.mark.slow
@pytest.mark.parametrize(("sentences", "documents"), [(50, 1), (1000, 1), (100, 10)])
def test_intervals_cover_for_short_and_long_documents_and_groups(sentences: int, documents: int) -> None:
    corpora = 400
    coverage = _simulate_coverage(corpora, sentences=sentences, documents=documents, replicates=1000, seed=5)
    sd = math.sqrt(0.95 * 0.05 / corpora)
    assert 0.95 - 3 * sd <= coverage <= 0.95 + 3 * sd, coverage
