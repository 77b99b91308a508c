"""The service behind a real server: uvicorn on a loopback port, and `plantheme serve` itself.

`serve()`'s argument checks run in-process and are fast; everything that starts
a server is marked slow.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from plantheme_service import create_app
from plantheme_service.run import serve, server_options

from plantheme.model.model import ThemeModel
from plantheme.settings import Settings

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class _ObservedServer(uvicorn.Server):
    """A uvicorn server that tells when it is up (or has given up starting)."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.up = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets)
        finally:
            self.up.set()  # started, or failed: either way the waiting test goes on


@contextmanager
def running_server(settings: Settings) -> Iterator[str]:
    """Serve ``create_app(settings)`` with uvicorn in a thread; yields the base URL."""
    port = free_port()
    server = _ObservedServer(
        uvicorn.Config(
            create_app(settings), host=HOST, port=port, lifespan="on", log_level="warning", **server_options(settings)
        )
    )  # type: ignore[arg-type]
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    assert server.up.wait(60) and server.started, "the server did not start"
    try:
        yield f"http://{HOST}:{port}"
    finally:
        server.should_exit = True
        thread.join(15)


def read_response(sock: socket.socket) -> tuple[int, dict[str, Any]]:
    """Status and JSON body of one HTTP/1.1 response read from ``sock``."""
    status, headers, body = read_raw_response(sock)
    assert headers["content-type"].startswith("application/json"), headers
    return status, json.loads(body)


def read_raw_response(sock: socket.socket, *, to_head: bool = False) -> tuple[int, dict[str, str], bytes]:
    """Status, headers (lower-case names) and body of one HTTP/1.1 response read from ``sock``
    (no body when it answers a HEAD request: ``to_head``)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, "connection closed before the response"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
    length = 0 if to_head else int(headers["content-length"])
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, "connection closed inside the body"
        body += chunk
    return int(lines[0].split()[1]), headers, body[:length]


# --- serve(): argument and settings checks (no server starts) ------------------


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"workers": 0}, "--workers must be at least 1"),
        ({"port": 70000}, "--port must be between 0 and 65535"),
    ],
)
def test_serve_refuses_bad_options(kwargs: dict[str, Any], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert serve(**kwargs) == 2
    assert message in capsys.readouterr().err


def test_serve_refuses_bad_environment(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PLANTHEME_PORT", "eighty")
    assert serve() == 2
    err = capsys.readouterr().err
    assert "PLANTHEME_PORT" in err and "Traceback" not in err


def test_serve_with_workers_checks_the_model_first(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert serve(model_dir=tmp_path / "missing", workers=2, port=free_port()) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("plantheme: error: ") and "no model folder" in err
    assert len(err.splitlines()) == 1


# --- a real server -------------------------------------------------------------


@pytest.mark.slow
def test_health_answers_during_a_large_batch_on_a_real_server(
    tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = threading.Event()
    release = threading.Event()
    finished = threading.Event()
    original = ThemeModel.predict

    def slow_predict(self: ThemeModel, texts: Any, **kwargs: Any) -> Any:
        if len(texts) > 1:
            started.set()
            # Real CPU work, over and over, until /health has answered five times (or a
            # safety bound ends it: then /health was held up, and the test fails).
            bound = time.monotonic() + 60
            while not release.is_set() and time.monotonic() < bound:
                original(self, texts[:50], **kwargs)
            finished.set()
        return original(self, texts, **kwargs)

    monkeypatch.setattr(ThemeModel, "predict", slow_predict)
    texts = [f"推动重点项目开工建设，全年开工项目{i}个、竣工11个。" for i in range(1000)]
    with running_server(Settings(model_dir=tiny_model_dir)) as url:
        result: dict[str, Any] = {}

        def big_batch() -> None:
            result["response"] = httpx.post(f"{url}/v1/predict", json={"texts": texts}, timeout=120)

        worker = threading.Thread(target=big_batch)
        worker.start()
        assert started.wait(30)
        with httpx.Client(base_url=url, timeout=30) as client:
            statuses = [client.get("/health").status_code for _ in range(5)]
        answered_during_the_batch = not finished.is_set()
        release.set()
        worker.join()
    assert statuses == [200] * 5
    assert answered_during_the_batch, "/health waited for the batch to finish"
    assert result["response"].status_code == 200
    assert len(result["response"].json()["results"]) == 1000


@contextmanager
def _predict_headers_sent(model_dir: Path, framing: str) -> Iterator[socket.socket]:
    """A raw connection to a server with a 10,000-byte body limit, after the headers of
    a POST /v1/predict whose body is framed by ``framing`` (one header line)."""
    with running_server(Settings(model_dir=model_dir, max_body_bytes=10_000)) as url:
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection((HOST, port), timeout=10) as sock:
            sock.sendall(
                f"POST /v1/predict HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n"
                f"{framing}\r\n\r\n".encode()
            )
            yield sock


@pytest.mark.slow
def test_declared_oversized_body_is_refused_before_it_is_sent(tiny_model_dir: Path) -> None:
    # Headers only: the answer must come without a byte of the body.
    with _predict_headers_sent(tiny_model_dir, "Content-Length: 3000000") as sock:
        status, body = read_response(sock)
    assert status == 413
    assert body["error"]["code"] == "body_too_large"


@pytest.mark.slow
def test_streamed_oversized_body_is_refused_while_it_streams(tiny_model_dir: Path) -> None:
    with _predict_headers_sent(tiny_model_dir, "Transfer-Encoding: chunked") as sock:
        chunk = b" " * 4000
        for _ in range(4):  # 16,000 bytes, never terminated: the server must not wait for the end
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        status, body = read_response(sock)
    assert status == 413
    assert body["error"]["code"] == "body_too_large"


def _output_until(process: subprocess.Popen[bytes], marker: bytes, timeout: float) -> bytes:
    """What ``process`` prints until ``marker`` (or its exit, or ``timeout`` seconds without output)."""
    assert process.stdout is not None
    received = b""
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while marker not in received and selector.select(timeout):
            chunk = os.read(process.stdout.fileno(), 65536)
            if not chunk:
                break  # the process exited
            received += chunk
    return received


def _serve_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "plantheme.cli", "serve", "--host", HOST, *args]


@pytest.mark.slow
def test_plantheme_serve_with_a_missing_model_exits_with_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "no-model"
    done = subprocess.run(
        _serve_command("--port", str(free_port()), "--model", str(missing)), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    (line,) = [ln for ln in done.stderr.splitlines() if str(missing) in ln]
    assert "no model folder there" in line and "plantheme train" in line


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_plantheme_serve_answers_and_reads_the_environment(tiny_model_dir: Path, workers: int) -> None:
    port = free_port()
    env = {**os.environ, "PLANTHEME_MAX_BATCH": "2", "PLANTHEME_MODEL_DIR": str(tiny_model_dir)}
    process = subprocess.Popen(
        _serve_command("--port", str(port), "--workers", str(workers)),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        url = f"http://{HOST}:{port}"
        # uvicorn logs this once a worker's lifespan (the model load) is done.
        started = _output_until(process, b"Application startup complete", timeout=120)
        assert b"Application startup complete" in started, started.decode(errors="replace")
        health = httpx.get(f"{url}/health", timeout=30)
        assert health.json()["status"] == "ok"
        ok = httpx.post(f"{url}/v1/predict", json={"texts": ["全面落实河长制。", "新建幼儿园2所。"]})
        assert ok.status_code == 200 and len(ok.json()["results"]) == 2
        too_many = httpx.post(f"{url}/v1/predict", json={"texts": ["一", "二", "三"]})
        assert too_many.status_code == 422
        assert too_many.json()["error"]["message"] == "texts has 3 items; the limit is 2"
    finally:
        process.send_signal(signal.SIGINT)
        output = process.communicate(timeout=30)[0].decode(errors="replace")
    assert process.returncode == 0, output
    assert "Traceback" not in output


# --- the HTTP layer under abuse (a real server, short timeouts) -------------------


def _guarded_settings(model_dir: Path) -> Settings:
    return Settings(
        model_dir=model_dir, header_timeout_s=0.5, body_timeout_s=0.5, keep_alive_timeout_s=0.5, max_header_bytes=4_096
    )


@pytest.fixture(scope="module")
def guarded_port(tiny_model_dir: Path) -> Iterator[int]:
    with running_server(_guarded_settings(tiny_model_dir)) as url:
        yield int(url.rsplit(":", 1)[1])


def _closed_by_server(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (the socket times out at 10 s)."""
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


@pytest.mark.slow
@pytest.mark.parametrize("sent", [b"", b"GET /health HTTP/1.1\r\nHost: x\r\n"], ids=["idle", "partial-head"])
def test_a_connection_that_sends_no_complete_head_is_closed(guarded_port: int, sent: bytes) -> None:
    with socket.create_connection((HOST, guarded_port), timeout=10) as sock:
        sock.sendall(sent)
        answer = _closed_by_server(sock)
    if sent:
        assert answer.startswith(b"HTTP/1.1 408 ")
        assert json.loads(answer.partition(b"\r\n\r\n")[2])["error"]["code"] == "request_timeout"
    else:
        assert answer == b""


@pytest.mark.slow
def test_a_keep_alive_connection_is_closed_when_idle(guarded_port: int) -> None:
    with socket.create_connection((HOST, guarded_port), timeout=10) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        status, _, _ = read_raw_response(sock)
        assert status == 200
        assert _closed_by_server(sock) == b""


@pytest.mark.slow
def test_a_body_that_stops_arriving_is_answered_408(guarded_port: int) -> None:
    with socket.create_connection((HOST, guarded_port), timeout=10) as sock:
        sock.sendall(
            b"POST /v1/tag HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b'Content-Length: 100\r\n\r\n{"text": '
        )
        status, body = read_response(sock)
    assert status == 408 and body["error"]["code"] == "request_timeout"


@pytest.mark.slow
@pytest.mark.parametrize(
    "head,status,code",
    [
        (b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 8_000 + b"\r\n\r\n", 431, "headers_too_large"),
        (
            b"GET /health HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(1_000)) + b"\r\n",
            431,
            "too_many_headers",
        ),
        (b"POST /v1/tag HTTP/1.1\r\nHost: x\r\nContent-Length: ten\r\n\r\n", 400, "bad_request"),
        (b"POST /v1/tag HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400, "bad_request"),
        (b"G(T /health HTTP/1.1\r\nHost: x\r\n\r\n", 400, "bad_request"),
        (b"BREW /health HTTP/1.1\r\nHost: x\r\n\r\n", 405, "method_not_allowed"),
        (b"HEAD /health HTTP/1.1\r\nHost: x\r\n\r\n", 200, None),
    ],
    ids=["one-big-header", "many-headers", "bad-length", "two-lengths", "bad-method", "unknown-method", "head"],
)
def test_http_layer_answers_in_the_error_shape(guarded_port: int, head: bytes, status: int, code: str | None) -> None:
    with socket.create_connection((HOST, guarded_port), timeout=10) as sock:
        sock.sendall(head)
        if code is None:
            got, headers, body = read_raw_response(sock, to_head=True)
            assert (got, body) == (status, b"") and int(headers["content-length"]) > 0
            return
        got, body = read_response(sock)
    assert got == status and body["error"]["code"] == code, body


@pytest.mark.slow
def test_a_body_of_a_million_sentences_is_refused_quickly(guarded_port: int) -> None:
    # The attack: 2 MB of "a;" took 181 s and 5 GB. Refused before classification now.
    response = httpx.post(f"http://{HOST}:{guarded_port}/v1/tag", json={"text": "a;" * 999_990}, timeout=60)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_many_sentences"
    assert httpx.get(f"http://{HOST}:{guarded_port}/health", timeout=10).status_code == 200
