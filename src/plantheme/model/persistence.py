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
import io
import json
import mmap
import os
import threading
import warnings
import zipfile
from collections.abc import Callable
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


def _require_file(path: Path) -> Path:
    """``path``, or the error a model folder without that file gets."""
    if not path.is_file():
        raise PlanthemeError(f"{path}: missing; retrain the model with `plantheme train`")
    return path


def _checked_file(path: Path, sha256: str) -> Path:
    """``path``, once it is there and its sha256 is the one the card records."""
    _require_file(path)
    if file_sha256(path) != sha256:
        raise PlanthemeError(_checksum_problem(path))
    return path


def load_compiled(model_dir: Path) -> tuple[CompiledModel, ModelCard] | None:
    """Load a model folder's arrays (``model.npz``) after checking its card and checksum.

    None when the model has no arrays (word or union features): then
    :func:`load_model` is the way. Imports no scikit-learn.

    The file is mapped into memory once: its sha256 is computed in a thread while
    this one imports the scoring code (hashlib lets go of the GIL over a large
    buffer), then the arrays are copied out of the mapping (:func:`_stored_arrays`).
    Checking then reading it with ``np.load`` took 0.03 s of every ``plantheme
    predict``, half of it zipfile's CRC pass and chunked reads of a file the
    checksum has just covered.
    """
    model_dir = Path(model_dir)
    card = load_card(model_dir)
    if not card.compiled_sha256:
        return None
    path = _require_file(model_dir / COMPILED_FILE)
    try:
        with _MappedFile(path) as data:
            digest = _sha256_in_background(data)
            from .scoring import CompiledModel  # while the thread hashes

            if digest() != card.compiled_sha256:
                raise PlanthemeError(_checksum_problem(path))
            arrays = _stored_arrays(data)
        if arrays is None:  # compressed members: not what save_model writes, but an .npz all the same
            with np.load(path, allow_pickle=False) as stored:
                arrays = {name: stored[name] for name in stored.files}
        compiled = CompiledModel.from_arrays(arrays, model_id=card.model_id)
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        raise PlanthemeError(f"{path}: cannot be loaded ({exc}); retrain the model") from None
    compiled.context = _load_context(model_dir, card)
    return compiled, card


class _MappedFile:
    """A file mapped read-only into memory (an empty file: empty bytes, which mmap refuses)."""

    def __init__(self, path: Path) -> None:
        self._handle = path.open("rb")
        size = os.fstat(self._handle.fileno()).st_size
        self.data: mmap.mmap | bytes = mmap.mmap(self._handle.fileno(), 0, access=mmap.ACCESS_READ) if size else b""

    def __enter__(self) -> mmap.mmap | bytes:
        return self.data

    def __exit__(self, *exc: object) -> None:
        if isinstance(self.data, mmap.mmap):
            self.data.close()
        self._handle.close()


def _sha256_in_background(data: mmap.mmap | bytes) -> Callable[[], str]:
    """Start computing the hex sha256 of ``data`` in a thread; the call returned waits for it."""
    digests: list[str] = []
    thread = threading.Thread(target=lambda: digests.append(hashlib.sha256(data).hexdigest()), daemon=True)
    thread.start()

    def wait() -> str:
        thread.join()
        if not digests:  # pragma: no cover - hashing memory does not fail
            raise OSError("the checksum could not be computed")
        return digests[0]

    return wait


def _stored_arrays(data: mmap.mmap | bytes) -> dict[str, np.ndarray] | None:
    """The arrays of an ``.npz`` whose members are stored uncompressed (``np.savez``), copied out of ``data``.

    What ``np.load(..., allow_pickle=False)`` gives for such a file, read without
    zipfile's CRC pass (the caller has checked the whole file's sha256): each
    member's ``.npy`` header is parsed by NumPy's own ``numpy.lib.format``, its
    values copied from where they lie. An object array is refused, as
    ``allow_pickle=False`` refuses it; None when a member is compressed.
    """
    import struct

    from numpy.lib import format as npy

    arrays: dict[str, np.ndarray] = {}
    with zipfile.ZipFile(io.BytesIO(data) if isinstance(data, bytes) else data) as archive:  # type: ignore[arg-type]
        for info in archive.infolist():
            if info.compress_type != zipfile.ZIP_STORED or info.flag_bits & 0x1:
                return None
            at = info.header_offset
            if data[at : at + 4] != b"PK\x03\x04":
                raise ValueError(f"{info.filename}: no local header")
            name_length, extra_length = struct.unpack("<HH", data[at + 26 : at + 30])
            start = at + 30 + name_length + extra_length
            end = start + info.file_size
            if end > len(data):
                raise ValueError(f"{info.filename}: truncated")
            header = io.BytesIO(data[start : min(end, start + (1 << 16))])
            version = npy.read_magic(header)
            read_header = npy.read_array_header_1_0 if version == (1, 0) else npy.read_array_header_2_0
            shape, fortran_order, dtype = read_header(header)
            if dtype.hasobject:
                raise ValueError(f"{info.filename}: object arrays cannot be loaded when allow_pickle=False")
            count = 1
            for length in shape:
                count *= length
            offset = start + header.tell()
            if offset + count * dtype.itemsize > end:
                raise ValueError(f"{info.filename}: truncated")
            view = np.frombuffer(data, dtype=dtype, count=count, offset=offset)
            shaped = view.reshape(shape, order="F") if fortran_order else view.reshape(shape)
            arrays[info.filename.removesuffix(".npy")] = shaped.copy(order="K")
            del view, shaped  # no view may outlive the mapping, which closes after this
    return arrays


def _checksum_problem(path: Path) -> str:
    return (
        f"{path}: checksum does not match {CARD_FILE}; the file is corrupt or was"
        " replaced. Retrain with `plantheme train` or restore the folder"
    )


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
