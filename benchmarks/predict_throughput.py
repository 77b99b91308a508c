"""Sentences per second of the shipped pipeline vs a naive baseline, on one core.

The baseline is what a user would write in an afternoon: ``jieba.lcut`` as the
tokenizer of a default ``TfidfVectorizer`` and a default ``LinearSVC``, fitted
on the same labelled sentences. Both predict the sentences of the seed
documents (normalised and split by plantheme, repeated to ``--sentences``),
in batches of ``--batch``; each figure is the median of ``--repeats`` runs in
this one process, so the ratio compares like with like on a noisy machine.

    python benchmarks/predict_throughput.py [--model models/default]
"""

from __future__ import annotations

import os

# One core: BLAS threads would make the comparison depend on the machine.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import logging  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402

import jieba  # noqa: E402
from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.svm import LinearSVC  # noqa: E402

from plantheme.training.labels import read_labelled_dir  # noqa: E402
from plantheme.text.normalize import normalize  # noqa: E402
from plantheme.model.persistence import load_model  # noqa: E402
from plantheme.text.sentences import split_sentences  # noqa: E402
from plantheme.settings import DEFAULT_MODEL_DIR, REPO_ROOT  # noqa: E402

jieba.setLogLevel(logging.WARNING)


def seed_sentences(seeds: Path) -> list[str]:
    """The seed documents' sentences as the document has them (raw, not normalised)."""
    sentences = []
    for path in sorted(seeds.glob("*.txt")):
        doc = normalize(path.read_text(encoding="utf-8"))
        sentences += [doc.original_text(u.start, u.end) for u in split_sentences(doc.text)]
    return sentences


def jieba_tokens(text: str) -> list[str]:
    """The baseline's tokenizer: plain jieba."""
    return jieba.lcut(text)


def rates(predictors: dict[str, Callable[[Sequence[str]], object]], sentences: list[str],
          batch: int, repeats: int) -> dict[str, float]:
    """Median sentences per second of each predictor over ``repeats`` rounds.

    The predictors take turns within each round, so a burst of load from
    another process on this shared machine hits them alike.
    """
    seen: dict[str, list[float]] = {name: [] for name in predictors}
    for _ in range(repeats):
        for name, predict in predictors.items():
            start = time.perf_counter()
            for i in range(0, len(sentences), batch):
                predict(sentences[i:i + batch])
            seen[name].append(len(sentences) / (time.perf_counter() - start))
    return {name: statistics.median(values) for name, values in seen.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_DIR)
    parser.add_argument("--seeds", type=Path, default=REPO_ROOT.parent / "shared" / "seeds")
    parser.add_argument("--labels", type=Path, default=REPO_ROOT / "labels")
    parser.add_argument("--sentences", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    base = seed_sentences(args.seeds)
    sentences = (base * (args.sentences // len(base) + 1))[: args.sentences]
    rows = read_labelled_dir(args.labels)

    model, card = load_model(args.model)
    baseline = make_pipeline(TfidfVectorizer(tokenizer=jieba_tokens, token_pattern=None), LinearSVC())
    baseline.fit([r.text for r in rows], [r.theme for r in rows])
    # Warm both up (jieba loads its dictionary on first use; rjieba on first call).
    model.predict(sentences[:10])
    baseline.predict(sentences[:10])

    measured = rates({
        "evidence": lambda batch: model.predict(batch),
        "pipeline": model.pipeline.predict,
        "baseline": baseline.predict,
    }, sentences, args.batch, args.repeats)
    shipped, pipeline_only, naive = measured["evidence"], measured["pipeline"], measured["baseline"]

    print(f"model {card.model_id}; {len(sentences)} seed sentences ({len(base)} distinct), "
          f"batches of {args.batch}, median of {args.repeats} runs, one core")
    print(f"shipped Pipeline.predict (raw text in)       {pipeline_only:>9,.0f} sentences/s")
    print(f"ThemeModel.predict (+ scores, evidence)      {shipped:>9,.0f} sentences/s")
    print(f"baseline jieba.lcut+TfidfVectorizer+LinearSVC {naive:>8,.0f} sentences/s")
    print(f"ratio Pipeline.predict / baseline            {pipeline_only / naive:>9.1f}x (target >= 5x)")
    print(f"ratio ThemeModel.predict / baseline          {shipped / naive:>9.1f}x")

if __name__ == "__main__":
    main()
