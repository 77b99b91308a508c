"""The Python API: load a model, predict sentences, tag a text, tag a folder.

What ``import plantheme`` offers (``plantheme.load_model`` and the others are
these functions, imported on first use so that ``import plantheme`` stays cheap).
It sits beside the CLI: the same library calls, with defaults from
:mod:`plantheme.settings` (``PLANTHEME_*`` variables) instead of arguments.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import PlanthemeError
from .settings import load_settings

if TYPE_CHECKING:  # the modules behind each function are imported when it is called
    from .model.model import ThemeModel
    from .model.scoring import CompiledModel
    from .tagging.corpus_tagging import TagRunResult
    from .tagging.tagging import TaggedDocument

__all__ = ["load_model", "tag_folder", "tag_text"]

PathLike = str | os.PathLike[str]


def load_model(model_dir: PathLike | None = None) -> CompiledModel | ThemeModel:
    """Load a model folder: ``model_dir``, else ``PLANTHEME_MODEL_DIR``, else the shipped default.

    The model predicts sentences: ``model.predict(["推进河长制。"])`` gives one
    :class:`~plantheme.model.evidence.Prediction` per text (theme, confidence, all
    eight scores, evidence words). A character n-gram model (the default) is
    loaded from its arrays (``model.npz``: no pickle, no scikit-learn); a word
    or union model from its pickle. Raises :class:`PlanthemeError` for a
    missing, corrupt or incompatible model folder.
    """
    from .model.persistence import load_predictor

    settings = load_settings(model_dir=Path(model_dir) if model_dir is not None else None)
    model, _card = load_predictor(settings.model_dir)
    return model


def tag_text(
    model: CompiledModel | ThemeModel, text: str, *, evidence: int = 5, context: bool = True
) -> TaggedDocument:
    """Split one document's text into sentences and tag each, as ``plantheme tag`` does.

    Every sentence has its span in ``text`` (``text[s.start:s.end] == s.text``),
    theme, confidence, flags and its :class:`~plantheme.model.model.Prediction`
    (``evidence`` words); the document has its theme counts, shares and dominant
    theme. ``context=False`` classifies each sentence alone.
    """
    from .tagging.tagging import tag_text as tag_document

    return tag_document(
        model, text, low_confidence=load_settings().low_confidence, details=True, evidence=evidence, context=context
    )


def tag_folder(
    folder: PathLike,
    out_dir: PathLike | None = None,
    *,
    model_dir: PathLike | None = None,
    jobs: int = 1,
    pattern: str | None = None,
) -> TagRunResult:
    """Tag every document under ``folder`` and write the outputs of ``plantheme tag`` to ``out_dir``.

    ``out_dir`` defaults to ``FOLDER-tags`` beside ``folder``; ``jobs`` processes
    tag documents in parallel; ``pattern`` keeps only paths that match the glob.
    A file that fails is a ``failed`` entry of the manifest, not an exception
    (``result.totals.failed`` counts them). Raises :class:`PlanthemeError` for a
    missing folder or model, or outputs that cannot be written.
    """
    from .tagging.corpus_tagging import TagOptions, default_out_dir
    from .tagging.corpus_tagging import tag_folder as tag_corpus

    folder = Path(folder)
    if not folder.is_dir():
        raise PlanthemeError(f"{folder}: no such folder")
    if jobs < 1:
        raise PlanthemeError(f"jobs={jobs}: give a number of processes of at least 1")
    settings = load_settings(model_dir=Path(model_dir) if model_dir is not None else None)
    options = TagOptions(
        folder=folder,
        out_dir=Path(out_dir) if out_dir is not None else default_out_dir(folder),
        model_dir=settings.model_dir,
        jobs=jobs,
        pattern=pattern,
        low_confidence=settings.low_confidence,
        max_document_chars=settings.max_document_chars,
        report_max_sentences=settings.report_max_sentences,
    )
    return tag_corpus(options)
