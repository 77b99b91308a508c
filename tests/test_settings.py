"""Settings: where the shipped default model is found, and the PLANTHEME_* variables read and checked."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from plantheme.errors import PlanthemeError
from plantheme.settings import (
    DEFAULT_MODEL_DIR,
    PACKAGED_MODELS,
    Settings,
    SettingsError,
    default_model_dir,
    is_checkout,
    load_settings,
    setting_variables,
)


def test_the_packaged_model_wins_when_the_package_carries_it(tmp_path: Path) -> None:
    package = tmp_path / "site-packages" / "plantheme"
    shipped = package / PACKAGED_MODELS / "default"
    shipped.mkdir(parents=True)
    (shipped / "model.json").write_text("{}", encoding="utf-8")
    assert default_model_dir(package_root=package, repo_root=tmp_path / "checkout") == shipped


def test_without_a_packaged_model_the_checkout_folder_is_used(tmp_path: Path) -> None:
    package = tmp_path / "src" / "plantheme"
    (package / PACKAGED_MODELS / "default").mkdir(parents=True)  # a folder without a model is not one
    assert default_model_dir(package_root=package, repo_root=tmp_path) == tmp_path / "models" / "default"


def test_this_checkout_finds_its_shipped_model() -> None:
    assert (DEFAULT_MODEL_DIR / "model.json").is_file()
    assert load_settings().model_dir == DEFAULT_MODEL_DIR


def test_a_site_packages_folder_is_not_a_checkout(tmp_path: Path) -> None:
    assert not is_checkout(tmp_path)
    (tmp_path / "pyproject.toml").write_text("", encoding="utf-8")
    (tmp_path / "src" / "plantheme").mkdir(parents=True)
    assert is_checkout(tmp_path)


def test_variables_are_read_and_parsed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PLANTHEME_PORT", " 9000 ")
    monkeypatch.setenv("PLANTHEME_REQUEST_TIMEOUT_S", "2.5")
    monkeypatch.setenv("plantheme_model_dir", str(tmp_path))  # any case, as pydantic-settings read them
    settings = load_settings()
    assert (settings.port, settings.request_timeout_s, settings.model_dir) == (9000, 2.5, tmp_path)
    assert load_settings(port=9100, model_dir=None).port == 9100  # an argument beats the variable; None: not given


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("PLANTHEME_PORT", "eighty", "PLANTHEME_PORT: should be a whole number, not 'eighty'"),
        ("PLANTHEME_MAX_SENTENCES", "1.5", "PLANTHEME_MAX_SENTENCES: should be a whole number, not '1.5'"),
        ("PLANTHEME_SHARE_REPLICATES", "99", "PLANTHEME_SHARE_REPLICATES: should be at least 100, not 99"),
        ("PLANTHEME_REQUEST_TIMEOUT_S", "0", "PLANTHEME_REQUEST_TIMEOUT_S: should be greater than 0, not 0.0"),
        ("PLANTHEME_REVIEW_PORT", "70000", "PLANTHEME_REVIEW_PORT: should be at most 65535, not 70000"),
        ("PLANTHEME_LOW_CONFIDENCE", "half", "PLANTHEME_LOW_CONFIDENCE: should be a number, not 'half'"),
    ],
)
def test_a_bad_variable_is_one_message_naming_it(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert caught.value.problems == (message,)
    assert str(caught.value) == f"invalid settings: {message}"
    assert isinstance(caught.value, PlanthemeError)  # the CLI prints it as one line


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(SettingsError) as caught:
        Settings(max_sentences=0, review_near_duplicate=1.5, workers=True)  # type: ignore[arg-type]
    assert [p.split(":")[0] for p in caught.value.problems] == [
        "PLANTHEME_WORKERS",
        "PLANTHEME_MAX_SENTENCES",
        "PLANTHEME_REVIEW_NEAR_DUPLICATE",
    ]


def test_settings_are_frozen_and_round_trip_through_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settings = Settings(model_dir=tmp_path, port=1234, body_timeout_s=0.5)
    with pytest.raises(AttributeError):
        settings.port = 1  # type: ignore[misc]
    environment = settings.to_environment()
    assert list(environment) == setting_variables() and environment["PLANTHEME_PORT"] == "1234"
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert load_settings() == settings


def test_unknown_settings_are_refused() -> None:
    with pytest.raises(TypeError, match="prot"):
        load_settings(prot=80)


def test_loading_settings_imports_no_pydantic() -> None:
    code = "import sys, plantheme.settings as s; s.load_settings(); print('pydantic' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
