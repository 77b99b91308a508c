"""In-process speed of normalisation and sentence splitting on corpus files.

Reads up to ``--files`` text files of ``../shared/corpus/`` (sorted by path,
every k-th one so that all sub-folders are sampled), decodes them as
``plantheme tag`` does, then times ``normalize`` + ``split_sentences`` over all
of them, ``--repeats`` times, and prints the median as µs per sentence and MB/s
(process CPU time, so other load on the machine counts less than in wall time).

    python benchmarks/normalize_speed.py [--files 200] [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from plantheme.readers.documents import UnreadableDocument, decode_text
from plantheme.text.normalize import normalize
from plantheme.text.sentences import split_sentences

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"


def sample_texts(n: int) -> list[str]:
    """Every k-th readable ``.txt`` file of the corpus, n of them, decoded."""
    paths = sorted(CORPUS.rglob("*.txt"))
    step = max(1, len(paths) // n)
    texts = []
    for path in paths[::step][:n]:
        try:
            texts.append(decode_text(path.read_bytes()).text)
        except UnreadableDocument as exc:  # a file the tagger would fail is not measured
            print(f"skipped {path.name}: {exc.reason}")
    return texts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    texts = sample_texts(args.files)
    chars = sum(len(t) for t in texts)
    sentences = 0
    times = []
    for _ in range(args.repeats):
        start = time.process_time()
        sentences = 0
        for text in texts:
            doc = normalize(text)
            sentences += len(split_sentences(doc.text))
        times.append(time.process_time() - start)
    best = statistics.median(times)
    print(f"files: {len(texts)}  characters: {chars:,}  sentences: {sentences:,}")
    print(f"normalize+split, median of {args.repeats} (CPU s): {best:.3f}")
    print(f"µs per sentence: {best / sentences * 1e6:.1f}")
    print(f"MB/s (UTF-8): {sum(len(t.encode()) for t in texts) / best / 1e6:.2f}")


if __name__ == "__main__":
    main()
