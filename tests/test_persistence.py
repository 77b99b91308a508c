"""The model folder: atomic save, checksum, theme set and version checks on load."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import tiny_texts_and_themes
from plantheme.errors import PlanthemeError
from plantheme.model.model import build_pipeline
from plantheme.model.model import ThemeModel
from plantheme.model.persistence import (
    CARD_FILE,
    COMPILED_FILE,
    MODEL_FILE,
    ModelCard,
    _stored_arrays,
    file_sha256,
    load_compiled,
    load_model,
    save_model,
)
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


def test_interrupted_save_leaves_old_model_intact(
    tiny_model: ThemeModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "m"
    save_model(ThemeModel(tiny_model.pipeline), ModelCard([], {}, {}, {}), out)
    import joblib  # persistence imports it when it saves (loading the arrays never needs it)

    def crash(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(joblib, "dump", crash)
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
        (
            lambda d: _edit_card(d, versions={"scikit-learn": "0.24.2"}),
            "trained with scikit-learn 0.24.2.*install scikit-learn==0.24.2 or retrain",
        ),
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


# --- the arrays of a character n-gram model (model.npz) ----------------------------


def test_char_models_are_saved_with_their_arrays(tiny_char_model_dir: Path, tiny_model_dir: Path) -> None:
    assert (tiny_char_model_dir / COMPILED_FILE).is_file()
    compiled, card = load_compiled(tiny_char_model_dir)  # type: ignore[misc]
    assert compiled.model_id == card.model_id == load_model(tiny_char_model_dir)[0].model_id
    assert card.compiled_sha256
    # a union model has no arrays: it is loaded whole
    assert not (tiny_model_dir / COMPILED_FILE).exists()
    assert load_compiled(tiny_model_dir) is None


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: (d / COMPILED_FILE).write_bytes(b"corrupt"), "model.npz: checksum does not match"),
        (lambda d: (d / COMPILED_FILE).unlink(), "model.npz: missing"),
        (lambda d: _edit_card(d, format_version=99), "model format 99"),
    ],
)
def test_bad_arrays_are_refused_with_a_message(tiny_char_model_dir: Path, tmp_path: Path, damage, message: str) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "copy"
    shutil.copytree(tiny_char_model_dir, folder)
    damage(folder)
    with pytest.raises(PlanthemeError, match=message):
        load_compiled(folder)


def _stored(write) -> dict[str, np.ndarray] | None:  # type: ignore[no-untyped-def]
    """What _stored_arrays reads from the .npz that ``write`` writes into a buffer."""
    buffer = io.BytesIO()
    write(buffer)
    return _stored_arrays(buffer.getvalue())


def test_stored_arrays_are_what_np_load_gives() -> None:
    arrays = {
        "ints": np.arange(12, dtype=np.int64).reshape(3, 4),
        "fortran": np.asfortranarray(np.linspace(0, 1, 12).reshape(3, 4)),
        "big_endian": np.arange(5, dtype=">f8"),
        "flags": np.array([True, False]),
        "classes": np.array(["industry", "ecology"]),
        "scalar": np.array(3.5),
        "empty": np.zeros((0, 8)),
    }
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)  # type: ignore[arg-type]  # numpy's stub types **kwds as bool
    read = _stored_arrays(buffer.getvalue())
    assert read is not None
    with np.load(io.BytesIO(buffer.getvalue()), allow_pickle=False) as expected:
        assert sorted(read) == sorted(expected.files)
        for name in expected.files:
            want = expected[name]
            got = read[name]
            assert (got.dtype, got.shape, got.tobytes("A")) == (want.dtype, want.shape, want.tobytes("A")), name
            assert got.flags.f_contiguous == want.flags.f_contiguous and got.flags.writeable, name


def test_stored_arrays_leave_compressed_members_to_np_load_and_refuse_objects() -> None:
    assert _stored(lambda out: np.savez_compressed(out, a=np.arange(3))) is None
    with pytest.raises(ValueError, match="allow_pickle=False"):
        _stored(lambda out: np.savez(out, a=np.array([{"x": 1}], dtype=object)))


def _rewrite_arrays(folder: Path, write) -> None:  # type: ignore[no-untyped-def]
    """Replace model.npz with what ``write`` writes from its arrays, the card's checksum updated."""
    with np.load(folder / COMPILED_FILE, allow_pickle=False) as stored:
        arrays = {name: stored[name] for name in stored.files}
    with (folder / COMPILED_FILE).open("wb") as handle:
        write(handle, arrays)
    _edit_card(folder, compiled_sha256=file_sha256(folder / COMPILED_FILE))


def test_a_compressed_model_npz_loads_the_same(tiny_char_model_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "copy"
    shutil.copytree(tiny_char_model_dir, folder)
    _rewrite_arrays(folder, lambda handle, arrays: np.savez_compressed(handle, **arrays))
    texts = ["全面落实河长制，推进流域水环境综合治理。", "新建幼儿园2所。"]
    compressed, _ = load_compiled(folder)  # type: ignore[misc]
    stored, _ = load_compiled(tiny_char_model_dir)  # type: ignore[misc]
    assert compressed.predict(texts) == stored.predict(texts)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda data: data[: len(data) // 2], "cannot be loaded"),  # the card's checksum follows it
        (lambda data: b"", "cannot be loaded"),
        (lambda data: b"not a zip file at all", "cannot be loaded"),
    ],
)
def test_damaged_arrays_that_match_their_checksum_are_refused_with_a_message(
    tiny_char_model_dir: Path,
    tmp_path: Path,
    damage,
    message: str,  # type: ignore[no-untyped-def]
) -> None:
    folder = tmp_path / "copy"
    shutil.copytree(tiny_char_model_dir, folder)
    path = folder / COMPILED_FILE
    path.write_bytes(damage(path.read_bytes()))
    _edit_card(folder, compiled_sha256=file_sha256(path))
    with pytest.raises(PlanthemeError, match=message):
        load_compiled(folder)


def test_an_empty_model_npz_fails_its_checksum(tiny_char_model_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "copy"
    shutil.copytree(tiny_char_model_dir, folder)
    (folder / COMPILED_FILE).write_bytes(b"")
    with pytest.raises(PlanthemeError, match="model.npz: checksum does not match"):
        load_compiled(folder)


def test_loading_the_arrays_imports_no_scikit_learn(tiny_char_model_dir: Path) -> None:
    # What makes a tagging process start fast; a stray import would undo it silently.
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from plantheme.tagging.corpus_tagging import tag_folder\n"
        "from plantheme.model.persistence import load_compiled\n"
        f"model, card = load_compiled(Path({str(tiny_char_model_dir)!r}))\n"
        "print(model.classify(['推进河长制。']).themes()[0])\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sklearn', 'jieba', 'rjieba')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    theme, modules = out.splitlines()
    assert theme == "ecology"
    assert modules == "[]"


def test_context_stage_is_saved_checked_and_loaded(tmp_path: Path) -> None:
    import dataclasses

    import numpy as np

    from plantheme.model.context import N_CONTEXT_FEATURES, ContextModel
    from plantheme.model.persistence import load_compiled

    texts, themes = tiny_texts_and_themes()
    pipeline = build_pipeline(features="char", C=10.0, char_ngram_max=2).fit(texts, themes)
    rng = np.random.default_rng(1)
    stage = ContextModel(C=0.3, coef=rng.normal(size=(N_CONTEXT_FEATURES, 8)), intercept=rng.normal(size=8))
    card = ModelCard(themes=[], training={}, cv={}, params={}, context={"chosen_C": 0.3})
    saved = save_model(ThemeModel(pipeline=pipeline, context=stage), card, tmp_path / "m")
    assert saved.context_sha256 and (tmp_path / "m" / "context.npz").is_file()
    full, loaded_card = load_model(tmp_path / "m")
    compiled = load_compiled(tmp_path / "m")
    assert compiled is not None
    for model in (full, compiled[0]):
        assert model.context is not None and np.array_equal(model.context.coef, stage.coef)
    assert loaded_card.context == {"chosen_C": 0.3}
    # Without a stage: none loaded.
    save_model(dataclasses.replace(full, context=None), card, tmp_path / "plain")
    assert load_model(tmp_path / "plain")[0].context is None
    # A replaced context file is refused, naming it.
    (tmp_path / "m" / "context.npz").write_bytes(b"not the file")
    with pytest.raises(PlanthemeError, match="context.npz: checksum does not match"):
        load_model(tmp_path / "m")


def test_the_model_id_covers_the_context_stage(tmp_path: Path) -> None:
    import dataclasses

    import numpy as np

    from plantheme.model.context import N_CONTEXT_FEATURES, ContextModel

    texts, themes = tiny_texts_and_themes()
    model = ThemeModel(pipeline=build_pipeline(features="char", C=10.0, char_ngram_max=2).fit(texts, themes))
    stage = ContextModel(coef=np.zeros((N_CONTEXT_FEATURES, 8)), intercept=np.zeros(8))
    ids = set()
    for name, context in (("a", None), ("b", stage), ("c", dataclasses.replace(stage, intercept=np.ones(8)))):
        card = save_model(
            dataclasses.replace(model, context=context),
            ModelCard(themes=[], training={}, cv={}, params={}),
            tmp_path / name / "m",
        )
        ids.add(card.model_id)
    assert len(ids) == 3  # the tag cache is keyed by the id: a new stage must not reuse old results
