"""The chosen queue on disk (``review-queue.json`` in the labels folder), so that a restart
offers the same sentences in the same order instead of choosing again.

The file records what the queue was chosen from (the tag output folder and its
published generation, the model, the size and the strategy); a queue chosen
from anything else is chosen again.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..tagging.tag_outputs import atomic_file
from .queue import ReviewItem, TagOutput, build_queue, read_candidates
from .store import QUEUE_FILE, LabelStore

if TYPE_CHECKING:
    from ..model.scoring import Predictor

__all__ = ["QueueOrigin", "queue_for", "read_saved_queue", "write_saved_queue"]


@dataclass(frozen=True)
class QueueOrigin:
    """What a queue was chosen from."""

    output: str
    generation: str
    model: str
    size: int
    strategy: str


def read_saved_queue(path: Path, origin: QueueOrigin) -> list[ReviewItem] | None:
    """The saved queue when it was chosen from ``origin``; None when there is none or it is another's."""
    try:
        saved = json.loads(Path(path).read_text(encoding="utf-8"))
        if saved.get("origin") != asdict(origin):
            return None
        return [ReviewItem.from_dict(raw) for raw in saved["items"]]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None  # missing or unreadable: choosing again is always safe


def write_saved_queue(path: Path, origin: QueueOrigin, items: list[ReviewItem]) -> None:
    """Save the queue atomically."""
    with atomic_file(Path(path), newline="\n") as handle:
        json.dump({"origin": asdict(origin), "items": [item.to_dict() for item in items]}, handle, ensure_ascii=False)
        handle.write("\n")


def queue_for(
    output: TagOutput,
    model: Predictor,
    store: LabelStore,
    size: int,
    *,
    strategy: str = "margin",
    near_duplicate: float = 0.9,
    min_chars: int = 4,
    max_chars: int = 2_000_000,
) -> list[ReviewItem]:
    """The queue of the labels folder of ``store`` for ``output``: the saved one when it was chosen
    from the same output, model, size and strategy, else a new one (then saved)."""
    origin = QueueOrigin(
        output=str(output.out_dir.resolve()),
        generation=output.generation,
        model=model.model_id,
        size=size,
        strategy=strategy,
    )
    path = store.folder / QUEUE_FILE
    items = read_saved_queue(path, origin)
    if items is None:
        pool = read_candidates(output, model, max_chars=max_chars)
        items = build_queue(
            pool,
            model,
            size,
            labelled_texts=store.labelled_texts(),
            answered=store.answered(),
            strategy=strategy,
            near_duplicate=near_duplicate,
            min_chars=min_chars,
        )
        write_saved_queue(path, origin, items)
    return items
