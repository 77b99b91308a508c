"""The pipeline: predictions carry eight scores and evidence; it pickles; feature sets differ."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.pipeline import Pipeline

from conftest import tiny_texts_and_themes
from plantheme.model.model import ThemeModel, build_pipeline
from plantheme.themes import THEME_IDS


@pytest.mark.parametrize("features", ["word", "char", "union"])
def test_each_feature_set_fits_and_predicts(features: str) -> None:
    texts, themes = tiny_texts_and_themes()
    pipeline = build_pipeline(features=features)
    assert isinstance(pipeline, Pipeline)
    assert [name for name, _ in pipeline.steps] == ["normalize", "features", "clf"]
    pipeline.fit(texts, themes)
    # Training sentences are recovered: the model learned something real.
    assert (pipeline.predict(texts) == themes).mean() > 0.9
    assert pipeline.predict_proba(texts[:2]).shape == (2, len(THEME_IDS))


def test_unknown_feature_set_is_refused() -> None:
    with pytest.raises(ValueError, match="features must be"):
        build_pipeline(features="bert")  # type: ignore[arg-type]


def test_prediction_shape(tiny_model: ThemeModel) -> None:
    [prediction] = tiny_model.predict(["全面落实河长制，推进流域水环境综合治理。"])
    assert prediction.theme == "ecology"
    assert list(prediction.scores) == list(THEME_IDS)
    assert sum(prediction.scores.values()) == pytest.approx(1.0)
    assert prediction.confidence == max(prediction.scores.values())
    assert prediction.evidence, "no evidence given"
    assert all(e.weight > 0 for e in prediction.evidence)
    weights = [e.weight for e in prediction.evidence]
    assert weights == sorted(weights, reverse=True)


def test_evidence_names_the_words_that_decided(tiny_model: ThemeModel) -> None:
    sentence = "深入开展招商引资，推动签约项目早日落地。"
    [prediction] = tiny_model.predict([sentence])
    assert prediction.theme == "investment"
    tokens = [e.token for e in prediction.evidence]
    # whole words of the sentence, not character n-grams cut across them
    assert all(len(t) >= 2 and t in sentence for t in tokens)
    assert len(set(tokens)) == len(tokens)
    assert "招商引资" in tokens  # a shipped policy term, kept whole


def test_raw_and_normalized_input_agree(tiny_model: ThemeModel) -> None:
    raw = "全面落實河長制(zhì),推進流域水環境綜合治理。"
    clean = "全面落实河长制，推进流域水环境综合治理。"
    [a] = tiny_model.predict([raw])
    [b] = tiny_model.predict([clean], normalized=True)
    assert a.scores == b.scores


def test_empty_batch_and_no_evidence(tiny_model: ThemeModel) -> None:
    assert tiny_model.predict([]) == []
    [p] = tiny_model.predict(["新建幼儿园2所。"], evidence=0)
    assert p.evidence == ()


def test_fitted_pipeline_pickles(tiny_model: ThemeModel) -> None:
    clone = pickle.loads(pickle.dumps(tiny_model.pipeline))
    texts, _ = tiny_texts_and_themes()
    assert list(clone.predict(texts)) == list(tiny_model.pipeline.predict(texts))


def test_model_without_a_theme_still_scores_all_eight() -> None:
    texts, themes = tiny_texts_and_themes()
    keep = [i for i, t in enumerate(themes) if t != "other"]
    pipeline = build_pipeline(features="word").fit([texts[i] for i in keep], [themes[i] for i in keep])
    [p] = ThemeModel(pipeline).predict(["推进河长制。"])
    assert list(p.scores) == list(THEME_IDS) and p.scores["other"] == 0.0


@pytest.mark.parametrize("kept", [None, ("ecology", "investment")])
def test_classify_gives_scikit_learns_probabilities(kept: tuple[str, str] | None) -> None:
    # The fast path computes the softmax itself; it must be predict_proba's
    # numbers, for eight themes and for a two-theme (binary) model.
    texts, themes = tiny_texts_and_themes()
    rows = [(t, th) for t, th in zip(texts, themes) if kept is None or th in kept]
    pipeline = build_pipeline(features="char").fit([t for t, _ in rows], [th for _, th in rows])
    model = ThemeModel(pipeline)
    probe = texts + ["", "完全无关的一句话。"]
    result = model.classify(probe)
    want = pipeline.predict_proba(probe)
    classes = list(pipeline.named_steps["clf"].classes_)
    for k, theme in enumerate(classes):
        assert np.allclose(result.proba[:, THEME_IDS.index(theme)], want[:, k], atol=1e-12)
    assert result.themes() == list(pipeline.predict(probe))
    assert result.confidences() == pytest.approx(want.max(axis=1).tolist())
