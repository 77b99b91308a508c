"""Tagging documents: every sentence of a text with its theme, and the document's theme shares.

:func:`tag_text` is the one per-document computation, used by ``plantheme tag``
(over folders) and by the service's ``POST /v1/tag``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from ..text.boilerplate import is_boilerplate
from ..model.context import ContextModel, context_features
from ..text.normalize import NormalizedText, normalize
from ..model.scoring import Classification, CompiledModel
from ..text.sentences import Sentence, split_sentences
from ..text.spans import cover_gaps
from ..text.structure import Outline, outline_of
from ..themes import OTHER, THEME_IDS

if TYPE_CHECKING:  # the models are loaded where they are used (see corpus_tagging)
    from ..model.evidence import Prediction
    from ..model.model import ThemeModel

__all__ = [
    "BOILERPLATE",
    "GARBLED",
    "LOW_CONFIDENCE",
    "REPAIRED",
    "PreparedDocument",
    "TaggedDocument",
    "TaggedSentence",
    "context_proba",
    "prepare_document",
    "tag_text",
]

GARBLED = "garbled"
LOW_CONFIDENCE = "low_confidence"
BOILERPLATE = "boilerplate"
# A garbled run whose bytes allowed decoding it again: the model read the repaired text.
REPAIRED = "repaired"
_FLAG_ORDER = (BOILERPLATE, GARBLED, REPAIRED, LOW_CONFIDENCE)


class TaggedSentence(NamedTuple):
    """One sentence of a document with its theme.

    ``start``/``end`` index the text exactly as it was given to :func:`tag_text`
    (for ``plantheme tag``, the extracted document text), so
    ``raw[start:end] == text``; ``normalized`` is what the model read.
    ``prediction`` (all eight scores and the evidence) is there when
    :func:`tag_text` was asked for details.
    """

    # A NamedTuple, not a frozen dataclass: bulk tagging makes one per
    # sentence, and a frozen dataclass takes several times as long to build.

    index: int  # type: ignore[assignment]  # the field shadows tuple.index, which no caller uses
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
    """A document's tagged sentences, its theme counts and shares, and its normalised text.

    Counts and shares are over content sentences: furniture units (flagged
    ``boilerplate``) are counted apart in ``boilerplate``.
    """

    sentences: tuple[TaggedSentence, ...]
    counts: dict[str, int]
    shares: dict[str, float]
    dominant: str | None
    garbled: bool
    normalized: NormalizedText
    boilerplate: int = 0


# Every combination of flags, built once: most sentences have none.
_FLAGS = {
    (b, g, r, low): tuple(flag for flag, on in zip(_FLAG_ORDER, (b, g, r, low)) if on)
    for b in (False, True)
    for g in (False, True)
    for r in (False, True)
    for low in (False, True)
}


@dataclass(frozen=True)
class PreparedDocument:
    """A document ready to classify: normalised, split, furniture marked, outlined.

    ``spans`` are the units' spans in the text as given (``raw[start:end]`` is the
    unit as the document has it); ``units`` carry spans in the normalised text.
    """

    normalized: NormalizedText
    units: tuple[Sentence, ...]
    spans: tuple[tuple[int, int], ...]
    boilerplate: tuple[bool, ...]
    outline: Outline

    @property
    def texts(self) -> list[str]:
        """The normalised text of every unit (what the sentence model reads)."""
        return [unit.text for unit in self.units]


def prepare_document(raw: str) -> PreparedDocument:
    """Normalise and split ``raw``, mark furniture and find the outline: everything before the model."""
    doc = normalize(raw)
    units = split_sentences(doc.text)
    skip = [is_boilerplate(u.text) for u in units]
    starts, ends = doc.original_spans([u.start for u in units], [u.end for u in units])
    # Characters normalisation dropped (markup, annotations) still belong to a sentence.
    spans = cover_gaps(raw, list(zip(starts, ends)))
    outline = outline_of(doc.text, [(u.start, u.end) for u in units], skip)
    return PreparedDocument(doc, tuple(units), tuple(spans), tuple(skip), outline)


def context_proba(stage: ContextModel, proba: np.ndarray, prepared: PreparedDocument) -> np.ndarray:
    """The context stage's probabilities for a prepared document's units."""
    return stage.predict_proba(context_features(proba, prepared.outline, prepared.boilerplate))


def _with_context(
    result: Classification, model: ThemeModel | CompiledModel, prepared: PreparedDocument
) -> Classification:
    """The classification after the model's context stage, when it has one."""
    stage: ContextModel | None = getattr(model, "context", None)
    if stage is None or not prepared.units:
        return result
    proba = context_proba(stage, result.proba, prepared)
    winners = proba.argmax(axis=1)
    classes = list(model.classes if isinstance(model, CompiledModel) else model.themes)  # the classifier's order
    to_class = np.array([classes.index(t) if t in classes else 0 for t in THEME_IDS], dtype=np.int64)
    return replace(result, proba=proba, winners=winners, class_winners=to_class[winners])


_FURNITURE_SCORES = {theme: float(theme == OTHER) for theme in THEME_IDS}


def tag_text(
    model: ThemeModel | CompiledModel,
    raw: str,
    *,
    low_confidence: float = 0.5,
    details: bool = True,
    evidence: int = 5,
    context: bool = True,
    prepared: PreparedDocument | None = None,
) -> TaggedDocument:
    """Normalise, split and classify one document's text.

    Furniture units (:func:`plantheme.text.boilerplate.is_boilerplate`) are themed
    ``other`` with confidence 1 and the ``boilerplate`` flag. With ``context``
    (the default) and a model that has a context stage, every sentence is
    classified together with its title, headings and neighbours
    (:mod:`plantheme.model.context`); ``context=False`` gives the sentence model alone.
    With ``details`` each sentence carries its :class:`Prediction` (all eight
    scores and ``evidence`` words of evidence); without, only its theme and
    confidence, which is what bulk tagging writes and a third of the work.
    Shares are the fraction of the document's content sentences per theme; the
    dominant theme is the most frequent one (ties: taxonomy order), or None
    for a document without content sentences. A :class:`CompiledModel`
    ``prepared`` (from :func:`prepare_document` of the same ``raw``) spares a caller
    that tags one text several ways normalising it each time.
    """
    if prepared is None:
        prepared = prepare_document(raw)
    doc, units, skip = prepared.normalized, prepared.units, prepared.boilerplate
    result = model.classify(prepared.texts, normalized=True)
    if context:
        result = _with_context(result, model, prepared)
    themes = result.themes()
    confidences = result.confidences()
    predictions: list[Prediction | None] = (
        list(model.explain(result, evidence=evidence)) if details else [None] * len(units)
    )
    starts, ends = zip(*prepared.spans) if units else ((), ())
    original = doc.original
    garbled = bool(doc.garbled)
    # One linear pass for every unit, however many garbled runs the text has.
    garbled_units, repaired_units = doc.span_flags([u.start for u in units], [u.end for u in units])
    sentences = []
    content_themes = []
    for index, (unit, theme, confidence, prediction, start, end, furniture) in enumerate(
        zip(units, themes, confidences, predictions, starts, ends, skip)
    ):
        if furniture:
            # A rule decided, not the model: the prediction says so (all weight on `other`).
            theme, confidence = OTHER, 1.0
            if prediction is not None:
                prediction = replace(prediction, theme=OTHER, confidence=1.0, scores=_FURNITURE_SCORES, evidence=())
        else:
            content_themes.append(theme)
        flags = _FLAGS[
            furniture,
            garbled_units[index],
            repaired_units[index] and not garbled_units[index],
            confidence < low_confidence,
        ]
        sentences.append(
            TaggedSentence(index, start, end, original[start:end], unit.text, theme, confidence, flags, prediction)
        )
    counts = Counter(content_themes)
    total = len(content_themes)
    ordered = {theme: counts.get(theme, 0) for theme in THEME_IDS}
    dominant = max(THEME_IDS, key=lambda t: (ordered[t], -THEME_IDS.index(t))) if total else None
    return TaggedDocument(
        sentences=tuple(sentences),
        counts=ordered,
        shares={theme: (n / total if total else 0.0) for theme, n in ordered.items()},
        dominant=dominant,
        garbled=garbled,
        normalized=doc,
        boilerplate=len(units) - total,
    )
