"""Simulated labelling loop: does choosing sentences the way ``plantheme review`` does beat choosing at random?

On the real-document dev set (span labels into ``../shared/corpus``; the text is
read at run time and never stored here): the pool is ``devset/tune.csv``, the
test set ``devset/rare.csv``. Starting from the shipped labels, each round adds
``--per-round`` pool sentences with their dev-set labels, chosen either by the
review queue's strategy (:func:`plantheme.review.queue.choose_rows`: margin
uncertainty × core-set diversity over the model's TF-IDF rows, balanced across
predicted themes) with the current model, or uniformly at random; the model is
refitted and scored on the test sentences after every round.

Simplifications, so that a round takes seconds instead of the full training:
the sentence model only (the shipped settings, character 1–2-grams, C = 30,
balanced classes), no context stage, no self-training, no CV; the starting model
is that sentence model refitted on ``labels/`` (the shipped model was also
self-trained, so its own figure is printed beside for reference); sentences are
scored on their own text, not tagged within their documents.

    python benchmarks/active_learning.py [--rounds 10] [--per-round 50] [--random-seeds 2] [--weight W]
                                         [--same-documents] [--plot PNG]

``--same-documents`` simulates a team labelling the documents it tags: the pool is every other
label of each ``tune.csv`` document (in file order), the test set the remaining ones.
``--weight W`` gives every added label the sample weight W against 1 for a row of
``labels/`` (``plantheme train`` has no such option: this measures whether it should).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed

from plantheme.model.model import ThemeModel, build_pipeline
from plantheme.model.persistence import load_model
from plantheme.readers.documents import read_document
from plantheme.review.queue import choose_rows
from plantheme.settings import DEFAULT_MODEL_DIR, REPO_ROOT
from plantheme.text.normalize import normalize_sentence
from plantheme.training.evaluate import score
from plantheme.training.labels import read_labelled_dir, read_span_labels

PARAMS = {"features": "char", "C": 30.0, "char_ngram_max": 2}


def span_texts(path: Path, root: Path, part: int | None = None) -> tuple[list[str], list[str]]:
    """The text and theme of every span label whose text still matches its sha; with ``part`` (0 or 1)
    only every other label of each document, starting with its first (0) or second (1)."""
    texts, themes, documents = [], [], {}
    seen: dict[str, int] = {}
    for row in read_span_labels(path):
        seen[row.path] = seen.get(row.path, -1) + 1
        if part is not None and seen[row.path] % 2 != part:
            continue
        if row.path not in documents:
            documents[row.path] = read_document(root / row.path, max_chars=2_000_000).text
        text = documents[row.path][row.start : row.end]
        if row.sha and hashlib.sha256(text.encode("utf-8")).hexdigest()[: len(row.sha)] != row.sha:
            continue
        texts.append(normalize_sentence(text))
        themes.append(row.theme)
    return texts, themes


def fit(texts: list[str], themes: list[str], weights: list[float]) -> ThemeModel:
    pipeline = build_pipeline(**PARAMS)  # type: ignore[arg-type]
    pipeline.steps[0] = ("normalize", "passthrough")  # every text is normalised once, beforehand
    pipeline.fit(texts, themes, clf__sample_weight=np.asarray(weights))
    return ThemeModel(pipeline=pipeline)


def macro_f1(model: ThemeModel, texts: list[str], themes: list[str]) -> float:
    return score(themes, model.classify(texts, normalized=True).themes()).macro_f1


def curve(
    strategy: str,
    seed: int,
    base: tuple[list[str], list[str]],
    pool: tuple[list[str], list[str]],
    test: tuple[list[str], list[str]],
    rounds: int,
    per_round: int,
    weight: float = 1.0,
) -> list[tuple[int, float]]:
    """(labels added, macro-F1 on the test set) after each round of one strategy."""
    texts, themes = list(base[0]), list(base[1])
    weights = [1.0] * len(texts)
    pool_texts, pool_themes = pool
    taken = np.zeros(len(pool_texts), dtype=bool)
    model = fit(texts, themes, weights)
    points = [(0, macro_f1(model, *test))]
    for _ in range(rounds):
        if taken.all():
            break
        result = model.classify(pool_texts, normalized=True)
        chosen = choose_rows(
            result.proba, result.features.tocsr(), ~taken, per_round, strategy=strategy, seed=seed + int(taken.sum())
        )
        for selection in chosen:
            taken[selection.row] = True
            texts.append(pool_texts[selection.row])
            themes.append(pool_themes[selection.row])
            weights.append(weight)
        model = fit(texts, themes, weights)
        points.append((int(taken.sum()), macro_f1(model, *test)))
        print(
            f"  {strategy:>6} seed {seed}: {points[-1][0]:>3} labels, macro-F1 {points[-1][1]:.4f}",
            file=sys.stderr,
            flush=True,
        )
    return points


def labels_for_gain(points: list[tuple[int, float]], gain: float) -> int | None:
    """The fewest labels after which macro-F1 is ``gain`` above the start; None if never."""
    start = points[0][1]
    return next((n for n, f1 in points if f1 >= start + gain), None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", type=Path, default=REPO_ROOT.parent / "shared" / "corpus")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--per-round", type=int, default=50)
    parser.add_argument("--random-seeds", type=int, default=2)
    parser.add_argument("--jobs", type=int, default=3)
    parser.add_argument(
        "--same-documents",
        action="store_true",
        help="pool: every other label of each tune.csv document; test: the others (not rare.csv)",
    )
    parser.add_argument("--weight", type=float, default=1.0, help="sample weight of an added label (default 1)")
    parser.add_argument("--plot", type=Path, default=REPO_ROOT / "docs" / "active_learning.png")
    args = parser.parse_args()
    started = time.time()
    rows = read_labelled_dir(REPO_ROOT / "labels")
    base = ([normalize_sentence(row.text) for row in rows], [row.theme for row in rows])
    if args.same_documents:  # a team labelling the documents it then tags: pool and test share documents
        pool = span_texts(REPO_ROOT / "devset" / "tune.csv", args.root, part=0)
        test = span_texts(REPO_ROOT / "devset" / "tune.csv", args.root, part=1)
    else:
        pool = span_texts(REPO_ROOT / "devset" / "tune.csv", args.root)
        test = span_texts(REPO_ROOT / "devset" / "rare.csv", args.root)
    shipped, _ = load_model(DEFAULT_MODEL_DIR)
    where = "alternate labels of the same tune.csv documents" if args.same_documents else "tune.csv; test rare.csv"
    print(
        f"{len(base[0])} labelled rows to start from; pool {len(pool[0])}, test {len(test[0])} dev-set"
        f" sentences ({where}); an added label weighs {args.weight:g}"
    )
    print(
        f"shipped model {shipped.model_id}, sentence model alone on the test sentences: macro-F1"
        f" {macro_f1(shipped, *test):.4f}"
    )
    runs = [("margin", 0)] + [("random", seed) for seed in range(args.random_seeds)]
    curves = Parallel(n_jobs=args.jobs)(
        delayed(curve)(strategy, seed, base, pool, test, args.rounds, args.per_round, args.weight)
        for strategy, seed in runs
    )
    strategy_points = curves[0]
    random_curves = curves[1:]
    random_points = [(n, float(np.mean([c[i][1] for c in random_curves]))) for i, (n, _) in enumerate(random_curves[0])]
    print(f"\nlabels added | review strategy | random (mean of {len(random_curves)} seeds) | random per seed")
    for i, (n, f1) in enumerate(strategy_points):
        per_seed = ", ".join(f"{c[i][1]:.4f}" for c in random_curves if i < len(c))
        rand = f"{random_points[i][1]:.4f}" if i < len(random_points) else ""
        print(f"{n:>12} | {f1:.4f}          | {rand:<25} | {per_seed}")
    for name, points in (("review strategy", strategy_points), ("random", random_points)):
        needed = labels_for_gain(points, 0.05)
        print(
            f"{name}: +5 points of macro-F1 {'after ' + str(needed) + ' labels' if needed else 'not reached'}"
            f" (start {points[0][1]:.4f}, best {max(f for _, f in points):.4f})"
        )
    print(f"{time.time() - started:.0f} s")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed (pip install -e '.[bench]'): no plot", file=sys.stderr)
        return 0
    fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
    ax.plot(*zip(*strategy_points), marker="o", label="review strategy (margin × diversity, balanced)")
    ax.plot(*zip(*random_points), marker="s", label=f"random (mean of {len(random_curves)} seeds)")
    ax.axhline(strategy_points[0][1] + 0.05, color="grey", linestyle=":", label="start + 5 points")
    ax.set_xlabel("dev-set labels added (devset/tune.csv" + (", every other label)" if args.same_documents else ")"))
    ax.set_ylabel(
        "macro-F1 on "
        + ("the other tune.csv labels" if args.same_documents else "devset/rare.csv")
        + " (sentence model)",
        fontsize=8,
    )
    ax.set_title(
        "Labels chosen by plantheme review vs at random"
        + (f" (added labels weigh {args.weight:g})" if args.weight != 1 else "")
    )
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    args.plot.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.plot)
    print(f"plot: {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
