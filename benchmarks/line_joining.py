"""Line breaks in real county and city reports: which the normaliser rejoins, which it keeps.

For every ``.txt`` of ``../shared/corpus/gov-reports/hebei_gaoyang/`` (web
pages saved as text: header lines, navigation, paragraphs broken where the page
had a link or an inline element) every line break between two non-empty lines
of the original is classified by what the normaliser did with it:

* kept, though the line before does not end a sentence and the line after
  starts with a clause of at most 3 characters ("法制\\n建设。") or with
  continuation punctuation: a break inside a sentence left unjoined (suspect);
* joined, though the line before is a header field (``标题：``), a numbered
  heading, or a short line without punctuation followed by a long one: a
  heading or title glued to the next line (suspect), unless the next line
  starts with continuation punctuation ("十四五\n”时期");

and it prints the counts of both kinds and of all kept and joined breaks, with
a random sample of each to check by eye (``--sample``). Then it hard-wraps
generated paragraphs (clean sentences of the same files, with headings and
titles between them) at a fixed width and counts the wraps left unjoined and
the heading/title lines glued to a neighbour.

    python benchmarks/line_joining.py [--sample 15] [--seed 1]
"""

from __future__ import annotations

import argparse
import random
import re
from pathlib import Path

from plantheme.text.normalize import HEADING_MARKER, normalize
from plantheme.text.sentences import split_sentences

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "gov-reports"
FIELD = re.compile(r"^[^\s，。：:]{1,8}[：:]")
TERMINAL = "。！？；：!?;:…"
TINY_CLAUSE = re.compile(r"^[^，。；：！？、]{1,3}[，。；！？、]")
CONTINUATION = re.compile(r"^[，、。；：！？）》”’,;:!?)]")


def _breaks(raw: str) -> list[tuple[int, str, str]]:
    """(position of the line end, line before, line after) for each break between non-empty lines."""
    out = []
    lines = raw.split("\n")
    pos = 0
    prev: tuple[int, str] | None = None
    for line in lines:
        if line.strip():
            if prev is not None:
                out.append((prev[0], prev[1].strip(), line.strip()))
            prev = (pos + len(line), line)
        pos += len(line) + 1
    return out


def real_reports(sample: int, rng: random.Random) -> None:
    paths = sorted((CORPUS / "hebei_gaoyang").glob("*.txt"))
    kept_suspect, joined_suspect, kept_all, joined_all = [], [], [], []
    for path in paths:
        raw = path.read_text(encoding="utf-8")
        doc = normalize(raw)
        # A break is joined when no line end of the normalised text comes from it.
        newline_origins = {int(doc.offsets[i]) for i, c in enumerate(doc.text) if c == "\n"}
        for at, before, after in _breaks(raw):
            # The original's line end at ``at`` (or the blank lines after it) survived?
            end = raw.find(after, at)
            kept = any(o in newline_origins for o in range(at, end))
            item = f"{path.name}: {before[-30:]!r} ⏎ {after[:30]!r}"
            ends = before.rstrip("”’」』）)》】\"' ")[-1:] in TERMINAL
            if kept:
                kept_all.append(item)
                if not ends and (TINY_CLAUSE.match(after) or CONTINUATION.match(after)):
                    kept_suspect.append(item)
            else:
                joined_all.append(item)
                if not CONTINUATION.match(after) and (
                    FIELD.match(before)
                    or (HEADING_MARKER.match(before) and len(before) <= 60)
                    or (len(before) <= 20 and not re.search("[，。；：、]", before) and len(after) > 40)
                ):
                    joined_suspect.append(item)
    print(f"hebei_gaoyang: {len(paths)} files; line breaks kept {len(kept_all)}, joined {len(joined_all)}")
    print(f"  kept though mid-sentence (next line starts with a tiny clause or continuation mark): {len(kept_suspect)}")
    for item in rng.sample(kept_suspect, min(sample, len(kept_suspect))):
        print("   ", item)
    print(f"  joined though a field, heading or short title comes before: {len(joined_suspect)}")
    for item in rng.sample(joined_suspect, min(sample, len(joined_suspect))):
        print("   ", item)
    print("  random joined breaks, to check by eye:")
    for item in rng.sample(joined_all, min(sample, len(joined_all))):
        print("   ", item)
    print("  random kept breaks, to check by eye:")
    for item in rng.sample(kept_all, min(sample, len(kept_all))):
        print("   ", item)


def generated(rng: random.Random, docs: int) -> None:
    """Hard-wrap generated documents and count what is left unjoined or glued."""
    paths = sorted((CORPUS / "hebei_gaoyang").glob("*.txt"))
    sentences = []
    for path in paths:
        doc = normalize(path.read_text(encoding="utf-8"))
        sentences += [
            u.text
            for u in split_sentences(doc.text)
            if 12 <= len(u.text) <= 200 and u.text[-1] in "。；" and not HEADING_MARKER.match(u.text)
        ]
    headings = [
        "一、总体要求",
        "（二）持续优化营商环境",
        "1.加快项目建设",
        "第三，切实加强民主法制建设",
        "二〇二四年工作安排",
        "政府工作报告",
        "标题：某县政府工作报告",
        "发文单位：某县人民政府",
    ]
    unjoined = glued = wraps = heading_lines = 0
    for _ in range(docs):
        width = rng.choice([20, 28, 35, 40])
        blocks = []
        for _ in range(4):
            heading = rng.choice(headings)
            paragraph = "".join(rng.sample(sentences, 3))
            blocks.append((heading, paragraph))
        lines = []
        for heading, paragraph in blocks:
            lines.append(heading)
            lines += [paragraph[i : i + width] for i in range(0, len(paragraph), width)]
        raw = "\n".join(lines)
        text = normalize(raw).text
        out_lines = text.split("\n")
        for heading, paragraph in blocks:
            heading_lines += 1
            if heading not in out_lines:
                glued += 1
                if glued <= 5:
                    print("    glued:", next(line for line in out_lines if heading in line)[:60])
            wraps += (len(paragraph) - 1) // width
            unjoined += sum(
                1
                for line in out_lines
                if line and line in paragraph and line != paragraph and not line.endswith(("。", "；"))
            )
    print(f"generated: {docs} documents, hard-wrapped at 20-40 characters, 4 headings each")
    print(f"  wraps: {wraps}, left unjoined: {unjoined} ({unjoined / wraps:.2%})")
    print(f"  heading or title lines: {heading_lines}, glued to a neighbour: {glued} ({glued / heading_lines:.2%})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=15)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--docs", type=int, default=200)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    real_reports(args.sample, rng)
    generated(rng, args.docs)


if __name__ == "__main__":
    main()
