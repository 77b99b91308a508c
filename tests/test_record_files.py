"""Files of records: one document per JSONL line or CSV row, and every bad record on its own."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from plantheme.readers.documents import UnreadableDocument
from plantheme.readers.record_files import RecordOptions, read_records


def _jsonl(path: Path, *lines: object) -> Path:
    path.write_bytes(
        b"".join(
            (line if isinstance(line, bytes) else json.dumps(line, ensure_ascii=False).encode("utf-8")) + b"\n"
            for line in lines
        )
    )
    return path


def _read(path: Path, kind: str = "jsonl", **options: object) -> list[tuple[str, str, str]]:
    records = read_records(path, kind, RecordOptions(**options), max_chars=1000)  # type: ignore[arg-type]
    return [(r.id, r.status, r.reason) for r in records]


def test_jsonl_records_one_bad_line_fails_alone(tmp_path: Path) -> None:
    path = _jsonl(
        tmp_path / "a.jsonl",
        {"title": "一", "content": "推进河长制。", "year": 2020},
        b"{not json",
        b"",
        b"\xff\xfe not utf-8",
        [1, 2],
        {"title": "五"},
        {"content": 5},
        {"content": "  "},
        {"content": "长" * 1001},
        {"content": "新建幼儿园。"},
    )
    got = _read(path)
    assert [g[:2] for g in got] == [
        ("1", ""),
        ("2", "failed"),
        ("4", "failed"),
        ("5", "failed"),
        ("6", "failed"),
        ("7", "failed"),
        ("8", "skipped"),
        ("9", "failed"),
        ("10", ""),
    ]
    reasons = [g[2] for g in got]
    assert reasons[1].startswith("line 2: not valid JSON")
    assert reasons[2].startswith("line 4: not valid UTF-8")
    assert reasons[3] == "line 5: not a JSON object"
    assert reasons[4] == "line 6: missing field 'content'"
    assert reasons[5] == "line 7: field 'content' is not a string"
    assert "too long" in reasons[7]


@pytest.mark.parametrize(
    ("first", "options", "status", "words"),
    [
        ({"title": "x", "url": "u"}, {}, "skipped", ["content, text, 正文", "title, url", "--text-field"]),
        ({"title": "x"}, {"text_field": "body"}, "failed", ["'body'", "fields found: title"]),
    ],
)
def test_a_file_without_the_text_field(
    tmp_path: Path, first: dict, options: dict, status: str, words: list[str]
) -> None:
    path = _jsonl(tmp_path / "m.jsonl", first, first)
    with pytest.raises(UnreadableDocument) as caught:
        _read(path, **options)
    assert caught.value.status == status
    assert all(word in caught.value.reason for word in words)


@pytest.mark.parametrize(("field", "value"), [("text", "推进。"), ("正文", "推进。"), ("content", "推进。")])
def test_default_text_fields(tmp_path: Path, field: str, value: str) -> None:
    path = _jsonl(tmp_path / "a.jsonl", {field: value})
    (record,) = read_records(path, "jsonl", RecordOptions(), max_chars=100)
    assert record.text == value


def test_ids_meta_and_duplicates(tmp_path: Path) -> None:
    path = _jsonl(
        tmp_path / "a.jsonl",
        {"id": "r-1", "content": "推进。", "year": 2020, "tags": ["a"]},
        {"id": "r-1", "content": "推进。"},
        {"content": "推进。"},
    )
    records = list(
        read_records(path, "jsonl", RecordOptions(id_field="id", meta_fields=("year", "tags")), max_chars=100)
    )
    assert [r.id for r in records] == ["r-1", "2", "3"]
    assert records[0].meta == {"year": "2020", "tags": '["a"]'}
    assert records[1].status == "failed" and "duplicate id 'r-1' (first on line 1)" in records[1].reason
    assert records[2].status == "failed" and "missing id field 'id'" in records[2].reason


def test_a_very_long_line_is_not_held_and_the_next_is_read(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_bytes(b'{"content": "' + b"x" * 50_000 + b'"}\n' + b'{"content": "ok"}\n')
    records = list(read_records(path, "jsonl", RecordOptions(), max_chars=100))
    assert records[0].status == "failed" and "longer than 400 bytes" in records[0].reason
    assert records[1].text == "ok"


@pytest.mark.parametrize(
    ("options", "status", "reason"),
    [
        ({}, "skipped", "only with --text-field"),
        ({"text_field": "body"}, "skipped", "no column 'body' (columns: filename, title)"),
    ],
)
def test_csv_files_are_documents_only_when_the_text_field_names_a_column(
    tmp_path: Path, options: dict, status: str, reason: str
) -> None:
    path = tmp_path / "_metadata.csv"
    path.write_text("filename,title\na.txt,报告\n", encoding="utf-8")
    with pytest.raises(UnreadableDocument) as caught:
        _read(path, "csv", **options)
    assert caught.value.status == status and reason in caught.value.reason


def test_csv_rows_with_line_breaks_and_bad_rows(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes('\ufeffid,正文\n1,"第一行\n第二行"\n2,a,extra\n'.encode("utf-8") + b"3,\xff\n4,ok\n")
    records = list(read_records(path, "csv", RecordOptions(text_field="正文", id_field="id"), max_chars=100))
    assert [(r.id, r.status) for r in records] == [("1", ""), ("2", "failed"), ("3", "failed"), ("4", "")]
    assert records[0].text == "第一行\n第二行"
    assert records[1].reason == "line 4: 3 fields, but the header has 2"
    assert records[2].reason == "line 5: not valid UTF-8"
