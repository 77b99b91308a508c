"""Matching character spans: labelled spans to the sentence units a document was split into.

Labels made by people (or by another splitter) do not always fall on the same
boundaries as plantheme's sentence units. Both directions are matched by the
largest overlap, which is what "the tagged sentence that covers this label"
means when the boundaries differ by a character or two.
"""

from __future__ import annotations

from typing import Sequence

__all__ = ["best_overlaps"]


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
