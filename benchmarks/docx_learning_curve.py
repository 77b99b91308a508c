"""How much more real DOCX-genre text would move those genres: a learning curve.

The real non-report documents labelled for training (span labels of ``labels/spans/``
into ``../shared/corpus``; implementation plans, notices, departmental plans, task
breakdowns, a planning chapter) are split into ``--folds`` groups of documents. For
each group held out, the sentence model (the shipped settings: character 1–2-grams,
C = 10, balanced classes) is fitted on every other label (written rows, work reports
and the other genres' real documents) plus a fraction of the remaining real
non-report documents, chosen at random by document; the held-out documents' labels
are then classified alone and scored. Printed per fraction: macro-F1 and accuracy
over all held-out labels, then macro-F1 per genre.

It answers one question of the accuracy issue: are these genres held back by how
few real documents of them there are? The context stage is left out (it needs the
sentence model's out-of-fold probabilities, a fit per fold and fraction on top).
A fit takes 1–3 minutes: the default three fractions and five folds take about
20–40 minutes on two cores.

    python benchmarks/docx_learning_curve.py [--fractions 0 0.5 1] [--folds 5] [--jobs 1]
"""

from __future__ import annotations

import argparse
import random

import numpy as np
from joblib import Parallel, delayed
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import GroupKFold

from plantheme.model.model import build_pipeline
from plantheme.settings import REPO_ROOT, load_settings
from plantheme.text.normalize import normalize_sentence
from plantheme.training.labels import document_rows, read_labelled_dir, read_span_documents, span_files

CORPUS = REPO_ROOT.parent / "shared" / "corpus"


def fit_and_classify(texts: list[str], themes: np.ndarray, train: np.ndarray, test: np.ndarray) -> np.ndarray:
    pipeline = build_pipeline(features="char", char_ngram_max=2, C=10.0)
    pipeline.fit([texts[i] for i in train], themes[train])
    return np.asarray(pipeline.predict([texts[i] for i in test]), dtype=object)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fractions", type=float, nargs="+", default=[0.0, 0.5, 1.0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=1)
    args = parser.parse_args()

    labels = REPO_ROOT / "labels"
    spans = read_span_documents(span_files(labels / "spans"), CORPUS, max_chars=load_settings().max_document_chars)
    rows = read_labelled_dir(labels) + document_rows(spans)
    texts = [normalize_sentence(row.text) for row in rows]
    themes = np.array([row.theme for row in rows], dtype=object)
    genre = np.array([row.genre for row in rows], dtype=object)
    group = np.array([row.group for row in rows], dtype=object)
    real_docs = {doc.doc for doc in spans}
    target = np.array([row.group in real_docs and row.genre != "work_report" for row in rows])
    target_idx = np.flatnonzero(target)
    print(
        f"{len(rows):,} labels; held out in turn: {target.sum():,} of {len(set(group[target]))} real non-report documents"
    )

    jobs = []
    for k, (train_part, test_part) in enumerate(
        GroupKFold(n_splits=args.folds).split(target_idx, themes[target_idx], group[target_idx])
    ):
        test = target_idx[test_part]
        train_docs = sorted(set(group[target_idx[train_part]]))
        for fraction in args.fractions:
            kept = set(random.Random(k).sample(train_docs, round(fraction * len(train_docs))))
            train = np.flatnonzero(~np.isin(group, [*set(group[test])]) & (~target | np.isin(group, [*kept])))
            jobs.append((fraction, test, train))
    results = Parallel(n_jobs=args.jobs)(
        delayed(fit_and_classify)(texts, themes, train, test) for _, test, train in jobs
    )

    genres = sorted(set(genre[target]))
    print(f"{'fraction':>8} {'macro-F1':>9} {'accuracy':>9}" + "".join(f" {g[:14]:>15}" for g in genres))
    for fraction in args.fractions:
        predicted = np.empty(len(rows), dtype=object)
        for (f, test, _), result in zip(jobs, results):
            if f == fraction:
                predicted[test] = result
        y, p, g = themes[target_idx], predicted[target_idx], genre[target_idx]
        cells = "".join(f" {f1_score(y[g == name], p[g == name], average='macro'):>15.3f}" for name in genres)
        print(
            f"{fraction:>8.2f} {f1_score(y, p, average='macro'):>9.3f} {accuracy_score(y, p):>9.3f}" + cells,
            flush=True,
        )


if __name__ == "__main__":
    main()
