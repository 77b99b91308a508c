"""The outline of a document: its title, its headings and the heading each sentence sits under.

A bare "三是强化督导考核。" or "持续扩大覆盖面。" says little alone; the heading above it
("（二）健全多层次医疗保障体系") and the document's title usually settle what it is
about. This module finds them from the form of the sentence units only
(numbering, standing alone on a line, no closing punctuation), so the context
stage (:mod:`plantheme.model.context`) can read them.

Heading levels follow Chinese official-document numbering: 第X章/部分 (0), 一、 (1),
（一） (2), 1. / 1、 (3), （1） (4), ①/⑴ (5). A short line with no numbering and
no closing punctuation that stands alone (``保障措施``) is a heading of level 3.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Outline", "heading_level", "outline_of"]

_LEVELS: tuple[tuple[int, re.Pattern[str]], ...] = (
    (0, re.compile(r"^第[一二三四五六七八九十百零〇\d]+[章节篇部](?:分)?")),
    (1, re.compile(r"^[一二三四五六七八九十百]+[、.．]")),
    (2, re.compile(r"^[（(][一二三四五六七八九十百]+[)）]")),
    (3, re.compile(r"^\d{1,2}[、.．](?!\d)")),
    (4, re.compile(r"^[（(]\d{1,2}[)）]")),
    (5, re.compile(r"^[①-⑳⑴-⒇]")),
)
# The characters a numbered heading can start with.
_NUMBERING_STARTS = frozenset("第一二三四五六七八九十百（(0123456789①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳⑴⑵⑶⑷⑸⑹⑺⑻⑼⑽⑾⑿⒀⒁⒂⒃⒄⒅⒆⒇")
_UNNUMBERED_LEVEL = 3
# A numbered heading may run on into a sentence ("（一）发展目标。力争……" is split by
# the splitter at "。"), but a unit longer than this is a sentence that happens to
# start with a number.
_MAX_HEADING_CHARS = 45
_MAX_UNNUMBERED_CHARS = 20
# Unnumbered headings in a row beyond this are a table's cells or a list of links (_drop_cell_runs).
_MAX_HEADING_RUN = 2
# The numbering of the level unnumbered headings share ("3.推进智慧医保"): those are never cells.
_NUMBERED_AT_UNNUMBERED_LEVEL = dict(_LEVELS)[_UNNUMBERED_LEVEL]
_CLOSING = "。；！？…"
# How many units from the top a title may be found in (after furniture lines).
_TITLE_WINDOW = 6
# A title wrapped over lines ("重庆市人民政府关于" / "促进儿童事业持续健康发展若干政策的意见") runs on
# until a line ends with the kind of document it is; at most this many lines, each this short.
_TITLE_KINDS = (
    "通知", "意见", "方案", "办法", "规定", "计划", "要点", "措施", "细则", "决定", "规划", "纲要",
    "报告", "政策", "批复", "条例", "总结", "清单", "公告", "通告", "函",
)  # fmt: skip
_MAX_TITLE_LINES = 3
_MAX_TITLE_LINE_CHARS = 40


def heading_level(unit: str, alone_on_line: bool) -> int | None:
    """The heading level of a normalised sentence unit, or None when it is no heading."""
    text = unit.strip()
    if not text:
        return None
    if text[0] in _NUMBERING_STARTS:  # one set look-up spares six patterns on most sentences
        for level, pattern in _LEVELS:
            if pattern.match(text):
                return level if len(text) <= _MAX_HEADING_CHARS else None
    if alone_on_line and len(text) <= _MAX_UNNUMBERED_CHARS and text[-1] not in _CLOSING and text[-1] not in "，、：:,":
        return _UNNUMBERED_LEVEL
    return None


@dataclass(frozen=True)
class Outline:
    """Per sentence unit: its heading level (None for a sentence), the index of the
    nearest heading above it and of the top-level heading above it (-1: none), and
    the index of the document's title unit (-1: none found)."""

    levels: tuple[int | None, ...]
    nearest_heading: tuple[int, ...]
    top_heading: tuple[int, ...]
    title: int
    # Every unit of a title wrapped over lines, the first being ``title`` (empty: no title).
    title_units: tuple[int, ...] = ()


def _alone_on_line(text: str, start: int, end: int) -> bool:
    before = text[start - 1] if start > 0 else "\n"
    after = text[end] if end < len(text) else "\n"
    return before == "\n" and after == "\n"


def _title_run(
    text: str,
    spans: Sequence[tuple[int, int]],
    skip: Sequence[bool],
    alone: Sequence[bool],
    levels: Sequence[int | None],
    first: int,
) -> list[int]:
    """The units of the title starting at ``first``: the lines it wraps over, when the last of
    them ends with the kind of document (通知, 意见, …); otherwise ``first`` alone."""
    run = [first]
    while len(run) < _MAX_TITLE_LINES and not _names_a_kind(text, spans[run[-1]]):
        following = run[-1] + 1
        if following >= len(spans) or skip[following] or not alone[following]:
            break
        line = text[spans[following][0] : spans[following][1]].strip()
        numbered = levels[following] not in (None, _UNNUMBERED_LEVEL)
        if not line or numbered or line[-1] in _CLOSING + "，、：:," or len(line) > _MAX_TITLE_LINE_CHARS:
            break
        run.append(following)
    return run if _names_a_kind(text, spans[run[-1]]) else [first]


def _names_a_kind(text: str, span: tuple[int, int]) -> bool:
    return text[span[0] : span[1]].strip().endswith(_TITLE_KINDS)


def _drop_cell_runs(
    text: str, spans: Sequence[tuple[int, int]], skip: Sequence[bool], levels: list[int | None]
) -> None:
    """Unmark unnumbered "headings" that come in runs: table cells and link lists, not headings.

    A DOCX table gives each cell its own short line ("项目名称", "起草单位", then every bill's
    name), as a web page's navigation gives each link; read as headings they became every
    next line's "nearest heading". A heading introduces text: at most two unnumbered ones
    in a row ("保障措施", "加强组织领导"), furniture between them not counted.
    """
    runs: list[list[int]] = [[]]
    for i, level in enumerate(levels):
        if skip[i]:
            continue
        start, end = spans[i]
        if level == _UNNUMBERED_LEVEL and not _NUMBERED_AT_UNNUMBERED_LEVEL.match(text[start:end].strip()):
            runs[-1].append(i)
        elif runs[-1]:
            runs.append([])
    for unit in (unit for run in runs if len(run) > _MAX_HEADING_RUN for unit in run):
        levels[unit] = None


def outline_of(text: str, spans: Sequence[tuple[int, int]], skip: Sequence[bool]) -> Outline:
    """The outline of a normalised text split into units ``spans``.

    ``skip`` marks units that take no part (document furniture): they are never
    headings or the title, but they do get the heading they sit under.
    """
    alone = [_alone_on_line(text, start, end) for start, end in spans]
    levels: list[int | None] = [
        None if skipped else heading_level(text[start:end], on_own_line)
        for (start, end), skipped, on_own_line in zip(spans, skip, alone)
    ]
    title = -1
    title_units: list[int] = []
    skipped_so_far = 0
    for i, (skipped, on_own_line) in enumerate(zip(skip, alone)):
        if i >= _TITLE_WINDOW + skipped_so_far:
            break
        if not skipped and on_own_line:
            title = i
            title_units = _title_run(text, spans, skip, alone, levels, i)
            for unit in title_units:
                levels[unit] = None  # the title is not a heading of the body
            break
        skipped_so_far += skipped
    _drop_cell_runs(text, spans, skip, levels)
    nearest: list[int] = []
    top: list[int] = []
    # Open headings by level: a heading closes every heading of its level or deeper. The
    # newest heading is always the nearest one; the top one is the open heading of least level.
    open_headings: dict[int, int] = {}
    nearest_now = top_now = -1
    for i, level in enumerate(levels):
        nearest.append(nearest_now)
        top.append(top_now)
        if level is not None:
            for deeper in [lv for lv in open_headings if lv >= level]:
                del open_headings[deeper]
            open_headings[level] = i
            nearest_now, top_now = i, open_headings[min(open_headings)]
    return Outline(
        levels=tuple(levels),
        nearest_heading=tuple(nearest),
        top_heading=tuple(top),
        title=title,
        title_units=tuple(title_units),
    )
