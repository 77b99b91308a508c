"""``documents.xlsx``: a run's documents, groups and sentences as a workbook a person can work in.

Sheets, each with a bold header row that stays in view, filters on every column, widths that
fit, shares as percentages and the Chinese theme names in the headers:

* ``documents``: path, metadata, status, sentences, dominant theme, and each theme's estimated
  share with its 95% interval, then the predicted counts;
* ``groups``: one row per (metadata field, value), as ``groups.csv``;
* ``sentences``: the first ``max_sentences`` sentences (a workbook of a large corpus would take
  longer to write than the tagging: openpyxl wrote 122,285 sentences in 17 s here);
  ``sentences.csv`` holds every one;
* ``about``: the model, how the shares were estimated, what the sentences sheet holds.

Every text is written as text, never as a formula (a sentence may begin with ``=``), without the
control characters XLSX cannot hold, and cut at Excel's 32,767 characters per cell.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from pathlib import Path
from typing import Any

from ..analysis.records import CorpusAnalysis, ThemeShares
from ..themes import THEME_IDS, THEMES_BY_ID
from .tag_outputs import atomic_file
from .tag_records import TAGGED, DocumentOutcome

__all__ = ["write_documents_xlsx"]

_EXCEL_CELL_CHARS = 32_767
# openpyxl's ILLEGAL_CHARACTERS_RE: the control characters XML 1.0 cannot hold.
_ILLEGAL = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")
_PERCENT = "0.0%"


def _share_headers() -> list[str]:
    headers = []
    for theme in THEME_IDS:
        name = THEMES_BY_ID[theme].name_zh
        headers += [f"{name} {theme}", f"{name} 下限 lo", f"{name} 上限 hi"]
    return headers


def _share_values(shares: ThemeShares | None) -> list[float | None]:
    if shares is None or not shares.shares:
        return [None] * (3 * len(THEME_IDS))
    values: list[float | None] = []
    for theme in THEME_IDS:
        interval = shares.shares[theme]
        values += [round(interval.estimate, 4), round(interval.lo, 4), round(interval.hi, 4)]
    return values


class _Sheet:
    """A write-only sheet with its header styled, frozen and filtered, and safe text cells."""

    def __init__(
        self,
        workbook: Any,
        title: str,
        headers: Sequence[str],
        widths: Sequence[float],
        percent_columns: Iterable[int] = (),
        freeze: str = "A2",
    ) -> None:
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.styles import Alignment, Font, PatternFill
        from openpyxl.utils import get_column_letter

        self._cell = WriteOnlyCell
        self.sheet = workbook.create_sheet(title)
        self.percent = frozenset(percent_columns)
        for index, width in enumerate(widths, start=1):
            self.sheet.column_dimensions[get_column_letter(index)].width = width
        self.sheet.freeze_panes = freeze
        self.sheet.auto_filter.ref = f"A1:{get_column_letter(len(headers))}1"
        bold, fill = Font(bold=True), PatternFill("solid", fgColor="DDE7F0")
        wrap = Alignment(wrap_text=True, vertical="top")
        header = []
        for text in headers:
            cell = WriteOnlyCell(self.sheet, value=text)
            cell.font, cell.fill, cell.alignment = bold, fill, wrap
            header.append(cell)
        self.sheet.append(header)

    def append(self, values: Sequence[Any]) -> None:
        """Append a row: strings as text, shares in the percent columns as percentages."""
        row: list[Any] = []
        for index, value in enumerate(values):
            if isinstance(value, str):
                value = _clean_text(value)
                if value.startswith("="):
                    cell = self._cell(self.sheet, value=value)
                    cell.data_type = "s"  # text, never a formula
                    value = cell
            elif index in self.percent and value is not None:
                cell = self._cell(self.sheet, value=value)
                cell.number_format = _PERCENT
                value = cell
            row.append(value)
        self.sheet.append(row)


def _clean_text(text: str) -> str:
    if _ILLEGAL.search(text):
        text = _ILLEGAL.sub("", text)
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate (a file name's stray byte) cannot go in XML
            text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text[:_EXCEL_CELL_CHARS]


def _read_sentences(sentences_jsonl: Path, limit: int) -> Iterator[dict[str, Any]]:
    with open(sentences_jsonl, encoding="utf-8", errors="surrogateescape") as handle:
        for line in islice(handle, limit):
            yield json.loads(line)


def write_documents_xlsx(
    path: Path,
    *,
    outcomes: Sequence[DocumentOutcome],
    meta_fields: Sequence[str],
    analysis: CorpusAnalysis,
    sentences_jsonl: Path,
    total_sentences: int,
    max_sentences: int,
    about: Sequence[tuple[str, str]] = (),
) -> None:
    """Write ``documents.xlsx`` atomically from the run's records and its ``sentences.jsonl``.

    ``about`` rows (label, value) open the ``about`` sheet (model, shares' method).
    """
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    share_headers = _share_headers()
    _write_documents(workbook, outcomes, meta_fields, analysis, share_headers)
    _write_groups(workbook, analysis, share_headers)
    written = _write_sentences(workbook, sentences_jsonl, max_sentences)
    sheet = _Sheet(workbook, "about", ["what 项目", "value 内容"], [28, 100])
    for label, value in about:
        sheet.append([label, value])
    sheet.append(
        [
            "sentences sheet",
            f"the first {written:,} of {total_sentences:,} sentences"
            + ("" if written == total_sentences else "; sentences.csv holds every one"),
        ]
    )
    with atomic_file(path, binary=True) as handle:
        workbook.save(handle)


def _write_documents(
    workbook: Any,
    outcomes: Sequence[DocumentOutcome],
    meta_fields: Sequence[str],
    analysis: CorpusAnalysis,
    share_headers: list[str],
) -> None:
    counts = [f"{THEMES_BY_ID[t].name_zh} {t} 句数 count" for t in THEME_IDS]
    headers = (
        [
            "path 文件",
            *meta_fields,
            "status 状态",
            "reason 原因",
            "sentences 句数",
            "boilerplate 版式",
            "dominant 主导主题",
        ]
        + share_headers
        + counts
    )
    first_share = 1 + len(meta_fields) + 5
    widths = [48] + [12] * len(meta_fields) + [10, 24, 10, 10, 16] + [11] * (len(share_headers) + len(counts))
    sheet = _Sheet(
        workbook,
        "documents",
        headers,
        widths,
        percent_columns=range(first_share, first_share + len(share_headers)),
        freeze="B2",
    )
    for outcome in outcomes:
        dominant = THEMES_BY_ID[outcome.dominant].name_zh if outcome.dominant in THEMES_BY_ID else ""
        tagged = outcome.status == TAGGED
        sheet.append(
            [
                outcome.path,
                *(outcome.meta.get(name, "") for name in meta_fields),
                outcome.status,
                outcome.reason,
                outcome.sentences if tagged else None,
                outcome.boilerplate if tagged else None,
                dominant,
            ]
            + _share_values(analysis.documents.get(outcome.path))
            + [outcome.counts.get(t, 0) if tagged else None for t in THEME_IDS]
        )


def _write_groups(workbook: Any, analysis: CorpusAnalysis, share_headers: list[str]) -> None:
    headers = ["field 字段", "value 取值", "documents 文件数", "content sentences 内容句数"] + share_headers
    widths = [12, 20, 10, 12] + [11] * len(share_headers)
    sheet = _Sheet(workbook, "groups", headers, widths, percent_columns=range(4, 4 + len(share_headers)), freeze="C2")
    for field in analysis.meta_fields:
        for group in analysis.groups.get(field, ()):
            sheet.append(
                [field, group.key.split("=", 1)[1], group.documents, group.content_sentences] + _share_values(group)
            )


def _write_sentences(workbook: Any, sentences_jsonl: Path, limit: int) -> int:
    headers = ["doc 文件", "index 序号", "theme 主题", "主题名称", "confidence 置信度", "flags 标记", "text 句子"]
    sheet = _Sheet(workbook, "sentences", headers, [40, 8, 20, 18, 10, 16, 100], freeze="C2")
    written = 0
    for sentence in _read_sentences(sentences_jsonl, limit):
        theme = sentence["theme"]
        sheet.append(
            [
                sentence["doc"],
                sentence["index"],
                theme,
                THEMES_BY_ID[theme].name_zh,
                sentence["confidence"],
                ";".join(sentence["flags"]),
                sentence["text"],
            ]
        )
        written += 1
    return written
