"""The model format, in one place: a folder with ``model.joblib``, ``model.json`` and,
for character n-gram models, ``model.npz``.

``model.json`` is the model card: themes, training data (sha256 and counts),
cross-validation metrics, parameters, library versions, creation time and the
sha256 of ``model.joblib`` (and of ``model.npz``). ``model.npz`` holds the same
fitted model as plain arrays (:class:`plantheme.model.scoring.CompiledModel`):
tagging, prediction with evidence, evaluation and the service load it
(:func:`load_predictor`) without unpickling anything or importing scikit-learn. Saving is atomic (a temporary folder renamed into
place), so an interrupted training never leaves a half-written model. Loading
checks the checksum, the theme set and the scikit-learn version before it
unpickles anything.

joblib files run code when loaded: load only folders the user names on the
command line or in settings, never a path that arrives in a request.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._version import __version__
from ..errors import PlanthemeError
from ..themes import THEME_IDS

if TYPE_CHECKING:  # imported where a model is loaded: scikit-learn only for a full model
    from .context import ContextModel
    from .model import ThemeModel
    from .scoring import CompiledModel

__all__ = [
    "ModelCard",
    "save_model",
    "load_model",
    "load_compiled",
    "load_predictor",
    "load_card",
    "file_sha256",
    "FORMAT_VERSION",
]

FORMAT_VERSION = 1
MODEL_FILE = "model.joblib"
CARD_FILE = "model.json"
COMPILED_FILE = "model.npz"
CONTEXT_FILE = "context.npz"
_VERSIONED = ("scikit-learn", "numpy", "scipy", "jieba", "rjieba", "opencc", "joblib")


@dataclass
class ModelCard:
    """What ``model.json`` records about a trained model."""

    themes: list[str]
    training: dict[str, Any]
    cv: dict[str, Any]
    params: dict[str, Any]
    versions: dict[str, str] = field(default_factory=dict)
    created: str = ""
    model_sha256: str = ""
    model_id: str = ""
    format_version: int = FORMAT_VERSION
    compiled_sha256: str = ""  # empty: no model.npz (word or union features)
    # The document context stage (context.npz) and its cross-validation; empty: none.
    context_sha256: str = ""
    context: dict[str, Any] = field(default_factory=dict)
    # Pseudo-labels of unlabelled documents the model was also trained on; empty: none.
    self_training: dict[str, Any] = field(default_factory=dict)


def library_versions() -> dict[str, str]:
    """Versions of Python, plantheme and the libraries whose behaviour the model depends on."""
    # Imported here, as in the other functions that save or unpickle: loading the arrays, what
    # `plantheme predict` does, never needs them (importlib.metadata alone took about 0.03 s).
    import platform
    from importlib import metadata

    versions = {"python": platform.python_version(), "plantheme": __version__}
    for name in _VERSIONED:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save_model(model: ThemeModel, card: ModelCard, out_dir: Path) -> ModelCard:
    """Write ``model`` and its card to ``out_dir`` atomically; return the completed card."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    import shutil
    import tempfile
    from datetime import datetime, timezone

    import joblib  # here, not at the top: loading the arrays (predict, tag, the service) never needs it

    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp", dir=out_dir.parent))
    try:
        joblib.dump(model.pipeline, tmp / MODEL_FILE, compress=3)
        card.model_sha256 = file_sha256(tmp / MODEL_FILE)
        compiled = model.compile()
        card.compiled_sha256 = ""
        if compiled is not None:
            with (tmp / COMPILED_FILE).open("wb") as handle:
                np.savez(handle, **compiled.to_arrays())  # type: ignore[arg-type]  # numpy's stub types **kwds as bool
            card.compiled_sha256 = file_sha256(tmp / COMPILED_FILE)
        card.context_sha256 = ""
        if model.context is not None:
            with (tmp / CONTEXT_FILE).open("wb") as handle:
                np.savez(handle, **model.context.to_arrays())  # type: ignore[arg-type]  # numpy's stub types **kwds as bool
            card.context_sha256 = file_sha256(tmp / CONTEXT_FILE)
        # The id covers every file inference reads: two models that differ only in their
        # context stage must not share an id (the tag cache is keyed by it).
        files = card.model_sha256 + card.compiled_sha256 + card.context_sha256
        card.model_id = f"{out_dir.name}-{hashlib.sha256(files.encode()).hexdigest()[:12]}"
        card.created = card.created or datetime.now(timezone.utc).isoformat(timespec="seconds")
        card.versions = card.versions or library_versions()
        card.themes = list(THEME_IDS)
        (tmp / CARD_FILE).write_text(json.dumps(asdict(card), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        os.chmod(tmp, 0o755)
        # Swap in the new folder; the old one is removed only once the new is in place.
        backup = None
        if out_dir.exists():
            backup = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
            out_dir.rename(backup)
        tmp.rename(out_dir)
        if backup is not None:
            shutil.rmtree(backup, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    model.model_id = card.model_id
    return card


def load_card(model_dir: Path) -> ModelCard:
    """Read and check ``model.json`` of a model folder."""
    model_dir = Path(model_dir)
    card_path = model_dir / CARD_FILE
    if not model_dir.is_dir():
        raise PlanthemeError(f"{model_dir}: no model folder there; train one with `plantheme train --out {model_dir}`")
    try:
        raw = json.loads(card_path.read_text(encoding="utf-8"))
        card = ModelCard(**raw)
    except FileNotFoundError:
        raise PlanthemeError(f"{card_path}: missing; this folder is not a plantheme model") from None
    except (json.JSONDecodeError, TypeError, UnicodeDecodeError) as exc:
        raise PlanthemeError(f"{card_path}: not a valid model card ({exc}); retrain the model") from None
    if card.format_version != FORMAT_VERSION:
        raise PlanthemeError(
            f"{card_path}: model format {card.format_version}, this plantheme reads {FORMAT_VERSION};"
            " retrain the model with `plantheme train`"
        )
    if list(card.themes) != list(THEME_IDS):
        raise PlanthemeError(
            f"{card_path}: themes {card.themes} differ from this plantheme's {list(THEME_IDS)};"
            " retrain the model with `plantheme train`"
        )
    return card


def _check_sklearn(card: ModelCard, card_path: Path) -> None:
    from importlib import metadata

    trained = card.versions.get("scikit-learn", "")
    installed = metadata.version("scikit-learn")
    if trained.split(".")[:2] != installed.split(".")[:2]:
        raise PlanthemeError(
            f"{card_path}: model was trained with scikit-learn {trained}, but {installed} is installed;"
            f" install scikit-learn=={trained} or retrain with `plantheme train`"
        )


def _checked_file(path: Path, sha256: str) -> Path:
    """``path``, once it is there and its sha256 is the one the card records."""
    if not path.is_file():
        raise PlanthemeError(f"{path}: missing; retrain the model with `plantheme train`")
    if file_sha256(path) != sha256:
        raise PlanthemeError(
            f"{path}: checksum does not match {CARD_FILE}; the file is corrupt or was"
            " replaced. Retrain with `plantheme train` or restore the folder"
        )
    return path


def load_compiled(model_dir: Path) -> tuple[CompiledModel, ModelCard] | None:
    """Load a model folder's arrays (``model.npz``) after checking its card and checksum.

    None when the model has no arrays (word or union features): then
    :func:`load_model` is the way. Imports no scikit-learn.
    """
    from .scoring import CompiledModel

    model_dir = Path(model_dir)
    card = load_card(model_dir)
    if not card.compiled_sha256:
        return None
    path = _checked_file(model_dir / COMPILED_FILE, card.compiled_sha256)
    try:
        with np.load(path, allow_pickle=False) as arrays:
            compiled = CompiledModel.from_arrays(arrays, model_id=card.model_id)
    except (OSError, ValueError, KeyError) as exc:
        raise PlanthemeError(f"{path}: cannot be loaded ({exc}); retrain the model") from None
    compiled.context = _load_context(model_dir, card)
    return compiled, card


def _load_context(model_dir: Path, card: ModelCard) -> ContextModel | None:
    """The model's context stage (``context.npz``), checked; None when it has none."""
    from .context import ContextModel

    if not card.context_sha256:
        return None
    path = _checked_file(model_dir / CONTEXT_FILE, card.context_sha256)
    try:
        with np.load(path, allow_pickle=False) as arrays:
            return ContextModel.from_arrays(arrays)
    except (OSError, ValueError, KeyError) as exc:
        raise PlanthemeError(f"{path}: cannot be loaded ({exc}); retrain the model") from None


def load_model(model_dir: Path) -> tuple[ThemeModel, ModelCard]:
    """Load a model folder after checking its card, checksum and scikit-learn version."""
    import joblib

    from .model import ThemeModel

    model_dir = Path(model_dir)
    card = load_card(model_dir)
    model_path = _checked_file(model_dir / MODEL_FILE, card.model_sha256)
    _check_sklearn(card, model_dir / CARD_FILE)
    with warnings.catch_warnings():
        # Same minor version, other patch release: checked above, safe to load.
        warnings.filterwarnings("ignore", message=".*Trying to unpickle estimator.*")
        try:
            pipeline = joblib.load(model_path)
        except Exception as exc:  # unpickling errors come in many types
            raise PlanthemeError(f"{model_path}: cannot be loaded ({exc}); retrain the model") from None
    return ThemeModel(pipeline=pipeline, model_id=card.model_id, context=_load_context(model_dir, card)), card


def load_predictor(model_dir: Path) -> tuple[CompiledModel | ThemeModel, ModelCard]:
    """The model that predicts, explains and tags: the arrays (``model.npz``) when the folder has them.

    What ``predict``, ``evaluate`` and the service load: no pickle is read and no
    scikit-learn imported for a character n-gram model (the default); a word or
    union model has no arrays and comes from the pickle (:func:`load_model`).
    """
    return load_compiled(model_dir) or load_model(model_dir)
