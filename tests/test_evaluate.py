"""Scores: accuracy, macro-F1 over present themes, confusion matrix, the printed table."""

from __future__ import annotations

import pytest

from plantheme.evaluate import format_report, score
from plantheme.themes import THEME_IDS


def test_perfect_and_imperfect_scores() -> None:
    truth = ["ecology", "ecology", "welfare", "other"]
    report = score(truth, ["ecology", "welfare", "welfare", "other"])
    assert report.n == 4
    assert report.accuracy == pytest.approx(0.75)
    eco = report.per_theme["ecology"]
    assert (eco.precision, eco.recall, eco.support) == (1.0, 0.5, 2)
    # macro over the three themes present in the truth, not all eight
    expected = (2 / 3 + 2 / 3 + 1.0) / 3
    assert report.macro_f1 == pytest.approx(expected)
    eco_i, wel_i = THEME_IDS.index("ecology"), THEME_IDS.index("welfare")
    assert report.confusion[eco_i][wel_i] == 1
    assert sum(map(sum, report.confusion)) == 4


def test_report_dict_and_table() -> None:
    report = score(["industry", "investment"], ["industry", "industry"])
    data = report.to_dict()
    assert {"n", "accuracy", "macro_f1", "per_theme", "confusion", "themes"} <= set(data)
    assert data["per_theme"]["industry"]["precision"] == 0.5
    table = format_report(report)
    assert "macro-F1" in table and "confusion" in table
    assert all(theme in table for theme in THEME_IDS)
