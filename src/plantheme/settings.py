"""Limits and defaults in one settings object, overridable by ``PLANTHEME_*`` variables."""

from __future__ import annotations

from pathlib import Path

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


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment, with explicit ``overrides`` on top."""
    return Settings(**{k: v for k, v in overrides.items() if v is not None})
