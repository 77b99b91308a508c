"""Lint and type checks, run with the tests so that the README's test command (what CI runs) covers them.

``ruff check``, ``ruff format --check`` and ``mypy`` are configured in pyproject.toml.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from plantheme.settings import REPO_ROOT, is_checkout

pytestmark = pytest.mark.skipif(not is_checkout(), reason="checks the source checkout, not an installed package")


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *argv], cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)


def test_ruff_finds_nothing() -> None:
    done = _run("ruff", "check", "--no-cache", "src", "service", "tests", "benchmarks")
    assert done.returncode == 0, done.stdout + done.stderr


def test_ruff_format_changes_nothing() -> None:
    done = _run("ruff", "format", "--check", "--no-cache", "src", "service", "tests", "benchmarks")
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_finds_nothing() -> None:
    done = _run("mypy", "src", "service")
    assert done.returncode == 0, done.stdout + done.stderr
