"""A second pass of the context stage against one pass, by grouped CV over the labelled documents.

A second pass (tried on 2026-12-03, not kept) reads the context inputs again,
computed from the first pass's probabilities instead of the sentence model's
(:func:`refined_features`). Measured as ``plantheme train`` would train it:
out-of-fold sentence-model probabilities of every labelled document (5 folds
grouped by document, the shipped model's settings), the first pass fitted per fold of documents, each document's
first-pass probabilities from the fit that held it out, the second pass scored
by CV over the same folds (``same folds``). ``nested`` scores it with the first
pass's probabilities of each fold's training documents taken from inner folds
within them, so that no test document reaches the second pass's training inputs
at all. Printed: macro-F1 over the real documents and per genre of them, over
the written documents, and on the dev set's tuning part (``devset/tune.csv``:
the shipped sentence model's probabilities, both passes fitted on all the
out-of-fold rows; scored unit by unit, furniture ``other``). The rarely-seen
part is not read.

    python benchmarks/context_second_pass.py [--corpus ../shared/corpus] [--jobs 2]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from context_variants import (
    CORPUS,
    GENRES,
    Document,
    cv_scores,
    documents_of,
    fit_sentence_models,
    labelled_data,
    macro_f1,
    units_of,
)
from joblib import Parallel, delayed
from sklearn.model_selection import GroupKFold

from plantheme.model.context import ContextModel, context_features
from plantheme.text.structure import Outline
from plantheme.themes import THEME_IDS

_THEMES = np.array(THEME_IDS, dtype=object)


def refined_features(X: np.ndarray, first: np.ndarray, outline: Outline, skip: Sequence[bool]) -> np.ndarray:
    """The second pass's input rows: the first pass's inputs ``X`` and the context inputs of its probabilities."""
    return np.hstack([X, context_features(first, outline, skip)])


def refined_inputs(doc: Document, first: ContextModel) -> np.ndarray:
    """The second pass's inputs of ``doc``'s scored units, from ``first``'s probabilities of every unit."""
    return refined_features(doc.X, first.predict_proba(doc.X), doc.outline, doc.furniture)[doc.keep]


def fit(rows: Sequence[np.ndarray], golds: Sequence[np.ndarray]) -> ContextModel:
    return ContextModel(C=1.0).fit(np.vstack(rows), list(np.concatenate(golds)))


def first_pass_fits(docs: list[Document], index: np.ndarray, folds: int) -> dict[int, ContextModel]:
    """For each document of ``index``, a first pass fitted on the others of ``index`` (grouped folds)."""
    held_out = {}
    for train, test in GroupKFold(n_splits=folds).split(index, index, index):
        stage = fit([docs[index[i]].X[docs[index[i]].keep] for i in train], [docs[index[i]].gold for i in train])
        held_out.update({int(index[i]): stage for i in test})
    return held_out


def nested_fold(docs: list[Document], train: np.ndarray, test: np.ndarray) -> dict[int, np.ndarray]:
    """The second pass's themes of the ``test`` documents, fitted on ``train`` only.

    Its training inputs come from first passes fitted on the other training
    documents (inner folds), never on a test document; the test documents' inputs
    from the first pass fitted on all of ``train``.
    """
    firsts = first_pass_fits(docs, train, 4)
    on_test = fit([docs[i].X[docs[i].keep] for i in train], [docs[i].gold for i in train])
    second = fit([refined_inputs(docs[i], firsts[int(i)]) for i in train], [docs[i].gold for i in train])
    return {int(i): np.array(second.predict(refined_inputs(docs[i], on_test)), dtype=object) for i in test}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    started = time.perf_counter()
    data = labelled_data(args.corpus)
    splits, models = fit_sentence_models(data.params, data.rows, data.groups, args.folds, args.jobs, 1.0)
    held = {data.groups[i]: models[k] for k, (_, test) in enumerate(splits) for i in test}
    docs = documents_of(data.documents, held, keep_furniture=False)
    tune = documents_of(data.tune, {doc.doc: data.shipped for doc in data.tune}, keep_furniture=True)
    print(
        f"sentence model: {data.params}; {len(docs)} documents, {sum(len(d.keep) for d in docs)} units out of fold;"
        f" tuning part {sum(len(d.keep) for d in tune)} units ({time.perf_counter() - started:.0f} s)"
    )

    units = units_of(docs)
    tune_gold = np.concatenate([d.gold for d in tune])
    tune_furniture = np.concatenate([d.furniture[d.keep] for d in tune])

    def line(name: str, per_document: Mapping[int, np.ndarray], on_tune: np.ndarray | None) -> None:
        """One row; ``on_tune`` None for a CV-only row (nan in the tuning column)."""
        predicted = np.concatenate([per_document[k] for k in range(len(docs))])
        tuning = float("nan")
        if on_tune is not None:
            on_tune = on_tune.copy()
            on_tune[tune_furniture] = "other"
            tuning = macro_f1(tune_gold, on_tune)
        cells = [*cv_scores(units, predicted), tuning]
        print(f"{name:<28}" + "".join(f"{c:>10.3f}" for c in cells), flush=True)

    print(f"{'variant':<28}" + "".join(f"{c:>10}" for c in ("real", "written", *(g[:8] for g in GENRES), "tuning")))
    line(
        "sentence model alone",
        {k: _THEMES[d.X[d.keep, : len(THEME_IDS)].argmax(axis=1)] for k, d in enumerate(docs)},
        np.concatenate([_THEMES[d.X[d.keep, : len(THEME_IDS)].argmax(axis=1)] for d in tune]),
    )
    index = np.arange(len(docs))
    folds = list(GroupKFold(n_splits=args.folds).split(index, index, index))
    held_out = first_pass_fits(docs, index, args.folds)
    first_all = fit([d.X[d.keep] for d in docs], [d.gold for d in docs])
    line(
        "one pass (shipped design)",
        {k: np.array(held_out[k].predict(d.X[d.keep]), dtype=object) for k, d in enumerate(docs)},
        np.concatenate([np.array(first_all.predict(d.X[d.keep]), dtype=object) for d in tune]),
    )
    # Same folds, as plantheme train: every document's second-pass inputs from the first pass that held it out.
    refined = [refined_inputs(d, held_out[k]) for k, d in enumerate(docs)]
    second_all = fit(refined, [d.gold for d in docs])
    on_tune = np.concatenate([np.array(second_all.predict(refined_inputs(d, first_all)), dtype=object) for d in tune])
    same: dict[int, np.ndarray] = {}
    for train, test in folds:
        stage = fit([refined[i] for i in train], [docs[i].gold for i in train])
        same.update({int(i): np.array(stage.predict(refined[i]), dtype=object) for i in test})
    line("two passes, same folds", same, on_tune)
    nested: dict[int, np.ndarray] = {}
    for part in Parallel(n_jobs=args.jobs)(delayed(nested_fold)(docs, train, test) for train, test in folds):
        nested.update(part)
    line("two passes, nested", nested, None)  # the stage fitted on all documents is the same-folds one
    print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
