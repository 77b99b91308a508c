"""`plantheme predict` against a naive script, whole processes, and in-process on one core.

The naive script is what a user would write in an afternoon: read the labelled
sentences, fit ``jieba.lcut`` as the tokenizer of a default ``TfidfVectorizer``
and a default ``LinearSVC``, and predict one sentence per stdin line (its
training included, as a user runs it; one process). It, ``plantheme predict <
sents.txt`` as a user runs it (default evidence and default ``--jobs``: all
cores, the number printed) and ``plantheme predict --jobs 1`` (JSON lines written
to a file) are timed as whole processes on ``--sentences`` real sentences of
``../shared/corpus`` (distinct, in corpus order), in ``--repeats`` adjacent
rounds whose order rotates, so a burst of load on this shared host hits all
alike; each ratio is the median of the rounds'. The two ``plantheme predict``
outputs must be byte-identical.

In-process, in batches of ``--batch``, median of ``--repeats`` rounds: the
compiled model's ``predict`` with all eight scores and evidence (what the CLI and
the service run) and its ``classify`` alone, timed while the process holds that
model alone, as a program that uses plantheme does; then the pickled pipeline's
``ThemeModel.predict`` (the previous path, for reference), the baseline's
``predict``, and the compiled ``predict`` again beside them. The pickle and the
fitted baseline are about 290,000 Python objects, which every full garbage
collection scans, and ``predict`` makes about 7,000 objects a batch (its
``Prediction`` and ``Evidence`` records), which set such collections off: beside
them the same ``predict`` ran at 22,054 and 22,203 sentences a second against
27,065 and 27,902 alone (2026-12-03, alternating processes), a cost of the
benchmark's other models, not of ``predict``.

    python benchmarks/predict_throughput.py [--model models/default] [--sentences 40000]
"""

from __future__ import annotations

import os

# One core: BLAS threads would make the comparison depend on the machine.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import logging  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from pathlib import Path  # noqa: E402

from plantheme.model.persistence import load_compiled, load_model  # noqa: E402
from plantheme.readers.documents import decode_text  # noqa: E402
from plantheme.settings import DEFAULT_MODEL_DIR, REPO_ROOT  # noqa: E402
from plantheme.tagging.parallel_batches import available_cpus  # noqa: E402
from plantheme.text.normalize import normalize  # noqa: E402
from plantheme.text.sentences import split_sentences  # noqa: E402

CORPUS = REPO_ROOT.parent / "shared" / "corpus"

# The naive script, as a user would write it: no plantheme at all.
NAIVE_SCRIPT = """
import csv, glob, logging, sys
import jieba
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import make_pipeline
from sklearn.svm import LinearSVC

jieba.setLogLevel(logging.WARNING)
texts, themes = [], []
for path in sorted(glob.glob(sys.argv[1] + "/*.csv")):
    with open(path, encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            texts.append(row["text"])
            themes.append(row["theme"])
model = make_pipeline(TfidfVectorizer(tokenizer=jieba.lcut, token_pattern=None), LinearSVC())
model.fit(texts, themes)
lines = sys.stdin.read().splitlines()
sys.stdout.write("\\n".join(model.predict(lines)) + "\\n")
"""


def corpus_sentences(corpus: Path, size: int) -> list[str]:
    """The first ``size`` distinct sentences (4+ characters) of the corpus's .txt documents, one line each."""
    seen: dict[str, None] = {}
    for path in sorted(corpus.rglob("*.txt")):
        doc = normalize(decode_text(path.read_bytes()).text)
        for unit in split_sentences(doc.text):
            text = " ".join(doc.original_text(unit.start, unit.end).split())
            if len(text) >= 4:
                seen.setdefault(text, None)
            if len(seen) >= size:
                return list(seen)
    sys.exit(f"only {len(seen)} sentences under {corpus}, asked for {size}")


def whole_process_seconds(command: list[str], stdin: Path, stdout: Path) -> float:
    """Wall seconds of one process reading ``stdin`` and writing ``stdout``."""
    with stdin.open("rb") as source, stdout.open("wb") as sink:
        started = time.perf_counter()
        subprocess.run(command, stdin=source, stdout=sink, check=True)
        return time.perf_counter() - started


def rates(
    predictors: dict[str, Callable[[Sequence[str]], object]], sentences: list[str], batch: int, repeats: int
) -> dict[str, float]:
    """Median sentences per second of each predictor over ``repeats`` rounds, taking turns within a round."""
    seen: dict[str, list[float]] = {name: [] for name in predictors}
    for _ in range(repeats):
        for name, predict in predictors.items():
            start = time.perf_counter()
            for i in range(0, len(sentences), batch):
                predict(sentences[i : i + batch])
            seen[name].append(len(sentences) / (time.perf_counter() - start))
    return {name: statistics.median(values) for name, values in seen.items()}


def fit_baseline(labels: Path) -> object:
    """The naive script's model, fitted in this process."""
    import jieba
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import LinearSVC

    from plantheme.training.labels import read_labelled_dir

    jieba.setLogLevel(logging.WARNING)
    rows = [row for row in read_labelled_dir(labels)]
    baseline = make_pipeline(TfidfVectorizer(tokenizer=jieba.lcut, token_pattern=None), LinearSVC())
    baseline.fit([r.text for r in rows], [r.theme for r in rows])
    return baseline


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_DIR)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--labels", type=Path, default=REPO_ROOT / "labels")
    parser.add_argument("--sentences", type=int, default=40_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    load_before = os.getloadavg()
    sentences = corpus_sentences(args.corpus, args.sentences)
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work)
        sents = folder / "sents.txt"
        sents.write_text("\n".join(sentences) + "\n", encoding="utf-8")
        naive_script = folder / "naive.py"
        naive_script.write_text(NAIVE_SCRIPT, encoding="utf-8")
        cli = [sys.executable, "-m", "plantheme.cli", "predict", "--model", str(args.model)]
        commands = {
            "naive": [sys.executable, str(naive_script), str(args.labels)],
            "cli": cli,  # the default --jobs: what a user gets
            "cli1": [*cli, "--jobs", "1"],
        }
        seconds: dict[str, list[float]] = {name: [] for name in commands}
        for round_ in range(args.repeats):
            names = list(commands)
            for name in names[round_ % 3 :] + names[: round_ % 3]:
                seconds[name].append(whole_process_seconds(commands[name], sents, folder / f"{name}.out"))
        lines = (folder / "cli.out").read_text(encoding="utf-8").count("\n")
        assert lines == len(sentences), f"plantheme predict wrote {lines} lines for {len(sentences)}"
        same = (folder / "cli.out").read_bytes() == (folder / "cli1.out").read_bytes()
        assert same, "plantheme predict: the default --jobs and --jobs 1 wrote different outputs"
    ratios = {
        name: [a / b for a, b in zip(seconds[numerator], seconds[denominator])]
        for name, numerator, denominator in (
            ("cli", "naive", "cli"),
            ("cli1", "naive", "cli1"),
            ("jobs", "cli1", "cli"),
        )
    }

    compiled = load_compiled(args.model)
    if compiled is None:
        sys.exit(f"{args.model}: no model.npz (a word or union model)")
    model, card = compiled
    model.predict(sentences[:10])
    # The compiled model first, while the process holds nothing else (see the docstring).
    measured = rates(
        {"predict": lambda batch: model.predict(batch), "classify": lambda batch: model.classify(batch)},
        sentences,
        args.batch,
        args.repeats,
    )
    pickled, _ = load_model(args.model)
    baseline = fit_baseline(args.labels)
    for warm in (pickled.predict, baseline.predict):  # type: ignore[attr-defined]
        warm(sentences[:10])
    measured |= rates(
        {
            "pickle": lambda batch: pickled.predict(batch),
            "baseline": baseline.predict,  # type: ignore[attr-defined]
            "beside": lambda batch: model.predict(batch),
        },
        sentences,
        args.batch,
        args.repeats,
    )

    n = len(sentences)
    jobs = available_cpus()
    print(f"model {card.model_id}; {n:,} distinct sentences of {args.corpus}")
    load_after = os.getloadavg()
    print(
        f"{os.cpu_count()} CPUs, {jobs} available; load average (1, 5, 15 min) before"
        f" {', '.join(f'{x:.2f}' for x in load_before)}, after {', '.join(f'{x:.2f}' for x in load_after)}"
    )
    print(f"whole processes, {args.repeats} adjacent rounds (order rotating), seconds:")
    for name, label in (
        ("naive", "naive script (jieba + TfidfVectorizer + LinearSVC, training included)"),
        ("cli", f"plantheme predict < sents.txt (default evidence, JSON out; default --jobs = {jobs})"),
        ("cli1", "plantheme predict --jobs 1 < sents.txt"),
    ):
        runs = ", ".join(f"{s:.2f}" for s in seconds[name])
        print(f"  {label:<86} median {statistics.median(seconds[name]):6.2f}  ({runs})")
    for name, label in (
        ("cli", f"naive / plantheme predict (--jobs {jobs}), target >= 5x"),
        ("cli1", "naive / plantheme predict --jobs 1"),
        ("jobs", f"plantheme predict --jobs 1 / --jobs {jobs}"),
    ):
        values = ", ".join(f"{r:.2f}" for r in ratios[name])
        print(f"  {label:<56} median of the rounds {statistics.median(ratios[name]):5.2f}x  ({values})")
    print(f"in-process, batches of {args.batch}, median of {args.repeats} rounds, sentences/s:")
    print(f"  CompiledModel.predict (scores + evidence)     {measured['predict']:>9,.0f} (target >= 30,000)")
    print(f"  CompiledModel.classify (alone)                {measured['classify']:>9,.0f} (target >= 50,000)")
    print(f"  ThemeModel.predict (the pickle, previous path) {measured['pickle']:>8,.0f}")
    print(f"  baseline predict (in-process)                 {measured['baseline']:>9,.0f}")
    print(f"  CompiledModel.predict beside those two models {measured['beside']:>9,.0f}")


if __name__ == "__main__":
    main()
