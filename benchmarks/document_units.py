"""How the corpus's documents are cut into units, and what the outline makes of them.

For every ``.txt`` and ``.docx`` under ``../shared/corpus`` (read as ``plantheme
tag`` reads them), counted apart for DOCX documents and for the others (work
reports saved as text):

* units, and of them furniture (``boilerplate``);
* content units that hold a responsibility note followed by more text
  (``…（市统计局牵头，年内持续推进）推动……``): a note glued to the next task, whose
  offices the task would be read with; none is expected;
* headings of the outline, and of them the unnumbered ones (a short line alone,
  no closing mark), which table cells and link lists used to pass for.

With ``--examples N``, N glued units of each kind are printed to check by eye.
The corpus text is only read here, never written.

    python benchmarks/document_units.py [--corpus ../shared/corpus] [--examples 5]
"""

from __future__ import annotations

import argparse
import re
from collections import Counter, defaultdict
from pathlib import Path

from plantheme.readers.documents import UnreadableDocument, read_document
from plantheme.settings import REPO_ROOT, load_settings
from plantheme.tagging.tagging import prepare_document
from plantheme.text.sentences import RESPONSIBILITY_NOTE
from plantheme.text.structure import heading_level

CORPUS = REPO_ROOT.parent / "shared" / "corpus"
# The splitter's note, anywhere in a unit and followed by four characters or more.
GLUED_NOTE = re.compile(RESPONSIBILITY_NOTE.pattern.removesuffix(r"\s*[。；;.]?$") + r"\s*[。；;.]?(?=\S{4,})")


def count_units(path: Path, max_chars: int, counts: Counter[str], examples: list[str]) -> None:
    """Add one document's counts to ``counts`` and its glued-note units to ``examples``."""
    prepared = prepare_document(read_document(path, max_chars=max_chars).text)
    counts["documents"] += 1
    for unit, furniture, level in zip(prepared.units, prepared.boilerplate, prepared.outline.levels):
        counts["units"] += 1
        if furniture:
            counts["furniture units"] += 1
            continue
        if GLUED_NOTE.search(unit.text):
            counts["a note glued to more text"] += 1
            examples.append(unit.text[:80])
        if level is not None:
            counts["headings"] += 1
            # Unnumbered: the level a short line alone gets, which a numbered line of that level would not.
            if heading_level(unit.text, alone_on_line=False) is None:
                counts["unnumbered headings"] += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--examples", type=int, default=0)
    args = parser.parse_args()
    max_chars = load_settings().max_document_chars
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    examples: dict[str, list[str]] = defaultdict(list)
    unreadable = 0
    for path in sorted(p for p in args.corpus.rglob("*") if p.suffix.lower() in (".txt", ".docx") and p.is_file()):
        kind = "DOCX" if path.suffix.lower() == ".docx" else "text"
        try:
            count_units(path, max_chars, counts[kind], examples[kind])
        except UnreadableDocument:
            unreadable += 1
    print(f"{args.corpus}: {unreadable} unreadable files left out")
    names = ["documents", "units", "furniture units", "a note glued to more text"]
    names += ["headings", "unnumbered headings"]
    print(f"{'':28}" + "".join(f"{kind:>10}" for kind in counts))
    for name in names:
        print(f"{name:28}" + "".join(f"{counts[kind][name]:>10,}" for kind in counts))
    for kind, found in examples.items():
        for text in found[: args.examples]:
            print(f"  {kind}: {text}")


if __name__ == "__main__":
    main()
