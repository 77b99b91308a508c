"""The queue out to other tools, and their labels back in.

Formats:

* **plantheme JSONL** (``--export FILE``): one object per sentence, ``doc``, ``start``,
  ``end``, ``text``, ``guess``, ``scores``, ``reason`` (and the page's ``index``,
  ``title``, ``heading``, ``before``, ``after``, ``evidence``, ``key``).
* **Label Studio** JSON tasks with predictions (``--export FILE.json --format label-studio``):
  ``[{"data": {"text", "doc", "start", "end", "title", "heading"}, "predictions":
  [{"model_version", "score", "result": [choices]}]}]`` for the labelling config
  :data:`LABEL_STUDIO_CONFIG`. Its JSON export (tasks with ``annotations``) is read back.
* **Prodigy** JSONL tasks for the ``choice`` interface (``--format prodigy``): ``text``,
  ``options`` (the eight themes), ``accept`` (the guess, preselected), ``meta``
  (document, span, scores). Its answers (``"answer": "accept"`` with ``accept``,
  or a ``label`` for binary text classification) are read back.

Reading back, every record keeps ``doc``/``start``/``end`` when the task came
from this queue; a task made elsewhere gets ``doc`` = ``FILE#N`` and the whole
text as its span. A record with no usable answer (rejected, ignored, cancelled,
a label that is no theme id) is counted as left out, with the line or task
number, and the others are imported.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from collections.abc import Iterable, Sequence

from ..errors import PlanthemeError
from ..tagging.tag_outputs import atomic_file
from ..training.labels import read_jsonl_records
from ..themes import THEMES, is_theme
from .queue import ReviewItem
from .store import Answer, now_utc

__all__ = [
    "EXPORT_FORMATS",
    "LABEL_STUDIO_CONFIG",
    "Imported",
    "export_queue",
    "label_studio_tasks",
    "prodigy_tasks",
    "read_label_studio",
    "read_prodigy",
    "read_answers",
]

EXPORT_FORMATS = ("jsonl", "label-studio", "prodigy")
# The Label Studio labelling config the exported tasks are made for (paste it into the project's settings).
LABEL_STUDIO_CONFIG = (
    '<View>\n  <Header value="$title"/>\n  <Text name="text" value="$text"/>\n'
    '  <Choices name="theme" toName="text" choice="single" showInLine="true">\n'
    + "".join(f'    <Choice value="{theme.id}" hint="{theme.name_zh}"/>\n' for theme in THEMES)
    + "  </Choices>\n</View>\n"
)


def _write_jsonl(path: Path, records: Iterable[dict[str, Any]]) -> None:
    with atomic_file(path, newline="\n") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")


def label_studio_tasks(items: Sequence[ReviewItem], model_id: str) -> list[dict[str, Any]]:
    """The queue as Label Studio tasks, each with the model's guess as a prediction."""
    return [
        {
            "data": {
                "text": item.text,
                "doc": item.doc,
                "start": item.start,
                "end": item.end,
                "title": item.title,
                "heading": item.heading,
                "reason": item.reason,
            },
            "predictions": [
                {
                    "model_version": model_id,
                    "score": item.scores[item.guess],
                    "result": [
                        {"from_name": "theme", "to_name": "text", "type": "choices", "value": {"choices": [item.guess]}}
                    ],
                }
            ],
        }
        for item in items
    ]


def prodigy_tasks(items: Sequence[ReviewItem]) -> list[dict[str, Any]]:
    """The queue as Prodigy ``choice`` tasks, the guess preselected."""
    options = [{"id": theme.id, "text": f"{theme.name_zh} ({theme.id})"} for theme in THEMES]
    return [
        {
            "text": item.text,
            "options": options,
            "accept": [item.guess],
            "meta": {
                "doc": item.doc,
                "start": item.start,
                "end": item.end,
                "title": item.title,
                "heading": item.heading,
                "guess": item.guess,
                "score": item.scores[item.guess],
                "reason": item.reason,
            },
        }
        for item in items
    ]


def export_queue(items: Sequence[ReviewItem], path: Path, fmt: str = "jsonl", model_id: str = "") -> None:
    """Write the queue to ``path`` (atomically) in one of :data:`EXPORT_FORMATS`."""
    if fmt == "jsonl":
        _write_jsonl(path, (item.to_dict() for item in items))
    elif fmt == "prodigy":
        _write_jsonl(path, prodigy_tasks(items))
    elif fmt == "label-studio":
        with atomic_file(path, newline="\n") as handle:
            json.dump(label_studio_tasks(items, model_id), handle, ensure_ascii=False, indent=1)
            handle.write("\n")
    else:
        raise PlanthemeError(f"--format {fmt}: expected one of {', '.join(EXPORT_FORMATS)}")


@dataclass(frozen=True)
class Imported:
    """The answers read from another tool's file, and what was left out (``file:where: reason``)."""

    answers: tuple[Answer, ...]
    left_out: tuple[str, ...]


def _span(source: dict[str, Any], text: str, fallback_doc: str) -> tuple[str, int, int]:
    doc, start, end = source.get("doc"), source.get("start"), source.get("end")
    if isinstance(doc, str) and isinstance(start, int) and isinstance(end, int):
        return doc, start, end
    return fallback_doc, 0, len(text)


def read_label_studio(path: Path, who: str = "label-studio") -> Imported:
    """Labels from a Label Studio JSON export: each task's newest annotation that chose one theme."""
    try:
        tasks = json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PlanthemeError(f"{path}: not a readable Label Studio JSON export ({exc})") from None
    if not isinstance(tasks, list):
        raise PlanthemeError(f"{path}: expected a JSON list of tasks (Label Studio's JSON export)")
    answers, left_out = [], []
    for number, task in enumerate(tasks, start=1):
        data = task.get("data") if isinstance(task, dict) else None
        text = data.get("text") if isinstance(data, dict) else None
        if not isinstance(data, dict) or not isinstance(text, str) or not text.strip():
            left_out.append(f"{path}:task {number}: no data.text")
            continue
        annotations = [a for a in task.get("annotations") or [] if isinstance(a, dict) and not a.get("was_cancelled")]
        choices = [
            choice
            for a in annotations[-1:]
            for r in a.get("result") or []
            if isinstance(r, dict) and r.get("type") == "choices"
            for choice in (r.get("value") or {}).get("choices") or []
        ]
        if len(choices) != 1 or not is_theme(str(choices[0])):
            left_out.append(f"{path}:task {number}: no annotation choosing one theme id (found {choices})")
            continue
        predictions = task.get("predictions") or []
        guess = ""
        for prediction in predictions[:1]:
            for r in prediction.get("result") or []:
                guess = ((r.get("value") or {}).get("choices") or [""])[0]
        annotation = annotations[-1]
        doc, start, end = _span(data, text, f"{Path(path).name}#{task.get('id', number)}")
        answers.append(
            Answer(
                doc=doc,
                start=start,
                end=end,
                text=text,
                answer=str(choices[0]),
                guess=str(guess),
                who=str(annotation.get("completed_by") or who),
                when=str(annotation.get("created_at") or now_utc()),
            )
        )
    return Imported(tuple(answers), tuple(left_out))


def read_prodigy(path: Path, who: str = "prodigy") -> Imported:
    """Labels from Prodigy answers (JSONL): accepted choice tasks, or accepted binary ``label`` tasks."""
    answers, left_out = [], []
    try:
        records = list(read_jsonl_records(Path(path)))
    except OSError as exc:
        raise PlanthemeError(f"{path}: not a readable JSONL file ({exc.strerror or exc})") from None
    for number, record in records:
        if "__error__" in record:
            left_out.append(f"{path}:{number}: {record['__error__']}")
            continue
        text = record.get("text")
        if not isinstance(text, str) or not text.strip():
            left_out.append(f"{path}:{number}: no text")
            continue
        if record.get("answer") != "accept":
            left_out.append(f"{path}:{number}: answer {record.get('answer')!r}, not accept")
            continue
        chosen = record.get("accept") if "options" in record else [record.get("label")]
        if not isinstance(chosen, list) or len(chosen) != 1 or not is_theme(str(chosen[0])):
            left_out.append(f"{path}:{number}: does not accept exactly one theme id (found {chosen})")
            continue
        found = record.get("meta")
        meta: dict[str, Any] = found if isinstance(found, dict) else {}
        doc, start, end = _span(meta, text, f"{Path(path).name}#{number}")
        answers.append(
            Answer(
                doc=doc,
                start=start,
                end=end,
                text=text,
                answer=str(chosen[0]),
                guess=str(meta.get("guess") or ""),
                who=str(record.get("_annotator_id") or who),
                when=now_utc(),
            )
        )
    return Imported(tuple(answers), tuple(left_out))


def read_answers(path: Path) -> Imported:
    """Labels from a Label Studio JSON export (``.json``) or Prodigy answers (``.jsonl``)."""
    path = Path(path)
    if not path.is_file():
        raise PlanthemeError(f"--import {path}: no such file")
    if path.suffix.lower() == ".json":
        return read_label_studio(path)
    if path.suffix.lower() == ".jsonl":
        return read_prodigy(path)
    raise PlanthemeError(f"--import {path}: expected a Label Studio export (.json) or Prodigy answers (.jsonl)")
