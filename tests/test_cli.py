"""The command line as a user runs it: train, evaluate, predict, and errors without tracebacks."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from conftest import TINY_ROWS
from plantheme.cli import main
from plantheme.themes import THEME_IDS


@pytest.fixture
def labels_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "labels"
    folder.mkdir()
    for part in range(3):
        with (folder / f"doc{part}.csv").open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["text", "theme", "source"])
            for theme, texts in TINY_ROWS.items():
                for text in texts[part::3]:
                    writer.writerow([text, theme, f"doc{part}"])
    return folder


def test_train_writes_a_model_and_prints_the_report(labels_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "models" / "mine"
    assert main(["train", "--data", str(labels_dir), "--out", str(out), "--features", "word", "--folds", "3"]) == 0
    printed = capsys.readouterr()
    assert "macro-F1" in printed.out and "confusion" in printed.out
    assert "[1/3]" in printed.err  # progress per candidate on stderr
    assert (out / "model.joblib").is_file() and (out / "model.json").is_file()


def test_predict_and_evaluate(tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    assert main(["predict", "--model", str(tiny_model_dir), "全面落实河长制。", "新建幼儿园2所。"]) == 0
    lines = capsys.readouterr().out.splitlines()
    results = [json.loads(line) for line in lines]
    assert [r["text"] for r in results] == ["全面落实河长制。", "新建幼儿园2所。"]
    assert all(set(r) == {"text", "theme", "confidence", "scores", "evidence"} for r in results)
    assert all(list(r["scores"]) == list(THEME_IDS) for r in results)

    import io
    monkeypatch.setattr("sys.stdin", io.StringIO("推进河长制。\n\n加强消防安全。\n"))
    assert main(["predict", "--model", str(tiny_model_dir)]) == 0
    answers = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(answers) == 3 and answers[1] == {"line": 2, "error": "empty line"}

    test_file = tmp_path / "test.jsonl"
    test_file.write_text(
        "\n".join(json.dumps({"text": t, "theme": th}, ensure_ascii=False)
                  for th, rows in TINY_ROWS.items() for t in rows[:2]), encoding="utf-8")
    assert main(["evaluate", str(test_file), "--model", str(tiny_model_dir), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n"] == 16
    assert {"accuracy", "macro_f1", "per_theme", "confusion"} <= set(report)
    assert main(["evaluate", str(test_file), "--model", str(tiny_model_dir)]) == 0
    assert "macro-F1" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["predict", "--model", "/nonexistent/model", "推进。"], "no model folder there"),
        (["evaluate", "/nonexistent.csv"], "no such file"),
        (["train", "--data", "/nonexistent"], "no such file or folder"),
    ],
)
def test_errors_are_one_line_not_tracebacks(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("plantheme: error: ") and message in err
    assert "Traceback" not in err


def test_evaluate_names_file_and_line_of_a_bad_theme(tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("text,theme\n推进河长制。,ecology\n加强管理。,safety\n", encoding="utf-8")
    assert main(["evaluate", str(bad), "--model", str(tiny_model_dir)]) == 1
    assert f"{bad}:3: field 'theme': unknown theme 'safety'" in capsys.readouterr().err


def test_bad_arguments_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["evaluate"])
    assert exit_info.value.code == 2
