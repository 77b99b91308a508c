"""`plantheme tag` over a folder: the manifest, the sentences, the outputs, reruns and exit codes.

The fixture folder is built here: every encoding and format the command reads,
plus the files it must refuse (empty, binary, undecodable, scanned PDF,
unsupported, hidden), in nested folders.
"""

from __future__ import annotations

import csv
import io
import json
import re
import dataclasses
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from test_documents import TRADITIONAL, build_docx, build_pdf, build_scanned_pdf

from plantheme.tagging import corpus_tagging, document_jobs
from plantheme.cli import main
from plantheme.tagging.corpus_tagging import CACHE_FOLDER, TagOptions, default_out_dir, tag_folder
from plantheme.readers.documents import EMPTY_FILE, NO_TEXT_LAYER, read_document
from plantheme.model.model import ThemeModel
from plantheme.tagging.progress import ProgressBar
from plantheme.tagging.report_html import embed_json, unpack_block
from plantheme.tagging.tag_outputs import render_sentences
from plantheme.tagging.tag_records import SentenceRecord
from plantheme.model.persistence import load_model
from plantheme.tagging.tagging import tag_text
from plantheme.themes import THEME_IDS

PLAN = (
    "2024年重点工作计划\n"
    "一、坚守实体经济\n"
    "力争新培育专精特新企业3家、高新技术企业5家。推动规上工业企业实施技术改造。\n"
    "深入开展招商引资，力争全年签约项目18个、总投资100亿元。\n"
    "全力推动片区征迁，做好安置房建设和净地出让。\n"
    "发展壮大村集体经济，新建高标准农田800亩。\n"
    "全面落实河长制，推进流域水环境综合治理。\n"
    "新建幼儿园2所，改善义务教育办学条件。\n"
    "压实安全生产责任，开展燃气和消防隐患排查整治。\n"
)
ESCAPE_PROBE = "注意<script>alert(1)</script>与“引号”&符号。"
PINYIN_TRADITIONAL = "做好國土空間規(guī)劃，推進城鄉融合發(fā)展。全面落實河長制，推進流域水環境綜合治理。\n"
BIG5_TEXT = "做好國土空間規(gui1)劃，推進城鄉融合發展。\n" + TRADITIONAL + "\n"


@dataclass(frozen=True)
class Expected:
    """What the manifest must say about one fixture file."""

    status: str
    encoding: str = ""
    reason: str = ""


def build_corpus(root: Path) -> dict[str, Expected]:
    """Write the fixture folder under ``root``; return the expected fate of every file in it."""
    files: dict[str, bytes] = {
        "utf8.txt": (PLAN + ESCAPE_PROBE + "\n").encode("utf-8"),
        "utf8_bom.md": ("# 工作要点\n\n" + PLAN).encode("utf-8-sig"),
        "nested/deeper/gbk.txt": PLAN.encode("gbk"),
        "nested/big5.txt": BIG5_TEXT.encode("big5"),
        "traditional_pinyin.txt": PINYIN_TRADITIONAL.encode("utf-8"),
        "utf16.txt": PLAN.encode("utf-16"),
        "page.html": (
            "<html><head><title>工作报告</title><script>var x='<p>脚本</p>';</script>"
            "</head><body><p>" + PLAN.replace("\n", "</p><p>") + "</p></body></html>"
        ).encode("utf-8"),
        "nested/report.docx": build_docx(PLAN.splitlines(), [["项目", "投资"], ["东埔片区", "10亿元"]]),
        "plan.pdf": build_pdf(PLAN.splitlines()[2:5])[0],
        "scan.pdf": build_scanned_pdf(),
        "empty.txt": b"",
        "binary.txt": b"\x00\x01\x02\x03PK\x00\x00",
        "invalid.txt": b"\xd6\xd0\x80\x80\xff\xfe\x81",
        "data.xlsx": b"PK\x03\x04 not really a spreadsheet",
        ".hidden.txt": PLAN.encode("utf-8"),
        ".git/HEAD": b"ref: refs/heads/main\n",
    }
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return {
        "utf8.txt": Expected("tagged", "utf-8"),
        "utf8_bom.md": Expected("tagged", "utf-8-sig"),
        "nested/deeper/gbk.txt": Expected("tagged", "gb18030"),
        "nested/big5.txt": Expected("tagged", "big5"),
        "traditional_pinyin.txt": Expected("tagged", "utf-8"),
        "utf16.txt": Expected("tagged", "utf-16-le"),
        "page.html": Expected("tagged", "utf-8"),
        "nested/report.docx": Expected("tagged"),
        "plan.pdf": Expected("tagged"),
        "scan.pdf": Expected("failed", reason=NO_TEXT_LAYER),
        "empty.txt": Expected("skipped", reason=EMPTY_FILE),
        "binary.txt": Expected("failed", reason="binary content"),
        "invalid.txt": Expected("failed", reason="no encoding fits"),
        "data.xlsx": Expected("skipped", reason="unsupported file type .xlsx"),
        ".hidden.txt": Expected("skipped", reason="hidden file"),
    }


def run(folder: Path, out: Path, model_dir: Path, **options: object) -> corpus_tagging.TagRunResult:
    return tag_folder(TagOptions(folder=folder, out_dir=out, model_dir=model_dir, **options))  # type: ignore[arg-type]


def read_manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text(encoding="utf-8"))


def read_jsonl(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "sentences.jsonl").read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Expected]]:
    root = tmp_path_factory.mktemp("corpus") / "plans"
    return root, build_corpus(root)


@pytest.fixture(scope="module")
def tagged(corpus: tuple[Path, dict[str, Expected]], tiny_model_dir: Path) -> tuple[Path, corpus_tagging.TagRunResult]:
    root, _ = corpus
    out = root.parent / "out"
    return out, run(root, out, tiny_model_dir, jobs=1)


# --- the manifest ------------------------------------------------------------------


def test_manifest_lists_every_file_found_exactly_once(corpus, tagged) -> None:
    root, expected = corpus
    out, _ = tagged
    paths = [entry["path"] for entry in read_manifest(out)["files"]]
    assert len(paths) == len(set(paths))
    assert set(paths) == set(expected)
    assert paths == sorted(paths)


def test_manifest_names_the_folders_not_searched(tagged) -> None:
    out, _ = tagged
    folders = read_manifest(out)["folders_not_searched"]
    assert [(f["path"], f["status"]) for f in folders] == [(".git/", "skipped")]


@pytest.mark.parametrize(
    "name",
    [
        "utf8.txt",
        "utf8_bom.md",
        "nested/deeper/gbk.txt",
        "nested/big5.txt",
        "traditional_pinyin.txt",
        "utf16.txt",
        "page.html",
        "nested/report.docx",
        "plan.pdf",
        "scan.pdf",
        "empty.txt",
        "binary.txt",
        "invalid.txt",
        "data.xlsx",
        ".hidden.txt",
    ],
)
def test_manifest_status_encoding_and_reason_per_file(corpus, tagged, name: str) -> None:
    _, expected = corpus
    out, _ = tagged
    entry = {e["path"]: e for e in read_manifest(out)["files"]}[name]
    want = expected[name]
    assert entry["status"] == want.status
    assert entry.get("encoding", "") == want.encoding
    assert want.reason in entry.get("reason", "")
    if want.status == "tagged":
        assert entry["sentences"] > 0
        assert entry["reused"] is False


def test_manifest_totals_model_and_timings(corpus, tagged, tiny_model: ThemeModel) -> None:
    _, expected = corpus
    out, result = tagged
    manifest = read_manifest(out)
    totals = manifest["totals"]
    statuses = [e.status for e in expected.values()]
    assert (totals["files"], totals["tagged"], totals["skipped"], totals["failed"]) == (
        len(statuses),
        statuses.count("tagged"),
        statuses.count("skipped"),
        statuses.count("failed"),
    )
    assert totals["sentences"] == len(read_jsonl(out)) == sum(totals["themes"].values()) + totals["boilerplate"]
    assert manifest["model"]["id"] == tiny_model.model_id
    assert manifest["generator"] == "plantheme tag"
    assert manifest["timings"]["seconds"]["total"] >= 0
    assert result.exit_status == 1  # failed files


# --- the sentences -----------------------------------------------------------------


def test_sentences_match_tag_text_on_the_library_side(corpus, tagged, tiny_model: ThemeModel) -> None:
    root, expected = corpus
    out, _ = tagged
    lines = read_jsonl(out)
    for name, want in expected.items():
        if want.status != "tagged":
            continue
        text = read_document(root / name, max_chars=1_000_000).text
        document = tag_text(tiny_model, text, low_confidence=0.5, evidence=0)
        written = [line for line in lines if line["doc"] == name]
        assert written == [
            {
                "doc": name,
                "index": s.index,
                "start": s.start,
                "end": s.end,
                "text": s.text,
                "theme": s.theme,
                "confidence": round(s.confidence, 4),
                "flags": list(s.flags),
            }
            for s in document.sentences
        ], name


def test_character_model_tags_from_its_arrays_as_the_full_model_would(
    corpus, tiny_char_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The folder command loads model.npz (no scikit-learn); its sentences must
    # be those of tag_text with the full pipeline.
    root, expected = corpus
    loaded: list[str] = []
    real = document_jobs.load_compiled
    monkeypatch.setattr(document_jobs, "load_compiled", lambda d: loaded.append(str(d)) or real(d))
    document_jobs.load_model_once.cache_clear()
    run(root, tmp_path / "out", tiny_char_model_dir, jobs=1)
    document_jobs.load_model_once.cache_clear()
    assert loaded, "the arrays were not used"
    full, _ = load_model(tiny_char_model_dir)
    lines = read_jsonl(tmp_path / "out")
    tagged_names = [name for name, want in expected.items() if want.status == "tagged"]
    assert {line["doc"] for line in lines} == set(tagged_names)
    for name in tagged_names:
        document = tag_text(full, read_document(root / name, max_chars=1_000_000).text, details=False)
        written = [(line["theme"], line["confidence"]) for line in lines if line["doc"] == name]
        assert written == [(s.theme, round(s.confidence, 4)) for s in document.sentences], name


def test_sentences_keep_the_document_text_and_drop_annotations_for_the_model(tagged) -> None:
    out, _ = tagged
    lines = [line for line in read_jsonl(out) if line["doc"] == "traditional_pinyin.txt"]
    assert lines[0]["text"].startswith("做好國土空間規(guī)劃")  # as the document has it
    assert all(line["theme"] in THEME_IDS for line in lines)


def test_sentences_csv_has_a_bom_and_the_same_rows(tagged) -> None:
    out, _ = tagged
    raw = (out / "sentences.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    lines = read_jsonl(out)
    assert len(rows) == len(lines)
    assert [(r["doc"], int(r["index"]), r["text"], r["theme"]) for r in rows] == [
        (line["doc"], line["index"], line["text"], line["theme"]) for line in lines
    ]


def test_documents_csv_counts_shares_and_dominant(tagged) -> None:
    out, _ = tagged
    raw = (out / "documents.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = {r["path"]: r for r in csv.DictReader(io.StringIO(raw.decode("utf-8-sig")))}
    # One row per file that was read; files passed over by name are only in the manifest.
    assert "data.xlsx" not in rows and ".hidden.txt" not in rows
    assert rows["scan.pdf"]["status"] == "failed"
    lines = read_jsonl(out)
    for path, row in rows.items():
        if row["status"] != "tagged":
            continue
        mine = [line for line in lines if line["doc"] == path]
        # Shares are over content sentences: furniture is counted apart.
        themes = [line["theme"] for line in mine if "boilerplate" not in line["flags"]]
        assert int(row["sentences"]) == len(mine)
        assert int(row["boilerplate"]) == len(mine) - len(themes)
        for theme in THEME_IDS:
            assert int(row[f"{theme}_count"]) == themes.count(theme)
            assert float(row[f"{theme}_share"]) == pytest.approx(themes.count(theme) / len(themes), abs=1e-4)
        assert row["dominant"] == max(THEME_IDS, key=lambda t: (themes.count(t), -THEME_IDS.index(t)))


# --- the report --------------------------------------------------------------------


def sentence_blocks(page: str) -> list[dict]:
    """Every document's sentence block of a report, unpacked."""
    return [
        unpack_block(text) for text in re.findall(r'<script type="application/gzip" id="s-\d+">(.*?)</script>', page)
    ]


def test_report_is_self_contained(tagged) -> None:
    out, _ = tagged
    page = (out / "report.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    # Scripts are inline: the page's own and its JSON data, never one loaded from elsewhere.
    assert re.findall(r"<script[^>]*>", page.lower()) and all(
        tag in ("<script>", '<script type="application/json" id="summary">')
        or tag.startswith('<script type="application/gzip" id="s-')
        for tag in re.findall(r"<script[^>]*>", page.lower())
    )
    assert "@import" not in page and "url(" not in page
    assert 'name="viewport"' in page


def test_report_escapes_document_text(tagged) -> None:
    out, _ = tagged
    page = (out / "report.html").read_text(encoding="utf-8")
    # Sentences reach the page as base64 of gzipped JSON with every "<" escaped; the script shows them as text.
    blocks = "".join(embed_json(block["x"]) for block in sentence_blocks(page))
    assert "\\u003cscript>alert(1)\\u003c/script>" in blocks
    assert "<script>alert" not in page


def test_report_shows_every_tagged_document_and_every_failure(corpus, tagged) -> None:
    _, expected = corpus
    out, _ = tagged
    page = (out / "report.html").read_text(encoding="utf-8")
    for name, want in expected.items():
        if want.status == "tagged":  # in the embedded list of documents
            assert embed_json(name) in page, name
        elif want.status != "skipped":  # in the table of files not tagged
            assert f">{name}<" in page, name
    assert NO_TEXT_LAYER in page


def test_report_limits_the_sentences_shown(corpus, tiny_model_dir, tmp_path: Path) -> None:
    root, _ = corpus
    run(root, tmp_path / "out", tiny_model_dir, jobs=1, report_max_sentences=3)
    page = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    blobs = sentence_blocks(page)
    assert sum(len(blob["x"]) for blob in blobs) == 3
    assert sum(blob["cut"] for blob in blobs) > 0 and "PLANTHEME_REPORT_MAX_SENTENCES" in page


# --- parallel, incremental, interrupted ----------------------------------------------


OUTPUTS = ("sentences.jsonl", "sentences.csv", "documents.csv", "report.html")


def test_output_is_the_same_with_one_or_two_jobs(corpus, tagged, tiny_model_dir, tmp_path: Path) -> None:
    root, _ = corpus
    out1, _ = tagged
    out2 = tmp_path / "out2"
    run(root, out2, tiny_model_dir, jobs=2)
    for name in OUTPUTS:
        assert (out1 / name).read_bytes() == (out2 / name).read_bytes(), name
    m1, m2 = read_manifest(out1), read_manifest(out2)
    assert m2["jobs"] == 2
    for key in ("timings", "jobs", "output"):
        m1.pop(key), m2.pop(key)
    assert m1 == m2


def test_rerun_reuses_unchanged_documents_and_retags_changed_ones(tiny_model_dir, tmp_path: Path) -> None:
    root = tmp_path / "plans"
    expected = build_corpus(root)
    out = tmp_path / "out"
    first = run(root, out, tiny_model_dir, jobs=1)
    before = {name: (out / name).read_bytes() for name in OUTPUTS}

    second = run(root, out, tiny_model_dir, jobs=1)
    assert second.totals.reused == second.totals.tagged == first.totals.tagged
    assert all(e["reused"] for e in read_manifest(out)["files"] if e["status"] == "tagged")
    for name in OUTPUTS:
        if name != "documents.csv":  # its column `reused` changes, by design
            assert (out / name).read_bytes() == before[name], name

    (root / "utf8.txt").write_text("加快长者食堂和居家养老服务中心建设。\n", encoding="utf-8")
    third = run(root, out, tiny_model_dir, jobs=1)
    entries = {e["path"]: e for e in read_manifest(out)["files"]}
    assert entries["utf8.txt"]["reused"] is False
    assert third.totals.reused == third.totals.tagged - 1
    # The cache keeps one entry per tagged document: the old utf8.txt entry is gone.
    tagged_count = sum(1 for e in expected.values() if e.status == "tagged")
    assert len(list((out / CACHE_FOLDER).glob("*.entry"))) == tagged_count


def test_same_content_at_two_paths_and_a_renamed_file(tiny_model_dir, tmp_path: Path) -> None:
    root = tmp_path / "plans"
    (root / "sub").mkdir(parents=True)
    for name in ("a.txt", "sub/a.txt"):
        (root / name).write_text(PLAN, encoding="utf-8")
    out = tmp_path / "out"
    run(root, out, tiny_model_dir, jobs=1)
    lines = read_jsonl(out)
    assert [line["text"] for line in lines if line["doc"] == "a.txt"] == [
        line["text"] for line in lines if line["doc"] == "sub/a.txt"
    ]
    # The cached lines carry the path, so a renamed document is tagged again under its new name.
    (root / "a.txt").rename(root / "b.txt")
    result = run(root, out, tiny_model_dir, jobs=1)
    assert (result.totals.tagged, result.totals.reused) == (2, 1)
    assert {line["doc"] for line in read_jsonl(out)} == {"b.txt", "sub/a.txt"}


def test_a_different_model_retags_everything(corpus, tagged, tmp_path: Path) -> None:
    root, _ = corpus
    out, _ = tagged
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    model_copy = tmp_path / "model"
    shutil.copytree(read_manifest(out)["model"]["dir"], model_copy)
    card = json.loads((model_copy / "model.json").read_text(encoding="utf-8"))
    card["model_id"] = "another-model"
    (model_copy / "model.json").write_text(json.dumps(card), encoding="utf-8")
    result = run(root, copy, model_copy, jobs=1)
    assert result.totals.reused == 0 and result.totals.tagged > 0


def test_an_interrupted_run_leaves_no_partial_outputs_and_resumes(tiny_model_dir, tmp_path: Path, monkeypatch) -> None:
    root = tmp_path / "plans"
    build_corpus(root)
    out = tmp_path / "out"
    real = corpus_tagging.tag_file
    calls = []

    def interrupted(job, config):  # type: ignore[no-untyped-def]
        calls.append(job.path)
        if len(calls) == 7:  # after three documents were tagged
            raise KeyboardInterrupt
        return real(job, config)

    monkeypatch.setattr(corpus_tagging, "tag_file", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run(root, out, tiny_model_dir, jobs=1)
    # No output, no temporary file: only the cache, the lock and an empty folder of generations.
    assert sorted(p.name for p in out.iterdir()) == [CACHE_FOLDER, ".generations", ".plantheme.lock"]
    assert not list((out / ".generations").iterdir())
    assert not [p for p in (out / CACHE_FOLDER).iterdir() if p.name.endswith(".tmp")]
    finished = len(list((out / CACHE_FOLDER).glob("*.entry")))
    assert finished == 3

    monkeypatch.setattr(corpus_tagging, "tag_file", real)
    result = run(root, out, tiny_model_dir, jobs=1)
    assert result.totals.reused == finished


def test_the_output_folder_inside_the_folder_is_never_tagged(tiny_model_dir, tmp_path: Path) -> None:
    root = tmp_path / "plans"
    root.mkdir()
    (root / "a.txt").write_text(PLAN, encoding="utf-8")
    out = root / "tags"
    run(root, out, tiny_model_dir, jobs=1)
    run(root, out, tiny_model_dir, jobs=1)
    manifest = read_manifest(out)
    assert [e["path"] for e in manifest["files"]] == ["a.txt"]
    assert manifest["folders_not_searched"][0]["path"] == "tags/"


def test_glob_limits_the_files_read(corpus, tiny_model_dir, tmp_path: Path) -> None:
    root, expected = corpus
    run(root, tmp_path / "out", tiny_model_dir, jobs=1, pattern="nested/**")
    entries = {e["path"]: e for e in read_manifest(tmp_path / "out")["files"]}
    assert set(entries) == set(expected)
    assert {p for p, e in entries.items() if e["status"] == "tagged"} == {
        "nested/deeper/gbk.txt",
        "nested/big5.txt",
        "nested/report.docx",
    }
    assert "--glob" in entries["utf8.txt"]["reason"]


# --- the command: exit status and messages ------------------------------------------


@pytest.fixture()
def good_folder(tmp_path: Path) -> Path:
    root = tmp_path / "good"
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_text(PLAN, encoding="utf-8")
    (root / "sub" / "b.txt").write_text(PLAN, encoding="gbk")
    (root / "notes.png").write_bytes(b"\x89PNG")
    return root


@pytest.mark.parametrize(
    ("arguments", "status", "message"),
    [
        (["{missing}"], 2, "no such folder"),
        (["{file}"], 2, "not a folder"),
        (["{good}", "--jobs", "0"], 2, "--jobs"),
        (["{good}", "--out", "{file}"], 2, "a file is in the way"),
        (["{good}", "--out", "{good}"], 2, "must not be the folder"),
        (["{good}", "--model", "{missing}"], 1, "no model folder"),
        (["{good}"], 0, ""),
        (["{corpus}"], 1, "scan.pdf: failed: no text layer"),
    ],
)
def test_exit_status_and_messages(
    arguments, status, message, good_folder, corpus, tiny_model_dir, tmp_path: Path, capsys
) -> None:
    a_file = tmp_path / "a-file.txt"
    a_file.write_text("x", encoding="utf-8")
    names = {"missing": tmp_path / "missing", "file": a_file, "good": good_folder, "corpus": corpus[0]}
    argv = ["tag", *(arg.format(**names) for arg in arguments)]
    if "--model" not in argv:
        argv += ["--model", str(tiny_model_dir)]
    if "--out" not in argv:
        argv += ["--out", str(tmp_path / "out")]
    if "--jobs" not in argv:
        argv += ["--jobs", "1"]
    assert main(argv) == status
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_damaged_model_is_one_message_whatever_the_jobs(
    good_folder, tiny_model_dir, tmp_path: Path, capsys, jobs: str
) -> None:
    damaged = tmp_path / "model"
    shutil.copytree(tiny_model_dir, damaged)
    with (damaged / "model.joblib").open("ab") as handle:
        handle.write(b"tampered")
    assert (
        main(
            [
                "tag",
                str(good_folder),
                "--out",
                str(tmp_path / "out"),
                "--model",
                str(damaged),
                "--jobs",
                jobs,
                "--quiet",
            ]
        )
        == 1
    )
    err = capsys.readouterr().err
    assert "checksum does not match" in err and "Traceback" not in err
    assert not (tmp_path / "out" / "manifest.json").exists()


def test_failed_files_are_named_even_when_quiet_and_nothing_else_is_said(
    corpus, tiny_model_dir, tmp_path: Path, capsys
) -> None:
    assert (
        main(
            [
                "tag",
                str(corpus[0]),
                "--out",
                str(tmp_path / "out"),
                "--model",
                str(tiny_model_dir),
                "--jobs",
                "1",
                "--quiet",
            ]
        )
        == 1
    )
    lines = capsys.readouterr().err.splitlines()
    assert sorted(line.split(":")[1].strip() for line in lines) == ["binary.txt", "invalid.txt", "scan.pdf"]


def test_without_a_terminal_one_summary_line_and_the_default_output_folder(good_folder, tiny_model_dir, capsys) -> None:
    assert main(["tag", str(good_folder), "--model", str(tiny_model_dir), "--jobs", "1"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("tagged 2 documents")
    out = default_out_dir(good_folder)
    assert out == good_folder.parent / "good-tags"
    assert (out / "report.html").is_file()
    assert read_manifest(out)["totals"]["skipped"] == 1


def test_progress_bar_draws_only_when_enabled() -> None:
    shown = io.StringIO()
    bar = ProgressBar(2, enabled=True, stream=shown)
    bar.advance(sentences=10)
    bar.advance(sentences=5, reused=True)
    bar.clear()
    assert "2/2 documents" in shown.getvalue() and "15 sentences" in shown.getvalue()
    assert "sentences/s" in shown.getvalue() and "1 reused" in shown.getvalue()
    hidden = io.StringIO()
    quiet = ProgressBar(2, enabled=False, stream=hidden)
    quiet.advance(sentences=10)
    quiet.clear()
    assert hidden.getvalue() == ""


# --- tag_text itself ----------------------------------------------------------------


def test_tag_text_counts_shares_and_dominant(tiny_model: ThemeModel) -> None:
    document = tag_text(tiny_model, PLAN, evidence=0)
    assert len(document.sentences) == sum(document.counts.values())
    assert list(document.counts) == list(THEME_IDS)
    assert sum(document.shares.values()) == pytest.approx(1.0)
    assert document.dominant == max(THEME_IDS, key=lambda t: (document.counts[t], -THEME_IDS.index(t)))


def test_tag_text_of_empty_text_has_no_sentences(tiny_model: ThemeModel) -> None:
    document = tag_text(tiny_model, "  \n ")
    assert (document.sentences, document.dominant) == ((), None)
    assert all(share == 0.0 for share in document.shares.values())


# --- the sentence record's JSON ------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    text=st.text(max_size=60),
    confidence=st.floats(0, 1),
    flags=st.sampled_from([(), ("garbled",), ("low_confidence",), ("garbled", "low_confidence")]),
)
def test_sentence_json_and_csv_are_what_the_json_and_csv_modules_read(
    text: str, confidence: float, flags: tuple[str, ...]
) -> None:
    record = SentenceRecord(
        index=3, start=5, end=9, text=text, theme="ecology", confidence=round(confidence, 4), flags=flags
    )
    line = record.to_json()
    assert line == json.dumps(
        {
            "index": 3,
            "start": 5,
            "end": 9,
            "text": text,
            "theme": "ecology",
            "confidence": round(confidence, 4),
            "flags": list(flags),
        },
        ensure_ascii=False,
    )
    assert SentenceRecord.from_json(line) == record
    rendered = render_sentences('dir/"odd, doc".txt', [record])
    assert json.loads(rendered.jsonl) == {"doc": 'dir/"odd, doc".txt', **json.loads(line)}
    rows = list(csv.reader(io.StringIO(rendered.csv, newline="")))
    assert rows == [['dir/"odd, doc".txt', "3", "5", "9", "ecology", repr(record.confidence), ";".join(flags), text]]


def test_tagged_sentences_render_as_their_records(tiny_model: ThemeModel) -> None:
    # Workers render tag_text's sentences directly; the lines must be those of
    # the records the cache and the report read back.
    tagged = tag_text(tiny_model, PLAN, details=False)
    records = [
        SentenceRecord(s.index, s.start, s.end, s.text, s.theme, round(s.confidence, 4), s.flags)
        for s in tagged.sentences
    ]
    assert tagged.sentences and all(s.prediction is None for s in tagged.sentences)
    assert render_sentences("a.txt", tagged.sentences) == render_sentences("a.txt", records)
    lines = render_sentences("a.txt", tagged.sentences).jsonl.splitlines()
    assert [
        SentenceRecord.from_json(
            json.dumps({k: v for k, v in json.loads(line).items() if k != "doc"}, ensure_ascii=False)
        )
        for line in lines
    ] == records


def test_details_add_the_prediction_without_changing_the_tags(tiny_model: ThemeModel) -> None:
    plain = tag_text(tiny_model, PLAN, details=False)
    detailed = tag_text(tiny_model, PLAN, details=True, evidence=3)
    assert [s[:8] for s in plain.sentences] == [s[:8] for s in detailed.sentences]
    for sentence in detailed.sentences:
        assert sentence.prediction is not None
        assert sentence.prediction.theme == sentence.theme
        assert sentence.prediction.confidence == sentence.confidence
        assert len(sentence.prediction.evidence) <= 3


# --- spans, furniture and the context stage -------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "規(guī)劃先行，推進河長制。\r\n新建幼儿园 2 所。",
        "**一、总体要求**\n\n全面落实河长制，\n推进流域治理。\n- 新建幼儿园2所。",
        "  发布日期：2024-01-02\n\n关于印发方案的通知\n各乡镇：\n一、推进 河 长制。",
    ],
)
def test_spans_index_the_text_as_given(tiny_model: ThemeModel, raw: str) -> None:
    document = tag_text(tiny_model, raw, evidence=0)
    assert document.sentences
    for sentence in document.sentences:
        assert raw[sentence.start : sentence.end] == sentence.text
    # Every non-space character is in exactly one sentence.
    covered = "".join(s.text for s in document.sentences)
    assert sorted(c for c in covered if not c.isspace()) == sorted(c for c in raw if not c.isspace())


def test_furniture_is_other_flagged_and_left_out_of_shares(tiny_model: ThemeModel) -> None:
    raw = "全面落实河长制。\n责任单位：区生态环境分局\n- 3 -\n新建幼儿园2所。"
    document = tag_text(tiny_model, raw)
    furniture = [s for s in document.sentences if "boilerplate" in s.flags]
    assert [s.text for s in furniture] == ["责任单位：区生态环境分局", "- 3 -"]
    assert all(s.theme == "other" and s.confidence == 1.0 for s in furniture)
    assert all(
        s.prediction is not None and s.prediction.theme == "other" and not s.prediction.evidence for s in furniture
    )
    assert document.boilerplate == 2 and sum(document.counts.values()) == 2
    assert sum(document.shares.values()) == pytest.approx(1.0)


def test_the_context_stage_decides_when_the_model_has_one(tiny_model: ThemeModel) -> None:
    from plantheme.model.context import N_CONTEXT_FEATURES, ContextModel

    # A stage that ignores its inputs and always says ecology.
    intercept = np.full(len(THEME_IDS), -5.0)
    intercept[THEME_IDS.index("ecology")] = 5.0
    stage = ContextModel(coef=np.zeros((N_CONTEXT_FEATURES, len(THEME_IDS))), intercept=intercept)
    raw = "新建幼儿园2所。\n责任单位：县教育局\n推动规上工业企业实施技术改造。"
    with_stage = dataclasses.replace(tiny_model, context=stage)
    tagged = tag_text(with_stage, raw)
    content = [s for s in tagged.sentences if "boilerplate" not in s.flags]
    assert {s.theme for s in content} == {"ecology"}
    assert all(s.prediction is not None and s.prediction.theme == "ecology" for s in content)
    alone = tag_text(with_stage, raw, context=False)
    assert [s.theme for s in alone.sentences] == [s.theme for s in tag_text(tiny_model, raw).sentences]
    assert alone.sentences[0].theme == "welfare"


SHARED = Path(__file__).resolve().parents[2] / "shared"


def _shared_documents() -> list[Path]:
    folders = [SHARED / "seeds", SHARED / "corpus"]
    return sorted(
        p
        for folder in folders
        if folder.is_dir()
        for p in folder.rglob("*")
        if p.is_file() and p.suffix.lower() in (".txt", ".docx")
    )


@pytest.mark.skipif(not (SHARED / "corpus").is_dir(), reason="../shared/corpus is not beside the checkout")
def test_spans_are_exact_on_every_real_document(tiny_char_model_dir: Path) -> None:
    # Every sentence of every seed and corpus document is exactly the extracted
    # text at its span, and no non-space character is left out of the sentences.
    from plantheme.readers.documents import UnreadableDocument
    from plantheme.model.persistence import load_compiled

    from plantheme.readers.record_files import RecordOptions, read_records

    loaded = load_compiled(tiny_char_model_dir)
    assert loaded is not None
    model = loaded[0]
    texts: list[tuple[str, str]] = []
    for path in _shared_documents():
        try:
            texts.append((path.name, read_document(path, max_chars=10_000_000).text))
        except UnreadableDocument:
            continue  # a lock file or an empty file: reported by `plantheme tag`, nothing to check
    for path in sorted((SHARED / "corpus").rglob("*.jsonl")):  # many documents in one file
        texts += [
            (f"{path.name}#{r.id}", r.text)
            for r in read_records(path, "jsonl", RecordOptions(), max_chars=10_000_000)
            if not r.status
        ]
    checked = 0
    for name, text in texts:
        document = tag_text(model, text, details=False)
        covered = bytearray(len(text))
        for sentence in document.sentences:
            assert text[sentence.start : sentence.end] == sentence.text, (name, sentence.index)
            covered[sentence.start : sentence.end] = b"\x01" * (sentence.end - sentence.start)
        missing = [i for i, flag in enumerate(covered) if not flag and not text[i].isspace()]
        assert not missing, (name, [text[i] for i in missing[:10]])
        checked += 1
    assert checked > 300


def test_a_repaired_mojibake_sentence_is_flagged_and_read_repaired(tiny_model: ThemeModel) -> None:
    mojibake = "推动招商引资项目落地".encode().decode("gbk")  # UTF-8 bytes read as GBK
    raw = f"前言。{mojibake}。新建幼儿园2所。"
    document = tag_text(tiny_model, raw, evidence=0)
    repaired = [s for s in document.sentences if "repaired" in s.flags]
    assert [s.text for s in repaired] == [mojibake + "。"]  # the text as the document has it
    assert repaired[0].normalized == "推动招商引资项目落地。"  # what the model read
    assert not any("garbled" in s.flags for s in document.sentences)
