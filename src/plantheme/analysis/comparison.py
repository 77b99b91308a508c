"""Two documents or two groups of a tagged corpus side by side: each theme's difference in share.

The shares are re-estimated from the tagged corpus's manifest (each document's predicted counts
and metadata, the confusion matrix, the replicates and seed of the run), exactly as
``documents.csv`` and ``groups.csv`` give them, and the difference of each theme's share gets the
percentile interval of the replicates' differences (2.5–97.5, expanded for groups of few
documents as their own intervals are: :func:`~plantheme.analysis.shares.interval_tail`).
Both sides of a replicate use the same draw of the confusion matrix: the error rates are not known exactly, but they are the same
for both. A difference is *clear* when its interval excludes 0.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import PlanthemeError
from ..themes import THEME_IDS
from .records import ThemeShares
from .shares import (
    Confusion,
    DocumentCounts,
    estimate_selections,
    interval_tail,
    select_documents,
    summarise_draws,
)

__all__ = [
    "TaggedCorpus",
    "Difference",
    "Comparison",
    "read_tagged_corpus",
    "compare_selections",
    "format_comparison",
    "comparison_as_json",
]


@dataclass(frozen=True)
class TaggedCorpus:
    """What a tagged corpus's manifest holds for the analysis: documents, confusion, bootstrap settings."""

    source: str
    documents: tuple[DocumentCounts, ...]
    meta_fields: tuple[str, ...]
    confusion: Confusion | None
    confusion_source: str
    replicates: int
    seed: int


def read_tagged_corpus(manifest_path: Path) -> TaggedCorpus:
    """Read the documents and share settings of a ``plantheme tag`` output from its ``manifest.json``.

    Raises :class:`PlanthemeError` naming the file when it is missing or written by a plantheme
    without shares.
    """
    try:
        manifest = json.loads(Path(manifest_path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PlanthemeError(f"{manifest_path}: not there; give the output folder of `plantheme tag`") from None
    except (OSError, ValueError) as exc:
        raise PlanthemeError(f"{manifest_path}: cannot read it ({exc})") from None
    shares = manifest.get("shares") if isinstance(manifest, dict) else None
    if not isinstance(shares, dict):
        raise PlanthemeError(f"{manifest_path}: written without theme shares; tag the folder again with this plantheme")
    try:
        documents = tuple(
            DocumentCounts(
                key=entry["path"],
                counts=tuple(int(entry["counts"][t]) for t in THEME_IDS),
                meta={k: str(v) for k, v in entry.get("meta", {}).items()},
            )
            for entry in manifest["files"]
            if entry.get("status") == "tagged"
        )
        counts = shares.get("confusion")
        confusion = (
            Confusion(tuple(tuple(int(n) for n in row) for row in counts), shares["confusion_source"])
            if counts
            else None
        )
        return TaggedCorpus(
            source=str(manifest_path),
            documents=documents,
            meta_fields=tuple(shares["meta_fields"]),
            confusion=confusion,
            confusion_source=str(shares["confusion_source"]),
            replicates=int(shares["replicates"]),
            seed=int(shares["seed"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise PlanthemeError(
            f"{manifest_path}: damaged manifest ({type(exc).__name__}: {exc}); tag the folder again"
        ) from None


@dataclass(frozen=True)
class Difference:
    """A's share minus B's share of one theme, with its 95% interval; ``clear`` when it excludes 0."""

    estimate: float
    lo: float
    hi: float

    @property
    def clear(self) -> bool:
        """Whether the interval excludes 0."""
        return self.lo > 0 or self.hi < 0


@dataclass(frozen=True)
class Comparison:
    """Two selections' shares and, per theme, their difference."""

    a: ThemeShares
    b: ThemeShares
    differences: Mapping[str, Difference]
    confusion_source: str
    replicates: int


def _selection(corpus: TaggedCorpus, selector: str) -> np.ndarray:
    chosen = select_documents(corpus.documents, selector)
    if not chosen:
        fields = ", ".join(corpus.meta_fields) or "none in this corpus"
        raise PlanthemeError(
            f"{corpus.source}: no document or group '{selector}' (a document's path as in"
            f" documents.csv, or field=value; fields: {fields})"
        )
    counts = np.asarray([doc.counts for doc in chosen], dtype=np.int64)
    if counts.sum() == 0:
        raise PlanthemeError(f"{corpus.source}: '{selector}' has no content sentences to compare")
    return counts


def compare_selections(corpus: TaggedCorpus, a: str, b: str) -> Comparison:
    """Compare selections ``a`` and ``b`` (document paths, or ``field=value`` groups) theme by theme.

    Selections that share documents are resampled independently, which makes the interval of
    their difference wider than it need be, never narrower.
    """
    counts_a, counts_b = _selection(corpus, a), _selection(corpus, b)
    draws_a, draws_b = estimate_selections(
        [(a, counts_a), (b, counts_b)], corpus.confusion, corpus.replicates, corpus.seed
    )
    shares_a = summarise_draws(a, len(counts_a), int(counts_a.sum()), draws_a)
    shares_b = summarise_draws(b, len(counts_b), int(counts_b.sum()), draws_b)
    diff = draws_a.replicates - draws_b.replicates
    # Groups of few documents widen the interval of their difference as they widen their own.
    groups = [len(counts) for counts in (counts_a, counts_b) if len(counts) >= 2]
    tail = interval_tail(min(groups)) if groups else interval_tail(1)
    lo, hi = np.percentile(diff, [100 * tail, 100 * (1 - tail)], axis=0)
    point = draws_a.estimate - draws_b.estimate
    differences = {
        theme: Difference(float(est), float(min(low, est)), float(max(high, est)))
        for theme, est, low, high in zip(THEME_IDS, point, lo, hi)
    }
    return Comparison(
        a=shares_a,
        b=shares_b,
        differences=differences,
        confusion_source=corpus.confusion_source,
        replicates=corpus.replicates,
    )


def _side(shares: ThemeShares) -> str:
    return (
        f"{shares.key}: {shares.documents:,} document{'s' if shares.documents != 1 else ''},"
        f" {shares.content_sentences:,} content sentences"
    )


def format_comparison(comparison: Comparison) -> str:
    """The comparison as a text table: shares of A and B, A − B with its interval, clear ones marked."""
    lines = [
        f"A  {_side(comparison.a)}",
        f"B  {_side(comparison.b)}",
        "",
        f"{'theme':<22}{'A':<22}{'B':<22}{'A - B':<25}clear",
    ]
    for theme in THEME_IDS:
        a, b, d = comparison.a.shares[theme], comparison.b.shares[theme], comparison.differences[theme]
        lines.append(
            f"{theme:<22}{a.estimate:.3f} [{a.lo:.3f}, {a.hi:.3f}]  {b.estimate:.3f} [{b.lo:.3f},"
            f" {b.hi:.3f}]  {d.estimate:+.3f} [{d.lo:+.3f}, {d.hi:+.3f}]  {'yes' if d.clear else ''}".rstrip()
        )
    clear = [theme for theme in THEME_IDS if comparison.differences[theme].clear]
    lines += [
        "",
        "clear differences (95% interval excludes 0): " + (", ".join(clear) or "none"),
        f"confusions corrected with: {comparison.confusion_source};"
        f" intervals from {comparison.replicates:,} bootstrap replicates",
    ]
    return "\n".join(lines)


def _interval(estimate: float, lo: float, hi: float) -> dict[str, float]:
    return {"estimate": round(estimate, 4), "lo": round(lo, 4), "hi": round(hi, 4)}


def comparison_as_json(comparison: Comparison) -> dict[str, Any]:
    """The comparison as one JSON-ready object."""

    def side(shares: ThemeShares) -> dict[str, Any]:
        return {"selector": shares.key, "documents": shares.documents, "content_sentences": shares.content_sentences}

    themes = []
    for theme in THEME_IDS:
        a, b, d = comparison.a.shares[theme], comparison.b.shares[theme], comparison.differences[theme]
        themes.append(
            {
                "theme": theme,
                "a": _interval(a.estimate, a.lo, a.hi),
                "b": _interval(b.estimate, b.lo, b.hi),
                "difference": _interval(d.estimate, d.lo, d.hi),
                "clear": d.clear,
            }
        )
    return {
        "a": side(comparison.a),
        "b": side(comparison.b),
        "themes": themes,
        "confusion_source": comparison.confusion_source,
        "replicates": comparison.replicates,
        "interval": 0.95,
    }
