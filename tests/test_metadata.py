"""Document metadata: patterns over paths, the metadata table, and which source wins."""

from __future__ import annotations

from pathlib import Path

import pytest

from plantheme.analysis.metadata import (
    MetaSources,
    check_table_paths,
    parse_meta_pattern,
    read_meta_table,
)
from plantheme.errors import PlanthemeError


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        (r"year=(20\d\d)", "county/报告_2024年.txt", {"year": "2024"}),
        (r"year=20\d\d", "county/报告_2024年.txt", {"year": "2024"}),  # no group: the whole match
        (r"(?P<year>20\d\d)", "2019/a.txt", {"year": "2019"}),
        (r"^(?P<place>[^/]+)/(?P<year>\d{4})", "高阳县/2021/a.txt", {"place": "高阳县", "year": "2021"}),
        (r"year=(20\d\d)", "no-year.txt", {}),
        (r"(?P<year>20\d\d)?x", "x.txt", {}),  # an optional group that did not take part gives no value
    ],
)
def test_patterns_give_fields_from_the_path(pattern: str, path: str, expected: dict[str, str]) -> None:
    assert parse_meta_pattern(pattern).values(path) == expected


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        (r"20\d\d", "name the field"),
        ("year=(20", "not a regular expression"),
    ],
)
def test_bad_patterns_say_what_is_wrong(pattern: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_meta_pattern(pattern)


def _table(tmp_path: Path, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / "meta.csv"
    path.write_bytes(text.encode(encoding))
    return path


def test_a_table_is_read_by_path_with_its_fields(tmp_path: Path) -> None:
    path = _table(tmp_path, "\ufeffpath,year,place\r\n./a.txt,2024,高阳县\r\nsub\\b.txt,2019,\r\n\r\n")
    table = read_meta_table(path)
    assert table.fields == ("year", "place")
    assert table.rows == {"a.txt": {"year": "2024", "place": "高阳县"}, "sub/b.txt": {"year": "2019"}}
    assert table.lines == {"a.txt": 2, "sub/b.txt": 3}


def test_a_table_saved_as_gbk_is_read(tmp_path: Path) -> None:
    table = read_meta_table(_table(tmp_path, "path,地区\na.txt,高阳县\n", encoding="gbk"))
    assert table.rows == {"a.txt": {"地区": "高阳县"}}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("file,year\na.txt,2024\n", r"meta.csv:1: no 'path' column \(the header has file, year\)"),
        ("path,year\na.txt,2024\nb.txt\n", "meta.csv:3: 1 fields, the header has 2"),
        ('path,year\na.txt,2024\n"b.txt\nc",1\na.txt,2020\n', r"meta.csv:5: 'a.txt' again \(first on line 2\)"),
        ("path,year\n,2024\n", "meta.csv:2: the 'path' field is empty"),
        ("path,year,year\na.txt,1,2\n", "meta.csv:1: the column 'year' is there twice"),
        ("path,status\na.txt,x\n", "meta.csv:1: 'status' is already a column of documents.csv"),
        ("path,a=b\na.txt,x\n", "may not hold '='"),
    ],
)
def test_a_bad_table_names_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(PlanthemeError, match=message):
        read_meta_table(_table(tmp_path, text), reserved=("status",))


def test_a_path_not_in_the_corpus_names_its_line(tmp_path: Path) -> None:
    table = read_meta_table(_table(tmp_path, "path,year\na.txt,2024\nmissing.txt,2019\n"))
    check_table_paths(table, {"a.txt", "missing.txt"}, "docs")
    with pytest.raises(PlanthemeError, match=r"meta.csv:3: 'missing.txt' is not a document of docs"):
        check_table_paths(table, {"a.txt"}, "docs")


def test_the_table_overrides_the_pattern_which_overrides_the_record(tmp_path: Path) -> None:
    table = read_meta_table(_table(tmp_path, "path,year,level\na_2020.txt,2021,县\n"))
    sources = MetaSources(patterns=(parse_meta_pattern(r"year=(20\d\d)"),), table=table)
    assert sources.fields(("title", "year")) == ("title", "year", "level")
    assert sources.meta_for("a_2020.txt", {"year": "1999", "title": "甲"}) == {
        "year": "2021",
        "title": "甲",
        "level": "县",
    }
    assert sources.meta_for("b_2020.txt", {"year": "1999"}) == {"year": "2020"}
    assert sources.meta_for("c.txt", {"year": "1999"}) == {"year": "1999"}
