"""The command line as a user runs it: train, evaluate, predict, and errors without tracebacks."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import click
import pytest

from conftest import TINY_ROWS, process_gone
from plantheme.cli import main
from plantheme.themes import THEME_IDS

COMMANDS = ("train", "evaluate", "extract", "predict", "tag", "review", "compare", "serve")


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


def test_train_writes_a_model_and_prints_the_report(
    labels_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "models" / "mine"
    command = ["train", "--data", str(labels_dir), "--out", str(out), "--features", "word", "--folds", "3"]
    assert main([*command, "--show-errors", "2"]) == 0
    printed = capsys.readouterr()
    assert "macro-F1" in printed.out and "confusion" in printed.out
    assert "[1/3]" in printed.err  # progress per candidate on stderr
    assert (out / "model.joblib").is_file() and (out / "model.json").is_file()
    # The rows misclassified in CV, each naming the file and line of its label (no confidence: CV gives themes).
    lines = printed.out.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("misclassified in CV ("))
    shown = lines[at + 1 : at + 3]
    assert len(shown) == 2 and all(" -> " in line for line in shown)
    for line in shown:
        wrong, where, text = line.split(" | ")
        truth, predicted = wrong.split(" -> ")
        assert truth != predicted and predicted in THEME_IDS
        file, _, number = where.rpartition(":")
        with open(file, encoding="utf-8-sig", newline="") as handle:
            row = list(csv.reader(handle))[int(number) - 1]
        assert (row[0], row[1]) == (text, truth)


def test_predict_and_evaluate(
    tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
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
        "\n".join(
            json.dumps({"text": t, "theme": th}, ensure_ascii=False) for th, rows in TINY_ROWS.items() for t in rows[:2]
        ),
        encoding="utf-8",
    )
    assert main(["evaluate", str(test_file), "--model", str(tiny_model_dir), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n"] == 16
    assert {"accuracy", "macro_f1", "per_theme", "confusion"} <= set(report)
    assert main(["evaluate", str(test_file), "--model", str(tiny_model_dir)]) == 0
    assert "macro-F1" in capsys.readouterr().out


def test_character_model_commands_use_its_arrays(
    tiny_char_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """predict and evaluate (sentences, documents) run on model.npz and give what the pickle gives."""
    from plantheme.model import persistence
    from plantheme.training.evaluate import evaluate_documents, evaluate_model
    from plantheme.training.labels import read_labelled_file, read_span_labels

    full, _ = persistence.load_model(tiny_char_model_dir)

    def refuse(model_dir: Path) -> None:
        raise AssertionError("the pickle was loaded")

    monkeypatch.setattr(persistence, "load_model", refuse)
    texts = [t for rows in TINY_ROWS.values() for t in rows[:2]]
    assert main(["predict", "--model", str(tiny_char_model_dir), *texts]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        json.dumps({"text": t, **p.to_dict()}, ensure_ascii=False) for t, p in zip(texts, full.predict(texts))
    ]

    labelled = tmp_path / "test.jsonl"
    labelled.write_text(
        "\n".join(
            json.dumps({"text": t, "theme": th}, ensure_ascii=False) for th, rows in TINY_ROWS.items() for t in rows[:2]
        ),
        encoding="utf-8",
    )
    assert main(["evaluate", str(labelled), "--model", str(tiny_char_model_dir), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    rows = [row for row in read_labelled_file(labelled) if not isinstance(row, str)]
    expected = evaluate_model(full, rows).to_dict()
    assert {k: report[k] for k in expected} == json.loads(json.dumps(expected))

    docs = tmp_path / "docs"
    docs.mkdir()
    text = "全面落实河长制，推进流域水环境综合治理。\n新建幼儿园2所，改善义务教育办学条件。"
    (docs / "a.txt").write_text(text, encoding="utf-8")
    spans = tmp_path / "spans.csv"
    second = text.index("新建")
    spans.write_text(
        f"path,start,end,theme\na.txt,0,{second - 1},ecology\na.txt,{second},{len(text)},welfare\n", encoding="utf-8"
    )
    assert main(["evaluate", str(spans), "--root", str(docs), "--model", str(tiny_char_model_dir), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    expected = evaluate_documents(full, read_span_labels(spans), lambda path: (docs / path).read_text(encoding="utf-8"))
    assert report["n"] == 2
    assert {k: report[k] for k in expected.to_dict()} == json.loads(json.dumps(expected.to_dict()))


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


def test_evaluate_names_file_and_line_of_a_bad_theme(
    tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("text,theme\n推进河长制。,ecology\n加强管理。,safety\n", encoding="utf-8")
    assert main(["evaluate", str(bad), "--model", str(tiny_model_dir)]) == 1
    assert f"{bad}:3: field 'theme': unknown theme 'safety'" in capsys.readouterr().err


def test_bad_arguments_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate"]) == 2
    err = capsys.readouterr().err
    assert err == "plantheme: error: Missing argument 'FILE'; see 'plantheme evaluate --help'\n"


def test_train_never_overwrites_a_model_unasked(
    labels_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "existing"
    out.mkdir()
    assert main(["train", "--data", str(labels_dir), "--out", str(out), "--features", "char", "--folds", "3"]) == 1
    assert "exists; pass --force" in capsys.readouterr().err
    assert not any(out.iterdir())
    assert (
        main(["train", "--data", str(labels_dir), "--out", str(out), "--features", "char", "--folds", "3", "--force"])
        == 0
    )
    assert (out / "model.json").is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "--jobs", "0"], "'--jobs': 0 is not a positive number"),
        (["train", "--folds", "-1"], "'--folds': -1 is not a number of folds (2 or more)"),
        (["train", "--folds", "1"], "'--folds': 1 is not a number of folds (2 or more)"),
        (["train", "--jobs", "x"], "'--jobs': 'x' is not a whole number"),
        (["train", "--show-errors", "-3"], "'--show-errors': -3 is not a count (0 or more)"),
        (["train", "--pseudo-threshold", "0"], "'--pseudo-threshold': 0 is not in (0, 1]"),
        (["train", "--pseudo-weight", "1.5"], "'--pseudo-weight': 1.5 is not in (0, 1]"),
        (["train", "--pseudo-weight", "nan"], "'--pseudo-weight': nan is not in (0, 1]"),
        (["train", "--features", "words"], "'--features': 'words' is not one of"),
        (["tag", "docs", "--jobs", "-1"], "'--jobs': -1 is not a positive number"),
        (["tag", "docs", "--jobs", "0"], "'--jobs': 0 is not a positive number"),
        (["predict", "--evidence", "-1", "推进。"], "'--evidence': -1 is not a count (0 or more)"),
        (["predict", "--jobs", "0"], "'--jobs': 0 is not a positive number"),
        (["serve", "--port", "70000"], "'--port': 70000 is not a port (0 to 65535)"),
        (["serve", "--port", "-1"], "'--port': -1 is not a port (0 to 65535)"),
        (["serve", "--workers", "0"], "'--workers': 0 is not a positive number"),
        (["review", "out", "--labels", "l", "--port", "-1"], "'--port': -1 is not a port (0 to 65535)"),
        (["review", "out", "--labels", "l", "--size", "0"], "'--size': 0 is not a positive number"),
        (["review", "out", "--labels", "l", "--format", "csv"], "'--format': 'csv' is not one of"),
        (["tag", "docs", "--scheduler", "local:0"], "'--scheduler'"),
        (["train", "--jbos", "2"], "No such option '--jbos'. (Did you mean one of: '--folds', '--jobs'?)"),
        (["evaluate"], "Missing argument 'FILE'"),
        (["review", "out"], "Missing option '--labels'"),
        (["nosuch"], "No such command 'nosuch'"),
    ],
)
def test_bad_arguments_are_one_line_naming_the_option(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("plantheme: error: ") and message in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"see 'plantheme {args[0]} --help'" in err or args == ["nosuch"]


@pytest.mark.parametrize(
    ("variable", "value", "command", "message"),
    [
        ("PLANTHEME_PORT", "eighty", ["serve"], "'--port' (env var: 'PLANTHEME_PORT'): 'eighty' is not a whole number"),
        ("PLANTHEME_WORKERS", "0", ["serve"], "'--workers' (env var: 'PLANTHEME_WORKERS'): 0 is not a positive number"),
        (
            "PLANTHEME_REVIEW_SIZE",
            "-5",
            ["review", "out", "--labels", "l"],
            "'--size' (env var: 'PLANTHEME_REVIEW_SIZE'): -5 is not a positive number",
        ),
    ],
)
def test_bad_environment_values_are_refused_by_the_parser(
    variable: str,
    value: str,
    command: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(variable, value)
    assert main(command) == 2
    assert message in capsys.readouterr().err


def test_the_model_variable_is_read_by_every_command(
    tiny_model_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLANTHEME_MODEL_DIR", "/nonexistent/model")
    assert main(["predict", "推进。"]) == 1
    assert "/nonexistent/model: no model folder there" in capsys.readouterr().err
    assert main(["predict", "--model", str(tiny_model_dir), "推进河长制。"]) == 0  # the option wins


@pytest.mark.parametrize(
    ("args", "spread"),
    [
        (["--data", "a", "b", "--out", "m", "c"], ["--data", "a", "--data", "b", "--out", "m", "c"]),
        (["--data=a", "b", "--force"], ["--data=a", "--data", "b", "--force"]),
        (
            ["--unlabelled", "u", "v", "--exclude", "x", "y"],
            ["--unlabelled", "u", "--unlabelled", "v", "--exclude", "x", "--exclude", "y"],
        ),
        (["--data", "a", "--", "b"], ["--data", "a", "--", "b"]),
        (["--out", "a", "b"], ["--out", "a", "b"]),
    ],
)
def test_variadic_options_take_every_value_up_to_the_next_option(args: list[str], spread: list[str]) -> None:
    from plantheme.cli import _spread

    assert _spread(args, {"--data", "--unlabelled", "--exclude"}) == spread


def test_a_stray_value_after_a_plain_option_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--out", "m", "extra"]) == 2
    assert "Got unexpected extra argument (extra)" in capsys.readouterr().err


def test_train_with_documents_reports_the_context_stage(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from conftest import tiny_documents

    folder = tmp_path / "labels"
    folder.mkdir()
    (folder / "docs.documents.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in tiny_documents()), encoding="utf-8"
    )
    with (folder / "rest.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "theme", "source"])
        for theme in ("governance", "other"):
            for i, text in enumerate(TINY_ROWS[theme]):
                writer.writerow([text, theme, f"w{i % 2}"])
    out = tmp_path / "m"
    assert main(["train", "--data", str(folder), "--out", str(out), "--folds", "3"]) == 0
    printed = capsys.readouterr().out
    assert "context stage, grouped CV over 6 documents" in printed
    assert json.loads((out / "model.json").read_text(encoding="utf-8"))["context"]["documents"] == 6


def test_train_reads_span_labels_only_with_their_folder(
    labels_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from plantheme.training.labels import span_sha

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    text = "一、生态环境\n全面落实河长制。\n加强大气污染防治。\n"
    (corpus / "labelled.txt").write_text(text, encoding="utf-8")
    (corpus / "unlabelled.txt").write_text("推进河长制。\n新建幼儿园2所。\n", encoding="utf-8")
    rows = ["path,start,end,theme,genre,sha"]
    for piece in ("全面落实河长制。", "加强大气污染防治。"):
        start = text.index(piece)
        rows.append(f"labelled.txt,{start},{start + len(piece)},ecology,notice,{span_sha(piece)[:12]}")
    (labels_dir / "corpus.spans.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    common = ["train", "--data", str(labels_dir), "--folds", "3", "--no-context"]

    assert main([*common, "--out", str(tmp_path / "m1")]) == 0
    err = capsys.readouterr().err
    assert "not used: 1 span-label file (corpus.spans.csv); give the folder" in err
    card = json.loads((tmp_path / "m1" / "model.json").read_text(encoding="utf-8"))
    assert card["training"]["rows"] == 40

    args = [*common, "--out", str(tmp_path / "m2"), "--span-root", str(corpus), "--unlabelled", str(corpus)]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "read 2 span labels of 1 documents under" in err
    # The labelled document is not also self-trained on.
    assert "read 1 unlabelled documents to self-train on" in err
    card = json.loads((tmp_path / "m2" / "model.json").read_text(encoding="utf-8"))
    assert card["training"]["rows"] == 42

    # With that one excluded too, nothing is left: said, and no self-training in the card.
    exclude = tmp_path / "exclude.txt"
    exclude.write_text("unlabelled.txt\n", encoding="utf-8")
    spans_and_unlabelled = ["--span-root", str(corpus), "--unlabelled", str(corpus), "--exclude", str(exclude)]
    assert main([*common, "--out", str(tmp_path / "m4"), *spans_and_unlabelled]) == 0
    assert "no unlabelled documents left under" in capsys.readouterr().err
    assert not json.loads((tmp_path / "m4" / "model.json").read_text(encoding="utf-8")).get("self_training")

    assert main([*common, "--out", str(tmp_path / "m3"), "--span-root", str(tmp_path / "nowhere")]) == 1
    assert "nowhere: no such folder (--span-root)" in capsys.readouterr().err


def test_extract_prints_the_text_spans_index(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = tmp_path / "plan.txt"
    doc.write_bytes("規(guī)劃先行。\r\n**推进** 河长制。".encode())
    assert main(["extract", str(doc)]) == 0
    assert capsys.readouterr().out == "規(guī)劃先行。\r\n**推进** 河长制。"
    assert main(["extract", str(doc), "--normalized"]) == 0
    assert capsys.readouterr().out == "规划先行。\n推进河长制。"


def test_extract_of_an_unreadable_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = tmp_path / "broken.docx"
    doc.write_bytes(b"not a zip")
    assert main(["extract", str(doc)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("plantheme: error: ") and "broken.docx" in err and "Traceback" not in err


def test_evaluate_span_labels_on_documents(
    tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    text = "全面落实河长制，推进流域水环境综合治理。\n新建幼儿园2所，改善义务教育办学条件。"
    (docs / "a.txt").write_text(text, encoding="utf-8")
    spans = tmp_path / "spans.csv"
    second = text.index("新建")
    spans.write_text(
        f"path,start,end,theme,genre\na.txt,0,{second - 1},ecology,plan\na.txt,{second},{len(text)},welfare,plan\n",
        encoding="utf-8",
    )
    assert main(["evaluate", str(spans), "--model", str(tiny_model_dir)]) == 1
    assert "give their folder with --root" in capsys.readouterr().err
    assert main(["evaluate", str(spans), "--root", str(docs), "--model", str(tiny_model_dir), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n"] == 2 and "sentence_only" in report and set(report["by_genre"]) == {"plan"}


# --- predict and evaluate stream their input; train refuses too little data ----------


class _Stdin:
    """stdin as bytes, with the ``buffer`` the command reads."""

    def __init__(self, data: bytes) -> None:
        import io

        self.buffer = io.BytesIO(data)

    def isatty(self) -> bool:
        return False

    def close(self) -> None:  # a forked worker process closes its stdin
        self.buffer.close()


def test_predict_answers_every_stdin_line_in_order_across_batches(
    tiny_model_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import plantheme.cli as cli_module

    monkeypatch.setattr(cli_module, "PREDICT_BATCH", 3)
    monkeypatch.setattr(cli_module, "PREDICT_MAX_LINE_BYTES", 200)
    lines = [
        "全面落实河长制。".encode(),
        b"",
        "新建幼儿园2所。".encode("gbk"),
        b"   ",
        "推进招商引资。".encode() + b"\r",
        b"x" * 500,
        "加强消防安全。".encode(),
    ]
    monkeypatch.setattr("sys.stdin", _Stdin(b"\n".join(lines)))  # no newline after the last line
    assert main(["predict", "--model", str(tiny_model_dir)]) == 0
    answers = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(answers) == len(lines)
    assert [a.get("text") for a in answers] == [
        "全面落实河长制。",
        None,
        None,
        None,
        "推进招商引资。",
        None,
        "加强消防安全。",
    ]
    assert answers[1] == {"line": 2, "error": "empty line"}
    assert answers[2]["line"] == 3 and answers[2]["error"].startswith("not valid UTF-8")
    assert answers[5] == {"line": 6, "error": "line longer than 200 bytes"}


def test_predict_from_stdin_imports_nothing_it_does_not_need(tiny_char_model_dir: Path) -> None:
    """Reading stdin lines needs none of the document readers (lxml, the HTML parser), numpy.ma
    or importlib.resources: their imports were start-up time of every ``plantheme predict``."""
    import subprocess
    import sys

    code = (
        "import atexit, sys\n"
        "atexit.register(lambda: print('loaded:', [m for m in ('lxml', 'html.parser', 'plantheme.readers.documents',"
        " 'plantheme.readers.record_files', 'numpy.ma', 'importlib.resources') if m in sys.modules],"
        " file=sys.stderr))\n"
        "from plantheme.cli import main\n"
        "sys.exit(main())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, "predict", "--model", str(tiny_char_model_dir)],
        input="全面落实河长制，推进流域水环境综合治理。\n新建幼儿园2所。\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(answers) == 2 and answers[0]["evidence"]  # evidence words: the segmenter ran
    assert "loaded: []" in done.stderr


def test_predict_over_batches_writes_what_one_job_writes_in_any_stdout_encoding(tiny_char_model_dir: Path) -> None:
    """The workers hand their answers over as UTF-8 bytes when stdout writes UTF-8; in any other
    encoding the output is still the text stdout encodes (no UTF-16 byte-order mark per batch)."""
    import os
    import subprocess
    import sys

    texts = [text for rows in TINY_ROWS.values() for text in rows]
    stdin = "".join(f"{texts[i % len(texts)]}\n" for i in range(2500)).encode()  # three batches

    def predict(encoding: str, *jobs: str) -> bytes:
        done = subprocess.run(
            [sys.executable, "-m", "plantheme.cli", "predict", "--model", str(tiny_char_model_dir), *jobs],
            input=stdin,
            capture_output=True,
            env={**os.environ, "PYTHONIOENCODING": encoding},
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    one_job = predict("utf-8", "--jobs", "1")
    assert len(one_job.splitlines()) == 2500
    assert predict("utf-8", "--jobs", "2") == one_job
    text = one_job.decode("utf-8")
    assert predict("utf-16", "--jobs", "2") in (text.encode("utf-16-le"), text.encode("utf-16"))


def _stdin_lines_for_jobs() -> bytes:
    """A few hundred stdin lines: sentences, blank ones, one not UTF-8, one too long, one ending in CR."""
    texts = [text for texts in TINY_ROWS.values() for text in texts]
    lines = [texts[i % len(texts)].encode() for i in range(300)]
    lines[5] = b""
    lines[40] = "新建幼儿园2所。".encode("gbk")
    lines[41] = b"   "
    lines[77] = b"x" * 500
    lines[120] = lines[120] + b"\r"
    lines[200:203] = [b"", b"", b""]
    return b"\n".join(lines) + b"\n"


@pytest.mark.parametrize("model", ["tiny_char_model_dir", "tiny_model_dir"])
def test_predict_jobs_2_writes_the_bytes_of_jobs_1(
    model: str,
    request: pytest.FixtureRequest,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    forks: list[int],
) -> None:
    import plantheme.cli as cli_module

    model_dir = str(request.getfixturevalue(model))
    monkeypatch.setattr(cli_module, "PREDICT_BATCH", 16)  # 19 batches
    monkeypatch.setattr(cli_module, "PREDICT_MAX_LINE_BYTES", 200)
    outputs = {}
    for jobs in ("1", "2"):
        monkeypatch.setattr("sys.stdin", _Stdin(_stdin_lines_for_jobs()))
        assert main(["predict", "--model", model_dir, "--jobs", jobs]) == 0
        outputs[jobs] = capsys.readouterr().out
        assert len(forks) == (0 if jobs == "1" else 2)  # the second run did use two workers
    assert outputs["2"] == outputs["1"]
    answers = [json.loads(line) for line in outputs["1"].splitlines()]
    assert len(answers) == 300 and answers[5] == {"line": 6, "error": "empty line"}
    assert answers[40]["error"].startswith("not valid UTF-8") and answers[77]["line"] == 78
    assert sum("error" in answer for answer in answers) == 7
    assert all(process_gone(pid) for pid in forks)


def _predict_process(model_dir: Path, lines: int) -> tuple[Any, Any]:
    """``plantheme predict --jobs 2`` in a session of its own, fed ``lines`` lines by a thread (stdin kept open)."""
    import subprocess
    import sys
    import threading

    process = subprocess.Popen(
        [sys.executable, "-m", "plantheme", "predict", "--model", str(model_dir), "--jobs", "2"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    texts = [text for texts in TINY_ROWS.values() for text in texts]

    def feed() -> None:
        try:
            process.stdin.write("".join(texts[i % len(texts)] + "\n" for i in range(lines)).encode())
            process.stdin.flush()
        except BrokenPipeError:  # the process has stopped reading
            pass

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    return process, feeder


def _read_lines(stream: Any, count: int) -> None:
    got = 0
    while got < count:
        line = stream.readline()
        assert line, f"output ended after {got} lines"
        got += 1


def test_predict_ctrl_c_stops_the_workers_without_a_traceback(tiny_char_model_dir: Path) -> None:
    import os
    import signal

    process, feeder = _predict_process(tiny_char_model_dir, 3000)
    _read_lines(process.stdout, 2000)  # the second batch came from a worker: the pool runs
    feeder.join(timeout=60)
    os.killpg(process.pid, signal.SIGINT)  # Ctrl-C at a terminal: the whole process group
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130 and err.decode() == "plantheme: interrupted\n"
    assert process_gone(process.pid, group=True)  # no worker left behind


def test_predict_into_a_closed_pipe_stops_the_workers_quietly(tiny_char_model_dir: Path) -> None:
    process, feeder = _predict_process(tiny_char_model_dir, 6000)
    _read_lines(process.stdout, 2000)
    process.stdout.close()  # like `| head`
    feeder.join(timeout=60)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 0 and err.decode() == ""
    assert process_gone(process.pid, group=True)


def test_predict_of_an_empty_stdin_is_one_line(
    tiny_model_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", _Stdin(b""))
    assert main(["predict", "--model", str(tiny_model_dir)]) == 1
    assert "no text to predict" in capsys.readouterr().err


def test_evaluate_shows_the_first_rows_it_gets_wrong_with_their_file_and_line(
    tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from plantheme.model.persistence import load_model

    model, _ = load_model(tiny_model_dir)
    texts = [text for texts in TINY_ROWS.values() for text in texts]
    predicted = [p.theme for p in model.predict(texts, evidence=0)]
    # Every row labelled with a theme the model does not give it, but the first two.
    themes = [p if i < 2 else next(t for t in TINY_ROWS if t != p) for i, p in enumerate(predicted)]
    test_file = tmp_path / "test.csv"
    with test_file.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "theme"])
        writer.writerows(zip(texts, themes))
    wrong = len(texts) - 2

    assert main(["evaluate", str(test_file), "--model", str(tiny_model_dir), "--show-errors", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("misclassified"))
    assert lines[at].startswith(f"misclassified (3 of {wrong})")
    shown = lines[at + 1 :]
    assert len(shown) == 3
    for k, line in enumerate(shown):  # rows 3, 4 and 5 of the file (lines 4-6), in order
        truth, _, rest = line.partition(" -> ")
        assert truth == themes[k + 2] and rest.startswith(predicted[k + 2])
        assert f"| {test_file}:{k + 4} | {texts[k + 2]}" in line

    assert main(["evaluate", str(test_file), "--model", str(tiny_model_dir), "--json", "--show-errors", "50"]) == 0
    errors = json.loads(capsys.readouterr().out)["errors"]
    assert len(errors) == wrong
    assert [(e["truth"], e["predicted"], e["text"]) for e in errors] == list(zip(themes[2:], predicted[2:], texts[2:]))
    assert "document" not in errors[0] and "alone" not in errors[0]  # no span, no context stage here

    assert main(["evaluate", str(test_file), "--model", str(tiny_model_dir), "--json"]) == 0
    assert "errors" not in json.loads(capsys.readouterr().out)


def test_evaluate_streams_in_batches_and_scores_as_the_whole_file(
    tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from plantheme.training.evaluate import evaluate_model, evaluate_stream
    from plantheme.training.labels import read_labelled_file
    from plantheme.model.persistence import load_model

    test_file = tmp_path / "test.csv"
    with test_file.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "theme"])
        themes = list(TINY_ROWS)
        for k, (theme, texts) in enumerate(TINY_ROWS.items()):
            for i, text in enumerate(texts):
                # Every third label wrong (the next theme's), so that the scores are not all 1.
                writer.writerow([text, themes[(k + 1) % len(themes)] if i % 3 == 0 else theme])
    rows = read_labelled_file(test_file)
    model, _ = load_model(tiny_model_dir)
    whole = evaluate_model(model, rows)
    assert 0 < whole.accuracy < 1
    for batch in (1, 7, 1000):
        assert evaluate_stream(model, iter(rows), batch_size=batch).report == whole
    assert main(["evaluate", str(test_file), "--model", str(tiny_model_dir), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["confusion"] == whole.confusion and printed["macro_f1"] == pytest.approx(whole.macro_f1)


def test_training_on_two_rows_is_one_clear_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "two.csv"
    data.write_text("text,theme,source\n推进河长制。,ecology,a\n新建幼儿园。,welfare,b\n", encoding="utf-8")
    assert main(["train", "--data", str(data), "--out", str(tmp_path / "m")]) == 1
    err = capsys.readouterr().err
    assert "need at least 10 rows and 2 themes" in err and "found 2 rows" in err and "Traceback" not in err


def test_version_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    from plantheme import __version__

    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"plantheme {__version__}\n"


def test_evaluate_a_gbk_csv_and_refuse_a_bad_header_in_one_line(
    tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "gbk.csv"
    good.write_bytes("text,theme\n全面落实河长制。,ecology\n新建幼儿园2所。,welfare\n".encode("gbk"))
    assert main(["evaluate", str(good), "--model", str(tiny_model_dir), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["n"] == 2
    bad = tmp_path / "bad.csv"
    bad.write_text("句子,主题\n" + "推进河长制。,ecology\n" * 30, encoding="utf-8")
    assert main(["train", "--data", str(bad), "--out", str(tmp_path / "m")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "found '句子', '主题', expected text, theme" in err


# --- compare -------------------------------------------------------------------------------

REPORT_2019 = "全面落实河长制，推进流域水环境综合治理。\n加快推进污水处理厂建设。\n力争新培育专精特新企业3家。\n"
REPORT_2024 = "力争新培育专精特新企业3家、高新技术企业5家。\n新建幼儿园2所。\n加强消防安全。\n"


@pytest.fixture
def tagged_by_year(tiny_model_dir: Path, tmp_path: Path) -> Path:
    root = tmp_path / "docs"
    for place in ("甲镇", "乙镇", "丙镇"):
        (root / place).mkdir(parents=True)
        (root / place / "report_2019.txt").write_text(REPORT_2019, encoding="utf-8")
        (root / place / "report_2024.txt").write_text(REPORT_2024, encoding="utf-8")
    out = tmp_path / "out"
    assert (
        main(
            [
                "tag",
                str(root),
                "--out",
                str(out),
                "--model",
                str(tiny_model_dir),
                "--jobs",
                "1",
                "--quiet",
                "--meta-pattern",
                r"year=_(\d{4})",
                "--meta-pattern",
                r"(?P<place>^[^/]+)",
            ]
        )
        == 0
    )
    return out


def test_compare_prints_each_theme_with_its_difference(
    tagged_by_year: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["compare", str(tagged_by_year), "year=2019", "year=2024"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "A  year=2019: 3 documents, 9 content sentences"
    assert out[1] == "B  year=2024: 3 documents, 9 content sentences"
    rows = {line.split()[0]: line for line in out[4 : 4 + len(THEME_IDS)]}
    assert list(rows) == list(THEME_IDS)
    assert out[-2].startswith("clear differences (95% interval excludes 0): ")
    assert "no confusion matrix" in out[-1]


def test_compare_json_agrees_with_groups_csv(tagged_by_year: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", str(tagged_by_year), "year=2019", "甲镇/report_2024.txt", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert [t["theme"] for t in result["themes"]] == list(THEME_IDS)
    with (tagged_by_year / "groups.csv").open(encoding="utf-8-sig", newline="") as handle:
        group = next(row for row in csv.DictReader(handle) if (row["field"], row["value"]) == ("year", "2019"))
    with (tagged_by_year / "documents.csv").open(encoding="utf-8-sig", newline="") as handle:
        doc = next(row for row in csv.DictReader(handle) if row["path"] == "甲镇/report_2024.txt")
    for theme in result["themes"]:
        t = theme["theme"]
        assert f"{theme['a']['lo']:.4f}" == group[f"share_{t}_lo"] and f"{theme['b']['hi']:.4f}" == doc[f"share_{t}_hi"]
        d = theme["difference"]
        assert theme["clear"] == (d["lo"] > 0 or d["hi"] < 0)
    assert result["a"] == {"selector": "year=2019", "documents": 3, "content_sentences": 9}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["year=1999", "year=2019"], "no document or group 'year=1999'"),
        (["place=丁镇", "year=2019"], "fields: year, place"),
    ],
)
def test_compare_of_an_unknown_selection_is_one_line(
    tagged_by_year: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main(["compare", str(tagged_by_year), *args]) == 1
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_compare_of_a_folder_that_was_never_tagged_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["compare", str(tmp_path), "a", "b"]) == 1
    assert "manifest.json: not there; give the output folder of `plantheme tag`" in capsys.readouterr().err


def test_train_on_labels_and_review_labels_records_both(labels_dir: Path, tmp_path: Path) -> None:
    from plantheme.review.store import Answer, LabelStore

    mine = tmp_path / "mine"
    store = LabelStore(mine)
    for i, (text, theme) in enumerate(
        [("推进污水管网建设和雨污分流改造。", "ecology"), ("开展养老服务提升行动。", "welfare")]
    ):
        store.add(
            Answer(
                doc="我的文件.txt",
                start=20 * i,
                end=20 * i + len(text),
                text=text,
                answer=theme,
                guess="other",
                who="tester",
                when=f"2026-01-01T00:00:0{i}",
            )
        )
    store.add(
        Answer(
            doc="我的文件.txt",
            start=99,
            end=104,
            text="跳过的句子",
            answer="skip",
            guess="other",
            who="tester",
            when="2026-01-01T00:00:09",
        )
    )
    out = tmp_path / "model"
    assert (
        main(
            [
                "train",
                "--data",
                str(labels_dir),
                str(mine),
                "--out",
                str(out),
                "--features",
                "char",
                "--folds",
                "3",
                "--no-context",
            ]
        )
        == 0
    )
    training = json.loads((out / "model.json").read_text(encoding="utf-8"))["training"]
    assert training["data"] == [str(labels_dir), str(mine)]
    assert training["rows"] == sum(len(texts) for texts in TINY_ROWS.values()) + 2  # the skip is no row
    assert "review-labels.csv" in {entry["file"] for entry in training["files"]}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["review", "--labels", "x"], "give the output folder of `plantheme tag`"),
        (["review", "/nonexistent-out", "--labels", "x"], "/nonexistent-out: not a `plantheme tag` output folder"),
        (["review", "--labels", "x", "--import", "/nonexistent.json"], "--import /nonexistent.json: no such file"),
    ],
)
def test_review_errors_are_one_line(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_review_exports_the_queue(
    review_tag_output: Path, tiny_char_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "queue.json"
    assert (
        main(
            [
                "review",
                str(review_tag_output),
                "--labels",
                str(tmp_path / "mine"),
                "--size",
                "5",
                "--export",
                str(out),
                "--format",
                "label-studio",
                "--model",
                str(tiny_char_model_dir),
            ]
        )
        == 0
    )
    assert "wrote 5 sentences" in capsys.readouterr().out
    tasks = json.loads(out.read_text(encoding="utf-8"))
    assert len(tasks) == 5 and all(task["data"]["doc"].endswith(".txt") for task in tasks)


def test_help_names_exit_statuses_file_types_and_every_variable(capsys: pytest.CaptureFixture[str]) -> None:
    from plantheme.readers.documents import SUPPORTED_SUFFIXES
    from plantheme.settings import Settings

    for command in ([], *([name] for name in COMMANDS)):
        assert main([*command, "--help"]) == 0
        text = " ".join(capsys.readouterr().out.split())  # the epilog is wrapped
        assert text.startswith(" ".join(["Usage: plantheme", *command]))
        assert "exit status: 0 done; 1 an error" in text and "130 interrupted" in text
        assert all(suffix in text for suffix in SUPPORTED_SUFFIXES) and ".jsonl" in text
        assert all(f"PLANTHEME_{name.upper()}" in text for name in Settings.model_fields)


def test_without_a_command_the_help_goes_to_stderr_with_status_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    printed = capsys.readouterr()
    assert printed.out == "" and printed.err.startswith("Usage: plantheme [OPTIONS] COMMAND")
    assert [
        line.split()[0]
        for line in printed.err.split("Commands:")[1].splitlines()
        if line.startswith("  ") and not line.startswith("   ")
    ] == list(COMMANDS)


@pytest.mark.parametrize(
    ("command", "shown"),
    [
        (["serve"], ["--port PORT", "[env var: PLANTHEME_PORT; default: {port};"]),
        (["serve"], ["--host HOST", "[env var: PLANTHEME_HOST; default: {host}]"]),
        (["serve"], ["--workers N", "[env var: PLANTHEME_WORKERS; default: {workers};"]),
        (["review"], ["--size N", "[env var: PLANTHEME_REVIEW_SIZE; default: {review_size};"]),
        (["review"], ["--port P", "[env var: PLANTHEME_REVIEW_PORT; default: {review_port};"]),
        (
            ["predict"],
            [
                "--model DIR",
                "[env var: PLANTHEME_MODEL_DIR; default: {model_dir}]",
                "--evidence N",
                "[default: 5; x>=0]",
                "--jobs N",
                "[default: (all cores); x>=1]",
            ],
        ),
        (["tag"], ["--jobs N", "[default: (all cores); x>=1]"]),
        (["train"], ["--jobs N", "[default: 1; x>=1]", "--folds N", "[default: 5; x>=2]", "--data DIR..."]),
    ],
)
def test_help_shows_defaults_from_the_settings_and_their_variables(
    command: list[str], shown: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    from plantheme.settings import Settings

    defaults = {name: field.default for name, field in Settings.model_fields.items()}
    assert main([*command, "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert all(" ".join(piece.format(**defaults).split()) in text for piece in shown)


def _command(name: str) -> click.Command:
    from plantheme.cli import cli

    found = cli.get_command(click.Context(cli), name)
    assert found is not None
    return found


def _readme_usages() -> list[tuple[str, str]]:
    """(command, usage) of every `plantheme COMMAND ...` heading and usage block in the README's Command line."""
    from plantheme.settings import REPO_ROOT

    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Command line\n")[1].split("\n## ")[0]
    import re

    usages = re.findall(r"^### `plantheme (\w+)([^`]*)`", section, flags=re.M)
    # A usage block: a line `plantheme COMMAND ...` (no $ prompt), its continuation lines indented.
    usages += [
        (command, rest.replace("\n", " "))
        for command, rest in re.findall(r"^plantheme (\w+)((?: [^\n]*)(?:\n {8,}[^\n]*)*)", section, flags=re.M)
    ]
    return usages


def test_every_readme_usage_names_options_the_command_has(capsys: pytest.CaptureFixture[str]) -> None:
    import re

    usages = _readme_usages()
    assert {command for command, _ in usages} == set(COMMANDS)
    for command, usage in usages:
        options = {name: param for param in _command(command).params for name in param.opts}
        for name, metavar in re.findall(r"\[?(--[\w-]+)(?:[ =]([A-Z][\w.,=]*(?: \.\.\.)?))?", usage):
            assert name in options, f"README: plantheme {command} {name}: no such option"
            if metavar and metavar.isupper():
                assert metavar.rstrip(" .") == options[name].metavar.rstrip("."), (command, name, metavar)


@pytest.mark.parametrize("command", ["tag", "review", "serve"])
def test_the_full_readme_usage_blocks_list_every_option(command: str) -> None:
    block = " ".join(usage for name, usage in _readme_usages() if name == command)
    missing = [
        opt for param in _command(command).params for opt in param.opts[:1] if opt.startswith("--") and opt not in block
    ]
    assert not missing, f"README's usage of plantheme {command} lacks {missing}"


def test_python_m_plantheme_is_the_command_line() -> None:
    import subprocess
    import sys

    from plantheme import __version__

    done = subprocess.run([sys.executable, "-m", "plantheme", "--version"], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout, done.stderr) == (0, f"plantheme {__version__}\n", "")
    done = subprocess.run(
        [sys.executable, "-m", "plantheme", "train", "--jobs", "0"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2 and done.stdout == ""
    assert (
        done.stderr == "plantheme: error: Invalid value for '--jobs': 0 is not a positive number;"
        " see 'plantheme train --help'\n"
    )
