"""Tagging documents: every sentence of a text with its theme, and the document's theme shares.

:func:`tag_text` is the one per-document computation, used by ``plantheme tag``
(over folders) and by the service's ``POST /v1/tag``.
"""

from __future__ import annotations

import argparse
from collections import Counter
from dataclasses import dataclass

from .model import Prediction, ThemeModel
from .normalize import normalize
from .sentences import split_sentences
from .themes import THEME_IDS

__all__ = ["TaggedSentence", "TaggedDocument", "tag_text", "run_tag_command", "GARBLED", "LOW_CONFIDENCE"]

GARBLED = "garbled"
LOW_CONFIDENCE = "low_confidence"


@dataclass(frozen=True)
class TaggedSentence:
    """One sentence of a document with its prediction.

    ``start``/``end`` index the normalised text; ``text`` is the sentence as the
    document has it (traditional characters, annotations and all) and
    ``normalized`` what the model read.
    """

    index: int
    start: int
    end: int
    text: str
    normalized: str
    prediction: Prediction
    flags: tuple[str, ...] = ()

    @property
    def theme(self) -> str:
        return self.prediction.theme

    @property
    def confidence(self) -> float:
        return self.prediction.confidence


@dataclass(frozen=True)
class TaggedDocument:
    """A document's tagged sentences and its theme counts and shares."""

    sentences: tuple[TaggedSentence, ...]
    counts: dict[str, int]
    shares: dict[str, float]
    dominant: str | None
    garbled: bool


def tag_text(
    model: ThemeModel, raw: str, *, low_confidence: float = 0.5, evidence: int = 5
) -> TaggedDocument:
    """Normalise, split and classify one document's text.

    Shares are the fraction of the document's sentences per theme; the
    dominant theme is the most frequent one (ties: taxonomy order), or None
    for a document without sentences.
    """
    doc = normalize(raw)
    units = split_sentences(doc.text)
    predictions = model.predict([u.text for u in units], normalized=True, evidence=evidence)
    sentences = []
    for index, (unit, prediction) in enumerate(zip(units, predictions)):
        flags = []
        if doc.is_garbled(unit.start, unit.end):
            flags.append(GARBLED)
        if prediction.confidence < low_confidence:
            flags.append(LOW_CONFIDENCE)
        sentences.append(TaggedSentence(
            index=index, start=unit.start, end=unit.end,
            text=doc.original_text(unit.start, unit.end), normalized=unit.text,
            prediction=prediction, flags=tuple(flags),
        ))
    counts = Counter(p.theme for p in predictions)
    total = len(predictions)
    ordered = {theme: counts.get(theme, 0) for theme in THEME_IDS}
    dominant = max(THEME_IDS, key=lambda t: (ordered[t], -THEME_IDS.index(t))) if total else None
    return TaggedDocument(
        sentences=tuple(sentences),
        counts=ordered,
        shares={theme: (n / total if total else 0.0) for theme, n in ordered.items()},
        dominant=dominant,
        garbled=bool(doc.garbled),
    )


def run_tag_command(args: argparse.Namespace) -> int:
    """``plantheme tag DIR``: tag a folder of documents (see :mod:`plantheme.corpus_tagging`).

    Returns the exit status: 0 when every file was tagged or deliberately
    skipped, 1 when any failed (the outputs are written all the same), 2 for
    bad arguments.
    """
    # Imported here: corpus_tagging builds on tag_text from this module.
    from .corpus_tagging import run_tag_command as run

    return run(args)
