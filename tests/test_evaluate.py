"""Scores: accuracy, macro-F1 over present themes, confusion matrix, the printed table."""

from __future__ import annotations

import pytest

from plantheme.training.evaluate import format_report, score
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
    assert data["absent"] == [t for t in THEME_IDS if t not in ("industry", "investment")]


def test_themes_absent_from_the_data_are_not_scored_as_zero() -> None:
    # welfare is absent from the truth but predicted once; ecology and other neither.
    report = score(["industry", "industry", "investment"], ["industry", "welfare", "investment"])
    assert report.present_themes() == ("industry", "investment")
    assert report.predicted_counts()["welfare"] == 1
    data = report.to_dict()
    assert set(data["per_theme"]) == {"industry", "investment"}
    assert "welfare" in data["absent"] and "ecology" in data["absent"]
    assert len(data["confusion"]) == len(THEME_IDS)  # the full matrix keeps the absent predictions
    lines = format_report(report).splitlines()
    rows = [line.split()[0] for line in lines[1 : lines.index("")] if not line.startswith("not in")]
    assert rows == ["industry", "investment"]
    absent_line = next(line for line in lines if line.startswith("not in the data"))
    assert "welfare (predicted 1x)" in absent_line and "ecology" in absent_line
    assert not any(line.startswith(("ecology", "welfare")) and "0.000" in line for line in lines)
    header = lines[lines.index("confusion (rows: true theme, columns: predicted)") + 1].split()
    assert header == ["ind", "inv", "wel"]  # the predicted absent theme keeps its column
    assert "over 2 themes" in format_report(report)


# --- whole documents -------------------------------------------------------------


def _spans_for(root, name: str, text: str, labels: list[tuple[str, str]], sha: bool = True):  # type: ignore[no-untyped-def]
    """Span rows for sentences of ``text`` (written to ``root/name``)."""
    import hashlib

    from plantheme.training.labels import SpanRow

    (root / name).write_text(text, encoding="utf-8")
    rows = []
    for line, (sentence, theme) in enumerate(labels, start=2):
        start = text.index(sentence)
        digest = hashlib.sha256(sentence.encode()).hexdigest()[:12] if sha else ""
        rows.append(SpanRow(name, start, start + len(sentence), theme, "plan", digest, "spans.csv", line))
    return rows


def test_documents_are_tagged_and_labels_matched(tiny_model, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from plantheme.training.evaluate import evaluate_documents, format_document_scores
    from plantheme.tagging.tagging import tag_text

    text = "全面落实河长制，推进流域水环境综合治理。\n新建幼儿园2所，改善义务教育办学条件。\n责任单位：县教育局"
    rows = _spans_for(
        tmp_path,
        "a.txt",
        text,
        [
            # a label that covers a little less than the sentence still finds it
            ("全面落实河长制，推进流域水环境综合治理", "ecology"),
            ("新建幼儿园2所，改善义务教育办学条件。", "welfare"),
            ("责任单位：县教育局", "other"),
        ],
    )
    rows += _spans_for(tmp_path, "b.txt", "推进河长制。", [("推进河长制。", "ecology")])
    scores = evaluate_documents(
        tiny_model,
        rows,
        lambda p: (
            (tmp_path / p).read_text(encoding="utf-8") if p != "b.txt" else (_ for _ in ()).throw(OSError("unreadable"))
        ),
    )
    tagged = tag_text(tiny_model, text, details=False)
    assert scores.report.n == 3
    assert scores.failed == [("b.txt", "unreadable")]
    predicted = [tagged.sentences[0].theme, tagged.sentences[1].theme, "other"]
    assert scores.report.accuracy == pytest.approx(
        sum(p == t for p, t in zip(predicted, ["ecology", "welfare", "other"])) / 3
    )
    assert set(scores.by_genre) == {"plan"} and set(scores.by_document) == {"a.txt"}
    printed = format_document_scores(scores, per_document=True)
    assert "sentence model alone" in printed and "a.txt" in printed and "failed (not scored): b.txt" in printed


def test_labels_that_moved_are_not_scored(tiny_model, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from plantheme.training.evaluate import evaluate_documents

    text = "全面落实河长制。\n新建幼儿园2所。"
    rows = _spans_for(tmp_path, "a.txt", text, [("全面落实河长制。", "ecology"), ("新建幼儿园2所。", "welfare")])
    # The document changed after labelling: the first span now covers other text.
    (tmp_path / "a.txt").write_text("XX" + text, encoding="utf-8")
    scores = evaluate_documents(tiny_model, rows, lambda p: (tmp_path / p).read_text(encoding="utf-8"))
    assert scores.report.n == 0 and len(scores.moved) == 2
    assert scores.moved[0].startswith("spans.csv:2: a.txt 0-8")


def test_the_labels_a_document_evaluation_gets_wrong_are_listed_with_where_they_are(tiny_model, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from plantheme.tagging.tagging import tag_text
    from plantheme.training.evaluate import evaluate_documents, format_document_scores

    text = "全面落实河长制，推进流域水环境综合治理。\n新建幼儿园2所，改善义务教育办学条件。"
    tagged = tag_text(tiny_model, text, details=False)
    given = [s.theme for s in tagged.sentences]
    # The first label agrees with the tool, the second does not.
    wrong_theme = "investment" if given[1] != "investment" else "industry"
    rows = _spans_for(
        tmp_path,
        "a.txt",
        text,
        [("全面落实河长制，推进流域水环境综合治理。", given[0]), ("新建幼儿园2所，改善义务", wrong_theme)],
    )
    scores = evaluate_documents(tiny_model, rows, lambda p: (tmp_path / p).read_text(encoding="utf-8"))
    assert len(scores.errors) == 1
    error = scores.errors[0]
    second = tagged.sentences[1]
    assert (error.where, error.truth, error.predicted) == ("spans.csv:3", wrong_theme, given[1])
    # The label's own span, and the whole sentence the tool tagged for it.
    assert (error.document, error.start, error.end) == ("a.txt", rows[1].start, rows[1].end)
    assert error.text == second.text and error.confidence == second.confidence
    assert "errors" not in scores.to_dict()
    assert scores.to_dict(show_errors=5)["errors"][0]["where"] == "spans.csv:3"
    printed = format_document_scores(scores, show_errors=5).splitlines()
    assert printed[-2].startswith("misclassified (1 of 1)")
    assert (
        printed[-1].startswith(f"{wrong_theme} -> {given[1]}") and f"spans.csv:3 a.txt {rows[1].start}-" in printed[-1]
    )
    assert "misclassified" not in format_document_scores(scores)


# --- intervals over resampled documents -----------------------------------------------


def test_bootstrap_interval_is_a_point_when_every_document_scores_alike() -> None:
    from plantheme.training.evaluate import bootstrap_by_document

    truth = ["ecology", "welfare"] * 3
    accuracy, macro = bootstrap_by_document(truth, truth, ["a", "a", "b", "b", "c", "c"], replicates=200)
    assert (accuracy.low, accuracy.high) == (1.0, 1.0) and (macro.low, macro.high) == (1.0, 1.0)


def test_bootstrap_interval_spreads_with_documents_that_differ_and_is_reproducible() -> None:
    from plantheme.training.evaluate import bootstrap_by_document, score

    # Ten documents: five read perfectly, five read all wrong.
    truth = ["ecology", "welfare"] * 10
    predicted = ["ecology", "welfare"] * 5 + ["welfare", "ecology"] * 5
    documents = [f"d{i // 2}" for i in range(20)]
    accuracy, macro = bootstrap_by_document(truth, predicted, documents, replicates=500, seed=3)
    point = score(truth, predicted)
    assert accuracy.low < point.accuracy < accuracy.high
    assert macro.low < point.macro_f1 < macro.high
    assert accuracy.high - accuracy.low > 0.3  # five good and five bad documents: a wide interval
    again = bootstrap_by_document(truth, predicted, documents, replicates=500, seed=3)
    assert again == (accuracy, macro)


def test_a_document_evaluation_prints_its_intervals(tiny_model, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from plantheme.training.evaluate import evaluate_documents, format_document_scores

    rows = _spans_for(
        tmp_path, "a.txt", "推进河长制。新建幼儿园2所。", [("推进河长制。", "ecology"), ("新建幼儿园2所。", "welfare")]
    )
    rows += _spans_for(tmp_path, "b.txt", "开展招商引资活动。", [("开展招商引资活动。", "investment")])
    scores = evaluate_documents(tiny_model, rows, lambda p: (tmp_path / p).read_text(encoding="utf-8"), replicates=50)
    accuracy, macro = scores.intervals
    assert 0.0 <= accuracy.low <= scores.report.accuracy <= accuracy.high <= 1.0
    assert scores.documents_per_genre == {"plan": 2}
    assert "95% intervals over 2 documents resampled" in format_document_scores(scores)
    assert scores.to_dict()["macro_f1_95"] == [macro.low, macro.high]


@pytest.mark.parametrize(
    ("confidence", "alone", "shown"),
    [
        (0.8123, "", " 0.81"),
        (0.8123, "ecology", " 0.81"),
        (0.8123, "welfare", " 0.81 (alone: welfare)"),
        (None, "", ""),
    ],
    ids=["no context stage", "context kept the sentence model's theme", "context changed it", "themes only (CV)"],
)
def test_an_error_line_gives_what_is_known_and_the_sentence_models_theme_where_context_changed_it(
    confidence: float | None, alone: str, shown: str
) -> None:
    from plantheme.training.evaluate import Misclassified, format_misclassified

    error = Misclassified("labels.csv:7", "governance", "ecology", "全面落实河长制。", confidence, alone=alone)
    assert format_misclassified([error]) == [f"governance -> ecology{shown} | labels.csv:7 | 全面落实河长制。"]
    assert ("confidence" in error.to_dict()) == (confidence is not None)
