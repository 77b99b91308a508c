"""Text fidelity: does a document tag the same once it looks the way users' copies look?

Takes real reports of ``../shared/corpus/gov-reports/`` (a fixed sample) and the
seed documents, tags each as it is, then tags copies of it with one artefact
applied line by line, the kinds users' documents come with:

* ``pdf``: paragraphs hard-wrapped at one page width (a width per document, 28–40
  full-width characters, digits and Latin letters taking half), as PDF text is;
* ``traditional``: converted to traditional characters (OpenCC ``s2t``);
* ``spaces``: a space after about one Chinese character in twelve (a converter's artefact);
* ``bold``: a markdown ``**…**`` around a few characters of each long line;
* ``bullets``: every line opened with ``• ``;
* ``crlf`` and ``indent``: Windows line ends, two ideographic spaces opening each line;
* ``html``: HTML left in web text saved as plain text: each line a ``<p>…</p>`` opened by
  ``&nbsp;&nbsp;``, quotation marks as ``&ldquo;``/``&rdquo;``;
* ``pinyin``: a pinyin annotation after about one Chinese character in fifteen, one syllable
  (``規(guī)劃``) or a word's (``(fāzhǎn)``, ``(xiàng mù)``), as the traditional-character seed has them;
* ``ragged``: lines broken at a random width per line (28–40), no page width to find;
* ``all``: traditional, pdf, spaces and bold together.

For each, it prints how many of the clean document's content sentences come out
with the same normalised text (aligned in order) and, of those, how many keep
their theme. Deterministic: fixed seeds.

    python benchmarks/text_fidelity.py [--documents 12] [--seed 7]
"""

from __future__ import annotations

import argparse
import difflib
import random
import zlib
from collections.abc import Callable
from pathlib import Path

import opencc

import plantheme
from plantheme.readers.documents import decode_text

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
_S2T = opencc.OpenCC("s2t")
# Toned syllables for the pinyin artefact (the normaliser checks the syllable, not the character).
_TONED = ["guī", "huà", "fā", "zhǎn", "jiàn", "shè", "xiàng", "mù", "chǎn", "yè", "nóng", "cūn", "lǜ", "sè"]


def _is_han(char: str) -> bool:
    return "\u4e00" <= char <= "\u9fff"


def wrap_at_page_width(line: str, width: int) -> str:
    """``line`` cut every ``width`` full-width characters (ASCII counting half)."""
    pieces, piece, used = [], "", 0.0
    for char in line:
        piece += char
        used += 0.5 if char.isascii() else 1.0
        if used >= width:
            pieces.append(piece)
            piece, used = "", 0.0
    return "\n".join(pieces + ([piece] if piece else []))


def artefacts(rng: random.Random, page_width: int) -> dict[str, Callable[[str], str]]:
    """One function per artefact, each turning one line of a document into what a copy has."""

    def spaces(line: str) -> str:
        return "".join(c + (" " if _is_han(c) and rng.random() < 1 / 12 else "") for c in line)

    def bold(line: str) -> str:
        if len(line) < 12:
            return line
        a = rng.randint(0, len(line) - 8)
        b = a + rng.randint(2, 6)
        return f"{line[:a]}**{line[a:b]}**{line[b:]}"

    def pinyin(line: str) -> str:
        out = []
        for c in line:
            out.append(c)
            if _is_han(c) and rng.random() < 1 / 15:
                words = rng.sample(_TONED, rng.choice([1, 1, 2]))
                out.append("(" + rng.choice(["", " "]).join(words) + ")")
        return "".join(out)

    def ragged(line: str) -> str:
        pieces, at = [], 0
        while at < len(line):
            step = rng.randint(28, 40)
            pieces.append(line[at : at + step])
            at += step
        return "\n".join(pieces)

    return {
        "pdf": lambda line: wrap_at_page_width(line, page_width),
        "traditional": _S2T.convert,
        "spaces": spaces,
        "bold": bold,
        "bullets": lambda line: f"• {line}" if line.strip() else line,
        "crlf": lambda line: line + "\r",
        "indent": lambda line: f"\u3000\u3000{line}" if line.strip() else line,
        "pinyin": pinyin,
        "ragged": ragged,
        "html": lambda line: (
            "<p>&nbsp;&nbsp;" + line.replace("“", "&ldquo;").replace("”", "&rdquo;") + "</p>" if line.strip() else line
        ),
        "all": lambda line: bold(spaces(wrap_at_page_width(_S2T.convert(line), page_width))),
    }


def content_sentences(model: object, text: str) -> list[tuple[str, str]]:
    """(normalised text without spaces or line breaks, theme) of each content sentence."""
    doc = plantheme.tag_text(model, text, evidence=0)  # type: ignore[arg-type]
    return [
        (s.normalized.replace("\n", "").replace(" ", ""), s.theme)
        for s in doc.sentences
        if "boilerplate" not in s.flags
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--documents", type=int, default=12, help="reports sampled from gov-reports/")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    model = plantheme.load_model()
    reports = sorted((SHARED / "corpus" / "gov-reports").glob("*/*.txt"))
    random.Random(args.seed).shuffle(reports)
    files = reports[: args.documents] + sorted((SHARED / "seeds").glob("*.txt"))
    totals: dict[str, list[int]] = {}
    for path in files:
        text = decode_text(path.read_bytes()).text
        clean = content_sentences(model, text)
        # A seed per document and artefact (zlib.crc32: the same in every process, unlike hash()).
        base = zlib.crc32(path.name.encode()) ^ args.seed
        for name in artefacts(random.Random(base), 0):
            rng = random.Random(base ^ zlib.crc32(name.encode()))
            change = artefacts(rng, rng.choice([28, 32, 36, 40]))[name]
            copy = content_sentences(model, "\n".join(change(line) for line in text.split("\n")))
            blocks = difflib.SequenceMatcher(
                None, [t for t, _ in clean], [t for t, _ in copy], autojunk=False
            ).get_matching_blocks()
            same = sum(b.size for b in blocks)
            kept = sum(clean[b.a + k][1] == copy[b.b + k][1] for b in blocks for k in range(b.size))
            total = totals.setdefault(name, [0, 0, 0, 0])
            for i, n in enumerate((len(clean), len(copy), same, kept)):
                total[i] += n
    print(f"{len(files)} documents ({args.documents} reports, {len(files) - args.documents} seeds)")
    print(f"{'artefact':<12} {'sentences':>9} {'in copy':>8} {'same text':>10} {'same theme':>11}")
    for name, (n, n_copy, same, kept) in totals.items():
        print(f"{name:<12} {n:>9} {n_copy:>8} {same / n:>10.3f} {kept / max(same, 1):>11.3f}")


if __name__ == "__main__":
    main()
