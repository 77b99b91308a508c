"""Text files shipped inside the package (``plantheme/data/``), read wherever the package is."""

from __future__ import annotations

import pkgutil

__all__ = ["package_text"]


def package_text(name: str) -> str:
    """A UTF-8 text file shipped inside the package (``name`` relative to ``plantheme/``).

    Read through the package's loader (:func:`pkgutil.get_data`), which works wherever the
    package is: importing :mod:`importlib.resources` for it cost about 0.01 s of every
    ``plantheme predict`` (it imports tempfile, shutil, zipfile and the compression modules).
    """
    data = pkgutil.get_data("plantheme", name)
    if data is None:  # pragma: no cover - a loader without get_data
        raise FileNotFoundError(name)
    return data.decode("utf-8")
