"""Training: grouped CV keeps a source on one side of every fold; the best setting is refitted."""

from __future__ import annotations


import pytest

from conftest import TINY_ROWS
from plantheme.errors import PlanthemeError
from plantheme.training.labels import LabelledSentence
from plantheme.training.train import cross_validate, train_model


def _rows() -> list[LabelledSentence]:
    rows = []
    for theme, texts in TINY_ROWS.items():
        for i, text in enumerate(texts):
            group = f"doc{i % 3}"
            rows.append(LabelledSentence(text, theme, group, group, "mem.csv", i + 2))
    return rows


def test_grouped_cv_never_sees_the_test_group(monkeypatch: pytest.MonkeyPatch) -> None:
    import plantheme.training.train as train

    fitted_on: list[set[str]] = []
    held_out: list[set[str]] = []
    real_fit, real_themes = train._fit_pipeline, train._out_of_fold_themes
    rows = _rows()
    groups = [r.group for r in rows]

    def spy_fit(params, texts, themes, train_idx, extra=None, **kw):  # type: ignore[no-untyped-def]
        fitted_on.append({groups[i] for i in train_idx})
        return real_fit(params, texts, themes, train_idx, extra, **kw)

    def spy_themes(splits, models, texts):  # type: ignore[no-untyped-def]
        held_out.extend({groups[i] for i in test} for _, test in splits)
        return real_themes(splits, models, texts)

    monkeypatch.setattr(train, "_fit_pipeline", spy_fit)
    monkeypatch.setattr(train, "_out_of_fold_themes", spy_themes)
    predicted = cross_validate({"features": "word"}, [r.text for r in rows], [r.theme for r in rows], groups, folds=3)
    assert len(predicted) == len(rows) and all(predicted)
    assert len(fitted_on) == len(held_out) == 3  # folds fitted in order, one model each
    for train_groups, test_groups in zip(fitted_on, held_out):
        assert test_groups and not train_groups & test_groups
    assert set().union(*held_out) == set(groups)


def test_train_picks_the_best_candidate_and_records_it() -> None:
    grid = [{"features": "word", "C": 10.0}, {"features": "char", "C": 10.0}]
    messages: list[str] = []
    result = train_model(_rows(), grid=grid, folds=3, progress=messages.append)
    best = max(result.candidates, key=lambda c: c.macro_f1)
    assert result.params == best.params
    assert len(messages) == 3  # one per candidate, one for the final fit
    assert result.card.cv["folds"] == 3
    assert result.card.training["rows"] == len(_rows())
    assert result.card.training["per_theme"]["ecology"] == 5
    assert result.report.n == len(_rows())
    assert set(result.by_source) == {"doc0", "doc1", "doc2"}
    assert sum(n for n, _ in result.by_source.values()) == len(_rows())
    assert result.card.cv["by_source"]["doc0"]["rows"] == result.by_source["doc0"][0]
    assert result.model.predict(["推进河长制。"])[0].theme in TINY_ROWS


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([], "no labelled rows"),
        ([LabelledSentence("推进。", "ecology", "a", "a", "f", 1)] * 4, "at least two different themes"),
    ],
)
def test_train_refuses_unusable_data(rows: list[LabelledSentence], message: str) -> None:
    with pytest.raises(PlanthemeError, match=message):
        train_model(rows, grid=[{"features": "word"}])


def test_cv_needs_two_groups() -> None:
    with pytest.raises(PlanthemeError, match="at least 2 sources"):
        cross_validate({"features": "word"}, ["a。", "b。"], ["ecology", "other"], ["g", "g"])


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        # a clear winner wins whatever its cost
        ([("union", 0.95), ("char", 0.90), ("word", 0.85)], 0),
        # within the tolerance the cheapest features win
        ([("union", 0.922), ("char", 0.9216), ("word", 0.80)], 1),
        # among tied candidates of one feature set, the higher score
        ([("char", 0.910), ("char", 0.912), ("union", 0.913)], 1),
    ],
)
def test_choose_candidate_prefers_cheap_features_on_ties(scores: list[tuple[str, float]], expected: int) -> None:
    from plantheme.training.train import CandidateResult, choose_candidate

    candidates = [CandidateResult({"features": f, "C": 1.0}, m, m) for f, m in scores]
    assert choose_candidate(candidates, tolerance=0.005) == expected


def test_choose_candidate_prefers_shorter_ngrams_on_ties() -> None:
    from plantheme.training.train import CandidateResult, choose_candidate

    candidates = [
        CandidateResult({"features": "char", "C": 30.0}, 0.924, 0.924),
        CandidateResult({"features": "char", "C": 30.0, "char_ngram_max": 2}, 0.922, 0.922),
        CandidateResult({"features": "char", "C": 10.0, "char_ngram_max": 2}, 0.910, 0.910),
    ]
    assert choose_candidate(candidates, tolerance=0.005) == 1
    # outside the tolerance the better score wins even with more n-grams
    assert choose_candidate(candidates, tolerance=0.001) == 0


def test_default_grid_compares_both_character_ranges() -> None:
    from plantheme.training.train import DEFAULT_GRID, candidate_grid

    char_ranges = {p.get("char_ngram_max", 3) for p in DEFAULT_GRID if p["features"] == "char"}
    assert char_ranges == {2, 3}
    assert candidate_grid() == [dict(p) for p in DEFAULT_GRID]


@pytest.mark.parametrize("features", ["word", "char", "union"])
def test_one_feature_set_has_its_own_grid(features: str) -> None:
    from plantheme.training.train import candidate_grid

    grid = candidate_grid(features)
    assert grid and {p["features"] for p in grid} == {features}
    assert len({p["C"] for p in grid}) == 3


# --- the context stage ---------------------------------------------------------------


def _document_training_data():  # type: ignore[no-untyped-def]
    from conftest import TINY_ROWS, tiny_documents

    from plantheme.training.labels import LabelledSentence, document_rows, _parse_document, LabelledDocument

    documents = []
    for line, record in enumerate(tiny_documents(), start=1):
        text, genre, spans = _parse_document(record)  # type: ignore[misc]
        # The first document as if it came from span labels of a real document.
        source = "spans" if line == 1 else "written"
        documents.append(
            LabelledDocument(str(record["doc"]), text, tuple(spans), genre, "t.documents.jsonl", line, source)
        )
    rows = document_rows(documents)
    # Sentences of the two themes without documents, in groups of their own.
    for theme in ("governance", "other"):
        rows += [
            LabelledSentence(text, theme, "written", f"w-{theme}-{i % 2}", "w.csv", i)
            for i, text in enumerate(TINY_ROWS[theme])
        ]
    return rows, documents


def test_context_stage_is_trained_out_of_fold_and_compared() -> None:
    from plantheme.text.normalize import normalize_sentence
    from plantheme.training.train import train_context

    rows, documents = _document_training_data()
    texts = [normalize_sentence(r.text) for r in rows]
    stage, result = train_context(
        {"features": "char", "C": 10.0, "char_ngram_max": 2},
        texts,
        [r.theme for r in rows],
        [r.group for r in rows],
        documents,
        folds=3,
        grid=(0.1, 1.0),
    )
    assert result.documents == len(documents)
    # Furniture ("责任单位：…") is themed by rule and left out of the stage's training.
    assert result.units == sum(len(d.spans) - 1 for d in documents)
    assert [C for C, _ in result.candidates] == [0.1, 1.0]
    assert (stage is None) == (result.chosen_C is None)
    card = result.to_dict()
    assert card["grouped_by"] == "document" and "sentence_only" in card
    # Real documents (span labels) and written ones are also reported apart.
    assert set(result.by_kind) == {"real", "written"}
    assert result.by_kind["real"][0] == 1 and result.by_kind["written"][0] == len(documents) - 1
    assert sum(alone.n for _, alone, _ in result.by_kind.values()) == result.units
    assert card["by_kind"]["real"]["documents"] == 1


def test_train_model_records_the_context_stage_in_the_card() -> None:
    from plantheme.training.train import train_model

    rows, documents = _document_training_data()
    result = train_model(
        rows, grid=[{"features": "char", "C": 10.0, "char_ngram_max": 2}], folds=3, documents=documents
    )
    assert result.context is not None
    assert result.card.context["documents"] == len(documents)
    assert (result.model.context is None) == (result.context.chosen_C is None)


def test_context_stage_needs_documents() -> None:
    from plantheme.errors import PlanthemeError
    from plantheme.text.normalize import normalize_sentence
    from plantheme.training.train import train_context

    rows, documents = _document_training_data()
    texts = [normalize_sentence(r.text) for r in rows]
    with pytest.raises(PlanthemeError, match="needs labelled documents"):
        train_context(
            {"features": "char", "C": 10.0},
            texts,
            [r.theme for r in rows],
            [r.group for r in rows],
            documents[:1],
            folds=3,
        )


# --- self-training -------------------------------------------------------------------


def _pseudo(texts: tuple[str, ...], themes: tuple[str, ...], weight: float = 0.5):  # type: ignore[no-untyped-def]
    from plantheme.training.pseudo import PseudoLabels

    return PseudoLabels(texts, themes, weight, 0.9, 1, ("unlabelled",))


def test_pseudo_rows_are_weighted_against_balanced_human_labels() -> None:
    from plantheme.training.train import _training_set

    texts = ["甲", "乙", "丙", "丁"]
    themes = ["industry", "industry", "industry", "ecology"]
    X, y, fit_args = _training_set(texts, themes, [0, 1, 2, 3], _pseudo(("戊", "己"), ("ecology", "welfare")))
    assert X == texts + ["戊", "己"] and y == themes + ["ecology", "welfare"]
    weights = fit_args["clf__sample_weight"].tolist()
    # Balanced over the human labels: 4 / (2 * 3) for industry, 4 / (2 * 1) for ecology.
    assert weights[:4] == pytest.approx([2 / 3, 2 / 3, 2 / 3, 2.0])
    # A pseudo-label weighs `weight` times its theme's balance (1 for a theme no human label has).
    assert weights[4:] == pytest.approx([0.5 * 2.0, 0.5 * 1.0])
    # Without pseudo-labels the pipeline's own class weights apply: no sample weights.
    assert _training_set(texts, themes, [0, 3], None) == (["甲", "丁"], ["industry", "ecology"], {})


def test_self_training_adds_confident_sentences_and_records_them() -> None:
    from plantheme.training.pseudo import UnlabelledDocument
    from plantheme.training.train import SelfTraining, train_model

    rows, documents = _document_training_data()
    unlabelled = [
        UnlabelledDocument("corpus", "a.txt", "推进河长制，开展河道清淤。\n新建养老服务中心一处。\n责任单位：区民政局"),
        UnlabelledDocument("corpus", "b.txt", "加快培育高新技术企业。"),
    ]
    messages: list[str] = []
    grid = [{"features": "char", "C": 10.0, "char_ngram_max": 2}]
    result = train_model(
        rows,
        grid=grid,
        folds=3,
        documents=documents,
        progress=messages.append,
        self_training=SelfTraining(unlabelled, threshold=0.2, weight=0.3),
    )
    record = result.card.self_training
    assert record["documents"] == 2 and record["weight"] == 0.3 and record["threshold"] == 0.2
    # Furniture (the 责任单位 line) is never a pseudo-label; the three content sentences are.
    assert record["rows"] == sum(record["per_theme"].values()) == 3
    assert set(record["cv"]) == {"macro_f1", "accuracy"}
    assert result.report.n == len(rows)  # CV figures stay on the human labels
    assert any("self-training" in m for m in messages)
    assert result.context is not None and result.card.context["documents"] == len(documents)
    # The context stage is the one trained on the labels-only sentence model, kept as it was.
    assert record["context_stage"] == "trained on the sentence model before self-training"


def test_self_training_with_a_threshold_nothing_reaches_changes_nothing() -> None:
    from plantheme.training.pseudo import UnlabelledDocument
    from plantheme.training.train import SelfTraining, train_model

    rows = _rows()
    grid = [{"features": "char", "C": 10.0}]
    plain = train_model(rows, grid=grid, folds=3)
    none = train_model(
        rows,
        grid=grid,
        folds=3,
        self_training=SelfTraining([UnlabelledDocument("c", "a.txt", "推进河长制。")], threshold=1.0),
    )
    assert none.card.self_training["rows"] == 0
    assert none.report.macro_f1 == plain.report.macro_f1
    text = ["新建污水处理厂一座。"]
    assert none.model.classify(text).proba[0].tolist() == pytest.approx(plain.model.classify(text).proba[0].tolist())


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        ([(0.03, 0.917), (0.1, 0.9227), (0.3, 0.9226), (1.0, 0.910)], 0.3),  # tied: the larger C
        ([(0.03, 0.917), (0.1, 0.930), (0.3, 0.920), (1.0, 0.910)], 0.1),  # a clear best wins
        ([(0.1, 0.80), (1.0, 0.801)], 1.0),
    ],
)
def test_context_stage_ties_go_to_the_larger_C(scores: list[tuple[float, float]], expected: float) -> None:
    from plantheme.training.evaluate import score
    from plantheme.training.train import _choose_context_C

    def report(macro_f1: float):  # type: ignore[no-untyped-def]
        from dataclasses import replace

        return replace(score(["industry", "ecology"], ["industry", "ecology"]), macro_f1=macro_f1)

    assert _choose_context_C([(C, report(f1)) for C, f1 in scores])[0] == expected
