"""Matching labelled spans to sentence units by largest overlap."""

from __future__ import annotations

import pytest

from plantheme.text.spans import best_overlaps

UNITS = [(0, 10), (10, 25), (26, 40)]


@pytest.mark.parametrize(
    "target, expected",
    [
        ((0, 10), 0),  # exact
        ((2, 8), 0),  # inside
        ((8, 24), 1),  # straddles: most of it in the second unit
        ((9, 11), 0),  # a tie goes to the earlier unit
        ((25, 26), -1),  # falls in the gap between units
        ((45, 50), -1),  # past the end
        ((0, 40), 1),  # covers all: the longest overlap
    ],
)
def test_best_overlap(target: tuple[int, int], expected: int) -> None:
    assert best_overlaps([target], UNITS) == [expected]


def test_many_targets_in_one_sweep() -> None:
    targets = [(0, 5), (12, 20), (30, 35), (41, 42)]
    assert best_overlaps(targets, UNITS) == [0, 1, 2, -1]


@pytest.mark.parametrize(
    "text, spans, expected",
    [
        # markup after a heading joins it; a bullet on the next line joins the next unit
        ("**一、总体要求**\n\n- 新建2所。", [(2, 8), (14, 19)], [(0, 10), (12, 19)]),
        # nothing dropped: unchanged
        ("甲。乙。", [(0, 2), (2, 4)], [(0, 2), (2, 4)]),
        # a dropped line between two units joins the next one
        ("甲。\n---\n乙。", [(0, 2), (7, 9)], [(0, 2), (3, 9)]),
        # leading and trailing runs
        ("# 标题\n正文。 **", [(2, 4), (5, 8)], [(0, 4), (5, 11)]),
    ],
)
def test_cover_gaps(text: str, spans: list[tuple[int, int]], expected: list[tuple[int, int]]) -> None:
    from plantheme.text.spans import cover_gaps

    covered = cover_gaps(text, spans)
    assert covered == expected
    inside = {i for start, end in covered for i in range(start, end)}
    assert all(text[i].isspace() for i in range(len(text)) if i not in inside)
