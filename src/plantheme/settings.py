"""Limits and defaults in one settings object, overridable by ``PLANTHEME_*`` variables.

A frozen dataclass that checks its own values, not pydantic-settings: importing
pydantic-settings took 0.09-0.13 s of every ``plantheme predict`` (cumulative, ``python
-X importtime``, 2026-12-02; ``benchmarks/startup.py``). Each field's constraints sit beside it (:func:`_limit`);
a bad value, from a variable or an argument, is a :class:`SettingsError` naming
the variable, what it should be and what it was.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import Field, dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar

from .errors import PlanthemeError

__all__ = [
    "DEFAULT_MODEL_DIR",
    "ENV_PREFIX",
    "REPO_ROOT",
    "Settings",
    "SettingsError",
    "default_model_dir",
    "is_checkout",
    "load_settings",
    "setting_variable",
    "setting_variables",
]

ENV_PREFIX = "PLANTHEME_"


def setting_variable(name: str) -> str:
    """The environment variable of the setting ``name``."""
    return f"{ENV_PREFIX}{name.upper()}"


# The checkout this module runs from, in an editable install (the README's setup):
# labels/ and models/ sit beside src/. In an installed wheel it is meaningless.
REPO_ROOT = Path(__file__).resolve().parents[2]
# Where the wheel carries the shipped model inside the package (pyproject.toml maps
# the top-level models/ folder there).
PACKAGED_MODELS = "_models"


def default_model_dir(package_root: Path | None = None, repo_root: Path = REPO_ROOT) -> Path:
    """The shipped default model's folder.

    Inside the installed package (``plantheme/_models/default``, beside this module)
    when it is there, as in a wheel or a non-editable ``pip install .``; else the
    checkout's ``models/default`` (an editable install, where the package folder is
    ``src/plantheme``). The package folder is this module's: what
    ``importlib.resources.files("plantheme")`` gives a package on disk, without
    importing importlib.resources (0.01 s of every ``plantheme predict``).
    """
    root = package_root if package_root is not None else Path(__file__).parent
    packaged = root / PACKAGED_MODELS / "default"
    if (packaged / "model.json").is_file():
        return packaged
    return repo_root / "models" / "default"


def is_checkout(repo_root: Path = REPO_ROOT) -> bool:
    """True when plantheme runs from a source checkout (its pyproject.toml beside src/)."""
    return (repo_root / "pyproject.toml").is_file() and (repo_root / "src" / "plantheme").is_dir()


DEFAULT_MODEL_DIR = default_model_dir()


class SettingsError(PlanthemeError, ValueError):
    """Settings that break their constraints: one problem per variable, all of them in the message."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid settings: " + "; ".join(problems))
        self.problems = tuple(problems)


def _limit(default: Any, *, ge: float | None = None, gt: float | None = None, le: float | None = None) -> Any:
    """A setting's default with its bounds (kept in the field's metadata, checked by :class:`Settings`)."""
    bounds = {name: bound for name, bound in (("ge", ge), ("gt", gt), ("le", le)) if bound is not None}
    return field(default=default, metadata=bounds)


# A field's annotation (a string, under `from __future__ import annotations`) -> how a value is read.
_KINDS: dict[str, type] = {"Path": Path, "str": str, "int": int, "float": float}
_KIND_NAMES = {Path: "a path", str: "text", int: "a whole number", float: "a number"}


def _coerce(kind: type, value: Any) -> Any:
    """``value`` as ``kind``: text (an environment variable's) is parsed, a number of the right kind kept."""
    if kind is Path:
        if isinstance(value, (str, os.PathLike)):
            return Path(value)
    elif kind is str:
        if isinstance(value, str):
            return value
    elif isinstance(value, bool):
        pass  # True is not a number of sentences
    elif kind is int:
        if isinstance(value, int):
            return value
        if isinstance(value, str):
            return int(value.strip())
    elif kind is float:
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, str):
            return float(value.strip())
    raise ValueError(value)


def _bound_problem(value: float, bounds: Mapping[str, float]) -> str:
    """What is wrong with ``value`` against its ``bounds``, or "" when nothing is."""
    if "ge" in bounds and not value >= bounds["ge"]:
        return f"should be at least {bounds['ge']:g}"
    if "gt" in bounds and not value > bounds["gt"]:
        return f"should be greater than {bounds['gt']:g}"
    if "le" in bounds and not value <= bounds["le"]:
        return f"should be at most {bounds['le']:g}"
    return ""


@dataclass(frozen=True)
class Settings:
    """Every tunable limit of the CLI, the tagger and the service.

    Each field ``name`` is read from the variable ``PLANTHEME_NAME`` by
    :func:`load_settings`; constructing one checks every value (types and
    bounds) and raises :class:`SettingsError` with all problems at once.
    """

    # Name -> field, in declaration order: what lists the settings (the CLI's help).
    # Named as pydantic named it, which callers listing the variables still use.
    model_fields: ClassVar[dict[str, Field[Any]]]

    model_dir: Path = DEFAULT_MODEL_DIR
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    max_text_chars: int = 10_000
    max_batch: int = 1_000
    max_body_bytes: int = 2_000_000
    max_document_chars: int = 2_000_000
    # Sentences embedded in the report of `plantheme tag` (all are in sentences.csv; every document is
    # listed whatever the limit). Compressed, the 122,283 sentences of ../shared/corpus/gov-reports made
    # an 8.4 MB page (benchmarks/report_open.py, README: The report).
    report_max_sentences: int = 250_000
    low_confidence: float = 0.5
    # Bootstrap replicates behind each share's 95% interval (documents.csv, groups.csv, compare):
    # the 2.5% tail then holds 25 of them. 1,000 took 1.8 s for the 285 documents and 171
    # metadata groups of ../shared/corpus/gov-reports (measured 2026-12-01 on this machine).
    share_replicates: int = _limit(1_000, ge=100)
    # Seed of the bootstrap: the same outputs give the same intervals on every run.
    share_seed: int = 0
    # Sentences in the sentences sheet of documents.xlsx (all are in sentences.csv): openpyxl
    # wrote 122,285 sentences in 17 s on this machine, longer than tagging them, and 10,000 in
    # 1.6-2.6 s (measured 2026-12-01); this keeps the workbook to about a second.
    xlsx_max_sentences: int = _limit(5_000, ge=0, le=1_000_000)
    # `plantheme tag --scheduler`: bytes of documents per Dask task. A task's round trip
    # through the scheduler costs milliseconds; at the 2.6-3.2 MB per CPU second measured
    # (README, Speed) 256 KB are about a tenth of a second of work.
    dask_batch_bytes: int = _limit(262_144, ge=1)
    # How long to wait for the Dask scheduler to answer and for its first worker, in seconds.
    dask_connect_timeout_s: float = _limit(30.0, gt=0)
    # Service: how long the prediction worker waits for concurrent requests to
    # join one predict call (see plantheme_service.batching); 0 turns it off.
    predict_linger_ms: float = 2.0
    # Service: what one request may COST, not only its size. A 2 MB body of
    # "a;" is a million sentences (gigabytes of work and answer), so sentences
    # are counted before any is classified, across all texts of a request.
    max_sentences: int = _limit(10_000, ge=1)
    # Largest JSON answer, in bytes (checked before anything is sent).
    max_response_bytes: int = _limit(32_000_000, ge=1_000)
    # Longest a request may run once its body is read, in seconds (deadline: 503).
    request_timeout_s: float = _limit(30.0, gt=0)
    # Longest the body of a request may take to arrive, in seconds (408).
    body_timeout_s: float = _limit(10.0, gt=0)
    # Longest a connection may take to send a request's line and headers, in seconds.
    header_timeout_s: float = _limit(10.0, gt=0)
    # Idle keep-alive connections are closed after this many seconds.
    keep_alive_timeout_s: float = _limit(5.0, gt=0)
    # Request line and headers together, in bytes (431 above), and the number of headers.
    max_header_bytes: int = _limit(16_384, ge=1_024)
    max_header_count: int = _limit(100, ge=10)
    # Open connections plus running requests; above it uvicorn answers 503.
    max_connections: int = _limit(1_000, ge=1)
    # Documents classified at once (threads); further requests wait, within their deadline.
    # One: on 2 cores a second thread only contends for the GIL with the event loop
    # (measured, benchmarks/service_abuse.py: /health p99 205 ms with 2, 107 ms with 1).
    work_threads: int = _limit(1, ge=1)
    # On SIGTERM, requests still running after this many seconds are cut off.
    graceful_shutdown_s: float = _limit(10.0, ge=0)
    # plantheme review: sentences in a queue, the port of the labelling page (0: any free port),
    # the cosine similarity of TF-IDF rows from which two sentences count as near duplicates
    # (one is never offered), and the shortest text offered (characters, punctuation not counted).
    review_size: int = _limit(200, ge=1)
    review_port: int = _limit(8765, ge=0, le=65535)
    review_near_duplicate: float = _limit(0.9, gt=0, le=1)
    review_min_chars: int = _limit(4, ge=1)

    def __post_init__(self) -> None:
        problems = []
        for setting in fields(self):
            value = getattr(self, setting.name)
            kind = _KINDS[str(setting.type)]
            try:
                value = _coerce(kind, value)
            except ValueError:
                problems.append(f"{setting_variable(setting.name)}: should be {_KIND_NAMES[kind]}, not {value!r}")
                continue
            object.__setattr__(self, setting.name, value)  # frozen: the checked value replaces the given one
            problem = _bound_problem(value, setting.metadata) if setting.metadata else ""
            if problem:
                problems.append(f"{setting_variable(setting.name)}: {problem}, not {value!r}")
        if problems:
            raise SettingsError(problems)

    def to_environment(self) -> dict[str, str]:
        """These settings as ``PLANTHEME_*`` variables (what a worker process reads back)."""
        return {setting_variable(setting.name): str(getattr(self, setting.name)) for setting in fields(self)}


Settings.model_fields = {setting.name: setting for setting in fields(Settings)}


def setting_variables() -> list[str]:
    """The ``PLANTHEME_*`` variable of every setting, in declaration order."""
    return [setting_variable(name) for name in Settings.model_fields]


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment, with explicit ``overrides`` on top (None: not given).

    Variable names are matched without regard to case, as pydantic-settings did.
    """
    unknown = set(overrides) - set(Settings.model_fields)
    if unknown:
        raise TypeError(f"load_settings() got unknown settings: {', '.join(sorted(unknown))}")
    environment = {name.upper(): value for name, value in os.environ.items() if name.upper().startswith(ENV_PREFIX)}
    given: dict[str, Any] = {}
    for name in Settings.model_fields:
        if overrides.get(name) is not None:
            given[name] = overrides[name]
        elif setting_variable(name) in environment:
            given[name] = environment[setting_variable(name)]
    return Settings(**given)
