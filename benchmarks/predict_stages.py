"""Where in-process ``predict`` spends its time: microseconds per sentence for each stage.

The same sentences and batches as ``predict_throughput.py`` (the first
``--sentences`` distinct sentences of ``../shared/corpus``, batches of
``--batch``), one core. Each stage is timed around the call the compiled model
makes for it, batch by batch; medians of ``--repeats`` rounds. The stages add
up to ``CompiledModel.predict`` (also timed, whole), so the split says which
part a speed target has to come from.

    python benchmarks/predict_stages.py [--model models/default] [--sentences 40000]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from predict_throughput import CORPUS, corpus_sentences  # noqa: E402

from plantheme.model.persistence import load_compiled  # noqa: E402
from plantheme.model.scoring import classify_rows  # noqa: E402
from plantheme.settings import DEFAULT_MODEL_DIR  # noqa: E402
from plantheme.text.normalize import normalize_sentences  # noqa: E402

STAGES = (
    "normalisation",
    "TF-IDF rows",
    "linear model",
    "evidence and Prediction objects",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_DIR)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--sentences", type=int, default=40_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    compiled = load_compiled(args.model)
    if compiled is None:
        sys.exit(f"{args.model}: no model.npz (a word or union model)")
    model, card = compiled
    sentences = corpus_sentences(args.corpus, args.sentences)
    batches = [sentences[i : i + args.batch] for i in range(0, len(sentences), args.batch)]
    model.predict(sentences[: args.batch])  # the word table and the segmenter warm, as in a long run

    per_stage: dict[str, list[float]] = {name: [] for name in (*STAGES, "predict, whole")}
    for _ in range(args.repeats):
        spent = dict.fromkeys(STAGES, 0.0)
        for batch in batches:
            t0 = time.perf_counter()
            clean = normalize_sentences(batch)
            t1 = time.perf_counter()
            X = model.tfidf.transform(clean)
            t2 = time.perf_counter()
            result = classify_rows(clean, X, model.coef_t, model.intercept, model.classes)
            t3 = time.perf_counter()
            model.explain(result)
            t4 = time.perf_counter()
            for name, seconds in zip(STAGES, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
                spent[name] += seconds
        for name, seconds in spent.items():
            per_stage[name].append(seconds)
        start = time.perf_counter()
        for batch in batches:
            model.predict(batch)
        per_stage["predict, whole"].append(time.perf_counter() - start)

    n = len(sentences)
    print(f"model {card.model_id}; {n:,} sentences, batches of {args.batch}, median of {args.repeats} rounds")
    for name, values in per_stage.items():
        seconds = statistics.median(values)
        print(f"  {name:<34} {seconds:6.3f} s  {seconds / n * 1e6:5.1f} µs/sentence")
    whole = statistics.median(per_stage["predict, whole"])
    print(f"  predict: {n / whole:,.0f} sentences/s; 30,000/s needs {1e6 / 30_000:.1f} µs/sentence")


if __name__ == "__main__":
    main()
