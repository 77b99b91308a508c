"""Theme shares corrected for the classifier's confusions, with bootstrap intervals.

What is estimated: the share of each theme among a document's (or a group's pooled) content
sentences, had every sentence been labelled correctly. The classifier's errors are described by
a confusion matrix of counts (rows: true theme, columns: predicted; the model card's out-of-fold
matrix), whose normalised rows are ``P(predicted | true)``. If ``pi`` are the true shares, the
predicted shares are expected to be ``pi @ P``; the estimate is the maximum-likelihood ``pi`` on
the simplex given the predicted counts, found by EM (the iterative Bayesian unfolding of a
misclassification matrix). Unlike inverting ``P`` it never gives a share below 0 or above 1.

The 95% interval is a percentile bootstrap over ``replicates`` draws (2.5–97.5, expanded for
groups of few documents: :func:`interval_tail`). Each draw

* resamples the evidence: the documents of a group with replacement (a group of one document,
  and a single document, resample its content sentences: a Bayesian bootstrap, the predicted
  shares drawn from Dirichlet(predicted counts + 0.5)), and
* redraws the confusion matrix: each row a Dirichlet draw from its counts (+0.5), so that the
  uncertainty of the error rates themselves, estimated from a few hundred sentences per theme,
  widens the interval,

and re-estimates the shares. The confusion draws are shared by every document and group of a run
(so differences between two of them see the same error rates) and each document's or group's
resampling is seeded by its key, so its interval does not change when other documents are added.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..themes import THEME_IDS
from .records import CorpusAnalysis, Interval, ThemeShares

__all__ = [
    "Confusion",
    "DocumentCounts",
    "ShareDraws",
    "analyse_corpus",
    "confusion_from_card",
    "draw_confusion_rates",
    "draw_selection",
    "estimate_selections",
    "estimate_shares",
    "group_label",
    "interval_tail",
    "select_documents",
    "summarise_draws",
]

N_THEMES = len(THEME_IDS)
# Pseudo-count added to every cell of the confusion matrix for its Dirichlet draws (Jeffreys prior).
CONFUSION_PRIOR = 0.5
# The same for a single document's predicted counts when its sentences are resampled.
SENTENCE_PRIOR = 0.5
# EM stops when no share moves by more than this in a step (the outputs print 4 decimals).
EM_TOLERANCE = 1e-7
# Bootstrap replicates stop earlier: on the 285 documents and 171 groups of gov-reports (1,000
# replicates) 1e-5 left every document interval end within 5.2e-4 of its value at 1e-8 (they are
# several hundredths wide) in 1.8 s against 12.0 s (measured 2026-12-01 on this machine).
BOOTSTRAP_TOLERANCE = 1e-5
EM_MAX_ITERATIONS = 5000
# Documents estimated at once: bounds the (replicates, documents, 8) arrays to a few MB.
CHUNK_DOCUMENTS = 64


@dataclass(frozen=True)
class Confusion:
    """A confusion matrix of counts over :data:`THEME_IDS` (rows: true theme, columns: predicted).

    ``source`` says where it came from (printed in the manifest and by ``compare``).
    """

    counts: tuple[tuple[int, ...], ...]
    source: str

    def __post_init__(self) -> None:
        matrix = np.asarray(self.counts)
        if matrix.shape != (N_THEMES, N_THEMES) or (matrix < 0).any():
            raise ValueError(f"a confusion matrix needs {N_THEMES}x{N_THEMES} counts >= 0")

    def rates(self) -> np.ndarray:
        """``P(predicted | true)``: the rows normalised (a theme never seen is taken as always right)."""
        matrix = np.asarray(self.counts, dtype=float)
        totals = matrix.sum(axis=1, keepdims=True)
        return np.where(totals > 0, matrix / np.where(totals > 0, totals, 1), np.eye(N_THEMES))


def confusion_from_card(cv: Mapping[str, object]) -> Confusion | None:
    """The out-of-fold confusion matrix in a model card's ``cv`` section, or None when it has none.

    The card holds the sentence model's grouped-CV matrix (over every labelled sentence it was
    trained on); the context stage's CV records no matrix, so its (fewer) errors are not what
    is corrected for: see the README.
    """
    counts = cv.get("confusion")
    themes = cv.get("themes", list(THEME_IDS))
    if not counts or not isinstance(counts, list) or not isinstance(themes, list) or themes != list(THEME_IDS):
        return None
    rows = tuple(tuple(int(n) for n in row) for row in counts)
    folds = cv.get("folds", "?")
    return Confusion(
        rows,
        f"the model card's out-of-fold confusion matrix of the sentence model ({folds}-fold"
        f" grouped CV, {sum(map(sum, rows)):,} sentences)",
    )


@dataclass(frozen=True)
class DocumentCounts:
    """A tagged document's predicted theme counts over its content sentences, and its metadata."""

    key: str
    counts: tuple[int, ...]
    meta: Mapping[str, str]


def estimate_shares(
    counts: np.ndarray, rates: np.ndarray, *, tolerance: float = EM_TOLERANCE, max_iterations: int = EM_MAX_ITERATIONS
) -> np.ndarray:
    """Maximum-likelihood true shares from predicted ``counts`` (..., 8) and ``rates`` (..., 8, 8).

    ``rates[t, p]`` is ``P(predicted p | true t)``; leading axes broadcast (one confusion
    matrix per bootstrap replicate, several documents at once). Rows without counts give NaN.
    Shares stay in [0, 1] and sum to 1. EM stops when no share moves by ``tolerance`` in a step.
    """
    counts = np.asarray(counts, dtype=float)
    rates = np.asarray(rates, dtype=float)
    shape = np.broadcast_shapes(counts.shape[:-1], rates.shape[:-2])
    counts = np.broadcast_to(counts, shape + (N_THEMES,)).reshape(-1, N_THEMES)
    rates = np.broadcast_to(rates, shape + (N_THEMES, N_THEMES)).reshape(-1, N_THEMES, N_THEMES)
    totals = counts.sum(axis=-1, keepdims=True)
    observed = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    shares, solved = _starting_point(observed, rates)
    # Where inverting the matrix gave shares in the simplex, they are the answer already.
    active = np.flatnonzero((totals[:, 0] > 0) & ~solved)
    current, rows, seen = shares[active], rates[active], observed[active]
    # A row stops at the step where it converged, whichever rows it is estimated with.
    moving = np.ones(len(active), dtype=bool)
    for iteration in range(1, max_iterations + 1):
        updated = _em_step(current, rows, seen)
        moving &= np.abs(updated - current).max(axis=-1) >= tolerance
        current = np.where(moving[:, None], updated, current)
        if not moving.any():
            break
        if iteration % 8 == 0 and moving.mean() < 0.5:
            # Most rows converge within a few dozen steps; only the slow ones (a share creeping
            # to 0) go on, on compacted arrays (copying them every step would cost more).
            shares[active] = current
            active, current, rows, seen = active[moving], current[moving], rows[moving], seen[moving]
            moving = moving[moving]
    shares[active] = current
    shares = shares / np.maximum(shares.sum(axis=-1, keepdims=True), 1e-300)
    shares = np.where(totals > 0, shares, np.nan)
    return shares.reshape(shape + (N_THEMES,))


def _em_step(shares: np.ndarray, rates: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """One EM step for rows of shares (n, 8) given their rates (n, 8, 8) and observed shares (n, 8)."""
    expected = np.einsum("nt,ntp->np", shares, rates)  # predicted shares the estimate implies
    ratio = np.divide(observed, expected, out=np.zeros_like(expected), where=expected > 0)
    return shares * np.einsum("np,ntp->nt", ratio, rates)


def _starting_point(observed: np.ndarray, rates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where EM starts, and which rows need no EM (n,).

    The inverse-matrix solution where it lies in the simplex: it is then the maximum-likelihood
    answer (it reproduces the observed shares exactly). Elsewhere that solution clipped into
    the simplex and mixed with a little of the uniform: EM converges from anywhere inside the
    simplex, starting near the answer saves most of the iterations, and no share may start at 0
    (EM could never move it).
    """
    try:
        inverted = np.linalg.solve(np.swapaxes(rates, -1, -2), observed[..., None])[..., 0]
    except np.linalg.LinAlgError:
        inverted = np.full_like(observed, -1.0)
    solved = np.asarray((inverted >= 0).all(axis=-1))
    clipped = np.clip(inverted, 0.0, None)
    clipped = clipped / np.maximum(clipped.sum(axis=-1, keepdims=True), 1e-12)
    return np.where(solved[:, None], inverted, 0.98 * clipped + 0.02 / N_THEMES), solved


def draw_confusion_rates(confusion: Confusion | None, replicates: int, seed: int) -> np.ndarray:
    """``replicates`` draws of ``P(predicted | true)`` (replicates, 8, 8): each row ~ Dirichlet(counts + 0.5).

    Without a confusion matrix every draw is the identity: shares are then not corrected and
    only the resampling of sentences and documents makes the interval.
    """
    if confusion is None:
        return np.broadcast_to(np.eye(N_THEMES), (replicates, N_THEMES, N_THEMES))
    rng = np.random.default_rng([seed, 0])
    alpha = np.asarray(confusion.counts, dtype=float) + CONFUSION_PRIOR
    gamma = rng.gamma(alpha, size=(replicates, N_THEMES, N_THEMES))
    return gamma / gamma.sum(axis=-1, keepdims=True)


def _rng_for(key: str, seed: int) -> np.random.Generator:
    """A generator of its own per document or group: its draws do not depend on the rest of the corpus."""
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()
    return np.random.default_rng([seed, 1, int.from_bytes(digest[:8], "little")])


def draw_selection(key: str, counts: np.ndarray, replicates: int, seed: int) -> np.ndarray:
    """Bootstrap draws (replicates, 8) of the pooled predicted counts of a selection of documents.

    ``counts`` is (documents, 8). Two or more documents: documents resampled with replacement;
    one document: its content sentences resampled, as the Bayesian bootstrap does (the
    predicted shares drawn from Dirichlet(counts + 0.5), times the number of sentences).
    """
    rng = _rng_for(key, seed)
    counts = np.asarray(counts, dtype=np.int64).reshape(-1, N_THEMES)
    if len(counts) >= 2:
        picks = rng.integers(0, len(counts), size=(replicates, len(counts)))
        return counts[picks].sum(axis=1)
    pooled = counts.sum(axis=0)
    total = int(pooled.sum())
    if total == 0:
        return np.zeros((replicates, N_THEMES))
    # The Bayesian bootstrap of the sentences, with a Jeffreys prior: the plain multinomial
    # redraw can never produce a theme the document has no predicted sentence of, and its
    # intervals held the true shares of simulated 50-sentence documents 88.2% of the time
    # instead of 95% (this draw: 94.6%; benchmarks/share_coverage.py, 2026-12-01).
    return rng.dirichlet(pooled + SENTENCE_PRIOR, size=replicates) * total


@dataclass(frozen=True)
class ShareDraws:
    """A selection's point estimate (8,) and its bootstrap estimates (replicates, 8); NaN without content."""

    estimate: np.ndarray
    replicates: np.ndarray


def summarise_draws(key: str, documents: int, content: int, draws: ShareDraws) -> ThemeShares:
    """The :class:`ThemeShares` of a selection: estimate and 95% percentile interval per theme.

    No content sentences: no shares (an empty mapping). The percentile interval is widened to
    hold the estimate when a skewed bootstrap puts it outside (at a share of 0 or 1).
    """
    if content == 0 or np.isnan(draws.estimate).any():
        return ThemeShares(key=key, documents=documents, content_sentences=content, shares={})
    tail = interval_tail(documents)
    lo, hi = np.percentile(draws.replicates, [100 * tail, 100 * (1 - tail)], axis=0)
    shares = {
        theme: Interval(estimate=float(est), lo=float(min(low, est)), hi=float(max(high, est)))
        for theme, est, low, high in zip(THEME_IDS, draws.estimate, lo, hi)
    }
    return ThemeShares(key=key, documents=documents, content_sentences=content, shares=shares)


def interval_tail(documents: int) -> float:
    """The bootstrap percentile that ends a 95% interval over ``documents`` resampled documents.

    2.5% for a single document (its sentences are resampled: many units). Resampling a few
    documents understates the spread (by (k-1)/k in variance, and a mean of k has t rather
    than normal tails): the expanded percentile interval (Hesterberg 2015) takes the
    percentile Phi(-sqrt(k/(k-1)) t_{k-1, 0.975}) instead: 0.9% for 10 documents, 2.0% for 50.
    Measured on simulated groups of 10 documents of 100 sentences: 88.8% coverage with the
    plain 2.5%, 93.3% with this (benchmarks/share_coverage.py, 2026-12-01).
    """
    if documents < 2:
        return 0.025
    from scipy.special import ndtr, stdtrit  # only here: no import cost for the rest of tag

    return float(ndtr(-np.sqrt(documents / (documents - 1)) * stdtrit(documents - 1, 0.975)))


def group_label(field: str, value: str) -> str:
    """The key of a group: ``field=value``."""
    return f"{field}={value}"


def select_documents(documents: Sequence[DocumentCounts], selector: str) -> list[DocumentCounts]:
    """The documents a selector names: a document key, else ``field=value`` (every document with that value).

    Empty when nothing matches.
    """
    exact = [doc for doc in documents if doc.key == selector]
    if exact or "=" not in selector:
        return exact
    field, value = selector.split("=", 1)
    return [doc for doc in documents if doc.meta.get(field) == value]


def _estimate_selections(
    selections: Sequence[tuple[str, np.ndarray]], rates: np.ndarray, draws_of_rates: np.ndarray, seed: int
) -> list[ShareDraws]:
    """Point estimates and bootstrap estimates of several selections, in chunks."""
    results: list[ShareDraws] = []
    replicates = len(draws_of_rates)
    for start in range(0, len(selections), CHUNK_DOCUMENTS):
        chunk = selections[start : start + CHUNK_DOCUMENTS]
        pooled = np.stack([counts.reshape(-1, N_THEMES).sum(axis=0) for _, counts in chunk])
        estimates = estimate_shares(pooled, rates)
        resampled = np.stack([draw_selection(key, counts, replicates, seed) for key, counts in chunk], axis=1)
        # (replicates, chunk, 8): replicate i of every selection uses confusion draw i.
        boot = estimate_shares(resampled, draws_of_rates[:, None], tolerance=BOOTSTRAP_TOLERANCE)
        results.extend(ShareDraws(estimates[i], boot[:, i]) for i in range(len(chunk)))
    return results


def estimate_selections(
    selections: Sequence[tuple[str, np.ndarray]], confusion: Confusion | None, replicates: int, seed: int
) -> list[ShareDraws]:
    """Estimates and bootstrap draws of selections ``(key, counts (documents, 8))`` under one confusion matrix.

    The confusion draws depend only on ``seed``: every selection of a run (and of ``compare``
    over its outputs) sees the same ones.
    """
    rates = confusion.rates() if confusion is not None else np.eye(N_THEMES)
    return _estimate_selections(selections, rates, draw_confusion_rates(confusion, replicates, seed), seed)


def analyse_corpus(
    documents: Sequence[DocumentCounts],
    meta_fields: Sequence[str],
    confusion: Confusion | None,
    *,
    replicates: int,
    seed: int,
) -> CorpusAnalysis:
    """Shares with intervals of every document and of every (metadata field, value) group.

    Groups are listed per field in order of their values; a document without a value for a
    field is in none of that field's groups.
    """
    doc_selections = [(doc.key, np.asarray(doc.counts).reshape(1, N_THEMES)) for doc in documents]
    doc_draws = estimate_selections(doc_selections, confusion, replicates, seed)
    per_document = {
        doc.key: summarise_draws(doc.key, 1, int(sum(doc.counts)), draws) for doc, draws in zip(documents, doc_draws)
    }
    group_selections: list[tuple[str, np.ndarray]] = []
    members: list[int] = []
    for field in meta_fields:
        values = sorted({doc.meta[field] for doc in documents if doc.meta.get(field)})
        for value in values:
            key = group_label(field, value)
            chosen = [doc.counts for doc in documents if doc.meta.get(field) == value]
            group_selections.append((key, np.asarray(chosen).reshape(-1, N_THEMES)))
            members.append(len(chosen))
    group_draws = estimate_selections(group_selections, confusion, replicates, seed)
    groups: dict[str, list[ThemeShares]] = {field: [] for field in meta_fields}
    for (key, counts), n_docs, draws in zip(group_selections, members, group_draws):
        field = key.split("=", 1)[0]
        groups[field].append(summarise_draws(key, n_docs, int(counts.sum()), draws))
    return CorpusAnalysis(
        meta_fields=tuple(meta_fields),
        meta={doc.key: dict(doc.meta) for doc in documents},
        documents=per_document,
        groups={field: tuple(rows) for field, rows in groups.items()},
    )
