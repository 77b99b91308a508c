"""Tagging documents: every sentence of a text with its theme, and the document's theme shares.

:func:`tag_text` is the one per-document computation, used by ``plantheme tag``
(over folders) and by the service's ``POST /v1/tag``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from .normalize import NormalizedText, normalize
from .sentences import split_sentences
from .themes import THEME_IDS

if TYPE_CHECKING:  # the models are loaded where they are used (see corpus_tagging)
    from .model import Prediction, ThemeModel
    from .scoring import CompiledModel

__all__ = ["TaggedSentence", "TaggedDocument", "tag_text", "GARBLED", "LOW_CONFIDENCE"]

GARBLED = "garbled"
LOW_CONFIDENCE = "low_confidence"


class TaggedSentence(NamedTuple):
    """One sentence of a document with its theme.

    ``start``/``end`` index the normalised text; ``text`` is the sentence as the
    document has it (traditional characters, annotations and all) and
    ``normalized`` what the model read. ``prediction`` (all eight scores and
    the evidence) is there when :func:`tag_text` was asked for details.
    """

    # A NamedTuple, not a frozen dataclass: bulk tagging makes one per
    # sentence, and a frozen dataclass takes several times as long to build.

    index: int
    start: int
    end: int
    text: str
    normalized: str
    theme: str
    confidence: float
    flags: tuple[str, ...] = ()
    prediction: Prediction | None = None


@dataclass(frozen=True)
class TaggedDocument:
    """A document's tagged sentences, its theme counts and shares, and its normalised text."""

    sentences: tuple[TaggedSentence, ...]
    counts: dict[str, int]
    shares: dict[str, float]
    dominant: str | None
    garbled: bool
    normalized: NormalizedText


# Every combination of flags, built once: most sentences have none.
_FLAGS = {
    (False, False): (),
    (True, False): (GARBLED,),
    (False, True): (LOW_CONFIDENCE,),
    (True, True): (GARBLED, LOW_CONFIDENCE),
}


def tag_text(
    model: ThemeModel | CompiledModel, raw: str, *, low_confidence: float = 0.5, details: bool = True,
    evidence: int = 5,
) -> TaggedDocument:
    """Normalise, split and classify one document's text.

    With ``details`` each sentence carries its :class:`Prediction` (all eight
    scores and ``evidence`` words of evidence); without, only its theme and
    confidence, which is what bulk tagging writes and a third of the work.
    Shares are the fraction of the document's sentences per theme; the
    dominant theme is the most frequent one (ties: taxonomy order), or None
    for a document without sentences. A :class:`CompiledModel` classifies
    only: details need the full :class:`~plantheme.model.ThemeModel`.
    """
    explain = getattr(model, "explain", None)  # a CompiledModel cannot explain
    if details and explain is None:
        raise ValueError("tag_text(details=True) needs the full model (plantheme.persistence.load_model)")
    doc = normalize(raw)
    units = split_sentences(doc.text)
    result = model.classify([u.text for u in units], normalized=True)
    themes = result.themes()
    confidences = result.confidences()
    predictions: list[Prediction | None] = (
        list(explain(result, evidence=evidence)) if details else [None] * len(units)
    )
    original_starts, original_ends = doc.original_spans([u.start for u in units], [u.end for u in units])
    original = doc.original
    garbled = bool(doc.garbled)
    sentences = []
    for index, (unit, theme, confidence, prediction, o_start, o_end) in enumerate(
        zip(units, themes, confidences, predictions, original_starts, original_ends)
    ):
        start, end = unit.start, unit.end
        flags = _FLAGS[garbled and doc.is_garbled(start, end), confidence < low_confidence]
        sentences.append(TaggedSentence(index, start, end, original[o_start:o_end], unit.text, theme,
                                        confidence, flags, prediction))
    counts = Counter(themes)
    total = len(themes)
    ordered = {theme: counts.get(theme, 0) for theme in THEME_IDS}
    dominant = max(THEME_IDS, key=lambda t: (ordered[t], -THEME_IDS.index(t))) if total else None
    return TaggedDocument(
        sentences=tuple(sentences),
        counts=ordered,
        shares={theme: (n / total if total else 0.0) for theme, n in ordered.items()},
        dominant=dominant,
        garbled=garbled,
        normalized=doc,
    )

