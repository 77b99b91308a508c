"""plantheme: tag sentences of Chinese local-government plans with their policy theme.

The Python API (:mod:`plantheme.api`)::

    import plantheme

    model = plantheme.load_model()                 # the shipped default model
    model.predict(["推进河长制。"])                   # one Prediction per sentence
    plantheme.tag_text(model, "一、生态环境\\n全面落实河长制。")  # a document's sentences, tagged
    plantheme.tag_folder("reports", "reports-tags")  # what `plantheme tag` does

The functions are imported on first use: ``import plantheme`` loads neither
NumPy nor scikit-learn, so the command line starts fast.
"""

from __future__ import annotations

from ._version import __version__

# Not `from typing import TYPE_CHECKING`: importing typing costs more than the rest of this module.
TYPE_CHECKING = False

__all__ = ["PlanthemeError", "THEME_IDS", "__version__", "load_model", "tag_folder", "tag_text"]

# Public name -> the module that defines it (imported on first access).
_LAZY = {
    "load_model": "plantheme.api",
    "tag_text": "plantheme.api",
    "tag_folder": "plantheme.api",
    "PlanthemeError": "plantheme.errors",
    "THEME_IDS": "plantheme.themes",
}

if TYPE_CHECKING:
    from typing import Any

    from .api import load_model, tag_folder, tag_text
    from .errors import PlanthemeError
    from .themes import THEME_IDS


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'plantheme' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(_LAZY[name]), name)
    globals()[name] = value  # the next access is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
