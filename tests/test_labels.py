"""Reading labelled files, and the checks on the shipped labels/ data set."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from plantheme.errors import PlanthemeError
from plantheme.training.labels import (
    DOCUMENTS_SUFFIX,
    document_rows,
    read_documents_dir,
    read_labelled_dir,
    read_labelled_documents,
    read_labelled_file,
    read_span_documents,
    read_span_labels,
    span_files,
    span_sha,
)
from plantheme.text.normalize import normalize_sentence
from plantheme.settings import REPO_ROOT
from plantheme.themes import THEME_IDS

LABELS = REPO_ROOT / "labels"
MIN_PER_THEME = 150
MIN_TOTAL = 1200


def test_reads_csv_and_jsonl(tmp_path: Path) -> None:
    csv_file = tmp_path / "a.csv"
    csv_file.write_text('text,theme,source\n推进河长制。,ecology,doc1\n"多行\n文本。",other,doc1\n', encoding="utf-8")
    jsonl_file = tmp_path / "b.jsonl"
    jsonl_file.write_text(
        json.dumps({"text": "新建幼儿园2所。", "theme": "welfare"}, ensure_ascii=False) + "\n\n", encoding="utf-8"
    )
    rows = read_labelled_file(csv_file) + read_labelled_file(jsonl_file)
    assert [(r.theme, r.line) for r in rows] == [("ecology", 2), ("other", 3), ("welfare", 1)]
    assert rows[1].text == "多行\n文本。"
    assert rows[0].group == "doc1"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "bad.csv",
            "text,theme\n推进河长制。,ecology\n加强管理。,safety\n",
            r"bad\.csv:3: field 'theme': unknown theme 'safety'",
        ),
        ("bad.csv", "text,theme\n ,ecology\n", r"bad\.csv:2: field 'text' is empty"),
        (
            "bad.jsonl",
            '{"text": "推进。", "theme": "ecology"}\n{"text": 3, "theme": "other"}\n',
            r"bad\.jsonl:2: field 'text' must be a string",
        ),
        ("bad.jsonl", '{"text": "推进。", "theme": "ecology"}\nnot json\n', r"bad\.jsonl:2: not valid JSON"),
        ("bad.jsonl", '["a", "b"]\n', r"bad\.jsonl:1: not a JSON object"),
        (
            "bad.jsonl",
            '{"text": "推进。", "theme": "ecology"}\n{"text": "推进。"}\n',
            r"bad\.jsonl:2: missing field 'theme'",
        ),
        ("bad.txt", "x", r"expected a \.csv, \.jsonl, \.xlsx"),
    ],
)
def test_bad_rows_are_reported_with_file_and_line(tmp_path: Path, name: str, content: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(PlanthemeError, match=message):
        read_labelled_file(path)


def test_without_a_source_the_file_name_is_the_source(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("text,theme\n推进河长制。,ecology\n新建幼儿园2所。,welfare\n", encoding="utf-8")
    rows = read_labelled_dir(tmp_path)
    assert [(r.source, r.group) for r in rows] == [("a.csv", "a.csv"), ("a.csv", "a.csv")]


@pytest.mark.parametrize(
    ("name", "content", "found", "missing"),
    [
        ("h.csv", "sentence,label\n" + "推进河长制。,ecology\n" * 50, "'sentence', 'label'", "'text' or 'theme'"),
        ("h.csv", "text,label,source\n" + "推进河长制。,ecology,a\n" * 50, "'text', 'label', 'source'", "'theme'"),
        ("h.jsonl", '{"sentence": "推进。", "theme": "ecology"}\n' * 50, "'sentence', 'theme'", "'text'"),
    ],
)
def test_a_header_without_text_or_theme_is_one_error(
    tmp_path: Path, name: str, content: str, found: str, missing: str
) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(PlanthemeError) as raised:
        read_labelled_file(path)
    message = str(raised.value)
    assert "\n" not in message  # one error for the file, not one per row
    assert f"has no {missing}" in message and f"found {found}" in message
    assert "expected text, theme" in message


ROWS = [("推进河长制。", "ecology", "报告甲"), ("新建幼儿園2所，含“托育”。", "welfare", "报告乙")]


@pytest.mark.parametrize("encoding", ["gb18030", "utf-16", "utf-8-sig", "utf-8", "big5"])
def test_csv_in_the_encodings_tag_reads(tmp_path: Path, encoding: str) -> None:
    rows = (
        ROWS
        if encoding != "big5"
        else [("推進河長制。", "ecology", "報告甲"), ("新建幼兒園2所。", "welfare", "報告乙")]
    )
    body = "text,theme,source\r\n" + "".join(f"{t},{th},{s}\r\n" for t, th, s in rows)
    path = tmp_path / "labels.csv"
    path.write_bytes(body.encode(encoding))
    read = read_labelled_file(path)
    assert [(r.text, r.theme, r.source, r.line) for r in read] == [(*row, n) for n, row in enumerate(rows, start=2)]


def test_a_csv_in_no_known_encoding_is_one_error(tmp_path: Path) -> None:
    path = tmp_path / "bin.csv"
    path.write_bytes(b"text,theme\n\xff\xfe\xfd\x80\x81,ecology\n" * 3 + b"\x00")
    with pytest.raises(PlanthemeError, match=r"bin\.csv: "):
        read_labelled_file(path)


def _write_xlsx(path: Path, rows: list[list[object]]) -> None:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    workbook.save(path)


def test_xlsx_with_the_same_columns(tmp_path: Path) -> None:
    path = tmp_path / "标注.xlsx"
    _write_xlsx(
        path,
        [
            ["text", "theme", "source", None],
            ["推进河长制。", "ecology", "报告甲", None],
            [None, None, None, None],
            ["新建幼儿园2所。", "welfare", None, None],
            [2024, "other", "x"],
        ],
    )
    read = read_labelled_file(path)
    assert [(r.text, r.theme, r.source, r.line) for r in read] == [
        ("推进河长制。", "ecology", "报告甲", 2),
        ("新建幼儿园2所。", "welfare", "标注.xlsx", 4),
        ("2024", "other", "x", 5),
    ]
    assert read_labelled_dir(tmp_path) == read


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([["sentence", "theme"], ["推进。", "ecology"]], r"the header has no 'text'; found 'sentence', 'theme'"),
        ([["text", "theme"], ["推进。", "safety"]], r"标注\.xlsx:2: field 'theme': unknown theme 'safety'"),
    ],
)
def test_xlsx_problems_name_file_and_row(tmp_path: Path, rows: list[list[object]], message: str) -> None:
    path = tmp_path / "标注.xlsx"
    _write_xlsx(path, rows)
    with pytest.raises(PlanthemeError, match=message):
        read_labelled_file(path)


def test_a_broken_xlsx_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a workbook")
    with pytest.raises(PlanthemeError, match=r"broken\.xlsx: not a readable \.xlsx workbook"):
        read_labelled_file(path)


# --- the shipped data set ------------------------------------------------------


@pytest.fixture(scope="module")
def shipped() -> list:
    return read_labelled_dir(LABELS)


def test_shipped_labels_meet_the_minimums(shipped: list) -> None:
    counts = Counter(row.theme for row in shipped)
    assert set(counts) == set(THEME_IDS)
    assert min(counts.values()) >= MIN_PER_THEME, counts
    assert len(shipped) >= MIN_TOTAL


def test_every_seed_document_is_labelled_in_full(shipped: list) -> None:
    from plantheme.text.normalize import normalize
    from plantheme.text.sentences import split_sentences

    seeds = REPO_ROOT.parent / "shared" / "seeds"
    if not seeds.is_dir():
        pytest.skip("../shared/seeds is not beside the checkout")
    for path in sorted(seeds.glob("*.txt")):
        doc = normalize(path.read_text(encoding="utf-8"))
        units = [doc.original_text(u.start, u.end) for u in split_sentences(doc.text)]
        labelled = [row.text for row in shipped if row.source == f"seeds/{path.name}"]
        assert labelled == units, path.name


def _key(text: str) -> str:
    return re.sub(r"[\W\d_]+", "", normalize_sentence(text))


# Whole documents repeat their furniture, stock headings and formulas ("序号",
# "三、保障措施", "各乡镇人民政府，县直各单位：") as real documents do; such lines of a
# document (short, or `other`) are exempt. Every other row (a written sentence,
# a document's sentence with policy content) must be unique.
_SHORT_DOCUMENT_LINE = 12


def test_no_exact_or_near_duplicates(shipped: list) -> None:
    shipped = [
        row
        for row in shipped
        if not row.file.endswith(DOCUMENTS_SUFFIX)
        or (len(_key(row.text)) > _SHORT_DOCUMENT_LINE and row.theme != "other")
    ]
    keys = Counter(_key(row.text) for row in shipped)
    repeated = [k for k, n in keys.items() if n > 1]
    assert not repeated, f"duplicated after normalisation: {repeated[:5]}"
    texts = [_key(row.text) for row in shipped]
    vectors = TfidfVectorizer(analyzer="char", ngram_range=(2, 3)).fit_transform(texts)
    similarity = (vectors @ vectors.T).tocoo()
    # Near copies matter across CV groups (they would sit on both sides of a fold);
    # a document may repeat its own title in a table heading.
    near = [
        (i, j, v)
        for i, j, v in zip(similarity.row, similarity.col, similarity.data)
        if i < j and v > 0.9 and shipped[i].group != shipped[j].group
    ]
    assert not near, [(shipped[i].text, shipped[j].text) for i, j, _ in near[:5]]


# --- whole documents and span labels ------------------------------------------------


def _write_documents(path: Path, records: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def test_documents_become_text_with_spans(tmp_path: Path) -> None:
    from conftest import tiny_documents

    records = tiny_documents()
    path = _write_documents(tmp_path / "w.documents.jsonl", records)
    documents = read_labelled_documents(path)
    assert [d.doc for d in documents] == [r["doc"] for r in records]
    first = documents[0]
    assert first.text.split("\n")[0] == "XX县产业发展工作方案"
    sentences = [s for paragraph in records[0]["paragraphs"] for _, s in paragraph]  # type: ignore[attr-defined]
    assert [first.text[s.start : s.end] for s in first.spans] == sentences
    assert first.genre == "implementation_plan"
    # Their sentences are training rows too, one CV group per document.
    rows = read_labelled_dir(tmp_path)
    assert len(rows) == sum(len(d.spans) for d in documents)
    assert {r.group for r in rows} == {d.doc for d in documents}
    assert read_documents_dir(tmp_path) == documents


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"genre": "x", "paragraphs": [[["other", "a"]]]}, r":1: field 'doc'"),
        ({"doc": "d", "paragraphs": []}, r":1: field 'paragraphs'"),
        ({"doc": "d", "paragraphs": [[["safety", "加强管理。"]]]}, r"paragraphs\[0\]\[0\]: unknown theme 'safety'"),
        (
            {"doc": "d", "paragraphs": [[["other", "两行\n文本"]]]},
            r"paragraphs\[0\]\[0\]: the sentence is empty or holds a line break",
        ),
        ({"doc": "d", "paragraphs": [["other"]]}, r"paragraphs\[0\]\[0\] must be a \[theme, sentence\] pair"),
    ],
)
def test_bad_documents_are_reported(tmp_path: Path, record: dict[str, object], message: str) -> None:
    path = _write_documents(tmp_path / "bad.documents.jsonl", [record])
    with pytest.raises(PlanthemeError, match=message):
        read_labelled_documents(path)


def test_span_labels(tmp_path: Path) -> None:
    path = tmp_path / "spans.csv"
    path.write_text(
        "path,start,end,theme,genre,sha\na/b.txt,0,12,ecology,work_report,abc\na/b.txt,20,30,other,,\n",
        encoding="utf-8",
    )
    rows = read_span_labels(path)
    assert [(r.path, r.start, r.end, r.theme, r.genre, r.sha, r.line) for r in rows] == [
        ("a/b.txt", 0, 12, "ecology", "work_report", "abc", 2),
        ("a/b.txt", 20, 30, "other", "", "", 3),
    ]


# A GBK report with CRLF line ends, as a site served it: spans index the decoded text, line ends included.
SPAN_DOC = "关于印发某县2025年工作要点的通知\r\n一、产业发展\r\n推动规上工业企业技术改造。\r\n二、生态环境\r\n全面落实河长制。\r\n"


def _span_corpus(tmp_path: Path) -> tuple[Path, Path]:
    """A folder with the document, and a labels folder with a sentence CSV and a span-label file into it."""
    corpus = tmp_path / "corpus"
    (corpus / "county").mkdir(parents=True)
    (corpus / "county" / "plan.txt").write_bytes(SPAN_DOC.encode("gbk"))
    labels = tmp_path / "labels"
    (labels / "spans").mkdir(parents=True)
    (labels / "a.csv").write_text("text,theme\n推进河长制。,ecology\n", encoding="utf-8")
    lines = ["path,start,end,theme,genre,sha"]
    for piece, theme in (("推动规上工业企业技术改造。", "industry"), ("全面落实河长制。", "ecology")):
        start = SPAN_DOC.index(piece)
        lines.append(f"county/plan.txt,{start},{start + len(piece)},{theme},departmental_plan,{span_sha(piece)[:12]}")
    (labels / "spans" / "r7.spans.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return corpus, labels


def test_span_label_files_become_whole_documents(tmp_path: Path) -> None:
    corpus, labels = _span_corpus(tmp_path)
    files = span_files(labels)
    assert [f.name for f in files] == ["r7.spans.csv"]
    # Sentence files never try to read a span file as sentences: it needs its folder.
    assert [r.text for r in read_labelled_dir(labels)] == ["推进河长制。"]
    (document,) = read_span_documents(files, corpus, max_chars=10_000)
    assert document.doc == "county/plan.txt" and document.genre == "departmental_plan"
    assert document.text == SPAN_DOC
    rows = document_rows([document])
    assert [(r.text, r.theme, r.group, r.source) for r in rows] == [
        ("推动规上工业企业技术改造。", "industry", "county/plan.txt", "spans"),
        ("全面落实河长制。", "ecology", "county/plan.txt", "spans"),
    ]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("county/gone.txt,0,4,other,,", r"r7\.spans\.csv:2: county/gone\.txt: cannot read the document"),
        ("county/plan.txt,0,4,other,,ffffffffffff", r"r7\.spans\.csv:2: county/plan\.txt 0-4: the span's text changed"),
        ("county/plan.txt,0,4000,other,,", r"r7\.spans\.csv:2: county/plan\.txt 0-4000: the span's text changed"),
    ],
)
def test_span_labels_that_do_not_fit_their_document_are_named(tmp_path: Path, row: str, message: str) -> None:
    corpus, labels = _span_corpus(tmp_path)
    bad = labels / "spans" / "r7.spans.csv"
    bad.write_text(f"path,start,end,theme,genre,sha\n{row}\n", encoding="utf-8")
    with pytest.raises(PlanthemeError, match=message):
        read_span_documents([bad], corpus, max_chars=10_000)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("file,begin,theme\nx,1,other\n", r"the header lacks path, start, end; found file, begin, theme"),
        ("path,start,end,theme\nx,a,3,other\n", r"spans\.csv:2: fields 'start' and 'end' must be integers"),
        ("path,start,end,theme\nx,5,3,other\n", r"spans\.csv:2: span 5-3 is empty"),
        ("path,start,end,theme\nx,1,3,safety\n", r"spans\.csv:2: field 'theme': unknown theme 'safety'"),
        ("path,start,end,theme\n", r"no span labels"),
    ],
)
def test_bad_span_labels(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "spans.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(PlanthemeError, match=message):
        read_span_labels(path)


# --- the shipped span labels (labels/spans/: real documents of ../shared/corpus) ----------

CORPUS = REPO_ROOT.parent / "shared" / "corpus"


def test_shipped_span_labels_keep_out_of_the_dev_set_and_the_withheld_reports() -> None:
    from plantheme.training.pseudo import read_exclusions

    files = span_files(LABELS)
    assert files, "labels/spans/*.spans.csv"
    labelled = {row.path for file in files for row in read_span_labels(file)}
    dev = set(read_exclusions([REPO_ROOT / "devset" / "tune.csv", REPO_ROOT / "devset" / "rare.csv"]))
    withheld = set(read_exclusions([LABELS / "self-training-exclude.txt"]))
    assert labelled.isdisjoint(dev), sorted(labelled & dev)[:5]
    assert labelled.isdisjoint(withheld), sorted(labelled & withheld)[:5]


def test_shipped_span_labels_still_cover_their_text() -> None:
    if not CORPUS.is_dir():
        pytest.skip("../shared/corpus is not beside the checkout")
    documents = read_span_documents(span_files(LABELS), CORPUS, max_chars=10_000_000)
    assert sum(len(d.spans) for d in documents) >= 1000
    assert {d.genre for d in documents} >= {"work_report", "implementation_plan", "notice"}
