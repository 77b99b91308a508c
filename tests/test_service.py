"""The prediction service through FastAPI's test client: every endpoint and every refusal.

The app runs on the session's tiny model with small limits (so over-limit
bodies stay small); one test checks that the default limits reach the schema.
"""

from __future__ import annotations

import json
import queue
import re
import shutil
import threading
import time
from pathlib import Path
from typing import Any
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from plantheme.errors import PlanthemeError
from plantheme.model.model import ThemeModel
from plantheme.model.persistence import load_card
from plantheme.settings import Settings, load_settings
from plantheme.tagging.tagging import tag_text
from plantheme.themes import THEME_IDS, THEMES
from plantheme_service import create_app
from plantheme_service.lifespan import StartupFailureMiddleware
from plantheme_service.schemas import (
    ErrorResponse,
    HealthResponse,
    ModelCardOut,
    PredictResponse,
    TagResponse,
    ThemesResponse,
)

MAX_TEXT = 200
MAX_BATCH = 8
MAX_BODY = 20_000
MAX_DOCUMENT = 5_000

SENTENCES = [
    "力争新培育专精特新企业3家、高新技术企业5家。",
    "深入开展招商引资，力争全年签约项目18个、总投资100亿元。",
    "全面落实河长制，推进流域水环境综合治理。",
    "加快長者食堂和居家養老服務中心建設。",  # traditional characters
]
DOCUMENT = (
    "2024年是实施十四五规划的攻坚之年。\n"
    "（一）做强实体经济\n"
    "推动规上工业企业实施技术改造，加快智改数转步伐。深入开展招商引资，力争全年签约项目18个。\n"
    "（二）增进民生福祉\n"
    "加快長者食堂和居家養老服務中心建設。"
)


def small_settings(model_dir: Path, **overrides: Any) -> Settings:
    """Settings for tests: the given model and small limits."""
    values: dict[str, Any] = dict(
        model_dir=model_dir,
        max_text_chars=MAX_TEXT,
        max_batch=MAX_BATCH,
        max_body_bytes=MAX_BODY,
        max_document_chars=MAX_DOCUMENT,
    )
    values.update(overrides)
    return Settings(**values)


@pytest.fixture(scope="module")
def client(tiny_model_dir: Path) -> Iterator[TestClient]:
    with TestClient(create_app(small_settings(tiny_model_dir))) as test_client:
        yield test_client


def assert_error(response: Any, status: int, code: str, field: str | None = "<any>") -> dict[str, Any]:
    """The response is the one error shape with this status and code; returns the error."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "field"}
    ErrorResponse.model_validate(body)
    error = body["error"]
    assert error["code"] == code, error
    if field != "<any>":
        assert error["field"] == field, error
    assert "Traceback" not in error["message"]
    return error


# --- endpoints -----------------------------------------------------------------


def test_predict_returns_results_in_input_order(client: TestClient, tiny_model: ThemeModel) -> None:
    response = client.post("/v1/predict", json={"texts": SENTENCES})
    assert response.status_code == 200, response.text
    body = PredictResponse.model_validate(response.json())
    assert body.model == tiny_model.model_id
    expected = tiny_model.predict(SENTENCES)
    assert [r.theme for r in body.results] == [p.theme for p in expected]
    for result, prediction in zip(response.json()["results"], expected):
        assert result == prediction.to_dict()
        assert list(result["scores"]) == list(THEME_IDS)
        assert abs(sum(result["scores"].values()) - 1) < 1e-3


def test_character_model_is_served_from_its_arrays(tiny_char_model_dir: Path) -> None:
    """A character n-gram model is served from model.npz, with the pickle's results and evidence."""
    from plantheme.model.persistence import load_model
    from plantheme.model.scoring import CompiledModel
    from plantheme_service.lifespan import STATE_KEY

    with TestClient(create_app(small_settings(tiny_char_model_dir))) as char_client:
        assert isinstance(char_client.app_state[STATE_KEY].model, CompiledModel)
        response = char_client.post("/v1/predict", json={"texts": SENTENCES, "split": False})
    assert response.status_code == 200, response.text
    expected = load_model(tiny_char_model_dir)[0].predict(SENTENCES)
    assert response.json()["results"] == [p.to_dict() for p in expected]
    assert any(result["evidence"] for result in response.json()["results"])


def test_character_model_is_served_without_scikit_learn(tiny_char_model_dir: Path) -> None:
    """Serving a character model never imports scikit-learn or joblib (a fresh process)."""
    import subprocess
    import sys

    code = (
        "import sys\nfrom pathlib import Path\nfrom fastapi.testclient import TestClient\n"
        "from plantheme.settings import Settings\nfrom plantheme_service import create_app\n"
        f"with TestClient(create_app(Settings(model_dir=Path({str(tiny_char_model_dir)!r})))) as client:\n"
        "    status = client.post('/v1/predict', json={'texts': ['全面落实河长制。']}).status_code\n"
        "print(status, sorted(m for m in ('sklearn', 'joblib') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.splitlines()[-1] == "200 []"


def test_predict_one_text(client: TestClient) -> None:
    response = client.post("/v1/predict", json={"texts": [SENTENCES[2]], "split": False})
    assert response.status_code == 200
    (result,) = response.json()["results"]
    assert result["theme"] in THEME_IDS
    assert all(set(e) == {"token", "weight"} for e in result["evidence"])


def test_concurrent_requests_each_get_their_own_results(client: TestClient, tiny_model: ThemeModel) -> None:
    # Concurrent requests are merged into shared predict calls: each must get back its own texts.
    texts = [f"{SENTENCES[i % len(SENTENCES)]}第{i}项" for i in range(24)]
    expected = {t: p.to_dict() for t, p in zip(texts, tiny_model.predict(texts))}
    answers: dict[str, Any] = {}

    def ask(text: str) -> None:
        answers[text] = client.post("/v1/predict", json={"texts": [text, text]}).json()

    threads = [threading.Thread(target=ask, args=(t,)) for t in texts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for text in texts:
        assert answers[text]["results"] == [expected[text], expected[text]]


def test_predict_split_gives_sentences_with_spans(client: TestClient, tiny_model: ThemeModel) -> None:
    texts = [DOCUMENT, SENTENCES[0]]
    response = client.post("/v1/predict", json={"texts": texts, "split": True})
    assert response.status_code == 200, response.text
    body = PredictResponse.model_validate(response.json())
    assert len(body.results) == 2
    for text, document in zip(texts, response.json()["results"]):
        tagged = tag_text(tiny_model, text)
        assert [s["text"] for s in document["sentences"]] == [s.text for s in tagged.sentences]
        assert [s["prediction"]["theme"] for s in document["sentences"]] == [s.theme for s in tagged.sentences]
        for sentence in document["sentences"]:
            assert text[sentence["start"] : sentence["end"]] == sentence["text"]
        assert sum(document["counts"].values()) == len(document["sentences"])
    first = response.json()["results"][0]["sentences"]
    # The traditional-character sentence is read simplified but reported as sent.
    assert first[-1]["text"] == "加快長者食堂和居家養老服務中心建設。"
    assert first[-1]["normalized"] == "加快长者食堂和居家养老服务中心建设。"


def test_tag_is_the_tag_text_computation(client: TestClient, tiny_model: ThemeModel) -> None:
    response = client.post("/v1/tag", json={"text": DOCUMENT})
    assert response.status_code == 200, response.text
    body = TagResponse.model_validate(response.json())
    tagged = tag_text(tiny_model, DOCUMENT)
    assert body.model == tiny_model.model_id
    assert [s.prediction.theme for s in body.sentences] == [s.theme for s in tagged.sentences]
    assert [s.index for s in body.sentences] == list(range(len(tagged.sentences)))
    assert body.counts == tagged.counts
    assert body.dominant == tagged.dominant
    assert body.shares == pytest.approx(tagged.shares, abs=1e-4)
    assert body.garbled is False
    for sentence in body.sentences:
        assert DOCUMENT[sentence.start : sentence.end] == sentence.text


def test_tag_flags_garbled_sentences(client: TestClient) -> None:
    garbled = "推进污水管网建设锛屾彁鍗囨薄姘存敹闆嗗鐞嗙巼銆傘€€。\n加强大气污染防治。"
    response = client.post("/v1/tag", json={"text": garbled})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["garbled"] is True
    assert "garbled" in body["sentences"][0]["flags"]


def test_themes(client: TestClient) -> None:
    response = client.get("/v1/themes")
    assert response.status_code == 200
    body = ThemesResponse.model_validate(response.json())
    assert [t.id for t in body.themes] == list(THEME_IDS)
    assert [(t.name_zh, t.description) for t in body.themes] == [(t.name_zh, t.description) for t in THEMES]


def test_model_card(client: TestClient, tiny_model_dir: Path) -> None:
    response = client.get("/v1/model")
    assert response.status_code == 200
    body = ModelCardOut.model_validate(response.json())
    card = load_card(tiny_model_dir)
    assert body.model_id == card.model_id
    assert body.training == card.training
    assert body.model_sha256 == card.model_sha256
    assert body.themes == list(THEME_IDS)
    assert body.versions["scikit-learn"] == card.versions["scikit-learn"]


def test_health(client: TestClient, tiny_model: ThemeModel) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert HealthResponse.model_validate(response.json()).model == tiny_model.model_id
    assert response.json() == {"status": "ok", "model": tiny_model.model_id}


def test_openapi_documents_endpoints_limits_and_chinese_examples(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    for path in ("/v1/predict", "/v1/tag", "/v1/themes", "/v1/model", "/health"):
        assert path in schema["paths"]
    components = schema["components"]["schemas"]
    texts = components["PredictRequest"]["properties"]["texts"]
    assert texts["maxItems"] == MAX_BATCH and texts["items"]["maxLength"] == MAX_TEXT
    examples = schema["paths"]["/v1/predict"]["post"]["requestBody"]["content"]["application/json"]["examples"]
    assert any("专精特新" in json.dumps(e, ensure_ascii=False) for e in examples.values())
    assert "422" in schema["paths"]["/v1/predict"]["post"]["responses"]
    assert set(components["Scores"]["properties"]) == set(THEME_IDS)
    assert client.get("/docs").status_code == 200


_ASSET_URL = re.compile(r"""(?:src|href|spec-url)\s*=\s*["']([^"']+)["']|url\s*:\s*["']([^"']+)["']""")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_work_offline(client: TestClient, page: str) -> None:
    response = client.get(page)
    assert response.status_code == 200 and "text/html" in response.headers["content-type"]
    html = response.text
    assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/", html, re.IGNORECASE), "a page loads from elsewhere"
    urls = {a or b for a, b in _ASSET_URL.findall(html)}
    scripts = [u for u in urls if u.endswith((".js", ".css"))]
    assert scripts and all(u.startswith("/") for u in urls), urls
    for url in urls:
        assert client.get(url).status_code == 200, url
    assert "/openapi.json" in urls


def test_default_limits_reach_the_schema(tiny_model_dir: Path) -> None:
    settings = load_settings(model_dir=tiny_model_dir)
    schema = create_app(settings).openapi()
    texts = schema["components"]["schemas"]["PredictRequest"]["properties"]["texts"]
    assert (texts["maxItems"], texts["items"]["maxLength"]) == (1_000, 10_000)
    assert settings.max_body_bytes == 2_000_000


# --- bad input -----------------------------------------------------------------

JSON = "application/json"
LONG = "规" * (MAX_TEXT + 1)

BAD_JSON_BODIES = [
    # (case, path, body, content type, status, code, field)
    ("empty text", "/v1/predict", {"texts": [""]}, 422, "empty_text", "texts[0]"),
    ("whitespace text", "/v1/predict", {"texts": ["ok", " \t\n\u3000 "]}, 422, "empty_text", "texts[1]"),
    ("text too long", "/v1/predict", {"texts": ["a", "b", "c", LONG]}, 422, "text_too_long", "texts[3]"),
    ("batch too large", "/v1/predict", {"texts": ["句子。"] * (MAX_BATCH + 1)}, 422, "batch_too_large", "texts"),
    ("empty batch", "/v1/predict", {"texts": []}, 422, "batch_empty", "texts"),
    ("texts a string", "/v1/predict", {"texts": "一句话"}, 422, "wrong_type", "texts"),
    ("text a number", "/v1/predict", {"texts": ["句子", 3]}, 422, "wrong_type", "texts[1]"),
    ("text null", "/v1/predict", {"texts": [None]}, 422, "wrong_type", "texts[0]"),
    ("text an object", "/v1/predict", {"texts": [{"text": "句子"}]}, 422, "wrong_type", "texts[0]"),
    ("split a string", "/v1/predict", {"texts": ["句子"], "split": "true"}, 422, "wrong_type", "split"),
    ("split a number", "/v1/predict", {"texts": ["句子"], "split": 1}, 422, "wrong_type", "split"),
    ("missing texts", "/v1/predict", {"split": True}, 422, "missing_field", "texts"),
    ("unknown field", "/v1/predict", {"texts": ["句子"], "model": "/etc/passwd"}, 422, "unknown_field", "model"),
    ("body a list", "/v1/predict", ["句子"], 422, "wrong_type", "body"),
    ("body a string", "/v1/predict", "句子", 422, "wrong_type", "body"),
    ("body null", "/v1/predict", None, 422, "wrong_type", "body"),
    ("tag empty", "/v1/tag", {"text": "   "}, 422, "empty_text", "text"),
    ("tag too long", "/v1/tag", {"text": "a" * (MAX_DOCUMENT + 1)}, 422, "text_too_long", "text"),
    ("tag wrong type", "/v1/tag", {"text": ["句子"]}, 422, "wrong_type", "text"),
    ("tag missing", "/v1/tag", {}, 422, "missing_field", "text"),
    ("tag unknown field", "/v1/tag", {"text": "句子", "path": "/tmp/x"}, 422, "unknown_field", "path"),
]


@pytest.mark.parametrize(
    "path,payload,status,code,field",
    [case[1:] for case in BAD_JSON_BODIES],
    ids=[case[0] for case in BAD_JSON_BODIES],
)
def test_bad_json_bodies(client: TestClient, path: str, payload: Any, status: int, code: str, field: str) -> None:
    response = client.post(path, content=json.dumps(payload).encode(), headers={"content-type": JSON})
    assert_error(response, status, code, field)


def test_too_long_names_the_index_and_the_limit(client: TestClient) -> None:
    error = assert_error(
        client.post("/v1/predict", json={"texts": ["a", "b", "c", LONG]}), 422, "text_too_long", "texts[3]"
    )
    assert "texts[3]" in error["message"] and f"{MAX_TEXT:,}" in error["message"]
    assert f"{MAX_TEXT + 1:,}" in error["message"]


def test_batch_error_names_the_limit(client: TestClient) -> None:
    error = assert_error(
        client.post("/v1/predict", json={"texts": ["句子。"] * (MAX_BATCH + 1)}), 422, "batch_too_large", "texts"
    )
    assert f"the limit is {MAX_BATCH}" in error["message"]


BAD_RAW_BODIES = [
    # (case, body, content type, status, code, field)
    ("invalid JSON", b'{"texts": [', JSON, 400, "invalid_json", "body"),
    ("trailing comma", b'{"texts": ["a",]}', JSON, 400, "invalid_json", "body"),
    ("not UTF-8", b'{"texts": ["\xff\xfe"]}', JSON, 400, "invalid_json", "body"),
    ("nesting too deep", b"[" * 5_000 + b"]" * 5_000, JSON, 400, "invalid_json", "body"),
    ("huge number", b'{"texts": [' + b"9" * 5000 + b"]}", JSON, 400, "invalid_json", "body"),
    ("empty body", b"", JSON, 422, "missing_field", "body"),
    ("lone surrogate", b'{"texts": ["\\ud800\\u8349"]}', JSON, 422, "invalid_text", "texts[0]"),
    ("text/plain", '{"texts": ["句子"]}'.encode(), "text/plain", 415, "unsupported_media_type", "Content-Type"),
    ("form", b"texts=a", "application/x-www-form-urlencoded", 415, "unsupported_media_type", "Content-Type"),
    ("no content type", '{"texts": ["句子"]}'.encode(), None, 415, "unsupported_media_type", "Content-Type"),
    ("json-like type", '{"texts": ["句子"]}'.encode(), "text/json", 415, "unsupported_media_type", "Content-Type"),
]


@pytest.mark.parametrize(
    "body,content_type,status,code,field",
    [case[1:] for case in BAD_RAW_BODIES],
    ids=[case[0] for case in BAD_RAW_BODIES],
)
@pytest.mark.parametrize("path", ["/v1/predict", "/v1/tag"])
def test_bad_raw_bodies(
    client: TestClient, path: str, body: bytes, content_type: str | None, status: int, code: str, field: str
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    if field == "texts[0]" and path == "/v1/tag":
        body, field = body.replace(b'"texts": [', b'"text": ').replace(b"]}", b"}"), "text"
    assert_error(client.post(path, content=body, headers=headers), status, code, field)


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/problem+json",
    ],
)
def test_json_content_types_are_accepted(client: TestClient, content_type: str) -> None:
    response = client.post(
        "/v1/predict", content=json.dumps({"texts": ["句子。"]}).encode(), headers={"content-type": content_type}
    )
    assert response.status_code == 200, response.text


def test_body_over_the_limit_by_content_length(client: TestClient) -> None:
    # Invalid JSON too: the size is refused before anything parses the body.
    error = assert_error(
        client.post("/v1/predict", content=b"{" * (MAX_BODY + 1), headers={"content-type": JSON}),
        413,
        "body_too_large",
        "body",
    )
    assert f"{MAX_BODY:,}" in error["message"]


def test_body_over_the_limit_when_streamed(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(MAX_BODY // 1000 + 5):
            yield b" " * 1000

    response = client.post("/v1/predict", content=chunks(), headers={"content-type": JSON})
    assert "content-length" not in response.request.headers
    assert_error(response, 413, "body_too_large", "body")


def test_body_at_the_limit_is_parsed(client: TestClient) -> None:
    body = json.dumps({"texts": ["句子。"]}).encode()
    body += b" " * (MAX_BODY - len(body))
    assert client.post("/v1/predict", content=body, headers={"content-type": JSON}).status_code == 200


@pytest.mark.parametrize(
    "method,path,status,code",
    [
        ("GET", "/v2/predict", 404, "not_found"),
        ("GET", "/", 404, "not_found"),
        ("POST", "/v1/unknown", 404, "not_found"),
        ("GET", "/v1/predict", 405, "method_not_allowed"),
        ("PUT", "/v1/tag", 405, "method_not_allowed"),
        ("POST", "/health", 405, "method_not_allowed"),
        ("DELETE", "/v1/themes", 405, "method_not_allowed"),
    ],
)
def test_unknown_routes_and_methods(client: TestClient, method: str, path: str, status: int, code: str) -> None:
    response = client.request(method, path)
    assert_error(response, status, code, None)
    if status == 405:
        assert response.headers["allow"]


# --- the request-limit middleware on its own -------------------------------------


def test_streamed_body_is_not_read_past_the_limit() -> None:
    import asyncio

    from plantheme_service.request_limits import RequestLimitMiddleware

    reached: list[str] = []
    received = 0

    async def app(scope: Any, receive: Any, send: Any) -> None:
        reached.append("app")

    async def receive() -> dict[str, Any]:
        nonlocal received
        received += 1
        return {"type": "http.request", "body": b"x" * 400, "more_body": True}  # an endless stream

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/v1/predict",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json"), (b"transfer-encoding", b"chunked")],
    }
    asyncio.run(RequestLimitMiddleware(app, max_body_bytes=1000, json_paths=["/v1/predict"])(scope, receive, send))
    assert reached == []
    assert received == 3  # 1,200 bytes: over the limit, stop reading
    assert sent[0]["status"] == 413
    assert json.loads(sent[1]["body"])["error"]["code"] == "body_too_large"


# --- start-up ------------------------------------------------------------------


def test_missing_model_stops_startup(tmp_path: Path) -> None:
    app = create_app(small_settings(tmp_path / "no-model"))
    with pytest.raises(PlanthemeError, match="no model folder"):
        with TestClient(app):
            pass


def test_corrupt_model_stops_startup(tmp_path: Path, tiny_model_dir: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(tiny_model_dir, broken)
    (broken / "model.joblib").write_bytes(b"not a model")
    with pytest.raises(PlanthemeError, match="model.joblib"):
        with TestClient(create_app(small_settings(broken))):
            pass


def test_incompatible_model_stops_startup(tmp_path: Path, tiny_model_dir: Path) -> None:
    old = tmp_path / "old"
    shutil.copytree(tiny_model_dir, old)
    card = json.loads((old / "model.json").read_text())
    card["versions"]["scikit-learn"] = "0.24.2"
    (old / "model.json").write_text(json.dumps(card))
    with pytest.raises(PlanthemeError, match="scikit-learn 0.24.2"):
        with TestClient(create_app(small_settings(old))):
            pass


def test_startup_failure_is_reported_in_one_line(tmp_path: Path) -> None:
    """Drive the ASGI lifespan protocol as a server does: the failure message is the one line."""
    import asyncio

    app = create_app(small_settings(tmp_path / "missing"))
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "lifespan.startup"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    with pytest.raises(PlanthemeError):
        asyncio.run(app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, receive, send))
    (failed,) = [m for m in sent if m["type"] == "lifespan.startup.failed"]
    assert failed["message"].startswith("cannot start: ")
    assert str(tmp_path / "missing") in failed["message"]
    assert "\n" not in failed["message"] and "Traceback" not in failed["message"]


def test_startup_failure_middleware_passes_other_scopes() -> None:
    import asyncio

    seen: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["type"])

    asyncio.run(StartupFailureMiddleware(app)({"type": "http"}, None, None))  # type: ignore[arg-type]
    assert seen == ["http"]


def test_without_lifespan_nothing_is_served(tiny_model_dir: Path) -> None:
    # A server that skips the lifespan (uvicorn --lifespan off) gets 503, never a half-loaded model.
    bare = TestClient(create_app(small_settings(tiny_model_dir)))
    assert_error(bare.get("/health"), 503, "model_not_loaded", None)
    assert_error(bare.post("/v1/predict", json={"texts": ["句子"]}), 503, "model_not_loaded", None)


# --- the event loop stays free -------------------------------------------------


@pytest.mark.parametrize(
    "path,payload",
    [
        ("/v1/predict", {"texts": SENTENCES}),
        ("/v1/predict", {"texts": SENTENCES, "split": True}),
        ("/v1/tag", {"text": DOCUMENT}),
    ],
)
def test_health_answers_while_a_prediction_runs(
    tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch, path: str, payload: dict[str, Any]
) -> None:
    started = threading.Event()
    release = threading.Event()
    finished = threading.Event()
    original = ThemeModel.classify  # what /v1/predict and /v1/tag both run

    def busy_classify(self: ThemeModel, texts: Any, **kwargs: Any) -> Any:
        # Once, and not for the lifespan's one-sentence warm-up: pure-Python CPU work,
        # holding the GIL as it can, until /health has answered (or, if the event loop
        # were blocked, until the safety bound ends it and /health comes too late).
        if not started.is_set() and (len(texts) > 1 or kwargs.get("normalized")):
            started.set()
            bound = time.monotonic() + 30
            while not release.is_set() and time.monotonic() < bound:
                sum(range(1000))
            finished.set()
        return original(self, texts, **kwargs)

    monkeypatch.setattr(ThemeModel, "classify", busy_classify)
    with TestClient(create_app(small_settings(tiny_model_dir))) as client:
        result: dict[str, Any] = {}
        worker = threading.Thread(target=lambda: result.update(r=client.post(path, json=payload)))
        worker.start()
        assert started.wait(10)
        health = client.get("/health")
        answered_during_the_prediction = not finished.is_set()
        release.set()
        worker.join()
    assert health.status_code == 200
    assert answered_during_the_prediction, "/health waited for the prediction to finish"
    assert result["r"].status_code == 200


# --- the batcher ---------------------------------------------------------------


class _FakeModel:
    """Stands in for ThemeModel: records each call, fails on a text containing "坏".

    ``entered`` is set when a call starts; with a ``gate`` the call then waits for it.
    """

    def __init__(self, gate: threading.Event | None = None) -> None:
        self.calls: list[list[str]] = []
        self.gate = gate
        self.entered = threading.Event()

    def predict(self, texts: Any) -> list[str]:
        self.entered.set()
        if self.gate is not None:
            self.gate.wait(10)
        self.calls.append(list(texts))
        if any("坏" in t for t in texts):
            raise ValueError("bad text")
        return [f"<{t}>" for t in texts]


class _ObservedQueue:
    """The batcher's queue, telling when the worker lingers (waits with a timeout for company)."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.lingering = threading.Event()

    def put(self, item: Any) -> None:
        self._queue.put(item)

    def get_nowait(self) -> Any:
        return self._queue.get_nowait()

    def get(self, timeout: float | None = None) -> Any:
        if timeout is not None:
            self.lingering.set()
        return self._queue.get(timeout=timeout)


def _observed(batcher: Any) -> _ObservedQueue:
    observed = _ObservedQueue()
    batcher._queue = observed  # before start(): the worker only ever sees this queue
    return observed


def test_batcher_merges_waiting_requests_and_keeps_their_order() -> None:
    from plantheme_service.batching import PredictionBatcher

    gate = threading.Event()
    model = _FakeModel(gate)
    batcher = PredictionBatcher(model, max_texts=100).start()  # type: ignore[arg-type]
    first = batcher.submit(["a"])
    assert model.entered.wait(5)  # the worker took "a" and waits at the gate; the rest queue up behind it
    later = [batcher.submit([f"b{i}", f"c{i}"]) for i in range(5)]
    gate.set()
    assert first.result(5) == ["<a>"]
    assert [f.result(5) for f in later] == [[f"<b{i}>", f"<c{i}>"] for i in range(5)]
    assert model.calls == [["a"], [t for i in range(5) for t in (f"b{i}", f"c{i}")]]
    batcher.close()


def test_batcher_isolates_a_failing_request() -> None:
    from plantheme_service.batching import PredictionBatcher

    gate = threading.Event()
    model = _FakeModel(gate)
    batcher = PredictionBatcher(model).start()  # type: ignore[arg-type]
    blocker = batcher.submit(["x"])
    assert model.entered.wait(5)
    good, bad, also_good = batcher.submit(["好"]), batcher.submit(["坏"]), batcher.submit(["好2"])
    gate.set()
    assert blocker.result(5) == ["<x>"]
    assert good.result(5) == ["<好>"] and also_good.result(5) == ["<好2>"]
    with pytest.raises(ValueError, match="bad text"):
        bad.result(5)
    batcher.close()


def test_batcher_finishes_queued_work_on_close_then_refuses() -> None:
    from plantheme_service.batching import PredictionBatcher

    batcher = PredictionBatcher(_FakeModel()).start()  # type: ignore[arg-type]
    futures = [batcher.submit([str(i)]) for i in range(20)]
    batcher.close()
    assert [f.result(5) for f in futures] == [[f"<{i}>"] for i in range(20)]
    with pytest.raises(RuntimeError, match="closed"):
        batcher.submit(["late"])


def test_batcher_lingers_for_the_concurrency_it_saw() -> None:
    from plantheme_service.batching import PredictionBatcher

    gate = threading.Event()
    model = _FakeModel(gate)
    # A long linger: the test never waits it out when the batcher behaves.
    batcher = PredictionBatcher(model, linger=30)  # type: ignore[arg-type]
    observed = _observed(batcher)
    batcher.start()
    first = batcher.submit(["a"])
    assert model.entered.wait(5)
    three = [batcher.submit([t]) for t in "bcd"]  # queued while "a" runs: the next call merges 3
    gate.set()
    assert first.result(5) == ["<a>"] and [f.result(5) for f in three] == [["<b>"], ["<c>"], ["<d>"]]
    assert not observed.lingering.is_set()  # three were waiting: no reason to wait for more
    # The previous call merged three requests: a lone one now waits for company.
    e = batcher.submit(["e"])
    assert observed.lingering.wait(5), "the worker ran a lone request without waiting"
    f, g = batcher.submit(["f"]), batcher.submit(["g"])
    assert [x.result(5) for x in (e, f, g)] == [["<e>"], ["<f>"], ["<g>"]]
    assert model.calls[-1] == ["e", "f", "g"]
    batcher.close()


def test_batcher_never_makes_a_lone_client_wait() -> None:
    from plantheme_service.batching import PredictionBatcher

    model = _FakeModel()
    batcher = PredictionBatcher(model, linger=30)  # type: ignore[arg-type]
    observed = _observed(batcher)
    batcher.start()
    for i in range(10):
        assert batcher.submit([str(i)]).result(5) == [f"<{i}>"]
    assert not observed.lingering.is_set()  # one request at a time: no call lingers
    assert model.calls == [[str(i)] for i in range(10)]
    batcher.close()
