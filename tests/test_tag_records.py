"""The sentence record's confidence is written as repr(round(c, 4)) would write it."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plantheme.tagging.tag_records import confidence_text


@pytest.mark.parametrize("value", [0.0, 1.0, 0.5, 0.12, 0.03125, 0.00005, 0.99995, 0.12345, 1e-9, 0.999999])
def test_confidence_text_edge_values(value: float) -> None:
    assert confidence_text(value) == repr(round(value, 4))


@settings(max_examples=2000, deadline=None)
@given(st.floats(0, 1))
def test_confidence_text_equals_repr_of_round(value: float) -> None:
    assert confidence_text(value) == repr(round(value, 4))
