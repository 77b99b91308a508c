"""What one request may cost: sentence and answer limits, the deadline, cancellation, and the
HTTP refusals the framework got wrong (duplicate keys, deep nesting, HEAD, trailing slashes).

Through FastAPI's test client with small limits; the HTTP-layer limits that need
a real socket (headers, timeouts) are in test_service_server.py.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from plantheme_service import app as app_module
from plantheme_service import create_app
from plantheme_service.errors import ApiError
from plantheme_service.request_limits import RequestLimitMiddleware, json_problem
from plantheme_service.responses import COUNT_CHUNK_CHARS, count_sentences
from plantheme_service.work_guard import WorkGuard
from test_service import assert_error, small_settings

from plantheme.text.normalize import normalize
from plantheme.text.sentences import split_sentences

MAX_SENTENCES = 50
JSON = "application/json"


@pytest.fixture(scope="module")
def client(tiny_model_dir: Path) -> Iterator[TestClient]:
    settings = small_settings(
        tiny_model_dir, max_sentences=MAX_SENTENCES, max_document_chars=1_000_000, max_body_bytes=1_000_000
    )
    with TestClient(create_app(settings)) as test_client:
        yield test_client


# --- sentences per request -------------------------------------------------------


def test_a_document_of_too_many_sentences_is_refused_before_classification(client: TestClient) -> None:
    # The attack's shape: a body of "a;" is one sentence per two characters.
    error = assert_error(client.post("/v1/tag", json={"text": "a;" * 200_000}), 413, "too_many_sentences", "text")
    assert f"{MAX_SENTENCES:,}" in error["message"] and "PLANTHEME_MAX_SENTENCES" in error["message"]


def test_a_document_at_the_sentence_limit_is_tagged(client: TestClient) -> None:
    response = client.post("/v1/tag", json={"text": "全面落实河长制；" * MAX_SENTENCES})
    assert response.status_code == 200, response.text
    assert len(response.json()["sentences"]) == MAX_SENTENCES


@pytest.mark.parametrize("per_text,texts", [(MAX_SENTENCES + 1, 1), (MAX_SENTENCES // 4 + 1, 4)])
def test_split_predictions_count_sentences_across_texts(client: TestClient, per_text: int, texts: int) -> None:
    body = {"texts": ["新建；" * per_text] * texts, "split": True}
    error = assert_error(client.post("/v1/predict", json=body), 413, "too_many_sentences")
    assert "PLANTHEME_MAX_SENTENCES" in error["message"]


def _generated_texts(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    pieces = ["推进道路改造", "。", "；", "\n", "a;", "…", "”", "，", "新建学校", " ", "!", "?", "...", "\ufffd"]
    return ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 400))) for _ in range(count)]


@pytest.mark.parametrize("seed", range(5))
def test_sentence_count_is_the_split_of_the_normalised_text(seed: int) -> None:
    for text in _generated_texts(seed, 40):
        assert count_sentences(text, 10_000) == len(split_sentences(normalize(text).text))


@pytest.mark.parametrize(
    "text",
    [
        "a;" * COUNT_CHUNK_CHARS,
        "x" * (COUNT_CHUNK_CHARS * 3),
        "加快；”" * COUNT_CHUNK_CHARS,
    ],
)
def test_sentence_count_over_chunks_is_never_fewer_and_stops_past_the_limit(text: str) -> None:
    exact = len(split_sentences(normalize(text).text))
    assert count_sentences(text, 10 * exact) >= exact
    limit = exact // 3
    assert limit < count_sentences(text, limit) <= limit + COUNT_CHUNK_CHARS


# --- answer size -------------------------------------------------------------------


def test_an_answer_over_the_byte_limit_is_refused(tiny_model_dir: Path) -> None:
    with TestClient(create_app(small_settings(tiny_model_dir, max_response_bytes=1_000))) as small:
        error = assert_error(
            small.post("/v1/tag", json={"text": "全面落实河长制。" * 20}), 413, "response_too_large", None
        )
        assert "PLANTHEME_MAX_RESPONSE_BYTES" in error["message"]
        assert small.post("/v1/predict", json={"texts": ["全面落实河长制。"]}).status_code == 200


# --- deadline and cancellation --------------------------------------------------------


def test_the_deadline_answers_503_and_the_remaining_texts_are_not_tagged(
    tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()
    tagged: list[str] = []
    original = app_module.document_body

    def blocking_document_body(model: Any, raw: str, **kwargs: Any) -> Any:
        tagged.append(raw)
        if raw.startswith("first"):
            release.wait(30)  # stands in for a document that takes too long
        return original(model, raw, **kwargs)

    monkeypatch.setattr(app_module, "document_body", blocking_document_body)
    settings = small_settings(tiny_model_dir, request_timeout_s=0.2, work_threads=1)
    with TestClient(create_app(settings)) as slow:
        texts = ["first。", "second。", "third。"]
        error = assert_error(
            slow.post("/v1/predict", json={"texts": texts, "split": True}), 503, "deadline_exceeded", None
        )
        assert "PLANTHEME_REQUEST_TIMEOUT_S" in error["message"]
        release.set()
        slow.app_state["plantheme"].guard.drain(30)  # the abandoned work has stopped
    assert tagged == ["first。"]


class _FakeRequest:
    """What WorkGuard reads of a request: its receive channel."""

    def __init__(self, gone: asyncio.Event) -> None:
        self.gone = gone

    async def receive(self) -> dict[str, Any]:
        await self.gone.wait()
        return {"type": "http.disconnect"}


def test_a_client_that_disconnects_stops_the_work() -> None:
    saw_cancel = threading.Event()
    running = threading.Event()

    def work(cancel: threading.Event) -> str:
        running.set()
        if cancel.wait(30):
            saw_cancel.set()
        return "finished"

    async def scenario() -> None:
        gone = asyncio.Event()
        guard = WorkGuard(threads=1, deadline_s=60)
        task = asyncio.ensure_future(guard.run(_FakeRequest(gone), work))  # type: ignore[arg-type]
        await asyncio.get_running_loop().run_in_executor(None, running.wait, 30)
        gone.set()
        with pytest.raises(ApiError) as caught:
            await task
        assert caught.value.status == 499
        guard.close()

    asyncio.run(scenario())
    assert saw_cancel.wait(30)


# --- JSON the framework misreported or let through --------------------------------------


@pytest.mark.parametrize(
    "body,key",
    [
        ('{"text": "一。", "text": "二。"}', "text"),
        ('{"texts": ["一。"], "split": true, "split": false}', "split"),
    ],
)
def test_duplicate_keys_are_refused_by_name(client: TestClient, body: str, key: str) -> None:
    path = "/v1/tag" if '"text"' in body else "/v1/predict"
    error = assert_error(client.post(path, content=body, headers={"content-type": JSON}), 400, "invalid_json", "body")
    assert repr(key) in error["message"]


@pytest.mark.parametrize("depth", [5_000, 50_000])
def test_deep_nesting_is_reported_as_nesting(client: TestClient, depth: int) -> None:
    body = '{"texts": ' + "[" * depth + "]" * depth + "}"
    error = assert_error(
        client.post("/v1/predict", content=body, headers={"content-type": JSON}), 400, "invalid_json", "body"
    )
    assert "nested too deeply" in error["message"]


@pytest.mark.parametrize(
    "body,problem",
    [
        (b'{"a": 1}', None),
        (b'{"a": {"b": 1, "b": 2}}', "'b'"),
        (b"not json", None),
        (b"\xff", None),
    ],
)
def test_json_problem(body: bytes, problem: str | None) -> None:
    found = json_problem(body)
    assert (found is None) if problem is None else (problem in (found or ""))


# --- HEAD, trailing slashes, headers, slow bodies ----------------------------------------


@pytest.mark.parametrize("path", ["/health", "/v1/themes", "/v1/model", "/openapi.json"])
def test_head_answers_like_get_without_a_body(client: TestClient, path: str) -> None:
    get = client.get(path)
    head = client.head(path)
    assert head.status_code == get.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == get.headers["content-length"]


def test_head_on_a_post_route_is_still_405(client: TestClient) -> None:
    assert client.head("/v1/tag").status_code == 405


@pytest.mark.parametrize("method,path", [("POST", "/v1/tag/"), ("GET", "/health/"), ("GET", "/v1/themes/")])
def test_trailing_slash_is_not_redirected(client: TestClient, method: str, path: str) -> None:
    response = client.request(method, path, headers={"host": "evil.example"}, follow_redirects=False)
    assert_error(response, 404, "not_found", None)
    assert "location" not in response.headers


def test_too_many_headers_are_refused(client: TestClient) -> None:
    headers = {f"x-h{i}": "1" for i in range(150)}
    error = assert_error(client.get("/health", headers=headers), 431, "too_many_headers", "headers")
    assert "PLANTHEME_MAX_HEADER_COUNT" in error["message"]


def test_headers_over_the_byte_limit_are_refused(client: TestClient) -> None:
    error = assert_error(client.get("/health", headers={"x-big": "a" * 20_000}), 431, "headers_too_large", "headers")
    assert "PLANTHEME_MAX_HEADER_BYTES" in error["message"]


def test_a_body_that_stops_arriving_is_answered_408() -> None:
    reached: list[str] = []
    never = asyncio.Event()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        reached.append("app")

    calls = 0

    async def receive() -> dict[str, Any]:
        nonlocal calls
        calls += 1
        if calls == 1:
            return {"type": "http.request", "body": b'{"te', "more_body": True}
        await never.wait()  # the client stalls mid-body
        return {"type": "http.disconnect"}

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/v1/predict",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json"), (b"content-length", b"100")],
    }
    middleware = RequestLimitMiddleware(app, max_body_bytes=1000, json_paths=["/v1/predict"], body_timeout_s=0.05)
    asyncio.run(middleware(scope, receive, send))
    assert reached == []
    assert sent[0]["status"] == 408
    error = json.loads(sent[1]["body"])["error"]
    assert error["code"] == "request_timeout" and "PLANTHEME_BODY_TIMEOUT_S" in error["message"]
