"""Scoring predictions against labels: the report that train and evaluate print."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Iterable, Iterator, Sequence

import numpy as np

from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

from .labels import LabelledSentence
from .model import ThemeModel
from .themes import THEME_IDS

__all__ = ["ThemeScore", "EvaluationReport", "score", "score_confusion", "evaluate_model",
           "evaluate_stream", "format_report"]


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

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``--json`` output and the model card)."""
        data = asdict(self)
        data["themes"] = list(self.themes)
        return data


def score(y_true: Sequence[str], y_pred: Sequence[str]) -> EvaluationReport:
    """Compare true and predicted themes over the eight theme ids."""
    labels = list(THEME_IDS)
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0
    )
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


def evaluate_model(model: ThemeModel, rows: Sequence[LabelledSentence]) -> EvaluationReport:
    """Predict every row with ``model`` and score against its label."""
    predictions = model.predict([row.text for row in rows], evidence=0)
    return score([row.theme for row in rows], [p.theme for p in predictions])


def score_confusion(confusion: Sequence[Sequence[int]]) -> EvaluationReport:
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


def _batches(rows: Iterable[LabelledSentence], size: int) -> Iterator[list[LabelledSentence]]:
    batch: list[LabelledSentence] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def evaluate_stream(model: ThemeModel, rows: Iterable[LabelledSentence], batch_size: int = 1000
                    ) -> EvaluationReport:
    """Predict and score rows in batches of ``batch_size``, holding only a batch and the confusion matrix."""
    index = {theme: i for i, theme in enumerate(THEME_IDS)}
    confusion = np.zeros((len(THEME_IDS), len(THEME_IDS)), dtype=np.int64)
    for batch in _batches(rows, batch_size):
        for row, prediction in zip(batch, model.predict([row.text for row in batch], evidence=0)):
            confusion[index[row.theme], index[prediction.theme]] += 1
    return score_confusion(confusion)


_SHORT = {
    "industry": "ind", "investment": "inv", "urban_construction": "urb",
    "rural_revitalisation": "rur", "ecology": "eco", "welfare": "wel",
    "governance": "gov", "other": "oth",
}


def format_report(report: EvaluationReport) -> str:
    """The report as a plain-text table, as the CLI prints it."""
    lines = [f"{'theme':<22}{'precision':>10}{'recall':>9}{'f1':>8}{'support':>9}"]
    for theme in report.themes:
        s = report.per_theme[theme]
        lines.append(f"{theme:<22}{s.precision:>10.3f}{s.recall:>9.3f}{s.f1:>8.3f}{s.support:>9d}")
    lines.append("")
    lines.append(f"accuracy {report.accuracy:.3f}   macro-F1 {report.macro_f1:.3f}   n {report.n}")
    lines.append("")
    lines.append("confusion (rows: true theme, columns: predicted)")
    header = " " * 6 + "".join(f"{_SHORT.get(t, t[:3]):>6}" for t in report.themes)
    lines.append(header)
    for theme, row in zip(report.themes, report.confusion):
        lines.append(f"{_SHORT.get(theme, theme[:3]):<6}" + "".join(f"{n:>6d}" for n in row))
    return "\n".join(lines)
