"""Settings: where the shipped default model is found, installed or from a checkout."""

from __future__ import annotations

from pathlib import Path

from plantheme.settings import DEFAULT_MODEL_DIR, PACKAGED_MODELS, default_model_dir, is_checkout, load_settings


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
