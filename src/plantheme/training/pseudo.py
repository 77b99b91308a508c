"""Self-training: sentences of unlabelled real documents, themed by the model itself.

The labelled rows are written in the genre; the documents users bring are not.
Unlabelled real documents carry what the written rows lack (the vocabulary of
departments, places and years, real furniture, real sentence lengths). A model
trained on the labels tags them the way ``plantheme tag`` does (context stage
included) and its confident answers become extra training rows, down-weighted
against the human labels. On the real-document dev set this raised macro-F1
where more written rows alone did not (figures in the README and the card).

Only documents given by the user are read, never the evaluation's: exclusions
(paths or globs relative to each folder) keep a dev set honest.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import PlanthemeError
from ..model.model import ThemeModel
from ..readers.documents import UnreadableDocument, document_format, read_document
from ..readers.folder_scan import compile_glob, scan_folder
from ..tagging.tagging import tag_text

__all__ = ["PseudoLabels", "UnlabelledDocument", "read_exclusions", "read_unlabelled", "pseudo_label"]

Progress = Callable[[str], None]


@dataclass(frozen=True)
class UnlabelledDocument:
    """One document's text and where it was read (folder and path relative to it)."""

    root: str
    path: str
    text: str


@dataclass(frozen=True)
class PseudoLabels:
    """Confident sentences of unlabelled documents with the theme the model gave them.

    ``texts`` are normalised (what the sentence model reads); ``weight`` is each
    row's sample weight against a human label's 1.0.
    """

    texts: tuple[str, ...]
    themes: tuple[str, ...]
    weight: float
    threshold: float
    documents: int
    sources: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        """The card's record: how many rows of which themes, from where, how chosen."""
        return {
            "rows": len(self.texts),
            "documents": self.documents,
            "threshold": self.threshold,
            "weight": self.weight,
            "per_theme": dict(sorted(Counter(self.themes).items())),
            "sources": list(self.sources),
        }


def read_exclusions(paths: Iterable[Path]) -> list[str]:
    """Paths or globs to leave out, from text files (one per line, ``#`` comments) or span-label
    CSVs (their ``path`` column): a dev set's documents are never self-trained on."""
    patterns: list[str] = []
    for path in paths:
        try:
            if path.suffix.lower() == ".csv":
                with path.open(encoding="utf-8-sig", newline="") as handle:
                    reader = csv.DictReader(handle)
                    if "path" not in (reader.fieldnames or []):
                        raise PlanthemeError(f"{path}: no `path` column (found: {', '.join(reader.fieldnames or [])})")
                    patterns += [row["path"] for row in reader if row.get("path")]
            else:
                lines = path.read_text(encoding="utf-8-sig").splitlines()
                patterns += [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
        except OSError as exc:
            raise PlanthemeError(f"{path}: cannot read the exclusion list: {exc.strerror or exc}") from None
    return sorted(set(patterns))


def read_unlabelled(
    folders: Sequence[Path],
    exclude: Sequence[str] = (),
    *,
    max_chars: int = 2_000_000,
    progress: Progress | None = None,
) -> list[UnlabelledDocument]:
    """Every readable document under ``folders``, minus the ``exclude`` paths and globs.

    A file that cannot be read is reported through ``progress`` and left out:
    unlabelled text is optional material, not a row someone labelled.
    """
    say = progress or (lambda message: None)
    globs = [compile_glob(pattern) for pattern in exclude if any(c in pattern for c in "*?[")]
    exact = {pattern for pattern in exclude if not any(c in pattern for c in "*?[")}
    documents: list[UnlabelledDocument] = []
    for folder in folders:
        if not Path(folder).is_dir():
            raise PlanthemeError(f"{folder}: no such folder of unlabelled documents")
        for found in scan_folder(Path(folder)).files:
            if found.status or document_format(Path(found.path)) is None:
                continue
            if found.path in exact or any(glob.fullmatch(found.path) for glob in globs):
                continue
            try:
                text = read_document(found.absolute, max_chars=max_chars).text
            except (UnreadableDocument, OSError) as exc:
                say(f"unlabelled {folder}/{found.path}: left out ({exc})")
                continue
            documents.append(UnlabelledDocument(str(folder), found.path, text))
    return documents


def pseudo_label(
    model: ThemeModel,
    documents: Sequence[UnlabelledDocument],
    *,
    threshold: float,
    weight: float,
) -> PseudoLabels:
    """Tag ``documents`` as ``plantheme tag`` does and keep the content sentences whose
    confidence is at least ``threshold`` (furniture is themed by a rule, not learnt)."""
    if not 0.0 < threshold <= 1.0 or weight <= 0.0:
        raise PlanthemeError(
            f"pseudo-labels need 0 < threshold <= 1 and weight > 0 (got threshold {threshold}, weight {weight})"
        )
    texts: list[str] = []
    themes: list[str] = []
    for document in documents:
        tagged = tag_text(model, document.text, details=False)
        for sentence in tagged.sentences:
            if "boilerplate" not in sentence.flags and sentence.confidence >= threshold:
                texts.append(sentence.normalized)
                themes.append(sentence.theme)
    return PseudoLabels(
        tuple(texts),
        tuple(themes),
        weight,
        threshold,
        len(documents),
        tuple(sorted({document.root for document in documents})),
    )
