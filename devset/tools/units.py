"""Show and record span labels for the real-document development set.

The dev set stores spans only (path, start, end, theme, sha): the corpus's text
stays out of the project. ``start``/``end`` index the document's text exactly
as ``plantheme`` extracts it (for .txt, the decoded file content); ``sha`` is
the first 12 hex digits of the span text's SHA-256, so a later change of the
extractor that moves a span is caught (``check``) instead of silently scoring
the wrong text.

Usage (from the checkout root, with the project installed):

    python devset/tools/units.py sample CORPUS_ROOT REL_PATH --n 15 [--seed S]
        prints a random sample of the document's sentence units, each with its
        neighbours for context, as: UNIT <i> <start> <end> | text

    python devset/tools/units.py list CORPUS_ROOT REL_PATH [--start S] [--first N]
        prints every sentence unit of the document in order (units S..N-1 only
        with --start/--first), as: UNIT <i> | text  (line breaks shown as ⏎)

    python devset/tools/units.py commit CORPUS_ROOT REL_PATH LABELS --genre G --out devset/spans_X.csv [--complete N]
        LABELS is a file of lines "<i> <theme>" (units as numbered by sample or list);
        appends one row per line to the CSV (creates it with a header). With
        --complete N [--start S], refuses unless units S..N-1 (S default 0) are each
        labelled exactly once (a whole document, or a run of it, labelled in order).

    python devset/tools/units.py check CORPUS_ROOT SPANS.csv
        verifies every row's sha against the current extraction.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
from pathlib import Path

from plantheme.readers.documents import read_document
from plantheme.text.normalize import normalize
from plantheme.text.sentences import split_sentences
from plantheme.themes import THEME_IDS
from plantheme.training.labels import span_sha as full_span_sha

FIELDS = ["path", "start", "end", "theme", "genre", "sha"]


def span_sha(text: str) -> str:
    """The checksum a label records: the first 12 hex digits of the library's span checksum."""
    return full_span_sha(text)[:12]


def units_of(root: Path, rel: str) -> tuple[str, list[tuple[int, int]]]:
    text = read_document(root / rel, max_chars=10_000_000).text
    doc = normalize(text)
    units = split_sentences(doc.text)
    starts, ends = doc.original_spans([u.start for u in units], [u.end for u in units])
    return text, list(zip(starts, ends))


def show(text: str) -> str:
    return text.replace("\r", "").replace("\n", "⏎")


def cmd_sample(args: argparse.Namespace) -> None:
    text, spans = units_of(Path(args.root), args.path)
    rng = random.Random(args.seed if args.seed is not None else args.path)
    chosen = sorted(rng.sample(range(len(spans)), min(args.n, len(spans))))
    print(f"# {args.path}: {len(spans)} units, {len(text)} characters")
    print(f"# first line: {show(text[:120])}")
    for i in chosen:
        if i > 0:
            s, e = spans[i - 1]
            print(f"    before: {show(text[s:e])[:200]}")
        s, e = spans[i]
        print(f"UNIT {i} {s} {e} | {show(text[s:e])}")
        if i + 1 < len(spans):
            s, e = spans[i + 1]
            print(f"    after:  {show(text[s:e])[:200]}")
        print()


def cmd_list(args: argparse.Namespace) -> None:
    text, spans = units_of(Path(args.root), args.path)
    end = len(spans) if args.first is None else min(args.first, len(spans))
    print(f"# {args.path}: {len(spans)} units, {len(text)} characters; showing {args.start}..{end - 1}")
    for i in range(args.start, end):
        s, e = spans[i]
        print(f"UNIT {i} | {show(text[s:e])}")


def cmd_commit(args: argparse.Namespace) -> None:
    text, spans = units_of(Path(args.root), args.path)
    rows = []
    seen: list[int] = []
    for number, line in enumerate(Path(args.labels).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        index, theme = line.split()[:2]
        if theme not in THEME_IDS:
            sys.exit(f"{args.labels}:{number}: unknown theme {theme!r}")
        if not index.isdigit() or int(index) >= len(spans):
            sys.exit(f"{args.labels}:{number}: no unit {index!r} (the document has {len(spans)})")
        seen.append(int(index))
        s, e = spans[int(index)]
        rows.append({"path": args.path, "start": s, "end": e, "theme": theme,
                     "genre": args.genre, "sha": span_sha(text[s:e])})
    if args.complete is not None:
        wanted = range(args.start, min(args.complete, len(spans)))
        if sorted(seen) != list(wanted):
            missing = sorted(set(wanted) - set(seen))[:10]
            twice = sorted({i for i in seen if seen.count(i) > 1})[:10]
            extra = sorted(i for i in set(seen) if i not in wanted)[:10]
            sys.exit(f"{args.labels}: not units {wanted.start}..{wanted.stop - 1} once each: missing {missing}, twice {twice}, outside {extra}")
    out = Path(args.out)
    new = not out.exists()
    with out.open("a", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, FIELDS)
        if new:
            writer.writeheader()
        writer.writerows(rows)
    print(f"{len(rows)} rows appended to {out}")


def cmd_check(args: argparse.Namespace) -> None:
    root = Path(args.root)
    cache: dict[str, str] = {}
    bad = 0
    with open(args.spans, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        if row["path"] not in cache:
            cache[row["path"]] = read_document(root / row["path"], max_chars=10_000_000).text
        span = cache[row["path"]][int(row["start"]):int(row["end"])]
        if span_sha(span) != row["sha"]:
            bad += 1
            print(f"moved: {row['path']} {row['start']}-{row['end']}")
    print(f"{len(rows)} rows, {bad} moved, {len(cache)} documents")


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("sample")
    p.add_argument("root")
    p.add_argument("path")
    p.add_argument("--n", type=int, default=15)
    p.add_argument("--seed", type=int)
    p = sub.add_parser("commit")
    p.add_argument("root")
    p.add_argument("path")
    p.add_argument("labels")
    p.add_argument("--genre", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--complete", type=int)
    p.add_argument("--start", type=int, default=0)
    p = sub.add_parser("list")
    p.add_argument("root")
    p.add_argument("path")
    p.add_argument("--first", type=int)
    p.add_argument("--start", type=int, default=0)
    p = sub.add_parser("check")
    p.add_argument("root")
    p.add_argument("spans")
    args = parser.parse_args()
    {"sample": cmd_sample, "list": cmd_list, "commit": cmd_commit, "check": cmd_check}[args.cmd](args)


if __name__ == "__main__":
    main()
