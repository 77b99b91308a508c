"""Response bodies from library results: the only place that knows both shapes."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from plantheme.model import Prediction, ThemeModel
from plantheme.persistence import ModelCard
from plantheme.tagging import tag_text
from plantheme.themes import THEMES

__all__ = ["prediction_body", "document_body", "themes_body", "card_body"]


def prediction_body(prediction: Prediction) -> dict[str, Any]:
    """One prediction as the API sends it (the same dict the CLI prints)."""
    return prediction.to_dict()


def document_body(model: ThemeModel, raw: str, *, low_confidence: float) -> dict[str, Any]:
    """Tag one text with :func:`plantheme.tagging.tag_text` and shape it as a ``DocumentOut``.

    Spans index the text as it was sent (``text == sent[start:end]``), as in
    ``plantheme tag``'s outputs.
    """
    tagged = tag_text(model, raw, low_confidence=low_confidence)
    sentences = []
    for sentence in tagged.sentences:
        assert sentence.prediction is not None  # tag_text gives details by default
        sentences.append({
            "index": sentence.index,
            "start": sentence.start,
            "end": sentence.end,
            "text": sentence.text,
            "normalized": sentence.normalized,
            "flags": list(sentence.flags),
            "prediction": prediction_body(sentence.prediction),
        })
    return {
        "sentences": sentences,
        "counts": tagged.counts,
        "shares": {theme: round(share, 4) for theme, share in tagged.shares.items()},
        "dominant": tagged.dominant,
        "garbled": tagged.garbled,
        "boilerplate": tagged.boilerplate,
    }


def themes_body() -> dict[str, Any]:
    """The taxonomy's eight themes."""
    return {"themes": [asdict(theme) for theme in THEMES]}


def card_body(card: ModelCard) -> dict[str, Any]:
    """The model card as the API sends it."""
    return asdict(card)
