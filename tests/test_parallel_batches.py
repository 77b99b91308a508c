"""Batches mapped through forked workers: answers in order, no pool for a short input, bounded
read-ahead, answers not held back by a pausing input, errors raised here, and no worker left behind."""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from conftest import process_gone
from plantheme.errors import PlanthemeError
from plantheme.tagging import parallel_batches
from plantheme.tagging.parallel_batches import AHEAD_PER_WORKER, available_cpus, can_fork, input_ready, map_batches

pytestmark = pytest.mark.skipif(not can_fork(), reason="worker processes are forked")


def _tagged(batch: list[int]) -> tuple[int, list[int]]:
    """The process that answered, and the batch doubled."""
    return os.getpid(), [2 * item for item in batch]


@pytest.mark.parametrize("count", [95, 100, 7])
def test_answers_come_in_input_order_from_forked_workers(forks: list[int], count: int) -> None:
    answers = list(map_batches(_tagged, range(count), size=10, jobs=2))
    assert [item for _, batch in answers for item in batch] == [2 * i for i in range(count)]
    assert [len(batch) for _, batch in answers] == [10] * (count // 10) + ([count % 10] if count % 10 else [])
    pids = [pid for pid, _ in answers]
    assert pids[0] == os.getpid()  # the first batch, in this process
    if count > 10:
        assert len(forks) == 2 and set(pids[1:]) <= set(forks)
    else:
        assert forks == []  # one batch: no pool
    assert all(process_gone(pid) for pid in forks)


@pytest.mark.parametrize("count", [0, 1, 10])
def test_an_input_within_one_batch_forks_nothing(forks: list[int], count: int) -> None:
    answers = list(map_batches(_tagged, range(count), size=10, jobs=4))
    assert [batch for _, batch in answers] == ([[2 * i for i in range(count)]] if count else [])
    assert forks == []


def test_one_job_runs_in_this_process(forks: list[int]) -> None:
    answers = list(map_batches(_tagged, range(35), size=10, jobs=1))
    assert {pid for pid, _ in answers} == {os.getpid()} and forks == []
    assert len(answers) == 4


@pytest.mark.parametrize("count", [95, 11])
def test_with_a_warm_up_every_batch_goes_to_the_workers(forks: list[int], count: int) -> None:
    """More input there after the first batch: it is warmed up on here, then answered by a worker."""
    warmed: list[tuple[int, list[int]]] = []
    answers = list(
        map_batches(
            _tagged, range(count), size=10, jobs=2, warm_up=lambda batch: warmed.append((os.getpid(), list(batch)))
        )
    )
    assert warmed == [(os.getpid(), list(range(10)))]
    assert [item for _, batch in answers for item in batch] == [2 * i for i in range(count)]
    assert [len(batch) for _, batch in answers] == [10] * (count // 10) + [count % 10]  # the same batches
    assert len(forks) == 2 and {pid for pid, _ in answers} <= set(forks)
    assert all(process_gone(pid) for pid in forks)


@pytest.mark.parametrize("count", [0, 7, 10])
def test_with_a_warm_up_an_input_within_one_batch_is_answered_here(forks: list[int], count: int) -> None:
    warmed: list[list[int]] = []
    answers = list(map_batches(_tagged, range(count), size=10, jobs=2, warm_up=warmed.append))
    assert [batch for _, batch in answers] == ([[2 * i for i in range(count)]] if count else [])
    assert {pid for pid, _ in answers} <= {os.getpid()} and forks == [] and warmed == []


def test_with_a_warm_up_the_first_batch_is_answered_here_while_the_input_waits(forks: list[int]) -> None:
    """The second batch not there yet: the first is answered at once, as without a warm-up."""
    items = _Counted(30)
    warmed: list[list[int]] = []
    answers = map_batches(_tagged, items, size=10, jobs=2, ready=lambda: items.drawn > 10, warm_up=warmed.append)
    pid, first = next(answers)
    assert (pid, first, items.drawn) == (os.getpid(), [2 * i for i in range(10)], 10)
    assert [batch for _, batch in answers] == [[2 * i for i in range(10, 20)], [2 * i for i in range(20, 30)]]
    assert warmed == [] and len(forks) == 2


def test_with_a_warm_up_and_one_job_nothing_is_warmed_or_forked(forks: list[int]) -> None:
    warmed: list[list[int]] = []
    answers = list(map_batches(_tagged, range(35), size=10, jobs=1, warm_up=warmed.append))
    assert {pid for pid, _ in answers} == {os.getpid()} and len(answers) == 4
    assert warmed == [] and forks == []


class _Counted:
    """The items 0 to ``count`` - 1, counting how many were drawn."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.drawn = 0

    def __iter__(self) -> Iterator[int]:
        for item in range(self.count):
            self.drawn += 1
            yield item


def test_the_input_is_read_a_few_batches_ahead_at_most(forks: list[int]) -> None:
    items = _Counted(400)
    size, jobs = 5, 2
    for k, _ in enumerate(map_batches(_tagged, items, size=size, jobs=jobs)):
        # the answered batches, those in flight, and the one being filled
        assert items.drawn <= (k + 1 + jobs * (1 + AHEAD_PER_WORKER) + 1) * size
    assert items.drawn == 400


def test_answers_are_not_held_back_while_the_input_waits(forks: list[int]) -> None:
    """The input "pauses" after three batches: the two answered by workers come out before it is read on."""
    items = _Counted(60)
    seen = [items.drawn for _ in map_batches(_tagged, items, size=10, jobs=2, ready=lambda: items.drawn < 30)]
    # the first answered before reading on; the third waited for, not read past
    assert seen[0] == 10 and seen[1] <= 30 and seen[2] == 30 and len(seen) == 6


def test_an_exception_of_the_work_is_raised_at_its_batch(forks: list[int]) -> None:
    def work(batch: list[int]) -> list[int]:
        if 25 in batch:
            raise ValueError("bad batch")
        return batch

    answers = map_batches(work, range(50), size=10, jobs=2)
    assert next(answers) == list(range(10)) and next(answers) == list(range(10, 20))
    with pytest.raises(ValueError, match="bad batch"):
        next(answers)
    assert len(forks) == 2 and all(process_gone(pid) for pid in forks)


def test_a_worker_that_dies_is_an_error_not_a_hang(forks: list[int]) -> None:
    parent = os.getpid()

    def work(batch: list[int]) -> list[int]:
        if os.getpid() != parent and 25 in batch:
            os._exit(9)  # as if killed
        return batch

    with pytest.raises(PlanthemeError, match="worker process ended abruptly"):
        list(map_batches(work, range(50), size=10, jobs=2))
    assert all(process_gone(pid) for pid in forks)


def test_stopping_early_finishes_the_batches_under_way_and_leaves_no_worker(forks: list[int]) -> None:
    """Closing the generator (Ctrl-C, a closed pipe) with batches and answers larger than a pipe's
    buffer in flight: it returns (killing a worker mid-message hung the pool's threads), no worker
    is left, and the batches never handed out are not computed."""
    import multiprocessing

    computed = multiprocessing.get_context("fork").Value("i", 0)

    def work(batch: list[str]) -> str:
        with computed.get_lock():
            computed.value += 1
        return "答" * 100_000 + str(len(batch))

    items = ("问" * 50_000 for _ in range(1000))
    with closing(map_batches(work, items, size=2, jobs=2)) as answers:
        assert next(answers).endswith("2") and next(answers).endswith("2")
        assert len(forks) == 2
    assert all(process_gone(pid) for pid in forks)
    assert computed.value < 100  # of 500 batches


def test_the_workers_inherit_the_work_unpickled(forks: list[int]) -> None:
    """A closure over something that does not pickle (a lock) still runs in the workers."""
    lock = threading.Lock()

    def work(batch: list[int]) -> int:
        with lock:
            return sum(batch)

    assert list(map_batches(work, range(30), size=10, jobs=2)) == [45, 145, 245]
    assert len(forks) == 2


def test_input_ready_tells_a_pipe_that_would_wait() -> None:
    read_end, write_end = os.pipe()
    with open(read_end, "rb") as reader:
        ready = input_ready(reader)
        assert ready is not None and not ready()
        os.write(write_end, b"line\n")
        assert ready()
        reader.readline()
        assert not ready()
        os.close(write_end)
        assert ready()  # the end of the input: reading would not wait either
    assert input_ready(io.BytesIO(b"x\n")) is None and input_ready(object()) is None


def test_input_ready_does_not_poll_a_regular_file(tmp_path: Path) -> None:
    """A file never makes the reader wait: no check, so no system call per line."""
    path = tmp_path / "lines.txt"
    path.write_bytes(b"a\nb\n")
    with path.open("rb") as reader:
        assert input_ready(reader) is None


def test_available_cpus_is_within_the_machine() -> None:
    assert 1 <= available_cpus() <= (os.cpu_count() or 1)


def test_bad_sizes_are_refused() -> None:
    with pytest.raises(ValueError):
        next(map_batches(_tagged, range(3), size=0, jobs=1))
    with pytest.raises(ValueError):
        next(map_batches(_tagged, range(3), size=1, jobs=0))


def test_the_worker_state_is_not_set_in_this_process() -> None:
    list(map_batches(_tagged, range(30), size=10, jobs=2))
    assert parallel_batches._work is None


def test_without_a_pool_nothing_of_multiprocessing_is_imported() -> None:
    """A short input, or one job, costs no start-up: multiprocessing is imported only to fork."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from plantheme.tagging.parallel_batches import map_batches\n"
        "assert list(map_batches(len, range(10), size=10, jobs=2)) == [10]\n"
        "assert list(map_batches(len, range(25), size=10, jobs=1)) == [10, 10, 5]\n"
        "assert list(map_batches(len, range(10), size=10, jobs=2, warm_up=len)) == [10]\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('multiprocessing', 'concurrent')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout, done.stderr) == (0, "[]\n", "")
