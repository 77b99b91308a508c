"""Training: choose settings by document-grouped cross-validation, then fit on all rows.

Rows of one source document (or one written batch) always stay on one side of
a fold: plans reuse their own phrases, so a random sentence split would let the
model recognise the document rather than the theme and overstate accuracy.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from joblib import Parallel, delayed
from sklearn.model_selection import GroupKFold

from ..model.context import ContextModel, context_features
from ..errors import PlanthemeError
from .evaluate import EvaluationReport, Misclassified, misclassified_row, score
from .labels import LabelledDocument, LabelledSentence
from .pseudo import PseudoLabels, UnlabelledDocument, pseudo_label
from ..model.model import ThemeModel, build_pipeline
from ..text.normalize import normalize_sentence
from ..model.persistence import ModelCard
from ..text.spans import best_overlaps
from ..tagging.tagging import PreparedDocument, prepare_document
from ..themes import THEME_IDS

__all__ = [
    "CONTEXT_GRID",
    "DEFAULT_GRID",
    "CandidateResult",
    "ContextResult",
    "SelfTraining",
    "TrainResult",
    "candidate_grid",
    "choose_candidate",
    "cross_validate",
    "train_context",
    "train_model",
]

# Compared by grouped CV on every training run; the best macro-F1 wins.
# Character n-grams up to 2 as well as up to 3: on the shipped labels the
# shorter range scored higher in grouped CV and on held-out real reports, with
# a third of the features. Word and union features (``--features word|union``)
# are left out of the default grid: on the round-2 labels they scored 0.05
# below character n-grams in grouped CV at several times the cost.
DEFAULT_GRID: tuple[dict[str, Any], ...] = tuple(
    {"features": "char", "C": C, **extra} for extra in ({"char_ngram_max": 2}, {}) for C in (10.0, 30.0, 100.0)
)
# Regularisation strengths compared for the context stage (grouped CV over documents).
CONTEXT_GRID: tuple[float, ...] = (0.03, 0.1, 0.3, 1.0)

Progress = Callable[[str], None]

# Candidates whose grouped-CV macro-F1 is within this of the best are ties: one
# standard error of accuracy at ~3,000 rows is about 0.005. Among ties the
# cheapest feature set wins (character n-grams predict several times faster
# than anything with jieba word bigrams, and generalised better to unseen
# real reports in our held-out check).
TIE_TOLERANCE = 0.005
_FEATURE_COST = {"char": 0, "word": 1, "union": 2}


def candidate_grid(features: str | None = None) -> list[dict[str, Any]]:
    """The settings compared by grouped CV: the default grid, or the grid of one feature set."""
    if features is None:
        return [dict(p) for p in DEFAULT_GRID]
    ranges: tuple[dict[str, Any], ...] = ({"char_ngram_max": 2}, {}) if features == "char" else ({},)
    return [{"features": features, "C": C, **extra} for extra in ranges for C in (10.0, 30.0, 100.0)]


@dataclass(frozen=True)
class SelfTraining:
    """Unlabelled documents to self-train on, and how their pseudo-labels are chosen.

    Sentences the first model tags with confidence at least ``threshold`` join the
    training rows with sample weight ``weight`` (a human label weighs 1).
    """

    documents: Sequence[UnlabelledDocument]
    threshold: float = 0.9
    weight: float = 0.3


@dataclass(frozen=True)
class CandidateResult:
    """Grouped-CV scores of one configuration."""

    params: dict[str, Any]
    macro_f1: float
    accuracy: float


@dataclass
class TrainResult:
    """The fitted model, its chosen settings, the CV report and the card to save."""

    model: ThemeModel
    params: dict[str, Any]
    report: EvaluationReport
    candidates: list[CandidateResult]
    card: ModelCard
    misclassified: list[Misclassified] = field(default_factory=list)
    by_source: dict[str, tuple[int, float]] = field(default_factory=dict)
    context: ContextResult | None = None


@dataclass(frozen=True)
class ContextResult:
    """Grouped CV over labelled documents: the sentence model alone against the context stage."""

    documents: int
    units: int
    sentence_only: EvaluationReport
    candidates: list[tuple[float, EvaluationReport]]
    chosen_C: float | None  # None: the context stage did not beat the sentence model
    # Per kind of document ("written", "real": span labels of real documents): the sentence
    # model alone and the best C, on that kind's units only, with its number of documents.
    by_kind: dict[str, tuple[int, EvaluationReport, EvaluationReport]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The card's record of the stage."""
        return {
            "documents": self.documents,
            "units": self.units,
            "grouped_by": "document",
            "sentence_only": {
                "macro_f1": round(self.sentence_only.macro_f1, 4),
                "accuracy": round(self.sentence_only.accuracy, 4),
            },
            "candidates": [
                {"C": C, "macro_f1": round(r.macro_f1, 4), "accuracy": round(r.accuracy, 4)} for C, r in self.candidates
            ],
            "chosen_C": self.chosen_C,
            "by_kind": {
                kind: {
                    "documents": documents,
                    "units": alone.n,
                    "sentence_only": {"macro_f1": round(alone.macro_f1, 4), "accuracy": round(alone.accuracy, 4)},
                    "with_context": {"macro_f1": round(best.macro_f1, 4), "accuracy": round(best.accuracy, 4)},
                }
                for kind, (documents, alone, best) in self.by_kind.items()
            },
        }


def _training_set(
    texts: list[str],
    themes: list[str],
    train_idx: Sequence[int],
    extra: PseudoLabels | None,
) -> tuple[list[str], list[str], dict[str, Any]]:
    """The rows of ``train_idx`` plus the pseudo-labelled rows, and the fit arguments that weigh them."""
    X = [texts[i] for i in train_idx]
    y = [themes[i] for i in train_idx]
    if extra is None or not extra.texts:
        return X, y, {}
    # Balanced class weights come from the human labels alone: computed over all rows, the
    # pseudo-labels (mostly of the themes the model already knows best) would set them.
    counts = Counter(y)
    balance = {theme: len(y) / (len(counts) * n) for theme, n in counts.items()}
    weights = [balance[t] for t in y] + [extra.weight * balance.get(t, 1.0) for t in extra.themes]
    return X + list(extra.texts), y + list(extra.themes), {"clf__sample_weight": np.asarray(weights)}


def _fit_pipeline(
    params: dict[str, Any],
    texts: list[str],
    themes: list[str],
    train_idx: Sequence[int],
    extra: PseudoLabels | None = None,
    *,
    normalize: bool = False,
) -> Any:
    """Fit the pipeline of ``params`` on rows ``train_idx`` (plus ``extra``); texts are normalised
    already, so the normalise step is dropped unless ``normalize`` keeps it for a saved model."""
    X, y, fit_args = _training_set(texts, themes, train_idx, extra)
    pipeline = build_pipeline(**{**params, **({"class_weight": None} if fit_args else {})})
    if not normalize:
        pipeline = pipeline[1:]
    pipeline.fit(X, y, **fit_args)
    return pipeline


def _fold_models(
    params: dict[str, Any],
    texts: list[str],
    themes: list[str],
    groups: list[str],
    folds: int,
    n_jobs: int,
    extra: PseudoLabels | None = None,
) -> tuple[list[tuple[np.ndarray, np.ndarray]], list[ThemeModel]]:
    """The grouped folds and a model fitted on each fold's training part (plus ``extra``)."""
    n_groups = len(set(groups))
    if n_groups < 2:
        raise PlanthemeError("grouped cross-validation needs rows from at least 2 sources")
    splits = list(GroupKFold(n_splits=min(folds, n_groups)).split(texts, themes, groups))
    pipelines = Parallel(n_jobs=n_jobs)(
        delayed(_fit_pipeline)(params, texts, themes, train, extra) for train, _ in splits
    )
    return splits, [ThemeModel(pipeline=pipeline) for pipeline in pipelines]


def cross_validate(
    params: dict[str, Any],
    texts: list[str],
    themes: list[str],
    groups: list[str],
    folds: int = 5,
    n_jobs: int = 1,
    extra: PseudoLabels | None = None,
) -> list[str]:
    """Out-of-fold predictions for every row, folds grouped by ``groups`` (``extra`` rows in every
    training part)."""
    splits, models = _fold_models(params, texts, themes, groups, folds, n_jobs, extra)
    return _out_of_fold_themes(splits, models, texts)


def _out_of_fold_themes(
    splits: Sequence[tuple[np.ndarray, np.ndarray]], models: Sequence[ThemeModel], texts: list[str]
) -> list[str]:
    predicted = [""] * len(texts)
    for (_, test), model in zip(splits, models):
        themes = model.classify([texts[i] for i in test], normalized=True).themes()
        for i, theme in zip(test, themes):
            predicted[i] = theme
    return predicted


def _data_summary(rows: Sequence[LabelledSentence]) -> dict[str, Any]:
    files: dict[str, list[LabelledSentence]] = {}
    for row in rows:
        files.setdefault(row.file, []).append(row)
    # Hash the rows as read (text, theme, group), not the file bytes: the
    # same data in CSV or JSONL, or re-saved by a spreadsheet, is the same data.
    digest = hashlib.sha256()
    file_entries = []
    for name in sorted(files):
        file_digest = hashlib.sha256()
        for row in files[name]:
            file_digest.update(f"{row.text}\x1f{row.theme}\x1f{row.group}\x1e".encode())
        digest.update(file_digest.digest())
        file_entries.append(
            {
                "file": Path(name).name,
                "rows": len(files[name]),
                "sha256": file_digest.hexdigest(),
            }
        )
    return {
        "rows": len(rows),
        "groups": len({row.group for row in rows}),
        "per_theme": dict(sorted(Counter(row.theme for row in rows).items())),
        "files": file_entries,
        "sha256": digest.hexdigest(),
    }


def train_model(
    rows: Sequence[LabelledSentence],
    grid: Sequence[dict[str, Any]] = DEFAULT_GRID,
    folds: int = 5,
    n_jobs: int = 1,
    progress: Progress | None = None,
    tolerance: float = TIE_TOLERANCE,
    documents: Sequence[LabelledDocument] = (),
    self_training: SelfTraining | None = None,
) -> TrainResult:
    """Pick the best of ``grid`` by grouped CV macro-F1 (ties within ``tolerance``
    go to the cheapest features), refit it on every row; with labelled
    ``documents``, train and choose the context stage (:func:`train_context`).

    With ``self_training``, that model then tags the unlabelled documents, its
    confident sentences join the rows (:mod:`plantheme.training.pseudo`), and the
    sentence model is fitted again with them (the context stage is kept); the card keeps the
    grouped-CV figures of both (pseudo-labels in every fold's training part).
    """
    if not rows:
        raise PlanthemeError("no labelled rows to train on")
    say = progress or (lambda message: None)
    texts = [normalize_sentence(row.text) for row in rows]
    themes = [row.theme for row in rows]
    groups = [row.group for row in rows]
    if len(set(themes)) < 2:
        raise PlanthemeError("training needs at least two different themes")

    candidates: list[CandidateResult] = []
    out_of_fold: list[list[str]] = []
    for i, params in enumerate(grid, start=1):
        predicted = cross_validate(params, texts, themes, groups, folds, n_jobs)
        report = score(themes, predicted)
        candidates.append(CandidateResult(dict(params), report.macro_f1, report.accuracy))
        out_of_fold.append(predicted)
        say(f"[{i}/{len(grid)}] {_describe(params)}: macro-F1 {report.macro_f1:.3f}, accuracy {report.accuracy:.3f}")
    chosen = choose_candidate(candidates, tolerance)
    params, predicted = dict(candidates[chosen].params), out_of_fold[chosen]
    report = score(themes, predicted)
    say(f"fitting {_describe(params)} on all {len(rows)} rows")
    everything = range(len(texts))
    model = ThemeModel(pipeline=_fit_pipeline(params, texts, themes, everything, normalize=True))
    card = ModelCard(
        themes=[],
        training=_data_summary(rows),
        cv={
            "folds": min(folds, len(set(groups))),
            "grouped_by": "source document / written batch",
            **report.to_dict(),
            "candidates": [
                {"params": c.params, "macro_f1": round(c.macro_f1, 4), "accuracy": round(c.accuracy, 4)}
                for c in candidates
            ],
        },
        params={**params, "pipeline": [name for name, _ in model.pipeline.steps]},
    )
    context_result = None
    if documents:
        model.context, context_result = train_context(
            params, texts, themes, groups, documents, folds, n_jobs, tolerance=tolerance, progress=say
        )
        card.context = context_result.to_dict()
    if self_training is not None:
        model, predicted = _self_train(model, self_training, params, texts, themes, groups, folds, n_jobs, say, card)
        report = score(themes, predicted)
    misclassified = [misclassified_row(row, pred) for row, pred in zip(rows, predicted) if pred != row.theme]
    by_source = _accuracy_by_source(rows, predicted)
    card.cv["by_source"] = {k: {"rows": n, "accuracy": round(a, 4)} for k, (n, a) in by_source.items()}
    return TrainResult(
        model=model,
        params=params,
        report=report,
        candidates=candidates,
        card=card,
        misclassified=misclassified,
        by_source=by_source,
        context=context_result,
    )


def _self_train(
    model: ThemeModel,
    config: SelfTraining,
    params: dict[str, Any],
    texts: list[str],
    themes: list[str],
    groups: list[str],
    folds: int,
    n_jobs: int,
    say: Progress,
    card: ModelCard,
) -> tuple[ThemeModel, list[str]]:
    """Refit the sentence model with ``model``'s pseudo-labels of ``config.documents``; returns the
    new model and its out-of-fold predictions of the labelled rows.

    The context stage stays the one trained on the labels-only sentence model: refitted on the
    self-trained model's probabilities it scored lower on the real-document dev set's tuning part,
    in both rounds tried (macro-F1 0.818 against 0.828 on round-4 labels, 0.785 against 0.809 on
    round-3 labels).
    """
    say(f"self-training: tagging {len(config.documents)} unlabelled documents")
    pseudo = pseudo_label(model, config.documents, threshold=config.threshold, weight=config.weight)
    say(
        f"self-training: {len(pseudo.texts)} sentences at confidence >= {config.threshold},"
        f" weight {config.weight}; grouped CV again with them in every training part"
    )
    predicted = cross_validate(params, texts, themes, groups, folds, n_jobs, pseudo)
    report = score(themes, predicted)
    say(
        f"self-trained sentence model: macro-F1 {report.macro_f1:.3f}, accuracy {report.accuracy:.3f}"
        f" (labels alone {card.cv['macro_f1']:.3f}, {card.cv['accuracy']:.3f})"
    )
    card.self_training = {
        **pseudo.to_dict(),
        "cv": {"macro_f1": round(report.macro_f1, 4), "accuracy": round(report.accuracy, 4)},
        "context_stage": "trained on the sentence model before self-training",
    }
    refit = ThemeModel(
        pipeline=_fit_pipeline(params, texts, themes, range(len(texts)), pseudo, normalize=True), context=model.context
    )
    return refit, predicted


@dataclass(frozen=True)
class _DocumentUnits:
    """A labelled document prepared as ``plantheme tag`` prepares it, with each unit's label."""

    doc: LabelledDocument
    prepared: PreparedDocument
    gold: tuple[str | None, ...]  # per unit: the label of the span it overlaps most, if any


def _prepare(documents: Sequence[LabelledDocument]) -> list[_DocumentUnits]:
    prepared = []
    for doc in documents:
        ready = prepare_document(doc.text)
        labels = sorted(doc.spans, key=lambda span: (span.start, span.end))
        best = best_overlaps(list(ready.spans), [(span.start, span.end) for span in labels])
        prepared.append(_DocumentUnits(doc, ready, tuple(labels[k].theme if k >= 0 else None for k in best)))
    return prepared


def _out_of_fold_proba(
    splits: Sequence[tuple[np.ndarray, np.ndarray]],
    models: Sequence[ThemeModel],
    groups: list[str],
    documents: list[_DocumentUnits],
) -> list[np.ndarray | None]:
    """Sentence-model probabilities of every document's units from the fold that held the document out."""
    fold_of: dict[str, int] = {}
    for k, (_, test) in enumerate(splits):
        for i in test:
            fold_of[groups[i]] = k
    proba: list[np.ndarray | None] = []
    for item in documents:
        fold = fold_of.get(item.doc.doc)
        # A document whose sentences are not among the rows has no held-out fold: left out.
        proba.append(None if fold is None else models[fold].classify(item.prepared.texts, normalized=True).proba)
    return proba


def train_context(
    params: dict[str, Any],
    texts: list[str],
    themes: list[str],
    groups: list[str],
    documents: Sequence[LabelledDocument],
    folds: int = 5,
    n_jobs: int = 1,
    grid: Sequence[float] = CONTEXT_GRID,
    tolerance: float = TIE_TOLERANCE,
    progress: Progress | None = None,
) -> tuple[ContextModel | None, ContextResult]:
    """Train the context stage on out-of-fold sentence probabilities of labelled documents.

    Documents are the CV groups (their sentences are rows of the same group), so
    a document's sentence probabilities come from a model that never saw it, as
    a new user's document would. The stage is kept only when its grouped-CV
    macro-F1 beats the sentence model alone on the same units by more than
    ``tolerance``. Furniture units are left out: a rule themes them.
    """
    say = progress or (lambda message: None)
    prepared = _prepare(documents)
    say(f"context stage: sentence probabilities of {len(prepared)} documents, out of fold")
    splits, models = _fold_models(params, texts, themes, groups, folds, n_jobs)
    probas = _out_of_fold_proba(splits, models, groups, prepared)
    blocks: list[np.ndarray] = []
    labels: list[str] = []
    doc_ids: list[str] = []
    kinds: list[str] = []
    alone: list[str] = []
    for item, proba in zip(prepared, probas):
        if proba is None or not len(proba):
            continue
        X = context_features(proba, item.prepared.outline, item.prepared.boilerplate)
        keep = [
            i
            for i, (gold, furniture) in enumerate(zip(item.gold, item.prepared.boilerplate))
            if gold is not None and not furniture
        ]
        blocks.append(X[keep])
        labels += [gold for i in keep if (gold := item.gold[i]) is not None]
        doc_ids += [item.doc.doc] * len(keep)
        kinds += ["real" if item.doc.source == "spans" else "written"] * len(keep)
        alone += [THEME_IDS[j] for j in proba[keep].argmax(axis=1).tolist()]
    n_docs = len(set(doc_ids))
    if n_docs < 2 or len(set(labels)) < 2:
        raise PlanthemeError(
            "the context stage needs labelled documents (at least 2, with 2 themes);"
            " see labels/README.md for the *.documents.jsonl format"
        )
    X_all = np.vstack(blocks)
    baseline = score(labels, alone)
    splits = list(GroupKFold(n_splits=min(folds, n_docs)).split(X_all, labels, doc_ids))
    candidates = []
    predictions: dict[float, list[str]] = {}
    for C in grid:
        predicted = predictions.setdefault(C, [""] * len(labels))
        for train, test in splits:
            stage = ContextModel(C=C).fit(X_all[train], [labels[i] for i in train])
            for i, theme in zip(test, stage.predict(X_all[test])):
                predicted[i] = theme
        report = score(labels, predicted)
        candidates.append((C, report))
        say(
            f"context C={C}: macro-F1 {report.macro_f1:.3f}, accuracy {report.accuracy:.3f}"
            f" (sentence model alone {baseline.macro_f1:.3f}, {baseline.accuracy:.3f})"
        )
    best_C, best = _choose_context_C(candidates, tolerance)
    chosen = best_C if best.macro_f1 > baseline.macro_f1 + tolerance else None
    by_kind = {}
    for kind in sorted(set(kinds)):
        idx = [i for i, k in enumerate(kinds) if k == kind]
        by_kind[kind] = (
            len({doc_ids[i] for i in idx}),
            score([labels[i] for i in idx], [alone[i] for i in idx]),
            score([labels[i] for i in idx], [predictions[best_C][i] for i in idx]),
        )
    result = ContextResult(n_docs, len(labels), baseline, candidates, chosen, by_kind)
    if chosen is None:
        return None, result
    return ContextModel(C=chosen).fit(X_all, labels), result


def _choose_context_C(
    candidates: Sequence[tuple[float, EvaluationReport]], tolerance: float = TIE_TOLERANCE
) -> tuple[float, EvaluationReport]:
    """The context stage's C: among those within ``tolerance`` of the best grouped-CV macro-F1,
    the largest (the least regularised, leaning most on title, headings and neighbours).

    Ties are the rule, not the exception (C = 0.1, 0.3 and 1.0 within 0.0005 on the round-4
    documents), and the written documents cannot tell them apart; on the real documents of the
    dev set's tuning part the larger scored higher: macro-F1 0.813 with C = 0.1, 0.824 with
    C = 1.0 (the shipped model), 0.828 with C = 0.3 (a sentence model from an earlier run).
    """
    best = max(report.macro_f1 for _, report in candidates)
    return max((c for c in candidates if c[1].macro_f1 >= best - tolerance), key=lambda c: c[0])


def choose_candidate(candidates: Sequence[CandidateResult], tolerance: float = TIE_TOLERANCE) -> int:
    """Index of the chosen candidate: cheapest features among those within
    ``tolerance`` of the best macro-F1, then the higher macro-F1."""
    best = max(c.macro_f1 for c in candidates)
    tied = [i for i, c in enumerate(candidates) if c.macro_f1 >= best - tolerance]
    return min(
        tied,
        key=lambda i: (
            _FEATURE_COST.get(candidates[i].params.get("features", "union"), 3),
            candidates[i].params.get("char_ngram_max", 3),  # fewer n-grams per sentence
            -candidates[i].macro_f1,
        ),
    )


def _accuracy_by_source(rows: Sequence[LabelledSentence], predicted: Sequence[str]) -> dict[str, tuple[int, float]]:
    """Out-of-fold accuracy per source (each real document; written rows together)."""
    hits: dict[str, list[bool]] = {}
    for row, theme in zip(rows, predicted):
        hits.setdefault(row.source or row.group, []).append(theme == row.theme)
    return {source: (len(h), sum(h) / len(h)) for source, h in sorted(hits.items())}


def _describe(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in params.items())
