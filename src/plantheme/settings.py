"""Limits and defaults in one settings object, overridable by ``PLANTHEME_*`` variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# The repository's models/ folder: an editable install (the README's setup)
# runs from the checkout, so the shipped default model sits beside src/.
REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_MODEL_DIR = REPO_ROOT / "models" / "default"


class Settings(BaseSettings):
    """Every tunable limit of the CLI, the tagger and the service."""

    model_config = SettingsConfigDict(env_prefix="PLANTHEME_")

    model_dir: Path = DEFAULT_MODEL_DIR
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    max_text_chars: int = 10_000
    max_batch: int = 1_000
    max_body_bytes: int = 2_000_000
    max_document_chars: int = 2_000_000
    # Sentences shown in the report of `plantheme tag` (all are in sentences.csv).
    report_max_sentences: int = 20_000
    low_confidence: float = 0.5
    # Service: how long the prediction worker waits for concurrent requests to
    # join one predict call (see plantheme_service.batching); 0 turns it off.
    predict_linger_ms: float = 2.0
    # Service: what one request may COST, not only its size. A 2 MB body of
    # "a;" is a million sentences (gigabytes of work and answer), so sentences
    # are counted before any is classified, across all texts of a request.
    max_sentences: int = Field(default=10_000, ge=1)
    # Largest JSON answer, in bytes (checked before anything is sent).
    max_response_bytes: int = Field(default=32_000_000, ge=1_000)
    # Longest a request may run once its body is read, in seconds (deadline: 503).
    request_timeout_s: float = Field(default=30.0, gt=0)
    # Longest the body of a request may take to arrive, in seconds (408).
    body_timeout_s: float = Field(default=10.0, gt=0)
    # Longest a connection may take to send a request's line and headers, in seconds.
    header_timeout_s: float = Field(default=10.0, gt=0)
    # Idle keep-alive connections are closed after this many seconds.
    keep_alive_timeout_s: float = Field(default=5.0, gt=0)
    # Request line and headers together, in bytes (431 above), and the number of headers.
    max_header_bytes: int = Field(default=16_384, ge=1_024)
    max_header_count: int = Field(default=100, ge=10)
    # Open connections plus running requests; above it uvicorn answers 503.
    max_connections: int = Field(default=1_000, ge=1)
    # Documents classified at once (threads); further requests wait, within their deadline.
    # One: on 2 cores a second thread only contends for the GIL with the event loop
    # (measured, benchmarks/service_abuse.py: /health p99 205 ms with 2, 107 ms with 1).
    work_threads: int = Field(default=1, ge=1)
    # On SIGTERM, requests still running after this many seconds are cut off.
    graceful_shutdown_s: float = Field(default=10.0, ge=0)
    # plantheme review: sentences in a queue, the port of the labelling page (0: any free port),
    # the cosine similarity of TF-IDF rows from which two sentences count as near duplicates
    # (one is never offered), and the shortest text offered (characters, punctuation not counted).
    review_size: int = Field(default=200, ge=1)
    review_port: int = Field(default=8765, ge=0, le=65535)
    review_near_duplicate: float = Field(default=0.9, gt=0, le=1)
    review_min_chars: int = Field(default=4, ge=1)


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment, with explicit ``overrides`` on top."""
    return Settings(**{k: v for k, v in overrides.items() if v is not None})
