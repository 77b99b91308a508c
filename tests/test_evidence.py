"""Evidence in bulk from the arrays (model/evidence.py) equals the pipeline's loop, word for word."""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
from itertools import islice
from pathlib import Path

import numpy as np
import pytest

from conftest import tiny_texts_and_themes
from plantheme.model.evidence import (
    Evidence,
    Prediction,
    _lengths,
    centred_weights,
    class_means,
    json_lines,
    predictions_of,
    round_4,
)
from plantheme.model.model import ThemeModel, build_pipeline
from plantheme.model.persistence import ModelCard, load_compiled, load_model, load_predictor, save_model
from plantheme.model.scoring import CompiledModel
from plantheme.settings import DEFAULT_MODEL_DIR, REPO_ROOT
from plantheme.text.normalize import normalize
from plantheme.text.sentences import split_sentences
from plantheme.text.tokenize import fast_cut
from plantheme.themes import THEME_IDS

PROBES = [
    "全面落實河長制(zhì),推進流域水環境綜合治理。",
    "新建幼儿园2所。",
    "",
    "完全无关的一句话",
    "𠮷",
    "专精特新专精特新企业企业",
    "a_b__c 河长制__",
    "１２３万元",
]
SEEDS = REPO_ROOT.parent / "shared" / "seeds"
LABELS = REPO_ROOT / "labels"


def assert_same(reference: list[Prediction], bulk: list[Prediction]) -> None:
    """Same themes, probabilities within 1e-9, and the same evidence words and weights in the same order."""
    assert len(reference) == len(bulk)
    for a, b in zip(reference, bulk):
        assert a.theme == b.theme
        assert a.confidence == pytest.approx(b.confidence, abs=1e-9)
        assert list(a.scores) == list(b.scores)
        assert np.allclose(list(a.scores.values()), list(b.scores.values()), rtol=0, atol=1e-9)
        assert_same_evidence(a.evidence, b.evidence)


def assert_same_evidence(a: tuple[Evidence, ...], b: tuple[Evidence, ...]) -> None:
    """Same weights in the same order and the same words, except the order among tied words.

    Words whose sums are equal in exact arithmetic (often: one shared character) come out in
    whichever order the last bit of each path's summation gives (the pipeline sums in set
    order, which changes with the hash seed); at the cut-off a tied word may swap for another.
    """
    assert [e.weight for e in a] == [e.weight for e in b]
    last = a[-1].weight if a else None
    for weight in {e.weight for e in a} - {last}:
        assert {e.token for e in a if e.weight == weight} == {e.token for e in b if e.weight == weight}


@pytest.fixture(scope="module")
def tiny_pair(tiny_char_model_dir: Path) -> tuple[ThemeModel, CompiledModel]:
    loaded = load_compiled(tiny_char_model_dir)
    assert loaded is not None
    return load_model(tiny_char_model_dir)[0], loaded[0]


def mixed_sentences() -> list[str]:
    """A few hundred sentences from the fixture rows: each, and each joined to the next theme's."""
    texts, _ = tiny_texts_and_themes()
    joined = [a + b for a in texts for b in texts[::7]]
    return texts + joined + PROBES


@pytest.mark.parametrize("evidence", [0, 1, 3, 5, 50])
def test_tiny_model_same_predictions_as_the_pipeline(
    tiny_pair: tuple[ThemeModel, CompiledModel], evidence: int
) -> None:
    full, compiled = tiny_pair
    sentences = mixed_sentences()
    assert len(sentences) > 200
    reference = full.predict(sentences, evidence=evidence)
    bulk = compiled.predict(sentences, evidence=evidence)
    assert_same(reference, bulk)
    if evidence:
        assert sum(len(p.evidence) for p in bulk) > len(sentences) // 2  # evidence was found, not skipped
        assert all(len(p.evidence) <= evidence for p in bulk)
    else:
        assert all(p.evidence == () for p in bulk)


def test_evidence_of_a_sentence_does_not_depend_on_its_batch(tiny_char_model_dir: Path) -> None:
    sentences = mixed_sentences()
    first, second = load_compiled(tiny_char_model_dir), load_compiled(tiny_char_model_dir)
    assert first is not None and second is not None
    together = first[0].predict(sentences)
    # Another model object, other order, one by one: its word table grows differently.
    alone = [second[0].predict([text])[0] for text in reversed(sentences)][::-1]
    # The same arithmetic in the same order: identical, ties included.
    assert [p.evidence for p in alone] == [p.evidence for p in together]


def test_words_found_by_code_have_their_dict_ids(tiny_char_model_dir: Path) -> None:
    """The search by code knows every word of 2-4 BMP characters the dict knows, with the same id, and no other."""
    loaded = load_compiled(tiny_char_model_dir)
    assert loaded is not None
    model = loaded[0]
    sentences = mixed_sentences() + ["𠮷𠮷河长制", "河长制𠮷", "全面落实河长制工作"]
    first = model.predict(sentences)
    assert [p.evidence for p in model.predict(sentences)] == [p.evidence for p in first]  # words known by then
    table = model._evidence
    assert table is not None
    coded = {word: i for word, i in table._ids.items() if 2 <= len(word) <= 4 and all(ord(c) <= 0xFFFF for c in word)}
    assert len(coded) > 100
    codes, ids = table._sorted
    assert bool(np.all(codes[1:] > codes[:-1]))
    by_code = dict(zip(codes.tolist(), ids.tolist()))
    assert len(by_code) == len(coded)
    for word, i in coded.items():
        code = 0
        for char in word:
            code = code << 16 | ord(char)
        assert by_code[code] == i, word
    # The cache in front of the search holds some of them, each with its id.
    cached = np.flatnonzero(table._cached_codes)
    assert len(cached) > 50
    assert all(
        by_code[c] == i for c, i in zip(table._cached_codes[cached].tolist(), table._cached_ids[cached].tolist())
    )


def test_evidence_and_prediction_stay_frozen_values() -> None:
    """Built field by field in bulk, they are still immutable values that compare, hash and copy as dataclasses."""
    import copy
    import dataclasses
    import pickle

    e = Evidence(token="河长制", weight=0.5)
    assert e == Evidence("河长制", 0.5) and hash(e) == hash(Evidence("河长制", 0.5))
    assert repr(e) == "Evidence(token='河长制', weight=0.5)"
    with pytest.raises(dataclasses.FrozenInstanceError):
        e.weight = 1.0  # type: ignore[misc]
    p = Prediction(theme="ecology", confidence=0.9, scores={"ecology": 0.9}, evidence=(e,))
    assert pickle.loads(pickle.dumps(p)) == p == copy.deepcopy(p)
    # Pickled as their fields' dict, as the versions without slots were: pickles load across versions.
    assert e.__reduce_ex__(2)[2] == {"token": "河长制", "weight": 0.5}
    assert dataclasses.asdict(p)["evidence"] == ({"token": "河长制", "weight": 0.5},)
    assert dataclasses.replace(e, weight=1.0) == Evidence("河长制", 1.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.theme = "other"  # type: ignore[misc]


def test_binary_model_same_evidence(tmp_path: Path) -> None:
    """Two themes: one weight row, its sign says which theme a feature pushes."""
    texts, themes = tiny_texts_and_themes()
    keep = [i for i, theme in enumerate(themes) if theme in ("industry", "ecology")]
    pipeline = build_pipeline(features="char", char_ngram_max=2, C=10.0)
    pipeline.fit([texts[i] for i in keep], [themes[i] for i in keep])
    card = ModelCard(themes=[], training={}, cv={}, params={"features": "char"})
    save_model(ThemeModel(pipeline=pipeline), card, tmp_path / "binary")
    loaded = load_compiled(tmp_path / "binary")
    assert loaded is not None
    sentences = mixed_sentences()
    bulk = loaded[0].predict(sentences)
    assert_same(load_model(tmp_path / "binary")[0].predict(sentences), bulk)
    assert {p.theme for p in bulk} == {"industry", "ecology"}


def test_load_predictor_prefers_the_arrays(tiny_char_model_dir: Path, tiny_model_dir: Path) -> None:
    assert isinstance(load_predictor(tiny_char_model_dir)[0], CompiledModel)
    # A union model has no arrays: the pickle, as before.
    assert isinstance(load_predictor(tiny_model_dir)[0], ThemeModel)


def seed_sentences() -> list[str]:
    sentences = []
    for path in sorted(SEEDS.glob("*.txt")):
        doc = normalize(path.read_text(encoding="utf-8"))
        sentences += [doc.original_text(u.start, u.end) for u in split_sentences(doc.text)]
    return sentences


def label_sentences(limit: int) -> list[str]:
    rows: list[str] = []
    for path in sorted(LABELS.glob("*.csv")):
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows += [row["text"] for row in islice(csv.DictReader(handle), 60)]
    return rows[:limit]


@pytest.mark.skipif(
    not (DEFAULT_MODEL_DIR / "model.npz").is_file() or not SEEDS.is_dir(),
    reason="needs the shipped model and ../shared/seeds",
)
def test_shipped_model_same_predictions_on_seeds_and_labels() -> None:
    """The shipped model: the arrays give what the pickle gave, on the seed documents and labelled rows."""
    loaded = load_compiled(DEFAULT_MODEL_DIR)
    assert loaded is not None
    full, _ = load_model(DEFAULT_MODEL_DIR)
    sentences = seed_sentences() + label_sentences(400)
    assert len(sentences) > 600
    assert_same(full.predict(sentences), loaded[0].predict(sentences))


@pytest.mark.parametrize("n_classes", [2, 3, 5, 8, 13])
def test_class_means_centre_the_weights_to_the_bit(n_classes: int) -> None:
    """Weights one row per feature minus their class means are the centred weights one row per class, bit for bit."""
    rng = np.random.default_rng(n_classes)
    coef_t = rng.normal(size=(2000, n_classes)) * rng.uniform(0, 100, size=(2000, 1))
    means = class_means(coef_t)
    assert means is not None
    centred = centred_weights(np.ascontiguousarray(coef_t.T))
    assert centred.T.tobytes() == (coef_t - means[:, None]).tobytes()  # tobytes: C order, bit for bit
    assert class_means(coef_t[:, :1]) is None  # binary: one weight column, used as it is


def test_shipped_model_class_means_centre_its_weights_to_the_bit() -> None:
    compiled = load_compiled(DEFAULT_MODEL_DIR)
    assert compiled is not None
    coef_t = compiled[0].coef_t
    means = class_means(coef_t)
    assert means is not None
    centred = centred_weights(np.ascontiguousarray(coef_t.T))
    assert centred.T.tobytes() == (coef_t - means[:, None]).tobytes()


def test_predict_command_imports_no_scikit_learn(tiny_char_model_dir: Path) -> None:
    """``plantheme predict`` on a character model never imports scikit-learn, joblib or pickle loading."""
    code = (
        "import sys\nfrom plantheme.cli import main\n"
        f"main(['predict', '--model', {str(tiny_char_model_dir)!r}, '全面落实河长制。'])\n"
        "print(sorted(m for m in ('sklearn', 'joblib') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines()[-1] == "[]"
    assert '"evidence": [{"token": "河长制"' in out.splitlines()[0]


# Texts whose ends meet in a batch: runs of letters and digits, spaces, line ends, a carriage
# return before the next text's start, a NUL (the batch separator: the batch is cut text by text).
BOUNDARIES = [
    ["河长制abc", "123河长制", "a b", " 前后空格 ", "", "x\r", "\n换行开头", "末尾换行\n", "2022-03-15", "12.5%"],
    ["全面落实河长制", "河长制", "落实河", "长制"],
    ["有\x00分隔符的河长制", "推进河长制", "abc"],
    ["\r\n", "\t河长制\t", "𠮷𠮷", "ＡＢＣ专精特新", "a_b__c 河长制__"],
    ["河长制\x01推进", "\x01", "落实河长制"],  # the glue that measures the words (_lengths)
]


@pytest.mark.parametrize("batch", BOUNDARIES)
def test_words_of_a_batch_are_those_of_each_text(tiny_char_model_dir: Path, batch: list[str]) -> None:
    """One segmenter call for a batch joined by NULs gives each text its own words and evidence."""
    cut = fast_cut()
    if not any("\x00" in text for text in batch):
        together = cut("\x00".join(batch))
        assert together == [word for i, text in enumerate(batch) for word in (["\x00"] if i else []) + cut(text)]
    loaded = load_compiled(tiny_char_model_dir)
    assert loaded is not None
    model = loaded[0]
    texts = batch + mixed_sentences()[:50]
    batched = model.predict(texts, normalized=True)
    alone = [model.predict([text], normalized=True)[0] for text in texts]
    assert [p.evidence for p in batched] == [p.evidence for p in alone]
    assert any(p.evidence for p in batched[: len(batch)])


@pytest.mark.skipif(not LABELS.is_dir(), reason="needs labels/")
def test_labelled_sentences_joined_cut_as_alone() -> None:
    """The property the batch cut rests on, over real sentences: rjieba cuts each text between NULs alone."""
    cut = fast_cut()
    sentences = [normalize(text).text for text in label_sentences(2000)]
    assert len(sentences) > 300
    together = cut("\x00".join(sentences))
    assert together == [word for i, text in enumerate(sentences) for word in (["\x00"] if i else []) + cut(text)]


# Halves in decimal that are not halves in binary (2.675 is 2.67499…), ties, tiny and huge values.
ROUNDING = [
    0.00005,
    0.00015,
    0.12345,
    2.675,
    1.00005,
    0.99995,
    1e-5,
    5e-5,
    0.0,
    -0.0,
    1.0,
    3.14159,
    123456.78905,
    1e12,
    2.0**31 + 0.5,
]


@pytest.mark.parametrize(
    "values", [ROUNDING, [math.nan, math.inf, -math.inf, 0.5], [k / 10_000 + 0.00005 for k in range(-200, 200)]]
)
def test_round_4_is_round(values: list[float]) -> None:
    rounded = round_4(np.array(values))
    assert [repr(x) for x in rounded] == [repr(round(x, 4)) for x in values]


def test_round_4_is_round_on_random_values() -> None:
    values = np.random.default_rng(7).exponential(1.0, 100_000) / np.random.default_rng(8).integers(1, 10**6, 100_000)
    assert round_4(values) == [round(x, 4) for x in values.tolist()]


def dumped(text: str, prediction: Prediction) -> str:
    return json.dumps({"text": text, **prediction.to_dict()}, ensure_ascii=False)


def odd_prediction(confidence: object, scores: dict[str, object], weights: list[object]) -> Prediction:
    evidence = tuple(Evidence(token=f"词{i}", weight=w) for i, w in enumerate(weights))  # type: ignore[arg-type]
    return Prediction(theme="ecology", confidence=confidence, scores=scores, evidence=evidence)  # type: ignore[arg-type]


EVEN = dict.fromkeys(THEME_IDS, 0.125)


@pytest.mark.parametrize(
    "prediction",
    [
        odd_prediction(0.125, EVEN, []),
        odd_prediction(0.00005, {**EVEN, "ecology": 0.99995, "other": 0.00015}, [2.675, 0.1]),
        odd_prediction(1, {**EVEN, "ecology": 1}, [1, 2.5]),  # ints, as json writes them
        odd_prediction(math.nan, {**EVEN, "ecology": math.inf}, [math.nan, -math.inf]),
        odd_prediction(1.5, {**EVEN, "ecology": -0.25}, [1e-7, 1e22]),  # outside [0, 1]
        odd_prediction(0.5, {"ecology": 0.5, "industry": 0.5}, [0.5]),  # two themes, other order
        odd_prediction(0.5, {}, []),
    ],
)
def test_json_lines_of_odd_predictions_are_json_dumps(prediction: Prediction) -> None:
    text = '引号"反斜杠\\\t制表\x01控制\u2028行分隔𠮷'
    assert json_lines([text, "二"], [prediction, prediction]) == [dumped(text, prediction), dumped("二", prediction)]


@pytest.mark.parametrize("evidence", [0, 5])
def test_json_lines_are_json_dumps_of_to_dict(tiny_pair: tuple[ThemeModel, CompiledModel], evidence: int) -> None:
    sentences = mixed_sentences()
    for model in tiny_pair:
        predictions = model.predict(sentences, evidence=evidence)
        assert json_lines(sentences, predictions) == [dumped(t, p) for t, p in zip(sentences, predictions)]


@pytest.mark.parametrize(
    "tokens",
    [[], ["河长制"], ["河长制", "，", "\x00", "ab", "𠮷𠮷", "", "x"], ["河\x01", "长"], ["\x01"], ["a", "\x01b"]],
)
def test_lengths_of_the_words_are_len(tokens: list[str]) -> None:
    """The words measured by where the glue lands (or one by one, with glue about) are their lengths."""
    for joined in ("".join(tokens), "".join(tokens).replace("\x01", "")):
        assert _lengths(tokens, joined).tolist() == [len(token) for token in tokens]
        assert _lengths(tokens, joined).dtype == np.int64


def test_predictions_of_scores_are_dicts_of_the_theme_ids() -> None:
    """Each scores dict is ``dict(zip(THEME_IDS, row))``: the same keys (the very objects), order and floats."""
    rng = np.random.default_rng(0)
    proba = rng.random((50, len(THEME_IDS)))
    proba[3] = [0.0, -0.0, 1.0, float("nan"), 1e-300, 0.5, 2.0**-1074, 1.0]
    winners = proba.argmax(axis=1)
    predictions = predictions_of(proba, winners, [()] * len(proba))
    for p, row, winner in zip(predictions, proba.tolist(), winners.tolist()):
        expected = dict(zip(THEME_IDS, row))
        assert type(p.scores) is dict
        assert [(k, v.hex()) for k, v in p.scores.items()] == [(k, v.hex()) for k, v in expected.items()]
        assert all(a is b for a, b in zip(p.scores, THEME_IDS))
        assert p.confidence.hex() == row[winner].hex() and p.theme == THEME_IDS[winner]
    assert predictions_of(proba[:0], winners[:0], []) == []
