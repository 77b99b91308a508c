"""Choosing the sentences worth labelling from a ``plantheme tag`` output folder.

A sentence is worth a person's time when the model is unsure of it
(**uncertainty**: the margin between its two best themes, or the entropy of
all eight), when it is unlike the sentences already chosen (**diversity**: a
greedy core-set pass over the model's own TF-IDF rows, so twenty variants of
one sentence do not fill the queue), and when the queue is not all of one
theme (**balance**: predicted themes take turns). Furniture, garbled text,
very short units and exact or near duplicates of what is already labelled
are never offered.

Scores come from the tag output when it has them (``scores`` in
``sentences.jsonl``); ``plantheme tag`` writes only the confidence, so the
sentences are classified again with the model: when the original document
can still be read from the folder the manifest names (and splits into the
same spans), the document context stage is applied as ``plantheme tag``
applied it and the document's title and headings come from its outline;
otherwise (the folder moved, a record of a JSONL file) the sentence model
alone reads the sentences and headings are recognised by their numbering.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from ..errors import PlanthemeError
from ..readers.documents import UnreadableDocument, read_document
from ..tagging.tagging import BOILERPLATE, GARBLED, context_proba, prepare_document
from ..text.normalize import normalize_sentence
from ..text.structure import Outline, outline_of
from ..themes import THEME_IDS

if TYPE_CHECKING:
    from ..model.scoring import Predictor

__all__ = [
    "STRATEGIES",
    "Candidate",
    "CandidatePool",
    "ReviewItem",
    "TagOutput",
    "Selection",
    "answer_key",
    "build_queue",
    "choose_rows",
    "dedup_key",
    "eligible_rows",
    "read_candidates",
    "read_tag_output",
    "uncertainty",
]

STRATEGIES = ("margin", "entropy", "random")
# Flags of units that are not worth a label: furniture is themed by rule, garbled text by nobody.
_NOT_OFFERED = frozenset({BOILERPLATE, GARBLED})
# Everything that is not a letter, digit or Han character: "推进河长制。" and "推进河长制；" are one text.
_NOT_WORD = re.compile(r"[\W_]+")


@dataclass(frozen=True)
class Candidate:
    """One tagged sentence that could be offered, with what the labelling page shows around it."""

    doc: str
    index: int
    start: int
    end: int
    text: str
    normalized: str
    flags: tuple[str, ...]
    title: str
    heading: str
    before: str
    after: str


@dataclass(frozen=True)
class CandidatePool:
    """Every candidate of a tag output with its eight scores (taxonomy order) and TF-IDF row."""

    candidates: tuple[Candidate, ...]
    proba: np.ndarray
    features: sp.csr_matrix
    model_id: str


@dataclass(frozen=True)
class ReviewItem:
    """One sentence of the queue as the page, the export and the store see it."""

    doc: str
    index: int
    start: int
    end: int
    text: str
    guess: str
    scores: dict[str, float]
    evidence: tuple[str, ...]
    title: str
    heading: str
    before: str
    after: str
    reason: str

    @property
    def key(self) -> str:
        """The sentence's identity across runs: its span in its document."""
        return answer_key(self.doc, self.start, self.end)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the export's line and the page's item)."""
        return {**asdict(self), "evidence": list(self.evidence), "key": self.key}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> ReviewItem:
        """The item :meth:`to_dict` wrote."""
        fields = {name: raw[name] for name in cls.__dataclass_fields__}
        return cls(**{**fields, "evidence": tuple(fields["evidence"])})


def answer_key(doc: str, start: int, end: int) -> str:
    """The identity of a sentence: ``start:end:doc`` (the document path may hold any character)."""
    return f"{start}:{end}:{doc}"


@dataclass(frozen=True)
class TagOutput:
    """What the review needs from a ``plantheme tag`` output folder."""

    out_dir: Path
    folder: Path | None
    model_id: str
    model_dir: Path | None
    generation: str
    # Per document, in output order: the parsed lines of sentences.jsonl.
    documents: dict[str, list[dict[str, Any]]]
    problems: tuple[str, ...]


def read_tag_output(out_dir: Path) -> TagOutput:
    """Read ``manifest.json`` and ``sentences.jsonl`` of a tag output folder.

    A line of ``sentences.jsonl`` that is not a sentence is listed in
    ``problems`` (``file:line: reason``) and left out; a folder without the two
    files is a :class:`PlanthemeError`.
    """
    out_dir = Path(out_dir)
    manifest_path, sentences_path = out_dir / "manifest.json", out_dir / "sentences.jsonl"
    if not manifest_path.is_file() or not sentences_path.is_file():
        raise PlanthemeError(
            f"{out_dir}: not a `plantheme tag` output folder (no manifest.json and"
            " sentences.jsonl); tag a folder first with `plantheme tag DIR --out OUT`"
        )
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise PlanthemeError(f"{manifest_path}: not valid JSON ({exc})") from None
    model = manifest.get("model") or {}
    folder = Path(manifest["folder"]) if isinstance(manifest.get("folder"), str) else None
    model_dir = Path(model["dir"]) if isinstance(model.get("dir"), str) else None
    current = out_dir / ".current"
    generation = str(current.readlink()) if current.is_symlink() else ""
    documents: dict[str, list[dict[str, Any]]] = {}
    problems: list[str] = []
    with sentences_path.open(encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            reason = ""
            try:
                record = json.loads(line)
                if not isinstance(record, dict):
                    reason = "not a JSON object"
                else:
                    missing = [name for name in ("doc", "index", "start", "end", "text", "theme") if name not in record]
                    reason = f"missing field '{missing[0]}'" if missing else ""
            except json.JSONDecodeError as exc:
                reason = f"not valid JSON ({exc.msg})"
            if reason:
                problems.append(f"{sentences_path}:{number}: {reason}")
                continue
            documents.setdefault(str(record["doc"]), []).append(record)
    return TagOutput(out_dir, folder, str(model.get("id") or ""), model_dir, generation, documents, tuple(problems))


def _heading_text(rows: Sequence[dict[str, Any]], index: int) -> str:
    return str(rows[index]["text"]).strip() if 0 <= index < len(rows) else ""


def _fallback_outline(normalized: Sequence[str], skip: Sequence[bool]) -> Outline:
    # Without the document, each unit stands on its own line: numbered and short unpunctuated units
    # read as headings, which is what a reader would take them for.
    joined, spans, pos = [], [], 0
    for text in normalized:
        joined.append(text)
        spans.append((pos, pos + len(text)))
        pos += len(text) + 1
    return outline_of("\n".join(joined), spans, skip)


def _document_scores(
    model: Predictor,
    folder: Path | None,
    doc: str,
    rows: Sequence[dict[str, Any]],
    max_chars: int,
) -> tuple[list[str], np.ndarray, sp.csr_matrix, Outline]:
    """Normalised texts, eight scores, TF-IDF rows and outline of one document's tagged sentences."""
    spans = [(int(row["start"]), int(row["end"])) for row in rows]
    prepared = None
    if folder is not None:
        try:
            prepared = prepare_document(read_document(folder / doc, max_chars=max_chars).text)
        except (UnreadableDocument, OSError, ValueError):
            prepared = None
        if prepared is not None and list(prepared.spans) != spans:
            prepared = None  # the document changed since it was tagged: its spans no longer line up
    if prepared is not None:
        normalized = prepared.texts
        result = model.classify(normalized, normalized=True)
        proba = result.proba
        if model.context is not None and normalized:
            proba = context_proba(model.context, proba, prepared)
        outline = prepared.outline
    else:
        normalized = [normalize_sentence(str(row["text"])) for row in rows]
        result = model.classify(normalized, normalized=True)
        proba = result.proba
        outline = _fallback_outline(normalized, [BOILERPLATE in row.get("flags", ()) for row in rows])
    given = [row.get("scores") for row in rows]
    if all(isinstance(scores, dict) for scores in given):  # the output carries scores: they are the truth
        proba = np.array([[float(scores.get(theme, 0.0)) for theme in THEME_IDS] for scores in given])  # type: ignore[union-attr]
    return normalized, proba, result.features.to_scipy(), outline


def read_candidates(output: TagOutput, model: Predictor, *, max_chars: int) -> CandidatePool:
    """Every sentence of a tag output as a candidate, scored and featurised by ``model``."""
    candidates: list[Candidate] = []
    probas: list[np.ndarray] = []
    features: list[sp.csr_matrix] = []
    for doc, rows in output.documents.items():
        rows = sorted(rows, key=lambda row: int(row["index"]))
        normalized, proba, X, outline = _document_scores(model, output.folder, doc, rows, max_chars)
        title = _heading_text(rows, outline.title)
        for i, row in enumerate(rows):
            candidates.append(
                Candidate(
                    doc=doc,
                    index=int(row["index"]),
                    start=int(row["start"]),
                    end=int(row["end"]),
                    text=str(row["text"]),
                    normalized=normalized[i],
                    flags=tuple(row.get("flags") or ()),
                    title=title,
                    heading=_heading_text(rows, outline.nearest_heading[i]),
                    before=_heading_text(rows, i - 1),
                    after=_heading_text(rows, i + 1),
                )
            )
        probas.append(proba)
        features.append(X)
    n_features = features[0].shape[1] if features else 0
    return CandidatePool(
        candidates=tuple(candidates),
        proba=np.vstack(probas) if probas else np.zeros((0, len(THEME_IDS))),
        features=sp.vstack(features).tocsr() if features else sp.csr_matrix((0, n_features)),
        model_id=model.model_id,
    )


def dedup_key(text: str) -> str:
    """What two texts must share to be the same text: normalised, without punctuation and spaces."""
    return _NOT_WORD.sub("", normalize_sentence(text)).lower()


def uncertainty(proba: np.ndarray, strategy: str = "margin") -> np.ndarray:
    """How unsure the model is of each row, in [0, 1]: 1 - (best - second best), or normalised entropy."""
    if proba.shape[0] == 0:
        return np.zeros(0)
    if strategy == "entropy":
        p = np.clip(proba, 1e-12, 1.0)
        return -(p * np.log(p)).sum(axis=1) / np.log(proba.shape[1])
    top = np.sort(proba, axis=1)
    return 1.0 - (top[:, -1] - top[:, -2])


@dataclass(frozen=True)
class Selection:
    """One chosen row and why it was chosen."""

    row: int
    reason: str


def _unit_rows(features: sp.csr_matrix) -> sp.csr_matrix:
    # Cosine similarity as a dot product: rows scaled to unit length (the model's rows already are).
    norms = np.sqrt(np.asarray(features.multiply(features).sum(axis=1))).ravel()
    norms[norms == 0] = 1.0
    return sp.csr_matrix(sp.diags(1.0 / norms) @ features)


def choose_rows(
    proba: np.ndarray,
    features: sp.csr_matrix,
    eligible: np.ndarray,
    size: int,
    *,
    strategy: str = "margin",
    labelled: sp.csr_matrix | None = None,
    near_duplicate: float = 0.9,
    pool_factor: int = 20,
    seed: int = 0,
) -> list[Selection]:
    """Choose up to ``size`` rows among ``eligible`` ones: uncertain, diverse, balanced across predicted themes.

    Rows at cosine similarity ``near_duplicate`` or more to a ``labelled`` row or to a
    row chosen before are near duplicates and never chosen. Only the
    ``pool_factor * size`` most uncertain rows are considered (the greedy pass is
    quadratic in them). Predicted themes take turns in taxonomy order; at each
    turn the theme's row with the largest uncertainty × (1 - similarity to the
    rows chosen so far) is chosen (a greedy core-set). ``strategy="random"``
    draws eligible rows uniformly (seeded), with the same duplicate checks: the
    baseline of ``benchmarks/active_learning.py``.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}, not {strategy!r}")
    rows = np.flatnonzero(eligible)
    if size <= 0 or not len(rows):
        return []
    X = _unit_rows(features[rows])
    if labelled is not None and labelled.shape[0]:
        closest = np.asarray((X @ _unit_rows(labelled).T).max(axis=1).todense()).ravel()
        keep = closest < near_duplicate
        rows, X = rows[keep], X[keep]
    unsure = uncertainty(proba[rows], "margin" if strategy == "random" else strategy)
    if strategy == "random":
        order = np.random.default_rng(seed).permutation(len(rows))
    else:
        order = np.argsort(-unsure, kind="stable")[: max(pool_factor * size, 200)]
    rows, X, unsure = rows[order], X[order], unsure[order]
    guesses = proba[rows].argmax(axis=1)
    similarity = np.zeros(len(rows))  # to the closest row chosen so far
    open_rows = np.ones(len(rows), dtype=bool)
    chosen: list[Selection] = []
    themes = [j for j in range(len(THEME_IDS)) if (guesses == j).any()]
    turn = 0
    while len(chosen) < size and themes:
        j = themes[turn % len(themes)]
        mine = np.flatnonzero(open_rows & (guesses == j))
        if not len(mine):
            themes.remove(j)
            continue
        if strategy == "random":
            best = mine[0]
        else:
            best = mine[np.argmax(unsure[mine] * (1.0 - similarity[mine]))]
        open_rows[best] = False
        if similarity[best] >= near_duplicate:
            continue  # a near duplicate of a chosen row: dropped, the same theme tries again
        p = proba[rows[best]]
        first, second = np.argsort(-p, kind="stable")[:2]
        chosen.append(
            Selection(
                int(rows[best]),
                (
                    f"{'random draw' if strategy == 'random' else strategy} {unsure[best]:.2f}: "
                    f"{THEME_IDS[first]} {p[first]:.2f} vs {THEME_IDS[second]} {p[second]:.2f}; "
                    f"similarity to earlier picks {similarity[best]:.2f}; {THEME_IDS[j]}'s turn"
                ),
            )
        )
        similarity = np.maximum(similarity, np.asarray((X @ X[best].T).todense()).ravel())
        turn += 1
    return chosen


def eligible_rows(pool: CandidatePool, labelled_texts: Sequence[str], answered: set[str], min_chars: int) -> np.ndarray:
    """Which candidates may be offered: content sentences of some length, not answered, not a copy
    (after normalising) of a labelled text or of an earlier candidate."""
    seen = {dedup_key(text) for text in labelled_texts}
    eligible = np.zeros(len(pool.candidates), dtype=bool)
    for i, candidate in enumerate(pool.candidates):
        key = dedup_key(candidate.text)
        if (
            _NOT_OFFERED.intersection(candidate.flags)
            or len(key) < min_chars
            or key in seen
            or answer_key(candidate.doc, candidate.start, candidate.end) in answered
        ):
            continue
        seen.add(key)
        eligible[i] = True
    return eligible


def build_queue(
    pool: CandidatePool,
    model: Predictor,
    size: int,
    *,
    labelled_texts: Sequence[str] = (),
    answered: set[str] | frozenset[str] = frozenset(),
    strategy: str = "margin",
    near_duplicate: float = 0.9,
    min_chars: int = 4,
    evidence: int = 5,
) -> list[ReviewItem]:
    """The queue: up to ``size`` sentences of ``pool`` chosen by :func:`choose_rows`, with the
    model's guess, eight scores and the words that decided the sentence model."""
    eligible = eligible_rows(pool, labelled_texts, set(answered), min_chars)
    labelled = None
    if labelled_texts:
        labelled = model.classify([normalize_sentence(t) for t in labelled_texts], normalized=True).features.to_scipy()
    chosen = choose_rows(
        pool.proba, pool.features, eligible, size, strategy=strategy, labelled=labelled, near_duplicate=near_duplicate
    )
    candidates = [pool.candidates[c.row] for c in chosen]
    explained = model.predict([c.normalized for c in candidates], normalized=True, evidence=evidence)
    items = []
    for selection, candidate, prediction in zip(chosen, candidates, explained):
        p = pool.proba[selection.row]
        guess = THEME_IDS[int(p.argmax())]
        # The evidence is the sentence model's; when the context stage overruled it, it argues for another theme.
        words = tuple(e.token for e in prediction.evidence) if prediction.theme == guess else ()
        items.append(
            ReviewItem(
                doc=candidate.doc,
                index=candidate.index,
                start=candidate.start,
                end=candidate.end,
                text=candidate.text,
                guess=guess,
                scores={t: round(float(v), 4) for t, v in zip(THEME_IDS, p)},
                evidence=words,
                title=candidate.title,
                heading=candidate.heading,
                before=candidate.before,
                after=candidate.after,
                reason=selection.reason,
            )
        )
    return items
