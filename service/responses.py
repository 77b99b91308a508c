"""Response bodies from library results: the only place that knows both shapes."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, TYPE_CHECKING

from plantheme.model.evidence import Prediction
from plantheme.model.scoring import CompiledModel
from plantheme.text.normalize import normalize
from plantheme.text.sentences import split_sentences
from plantheme.model.persistence import ModelCard
from plantheme.tagging.tagging import tag_text
from plantheme.themes import THEMES

if TYPE_CHECKING:  # the pickled pipeline, for word or union models only: scikit-learn is imported when one loads
    from plantheme.model.model import ThemeModel

__all__ = ["prediction_body", "document_body", "themes_body", "card_body", "count_sentences", "COUNT_CHUNK_CHARS"]

# Sentences are counted a piece of the normalised text at a time, so counting a
# million of them never holds a million at once and stops at the limit.
COUNT_CHUNK_CHARS = 65_536
_CUT_AFTER = "\n。！？；;"


def prediction_body(prediction: Prediction) -> dict[str, Any]:
    """One prediction as the API sends it (the same dict the CLI prints)."""
    return prediction.to_dict()


def document_body(model: CompiledModel | ThemeModel, raw: str, *, low_confidence: float) -> dict[str, Any]:
    """Tag one text with :func:`plantheme.tagging.tagging.tag_text` and shape it as a ``DocumentOut``.

    Spans index the text as it was sent (``text == sent[start:end]``), as in
    ``plantheme tag``'s outputs.
    """
    tagged = tag_text(model, raw, low_confidence=low_confidence)
    sentences = []
    for sentence in tagged.sentences:
        assert sentence.prediction is not None  # tag_text gives details by default
        sentences.append(
            {
                "index": sentence.index,
                "start": sentence.start,
                "end": sentence.end,
                "text": sentence.text,
                "normalized": sentence.normalized,
                "flags": list(sentence.flags),
                "prediction": prediction_body(sentence.prediction),
            }
        )
    return {
        "sentences": sentences,
        "counts": tagged.counts,
        "shares": {theme: round(share, 4) for theme, share in tagged.shares.items()},
        "dominant": tagged.dominant,
        "garbled": tagged.garbled,
        "boilerplate": tagged.boilerplate,
    }


def count_sentences(raw: str, limit: int) -> int:
    """The number of sentence units of ``raw``, counted up to just past ``limit``.

    Counts the units :func:`plantheme.text.sentences.split_sentences` makes of the
    normalised text, a chunk of :data:`COUNT_CHUNK_CHARS` characters at a time,
    each cut after a line end or sentence end when it has one; the count stops
    as soon as it exceeds ``limit``. A chunk cut inside a run-on sentence can
    count one unit too many, never fewer.
    """
    text = normalize(raw).text
    count = 0
    start = 0
    while start < len(text) and count <= limit:
        end = min(len(text), start + COUNT_CHUNK_CHARS)
        if end < len(text):
            cut = max(text.rfind(mark, start, end) for mark in _CUT_AFTER)
            if cut > start:
                end = cut + 1
        count += len(split_sentences(text[start:end]))
        start = end
    return count


def themes_body() -> dict[str, Any]:
    """The taxonomy's eight themes."""
    return {"themes": [asdict(theme) for theme in THEMES]}


def card_body(card: ModelCard) -> dict[str, Any]:
    """The model card as the API sends it."""
    return asdict(card)
