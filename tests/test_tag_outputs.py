"""The output writers: CSV fields that hold anything, and publishing a generation as a whole."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import pytest

from plantheme.tagging.tag_outputs import (
    CURRENT,
    GENERATIONS,
    OUTPUT_NAMES,
    new_generation,
    publish_generation,
    render_sentences,
)
from plantheme.tagging.tag_records import SentenceRecord


@pytest.mark.parametrize(
    "doc",
    ["a.txt", "new\nline.txt", "cr\rhere.txt", 'q"uote.txt', "c,omma.txt", "bad\\xffname.txt#3", " lead space.txt"],
)
def test_a_document_path_is_one_csv_field_whatever_it_holds(doc: str) -> None:
    sentence = SentenceRecord(0, 0, 3, "推进。\n第二行", "ecology", 0.9, ("low_confidence",))
    rendered = render_sentences(doc, [sentence, sentence])
    rows = list(csv.reader(io.StringIO(rendered.csv, newline="")))
    assert [row[0] for row in rows] == [doc, doc]
    assert rows[0][-1] == "推进。\n第二行"


def _publish(out: Path, text: str) -> Path:
    partial = new_generation(out)
    for name in OUTPUT_NAMES:
        (partial / name).write_text(text, encoding="utf-8")
    return publish_generation(out, partial)


def test_publishing_switches_every_output_and_keeps_one_generation(tmp_path: Path) -> None:
    first = _publish(tmp_path, "one")
    assert all((tmp_path / name).read_text(encoding="utf-8") == "one" for name in OUTPUT_NAMES)
    second = _publish(tmp_path, "two")
    assert all((tmp_path / name).read_text(encoding="utf-8") == "two" for name in OUTPUT_NAMES)
    assert not first.exists() and second.exists()
    assert [p.name for p in (tmp_path / GENERATIONS).iterdir()] == [second.name]
    assert os.readlink(tmp_path / CURRENT) == f"{GENERATIONS}/{second.name}"
    assert all(os.readlink(tmp_path / name) == f"{CURRENT}/{name}" for name in OUTPUT_NAMES)


def test_a_copy_made_by_following_links_can_be_published_into(tmp_path: Path) -> None:
    import shutil

    _publish(tmp_path / "out", "one")
    shutil.copytree(tmp_path / "out", tmp_path / "copy")  # links become files and folders
    _publish(tmp_path / "copy", "two")
    assert all((tmp_path / "copy" / name).read_text(encoding="utf-8") == "two" for name in OUTPUT_NAMES)
