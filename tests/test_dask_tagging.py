"""`plantheme tag --scheduler`: tagging on a Dask cluster gives the outputs of a local run.

The default suite runs a LocalCluster (`local:2`) against a local run and the
checks that need no cluster. The slow tests start a real `dask scheduler` and two
`dask worker` processes on 127.0.0.1 (ports chosen by the OS), SIGKILL a worker
while it holds a task, and stop the scheduler mid-run and resume.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import CRASHING_SITECUSTOMIZE

import plantheme
from plantheme.cli import main
from plantheme.errors import PlanthemeError
from plantheme.tagging.corpus_tagging import ClusterOptions, TagOptions, TagRunResult, tag_folder
from plantheme.tagging.document_jobs import parse_scheduler
from plantheme.tagging.tag_cache import TagCache

pytest.importorskip("distributed")

from plantheme.tagging import dask_workers  # noqa: E402  (after the skip: it imports Dask)
from plantheme.tagging.dask_workers import DaskWorkers, ModelShipment, _batches  # noqa: E402

SENTENCES = [
    "力争新培育专精特新企业{n}家、高新技术企业5家。",
    "全面落实河长制，推进流域水环境综合治理。",
    "新建幼儿园{n}所，改善义务教育办学条件。",
    "压实安全生产责任，开展燃气和消防隐患排查整治。",
    "深入开展招商引资，力争全年签约项目{n}个。",
    "发展壮大村集体经济，力争村均收入达{n}万元以上。",
]
SENTENCE_OUTPUTS = ("sentences.jsonl", "sentences.csv")
SRC = Path(plantheme.__file__).resolve().parents[1]


def make_corpus(root: Path, documents: int) -> None:
    """``documents`` distinct plans, a GB18030 one, a JSONL file of records, a broken DOCX."""
    root.mkdir(parents=True)
    for n in range(documents):
        text = "\n".join(line.format(n=n + 1) for line in SENTENCES[n % 3 :] + SENTENCES[: n % 3])
        (root / f"plan-{n:03d}.txt").write_text(f"第{n}号工作计划\n{text}\n", encoding="utf-8")
    (root / "gbk.txt").write_bytes("全面落实河长制，推进污水管网建设。\n".encode("gb18030"))
    records = [{"content": SENTENCES[i].format(n=i)} for i in range(4)]
    (root / "feed.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records) + "{not json\n", encoding="utf-8"
    )
    (root / "broken.docx").write_bytes(b"PK\x03\x04 not really a zip")


def run(folder: Path, out: Path, model_dir: Path, cluster: ClusterOptions | None = None, jobs: int = 1) -> TagRunResult:
    return tag_folder(TagOptions(folder=folder, out_dir=out, model_dir=model_dir, jobs=jobs, cluster=cluster))


def manifest_files(out: Path) -> dict[str, dict]:
    """The manifest's file entries without their timings (which differ between any two runs)."""
    files = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["files"]
    return {entry["path"]: {k: v for k, v in entry.items() if k not in ("seconds", "reused")} for entry in files}


def documents_csv(out: Path) -> list[dict[str, str]]:
    """documents.csv without its ``reused`` column (a resumed run reuses, the reference did not)."""
    with (out / "documents.csv").open(encoding="utf-8-sig", newline="") as handle:
        return [{k: v for k, v in row.items() if k != "reused"} for row in csv.DictReader(handle)]


def assert_same_outputs(out: Path, reference: Path) -> None:
    """The sentence outputs byte for byte; documents.csv and the manifest's entries but for reuse and time."""
    for name in SENTENCE_OUTPUTS:
        assert (out / name).read_bytes() == (reference / name).read_bytes(), name
    assert documents_csv(out) == documents_csv(reference)
    assert manifest_files(out) == manifest_files(reference)


# --- without a cluster ------------------------------------------------------------------


def test_the_cli_and_a_local_run_never_import_dask(tiny_model_dir: Path, tmp_path: Path) -> None:
    make_corpus(tmp_path / "docs", 2)
    script = (
        "import sys\nfrom pathlib import Path\nimport plantheme.cli\n"
        "from plantheme.tagging.corpus_tagging import TagOptions, tag_folder\n"
        f"tag_folder(TagOptions(folder=Path({str(tmp_path / 'docs')!r}), out_dir=Path({str(tmp_path / 'out')!r}),"
        f" model_dir=Path({str(tiny_model_dir)!r}), jobs=1))\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(SRC)},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    assert (tmp_path / "out" / "sentences.jsonl").stat().st_size > 0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("tcp://127.0.0.1:8786", ("tcp://127.0.0.1:8786", None)),
        ("tcp://scheduler.cluster.local:8786", ("tcp://scheduler.cluster.local:8786", None)),
        ("tcp://[::1]:8786", ("tcp://[::1]:8786", None)),
        ("local:1", ("local", 1)),
        ("local:16", ("local", 16)),
    ],
)
def test_scheduler_addresses_that_are_accepted(value: str, expected: tuple[str, int | None]) -> None:
    assert parse_scheduler(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "local:0",
        "local:",
        "local:two",
        "local:²",
        "tcp://host",
        "tcp://:8786",
        "tcp://host:0",
        "tcp://host:70000",
        "127.0.0.1:8786",
        "http://h:1",
        "",
    ],
)
def test_scheduler_addresses_are_refused_by_the_parser(
    value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "docs").mkdir()
    assert main(["tag", str(tmp_path / "docs"), "--scheduler", value]) == 2
    err = capsys.readouterr().err
    assert "--scheduler" in err and "Traceback" not in err


def test_jobs_and_a_scheduler_together_are_refused(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "docs").mkdir()
    assert main(["tag", str(tmp_path / "docs"), "--jobs", "2", "--scheduler", "local:2"]) == 2
    assert "--jobs and --scheduler" in capsys.readouterr().err


def test_without_dask_installed_the_message_says_how_to_get_it(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    make_corpus(tmp_path / "docs", 1)
    monkeypatch.setitem(sys.modules, "plantheme.tagging.dask_workers", None)  # import fails as if absent
    with pytest.raises(PlanthemeError, match=r"pip install 'plantheme\[dask\]'"):
        run(tmp_path / "docs", tmp_path / "out", tiny_model_dir, ClusterOptions("local:1"))


@dataclass(frozen=True)
class _Job:
    size: int


@pytest.mark.parametrize(
    ("sizes", "limit", "expected"),
    [
        ([], 10, []),
        ([3, 3, 3, 3], 6, [(0, 1), (2, 3)]),
        ([3, 3, 3], 6, [(0, 1), (2,)]),
        ([100, 1, 1], 6, [(0,), (1, 2)]),
        ([1, 1, 1], 1, [(0,), (1,), (2,)]),
    ],
)
def test_documents_are_batched_in_order_by_bytes(sizes: list[int], limit: int, expected: list[tuple[int, ...]]) -> None:
    assert list(_batches([_Job(size) for size in sizes], limit)) == expected  # type: ignore[arg-type]


def test_a_truncated_entry_from_a_worker_is_not_stored(tmp_path: Path) -> None:
    source = TagCache(tmp_path / "worker")
    source.folder.mkdir()
    (source.folder / "k.entry").write_bytes(
        b'{"cache_format": 5, "format": "text", "encoding": "utf-8", "sentences": 1, "counts": {},'
        b' "dominant": "", "garbled": 0, "low_confidence": 0, "jsonl_bytes": 4, "csv_bytes": 2}\nabc\nde'
    )
    target = TagCache(tmp_path / "client")
    target.store_entry("k", source.entry_bytes("k"))
    assert target.summary("k") is not None
    with pytest.raises(ValueError):
        target.store_entry("j", source.entry_bytes("k")[:-1])
    assert target.summary("j") is None


@dataclass
class _FakeWorker:
    local_directory: str
    address: str = "tcp://127.0.0.1:1"


def test_the_model_reaches_a_worker_whole_or_not_at_all(tiny_char_model_dir: Path, tmp_path: Path) -> None:
    files = {path.name: path.read_bytes() for path in tiny_char_model_dir.iterdir()}
    shipment = ModelShipment("tiny", dict(files))
    shipment.setup(_FakeWorker(str(tmp_path)))
    arrived = Path(shipment.root) / "model"
    assert {path.name: path.read_bytes() for path in arrived.iterdir()} == files
    assert shipment.files == {}  # the bytes are not kept once written
    shipment.teardown(_FakeWorker(str(tmp_path)))
    assert not arrived.exists()

    damaged = ModelShipment("tiny", dict(files))
    damaged.files["model.npz"] = damaged.files["model.npz"][:-1]  # as if cut short on the way
    with pytest.raises(PlanthemeError, match="model.npz: the model file arrived damaged"):
        damaged.setup(_FakeWorker(str(tmp_path)))
    assert list(tmp_path.iterdir()) == []  # nothing of it left behind


def test_dasks_own_log_lines_are_quiet_while_connected_and_restored_after(monkeypatch: pytest.MonkeyPatch) -> None:
    # A connection that drops while the client writes logs a traceback (distributed.batched): a
    # run that reports its failures itself must not print it among its own lines.
    loggers = ("distributed.batched", "distributed.core", "distributed.client")
    before = {name: logging.getLogger(name).getEffectiveLevel() for name in loggers}
    while_connected: dict[str, int] = {}

    class _Client:
        status = "running"

        def __init__(self, address: str, timeout: float) -> None:
            while_connected.update({name: logging.getLogger(name).getEffectiveLevel() for name in loggers})

        def wait_for_workers(self, count: int, timeout: float) -> None:
            pass

        def close(self) -> None:
            pass

    monkeypatch.setattr(dask_workers, "Client", _Client)
    workers = DaskWorkers(ClusterOptions("tcp://127.0.0.1:8786"))
    workers._connect()
    workers.stop()
    assert all(level > logging.ERROR for level in while_connected.values()), while_connected
    assert {name: logging.getLogger(name).getEffectiveLevel() for name in loggers} == before


# --- a LocalCluster -------------------------------------------------------------------------


def test_a_local_cluster_writes_what_a_local_run_writes_and_its_cache_serves_a_local_rerun(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    docs = tmp_path / "docs"
    make_corpus(docs, 12)
    run(docs, tmp_path / "local", tiny_model_dir)
    # Small batches: several tasks in flight on two workers, finishing in any order.
    result = run(docs, tmp_path / "dask", tiny_model_dir, ClusterOptions("local:2", batch_bytes=400))
    assert (tmp_path / "dask" / "documents.csv").read_bytes() == (tmp_path / "local" / "documents.csv").read_bytes()
    assert_same_outputs(tmp_path / "dask", tmp_path / "local")
    files = manifest_files(tmp_path / "dask")
    assert files["broken.docx"]["status"] == "failed" and "not a readable .docx" in files["broken.docx"]["reason"]
    assert files["feed.jsonl#5"]["status"] == "failed"
    assert result.totals.tagged == 12 + 1 + 4 and result.exit_status == 1
    run_info = json.loads((tmp_path / "dask" / "manifest.json").read_text(encoding="utf-8"))
    assert (run_info["scheduler"], run_info["dask_workers"], run_info["jobs"]) == ("local:2", 2, 2)
    # The entries the client stored from the workers are the cache of a local run.
    again = run(docs, tmp_path / "dask", tiny_model_dir)
    assert again.totals.reused == again.totals.tagged == result.totals.tagged
    assert_same_outputs(tmp_path / "dask", tmp_path / "local")


# --- a real scheduler and two workers ---------------------------------------------------------


# Imported by each `dask worker` (--preload). With PLANTHEME_TEST_HOLD set, the worker's first task
# (or the task of the file named there) blocks on an Event that is never set, after setting "held".
_PRELOAD = """
import os
from distributed import Event
from plantheme.tagging import dask_workers

# Dask may import a preload twice: wrap the real function once.
_tag_file = getattr(dask_workers.tag_file, "__wrapped__", dask_workers.tag_file)
_hold = os.environ.get("PLANTHEME_TEST_HOLD", "")


def tag_file(job, config):
    if _hold in ("first", job.path):
        Event("held").set()
        Event("never").wait()
    return _tag_file(job, config)


tag_file.__wrapped__ = _tag_file
dask_workers.tag_file = tag_file
"""


@dataclass
class _Cluster:
    """A scheduler and its workers, processes of this test."""

    address: str
    scheduler: subprocess.Popen
    workers: list[subprocess.Popen]


def _env(**extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(SRC), *filter(None, [os.environ.get("PYTHONPATH")])]),
        **extra,
    }


def _start_cluster(folder: Path, holds: list[str]) -> _Cluster:
    """A `dask scheduler` on a free port of 127.0.0.1 and one `dask worker` per entry of ``holds``."""
    from distributed import Client

    folder.mkdir(parents=True, exist_ok=True)
    preload = folder / "hold_preload.py"
    preload.write_text(_PRELOAD, encoding="utf-8")
    address_file = folder / "scheduler.json"
    scheduler = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dask",
            "scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--no-dashboard",
            "--scheduler-file",
            str(address_file),
        ],
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # Start-up: the scheduler writes its address once it listens.
    if not _wait_for(lambda: address_file.exists() and address_file.stat().st_size > 0, 60):
        scheduler.kill()
        raise RuntimeError("the dask scheduler did not start")
    address = json.loads(address_file.read_text())["address"]
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "dask",
                "worker",
                address,
                "--nthreads",
                "1",
                "--no-nanny",
                "--no-dashboard",
                "--host",
                "127.0.0.1",
                "--preload",
                str(preload),
                "--local-directory",
                str(folder / f"w{i}"),
            ],
            env=_env(PLANTHEME_TEST_HOLD=hold),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for i, hold in enumerate(holds)
    ]
    cluster = _Cluster(address, scheduler, workers)
    with Client(address, timeout=30) as client:
        client.wait_for_workers(len(holds), timeout=60)
    return cluster


def _stop_cluster(cluster: _Cluster) -> None:
    for process in [*cluster.workers, cluster.scheduler]:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)


def _wait_for(condition, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    """Poll a process start-up condition with a deadline (only for start-up: nothing signals it)."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def _wait_for_event(address: str, name: str, timeout: float = 120) -> bool:
    from distributed import Client, Event

    with Client(address, timeout=30) as client:
        return Event(name, client=client).wait(timeout=timeout)


def _tag_cli(folder: Path, out: Path, model: Path, scheduler: str, **env: str) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "plantheme.cli",
            "tag",
            str(folder),
            "--out",
            str(out),
            "--model",
            str(model),
            "--scheduler",
            scheduler,
            "--quiet",
        ],
        env=_env(PLANTHEME_DASK_BATCH_BYTES="1", **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def clusters() -> Iterator[list[_Cluster]]:
    started: list[_Cluster] = []
    yield started
    for cluster in started:
        _stop_cluster(cluster)


@pytest.mark.slow  # a scheduler and two worker processes: about 10 s
def test_a_worker_killed_mid_run_loses_and_repeats_nothing(
    tiny_model_dir: Path, tmp_path: Path, clusters: list[_Cluster]
) -> None:
    docs = tmp_path / "docs"
    make_corpus(docs, 30)
    run(docs, tmp_path / "local", tiny_model_dir)
    # Worker 0 holds its first task until it is killed; worker 1 tags everything else.
    cluster = _start_cluster(tmp_path / "cluster", holds=["first", ""])
    clusters.append(cluster)
    tagging = _tag_cli(docs, tmp_path / "dask", tiny_model_dir, cluster.address)
    assert _wait_for_event(cluster.address, "held")
    cluster.workers[0].send_signal(signal.SIGKILL)
    _, err = tagging.communicate(timeout=300)
    assert tagging.returncode == 1, err  # 1: the broken DOCX and the bad JSONL line, as locally
    assert_same_outputs(tmp_path / "dask", tmp_path / "local")
    lines = (tmp_path / "dask" / "sentences.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(set(lines))


@pytest.mark.slow  # two clusters started: about 20 s
def test_a_run_whose_scheduler_stops_ends_clearly_and_resumes(
    tiny_model_dir: Path, tmp_path: Path, clusters: list[_Cluster]
) -> None:
    docs = tmp_path / "docs"
    make_corpus(docs, 30)
    run(docs, tmp_path / "local", tiny_model_dir)
    # The last file in path order is held on whichever worker gets it: every batch before it was
    # submitted, and all but the window's few were stored, before it starts.
    cluster = _start_cluster(tmp_path / "cluster-1", holds=["plan-029.txt", "plan-029.txt"])
    clusters.append(cluster)
    out = tmp_path / "dask"
    tagging = _tag_cli(docs, out, tiny_model_dir, cluster.address, PLANTHEME_DASK_CONNECT_TIMEOUT_S="3")
    assert _wait_for_event(cluster.address, "held")
    cluster.scheduler.send_signal(signal.SIGKILL)
    _, err = tagging.communicate(timeout=300)
    assert tagging.returncode == 1, err
    lines = err.splitlines()  # the failed files as they came, then one line for the lost scheduler
    assert all(line.startswith("plantheme: ") for line in lines), err
    assert "lost the Dask scheduler" in lines[-1] and "run the same command again" in lines[-1], err
    assert not (out / "sentences.jsonl").exists()
    stored = len(list((out / ".cache").glob("*.entry")))
    assert stored >= 25, err
    _stop_cluster(cluster)

    cluster = _start_cluster(tmp_path / "cluster-2", holds=["", ""])
    clusters.append(cluster)
    tagging = _tag_cli(docs, out, tiny_model_dir, cluster.address)
    _, err = tagging.communicate(timeout=300)
    assert tagging.returncode == 1, err
    assert_same_outputs(out, tmp_path / "local")
    reused = [
        entry
        for entry in json.loads((out / "manifest.json").read_text(encoding="utf-8"))["files"]
        if entry.get("reused")
    ]
    assert len({entry["path"].split("#")[0] for entry in reused}) == stored


@pytest.mark.slow  # a LocalCluster whose workers die and restart several times: about 20 s
def test_a_file_that_kills_every_worker_is_failed_alone(tiny_model_dir: Path, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    make_corpus(docs, 4)
    (docs / "crash.txt").write_text("全面落实河长制。\n", encoding="utf-8")
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(CRASHING_SITECUSTOMIZE, encoding="utf-8")
    env = _env(PLANTHEME_TEST_CRASH="1")
    env["PYTHONPATH"] = os.pathsep.join([str(site), env["PYTHONPATH"]])
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "plantheme.cli",
            "tag",
            str(docs),
            "--out",
            str(tmp_path / "out"),
            "--model",
            str(tiny_model_dir),
            "--scheduler",
            "local:2",
            "--quiet",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    files = manifest_files(tmp_path / "out")
    assert files["crash.txt"]["status"] == "failed" and "worker process died" in files["crash.txt"]["reason"]
    assert all(files[f"plan-{n:03d}.txt"]["status"] == "tagged" for n in range(4))
