"""How well the normaliser finds (and repairs) mojibake, and how often it flags clean text.

1. False positives: every ``.txt`` of ``../shared/corpus/gov-reports/`` (clean
   documents) is normalised and split; it prints the share of characters inside
   a garbled or repaired run and the share of sentence units flagged, and lists
   every flagged stretch (the corpus has a few real lost bytes: look at them).
2. Detection: from clean sentences of those files, documents are generated
   where every other sentence is encoded wrongly: UTF-8 bytes decoded as GBK
   (lost bytes as U+FFFD, or as "?"), as GB18030, as Big5, as cp1252 and as
   Latin-1. Per kind it prints the share of mojibake characters inside a
   flagged run, the share of mojibake sentences flagged (garbled or repaired),
   the share repaired back to the clean sentence, the clean sentences of those
   documents wrongly flagged, and the unit boundaries cut inside a mojibake
   sentence.

The corpus text is read at run time, never stored.

    python benchmarks/garbled_detection.py [--docs 300] [--seed 1]
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

from plantheme.text.normalize import normalize, normalize_sentence
from plantheme.text.sentences import split_sentences

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "gov-reports"


def _lost_as_question(text: str) -> str:
    return text.replace("\ufffd", "?")


KINDS = {
    "utf8-as-gbk (U+FFFD)": lambda s: s.encode("utf-8").decode("gbk", errors="replace"),
    # Only the sentences whose bytes happen to decode as GBK: no byte lost, repairable.
    "utf8-as-gbk (strict)": lambda s: s.encode("utf-8").decode("gbk"),
    "utf8-as-gbk (?)": lambda s: _lost_as_question(s.encode("utf-8").decode("gbk", errors="replace")),
    "utf8-as-gb18030": lambda s: s.encode("utf-8").decode("gb18030", errors="replace"),
    "utf8-as-big5": lambda s: s.encode("utf-8").decode("big5", errors="replace"),
    "utf8-as-cp1252": lambda s: s.encode("utf-8").decode("cp1252", errors="replace"),
    "utf8-as-latin1": lambda s: s.encode("utf-8").decode("latin-1"),
}


def clean_false_positives(paths: list[Path]) -> list[tuple[Path, str]]:
    """Print the clean-corpus rates; return the flagged stretches with their file."""
    chars = flagged_chars = units = flagged_units = 0
    stretches = []
    for path in paths:
        doc = normalize(path.read_text(encoding="utf-8"))
        sentences = split_sentences(doc.text)
        garbled, repaired = doc.span_flags([u.start for u in sentences], [u.end for u in sentences])
        units += len(sentences)
        flagged_units += sum(g or r for g, r in zip(garbled, repaired))
        chars += len(doc.text)
        for start, end in doc.garbled + doc.repaired:
            flagged_chars += end - start
            stretches.append((path, doc.text[max(0, start - 8) : end + 8].replace("\n", "⏎")))
    print(f"clean corpus: {len(paths)} files, {chars:,} characters, {units:,} sentence units")
    print(f"  characters flagged: {flagged_chars} ({flagged_chars / chars:.5%})")
    print(f"  sentence units flagged: {flagged_units} ({flagged_units / units:.4%})")
    return stretches


def clean_sentences(paths: list[Path], rng: random.Random, n: int) -> list[str]:
    """Sentences of at least 8 Han characters from the clean files, as the documents have them."""
    pool = []
    for path in paths:
        doc = normalize(path.read_text(encoding="utf-8"))
        for unit in split_sentences(doc.text):
            original = doc.original_text(unit.start, unit.end)
            if len(unit.text) >= 8 and "\n" not in original and not doc.is_garbled(unit.start, unit.end):
                pool.append(original)
    return rng.sample(pool, min(n, len(pool)))


def detection(sentences: list[str], rng: random.Random, docs: int) -> None:
    """Generate mixed documents per kind of mojibake and print the rates."""
    print(
        f"generated: {docs} documents per kind, 6 sentences each, every other one mojibake"
        f" (pool: {len(sentences)} clean sentences)"
    )
    header = (
        f"  {'kind':24} {'chars found':>11} {'sent. found':>11} {'repaired':>9} "
        f"{'clean flagged':>13} {'cuts inside':>11}"
    )
    print(header)
    for kind, garble in KINDS.items():
        bad_chars = found_chars = bad_sents = found_sents = repaired_ok = 0
        clean_sents = clean_flagged = cuts = shown = 0
        usable = []
        for sentence in sentences:
            try:
                if garble(sentence) == sentence:  # ASCII only: nothing to garble
                    continue
            except UnicodeDecodeError:
                continue
            usable.append(sentence)
        if len(usable) < 6:
            print(f"  {kind:24} (fewer than 6 sentences can be garbled this way)")
            continue
        for _ in range(docs):
            picked = rng.sample(usable, 6)
            parts: list[tuple[str, bool, str]] = []
            for i, sentence in enumerate(picked):
                parts.append((garble(sentence), i % 2 == 1, sentence) if i % 2 else (sentence, False, sentence))
            raw = "".join(p[0] for p in parts)
            doc = normalize(raw)
            units = split_sentences(doc.text)
            # A repaired run's characters all map to its first original one:
            # a span of the normalised text ends where the next character came from.
            ends = doc.offsets
            flagged_orig = [(int(ends[s]), int(ends[e])) for s, e in doc.garbled + doc.repaired]
            boundaries = {int(ends[u.end]) for u in units[:-1]}
            pos = 0
            for text, bad, clean in parts:
                start, end = pos, pos + len(text)
                pos = end
                covered = sum(max(0, min(end, e) - max(start, s)) for s, e in flagged_orig)
                hit = covered > 0
                if bad:
                    bad_sents += 1
                    bad_chars += end - start
                    found_chars += covered
                    found_sents += hit
                    inside = [b for b in boundaries if start < b < end]
                    cuts += len(inside)
                    if inside and shown < 3:
                        shown += 1
                        print(f"    cut inside ({kind}): {text!r} -> {[u.text for u in units]}")
                    # Repaired back: the repair gives the clean sentence's normalised text.
                    s0 = int((doc.offsets[:-1] >= start).argmax())
                    s1 = int((doc.offsets[:-1] >= end).argmax()) if end < len(raw) else len(doc.text)
                    repaired_ok += doc.text[s0:s1] == normalize_sentence(clean)
                else:
                    clean_sents += 1
                    clean_flagged += hit
                    if hit and shown < 3:
                        shown += 1
                        print(f"    clean flagged ({kind}): {raw!r} -> {doc.garbled} {doc.repaired}")
        print(
            f"  {kind:24} {found_chars / bad_chars:>11.1%} {found_sents / bad_sents:>11.1%} "
            f"{repaired_ok / bad_sents:>9.1%} {clean_flagged / clean_sents:>13.2%} {cuts:>11}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--show", type=int, default=40, help="flagged clean stretches to list")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    paths = sorted(CORPUS.rglob("*.txt"))
    stretches = clean_false_positives(paths)
    for path, stretch in stretches[: args.show]:
        print(f"    {path.parent.name}/{path.name}: {stretch}")
    detection(clean_sentences(paths, rng, 5000), rng, args.docs)


if __name__ == "__main__":
    main()
