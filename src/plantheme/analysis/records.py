"""The records the analysis hands to its outputs (CSV, XLSX, the HTML report).

One representation of an estimated share, of a document's or group's shares and of a corpus's
analysis; the estimator (:mod:`plantheme.analysis.shares`) makes them, the writers only read them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Interval:
    """An estimated share of content sentences in [0, 1] with its 95% interval (lo <= estimate <= hi)."""

    estimate: float
    lo: float
    hi: float


@dataclass(frozen=True)
class ThemeShares:
    """Estimated true theme shares of one document or one group of documents.

    ``key`` is the document id (``doc`` in ``documents.csv``) or a group label such as ``year=2024``;
    ``shares`` maps every theme id of :data:`plantheme.themes.THEME_IDS`, in that order, to its
    estimate; boilerplate sentences are never counted.
    """

    key: str
    documents: int
    content_sentences: int
    shares: Mapping[str, Interval]


@dataclass(frozen=True)
class CorpusAnalysis:
    """Metadata and shares of a tagged corpus: per document, and per value of each metadata field."""

    meta_fields: tuple[str, ...]
    meta: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    documents: Mapping[str, ThemeShares] = field(default_factory=dict)
    groups: Mapping[str, tuple[ThemeShares, ...]] = field(default_factory=dict)
