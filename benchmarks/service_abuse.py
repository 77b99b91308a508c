"""Abuse test of the prediction service: no request may take it down.

Starts ``plantheme serve`` on a free 127.0.0.1 port under an address-space cap
(``prlimit --as``), then sends, one after another, the requests an attack
found (a 2 MB body of a million sentences, a split batch of a million, garbled
text, a 50 MB header, a million headers, idle / partial-head / partial-body
connections, deep nesting, duplicate keys), then 64 concurrent clients for
60 s. A prober asks ``/health`` every 50 ms throughout; a sampler reads the
server's RSS every 10 ms.

For each phase it prints: statuses, wall time, the server's peak RSS during
the phase and its growth over the phase start, RSS after, and /health p99.

Targets: no 5xx; no phase over 500 MB of RSS growth; RSS back within 10% of
the start after each phase; /health p99 under 100 ms throughout.

Usage (repository root): ``python benchmarks/service_abuse.py [--model models/default]
[--cap-gb 4] [--load-seconds 60]``. Every loop is bounded; the server is stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
MB = 1024 * 1024


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


class Sampler:
    """Samples the server's RSS every 10 ms; ``peak_since(mark)`` is the highest since ``mark()``."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.wait(0.01):
            try:
                self.peak = max(self.peak, rss_bytes(self.pid))
            except (FileNotFoundError, ProcessLookupError):
                return

    def mark(self) -> int:
        now = rss_bytes(self.pid)
        self.peak = now
        return now


class Prober:
    """Asks /health every 50 ms on one keep-alive connection; latencies are kept per phase."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.latencies: list[float] = []
        self.failures = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        import httpx

        with httpx.Client(base_url=f"http://{HOST}:{self.port}", timeout=30) as client:
            while not self.stop.wait(0.05):
                t0 = time.perf_counter()
                try:
                    ok = client.get("/health").status_code == 200
                except httpx.HTTPError:
                    ok = False
                self.latencies.append(time.perf_counter() - t0)
                self.failures += not ok

    def take(self) -> tuple[list[float], int]:
        latencies, failures = self.latencies, self.failures
        self.latencies, self.failures = [], 0
        return latencies, failures


def p99(values: list[float]) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


# --- the abusive requests ---------------------------------------------------------------


def _post_json(port: int, path: str, body: bytes, timeout: float = 120) -> list[int]:
    import httpx

    response = httpx.post(
        f"http://{HOST}:{port}{path}", content=body, headers={"content-type": "application/json"}, timeout=timeout
    )
    return [response.status_code]


def _raw(port: int, data_pieces: list[bytes], read: bool = True, timeout: float = 60) -> list[int]:
    """Send pieces on one connection (stopping when the server closes), return the status read."""
    with socket.create_connection((HOST, port), timeout=timeout) as sock:
        try:
            for piece in data_pieces:
                sock.sendall(piece)
        except (BrokenPipeError, ConnectionResetError):
            pass
        if not read:
            return []
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
                if b"\r\n\r\n" in received:
                    break
        except (TimeoutError, ConnectionResetError):
            pass
    if not received:
        return [0]  # closed without an answer
    return [int(received.split(b" ", 2)[1])]


def _big_header(port: int) -> list[int]:
    head = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: "
    return _raw(port, [head] + [b"a" * MB] * 50 + [b"\r\n\r\n"])


def _many_headers(port: int) -> list[int]:
    lines = b"".join(b"X-%d: 1\r\n" % i for i in range(10_000))
    return _raw(port, [b"GET /health HTTP/1.1\r\nHost: x\r\n"] + [lines] * 100 + [b"\r\n"])


def _held_connections(port: int, count: int, opening: bytes) -> list[int]:
    """Open ``count`` connections that send ``opening`` and then nothing; how did each end?"""
    sockets = []
    for _ in range(count):
        sock = socket.create_connection((HOST, port), timeout=60)
        if opening:
            sock.sendall(opening)
        sockets.append(sock)
    statuses = []
    for sock in sockets:
        try:
            data = sock.recv(65536)
            statuses.append(int(data.split(b" ", 2)[1]) if data else 0)
        except (TimeoutError, ConnectionResetError):
            statuses.append(-1)  # still open after the socket timeout: a failure
        finally:
            sock.close()
    return statuses


def abuse_cases(port: int) -> list[tuple[str, Callable[[], list[int]]]]:
    garbled = "\ufffdaaaaa;" * 20_000
    return [
        (
            "tag 'a;' x 999,990 (2 MB)",
            lambda: _post_json(port, "/v1/tag", json.dumps({"text": "a;" * 999_990}).encode()),
        ),
        (
            "predict split ['a;'x995]x1000",
            lambda: _post_json(port, "/v1/predict", json.dumps({"texts": ["a;" * 995] * 1000, "split": True}).encode()),
        ),
        (
            "tag garbled '\\ufffdaaaaa;' x 20,000",
            lambda: _post_json(port, "/v1/tag", json.dumps({"text": garbled}).encode()),
        ),
        (
            "tag garbled x 1,400 (under the sentence limit)",
            lambda: _post_json(port, "/v1/tag", json.dumps({"text": "\ufffdaaaaa;" * 1_400}).encode()),
        ),
        ("one 50 MB header", lambda: _big_header(port)),
        ("1,000,000 headers", lambda: _many_headers(port)),
        ("500 idle connections", lambda: _held_connections(port, 500, b"")),
        ("500 partial-head connections", lambda: _held_connections(port, 500, b"GET /health HTTP/1.1\r\nHost: x\r\n")),
        (
            "500 partial-body connections",
            lambda: _held_connections(
                port,
                500,
                b"POST /v1/tag HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b'Content-Length: 1000\r\n\r\n{"text": ',
            ),
        ),
        (
            "JSON nested 100,000 deep",
            lambda: _post_json(port, "/v1/predict", b'{"texts": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"),
        ),
        ("duplicate keys", lambda: _post_json(port, "/v1/tag", b'{"text": "a", "text": "b"}')),
        ("bad Content-Length", lambda: _raw(port, [b"POST /v1/tag HTTP/1.1\r\nHost: x\r\nContent-Length: x\r\n\r\n"])),
        ("HEAD /health", lambda: _raw(port, [b"HEAD /health HTTP/1.1\r\nHost: x\r\n\r\n"])),
    ]


# --- the concurrent load ---------------------------------------------------------------------

_PHRASES = [
    "推动规上工业企业实施技术改造",
    "深入开展招商引资，力争全年签约项目18个",
    "加快推进镇区主干道路改造",
    "新建高标准农田800亩",
    "全面落实河长制",
    "加快长者食堂建设",
    "深化安全生产专项整治",
    "重点做好以下工作",
]


def _document(rng: random.Random, sentences: int) -> str:
    return "".join(rng.choice(_PHRASES) + rng.choice("。；") for _ in range(sentences))


async def _client(port: int, until: float, seed: int, statuses: dict[int, int]) -> None:
    import httpx

    rng = random.Random(seed)
    async with httpx.AsyncClient(base_url=f"http://{HOST}:{port}", timeout=60) as client:
        for _ in range(100_000):  # bounded
            if time.monotonic() >= until:
                return
            kind = rng.random()
            if kind < 0.6:
                response = await client.post("/v1/predict", json={"texts": [_document(rng, 1) for _ in range(4)]})
            elif kind < 0.9:
                response = await client.post("/v1/tag", json={"text": _document(rng, rng.randint(5, 200))})
            else:
                response = await client.post("/v1/predict", json={"texts": [_document(rng, 20)], "split": True})
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1


def load(port: int, clients: int, seconds: float) -> list[int]:
    """Run the clients in a separate process, so their CPU never delays this process's /health prober."""
    done = subprocess.run(
        [sys.executable, __file__, "--load-only", str(port), "--clients", str(clients), "--load-seconds", str(seconds)],
        capture_output=True,
        text=True,
        timeout=seconds + 120,
        check=True,
    )
    return [int(code) for code, n in json.loads(done.stdout).items() for _ in range(n)]


def load_here(port: int, clients: int, seconds: float) -> dict[int, int]:
    statuses: dict[int, int] = {}

    async def run() -> None:
        until = time.monotonic() + seconds
        await asyncio.gather(*(_client(port, until, i, statuses) for i in range(clients)))

    asyncio.run(run())
    return statuses


# --- driver ----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=REPO / "models" / "default")
    parser.add_argument("--cap-gb", type=float, default=4.0, help="address-space cap of the server (prlimit --as)")
    parser.add_argument("--load-seconds", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--load-only", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.load_only:
        print(json.dumps(load_here(args.load_only, args.clients, args.load_seconds)))
        return 0

    port = free_port()
    cap = int(args.cap_gb * 1024**3)
    env = {**os.environ, "PLANTHEME_MODEL_DIR": str(args.model)}
    command = [
        "prlimit",
        f"--as={cap}",
        sys.executable,
        "-m",
        "plantheme.cli",
        "serve",
        "--host",
        HOST,
        "--port",
        str(port),
    ]
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    import httpx

    for _ in range(600):  # bounded start-up wait: 120 s
        if server.poll() is not None:
            print("server exited:", server.stderr.read().decode() if server.stderr else "")
            return 1
        try:
            httpx.get(f"http://{HOST}:{port}/health", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.2)
    # Warm-up: the first requests of each kind fill caches (tokenizer, regexes, pydantic) once;
    # the start RSS is taken after them, so "back within 10%" measures what abuse leaves behind.
    rng = random.Random(0)
    for _ in range(20):
        httpx.post(f"http://{HOST}:{port}/v1/tag", json={"text": _document(rng, 200)}, timeout=60)
        httpx.post(f"http://{HOST}:{port}/v1/predict", json={"texts": [_document(rng, 20)], "split": True}, timeout=60)
    sampler = Sampler(server.pid)
    prober = Prober(port)
    start_rss = rss_bytes(server.pid)
    print(
        f"server pid {server.pid}, address-space cap {args.cap_gb:g} GB, RSS at start (after warm-up)"
        f" {start_rss / MB:.0f} MB"
    )
    print(
        f"{'phase':48} {'statuses':28} {'time s':>7} {'peak MB':>8} {'growth MB':>9} {'after MB':>8}"
        f" {'health p99 ms':>13}"
    )
    ok = True
    cases = abuse_cases(port) + [
        (f"{args.clients} clients for {args.load_seconds:g} s", lambda: load(port, args.clients, args.load_seconds))
    ]
    for name, case in cases:
        before = sampler.mark()
        prober.take()
        t0 = time.perf_counter()
        try:
            statuses = case()
        except Exception as exc:  # noqa: BLE001 - report and go on: the server is what is tested
            statuses = [-1]
            print(f"  ({name}: client error {type(exc).__name__}: {exc})")
        elapsed = time.perf_counter() - t0
        time.sleep(0.5)  # let the server free what the request held
        after = rss_bytes(server.pid) if server.poll() is None else 0
        peak = sampler.peak
        latencies, failures = prober.take()
        counts: dict[int, int] = {}
        for status in statuses:
            counts[status] = counts.get(status, 0) + 1
        shown = ", ".join(f"{s}x{n}" if n > 1 else str(s) for s, n in sorted(counts.items()))
        health = p99(latencies) * 1000
        print(
            f"{name:48} {shown:28} {elapsed:7.1f} {peak / MB:8.0f} {(peak - before) / MB:9.0f}"
            f" {after / MB:8.0f} {health:13.1f}" + (f"  ({failures} /health failures)" if failures else "")
        )
        bad = (
            any(s >= 500 or s < 0 for s in statuses)
            or peak - before > 500 * MB
            or after > 1.1 * start_rss
            or health > 100
            or failures
            or server.poll() is not None
        )
        ok = ok and not bad
        if server.poll() is not None:
            print("the server died")
            break
    prober.stop.set()
    sampler.stop.set()
    print(
        f"RSS at start {start_rss / MB:.0f} MB, at end {rss_bytes(server.pid) / MB:.0f} MB;"
        f" all targets {'met' if ok else 'NOT met'}"
    )
    server.send_signal(signal.SIGTERM)
    t0 = time.perf_counter()
    try:
        server.wait(60)
        print(f"SIGTERM: stopped in {time.perf_counter() - t0:.1f} s")
    except subprocess.TimeoutExpired:
        server.kill()
        print("SIGTERM: did not stop within 60 s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
