"""The queue out to Label Studio, Prodigy and plain JSONL, and their labels back in."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from plantheme.cli import main
from plantheme.review.exchange import export_queue, read_answers, read_label_studio, read_prodigy
from plantheme.review.queue import ReviewItem
from plantheme.review.store import LABELS_FILE
from plantheme.themes import THEME_IDS
from plantheme.training.labels import read_labelled_file


def _item(i: int, text: str, guess: str) -> ReviewItem:
    scores = {theme: (0.6 if theme == guess else 0.4 / 7) for theme in THEME_IDS}
    return ReviewItem(
        doc=f"d{i}.txt",
        index=i,
        start=10 * i,
        end=10 * i + len(text),
        text=text,
        guess=guess,
        scores=scores,
        evidence=("河长制",),
        title="标题",
        heading="一、重点任务",
        before="",
        after="",
        reason="margin 0.50",
    )


ITEMS = [
    _item(0, "全面落实河长制。", "ecology"),
    _item(1, "新建幼儿园2所。", "welfare"),
    _item(2, "力争签约项目18个，\n总投资100亿元。", "investment"),
]


def test_plain_export_has_the_documented_fields(tmp_path: Path) -> None:
    export_queue(ITEMS, tmp_path / "q.jsonl")
    lines = [json.loads(line) for line in (tmp_path / "q.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 3
    assert {"doc", "start", "end", "text", "guess", "scores", "reason"} <= set(lines[0])
    assert ReviewItem.from_dict(lines[2]) == ITEMS[2]


def test_label_studio_round_trip(tmp_path: Path) -> None:
    export_queue(ITEMS, tmp_path / "tasks.json", "label-studio", "m-1")
    tasks = json.loads((tmp_path / "tasks.json").read_text(encoding="utf-8"))
    assert tasks[0]["predictions"][0]["result"][0]["value"]["choices"] == ["ecology"]
    # What Label Studio's JSON export adds: ids and annotations (one changed, one cancelled).
    for number, (task, choice) in enumerate(zip(tasks, ["ecology", "industry", "welfare"]), start=1):
        task["id"] = number
        task["annotations"] = [
            {
                "completed_by": 7,
                "created_at": f"2026-01-0{number}T00:00:00Z",
                "was_cancelled": number == 3,
                "result": [
                    {"from_name": "theme", "to_name": "text", "type": "choices", "value": {"choices": [choice]}}
                ],
            }
        ]
    (tmp_path / "export.json").write_text(json.dumps(tasks, ensure_ascii=False), encoding="utf-8")
    imported = read_label_studio(tmp_path / "export.json")
    assert [(a.doc, a.start, a.end, a.text, a.answer, a.guess) for a in imported.answers] == [
        (i.doc, i.start, i.end, i.text, theme, i.guess) for i, theme in zip(ITEMS[:2], ["ecology", "industry"])
    ]
    assert imported.answers[0].who == "7"
    assert len(imported.left_out) == 1 and "task 3" in imported.left_out[0]


def test_prodigy_round_trip(tmp_path: Path) -> None:
    export_queue(ITEMS, tmp_path / "tasks.jsonl", "prodigy")
    tasks = [json.loads(line) for line in (tmp_path / "tasks.jsonl").read_text(encoding="utf-8").splitlines()]
    assert tasks[1]["accept"] == ["welfare"] and len(tasks[1]["options"]) == 8
    tasks[0].update(answer="accept", accept=["governance"], _annotator_id="team-a")
    tasks[1].update(answer="reject")
    tasks[2].update(answer="accept")  # the preselected guess accepted
    binary = {"text": "推进污水管网建设。", "label": "ecology", "answer": "accept"}  # textcat from elsewhere
    lines = [json.dumps(t, ensure_ascii=False) for t in tasks + [binary]] + ["{broken"]
    (tmp_path / "answers.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    imported = read_prodigy(tmp_path / "answers.jsonl")
    assert [(a.doc, a.start, a.end, a.answer) for a in imported.answers] == [
        (ITEMS[0].doc, ITEMS[0].start, ITEMS[0].end, "governance"),
        (ITEMS[2].doc, ITEMS[2].start, ITEMS[2].end, "investment"),
        ("answers.jsonl#4", 0, len(binary["text"]), "ecology"),
    ]
    assert imported.answers[0].who == "team-a" and imported.answers[1].text == ITEMS[2].text
    assert [p.split(": ", 1)[0].rsplit(":", 1)[1] for p in imported.left_out] == ["2", "5"]


def test_import_adds_labels_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    export_queue(ITEMS, tmp_path / "tasks.jsonl", "prodigy")
    answers = [
        {**json.loads(line), "answer": "accept"}
        for line in (tmp_path / "tasks.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    (tmp_path / "answers.jsonl").write_text(
        "\n".join(json.dumps(a, ensure_ascii=False) for a in answers), encoding="utf-8"
    )
    labels = tmp_path / "mine"
    assert main(["review", "--labels", str(labels), "--import", str(tmp_path / "answers.jsonl")]) == 0
    assert main(["review", "--labels", str(labels), "--import", str(tmp_path / "answers.jsonl")]) == 0
    out = capsys.readouterr().out
    assert "imported 3 labels" in out and "imported 0 labels" in out and "3 already there" in out
    rows = read_labelled_file(labels / LABELS_FILE)
    assert [(r.text, r.theme, r.group) for r in rows] == [(i.text, i.guess, i.doc) for i in ITEMS]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("x.txt", "", r"expected a Label Studio export \(.json\) or Prodigy answers \(.jsonl\)"),
        ("x.json", "{}", "expected a JSON list of tasks"),
        ("x.json", "[broken", "not a readable Label Studio JSON export"),
    ],
)
def test_unreadable_imports_are_one_message(tmp_path: Path, name: str, content: str, message: str) -> None:
    from plantheme.errors import PlanthemeError

    (tmp_path / name).write_text(content, encoding="utf-8")
    with pytest.raises(PlanthemeError, match=message):
        read_answers(tmp_path / name)
