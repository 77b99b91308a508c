"""`plantheme tag` under attack: bad names, failing parsers, links, crashes, concurrent runs,
full disks, signals, and files of many documents.

Every case is built here from generated files; the model is the tiny test model.
"""

from __future__ import annotations

import csv
import errno
import json
import os
import re
import select
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import CRASHING_SITECUSTOMIZE

from plantheme.tagging import corpus_tagging, document_jobs, tag_outputs
from plantheme.cli import main
from plantheme.tagging.corpus_tagging import CACHE_FOLDER, TagOptions, tag_folder
from plantheme.readers.record_files import RecordOptions
from plantheme.tagging.report_html import unpack_block
from plantheme.tagging.run_lock import lock_output_folder
from plantheme.tagging.tag_outputs import GENERATIONS, OUTPUT_NAMES
from plantheme.themes import THEME_IDS

PLAN = (
    "力争新培育专精特新企业3家、高新技术企业5家。全面落实河长制，推进流域水环境综合治理。\n"
    "新建幼儿园2所，改善义务教育办学条件。压实安全生产责任，开展燃气和消防隐患排查整治。\n"
)


def run(folder: Path, out: Path, model_dir: Path, **options: object) -> corpus_tagging.TagRunResult:
    return tag_folder(TagOptions(folder=folder, out_dir=out, model_dir=model_dir, **options))  # type: ignore[arg-type]


def manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text(encoding="utf-8"))


def entries(out: Path) -> dict[str, dict]:
    return {entry["path"]: entry for entry in manifest(out)["files"]}


def csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def write(root: Path, name: str | bytes, text: str = PLAN) -> Path:
    path = Path(os.fsdecode(os.path.join(os.fsencode(root), os.fsencode(name))))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def cli(folder: Path, out: Path, model_dir: Path, *extra: str) -> int:
    return main(["tag", str(folder), "--out", str(out), "--model", str(model_dir), "--jobs", "1", "--quiet", *extra])


# --- 1. one file never takes the run down --------------------------------------------


def test_a_file_name_that_is_not_utf8_is_tagged_and_named_readably(tiny_model_dir, tmp_path: Path) -> None:
    root = tmp_path / "docs"
    write(root, b"bad\xffname.txt")
    write(root, "good.txt")
    out = tmp_path / "out"
    for _ in range(2):  # the re-run (cache lookup by that name) too
        result = run(root, out, tiny_model_dir, jobs=1)
        assert result.exit_status == 0 and result.totals.tagged == 2
    entry = entries(out)["bad\\xffname.txt"]
    assert entry["status"] == "tagged" and entry["reused"] is True
    assert bytes.fromhex(entry["path_hex"]) == b"bad\xffname.txt"
    docs = {row["doc"] for row in csv_rows(out / "sentences.csv")}
    assert docs == {"bad\\xffname.txt", "good.txt"}
    # In the report's embedded JSON the backslash of \xff is escaped.
    assert json.dumps("bad\\xffname.txt") in (out / "report.html").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("target", "error"),
    [
        ("extract_text", RuntimeError("parser bug")),
        ("extract_text", MemoryError()),
        ("tag_text", IndexError("tagger bug")),
        ("render_sentences", UnicodeEncodeError("utf-8", "x", 0, 1, "surrogates not allowed")),
    ],
)
def test_any_exception_on_one_file_is_a_failed_entry(
    tiny_model_dir, tmp_path: Path, monkeypatch, target: str, error: BaseException
) -> None:
    root = tmp_path / "docs"
    write(root, "a.txt")
    write(root, "boom.txt", PLAN + "爆炸。\n")
    write(root, "c.txt")
    real = getattr(document_jobs, target)  # what a worker calls

    def sometimes(*args, **kwargs):  # type: ignore[no-untyped-def]
        if any("爆炸" in str(a) if not isinstance(a, bytes) else "爆炸".encode() in a for a in args):
            raise error
        return real(*args, **kwargs)

    monkeypatch.setattr(document_jobs, target, sometimes)
    out = tmp_path / "out"
    result = run(root, out, tiny_model_dir, jobs=1)
    assert result.exit_status == 1
    found = entries(out)
    assert found["boom.txt"]["status"] == "failed"
    assert type(error).__name__ in found["boom.txt"]["reason"]
    assert found["a.txt"]["status"] == found["c.txt"]["status"] == "tagged"
    monkeypatch.setattr(document_jobs, target, real)
    assert run(root, out, tiny_model_dir, jobs=1).exit_status == 0  # and the next run is clean


# --- 2. links and special files -----------------------------------------------------------


def test_links_outside_are_skipped_and_fifos_never_opened(tiny_model_dir, tmp_path: Path) -> None:
    root = tmp_path / "docs"
    write(root, "sub/in.txt")
    secret = write(tmp_path, "secret.txt", "机密内容不得读取。")
    os.symlink(secret, root / "secret-link.txt")
    os.symlink("/proc/self/environ", root / "environ.txt")
    os.symlink("sub/in.txt", root / "inside-link.txt")
    os.mkfifo(root / "pipe.txt")  # opening it would block the run for ever
    out = tmp_path / "out"
    result = run(root, out, tiny_model_dir, jobs=1)
    found = entries(out)
    assert found["secret-link.txt"]["status"] == "skipped" and "outside" in found["secret-link.txt"]["reason"]
    assert found["environ.txt"]["status"] == "skipped"
    assert found["pipe.txt"]["status"] == "skipped" and "regular" in found["pipe.txt"]["reason"]
    assert found["inside-link.txt"]["status"] == "tagged"
    assert "机密" not in (out / "sentences.jsonl").read_text(encoding="utf-8")
    assert result.exit_status == 0

    run(root, tmp_path / "out2", tiny_model_dir, jobs=1, follow_links=True)
    assert entries(tmp_path / "out2")["secret-link.txt"]["status"] == "tagged"


# --- 3. CSV fields -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["new\nline.txt", "carriage\rreturn.txt", 'quote",comma.txt'])
def test_names_with_line_breaks_quotes_and_commas_stay_one_csv_field(tiny_model_dir, tmp_path: Path, name: str) -> None:
    root = tmp_path / "docs"
    write(root, name)
    write(root, "plain.txt")
    out = tmp_path / "out"
    run(root, out, tiny_model_dir, jobs=1)
    sentences = csv_rows(out / "sentences.csv")
    jsonl = [json.loads(line) for line in (out / "sentences.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [row["doc"] for row in sentences] == [line["doc"] for line in jsonl]
    assert {row["doc"] for row in sentences} == {name, "plain.txt"}
    assert {row["path"] for row in csv_rows(out / "documents.csv")} == {name, "plain.txt"}


# --- 4. the output folder switches as a whole -------------------------------------------


def _visible(out: Path) -> set[Path]:
    """The generation folders the five outputs resolve to (one, or none before the first run)."""
    return {Path(os.path.realpath(out / name)).parent for name in OUTPUT_NAMES if (out / name).exists()}


def test_a_crash_at_any_step_leaves_the_old_outputs_or_the_new_ones(
    tiny_model_dir, tmp_path: Path, monkeypatch
) -> None:
    root = tmp_path / "docs"
    write(root, "a.txt")
    out = tmp_path / "out"
    run(root, out, tiny_model_dir, jobs=1)
    write(root, "b.txt")
    seen: list[tuple[str, int]] = []

    def check(step: str) -> None:
        # What a reader (or the next run, after kill -9 here) would find at this moment.
        (generation,) = _visible(out)
        files = manifest(out)["totals"]["files"]
        assert files in (1, 2)
        assert len({row["path"] for row in csv_rows(out / "documents.csv")}) == files
        assert {
            json.loads(line)["doc"] for line in (out / "sentences.jsonl").read_text(encoding="utf-8").splitlines()
        } == ({"a.txt"} if files == 1 else {"a.txt", "b.txt"})
        seen.append((step, files))

    for name in ("sync_file", "_replace_link", "remove_stale_generations"):
        real = getattr(tag_outputs, name)
        monkeypatch.setattr(
            tag_outputs, name, lambda *a, _real=real, _name=name, **k: (check(_name), _real(*a, **k))[1]
        )
    real_rename = os.rename
    monkeypatch.setattr(tag_outputs.os, "rename", lambda *a: (check("rename"), real_rename(*a))[1])
    run(root, out, tiny_model_dir, jobs=1)
    monkeypatch.undo()
    check("after")
    # Before the switch the old outputs, from it on the new ones.
    assert seen[0] == ("sync_file", 1) and ("rename", 1) in seen
    assert seen[-1] == ("after", 2) and ("remove_stale_generations", 2) in seen
    assert [files for _, files in seen] == sorted(files for _, files in seen)
    assert len(list((out / GENERATIONS).iterdir())) == 1


def test_a_killed_run_leaves_the_previous_outputs_and_its_leftovers_are_removed(tiny_model_dir, tmp_path: Path) -> None:
    root = tmp_path / "docs"
    write(root, "a.txt")
    out = tmp_path / "out"
    run(root, out, tiny_model_dir, jobs=1)
    before = {name: (out / name).read_bytes() for name in OUTPUT_NAMES}
    # What kill -9 in the middle of writing leaves: a partial generation and cache temporaries.
    partial = out / GENERATIONS / "0123456789ab.partial"
    partial.mkdir()
    (partial / "documents.csv").write_text("half", encoding="utf-8")
    (out / CACHE_FOLDER / ".123.abcd.jsonl.tmp").write_bytes(b"half")
    assert {name: (out / name).read_bytes() for name in OUTPUT_NAMES} == before
    run(root, out, tiny_model_dir, jobs=1)
    assert not partial.exists()
    assert not [p for p in (out / CACHE_FOLDER).iterdir() if p.name.endswith(".tmp")]


def test_an_output_folder_of_an_older_version_is_converted(tiny_model_dir, tmp_path: Path) -> None:
    root = tmp_path / "docs"
    write(root, "a.txt")
    out = tmp_path / "out"
    out.mkdir()
    for name in OUTPUT_NAMES:
        (out / name).write_text("old", encoding="utf-8")
    run(root, out, tiny_model_dir, jobs=1)
    assert all((out / name).is_symlink() for name in OUTPUT_NAMES)
    assert manifest(out)["totals"]["tagged"] == 1


# --- 5. one run per output folder -----------------------------------------------------------


def test_a_second_run_into_the_same_folder_exits_2_naming_the_holder(tiny_model_dir, tmp_path: Path, capsys) -> None:
    root = tmp_path / "docs"
    write(root, "a.txt")
    out = tmp_path / "out"
    out.mkdir()
    with lock_output_folder(out):
        assert cli(root, out, tiny_model_dir) == 2
        err = capsys.readouterr().err
        assert f"process {os.getpid()}" in err and "--wait" in err and "Traceback" not in err
        assert not (out / "manifest.json").exists()
    assert cli(root, out, tiny_model_dir) == 0


# --- 6. full disks and read-only folders ----------------------------------------------------


def _no_space(*args, **kwargs):  # type: ignore[no-untyped-def]
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.mark.parametrize(
    ("target", "attribute"),
    [
        (corpus_tagging, "write_documents_csv"),
        (corpus_tagging, "write_manifest"),
        (corpus_tagging, "publish_generation"),
        (corpus_tagging.TagCache, "write"),
        (corpus_tagging, "new_generation"),
    ],
)
def test_a_full_disk_is_one_line_and_keeps_the_previous_outputs(
    tiny_model_dir, tmp_path: Path, monkeypatch, capsys, target, attribute: str
) -> None:
    root = tmp_path / "docs"
    write(root, "a.txt")
    out = tmp_path / "out"
    assert cli(root, out, tiny_model_dir) == 0
    before = {name: (out / name).read_bytes() for name in OUTPUT_NAMES}
    write(root, "b.txt")
    capsys.readouterr()
    monkeypatch.setattr(target, attribute, _no_space)
    assert cli(root, out, tiny_model_dir) == 1
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "No space left on device" in err and "Traceback" not in err
    assert {name: (out / name).read_bytes() for name in OUTPUT_NAMES} == before
    assert [p.name for p in (out / GENERATIONS).iterdir()] == [os.path.basename(os.readlink(out / ".current"))]
    assert not [p for p in (out / CACHE_FOLDER).iterdir() if p.name.endswith(".tmp")]


def test_a_read_only_output_folder_is_one_line(tiny_model_dir, tmp_path: Path, capsys, monkeypatch) -> None:
    root = tmp_path / "docs"
    write(root, "a.txt")
    out = tmp_path / "out"
    out.mkdir()
    if os.geteuid() == 0:
        # root writes anywhere: make the refusal happen where chmod would.
        real_open = os.open

        def refuse(path, flags, *args, **kwargs):  # type: ignore[no-untyped-def]
            if str(path).startswith(str(out)) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
            return real_open(path, flags, *args, **kwargs)

        monkeypatch.setattr(os, "open", refuse)
    else:
        out.chmod(0o555)
    try:
        assert cli(root, out, tiny_model_dir) == 1
    finally:
        out.chmod(0o755)
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "Permission denied" in err and "Traceback" not in err


# --- 6. signals: no worker survives its run ---------------------------------------------------

_SITECUSTOMIZE = """
import os, threading
markers = os.environ.get("PLANTHEME_TEST_MARKERS")
if markers:
    import plantheme.tagging.document_jobs as document_jobs

    def blocking_tag_file(job, config):
        # Tell the test (a FIFO it reads) which process is tagging; lines this short are written whole.
        with open(markers, "w") as fifo:
            fifo.write(f"{os.getpid()}\\n")
        threading.Event().wait()  # a document that takes for ever: the run is interrupted while tagging

    document_jobs.tag_file = blocking_tag_file
"""


def _children(pid: int) -> set[int]:
    """Every live descendant of ``pid`` (from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != "Z":
                parents[int(entry.name)] = int(fields[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _read_when_ready(fd: int, timeout: float = 60.0) -> bytes:
    """What is written to ``fd`` once something is (empty after ``timeout`` seconds of nothing)."""
    readable, _, _ = select.select([fd], [], [], timeout)
    return os.read(fd, 65536) if readable else b""


def _wait_for_exit(pid: int, timeout: float = 60.0) -> bool:
    """True once process ``pid`` has ended (a pidfd becomes readable when it does)."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        readable, _, _ = select.select([fd], [], [], timeout)
        return bool(readable) or not _alive(pid)
    finally:
        os.close(fd)


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_an_interrupted_run_leaves_no_worker_and_no_temporary_file(
    tiny_model_dir, tmp_path: Path, signum: int, status: int
) -> None:
    root = tmp_path / "docs"
    for i in range(6):
        write(root, f"d{i}.txt")
    out = tmp_path / "out"
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(_SITECUSTOMIZE, encoding="utf-8")
    markers = tmp_path / "markers"
    os.mkfifo(markers)
    # Opened for reading and writing: never blocks, and reads wait for a worker's line.
    marker_fd = os.open(markers, os.O_RDWR)
    env = {
        **os.environ,
        "PLANTHEME_TEST_MARKERS": str(markers),
        "PYTHONPATH": os.pathsep.join([str(site), *filter(None, [os.environ.get("PYTHONPATH")])]),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "plantheme.cli",
            "tag",
            str(root),
            "--out",
            str(out),
            "--model",
            str(tiny_model_dir),
            "--jobs",
            "2",
            "--quiet",
        ],
        env=env,
        stderr=subprocess.PIPE,
    )
    try:
        tagging = {int(line) for line in _read_when_ready(marker_fd).split()}
        assert tagging, "no worker started tagging"
        descendants = _children(process.pid)
        assert tagging <= descendants
        process.send_signal(signum)
        _, err = process.communicate(timeout=60)
    finally:
        os.close(marker_fd)
        if process.poll() is None:
            process.kill()
    assert process.returncode == status, err.decode()
    assert b"Traceback" not in err
    # The run stops its workers before it exits (left alone, they would only notice later).
    assert not [pid for pid in tagging if _alive(pid)], "a worker outlived its run"
    assert all(_wait_for_exit(pid) for pid in descendants), "a helper process outlived its run"
    assert not list((out / GENERATIONS).iterdir())
    assert (
        not [p for p in (out / CACHE_FOLDER).iterdir() if p.name.endswith(".tmp")]
        if (out / CACHE_FOLDER).exists()
        else True
    )


@pytest.mark.slow  # worker processes started twice: several seconds
def test_a_worker_process_that_dies_fails_only_its_file(tiny_model_dir, tmp_path: Path) -> None:
    root = tmp_path / "docs"
    for name in ("a.txt", "b.txt", "crash.txt", "d.txt", "e.txt"):
        write(root, name)
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(CRASHING_SITECUSTOMIZE, encoding="utf-8")
    env = {
        **os.environ,
        "PLANTHEME_TEST_CRASH": "1",
        "PYTHONPATH": os.pathsep.join([str(site), *filter(None, [os.environ.get("PYTHONPATH")])]),
    }
    out = tmp_path / "out"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "plantheme.cli",
            "tag",
            str(root),
            "--out",
            str(out),
            "--model",
            str(tiny_model_dir),
            "--jobs",
            "2",
            "--quiet",
        ],
        env=env,
        capture_output=True,
        timeout=300,
    )
    assert done.returncode == 1, done.stderr.decode()
    assert b"Traceback" not in done.stderr
    found = entries(out)
    assert found["crash.txt"]["status"] == "failed" and "worker process died" in found["crash.txt"]["reason"]
    assert all(found[name]["status"] == "tagged" for name in ("a.txt", "b.txt", "d.txt", "e.txt"))


# --- 8. files of many documents --------------------------------------------------------------


def _records(path: Path, *records: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in records),
        encoding="utf-8",
    )


def test_jsonl_records_are_documents_of_their_own(tiny_model_dir, tmp_path: Path) -> None:
    root = tmp_path / "docs"
    _records(
        root / "reports.jsonl",
        {"title": "甲", "content": PLAN, "year": 2020},
        "{broken",
        {"title": "丙", "year": 2022},
        {"title": "丁", "content": "全面落实河长制。", "year": 2023},
    )
    _records(root / "meta.jsonl", {"filename": "a.txt", "year": 2020})
    (root / "_metadata.csv").write_text("filename,title\na.txt,甲\n", encoding="utf-8")
    write(root, "plain.txt")
    out = tmp_path / "out"
    options = RecordOptions(meta_fields=("title", "year"))
    result = run(root, out, tiny_model_dir, jobs=2, records=options)
    found = entries(out)
    assert found["reports.jsonl#1"]["status"] == "tagged"
    assert found["reports.jsonl#2"]["status"] == "failed" and "line 2" in found["reports.jsonl#2"]["reason"]
    assert found["reports.jsonl#3"]["reason"] == "line 3: missing field 'content'"
    assert found["reports.jsonl#4"]["meta"] == {"title": "丁", "year": "2023"}
    assert found["meta.jsonl"]["status"] == "skipped" and "content, text, 正文" in found["meta.jsonl"]["reason"]
    assert found["_metadata.csv"]["status"] == "skipped" and "--text-field" in found["_metadata.csv"]["reason"]
    assert result.totals.tagged == 3 and result.totals.failed == 2
    docs = [json.loads(line)["doc"] for line in (out / "sentences.jsonl").read_text(encoding="utf-8").splitlines()]
    assert set(docs) == {"plain.txt", "reports.jsonl#1", "reports.jsonl#4"}
    rows = {row["path"]: row for row in csv_rows(out / "documents.csv")}
    assert rows["reports.jsonl#1"]["title"] == "甲" and rows["reports.jsonl#1"]["year"] == "2020"
    assert int(rows["reports.jsonl#1"]["sentences"]) == docs.count("reports.jsonl#1")
    report = (out / "report.html").read_text(encoding="utf-8")
    texts = [text for block in re.findall(r'id="s-\d+">(.*?)</script>', report) for text in unpack_block(block)["x"]]
    assert "reports.jsonl#4" in report and "全面落实河长制。" in texts

    again = run(root, out, tiny_model_dir, jobs=1, records=options)
    assert again.totals.reused == 3 and (out / "sentences.jsonl").read_text(encoding="utf-8").count("\n") == len(docs)
    other = run(root, out, tiny_model_dir, jobs=1, records=RecordOptions(id_field="title"))
    assert other.totals.reused == 1  # the options change the records' output: tagged again
    assert "reports.jsonl#丁" in entries(out)


def test_a_csv_with_its_text_column_named(tiny_model_dir, tmp_path: Path) -> None:
    root = tmp_path / "docs"
    root.mkdir()
    (root / "rows.csv").write_text('编号,正文\nA,"' + PLAN + '"\nB,全面落实河长制。\n', encoding="utf-8")
    (root / "_metadata.csv").write_text("filename,title\na.txt,甲\n", encoding="utf-8")
    out = tmp_path / "out"
    run(root, out, tiny_model_dir, jobs=1, records=RecordOptions(text_field="正文", id_field="编号"))
    found = entries(out)
    assert found["rows.csv#A"]["status"] == found["rows.csv#B"]["status"] == "tagged"
    assert found["_metadata.csv"]["status"] == "skipped" and "no column '正文'" in found["_metadata.csv"]["reason"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--meta-fields", "status"], "already a column"),
        (["--meta-fields", "a,a"], "named twice"),
        (["--text-field", " "], "--text-field"),
    ],
)
def test_record_options_are_checked(tiny_model_dir, tmp_path: Path, capsys, extra: list[str], message: str) -> None:
    root = tmp_path / "docs"
    write(root, "a.txt")
    assert cli(root, tmp_path / "out", tiny_model_dir, *extra) == 2
    assert message in capsys.readouterr().err


# --- 9. layers ---------------------------------------------------------------------------


def test_the_library_holds_no_command_line_code() -> None:
    import plantheme.tagging.corpus_tagging
    import plantheme.tagging.tagging

    for module in (plantheme.tagging.corpus_tagging, plantheme.tagging.tagging):
        source = Path(module.__file__).read_text(encoding="utf-8")
        assert "argparse" not in source
    assert not hasattr(plantheme.tagging.tagging, "run_tag_command")
    assert "corpus_tagging" not in Path(plantheme.tagging.tagging.__file__).read_text(encoding="utf-8").replace(
        "see corpus_tagging", ""
    )


def test_a_record_with_a_lone_surrogate_fails_alone(tiny_model_dir, tmp_path: Path) -> None:
    root = tmp_path / "docs"
    # JSON may escape a lone surrogate; it decodes, but no UTF-8 output can hold it.
    _records(root / "a.jsonl", '{"content": "推进\\ud800河长制。"}', {"content": "新建幼儿园2所。"})
    out = tmp_path / "out"
    result = run(root, out, tiny_model_dir, jobs=1)
    found = entries(out)
    assert found["a.jsonl#1"]["status"] == "failed" and "line 1" in found["a.jsonl#1"]["reason"]
    assert found["a.jsonl#2"]["status"] == "tagged"
    assert result.totals.tagged == 1


def test_option_values_that_are_not_utf8_are_refused(tiny_model_dir, tmp_path: Path, capsys) -> None:
    root = tmp_path / "docs"
    write(root, "a.txt")
    assert cli(root, tmp_path / "out", tiny_model_dir, "--glob", os.fsdecode(b"*\xff.txt")) == 2
    assert "--glob: not valid UTF-8" in capsys.readouterr().err


def test_a_cache_entry_deleted_during_the_run_fails_its_file_only(tiny_model_dir, tmp_path: Path, monkeypatch) -> None:
    root = tmp_path / "docs"
    write(root, "a.txt")
    write(root, "b.txt", PLAN + "第二份。\n")
    out = tmp_path / "out"
    run(root, out, tiny_model_dir, jobs=1)
    real = corpus_tagging._plan

    def plan_then_delete(*args, **kwargs):  # type: ignore[no-untyped-def]
        planned = real(*args, **kwargs)
        victim = next(p for p in planned if p.outcomes and p.outcomes[0].path == "a.txt")
        (out / CACHE_FOLDER / f"{victim.cache_key}.entry").unlink()
        return planned

    monkeypatch.setattr(corpus_tagging, "_plan", plan_then_delete)
    result = run(root, out, tiny_model_dir, jobs=1)
    found = entries(out)
    assert found["a.txt"]["status"] == "failed" and "cache entry" in found["a.txt"]["reason"]
    assert found["b.txt"]["status"] == "tagged" and result.totals.tagged == 1
    docs = {json.loads(line)["doc"] for line in (out / "sentences.jsonl").read_text(encoding="utf-8").splitlines()}
    assert docs == {"b.txt"}


def test_a_character_model_without_its_arrays_checksum_is_refused(tiny_char_model_dir: Path, tmp_path: Path) -> None:
    import json
    import shutil

    from plantheme.tagging.document_jobs import load_model_once
    from plantheme.errors import PlanthemeError

    model_dir = tmp_path / "m"
    shutil.copytree(tiny_char_model_dir, model_dir)
    card = json.loads((model_dir / "model.json").read_text(encoding="utf-8"))
    card["compiled_sha256"] = ""  # whoever can write the card must not get the pickle loaded instead
    (model_dir / "model.json").write_text(json.dumps(card), encoding="utf-8")
    with pytest.raises(PlanthemeError, match="without the checksum of model.npz"):
        load_model_once(str(model_dir), card["model_id"])


# --- 10. metadata, shares and groups --------------------------------------------------------


@pytest.fixture(scope="module")
def model_with_confusion(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny model with an out-of-fold confusion matrix in its card, as a trained model has."""
    import shutil

    folder = tmp_path_factory.mktemp("models") / "tiny-cv"
    shutil.copytree(tiny_model_dir, folder)
    card = json.loads((folder / "model.json").read_text(encoding="utf-8"))
    card["cv"] = {
        "folds": 5,
        "themes": list(THEME_IDS),
        "confusion": [[90 if i == j else 2 for j in range(8)] for i in range(8)],
    }
    (folder / "model.json").write_text(json.dumps(card), encoding="utf-8")
    return folder


def _meta_corpus(tmp_path: Path) -> Path:
    root = tmp_path / "docs"
    write(root, "county/report_2019.txt")
    write(root, "county/report_2024.txt", PLAN + "加快推进污水处理厂建设。\n")
    write(root, "town/plan_2024.txt")
    write(root, "empty.txt", "")
    return root


def test_meta_table_and_pattern_reach_documents_groups_and_manifest(model_with_confusion: Path, tmp_path: Path) -> None:
    root = _meta_corpus(tmp_path)
    table = tmp_path / "meta.csv"
    table.write_text(
        "path,place,level\ncounty/report_2019.txt,高阳县,县\ncounty/report_2024.txt,高阳县,县\n"
        "town/plan_2024.txt,某镇,乡镇\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    assert cli(root, out, model_with_confusion, "--meta", str(table), "--meta-pattern", r"year=_(20\d\d)") == 0
    docs = {row["path"]: row for row in csv_rows(out / "documents.csv")}
    assert list(docs["town/plan_2024.txt"])[-3:] == ["year", "place", "level"]
    assert (docs["town/plan_2024.txt"]["year"], docs["town/plan_2024.txt"]["place"]) == ("2024", "某镇")
    assert docs["empty.txt"]["year"] == "" and docs["empty.txt"]["share_industry"] == ""
    row = docs["county/report_2024.txt"]
    for theme in THEME_IDS:
        lo, est, hi = (float(row[f"share_{theme}{end}"]) for end in ("_lo", "", "_hi"))
        assert 0 <= lo <= est <= hi <= 1
    assert sum(float(row[f"share_{theme}"]) for theme in THEME_IDS) == pytest.approx(1, abs=1e-3)
    assert row["industry_count"] and row["industry_share"]  # the predicted columns are still there

    groups = csv_rows(out / "groups.csv")
    assert list(groups[0])[:4] == ["field", "value", "documents", "content_sentences"]
    assert list(groups[0])[4:7] == ["share_industry", "share_industry_lo", "share_industry_hi"]
    found = {(g["field"], g["value"]): g for g in groups}
    assert set(found) == {
        ("year", "2019"),
        ("year", "2024"),
        ("place", "高阳县"),
        ("place", "某镇"),
        ("level", "县"),
        ("level", "乡镇"),
    }
    assert found[("year", "2024")]["documents"] == "2"
    content = sum(
        int(docs[p][f"{t}_count"]) for p in ("county/report_2024.txt", "town/plan_2024.txt") for t in THEME_IDS
    )
    assert int(found[("year", "2024")]["content_sentences"]) == content

    shares = manifest(out)["shares"]
    assert shares["meta_fields"] == ["year", "place", "level"] and "out-of-fold" in shares["confusion_source"]
    assert entries(out)["town/plan_2024.txt"]["meta"] == {"year": "2024", "place": "某镇", "level": "乡镇"}


def test_without_a_confusion_matrix_shares_are_the_predicted_ones(tiny_model_dir: Path, tmp_path: Path) -> None:
    root = _meta_corpus(tmp_path)
    out = tmp_path / "out"
    assert cli(root, out, tiny_model_dir) == 0
    row = {r["path"]: r for r in csv_rows(out / "documents.csv")}["county/report_2024.txt"]
    assert all(row[f"share_{t}"] == row[f"{t}_share"] for t in THEME_IDS)
    assert csv_rows(out / "groups.csv") == [] and manifest(out)["shares"]["confusion"] is None


@pytest.mark.parametrize(
    ("table", "extra", "status", "message"),
    [
        (
            "path,year\ncounty/report_2019.txt,2019\nnowhere.txt,2020\n",
            [],
            1,
            "meta.csv:3: 'nowhere.txt' is not a document of",
        ),
        ("path,year\ncounty/report_2019.txt\n", [], 2, "meta.csv:2: 1 fields, the header has 2"),
        ("name,year\n", [], 2, "meta.csv:1: no 'path' column"),
        (None, ["--meta-pattern", r"20\d\d"], 2, "--meta-pattern '20\\\\d\\\\d': name the field"),
        (None, ["--meta-pattern", "status=(x)"], 2, "status: already a column of documents.csv"),
    ],
)
def test_bad_metadata_is_one_line_naming_file_and_line(
    tiny_model_dir: Path, tmp_path: Path, capsys, table: str | None, extra: list[str], status: int, message: str
) -> None:
    root = _meta_corpus(tmp_path)
    if table is not None:
        (tmp_path / "meta.csv").write_text(table, encoding="utf-8")
        extra = ["--meta", str(tmp_path / "meta.csv"), *extra]
    assert cli(root, tmp_path / "out", tiny_model_dir, *extra) == status
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "out" / "documents.csv").exists()


def test_a_record_row_of_the_table_is_checked_against_the_records(tiny_model_dir: Path, tmp_path: Path, capsys) -> None:
    root = tmp_path / "docs"
    _records(root / "reports.jsonl", {"content": PLAN, "year": 2020}, {"content": PLAN, "year": 2021})
    table = tmp_path / "meta.csv"
    table.write_text("path,place\nreports.jsonl#2,甲\n", encoding="utf-8")
    out = tmp_path / "out"
    assert cli(root, out, tiny_model_dir, "--meta", str(table), "--meta-fields", "year") == 0
    docs = {row["path"]: row for row in csv_rows(out / "documents.csv")}
    assert (docs["reports.jsonl#2"]["year"], docs["reports.jsonl#2"]["place"]) == ("2021", "甲")
    table.write_text("path,place\nreports.jsonl#3,甲\n", encoding="utf-8")
    assert cli(root, out, tiny_model_dir, "--meta", str(table)) == 1
    assert "meta.csv:2: 'reports.jsonl#3' is not a document of" in capsys.readouterr().err
