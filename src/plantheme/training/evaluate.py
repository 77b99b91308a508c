"""Scoring predictions against labels: the report that train and evaluate print."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    precision_recall_fscore_support,
)

from .labels import LabelledSentence, SpanRow, span_moved
from ..model.model import ThemeModel
from ..model.scoring import CompiledModel
from ..text.spans import best_overlaps
from ..tagging.tagging import BOILERPLATE, TaggedSentence, prepare_document, tag_text
from ..themes import OTHER, THEME_IDS

__all__ = [
    "DocumentScores",
    "Evaluation",
    "EvaluationReport",
    "Misclassified",
    "ThemeScore",
    "evaluate_documents",
    "evaluate_model",
    "evaluate_stream",
    "format_document_scores",
    "format_errors",
    "format_misclassified",
    "format_report",
    "misclassified_row",
    "score",
    "score_confusion",
]


@dataclass(frozen=True)
class ThemeScore:
    """Precision, recall and F1 of one theme, with its number of true rows."""

    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class EvaluationReport:
    """Accuracy, macro-F1, per-theme scores and the confusion matrix (rows: true, columns: predicted)."""

    n: int
    accuracy: float
    macro_f1: float
    per_theme: dict[str, ThemeScore]
    confusion: list[list[int]]
    themes: tuple[str, ...] = THEME_IDS

    def present_themes(self) -> tuple[str, ...]:
        """The themes with at least one true row, in theme order: the ones that can be scored."""
        return tuple(theme for theme in self.themes if self.per_theme[theme].support > 0)

    def absent_themes(self) -> tuple[str, ...]:
        """The themes with no true row: their recall and F1 are undefined, not 0."""
        return tuple(theme for theme in self.themes if self.per_theme[theme].support == 0)

    def predicted_counts(self) -> dict[str, int]:
        """How often each theme was predicted (the confusion matrix's column sums)."""
        return {theme: int(sum(row[j] for row in self.confusion)) for j, theme in enumerate(self.themes)}

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``--json`` output and the model card).

        ``per_theme`` holds the themes present in the data; ``absent`` lists the
        others (no true row: nothing to score). ``confusion`` keeps all of
        ``themes`` so that predictions of an absent theme stay visible.
        """
        data = asdict(self)
        data["themes"] = list(self.themes)
        data["per_theme"] = {theme: data["per_theme"][theme] for theme in self.present_themes()}
        data["absent"] = list(self.absent_themes())
        return data


def score(y_true: Sequence[str], y_pred: Sequence[str]) -> EvaluationReport:
    """Compare true and predicted themes over the eight theme ids (all zero for no rows)."""
    labels = list(THEME_IDS)
    if not len(y_true):
        zero = ThemeScore(0.0, 0.0, 0.0, 0)
        return EvaluationReport(
            n=0,
            accuracy=0.0,
            macro_f1=0.0,
            per_theme={t: zero for t in labels},
            confusion=[[0] * len(labels) for _ in labels],
        )
    precision, recall, f1, support = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    present = [i for i, n in enumerate(support) if n > 0]
    # Macro-F1 over the themes that occur in the truth: a test file without
    # any `other` rows should not be scored as F1 = 0 on `other`.
    macro = float(sum(f1[i] for i in present) / len(present)) if present else 0.0
    return EvaluationReport(
        n=len(y_true),
        accuracy=float(accuracy_score(y_true, y_pred)) if len(y_true) else 0.0,
        macro_f1=macro,
        per_theme={
            theme: ThemeScore(float(precision[i]), float(recall[i]), float(f1[i]), int(support[i]))
            for i, theme in enumerate(labels)
        },
        confusion=confusion_matrix(y_true, y_pred, labels=labels).tolist(),
    )


def evaluate_model(model: ThemeModel | CompiledModel, rows: Sequence[LabelledSentence]) -> EvaluationReport:
    """Predict every row with ``model`` and score against its label."""
    predictions = model.predict([row.text for row in rows], evidence=0)
    return score([row.theme for row in rows], [p.theme for p in predictions])


def score_confusion(confusion: Sequence[Sequence[int]] | np.ndarray) -> EvaluationReport:
    """The report of a confusion matrix over the eight theme ids (rows: true, columns: predicted).

    The same numbers as :func:`score` on the rows the matrix counts.
    """
    matrix = np.asarray(confusion, dtype=np.int64).reshape(len(THEME_IDS), len(THEME_IDS))
    correct = np.diag(matrix).astype(float)
    support = matrix.sum(axis=1)
    predicted = matrix.sum(axis=0)
    precision = np.divide(correct, predicted, out=np.zeros_like(correct), where=predicted > 0)
    recall = np.divide(correct, support, out=np.zeros_like(correct), where=support > 0)
    denominator = precision + recall
    f1 = np.divide(2 * precision * recall, denominator, out=np.zeros_like(correct), where=denominator > 0)
    n = int(matrix.sum())
    present = [i for i, m in enumerate(support) if m > 0]
    macro = float(sum(f1[i] for i in present) / len(present)) if present else 0.0
    return EvaluationReport(
        n=n,
        accuracy=float(correct.sum() / n) if n else 0.0,
        macro_f1=macro,
        per_theme={
            theme: ThemeScore(float(precision[i]), float(recall[i]), float(f1[i]), int(support[i]))
            for i, theme in enumerate(THEME_IDS)
        },
        confusion=matrix.tolist(),
    )


@dataclass(frozen=True)
class Misclassified:
    """A label the model gets wrong, and where it is.

    ``where`` is the label's ``file:line``; ``text`` the sentence the model read
    (for a span label, the tagged sentence matched to it); ``confidence`` the
    probability of ``predicted`` (None where only themes are known: the training
    CV); ``document``, ``start`` and ``end`` locate a span label in its document
    (empty and -1 for a sentence row); ``alone`` is the sentence model's theme
    where a context stage gave ``predicted`` (empty otherwise).
    """

    where: str
    truth: str
    predicted: str
    text: str
    confidence: float | None = None
    document: str = ""
    start: int = -1
    end: int = -1
    alone: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, only the fields that apply."""
        fields = asdict(self)
        fields["confidence"] = None if self.confidence is None else round(self.confidence, 4)
        return {key: value for key, value in fields.items() if value not in ("", -1, None)}


# The header over misclassified labels, the same for sentence rows, span labels and the training CV.
_ERRORS_HEADER = (
    "misclassified{scope} ({shown} of {total}): true -> predicted [confidence] | label file:line [document span] | text"
)


def misclassified_row(row: LabelledSentence, predicted: str, confidence: float | None = None) -> Misclassified:
    """The record of a labelled sentence row the model gets wrong."""
    return Misclassified(f"{row.file}:{row.line}", row.theme, predicted, row.text, confidence)


def format_errors(errors: Sequence[Misclassified], total: int, scope: str = "") -> str:
    """The errors shown under their header ("misclassified{scope} (shown of ``total``): …"), one per line."""
    header = _ERRORS_HEADER.format(scope=scope, shown=len(errors), total=total)
    return "\n".join([header, *format_misclassified(errors)])


def format_misclassified(errors: Sequence[Misclassified]) -> list[str]:
    """One line per error, as ``plantheme evaluate --show-errors`` prints them."""
    lines = []
    for error in errors:
        # The sentence model's own theme, only where the context stage changed it.
        alone = f" (alone: {error.alone})" if error.alone and error.alone != error.predicted else ""
        place = f"{error.where} {error.document} {error.start}-{error.end}" if error.document else error.where
        confidence = "" if error.confidence is None else f" {error.confidence:.2f}"
        lines.append(f"{error.truth} -> {error.predicted}{confidence}{alone} | {place} | {error.text}")
    return lines


@dataclass(frozen=True)
class Evaluation:
    """Labelled sentences scored: the report, how many rows it gets wrong, and the first of those
    asked for, in file order."""

    report: EvaluationReport
    wrong: int = 0
    errors: tuple[Misclassified, ...] = ()


def _batches(rows: Iterable[LabelledSentence], size: int) -> Iterator[list[LabelledSentence]]:
    batch: list[LabelledSentence] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def evaluate_stream(
    model: ThemeModel | CompiledModel,
    rows: Iterable[LabelledSentence],
    batch_size: int = 1000,
    *,
    show_errors: int = 0,
) -> Evaluation:
    """Predict and score rows in batches of ``batch_size``, holding only a batch, the confusion
    matrix and the first ``show_errors`` misclassified rows."""
    index = {theme: i for i, theme in enumerate(THEME_IDS)}
    confusion = np.zeros((len(THEME_IDS), len(THEME_IDS)), dtype=np.int64)
    shown: list[Misclassified] = []
    for batch in _batches(rows, batch_size):
        for row, prediction in zip(batch, model.predict([row.text for row in batch], evidence=0)):
            confusion[index[row.theme], index[prediction.theme]] += 1
            if prediction.theme != row.theme and len(shown) < show_errors:
                shown.append(misclassified_row(row, prediction.theme, prediction.confidence))
    wrong = int(confusion.sum() - np.trace(confusion))
    return Evaluation(score_confusion(confusion), wrong, tuple(shown))


_SHORT = {
    "industry": "ind",
    "investment": "inv",
    "urban_construction": "urb",
    "rural_revitalisation": "rur",
    "ecology": "eco",
    "welfare": "wel",
    "governance": "gov",
    "other": "oth",
}


def format_report(report: EvaluationReport) -> str:
    """The report as a plain-text table, as the CLI prints it.

    Only the themes present in the data get a row (an absent theme's recall and
    F1 are undefined, and printing 0.000 would read as a failure); they are
    named on one line, with how often they were predicted. The confusion matrix
    has a column for every theme that is present or was predicted.
    """
    present = report.present_themes()
    predicted = report.predicted_counts()
    absent = report.absent_themes()
    lines = [f"{'theme':<22}{'precision':>10}{'recall':>9}{'f1':>8}{'support':>9}"]
    for theme in present:
        s = report.per_theme[theme]
        lines.append(f"{theme:<22}{s.precision:>10.3f}{s.recall:>9.3f}{s.f1:>8.3f}{s.support:>9d}")
    if absent:
        named = [f"{theme} (predicted {predicted[theme]}x)" if predicted[theme] else theme for theme in absent]
        lines.append(f"not in the data (not scored): {', '.join(named)}")
    lines.append("")
    lines.append(
        f"accuracy {report.accuracy:.3f}   macro-F1 {report.macro_f1:.3f} (over {len(present)} themes)   n {report.n}"
    )
    lines.append("")
    lines.append("confusion (rows: true theme, columns: predicted)")
    columns = [j for j, theme in enumerate(report.themes) if theme in present or predicted[theme]]
    lines.append(" " * 6 + "".join(f"{_SHORT.get(report.themes[j], report.themes[j][:3]):>6}" for j in columns))
    for theme, row in zip(report.themes, report.confusion):
        if theme in present:
            lines.append(f"{_SHORT.get(theme, theme[:3]):<6}" + "".join(f"{row[j]:>6d}" for j in columns))
    return "\n".join(lines)


# --- whole documents --------------------------------------------------------------


# Resamples of the documents behind each interval of a document evaluation.
BOOTSTRAP_REPLICATES = 1000


@dataclass(frozen=True)
class Interval:
    """A 95% interval: the 2.5th and 97.5th percentiles of a figure over resampled documents."""

    low: float
    high: float


def bootstrap_by_document(
    truth: Sequence[str],
    predicted: Sequence[str],
    documents: Sequence[str],
    *,
    replicates: int = BOOTSTRAP_REPLICATES,
    seed: int = 0,
) -> tuple[Interval, Interval]:
    """95% intervals of accuracy and macro-F1 when whole documents are drawn again with replacement.

    Sentences of one document are not independent (one heading, one author, one
    topic), so documents, not sentences, are resampled: the interval says how far the
    figure could move for another set of documents like these. With few documents
    it is too narrow (one document resampled is always itself).
    """
    if not len(truth):
        return Interval(0.0, 0.0), Interval(0.0, 0.0)
    names = sorted(set(documents))
    index = {name: i for i, name in enumerate(names)}
    per_document = np.zeros((len(names), len(THEME_IDS), len(THEME_IDS)), dtype=np.int64)
    theme = {t: i for i, t in enumerate(THEME_IDS)}
    np.add.at(
        per_document, ([index[d] for d in documents], [theme[t] for t in truth], [theme[t] for t in predicted]), 1
    )
    rng = np.random.default_rng(seed)
    accuracy, macro = np.empty(replicates), np.empty(replicates)
    for r in range(replicates):
        weights = np.bincount(rng.integers(0, len(names), len(names)), minlength=len(names))
        report = score_confusion(np.tensordot(weights, per_document, axes=1))
        accuracy[r], macro[r] = report.accuracy, report.macro_f1

    def interval(values: np.ndarray) -> Interval:
        low, high = np.percentile(values, [2.5, 97.5])
        return Interval(float(low), float(high))

    return interval(accuracy), interval(macro)


@dataclass(frozen=True)
class DocumentScores:
    """Span labels scored through the whole-document path, with and without context.

    ``report`` is what ``plantheme tag`` gives (context stage included, when the
    model has one); ``sentence_only`` the sentence model alone on the same
    sentences. ``by_genre`` and ``by_document`` hold ``(context, sentence-only)``
    report pairs. ``moved`` lists labels whose ``sha`` no longer matches the text
    they point at (not scored); ``failed`` the documents that could not be read;
    ``errors`` every label the whole-document path gets wrong, in document and span order.
    """

    report: EvaluationReport
    sentence_only: EvaluationReport
    by_genre: dict[str, tuple[EvaluationReport, EvaluationReport]]
    by_document: dict[str, tuple[EvaluationReport, EvaluationReport]]
    moved: list[str]
    failed: list[tuple[str, str]]
    unmatched: int
    # 95% intervals over resampled documents: (accuracy, macro-F1) of ``report``, and of each genre.
    intervals: tuple[Interval, Interval]
    genre_intervals: dict[str, tuple[Interval, Interval]]
    documents_per_genre: dict[str, int]
    errors: tuple[Misclassified, ...] = ()

    def to_dict(self, show_errors: int = 0) -> dict[str, Any]:
        """JSON-ready form (``plantheme evaluate --json``), with the first ``show_errors`` misclassified labels."""

        def pair(reports: tuple[EvaluationReport, EvaluationReport]) -> dict[str, Any]:
            return {
                "n": reports[0].n,
                "accuracy": reports[0].accuracy,
                "macro_f1": reports[0].macro_f1,
                "sentence_only": {"accuracy": reports[1].accuracy, "macro_f1": reports[1].macro_f1},
            }

        def bounds(pair_: tuple[Interval, Interval]) -> dict[str, list[float]]:
            return {"accuracy_95": [pair_[0].low, pair_[0].high], "macro_f1_95": [pair_[1].low, pair_[1].high]}

        return {
            **self.report.to_dict(),
            **bounds(self.intervals),
            "sentence_only": self.sentence_only.to_dict(),
            "by_genre": {
                genre: {**pair(p), **bounds(self.genre_intervals[genre]), "documents": self.documents_per_genre[genre]}
                for genre, p in self.by_genre.items()
            },
            "by_document": {doc: pair(p) for doc, p in self.by_document.items()},
            "moved": self.moved,
            "failed": [{"path": p, "reason": r} for p, r in self.failed],
            "unmatched": self.unmatched,
            **({"errors": [error.to_dict() for error in self.errors[:show_errors]]} if show_errors else {}),
        }


def _match(targets: list[tuple[int, int]], sentences: Sequence[TaggedSentence]) -> list[int]:
    """The tagged sentence each label covers: the content sentence overlapping it most, else
    the furniture line (a label made on a unit that also held a 责任单位 note is about the content)."""
    content = [i for i, s in enumerate(sentences) if BOILERPLATE not in s.flags]
    first = best_overlaps(targets, [(sentences[i].start, sentences[i].end) for i in content])
    fallback = best_overlaps(targets, [(s.start, s.end) for s in sentences])
    return [content[k] if k >= 0 else f for k, f in zip(first, fallback)]


def evaluate_documents(
    model: ThemeModel | CompiledModel,
    rows: Sequence[SpanRow],
    read_text: Callable[[str], str],
    *,
    replicates: int = BOOTSTRAP_REPLICATES,
    seed: int = 0,
) -> DocumentScores:
    """Score span labels by tagging the documents they point into, as ``plantheme tag`` does.

    ``read_text(path)`` returns a document's text exactly as ``plantheme tag``
    reads it (spans index that text). Each label is matched to the tagged
    sentence that overlaps it most; a label no sentence overlaps counts as
    ``other`` predicted (and in ``unmatched``). The figures with context get 95%
    intervals from ``replicates`` resamples of the documents (:func:`bootstrap_by_document`).
    """
    by_path: dict[str, list[SpanRow]] = {}
    for row in rows:
        by_path.setdefault(row.path, []).append(row)
    truth: list[str] = []
    with_context: list[str] = []
    alone: list[str] = []
    genres: list[str] = []
    documents: list[str] = []
    moved: list[str] = []
    failed: list[tuple[str, str]] = []
    wrong: list[Misclassified] = []
    unmatched = 0
    for path in sorted(by_path):
        try:
            text = read_text(path)
        except Exception as exc:  # one unreadable document must not stop the evaluation
            failed.append((path, str(exc)))
            continue
        labels = sorted(by_path[path], key=lambda r: (r.start, r.end))
        kept = []
        for row in labels:
            if span_moved(row, text):
                moved.append(f"{row.file}:{row.line}: {path} {row.start}-{row.end}")
            else:
                kept.append(row)
        if not kept:
            continue
        prepared = prepare_document(text)  # normalised once for both ways of tagging
        tagged = tag_text(model, text, details=False, prepared=prepared)
        plain = tag_text(model, text, details=False, context=False, prepared=prepared)
        targets = [(r.start, r.end) for r in kept]
        for row, k in zip(kept, _match(targets, tagged.sentences)):
            truth.append(row.theme)
            genres.append(row.genre or "(none)")
            documents.append(path)
            if k < 0:
                unmatched += 1
                with_context.append(OTHER)
                alone.append(OTHER)
            else:
                with_context.append(tagged.sentences[k].theme)
                alone.append(plain.sentences[k].theme)
            if with_context[-1] != row.theme:
                sentence = tagged.sentences[k] if k >= 0 else None
                wrong.append(
                    Misclassified(
                        where=f"{row.file}:{row.line}",
                        truth=row.theme,
                        predicted=with_context[-1],
                        confidence=sentence.confidence if sentence else None,
                        text=sentence.text if sentence else text[row.start : row.end],
                        document=path,
                        start=row.start,
                        end=row.end,
                        alone=alone[-1] if model.context is not None else "",
                    )
                )

    def group(keys: list[str]) -> dict[str, list[int]]:
        groups: dict[str, list[int]] = {}
        for i, key in enumerate(keys):
            groups.setdefault(key, []).append(i)
        return dict(sorted(groups.items()))

    def subset(groups: dict[str, list[int]]) -> dict[str, tuple[EvaluationReport, EvaluationReport]]:
        return {
            key: (
                score([truth[i] for i in idx], [with_context[i] for i in idx]),
                score([truth[i] for i in idx], [alone[i] for i in idx]),
            )
            for key, idx in groups.items()
        }

    def intervals(idx: list[int]) -> tuple[Interval, Interval]:
        return bootstrap_by_document(
            [truth[i] for i in idx],
            [with_context[i] for i in idx],
            [documents[i] for i in idx],
            replicates=replicates,
            seed=seed,
        )

    in_genre = group(genres)
    return DocumentScores(
        report=score(truth, with_context),
        sentence_only=score(truth, alone),
        by_genre=subset(in_genre),
        by_document=subset(group(documents)),
        moved=moved,
        failed=failed,
        unmatched=unmatched,
        intervals=intervals(list(range(len(truth)))),
        genre_intervals={genre: intervals(idx) for genre, idx in in_genre.items()},
        documents_per_genre={genre: len({documents[i] for i in idx}) for genre, idx in in_genre.items()},
        errors=tuple(wrong),
    )


def format_document_scores(scores: DocumentScores, *, per_document: bool = False, show_errors: int = 0) -> str:
    """The document evaluation as the CLI prints it: the report, then genre (and document) lines,
    then the first ``show_errors`` misclassified labels."""
    accuracy, macro = scores.intervals
    lines = [format_report(scores.report), ""]
    lines.append(
        f"95% intervals over {len(scores.by_document)} documents resampled: accuracy {accuracy.low:.3f}–{accuracy.high:.3f}"
        f"   macro-F1 {macro.low:.3f}–{macro.high:.3f}"
    )
    lines.append(
        f"sentence model alone: accuracy {scores.sentence_only.accuracy:.3f}"
        f"   macro-F1 {scores.sentence_only.macro_f1:.3f}"
    )
    lines.append("")
    lines.append(f"{'genre':<40}{'docs':>5}{'n':>5}{'acc':>7}{'F1':>7}{'F1 95%':>13}{'acc alone':>11}{'F1 alone':>10}")
    for key, (ctx, alone) in scores.by_genre.items():
        count = scores.documents_per_genre[key]
        low_high = scores.genre_intervals[key][1]
        # One document resampled is always itself: no interval to give.
        spread = f"{low_high.low:.3f}–{low_high.high:.3f}" if count > 1 else "(1 document)"
        lines.append(
            f"{key[-40:]:<40}{count:>5}{ctx.n:>5}{ctx.accuracy:>7.3f}{ctx.macro_f1:>7.3f}{spread:>13}"
            f"{alone.accuracy:>11.3f}{alone.macro_f1:>10.3f}"
        )
    if per_document:
        lines.append("")
        lines.append(f"{'document':<48}{'n':>5}{'acc':>7}{'F1':>7}{'acc alone':>11}{'F1 alone':>10}")
        for key, (ctx, alone) in scores.by_document.items():
            lines.append(
                f"{key[-48:]:<48}{ctx.n:>5}{ctx.accuracy:>7.3f}{ctx.macro_f1:>7.3f}"
                f"{alone.accuracy:>11.3f}{alone.macro_f1:>10.3f}"
            )
    if scores.unmatched:
        lines.append(f"\n{scores.unmatched} labels overlap no tagged sentence (counted as `other`)")
    for item in scores.moved[:20]:
        lines.append(f"moved (not scored): {item}")
    if len(scores.moved) > 20:
        lines.append(f"… and {len(scores.moved) - 20} more moved labels")
    for path, reason in scores.failed:
        lines.append(f"failed (not scored): {path}: {reason}")
    if show_errors:
        lines.append("\n" + format_errors(scores.errors[:show_errors], len(scores.errors)))
    return "\n".join(lines)
