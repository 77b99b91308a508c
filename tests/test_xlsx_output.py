"""documents.xlsx: its sheets, safe text, formatting, and the cap on sentences."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from plantheme.analysis.metadata import MetaSources, parse_meta_pattern
from plantheme.tagging.corpus_tagging import TagOptions, tag_folder


def _tag(root: Path, out: Path, model_dir: Path, max_sentences: int) -> None:
    meta = MetaSources(patterns=(parse_meta_pattern(r"year=(\d{4})"),))
    tag_folder(
        TagOptions(
            folder=root,
            out_dir=out,
            model_dir=model_dir,
            meta=meta,
            share_replicates=200,
            xlsx_max_sentences=max_sentences,
        )
    )


@pytest.fixture
def workbook(tiny_model_dir: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    root = tmp_path / "docs"
    root.mkdir()
    (root / "a_2024.txt").write_text("=SUM(A1:A9)全面落实河长制。\n新建幼儿园2所\x07。\n", encoding="utf-8")
    (root / "b_2019.txt").write_text("加强消防安全。\n", encoding="utf-8")
    (root / "empty.txt").write_text("", encoding="utf-8")
    out = tmp_path / "out"
    _tag(root, out, tiny_model_dir, max_sentences=2)
    return openpyxl.load_workbook(out / "documents.xlsx")


def test_sheets_hold_documents_groups_sentences_and_about(workbook) -> None:  # type: ignore[no-untyped-def]
    assert workbook.sheetnames == ["documents", "groups", "sentences", "about"]
    docs = list(workbook["documents"].iter_rows(values_only=True))
    assert docs[0][:4] == ("path 文件", "year", "status 状态", "reason 原因")
    assert "生态环境 ecology" in docs[0] and "生态环境 下限 lo" in docs[0]
    assert [row[0] for row in docs[1:]] == ["a_2024.txt", "b_2019.txt", "empty.txt"]
    assert docs[1][1] == "2024"
    groups = list(workbook["groups"].iter_rows(values_only=True))
    assert [(row[0], row[1], row[2]) for row in groups[1:]] == [("year", "2019", 1), ("year", "2024", 1)]


def test_text_stays_text_and_loses_only_what_xlsx_cannot_hold(workbook) -> None:  # type: ignore[no-untyped-def]
    sentences = workbook["sentences"]
    first, second = sentences["G2"], sentences["G3"]
    assert first.data_type == "s" and first.value.startswith("=SUM(A1:A9)")
    assert second.value == "新建幼儿园2所。"  # the BEL character removed


def test_the_sentences_sheet_is_capped_and_says_so(workbook) -> None:  # type: ignore[no-untyped-def]
    assert workbook["sentences"].max_row == 1 + 2
    about = dict(workbook["about"].iter_rows(min_row=2, values_only=True))
    assert about["sentences sheet"] == "the first 2 of 3 sentences; sentences.csv holds every one"


def test_headers_are_frozen_filtered_and_shares_are_percentages(workbook) -> None:  # type: ignore[no-untyped-def]
    docs = workbook["documents"]
    assert docs.freeze_panes == "B2" and docs.auto_filter.ref.startswith("A1:")
    assert docs["A1"].font.b
    header = [cell.value for cell in docs[1]]
    share = header.index("产业发展 industry") + 1
    assert docs.cell(row=2, column=share).number_format == "0.0%"
    assert docs.cell(row=4, column=share).value is None  # empty.txt: no content, no share
