"""The model folder: atomic save, checksum, theme set and version checks on load."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from plantheme.errors import PlanthemeError
from plantheme.model import ThemeModel
from plantheme.persistence import CARD_FILE, MODEL_FILE, ModelCard, load_model, save_model
from plantheme.themes import THEME_IDS


@pytest.fixture
def model_copy(tiny_model_dir: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy"
    shutil.copytree(tiny_model_dir, target)
    return target


def _edit_card(folder: Path, **changes: object) -> None:
    card = json.loads((folder / CARD_FILE).read_text(encoding="utf-8"))
    card.update(changes)
    (folder / CARD_FILE).write_text(json.dumps(card), encoding="utf-8")


def test_card_records_what_the_issue_asks(tiny_model_dir: Path) -> None:
    card = json.loads((tiny_model_dir / CARD_FILE).read_text(encoding="utf-8"))
    for key in ("themes", "training", "cv", "params", "versions", "created", "model_sha256", "model_id"):
        assert key in card
    assert card["themes"] == list(THEME_IDS)
    assert {"scikit-learn", "jieba", "opencc", "python"} <= set(card["versions"])


def test_round_trip(tiny_model_dir: Path) -> None:
    model, card = load_model(tiny_model_dir)
    assert model.model_id == card.model_id
    assert model.model_id.startswith("tiny-")
    assert model.predict(["推进河长制。"])[0].theme in THEME_IDS


def test_save_replaces_an_existing_model_atomically(tiny_model: ThemeModel, tmp_path: Path) -> None:
    out = tmp_path / "m"
    first = save_model(ThemeModel(tiny_model.pipeline), ModelCard([], {}, {}, {}), out)
    second = save_model(ThemeModel(tiny_model.pipeline), ModelCard([], {"n": 2}, {}, {}), out)
    assert load_model(out)[1].training == {"n": 2}
    assert first.model_sha256 == second.model_sha256
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"], "temporary folders left behind"


def test_interrupted_save_leaves_old_model_intact(tiny_model: ThemeModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "m"
    save_model(ThemeModel(tiny_model.pipeline), ModelCard([], {}, {}, {}), out)
    import plantheme.persistence as persistence

    def crash(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(persistence.joblib, "dump", crash)
    with pytest.raises(KeyboardInterrupt):
        save_model(ThemeModel(tiny_model.pipeline), ModelCard([], {"new": 1}, {}, {}), out)
    assert load_model(out)[1].training == {}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: (d / MODEL_FILE).write_bytes(b"corrupt"), "checksum does not match"),
        (lambda d: (d / MODEL_FILE).unlink(), "model.joblib: missing"),
        (lambda d: (d / CARD_FILE).unlink(), "model.json: missing"),
        (lambda d: (d / CARD_FILE).write_text("{not json"), "not a valid model card"),
        (lambda d: _edit_card(d, themes=["a", "b"]), "themes .* differ"),
        (lambda d: _edit_card(d, versions={"scikit-learn": "0.24.2"}), "trained with scikit-learn 0.24.2.*install scikit-learn==0.24.2 or retrain"),
        (lambda d: _edit_card(d, format_version=99), "model format 99"),
    ],
)
def test_bad_model_folders_are_refused_with_a_message(model_copy: Path, damage, message: str) -> None:  # type: ignore[no-untyped-def]
    damage(model_copy)
    with pytest.raises(PlanthemeError, match=message):
        load_model(model_copy)


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(PlanthemeError, match="no model folder there"):
        load_model(tmp_path / "nowhere")
