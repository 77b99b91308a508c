"""Scoring predictions against labels: the report that train and evaluate print."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Sequence

from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

from .labels import LabelledSentence
from .model import ThemeModel
from .themes import THEME_IDS

__all__ = ["ThemeScore", "EvaluationReport", "score", "evaluate_model", "format_report"]


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
