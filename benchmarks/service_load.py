"""Load test of the prediction service: latency, throughput and memory of `plantheme serve`.

Starts the server as a subprocess (``plantheme serve`` on a free 127.0.0.1 port)
and drives it from this process over loopback with a small asyncio HTTP/1.1
client (keep-alive connections; a lean client, so that on a 2-core machine the
load generator takes as little CPU from the server as it can). Every phase has
a fixed number of requests, so the run stops by itself; the server is stopped
at the end.

It prints:

* p50/p95/p99 latency and requests/s for single-sentence ``POST /v1/predict``
  at concurrency 1, 8 and 32;
* sentences/s for batches of 100, next to in-process ``ThemeModel.predict``
  throughput on the same batches measured in this run, and their ratio;
* the server's RSS at start, after a long run (default 20,000 requests) and
  its peak (VmHWM), with the growth in percent.

Sentences are the seed documents' sentences (``normalize`` + ``split_sentences``).

Usage (from the repository root)::

    python benchmarks/service_load.py --model models/default
    python benchmarks/service_load.py --model /tmp/svc_model --seeds ../shared/seeds

Targets on 2 cores: single-sentence p99 at concurrency 8 under 25 ms; batch
throughput at least half of in-process; RSS flat (within a few %) over 20,000
requests.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Sequence

REPO = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"


# --- input ---------------------------------------------------------------------


def seed_sentences(seeds: Path) -> list[str]:
    """Every sentence of the seed documents (``*.txt``), normalised and split as the tagger does."""
    from plantheme.text.normalize import normalize
    from plantheme.text.sentences import split_sentences

    sentences: list[str] = []
    for path in sorted(seeds.glob("*.txt")):
        text = path.read_text(encoding="utf-8", errors="replace")
        sentences.extend(s.text for s in split_sentences(normalize(text).text))
    if not sentences:
        raise SystemExit(f"no sentences found in {seeds}/*.txt")
    return sentences


# --- the server ----------------------------------------------------------------


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """The `plantheme serve` subprocess and where it logs."""

    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_server(model: Path, workers: int, log_dir: Path) -> Server:
    """Start `plantheme serve` and wait until ``/health`` answers."""
    port = free_port()
    log_path = log_dir / "server.log"
    command = [
        sys.executable,
        "-m",
        "plantheme.cli",
        "serve",
        "--host",
        HOST,
        "--port",
        str(port),
        "--model",
        str(model),
        "--workers",
        str(workers),
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
    server = Server(process, port, log_path)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited ({process.returncode}):\n{log_path.read_text()}")
        try:
            status, _ = asyncio.run(_one_request(port, "GET", "/health", b""))
            if status == 200:
                return server
        except OSError:
            pass
        time.sleep(0.2)
    server.stop()
    raise SystemExit(f"the server did not answer /health within 120 s:\n{log_path.read_text()}")


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (uvicorn workers), from /proc."""
    pids = [pid]
    for current in pids:
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                pids.extend(int(p) for p in (task / "children").read_text().split())
            except OSError:
                continue
    return pids


def memory_kib(pid: int) -> tuple[int, int]:
    """Current RSS and peak RSS (VmHWM) in KiB, summed over the server's process tree."""
    rss = peak = 0
    for p in process_tree(pid):
        try:
            status = Path(f"/proc/{p}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                rss += int(line.split()[1])
            elif line.startswith("VmHWM:"):
                peak += int(line.split()[1])
    return rss, peak


def cpu_seconds(pid: int) -> float:
    """User + system CPU time used so far by the server's process tree."""
    ticks = 0
    for p in process_tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return ticks / os.sysconf("SC_CLK_TCK")


# --- the client ----------------------------------------------------------------


class Connection:
    """One keep-alive HTTP/1.1 connection: just enough protocol for this benchmark."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
        assert self.reader is not None
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {HOST}:{self.port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        self.writer.write(head.encode("ascii") + body)
        header = await self.reader.readuntil(b"\r\n\r\n")
        lines = header.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        fields = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)}
        data = await self.reader.readexactly(int(fields.get("content-length", "0")))
        if fields.get("connection", "").lower() == "close":
            await self.close()
        return status, data

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except OSError:
                pass
        self.reader = self.writer = None


async def _one_request(port: int, method: str, path: str, body: bytes) -> tuple[int, bytes]:
    connection = Connection(port)
    try:
        return await connection.request(method, path, body)
    finally:
        await connection.close()


@dataclass
class Run:
    """Latencies (seconds) of one phase and its wall time."""

    latencies: list[float]
    wall: float
    errors: int

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


async def _drive(port: int, bodies: Sequence[bytes], concurrency: int) -> Run:
    """Send every body once, ``concurrency`` at a time, and time each request."""
    latencies: list[float] = []
    errors = 0
    next_index = 0

    async def worker() -> None:
        nonlocal next_index, errors
        connection = Connection(port)
        try:
            while next_index < len(bodies):
                body = bodies[next_index]
                next_index += 1
                started = time.perf_counter()
                status, _ = await connection.request("POST", "/v1/predict", body)
                latencies.append(time.perf_counter() - started)
                if status != 200:
                    errors += 1
        finally:
            await connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Run(latencies, time.perf_counter() - started, errors)


def drive(port: int, bodies: Sequence[bytes], concurrency: int) -> Run:
    """Synchronous wrapper of :func:`_drive`."""
    return asyncio.run(_drive(port, bodies, concurrency))


def single_bodies(sentences: Sequence[str], count: int, offset: int = 0) -> list[bytes]:
    """``count`` one-sentence request bodies, cycling through the sentences."""
    n = len(sentences)
    return [json.dumps({"texts": [sentences[(offset + i) % n]]}, ensure_ascii=False).encode() for i in range(count)]


def batches(sentences: Sequence[str], count: int, size: int) -> list[list[str]]:
    """``count`` batches of ``size`` sentences, cycling through the sentences."""
    n = len(sentences)
    return [[sentences[(b * size + i) % n] for i in range(size)] for b in range(count)]


class RssSampler:
    """Samples the server's RSS every ``interval`` seconds in a thread."""

    def __init__(self, pid: int, interval: float = 0.5) -> None:
        self.pid = pid
        self.interval = interval
        self.samples: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.samples.append(memory_kib(self.pid)[0])

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


# --- report --------------------------------------------------------------------


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:7.2f}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--model",
        type=Path,
        default=REPO / "models" / "default",
        help="model folder to serve (default: models/default)",
    )
    parser.add_argument(
        "--seeds",
        type=Path,
        default=REPO.parent / "shared" / "seeds",
        help="folder of seed documents *.txt (default: ../shared/seeds)",
    )
    parser.add_argument("--workers", type=int, default=1, help="server worker processes (default 1)")
    parser.add_argument(
        "--requests", type=int, default=2000, help="single-sentence requests per concurrency level (default 2000)"
    )
    parser.add_argument("--batches", type=int, default=60, help="batch requests of 100 (default 60)")
    parser.add_argument("--batch-concurrency", type=int, default=2, help="batch requests in flight at once (default 2)")
    parser.add_argument("--rss-requests", type=int, default=20_000, help="requests of the memory run (default 20,000)")
    args = parser.parse_args(argv)

    sentences = seed_sentences(args.seeds)
    print(
        f"{len(sentences)} seed sentences from {args.seeds}; model {args.model}; "
        f"{os.cpu_count()} CPUs; server workers {args.workers}"
    )
    # Other work on the machine takes cores from the server: say how busy it was.
    print("load average at start: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))

    with tempfile.TemporaryDirectory(prefix="plantheme-bench-") as tmp:
        server = start_server(args.model, args.workers, Path(tmp))
        try:
            report(server, sentences, args)
        finally:
            server.stop()
    return 0


def report(server: Server, sentences: list[str], args: argparse.Namespace) -> None:
    """Run every phase against ``server`` and print the figures."""
    port, pid = server.port, server.process.pid
    drive(port, single_bodies(sentences, 300), 8)  # warm-up: connections, caches, allocator
    rss_start, _ = memory_kib(pid)

    print("\nsingle-sentence POST /v1/predict")
    print(
        f"{'concurrency':>11} {'requests':>8} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'req/s':>8}"
        f" {'server CPU ms/req':>17} errors"
    )
    for concurrency in (1, 8, 32):
        cpu_before = cpu_seconds(pid)
        run = drive(port, single_bodies(sentences, args.requests, offset=concurrency), concurrency)
        cpu = (cpu_seconds(pid) - cpu_before) / len(run.latencies)
        print(
            f"{concurrency:>11} {len(run.latencies):>8} {_ms(run.percentile(50))} "
            f"{_ms(run.percentile(95))} {_ms(run.percentile(99))} "
            f"{len(run.latencies) / run.wall:>8.1f} {cpu * 1000:>17.2f} {run.errors}"
        )
        if concurrency == 8:
            p99_c8 = run.percentile(99)

    size = 100
    groups = batches(sentences, args.batches, size)
    bodies = [json.dumps({"texts": g}, ensure_ascii=False).encode() for g in groups]
    drive(port, bodies[:4], args.batch_concurrency)  # warm-up
    run = drive(port, bodies, args.batch_concurrency)
    service_rate = len(bodies) * size / run.wall

    from plantheme.model.persistence import load_model

    model, _ = load_model(args.model)
    model.predict(groups[0])  # warm-up
    started = time.perf_counter()
    for group in groups:
        model.predict(group)
    local_rate = len(groups) * size / (time.perf_counter() - started)
    del model
    ratio = service_rate / local_rate
    print(f"\nbatches of {size} ({len(bodies)} requests, {args.batch_concurrency} in flight)")
    print(
        f"  service     {service_rate:9.0f} sentences/s  (p50 {_ms(run.percentile(50)).strip()} ms"
        f" per batch, errors {run.errors})"
    )
    print(f"  in-process  {local_rate:9.0f} sentences/s  (ThemeModel.predict, same batches)")
    print(f"  ratio       {ratio:9.2f}")

    print(f"\nmemory over {args.rss_requests:,} single-sentence requests at concurrency 8")
    with RssSampler(pid) as sampler:
        run = drive(port, single_bodies(sentences, args.rss_requests, offset=7), 8)
    rss_end, peak = memory_kib(pid)
    growth = (rss_end - rss_start) / rss_start * 100
    print(f"  RSS at start {rss_start / 1024:8.1f} MiB")
    print(
        f"  RSS after    {rss_end / 1024:8.1f} MiB  ({growth:+.1f}%; sampled max "
        f"{max(sampler.samples or [rss_end]) / 1024:.1f} MiB; {len(run.latencies) / run.wall:.0f} req/s,"
        f" p99 {_ms(run.percentile(99)).strip()} ms, errors {run.errors})"
    )
    print(f"  peak RSS     {peak / 1024:8.1f} MiB  (VmHWM)")

    print("load average at end: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    print("\ntargets (2 cores):")
    print(f"  p99 at concurrency 8 < 25 ms        {_ms(p99_c8).strip()} ms  {'met' if p99_c8 < 0.025 else 'NOT met'}")
    print(f"  batch throughput >= 0.5 in-process  {ratio:.2f}  {'met' if ratio >= 0.5 else 'NOT met'}")
    print(f"  RSS flat (within 5%)                {growth:+.1f}%  {'met' if abs(growth) <= 5 else 'NOT met'}")
    print(
        f"  (single-sentence in-process predict for reference: "
        f"{statistics.median(_local_single(args.model, sentences)) * 1000:.2f} ms)"
    )


def _local_single(model_dir: Path, sentences: Sequence[str], count: int = 200) -> list[float]:
    from plantheme.model.persistence import load_model

    model, _ = load_model(model_dir)
    times = []
    for sentence in list(sentences)[:count]:
        started = time.perf_counter()
        model.predict([sentence])
        times.append(time.perf_counter() - started)
    return times


if __name__ == "__main__":
    sys.exit(main())
