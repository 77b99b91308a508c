"""A compiled model classifies exactly as the pipeline it came from."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import tiny_texts_and_themes
from plantheme.model.model import ThemeModel, build_pipeline
from plantheme.model.persistence import load_compiled, load_model
from plantheme.model.scoring import CompiledModel
from plantheme.tagging.tagging import tag_text

PROBES = ["全面落實河長制(zhì),推進流域水環境綜合治理。", "新建幼儿园2所。", "", "完全无关的一句话", "𠮷"]


@pytest.fixture(scope="module")
def pair(tiny_char_model_dir: Path) -> tuple[ThemeModel, CompiledModel]:
    loaded = load_compiled(tiny_char_model_dir)
    assert loaded is not None
    return load_model(tiny_char_model_dir)[0], loaded[0]


@pytest.mark.parametrize("normalized", [False, True])
def test_same_classification_as_the_pipeline(pair: tuple[ThemeModel, CompiledModel], normalized: bool) -> None:
    full, compiled = pair
    texts, _ = tiny_texts_and_themes()
    a = full.classify(texts + PROBES, normalized=normalized)
    b = compiled.classify(texts + PROBES, normalized=normalized)
    assert a.texts == b.texts
    assert np.array_equal(a.proba, b.proba)
    assert a.themes() == b.themes() == [p.theme for p in full.predict(texts + PROBES, normalized=normalized)]


def test_arrays_round_trip(pair: tuple[ThemeModel, CompiledModel]) -> None:
    _, compiled = pair
    again = CompiledModel.from_arrays(compiled.to_arrays(), model_id="x")
    texts, _ = tiny_texts_and_themes()
    assert np.array_equal(again.classify(texts).proba, compiled.classify(texts).proba)
    assert again.tfidf.ngram_range == compiled.tfidf.ngram_range == (1, 2)


def test_empty_batch(pair: tuple[ThemeModel, CompiledModel]) -> None:
    _, compiled = pair
    result = compiled.classify([])
    assert result.proba.shape == (0, 8) and result.themes() == [] and result.confidences() == []


def test_only_character_models_compile() -> None:
    texts, themes = tiny_texts_and_themes()
    for features in ("word", "union"):
        assert ThemeModel(build_pipeline(features=features).fit(texts, themes)).compile() is None


def test_tag_text_with_the_compiled_model(pair: tuple[ThemeModel, CompiledModel]) -> None:
    full, compiled = pair
    text = "一、生态优先\n全面落实河长制，推进流域水环境综合治理。新建幼儿园2所。"
    plain = tag_text(compiled, text, details=False)
    assert plain.sentences == tag_text(full, text, details=False).sentences
    # With details the compiled model explains too: the same predictions and evidence.
    detailed = tag_text(compiled, text, details=True)
    assert [s.prediction for s in detailed.sentences] == [s.prediction for s in tag_text(full, text).sentences]


def test_predict_on_the_command_line_imports_no_scikit_learn_scipy_or_pydantic(tiny_char_model_dir: Path) -> None:
    # The console script's own code path (`plantheme predict`), in a fresh process; the modules are
    # listed at exit, so this holds whatever the command line does on its way out.
    code = (
        "import atexit, sys\n"
        "atexit.register(lambda: print('heavy:', [m for m in ('sklearn', 'scipy', 'pydantic', 'joblib')"
        " if m in sys.modules], file=sys.stderr))\n"
        "from plantheme.cli import main\n"
        "sys.exit(main())\n"
    )
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            "predict",
            "--model",
            str(tiny_char_model_dir),
            "全面落实河长制，推进流域水环境综合治理。",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    prediction = json.loads(done.stdout)
    assert prediction["theme"] == "ecology" and prediction["evidence"]  # evidence words: rjieba ran
    assert "heavy: []" in done.stderr
