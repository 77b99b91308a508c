"""The answers on disk: appended and synced, undone atomically, resumed, repaired after a crash."""

from __future__ import annotations

from pathlib import Path

import pytest

from plantheme.errors import PlanthemeError
from plantheme.review.store import LABELS_FILE, SET_ASIDE_FILE, Answer, LabelStore, _encode_row, _label_row
from plantheme.training.labels import read_labelled_dir, read_labelled_file


def _answer(text: str, answer: str, start: int, when: str, doc: str = "a/报告.txt") -> Answer:
    return Answer(
        doc=doc, start=start, end=start + len(text), text=text, answer=answer, guess="industry", who="tester", when=when
    )


TEXTS = ["推进河长制，治理水环境。", "新建幼儿园2所，\n改善办学条件。", '开展"以商招商"，力争签约项目18个。']


def test_labels_are_a_training_file_and_skips_are_not(tmp_path: Path) -> None:
    store = LabelStore(tmp_path / "mine")
    assert store.add(_answer(TEXTS[0], "ecology", 0, "2026-01-01T00:00:01"))
    assert store.add(_answer(TEXTS[1], "welfare", 20, "2026-01-01T00:00:02"))
    assert store.add(_answer(TEXTS[2], "skip", 40, "2026-01-01T00:00:03"))
    assert store.add(_answer("其他句子。", "unsure", 60, "2026-01-01T00:00:04"))
    rows = read_labelled_dir(tmp_path / "mine")  # what `plantheme train --data` reads: only the labels
    assert [(r.text, r.theme, r.source, r.group) for r in rows] == [
        (TEXTS[0], "ecology", "a/报告.txt", "a/报告.txt"),
        (TEXTS[1], "welfare", "a/报告.txt", "a/报告.txt"),
    ]
    assert (tmp_path / "mine" / SET_ASIDE_FILE).is_file()
    assert store.counts()["ecology"] == 1 and store.counts()["industry"] == 0
    header = (tmp_path / "mine" / LABELS_FILE).read_bytes().split(b"\r\n")[0]
    assert header == "\ufefftext,theme,source,group,genre,who,when,guess,doc,start,end".encode()


def test_an_answered_sentence_is_not_written_twice(tmp_path: Path) -> None:
    store = LabelStore(tmp_path)
    assert store.add(_answer(TEXTS[0], "ecology", 0, "2026-01-01T00:00:01"))
    assert not store.add(_answer(TEXTS[0], "industry", 0, "2026-01-01T00:00:02"))
    assert len(read_labelled_file(tmp_path / LABELS_FILE)) == 1


@pytest.mark.parametrize("answer", ["safety", "", "accept"])
def test_an_answer_that_is_no_theme_is_refused(tmp_path: Path, answer: str) -> None:
    with pytest.raises(PlanthemeError, match="expected a theme id"):
        LabelStore(tmp_path).add(_answer(TEXTS[0], answer, 0, "2026-01-01T00:00:01"))


def test_undo_takes_back_the_newest_answer_in_either_file(tmp_path: Path) -> None:
    store = LabelStore(tmp_path)
    store.add(_answer(TEXTS[0], "ecology", 0, "2026-01-01T00:00:01"))
    store.add(_answer(TEXTS[1], "welfare", 20, "2026-01-01T00:00:02"))
    store.add(_answer(TEXTS[2], "skip", 40, "2026-01-01T00:00:03"))
    assert store.undo().answer == "skip"  # type: ignore[union-attr]
    assert store.undo().answer == "welfare"  # type: ignore[union-attr]
    assert [r.text for r in read_labelled_file(tmp_path / LABELS_FILE)] == [TEXTS[0]]
    assert (tmp_path / SET_ASIDE_FILE).read_text(encoding="utf-8-sig").count("\n") == 1  # the header only
    reopened = LabelStore(tmp_path)
    assert [a.text for a in reopened.answers] == [TEXTS[0]]
    assert reopened.undo() is not None and reopened.undo() is None
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_a_reopened_store_resumes_with_every_answer(tmp_path: Path) -> None:
    store = LabelStore(tmp_path)
    for i, (text, theme) in enumerate(zip(TEXTS, ["ecology", "welfare", "unsure"])):
        store.add(_answer(text, theme, 20 * i, f"2026-01-01T00:00:0{i}"))
    reopened = LabelStore(tmp_path)
    assert reopened.answers == store.answers
    assert reopened.answered() == {f"{20 * i}:{20 * i + len(text)}:a/报告.txt" for i, text in enumerate(TEXTS)}
    assert reopened.labelled_texts() == TEXTS[:2]
    reopened.add(_answer("又一句话。", "governance", 80, "2026-01-01T00:00:09"))
    content = (tmp_path / LABELS_FILE).read_bytes()
    assert content.count(b"\xef\xbb\xbf") == 1  # appending after a reopen adds no second BOM


@pytest.mark.parametrize("cut", [1, 10, 17, 30, -1])
def test_a_row_cut_off_by_a_crash_is_dropped_on_opening(tmp_path: Path, cut: int) -> None:
    store = LabelStore(tmp_path)
    store.add(_answer(TEXTS[0], "ecology", 0, "2026-01-01T00:00:01"))
    # The second row holds a line break inside its quoted text: a cut after it still leaves a partial row.
    row = _encode_row(_label_row(_answer(TEXTS[1], "welfare", 20, "2026-01-01T00:00:02")), ",")
    with (tmp_path / LABELS_FILE).open("ab") as handle:
        handle.write(row[:cut])
    reopened = LabelStore(tmp_path)
    assert [a.text for a in reopened.answers] == [TEXTS[0]]
    assert [r.text for r in read_labelled_file(tmp_path / LABELS_FILE)] == [TEXTS[0]]
    reopened.add(_answer(TEXTS[2], "investment", 40, "2026-01-01T00:00:03"))
    assert [r.text for r in read_labelled_file(tmp_path / LABELS_FILE)] == [TEXTS[0], TEXTS[2]]


def test_a_foreign_file_is_not_taken_for_the_labels(tmp_path: Path) -> None:
    (tmp_path / LABELS_FILE).write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(PlanthemeError, match=r"review-labels.csv:1: header is not text,theme"):
        LabelStore(tmp_path)
