"""Lines of a byte stream with bounded memory."""

from __future__ import annotations

import io

from plantheme.readers.lines import bounded_lines


def test_every_line_numbered_with_its_ending() -> None:
    stream = io.BytesIO(b"one\r\ntwo\n\nlast without newline")
    assert list(bounded_lines(stream, 100)) == [
        (1, b"one\r\n"),
        (2, b"two\n"),
        (3, b"\n"),
        (4, b"last without newline"),
    ]


def test_a_line_over_the_limit_is_none_and_skipped_whole() -> None:
    long = b"x" * (3 << 20)  # longer than the 1 MiB pieces it is read past in
    stream = io.BytesIO(b"short\n" + long + b"\nafter\n" + b"y" * 11)
    assert list(bounded_lines(stream, 10)) == [(1, b"short\n"), (2, None), (3, b"after\n"), (4, None)]


def test_a_line_of_the_limit_and_its_newline_is_kept() -> None:
    assert list(bounded_lines(io.BytesIO(b"12345\n123456\n"), 6)) == [(1, b"12345\n"), (2, b"123456\n")]


def test_no_input_no_lines() -> None:
    assert list(bounded_lines(io.BytesIO(b""), 10)) == []
