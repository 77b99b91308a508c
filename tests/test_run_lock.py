"""The output folder's lock: one run at a time, the holder named, dead holders taken over."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from plantheme.tagging.run_lock import LOCK_FILE, OutputLocked, lock_output_folder


def test_a_second_lock_names_the_holder(tmp_path: Path) -> None:
    with lock_output_folder(tmp_path):
        with pytest.raises(OutputLocked) as caught:
            lock_output_folder(tmp_path)
    assert caught.value.pid == os.getpid()
    assert f"process {os.getpid()}" in str(caught.value)
    lock_output_folder(tmp_path).release()  # free again


def test_a_lock_file_of_a_dead_process_is_taken_over(tmp_path: Path) -> None:
    (tmp_path / LOCK_FILE).write_text("999999999\n", encoding="ascii")  # no such process holds it
    with lock_output_folder(tmp_path):
        assert (tmp_path / LOCK_FILE).read_text(encoding="ascii").strip() == str(os.getpid())


def test_wait_blocks_until_the_holder_releases(tmp_path: Path) -> None:
    held = lock_output_folder(tmp_path)
    waiting = threading.Event()
    got: list[object] = []

    def second() -> None:
        lock = lock_output_folder(tmp_path, wait=True, on_wait=lambda pid: waiting.set())
        got.append(lock)
        lock.release()

    thread = threading.Thread(target=second)
    thread.start()
    assert waiting.wait(timeout=30)
    assert not got  # still waiting: the lock is held
    held.release()
    thread.join(timeout=30)
    assert got and not thread.is_alive()
