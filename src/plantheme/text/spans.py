"""Matching character spans: labelled spans to the sentence units a document was split into.

Labels made by people (or by another splitter) do not always fall on the same
boundaries as plantheme's sentence units. Both directions are matched by the
largest overlap, which is what "the tagged sentence that covers this label"
means when the boundaries differ by a character or two.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["best_overlaps", "cover_gaps"]


def best_overlaps(targets: Sequence[tuple[int, int]], candidates: Sequence[tuple[int, int]]) -> list[int]:
    """For each target span, the index of the candidate span overlapping it most (-1: none).

    Both lists must be sorted by start and not overlap among themselves (sentence
    units and label spans are); the sweep is linear in their total length. Ties
    go to the earlier candidate.
    """
    best: list[int] = []
    first = 0
    for start, end in targets:
        while first < len(candidates) and candidates[first][1] <= start:
            first += 1
        chosen, chosen_overlap = -1, 0
        k = first
        while k < len(candidates) and candidates[k][0] < end:
            overlap = min(end, candidates[k][1]) - max(start, candidates[k][0])
            if overlap > chosen_overlap:
                chosen, chosen_overlap = k, overlap
            k += 1
        best.append(chosen)
    return best


def cover_gaps(text: str, spans: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Widen sorted, disjoint ``spans`` of ``text`` so that every non-space character lies in one.

    Normalisation drops characters (markdown ``**`` and bullets, pinyin
    annotations, control characters), so sentence units mapped back to the
    original leave them between units. A dropped run on the line where a unit
    ends joins that unit (``一、总体要求**``); a run on a later line joins the next
    unit (``- 新建幼儿园2所。``). Runs before the first unit join the first, runs
    after the last join the last.
    """
    if not spans:
        return []
    starts = [start for start, _ in spans]
    ends = [end for _, end in spans]
    head = len(text[: starts[0]]) - len(text[: starts[0]].lstrip())
    starts[0] = min(starts[0], head)
    for i in range(len(spans) - 1):
        gap_start = ends[i]
        gap = text[gap_start : starts[i + 1]]
        if not gap or gap.isspace():
            continue
        line_end = gap.find("\n")
        same_line = gap if line_end < 0 else gap[:line_end]
        if same_line.strip():
            ends[i] += len(same_line.rstrip())
        if line_end >= 0:
            later = gap[line_end:]
            if later.strip():
                starts[i + 1] = gap_start + (len(gap) - len(later)) + (len(later) - len(later.lstrip()))
    tail = text[ends[-1] :]
    if tail.strip():
        ends[-1] += len(tail.rstrip())
    return list(zip(starts, ends))
