"""The Python API: ``import plantheme`` is cheap; load a model, predict, tag a text, tag a folder."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import plantheme
from plantheme.errors import PlanthemeError


def test_import_plantheme_loads_no_heavy_library() -> None:
    code = (
        "import sys, plantheme; print([m for m in ('numpy', 'sklearn', 'scipy', 'pydantic', 'jieba',"
        " 'plantheme.api') if m in sys.modules])"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_unknown_names_are_attribute_errors() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        plantheme.nope  # noqa: B018
    assert {"load_model", "tag_text", "tag_folder"} <= set(dir(plantheme))


def test_load_model_predict_and_tag_text(tiny_model_dir: Path) -> None:
    model = plantheme.load_model(tiny_model_dir)
    predictions = model.predict(["全面落实河长制，推进流域水环境综合治理。", "新建幼儿园2所。"])
    assert [p.theme for p in predictions] == ["ecology", "welfare"]
    text = "一、生态环境\n全面落实河长制，推进流域水环境综合治理。新建幼儿园2所。"
    doc = plantheme.tag_text(model, text)
    assert [text[s.start : s.end] for s in doc.sentences] == [s.text for s in doc.sentences]
    assert doc.sentences[-1].theme == "welfare" and doc.sentences[-1].prediction is not None
    assert sum(doc.counts.values()) == len(doc.sentences)


@pytest.mark.parametrize(
    ("fixture", "loaded"), [("tiny_char_model_dir", "CompiledModel"), ("tiny_model_dir", "ThemeModel")]
)
def test_load_model_reads_the_arrays_and_the_pickle_only_without_them(
    request: pytest.FixtureRequest, fixture: str, loaded: str
) -> None:
    # A character model predicts from model.npz without scikit-learn; a word or union model has only its pickle.
    model_dir = request.getfixturevalue(fixture)
    code = (
        "import sys, plantheme; model = plantheme.load_model(sys.argv[1]); model.predict(['推进河长制。']);"
        " print(type(model).__name__, 'sklearn' in sys.modules, 'scipy' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code, str(model_dir)], capture_output=True, text=True, check=True)
    assert done.stdout.split() == [loaded, *(["False", "False"] if loaded == "CompiledModel" else ["True", "True"])]


def test_load_model_follows_the_environment_variable(tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLANTHEME_MODEL_DIR", str(tiny_model_dir))
    tiny_id = json.loads((tiny_model_dir / "model.json").read_text(encoding="utf-8"))["model_id"]
    assert plantheme.load_model().model_id == tiny_id
    with pytest.raises(PlanthemeError, match="no model folder there"):
        plantheme.load_model(tiny_model_dir / "missing")


def test_tag_folder_writes_the_outputs(tiny_model_dir: Path, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("全面落实河长制。\n新建幼儿园2所。\n", encoding="utf-8")
    (docs / "b.bin").write_bytes(b"\x00")
    result = plantheme.tag_folder(docs, model_dir=tiny_model_dir)
    assert result.out_dir == tmp_path / "docs-tags"
    assert (result.totals.tagged, result.totals.skipped, result.totals.sentences) == (1, 1, 2)
    assert (result.out_dir / "sentences.jsonl").is_file()


@pytest.mark.parametrize(("folder", "jobs", "message"), [("missing", 1, "no such folder"), ("docs", 0, "jobs=0")])
def test_tag_folder_refuses_bad_arguments(tmp_path: Path, folder: str, jobs: int, message: str) -> None:
    (tmp_path / "docs").mkdir()
    with pytest.raises(PlanthemeError, match=message):
        plantheme.tag_folder(tmp_path / folder, jobs=jobs)
